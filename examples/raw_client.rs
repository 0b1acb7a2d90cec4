//! Extension: the raw rumqttc client behind a service, for what tars-mqtt does not wrap. Here:
//! `try_publish`, which never waits — a high-rate best-effort stream (QoS 0 audio levels) that
//! should drop samples rather than slow the handler when the outgoing queue is full.
//!
//! Run: `cargo run --example raw_client`

use tars_mqtt::Publisher;
use tars_mqtt::raw::{self, rumqttc};

/// Publishes audio levels without ever waiting; returns how many were dropped. rumqttc has one
/// client per protocol version: the one behind the service is the one its configuration chose.
pub fn stream_levels(publisher: &Publisher, levels: &[f32]) -> usize {
    let v311 = raw::client(publisher);
    let v5 = raw::client_v5(publisher);
    levels
        .iter()
        .filter(|level| {
            let payload = format!("{{\"level\":{level}}}");
            let sent = match (&v311, &v5) {
                (Some(c), _) => c
                    .try_publish("audio/level", rumqttc::QoS::AtMostOnce, false, payload)
                    .is_ok(),
                (None, Some(c)) => c
                    .try_publish(
                        "audio/level",
                        rumqttc::v5::mqttbytes::QoS::AtMostOnce,
                        false,
                        payload,
                    )
                    .is_ok(),
                (None, None) => false,
            };
            !sent
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
