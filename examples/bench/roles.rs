//! The child processes of the benchmark: each runs one role (`bench role <name> key=value…`),
//! prints `ready` once it is set up, and one JSON line with its figures when it is done.
//!
//! Every measured side exists twice, written as a service would be: `raw` is hand-written
//! rumqttc with serde_json envelopes, `tars` is a tars-mqtt route.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;
use tars_mqtt::raw::rumqttc::{self, AsyncClient, Event, MqttOptions, Packet};
use tars_mqtt::{Envelope, Json, MqttConfig, QoS, Route, Router, Runtime, extract::State};

/// The ~200-byte envelope every role sends.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Reading {
    text: String,
    confidence: f64,
    is_final: bool,
    seq: u64,
}

pub fn reading(seq: u64) -> Reading {
    Reading {
        text: "hello world, this is a benchmark message".into(),
        confidence: 0.95,
        is_final: true,
        seq,
    }
}

pub fn payload(seq: u64) -> Vec<u8> {
    Envelope::new("stt.final", "bench", reading(seq))
        .encode()
        .expect("encodes")
}

/// `key=value` arguments of a role.
pub struct Args(HashMap<String, String>);

impl Args {
    pub fn parse(args: &[String]) -> Self {
        Self(
            args.iter()
                .filter_map(|a| a.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }
    fn get(&self, key: &str) -> &str {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("role argument `{key}` missing"))
    }
    fn num<T: std::str::FromStr>(&self, key: &str) -> T {
        self.get(key)
            .parse()
            .unwrap_or_else(|_| panic!("role argument `{key}` is not a number"))
    }
    fn qos(&self) -> QoS {
        QoS::from_u8(self.num("qos")).expect("qos 0..=2")
    }
}

/// The envelope as a hand-written service reads and writes it: a plain serde struct.
#[derive(Serialize, Deserialize)]
pub struct RawEnvelope<T> {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub ts: f64,
    pub source: String,
    pub data: T,
}

pub fn raw_client(url: &str, id: &str) -> (AsyncClient, rumqttc::EventLoop) {
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port");
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_inflight(1000);
    let (client, mut eventloop) = AsyncClient::new(options, 10_000);
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    (client, eventloop)
}

fn tars_config(url: &str, id: &str) -> MqttConfig {
    MqttConfig::builder()
        .url(url)
        .client_id(id)
        .build()
        .expect("a valid configuration")
}

fn say(line: impl std::fmt::Display) {
    println!("{line}");
}

/// Runs the role named `role`.
pub async fn run(role: &str, args: &Args) {
    match role {
        "pub" => publish(args).await,
        "sub" => subscribe(args).await,
        "responder" => respond(args).await,
        "requester" => request(args).await,
        "idle" => idle(args).await,
        other => panic!("unknown role {other}"),
    }
}

/// Floods `count` envelopes to `topic` as fast as the client allows, then waits until the
/// last one has left (QoS 1: acknowledged).
async fn publish(args: &Args) {
    let (url, topic, qos, count) = (
        args.get("url"),
        args.get("topic"),
        args.qos(),
        args.num::<u64>("count"),
    );
    let (client, mut eventloop) = raw_client(url, &format!("bench-pub-{}", std::process::id()));
    let acked = Arc::new(AtomicU64::new(0));
    let seen = acked.clone();
    let poll = tokio::spawn(async move {
        while let Ok(event) = eventloop.poll().await {
            if let Event::Incoming(Packet::PubAck(_)) = event {
                seen.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    say("ready");
    for seq in 0..count {
        client
            .publish(topic, qos.into(), false, payload(seq))
            .await
            .expect("publish");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while qos == QoS::AtLeastOnce
        && acked.load(Ordering::Relaxed) < count
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    poll.abort();
    say(json!({"published": count}));
}

/// Counts envelopes on `topic` (decoding each) until `count` arrived or none came for 3 s, and
/// reports the rate from the first message to the last and the process's CPU time meanwhile.
async fn subscribe(args: &Args) {
    let (url, topic, qos, count) = (
        args.get("url"),
        args.get("topic"),
        args.qos(),
        args.num::<u64>("count"),
    );
    let received = Arc::new(AtomicU64::new(0));
    // With fan-out, every message runs `fanout` handlers; `count` is in messages.
    let fanout: u64 = args.num("fanout");
    let count = count * fanout;
    let keep = match args.get("kind") {
        "raw" => Keep::Raw(raw_subscriber(url, topic, qos, received.clone()).await),
        _ => Keep::Tars(
            tars_subscriber(
                url,
                topic,
                qos,
                (args.num("routes"), fanout as usize),
                received.clone(),
            )
            .await,
        ),
    };
    let cpu_before = crate::procfs::cpu_time();
    say("ready");
    let (mut first, mut last) = (None, Instant::now());
    let mut seen = 0;
    loop {
        let now = received.load(Ordering::Relaxed);
        if now != seen {
            first.get_or_insert_with(Instant::now);
            (seen, last) = (now, Instant::now());
        }
        if seen >= count || last.elapsed() > Duration::from_secs(3) && first.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let cpu = crate::procfs::cpu_time() - cpu_before;
    let secs = first.map_or(0.0, |f| last.duration_since(f).as_secs_f64());
    say(json!({"received": seen / fanout, "secs": secs, "cpu_secs": cpu.as_secs_f64()}));
    if let Keep::Tars(service) = keep {
        service.shutdown().await;
    }
}

enum Keep {
    Raw(#[allow(dead_code)] tokio::task::JoinHandle<()>),
    Tars(tars_mqtt::ServiceHandle),
}

async fn raw_subscriber(
    url: &str,
    topic: &str,
    qos: QoS,
    received: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    let id = format!("bench-raw-sub-{}", std::process::id());
    let (_client, task) = raw_subscribed(url, &id, topic, qos, move |payload| {
        let env: RawEnvelope<Reading> = serde_json::from_slice(payload).expect("decodes");
        std::hint::black_box(env);
        received.fetch_add(1, Ordering::Relaxed);
    })
    .await;
    task
}

/// A hand-written rumqttc client subscribed to `filter` (returns once the SUBACK is in), whose
/// event loop task calls `on_publish` with every payload it receives.
pub async fn raw_subscribed(
    url: &str,
    id: &str,
    filter: &str,
    qos: QoS,
    mut on_publish: impl FnMut(&[u8]) + Send + 'static,
) -> (AsyncClient, tokio::task::JoinHandle<()>) {
    let (client, mut eventloop) = raw_client(url, id);
    let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
    let mut subscribed_tx = Some(subscribed_tx);
    let task = tokio::spawn(async move {
        while let Ok(event) = eventloop.poll().await {
            match event {
                Event::Incoming(Packet::Publish(p)) => on_publish(&p.payload),
                Event::Incoming(Packet::SubAck(_)) => {
                    if let Some(tx) = subscribed_tx.take() {
                        let _ = tx.send(());
                    }
                }
                _ => {}
            }
        }
    });
    client
        .subscribe(filter, qos.into())
        .await
        .expect("subscribe");
    subscribed.await.expect("suback");
    (client, task)
}

/// The filters of a fan-out measure: `topic` (three levels, `a/b/c`) and nine wildcard filters
/// that all match it.
fn matching_filters(topic: &str) -> Vec<String> {
    let [a, b, c] = topic.split('/').collect::<Vec<_>>()[..] else {
        return vec![topic.to_owned()]; // fan-out needs three levels; the bench's topics have them
    };
    [
        format!("{a}/{b}/{c}"),
        format!("{a}/{b}/+"),
        format!("{a}/+/{c}"),
        format!("+/{b}/{c}"),
        format!("+/+/{c}"),
        format!("{a}/{b}/#"),
        format!("{a}/+/#"),
        format!("{a}/#"),
        format!("{a}/+/+"),
        format!("+/{b}/+"),
    ]
    .into()
}

/// A tars-mqtt service whose `fanout` routes matching `topic` (each decoding the envelope)
/// count, with `routes - fanout` other routes on distinct filters (parameters and wildcards)
/// that the messages do not match.
async fn tars_subscriber(
    url: &str,
    topic: &str,
    qos: QoS,
    (routes, fanout): (usize, usize),
    received: Arc<AtomicU64>,
) -> tars_mqtt::ServiceHandle {
    let mut router = Router::new();
    for filter in matching_filters(topic).into_iter().take(fanout.max(1)) {
        router = router.route(
            Route::new(
                filter,
                |c: State<Arc<AtomicU64>>, Json(r): Json<Reading>| async move {
                    std::hint::black_box(r);
                    c.fetch_add(1, Ordering::Relaxed);
                },
            )
            .qos(qos)
            .queue_capacity(10_000),
        );
    }
    let routes = routes.saturating_sub(fanout.max(1) - 1);
    for i in 1..routes {
        let filter = match i % 3 {
            0 => format!("{topic}/other/{i}/{{room}}/temp"),
            1 => format!("{topic}/other/{i}/+/level"),
            _ => format!("{topic}/other/{i}/#"),
        };
        router = router.route(Route::new(filter, |_: tars_mqtt::extract::Raw| async {}).qos(qos));
    }
    let config = tars_config(url, &format!("bench-tars-sub-{}", std::process::id()));
    let service = Runtime::new(config, router, received)
        .start()
        .expect("starts");
    service
        .wait_ready(Duration::from_secs(60))
        .await
        .expect("ready");
    service
}

/// Answers every envelope on `{base}/req` on `{base}/res` with the same id, until killed.
async fn respond(args: &Args) {
    let (url, base, qos) = (args.get("url"), args.get("base"), args.qos());
    let id = format!("bench-responder-{}", std::process::id());
    if args.get("kind") == "raw" {
        let (client, mut eventloop) = raw_client(url, &id);
        client
            .subscribe(format!("{base}/req"), qos.into())
            .await
            .expect("subscribe");
        let res = format!("{base}/res");
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => say("ready"),
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let req: Envelope<Reading> = Envelope::decode(&p.payload).expect("decodes");
                    let reply = Envelope::new("r", "raw", req.data)
                        .with_id(req.id)
                        .encode()
                        .expect("encodes");
                    client
                        .publish(&res, qos.into(), false, reply)
                        .await
                        .expect("publish");
                }
                Ok(_) => {}
                Err(e) => panic!("responder lost its connection: {e}"),
            }
        }
    }
    let router = Router::new().route(
        Route::new(format!("{base}/req"), |Json(r): Json<Reading>| async move {
            Json(r)
        })
        .qos(qos)
        .reply(format!("{base}/res"), "r"),
    );
    let service = Runtime::new(tars_config(url, &id), router, ())
        .start()
        .expect("starts");
    service
        .wait_ready(Duration::from_secs(10))
        .await
        .expect("ready");
    say("ready");
    std::future::pending::<()>().await;
}

/// Sends `count` requests, `concurrency` at a time, each awaiting its reply, and reports the
/// round-trip times.
async fn request(args: &Args) {
    let (url, base, qos) = (args.get("url"), args.get("base"), args.qos());
    let (count, concurrency) = (args.num::<usize>("count"), args.num::<usize>("concurrency"));
    let id = format!("bench-requester-{}", std::process::id());
    let times = if args.get("kind") == "raw" {
        crate::requesters::raw(url, &id, base, qos, count, concurrency).await
    } else {
        crate::requesters::tars(url, &id, base, qos, count, concurrency).await
    };
    say(crate::requesters::summary(times));
}

/// A service with health presence and one route, idle: reports its resident memory after 1 s.
async fn idle(args: &Args) {
    let config = MqttConfig::builder()
        .url(args.get("url"))
        .client_id(args.get("client_id"))
        .health(true)
        .build()
        .expect("a valid configuration");
    let router = Router::new().route(Route::new(
        "bench/idle/in",
        |Json(r): Json<Reading>| async move {
            std::hint::black_box(r);
        },
    ));
    let service = Runtime::new(config, router, ()).start().expect("starts");
    service
        .wait_ready(Duration::from_secs(10))
        .await
        .expect("ready");
    tokio::time::sleep(Duration::from_secs(1)).await;
    say(json!({"rss_kb": crate::procfs::rss_kb()}));
    service.shutdown().await;
}
