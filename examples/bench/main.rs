//! The benchmark: tars-mqtt against a hand-written rumqttc + serde_json baseline, each side in
//! its own process like real services, on the same broker, in interleaved rounds; every ratio
//! is computed within a round and the median of the rounds is reported.
//!
//! ```text
//! cargo run --release --example bench                       # full run, markdown table
//! cargo run --release --example bench -- --quick --json out.json
//! cargo run --release --example bench -- --json docs/performance.json --svg docs/performance.svg
//! ```
//!
//! It runs on the embedded broker and, when `mosquitto` is installed, on Mosquitto (the
//! default broker of the run, whose figures are the top-level keys of the JSON).

mod measure;
mod procfs;
mod python;
mod report;
mod requesters;
mod roles;

use std::path::PathBuf;

use tars_mqtt::testing::{BrokerProcess, EmbeddedBroker, mosquitto_path};

/// How much to measure.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// Messages per throughput run.
    pub messages: u64,
    /// Rounds of every measure (the median is reported).
    pub rounds: usize,
    /// Requests per request/reply run.
    pub requests: usize,
}

const FULL: Sizes = Sizes {
    messages: 100_000,
    rounds: 5,
    requests: 2_000,
};
const QUICK: Sizes = Sizes {
    messages: 10_000,
    rounds: 5,
    requests: 300,
};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("role") {
        let role = args.get(2).expect("a role name");
        roles::run(role, &roles::Args::parse(&args[3..])).await;
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let path_after = |flag: &str| -> Option<PathBuf> {
        let i = args.iter().position(|a| a == flag)?;
        Some(
            args.get(i + 1)
                .unwrap_or_else(|| panic!("{flag} <file>"))
                .into(),
        )
    };
    let (json, svg) = (path_after("--json"), path_after("--svg"));
    let sizes = if quick { QUICK } else { FULL };
    let python = python::ready();
    let started = std::time::Instant::now();

    let mut runs = Vec::new();
    if mosquitto_path().is_some() {
        let broker = BrokerProcess::mosquitto("").expect("start mosquitto");
        eprintln!("bench: Mosquitto on {}", broker.url());
        runs.push((
            "mosquitto",
            measure::all(&broker.url(), sizes, python).await,
        ));
    } else {
        eprintln!(
            "bench: mosquitto is not installed (apt-get install -y mosquitto): embedded broker only"
        );
    }
    let broker = EmbeddedBroker::start();
    eprintln!("bench: embedded broker on {}", broker.url());
    runs.push(("embedded", measure::all(&broker.url(), sizes, python).await));

    let elapsed = started.elapsed();
    print!("{}", report::markdown(&runs, sizes, elapsed));
    if let Some(path) = json {
        let value = report::json(&runs, sizes, elapsed);
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&value).expect("serializes"),
        )
        .expect("write the JSON file");
        eprintln!("bench: figures written to {}", path.display());
    }
    if let Some(path) = svg {
        std::fs::write(&path, report::svg(&runs)).expect("write the SVG file");
        eprintln!("bench: chart written to {}", path.display());
    }
}
