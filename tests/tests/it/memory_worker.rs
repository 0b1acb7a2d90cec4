//! The memory-worker port (`examples/memory_worker.rs`, compiled here as it is) driven by a
//! scripted peer that speaks only MQTT and JSON, as the Python peers do.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use tars_mqtt::testing::{BrokerProcess, Received, TestClient};
use tars_mqtt::{Runtime, Service, ServiceHandle};
use tars_mqtt_it::{TempDir, TestBroker, WAIT, broker_suite, unique};

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/memory_worker.rs"]
pub(crate) mod port;

#[allow(dead_code, unreachable_pub, clippy::duplicate_mod)]
#[path = "../../../examples/migration/hand_written.rs"]
mod hand_written;

use port::MemoryWorker;

/// The two implementations of the same surface: the tars-mqtt port and the hand-written one.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Implementation {
    Port,
    HandWritten,
}

pub(crate) enum Running {
    Port(ServiceHandle),
    HandWritten(
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    ),
}

impl Running {
    /// Graceful shutdown.
    pub(crate) async fn stop(self) {
        match self {
            Running::Port(handle) => handle.shutdown().await,
            Running::HandWritten(stop, task) => {
                stop.send_replace(true);
                task.await.unwrap();
            }
        }
    }
}

/// Starts the worker, `name` being its character, loaded from `dir` if given.
pub(crate) fn launch(
    which: Implementation,
    url: &str,
    dir: Option<PathBuf>,
    name: &str,
) -> Running {
    match which {
        Implementation::Port => Running::Port(start(url, dir, name)),
        Implementation::HandWritten => {
            let address = tars_mqtt::config::BrokerAddress::parse(url).unwrap();
            let worker = std::sync::Arc::new(hand_written::port::MemoryWorker::new(
                dir,
                name.to_owned(),
                5,
            ));
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let task = tokio::spawn(async move {
                hand_written::serve(&address.host, address.port, worker, stopped).await
            });
            Running::HandWritten(stop, task)
        }
    }
}

const CHARACTER: &str = r#"
[info]
name = "TARS"
description = "A former Marine robot"
systemprompt = "You are TARS."

[traits]
humor = 75
honesty = 90

[voice]
speed = 1.1

[meta]
version = 2
"#;

/// A character directory holding `TARS/character.toml`, removed when dropped.
pub(crate) struct CharacterDir(TempDir);

impl CharacterDir {
    pub(crate) fn new() -> Self {
        let dir = TempDir::new("characters");
        std::fs::create_dir_all(dir.path().join("TARS")).unwrap();
        std::fs::write(dir.path().join("TARS/character.toml"), CHARACTER).unwrap();
        Self(dir)
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.0.path().to_owned()
    }
}

pub(crate) fn start(url: &str, dir: Option<PathBuf>, name: &str) -> ServiceHandle {
    let config = MemoryWorker::INFO
        .defaults
        .builder()
        .url(url)
        .protocol(tars_mqtt_it::protocol_of(url))
        .reconnect_min_delay(Duration::from_millis(100))
        .reconnect_max_delay(Duration::from_millis(500))
        .build()
        .unwrap();
    Runtime::service(config, MemoryWorker::new(dir, name.to_owned(), 5))
        .on_ready(|worker, publisher| async move { worker.publish_character(&publisher).await })
        .start()
        .unwrap()
}

/// A peer subscribed to everything the worker publishes.
async fn peer(url: &str) -> TestClient {
    let mut peer = TestClient::connect(url, &unique("peer")).await;
    for topic in [
        "memory/results",
        "character/result",
        "system/character/current",
        "system/health/#",
    ] {
        peer.subscribe(topic).await;
    }
    peer
}

fn envelope(id: &str, event_type: &str, data: Value) -> Value {
    json!({"id": id, "type": event_type, "ts": 1729123457.0, "source": "router", "data": data})
}

async fn next_on(peer: &mut TestClient, topic: &str) -> Value {
    peer.expect(topic, WAIT).await.json()
}

async fn nothing_on(peer: &mut TestClient, topic: &str) {
    let quiet = peer.drain(Duration::from_millis(400)).await;
    let hits: Vec<&Received> = quiet.iter().filter(|m| m.topic == topic).collect();
    assert!(
        hits.is_empty(),
        "unexpected message on {topic}: {:?}",
        hits.first().map(|m| m.json())
    );
}

async fn the_memory_worker_speaks_the_wire_format(broker: TestBroker, which: Implementation) {
    let url = broker.url();
    let mut peer = peer(&url).await;
    let character = CharacterDir::new();
    let service = launch(which, &url, Some(character.path()), "TARS");

    // After subscribing: retained `ready`, then the retained character snapshot.
    let ready = next_on(&mut peer, "system/health/tars-memory").await;
    assert_eq!(
        (ready["source"].clone(), ready["data"]["event"].clone()),
        (json!("memory-worker"), json!("ready"))
    );
    let snapshot = next_on(&mut peer, "system/character/current").await;
    assert_eq!(snapshot["type"], "system.character.current");
    assert_eq!(
        snapshot["id"], snapshot["data"]["message_id"],
        "the envelope id is the snapshot's message_id"
    );
    let data = &snapshot["data"];
    let keys: Vec<&str> = data
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "description",
            "example_interactions",
            "message_id",
            "meta",
            "name",
            "personality_notes",
            "scenario",
            "systemprompt",
            "traits",
            "voice"
        ]
    );
    assert_eq!(
        (data["name"].clone(), data["description"].clone()),
        (json!("TARS"), json!("A former Marine robot"))
    );
    assert_eq!(data["systemprompt"], "You are TARS.");
    assert_eq!(data["traits"], json!({"humor": 75, "honesty": 90}));
    assert_eq!(
        (
            data["voice"].clone(),
            data["meta"].clone(),
            data["scenario"].clone()
        ),
        (json!({"speed": 1.1}), json!({"version": 2}), json!({}))
    );

    // Documents stored before a query are visible to it; `recent` is newest first.
    peer.publish_json(
        "stt/final",
        &envelope(
            "s1",
            "stt.final",
            json!({"text": "we met at the station", "is_final": true}),
        ),
    )
    .await;
    peer.publish_json(
        "tts/say",
        &envelope(
            "t1",
            "tts.say",
            json!({"text": "you like trains very much", "voice": "tars"}),
        ),
    )
    .await;
    peer.publish_json(
        "stt/final",
        &envelope("s2", "stt.final", json!({"text": ""})),
    )
    .await;
    peer.publish_json(
        "memory/query",
        &envelope(
            "req-0001",
            "memory.query",
            json!({"text": "where did we meet", "top_k": 5, "retrieval_strategy": "recent"}),
        ),
    )
    .await;
    let reply = next_on(&mut peer, "memory/results").await;
    assert_eq!(
        (
            reply["id"].clone(),
            reply["type"].clone(),
            reply["source"].clone()
        ),
        (
            json!("req-0001"),
            json!("memory.results"),
            json!("memory-worker")
        )
    );
    let results = &reply["data"];
    assert_eq!(results["query"], "where did we meet");
    assert_eq!(results["strategy_used"], "recent");
    assert_eq!(
        (results["k"].clone(), results["truncated"].clone()),
        (json!(2), json!(false))
    );
    assert_eq!(results["message_id"].as_str().unwrap().len(), 32);
    assert_eq!(
        results["results"],
        json!([
            {"document": {"text": "you like trains very much"}, "score": 1.0, "timestamp": null, "context_type": "target", "token_count": 6},
            {"document": {"text": "we met at the station"}, "score": 1.0, "timestamp": null, "context_type": "target", "token_count": 6},
        ])
    );
    assert_eq!(results["total_tokens"], 12);

    // `max_tokens` truncates; `top_k` limits.
    peer.publish_json(
        "memory/query",
        &envelope(
            "req-2",
            "memory.query",
            json!({"text": "x", "retrieval_strategy": "recent", "max_tokens": 7}),
        ),
    )
    .await;
    let reply = next_on(&mut peer, "memory/results").await;
    assert_eq!(
        (
            reply["data"]["k"].clone(),
            reply["data"]["truncated"].clone(),
            reply["data"]["total_tokens"].clone()
        ),
        (json!(1), json!(true), json!(6))
    );
    peer.publish_json(
        "memory/query",
        &envelope(
            "req-3",
            "memory.query",
            json!({"text": "x", "retrieval_strategy": "recent", "top_k": 1}),
        ),
    )
    .await;
    assert_eq!(
        next_on(&mut peer, "memory/results").await["data"]["results"][0]["document"]["text"],
        "you like trains very much"
    );

    // The default strategy ranks by similarity (and recency).
    peer.publish_json(
        "memory/query",
        &envelope(
            "req-4",
            "memory.query",
            json!({"text": "the station", "top_k": 1}),
        ),
    )
    .await;
    let reply = next_on(&mut peer, "memory/results").await;
    assert_eq!(
        (
            reply["data"]["strategy_used"].clone(),
            reply["data"]["results"][0]["document"]["text"].clone()
        ),
        (json!("hybrid"), json!("we met at the station"))
    );

    // Empty text: no reply. Invalid request: no reply, a retained memory health error.
    peer.publish_json(
        "memory/query",
        &envelope("req-5", "memory.query", json!({"text": "   "})),
    )
    .await;
    nothing_on(&mut peer, "memory/results").await;
    peer.publish_json(
        "memory/query",
        &envelope("req-6", "memory.query", json!({"text": "hi", "top_k": 100})),
    )
    .await;
    let health = next_on(&mut peer, "system/health/memory").await;
    assert_eq!(health["type"], "system.health.memory");
    assert_eq!(health["data"]["ok"], false);
    assert!(
        health["data"]["err"].as_str().unwrap().contains("top_k"),
        "{health}"
    );
    nothing_on(&mut peer, "memory/results").await;

    // character/get: the whole snapshot, a section, an unknown section.
    peer.publish_json(
        "character/get",
        &envelope("g1", "character.get", json!({"section": null})),
    )
    .await;
    let got = next_on(&mut peer, "character/result").await;
    assert_eq!(
        (got["id"].clone(), got["type"].clone()),
        (json!("g1"), json!("character.result"))
    );
    assert_eq!(got["data"]["name"], "TARS");
    peer.publish_json(
        "character/get",
        &envelope("g2", "character.get", json!({"section": "traits"})),
    )
    .await;
    let got = next_on(&mut peer, "character/result").await;
    assert_eq!(
        (got["data"]["section"].clone(), got["data"]["value"].clone()),
        (json!("traits"), json!({"humor": 75, "honesty": 90}))
    );
    assert_eq!(got["data"]["message_id"].as_str().unwrap().len(), 32);
    peer.publish_json(
        "character/get",
        &envelope("g3", "character.get", json!({"section": "mood"})),
    )
    .await;
    let value = next_on(&mut peer, "character/result").await["data"]["value"].clone();
    assert_eq!(value["error"], "unknown section 'mood'");
    assert_eq!(value["available"].as_array().unwrap().len(), 10);

    // character/update: a trait (same envelope id), a reset (new id), anything else ignored.
    let first_id = data["message_id"].clone();
    peer.publish_json(
        "character/update",
        &envelope(
            "u1",
            "character.update",
            json!({"section": "traits", "trait": "humor", "value": 20}),
        ),
    )
    .await;
    let updated = next_on(&mut peer, "system/character/current").await;
    assert_eq!(
        (
            updated["id"].clone(),
            updated["data"]["traits"]["humor"].clone()
        ),
        (first_id.clone(), json!(20))
    );
    peer.publish_json(
        "character/update",
        &envelope("u2", "character.update", json!({"action": "reset_traits"})),
    )
    .await;
    let reset = next_on(&mut peer, "system/character/current").await;
    assert_ne!(reset["id"], first_id);
    assert_eq!(
        (
            reset["id"].clone(),
            reset["data"]["traits"]["humor"].clone()
        ),
        (reset["data"]["message_id"].clone(), json!(75))
    );
    peer.publish_json(
        "character/update",
        &envelope(
            "u3",
            "character.update",
            json!({"section": "traits", "trait": "humor", "value": 101}),
        ),
    )
    .await;
    nothing_on(&mut peer, "system/character/current").await;

    // Graceful shutdown ends with the retained `shutdown`.
    service.stop().await;
    let bye = next_on(&mut peer, "system/health/tars-memory").await;
    assert_eq!(bye["data"]["event"], "shutdown");
}

async fn a_missing_character_file_gives_the_bare_name(broker: TestBroker, which: Implementation) {
    let url = broker.url();
    let mut peer = peer(&url).await;
    let service = launch(which, &url, None, "CASE");
    let snapshot = next_on(&mut peer, "system/character/current").await["data"].clone();
    assert_eq!(
        (
            snapshot["name"].clone(),
            snapshot["description"].clone(),
            snapshot["systemprompt"].clone()
        ),
        (json!("CASE"), Value::Null, Value::Null)
    );
    for table in [
        "traits",
        "voice",
        "meta",
        "scenario",
        "personality_notes",
        "example_interactions",
    ] {
        assert_eq!(snapshot[table], json!({}), "{table}");
    }
    service.stop().await;
}

/// Declares `port(broker)` and `hand_written(broker)` for a scenario written once as
/// `scenario(broker, Implementation)`.
macro_rules! for_both_implementations {
    ($broker:ty: $($scenario:ident => $port:ident, $hand_written:ident;)*) => {$(
        async fn $port(broker: $broker) {
            $scenario(broker, $crate::memory_worker::Implementation::Port).await
        }

        async fn $hand_written(broker: $broker) {
            $scenario(broker, $crate::memory_worker::Implementation::HandWritten).await
        }
    )*};
}
pub(crate) use for_both_implementations;

for_both_implementations!(TestBroker:
    the_memory_worker_speaks_the_wire_format => the_port_speaks_the_wire_format, the_hand_written_version_speaks_the_wire_format;
    a_missing_character_file_gives_the_bare_name => the_port_without_a_character_file, the_hand_written_version_without_a_character_file;
);

broker_suite!(
    fresh: the_port_speaks_the_wire_format,
    the_hand_written_version_speaks_the_wire_format,
    the_port_without_a_character_file,
    the_hand_written_version_without_a_character_file,
);

/// The broker restarts in the middle: the worker reconnects, republishes `ready` and the
/// snapshot, keeps its documents and answers again.
async fn survives_a_broker_restart(mut broker: BrokerProcess, which: Implementation) {
    let url = broker.url();
    let mut peer1 = peer(&url).await;
    let character = CharacterDir::new();
    let service = launch(which, &url, Some(character.path()), "TARS");
    next_on(&mut peer1, "system/character/current").await;
    peer1
        .publish_json(
            "stt/final",
            &envelope("s1", "stt.final", json!({"text": "before the restart"})),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    broker.restart().unwrap();
    let mut peer = peer(&url).await;
    let snapshot = next_on(&mut peer, "system/character/current").await;
    assert_eq!(
        snapshot["data"]["name"], "TARS",
        "the snapshot is published again after reconnecting"
    );
    peer.publish_json(
        "memory/query",
        &envelope(
            "after",
            "memory.query",
            json!({"text": "x", "retrieval_strategy": "recent"}),
        ),
    )
    .await;
    let reply = next_on(&mut peer, "memory/results").await;
    assert_eq!(
        (
            reply["id"].clone(),
            reply["data"]["results"][0]["document"]["text"].clone()
        ),
        (json!("after"), json!("before the restart"))
    );
    service.stop().await;
}

for_both_implementations!(BrokerProcess:
    survives_a_broker_restart => the_port_survives_a_broker_restart, the_hand_written_version_survives_a_broker_restart;
);

tars_mqtt_it::restart_suite!(
    the_port_survives_a_broker_restart,
    the_hand_written_version_survives_a_broker_restart
);
