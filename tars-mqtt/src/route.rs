//! What a route is once built: its options, its reply topic and its counters, shared with every
//! message it handles.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::QoS;
use crate::stats::RouteStats;
use crate::topic::TopicFilter;

/// Builds the JSON Schema of a type, for the AsyncAPI document (see the [`asyncapi`](crate::asyncapi)
/// module; `Route::payload_schema` with the feature `asyncapi`).
pub type SchemaFn = fn() -> serde_json::Value;

/// What a route does when its queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Wait for room: the connection stops reading until the handler catches up (backpressure
    /// to the broker). Nothing is dropped.
    #[default]
    Block,
    /// Drop the oldest queued message to make room (reported).
    DropOldest,
    /// Drop the new message (reported).
    DropNew,
}

/// Where a route's return value is published.
///
/// A `{name}` level of the topic is replaced by the `{name}` parameter of the request's topic:
/// a route on `home/{room}/cmd` replying on `home/{room}/ack` answers a request on
/// `home/kitchen/cmd` on `home/kitchen/ack`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    /// Reply topic.
    pub topic: String,
    /// Envelope type of the reply.
    pub event_type: String,
}

impl ReplyTo {
    /// The names of the topic's `{name}` levels.
    pub(crate) fn params(&self) -> impl Iterator<Item = &str> {
        self.topic
            .split('/')
            .filter_map(|level| level.strip_prefix('{')?.strip_suffix('}'))
    }

    /// The topic to reply on for a request on `topic`, handled by the route of `filter`.
    pub(crate) fn topic_for<'a>(&'a self, filter: &TopicFilter, topic: &str) -> Cow<'a, str> {
        if self.params().next().is_none() {
            return Cow::Borrowed(&self.topic);
        }
        let levels: Vec<&str> = self
            .topic
            .split('/')
            .map(
                |level| match level.strip_prefix('{').and_then(|l| l.strip_suffix('}')) {
                    Some(name) => filter
                        .param_values(topic)
                        .find_map(|(n, value)| (n == name).then_some(value))
                        .unwrap_or(level),
                    None => level,
                },
            )
            .collect();
        Cow::Owned(levels.join("/"))
    }
}

/// A route as declared, listed by [`Router::routes`](crate::Router::routes): what the service
/// will subscribe to and how it will handle it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RouteInfo<'a> {
    /// The name (the handler's, for `#[subscribe]` methods; the filter otherwise).
    pub name: &'a str,
    /// The filter as given (with `{name}` parameters and any `$share/<group>/` prefix).
    pub filter: &'a str,
    /// Subscription QoS.
    pub qos: QoS,
    /// Where replies are published.
    pub reply: Option<&'a ReplyTo>,
    /// Queue group shared with other routes.
    pub group: Option<&'a str>,
    /// Handler runs in parallel.
    pub concurrency: usize,
    /// Queue capacity.
    pub queue_capacity: usize,
    /// Overflow policy.
    pub overflow: Overflow,
    /// Handler timeout.
    pub timeout: Option<Duration>,
    /// Where it was declared (`file:line:column` for `#[subscribe]` methods).
    pub origin: Option<&'a str>,
    /// The JSON Schema of the payload's `data`, when known (feature `asyncapi`).
    pub payload_schema: Option<SchemaFn>,
    /// The JSON Schema of the reply's `data`, when known (feature `asyncapi`).
    pub reply_schema: Option<SchemaFn>,
}

/// A route's static description, shared with its messages.
pub struct RouteMeta {
    pub(crate) name: String,
    pub(crate) filter: TopicFilter,
    pub(crate) qos: QoS,
    pub(crate) reply: Option<ReplyTo>,
    pub(crate) queue_capacity: usize,
    pub(crate) concurrency: usize,
    pub(crate) overflow: Overflow,
    pub(crate) timeout: Option<Duration>,
    pub(crate) group: Option<String>,
    /// MQTT 5 properties sent with every reply.
    pub(crate) reply_properties: Option<crate::properties::Properties>,
    pub(crate) stats: RouteStats,
}

impl fmt::Debug for RouteMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteMeta")
            .field("name", &self.name)
            .field("filter", &self.filter.as_str())
            .finish_non_exhaustive()
    }
}

impl RouteMeta {
    /// The route's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The route's filter.
    pub fn filter(&self) -> &TopicFilter {
        &self.filter
    }
    /// The route's counters.
    pub fn stats(&self) -> &RouteStats {
        &self.stats
    }
}
