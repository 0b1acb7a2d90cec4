//! The run's figures as a markdown table (stdout) and as JSON (`--json <file>`).

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::Sizes;
use crate::measure::Figures;

/// `(figure, label, target)` rows of the table; the target is what the figure should meet.
const ROWS: &[(&str, &str, &str)] = &[
    (
        "qos0_throughput_ratio",
        "QoS 0 throughput, tars / raw",
        "≥ 0.95",
    ),
    (
        "qos1_throughput_ratio",
        "QoS 1 throughput, tars / raw",
        "≥ 0.95",
    ),
    (
        "qos0_cpu_per_msg_ratio",
        "QoS 0 subscriber CPU per message, tars / raw",
        "≤ 1.2",
    ),
    (
        "qos1_cpu_per_msg_ratio",
        "QoS 1 subscriber CPU per message, tars / raw",
        "≤ 1.2",
    ),
    (
        "rr_qos0_c1_p50_ratio",
        "request/reply p50, QoS 0, sequential, tars / raw",
        "≤ 1.1",
    ),
    (
        "rr_qos1_c1_p50_ratio",
        "request/reply p50, QoS 1, sequential, tars / raw",
        "≤ 1.1",
    ),
    (
        "rr_qos1_c16_p50_ratio",
        "request/reply p50, QoS 1, 16 concurrent, tars / raw",
        "≤ 1.1",
    ),
    (
        "rr_qos1_p50_us",
        "request/reply p50, QoS 1, tars (µs)",
        "< 1000",
    ),
    (
        "routes_10k_vs_10_ratio",
        "CPU per message with 10 000 routes / with 10",
        "≤ 1.2",
    ),
    (
        "fanout_10_vs_1_cpu_ratio",
        "CPU per message, one message matching 10 routes / 1",
        "(10 handlers)",
    ),
    (
        "qos1_tars_vs_python_cpu_ratio",
        "QoS 1 subscriber CPU per message, tars / Python stack",
        "(lower is better)",
    ),
    ("idle_rss_kb", "idle service RSS (KiB)", "≤ 10 240"),
    (
        "start_to_ready_ms",
        "process start → `ready` on the wire (ms)",
        "≤ 50",
    ),
];

/// Absolute figures shown under the ratios.
const DETAILS: &[(&str, &str)] = &[
    ("qos0_raw_msg_s", "QoS 0 msg/s, raw"),
    ("qos0_tars_msg_s", "QoS 0 msg/s, tars"),
    ("qos1_raw_msg_s", "QoS 1 msg/s, raw"),
    ("qos1_tars_msg_s", "QoS 1 msg/s, tars"),
    ("qos1_raw_cpu_us_per_msg", "QoS 1 CPU µs/msg, raw"),
    ("qos1_tars_cpu_us_per_msg", "QoS 1 CPU µs/msg, tars"),
    ("rr_qos0_c1_raw_p50_us", "request/reply QoS 0 p50 µs, raw"),
    ("rr_qos0_c1_tars_p50_us", "request/reply QoS 0 p50 µs, tars"),
    ("rr_qos1_c1_raw_p99_us", "request/reply QoS 1 p99 µs, raw"),
    ("rr_qos1_c1_tars_p99_us", "request/reply QoS 1 p99 µs, tars"),
    (
        "rr_qos1_c16_raw_p50_us",
        "request/reply QoS 1 ×16 p50 µs, raw",
    ),
    (
        "rr_qos1_c16_tars_p50_us",
        "request/reply QoS 1 ×16 p50 µs, tars",
    ),
    ("routes_10_cpu_us_per_msg", "CPU µs/msg with 10 routes"),
    ("routes_10k_cpu_us_per_msg", "CPU µs/msg with 10 000 routes"),
    (
        "fanout_10_cpu_us_per_msg",
        "CPU µs/msg, 10 routes matching each message",
    ),
    ("qos0_python_msg_s", "QoS 0 msg/s, Python stack"),
    ("qos1_python_msg_s", "QoS 1 msg/s, Python stack"),
    (
        "qos1_python_cpu_us_per_msg",
        "QoS 1 CPU µs/msg, Python stack",
    ),
];

fn cell(figures: &Figures, name: &str) -> String {
    match figures.get(name) {
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.2}"),
        None => "–".into(),
    }
}

/// One column per broker.
pub fn markdown(runs: &[(&str, Figures)], sizes: Sizes, elapsed: Duration) -> String {
    let names: Vec<&str> = runs.iter().map(|(n, _)| *n).collect();
    let mut out = format!(
        "{} messages per throughput run, {} requests per request/reply run, median of {} rounds; {:.0} s\n\n",
        sizes.messages,
        sizes.requests,
        sizes.rounds,
        elapsed.as_secs_f64()
    );
    out += &format!(
        "| measure | target | {} |\n|---|---|{}\n",
        names.join(" | "),
        "---|".repeat(names.len())
    );
    for (name, label, target) in ROWS {
        let cells: Vec<String> = runs.iter().map(|(_, f)| cell(f, name)).collect();
        out += &format!("| {label} | {target} | {} |\n", cells.join(" | "));
    }
    for (name, label) in DETAILS {
        let cells: Vec<String> = runs.iter().map(|(_, f)| cell(f, name)).collect();
        out += &format!("| {label} | | {} |\n", cells.join(" | "));
    }
    out
}

/// The default broker's figures at the top level (the first run), every run under `brokers`.
pub fn json(runs: &[(&str, Figures)], sizes: Sizes, elapsed: Duration) -> Value {
    let mut top = Map::new();
    if let Some((name, figures)) = runs.first() {
        top.insert("broker".into(), json!(name));
        for (k, v) in figures {
            top.insert(k.clone(), json!(v));
        }
    }
    let brokers: Map<String, Value> = runs
        .iter()
        .map(|(n, f)| ((*n).to_owned(), json!(f)))
        .collect();
    top.insert("brokers".into(), Value::Object(brokers));
    top.insert(
        "sizes".into(),
        json!({"messages": sizes.messages, "rounds": sizes.rounds, "requests": sizes.requests}),
    );
    top.insert("elapsed_secs".into(), json!(elapsed.as_secs_f64()));
    Value::Object(top)
}

/// The ratio rows (tars / raw, lower or higher is better as the target says) as horizontal
/// bars, one per broker, with the 1.0 line: a plain SVG file, no plotting library needed.
pub fn svg(runs: &[(&str, Figures)]) -> String {
    let rows: Vec<_> = ROWS
        .iter()
        .filter(|(name, _, target)| name.ends_with("_ratio") && target.starts_with(['≤', '≥']))
        .collect();
    let (label_w, bar_w, row_h) = (330.0, 360.0, 18.0 * runs.len() as f64 + 10.0);
    let height = 40.0 + row_h * rows.len() as f64;
    let scale = bar_w / 2.0; // 0 … 2.0
    let colours = ["#4c78a8", "#f58518", "#54a24b"];
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n",
        w = label_w + bar_w + 60.0
    );
    for (i, (broker, _)) in runs.iter().enumerate() {
        out += &format!(
            "<rect x=\"{x}\" y=\"8\" width=\"10\" height=\"10\" fill=\"{c}\"/><text x=\"{tx}\" y=\"17\">{broker}</text>\n",
            x = label_w + 120.0 * i as f64,
            c = colours[i % colours.len()],
            tx = label_w + 14.0 + 120.0 * i as f64
        );
    }
    for (r, (name, label, target)) in rows.iter().enumerate() {
        let y = 30.0 + row_h * r as f64;
        out += &format!(
            "<text x=\"0\" y=\"{}\">{label} ({target})</text>\n",
            y + 14.0
        );
        for (i, (_, figures)) in runs.iter().enumerate() {
            let v = figures.get(*name).copied().unwrap_or(0.0);
            out += &format!(
                "<rect x=\"{label_w}\" y=\"{}\" width=\"{:.1}\" height=\"14\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{}\">{v:.2}</text>\n",
                y + 18.0 * i as f64,
                (v.min(2.0) * scale).max(1.0),
                colours[i % colours.len()],
                label_w + v.min(2.0) * scale + 4.0,
                y + 18.0 * i as f64 + 12.0
            );
        }
    }
    out += &format!(
        "<line x1=\"{x}\" y1=\"26\" x2=\"{x}\" y2=\"{height}\" stroke=\"#333\" stroke-dasharray=\"4 3\"/>\n</svg>\n",
        x = label_w + scale
    );
    out
}
