//! Every measure, run in child processes of this program (`bench role …`), in interleaved
//! rounds: within a round the baseline and tars-mqtt run back to back, and the ratio is taken
//! there.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tars_mqtt::testing::TestClient;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::Sizes;

/// Named figures of one broker's run.
pub type Figures = BTreeMap<String, f64>;

/// A child process running one role.
struct Role {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Role {
    fn spawn(role: &str, args: &[(&str, String)]) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("this program"))
            .arg("role")
            .arg(role)
            .args(args.iter().map(|(k, v)| format!("{k}={v}")))
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn a role");
        let lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        Self { child, lines }
    }

    /// The Python subscriber (`python_sub.py`), which speaks the `sub` role's protocol.
    fn python(url: &str, topic: &str, qos: u8, count: u64) -> Self {
        let port = url.rsplit(':').next().expect("a port").to_owned();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/python_sub.py");
        let mut child = Command::new("python3")
            .args([script, &port, topic, &qos.to_string(), &count.to_string()])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn python3");
        let lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        Self { child, lines }
    }

    async fn line(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(120), self.lines.next_line())
            .await
            .expect("a role answers within 120 s")
            .expect("the role's output")
            .expect("a line before the role exits")
    }

    async fn ready(mut self) -> Self {
        assert_eq!(self.line().await, "ready");
        self
    }

    async fn result(&mut self) -> Value {
        serde_json::from_str(&self.line().await).expect("a JSON line")
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn unique(prefix: &str) -> String {
    format!("bench/{prefix}/{}", tars_mqtt::wire::new_id())
}

/// Messages per second and CPU µs per message of one subscriber of `kind` with `routes`.
async fn throughput(url: &str, kind: &str, qos: u8, routes: usize, n: u64) -> (f64, f64) {
    fan_out(url, kind, qos, (routes, 1), n).await
}

/// Messages per second and CPU µs per message of the Python subscriber.
async fn python_throughput(url: &str, qos: u8, n: u64) -> (f64, f64) {
    let topic = unique("py");
    let sub = Role::python(url, &topic, qos, n).ready().await;
    flood_and_measure(sub, url, &topic, qos, n).await
}

/// Floods `n` envelopes to `topic` from a publisher process while `sub` (ready) takes them;
/// the subscriber's messages per second and CPU µs per message.
async fn flood_and_measure(mut sub: Role, url: &str, topic: &str, qos: u8, n: u64) -> (f64, f64) {
    let args = [
        ("url", url.to_owned()),
        ("topic", topic.to_owned()),
        ("qos", qos.to_string()),
        ("count", n.to_string()),
    ];
    let mut publisher = Role::spawn("pub", &args).ready().await;
    publisher.result().await;
    let r = sub.result().await;
    sub.stop().await;
    publisher.stop().await;
    let received = r["received"].as_f64().unwrap_or(0.0).max(1.0);
    let rate = received / r["secs"].as_f64().unwrap_or(f64::INFINITY).max(1e-9);
    (rate, r["cpu_secs"].as_f64().unwrap_or(0.0) * 1e6 / received)
}

/// [`throughput`] with `fanout` of the routes matching every message.
async fn fan_out(
    url: &str,
    kind: &str,
    qos: u8,
    (routes, fanout): (usize, usize),
    n: u64,
) -> (f64, f64) {
    let topic = unique("tp");
    let args = [
        ("url", url.to_owned()),
        ("topic", topic.clone()),
        ("qos", qos.to_string()),
        ("count", n.to_string()),
        ("kind", kind.to_owned()),
        ("routes", routes.to_string()),
        ("fanout", fanout.to_string()),
    ];
    let sub = Role::spawn("sub", &args).ready().await;
    flood_and_measure(sub, url, &topic, qos, n).await
}

/// p50 and p99 round trip (µs) of `requests` requests, `concurrency` at a time.
async fn request_reply(
    url: &str,
    kind: &str,
    qos: u8,
    requests: usize,
    concurrency: usize,
) -> (f64, f64) {
    let base = unique("rr");
    let args = |extra: Vec<(&'static str, String)>| {
        let mut a = vec![
            ("url", url.to_owned()),
            ("base", base.clone()),
            ("qos", qos.to_string()),
            ("kind", kind.to_owned()),
        ];
        a.extend(extra);
        a
    };
    let responder = Role::spawn("responder", &args(vec![])).ready().await;
    let mut requester = Role::spawn(
        "requester",
        &args(vec![
            ("count", requests.to_string()),
            ("concurrency", concurrency.to_string()),
        ]),
    );
    let r = requester.result().await;
    requester.stop().await;
    responder.stop().await;
    (
        r["p50_us"].as_f64().unwrap_or(0.0),
        r["p99_us"].as_f64().unwrap_or(0.0),
    )
}

/// Process start → `ready` on `system/health/{id}` (ms), and resident memory once idle (KiB).
async fn start_and_idle(url: &str) -> (f64, f64) {
    let id = format!("bench-idle-{}", tars_mqtt::wire::new_id());
    let mut peer = TestClient::connect(url, &format!("{id}-peer")).await;
    let topic = format!("system/health/{id}");
    peer.subscribe(&topic).await;
    let started = Instant::now();
    let mut idle = Role::spawn("idle", &[("url", url.to_owned()), ("client_id", id)]);
    let ready_ms = loop {
        let m = peer.expect(&topic, Duration::from_secs(30)).await;
        if m.json()["data"]["event"] == "ready" {
            break started.elapsed().as_secs_f64() * 1e3;
        }
    };
    let rss = idle.result().await["rss_kb"].as_f64().unwrap_or(0.0);
    idle.stop().await;
    (ready_ms, rss)
}

/// The baseline's and tars-mqtt's figures of one measure, run back to back: the baseline first
/// in even rounds and second in odd ones, so that neither side always runs on a broker that the
/// other has just loaded.
async fn both<T, Fut>(round: usize, measure: impl Fn(&'static str) -> Fut) -> (T, T)
where
    Fut: std::future::Future<Output = T>,
{
    if round.is_multiple_of(2) {
        let raw = measure("raw").await;
        (raw, measure("tars").await)
    } else {
        let tars = measure("tars").await;
        (measure("raw").await, tars)
    }
}

/// Samples of named figures over rounds; each figure's median goes into the result.
#[derive(Default)]
struct Samples(BTreeMap<String, Vec<f64>>);

impl Samples {
    fn add(&mut self, name: impl Into<String>, value: f64) {
        self.0.entry(name.into()).or_default().push(value);
    }
    fn medians_into(self, figures: &mut Figures) {
        for (name, values) in self.0 {
            figures.insert(name, median(values));
        }
    }
}

/// Every measure on the broker at `url`.
pub async fn all(url: &str, sizes: Sizes, python: bool) -> Figures {
    let mut f = Figures::new();
    let mut s = Samples::default();
    for round in 0..sizes.rounds {
        for qos in [0u8, 1] {
            let ((r, rc), (t, tc)) =
                both(round, |kind| throughput(url, kind, qos, 1, sizes.messages)).await;
            s.add(format!("qos{qos}_raw_msg_s"), r);
            s.add(format!("qos{qos}_tars_msg_s"), t);
            s.add(format!("qos{qos}_throughput_ratio"), t / r);
            s.add(format!("qos{qos}_raw_cpu_us_per_msg"), rc);
            s.add(format!("qos{qos}_tars_cpu_us_per_msg"), tc);
            s.add(format!("qos{qos}_cpu_per_msg_ratio"), tc / rc);
            if python {
                let (p, pc) = python_throughput(url, qos, sizes.messages / 5).await;
                s.add(format!("qos{qos}_python_msg_s"), p);
                s.add(format!("qos{qos}_python_cpu_us_per_msg"), pc);
                s.add(format!("qos{qos}_tars_vs_python_cpu_ratio"), tc / pc);
            }
        }
        for (qos, concurrency) in [(0u8, 1usize), (1, 1), (1, 16)] {
            let name = format!("rr_qos{qos}_c{concurrency}");
            let ((r50, r99), (t50, t99)) = both(round, |kind| {
                request_reply(url, kind, qos, sizes.requests, concurrency)
            })
            .await;
            s.add(format!("{name}_raw_p50_us"), r50);
            s.add(format!("{name}_raw_p99_us"), r99);
            s.add(format!("{name}_tars_p50_us"), t50);
            s.add(format!("{name}_tars_p99_us"), t99);
            s.add(format!("{name}_p50_ratio"), t50 / r50);
        }
        if round < 3 {
            let (_, c10) = throughput(url, "tars", 1, 10, sizes.messages).await;
            let (_, c10k) = throughput(url, "tars", 1, 10_000, sizes.messages).await;
            s.add("routes_10_cpu_us_per_msg", c10);
            s.add("routes_10k_cpu_us_per_msg", c10k);
            s.add("routes_10k_vs_10_ratio", c10k / c10);
            let (_, one) = throughput(url, "tars", 1, 10, sizes.messages).await;
            let (_, ten) = fan_out(url, "tars", 1, (10, 10), sizes.messages).await;
            s.add("fanout_10_cpu_us_per_msg", ten);
            s.add("fanout_10_vs_1_cpu_ratio", ten / one);
            let (ms, kb) = start_and_idle(url).await;
            s.add("start_to_ready_ms", ms);
            s.add("idle_rss_kb", kb);
        }
        eprintln!("bench: round {} of {} done", round + 1, sizes.rounds);
    }
    s.medians_into(&mut f);
    // The headline figures, under the names scripts look for.
    for (alias, name) in [
        ("cpu_per_msg_ratio", "qos1_cpu_per_msg_ratio"),
        ("rr_p50_ratio", "rr_qos0_c1_p50_ratio"),
        ("rr_qos1_p50_us", "rr_qos1_c1_tars_p50_us"),
    ] {
        f.insert(alias.into(), f[name]);
    }
    f
}
