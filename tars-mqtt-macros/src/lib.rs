//! Attribute macros for [`tars-mqtt`](https://docs.rs/tars-mqtt): `#[mqtt_service]` on an
//! inherent `impl` block and `#[subscribe("topic/filter", …)]` on its `async fn` handlers.
//! Use them through `tars_mqtt` (feature `macros`, on by default): `use tars_mqtt::prelude::*;`.

mod attr;
mod ctxt;
mod fallback;
mod paths;
mod service;
mod subscribe;
mod suggest;
mod topic;

#[cfg(test)]
mod snapshots;

use proc_macro::TokenStream;

/// Turns an inherent `impl` block into a tars-mqtt service: its `#[subscribe]` methods become the
/// routes of a `tars_mqtt::Service` implementation.
///
/// ```no_run
/// use serde::{Deserialize, Serialize};
/// use tars_mqtt::prelude::*;
///
/// #[derive(Deserialize)] struct MemoryQuery { text: String }
/// #[derive(Serialize)] struct MemoryResults { query: String, results: Vec<String> }
///
/// struct MemoryWorker;
///
/// #[mqtt_service(client_id = "tars-memory", source = "memory-worker", health = true, heartbeat = 5)]
/// impl MemoryWorker {
///     #[subscribe("memory/query", qos = 1, reply = "memory/results", event = "memory.results")]
///     async fn query(&self, q: MemoryQuery) -> Result<MemoryResults, String> {
///         Ok(MemoryResults { query: q.text, results: vec![] })
///     }
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), tars_mqtt::Error> {
///     MemoryWorker.run_from_env().await // MQTT_URL, …; SIGTERM or Ctrl-C shuts down gracefully
/// }
/// ```
///
/// | option | meaning |
/// |---|---|
/// | `client_id = "…"` | default client id (`MQTT_CLIENT_ID` overrides) |
/// | `source = "…"` | default envelope source (`MQTT_SOURCE_NAME` overrides) |
/// | `health = true` | presence on `system/health/{client_id}`: `ready`, `shutdown`, the `offline` last will |
/// | `heartbeat = 5` | heartbeat on `system/keepalive/{client_id}` every 5 s |
/// | `dedupe_ttl = 30, dedupe_max_entries = 10000` | duplicate suppression (both or neither) |
/// | `protocol = 5` | speak MQTT 5 (`"3.1.1"` is the default; `MQTT_PROTOCOL` overrides) |
/// | `crate = "path"` | where `tars_mqtt` is, if renamed or re-exported |
///
/// Configuration layers: these defaults, then the `MQTT_*` environment, then builder calls
/// (`Service::config()` returns the first two as a builder). The impl block must be inherent and
/// not generic; handlers are `async fn` methods taking `&self`.
///
/// # Equivalent code
///
/// The macro re-emits the `impl` block without its `#[subscribe]` attributes and adds, inside
/// `const _: () = { … };`, roughly this (the exact expansion of a two-handler service is
/// `tests/expand/memory_worker.expanded.rs` in this crate, kept current by a test):
///
/// ```
/// # #[derive(serde::Deserialize)] struct MemoryQuery { text: String }
/// # #[derive(serde::Serialize)] struct MemoryResults { query: String }
/// # struct MemoryWorker;
/// # impl MemoryWorker {
/// #     async fn query(&self, q: MemoryQuery) -> Result<MemoryResults, String> {
/// #         Ok(MemoryResults { query: q.text })
/// #     }
/// # }
/// const _: () = {
///     use ::tars_mqtt::__private as __tm;
///     impl __tm::Service for MemoryWorker
///     where
///         MemoryWorker: ::core::marker::Send + ::core::marker::Sync,
///     {
///         const INFO: __tm::ServiceInfo = __tm::ServiceInfo::new("MemoryWorker")
///             .version_of(::core::option_env!("CARGO_PKG_VERSION"))
///             .client_id("tars-memory")
///             .source("memory-worker")
///             .health(true)
///             .heartbeat(5f64);
///         fn router() -> __tm::Router<Self> {
///             __tm::router([
///                 __tm::route("query", "memory/query", __tm::QoS::AtLeastOnce)
///                     .args((__tm::state(), __tm::data()))
///                     .to(async move |(s, a0)| __tm::result(Self::query(&s, a0).await))
///                     .reply("memory/results", "memory.results")
///                     .schemas(__tm::schemas!(MemoryQuery, MemoryResults)),
///             ])
///         }
///     }
/// };
/// # use tars_mqtt::Service;
/// # assert_eq!(MemoryWorker::router().routes().count(), 1);
/// ```
///
/// Each route is an ordinary [`Handler`](../tars_mqtt/handler/trait.Handler.html): `.args(…)`
/// lists how each argument is extracted (the same extractor traits as hand-written routes;
/// `&self` is the `State`), `.to(…)` calls the method with the values, and the return value goes
/// through `IntoReply`; the route's options are `Route`'s own builder methods. Argument rules are
/// documented once, in `tars_mqtt::extract`.
///
/// Mistakes are compile errors at the offending token, one error per mistake; the catalogue,
/// with a test for each, is `docs/diagnostics.md` in the repository.
#[proc_macro_attribute]
pub fn mqtt_service(args: TokenStream, item: TokenStream) -> TokenStream {
    service::expand(args.into(), item.into()).into()
}

/// Marks a handler of an [`macro@mqtt_service`] impl block: the `async fn` runs for every message
/// on a topic the filter matches.
///
/// ```no_run
/// # use serde::Deserialize;
/// # use tars_mqtt::prelude::*;
/// # #[derive(Deserialize)] struct Reading { celsius: f64 }
/// # struct Sensors;
/// #[mqtt_service(client_id = "sensors")]
/// impl Sensors {
///     /// `{room}` binds one level to the argument of the same name (parsed with `FromStr`).
///     #[subscribe("sensors/{room}/temp", concurrency = 4, timeout = "2s")]
///     async fn temp(&self, room: String, reading: Envelope<Reading>, ctx: &Context) {
///         println!("{room}: {} °C on {}", reading.data.celsius, ctx.topic());
///     }
/// }
/// ```
///
/// | option | meaning |
/// |---|---|
/// | `"filter"` (first, required) | MQTT filter; `+`, `#`, and `{name}` levels bound to arguments; checked at compile time |
/// | `qos = 0..=2` | subscription QoS (default 0) |
/// | `reply = "topic"`, `event = "type"` | where the return value goes, and its envelope type (default: the topic with `/` → `.`); a `{name}` level of the reply is the request topic's `{name}` (checked against the filter); a reply topic that one of the service's own filters matches is an error (a reply storm) |
/// | `allow_reply_loop = true` | the replies are meant to come back to the service (a relay): no reply-storm error |
/// | `shared = "group"` | subscribe as `$share/group/filter` to split load between instances |
/// | `group = "name"` | handlers of one group share a queue: messages handled in arrival order across them |
/// | `concurrency = N`, `queue = N` | parallel runs (default 1, in order) and queue capacity (default 1024) |
/// | `overflow = "block" \| "drop_oldest" \| "drop_new"` | what a full queue does (default `block`) |
/// | `timeout = "5s"` | cancel and report a run after this long (`ms`, `s`, `m`) |
/// | `env = "VAR"` | take the filter from `VAR` (letters, digits, `_`) at start-up when set (validated; the error names the handler) |
///
/// **Arguments.** After `&self`, an argument is a topic parameter when its name matches a
/// `{name}` of the filter (any `FromStr` type); an extractor when it is a reference
/// (`&Context`), marked `#[extract]`, or of an extractor type (`Context`, `Topic`,
/// `TopicParams`, `Raw`, `Publisher`, `State<S>`, `Param<T, N>`, `Properties`); otherwise it is the payload,
/// at most one: `Json<T>`, `Envelope<T>`, or any `T: Deserialize` decoded from the envelope's
/// `data`. These are the rules of hand-written handlers (`tars_mqtt::extract`), with two
/// spellings added: `{name}` arguments for `Param<T, N>`, and `&T` to borrow an extractor.
///
/// **Return values.** `()` or `Result<(), E>` publish nothing. With `reply`, a value
/// `T: Serialize`, `Result<T, E>` or `Option<T>` is published there as an envelope with the
/// request's id (`None` publishes nothing). An `Err` is reported (the error hook gets it as its
/// source, to downcast) and answered with an `error` envelope; `E` is an error type
/// (`std::error::Error + Send + Sync + 'static`) or a `String`.
#[proc_macro_attribute]
pub fn subscribe(args: TokenStream, item: TokenStream) -> TokenStream {
    subscribe::standalone::expand(args.into(), item.into()).into()
}
