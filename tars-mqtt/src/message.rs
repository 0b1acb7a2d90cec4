//! `Context`: one received message as a handler sees it (topic, payload, delivery flags, the
//! envelope header, the route's parameters) and the service's publisher.

use std::sync::Arc;

use bytes::Bytes;

use crate::QoS;
use crate::envelope::EnvelopeHeader;
use crate::inbound::Inbound;
use crate::properties::Properties;
use crate::publisher::Publisher;
use crate::route::RouteMeta;

/// The request context: the message being handled, the route handling it, and the publisher.
///
/// It is an extractor itself (`ctx: &Context` or `ctx: Context` as a handler argument), and what
/// every extractor is built from ([`FromMessage`](crate::extract::FromMessage)).
///
/// ```
/// use tars_mqtt::Context;
///
/// async fn log(ctx: Context) {
///     let room = ctx.param("room").unwrap_or("?");
///     println!("{} (room {room}, id {:?})", ctx.topic(), ctx.envelope_header().id);
/// }
/// # let _ = tars_mqtt::Route::<()>::new("sensors/{room}/temp", log);
/// ```
#[derive(Debug, Clone)]
pub struct Context {
    pub(crate) inbound: Arc<Inbound>,
    pub(crate) route: Arc<RouteMeta>,
    pub(crate) publisher: Publisher,
}

impl Context {
    /// The concrete topic the message was published to.
    pub fn topic(&self) -> &str {
        &self.inbound.topic
    }

    /// The raw payload.
    pub fn payload(&self) -> &Bytes {
        &self.inbound.payload
    }

    /// The QoS the message was delivered with.
    pub fn qos(&self) -> QoS {
        self.inbound.qos
    }

    /// Whether the message is a retained one.
    pub fn retain(&self) -> bool {
        self.inbound.retain
    }

    /// Whether the broker flagged it as a redelivery.
    pub fn dup(&self) -> bool {
        self.inbound.dup
    }

    /// The filter of the route handling it, as written (parameters included).
    pub fn matched_filter(&self) -> &str {
        self.route.filter.as_str()
    }

    /// The route (handler) name.
    pub fn route_name(&self) -> &str {
        &self.route.name
    }

    /// The envelope fields other than `data` (all `None` for non-envelope payloads).
    pub fn envelope_header(&self) -> &EnvelopeHeader {
        self.inbound.header()
    }

    /// The value of the `{name}` parameter of the route's filter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Every `{name}` parameter with its value.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.route.filter.param_values(&self.inbound.topic)
    }

    /// The message's MQTT 5 properties (empty on 3.1.1, or when it has none).
    pub fn properties(&self) -> &Properties {
        static NONE: Properties = Properties::NONE;
        self.inbound.properties.as_deref().unwrap_or(&NONE)
    }

    /// The publisher of the service.
    pub fn publisher(&self) -> &Publisher {
        &self.publisher
    }
}
