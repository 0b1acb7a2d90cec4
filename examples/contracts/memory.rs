//! `tars_core.contracts.v1.memory`: the retrieval request and its results.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{MessageId, Ranged};

/// `memory/query` (`memory.query`): a retrieval request, as llm-worker sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryQuery {
    /// Fresh per message.
    #[serde(default)]
    pub message_id: MessageId,
    /// What to look for.
    pub text: String,
    /// How many results (the model's default is 5). Left out, the worker's own default applies;
    /// `null` is refused, as by the model.
    #[serde(
        default,
        deserialize_with = "tars_mqtt::wire::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub top_k: Option<Ranged<1, 50>>,
    /// A token budget for the results, or none.
    #[serde(default)]
    pub max_tokens: Option<Ranged<1, 10_000>>,
    /// Whether to add the neighbours of each hit as `context` results.
    #[serde(default)]
    pub include_context: bool,
    /// How many neighbours on each side.
    #[serde(default = "MemoryQuery::default_context_window")]
    pub context_window: Ranged<0, 5>,
    /// `hybrid`, `recent` or `similarity`; the model takes any string.
    #[serde(default = "MemoryQuery::default_strategy")]
    pub retrieval_strategy: String,
}

impl MemoryQuery {
    /// A query for `text` with the model's defaults.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            message_id: MessageId::default(),
            text: text.into(),
            top_k: None,
            max_tokens: None,
            include_context: false,
            context_window: Self::default_context_window(),
            retrieval_strategy: Self::default_strategy(),
        }
    }

    fn default_context_window() -> Ranged<0, 5> {
        Ranged(1)
    }

    fn default_strategy() -> String {
        "hybrid".to_owned()
    }
}

/// A stored document as a result carries it: an object (the memory worker sends
/// `{"text": …}`) or plain text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Document {
    /// `{"text": …, …}`.
    Object(Map<String, Value>),
    /// Plain text.
    Text(String),
}

impl Document {
    /// The document's text: the string itself, or the object's `text`.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Object(map) => map.get("text").and_then(Value::as_str),
            Self::Text(text) => Some(text),
        }
    }
}

/// One result of `memory/results`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryResult {
    /// The document.
    pub document: Document,
    /// Relevance, higher is better.
    #[serde(default)]
    pub score: Option<f64>,
    /// When the document was stored, as text, if known.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// `target` for a hit, `context` for a neighbour of one.
    #[serde(default = "MemoryResult::default_context_type")]
    pub context_type: String,
    /// The document's estimated tokens.
    #[serde(default)]
    pub token_count: Option<i64>,
}

impl MemoryResult {
    fn default_context_type() -> String {
        "target".to_owned()
    }
}

/// `memory/results` (`memory.results`): the answer to a [`MemoryQuery`]; its envelope id is the
/// query's envelope id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryResults {
    /// Fresh per message.
    #[serde(default)]
    pub message_id: MessageId,
    /// The query's text.
    pub query: String,
    /// The results, best first.
    #[serde(default)]
    pub results: Vec<MemoryResult>,
    /// How many results are hits (`context_type` `target`).
    pub k: i64,
    /// The tokens of all results.
    #[serde(default)]
    pub total_tokens: Option<i64>,
    /// The strategy that ranked the results.
    #[serde(default = "MemoryQuery::default_strategy")]
    pub strategy_used: String,
    /// Whether `max_tokens` cut the results short.
    #[serde(default)]
    pub truncated: bool,
}
