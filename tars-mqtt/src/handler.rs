//! `Handler`: any async function whose arguments are extractors (one implementation, over the
//! argument lists of `args`), and `IntoReply`: what a handler may return.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::args::{Arg, ArgList, ExtractArgs};
pub use crate::error::BoxError;
use crate::extract::{ExtractError, Json};
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

/// A function usable as a route handler: `Fn(T1, …, Tn) -> impl Future` (an `async fn` or a
/// closure returning a `Send` future) whose arguments are extractors (see [`extract`]) and whose
/// output implements [`IntoReply`].
///
/// `A` is the argument list (one marker per argument), inferred from the function's signature.
/// There is one implementation, for every [`Call`] whose arguments can be extracted;
/// `#[mqtt_service]` goes through it too.
///
/// [`extract`]: crate::extract
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tars-mqtt handler",
    note = "a handler is an `async fn` (or closure returning a `Send` future) whose arguments are extractors \
            or the payload (`Json<T>`, `Envelope<T>` or a `serde::Deserialize` type) and whose return type implements `IntoReply`"
)]
pub trait Handler<A, S>: Clone + Send + Sync + Sized + 'static {
    /// Extracts the arguments and runs the function.
    fn call(&self, msg: Context, state: Arc<S>) -> BoxFuture<Result<Reply, ExtractError>>;
}

impl<F, S, A> Handler<A, S> for F
where
    A: ExtractArgs<S>,
    F: Call<A> + Clone + Send + Sync + 'static,
{
    fn call(&self, msg: Context, state: Arc<S>) -> BoxFuture<Result<Reply, ExtractError>> {
        run(A::extract, self, &msg, &state)
    }
}

/// How the values of an argument list are built: [`ExtractArgs::extract`] of a proven list.
pub(crate) type Extract<S, A> =
    fn(&Context, &Arc<S>) -> Result<<A as ArgList>::Values, ExtractError>;

/// The one pipeline: extract the arguments, call the function, turn its output into a reply.
fn run<S, A: ArgList, F: Call<A>>(
    extract: Extract<S, A>,
    f: &F,
    msg: &Context,
    state: &Arc<S>,
) -> BoxFuture<Result<Reply, ExtractError>> {
    match extract(msg, state) {
        Ok(values) => {
            let future = f.call_with(values);
            Box::pin(async move { Ok(future.await.into_reply()) })
        }
        Err(e) => Box::pin(std::future::ready(Err(e))),
    }
}

/// A handler whose argument list `A` was proven extractable where it was declared (by
/// `#[mqtt_service]`, at the user's argument types), so that calling it needs no second,
/// differently placed proof.
#[doc(hidden)]
pub struct Checked<S, A: ArgList, F> {
    extract: Extract<S, A>,
    f: F,
}

impl<S, A: ArgList, F> Checked<S, A, F> {
    /// `f` with the extraction of `A`, taken where `A: ExtractArgs<S>` was proven.
    pub(crate) fn new(extract: Extract<S, A>, f: F) -> Self {
        Self { extract, f }
    }
}

impl<S, A: ArgList, F: Clone> Clone for Checked<S, A, F> {
    fn clone(&self) -> Self {
        Self {
            extract: self.extract,
            f: self.f.clone(),
        }
    }
}

/// The argument-list parameter of a [`Checked`] handler's `Handler` implementation.
#[doc(hidden)]
#[derive(Debug)]
pub struct CheckedArgs<A>(std::marker::PhantomData<fn() -> A>);

impl<S, A, F> Handler<CheckedArgs<A>, S> for Checked<S, A, F>
where
    S: 'static,
    A: ArgList + 'static,
    F: Call<A> + Clone + Send + Sync + 'static,
{
    fn call(&self, msg: Context, state: Arc<S>) -> BoxFuture<Result<Reply, ExtractError>> {
        run(self.extract, &self.f, &msg, &state)
    }
}

/// A function callable with the values of the argument list `A`; no extractor bounds, so a
/// wrong argument type is reported once, where the argument list is required to be extractable.
pub trait Call<A: ArgList> {
    /// The future the call returns.
    type Future: Future<Output = Self::Output> + Send + 'static;
    /// What the future resolves to.
    type Output: IntoReply;
    /// Calls the function with the arguments.
    fn call_with(&self, args: A::Values) -> Self::Future;
}

macro_rules! impl_call {
    ($($ty:ident $m:ident),*) => {
        #[allow(non_snake_case)]
        impl<F, Fut, $($ty, $m,)*> Call<($(Arg<$ty, $m>,)*)> for F
        where
            F: Fn($($ty),*) -> Fut,
            Fut: Future + Send + 'static,
            Fut::Output: IntoReply,
        {
            type Future = Fut;
            type Output = Fut::Output;
            fn call_with(&self, ($($ty,)*): ($($ty,)*)) -> Fut {
                self($($ty),*)
            }
        }
    };
}

impl_call!();
impl_call!(T1 M1);
impl_call!(T1 M1, T2 M2);
impl_call!(T1 M1, T2 M2, T3 M3);
impl_call!(T1 M1, T2 M2, T3 M3, T4 M4);
impl_call!(T1 M1, T2 M2, T3 M3, T4 M4, T5 M5);
impl_call!(T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6);
impl_call!(T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7);
impl_call!(T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7, T8 M8);
impl_call!(T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7, T8 M8, T9 M9);
impl_call!(T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7, T8 M8, T9 M9, T10 M10);
impl_call!(T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7, T8 M8, T9 M9, T10 M10, T11 M11);
impl_call!(T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7, T8 M8, T9 M9, T10 M10, T11 M11, T12 M12);
impl_call!(T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7, T8 M8, T9 M9, T10 M10, T11 M11, T12 M12, T13 M13);
impl_call!(T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7, T8 M8, T9 M9, T10 M10, T11 M11, T12 M12, T13 M13, T14 M14);
impl_call!(T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7, T8 M8, T9 M9, T10 M10, T11 M11, T12 M12, T13 M13, T14 M14, T15 M15);
impl_call!(T1 M1, T2 M2, T3 M3, T4 M4, T5 M5, T6 M6, T7 M7, T8 M8, T9 M9, T10 M10, T11 M11, T12 M12, T13 M13, T14 M14, T15 M15, T16 M16);

/// A function that takes its arguments as one tuple, `Fn((T1, …, Tn))`: what
/// `#[mqtt_service]` generates, so the tuple's types can be inferred from the method it calls.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Tupled<F>(pub F);

impl<F, Fut, A> Call<A> for Tupled<F>
where
    A: ArgList,
    F: Fn(A::Values) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: IntoReply,
{
    type Future = Fut;
    type Output = Fut::Output;
    fn call_with(&self, args: A::Values) -> Fut {
        (self.0)(args)
    }
}

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
