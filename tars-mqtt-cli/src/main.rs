//! `tars-mqtt`: find, inspect, query and watch tars-mqtt services over MQTT.
//!
//! ```text
//! tars-mqtt ls                          # every service that answers discovery
//! tars-mqtt info MemoryWorker           # its routes
//! tars-mqtt stats tars-memory           # its routes' counters and timings
//! tars-mqtt request memory/query '{"text":"hi"}' --reply-on memory/results
//! tars-mqtt watch                       # a live table of every service's presence
//! ```
//!
//! See `docs/cli.md`.

mod client;
mod commands;
mod table;
mod watch;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tars_mqtt::config::Protocol;

/// Find, inspect, query and watch tars-mqtt services over MQTT.
#[derive(Parser, Debug)]
#[command(name = "tars-mqtt", version, about)]
struct Cli {
    #[command(flatten)]
    connection: Connection,
    /// Print the answers as JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

/// Where and how to connect.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Connection {
    /// The broker (credentials in the URL are percent-decoded; the help never shows them).
    #[arg(
        long,
        env = "MQTT_URL",
        hide_env_values = true,
        default_value = "mqtt://127.0.0.1:1883",
        global = true
    )]
    pub(crate) url: String,
    /// MQTT protocol version: 3.1.1 or 5.
    #[arg(long = "protocol", env = "MQTT_PROTOCOL", default_value = "3.1.1", global = true, value_parser = parse_protocol)]
    pub(crate) protocol: Protocol,
    /// How long to wait: for the connection, for answers, for a reply (e.g. 500ms, 2s).
    #[arg(long, default_value = "1s", global = true, value_parser = parse_duration)]
    pub(crate) timeout: Duration,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the services that answer discovery.
    Ls,
    /// Ping every service, or the ones named (by name or client id), with round-trip times.
    Ping {
        /// A service name or client id.
        target: Option<String>,
    },
    /// Show a service's routes.
    Info {
        /// A service name or client id.
        target: String,
        /// Every instance that answers, not only the first.
        #[arg(long)]
        all: bool,
    },
    /// Show a service's per-route counters and processing times.
    Stats {
        /// A service name or client id.
        target: String,
        /// Every instance that answers, not only the first.
        #[arg(long)]
        all: bool,
    },
    /// Print a service's AsyncAPI 3.0 document.
    Asyncapi {
        /// A service name or client id.
        target: String,
    },
    /// Send a request envelope and print the correlated reply.
    Request {
        /// The topic to send it to.
        topic: String,
        /// The envelope's `data`: a JSON object.
        data: String,
        /// Where the reply arrives (with `--protocol 5`, default: a topic of this client's own,
        /// sent as the Response Topic).
        #[arg(long)]
        reply_on: Option<String>,
        /// The envelope type.
        #[arg(long = "type", default_value = "request")]
        event_type: String,
    },
    /// Publish an envelope (or, with --raw, the bytes as given).
    Publish {
        /// The topic.
        topic: String,
        /// The envelope's `data` (a JSON object), or the payload with --raw.
        data: String,
        /// The envelope type.
        #[arg(long = "type", default_value = "event")]
        event_type: String,
        /// QoS 0, 1 or 2.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=2))]
        qos: u8,
        /// Ask the broker to retain it.
        #[arg(long)]
        retain: bool,
        /// Publish the payload as given, not wrapped in an envelope.
        #[arg(long)]
        raw: bool,
    },
    /// Print the messages on one or more filters, envelopes pretty-printed.
    Subscribe {
        /// Topic filters (`+` and `#` wildcards).
        #[arg(required = true)]
        filters: Vec<String>,
        /// Stop after this many messages.
        #[arg(long)]
        count: Option<usize>,
    },
    /// A live table of every service: presence, heartbeat age, traffic, last error.
    Watch {
        /// How often to refresh the stats and redraw.
        #[arg(long, default_value = "1s", value_parser = parse_duration)]
        interval: Duration,
        /// Stop after this many frames (default: until Ctrl-C).
        #[arg(long)]
        frames: Option<u64>,
    },
}

fn parse_protocol(s: &str) -> Result<Protocol, String> {
    s.parse()
}

/// `250ms`, `2s`, `1.5s`, `1m`, or plain seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((s, "s"), |i| s.split_at(i));
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 500ms, 2s, 1m)"))?;
    let seconds = match unit {
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("`{unit}` is not a unit of time (ms, s, m)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{s}`: {e}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| "off".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match commands::run(cli).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("tars-mqtt: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3h").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
