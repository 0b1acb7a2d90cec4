//! Discovery and stats over MQTT: every service answers `ping`, `info` and `stats` requests,
//! sent to all services at once or to one by name or client id.
//!
//! | request topic | who answers |
//! |---|---|
//! | `system/services/{verb}` | every service |
//! | `system/services/{verb}/{target}` | the services whose name or client id is `target` |
//!
//! `verb` is `ping`, `info`, `stats` or `asyncapi`. The request's payload may be empty or any envelope; the
//! answer is an envelope of type `service.{verb}` on `system/services/replies/{verb}` (or on an
//! MQTT 5 request's Response Topic, with its Correlation Data), with the request envelope's `id`
//! as its own. Every instance answers, also the members of a shared subscription group. The
//! answers are [`Ping`], [`Info`], [`Stats`] and the service's AsyncAPI document; their JSON
//! Schemas are in the wire-format documentation.
//!
//! ```
//! use tars_mqtt::discovery::{Verb, request_topic, reply_topic};
//!
//! assert_eq!(request_topic(Verb::Stats, None), "system/services/stats");
//! assert_eq!(request_topic(Verb::Stats, Some("tars-memory")), "system/services/stats/tars-memory");
//! assert_eq!(reply_topic(Verb::Stats), "system/services/replies/stats");
//! ```
//!
//! Turn it off with `MQTT_DISCOVERY=false` or [`ConfigBuilder::discovery`](crate::config::ConfigBuilder::discovery).

mod payload;
mod responder;

use std::fmt;
use std::str::FromStr;

pub(crate) use payload::describe_routes;
pub use payload::{
    Info, LastErrorReport, Ping, ProcessingReport, ReplyDescription, RouteDescription,
    RouteStatsReport, Stats,
};
pub(crate) use responder::Responder;

/// The first levels of every discovery topic.
pub const TOPIC_PREFIX: &str = "system/services";

/// What a discovery request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// Who is there: a [`Ping`].
    Ping,
    /// What each service does: an [`Info`] with its routes.
    Info,
    /// How each route is doing: [`Stats`].
    Stats,
    /// The service's AsyncAPI 3.0 document (see [`asyncapi`](crate::asyncapi)).
    AsyncApi,
}

impl Verb {
    /// Every verb.
    pub const ALL: [Verb; 4] = [Verb::Ping, Verb::Info, Verb::Stats, Verb::AsyncApi];

    /// `ping`, `info`, `stats` or `asyncapi`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ping => "ping",
            Self::Info => "info",
            Self::Stats => "stats",
            Self::AsyncApi => "asyncapi",
        }
    }

    /// The envelope type of the answer: `service.ping`, `service.info`, `service.stats` or
    /// `service.asyncapi`.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::Ping => "service.ping",
            Self::Info => "service.info",
            Self::Stats => "service.stats",
            Self::AsyncApi => "service.asyncapi",
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Verb {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a discovery verb (ping, info, stats, asyncapi)"))
    }
}

/// `system/services/{verb}`, or `system/services/{verb}/{target}` for the services whose name
/// or client id is `target`.
pub fn request_topic(verb: Verb, target: Option<&str>) -> String {
    match target {
        Some(target) => format!("{TOPIC_PREFIX}/{verb}/{target}"),
        None => format!("{TOPIC_PREFIX}/{verb}"),
    }
}

/// `system/services/replies/{verb}`: where the answers to `verb` requests are published.
pub fn reply_topic(verb: Verb) -> String {
    format!("{TOPIC_PREFIX}/replies/{verb}")
}
