//! Per-route metrics for Prometheus: the feature `metrics` of tars-mqtt plus an exporter from the
//! `metrics` ecosystem, installed before the service starts.
//!
//! `cargo run --example prometheus --features metrics` starts a service (on an embedded broker
//! unless `MQTT_URL` is set), sends it a few good and bad requests, prints its metrics as
//! Prometheus scrapes them from `http://127.0.0.1:9464/metrics`, and keeps serving until Ctrl-C
//! (`-- --once` stops after printing).

use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;
use tars_mqtt::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(serde::Deserialize)]
struct Reading {
    celsius: f64,
}

pub struct Thermostat;

#[mqtt_service(client_id = "thermostat", health = true)]
impl Thermostat {
    #[subscribe("thermostat/{room}/reading", qos = 1)]
    async fn reading(&self, room: String, r: Reading) -> Result<(), String> {
        match r.celsius {
            c if c > 60.0 => Err(format!("{room}: {c} °C is no room temperature")),
            _ => Ok(()),
        }
    }
}

const ADDRESS: (std::net::Ipv4Addr, u16) = (std::net::Ipv4Addr::LOCALHOST, 9464);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tars_mqtt_examples::init_tracing("warn,rumqttd=off");
    // The two lines: a Prometheus endpoint, installed before the service starts.
    PrometheusBuilder::new()
        .with_http_listener(ADDRESS)
        .install()?;

    let (mut config, mut _broker) = (Thermostat::config()?, None);
    if std::env::var_os("MQTT_URL").is_none() {
        let broker = _broker.insert(tars_mqtt::testing::EmbeddedBroker::start());
        config = config.url(broker.url());
    }
    let service = Thermostat.start(config.build()?)?;
    service.wait_ready(Duration::from_secs(10)).await?;
    let publisher = service.publisher();
    for (room, payload) in [
        ("kitchen", r#"{"celsius": 21.5}"#),
        ("kitchen", r#"{"celsius": 22.0}"#),
        ("sauna", r#"{"celsius": 85.0}"#),
        ("hall", r#"{"celsius": "warm"}"#),
    ] {
        let topic = format!("thermostat/{room}/reading");
        publisher
            .publish_raw(&topic, payload, QoS::AtLeastOnce, false)
            .await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for line in scrape().await?.lines() {
        if line.starts_with("tars_mqtt_") && !line.contains("quantile") {
            println!("{line}");
        }
    }
    if std::env::args().any(|a| a == "--once") {
        service.shutdown().await;
        return Ok(());
    }
    println!(
        "serving http://127.0.0.1:{}/metrics until Ctrl-C",
        ADDRESS.1
    );
    tokio::signal::ctrl_c().await?;
    service.shutdown().await;
    Ok(())
}

/// What Prometheus would read from the endpoint (an HTTP/1.0 GET, to need no HTTP client).
async fn scrape() -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(ADDRESS).await?;
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response
        .split_once("\r\n\r\n")
        .map_or(response.clone(), |(_, body)| body.to_owned()))
}
