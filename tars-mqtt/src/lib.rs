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
//! ## Services with macros
//!
//! `#[mqtt_service]` on an inherent `impl` block and `#[subscribe("filter", …)]` on its
//! `async fn` methods generate the router above (feature `macros`, on by default):
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use tars_mqtt::prelude::*;
//!
//! #[derive(Deserialize)] struct MemoryQuery { text: String, top_k: Option<u32> }
//! #[derive(Serialize)] struct MemoryResults { query: String, results: Vec<String> }
//! #[derive(Deserialize)] struct Reading { celsius: f64 }
//!
//! struct MemoryWorker;
//!
//! #[mqtt_service(client_id = "tars-memory", source = "memory-worker", health = true, heartbeat = 5)]
//! impl MemoryWorker {
//!     /// Published to `memory/results` as `memory.results` with the request's envelope id.
//!     #[subscribe("memory/query", qos = 1, reply = "memory/results", event = "memory.results")]
//!     async fn query(&self, q: MemoryQuery) -> Result<MemoryResults, String> {
//!         Ok(MemoryResults { query: q.text, results: vec![] })
//!     }
//!
//!     /// `{room}` binds one level to the argument of the same name (parsed with `FromStr`).
//!     #[subscribe("sensors/{room}/temp")]
//!     async fn temp(&self, room: String, reading: Envelope<Reading>, ctx: &Context) {
//!         println!("{room}: {} °C on {}", reading.data.celsius, ctx.topic());
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), tars_mqtt::Error> {
//!     MemoryWorker.run_from_env().await // MQTT_URL, …; SIGTERM or Ctrl-C shuts down gracefully
//! }
//! ```
//!
//! The attributes' own documentation ([`mqtt_service`], [`subscribe`]) has every option, the
//! argument and return-value rules, and the code the macros generate.
//!
//! ## Where things are
//! The root holds what a service is made of: [`Runtime`], [`ServiceHandle`], [`Router`],
//! [`Route`], [`Service`], [`MqttConfig`], [`Publisher`], [`Context`], [`Json`], [`Envelope`],
//! [`QoS`], [`Overflow`], [`Readiness`], [`ConnectionState`] and the errors [`Error`],
//! [`ConfigError`], [`PublishError`], [`RequestError`]. The rest is grouped by concern:
//! [`config`] (builder, broker address, variable names), [`extract`] (every handler argument
//! type, the extractor traits and the argument rules, the same for hand-written handlers and
//! `#[subscribe]` methods), [`handler`] (the `Handler` and `IntoReply` traits),
//! [`publisher`] (the event and request builders), [`route`] (route options and counters),
//! [`runtime`] (shutdown handle, error reports), [`service`] (what `#[mqtt_service]`
//! declares), [`topic`] (the filter grammar), [`wire`] (envelope decoding, ids, presence
//! messages), [`raw`] (the rumqttc client) and `testing` (feature `testing`: brokers and a test
//! peer). `prelude` has the names a service module usually needs.
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

mod ack;
mod args;
pub mod asyncapi;
pub mod config;
mod connection;
mod controller;
mod dedup;
pub mod discovery;
mod dispatch;
mod envelope;
mod error;
pub mod extract;
pub mod handler;
mod inbound;
mod message;
#[cfg(feature = "metrics")]
pub mod metrics;
mod presence;
pub mod properties;
pub mod publisher;
mod qos;
pub mod raw;
pub mod route;
mod router;
pub mod runtime;
pub mod service;
mod state;
pub mod stats;
mod tls;
pub mod topic;

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "macros")]
pub use tars_mqtt_macros::{mqtt_service, subscribe};

/// The `schemars` crate the `asyncapi` feature uses (derive `JsonSchema` with it).
#[cfg(feature = "asyncapi")]
pub use schemars;

pub use config::MqttConfig;
pub use envelope::Envelope;
pub use error::{ConfigError, Error, PublishError, RequestError};
pub use extract::{Context, Json};
pub use publisher::Publisher;
pub use qos::QoS;
pub use route::Overflow;
pub use router::{Route, Router};
pub use runtime::{Runtime, ServiceHandle};
pub use service::Service;
pub use state::{ConnectionState, Readiness};

/// The wire format shared with the Python services: the envelope, its decoding rules and
/// errors, ids and timestamps, and the presence messages (health, heartbeat) with their topics.
pub mod wire {
    pub use crate::envelope::{
        DecodeError, ERROR_EVENT_TYPE, EncodeError, Envelope, EnvelopeHeader, new_id, now, present,
    };
    pub use crate::presence::{
        HEALTH_EVENT_TYPE, health_payload, health_topic, heartbeat_payload, heartbeat_topic,
    };
}

/// The names a service module usually needs: `use tars_mqtt::prelude::*;`.
pub mod prelude {
    pub use crate::extract::{Raw, Topic, TopicParams};
    pub use crate::{
        Context, Envelope, Json, MqttConfig, Publisher, QoS, Router, Runtime, Service,
    };
    #[cfg(feature = "macros")]
    pub use crate::{mqtt_service, subscribe};
}

#[doc(hidden)]
pub mod __private;

/// The README's example, compiled as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The getting-started guide's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../docs/getting-started.md")]
pub struct GettingStartedDoctests;
