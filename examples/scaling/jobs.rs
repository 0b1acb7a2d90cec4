//! The jobs: what the coordinator publishes and how.

use std::future::IntoFuture;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tars_mqtt::{MqttConfig, QoS, Router, Runtime, ServiceHandle};

/// The shared subscription every worker joins.
pub const JOBS: &str = "$share/scalers/scale/jobs";
/// Where the coordinator publishes the jobs.
pub const JOBS_TOPIC: &str = "scale/jobs";

/// One job: its sequence number and when it was published.
#[derive(Serialize, Deserialize, Clone, Copy, Debug)]
pub struct Job {
    pub seq: u64,
    pub sent_ns: u128,
}

/// Nanoseconds since the Unix epoch (the processes of one machine share the clock).
pub fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos()
}

/// The coordinator's own connection (`url` may list several brokers), which publishes the jobs.
pub async fn publisher(url: &str, id: &str) -> ServiceHandle {
    let config = MqttConfig::builder()
        .url(url)
        .client_id(id)
        .reconnect_min_delay(Duration::from_millis(100))
        .reconnect_max_delay(Duration::from_millis(500))
        .build()
        .expect("a valid configuration");
    let handle = Runtime::new(config, Router::new(), ())
        .start()
        .expect("the publisher starts");
    handle
        .wait_ready(Duration::from_secs(10))
        .await
        .expect("the publisher connects");
    handle
}

/// Publishes jobs `from..to` (QoS 1), as fast as the connection takes them when `rate` is
/// `None`, else at `rate` jobs per second, and stops at `deadline` whatever is left. Returns
/// the jobs the connection took: one that failed (its queue stayed full past the publish
/// timeout, as when the broker stops answering) is not counted as sent.
pub async fn publish(
    handle: &ServiceHandle,
    range: std::ops::Range<u64>,
    rate: Option<f64>,
    deadline: tokio::time::Instant,
) -> Vec<u64> {
    let publisher = handle.publisher();
    let started = tokio::time::Instant::now();
    let mut sent = Vec::with_capacity(range.clone().count());
    for seq in range.clone() {
        if let Some(rate) = rate {
            let due = started + Duration::from_secs_f64((seq - range.start) as f64 / rate);
            tokio::time::sleep_until(due.min(deadline)).await;
        }
        let job = Job {
            seq,
            sent_ns: now_ns(),
        };
        let publish = publisher
            .event(JOBS_TOPIC, "scale.job", &job)
            .qos(QoS::AtLeastOnce)
            .into_future();
        match tokio::time::timeout_at(deadline, publish).await {
            Ok(Ok(_id)) => sent.push(seq),
            Ok(Err(error)) => eprintln!("job {seq} not published: {error}"),
            Err(_) => {
                eprintln!(
                    "publishing stopped at its deadline, {} jobs short",
                    range.end - seq
                );
                break;
            }
        }
    }
    sent
}
