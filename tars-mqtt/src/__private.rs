//! Not public API; may change in any release. What `#[mqtt_service]` expansions name, and
//! nothing else.

use std::fmt::Display;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::QoS;
use crate::error::BoxError;
pub use crate::extract::{ExtractError, FromMessage, Param, State};
pub use crate::handler::{Handler, IntoReply, Reply};
pub use crate::message::Context;
pub use crate::route::Overflow;
pub use crate::router::{Route, Router};
pub use crate::service::{Service, ServiceDefaults, ServiceInfo, SubscriptionInfo};
pub use std::time::Duration;

/// A boxed, sendable future.
pub type BoxFuture<T> = futures_util::future::BoxFuture<'static, T>;

use crate::envelope::Envelope;
use crate::extract::FromPayload;

/// A route for a declared subscription: its name, filter (or the value of its `env` variable),
/// QoS and origin.
pub fn route<S, H, T>(info: &'static SubscriptionInfo, handler: H) -> Route<S>
where
    S: Send + Sync + 'static,
    H: Handler<T, S>,
    T: 'static,
{
    let (file, line, column) = info.location;
    let overridden = info
        .env
        .and_then(|var| std::env::var(var).ok().map(|v| (var, v)));
    let origin = match &overridden {
        Some((var, _)) => format!("{file}:{line}:{column}, filter from {var}"),
        None => format!("{file}:{line}:{column}"),
    };
    let filter = overridden.map_or_else(|| info.filter.to_owned(), |(_, v)| v);
    Route::new(filter, handler)
        .name(info.handler)
        .qos(info.qos)
        .origin(origin)
}

/// The payload argument of a handler: the envelope's `data` decoded into `T`.
#[derive(Debug)]
pub struct Payload<T>(pub T);

/// What a handler's payload argument must be.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the payload of a tars-mqtt handler",
    label = "not deserializable, and not a known extractor",
    note = "the payload (the envelope's `data`) needs `#[derive(serde::Deserialize)]`; \
            an argument of your own extractor type needs `#[extract]`"
)]
pub trait PayloadData: DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned> PayloadData for T {}

impl<S, T: PayloadData> FromPayload<S> for Payload<T> {
    fn from_payload(msg: &Context, _: &Arc<S>) -> Result<Self, ExtractError> {
        Ok(Payload(Envelope::<T>::decode(msg.payload())?.data))
    }
}

/// Extracts `T` for a handler argument (spanned at the argument's type by the expansion).
pub fn extract<S, T: FromMessage<S>>(msg: &Context, state: &Arc<S>) -> Result<T, ExtractError> {
    T::from_message(msg, state)
}

/// Decodes the payload argument `T` from the envelope's `data`.
pub fn payload<T: PayloadData>(msg: &Context) -> Result<T, ExtractError> {
    Ok(Envelope::<T>::decode(msg.payload())?.data)
}

/// Builds a `Json<T>` or `Envelope<T>` payload argument.
pub fn payload_via<S, T: FromPayload<S>>(msg: &Context, state: &Arc<S>) -> Result<T, ExtractError> {
    T::from_payload(msg, state)
}

/// The type of a `{name}` topic parameter argument.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a topic parameter",
    label = "does not implement `FromStr` with a `Display` error",
    note = "a `{{name}}` level is parsed with `FromStr`: use `String`, a number type, or implement `FromStr`"
)]
pub trait ParamValue: std::str::FromStr<Err: Display> {}

#[diagnostic::do_not_recommend]
impl<T: std::str::FromStr<Err: Display>> ParamValue for T {}

/// Parses the `INDEX`-th `{name}` level of the route's filter.
pub fn param<T: ParamValue, const INDEX: usize>(msg: &Context) -> Result<T, ExtractError> {
    crate::extract::parse_param(msg, INDEX)
}

/// Boxes a handler's future; spanned at the method name, where a future that is not `Send`
/// is reported.
pub fn boxed_send<F: std::future::Future<Output = Reply> + Send + 'static>(
    future: F,
) -> BoxFuture<Reply> {
    Box::pin(future)
}

/// What a handler with a `reply` topic may return (inside `Result`/`Option`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as a reply",
    label = "does not implement `serde::Serialize`",
    note = "a reply is published as the envelope's `data`: derive `serde::Serialize` for it"
)]
pub trait ReplyData: Serialize {}

#[diagnostic::do_not_recommend]
impl<T: Serialize> ReplyData for T {}

/// The error type of a handler returning `Result`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler's error type",
    label = "not an error type",
    note = "handler errors are reported with the error itself as the source (an error hook can downcast it): \
            implement `std::error::Error` (it must be `Send + Sync + 'static`), or return a `String`"
)]
pub trait HandlerError: Into<BoxError> {}

#[diagnostic::do_not_recommend]
impl<T: Into<BoxError>> HandlerError for T {}

/// `-> T` on a route with a reply topic.
pub fn reply_value<T: ReplyData>(value: T) -> Reply {
    crate::Json(value).into_reply()
}

/// `-> Result<T, E>` on a route with a reply topic.
pub fn reply_result<T: ReplyData, E: HandlerError>(result: Result<T, E>) -> Reply {
    result.map(crate::Json).into_reply()
}

/// `-> Option<T>` on a route with a reply topic (`None` publishes nothing).
pub fn reply_option<T: ReplyData>(option: Option<T>) -> Reply {
    option.map(crate::Json).into_reply()
}

/// `-> ()` on a route without a reply topic.
pub fn no_reply(_: ()) -> Reply {
    Reply::None
}

/// `-> Result<(), E>` on a route without a reply topic.
pub fn no_reply_result<E: HandlerError>(result: Result<(), E>) -> Reply {
    result.into_reply()
}
