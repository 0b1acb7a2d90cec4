//! An echo service process configured from `MQTT_*` variables, for crash and restart tests:
//! `{prefix}/echo` (QoS 1) replies on `{prefix}/echoed`, where the prefix is `TEST_PREFIX`.

use tars_mqtt::{Json, MqttConfig, QoS, Route, Router, Runtime};

#[tokio::main]
async fn main() -> Result<(), tars_mqtt::Error> {
    tracing_subscriber::fmt()
        .with_env_filter("info")
        .with_writer(std::io::stderr)
        .init();
    let prefix = std::env::var("TEST_PREFIX").unwrap_or_else(|_| "test".to_owned());
    let router = Router::new().route(
        Route::new(
            format!("{prefix}/echo"),
            |Json(v): Json<serde_json::Value>| async move { Json(v) },
        )
        .qos(QoS::AtLeastOnce)
        .reply(format!("{prefix}/echoed"), "test.echoed"),
    );
    Runtime::new(MqttConfig::from_env()?, router, ())
        .run()
        .await
}
