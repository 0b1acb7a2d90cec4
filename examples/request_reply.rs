//! A request/reply round trip between two tars-mqtt services, on the embedded broker.
//!
//! `Memory` answers `demo/memory/query` on `demo/memory/results`; `Assistant` asks it with
//! `Publisher::request` from inside its own handler (the exchange that deadlocked in the old
//! Python client). A plain MQTT peer starts the chain and prints every step.
//!
//! Run: `cargo run --example request_reply`

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;
use tars_mqtt::RequestError;
use tars_mqtt::prelude::*;
use tars_mqtt::testing::{EmbeddedBroker, TestClient};

#[derive(Deserialize)]
struct MemoryQuery {
    text: String,
    top_k: Option<u32>,
}

#[derive(Serialize, Deserialize, Debug)]
struct MemoryResults {
    query: String,
    results: Vec<String>,
}

/// The memory service: its handlers are plain async methods.
struct Memory {
    facts: Vec<&'static str>,
}

#[mqtt_service(client_id = "demo-memory", source = "memory-worker", health = true)]
impl Memory {
    /// Answers on `demo/memory/results` with the request's envelope id.
    #[subscribe(
        "demo/memory/query",
        qos = 1,
        reply = "demo/memory/results",
        event = "memory.results"
    )]
    async fn query(&self, q: MemoryQuery) -> MemoryResults {
        let k = q.top_k.unwrap_or(2) as usize;
        let results = self.facts.iter().take(k).map(|f| f.to_string()).collect();
        MemoryResults {
            query: q.text,
            results,
        }
    }
}

#[derive(Deserialize)]
struct Ask {
    question: String,
}

#[derive(Serialize)]
struct Answer {
    answer: String,
}

/// The assistant: while handling `demo/ask` it asks the memory service and awaits its reply.
struct Assistant;

#[mqtt_service(client_id = "demo-assistant", health = true)]
impl Assistant {
    #[subscribe("demo/ask", qos = 1, reply = "demo/answer", event = "assistant.answer")]
    async fn ask(&self, ask: Ask, publisher: Publisher) -> Result<Answer, RequestError> {
        let memory: Envelope<MemoryResults> = publisher
            .request(
                "demo/memory/query",
                "memory.query",
                &json!({"text": ask.question, "top_k": 2}),
            )
            .reply_on("demo/memory/results")
            .timeout(Duration::from_secs(5))
            .await?;
        Ok(Answer {
            answer: format!("I remember: {}", memory.data.results.join("; ")),
        })
    }
}

/// The service's declared defaults (client id, source, health), pointed at the demo broker.
fn config<S: Service>(url: &str) -> Result<MqttConfig, tars_mqtt::ConfigError> {
    S::INFO.defaults.builder().url(url).build()
}

#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tars_mqtt_examples::init_tracing("warn,rumqttd=off");
    let broker = EmbeddedBroker::start();
    println!("embedded broker on {}", broker.url());

    let facts = vec!["we met at the station", "you like trains", "it was raining"];
    let memory = Memory { facts }.start(config::<Memory>(&broker.url())?)?;
    let assistant = Assistant.start(config::<Assistant>(&broker.url())?)?;
    memory.wait_ready(Duration::from_secs(10)).await?;
    assistant.wait_ready(Duration::from_secs(10)).await?;
    println!("services ready: demo-memory, demo-assistant");

    let mut user = TestClient::connect(&broker.url(), "demo-user").await;
    user.subscribe("demo/answer").await;
    user.subscribe("demo/memory/#").await;
    let request = json!({"id": "ask-0001", "type": "assistant.ask", "ts": tars_mqtt::wire::now(), "source": "demo-user",
                         "data": {"question": "where did we meet?"}});
    let started = Instant::now();
    println!("-> demo/ask {request}");
    user.publish_json("demo/ask", &request).await;
    loop {
        let m = user
            .next(Duration::from_secs(10))
            .await
            .ok_or("no answer within 10 s")?;
        println!("<- {} {}", m.topic, String::from_utf8_lossy(&m.payload));
        if m.topic == "demo/answer" {
            let answer = m.json();
            assert_eq!(
                answer["id"], "ask-0001",
                "the reply carries the request's id"
            );
            println!(
                "round trip in {:.1} ms: {}",
                started.elapsed().as_secs_f64() * 1000.0,
                answer["data"]["answer"]
            );
            break;
        }
    }

    assistant.shutdown().await;
    memory.shutdown().await;
    println!("both services shut down gracefully");
    Ok(())
}
