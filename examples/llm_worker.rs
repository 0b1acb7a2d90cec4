//! An LLM worker that, while handling `llm/request`, asks the memory worker for context with
//! `Publisher::request` and awaits `memory/results` — the exchange that deadlocked in the
//! Python client, where handlers ran on the network loop.
//!
//! Run with the memory worker on the same broker:
//! `MQTT_URL=mqtt://127.0.0.1:1883 cargo run --example memory_worker` and
//! `MQTT_URL=mqtt://127.0.0.1:1883 cargo run --example llm_worker`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tars_mqtt::RequestError;
use tars_mqtt::prelude::*;

#[derive(Deserialize)]
pub struct LlmRequest {
    text: String,
}

#[derive(Serialize)]
pub struct LlmResponse {
    reply: String,
    memories: usize,
}

/// Answers with what the memory worker remembers about the request.
pub struct LlmWorker {
    memory_timeout: Duration,
}

#[mqtt_service(client_id = "tars-llm", source = "llm-worker", health = true)]
impl LlmWorker {
    #[subscribe(
        "llm/request",
        qos = 1,
        reply = "llm/response",
        event = "llm.response",
        concurrency = 4
    )]
    async fn request(
        &self,
        request: LlmRequest,
        publisher: Publisher,
    ) -> Result<LlmResponse, RequestError> {
        let memory: Envelope<Value> = publisher
            .request(
                "memory/query",
                "memory.query",
                &json!({"text": request.text, "top_k": 3}),
            )
            .reply_on("memory/results")
            .timeout(self.memory_timeout)
            .await?;
        let documents: Vec<&str> = memory.data["results"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|hit| hit["document"].as_str())
            .collect();
        let reply = match documents.as_slice() {
            [] => format!("I don't remember anything about \"{}\".", request.text),
            docs => format!(
                "About \"{}\", I remember: {}.",
                request.text,
                docs.join("; ")
            ),
        };
        Ok(LlmResponse {
            reply,
            memories: documents.len(),
        })
    }
}

impl LlmWorker {
    /// Waits at most `memory_timeout` for the memory worker.
    pub fn new(memory_timeout: Duration) -> Self {
        Self { memory_timeout }
    }
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), tars_mqtt::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    LlmWorker::new(Duration::from_secs(5)).run_from_env().await
}
