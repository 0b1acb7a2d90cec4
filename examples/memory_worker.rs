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
//! Every payload is one of the typed contracts of the Python services
//! (`tars_mqtt_examples::contracts`), so each request accepts exactly what its Python model
//! accepts (a `message_id`, every optional field, `null` where the model allows it) and refuses
//! the rest, and every reply validates against the model its Python consumer reads it with.
//!
//! Run: `cargo run --example memory_worker`

use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::{Map, Value, json};
use tars_mqtt::PublishError;
use tars_mqtt::prelude::*;
use tars_mqtt_examples::contracts::{
    CharacterGetRequest, CharacterSection, CharacterSnapshot, CharacterUpdate, Document,
    FinalTranscript, HealthPing, MemoryQuery, MemoryResult, MemoryResults, MessageId, SectionValue,
    TtsSay, decode,
};

/// The character tables of `character.toml`, in snapshot order.
const TABLES: [&str; 6] = [
    "traits",
    "voice",
    "meta",
    "scenario",
    "personality_notes",
    "example_interactions",
];

/// Reads `{dir}/{name}/character.toml` into a snapshot with a fresh `message_id`; a missing or
/// unreadable file gives the bare name.
pub fn load_character(dir: Option<&PathBuf>, name: &str) -> CharacterSnapshot {
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
    CharacterSnapshot {
        message_id: MessageId::default(),
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
fn as_map(snapshot: &CharacterSnapshot) -> Map<String, Value> {
    match serde_json::to_value(snapshot) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// What `character/get` answers: the whole snapshot or one section.
#[derive(Serialize, Debug, tars_mqtt::schemars::JsonSchema)]
#[schemars(crate = "tars_mqtt::schemars")]
#[serde(untagged)]
pub enum CharacterReply {
    /// `section` was none.
    Snapshot(CharacterSnapshot),
    /// One section, or an error value listing them.
    Section(CharacterSection),
}

/// How a query ranks: the strategies the worker knows; any other name ranks as `hybrid`.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Strategy {
    Hybrid,
    Recent,
    Similarity,
}

impl Strategy {
    fn from_name(name: &str) -> Self {
        match name {
            "recent" => Self::Recent,
            "similarity" => Self::Similarity,
            _ => Self::Hybrid,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Hybrid => "hybrid",
            Self::Recent => "recent",
            Self::Similarity => "similarity",
        }
    }
}

/// `floor(words × 1.3)`.
fn token_count(text: &str) -> i64 {
    (text.split_whitespace().count() as f64 * 1.3).floor() as i64
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(|w| w.to_lowercase()).collect()
}

/// The memory worker's state: documents (their texts) and the character.
pub struct MemoryWorker {
    documents: Mutex<Vec<String>>,
    character: Mutex<CharacterSnapshot>,
    character_dir: Option<PathBuf>,
    character_name: String,
    default_top_k: i64,
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
    async fn stt_final(&self, transcript: FinalTranscript) {
        self.store(&transcript.text);
    }

    #[subscribe("tts/say", qos = 1, group = "memory")]
    async fn tts_say(&self, say: TtsSay) {
        self.store(&say.text);
    }

    #[subscribe(
        "character/get",
        reply = "character/result",
        event = "character.result"
    )]
    async fn character_get(&self, request: CharacterGetRequest) -> CharacterReply {
        self.character_section(&request)
    }

    #[subscribe("character/update", qos = 1)]
    async fn character_update(
        &self,
        update: CharacterUpdate,
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

    /// A worker with no documents and the character loaded from `character_dir`;
    /// `default_top_k` answers queries that leave `top_k` out.
    pub fn new(character_dir: Option<PathBuf>, character_name: String, default_top_k: i64) -> Self {
        Self {
            documents: Mutex::new(Vec::new()),
            character: Mutex::new(load_character(character_dir.as_ref(), &character_name)),
            character_dir,
            character_name,
            default_top_k,
        }
    }

    // mqtt-plumbing: begin
    /// Publishes the retained snapshot; its envelope id is its `message_id`.
    pub async fn publish_character(&self, publisher: &Publisher) -> Result<(), PublishError> {
        let snapshot = self.character();
        publisher
            .event(
                "system/character/current",
                "system.character.current",
                &snapshot,
            )
            .correlation_id(snapshot.message_id.to_string())
            .retain(true)
            .await
            .map(drop)
    }

    // mqtt-plumbing: end

    /// `character/get`: the whole snapshot (`section` none), `{message_id, section, value}`,
    /// or an error value listing the sections.
    pub fn character_section(&self, request: &CharacterGetRequest) -> CharacterReply {
        let snapshot = self.character();
        let Some(section) = request.section.clone() else {
            return CharacterReply::Snapshot(snapshot);
        };
        let map = as_map(&snapshot);
        let value = match map.get(&section) {
            Some(Value::Object(table)) => Some(SectionValue::Object(table.clone())),
            Some(Value::String(text)) => Some(SectionValue::Text(text.clone())),
            Some(_) => None,
            None => Some(SectionValue::Object(Map::from_iter([
                (
                    "error".to_owned(),
                    json!(format!("unknown section '{section}'")),
                ),
                (
                    "available".to_owned(),
                    json!(map.keys().collect::<Vec<_>>()),
                ),
            ]))),
        };
        CharacterReply::Section(CharacterSection {
            message_id: MessageId::default(),
            section,
            value,
        })
    }

    /// `character/update`: sets a trait or reloads the traits; `false` (and a log line) for
    /// an update that changes nothing: a section other than `traits`, an action other than
    /// `reset_traits`.
    pub fn update_character(&self, update: CharacterUpdate) -> bool {
        match update {
            CharacterUpdate::Trait(set) if set.section == "traits" => {
                let mut character = self.character.lock().unwrap();
                character
                    .traits
                    .insert(set.trait_name, json!(set.value.get()));
                true
            }
            CharacterUpdate::Reset(reset) if reset.action == "reset_traits" => {
                *self.character.lock().unwrap() =
                    load_character(self.character_dir.as_ref(), &self.character_name);
                true
            }
            other => {
                tracing::warn!(update = ?other, "ignoring a character update that changes nothing");
                false
            }
        }
    }

    /// The current snapshot (its `message_id` is its envelope id).
    pub fn character(&self) -> CharacterSnapshot {
        self.character.lock().unwrap().clone()
    }

    /// `Ok(None)` for an empty query (no reply), `Err` for one that `MemoryQuery` refuses, with
    /// the path of the offending field.
    pub fn validate(&self, request: Value) -> Result<Option<MemoryQuery>, String> {
        let query: MemoryQuery =
            decode(request).map_err(|e| format!("invalid memory query: {e}"))?;
        Ok((!query.text.trim().is_empty()).then_some(query))
    }

    // mqtt-plumbing: begin
    async fn report_error(&self, publisher: &Publisher, reason: &str) -> Result<(), PublishError> {
        tracing::warn!(%reason, "invalid memory query");
        publisher
            .event(
                "system/health/memory",
                "system.health.memory",
                &HealthPing::error(reason),
            )
            .retain(true)
            .await
            .map(drop)
    }

    // mqtt-plumbing: end

    /// Stores a document (an empty `text` is not stored).
    pub fn store(&self, text: &str) {
        if !text.trim().is_empty() {
            self.documents.lock().unwrap().push(text.to_owned());
        }
    }

    /// Answers a validated query.
    pub fn retrieve(&self, query: &MemoryQuery) -> MemoryResults {
        let documents = self.documents.lock().unwrap();
        let strategy = Strategy::from_name(&query.retrieval_strategy);
        let top_k = query.top_k.map_or(self.default_top_k, |k| k.get()) as usize;
        let wanted = words(&query.text);
        let similarity = |doc: &str| {
            let doc_words = words(doc);
            let shared = wanted.iter().filter(|w| doc_words.contains(w)).count();
            shared as f64 / wanted.len().max(1) as f64
        };
        let n = documents.len();
        // (index, score), best first.
        let mut ranked: Vec<(usize, f64)> = match strategy {
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
        if strategy != Strategy::Recent {
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        }
        ranked.truncate(top_k);
        let mut picked: Vec<(usize, f64, &'static str)> =
            ranked.iter().map(|&(i, s)| (i, s, "target")).collect();
        if query.include_context && strategy != Strategy::Recent {
            let w = query.context_window.get() as usize;
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
            let text = &documents[i];
            let tokens = token_count(text);
            if query
                .max_tokens
                .is_some_and(|max| total_tokens + tokens > max.get())
            {
                truncated = true;
                break;
            }
            total_tokens += tokens;
            results.push(MemoryResult {
                document: Document::Object(Map::from_iter([("text".to_owned(), json!(text))])),
                score: Some(score),
                timestamp: None,
                context_type: context_type.to_owned(),
                token_count: Some(tokens),
            });
        }
        MemoryResults {
            message_id: MessageId::default(),
            query: query.text.clone(),
            k: results
                .iter()
                .filter(|r| r.context_type == "target")
                .count() as i64,
            results,
            total_tokens: Some(total_tokens),
            strategy_used: strategy.name().to_owned(),
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
    tars_mqtt_examples::init_tracing("info,rumqttd=off");
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
