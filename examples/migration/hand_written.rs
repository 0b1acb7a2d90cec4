//! The "before" of the migration: the memory worker's MQTT surface written directly on
//! rumqttc, the way services are written without a framework — and made correct: a connect
//! loop with backoff, resubscription after every reconnect, lenient envelope decoding,
//! routing by topic, health with a last will, heartbeat, the character snapshot after SUBACK,
//! handlers off the network loop, graceful shutdown. It shares the worker's own logic with
//! `examples/memory_worker.rs`; everything below that line is MQTT plumbing.
//!
//! Run: `MQTT_URL=mqtt://127.0.0.1:1883 cargo run --example memory_worker_hand_written`

#[allow(dead_code, unreachable_pub, clippy::duplicate_mod)]
#[path = "../memory_worker.rs"]
pub mod port;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use port::MemoryWorker;
use rumqttc::{
    AsyncClient, Event, LastWill, MqttOptions, NetworkOptions, Outgoing, Packet, Publish, QoS,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tars_mqtt_examples::contracts::{
    CharacterGetRequest, CharacterUpdate, FinalTranscript, HealthPing, TtsSay,
};
use tokio::sync::{mpsc, watch};

// mqtt-plumbing: begin (counted by examples/migration/count_lines.sh)

const CLIENT_ID: &str = "tars-memory";
const SOURCE: &str = "memory-worker";
const HEALTH_TOPIC: &str = "system/health/tars-memory";
const SUBSCRIPTIONS: [(&str, QoS); 5] = [
    ("memory/query", QoS::AtLeastOnce),
    ("stt/final", QoS::AtLeastOnce),
    ("tts/say", QoS::AtLeastOnce),
    ("character/get", QoS::AtMostOnce),
    ("character/update", QoS::AtLeastOnce),
];

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[derive(Serialize)]
struct Envelope<'a, T> {
    id: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    ts: f64,
    source: &'a str,
    data: T,
}

fn envelope<T: Serialize>(id: &str, event_type: &str, data: T) -> Vec<u8> {
    serde_json::to_vec(&Envelope {
        id,
        event_type,
        ts: now(),
        source: SOURCE,
        data,
    })
    .expect("JSON")
}

fn health(ok: bool, event: &str) -> Vec<u8> {
    let data = json!({"message_id": new_id(), "ok": ok, "event": event, "timestamp": now()});
    envelope(&new_id(), "health.status", data)
}

/// The lenient rules: an envelope gives (its id, its data); any other JSON object is the data;
/// non-JSON text is `{"text": …}`.
fn decode(payload: &[u8]) -> Option<(Option<String>, Map<String, Value>)> {
    const KEYS: [&str; 5] = ["id", "type", "ts", "source", "data"];
    let text = std::str::from_utf8(payload).ok()?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => {
            let absent_or = |key: &str, is: fn(&Value) -> bool| object.get(key).is_none_or(is);
            let is_envelope = object.keys().all(|k| KEYS.contains(&k.as_str()))
                && object.get("type").is_some_and(Value::is_string)
                && object.get("data").is_some_and(Value::is_object)
                && absent_or("id", Value::is_string)
                && absent_or("ts", Value::is_number)
                && absent_or("source", Value::is_string);
            if is_envelope {
                let id = object.get("id").and_then(Value::as_str).map(str::to_owned);
                let Some(Value::Object(data)) = object.get("data").cloned() else {
                    return None;
                };
                Some((id, data))
            } else {
                Some((None, object))
            }
        }
        Ok(_) => None,
        Err(_) => Some((
            None,
            Map::from_iter([("text".to_owned(), Value::from(text))]),
        )),
    }
}

/// The data as the payload type of its topic, or `None` (logged) when it is not one.
fn typed<T: DeserializeOwned>(topic: &str, data: Map<String, Value>) -> Option<T> {
    serde_json::from_value(Value::Object(data))
        .map_err(|e| tracing::error!(topic, error = %e, "payload refused"))
        .ok()
}

enum Work {
    Connected,
    Subscribed,
    Message(Publish),
}

/// Runs until `stop` turns true.
pub async fn serve(
    host: &str,
    port: u16,
    worker: Arc<MemoryWorker>,
    mut stop: watch::Receiver<bool>,
) {
    let mut options = MqttOptions::new(CLIENT_ID, host, port);
    options.set_keep_alive(Duration::from_secs(60));
    options.set_max_packet_size(1 << 20, 1 << 20);
    options.set_last_will(LastWill::new(
        HEALTH_TOPIC,
        health(false, "offline"),
        QoS::AtLeastOnce,
        true,
    ));
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    let mut network = NetworkOptions::new();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);

    // Handled one at a time, in arrival order, and never on the network loop (publishing from
    // the loop that polls rumqttc can deadlock).
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handler = tokio::spawn({
        let client = client.clone();
        async move {
            while let Some(work) = rx.recv().await {
                match work {
                    Work::Connected => {
                        let filters = SUBSCRIPTIONS
                            .map(|(f, q)| rumqttc::SubscribeFilter::new(f.to_owned(), q));
                        let _ = client.subscribe_many(filters).await;
                    }
                    Work::Subscribed => {
                        let _ = client
                            .publish(HEALTH_TOPIC, QoS::AtLeastOnce, true, health(true, "ready"))
                            .await;
                        publish_character(&client, &worker).await;
                    }
                    Work::Message(publish) => handle(&client, &worker, publish).await,
                }
            }
        }
    });
    let heartbeat = tokio::spawn({
        let client = client.clone();
        async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                let beat = json!({"ok": true, "event": "heartbeat", "timestamp": now()});
                let _ = client
                    .publish(
                        format!("system/keepalive/{CLIENT_ID}"),
                        QoS::AtMostOnce,
                        false,
                        beat.to_string(),
                    )
                    .await;
            }
        }
    });

    let mut delay = Duration::from_millis(500);
    loop {
        tokio::select! {
            event = eventloop.poll() => match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    delay = Duration::from_millis(500);
                    let _ = tx.send(Work::Connected);
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = tx.send(Work::Subscribed);
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    let _ = tx.send(Work::Message(publish));
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, ?delay, "connection lost; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.changed() => break,
                    }
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            },
            _ = stop.changed() => break,
        }
    }

    heartbeat.abort();
    let _ = client
        .publish(
            HEALTH_TOPIC,
            QoS::AtLeastOnce,
            true,
            health(false, "shutdown"),
        )
        .await;
    let _ = client.disconnect().await;
    // Keep polling until the shutdown status and the DISCONNECT are written.
    while let Ok(Ok(event)) = tokio::time::timeout(Duration::from_secs(5), eventloop.poll()).await {
        if event == Event::Outgoing(Outgoing::Disconnect) {
            break;
        }
    }
    handler.abort();
}

async fn publish_character(client: &AsyncClient, worker: &MemoryWorker) {
    let snapshot = worker.character();
    let id = snapshot.message_id.to_string();
    let payload = envelope(&id, "system.character.current", &snapshot);
    let _ = client
        .publish("system/character/current", QoS::AtLeastOnce, true, payload)
        .await;
}

async fn handle(client: &AsyncClient, worker: &MemoryWorker, publish: Publish) {
    let Some((id, data)) = decode(&publish.payload) else {
        tracing::error!(topic = %publish.topic, "undecodable payload dropped");
        return;
    };
    let reply_id = id.unwrap_or_else(new_id);
    match publish.topic.as_str() {
        "memory/query" => match worker.validate(Value::Object(data)) {
            Ok(Some(query)) => {
                let results = envelope(&reply_id, "memory.results", worker.retrieve(&query));
                let _ = client
                    .publish("memory/results", QoS::AtLeastOnce, false, results)
                    .await;
            }
            Ok(None) => {}
            Err(reason) => {
                let error = envelope(&new_id(), "system.health.memory", HealthPing::error(reason));
                let _ = client
                    .publish("system/health/memory", QoS::AtLeastOnce, true, error)
                    .await;
            }
        },
        "stt/final" => {
            if let Some(transcript) = typed::<FinalTranscript>(&publish.topic, data) {
                worker.store(&transcript.text);
            }
        }
        "tts/say" => {
            if let Some(say) = typed::<TtsSay>(&publish.topic, data) {
                worker.store(&say.text);
            }
        }
        "character/get" => {
            let Some(request) = typed::<CharacterGetRequest>(&publish.topic, data) else {
                return;
            };
            let result = envelope(
                &reply_id,
                "character.result",
                worker.character_section(&request),
            );
            let _ = client
                .publish("character/result", QoS::AtMostOnce, false, result)
                .await;
        }
        "character/update" => {
            let update = typed::<CharacterUpdate>(&publish.topic, data);
            if update.is_some_and(|u| worker.update_character(u)) {
                publish_character(client, worker).await;
            }
        }
        other => tracing::warn!(topic = other, "message on an unexpected topic"),
    }
}

/// `mqtt://host:port` from `MQTT_URL` (no credentials in this example).
#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tars_mqtt_examples::init_tracing("info");
    let url = std::env::var("MQTT_URL")?;
    let (host, port) = url
        .trim_start_matches("mqtt://")
        .split_once(':')
        .unwrap_or((url.trim_start_matches("mqtt://"), "1883"));
    let worker = Arc::new(MemoryWorker::from_env()?);
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop_tx.send(true);
    });
    serve(host, port.parse()?, worker, stop).await;
    Ok(())
}
// mqtt-plumbing: end
