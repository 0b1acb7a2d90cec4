//! `tars_core.contracts.v1.memory`, the character part: the snapshot, its sections, updates.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::{MessageId, Ranged};

/// `system/character/current` (`system.character.current`, retained): the whole character.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CharacterSnapshot {
    /// Also the snapshot's envelope id.
    #[serde(default)]
    pub message_id: MessageId,
    /// The character's name.
    pub name: String,
    /// A description, if any.
    #[serde(default)]
    pub description: Option<String>,
    /// The system prompt, if any.
    #[serde(default)]
    pub systemprompt: Option<String>,
    /// Trait name → value.
    #[serde(default)]
    pub traits: Map<String, Value>,
    /// Voice settings.
    #[serde(default)]
    pub voice: Map<String, Value>,
    /// Anything else about the character.
    #[serde(default)]
    pub meta: Map<String, Value>,
    /// The scenario.
    #[serde(default)]
    pub scenario: Map<String, Value>,
    /// Notes on the personality.
    #[serde(default)]
    pub personality_notes: Map<String, Value>,
    /// Example exchanges.
    #[serde(default)]
    pub example_interactions: Map<String, Value>,
}

/// `character/get` (`character.get`): the whole snapshot (`section` none) or one section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CharacterGetRequest {
    /// Fresh per message.
    #[serde(default)]
    pub message_id: MessageId,
    /// A snapshot key, or none for the whole snapshot.
    #[serde(default)]
    pub section: Option<String>,
}

/// A section's value: a table, a text, or none (`null`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum SectionValue {
    /// A table such as `traits`.
    Object(Map<String, Value>),
    /// A text such as `name`.
    Text(String),
}

/// `character/result` (`character.result`) for one section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CharacterSection {
    /// Fresh per message.
    #[serde(default)]
    pub message_id: MessageId,
    /// The section asked for.
    pub section: String,
    /// Its value.
    #[serde(default)]
    pub value: Option<SectionValue>,
}

/// `character/update` setting one trait.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CharacterTraitUpdate {
    /// Fresh per message.
    #[serde(default)]
    pub message_id: MessageId,
    /// The table the trait is in; `traits` unless said otherwise.
    #[serde(default = "CharacterTraitUpdate::default_section")]
    pub section: String,
    /// The trait.
    #[serde(rename = "trait")]
    pub trait_name: String,
    /// Its new value.
    pub value: Ranged<0, 100>,
}

impl CharacterTraitUpdate {
    fn default_section() -> String {
        "traits".to_owned()
    }
}

/// `character/update` resetting the traits to those of `character.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CharacterResetTraits {
    /// Fresh per message.
    #[serde(default)]
    pub message_id: MessageId,
    /// `reset_traits` unless said otherwise (the model takes any string).
    #[serde(default = "CharacterResetTraits::default_action")]
    pub action: String,
}

impl CharacterResetTraits {
    fn default_action() -> String {
        "reset_traits".to_owned()
    }
}

/// What `character/update` carries: a [`CharacterTraitUpdate`] when the payload names a
/// `trait`, `value` or `section`, otherwise a [`CharacterResetTraits`]. Each is then decoded
/// strictly, so the error names what is wrong with the one meant.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum CharacterUpdate {
    /// Set one trait.
    Trait(CharacterTraitUpdate),
    /// Reset the traits.
    Reset(CharacterResetTraits),
}

impl<'de> Deserialize<'de> for CharacterUpdate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let object = Map::<String, Value>::deserialize(deserializer)?;
        let is_trait = ["trait", "value", "section"]
            .iter()
            .any(|key| object.contains_key(*key));
        let value = Value::Object(object);
        if is_trait {
            serde_json::from_value(value).map(Self::Trait)
        } else {
            serde_json::from_value(value).map(Self::Reset)
        }
        .map_err(D::Error::custom)
    }
}
