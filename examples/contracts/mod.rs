//! Typed contracts of the Python services (py-tars, `tars-core` v1): one Rust type per pydantic
//! model that the memory-worker pilot and the LLM example send or receive, accepting exactly what
//! the model accepts.
//!
//! The pattern, for the next team that migrates a service:
//!
//! | pydantic | Rust |
//! |---|---|
//! | `model_config = ConfigDict(extra="forbid")` (`"additionalProperties": false`) | `#[serde(deny_unknown_fields)]` |
//! | `message_id: str = Field(default_factory=…)` | `#[serde(default)] message_id: MessageId` (a fresh id) |
//! | `x: int = 5` | `#[serde(default = "…")]` |
//! | `x: str \| None = None` | `Option<String>` |
//! | `x: int = Field(ge=1, le=50)` | [`Ranged<1, 50>`] |
//! | `x: float = Field(ge=0, le=1)` | [`UnitInterval`] |
//! | `Literal["user", "assistant"]` | an enum with `#[serde(rename_all = "lowercase")]` |
//! | a field that may be left out but not sent as `null` | `#[serde(default, deserialize_with = "tars_mqtt::wire::present")]` |
//!
//! Every type here is checked against the JSON Schema that pydantic writes for its model
//! (`model_json_schema()`) by the contract suite, `tests/tests/it/contracts.rs`, which accepts
//! and refuses the same payloads on both sides; docs/migration.md shows how to do the same for
//! your own types. Two deliberate differences, pinned by that suite: pydantic's lax mode also
//! turns `"5"` or `5.0` into an integer and `"yes"` or `1` into a boolean; these types, like the
//! JSON Schema, take only JSON integers and booleans (Python senders always send those, since
//! they serialise typed models).

mod character;
mod llm;
mod memory;
mod speech;

use std::fmt;

use serde::de::{Error as _, Unexpected};
use serde::{Deserialize, Deserializer, Serialize};

pub use character::{
    CharacterGetRequest, CharacterResetTraits, CharacterSection, CharacterSnapshot,
    CharacterTraitUpdate, CharacterUpdate, SectionValue,
};
pub use llm::{ConversationMessage, LlmRequest, LlmResponse, Role};
pub use memory::{Document, MemoryQuery, MemoryResult, MemoryResults};
pub use speech::{FinalTranscript, HealthPing, TtsSay};

/// The `message_id` every v1 payload carries besides the envelope's `id`: a uuid4 as 32 hex
/// characters. Absent on decode, it gets a fresh one, as pydantic's `default_factory` does;
/// `null` is refused.
///
/// ```
/// # use tars_mqtt_examples::contracts::MessageId;
/// assert_eq!(MessageId::default().as_str().len(), 32);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct MessageId(pub String);

impl Default for MessageId {
    fn default() -> Self {
        Self(tars_mqtt::wire::new_id())
    }
}

impl MessageId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An integer from `MIN` to `MAX` inclusive (pydantic's `Field(ge=MIN, le=MAX)`); anything else
/// is refused on decode with the bounds in the message.
///
/// ```
/// # use tars_mqtt_examples::contracts::Ranged;
/// let top_k: Ranged<1, 50> = serde_json::from_str("5").unwrap();
/// assert_eq!(top_k.get(), 5);
/// let err = serde_json::from_str::<Ranged<1, 50>>("100").unwrap_err();
/// assert!(err.to_string().contains("an integer from 1 to 50"));
/// ```
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct Ranged<const MIN: i64, const MAX: i64>(i64);

impl<const MIN: i64, const MAX: i64> Ranged<MIN, MAX> {
    /// `value` if it lies within the bounds.
    pub fn new(value: i64) -> Option<Self> {
        (MIN..=MAX).contains(&value).then_some(Self(value))
    }

    /// The value.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for Ranged<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = i64::deserialize(deserializer)?;
        Self::new(value).ok_or_else(|| {
            let expected = format!("an integer from {MIN} to {MAX}");
            D::Error::invalid_value(Unexpected::Signed(value), &expected.as_str())
        })
    }
}

/// A number from 0 to 1 inclusive (pydantic's `Field(ge=0.0, le=1.0)` on a float).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct UnitInterval(f64);

impl UnitInterval {
    /// `value` if it lies from 0 to 1.
    pub fn new(value: f64) -> Option<Self> {
        (0.0..=1.0).contains(&value).then_some(Self(value))
    }

    /// The value.
    pub const fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for UnitInterval {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        Self::new(value).ok_or_else(|| {
            D::Error::invalid_value(Unexpected::Float(value), &"a number from 0 to 1")
        })
    }
}

/// Decodes `value` as `T`, with an error that names the field at fault.
///
/// ```
/// # use tars_mqtt_examples::contracts::{MemoryQuery, decode};
/// let err = decode::<MemoryQuery>(serde_json::json!({"text": "x", "top_k": 100})).unwrap_err();
/// assert_eq!(err.to_string(), "top_k: invalid value: integer `100`, expected an integer from 1 to 50");
/// ```
pub fn decode<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
    serde_path_to_error::deserialize(value)
}
