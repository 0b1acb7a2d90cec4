//! Error reports: every message that is not handled successfully is reported once, to `tracing`
//! and to the service's error hook.

use std::sync::Arc;

pub use crate::error::ErrorKind;

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
