//! The requester side of the request/reply measure: `count` requests, `concurrency` in flight,
//! each timed from publish to its reply.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tars_mqtt::{Envelope, MqttConfig, QoS, Router, Runtime};
use tokio::sync::{Semaphore, oneshot};

use crate::roles::{RawEnvelope, Reading};

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<()>>>>;

/// Hand-written: one rumqttc client subscribed to `{base}/res`, matching replies to requests by
/// the envelope id.
pub async fn raw(
    url: &str,
    id: &str,
    base: &str,
    qos: QoS,
    count: usize,
    concurrency: usize,
) -> Vec<Duration> {
    let waiters: Waiters = Arc::default();
    let pending = waiters.clone();
    let (client, poll) =
        crate::roles::raw_subscribed(url, id, &format!("{base}/res"), qos, move |payload| {
            let reply: RawEnvelope<Reading> = serde_json::from_slice(payload).expect("decodes");
            if let Some(tx) = pending.lock().unwrap().remove(&reply.id) {
                let _ = tx.send(());
            }
        })
        .await;
    let req = format!("{base}/req");
    let times = run_concurrently(count, concurrency, move |seq| {
        let (client, waiters, req) = (client.clone(), waiters.clone(), req.clone());
        async move {
            let envelope_id = format!("req-{seq}");
            let request = RawEnvelope {
                id: envelope_id.clone(),
                event_type: "stt.final".into(),
                ts: 0.0,
                source: "raw".into(),
                data: crate::roles::reading(seq as u64),
            };
            let body = serde_json::to_vec(&request).expect("encodes");
            let (tx, rx) = oneshot::channel();
            waiters.lock().unwrap().insert(envelope_id, tx);
            let started = Instant::now();
            client
                .publish(&req, qos.into(), false, body)
                .await
                .expect("publish");
            rx.await.expect("a reply");
            started.elapsed()
        }
    })
    .await;
    poll.abort();
    times
}

/// tars-mqtt: `Publisher::request` from a service that expects replies on `{base}/res`,
/// subscribed at the requests' QoS like the baseline.
pub async fn tars(
    url: &str,
    id: &str,
    base: &str,
    qos: QoS,
    count: usize,
    concurrency: usize,
) -> Vec<Duration> {
    let config = MqttConfig::builder()
        .url(url)
        .client_id(id)
        .build()
        .expect("a valid configuration");
    let router = Router::<()>::new().expect_replies_on_qos(format!("{base}/res"), qos);
    let service = Runtime::new(config, router, ()).start().expect("starts");
    service
        .wait_ready(Duration::from_secs(10))
        .await
        .expect("ready");
    let publisher = service.publisher();
    let (req, res) = (format!("{base}/req"), format!("{base}/res"));
    let times = run_concurrently(count, concurrency, move |seq| {
        let (publisher, req, res) = (publisher.clone(), req.clone(), res.clone());
        async move {
            let data = crate::roles::reading(seq as u64);
            let started = Instant::now();
            let _: Envelope<Reading> = publisher
                .request(&req, "stt.final", &data)
                .qos(qos)
                .reply_on(res)
                .timeout(Duration::from_secs(10))
                .await
                .expect("a reply");
            started.elapsed()
        }
    })
    .await;
    service.shutdown().await;
    times
}

/// Runs `count` calls of `f`, at most `concurrency` at once; the durations they return.
async fn run_concurrently<F, Fut>(count: usize, concurrency: usize, f: F) -> Vec<Duration>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Duration> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::with_capacity(count);
    for seq in 0..count {
        let permit = permits.clone().acquire_owned().await.expect("open");
        let call = f(seq);
        tasks.push(tokio::spawn(async move {
            let took = call.await;
            drop(permit);
            took
        }));
    }
    let mut times = Vec::with_capacity(count);
    for task in tasks {
        times.push(task.await.expect("a request"));
    }
    times
}

/// `{"p50_us", "p99_us", "count"}` of the round-trip times.
pub fn summary(mut times: Vec<Duration>) -> serde_json::Value {
    times.sort();
    let at = |q: f64| {
        times[((times.len() as f64 * q) as usize).min(times.len() - 1)].as_secs_f64() * 1e6
    };
    json!({"p50_us": at(0.5), "p99_us": at(0.99), "count": times.len()})
}
