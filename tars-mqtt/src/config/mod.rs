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
    /// Broker URL variable: one URL, or a comma-separated list tried in turn (failover).
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
    /// Protocol version: `3.1.1` (default) or `5` (tars-mqtt addition).
    pub const ENV_PROTOCOL: &str = "MQTT_PROTOCOL";
    /// How long the broker keeps a persistent session after a disconnection, in seconds
    /// (MQTT 5 only; tars-mqtt addition).
    pub const ENV_SESSION_EXPIRY: &str = "MQTT_SESSION_EXPIRY";
    /// Do not receive this service's own publishes on its subscriptions (MQTT 5 only;
    /// tars-mqtt addition).
    pub const ENV_NO_LOCAL: &str = "MQTT_NO_LOCAL";
    /// Discovery and stats answers (tars-mqtt addition).
    pub const ENV_DISCOVERY: &str = "MQTT_DISCOVERY";
}

/// The MQTT protocol version a service speaks.
///
/// The envelope, the topics and every behaviour of the framework are the same on both; MQTT 5
/// adds properties (response topic, correlation data, user properties, expiry) and reason codes.
/// See `docs/mqtt5.md`.
///
/// ```
/// use tars_mqtt::config::Protocol;
/// assert_eq!("5".parse::<Protocol>().unwrap(), Protocol::V5);
/// assert_eq!("3.1.1".parse::<Protocol>().unwrap(), Protocol::V311);
/// assert!("6".parse::<Protocol>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// MQTT 3.1.1, the default (what the Python services speak).
    #[default]
    V311,
    /// MQTT 5.
    V5,
}

impl std::str::FromStr for Protocol {
    type Err = String;

    /// `3.1.1`, `311` or `4` (its protocol level) for 3.1.1; `5` or `5.0` for MQTT 5.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "3.1.1" | "311" | "4" => Ok(Self::V311),
            "5" | "5.0" => Ok(Self::V5),
            _ => Err("must be `3.1.1` or `5`".to_owned()),
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::V311 => "3.1.1",
            Self::V5 => "5",
        })
    }
}

/// The complete, validated configuration of one service connection.
///
/// Build it with [`MqttConfig::builder`] or read it with [`MqttConfig::from_env`]; both validate
/// every field. `Debug` never shows the password.
#[derive(Debug, Clone)]
pub struct MqttConfig {
    /// The broker endpoints with their credentials, never empty. The connection starts with the
    /// first and moves to the next one each time an attempt fails or the connection is lost,
    /// round and round (see `docs/scaling.md`).
    pub brokers: Vec<BrokerAddress>,
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
    /// The protocol version (default 3.1.1).
    pub protocol: Protocol,
    /// MQTT 5: how long the broker keeps a persistent session after a disconnection (`None`:
    /// for ever, as in 3.1.1). Without a persistent session the session ends with the connection.
    pub session_expiry: Option<Duration>,
    /// MQTT 5: subscribe with No Local, so the broker does not deliver this service's own
    /// publishes back to it.
    pub no_local: bool,
    /// Answer discovery requests (`ping`, `info`, `stats` on `system/services/…`; see
    /// [`discovery`](crate::discovery)).
    pub discovery: bool,
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
