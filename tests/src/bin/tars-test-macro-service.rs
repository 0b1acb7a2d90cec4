//! A macro-built echo service run from the environment (`run_from_env`), for tests of run-time
//! topic overrides (`ECHO_TOPIC`) and of the configuration layers (macro defaults < `MQTT_*`).

use tars_mqtt::prelude::*;

struct Echo;

#[mqtt_service(client_id = "macro-echo", health = true)]
impl Echo {
    #[subscribe("macro/echo", qos = 1, reply = "macro/echoed", env = "ECHO_TOPIC")]
    async fn echo(&self, data: serde_json::Value) -> serde_json::Value {
        data
    }
}

#[tokio::main]
async fn main() -> Result<(), tars_mqtt::Error> {
    tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_writer(std::io::stderr)
        .init();
    Echo.run_from_env().await
}
