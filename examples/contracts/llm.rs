//! `tars_core.contracts.v1.llm`: a request to the LLM worker and its response.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::MessageId;

/// Who said a [`ConversationMessage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The person.
    User,
    /// The assistant.
    Assistant,
}

/// One turn of a conversation history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationMessage {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub content: String,
    /// When, float seconds since the epoch, if known.
    #[serde(default)]
    pub timestamp: Option<f64>,
}

/// `llm/request` (`llm.request`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LlmRequest {
    /// Fresh per message.
    #[serde(default)]
    pub message_id: MessageId,
    /// The request's id, repeated in every response and stream delta.
    pub id: String,
    /// The prompt.
    pub text: String,
    /// Whether to stream deltas on `llm/stream` (the model's default is true).
    #[serde(default = "LlmRequest::default_stream")]
    pub stream: bool,
    /// Whether to look up memories first (none: the worker decides).
    #[serde(default)]
    pub use_rag: Option<bool>,
    /// How many memories to look up.
    #[serde(default)]
    pub rag_k: Option<i64>,
    /// A system prompt, if not the default.
    #[serde(default)]
    pub system: Option<String>,
    /// Provider parameters.
    #[serde(default)]
    pub params: Option<Map<String, Value>>,
    /// Earlier turns.
    #[serde(default)]
    pub conversation_history: Option<Vec<ConversationMessage>>,
}

impl LlmRequest {
    fn default_stream() -> bool {
        true
    }
}

/// `llm/response` (`llm.response`): the answer to an [`LlmRequest`], or why there is none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LlmResponse {
    /// Fresh per message.
    #[serde(default)]
    pub message_id: MessageId,
    /// The request's `id`.
    pub id: String,
    /// The answer.
    #[serde(default)]
    pub reply: Option<String>,
    /// What went wrong, instead of an answer.
    #[serde(default)]
    pub error: Option<String>,
    /// The provider that answered.
    #[serde(default)]
    pub provider: Option<String>,
    /// The model that answered.
    #[serde(default)]
    pub model: Option<String>,
    /// Token counts.
    #[serde(default)]
    pub tokens: Option<Map<String, Value>>,
}

impl LlmResponse {
    /// A response to the request `id` with nothing set yet.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            message_id: MessageId::default(),
            id: id.into(),
            reply: None,
            error: None,
            provider: None,
            model: None,
            tokens: None,
        }
    }
}
