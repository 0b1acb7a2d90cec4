//! A request/reply round trip between two tars-mqtt services, on the embedded broker.
//!
//! `memory` answers `demo/memory/query` on `demo/memory/results`; `assistant` asks it with
//! `Publisher::request` from inside its own handler (the exchange that deadlocked in the old
//! Python client). A plain MQTT peer starts the chain and prints every step.
//!
//! Run: `cargo run --example request_reply`

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;
use tars_mqtt::testing::{EmbeddedBroker, TestClient};
use tars_mqtt::{Envelope, Json, MqttConfig, Publisher, QoS, RequestError, Route, Router, Runtime};

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

/// The memory service's handler: a plain async function.
async fn query(Json(q): Json<MemoryQuery>) -> Json<MemoryResults> {
    let k = q.top_k.unwrap_or(2) as usize;
    let results = ["we met at the station", "you like trains", "it was raining"]
        .into_iter()
        .take(k)
        .map(str::to_owned)
        .collect();
    Json(MemoryResults {
        query: q.text,
        results,
    })
}

#[derive(Deserialize)]
struct Ask {
    question: String,
}

/// The assistant's handler: asks the memory service and waits for its reply.
async fn ask(
    publisher: Publisher,
    Json(ask): Json<Ask>,
) -> Result<Json<serde_json::Value>, RequestError> {
    let memory: Envelope<MemoryResults> = publisher
        .request(
            "demo/memory/query",
            "memory.query",
            &json!({"text": ask.question, "top_k": 2}),
        )
        .reply_on("demo/memory/results")
        .timeout(Duration::from_secs(5))
        .await?;
    Ok(Json(
        json!({"answer": format!("I remember: {}", memory.data.results.join("; "))}),
    ))
}

fn config(url: &str, client_id: &str) -> Result<MqttConfig, tars_mqtt::ConfigError> {
    MqttConfig::builder()
        .url(url)
        .client_id(client_id)
        .health(true)
        .build()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn,rumqttd=off".into()))
        .init();
    let broker = EmbeddedBroker::start();
    println!("embedded broker on {}", broker.url());

    let memory = Router::new().route(
        Route::new("demo/memory/query", query)
            .qos(QoS::AtLeastOnce)
            .reply("demo/memory/results", "memory.results"),
    );
    let memory = Runtime::new(config(&broker.url(), "demo-memory")?, memory, ()).start()?;
    let assistant = Router::new()
        .route(
            Route::new("demo/ask", ask)
                .qos(QoS::AtLeastOnce)
                .reply("demo/answer", "assistant.answer"),
        )
        .expect_replies_on("demo/memory/results");
    let assistant =
        Runtime::new(config(&broker.url(), "demo-assistant")?, assistant, ()).start()?;
    memory.wait_ready(Duration::from_secs(10)).await?;
    assistant.wait_ready(Duration::from_secs(10)).await?;
    println!("services ready: demo-memory, demo-assistant");

    let mut user = TestClient::connect(&broker.url(), "demo-user").await;
    user.subscribe("demo/answer").await;
    user.subscribe("demo/memory/#").await;
    let request = json!({"id": "ask-0001", "type": "assistant.ask", "ts": tars_mqtt::now(), "source": "demo-user",
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
