//! The memory worker's MQTT surface, ported from the Python service (the migration pilot).
//!
//! Identity: client id `tars-memory`, source `memory-worker`, health and a 5 s heartbeat.
//! Environment: `MQTT_URL` (without it, an embedded broker is started for the demo),
//! `CHARACTER_DIR` (holds `{CHARACTER_NAME}/character.toml`), `CHARACTER_NAME` (default `TARS`),
//! `MEMORY_TOP_K` (default 5).
//!
//! - `memory/query` → `memory/results` (`memory.results`, the request's id); an invalid request
//!   gets no reply but a retained `system/health/memory` error.
//! - `character/get` → `character/result`; `character/update` changes a trait or resets them.
//! - `stt/final`, `tts/say`: stored as documents (in memory), visible to later queries.
//! - After every (re)connection: the retained `system/character/current` snapshot.
//!
//! Run: `cargo run --example memory_worker`

use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tars_mqtt::prelude::*;
use tars_mqtt::{PublishError, new_id, now};

/// The character tables of `character.toml`, in snapshot order.
const TABLES: [&str; 6] = [
    "traits",
    "voice",
    "meta",
    "scenario",
    "personality_notes",
    "example_interactions",
];

/// `system/character/current`: `{message_id, name, description, systemprompt, <tables>}`.
#[derive(Serialize, Clone, Debug)]
pub struct CharacterSnapshot {
    message_id: String,
    name: String,
    description: Option<String>,
    systemprompt: Option<String>,
    traits: Map<String, Value>,
    voice: Map<String, Value>,
    meta: Map<String, Value>,
    scenario: Map<String, Value>,
    personality_notes: Map<String, Value>,
    example_interactions: Map<String, Value>,
}

impl CharacterSnapshot {
    /// Reads `{dir}/{name}/character.toml`; a missing or unreadable file gives the bare name.
    pub fn load(dir: Option<&PathBuf>, name: &str) -> Self {
        let file = dir.map(|d| d.join(name).join("character.toml"));
        let table: toml::Table = match file.as_ref().map(std::fs::read_to_string) {
            Some(Ok(text)) => toml::from_str(&text).unwrap_or_else(|e| {
                tracing::error!(error = %e, "character.toml does not parse; using defaults");
                toml::Table::new()
            }),
            _ => toml::Table::new(),
        };
        let json = serde_json::to_value(&table).unwrap_or_default();
        let info = &json["info"];
        let text = |key: &str| info[key].as_str().map(str::to_owned);
        let object = |key: &str| json[key].as_object().cloned().unwrap_or_default();
        let [
            traits,
            voice,
            meta,
            scenario,
            personality_notes,
            example_interactions,
        ] = TABLES.map(object);
        Self {
            message_id: new_id(),
            name: text("name").unwrap_or_else(|| name.to_owned()),
            description: text("description"),
            systemprompt: text("systemprompt"),
            traits,
            voice,
            meta,
            scenario,
            personality_notes,
            example_interactions,
        }
    }

    /// The snapshot as a JSON object (for sections).
    fn as_map(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }
}

/// The data of the retained `system/health/memory` error.
pub fn memory_error(reason: &str) -> Value {
    json!({"message_id": new_id(), "ok": false, "err": reason, "timestamp": now()})
}

/// A `memory/query` request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryQuery {
    text: String,
    top_k: Option<u32>,
    max_tokens: Option<u32>,
    #[serde(default)]
    include_context: bool,
    #[serde(default = "one")]
    context_window: u32,
    #[serde(default = "hybrid")]
    retrieval_strategy: Strategy,
}

fn one() -> u32 {
    1
}

fn hybrid() -> Strategy {
    Strategy::Hybrid
}

#[derive(Deserialize, Serialize, Clone, Copy, PartialEq, Debug)]
#[serde(rename_all = "lowercase")]
enum Strategy {
    Hybrid,
    Recent,
    Similarity,
}

/// One result of `memory/results`.
#[derive(Serialize, Debug)]
struct Hit {
    document: String,
    score: f64,
    timestamp: Option<Value>,
    context_type: &'static str,
    token_count: u32,
}

/// The `memory/results` reply.
#[derive(Serialize, Debug)]
pub struct MemoryResults {
    message_id: String,
    query: String,
    k: usize,
    results: Vec<Hit>,
    total_tokens: u32,
    strategy_used: Strategy,
    truncated: bool,
}

/// A stored document: the `data` object of an `stt/final` or `tts/say` envelope.
struct Document {
    text: String,
    data: Map<String, Value>,
}

/// `floor(words × 1.3)`.
fn token_count(text: &str) -> u32 {
    (text.split_whitespace().count() as f64 * 1.3).floor() as u32
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(|w| w.to_lowercase()).collect()
}

/// The memory worker's state: documents and the character.
pub struct MemoryWorker {
    documents: Mutex<Vec<Document>>,
    character: Mutex<CharacterSnapshot>,
    character_dir: Option<PathBuf>,
    character_name: String,
    default_top_k: u32,
}

// mqtt-plumbing: begin (counted by examples/migration/count_lines.sh)
#[mqtt_service(
    client_id = "tars-memory",
    source = "memory-worker",
    health = true,
    heartbeat = 5
)]
impl MemoryWorker {
    /// Retrieval. Queries and stores share the `memory` group, so a document that arrived
    /// before a query is visible to it.
    #[subscribe(
        "memory/query",
        qos = 1,
        reply = "memory/results",
        event = "memory.results",
        group = "memory"
    )]
    async fn query(&self, request: Value, publisher: Publisher) -> Option<MemoryResults> {
        match self.validate(request) {
            Ok(query) => query.map(|q| self.retrieve(&q)),
            Err(reason) => {
                if let Err(e) = self.report_error(&publisher, &reason).await {
                    tracing::error!(error = %e, "could not publish the memory health error");
                }
                None
            }
        }
    }

    #[subscribe("stt/final", qos = 1, group = "memory")]
    async fn stt_final(&self, data: Map<String, Value>) {
        self.store(data);
    }

    #[subscribe("tts/say", qos = 1, group = "memory")]
    async fn tts_say(&self, data: Map<String, Value>) {
        self.store(data);
    }

    #[subscribe(
        "character/get",
        reply = "character/result",
        event = "character.result"
    )]
    async fn character_get(&self, request: Map<String, Value>) -> Value {
        self.character_section(&request)
    }

    #[subscribe("character/update", qos = 1)]
    async fn character_update(
        &self,
        update: Map<String, Value>,
        publisher: Publisher,
    ) -> Result<(), PublishError> {
        if self.update_character(update) {
            self.publish_character(&publisher).await?;
        }
        Ok(())
    }
}

// mqtt-plumbing: end. Below is the worker's own logic, shared with the hand-written version.

impl MemoryWorker {
    /// Reads `CHARACTER_DIR`, `CHARACTER_NAME` and `MEMORY_TOP_K`.
    pub fn from_env() -> Result<Self, String> {
        let character_dir = std::env::var_os("CHARACTER_DIR").map(PathBuf::from);
        let character_name = std::env::var("CHARACTER_NAME").unwrap_or_else(|_| "TARS".to_owned());
        let default_top_k = match std::env::var("MEMORY_TOP_K") {
            Ok(v) => v
                .parse()
                .ok()
                .filter(|k| (1..=50).contains(k))
                .ok_or(format!("MEMORY_TOP_K must be from 1 to 50, got `{v}`"))?,
            Err(_) => 5,
        };
        Ok(Self::new(character_dir, character_name, default_top_k))
    }

    /// A worker with no documents and the character loaded from `character_dir`.
    pub fn new(character_dir: Option<PathBuf>, character_name: String, default_top_k: u32) -> Self {
        Self {
            documents: Mutex::new(Vec::new()),
            character: Mutex::new(CharacterSnapshot::load(
                character_dir.as_ref(),
                &character_name,
            )),
            character_dir,
            character_name,
            default_top_k,
        }
    }

    // mqtt-plumbing: begin
    /// Publishes the retained snapshot; its envelope id is its `message_id`.
    pub async fn publish_character(&self, publisher: &Publisher) -> Result<(), PublishError> {
        let snapshot = self.character.lock().unwrap().clone();
        publisher
            .event(
                "system/character/current",
                "system.character.current",
                &snapshot,
            )
            .correlation_id(snapshot.message_id.clone())
            .retain(true)
            .await
            .map(drop)
    }

    // mqtt-plumbing: end

    /// `character/get`: the whole snapshot (`section` null), `{message_id, section, value}`, or
    /// an error value listing the sections.
    pub fn character_section(&self, request: &Map<String, Value>) -> Value {
        let snapshot = self.character.lock().unwrap().clone();
        let section = match request.get("section") {
            None | Some(Value::Null) => return serde_json::to_value(&snapshot).unwrap_or_default(),
            Some(section) => section
                .as_str()
                .map_or_else(|| section.to_string(), str::to_owned),
        };
        let map = snapshot.as_map();
        let value = map.get(&section).cloned().unwrap_or_else(|| {
            json!({
                "error": format!("unknown section '{section}'"),
                "available": map.keys().collect::<Vec<_>>(),
            })
        });
        json!({"message_id": new_id(), "section": section, "value": value})
    }

    /// `character/update`: sets a trait or reloads the traits; `false` (and a log line) for
    /// anything else, which changes nothing.
    pub fn update_character(&self, update: Map<String, Value>) -> bool {
        let field = |key: &str| update.get(key);
        match (
            field("section").and_then(Value::as_str),
            field("trait").and_then(Value::as_str),
            field("value").and_then(Value::as_u64),
        ) {
            (Some("traits"), Some(name), Some(value)) if value <= 100 => {
                self.character
                    .lock()
                    .unwrap()
                    .traits
                    .insert(name.to_owned(), json!(value));
                true
            }
            _ if field("action").and_then(Value::as_str) == Some("reset_traits") => {
                *self.character.lock().unwrap() =
                    CharacterSnapshot::load(self.character_dir.as_ref(), &self.character_name);
                true
            }
            _ => {
                let update = Value::Object(update);
                tracing::warn!(%update, "ignoring an unsupported character update");
                false
            }
        }
    }

    /// The current snapshot (its `message_id` is its envelope id).
    pub fn character(&self) -> CharacterSnapshot {
        self.character.lock().unwrap().clone()
    }

    /// `Ok(None)` for an empty query (no reply), `Err` for an invalid one.
    pub fn validate(&self, request: Value) -> Result<Option<MemoryQuery>, String> {
        let query: MemoryQuery =
            serde_json::from_value(request).map_err(|e| format!("invalid memory query: {e}"))?;
        if query.text.trim().is_empty() {
            return Ok(None);
        }
        let top_k = query.top_k.unwrap_or(self.default_top_k);
        if !(1..=50).contains(&top_k) {
            return Err(format!("top_k must be from 1 to 50, got {top_k}"));
        }
        if let Some(max) = query.max_tokens
            && !(1..=10_000).contains(&max)
        {
            return Err(format!(
                "max_tokens must be null or from 1 to 10000, got {max}"
            ));
        }
        if query.context_window > 5 {
            return Err(format!(
                "context_window must be from 0 to 5, got {}",
                query.context_window
            ));
        }
        Ok(Some(MemoryQuery {
            top_k: Some(top_k),
            ..query
        }))
    }

    // mqtt-plumbing: begin
    async fn report_error(&self, publisher: &Publisher, reason: &str) -> Result<(), PublishError> {
        tracing::warn!(%reason, "invalid memory query");
        let data = memory_error(reason);
        publisher
            .event("system/health/memory", "system.health.memory", &data)
            .retain(true)
            .await
            .map(drop)
    }

    // mqtt-plumbing: end

    /// Stores a document (objects with an empty `text` are not stored).
    pub fn store(&self, data: Map<String, Value>) {
        let text = data
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if !text.trim().is_empty() {
            self.documents.lock().unwrap().push(Document { text, data });
        }
    }

    /// Answers a validated query.
    pub fn retrieve(&self, query: &MemoryQuery) -> MemoryResults {
        let documents = self.documents.lock().unwrap();
        let top_k = query.top_k.unwrap_or(self.default_top_k) as usize;
        let wanted = words(&query.text);
        let similarity = |doc: &Document| {
            let doc_words = words(&doc.text);
            let shared = wanted.iter().filter(|w| doc_words.contains(w)).count();
            shared as f64 / wanted.len().max(1) as f64
        };
        let n = documents.len();
        // (index, score), best first.
        let mut ranked: Vec<(usize, f64)> = match query.retrieval_strategy {
            Strategy::Recent => (0..n).rev().map(|i| (i, 1.0)).collect(),
            Strategy::Similarity => (0..n)
                .map(|i| (i, similarity(&documents[i])))
                .filter(|(_, s)| *s > 0.0)
                .collect(),
            Strategy::Hybrid => (0..n)
                .map(|i| {
                    (
                        i,
                        0.7 * similarity(&documents[i]) + 0.3 * (i + 1) as f64 / n as f64,
                    )
                })
                .collect(),
        };
        if query.retrieval_strategy != Strategy::Recent {
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        }
        ranked.truncate(top_k);
        let mut picked: Vec<(usize, f64, &'static str)> =
            ranked.iter().map(|&(i, s)| (i, s, "target")).collect();
        if query.include_context && query.retrieval_strategy != Strategy::Recent {
            let w = query.context_window as usize;
            for &(i, _) in &ranked {
                for j in i.saturating_sub(w)..=(i + w).min(n.saturating_sub(1)) {
                    if !picked.iter().any(|p| p.0 == j) {
                        picked.push((j, 0.0, "context"));
                    }
                }
            }
        }
        let mut results = Vec::new();
        let (mut total_tokens, mut truncated) = (0, false);
        for (i, score, context_type) in picked {
            let doc = &documents[i];
            let tokens = token_count(&doc.text);
            if query
                .max_tokens
                .is_some_and(|max| total_tokens + tokens > max)
            {
                truncated = true;
                break;
            }
            total_tokens += tokens;
            results.push(Hit {
                document: doc.text.clone(),
                score,
                timestamp: doc.data.get("timestamp").cloned(),
                context_type,
                token_count: tokens,
            });
        }
        MemoryResults {
            message_id: new_id(),
            query: query.text.clone(),
            k: results
                .iter()
                .filter(|r| r.context_type == "target")
                .count(),
            results,
            total_tokens,
            strategy_used: query.retrieval_strategy,
            truncated,
        }
    }
}

// mqtt-plumbing: begin
/// Runs the worker until SIGTERM or Ctrl-C: with `MQTT_URL` against that broker, otherwise on
/// an embedded broker for the demo.
#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "info,rumqttd=off".into()))
        .init();
    let worker = MemoryWorker::from_env()?;
    let mut config = MemoryWorker::config()?;
    let _demo_broker = match std::env::var_os("MQTT_URL") {
        Some(_) => None,
        None => {
            let broker = tars_mqtt::testing::EmbeddedBroker::start();
            tracing::info!(url = %broker.url(), "MQTT_URL is not set: started an embedded broker");
            config = config.url(broker.url());
            Some(broker)
        }
    };
    Runtime::service(config.build()?, worker)
        .on_ready(|worker, publisher| async move { worker.publish_character(&publisher).await })
        .run()
        .await?;
    Ok(())
}
// mqtt-plumbing: end
