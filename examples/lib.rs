//! Example services built with tars-mqtt; each is an `[[example]]` of this package, run with
//! `cargo run --example <name>`. The library holds what the examples share: the typed contracts
//! of the Python services ([`contracts`]).

pub mod contracts;

/// Logs as the examples do: the filter from `RUST_LOG` (`default_directives` when it is unset or
/// invalid), to standard error, with colours only when standard error is a terminal.
pub fn init_tracing(default_directives: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_directives));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
