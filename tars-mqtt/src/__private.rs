//! Not public API; may change in any release. What `#[mqtt_service]` expansions name, and
//! nothing else.
//!
//! An expansion builds each route with [`route`]: the declaration (name, filter, QoS, options),
//! the argument list as a tuple of markers ([`state`], [`arg`], [`param`], [`payload`],
//! [`data`], each spanned at the user's argument type) and a closure that takes the argument
//! values as one tuple and calls the method. The route's handler is then a
//! [`Handler`](crate::handler::Handler) like any hand-written one. The return value goes
//! through one of [`value`], [`result`], [`option`] or [`unit_result`], spanned at the
//! user's return type.

use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
pub use std::time::Duration;

use serde::Serialize;

pub use crate::QoS;
use crate::args::{Arg, ArgList, ExtractArgs, ViaData, ViaMessage, ViaPayload};
pub use crate::config::Protocol;
use crate::error::BoxError;
use crate::extract::{Param, State};
use crate::handler::{Checked, Extract, IntoReply, Reply, Tupled};
pub use crate::route::Overflow;
use crate::router::Route;
pub use crate::router::Router;
pub use crate::service::{Service, ServiceInfo};

/// A declared subscription, before its handler: `route("name", "filter", QoS::…)`. Its other
/// options are `Route`'s own builder methods, called on the route `to` returns.
#[derive(Debug)]
#[must_use]
pub struct Decl<S> {
    name: &'static str,
    filter: &'static str,
    qos: QoS,
    location: &'static Location<'static>,
    env: Option<&'static str>,
    state: PhantomData<fn() -> S>,
}

/// Declares a route; the caller's location (the `#[subscribe]` attribute) is its origin.
#[track_caller]
pub fn route<S>(name: &'static str, filter: &'static str, qos: QoS) -> Decl<S> {
    Decl {
        name,
        filter,
        qos,
        location: Location::caller(),
        env: None,
        state: PhantomData,
    }
}

// The bounds below are `S: Service` (which implies `Send + Sync + 'static`): in the expansion,
// `Self: Service` holds by the generated impl, whose `where Self: Send + Sync` is the one place a
// service type that is not reports it; the routes inside assume it.
impl<S: Service> Decl<S> {
    /// The environment variable that overrides the filter at start-up.
    pub fn env(self, var: &'static str) -> Self {
        Self {
            env: Some(var),
            ..self
        }
    }

    /// The handler's argument list: a tuple of markers, each spanned at the user's argument
    /// type, so an argument that cannot be extracted is reported there.
    pub fn args<A: ExtractArgs<S>>(self, _: A) -> WithArgs<S, A> {
        WithArgs {
            decl: self,
            extract: A::extract,
        }
    }
}

/// A declared route with its argument list; [`to`](WithArgs::to) gives it its handler.
#[derive(Debug)]
#[must_use]
pub struct WithArgs<S, A: ArgList> {
    decl: Decl<S>,
    /// Taken where `A: ExtractArgs<S>` holds, so `to` does not ask again (an unmet bound is
    /// reported once, at the argument's marker).
    extract: Extract<S, A>,
}

impl<S: Service, A: ArgList + 'static> WithArgs<S, A> {
    /// The route, calling `f` with the argument values as one tuple.
    pub fn to<F, Fut>(self, f: F) -> Route<S>
    where
        F: Fn(A::Values) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output: IntoReply> + Send + 'static,
    {
        let d = self.decl;
        let overridden = d
            .env
            .and_then(|var| std::env::var(var).ok().map(|v| (var, v)));
        let origin = match &overridden {
            Some((var, _)) => format!("{}, filter from {var}", d.location),
            None => d.location.to_string(),
        };
        let filter = overridden.map_or_else(|| d.filter.to_owned(), |(_, v)| v);
        let handler = Checked::<S, A, _>::new(self.extract, Tupled(f));
        Route::new(filter, handler)
            .name(d.name)
            .qos(d.qos)
            .origin(origin)
    }
}

/// The service's router, from its routes in declaration order.
pub fn router<S: Service, const N: usize>(routes: [Route<S>; N]) -> Router<S> {
    routes.into_iter().fold(Router::new(), Router::route)
}

/// The `&self` argument: the service state.
pub fn state<S>() -> Arg<State<S>, ViaMessage> {
    Arg::new()
}

/// A [`FromMessage`](crate::extract::FromMessage) extractor argument.
pub fn arg<T>() -> Arg<T, ViaMessage> {
    Arg::new()
}

/// The `INDEX`-th `{name}` parameter of the filter.
pub fn param<const INDEX: usize, T>() -> Arg<Param<T, INDEX>, ViaMessage> {
    Arg::new()
}

/// A `Json<T>` or `Envelope<T>` payload argument.
pub fn payload<T>() -> Arg<T, ViaPayload> {
    Arg::new()
}

/// Any other payload argument: the envelope's `data`.
pub fn data<T>() -> Arg<T, ViaData> {
    Arg::new()
}

/// What a handler with a `reply` topic may return (inside `Result`/`Option`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as a reply",
    label = "does not implement `serde::Serialize`",
    note = "a reply is published as the envelope's `data`: derive `serde::Serialize` for it"
)]
pub trait ReplyData {
    /// The reply.
    fn into_reply_data(self) -> Reply;
}

#[diagnostic::do_not_recommend]
impl<T: Serialize> ReplyData for T {
    fn into_reply_data(self) -> Reply {
        crate::Json(self).into_reply()
    }
}

/// The error type of a handler returning `Result`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler's error type",
    label = "not an error type",
    note = "handler errors are reported with the error itself as the source (an error hook can downcast it): \
            implement `std::error::Error` (it must be `Send + Sync + 'static`), or return a `String`"
)]
pub trait HandlerError {
    /// The reported failure.
    fn into_failure(self) -> Reply;
}

#[diagnostic::do_not_recommend]
impl<E: Into<BoxError>> HandlerError for E {
    fn into_failure(self) -> Reply {
        Reply::Error(self.into())
    }
}

/// `-> T` on a route with a reply topic.
pub fn value<T: ReplyData>(value: T) -> Reply {
    value.into_reply_data()
}

/// `-> Result<T, E>` on a route with a reply topic.
pub fn result<T: ReplyData, E: HandlerError>(result: Result<T, E>) -> Reply {
    result.map_or_else(E::into_failure, T::into_reply_data)
}

/// `-> Option<T>` on a route with a reply topic (`None` publishes nothing).
pub fn option<T: ReplyData>(option: Option<T>) -> Reply {
    option.map_or(Reply::None, T::into_reply_data)
}

/// `-> Result<(), E>` on a route without a reply topic.
pub fn unit_result<E: HandlerError>(result: Result<(), E>) -> Reply {
    result.map_or_else(E::into_failure, |()| Reply::None)
}

/// `schema_of!(T)`: the JSON Schema function of `T` when the feature `asyncapi` is on and `T`
/// implements `schemars::JsonSchema`; `None` otherwise (by autoref specialisation: the method
/// found first is `ViaJsonSchema`'s on `&&SchemaOf<T>` when its bound holds, else
/// `NoSchema`'s on `&SchemaOf<T>`).
#[doc(hidden)]
#[macro_export]
macro_rules! __schema_of {
    ($t:ty) => {{
        #[allow(unused_imports)]
        use $crate::__private::{NoSchema as _, ViaJsonSchema as _};
        (&&$crate::__private::SchemaOf::<$t>::NEW).schema()
    }};
}
// `#[macro_export]` macros live at the crate root, which is no module of the layers.
pub use super::__schema_of as schema_of;

/// `schemas!(Payload, Reply)`, either `_`: the pair of [`schema_of!`]s a route records.
#[doc(hidden)]
#[macro_export]
macro_rules! __schemas {
    (_, $r:ty) => {
        (
            ::core::option::Option::None,
            $crate::__private::schema_of!($r),
        )
    };
    ($p:ty, _) => {
        (
            $crate::__private::schema_of!($p),
            ::core::option::Option::None,
        )
    };
    ($p:ty, $r:ty) => {
        (
            $crate::__private::schema_of!($p),
            $crate::__private::schema_of!($r),
        )
    };
}
pub use super::__schemas as schemas;

/// The type whose schema `schema_of!` looks for.
pub struct SchemaOf<T>(PhantomData<fn() -> T>);

impl<T> SchemaOf<T> {
    /// The probe.
    pub const NEW: Self = Self(PhantomData);
}

/// The fallback: no schema.
pub trait NoSchema {
    /// `None`.
    fn schema(&self) -> Option<crate::asyncapi::SchemaFn> {
        None
    }
}

impl<T> NoSchema for SchemaOf<T> {}

/// The schema of a `JsonSchema` type.
pub trait ViaJsonSchema {
    /// `Some` schema function.
    fn schema(&self) -> Option<crate::asyncapi::SchemaFn>;
}

#[cfg(feature = "asyncapi")]
impl<T: schemars::JsonSchema> ViaJsonSchema for &SchemaOf<T> {
    fn schema(&self) -> Option<crate::asyncapi::SchemaFn> {
        Some(crate::asyncapi::schema_of::<T>)
    }
}
