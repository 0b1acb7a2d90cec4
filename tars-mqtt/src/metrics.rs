//! The per-route counters and processing times through the [`metrics`](https://docs.rs/metrics)
//! facade (feature `metrics`), labelled `route` (and `kind` for failures):
//!
//! | name | type | what |
//! |---|---|---|
//! | `tars_mqtt_messages_received_total` | counter | messages that matched the route |
//! | `tars_mqtt_messages_handled_total` | counter | handler runs that succeeded |
//! | `tars_mqtt_messages_failed_total` | counter | failures, by `kind`: `decode`, `handler`, `panic`, `timeout`, `dropped`, `reply` |
//! | `tars_mqtt_processing_seconds` | histogram | decoding and handler time of each run |
//!
//! The handles are registered when the service starts: install the recorder (e.g.
//! `metrics_exporter_prometheus::PrometheusBuilder::new().install()`) before that.

use std::fmt;
use std::time::Duration;

use metrics::{Counter, Histogram, counter, histogram};

use crate::error::ErrorKind;

/// A route's metric handles, registered once.
pub(crate) struct RouteMetrics {
    pub(crate) received: Counter,
    handled: Counter,
    processing: Histogram,
    failed: [Counter; 6],
    route: String,
}

const KINDS: [&str; 6] = ["decode", "handler", "panic", "timeout", "dropped", "reply"];

impl RouteMetrics {
    pub(crate) fn new(route: &str) -> Self {
        let label = || route.to_owned();
        Self {
            received: counter!("tars_mqtt_messages_received_total", "route" => label()),
            handled: counter!("tars_mqtt_messages_handled_total", "route" => label()),
            processing: histogram!("tars_mqtt_processing_seconds", "route" => label()),
            failed: KINDS.map(|kind| {
                counter!("tars_mqtt_messages_failed_total", "route" => label(), "kind" => kind)
            }),
            route: label(),
        }
    }

    pub(crate) fn handled(&self, elapsed: Duration, failure: Option<ErrorKind>) {
        self.processing.record(elapsed.as_secs_f64());
        match failure {
            None => self.handled.increment(1),
            Some(kind) => self.failed(kind),
        }
    }

    pub(crate) fn failed(&self, kind: ErrorKind) {
        let index = match kind {
            ErrorKind::Decode => 0,
            ErrorKind::Panic => 2,
            ErrorKind::Timeout => 3,
            ErrorKind::Dropped => 4,
            ErrorKind::Reply => 5,
            _ => 1,
        };
        self.failed[index].increment(1);
    }
}

impl fmt::Debug for RouteMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteMetrics")
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}
