//! The `tars-mqtt` command end to end: the binary, run as a user runs it, against a service on
//! the embedded broker.

use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use tars_mqtt::prelude::*;
use tars_mqtt::testing::EmbeddedBroker;
use tars_mqtt::{ServiceHandle, schemars};

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[schemars(crate = "tars_mqtt::schemars")]
struct Switch {
    on: bool,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
#[schemars(crate = "tars_mqtt::schemars")]
struct State {
    room: String,
    on: bool,
}

struct Lamp;

#[mqtt_service]
impl Lamp {
    #[subscribe(
        "lamp/{room}/switch",
        qos = 1,
        reply = "lamp/{room}/state",
        event = "lamp.state"
    )]
    async fn switch(&self, room: String, s: Switch) -> State {
        State { room, on: s.on }
    }
}

fn broker() -> &'static EmbeddedBroker {
    static BROKER: OnceLock<EmbeddedBroker> = OnceLock::new();
    BROKER.get_or_init(EmbeddedBroker::start)
}

/// A lamp service with a client id of its own, ready.
async fn lamp(client_id: &str) -> ServiceHandle {
    let config = MqttConfig::builder()
        .url(broker().url())
        .client_id(client_id)
        .health(true)
        .build()
        .unwrap();
    let service = Lamp.start(config).unwrap();
    service.wait_ready(Duration::from_secs(10)).await.unwrap();
    service
}

/// Runs `tars-mqtt <args>` against the broker; killed after 30 s.
async fn tars_mqtt(args: &[&str]) -> Output {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tars-mqtt"))
        .args(args)
        .args(["--url", &broker().url(), "--timeout", "3s"])
        .env_remove("MQTT_URL")
        .env_remove("MQTT_PROTOCOL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("tars-mqtt {args:?} still running after 30 s"))
        .unwrap()
}

fn stdout(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {text}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ls_ping_and_info_find_the_service() {
    let service = lamp("lamp-ls").await;
    let listed = stdout(&tars_mqtt(&["ls"]).await);
    let row = listed
        .lines()
        .find(|l| l.contains("lamp-ls"))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(row.starts_with("Lamp "), "{listed}");
    assert!(row.contains(env!("CARGO_PKG_VERSION")), "{listed}");
    assert!(listed.starts_with("NAME "), "{listed}");

    let pong = stdout(&tars_mqtt(&["ping", "lamp-ls"]).await);
    assert!(pong.starts_with("pong from Lamp (lamp-ls) in "), "{pong}");

    let info = stdout(&tars_mqtt(&["info", "lamp-ls"]).await);
    assert!(info.starts_with("Lamp "), "{info}");
    let route = info
        .lines()
        .find(|l| l.contains("lamp/{room}/switch"))
        .unwrap();
    assert!(
        route.contains("lamp/{room}/state") && route.contains("lamp.state"),
        "{info}"
    );

    let json: Value =
        serde_json::from_str(&stdout(&tars_mqtt(&["info", "lamp-ls", "--json"]).await)).unwrap();
    assert_eq!(json[0]["routes"][0]["filter"], "lamp/{room}/switch");
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_publish_and_stats() {
    let service = lamp("lamp-stats").await;
    let reply = stdout(
        &tars_mqtt(&[
            "request",
            "lamp/kitchen/switch",
            r#"{"on": true}"#,
            "--reply-on",
            "lamp/kitchen/state",
            "--type",
            "lamp.switch",
        ])
        .await,
    );
    let envelope: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(envelope["type"], "lamp.state");
    assert_eq!(
        envelope["data"],
        serde_json::json!({"room": "kitchen", "on": true})
    );
    assert!(reply.trim_start().starts_with("{\n  \"id\""), "{reply}");
    // A payload of the wrong shape: answered with an error, counted as a decode error.
    let refused = tars_mqtt(&[
        "request",
        "lamp/hall/switch",
        r#"{"on": "yes"}"#,
        "--reply-on",
        "lamp/hall/state",
    ])
    .await;
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("the service answered with an error"),
        "{}",
        stderr(&refused)
    );
    stdout(&tars_mqtt(&["publish", "lamp/hall/switch", "not json", "--raw"]).await);

    let stats = stdout(&tars_mqtt(&["stats", "lamp-stats"]).await);
    let row = stats
        .lines()
        .find(|l| l.trim_start().starts_with("switch"))
        .unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    // ROUTE RECEIVED HANDLED DECODE ERRORS …
    assert_eq!(&cells[1..5], ["3", "1", "2", "0"], "{stats}");
    assert!(stats.contains("last error of switch"), "{stats}");
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asyncapi_prints_the_services_document() {
    let service = lamp("lamp-doc").await;
    let doc: Value =
        serde_json::from_str(&stdout(&tars_mqtt(&["asyncapi", "lamp-doc"]).await)).unwrap();
    assert_eq!(doc["asyncapi"], "3.0.0");
    assert_eq!(doc["channels"]["switch"]["address"], "lamp/{room}/switch");
    let data = &doc["components"]["messages"]["switch_request"]["payload"]["properties"]["data"];
    assert_eq!(data["properties"]["on"]["type"], "boolean");
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_prints_envelopes() {
    let listener = tokio::spawn(tars_mqtt(&["subscribe", "lamp/+/state", "--count", "1"]));
    // Retained, so that it arrives whether the subscription is made before or after.
    stdout(
        &tars_mqtt(&[
            "publish",
            "lamp/attic/state",
            r#"{"on": false}"#,
            "--type",
            "lamp.state",
            "--retain",
        ])
        .await,
    );
    let printed = stdout(&listener.await.unwrap());
    let mut lines = printed.lines();
    assert_eq!(lines.next(), Some("lamp/attic/state"));
    assert_eq!(lines.next(), Some("  {"));
    assert!(
        lines.next().unwrap().starts_with("    \"id\": "),
        "{printed}"
    );
    assert!(printed.contains("\"type\": \"lamp.state\""), "{printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_shows_presence_and_traffic() {
    let service = lamp("lamp-watch").await;
    let frames = stdout(&tars_mqtt(&["watch", "--frames", "2", "--interval", "500ms"]).await);
    let last = frames.split("tars-mqtt watch").last().unwrap();
    let row = last
        .lines()
        .find(|l| l.starts_with("lamp-watch"))
        .unwrap_or_else(|| panic!("{frames}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[..3], ["lamp-watch", "Lamp", "ready"], "{frames}");
    service.shutdown().await;
    let after = stdout(&tars_mqtt(&["watch", "--frames", "1", "--interval", "300ms"]).await);
    let row = after.lines().find(|l| l.starts_with("lamp-watch")).unwrap();
    assert!(row.contains(" shutdown "), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistakes_get_a_clear_message_and_a_failure_code() {
    let out = tars_mqtt(&["stats", "nobody-here"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no service named `nobody-here`"),
        "{}",
        stderr(&out)
    );
    let out = tars_mqtt(&["request", "a/b", "{}"]).await;
    assert!(
        stderr(&out).contains("--reply-on is needed on MQTT 3.1.1"),
        "{}",
        stderr(&out)
    );
    let out = tars_mqtt(&["publish", "a/b", "[1]"]).await;
    assert!(
        stderr(&out).contains("must be a JSON object"),
        "{}",
        stderr(&out)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_tars-mqtt"))
        .args(["ls", "--url", "mqtt://127.0.0.1:1", "--timeout", "300ms"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no connection to mqtt://127.0.0.1:1 "),
        "{}",
        stderr(&out)
    );
    // Credentials are never shown.
    let out = Command::new(env!("CARGO_BIN_EXE_tars-mqtt"))
        .args(["ls", "--timeout", "300ms"])
        .env("MQTT_URL", "mqtt://user:s3cret@127.0.0.1:1")
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("no connection to mqtt://127.0.0.1:1 "),
        "{}",
        stderr(&out)
    );
    let help = Command::new(env!("CARGO_BIN_EXE_tars-mqtt"))
        .arg("--help")
        .env("MQTT_URL", "mqtt://user:s3cret@127.0.0.1:1")
        .output()
        .unwrap();
    let everything = format!("{}{}", stdout(&help), stderr(&out));
    assert!(!everything.contains("s3cret"), "{everything}");
}
