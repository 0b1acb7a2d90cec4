//! Presence: the `health.status` envelopes on `system/health/{client_id}` (ready, shutdown, and
//! the `offline` last will) and the heartbeat on `system/keepalive/{client_id}`.

use serde::Serialize;

use crate::envelope::{encode_raw, new_id, now};

/// Envelope type of health messages.
pub const HEALTH_EVENT_TYPE: &str = "health.status";

/// `system/health/{client_id}`.
pub fn health_topic(client_id: &str) -> String {
    format!("system/health/{client_id}")
}

/// `system/keepalive/{client_id}`.
pub fn heartbeat_topic(client_id: &str) -> String {
    format!("system/keepalive/{client_id}")
}

#[derive(Serialize)]
struct HealthData<'a> {
    message_id: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    err: Option<&'a str>,
    timestamp: f64,
}

/// A `health.status` envelope: `{"message_id","ok","event"?,"err"?,"timestamp"}`.
pub fn health_payload(source: &str, ok: bool, event: Option<&str>, err: Option<&str>) -> Vec<u8> {
    let ts = now();
    let data = serde_json::value::to_raw_value(&HealthData {
        message_id: new_id(),
        ok,
        event,
        err,
        timestamp: ts,
    })
    .expect("health data serializes");
    encode_raw(&new_id(), HEALTH_EVENT_TYPE, ts, source, &data)
}

/// The heartbeat, which is not an envelope: `{"ok":true,"event":"heartbeat","timestamp":…}`.
pub fn heartbeat_payload() -> Vec<u8> {
    #[derive(Serialize)]
    struct Beat {
        ok: bool,
        event: &'static str,
        timestamp: f64,
    }
    serde_json::to_vec(&Beat {
        ok: true,
        event: "heartbeat",
        timestamp: now(),
    })
    .expect("heartbeat serializes")
}
