//! Services written with `#[mqtt_service]` / `#[subscribe]`, run against real brokers: routing
//! with parameters, typed decoding and its errors, replies with correlation, QoS, shared
//! subscriptions, concurrency and order, configuration layers, shutdown.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tars_mqtt::prelude::*;
use tars_mqtt::testing::TestClient;
use tars_mqtt_it::{TestBroker, WAIT, broker_suite, unique};

#[derive(Deserialize)]
struct MemoryQuery {
    text: String,
    top_k: Option<u32>,
}

#[derive(Serialize)]
struct MemoryResults {
    query: String,
    k: u32,
}

#[derive(Deserialize, Debug)]
struct Reading {
    celsius: f64,
}

#[derive(Default)]
struct Memory {
    temps: Mutex<Vec<(String, f64, String)>>,
}

#[mqtt_service(client_id = "tars-memory", source = "memory-worker", health = true)]
impl Memory {
    /// Replies on `memory/results` with the request's id.
    #[subscribe(
        "memory/query",
        qos = 1,
        reply = "memory/results",
        event = "memory.results"
    )]
    async fn query(&self, q: MemoryQuery) -> Result<MemoryResults, String> {
        if q.text.trim().is_empty() {
            return Err("empty query".to_owned());
        }
        Ok(MemoryResults {
            query: q.text,
            k: q.top_k.unwrap_or(5),
        })
    }

    #[subscribe("sensors/{room}/temp", qos = 1)]
    async fn temp(&self, room: String, reading: Envelope<Reading>, ctx: &Context) {
        self.temps
            .lock()
            .unwrap()
            .push((room, reading.data.celsius, ctx.topic().to_owned()));
    }

    /// Not a handler: an ordinary method stays as it is.
    fn count(&self) -> usize {
        self.temps.lock().unwrap().len()
    }
}

fn config<S: Service>(broker: &TestBroker) -> MqttConfig {
    S::info()
        .defaults
        .builder()
        .url(broker.url())
        .reconnect_min_delay(Duration::from_millis(100))
        .reconnect_max_delay(Duration::from_millis(500))
        .build()
        .unwrap()
}

async fn a_macro_service_routes_decodes_and_replies(broker: TestBroker) {
    let memory = std::sync::Arc::new(Memory::default());
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe("memory/results").await;
    peer.subscribe("system/health/tars-memory").await;
    let service = Runtime::new(
        config::<Memory>(&broker),
        Memory::router(),
        Memory::default(),
    )
    .start()
    .unwrap();
    let _ = &memory;
    service.wait_ready(WAIT).await.unwrap();
    let ready = peer.expect("system/health/tars-memory", WAIT).await.json();
    assert_eq!(
        (ready["source"].clone(), ready["data"]["event"].clone()),
        (json!("memory-worker"), json!("ready"))
    );

    peer.publish_json(
        "memory/query",
        &json!({"id": "req-1", "type": "memory.query", "data": {"text": "hi", "top_k": 2}}),
    )
    .await;
    let reply = peer.expect("memory/results", WAIT).await.json();
    assert_eq!(reply["id"], "req-1");
    assert_eq!(reply["type"], "memory.results");
    assert_eq!(reply["source"], "memory-worker");
    assert_eq!(reply["data"], json!({"query": "hi", "k": 2}));

    peer.publish_json(
        "memory/query",
        &json!({"id": "req-2", "type": "memory.query", "data": {"text": "  "}}),
    )
    .await;
    let reply = peer.expect("memory/results", WAIT).await.json();
    assert_eq!(
        (reply["id"].clone(), reply["type"].clone()),
        (json!("req-2"), json!("error"))
    );
    assert_eq!(reply["data"]["err"], "empty query");

    peer.publish_json(
        "memory/query",
        &json!({"id": "req-3", "type": "memory.query", "data": {"text": 7}}),
    )
    .await;
    let reply = peer.expect("memory/results", WAIT).await.json();
    assert_eq!(
        (reply["id"].clone(), reply["type"].clone()),
        (json!("req-3"), json!("error"))
    );

    let info = Memory::info();
    assert_eq!(info.name, "Memory");
    assert_eq!(info.subscriptions.len(), 2);
    assert_eq!(
        (info.subscriptions[1].filter, info.subscriptions[1].handler),
        ("sensors/{room}/temp", "temp")
    );
    assert_eq!(info.subscriptions[0].qos, QoS::AtLeastOnce);
    assert!(info.subscriptions[0].location.0.ends_with("macros.rs"));
    service.shutdown().await;
}

broker_suite!(a_macro_service_routes_decodes_and_replies);
