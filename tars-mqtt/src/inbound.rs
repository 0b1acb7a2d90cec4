//! One received PUBLISH as the connection hands it over: shared (behind an `Arc`) by every
//! route it matched, acknowledged when the last of them is done with it.

use std::borrow::Cow;
use std::sync::OnceLock;

use bytes::Bytes;

use crate::QoS;
use crate::ack::AckGuard;
use crate::envelope::EnvelopeHeader;
use crate::properties::Properties;

/// A received PUBLISH, shared (behind an `Arc`) by every route whose filter matched it.
#[derive(Debug)]
pub(crate) struct Inbound {
    pub(crate) topic: String,
    pub(crate) payload: Bytes,
    pub(crate) qos: QoS,
    pub(crate) retain: bool,
    pub(crate) dup: bool,
    /// MQTT 5 properties, when it has any.
    pub(crate) properties: Option<Box<Properties>>,
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
            properties: None,
            header: OnceLock::new(),
            ack: None,
        }
    }

    pub(crate) fn header(&self) -> &EnvelopeHeader {
        self.header
            .get_or_init(|| EnvelopeHeader::read(&self.payload))
    }

    /// The MQTT 5 Response Topic of a request, when it has a valid one.
    pub(crate) fn response_topic(&self) -> Option<&str> {
        let topic = self.properties.as_ref()?.response_topic.as_deref()?;
        crate::topic::validate_topic_name(topic).ok()?;
        Some(topic)
    }

    /// Where to answer this message and with which properties: an MQTT 5 request's Response
    /// Topic (when valid) with its Correlation Data echoed, else `fallback` with `properties`.
    pub(crate) fn reply_target<'a>(
        &'a self,
        fallback: Option<Cow<'a, str>>,
        properties: Option<Properties>,
    ) -> Option<(Cow<'a, str>, Option<Properties>)> {
        match self.response_topic() {
            Some(topic) => {
                let mut properties = properties.unwrap_or_default();
                properties.correlation_data = self
                    .properties
                    .as_ref()
                    .and_then(|p| p.correlation_data.clone());
                Some((Cow::Borrowed(topic), Some(properties)))
            }
            None => fallback.map(|topic| (topic, properties)),
        }
    }

    /// The envelope id of an answer to this message: the request envelope's id, or a fresh one.
    pub(crate) fn reply_id(&self) -> String {
        self.header()
            .id
            .clone()
            .unwrap_or_else(crate::envelope::new_id)
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
