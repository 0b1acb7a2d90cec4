//! `Service`: what `#[mqtt_service]` implements, and what a hand-written service can implement.

use std::future::Future;
use std::time::Duration;

use crate::QoS;
use crate::config::{ConfigBuilder, MqttConfig};
use crate::error::{ConfigError, Error};
use crate::router::Router;
use crate::runtime::{Runtime, ServiceHandle};

/// A type whose methods are the handlers of a service.
///
/// `#[mqtt_service]` implements it; it can also be written by hand:
///
/// ```no_run
/// use tars_mqtt::{Json, Route, Router, Service, service::{ServiceDefaults, ServiceInfo}, extract::State};
///
/// struct Echo;
/// impl Service for Echo {
///     fn info() -> &'static ServiceInfo {
///         static INFO: ServiceInfo = ServiceInfo {
///             name: "Echo",
///             defaults: ServiceDefaults { client_id: Some("echo"), ..ServiceDefaults::NONE },
///             subscriptions: &[],
///         };
///         &INFO
///     }
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
    /// Static description of the service.
    fn info() -> &'static ServiceInfo;

    /// The routes, with the service itself as state.
    fn router() -> Router<Self>;

    /// The configuration layers below explicit builder calls: the service's declared defaults,
    /// then the `MQTT_*` environment. Finish it with more builder calls and
    /// [`build`](ConfigBuilder::build).
    fn config() -> Result<ConfigBuilder, ConfigError> {
        Self::info()
            .defaults
            .builder()
            .env(|var| std::env::var(var).ok())
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
        Runtime::new(config, T::router(), service)
    }
}

/// Static description of a service.
#[derive(Debug)]
pub struct ServiceInfo {
    /// The type name.
    pub name: &'static str,
    /// Configuration defaults declared with the service (the environment and the builder
    /// override them).
    pub defaults: ServiceDefaults,
    /// Its subscriptions as declared.
    pub subscriptions: &'static [SubscriptionInfo],
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
        b
    }
}

/// One declared subscription.
#[derive(Debug)]
pub struct SubscriptionInfo {
    /// The filter as written.
    pub filter: &'static str,
    /// Its QoS.
    pub qos: QoS,
    /// The handler's name.
    pub handler: &'static str,
    /// Environment variable that overrides the filter at start-up.
    pub env: Option<&'static str>,
    /// Where it is declared: file, line, column.
    pub location: (&'static str, u32, u32),
}
