//! A service scaled out over a real broker cluster: three rmqtt nodes on loopback (the
//! `rmqtt-cluster-broadcast` plugin), three instances of a worker in one shared group, each
//! connected to a different node with the other nodes as its failover list. It measures:
//!
//! - that every job is handled once across the cluster (and how evenly);
//! - killing the node one instance is on, under load: how long the instance takes to work
//!   again from another node, and how many QoS 1 jobs are lost or handled twice, with the
//!   workers' duplicate suppression off and on.
//!
//! ```text
//! .ci/cluster                                    # installs rmqttd if needed, then runs this
//! cargo run --release --example cluster -- --rmqttd /path/to/rmqttd [--quick] [--json out.json]
//! ```

// Shared with the scaling example, which also kills instances.
#[allow(dead_code)]
#[path = "../scaling/fleet.rs"]
mod fleet;
#[path = "../scaling/jobs.rs"]
mod jobs;
mod nodes;
#[path = "../scaling/worker.rs"]
mod worker;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use fleet::{Cli, Fleet, Setup, duplicates, lost, out_of_order};
use jobs::{now_ns, publish, publisher};
use nodes::Cluster;

/// The CPU work of one job, in microseconds.
const WORK_US: f64 = 100.0;
const NODES: usize = 3;

#[tokio::main]
async fn main() {
    let cli = Cli::from_env();
    if cli.run_worker().await {
        return;
    }
    let Some(binary) = cli
        .value("--rmqttd")
        .or_else(|| std::env::var("RMQTTD").ok())
        .map(PathBuf::from)
    else {
        eprintln!(
            "cluster: give the rmqttd binary with --rmqttd <path> (or RMQTTD); .ci/cluster installs it"
        );
        std::process::exit(2);
    };
    let quick = cli.has("--quick");
    // Published at 1000 a second; while a node is dead the cluster delivers far fewer, so a
    // larger run only waits longer.
    let jobs = if quick { 1_500 } else { 3_000 };
    let iterations = worker::calibrate(WORK_US);

    let mut results = vec![handled_once(&binary, iterations, jobs).await];
    eprintln!("cluster: {}", results[0]);
    for dedup in [false, true] {
        for persistent in [false, true] {
            let run = node_failure(&binary, iterations, jobs, dedup, persistent).await;
            eprintln!("cluster: {run}");
            results.push(run);
        }
    }
    let report = json!({
        "nodes": NODES,
        "work_us": WORK_US,
        "broker": "rmqtt 0.24 (rmqttd), rmqtt-cluster-broadcast",
        "runs": results,
    });
    print!("{}", markdown(&report));
    if let Some(path) = cli.value("--json") {
        let text = serde_json::to_string_pretty(&report).expect("serializes");
        std::fs::write(&path, text).expect("write the JSON file");
        eprintln!("cluster: figures written to {path}");
    }
}

/// Starts the cluster and waits until a message published on the first node reaches a
/// subscriber on the last one (the nodes have found each other).
async fn cluster(binary: &std::path::Path) -> Cluster {
    let cluster = tokio::task::block_in_place(|| Cluster::start(binary, NODES));
    let mut last =
        tars_mqtt::testing::TestClient::connect(&cluster.url(NODES - 1), "probe-sub").await;
    last.subscribe("cluster/probe").await;
    let first = tars_mqtt::testing::TestClient::connect(&cluster.url(0), "probe-pub").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the nodes did not form a cluster"
        );
        first
            .publish("cluster/probe", "x", tars_mqtt::QoS::AtLeastOnce, false)
            .await;
        if last.next(Duration::from_millis(500)).await.is_some() {
            return cluster;
        }
    }
}

fn setup(cluster: &Cluster, iterations: u64, dedup: bool, persistent: bool) -> Setup {
    Setup {
        // Worker i starts on node i and has the others as its failover list.
        urls: (0..NODES).map(|i| cluster.urls_from(i)).collect(),
        iterations,
        persistent,
        dedup,
        protocol: "3.1.1".to_owned(),
    }
}

/// Three instances on three nodes share a flood of jobs published on the first node.
async fn handled_once(binary: &std::path::Path, iterations: u64, jobs: u64) -> Value {
    let cluster = cluster(binary).await;
    let mut fleet = Fleet::new(setup(&cluster, iterations, false, false), "once");
    (0..NODES).for_each(|i| tokio::task::block_in_place(|| fleet.spawn(i)));
    let handle = publisher(&cluster.urls_from(0), "cluster-once-pub").await;
    let started = now_ns();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let sent = publish(&handle, 0..jobs, None, deadline).await;
    let quiet = Duration::from_secs(3);
    tokio::task::block_in_place(|| {
        fleet.wait_for(NODES, sent.len(), quiet, Duration::from_secs(120))
    });
    let handled = fleet.handled(NODES);
    fleet.stop_all();
    handle.shutdown().await;
    let last = handled
        .iter()
        .flatten()
        .map(|h| h.handled_ns)
        .max()
        .unwrap_or(started);
    json!({
        "run": "handled once",
        "jobs": jobs,
        "msg_per_s": (jobs as f64 / ((last - started) as f64 / 1e9)).round(),
        "share": handled.iter().map(Vec::len).collect::<Vec<_>>(),
        "published": sent.len(),
        "lost": lost(&sent, &handled),
        "duplicates": duplicates(&handled),
        "out_of_order": out_of_order(&handled),
    })
}

/// Jobs published at a steady rate on the first node; a third of the way through, the
/// second node (where the second instance is) is killed.
async fn node_failure(
    binary: &std::path::Path,
    iterations: u64,
    jobs: u64,
    dedup: bool,
    persistent: bool,
) -> Value {
    let mut cluster = cluster(binary).await;
    let run = format!("fail-d{}-p{}", u8::from(dedup), u8::from(persistent));
    let mut fleet = Fleet::new(setup(&cluster, iterations, dedup, persistent), &run);
    (0..NODES).for_each(|i| tokio::task::block_in_place(|| fleet.spawn(i)));
    let handle = publisher(&cluster.urls_from(0), &format!("cluster-{run}-pub")).await;
    let rate = 1_000.0;
    let kill_at = jobs / 3;
    // At 1000 jobs/s the run takes seconds; publishing gives up after a minute whatever happens.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut sent = publish(&handle, 0..kill_at, Some(rate), deadline).await;
    let killed_at = now_ns();
    tokio::task::block_in_place(|| cluster.kill(1));
    sent.extend(publish(&handle, kill_at..jobs, Some(rate), deadline).await);
    // Longer than a node's wait for a dead peer: jobs delayed by it are not counted as lost.
    let quiet = Duration::from_secs(6);
    tokio::task::block_in_place(|| {
        fleet.wait_for(NODES, sent.len(), quiet, Duration::from_secs(120))
    });
    let handled = fleet.handled(NODES);
    // The moved instance is connected and subscribed again: ready on another node.
    let fleet_ready = fleet.ready_after(1, killed_at);
    fleet.stop_all();
    handle.shutdown().await;
    // The moved instance works again when it handles a job published after the kill.
    let back = handled[1]
        .iter()
        .filter(|h| h.sent_ns > killed_at)
        .map(|h| h.handled_ns)
        .min();
    let after: Vec<_> = handled
        .iter()
        .flatten()
        .filter(|h| h.sent_ns > killed_at)
        .collect();
    let mut delays: Vec<u128> = after.iter().map(|h| h.handled_ns - h.sent_ns).collect();
    delays.sort_unstable();
    let longest_delay = delays.last().copied();
    let median_delay = delays.get(delays.len() / 2).copied();
    json!({
        "run": "node killed",
        "handled_after_kill": after.len(),
        "median_delay_seconds": median_delay.map(seconds),
        "longest_delay_seconds": longest_delay.map(seconds),
        "dedup": dedup,
        "sessions": if persistent { "persistent" } else { "clean" },
        "jobs": jobs,
        "share": handled.iter().map(Vec::len).collect::<Vec<_>>(),
        "failover_seconds": fleet_ready.map(|r| seconds(r - killed_at)),
        "handling_resumed_seconds": back.map(|b| seconds(b - killed_at)),
        "published": sent.len(),
        "lost": lost(&sent, &handled),
        "duplicates": duplicates(&handled),
        "out_of_order": out_of_order(&handled),
    })
}

/// Nanoseconds as seconds, two decimals.
fn seconds(ns: u128) -> f64 {
    (ns as f64 / 1e7).round() / 100.0
}

fn markdown(report: &Value) -> String {
    let mut out = format!(
        "{} nodes of {}, {} µs of CPU work per job, three instances in one shared group.\n\n\
         | run | dedup | sessions | published | handled per instance | moved instance ready again (s) | its handling resumed (s) | delay after the kill, median / longest (s) | lost | duplicates | out of order |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
        report["nodes"],
        report["broker"].as_str().unwrap_or(""),
        report["work_us"]
    );
    for r in report["runs"].as_array().into_iter().flatten() {
        let share: Vec<String> = r["share"]
            .as_array()
            .into_iter()
            .flatten()
            .map(Value::to_string)
            .collect();
        let text = |v: &Value| match v {
            Value::Null => "–".to_owned(),
            Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {} | {} |\n",
            text(&r["run"]),
            text(&r["dedup"]),
            text(&r["sessions"]),
            r["published"],
            share.join(" / "),
            text(&r["failover_seconds"]),
            text(&r["handling_resumed_seconds"]),
            text(&r["median_delay_seconds"]),
            text(&r["longest_delay_seconds"]),
            r["lost"],
            r["duplicates"],
            r["out_of_order"]
        );
    }
    out
}
