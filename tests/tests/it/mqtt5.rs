//! MQTT 5 against Mosquitto, with Mosquitto's own MQTT 5 clients as peers: request/reply by
//! Response Topic and Correlation Data (`mosquitto_rr -V 5`), user properties and trace context
//! (`mosquitto_pub`/`mosquitto_sub -V 5`), reason codes (an ACL, a session taken over), session
//! and message expiry, No Local. The rest of the end-to-end suite runs on MQTT 5 too (the
//! `mosquitto_v5` and `restarted_mosquitto_v5` modules of every broker suite).

use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tars_mqtt::config::Protocol;
use tars_mqtt::properties::Properties;
use tars_mqtt::testing::BrokerProcess;
use tars_mqtt::{ConnectionState, Json, QoS, Route, Router};
use tars_mqtt_it::{WAIT, config, speak, start, unique, wait_until};

/// A Mosquitto whose services speak MQTT 5, with `extra` configuration lines.
fn broker(extra: &str) -> BrokerProcess {
    let broker = BrokerProcess::mosquitto(extra).expect("start mosquitto");
    speak(&broker.url(), Protocol::V5);
    broker
}

/// Runs a Mosquitto client against `broker` (MQTT 5), failing the test on a non-zero exit.
fn run(program: &str, broker: &BrokerProcess, args: &[&str]) -> Output {
    let port = broker.port().to_string();
    let out = Command::new(program)
        .args(["-V", "5", "-h", "127.0.0.1", "-p", &port])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} did not run: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `mosquitto_sub -V 5` subscribed to `topic` (returns once its SUBACK is in), for `count`
/// messages printed with `format`.
struct Subscriber {
    child: std::process::Child,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl Subscriber {
    fn start(broker: &BrokerProcess, topic: &str, count: usize, format: &str) -> Self {
        use std::io::BufRead;
        let port = broker.port().to_string();
        // Line-buffered (coreutils' stdbuf): a pipe would hold its output until it exits.
        let mut child = Command::new("stdbuf")
            .args([
                "-oL",
                "mosquitto_sub",
                "-V",
                "5",
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-d",
            ])
            .args([
                "-t",
                topic,
                "-C",
                &count.to_string(),
                "-W",
                "10",
                "-F",
                format,
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("mosquitto_sub runs");
        let mut lines = std::io::BufReader::new(child.stdout.take().expect("piped")).lines();
        // With -d it says when the SUBACK came; its messages follow.
        loop {
            let line = lines
                .next()
                .expect("mosquitto_sub subscribes")
                .expect("its output");
            if line.contains("received SUBACK") {
                break;
            }
        }
        Self { child, lines }
    }

    /// The messages it printed, without its debug lines, once it has `count` of them.
    fn messages(mut self) -> Vec<String> {
        let out = self
            .lines
            .by_ref()
            .map_while(Result::ok)
            .filter(|l| !l.starts_with("Client ") && !l.starts_with("Subscribed"))
            .collect();
        let _ = self.child.wait();
        out
    }
}

fn lines(out: Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The pilot on MQTT 5 answers `mosquitto_rr -V 5` on the request's Response Topic with the
/// Correlation Data echoed, for an envelope and for bare data alike; the route's own reply
/// topic is where a 3.1.1 peer still gets its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(has_mosquitto),
    ignore = "mosquitto is not installed: apt-get install -y mosquitto"
)]
async fn mosquitto_rr_is_answered_on_its_response_topic() {
    let broker = broker("");
    let worker = crate::memory_worker::start(&broker.url(), None, "TARS");
    worker.wait_ready(WAIT).await.unwrap();
    let response = unique("rr/response/");
    let request = json!({
        "id": "req-rr-1",
        "type": "memory.query",
        "data": {"text": "where did we meet", "top_k": 3},
    })
    .to_string();
    for (payload, correlation) in [
        (request.as_str(), "corr-envelope"),
        (r#"{"text": "bare data", "top_k": 2}"#, "corr-bare"),
    ] {
        let out = tokio::task::spawn_blocking({
            let (broker_port, response, payload) =
                (broker.port(), response.clone(), payload.to_owned());
            let correlation = correlation.to_owned();
            move || {
                let port = broker_port.to_string();
                Command::new("mosquitto_rr")
                    .args(["-V", "5", "-h", "127.0.0.1", "-p", &port, "-q", "1"])
                    .args(["-t", "memory/query", "-e", &response, "-m", &payload])
                    .args(["-D", "publish", "correlation-data", &correlation])
                    .args(["-W", "10", "-F", "%t|%D|%p"])
                    .output()
                    .expect("mosquitto_rr runs")
            }
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "mosquitto_rr got no answer: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = lines(out).pop().expect("one answer");
        let mut parts = line.splitn(3, '|');
        assert_eq!(parts.next(), Some(response.as_str()), "{line}");
        assert_eq!(parts.next(), Some(correlation), "{line}");
        let reply: Value = serde_json::from_str(parts.next().unwrap()).unwrap();
        assert_eq!(reply["type"], "memory.results", "{reply}");
        assert_eq!(reply["source"], "memory-worker");
        assert!(reply["data"]["results"].is_array(), "{reply}");
        if correlation == "corr-envelope" {
            assert_eq!(reply["id"], "req-rr-1");
            assert_eq!(reply["data"]["query"], "where did we meet");
        } else {
            assert_eq!(reply["data"]["query"], "bare data");
        }
    }
    worker.shutdown().await;
}

/// User properties and the content type reach the handler; the `traceparent` a message carries
/// is continued by what the handler publishes (same trace id, a new span id); an event's own
/// properties and a route's reply properties are sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(has_mosquitto),
    ignore = "mosquitto is not installed: apt-get install -y mosquitto"
)]
async fn properties_and_trace_context_flow_through_a_handler() {
    let broker = broker("");
    let seen = Arc::new(Mutex::new(None::<Properties>));
    let record = seen.clone();
    let router = Router::new().route(
        Route::new(
            "props/in",
            move |props: Properties, publisher: tars_mqtt::Publisher| {
                let seen = record.clone();
                async move {
                    *seen.lock().unwrap() = Some(props);
                    publisher
                        .event("props/event", "props.event", &json!({"n": 1}))
                        .user_property("stage", "inner")
                        .await
                        .unwrap();
                    Json(json!({"ok": true}))
                }
            },
        )
        .qos(QoS::AtLeastOnce)
        .reply("props/out", "props.out")
        .reply_properties(Properties::default().with_content_type("application/json")),
    );
    let service = start(config(&broker.url(), &unique("props")), router, ()).await;
    // topic|user properties|correlation data|content type|payload
    let event = Subscriber::start(&broker, "props/event", 1, "%t|%P|%D|%C|%p");
    let reply = Subscriber::start(&broker, "props/out", 1, "%t|%P|%D|%C|%p");
    let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    run(
        "mosquitto_pub",
        &broker,
        &[
            "-t",
            "props/in",
            "-q",
            "1",
            "-m",
            r#"{"id":"p1","type":"t","data":{}}"#,
            "-D",
            "publish",
            "user-property",
            "traceparent",
            trace,
            "-D",
            "publish",
            "user-property",
            "tenant",
            "tars",
            "-D",
            "publish",
            "content-type",
            "application/json",
        ],
    );
    let event = event.messages();
    let reply = reply.messages();

    let props = seen.lock().unwrap().clone().expect("the handler ran");
    assert_eq!(props.user_property("tenant"), Some("tars"));
    assert_eq!(props.content_type.as_deref(), Some("application/json"));
    let received = props.traceparent().expect("a traceparent");
    assert_eq!(received.parent_id(), "00f067aa0ba902b7");

    let event: Vec<&str> = event[0].split('|').collect();
    assert!(event[1].contains("stage:inner"), "{event:?}");
    let carried = event[1]
        .split(' ')
        .find_map(|p| p.strip_prefix("traceparent:"))
        .expect("the event carries the trace on");
    let carried: tars_mqtt::properties::TraceParent = carried.parse().unwrap();
    assert_eq!(carried.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_ne!(carried.parent_id(), "00f067aa0ba902b7");

    let reply: Vec<&str> = reply[0].split('|').collect();
    assert_eq!(reply[3], "application/json", "{reply:?}");
    assert!(reply[1].contains("traceparent:00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    let body: Value = serde_json::from_str(reply[4]).unwrap();
    assert_eq!(
        (body["id"].clone(), body["data"].clone()),
        (json!("p1"), json!({"ok": true}))
    );
    service.shutdown().await;
}

/// Mosquitto's access-control plugin: the anonymous clients may subscribe and publish to
/// `open/#` and `system/#` only (and the plugin's own control topic, for `mosquitto_ctrl`). (Mosquitto's `acl_file` never refuses a SUBSCRIBE, the plugin
/// does, with reason code NotAuthorized.)
const DYNSEC: &str = r#"{
  "defaultACLAccess": {"publishClientSend": false, "publishClientReceive": true,
                       "subscribe": false, "unsubscribe": true},
  "clients": [],
  "groups": [{"groupname": "anonymous", "roles": [{"rolename": "open"}]}],
  "anonymousGroup": "anonymous",
  "roles": [{"rolename": "open", "acls": [
    {"acltype": "subscribePattern", "topic": "open/#", "allow": true},
    {"acltype": "publishClientSend", "topic": "open/#", "allow": true},
    {"acltype": "subscribePattern", "topic": "system/#", "allow": true},
    {"acltype": "publishClientSend", "topic": "system/#", "allow": true},
    {"acltype": "subscribePattern", "topic": "$CONTROL/dynamic-security/#", "allow": true},
    {"acltype": "publishClientSend", "topic": "$CONTROL/dynamic-security/#", "allow": true}
  ]}, {"rolename": "more", "acls": []}]
}"#;

/// Where Debian's mosquitto package puts the plugin.
fn dynsec_plugin() -> Option<std::path::PathBuf> {
    std::fs::read_dir("/usr/lib")
        .ok()?
        .flatten()
        .map(|dir| dir.path().join("mosquitto_dynamic_security.so"))
        .chain([std::path::PathBuf::from(
            "/usr/lib/mosquitto_dynamic_security.so",
        )])
        .find(|p| p.exists())
}

/// Refusals carry their reason code's name: a subscription and a publish the broker's access
/// control denies (`NotAuthorized`), and a disconnection by an administrator's change.
/// A publish over the broker's Maximum Packet Size is refused
/// before it is sent. The allowed route keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(has_mosquitto),
    ignore = "mosquitto is not installed: apt-get install -y mosquitto"
)]
async fn refusals_reach_the_readiness_state_with_their_names() {
    let plugin = dynsec_plugin()
        .expect("mosquitto_dynamic_security.so, which Debian's mosquitto package installs");
    let dir = tars_mqtt_it::TempDir::new("dynsec");
    let rules = dir.path().join("dynamic-security.json");
    std::fs::write(&rules, DYNSEC).unwrap();
    let broker = BrokerProcess::mosquitto(&format!(
        "plugin {}\nplugin_opt_config_file {}\nmax_packet_size 4096",
        plugin.display(),
        rules.display()
    ))
    .expect("start mosquitto");
    speak(&broker.url(), Protocol::V5);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let router = Router::new()
        .route(Route::new("open/in", move |Json(v): Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(v);
            }
        }))
        .subscribe("closed/in", QoS::AtLeastOnce, |_: Json<Value>| async {});
    let id = unique("acl");
    let reports = Arc::new(Mutex::new(Vec::new()));
    let seen = reports.clone();
    // Slow reconnects: the back-off after the administrative kick below lasts long enough to see.
    let slow = config(&broker.url(), &id)
        .reconnect_min_delay(Duration::from_secs(1))
        .reconnect_max_delay(Duration::from_secs(2));
    let service = tars_mqtt::Runtime::new(slow.build().unwrap(), router, ())
        .on_error(move |r| {
            seen.lock()
                .unwrap()
                .push((r.kind, r.topic.clone(), r.message.clone()))
        })
        .start()
        .unwrap();
    service.wait_ready(WAIT).await.unwrap();
    let state = service.readiness().borrow().clone();
    assert_eq!(state.failed_subscriptions, ["closed/in"]);
    assert!(
        state
            .last_refusal
            .as_deref()
            .is_some_and(|r| r.contains("closed/in") && r.contains("NotAuthorized")),
        "{state:?}"
    );

    service
        .publisher()
        .publish_raw("closed/out", "{}", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    let mut readiness = service.readiness();
    let state = tokio::time::timeout(WAIT, readiness.wait_for(|r| r.refused_publishes == 1))
        .await
        .expect("the PUBACK's refusal is reported")
        .unwrap()
        .clone();
    assert!(
        state
            .last_refusal
            .as_deref()
            .is_some_and(|r| r.contains("NotAuthorized")),
        "{state:?}"
    );

    // Both refusals reached the error hook too.
    let refusals: Vec<_> = reports.lock().unwrap().clone();
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert!(refusals.iter().all(|(kind, _, message)| {
        *kind == tars_mqtt::runtime::ErrorKind::Refused && message.ends_with("NotAuthorized")
    }));
    assert_eq!(refusals[0].1, "closed/in");

    // The allowed route still works.
    service
        .publisher()
        .publish_raw("open/in", r#"{"n": 1}"#, QoS::AtLeastOnce, false)
        .await
        .unwrap();
    assert_eq!(
        tokio::time::timeout(WAIT, rx.recv()).await.unwrap(),
        Some(json!({"n": 1}))
    );

    // A packet over the broker's Maximum Packet Size is refused before it is sent (rumqttc
    // would drop the connection), and nothing else is affected.
    let err = service
        .publisher()
        .publish_raw("open/in", vec![b' '; 8 * 1024], QoS::AtLeastOnce, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, tars_mqtt::PublishError::TooLarge { limit: 4096, .. }),
        "{err}"
    );
    assert!(service.readiness().borrow().ready);

    // An administrator changes the anonymous clients' roles: the broker drops them, and the
    // service backs off and comes back. (Mosquitto 2.0.11 closes this connection without a
    // DISCONNECT packet, so there is no reason code to show here; the unit tests of the
    // connection cover how a DISCONNECT's reason is reported.)
    let mut states = service.readiness();
    let backed_off = tokio::spawn(async move {
        while states.changed().await.is_ok() {
            if let ConnectionState::Backoff { error, .. } = &states.borrow().connection {
                return error.clone();
            }
        }
        String::new()
    });
    let port = broker.port().to_string();
    let ctrl = Command::new("mosquitto_ctrl")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "dynsec",
            "addGroupRole",
            "anonymous",
            "more",
        ])
        .output();
    let out = ctrl.expect("mosquitto_ctrl (package mosquitto) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let error = tokio::time::timeout(WAIT, backed_off)
        .await
        .expect("the broker drops the service")
        .unwrap();
    assert!(!error.is_empty());
    service
        .wait_ready(WAIT)
        .await
        .expect("the service reconnects");
    service.shutdown().await;
}

/// A persistent session outlives the connection on MQTT 5 (session expiry), and what was
/// published with a message expiry while the service was away is gone when it comes back;
/// what had none is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(has_mosquitto),
    ignore = "mosquitto is not installed: apt-get install -y mosquitto"
)]
async fn sessions_and_messages_expire_as_asked() {
    let broker = broker("");
    let id = unique("expiry");
    let p = unique("exp");
    let got = Arc::new(Mutex::new(Vec::<Value>::new()));
    let router = |got: Arc<Mutex<Vec<Value>>>| {
        Router::new().subscribe(
            format!("{p}/in"),
            QoS::AtLeastOnce,
            move |Json(v): Json<Value>| {
                let got = got.clone();
                async move { got.lock().unwrap().push(v) }
            },
        )
    };
    let persistent = || {
        config(&broker.url(), &id)
            .persistent_session(true)
            .session_expiry(Duration::from_secs(60))
    };
    let service = start(persistent(), router(got.clone()), ()).await;
    service.shutdown().await;

    let sender = start(
        config(&broker.url(), &unique("sender")),
        Router::<()>::new(),
        (),
    )
    .await;
    let publisher = sender.publisher();
    publisher
        .event(&format!("{p}/in"), "t", &json!({"n": "expires"}))
        .message_expiry(Duration::from_secs(1))
        .await
        .unwrap();
    publisher
        .event(&format!("{p}/in"), "t", &json!({"n": "stays"}))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let service = start(persistent(), router(got.clone()), ()).await;
    wait_until("the kept message", || !got.lock().unwrap().is_empty()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(*got.lock().unwrap(), [json!({"n": "stays"})]);
    service.shutdown().await;
    sender.shutdown().await;
}

/// With No Local, a service does not receive what it publishes itself on its own filters;
/// other clients' messages still arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(has_mosquitto),
    ignore = "mosquitto is not installed: apt-get install -y mosquitto"
)]
async fn no_local_keeps_a_services_own_publishes_away() {
    let broker = broker("");
    let p = unique("nl");
    let count = |no_local: bool| {
        let got = Arc::new(Mutex::new(Vec::<Value>::new()));
        let seen = got.clone();
        let router = Router::new().subscribe(
            format!("{p}/#"),
            QoS::AtLeastOnce,
            move |Json(v): Json<Value>| {
                let got = seen.clone();
                async move { got.lock().unwrap().push(v) }
            },
        );
        (
            config(&broker.url(), &unique("svc")).no_local(no_local),
            router,
            got,
        )
    };
    let (with, router, own_hidden) = count(true);
    let hidden = start(with, router, ()).await;
    let (without, router, own_seen) = count(false);
    let seen = start(without, router, ()).await;
    for service in [&hidden, &seen] {
        service
            .publisher()
            .publish_raw(
                &format!("{p}/x"),
                r#"{"from": "self"}"#,
                QoS::AtLeastOnce,
                false,
            )
            .await
            .unwrap();
    }
    wait_until("both messages at the service without No Local", || {
        own_seen.lock().unwrap().len() == 2
    })
    .await;
    wait_until("the other service's message", || {
        !own_hidden.lock().unwrap().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        own_hidden.lock().unwrap().len(),
        1,
        "only the other's message"
    );
    hidden.shutdown().await;
    seen.shutdown().await;
}

/// `Publisher::request` on MQTT 5 sends a Response Topic and its id as Correlation Data, so a
/// responder that knows nothing of envelopes (here `mosquitto_sub` + `mosquitto_pub`, driven by
/// the test) can answer, and the reply is matched by the correlation data alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(has_mosquitto),
    ignore = "mosquitto is not installed: apt-get install -y mosquitto"
)]
async fn requests_carry_a_response_topic_and_correlation_data() {
    let broker = broker("");
    let p = unique("req");
    let service = start(
        config(&broker.url(), &unique("requester")),
        Router::<()>::new(),
        (),
    )
    .await;
    let port = broker.port().to_string();
    let topic = format!("{p}/ask");
    let asked = Subscriber::start(&broker, &topic, 1, "%R|%D");
    let responder = tokio::task::spawn_blocking({
        let port = port.clone();
        move || {
            // Read the request's properties, then answer with a reply whose envelope id differs.
            let line = asked
                .messages()
                .pop()
                .expect("the request")
                .trim()
                .to_owned();
            let (response, correlation) = line.split_once('|').expect("response topic and data");
            let reply = json!({"id": "not-the-request-id", "type": "answer", "data": {"x": 42}});
            Command::new("mosquitto_pub")
                .args(["-V", "5", "-h", "127.0.0.1", "-p", &port, "-q", "1"])
                .args(["-t", response, "-m", &reply.to_string()])
                .args(["-D", "publish", "correlation-data", correlation])
                .status()
                .unwrap();
            line
        }
    });
    let reply: tars_mqtt::Envelope<Value> = service
        .publisher()
        .request(&topic, "question", &json!({"q": 1}))
        .reply_on(format!("{p}/answer"))
        .timeout(WAIT)
        .await
        .expect("the reply is matched by its correlation data");
    assert_eq!(reply.data, json!({"x": 42}));
    let seen = responder.await.unwrap();
    assert!(seen.starts_with(&format!("{p}/answer|")), "{seen}");
    service.shutdown().await;
}
