//! # tars-mqtt
//!
//! MQTT microservices from plain async functions. A service is a [`Router`] of handler functions
//! (or a type with `#[mqtt_service]` methods, which expands to the same thing); the [`Runtime`]
//! owns everything else: connection and reconnection with backoff, resubscription, routing to
//! every matching handler, envelope decoding, replies with correlation, presence (last will,
//! `ready`, heartbeat, `shutdown`), dedup and graceful shutdown.
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use tars_mqtt::{Json, MqttConfig, QoS, Route, Router, Runtime, Context};
//!
//! #[derive(Deserialize)] struct MemoryQuery { text: String }
//! #[derive(Serialize)] struct MemoryResults { query: String, results: Vec<String> }
//!
//! async fn query(Json(q): Json<MemoryQuery>) -> Json<MemoryResults> {
//!     Json(MemoryResults { query: q.text, results: vec![] })
//! }
//!
//! async fn temp(ctx: Context, Json(reading): Json<serde_json::Value>) {
//!     println!("{} in {:?}: {reading}", ctx.topic(), ctx.param("room"));
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), tars_mqtt::Error> {
//!     let router = Router::new()
//!         .route(Route::new("memory/query", query).qos(QoS::AtLeastOnce).reply("memory/results", "memory.results"))
//!         .subscribe("sensors/{room}/temp", QoS::AtMostOnce, temp);
//!     // MQTT_URL, MQTT_CLIENT_ID, …; runs until SIGTERM or Ctrl-C, then shuts down gracefully.
//!     Runtime::new(MqttConfig::from_env()?, router, ()).run().await
//! }
//! ```
//!
//! ## Configuration
//! [`MqttConfig::from_env`] reads the variables of the wire format (`MQTT_URL`, `MQTT_CLIENT_ID`,
//! `MQTT_SOURCE_NAME`, `MQTT_KEEPALIVE`, `MQTT_ENABLE_HEALTH`, `MQTT_ENABLE_HEARTBEAT`,
//! `MQTT_HEARTBEAT_INTERVAL`, `MQTT_DEDUPE_TTL`, `MQTT_DEDUPE_MAX_ENTRIES`,
//! `MQTT_RECONNECT_MIN_DELAY`, `MQTT_RECONNECT_MAX_DELAY`) plus `MQTT_PERSISTENT_SESSION`,
//! `MQTT_CA_FILE` and `MQTT_MAX_PACKET_SIZE`. [`MqttConfig::builder`] sets the same fields in
//! code; each layer overrides the one before.
//!
//! ## Routing
//! A message goes to **every** route whose filter matches (MQTT 3.1.1 §4.7: `#` also matches the
//! parent level, a topic starting with `$` is not matched by a leading wildcard, `$share/<group>/`
//! is stripped before matching), once per route. Lookup walks a level trie.
//!
//! ## Dispatch
//! Handlers never run on the network task. Each route has a bounded queue (default 1024) and,
//! by default, one worker, so its messages are handled in arrival order; `concurrency(n)` runs
//! `n` at once. When a queue is full the route's [`Overflow`] policy applies: `Block` (default)
//! stops reading from the connection until there is room, `DropOldest`/`DropNew` drop and
//! report. A payload that does not decode, a handler error, a panic or a timeout is reported
//! (`tracing` error with topic, route and payload excerpt, plus [`Runtime::on_error`]); on reply
//! routes an `error` envelope with the request's id is published to the reply topic.

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]

mod config;
mod connection;
mod controller;
mod dedup;
mod dispatch;
mod envelope;
mod error;
mod extract;
mod handler;
mod message;
mod presence;
mod publisher;
mod qos;
pub mod raw;
mod router;
mod runtime;
mod service;
mod tls;
mod topic;

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "macros")]
pub use tars_mqtt_macros::{mqtt_service, subscribe};

/// The names a service module usually needs: `use tars_mqtt::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Context, Envelope, Json, MqttConfig, Publisher, QoS, Raw, Router, Runtime, Service, Topic,
        TopicParams,
    };
    #[cfg(feature = "macros")]
    pub use crate::{mqtt_service, subscribe};
}

#[doc(hidden)]
pub mod __private;

pub use config::{BrokerAddress, ConfigBuilder, MqttConfig, Password, env};
pub(crate) use connection::AckGuard;
pub use connection::ConnectionState;
pub use dedup::Dedup;
pub use dispatch::{ErrorHook, ErrorKind, ErrorReport};
pub use envelope::{DecodeError, Envelope, EnvelopeHeader, new_id, now};
pub use error::{ConfigError, Error, PublishError, RequestError};
pub use extract::{
    Context, ExtractError, FromMessage, FromPayload, Json, Param, Raw, State, Topic, TopicParams,
    ViaMessage, ViaPayload,
};
pub use handler::{BoxFuture, Handler, IntoReply, Reply};
pub use message::Message;
pub use presence::{
    HEALTH_EVENT_TYPE, health_payload, health_topic, heartbeat_payload, heartbeat_topic,
};
pub use publisher::{ERROR_EVENT_TYPE, EventBuilder, Publisher, RequestBuilder};
pub use qos::QoS;
pub use router::{Overflow, ReplyTo, Route, RouteMeta, RouteStats, Router};
pub use runtime::{Readiness, Runtime, ServiceHandle, ShutdownHandle};
pub use service::{Service, ServiceDefaults, ServiceInfo, SubscriptionInfo};
pub use topic::{
    FilterError, FilterErrorKind, Level, MAX_TOPIC_LEN, TopicFilter, TopicNameError,
    validate_topic_name,
};

/// The README's example, compiled as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
