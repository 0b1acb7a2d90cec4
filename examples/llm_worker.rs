//! An LLM worker that, while handling `llm/request`, asks the memory worker for context with
//! `Publisher::request` and awaits `memory/results` — the exchange that deadlocked in the
//! Python client, where handlers ran on the network loop.
//!
//! It speaks the Python services' contracts (`tars_mqtt_examples::contracts`): an `LLMRequest`
//! in, a `MemoryQuery` out, `MemoryResults` back, an `LLMResponse` (with the request's `id`)
//! as the reply. It answers with one `llm.response` whether or not `stream` is set, and when
//! the memory worker does not answer in time the response carries the `error` instead.
//!
//! Run with the memory worker on the same broker:
//! `MQTT_URL=mqtt://127.0.0.1:1883 cargo run --example memory_worker` and
//! `MQTT_URL=mqtt://127.0.0.1:1883 cargo run --example llm_worker`.

use std::time::Duration;

use tars_mqtt::RequestError;
use tars_mqtt::prelude::*;
use tars_mqtt_examples::contracts::{LlmRequest, LlmResponse, MemoryQuery, MemoryResults, Ranged};

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
    async fn request(&self, request: LlmRequest, publisher: Publisher) -> LlmResponse {
        let mut response = LlmResponse::new(request.id.clone());
        response.provider = Some("tars-mqtt-example".to_owned());
        match self.recall(&request, &publisher).await {
            Ok(documents) => response.reply = Some(answer(&request.text, &documents)),
            Err(e) => response.error = Some(format!("memory lookup failed: {e}")),
        }
        response
    }
}

impl LlmWorker {
    /// Waits at most `memory_timeout` for the memory worker.
    pub fn new(memory_timeout: Duration) -> Self {
        Self { memory_timeout }
    }

    /// The texts the memory worker returns for the request (none when `use_rag` is false).
    async fn recall(
        &self,
        request: &LlmRequest,
        publisher: &Publisher,
    ) -> Result<Vec<String>, RequestError> {
        if request.use_rag == Some(false) {
            return Ok(Vec::new());
        }
        let mut query = MemoryQuery::new(request.text.clone());
        query.top_k = Ranged::new(request.rag_k.unwrap_or(3));
        let memory: Envelope<MemoryResults> = publisher
            .request("memory/query", "memory.query", &query)
            .reply_on("memory/results")
            .timeout(self.memory_timeout)
            .await?;
        Ok(memory
            .data
            .results
            .iter()
            .filter_map(|hit| hit.document.text().map(str::to_owned))
            .collect())
    }
}

fn answer(text: &str, documents: &[String]) -> String {
    match documents {
        [] => format!("I don't remember anything about \"{text}\"."),
        docs => format!("About \"{text}\", I remember: {}.", docs.join("; ")),
    }
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), tars_mqtt::Error> {
    tars_mqtt_examples::init_tracing("info");
    LlmWorker::new(Duration::from_secs(5)).run_from_env().await
}
