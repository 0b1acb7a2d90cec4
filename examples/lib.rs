//! Example services built with tars-mqtt; each is an `[[example]]` of this package, run with
//! `cargo run --example <name>`.
