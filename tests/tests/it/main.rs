//! End-to-end tests of tars-mqtt. Scenarios run against the embedded broker and against
//! Mosquitto (started by the tests on a free loopback port with their own configuration).

mod asyncapi;
mod chaos;
mod config;
mod contracts;
mod discovery;
mod dispatch;
mod envelope;
mod extensions;
mod failover;
mod layers;
mod llm_worker;
mod macros;
mod memory_worker;
mod metrics;
mod mqtt5;
mod poison;
mod presence;
mod reconnect;
mod replies;
mod routing;
mod sessions;
mod shutdown;
mod tls;

/// The echo service binary of this crate (`tars-test-service`) as a separate process: the
/// broker, client id and topic prefix set, health on, output discarded. Add variables (such as
/// `TEST_HANDLER_DELAY_MS` or `MQTT_PERSISTENT_SESSION`) before spawning.
fn echo_process(url: &str, client_id: &str, prefix: &str) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tars-test-service"));
    command
        .env("MQTT_URL", url)
        .env("MQTT_PROTOCOL", tars_mqtt_it::protocol_of(url).to_string())
        .env("MQTT_CLIENT_ID", client_id)
        .env("MQTT_ENABLE_HEALTH", "true")
        .env("TEST_PREFIX", prefix)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    command
}
