//! AsyncAPI 3.0 documents: built from the macros' routes with the payload schemas of the
//! service's types, accepted by the official AsyncAPI parser (`@asyncapi/parser`, run with
//! `node`), and served by a running service over discovery. Also: the JSON Schemas of the
//! discovery answers in `docs/schemas/` are the ones the types write, and real answers
//! validate against them.

use std::path::PathBuf;

use serde_json::{Value, json};
use tars_mqtt::discovery::{Verb, reply_topic, request_topic};
use tars_mqtt::prelude::*;
use tars_mqtt::testing::TestClient;
use tars_mqtt_it::{TestBroker, WAIT, broker_suite, config, unique};

#[derive(serde::Deserialize, tars_mqtt::schemars::JsonSchema)]
#[schemars(crate = "tars_mqtt::schemars")]
struct Command {
    /// What to do.
    action: String,
    level: Option<u8>,
}

#[derive(serde::Serialize, tars_mqtt::schemars::JsonSchema)]
#[schemars(crate = "tars_mqtt::schemars")]
struct Ack {
    room: String,
    done: bool,
}

/// A type without a schema: its `data` is described as any object.
#[derive(serde::Deserialize)]
struct Opaque {}

struct Home;

#[mqtt_service(client_id = "home")]
impl Home {
    #[subscribe(
        "home/{room}/cmd",
        qos = 1,
        reply = "home/{room}/ack",
        event = "home.ack"
    )]
    async fn command(&self, room: String, cmd: Command) -> Ack {
        Ack {
            room,
            done: !cmd.action.is_empty() && cmd.level.is_none_or(|l| l <= 10),
        }
    }

    #[subscribe("$share/lights/lights/+/state")]
    async fn light(&self, _state: Opaque) {}
}

/// The parser's verdict on `doc`: `Ok` with its diagnostics, or `Err` with them.
#[cfg(has_asyncapi_parser)]
fn parse_with_the_official_parser(doc: &Value) -> Result<String, String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("asyncapi");
    let file = std::env::temp_dir().join(format!("{}.json", unique("asyncapi")));
    std::fs::write(&file, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    let out = std::process::Command::new("node")
        .arg(dir.join("validate.mjs"))
        .arg(&file)
        .current_dir(&dir)
        .output()
        .expect("node runs");
    let _ = std::fs::remove_file(&file);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

#[test]
fn the_document_describes_channels_parameters_replies_and_schemas() {
    let doc = Home::asyncapi();
    assert_eq!(doc["asyncapi"], "3.0.0");
    assert_eq!(doc["info"]["title"], "Home");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let command = &doc["channels"]["command"];
    assert_eq!(command["address"], "home/{room}/cmd");
    assert!(command["parameters"]["room"].is_object(), "{command}");
    assert_eq!(
        doc["channels"]["command_reply"]["address"],
        "home/{room}/ack"
    );
    // The shared group's prefix is not part of the address; the description names the group.
    let light = &doc["channels"]["light"];
    assert_eq!(light["address"], "lights/+/state");
    assert!(light["description"].as_str().unwrap().contains("`lights`"));
    let operation = &doc["operations"]["command"];
    assert_eq!(operation["action"], "receive");
    assert_eq!(operation["bindings"]["mqtt"]["qos"], 1);
    assert_eq!(
        operation["reply"]["channel"]["$ref"],
        "#/channels/command_reply"
    );
    let messages = &doc["components"]["messages"];
    let request = &messages["command_request"]["payload"]["properties"]["data"];
    assert_eq!(request["properties"]["action"]["type"], "string");
    assert_eq!(
        request["properties"]["action"]["description"],
        "What to do."
    );
    assert_eq!(request["required"], json!(["action"]));
    let answer = &messages["command_answer"]["payload"]["properties"];
    assert_eq!(answer["type"]["const"], "home.ack");
    assert_eq!(answer["data"]["properties"]["done"]["type"], "boolean");
    assert_eq!(
        messages["light_request"]["payload"]["properties"]["data"],
        json!({"type": "object"})
    );
    assert_eq!(
        messages["error"]["payload"]["properties"]["type"]["const"],
        "error"
    );
}

#[test]
#[cfg_attr(
    not(has_asyncapi_parser),
    ignore = "the official AsyncAPI parser is not installed: `npm ci --prefix tests/asyncapi` (node is needed)"
)]
fn the_official_parser_accepts_the_documents() {
    #[cfg(has_asyncapi_parser)]
    {
        let config = MqttConfig::builder()
            .url("mqtts://user:secret@broker.example:8883,mqtt://127.0.0.1:1883")
            .client_id("home")
            .build()
            .unwrap();
        let home =
            tars_mqtt::asyncapi::document("Home", "1.0.0", Home::router().routes(), Some(&config));
        assert_eq!(home["servers"]["broker"]["protocol"], "secure-mqtt");
        assert!(!home.to_string().contains("secret"));
        for (name, doc) in [
            ("Home", home),
            ("MemoryWorker", tars_mqtt_examples_memory_worker_asyncapi()),
        ] {
            match parse_with_the_official_parser(&doc) {
                Ok(report) => assert!(report.contains("\"ok\":true"), "{name}: {report}"),
                Err(report) => panic!("{name}: {report}\n{doc:#}"),
            }
        }
    }
}

/// The pilot's document, built from its routes as the example declares them.
#[cfg(has_asyncapi_parser)]
fn tars_mqtt_examples_memory_worker_asyncapi() -> Value {
    // The example is a binary; its contract types are in the examples' library. A service with
    // the same routes and types stands in for it here (the CLI test parses the real one).
    use tars_mqtt_examples::contracts::{MemoryQuery, MemoryResults, TtsSay};
    struct Pilot;
    #[mqtt_service]
    impl Pilot {
        #[subscribe(
            "memory/query",
            qos = 1,
            reply = "memory/results",
            event = "memory.results"
        )]
        async fn query(&self, _q: MemoryQuery) -> Option<MemoryResults> {
            None
        }
        #[subscribe("tts/say", qos = 1, group = "memory")]
        async fn tts_say(&self, _say: TtsSay) {}
    }
    Pilot::asyncapi()
}

/// A running `Home` with a client id of its own, and a peer listening to the discovery answers.
async fn home_and_peer(broker: &TestBroker) -> (tars_mqtt::ServiceHandle, String, TestClient) {
    let client_id = unique("home");
    let service = Home
        .start(config(&broker.url(), &client_id).build().unwrap())
        .unwrap();
    service.wait_ready(WAIT).await.unwrap();
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe("system/services/replies/+").await;
    (service, client_id, peer)
}

async fn a_running_service_serves_its_document(broker: TestBroker) {
    let (service, client_id, mut peer) = home_and_peer(&broker).await;
    peer.publish_json(
        &request_topic(Verb::AsyncApi, Some(&client_id)),
        &json!({"id": "doc-1", "type": "service.asyncapi.request", "data": {}}),
    )
    .await;
    let answer = peer
        .expect_where(&reply_topic(Verb::AsyncApi), WAIT, |m| {
            m.json()["id"] == "doc-1"
        })
        .await
        .json();
    assert_eq!(answer["type"], "service.asyncapi");
    let served = &answer["data"];
    let built = Home::asyncapi();
    assert_eq!(served["channels"], built["channels"]);
    assert_eq!(served["operations"], built["operations"]);
    assert_eq!(served["components"], built["components"]);
    // The server is the broker the service was started with.
    let host = broker.url().replace("mqtt://", "");
    assert_eq!(served["servers"]["broker"]["host"], host.as_str());
    assert_eq!(
        served["servers"]["broker"]["bindings"]["mqtt"]["clientId"],
        client_id
    );
    service.shutdown().await;
}

/// `docs/schemas/service.{verb}.json`: the schemas of the discovery answers, as the types write
/// them (rewrite them with `TARS_MQTT_BLESS=1`).
#[test]
fn the_documented_discovery_schemas_are_the_types_schemas() {
    use tars_mqtt::asyncapi::schema_of;
    use tars_mqtt::discovery::{Info, Ping, Stats};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas");
    for (verb, schema) in [
        ("ping", schema_of::<Ping>()),
        ("info", schema_of::<Info>()),
        ("stats", schema_of::<Stats>()),
    ] {
        let file = dir.join(format!("service.{verb}.json"));
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        if std::env::var_os("TARS_MQTT_BLESS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&file, &text).unwrap();
        }
        let documented = std::fs::read_to_string(&file).unwrap_or_else(|e| {
            panic!("{}: {e} (write it with TARS_MQTT_BLESS=1)", file.display())
        });
        assert_eq!(
            documented,
            text,
            "{} differs from the type's schema: rerun with TARS_MQTT_BLESS=1 and review",
            file.display()
        );
    }
}

async fn discovery_answers_validate_against_the_documented_schemas(broker: TestBroker) {
    let (service, client_id, mut peer) = home_and_peer(&broker).await;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas");
    for verb in [Verb::Ping, Verb::Info, Verb::Stats] {
        let id = unique("q");
        peer.publish_json(
            &request_topic(verb, Some(&client_id)),
            &json!({"id": id, "type": "q", "data": {}}),
        )
        .await;
        let answer = peer
            .expect_where(&reply_topic(verb), WAIT, |m| m.json()["id"] == id.as_str())
            .await
            .json();
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("service.{verb}.json"))).unwrap(),
        )
        .unwrap();
        let validator = jsonschema::draft7::new(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&answer["data"])
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{verb}: {errors:?}\n{:#}",
            answer["data"]
        );
    }
    service.shutdown().await;
}

broker_suite!(
    a_running_service_serves_its_document,
    discovery_answers_validate_against_the_documented_schemas,
);
