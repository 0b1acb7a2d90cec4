//! An echo service process configured from `MQTT_*` variables, for crash and restart tests:
//! `{prefix}/echo` (QoS 1) replies on `{prefix}/echoed`, where the prefix is `TEST_PREFIX`.
//! With `TEST_HANDLER_DELAY_MS`, the handler first announces itself on `{prefix}/started`
//! and then waits that long before replying.

use std::time::Duration;

use tars_mqtt::{Json, MqttConfig, Publisher, QoS, Route, Router, Runtime};

#[tokio::main]
async fn main() -> Result<(), tars_mqtt::Error> {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let prefix = std::env::var("TEST_PREFIX").unwrap_or_else(|_| "test".to_owned());
    let delay = std::env::var("TEST_HANDLER_DELAY_MS")
        .ok()
        .and_then(|d| d.parse().ok())
        .map(Duration::from_millis);
    let started = format!("{prefix}/started");
    let router = Router::new().route(
        Route::new(
            format!("{prefix}/echo"),
            move |publisher: Publisher, Json(v): Json<serde_json::Value>| {
                let started = started.clone();
                async move {
                    if let Some(delay) = delay {
                        let _ = publisher.event(&started, "test.started", &v).await;
                        tokio::time::sleep(delay).await;
                    }
                    Json(v)
                }
            },
        )
        .qos(QoS::AtLeastOnce)
        .reply(format!("{prefix}/echoed"), "test.echoed"),
    );
    Runtime::new(MqttConfig::from_env()?, router, ())
        .run()
        .await
}
