//! A handler's argument list as a type: one [`Arg<T, M>`] per argument, whose marker `M` says
//! which extractor trait builds the `T`, and a tuple of them that builds every argument from a
//! message ([`ExtractArgs`]).
//!
//! Hand-written routes never name these: the types are inferred from the handler's signature,
//! each marker picked by which trait the argument type implements. `#[mqtt_service]` writes the
//! tuple as a value (`(state(), data(), arg())`), each element spanned at the user's argument
//! type, so that an argument type no trait accepts is reported there, once, with the message of
//! the trait its position asks for.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::extract::{ExtractError, FromMessage, FromPayload, PayloadData};
use crate::message::Context;

/// One handler argument of type `T`, built the way `M` says ([`ViaMessage`], [`ViaPayload`]
/// or [`ViaData`]).
pub struct Arg<T, M = ViaMessage>(PhantomData<fn() -> (T, M)>);

impl<T, M> Arg<T, M> {
    /// The marker value.
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T, M> Default for Arg<T, M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, M> fmt::Debug for Arg<T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::any::type_name::<Self>())
    }
}

/// The argument is a [`FromMessage`] extractor (built from the message's metadata or the
/// service state).
#[derive(Debug)]
pub enum ViaMessage {}

/// The argument is a [`FromPayload`] type (`Json<T>`, `Envelope<T>`).
#[derive(Debug)]
pub enum ViaPayload {}

/// The argument is the envelope's `data`, decoded into any `serde::Deserialize` type
/// ([`PayloadData`]).
#[derive(Debug)]
pub enum ViaData {}

/// The type of the argument an [`Arg`] stands for (unconditional).
pub trait ArgType {
    /// The argument's type.
    type Value;
}

impl<T, M> ArgType for Arg<T, M> {
    type Value = T;
}

/// Builds one argument.
pub trait BuildArg<S>: ArgType {
    /// Builds it from the message.
    fn build(ctx: &Context, state: &Arc<S>) -> Result<Self::Value, ExtractError>;
}

impl<S, T: FromMessage<S>> BuildArg<S> for Arg<T, ViaMessage> {
    fn build(ctx: &Context, state: &Arc<S>) -> Result<T, ExtractError> {
        T::from_message(ctx, state)
    }
}

impl<S, T: FromPayload<S>> BuildArg<S> for Arg<T, ViaPayload> {
    fn build(ctx: &Context, state: &Arc<S>) -> Result<T, ExtractError> {
        T::from_payload(ctx, state)
    }
}

impl<S, T: PayloadData> BuildArg<S> for Arg<T, ViaData> {
    fn build(ctx: &Context, _: &Arc<S>) -> Result<T, ExtractError> {
        T::decode(ctx.payload())
    }
}

/// A tuple of [`Arg`]s, and the tuple of argument values it stands for. Unconditional, so the
/// values' types are known before any extractor bound is checked.
pub trait ArgList {
    /// `(T1, …, Tn)` for `(Arg<T1, M1>, …, Arg<Tn, Mn>)`.
    type Values;
}

/// An argument list every element of which can be built from a message for state `S`.
pub trait ExtractArgs<S>: ArgList {
    /// Builds every argument, in order; the first that fails stops it.
    fn extract(ctx: &Context, state: &Arc<S>) -> Result<Self::Values, ExtractError>;
}

macro_rules! arg_lists {
    ($($arg:ident),*) => {
        impl<$($arg: ArgType,)*> ArgList for ($($arg,)*) {
            type Values = ($($arg::Value,)*);
        }

        // Each element is a parameter of its own, bounded directly: an element that cannot be
        // built is blamed at its own expression in a tuple written as a value.
        impl<S, $($arg: BuildArg<S>,)*> ExtractArgs<S> for ($($arg,)*) {
            #[allow(unused_variables)]
            fn extract(ctx: &Context, state: &Arc<S>) -> Result<Self::Values, ExtractError> {
                Ok(($($arg::build(ctx, state)?,)*))
            }
        }
    };
}

arg_lists!();
arg_lists!(A1);
arg_lists!(A1, A2);
arg_lists!(A1, A2, A3);
arg_lists!(A1, A2, A3, A4);
arg_lists!(A1, A2, A3, A4, A5);
arg_lists!(A1, A2, A3, A4, A5, A6);
arg_lists!(A1, A2, A3, A4, A5, A6, A7);
arg_lists!(A1, A2, A3, A4, A5, A6, A7, A8);
arg_lists!(A1, A2, A3, A4, A5, A6, A7, A8, A9);
arg_lists!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10);
arg_lists!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11);
arg_lists!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12);
arg_lists!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13);
arg_lists!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14);
arg_lists!(
    A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15
);
arg_lists!(
    A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16
);
