//! The envelope contract, health and heartbeat shapes (byte-compatible with the Python services).

use serde_json::{Value, json};
use tars_mqtt::{Envelope, wire::DecodeError};

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[test]
fn encodes_compact_json_in_wire_order() {
    let env = Envelope::new(
        "stt.final",
        "tars-stt",
        json!({"text": "hello world", "is_final": true}),
    )
    .with_id("3f2b8c1e9a4d4e0f8b7a6c5d4e3f2a1b");
    let bytes = env.encode().unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.starts_with(r#"{"id":"3f2b8c1e9a4d4e0f8b7a6c5d4e3f2a1b","type":"stt.final","ts":"#),
        "{text}"
    );
    assert!(
        text.ends_with(r#","source":"tars-stt","data":{"is_final":true,"text":"hello world"}}"#),
        "{text}"
    );
    assert!(
        !text.contains(", ") && !text.contains(": "),
        "compact: {text}"
    );
}

#[test]
fn fresh_ids_are_32_lowercase_hex() {
    let env = Envelope::new("t", "s", json!({}));
    assert_eq!(env.id.len(), 32);
    assert!(
        env.id
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_ne!(env.id, Envelope::new("t", "s", json!({})).id);
}

#[test]
fn decodes_python_envelopes_with_defaults() {
    let python = br#"{"id":"req-0001","type":"memory.results","ts":1729123458.2,"source":"memory-worker","data":{"query":"where did we meet","k":1,"results":[]}}"#;
    let env: Envelope<Value> = Envelope::decode(python).unwrap();
    assert_eq!(env.correlation_id(), Some("req-0001"));
    assert_eq!(
        (env.event_type.as_str(), env.ts, env.source.as_str()),
        ("memory.results", 1729123458.2, "memory-worker")
    );
    let minimal: Envelope<Value> =
        Envelope::decode(br#"{"type":"x","ts":1729123458,"data":{}}"#).unwrap();
    assert_eq!(
        minimal.correlation_id(),
        None,
        "no id on the wire: nothing to correlate with"
    );
    assert_eq!(minimal.id.len(), 32, "a fresh uuid hex is filled in");
    assert_eq!(
        (minimal.ts, minimal.source.as_str()),
        (1729123458.0, "router")
    );
}

#[test]
fn lenient_rules_of_the_python_services() {
    // An object that is not an envelope (unknown keys, or no type/data) is itself the data.
    let env: Envelope<Value> = Envelope::decode(br#"{"text":"hi","top_k":3}"#).unwrap();
    assert_eq!(env.data, json!({"text": "hi", "top_k": 3}));
    assert_eq!(env.correlation_id(), None);
    let env: Envelope<Value> =
        Envelope::decode(br#"{"id":"1","type":"t","data":{},"extra":1}"#).unwrap();
    assert_eq!(
        env.data,
        json!({"id": "1", "type": "t", "data": {}, "extra": 1})
    );
    // `data` must be an object: a list makes the whole payload the data.
    let env: Envelope<Value> = Envelope::decode(br#"{"id":"1","type":"t","data":[1]}"#).unwrap();
    assert_eq!(env.data, json!({"id": "1", "type": "t", "data": [1]}));
    // Non-JSON text becomes {"text": …}.
    let env: Envelope<Value> = Envelope::decode(b"hello there").unwrap();
    assert_eq!(env.data, json!({"text": "hello there"}));
    // JSON that is not an object, and bytes that are not UTF-8, are errors.
    assert!(matches!(
        Envelope::<Value>::decode(b"[1,2]"),
        Err(DecodeError::NotObject)
    ));
    assert!(matches!(
        Envelope::<Value>::decode(b"42"),
        Err(DecodeError::NotObject)
    ));
    assert!(matches!(
        Envelope::<Value>::decode(b"\xff\xfe"),
        Err(DecodeError::NotUtf8)
    ));
}

#[test]
fn typed_data_errors_are_reported() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Query {
        text: String,
        top_k: u32,
    }
    let err = Envelope::<Query>::decode(br#"{"type":"q","data":{"text":"x","top_k":"many"}}"#)
        .unwrap_err();
    assert!(matches!(err, DecodeError::Data(_)));
    assert!(
        err.to_string().contains("top_k") || err.to_string().contains("string"),
        "{err}"
    );
}

#[test]
fn data_must_serialize_to_an_object() {
    assert!(Envelope::new("t", "s", vec![1, 2]).encode().is_err());
    assert!(Envelope::new("t", "s", 5).encode().is_err());
}

#[test]
fn health_and_heartbeat_shapes() {
    let health: Value = serde_json::from_slice(&tars_mqtt::wire::health_payload(
        "memory-worker",
        true,
        Some("ready"),
        None,
    ))
    .unwrap();
    assert_eq!(keys(&health), ["data", "id", "source", "ts", "type"]);
    assert_eq!(health["type"], "health.status");
    assert_eq!(health["source"], "memory-worker");
    let data = &health["data"];
    assert_eq!(keys(data), ["event", "message_id", "ok", "timestamp"]);
    assert_eq!(
        (data["ok"].clone(), data["event"].clone()),
        (json!(true), json!("ready"))
    );
    assert_eq!(data["message_id"].as_str().unwrap().len(), 32);
    assert!(data["timestamp"].is_f64());
    let failed: Value = serde_json::from_slice(&tars_mqtt::wire::health_payload(
        "s",
        false,
        None,
        Some("boom"),
    ))
    .unwrap();
    assert_eq!(
        keys(&failed["data"]),
        ["err", "message_id", "ok", "timestamp"],
        "`err`, never `error`; no event key"
    );
    let beat: Value = serde_json::from_slice(&tars_mqtt::wire::heartbeat_payload()).unwrap();
    assert_eq!(keys(&beat), ["event", "ok", "timestamp"]);
    assert_eq!(
        (beat["ok"].clone(), beat["event"].clone()),
        (json!(true), json!("heartbeat"))
    );
    assert_eq!(
        tars_mqtt::wire::health_topic("tars-memory"),
        "system/health/tars-memory"
    );
    assert_eq!(
        tars_mqtt::wire::heartbeat_topic("tars-memory"),
        "system/keepalive/tars-memory"
    );
}
