//! `Handler`: any async function whose arguments are extractors, implemented over tuples (axum
//! style), and `IntoReply`: what a handler may return.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

pub use crate::error::BoxError;
use crate::extract::{ExtractError, FromMessage, FromPayload, Json};
use crate::message::Context;

/// A boxed, sendable future.
type BoxFuture<T> = futures_util::future::BoxFuture<'static, T>;

/// What a handler produced, ready to publish.
#[derive(Debug)]
#[non_exhaustive]
pub enum Reply {
    /// Nothing to publish.
    None,
    /// Reply data (a serialized JSON object) for the route's reply topic.
    Data(Box<RawValue>),
    /// The handler failed; reported (with the error as its source), and answered with an
    /// error envelope on reply routes.
    Error(BoxError),
    /// The handler's arguments could not be extracted (reported as a decode error).
    #[doc(hidden)]
    Rejected(ExtractError),
}

/// Turns a handler's return value into a [`Reply`].
///
/// `()` and `Option::None` publish nothing, `Json<T>` is reply data, `Result::Err` is a
/// reported failure: any `E` that converts into a [`BoxError`] (an error type, a `String`, a
/// `&'static str`), kept as the report's source so an error hook can downcast it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid tars-mqtt handler return type",
    label = "cannot be turned into a reply",
    note = "return `()`, `Json<T>` with `T: Serialize`, `Option<_>` or `Result<_, E>` with `E` an error type (`std::error::Error + Send + Sync`, or a `String`) of those"
)]
pub trait IntoReply {
    /// Converts.
    fn into_reply(self) -> Reply;
}

impl IntoReply for () {
    fn into_reply(self) -> Reply {
        Reply::None
    }
}

impl IntoReply for Reply {
    fn into_reply(self) -> Reply {
        self
    }
}

impl<T: Serialize> IntoReply for Json<T> {
    fn into_reply(self) -> Reply {
        match crate::envelope::to_raw_object(&self.0) {
            Ok(raw) => Reply::Data(raw),
            Err(e) => Reply::Error(Box::new(e)),
        }
    }
}

impl<T: IntoReply> IntoReply for Option<T> {
    fn into_reply(self) -> Reply {
        self.map_or(Reply::None, IntoReply::into_reply)
    }
}

impl<T: IntoReply, E: Into<BoxError>> IntoReply for Result<T, E> {
    fn into_reply(self) -> Reply {
        match self {
            Ok(v) => v.into_reply(),
            Err(e) => Reply::Error(e.into()),
        }
    }
}

/// An async function usable as a route handler; implemented for `Fn(A, B, …, P) -> impl Future`
/// where every argument is a [`FromMessage`] extractor and the last may be a [`FromPayload`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tars-mqtt handler",
    note = "a handler is an `async fn` (or closure returning a `Send` future) whose arguments are extractors \
            (the payload argument, `Json<T>` or `Envelope<T>`, last) and whose return type implements `IntoReply`"
)]
pub trait Handler<T, S>: Clone + Send + Sync + Sized + 'static {
    /// Extracts the arguments and runs the function.
    fn call(&self, msg: Context, state: Arc<S>) -> BoxFuture<Result<Reply, ExtractError>>;
}

impl<F, Fut, S, R> Handler<((),), S> for F
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoReply,
{
    fn call(&self, _: Context, _: Arc<S>) -> BoxFuture<Result<Reply, ExtractError>> {
        let fut = self();
        Box::pin(async move { Ok(fut.await.into_reply()) })
    }
}

macro_rules! impl_handler {
    ($($ty:ident),*; $last:ident) => {
        #[allow(non_snake_case)]
        impl<F, Fut, S, R, M, $($ty,)* $last> Handler<(M, $($ty,)* $last,), S> for F
        where
            F: Fn($($ty,)* $last) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoReply,
            S: Send + Sync + 'static,
            $($ty: FromMessage<S> + Send,)*
            $last: FromPayload<S, M> + Send,
        {
            fn call(&self, msg: Context, state: Arc<S>) -> BoxFuture<Result<Reply, ExtractError>> {
                let extracted = (|| {
                    $(let $ty = $ty::from_message(&msg, &state)?;)*
                    let $last = $last::from_payload(&msg, &state)?;
                    Ok::<_, ExtractError>(self($($ty,)* $last))
                })();
                Box::pin(async move { Ok(extracted?.await.into_reply()) })
            }
        }
    };
}

impl_handler!(; T1);
impl_handler!(T1; T2);
impl_handler!(T1, T2; T3);
impl_handler!(T1, T2, T3; T4);
impl_handler!(T1, T2, T3, T4; T5);
impl_handler!(T1, T2, T3, T4, T5; T6);
impl_handler!(T1, T2, T3, T4, T5, T6; T7);
impl_handler!(T1, T2, T3, T4, T5, T6, T7; T8);
impl_handler!(T1, T2, T3, T4, T5, T6, T7, T8; T9);

/// A handler with its argument types erased, as routes store it.
pub(crate) trait ErasedHandler<S>: Send + Sync {
    fn call(&self, msg: Context, state: Arc<S>) -> BoxFuture<Result<Reply, ExtractError>>;
}

pub(crate) struct Erased<H, T> {
    handler: H,
    _args: std::marker::PhantomData<fn() -> T>,
}

impl<H, T> Erased<H, T> {
    pub(crate) fn new(handler: H) -> Self {
        Self {
            handler,
            _args: std::marker::PhantomData,
        }
    }
}

impl<H: Handler<T, S>, T, S> ErasedHandler<S> for Erased<H, T> {
    fn call(&self, msg: Context, state: Arc<S>) -> BoxFuture<Result<Reply, ExtractError>> {
        self.handler.call(msg, state)
    }
}
