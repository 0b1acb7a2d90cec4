//! MQTT 5 trace context into OpenTelemetry: a service continues the trace a message carries in
//! its `traceparent` user property, and its spans go to an OpenTelemetry exporter (stdout here;
//! use OTLP for Jaeger, Tempo, Honeycomb…). tars-mqtt itself only reads and writes the property
//! and runs each handler in a `handle` span; the bridge is the user's choice — this is one.
//!
//! Run against an MQTT 5 broker (Mosquitto): `MQTT_URL=mqtt://127.0.0.1:1883 cargo run --example
//! trace_context`. Without `MQTT_URL` it starts a Mosquitto of its own when one is installed.

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde_json::json;
use tars_mqtt::config::Protocol;
use tars_mqtt::properties::Properties;
use tars_mqtt::{Json, MqttConfig, Publisher, QoS, Route, Router, Runtime};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

/// The handler: its work runs in a span whose OpenTelemetry parent is the sender's span (the
/// message's `traceparent`); what it publishes carries the trace on (tars-mqtt adds
/// `traceparent` with the same trace id).
async fn place_order(
    props: Properties,
    Json(order): Json<serde_json::Value>,
    publisher: Publisher,
) {
    let carrier: HashMap<String, String> = props.user.iter().cloned().collect();
    let span = tracing::info_span!("place_order");
    // Before the span is first entered: OpenTelemetry fixes a span's parent when it starts.
    if let Err(e) = span.set_parent(TraceContextPropagator::new().extract(&carrier)) {
        tracing::warn!(%e, "could not continue the trace");
    }
    async {
        tracing::info!(%order, "order placed");
        // tars-mqtt would carry the trace on by itself (same trace id, a fresh span id); with
        // OpenTelemetry, name this span as the parent of what comes next.
        let mut next = HashMap::new();
        TraceContextPropagator::new()
            .inject_context(&tracing::Span::current().context(), &mut next);
        let mut event = publisher.event("orders/confirmed", "orders.confirmed", &order);
        if let Some(traceparent) = next.remove("traceparent") {
            event = event.user_property("traceparent", traceparent);
        }
        if let Err(e) = event.await {
            tracing::warn!(%e, "could not confirm the order");
        }
    }
    .instrument(span)
    .await;
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(opentelemetry_stdout::SpanExporter::default())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("tars-mqtt-example")))
        .with(tracing_subscriber::fmt::layer());
    tracing::subscriber::set_global_default(subscriber)?;

    let (url, _broker) = match std::env::var("MQTT_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let broker = tars_mqtt::testing::BrokerProcess::mosquitto("")?;
            (broker.url(), Some(broker))
        }
    };
    let config = |id: &str| {
        MqttConfig::builder()
            .url(&url)
            .client_id(id)
            .protocol(Protocol::V5)
            .build()
    };
    let router =
        Router::new().route(Route::new("orders/placed", place_order).qos(QoS::AtLeastOnce));
    let service = Runtime::new(config("orders")?, router, ()).start()?;
    service.wait_ready(Duration::from_secs(10)).await?;

    // A sender whose trace the service continues, and which sees the confirmation's trace.
    let confirmations = Router::new().route(Route::new(
        "orders/confirmed",
        |props: Properties| async move {
            if let Some(t) = props.traceparent() {
                println!(
                    "confirmation: trace {} from span {}",
                    t.trace_id(),
                    t.parent_id()
                );
            }
        },
    ));
    let sender = Runtime::new(config("shop")?, confirmations, ()).start()?;
    sender.wait_ready(Duration::from_secs(10)).await?;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    sender
        .publisher()
        .event("orders/placed", "orders.placed", &json!({"order": 42}))
        .user_property("traceparent", traceparent)
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    sender.shutdown().await;
    service.shutdown().await;
    provider.shutdown()?;
    Ok(())
}
