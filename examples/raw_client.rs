//! Extension: the raw rumqttc client behind a service, for what tars-mqtt does not wrap. Here:
//! `try_publish`, which never waits — a high-rate best-effort stream (QoS 0 audio levels) that
//! should drop samples rather than slow the handler when the outgoing queue is full.
//!
//! Run: `cargo run --example raw_client`

use tars_mqtt::Publisher;
use tars_mqtt::raw::rumqttc::QoS;

/// Publishes audio levels without ever waiting; returns how many were dropped.
pub fn stream_levels(publisher: &Publisher, levels: &[f32]) -> usize {
    let client = tars_mqtt::raw::client(publisher);
    levels
        .iter()
        .filter(|level| {
            let payload = format!("{{\"level\":{level}}}");
            client
                .try_publish("audio/level", QoS::AtMostOnce, false, payload)
                .is_err()
        })
        .count()
}

#[allow(dead_code)]
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let broker = tars_mqtt::testing::EmbeddedBroker::start();
    let config = tars_mqtt::MqttConfig::builder()
        .url(broker.url())
        .client_id("audio")
        .build()?;
    let service = tars_mqtt::Runtime::new(config, tars_mqtt::Router::<()>::new(), ()).start()?;
    service
        .wait_ready(std::time::Duration::from_secs(10))
        .await?;
    let dropped = stream_levels(&service.publisher(), &[0.1, 0.4, 0.9]);
    println!("streamed 3 levels, {dropped} dropped");
    service.shutdown().await;
    Ok(())
}
