//! Extractors: what a handler argument can be. Every argument is one of three kinds, in any
//! order: a [`FromMessage`] extractor (any number of them), or the payload, as a [`FromPayload`]
//! type (`Json<T>`, `Envelope<T>`) or any other `serde::Deserialize` type ([`PayloadData`], the
//! envelope's `data`). `#[subscribe]` methods follow the same rules, and add two spellings:
//! a `{name}` argument is a [`Param`], and `&T` borrows a `FromMessage` extractor.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;
use std::sync::Arc;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::envelope::{DecodeError, Envelope};
pub use crate::message::Context;
pub use crate::properties::Properties;
use crate::publisher::Publisher;

/// Why a handler was not called: its arguments could not be extracted from the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// The payload did not decode into the handler's payload type.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A topic parameter did not parse into the argument type.
    #[error("topic parameter `{name}` = `{value}` did not parse: {reason}")]
    Param {
        /// The parameter name (or index).
        name: String,
        /// The topic level.
        value: String,
        /// The `FromStr` error.
        reason: String,
    },
}

/// An argument built from the message's metadata (can appear any number of times).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tars-mqtt extractor",
    label = "not an extractor",
    note = "extractors are `Context`, `Topic`, `TopicParams`, `Param<T, N>`, `Raw`, `State<S>`, `Publisher` and `Properties`; \
            the decoded payload is `Json<T>`, `Envelope<T>` or any `serde::Deserialize` type"
)]
pub trait FromMessage<S>: Sized {
    /// Builds the argument.
    fn from_message(ctx: &Context, state: &Arc<S>) -> Result<Self, ExtractError>;
}

/// An argument decoded from the payload: `Json<T>` (the envelope's data) or `Envelope<T>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the payload argument of a tars-mqtt handler",
    label = "not a payload type",
    note = "use `Json<T>` (the envelope's data) or `Envelope<T>` with `T: serde::Deserialize`"
)]
pub trait FromPayload<S>: Sized {
    /// Builds the argument.
    fn from_payload(ctx: &Context, state: &Arc<S>) -> Result<Self, ExtractError>;
}

/// A payload argument of any other type: the envelope's `data`, decoded with serde into any
/// `serde::Deserialize` type (implemented for all of them; not implemented by hand).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the payload of a tars-mqtt handler",
    label = "not deserializable, and not a known extractor",
    note = "the payload (the envelope's `data`) needs `#[derive(serde::Deserialize)]`; \
            an argument of your own extractor type needs `#[extract]`"
)]
pub trait PayloadData: Sized {
    /// Decodes the envelope whose `data` this is.
    fn decode_envelope(payload: &Bytes) -> Result<Envelope<Self>, ExtractError>;
    /// Decodes the envelope's `data`.
    fn decode(payload: &Bytes) -> Result<Self, ExtractError> {
        Ok(Self::decode_envelope(payload)?.data)
    }
}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned> PayloadData for T {
    fn decode_envelope(payload: &Bytes) -> Result<Envelope<Self>, ExtractError> {
        Ok(Envelope::decode(payload)?)
    }
}

/// The type of a topic parameter ([`Param<T, N>`], or a `{name}` argument of a
/// `#[subscribe]` method): any `FromStr` type with a `Display` error (implemented for all of
/// them; not implemented by hand).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a topic parameter",
    label = "does not implement `FromStr` with a `Display` error",
    note = "a `{{name}}` level is parsed with `FromStr`: use `String`, a number type, or implement `FromStr`"
)]
pub trait ParamValue: Sized {
    /// Parses one topic level; the error says why it did not parse.
    fn parse_level(level: &str) -> Result<Self, String>;
}

#[diagnostic::do_not_recommend]
impl<T: FromStr<Err: fmt::Display>> ParamValue for T {
    fn parse_level(level: &str) -> Result<Self, String> {
        level.parse().map_err(|e: T::Err| e.to_string())
    }
}

/// The envelope's `data`, decoded with serde (lenient rules of the wire format apply).
/// As a return value, the data of the reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<S, T: PayloadData> FromPayload<S> for Json<T> {
    fn from_payload(ctx: &Context, _: &Arc<S>) -> Result<Self, ExtractError> {
        T::decode(ctx.payload()).map(Json)
    }
}

impl<S, T: PayloadData> FromPayload<S> for Envelope<T> {
    fn from_payload(ctx: &Context, _: &Arc<S>) -> Result<Self, ExtractError> {
        T::decode_envelope(ctx.payload())
    }
}

/// The raw payload bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raw(pub Bytes);

impl<S> FromMessage<S> for Raw {
    fn from_message(ctx: &Context, _: &Arc<S>) -> Result<Self, ExtractError> {
        Ok(Raw(ctx.payload().clone()))
    }
}

/// The concrete topic the message arrived on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic(pub String);

impl<S> FromMessage<S> for Topic {
    fn from_message(ctx: &Context, _: &Arc<S>) -> Result<Self, ExtractError> {
        Ok(Topic(ctx.topic().to_owned()))
    }
}

/// Every `{name}` parameter of the route's filter with its value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicParams(pub Vec<(String, String)>);

impl TopicParams {
    /// The value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl<S> FromMessage<S> for TopicParams {
    fn from_message(ctx: &Context, _: &Arc<S>) -> Result<Self, ExtractError> {
        Ok(TopicParams(
            ctx.params()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
        ))
    }
}

/// The `INDEX`-th `{name}` parameter (0-based) of the route's filter, parsed with `FromStr`.
///
/// With the filter `sensors/{room}/temp`, `Param<String, 0>` is the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<T, const INDEX: usize = 0>(pub T);

impl<S, T: ParamValue, const INDEX: usize> FromMessage<S> for Param<T, INDEX> {
    fn from_message(ctx: &Context, _: &Arc<S>) -> Result<Self, ExtractError> {
        parse_param(ctx, INDEX).map(Param)
    }
}

/// Parses the `index`-th `{name}` level of the route's filter.
fn parse_param<T: ParamValue>(ctx: &Context, index: usize) -> Result<T, ExtractError> {
    let (name, value) = ctx.params().nth(index).ok_or_else(|| ExtractError::Param {
        name: format!("#{index}"),
        value: String::new(),
        reason: format!("the route's filter has no parameter number {index}"),
    })?;
    T::parse_level(value).map_err(|reason| ExtractError::Param {
        name: name.to_owned(),
        value: value.to_owned(),
        reason,
    })
}

/// Shared service state.
#[derive(Debug)]
pub struct State<S>(pub Arc<S>);

impl<S> Clone for State<S> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<S> Deref for State<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.0
    }
}

impl<S> FromMessage<S> for State<S> {
    fn from_message(_: &Context, state: &Arc<S>) -> Result<Self, ExtractError> {
        Ok(State(state.clone()))
    }
}

/// The message's MQTT 5 properties (user properties, content type, response topic,
/// correlation data, message expiry); empty on 3.1.1. See [`Properties`].
impl<S> FromMessage<S> for Properties {
    fn from_message(ctx: &Context, _: &Arc<S>) -> Result<Self, ExtractError> {
        Ok(ctx.properties().clone())
    }
}

impl<S> FromMessage<S> for Publisher {
    fn from_message(ctx: &Context, _: &Arc<S>) -> Result<Self, ExtractError> {
        Ok(ctx.publisher().clone())
    }
}

impl<S> FromMessage<S> for Context {
    fn from_message(ctx: &Context, _: &Arc<S>) -> Result<Self, ExtractError> {
        Ok(ctx.clone())
    }
}
