//! Throughput and request/reply latency of a tars-mqtt service against a hand-written rumqttc
//! baseline, side by side on the same broker (Mosquitto when installed, else the embedded one).
//!
//! Run: `cargo run --release --example throughput [messages]` (default 100000).
//!
//! Each round sends the same ~200-byte envelopes from a raw rumqttc publisher, first to a raw
//! rumqttc subscriber that decodes them with serde_json, then to a tars-mqtt route that decodes
//! them with `Json<T>`. Rates are messages received per second; the ratio is tars / raw.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tars_mqtt::raw::rumqttc::{self, AsyncClient, Event, MqttOptions, Packet};
use tars_mqtt::testing::{BrokerProcess, EmbeddedBroker, mosquitto_path};
use tars_mqtt::{Envelope, Json, MqttConfig, QoS, Route, Router, Runtime, extract::State};

#[derive(Serialize, Deserialize, Clone)]
struct Reading {
    text: String,
    confidence: f64,
    is_final: bool,
    seq: u64,
}

fn payload(seq: u64) -> Vec<u8> {
    let data = Reading {
        text: "hello world, this is a benchmark message".into(),
        confidence: 0.95,
        is_final: true,
        seq,
    };
    Envelope::new("stt.final", "bench", data)
        .encode()
        .expect("encodes")
}

fn raw_client(port: u16, id: &str) -> (AsyncClient, rumqttc::EventLoop) {
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_inflight(1000);
    let (client, mut eventloop) = AsyncClient::new(options, 10_000);
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    (client, eventloop)
}

/// Publishes `n` envelopes as fast as the client allows.
async fn flood(port: u16, topic: &str, n: u64, qos: QoS) {
    let (client, mut eventloop) =
        raw_client(port, &format!("bench-pub-{}", tars_mqtt::wire::new_id()));
    let poll = tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    for seq in 0..n {
        client
            .publish(topic, qos.into(), false, payload(seq))
            .await
            .expect("publish");
    }
    // Let the last requests leave before the event loop is dropped.
    tokio::time::sleep(Duration::from_millis(200)).await;
    poll.abort();
}

async fn wait_count(count: &AtomicU64, n: u64) -> u64 {
    let mut last = (0, Instant::now());
    loop {
        let seen = count.load(Ordering::Relaxed);
        if seen >= n {
            return seen;
        }
        if seen != last.0 {
            last = (seen, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(5) {
            return seen; // the broker dropped some; report what arrived
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn raw_round(port: u16, n: u64, qos: QoS) -> f64 {
    let topic = format!("bench/raw/{}", tars_mqtt::wire::new_id());
    let (client, mut eventloop) =
        raw_client(port, &format!("bench-raw-{}", tars_mqtt::wire::new_id()));
    let count = Arc::new(AtomicU64::new(0));
    let counter = count.clone();
    let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
    let mut subscribed_tx = Some(subscribed_tx);
    let sub = tokio::spawn(async move {
        while let Ok(event) = eventloop.poll().await {
            match event {
                Event::Incoming(Packet::Publish(p)) => {
                    let env: Envelope<Reading> = Envelope::decode(&p.payload).expect("decodes");
                    std::hint::black_box(env);
                    counter.fetch_add(1, Ordering::Relaxed);
                }
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
        .subscribe(&topic, qos.into())
        .await
        .expect("subscribe");
    subscribed.await.expect("suback");
    let started = Instant::now();
    flood(port, &topic, n, qos).await;
    let got = wait_count(&count, n).await;
    let rate = got as f64 / started.elapsed().as_secs_f64();
    sub.abort();
    rate
}

async fn tars_round(url: &str, port: u16, n: u64, qos: QoS) -> f64 {
    let topic = format!("bench/tars/{}", tars_mqtt::wire::new_id());
    let count = Arc::new(AtomicU64::new(0));
    let router = Router::new().route(
        Route::new(
            &topic,
            |c: State<Arc<AtomicU64>>, Json(r): Json<Reading>| async move {
                std::hint::black_box(r);
                c.fetch_add(1, Ordering::Relaxed);
            },
        )
        .qos(qos)
        .queue_capacity(10_000),
    );
    let config = MqttConfig::builder()
        .url(url)
        .client_id(format!("bench-tars-{}", tars_mqtt::wire::new_id()))
        .build()
        .unwrap();
    let service = Runtime::new(config, router, count.clone()).start().unwrap();
    service.wait_ready(Duration::from_secs(10)).await.unwrap();
    let started = Instant::now();
    flood(port, &topic, n, qos).await;
    let got = wait_count(&count, n).await;
    let rate = got as f64 / started.elapsed().as_secs_f64();
    service.shutdown().await;
    rate
}

/// Median round-trip time of `n` sequential requests: raw rumqttc requester and responder vs two
/// tars-mqtt services (`Publisher::request` and a reply route).
async fn latency(url: &str, port: u16, n: usize) -> (Duration, Duration) {
    // Raw: one client answers on `…/res` whatever arrives on `…/req`; another measures.
    let base = format!("bench/rr/{}", tars_mqtt::wire::new_id());
    let (responder, mut responder_loop) =
        raw_client(port, &format!("rr-a-{}", tars_mqtt::wire::new_id()));
    let (answer_tx, mut answer_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let res_topic = format!("{base}/res");
    let responder_client = responder.clone();
    let a = tokio::spawn(async move {
        while let Ok(event) = responder_loop.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = event {
                let _ = answer_tx.send(p.payload.to_vec());
            }
        }
    });
    let reply_task = {
        let res_topic = res_topic.clone();
        tokio::spawn(async move {
            while let Some(body) = answer_rx.recv().await {
                let req: Envelope<serde_json::Value> = Envelope::decode(&body).unwrap();
                let reply = Envelope::new("r", "raw", req.data)
                    .with_id(req.id)
                    .encode()
                    .unwrap();
                responder_client
                    .publish(&res_topic, rumqttc::QoS::AtLeastOnce, false, reply)
                    .await
                    .unwrap();
            }
        })
    };
    responder
        .subscribe(format!("{base}/req"), rumqttc::QoS::AtLeastOnce)
        .await
        .unwrap();
    let (requester, mut requester_loop) =
        raw_client(port, &format!("rr-b-{}", tars_mqtt::wire::new_id()));
    let (got_tx, mut got_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let b = tokio::spawn(async move {
        while let Ok(event) = requester_loop.poll().await {
            if let Event::Incoming(Packet::Publish(_) | Packet::SubAck(_)) = event {
                let _ = got_tx.send(());
            }
        }
    });
    requester
        .subscribe(&res_topic, rumqttc::QoS::AtLeastOnce)
        .await
        .unwrap();
    got_rx.recv().await; // SUBACK
    tokio::time::sleep(Duration::from_millis(100)).await; // the responder's SUBACK
    let mut raw = Vec::with_capacity(n);
    for seq in 0..n as u64 {
        let t = Instant::now();
        requester
            .publish(
                format!("{base}/req"),
                rumqttc::QoS::AtLeastOnce,
                false,
                payload(seq),
            )
            .await
            .unwrap();
        got_rx.recv().await;
        raw.push(t.elapsed());
    }
    for task in [a, b, reply_task] {
        task.abort();
    }

    let p = format!("bench/rr/{}", tars_mqtt::wire::new_id());
    let echo = Router::new().route(
        Route::new(format!("{p}/req"), |Json(r): Json<Reading>| async move {
            Json(r)
        })
        .qos(QoS::AtLeastOnce)
        .reply(format!("{p}/res"), "r"),
    );
    let config = |id: &str| {
        MqttConfig::builder()
            .url(url)
            .client_id(format!("{id}-{}", tars_mqtt::wire::new_id()))
            .build()
            .unwrap()
    };
    let server = Runtime::new(config("rr-server"), echo, ()).start().unwrap();
    let client = Runtime::new(
        config("rr-client"),
        Router::<()>::new().expect_replies_on(format!("{p}/res")),
        (),
    )
    .start()
    .unwrap();
    server.wait_ready(Duration::from_secs(10)).await.unwrap();
    client.wait_ready(Duration::from_secs(10)).await.unwrap();
    let publisher = client.publisher();
    let mut tars = Vec::with_capacity(n);
    for seq in 0..n as u64 {
        let data = Reading {
            text: "ping".into(),
            confidence: 1.0,
            is_final: true,
            seq,
        };
        let t = Instant::now();
        let _: Envelope<Reading> = publisher
            .request(&format!("{p}/req"), "q", &data)
            .reply_on(format!("{p}/res"))
            .await
            .unwrap();
        tars.push(t.elapsed());
    }
    server.shutdown().await;
    client.shutdown().await;
    raw.sort();
    tars.sort();
    (raw[n / 2], tars[n / 2])
}

/// Runs every measurement with `n` messages per throughput run and `requests` sequential
/// requests; returns the printed report.
pub async fn run(n: u64, requests: usize) -> String {
    let mut report = String::new();
    let (_mosquitto, _embedded, url, port, name) = match mosquitto_path() {
        Some(_) => {
            let b = BrokerProcess::mosquitto("").expect("start mosquitto");
            let (url, port) = (b.url(), b.port());
            (Some(b), None, url, port, "mosquitto")
        }
        None => {
            let b = EmbeddedBroker::start();
            let (url, port) = (b.url(), b.port());
            (None, Some(b), url, port, "embedded rumqttd")
        }
    };
    report += &format!(
        "broker: {name} on {url}; {n} envelopes of {} bytes per run\n",
        payload(0).len()
    );
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
        let mut best = (0.0f64, 0.0f64);
        for _ in 0..2 {
            best.0 = best.0.max(raw_round(port, n, qos).await);
            best.1 = best.1.max(tars_round(&url, port, n, qos).await);
        }
        report += &format!(
            "QoS {qos}: raw rumqttc {:>9.0} msg/s | tars-mqtt {:>9.0} msg/s | ratio {:.2}\n",
            best.0,
            best.1,
            best.1 / best.0
        );
    }
    let (raw, tars) = latency(&url, port, requests).await;
    report += &format!(
        "request/reply p50 (QoS 1, {requests} sequential): raw rumqttc {:.0} µs | tars-mqtt {:.0} µs | ratio {:.2}\n",
        raw.as_secs_f64() * 1e6,
        tars.as_secs_f64() * 1e6,
        tars.as_secs_f64() / raw.as_secs_f64()
    );
    report
}

#[allow(dead_code)]
#[tokio::main]
async fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    print!("{}", run(n, 2000).await);
}
