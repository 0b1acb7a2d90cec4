//! `Service`: what `#[mqtt_service]` implements, and what a hand-written service can implement.

use std::future::Future;
use std::time::Duration;

use crate::config::{ConfigBuilder, MqttConfig, Protocol};
use crate::error::{ConfigError, Error};
use crate::router::Router;
use crate::runtime::{Runtime, ServiceHandle};

/// A type whose methods are the handlers of a service.
///
/// `#[mqtt_service]` implements it; it can also be written by hand:
///
/// ```no_run
/// use tars_mqtt::{Json, Route, Router, Service, service::ServiceInfo, extract::State};
///
/// struct Echo;
/// impl Service for Echo {
///     const INFO: ServiceInfo = ServiceInfo::new("Echo").client_id("echo");
///     fn router() -> Router<Self> {
///         Router::new().route(
///             Route::new("echo/in", |_: State<Echo>, Json(v): Json<serde_json::Value>| async move { Json(v) })
///                 .reply("echo/out", "echo.out"),
///         )
///     }
/// }
/// # async fn f() -> Result<(), tars_mqtt::Error> {
/// Echo.run_from_env().await // MQTT_URL from the environment; client id `echo` unless MQTT_CLIENT_ID is set
/// # }
/// ```
pub trait Service: Send + Sync + Sized + 'static {
    /// The service's name and declared configuration defaults.
    const INFO: ServiceInfo;

    /// The routes, with the service itself as state.
    fn router() -> Router<Self>;

    /// The configuration layers below explicit builder calls: the service's declared defaults,
    /// then the `MQTT_*` environment. Finish it with more builder calls and
    /// [`build`](ConfigBuilder::build).
    fn config() -> Result<ConfigBuilder, ConfigError> {
        Self::INFO
            .defaults
            .builder()
            .env(|var| std::env::var(var).ok())
    }

    /// The service's AsyncAPI 3.0 document: its routes as channels and `receive` operations
    /// with their replies, the payload schemas its types give (feature `asyncapi`), and the
    /// brokers of the `MQTT_*` environment as servers when it holds a valid configuration.
    /// See [`asyncapi`](crate::asyncapi).
    fn asyncapi() -> serde_json::Value {
        let config = Self::config().ok().and_then(|b| b.build().ok());
        crate::asyncapi::document(
            Self::INFO.name,
            Self::INFO.version,
            Self::router().routes(),
            config.as_ref(),
        )
    }

    /// Starts the service in the background with `config`.
    fn start(self, config: MqttConfig) -> Result<ServiceHandle, Error> {
        Runtime::service(config, self).start()
    }

    /// Runs with `config` until SIGTERM or Ctrl-C, then shuts down gracefully.
    fn run(self, config: MqttConfig) -> impl Future<Output = Result<(), Error>> + Send {
        Runtime::service(config, self).run()
    }

    /// Runs with the declared defaults overridden by the `MQTT_*` environment, until SIGTERM or
    /// Ctrl-C, then shuts down gracefully.
    fn run_from_env(self) -> impl Future<Output = Result<(), Error>> + Send {
        async move {
            let config = Self::config()?.build()?;
            self.run(config).await
        }
    }
}

impl<T: Service> Runtime<T> {
    /// A runtime for a [`Service`] (what `#[mqtt_service]` implements).
    pub fn service(config: MqttConfig, service: T) -> Self {
        Runtime::new(config, T::router(), service).describe(T::INFO.name, T::INFO.version)
    }
}

/// A service's name and declared configuration defaults. Its routes (filters, QoS, options,
/// where each is declared) are in its [`router`](Service::router).
#[derive(Debug, Clone, Copy)]
pub struct ServiceInfo {
    /// The type name.
    pub name: &'static str,
    /// The version (`#[mqtt_service]` takes its crate's), empty when unknown.
    pub version: &'static str,
    /// Configuration defaults declared with the service (the environment and the builder
    /// override them).
    pub defaults: ServiceDefaults,
}

impl ServiceInfo {
    /// A service named `name`, with no defaults.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            version: "",
            defaults: ServiceDefaults::NONE,
        }
    }
    /// The version, as discovery reports it.
    pub const fn version(mut self, version: &'static str) -> Self {
        self.version = version;
        self
    }
    /// The version if known (`option_env!("CARGO_PKG_VERSION")`), as discovery reports it.
    pub const fn version_of(self, version: Option<&'static str>) -> Self {
        match version {
            Some(version) => self.version(version),
            None => self,
        }
    }
    /// Default client id.
    pub const fn client_id(mut self, client_id: &'static str) -> Self {
        self.defaults.client_id = Some(client_id);
        self
    }
    /// Default envelope source.
    pub const fn source(mut self, source: &'static str) -> Self {
        self.defaults.source = Some(source);
        self
    }
    /// Default health presence.
    pub const fn health(mut self, health: bool) -> Self {
        self.defaults.health = Some(health);
        self
    }
    /// Default heartbeat interval in seconds (turns the heartbeat on).
    pub const fn heartbeat(mut self, seconds: f64) -> Self {
        self.defaults.heartbeat = Some(seconds);
        self
    }
    /// Default dedup TTL in seconds.
    pub const fn dedupe_ttl(mut self, seconds: f64) -> Self {
        self.defaults.dedupe_ttl = Some(seconds);
        self
    }
    /// Default dedup capacity.
    pub const fn dedupe_max_entries(mut self, entries: usize) -> Self {
        self.defaults.dedupe_max_entries = Some(entries);
        self
    }
    /// Default protocol version (`MQTT_PROTOCOL` overrides it).
    pub const fn protocol(mut self, protocol: Protocol) -> Self {
        self.defaults.protocol = Some(protocol);
        self
    }
}

/// Configuration defaults declared with a service (`#[mqtt_service(client_id = "…", …)]`).
#[derive(Debug, Clone, Copy)]
pub struct ServiceDefaults {
    /// Client id.
    pub client_id: Option<&'static str>,
    /// Envelope source.
    pub source: Option<&'static str>,
    /// Health presence.
    pub health: Option<bool>,
    /// Heartbeat interval in seconds (turns the heartbeat on).
    pub heartbeat: Option<f64>,
    /// Dedup TTL in seconds.
    pub dedupe_ttl: Option<f64>,
    /// Dedup capacity.
    pub dedupe_max_entries: Option<usize>,
    /// Protocol version.
    pub protocol: Option<Protocol>,
}

impl ServiceDefaults {
    /// No defaults.
    pub const NONE: Self = Self {
        client_id: None,
        source: None,
        health: None,
        heartbeat: None,
        dedupe_ttl: None,
        dedupe_max_entries: None,
        protocol: None,
    };

    /// A configuration builder holding these defaults.
    pub fn builder(&self) -> ConfigBuilder {
        let mut b = MqttConfig::builder();
        if let Some(v) = self.client_id {
            b = b.client_id(v);
        }
        if let Some(v) = self.source {
            b = b.source(v);
        }
        if let Some(v) = self.health {
            b = b.health(v);
        }
        if let Some(v) = self.heartbeat {
            b = b
                .heartbeat(true)
                .heartbeat_interval(Duration::from_secs_f64(v));
        }
        if let Some(v) = self.dedupe_ttl {
            b = b.dedupe_ttl(Duration::from_secs_f64(v));
        }
        if let Some(v) = self.dedupe_max_entries {
            b = b.dedupe_max_entries(v);
        }
        if let Some(v) = self.protocol {
            b = b.protocol(v);
        }
        b
    }
}
