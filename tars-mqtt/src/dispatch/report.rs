//! Error reports: every message that is not handled successfully is reported once, to `tracing`
//! and to the service's error hook.

use std::fmt;
use std::sync::Arc;

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

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

/// An error as a report holds it: shared, so that the report can be cloned.
pub type SharedError = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// One failed or dropped message.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The route (handler) name.
    pub route: String,
    /// The concrete topic.
    pub topic: String,
    /// The QoS the message arrived with.
    pub qos: crate::QoS,
    /// A human-readable description.
    pub message: String,
    /// The error itself, when there is one: what the handler returned in its `Err` (downcast it
    /// to the handler's error type), or the [`ExtractError`](crate::extract::ExtractError) of a
    /// payload that did not decode.
    pub source: Option<SharedError>,
    /// The start of the payload.
    pub excerpt: String,
}

/// Called with every [`ErrorReport`]; set with [`Runtime::on_error`](crate::Runtime::on_error).
pub type ErrorHook = Arc<dyn Fn(&ErrorReport) + Send + Sync>;

pub(crate) fn report(hook: Option<&ErrorHook>, report: ErrorReport) {
    match report.kind {
        ErrorKind::Dropped if report.qos == crate::QoS::AtMostOnce => tracing::debug!(
            route = %report.route, topic = %report.topic, "{}: {}", report.kind, report.message
        ),
        ErrorKind::Dropped => tracing::warn!(
            route = %report.route, topic = %report.topic, qos = %report.qos,
            "{}: {}", report.kind, report.message
        ),
        _ => tracing::error!(
            route = %report.route, topic = %report.topic, payload = %report.excerpt,
            "{}: {}", report.kind, report.message
        ),
    }
    if let Some(hook) = hook {
        hook(&report);
    }
}
