//! What a running service tells about itself: the connection's life-cycle state and the
//! readiness watch built on it.

use std::time::Duration;

/// Where the connection is in its life cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Opening the network connection and waiting for CONNACK.
    Connecting,
    /// Connected; subscriptions may still be pending (see [`Readiness::ready`]).
    Connected,
    /// The connection failed; the next attempt starts after `delay`.
    Backoff {
        /// Consecutive failed attempts.
        attempt: u32,
        /// Wait before the next attempt.
        delay: Duration,
        /// Why the last attempt or connection failed.
        error: String,
    },
    /// Graceful shutdown in progress: intake has stopped (messages arriving now are neither
    /// handled nor acknowledged), queued handlers are finishing.
    Stopping,
    /// The service has stopped.
    Stopped,
}

/// What a service's readiness watch carries.
#[derive(Debug, Clone)]
pub struct Readiness {
    /// The connection's state.
    pub connection: ConnectionState,
    /// Connected, and every subscription of this connection was answered by a SUBACK.
    pub ready: bool,
    /// Filters the broker refused in the last SUBACKs (the other routes work).
    pub failed_subscriptions: Vec<String>,
    /// The last refusal by the broker, with its MQTT 5 reason code's name (e.g. "subscription
    /// to a/b: NotAuthorized", "publish (packet 3): QuotaExceeded"); on 3.1.1 a refused
    /// subscription says "Failure".
    pub last_refusal: Option<String>,
    /// QoS ≥ 1 publishes the broker refused with a failure reason code (MQTT 5).
    pub refused_publishes: u64,
    /// The broker endpoint connected to, or to be tried next, as `mqtt://host:port` (no
    /// credentials). With several endpoints in `MQTT_URL`, this is how to tell which one is in
    /// use: it is the one connected to whenever `connection` is `Connected`.
    pub endpoint: String,
}

impl Readiness {
    /// Before the first connection attempt.
    pub(crate) fn starting(endpoint: String) -> Self {
        Self {
            endpoint,
            connection: ConnectionState::Connecting,
            ready: false,
            failed_subscriptions: Vec::new(),
            last_refusal: None,
            refused_publishes: 0,
        }
    }
}
