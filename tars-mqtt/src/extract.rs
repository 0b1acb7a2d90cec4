//! Extractors: what a handler argument can be. `FromMessage` types can appear any number of
//! times; at most one `FromPayload` type (the decoded payload) comes last.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;
use std::sync::Arc;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::envelope::{DecodeError, Envelope};
pub use crate::message::Context;
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
    note = "extractors are `Context`, `Topic`, `TopicParams`, `Param<T, N>`, `Raw`, `State<S>` and `Publisher`; \
            the decoded payload is `Json<T>` or `Envelope<T>` (as the last argument)"
)]
pub trait FromMessage<S>: Sized {
    /// Builds the argument.
    fn from_message(ctx: &Context, state: &Arc<S>) -> Result<Self, ExtractError>;
}

/// The markers that tell the two kinds of [`FromPayload`] apart. Public types in a private
/// module: they appear in the trait's parameters but cannot be named outside this crate.
mod private {
    /// Implementations that decode the payload.
    #[derive(Debug)]
    pub enum ViaPayload {}
    /// Implementations that come from [`FromMessage`](super::FromMessage).
    #[derive(Debug)]
    pub enum ViaMessage {}
}
use private::{ViaMessage, ViaPayload};

/// An argument decoded from the payload; at most one per handler, and it comes last.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the payload argument of a tars-mqtt handler",
    label = "not a payload type",
    note = "use `Json<T>` (the envelope's data) or `Envelope<T>` with `T: serde::Deserialize`"
)]
pub trait FromPayload<S, M = ViaPayload>: Sized {
    /// Builds the argument.
    fn from_payload(ctx: &Context, state: &Arc<S>) -> Result<Self, ExtractError>;
}

#[diagnostic::do_not_recommend]
impl<S, T: FromMessage<S>> FromPayload<S, ViaMessage> for T {
    fn from_payload(ctx: &Context, state: &Arc<S>) -> Result<Self, ExtractError> {
        T::from_message(ctx, state)
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

impl<S, T: DeserializeOwned> FromPayload<S> for Json<T> {
    fn from_payload(ctx: &Context, _: &Arc<S>) -> Result<Self, ExtractError> {
        Ok(Json(Envelope::<T>::decode(ctx.payload())?.data))
    }
}

impl<S, T: DeserializeOwned> FromPayload<S> for Envelope<T> {
    fn from_payload(ctx: &Context, _: &Arc<S>) -> Result<Self, ExtractError> {
        Ok(Envelope::decode(ctx.payload())?)
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

impl<S, T, const INDEX: usize> FromMessage<S> for Param<T, INDEX>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    fn from_message(ctx: &Context, _: &Arc<S>) -> Result<Self, ExtractError> {
        parse_param(ctx, INDEX).map(Param)
    }
}

/// Parses the `index`-th `{name}` level of the route's filter.
pub(crate) fn parse_param<T>(ctx: &Context, index: usize) -> Result<T, ExtractError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    let (name, value) = ctx.params().nth(index).ok_or_else(|| ExtractError::Param {
        name: format!("#{index}"),
        value: String::new(),
        reason: format!("the route's filter has no parameter number {index}"),
    })?;
    value.parse().map_err(|e: T::Err| ExtractError::Param {
        name: name.to_owned(),
        value: value.to_owned(),
        reason: e.to_string(),
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
