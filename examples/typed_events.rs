//! Extension: a domain wrapper with typed publish helpers over `Publisher`, so services publish
//! `stt.final` or `tts.say` events without repeating topics, types and field names.
//!
//! Run: `cargo run --example typed_events`

use serde::Serialize;
use tars_mqtt::{PublishError, Publisher, QoS};

/// The voice pipeline's events, typed.
#[derive(Clone)]
pub struct VoiceEvents {
    publisher: Publisher,
}

#[derive(Serialize)]
struct SttFinal<'a> {
    text: &'a str,
    confidence: f64,
    is_final: bool,
}

#[derive(Serialize)]
struct TtsSay<'a> {
    text: &'a str,
    voice: Option<&'a str>,
}

impl VoiceEvents {
    /// Wraps a service's publisher.
    pub fn new(publisher: Publisher) -> Self {
        Self { publisher }
    }

    /// `stt/final`, type `stt.final`, QoS 1; returns the envelope id.
    pub async fn stt_final(&self, text: &str, confidence: f64) -> Result<String, PublishError> {
        self.publisher
            .event(
                "stt/final",
                "stt.final",
                &SttFinal {
                    text,
                    confidence,
                    is_final: true,
                },
            )
            .await
    }

    /// `tts/say`, type `tts.say`, QoS 1, answering `request_id`.
    pub async fn tts_say(
        &self,
        text: &str,
        voice: Option<&str>,
        request_id: &str,
    ) -> Result<String, PublishError> {
        self.publisher
            .event("tts/say", "tts.say", &TtsSay { text, voice })
            .correlation_id(request_id)
            .await
    }

    /// `stt/partial`, type `stt.partial`: streams are QoS 0.
    pub async fn stt_partial(&self, text: &str) -> Result<String, PublishError> {
        self.publisher
            .event(
                "stt/partial",
                "stt.partial",
                &serde_json::json!({ "text": text }),
            )
            .qos(QoS::AtMostOnce)
            .await
    }
}

#[allow(dead_code)]
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let broker = tars_mqtt::testing::EmbeddedBroker::start();
    let config = tars_mqtt::MqttConfig::builder()
        .url(broker.url())
        .client_id("tars-stt")
        .build()?;
    let service = tars_mqtt::Runtime::new(config, tars_mqtt::Router::<()>::new(), ()).start()?;
    service
        .wait_ready(std::time::Duration::from_secs(10))
        .await?;
    let events = VoiceEvents::new(service.publisher());
    let id = events.stt_final("hello world", 0.95).await?;
    println!("published stt.final {id}");
    service.shutdown().await;
    Ok(())
}
