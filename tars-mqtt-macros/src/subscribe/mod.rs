//! `#[subscribe]`: arguments, the handler model, and the attribute used on its own.

pub(crate) mod args;
pub(crate) mod model;
pub(crate) mod standalone;
