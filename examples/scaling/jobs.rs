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
/// `None`, else at `rate` jobs per second.
pub async fn publish(handle: &ServiceHandle, from: u64, to: u64, rate: Option<f64>) {
    let publisher = handle.publisher();
    let started = tokio::time::Instant::now();
    for seq in from..to {
        if let Some(rate) = rate {
            let due = started + Duration::from_secs_f64((seq - from) as f64 / rate);
            tokio::time::sleep_until(due).await;
        }
        let job = Job {
            seq,
            sent_ns: now_ns(),
        };
        publisher
            .event(JOBS_TOPIC, "scale.job", &job)
            .qos(QoS::AtLeastOnce)
            .into_future()
            .await
            .expect("the job is published");
    }
}
