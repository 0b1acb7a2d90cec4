//! Error types, one enum per layer.

use std::time::Duration;

use crate::topic::{FilterError, TopicNameError};

/// A configuration value that is missing or breaks its rule. The message names the variable
/// (or builder field) and the rule; a password never appears in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting was not given.
    #[error("{var} is required but not set")]
    Missing {
        /// The environment variable (or builder field) name.
        var: &'static str,
    },
    /// A setting is present but invalid.
    #[error("{var} is invalid: {rule} (got `{value}`)")]
    Invalid {
        /// The environment variable (or builder field) name.
        var: &'static str,
        /// The rule that was broken.
        rule: String,
        /// The offending value, with any password removed.
        value: String,
    },
    /// The TLS set-up could not be built (CA file unreadable, no usable roots…).
    #[error("TLS configuration failed: {0}")]
    Tls(String),
}

/// Publishing failed before the message reached the client's outgoing queue.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The topic name cannot be published to.
    #[error("cannot publish to `{topic}`: {source}")]
    InvalidTopic {
        /// The rejected topic.
        topic: String,
        /// Why it was rejected.
        source: TopicNameError,
    },
    /// The packet would exceed `MQTT_MAX_PACKET_SIZE`.
    #[error(
        "the message to `{topic}` would be {size} bytes, more than the maximum packet size {limit}"
    )]
    TooLarge {
        /// The topic.
        topic: String,
        /// The packet size it would have.
        size: usize,
        /// The configured maximum.
        limit: usize,
    },
    /// The data could not be serialized, or is not a JSON object (the envelope's `data` must be one).
    #[error(transparent)]
    Encode(#[from] crate::envelope::EncodeError),
    /// The outgoing queue stayed full for the whole publish timeout (broker down for long, or overload).
    #[error("the outgoing queue stayed full for {0:?}; the message was not sent")]
    Timeout(Duration),
    /// The service has shut down.
    #[error("the service is shut down")]
    Closed,
}

/// A request did not get its reply.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Publishing the request failed.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The reply topic is not a valid filter.
    #[error("invalid reply topic: {0}")]
    ReplyTopic(#[from] FilterError),
    /// No request was sent because `reply_on` was not given.
    #[error("a request needs a reply topic: call `.reply_on(\"…\")`")]
    NoReplyTopic,
    /// Subscribing to the reply topic failed (refused by the broker).
    #[error("the broker refused the subscription to reply topic `{0}`")]
    SubscribeRefused(String),
    /// No correlated reply arrived in time.
    #[error("no reply on `{topic}` within {timeout:?} (request id {id})")]
    Timeout {
        /// The reply topic.
        topic: String,
        /// The request id that was awaited.
        id: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// The responder answered with an error envelope (type `error`).
    #[error("the responder reported an error: {0}")]
    Remote(String),
    /// The reply did not decode into the expected type.
    #[error("the reply did not decode: {0}")]
    Decode(#[from] crate::envelope::DecodeError),
    /// The service has shut down.
    #[error("the service is shut down")]
    Closed,
}

/// Errors that stop a runtime from starting or running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A route's topic filter is invalid.
    #[error("route `{route}`{origin}: invalid topic filter `{filter}`: {source}")]
    Route {
        /// The route (handler) name.
        route: String,
        /// Where it was declared, as ` (file:line:column, …)`, or empty.
        origin: String,
        /// The filter as given.
        filter: String,
        /// What is wrong with it.
        source: FilterError,
    },
    /// A route's reply topic is not a topic name one can publish to.
    #[error("route `{route}`{origin}: invalid reply topic `{topic}`: {source}")]
    ReplyTopic {
        /// The route (handler) name.
        route: String,
        /// Where it was declared, as ` (file:line:column, …)`, or empty.
        origin: String,
        /// The reply topic as given.
        topic: String,
        /// What is wrong with it.
        source: TopicNameError,
    },
    /// A route's reply topic names a `{param}` that its filter does not have.
    #[error(
        "route `{route}`{origin}: the reply topic `{topic}` names `{{{param}}}`, which is not a parameter of the route's filter"
    )]
    ReplyParam {
        /// The route (handler) name.
        route: String,
        /// Where it was declared, as ` (file:line:column, …)`, or empty.
        origin: String,
        /// The reply topic as given.
        topic: String,
        /// The unknown parameter's name.
        param: String,
    },
    /// Waiting for a signal failed.
    #[error("cannot listen for shutdown signals: {0}")]
    Signal(#[from] std::io::Error),
    /// The service did not become ready in time.
    #[error("the service was not ready within {0:?}")]
    NotReady(Duration),
}

/// A handler's error as the runtime keeps it: the error itself, so that an error hook can
/// downcast it (see [`ErrorReport::source`](crate::runtime::ErrorReport::source)).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The payload (or a topic parameter) did not decode; the handler was not called.
    Decode,
    /// The handler returned an error.
    Handler,
    /// The handler panicked.
    Panic,
    /// The handler ran past its timeout and was cancelled.
    Timeout,
    /// The overflow policy dropped the message.
    Dropped,
    /// The reply could not be published.
    Reply,
    /// The payload was larger than the configured maximum; dropped before routing.
    TooLarge,
    /// The broker refused a subscription (its SUBACK) or a QoS ≥ 1 publish (its PUBACK or
    /// PUBCOMP, MQTT 5); the message names the reason code, e.g. `NotAuthorized`. `route` is
    /// empty; `topic` is the filter, or empty for a publish (the broker names only its packet id).
    Refused,
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Decode => "decode error",
            Self::Handler => "handler error",
            Self::Panic => "handler panicked",
            Self::Timeout => "handler timed out",
            Self::Dropped => "message dropped",
            Self::Reply => "reply failed",
            Self::TooLarge => "payload too large",
            Self::Refused => "refused by the broker",
        })
    }
}
