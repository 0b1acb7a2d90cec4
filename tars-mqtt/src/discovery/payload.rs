//! The `data` of the discovery answers, as they go on the wire (and as a client decodes them).

use serde::{Deserialize, Serialize};

/// The answer to `ping`: who a service instance is. Also the first fields of [`Info`] and
/// [`Stats`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "asyncapi", derive(schemars::JsonSchema))]
pub struct Ping {
    /// The service's name (the type's name for `#[mqtt_service]`).
    pub name: String,
    /// Its MQTT client id.
    pub client_id: String,
    /// A fresh id for each run of the process (32 hex characters): tells a restart apart.
    pub instance_id: String,
    /// The service's version (its crate's, for `#[mqtt_service]`); empty when unknown.
    pub version: String,
    /// When the service started, in seconds since the Unix epoch.
    pub started_at: f64,
}

/// The answer to `info`: a service instance and what it subscribes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "asyncapi", derive(schemars::JsonSchema))]
pub struct Info {
    /// Who it is.
    #[serde(flatten)]
    pub service: Ping,
    /// `tars-mqtt <version>`.
    pub framework: String,
    /// `3.1.1` or `5`.
    pub protocol: String,
    /// The `source` of its envelopes.
    pub source: String,
    /// The broker it is connected to (`mqtt://host:port`, no credentials).
    pub endpoint: String,
    /// Its routes, in declaration order.
    pub routes: Vec<RouteDescription>,
}

/// A route as [`Info`] describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "asyncapi", derive(schemars::JsonSchema))]
pub struct RouteDescription {
    /// The handler's name (the filter for a route without one).
    pub name: String,
    /// The filter as declared, with `{name}` parameters and any `$share/<group>/` prefix.
    pub filter: String,
    /// Subscription QoS: 0, 1 or 2.
    pub qos: u8,
    /// Where its replies go, if anywhere.
    pub reply: Option<ReplyDescription>,
    /// The group of a `$share/<group>/` filter.
    pub shared_group: Option<String>,
    /// The queue group it shares with other routes of the service.
    pub queue_group: Option<String>,
    /// Handler runs at once.
    pub concurrency: usize,
    /// Queue capacity.
    pub queue_capacity: usize,
    /// `block`, `drop_oldest` or `drop_new`.
    pub overflow: String,
    /// The handler timeout in milliseconds, if any.
    pub timeout_ms: Option<f64>,
    /// Where it was declared (`file:line:column`), when known.
    pub origin: Option<String>,
}

/// A route's reply topic and envelope type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "asyncapi", derive(schemars::JsonSchema))]
pub struct ReplyDescription {
    /// The topic (`{name}` levels are the request topic's parameters).
    pub topic: String,
    /// The envelope type.
    pub event_type: String,
}

/// The answer to `stats`: how each route of a service instance is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "asyncapi", derive(schemars::JsonSchema))]
pub struct Stats {
    /// Who it is.
    #[serde(flatten)]
    pub service: Ping,
    /// When the figures were taken, in seconds since the Unix epoch.
    pub ts: f64,
    /// One entry per route, in declaration order.
    pub routes: Vec<RouteStatsReport>,
}

/// One route's counters since the service started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "asyncapi", derive(schemars::JsonSchema))]
pub struct RouteStatsReport {
    /// The route's name.
    pub name: String,
    /// Its filter.
    pub filter: String,
    /// Messages that matched it.
    pub received: u64,
    /// Handler runs that succeeded.
    pub handled: u64,
    /// Payloads (or topic parameters) that did not decode.
    pub decode_errors: u64,
    /// Handler runs that returned an error.
    pub handler_errors: u64,
    /// Handler runs that panicked.
    pub panics: u64,
    /// Handler runs cancelled by the timeout.
    pub timeouts: u64,
    /// Messages dropped by the overflow policy.
    pub dropped: u64,
    /// Replies that could not be published.
    pub reply_errors: u64,
    /// Messages waiting in its queue now (shared by a queue group's routes).
    pub queue_depth: usize,
    /// The most ever waiting at once.
    pub queue_max: usize,
    /// Processing times over the latest runs.
    pub processing_ms: ProcessingReport,
    /// The latest failure, if any.
    pub last_error: Option<LastErrorReport>,
}

/// Processing times (decoding and handler) over the latest (up to 1024) runs, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "asyncapi", derive(schemars::JsonSchema))]
pub struct ProcessingReport {
    /// How many runs the figures are taken over.
    pub samples: usize,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Longest.
    pub max: f64,
}

/// A route's latest failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "asyncapi", derive(schemars::JsonSchema))]
pub struct LastErrorReport {
    /// `decode error`, `handler error`, `handler panicked`, `handler timed out`,
    /// `message dropped` or `reply failed`.
    pub kind: String,
    /// What went wrong.
    pub message: String,
    /// When, in seconds since the Unix epoch.
    pub at: f64,
}

/// Every route of `router` as [`Info`] describes it.
pub(crate) fn describe_routes<S: Send + Sync + 'static>(
    router: &crate::Router<S>,
) -> Vec<RouteDescription> {
    router
        .routes()
        .map(|r| RouteDescription {
            name: r.name.to_owned(),
            filter: r.filter.to_owned(),
            qos: r.qos as u8,
            reply: r.reply.map(|reply| ReplyDescription {
                topic: reply.topic.clone(),
                event_type: reply.event_type.clone(),
            }),
            shared_group: crate::topic::TopicFilter::parse(r.filter)
                .ok()
                .and_then(|f| f.share_group().map(str::to_owned)),
            queue_group: r.group.map(str::to_owned),
            concurrency: r.concurrency,
            queue_capacity: r.queue_capacity,
            overflow: match r.overflow {
                crate::Overflow::Block => "block",
                crate::Overflow::DropOldest => "drop_oldest",
                crate::Overflow::DropNew => "drop_new",
            }
            .to_owned(),
            timeout_ms: r.timeout.map(|t| t.as_secs_f64() * 1e3),
            origin: r.origin.map(str::to_owned),
        })
        .collect()
}
