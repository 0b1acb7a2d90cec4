//! A Python-shaped peer: the memory-worker port (and its hand-written "before") gets the 19
//! example envelopes verbatim, on their topics with their QoS and retain flags, and answers as
//! docs/migration.md says; payloads the Python models refuse get the documented treatment.
//! Everything the worker publishes is validated against the model its Python consumer reads it
//! with.

use std::time::Duration;

use serde_json::{Value, json};
use tars_mqtt::QoS;
use tars_mqtt::testing::{Received, TestClient};
use tars_mqtt_it::{TestBroker, WAIT, broker_suite, unique};

use super::{Example, assert_valid, example, examples, validator};
use crate::memory_worker::{CharacterDir, Implementation, for_both_implementations, launch};

/// A peer subscribed to everything, that keeps what the worker publishes (not its own messages).
struct Peer {
    client: TestClient,
    sent: Vec<Vec<u8>>,
    /// Everything the worker published so far, in order.
    published: Vec<Received>,
}

impl Peer {
    async fn connect(url: &str) -> Self {
        let mut client = TestClient::connect(url, &unique("python-peer")).await;
        client.subscribe("#").await;
        Self {
            client,
            sent: Vec::new(),
            published: Vec::new(),
        }
    }

    async fn send(&mut self, topic: &str, payload: Vec<u8>, qos: u8, retain: bool) {
        self.sent.push(payload.clone());
        let qos = QoS::from_u8(qos).expect("QoS 0, 1 or 2");
        self.client.publish(topic, payload, qos, retain).await;
    }

    /// Sends an example as the Python client does: compact JSON, its topic, QoS and retain flag.
    async fn send_example(&mut self, example: &Example) {
        let payload = serde_json::to_vec(&example.payload).unwrap();
        self.send(&example.topic, payload, example.qos, example.retain)
            .await;
    }

    /// Sends `data` in an envelope with id `id`, QoS 1.
    async fn send_data(&mut self, topic: &str, event_type: &str, id: &str, data: Value) {
        let envelope = json!({"id": id, "type": event_type, "ts": 1796149710.5, "source": "python-peer", "data": data});
        self.send(topic, serde_json::to_vec(&envelope).unwrap(), 1, false)
            .await;
    }

    fn keep(&mut self, message: Received) -> Option<Received> {
        if self.sent.iter().any(|p| p[..] == message.payload[..]) {
            return None;
        }
        self.published.push(message.clone());
        Some(message)
    }

    /// The next thing the worker publishes on `topic` (kept with the rest).
    async fn next_on(&mut self, topic: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = self
                .client
                .next(left)
                .await
                .unwrap_or_else(|| panic!("nothing on {topic}"));
            if let Some(m) = self.keep(message)
                && m.topic == topic
            {
                return m.json();
            }
        }
    }

    /// What the worker publishes within a short quiet spell, heartbeats aside.
    async fn quiet(&mut self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        for message in self.client.drain(Duration::from_millis(500)).await {
            if let Some(m) = self.keep(message)
                && !m.topic.starts_with("system/keepalive/")
            {
                out.push((m.topic.clone(), m.json()));
            }
        }
        out
    }
}

/// Checks each thing the worker published against the model its consumer reads it with.
fn validate_everything(published: &[Received]) {
    let envelope = validator("envelope.Envelope");
    let model_of = |topic: &str, data: &Value| match topic {
        "system/health/tars-memory" | "system/health/memory" => "health.HealthPing",
        "system/character/current" => "memory.CharacterSnapshot",
        "memory/results" => "memory.MemoryResults",
        "character/result" if data.get("section").is_some() => "memory.CharacterSection",
        "character/result" => "memory.CharacterSnapshot",
        other => panic!("the worker published on {other}, which no contract covers"),
    };
    for message in published {
        let value = message.json();
        if message.topic == "system/keepalive/tars-memory" {
            assert_valid(&validator("health.HealthPing"), &value, "the heartbeat");
            continue;
        }
        assert_valid(&envelope, &value, &message.topic);
        if value["type"] != "error" {
            let model = model_of(&message.topic, &value["data"]);
            assert_valid(
                &validator(model),
                &value["data"],
                &format!("{} as {model}", message.topic),
            );
        }
    }
}

fn texts(results: &Value) -> Vec<&str> {
    let results = results["data"]["results"].as_array().unwrap();
    results
        .iter()
        .map(|r| r["document"]["text"].as_str().unwrap())
        .collect()
}

async fn the_python_examples_get_the_documented_answers(broker: TestBroker, which: Implementation) {
    let url = broker.url();
    let mut peer = Peer::connect(&url).await;
    let character = CharacterDir::new();
    let worker = launch(which, &url, Some(character.path()), "TARS");
    assert_eq!(
        peer.next_on("system/health/tars-memory").await["data"]["event"],
        "ready"
    );
    let snapshot = peer.next_on("system/character/current").await;

    // What the worker does not subscribe to, or must not answer, changes nothing.
    let silent = [
        "character.current",
        "character.result",
        "health.error",
        "health.ready",
        "llm.cancel",
        "llm.request",
        "llm.response",
        "llm.stream",
        "memory.results",
        "stt.partial",
        "tts.status",
        "wake.event",
    ];
    let answered = [
        "stt.final",
        "tts.say",
        "memory.query.recent",
        "memory.query.hybrid",
        "character.get",
        "character.update.trait",
        "character.update.reset",
    ];
    let mut every: Vec<&str> = silent.iter().chain(&answered).copied().collect();
    every.sort();
    assert_eq!(
        every,
        examples()
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>(),
        "each example is sent once"
    );
    for name in silent {
        peer.send_example(&example(name)).await;
    }
    assert_eq!(
        peer.quiet().await,
        [],
        "no answer to messages that ask none"
    );

    // Transcripts and speech are stored; `recent` returns them newest first, under the request's id.
    peer.send_example(&example("stt.final")).await;
    peer.send_example(&example("tts.say")).await;
    peer.send_example(&example("memory.query.recent")).await;
    let recent = peer.next_on("memory/results").await;
    assert_eq!(
        (&recent["id"], &recent["type"]),
        (&json!("rag-2a3b"), &json!("memory.results"))
    );
    assert_eq!(texts(&recent), ["hello, naïve café ✓", "hello world"]);
    let data = &recent["data"];
    assert_eq!(
        (
            &data["k"],
            &data["total_tokens"],
            &data["strategy_used"],
            &data["truncated"]
        ),
        (&json!(2), &json!(7), &json!("recent"), &json!(false))
    );
    assert_eq!(
        data["results"][0],
        json!({"document": {"text": "hello, naïve café ✓"}, "score": 1.0, "timestamp": null, "context_type": "target", "token_count": 5})
    );

    // llm-worker's RAG query, `message_id` and all.
    peer.send_example(&example("memory.query.hybrid")).await;
    let hybrid = peer.next_on("memory/results").await;
    assert_eq!(
        (&hybrid["id"], &hybrid["data"]["query"]),
        (&json!("rag-1f2e"), &json!("where did we meet"))
    );
    assert_eq!(
        (&hybrid["data"]["k"], &hybrid["data"]["strategy_used"]),
        (&json!(2), &json!("hybrid"))
    );

    // A section of the character, under the request's id.
    peer.send_example(&example("character.get")).await;
    let section = peer.next_on("character/result").await;
    assert_eq!(
        (&section["id"], &section["type"]),
        (
            &json!("76f5efaec6be4d92b6c8a30758a053d1"),
            &json!("character.result")
        )
    );
    assert_eq!(
        (&section["data"]["section"], &section["data"]["value"]),
        (&json!("traits"), &json!({"humor": 75, "honesty": 90}))
    );

    // A trait update republishes the snapshot under the same id; a reset under a new one.
    peer.send_example(&example("character.update.trait")).await;
    let updated = peer.next_on("system/character/current").await;
    assert_eq!(
        (&updated["id"], &updated["data"]["traits"]["humor"]),
        (&snapshot["id"], &json!(80))
    );
    peer.send_example(&example("character.update.reset")).await;
    let reset = peer.next_on("system/character/current").await;
    assert_ne!(reset["id"], snapshot["id"]);
    assert_eq!(
        (&reset["id"], &reset["data"]["traits"]["humor"]),
        (&reset["data"]["message_id"], &json!(75))
    );

    assert_eq!(peer.quiet().await, [], "nothing else, and no health error");
    worker.stop().await;
    assert_eq!(
        peer.next_on("system/health/tars-memory").await["data"]["event"],
        "shutdown"
    );
    validate_everything(&peer.published);
}

async fn what_the_python_models_refuse_gets_the_documented_treatment(
    broker: TestBroker,
    which: Implementation,
) {
    let url = broker.url();
    let mut peer = Peer::connect(&url).await;
    let character = CharacterDir::new();
    let worker = launch(which, &url, Some(character.path()), "TARS");
    peer.next_on("system/character/current").await;

    // A query the model refuses: no reply, a retained memory health error naming the field.
    let mut query = example("memory.query.hybrid").payload["data"].clone();
    query["rerank"] = json!(true);
    peer.send_data("memory/query", "memory.query", "bad-1", query)
        .await;
    let health = peer.next_on("system/health/memory").await;
    assert_eq!(
        (&health["type"], &health["data"]["ok"]),
        (&json!("system.health.memory"), &json!(false))
    );
    assert!(
        health["data"]["err"].as_str().unwrap().contains("rerank"),
        "{health}"
    );
    peer.send_data(
        "memory/query",
        "memory.query",
        "bad-2",
        json!({"text": "x", "top_k": 51}),
    )
    .await;
    let health = peer.next_on("system/health/memory").await;
    assert!(
        health["data"]["err"].as_str().unwrap().contains("top_k"),
        "{health}"
    );

    // A transcript the model refuses (confidence above 1) is not stored; one it accepts is.
    peer.send_data(
        "stt/final",
        "stt.final",
        "s1",
        json!({"text": "refused", "confidence": 2.0}),
    )
    .await;
    peer.send_data(
        "stt/final",
        "stt.final",
        "s2",
        json!({"text": "kept", "confidence": 1.0}),
    )
    .await;
    // An update the model refuses, and one that changes nothing (another table), change nothing.
    peer.send_data(
        "character/update",
        "character.update",
        "u1",
        json!({"trait": "humor", "value": 101}),
    )
    .await;
    peer.send_data(
        "character/update",
        "character.update",
        "u2",
        json!({"section": "voice", "trait": "pitch", "value": 3}),
    )
    .await;
    peer.send_data(
        "memory/query",
        "memory.query",
        "q1",
        json!({"text": "x", "retrieval_strategy": "recent"}),
    )
    .await;
    let results = peer.next_on("memory/results").await;
    assert_eq!(
        (&results["id"], texts(&results)),
        (&json!("q1"), vec!["kept"])
    );

    // A character request the model refuses: the port answers with an `error` envelope under the
    // request's id (the hand-written version logs it and answers nothing).
    peer.send_data(
        "character/get",
        "character.get",
        "g1",
        json!({"section": 5}),
    )
    .await;
    if let Implementation::Port = which {
        let error = peer.next_on("character/result").await;
        assert_eq!(
            (&error["id"], &error["type"], &error["data"]["ok"]),
            (&json!("g1"), &json!("error"), &json!(false))
        );
    }
    assert_eq!(
        peer.quiet().await,
        [],
        "no snapshot: neither update changed anything"
    );
    worker.stop().await;
    validate_everything(&peer.published);
}

for_both_implementations!(TestBroker:
    the_python_examples_get_the_documented_answers => the_port_answers_the_python_examples, the_hand_written_version_answers_the_python_examples;
    what_the_python_models_refuse_gets_the_documented_treatment => the_port_treats_refused_payloads_as_documented, the_hand_written_version_treats_refused_payloads_as_documented;
);

broker_suite!(
    fresh: the_port_answers_the_python_examples,
    the_hand_written_version_answers_the_python_examples,
    the_port_treats_refused_payloads_as_documented,
    the_hand_written_version_treats_refused_payloads_as_documented,
);
