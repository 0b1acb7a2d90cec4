//! MQTT 5 message properties: what a received message carries besides its payload, and what a
//! publish or a reply sends with it. On MQTT 3.1.1 a received message has none and what is set
//! for a publish is not sent (the protocol has no place for it).

use std::time::Duration;

use bytes::Bytes;
use futures_util::future::Either;

/// The user property that carries a W3C trace context (`traceparent`).
pub const TRACEPARENT: &str = "traceparent";

/// The MQTT 5 properties of a message.
///
/// As a handler argument it gives the received message's properties (all empty on MQTT 3.1.1):
///
/// ```
/// use tars_mqtt::properties::Properties;
///
/// async fn audit(props: Properties) {
///     if let Some(tenant) = props.user_property("tenant") {
///         println!("for {tenant}, content type {:?}", props.content_type);
///     }
/// }
/// # let _ = tars_mqtt::Route::<()>::new("audit/#", audit);
/// ```
///
/// To send properties, set them on [`EventBuilder`](crate::publisher::EventBuilder) or on a
/// route's replies ([`Route::reply_properties`](crate::Route::reply_properties)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Properties {
    /// User properties, in order; a name may repeat.
    pub user: Vec<(String, String)>,
    /// Content type (e.g. `application/json`).
    pub content_type: Option<String>,
    /// Where the sender wants the reply (request/reply the MQTT 5 way).
    pub response_topic: Option<String>,
    /// Opaque bytes the reply echoes, so the requester can match it.
    pub correlation_data: Option<Bytes>,
    /// How long the broker keeps the message for subscribers that have not received it; on a
    /// received message, what is left of it.
    pub message_expiry: Option<Duration>,
    /// Whether the sender declared the payload UTF-8 text (payload format indicator 1).
    pub utf8_payload: bool,
}

impl Properties {
    /// No properties.
    pub(crate) const NONE: Self = Self {
        user: Vec::new(),
        content_type: None,
        response_topic: None,
        correlation_data: None,
        message_expiry: None,
        utf8_payload: false,
    };

    /// The value of the first user property called `name`.
    ///
    /// ```
    /// let mut props = tars_mqtt::properties::Properties::default();
    /// props.user.push(("tenant".into(), "tars".into()));
    /// assert_eq!(props.user_property("tenant"), Some("tars"));
    /// assert_eq!(props.user_property("other"), None);
    /// ```
    pub fn user_property(&self, name: &str) -> Option<&str> {
        self.user
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Adds a user property (builder style).
    pub fn with_user_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.user.push((name.into(), value.into()));
        self
    }

    /// Sets the content type (builder style).
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Sets the message expiry (builder style); whole seconds are sent, at least one.
    pub fn with_message_expiry(mut self, expiry: Duration) -> Self {
        self.message_expiry = Some(expiry);
        self
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The W3C trace context the message carries (its `traceparent` user property), when it
    /// is well-formed.
    pub fn traceparent(&self) -> Option<TraceParent> {
        self.user_property(TRACEPARENT)?.parse().ok()
    }

    /// Sets or replaces a user property.
    pub(crate) fn set_user_property(&mut self, name: &str, value: String) {
        match self.user.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.user.push((name.to_owned(), value)),
        }
    }

    /// The message expiry in whole seconds, as MQTT 5 sends it (at least 1).
    pub(crate) fn expiry_secs(&self) -> Option<u32> {
        self.message_expiry
            .map(|d| u32::try_from(d.as_secs().max(1)).unwrap_or(u32::MAX))
    }
}

/// A W3C trace context (`version-traceid-parentid-flags`, lower-case hex).
///
/// ```
/// use tars_mqtt::properties::TraceParent;
/// let t: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap();
/// assert_eq!(t.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// let child = t.child();
/// assert_eq!(child.trace_id(), t.trace_id());
/// assert_ne!(child.parent_id(), t.parent_id());
/// assert!("00-00000000000000000000000000000000-00f067aa0ba902b7-01".parse::<TraceParent>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    trace_id: String,
    parent_id: String,
    flags: String,
}

impl TraceParent {
    /// The 32-digit trace id shared by every span of the trace.
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// The 16-digit id of the span that sent the message.
    pub fn parent_id(&self) -> &str {
        &self.parent_id
    }

    /// The trace flags (`01`: sampled).
    pub fn flags(&self) -> &str {
        &self.flags
    }

    /// The same trace with a fresh span id: what a message sent while handling this one carries.
    pub fn child(&self) -> Self {
        let span = getrandom::u64().unwrap_or(1).max(1);
        Self {
            trace_id: self.trace_id.clone(),
            parent_id: format!("{span:016x}"),
            flags: self.flags.clone(),
        }
    }
}

impl std::str::FromStr for TraceParent {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = |p: &str, len: usize| {
            p.len() == len && p.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        let zero = |p: &str| p.bytes().all(|b| b == b'0');
        let parts: Vec<&str> = s.trim().split('-').collect();
        match parts[..] {
            [version, trace, parent, flags]
                if hex(version, 2)
                    && version != "ff"
                    && hex(trace, 32)
                    && !zero(trace)
                    && hex(parent, 16)
                    && !zero(parent)
                    && hex(flags, 2) =>
            {
                Ok(Self {
                    trace_id: trace.to_owned(),
                    parent_id: parent.to_owned(),
                    flags: flags.to_owned(),
                })
            }
            _ => Err("not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)"),
        }
    }
}

impl std::fmt::Display for TraceParent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "00-{}-{}-{}", self.trace_id, self.parent_id, self.flags)
    }
}

impl Properties {
    /// About how many bytes these take in a PUBLISH (for the packet size check).
    pub(crate) fn wire_len(&self) -> usize {
        let text = |s: &Option<String>| s.as_ref().map_or(0, |s| 3 + s.len());
        4 + self
            .user
            .iter()
            .map(|(k, v)| 5 + k.len() + v.len())
            .sum::<usize>()
            + text(&self.content_type)
            + text(&self.response_topic)
            + self.correlation_data.as_ref().map_or(0, |d| 3 + d.len())
            + if self.message_expiry.is_some() { 5 } else { 0 }
            + if self.utf8_payload { 2 } else { 0 }
    }
}

tokio::task_local! {
    /// The trace context of the message whose handler is running.
    static TRACE: TraceParent;
}

/// Runs `handler` with `trace` as the trace context that its publishes carry on. (Not an
/// `async fn`: that would hold `handler` twice in its state, once per branch.)
pub(crate) fn in_trace<F: std::future::Future>(
    trace: Option<TraceParent>,
    handler: F,
) -> impl std::future::Future<Output = F::Output> {
    match trace {
        Some(trace) => Either::Left(TRACE.scope(trace, handler)),
        None => Either::Right(handler),
    }
}

/// What a publish made now carries: `properties` with, inside a handler of a traced message and
/// unless it has its own, a `traceparent` continuing that trace.
pub(crate) fn traced(properties: Option<Properties>) -> Option<Properties> {
    let has_own = properties
        .as_ref()
        .is_some_and(|p| p.user_property(TRACEPARENT).is_some());
    if has_own {
        return properties;
    }
    match TRACE.try_with(TraceParent::child) {
        Ok(child) => {
            let mut properties = properties.unwrap_or_default();
            properties.set_user_property(TRACEPARENT, child.to_string());
            Some(properties)
        }
        Err(_) => properties,
    }
}
