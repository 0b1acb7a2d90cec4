//! Service configuration: a builder, `from_env` with the Python services' variable names, URL parsing
//! (percent-decoded credentials, `mqtt://` and `mqtts://`) and validation naming the variable.

mod address;
mod builder;

use std::path::PathBuf;
use std::time::Duration;

pub(crate) use address::redact_url;
pub use address::{BrokerAddress, Password};
pub use builder::ConfigBuilder;

use crate::error::ConfigError;

/// The environment variable names read by [`MqttConfig::from_env`].
pub mod env {
    /// Broker URL variable.
    pub const ENV_URL: &str = "MQTT_URL";
    /// Client id variable.
    pub const ENV_CLIENT_ID: &str = "MQTT_CLIENT_ID";
    /// Envelope source variable.
    pub const ENV_SOURCE_NAME: &str = "MQTT_SOURCE_NAME";
    /// Keep-alive variable (seconds).
    pub const ENV_KEEPALIVE: &str = "MQTT_KEEPALIVE";
    /// Health (presence) switch.
    pub const ENV_ENABLE_HEALTH: &str = "MQTT_ENABLE_HEALTH";
    /// Heartbeat switch.
    pub const ENV_ENABLE_HEARTBEAT: &str = "MQTT_ENABLE_HEARTBEAT";
    /// Heartbeat interval (seconds).
    pub const ENV_HEARTBEAT_INTERVAL: &str = "MQTT_HEARTBEAT_INTERVAL";
    /// Dedup TTL (seconds, 0 = off).
    pub const ENV_DEDUPE_TTL: &str = "MQTT_DEDUPE_TTL";
    /// Dedup capacity.
    pub const ENV_DEDUPE_MAX_ENTRIES: &str = "MQTT_DEDUPE_MAX_ENTRIES";
    /// Smallest reconnect delay (seconds).
    pub const ENV_RECONNECT_MIN_DELAY: &str = "MQTT_RECONNECT_MIN_DELAY";
    /// Largest reconnect delay (seconds).
    pub const ENV_RECONNECT_MAX_DELAY: &str = "MQTT_RECONNECT_MAX_DELAY";
    /// Persistent session with acknowledge-after-handler (tars-mqtt addition).
    pub const ENV_PERSISTENT_SESSION: &str = "MQTT_PERSISTENT_SESSION";
    /// Extra CA certificate (PEM) for `mqtts://` (tars-mqtt addition).
    pub const ENV_CA_FILE: &str = "MQTT_CA_FILE";
    /// Largest packet accepted or sent, in bytes (tars-mqtt addition).
    pub const ENV_MAX_PACKET_SIZE: &str = "MQTT_MAX_PACKET_SIZE";
}

/// The complete, validated configuration of one service connection.
///
/// Build it with [`MqttConfig::builder`] or read it with [`MqttConfig::from_env`]; both validate
/// every field. `Debug` never shows the password.
#[derive(Debug, Clone)]
pub struct MqttConfig {
    /// Broker address and credentials.
    pub broker: BrokerAddress,
    /// MQTT client id (non-empty, no `+ # /`).
    pub client_id: String,
    /// Envelope `source` of everything this service publishes.
    pub source: String,
    /// MQTT keep-alive.
    pub keepalive: Duration,
    /// Publish `ready`/`shutdown` and the `offline` last will on `system/health/{client_id}`.
    pub health: bool,
    /// Publish heartbeats on `system/keepalive/{client_id}`.
    pub heartbeat: bool,
    /// Heartbeat period.
    pub heartbeat_interval: Duration,
    /// Dedup window (`None` = off).
    pub dedupe_ttl: Option<Duration>,
    /// Dedup capacity.
    pub dedupe_max_entries: usize,
    /// First reconnect delay.
    pub reconnect_min_delay: Duration,
    /// Largest reconnect delay.
    pub reconnect_max_delay: Duration,
    /// Keep the broker session across reconnects and acknowledge QoS 1 messages after their handlers.
    pub persistent_session: bool,
    /// Extra CA certificate (PEM file) trusted for `mqtts://`, besides the system roots.
    pub ca_file: Option<PathBuf>,
    /// Largest MQTT packet accepted or sent.
    pub max_packet_size: usize,
    /// Capacity of the client's outgoing request queue.
    pub outgoing_capacity: usize,
    /// How long a publish may wait for room in the outgoing queue before failing.
    pub publish_timeout: Duration,
    /// How long graceful shutdown waits for in-flight handlers.
    pub drain_timeout: Duration,
    /// Default timeout of [`Publisher::request`](crate::Publisher::request).
    pub request_timeout: Duration,
}

impl MqttConfig {
    /// A builder with every default of the wire format; `url` and `client_id` must be set.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Reads the `MQTT_*` variables from the process environment (see the crate docs for the list).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::builder().env(|var| std::env::var(var).ok())?.build()
    }
}
