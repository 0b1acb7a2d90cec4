//! Service configuration: a builder, `from_env` with the Python services' variable names, URL parsing
//! (percent-decoded credentials, `mqtt://` and `mqtts://`) and validation naming the variable.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use percent_encoding::percent_decode_str;

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

use env::*;

/// A password that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// The password itself, for handing to the MQTT client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// Where and how to connect: parsed from `mqtt://[user[:pass]@]host[:port]` or `mqtts://…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddress {
    /// Host name or IP (IPv6 without brackets).
    pub host: String,
    /// TCP port (1883 for `mqtt`, 8883 for `mqtts` when not given).
    pub port: u16,
    /// Whether to use TLS.
    pub tls: bool,
    /// Percent-decoded user name.
    pub username: Option<String>,
    /// Percent-decoded password.
    pub password: Option<Password>,
}

impl BrokerAddress {
    /// Parses a broker URL.
    ///
    /// ```
    /// # use tars_mqtt::config::BrokerAddress;
    /// let a = BrokerAddress::parse("mqtt://svc%40tars:p%40ss%3Aw0rd@broker:1884").unwrap();
    /// assert_eq!(a.username.as_deref(), Some("svc@tars"));
    /// assert_eq!(a.password.unwrap().expose(), "p@ss:w0rd");
    /// assert_eq!((a.host.as_str(), a.port, a.tls), ("broker", 1884, false));
    /// ```
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let invalid = |rule: &str| ConfigError::Invalid {
            var: ENV_URL,
            rule: rule.to_owned(),
            value: redact_url(url),
        };
        let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtt://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("mqtts://") {
            (true, rest)
        } else {
            return Err(invalid("the URL must start with `mqtt://` or `mqtts://`"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err(invalid("the URL must not have a path, query or fragment"));
        }
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| invalid("credentials must be valid percent-encoded UTF-8"))
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, pass) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (info, None),
                };
                let pass = pass.map(decode).transpose()?.map(Password);
                (Some(decode(user)?), pass)
            }
        };
        let (host, port) = split_host_port(hostport).ok_or_else(|| {
            invalid("the port must be a number from 1 to 65535 and an IPv6 host needs brackets")
        })?;
        Ok(Self {
            host: if host.is_empty() {
                "localhost".to_owned()
            } else {
                host.to_owned()
            },
            port: port.unwrap_or(if tls { 8883 } else { 1883 }),
            tls,
            username,
            password,
        })
    }
}

fn split_host_port(hostport: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0)?),
    };
    if host.contains(':') && !hostport.starts_with('[') {
        return None;
    }
    Some((host, port))
}

/// `mqtt://user:secret@host` → `mqtt://user:***@host`, for error messages and logs.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((info, host)) => match info.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
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
        /// Broker URL (`MQTT_URL`).
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
        let seconds = |var| get(var).map(|(var, v)| parse_seconds(var, &v)).transpose();
        let flag = |var| get(var).map(|(var, v)| parse_bool(var, &v)).transpose();
        let count = |var| get(var).map(|(var, v)| parse_count(var, &v)).transpose();
        self.keepalive = seconds(ENV_KEEPALIVE)?.or(self.keepalive);
        self.heartbeat_interval = seconds(ENV_HEARTBEAT_INTERVAL)?.or(self.heartbeat_interval);
        self.dedupe_ttl = seconds(ENV_DEDUPE_TTL)?.or(self.dedupe_ttl);
        self.reconnect_min_delay = seconds(ENV_RECONNECT_MIN_DELAY)?.or(self.reconnect_min_delay);
        self.reconnect_max_delay = seconds(ENV_RECONNECT_MAX_DELAY)?.or(self.reconnect_max_delay);
        self.health = flag(ENV_ENABLE_HEALTH)?.or(self.health);
        self.heartbeat = flag(ENV_ENABLE_HEARTBEAT)?.or(self.heartbeat);
        self.persistent_session = flag(ENV_PERSISTENT_SESSION)?.or(self.persistent_session);
        self.dedupe_max_entries = count(ENV_DEDUPE_MAX_ENTRIES)?.or(self.dedupe_max_entries);
        self.max_packet_size = count(ENV_MAX_PACKET_SIZE)?.or(self.max_packet_size);
        Ok(self)
    }

    /// Validates every field and returns the configuration.
    pub fn build(self) -> Result<MqttConfig, ConfigError> {
        let url = self.url.ok_or(ConfigError::Missing { var: ENV_URL })?;
        let broker = BrokerAddress::parse(&url)?;
        let client_id = self
            .client_id
            .ok_or(ConfigError::Missing { var: ENV_CLIENT_ID })?;
        if client_id.is_empty() || client_id.contains(['+', '#', '/']) {
            return Err(invalid(
                ENV_CLIENT_ID,
                "must be non-empty and must not contain `+`, `#` or `/`",
                &client_id,
            ));
        }
        let keepalive = self.keepalive.unwrap_or(60.0);
        check(
            ENV_KEEPALIVE,
            keepalive,
            (1.0..=3600.0).contains(&keepalive),
            "seconds, from 1 to 3600",
        )?;
        let heartbeat_interval = self.heartbeat_interval.unwrap_or(5.0);
        check(
            ENV_HEARTBEAT_INTERVAL,
            heartbeat_interval,
            heartbeat_interval >= 1.0,
            "seconds, at least 1.0",
        )?;
        let ttl = self.dedupe_ttl.unwrap_or(0.0);
        check(ENV_DEDUPE_TTL, ttl, ttl >= 0.0, "seconds, at least 0")?;
        let dedupe_max_entries = self.dedupe_max_entries.unwrap_or(0);
        if ttl > 0.0 && dedupe_max_entries == 0 {
            return Err(invalid(
                ENV_DEDUPE_MAX_ENTRIES,
                "must be greater than 0 when MQTT_DEDUPE_TTL is greater than 0",
                "0",
            ));
        }
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
        check(
            ENV_RECONNECT_MAX_DELAY,
            max,
            max >= min,
            "must not be smaller than MQTT_RECONNECT_MIN_DELAY",
        )?;
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
        if self.ca_file.is_some() && !broker.tls {
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
            broker,
            client_id,
            keepalive: Duration::from_secs_f64(keepalive),
            health: self.health.unwrap_or(false),
            heartbeat: self.heartbeat.unwrap_or(false),
            heartbeat_interval: Duration::from_secs_f64(heartbeat_interval),
            dedupe_ttl: (ttl > 0.0).then(|| Duration::from_secs_f64(ttl)),
            dedupe_max_entries,
            reconnect_min_delay: Duration::from_secs_f64(min),
            reconnect_max_delay: Duration::from_secs_f64(max),
            persistent_session: self.persistent_session.unwrap_or(false),
            ca_file: self.ca_file,
            max_packet_size,
            outgoing_capacity,
            publish_timeout: self.publish_timeout.unwrap_or(Duration::from_secs(10)),
            drain_timeout: self.drain_timeout.unwrap_or(Duration::from_secs(10)),
            request_timeout: self.request_timeout.unwrap_or(Duration::from_secs(10)),
        })
    }
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
