//! Shared-subscription scaling: N = 1, 2 and 4 instances of a service (separate processes, one
//! `$share/scalers/` group) whose handler does a fixed amount of CPU work, on Mosquitto; then
//! what happens to the QoS 1 jobs an instance holds when it is killed, with clean and with
//! persistent sessions.
//!
//! ```text
//! cargo run --release --example scaling                    # full run, markdown on stdout
//! cargo run --release --example scaling -- --quick         # about a minute
//! cargo run --release --example scaling -- --json docs/scaling.json
//! cargo run --release --example scaling -- --url mqtt://127.0.0.1:1883   # a broker of yours
//! ```

// Shared with the cluster example, which also watches instances reconnect.
#[allow(dead_code)]
mod fleet;
mod jobs;
mod worker;

use std::time::Duration;

use serde_json::{Value, json};
use tars_mqtt::testing::BrokerProcess;

use fleet::{Cli, Fleet, Setup, distinct, duplicates, lost, out_of_order};
use jobs::{now_ns, publish, publisher};

/// The CPU work of one job, in microseconds (calibrated into iterations at start).
const WORK_US: f64 = 200.0;

struct Sizes {
    jobs: u64,
    rounds: usize,
    crash_jobs: u64,
}

#[tokio::main]
async fn main() {
    let cli = Cli::from_env();
    if cli.run_worker().await {
        return;
    }
    let sizes = match cli.has("--quick") {
        true => Sizes {
            jobs: 5_000,
            rounds: 1,
            crash_jobs: 4_000,
        },
        false => Sizes {
            jobs: 20_000,
            rounds: 3,
            crash_jobs: 10_000,
        },
    };
    let _broker;
    let url = match cli.value("--url") {
        Some(url) => url,
        None => {
            let broker = BrokerProcess::mosquitto("").unwrap_or_else(|e| {
                eprintln!("scaling: {e}; or give a broker with --url");
                std::process::exit(2)
            });
            let url = broker.url();
            _broker = broker;
            url
        }
    };
    let iterations = worker::calibrate(WORK_US);
    eprintln!("scaling: broker {url}; {WORK_US} µs of work per job = {iterations} iterations");
    let setup = Setup {
        urls: vec![url.clone()],
        iterations,
        persistent: false,
        dedup: false,
        protocol: "3.1.1".to_owned(),
    };

    let mut scale = Vec::new();
    for n in [1, 2, 4] {
        let mut rounds: Vec<Value> = Vec::new();
        for round in 0..sizes.rounds {
            let figures = scaling(&setup, &url, n, sizes.jobs, &format!("n{n}r{round}")).await;
            eprintln!("scaling: N={n} round {round}: {figures}");
            rounds.push(figures);
        }
        rounds.sort_by(|a, b| {
            a["msg_per_s"]
                .as_f64()
                .partial_cmp(&b["msg_per_s"].as_f64())
                .unwrap()
        });
        scale.push(rounds[rounds.len() / 2].clone());
    }
    let mut crashes = Vec::new();
    for persistent in [false, true] {
        let setup = Setup {
            persistent,
            ..setup.clone()
        };
        let figures = crash(&setup, &url, sizes.crash_jobs).await;
        eprintln!("scaling: crash, persistent={persistent}: {figures}");
        crashes.push(figures);
    }
    let report = json!({
        "broker": url,
        "work_us": WORK_US,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "scaling": scale,
        "crash": crashes,
    });
    print!("{}", markdown(&report));
    if let Some(path) = cli.value("--json") {
        let text = serde_json::to_string_pretty(&report).expect("serializes");
        std::fs::write(&path, text).expect("write the JSON file");
        eprintln!("scaling: figures written to {path}");
    }
}

/// N workers share `jobs` jobs published at once: throughput and each worker's share.
async fn scaling(setup: &Setup, url: &str, n: usize, jobs: u64, run: &str) -> Value {
    let mut fleet = Fleet::new(setup.clone(), run);
    (0..n).for_each(|i| fleet.spawn(i));
    let handle = publisher(url, &format!("scale-{run}-pub")).await;
    let started = now_ns();
    let sent = publish(&handle, 0..jobs, None, deadline()).await;
    let wait = Duration::from_secs(120);
    tokio::task::block_in_place(|| fleet.wait_for(n, sent.len(), Duration::from_secs(5), wait));
    let handled = fleet.handled(n);
    fleet.stop_all();
    handle.shutdown().await;
    let last = handled
        .iter()
        .flatten()
        .map(|h| h.handled_ns)
        .max()
        .unwrap_or(started);
    let seconds = (last - started) as f64 / 1e9;
    let shares: Vec<f64> = handled
        .iter()
        .map(|w| round2(100.0 * w.len() as f64 / jobs as f64))
        .collect();
    json!({
        "instances": n,
        "jobs": jobs,
        "seconds": round2(seconds),
        "msg_per_s": (jobs as f64 / seconds).round(),
        "share_percent": shares,
        "out_of_order": out_of_order(&handled),
        "lost": lost(&sent, &handled),
        "duplicates": duplicates(&handled),
    })
}

/// When a run's publishing gives up: the examples stop by themselves whatever the broker does.
fn deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(120)
}

/// Two workers share a flood of jobs; one is killed (SIGKILL) when it has handled a tenth of
/// them, the second half of the jobs is published while it is down, and it is started again
/// 3 s after the kill with the same client id.
async fn crash(setup: &Setup, url: &str, jobs: u64) -> Value {
    let run = if setup.persistent {
        "persistent"
    } else {
        "clean"
    };
    let mut fleet = Fleet::new(setup.clone(), run);
    fleet.spawn(0);
    fleet.spawn(1);
    let handle = publisher(url, &format!("scale-{run}-pub")).await;
    let mut sent = publish(&handle, 0..jobs / 2, None, deadline()).await;
    let killed_at = tokio::task::block_in_place(|| {
        while fleet.handled(2)[1].len() < (jobs / 10) as usize {
            std::thread::sleep(Duration::from_millis(1));
        }
        fleet.kill(1);
        now_ns()
    });
    sent.extend(publish(&handle, jobs / 2..jobs, None, deadline()).await);
    let quiet = Duration::from_secs(2);
    let limit = Duration::from_secs(120);
    tokio::task::block_in_place(|| fleet.wait_for(2, sent.len(), quiet, limit));
    let before_restart = fleet.handled(2);
    let held = sent.len() - distinct(&before_restart);
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(Duration::from_nanos(
        (now_ns() - killed_at).min(u64::MAX as u128) as u64,
    )))
    .await;
    let restarted_at = now_ns();
    fleet.spawn(1);
    tokio::task::block_in_place(|| fleet.wait_for(2, sent.len(), quiet, limit));
    let handled = fleet.handled(2);
    fleet.stop_all();
    handle.shutdown().await;
    let recovered: Vec<_> = handled[1]
        .iter()
        .filter(|h| h.handled_ns >= restarted_at)
        .collect();
    let longest_wait = recovered
        .iter()
        .map(|h| h.handled_ns.saturating_sub(h.sent_ns))
        .max()
        .unwrap_or(0);
    json!({
        "sessions": run,
        "jobs": jobs,
        "killed_after_handling": before_restart[1].len(),
        "held_while_down": held,
        "down_seconds": round2((restarted_at - killed_at) as f64 / 1e9),
        "handled_after_restart": recovered.len(),
        "longest_wait_seconds": round2(longest_wait as f64 / 1e9),
        "lost": lost(&sent, &handled),
        "duplicates": duplicates(&handled),
        "out_of_order": out_of_order(&handled),
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn markdown(report: &Value) -> String {
    let mut out = format!(
        "Broker {}, {} µs of CPU work per job, {} cores.\n\n\
         | instances | jobs | msg/s | speed-up | share per instance (%) | out of order | lost | duplicates |\n\
         |---|---|---|---|---|---|---|---|\n",
        report["broker"], report["work_us"], report["cores"]
    );
    let base = report["scaling"][0]["msg_per_s"].as_f64().unwrap_or(1.0);
    for s in report["scaling"].as_array().into_iter().flatten() {
        let shares: Vec<String> = s["share_percent"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| format!("{v}"))
            .collect();
        out += &format!(
            "| {} | {} | {} | {:.2}× | {} | {} | {} | {} |\n",
            s["instances"],
            s["jobs"],
            s["msg_per_s"],
            s["msg_per_s"].as_f64().unwrap_or(0.0) / base,
            shares.join(" / "),
            s["out_of_order"],
            s["lost"],
            s["duplicates"]
        );
    }
    out += "\n| sessions | jobs | killed after handling | held while down | down (s) | handled after restart | longest wait (s) | lost | duplicates | out of order |\n\
            |---|---|---|---|---|---|---|---|---|---|\n";
    for c in report["crash"].as_array().into_iter().flatten() {
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            c["sessions"].as_str().unwrap_or(""),
            c["jobs"],
            c["killed_after_handling"],
            c["held_while_down"],
            c["down_seconds"],
            c["handled_after_restart"],
            c["longest_wait_seconds"],
            c["lost"],
            c["duplicates"],
            c["out_of_order"]
        );
    }
    out
}
