//! `Service`: what `#[mqtt_service]` implements, and what a hand-written service can implement.

use crate::QoS;
use crate::router::Router;

/// A type whose methods are the handlers of a service.
///
/// ```no_run
/// use tars_mqtt::{Json, MqttConfig, Route, Router, Runtime, Service, ServiceInfo, State};
///
/// struct Echo;
/// impl Service for Echo {
///     fn info() -> &'static ServiceInfo {
///         static INFO: ServiceInfo = ServiceInfo { name: "Echo", subscriptions: &[] };
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
/// Runtime::service(MqttConfig::from_env()?, Echo).run().await
/// # }
/// ```
pub trait Service: Send + Sync + Sized + 'static {
    /// Static description of the service.
    fn info() -> &'static ServiceInfo;
    /// The routes, with the service itself as state.
    fn router() -> Router<Self>;
}

/// Static description of a service, for logs, docs and checks.
#[derive(Debug)]
pub struct ServiceInfo {
    /// The type name.
    pub name: &'static str,
    /// Its subscriptions as declared.
    pub subscriptions: &'static [SubscriptionInfo],
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
    /// Where it is declared: file, line, column.
    pub location: (&'static str, u32, u32),
}
