//! One received PUBLISH as handlers see it: shared by every route it matched.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use crate::envelope::EnvelopeHeader;
use crate::publisher::Publisher;
use crate::router::RouteMeta;
use crate::{AckGuard, QoS};

/// A received PUBLISH, shared (behind an `Arc`) by every route whose filter matched it.
#[derive(Debug)]
pub(crate) struct Inbound {
    pub(crate) topic: String,
    pub(crate) payload: Bytes,
    pub(crate) qos: QoS,
    pub(crate) retain: bool,
    pub(crate) dup: bool,
    header: OnceLock<EnvelopeHeader>,
    /// Acknowledges the PUBLISH when the last route is done with it (persistent sessions only).
    pub(crate) ack: Option<AckGuard>,
}

impl Inbound {
    pub(crate) fn new(topic: String, payload: Bytes, qos: QoS, retain: bool, dup: bool) -> Self {
        Self {
            topic,
            payload,
            qos,
            retain,
            dup,
            header: OnceLock::new(),
            ack: None,
        }
    }

    pub(crate) fn header(&self) -> &EnvelopeHeader {
        self.header
            .get_or_init(|| EnvelopeHeader::read(&self.payload))
    }

    /// The first bytes of the payload as text, for error reports.
    pub(crate) fn excerpt(&self) -> String {
        const MAX: usize = 120;
        let text = String::from_utf8_lossy(&self.payload[..self.payload.len().min(MAX)]);
        if self.payload.len() > MAX {
            format!("{text}… ({} bytes)", self.payload.len())
        } else {
            text.into_owned()
        }
    }
}

/// What an extractor sees: the message and the route it is being handled by.
#[derive(Debug, Clone)]
pub struct Message {
    pub(crate) inbound: Arc<Inbound>,
    pub(crate) route: Arc<RouteMeta>,
    pub(crate) publisher: Publisher,
}

impl Message {
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

    /// The publisher of the service.
    pub fn publisher(&self) -> &Publisher {
        &self.publisher
    }
}
