//! The framework's own wire shapes against the Python models: the envelope (both ways), health,
//! the last will, the heartbeat and error replies.

use serde_json::{Value, json};
use tars_mqtt::testing::TestClient;
use tars_mqtt::{
    Envelope,
    wire::{EnvelopeHeader, health_payload, heartbeat_payload},
};
use tars_mqtt_it::{TestBroker, WAIT, broker_suite, config, echo, start, unique};

use super::{assert_valid, examples, schema, types::variants, validator};

/// `json.dumps` with its default `ensure_ascii=True`: every non-ASCII character as `\uXXXX`
/// (UTF-16 code units), the way a Python client that does not use orjson writes it.
fn ascii_escaped(value: &Value) -> Vec<u8> {
    let mut out = String::new();
    for c in serde_json::to_string(value).unwrap().chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out.into_bytes()
}

/// Every example validates against the `Envelope` model and decodes with the framework's
/// `Envelope`, id (so correlation), type, ts, source and data intact, whether the non-ASCII text
/// comes as UTF-8 or escaped.
#[test]
fn every_example_envelope_decodes_with_the_framework() {
    let envelope = validator("envelope.Envelope");
    for example in examples() {
        let payload = &example.payload;
        assert_valid(&envelope, payload, &example.name);
        for bytes in [serde_json::to_vec(payload).unwrap(), ascii_escaped(payload)] {
            let decoded = Envelope::<Value>::decode(&bytes)
                .unwrap_or_else(|e| panic!("{}: {e}", example.name));
            assert_eq!(
                decoded.correlation_id(),
                payload["id"].as_str(),
                "{}",
                example.name
            );
            assert_eq!(
                (
                    json!(decoded.event_type),
                    json!(decoded.ts),
                    json!(decoded.source),
                    &decoded.data
                ),
                (
                    payload["type"].clone(),
                    payload["ts"].clone(),
                    payload["source"].clone(),
                    &payload["data"]
                ),
                "{}",
                example.name
            );
        }
    }
}

/// A payload the `Envelope` model accepts is read as an envelope, and one it refuses (an unknown
/// key, `null` for `id`, `ts` or `source`, a `data` that is not an object, …) is not: the
/// lenient rules then take the whole object as the data, as the Python services do.
#[test]
fn the_framework_reads_as_an_envelope_exactly_what_the_model_accepts() {
    let schema = schema("envelope.Envelope");
    let envelope = validator("envelope.Envelope");
    let mut checked = 0;
    for example in examples() {
        for (label, payload) in variants(&schema, &example.payload) {
            let bytes = serde_json::to_vec(&payload).unwrap();
            let is_envelope = EnvelopeHeader::read(&bytes).event_type.is_some();
            assert_eq!(
                is_envelope,
                envelope.is_valid(&payload),
                "{} {label}: {payload}",
                example.name
            );
            checked += 1;
        }
    }
    assert!(checked > 19 * 50, "{checked}");
}

#[test]
fn envelopes_the_framework_encodes_validate() {
    let envelope = validator("envelope.Envelope");
    let encoded = Envelope::new(
        "memory.results",
        "memory-worker",
        json!({"query": "q", "k": 0}),
    )
    .with_id("rag-1f2e")
    .encode()
    .unwrap();
    assert_valid(
        &envelope,
        &serde_json::from_slice(&encoded).unwrap(),
        "an envelope",
    );
}

/// Health as the framework publishes it: `ready`, `shutdown`, the `offline` last will and an
/// error, each an `Envelope` of type `health.status` whose data is a `HealthPing`; the heartbeat,
/// not an envelope, is a `HealthPing` too.
#[test]
fn health_and_heartbeat_validate() {
    let (envelope, health) = (
        validator("envelope.Envelope"),
        validator("health.HealthPing"),
    );
    let cases = [
        (true, Some("ready"), None),
        (false, Some("shutdown"), None),
        (false, Some("offline"), None),
        (false, None, Some("broker unreachable")),
    ];
    for (ok, event, err) in cases {
        let message: Value =
            serde_json::from_slice(&health_payload("memory-worker", ok, event, err)).unwrap();
        assert_valid(&envelope, &message, &format!("health {event:?} {err:?}"));
        assert_valid(
            &health,
            &message["data"],
            &format!("health data {event:?} {err:?}"),
        );
        assert_eq!(message["type"], "health.status");
    }
    let beat: Value = serde_json::from_slice(&heartbeat_payload()).unwrap();
    assert_valid(&health, &beat, "the heartbeat");
}

/// An error reply (here: a payload that is JSON but not an object) is an `Envelope` whose data
/// a Python consumer can read as a `HealthPing` (`ok` false, the reason in `err`).
async fn error_replies_validate(broker: TestBroker) {
    let (input, output) = (unique("in/"), unique("out/"));
    let service = start(
        config(&broker.url(), &unique("echo")),
        echo(input.clone(), output.clone()),
        (),
    )
    .await;
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe(&output).await;
    peer.publish(&input, "[1, 2]", tars_mqtt::QoS::AtLeastOnce, false)
        .await;
    let reply = peer.expect(&output, WAIT).await.json();
    assert_eq!(reply["type"], "error");
    assert_valid(&validator("envelope.Envelope"), &reply, "the error reply");
    assert_valid(
        &validator("health.HealthPing"),
        &reply["data"],
        "the error reply's data",
    );
    service.shutdown().await;
}

/// The last will, as the broker publishes it when the service process is killed.
async fn the_last_will_validates(broker: TestBroker) {
    let id = unique("will");
    let topic = format!("system/health/{id}");
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe(&topic).await;
    let mut child = crate::echo_process(&broker.url(), &id, &unique("will"))
        .spawn()
        .expect("start the service process");
    assert_eq!(
        peer.expect(&topic, WAIT).await.json()["data"]["event"],
        "ready"
    );
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    let will = peer.expect(&topic, WAIT).await.json();
    assert_eq!(will["data"]["event"], "offline");
    assert_valid(&validator("envelope.Envelope"), &will, "the last will");
    assert_valid(
        &validator("health.HealthPing"),
        &will["data"],
        "the last will's data",
    );
}

broker_suite!(error_replies_validate, the_last_will_validates);
