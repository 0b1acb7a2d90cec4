//! `tars_core.contracts.v1.stt`, `.tts` and `.health`: what the memory worker stores and the
//! health data it publishes.

use serde::{Deserialize, Serialize};

use tars_mqtt::wire::now;

use super::{MessageId, UnitInterval};

/// `stt/final` (`stt.final`): a final transcript.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FinalTranscript {
    /// Fresh per message.
    #[serde(default)]
    pub message_id: MessageId,
    /// What was heard.
    pub text: String,
    /// The language, `en` unless said otherwise.
    #[serde(default = "FinalTranscript::default_lang")]
    pub lang: String,
    /// The recogniser's confidence, if known.
    #[serde(default)]
    pub confidence: Option<UnitInterval>,
    /// Always true for a final transcript.
    #[serde(default = "FinalTranscript::default_is_final")]
    pub is_final: bool,
    /// When it was heard, float seconds since the epoch.
    #[serde(default = "tars_mqtt::wire::now")]
    pub ts: f64,
    /// The utterance id, if any.
    #[serde(default)]
    pub utt_id: Option<String>,
}

impl FinalTranscript {
    fn default_lang() -> String {
        "en".to_owned()
    }

    fn default_is_final() -> bool {
        true
    }
}

/// `tts/say` (`tts.say`): something to speak.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TtsSay {
    /// Fresh per message.
    #[serde(default)]
    pub message_id: MessageId,
    /// What to say.
    pub text: String,
    /// The voice, if not the default.
    #[serde(default)]
    pub voice: Option<String>,
    /// The language, if not the default.
    #[serde(default)]
    pub lang: Option<String>,
    /// The utterance this answers, if any.
    #[serde(default)]
    pub utt_id: Option<String>,
    /// A speaking style, if any.
    #[serde(default)]
    pub style: Option<String>,
    /// When the utterance this answers was heard, if known.
    #[serde(default)]
    pub stt_ts: Option<f64>,
    /// Whether this acknowledges a wake word.
    #[serde(default)]
    pub wake_ack: Option<bool>,
    /// Whether this is a system announcement.
    #[serde(default)]
    pub system_announce: Option<bool>,
}

/// The data of a health message (`health.status` on `system/health/<service>`, and the memory
/// worker's own `system/health/memory`). `event` and `err` are left out when none, as
/// `publish_health` does with `model_dump(exclude_none=True)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthPing {
    /// Fresh per message.
    #[serde(default)]
    pub message_id: MessageId,
    /// Whether the service is well.
    pub ok: bool,
    /// `ready`, `shutdown`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// What went wrong (the key is `err`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err: Option<String>,
    /// Float seconds since the epoch.
    #[serde(default = "tars_mqtt::wire::now")]
    pub timestamp: f64,
}

impl HealthPing {
    /// A failure report: `ok` false with the reason.
    pub fn error(reason: impl Into<String>) -> Self {
        Self {
            message_id: MessageId::default(),
            ok: false,
            event: None,
            err: Some(reason.into()),
            timestamp: now(),
        }
    }
}
