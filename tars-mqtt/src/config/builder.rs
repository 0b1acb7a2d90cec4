//! `ConfigBuilder`: the configuration's layers (declared defaults, the environment, builder calls)
//! and the validation that turns them into an `MqttConfig`, naming the variable at fault.

use std::path::PathBuf;
use std::time::Duration;

use super::env::*;
use super::{BrokerAddress, MqttConfig, Protocol, redact_url};
use crate::error::ConfigError;

/// Layered configuration: each setter (or [`ConfigBuilder::env`]) overrides what came before.
///
/// ```
/// # use tars_mqtt::MqttConfig;
/// let config = MqttConfig::builder()
///     .url("mqtt://127.0.0.1:1883")
///     .client_id("tars-memory")
///     .source("memory-worker")
///     .health(true)
///     .build()
///     .unwrap();
/// assert_eq!(config.source, "memory-worker");
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ConfigBuilder {
    url: Option<String>,
    client_id: Option<String>,
    source: Option<String>,
    keepalive: Option<f64>,
    health: Option<bool>,
    heartbeat: Option<bool>,
    heartbeat_interval: Option<f64>,
    dedupe_ttl: Option<f64>,
    dedupe_max_entries: Option<usize>,
    reconnect_min_delay: Option<f64>,
    reconnect_max_delay: Option<f64>,
    persistent_session: Option<bool>,
    protocol: Option<Protocol>,
    session_expiry: Option<f64>,
    no_local: Option<bool>,
    discovery: Option<bool>,
    ca_file: Option<PathBuf>,
    max_packet_size: Option<usize>,
    outgoing_capacity: Option<usize>,
    publish_timeout: Option<Duration>,
    drain_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty => $field:ident $(= $conv:expr)?;)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$field = Some(setters!(@conv value $(, $conv)?));
            self
        }
    )*};
    (@conv $v:ident) => { $v.into() };
    (@conv $v:ident, $conv:expr) => { ($conv)($v) };
}

impl ConfigBuilder {
    setters! {
        /// Broker URL (`MQTT_URL`), or a comma-separated list of them for failover.
        url: impl Into<String> => url;
        /// Client id (`MQTT_CLIENT_ID`).
        client_id: impl Into<String> => client_id;
        /// Envelope source (`MQTT_SOURCE_NAME`); defaults to the client id.
        source: impl Into<String> => source;
        /// Keep-alive (`MQTT_KEEPALIVE`), 1..=3600 s.
        keepalive: Duration => keepalive = |d: Duration| d.as_secs_f64();
        /// Health presence (`MQTT_ENABLE_HEALTH`).
        health: bool => health;
        /// Heartbeat (`MQTT_ENABLE_HEARTBEAT`).
        heartbeat: bool => heartbeat;
        /// Heartbeat period (`MQTT_HEARTBEAT_INTERVAL`), ≥ 1 s.
        heartbeat_interval: Duration => heartbeat_interval = |d: Duration| d.as_secs_f64();
        /// Dedup window (`MQTT_DEDUPE_TTL`); zero turns dedup off.
        dedupe_ttl: Duration => dedupe_ttl = |d: Duration| d.as_secs_f64();
        /// Dedup capacity (`MQTT_DEDUPE_MAX_ENTRIES`), > 0 when dedup is on.
        dedupe_max_entries: usize => dedupe_max_entries;
        /// First reconnect delay (`MQTT_RECONNECT_MIN_DELAY`), ≥ 0.1 s.
        reconnect_min_delay: Duration => reconnect_min_delay = |d: Duration| d.as_secs_f64();
        /// Largest reconnect delay (`MQTT_RECONNECT_MAX_DELAY`), ≥ 0.5 s and ≥ the minimum.
        reconnect_max_delay: Duration => reconnect_max_delay = |d: Duration| d.as_secs_f64();
        /// Persistent session + acknowledge-after-handler (`MQTT_PERSISTENT_SESSION`).
        persistent_session: bool => persistent_session;
        /// Protocol version (`MQTT_PROTOCOL`: `3.1.1` or `5`), default 3.1.1.
        protocol: Protocol => protocol;
        /// MQTT 5: how long the broker keeps a persistent session after a disconnection
        /// (`MQTT_SESSION_EXPIRY`, seconds); unset, for ever.
        session_expiry: Duration => session_expiry = |d: Duration| d.as_secs_f64();
        /// MQTT 5: do not receive the service's own publishes (`MQTT_NO_LOCAL`), default off.
        no_local: bool => no_local;
        /// Answer discovery and stats requests (`MQTT_DISCOVERY`), default on.
        discovery: bool => discovery;
        /// Extra trusted CA for `mqtts://` (`MQTT_CA_FILE`).
        ca_file: impl Into<PathBuf> => ca_file;
        /// Largest packet in bytes (`MQTT_MAX_PACKET_SIZE`), default 1 MiB.
        max_packet_size: usize => max_packet_size;
        /// Capacity of the outgoing request queue (default 1024).
        outgoing_capacity: usize => outgoing_capacity;
        /// How long a publish may wait for room in the outgoing queue (default 10 s).
        publish_timeout: Duration => publish_timeout;
        /// How long graceful shutdown waits for in-flight handlers (default 10 s).
        drain_timeout: Duration => drain_timeout;
        /// Default request timeout (default 10 s).
        request_timeout: Duration => request_timeout;
    }

    /// Applies every `MQTT_*` variable that `lookup` returns, over what is already set.
    pub fn env(mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &'static str| lookup(var).map(|v| (var, v));
        if let Some((_, v)) = get(ENV_URL) {
            self.url = Some(v);
        }
        if let Some((_, v)) = get(ENV_CLIENT_ID) {
            self.client_id = Some(v);
        }
        if let Some((_, v)) = get(ENV_SOURCE_NAME) {
            self.source = Some(v);
        }
        if let Some((_, v)) = get(ENV_CA_FILE) {
            self.ca_file = Some(v.into());
        }
        if let Some((var, v)) = get(ENV_PROTOCOL) {
            self.protocol = Some(v.parse().map_err(|rule: String| invalid(var, &rule, &v))?);
        }
        let seconds = |var| get(var).map(|(var, v)| parse_seconds(var, &v)).transpose();
        let flag = |var| get(var).map(|(var, v)| parse_bool(var, &v)).transpose();
        let count = |var| get(var).map(|(var, v)| parse_count(var, &v)).transpose();
        self.keepalive = seconds(ENV_KEEPALIVE)?.or(self.keepalive);
        self.heartbeat_interval = seconds(ENV_HEARTBEAT_INTERVAL)?.or(self.heartbeat_interval);
        self.dedupe_ttl = seconds(ENV_DEDUPE_TTL)?.or(self.dedupe_ttl);
        self.session_expiry = seconds(ENV_SESSION_EXPIRY)?.or(self.session_expiry);
        self.reconnect_min_delay = seconds(ENV_RECONNECT_MIN_DELAY)?.or(self.reconnect_min_delay);
        self.reconnect_max_delay = seconds(ENV_RECONNECT_MAX_DELAY)?.or(self.reconnect_max_delay);
        self.health = flag(ENV_ENABLE_HEALTH)?.or(self.health);
        self.heartbeat = flag(ENV_ENABLE_HEARTBEAT)?.or(self.heartbeat);
        self.persistent_session = flag(ENV_PERSISTENT_SESSION)?.or(self.persistent_session);
        self.no_local = flag(ENV_NO_LOCAL)?.or(self.no_local);
        self.discovery = flag(ENV_DISCOVERY)?.or(self.discovery);
        self.dedupe_max_entries = count(ENV_DEDUPE_MAX_ENTRIES)?.or(self.dedupe_max_entries);
        self.max_packet_size = count(ENV_MAX_PACKET_SIZE)?.or(self.max_packet_size);
        Ok(self)
    }

    /// Validates every field and returns the configuration.
    pub fn build(self) -> Result<MqttConfig, ConfigError> {
        let (url, brokers, client_id) = self.identity()?;
        let times = self.times()?;
        let (dedupe_ttl, dedupe_max_entries) = self.dedup()?;
        let (max_packet_size, outgoing_capacity) = self.limits()?;
        let session_expiry = self.expiry()?;
        if self.ca_file.is_some() && !brokers.iter().any(|b| b.tls) {
            return Err(invalid(
                ENV_CA_FILE,
                "is only used with an `mqtts://` URL",
                &redact_url(&url),
            ));
        }
        Ok(MqttConfig {
            source: self
                .source
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| client_id.clone()),
            brokers,
            client_id,
            keepalive: times.keepalive,
            health: self.health.unwrap_or(false),
            heartbeat: self.heartbeat.unwrap_or(false),
            heartbeat_interval: times.heartbeat_interval,
            dedupe_ttl,
            dedupe_max_entries,
            reconnect_min_delay: times.reconnect_min_delay,
            reconnect_max_delay: times.reconnect_max_delay,
            persistent_session: self.persistent_session.unwrap_or(false),
            protocol: self.protocol.unwrap_or_default(),
            session_expiry,
            no_local: self.no_local.unwrap_or(false),
            discovery: self.discovery.unwrap_or(true),
            ca_file: self.ca_file,
            max_packet_size,
            outgoing_capacity,
            publish_timeout: self.publish_timeout.unwrap_or(Duration::from_secs(10)),
            drain_timeout: self.drain_timeout.unwrap_or(Duration::from_secs(10)),
            request_timeout: self.request_timeout.unwrap_or(Duration::from_secs(10)),
        })
    }

    /// The URL (for messages), the brokers it names and the client id.
    fn identity(&self) -> Result<(String, Vec<BrokerAddress>, String), ConfigError> {
        let url = self
            .url
            .clone()
            .ok_or(ConfigError::Missing { var: ENV_URL })?;
        let brokers = BrokerAddress::parse_list(&url)?;
        let client_id = self
            .client_id
            .clone()
            .ok_or(ConfigError::Missing { var: ENV_CLIENT_ID })?;
        if client_id.is_empty() || client_id.contains(['+', '#', '/']) {
            return Err(invalid(
                ENV_CLIENT_ID,
                "must be non-empty and must not contain `+`, `#` or `/`",
                &client_id,
            ));
        }
        Ok((url, brokers, client_id))
    }

    /// Keepalive, heartbeat interval and reconnection delays, each within its bounds.
    fn times(&self) -> Result<Times, ConfigError> {
        let keepalive = self.keepalive.unwrap_or(60.0);
        let keepalive_ok = (1.0..=3600.0).contains(&keepalive);
        check(
            ENV_KEEPALIVE,
            keepalive,
            keepalive_ok,
            "seconds, from 1 to 3600",
        )?;
        let heartbeat = self.heartbeat_interval.unwrap_or(5.0);
        check(
            ENV_HEARTBEAT_INTERVAL,
            heartbeat,
            heartbeat >= 1.0,
            "seconds, at least 1.0",
        )?;
        let min = self.reconnect_min_delay.unwrap_or(0.5);
        check(
            ENV_RECONNECT_MIN_DELAY,
            min,
            min >= 0.1,
            "seconds, at least 0.1",
        )?;
        let max = self.reconnect_max_delay.unwrap_or(5.0);
        check(
            ENV_RECONNECT_MAX_DELAY,
            max,
            max >= 0.5,
            "seconds, at least 0.5",
        )?;
        let rule = "must not be smaller than MQTT_RECONNECT_MIN_DELAY";
        check(ENV_RECONNECT_MAX_DELAY, max, max >= min, rule)?;
        Ok(Times {
            keepalive: Duration::from_secs_f64(keepalive),
            heartbeat_interval: Duration::from_secs_f64(heartbeat),
            reconnect_min_delay: Duration::from_secs_f64(min),
            reconnect_max_delay: Duration::from_secs_f64(max),
        })
    }

    /// The dedup window (`None`: off) and capacity, which must be positive when it is on.
    fn dedup(&self) -> Result<(Option<Duration>, usize), ConfigError> {
        let ttl = self.dedupe_ttl.unwrap_or(0.0);
        check(ENV_DEDUPE_TTL, ttl, ttl >= 0.0, "seconds, at least 0")?;
        let max_entries = self.dedupe_max_entries.unwrap_or(0);
        if ttl > 0.0 && max_entries == 0 {
            return Err(invalid(
                ENV_DEDUPE_MAX_ENTRIES,
                "must be greater than 0 when MQTT_DEDUPE_TTL is greater than 0",
                "0",
            ));
        }
        Ok((
            (ttl > 0.0).then(|| Duration::from_secs_f64(ttl)),
            max_entries,
        ))
    }

    /// MQTT 5's session expiry: whole seconds that fit the property (0 ends the session with the
    /// connection, which is what a service without a persistent session gets anyway).
    fn expiry(&self) -> Result<Option<Duration>, ConfigError> {
        let Some(secs) = self.session_expiry else {
            return Ok(None);
        };
        let ok = (0.0..f64::from(u32::MAX)).contains(&secs) && secs.fract() == 0.0;
        check(
            ENV_SESSION_EXPIRY,
            secs,
            ok,
            "whole seconds, from 0 to 4294967294",
        )?;
        Ok(Some(Duration::from_secs(secs as u64)))
    }

    /// The maximum packet size and the outgoing queue's capacity.
    fn limits(&self) -> Result<(usize, usize), ConfigError> {
        let max_packet_size = self.max_packet_size.unwrap_or(1024 * 1024);
        if !(1024..=268_435_455).contains(&max_packet_size) {
            return Err(invalid(
                ENV_MAX_PACKET_SIZE,
                "bytes, from 1024 to 268435455",
                &max_packet_size.to_string(),
            ));
        }
        let outgoing_capacity = self.outgoing_capacity.unwrap_or(1024);
        if outgoing_capacity == 0 {
            return Err(invalid("outgoing_capacity", "must be at least 1", "0"));
        }
        Ok((max_packet_size, outgoing_capacity))
    }
}

/// The validated durations of a configuration.
struct Times {
    keepalive: Duration,
    heartbeat_interval: Duration,
    reconnect_min_delay: Duration,
    reconnect_max_delay: Duration,
}

fn invalid(var: &'static str, rule: &str, value: &str) -> ConfigError {
    ConfigError::Invalid {
        var,
        rule: rule.to_owned(),
        value: value.to_owned(),
    }
}

fn check(var: &'static str, value: f64, ok: bool, rule: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(invalid(var, rule, &value.to_string()))
    }
}

fn parse_seconds(var: &'static str, value: &str) -> Result<f64, ConfigError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| invalid(var, "must be a number of seconds", value))
}

fn parse_count(var: &'static str, value: &str) -> Result<usize, ConfigError> {
    value
        .trim()
        .parse::<usize>()
        .map_err(|_| invalid(var, "must be a whole number", value))
}

/// `true/1/yes/on` and `false/0/no/off`, any case; anything else is an error naming the variable.
pub(crate) fn parse_bool(var: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(invalid(
            var,
            "must be a boolean (true/false, 1/0, yes/no, on/off)",
            value,
        )),
    }
}
