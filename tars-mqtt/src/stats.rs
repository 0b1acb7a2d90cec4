//! Per-route counters and processing times, recorded by dispatch and read while the service runs
//! (by [`ServiceHandle::route`](crate::ServiceHandle::route), the discovery `stats` reply and the
//! `metrics` facade).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::error::ErrorKind;

/// How many of the latest processing times the percentiles are taken over.
pub(crate) const WINDOW: usize = 1024;

/// Per-route counters, read while the service runs.
#[derive(Debug)]
pub struct RouteStats {
    received: AtomicU64,
    succeeded: AtomicU64,
    decode_errors: AtomicU64,
    handler_errors: AtomicU64,
    panics: AtomicU64,
    timeouts: AtomicU64,
    dropped: AtomicU64,
    reply_errors: AtomicU64,
    timings: Timings,
    last_error: Mutex<Option<LastError>>,
    #[cfg(feature = "metrics")]
    metrics: crate::metrics::RouteMetrics,
}

/// The latest failure of a route: what went wrong and when.
#[derive(Debug, Clone, PartialEq)]
pub struct LastError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// Its description.
    pub message: String,
    /// When, in seconds since the Unix epoch.
    pub at: f64,
}

impl RouteStats {
    pub(crate) fn new(#[cfg_attr(not(feature = "metrics"), allow(unused))] route: &str) -> Self {
        Self {
            received: AtomicU64::new(0),
            succeeded: AtomicU64::new(0),
            decode_errors: AtomicU64::new(0),
            handler_errors: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            reply_errors: AtomicU64::new(0),
            timings: Timings::default(),
            last_error: Mutex::new(None),
            #[cfg(feature = "metrics")]
            metrics: crate::metrics::RouteMetrics::new(route),
        }
    }

    /// A message matched the route (before its queue takes or drops it).
    pub(crate) fn on_received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        self.metrics.received.increment(1);
    }

    /// A handler run finished, in `elapsed`, successfully or not.
    pub(crate) fn on_handled(&self, elapsed: Duration, outcome: Result<(), (ErrorKind, &str)>) {
        self.timings.record(elapsed);
        match outcome {
            Ok(()) => {
                self.succeeded.fetch_add(1, Ordering::Relaxed);
            }
            Err((kind, message)) => self.failure(kind, message),
        }
        #[cfg(feature = "metrics")]
        self.metrics
            .handled(elapsed, outcome.err().map(|(kind, _)| kind));
    }

    /// A message was dropped by the overflow policy, or its reply failed.
    pub(crate) fn on_failure(&self, kind: ErrorKind, message: &str) {
        self.failure(kind, message);
        #[cfg(feature = "metrics")]
        self.metrics.failed(kind);
    }

    fn failure(&self, kind: ErrorKind, message: &str) {
        let counter = match kind {
            ErrorKind::Decode => &self.decode_errors,
            ErrorKind::Panic => &self.panics,
            ErrorKind::Timeout => &self.timeouts,
            ErrorKind::Dropped => &self.dropped,
            ErrorKind::Reply => &self.reply_errors,
            _ => &self.handler_errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(LastError {
            kind,
            message: message.to_owned(),
            at: crate::envelope::now(),
        });
    }

    /// Messages that matched the route (queued, or dropped by its overflow policy).
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Handler runs that completed successfully.
    pub fn succeeded(&self) -> u64 {
        self.succeeded.load(Ordering::Relaxed)
    }

    /// Messages not handled successfully: decode errors, handler errors, panics, timeouts.
    pub fn failed(&self) -> u64 {
        self.decode_errors() + self.handler_errors() + self.panics() + self.timeouts()
    }

    /// Payloads (or topic parameters) that did not decode; the handler was not called.
    pub fn decode_errors(&self) -> u64 {
        self.decode_errors.load(Ordering::Relaxed)
    }

    /// Handler runs that returned an error.
    pub fn handler_errors(&self) -> u64 {
        self.handler_errors.load(Ordering::Relaxed)
    }

    /// Handler runs that panicked.
    pub fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }

    /// Handler runs cancelled by the route's timeout.
    pub fn timeouts(&self) -> u64 {
        self.timeouts.load(Ordering::Relaxed)
    }

    /// Messages dropped by the overflow policy.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Replies that could not be published.
    pub fn reply_errors(&self) -> u64 {
        self.reply_errors.load(Ordering::Relaxed)
    }

    /// The latest failure, if any.
    pub fn last_error(&self) -> Option<LastError> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Processing times (decoding and the handler, reply excluded) over the latest runs.
    pub fn processing(&self) -> Processing {
        self.timings.summary()
    }
}

/// Processing times over the latest (up to 1024) handler runs of a route.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Processing {
    /// How many runs the figures are taken over.
    pub samples: usize,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Longest.
    pub max: Duration,
}

/// The latest [`WINDOW`] processing times in microseconds, written without a lock.
#[derive(Debug)]
struct Timings {
    micros: Box<[AtomicU32]>,
    next: AtomicU64,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            micros: (0..WINDOW).map(|_| AtomicU32::new(0)).collect(),
            next: AtomicU64::new(0),
        }
    }
}

impl Timings {
    fn record(&self, elapsed: Duration) {
        let slot = self.next.fetch_add(1, Ordering::Relaxed) as usize % WINDOW;
        let micros = u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX);
        self.micros[slot].store(micros, Ordering::Relaxed);
    }

    fn summary(&self) -> Processing {
        let samples = (self.next.load(Ordering::Relaxed) as usize).min(WINDOW);
        let mut sorted: Vec<u32> = self.micros[..samples]
            .iter()
            .map(|m| m.load(Ordering::Relaxed))
            .collect();
        sorted.sort_unstable();
        let at = |q: usize| {
            let micros = sorted.get((samples * q / 100).min(samples.saturating_sub(1)));
            Duration::from_micros(micros.copied().unwrap_or(0).into())
        };
        Processing {
            samples,
            p50: at(50),
            p99: at(99),
            max: at(100),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_over_the_latest_window() {
        let stats = RouteStats::new("r");
        assert_eq!(stats.processing(), Processing::default());
        for ms in 1..=100 {
            stats.on_handled(Duration::from_millis(ms), Ok(()));
        }
        let p = stats.processing();
        assert_eq!(p.samples, 100);
        assert_eq!(p.p50, Duration::from_millis(51));
        assert_eq!(p.p99, Duration::from_millis(100));
        assert_eq!(p.max, Duration::from_millis(100));
        // Older runs leave the window.
        for _ in 0..WINDOW {
            stats.on_handled(Duration::from_micros(10), Ok(()));
        }
        let p = stats.processing();
        assert_eq!((p.samples, p.max), (WINDOW, Duration::from_micros(10)));
    }

    #[test]
    fn failures_are_counted_by_kind_and_the_last_one_kept() {
        let stats = RouteStats::new("r");
        stats.on_handled(Duration::ZERO, Err((ErrorKind::Decode, "bad json")));
        stats.on_handled(Duration::ZERO, Err((ErrorKind::Panic, "boom")));
        stats.on_handled(Duration::ZERO, Err((ErrorKind::Timeout, "slow")));
        stats.on_handled(Duration::ZERO, Err((ErrorKind::Handler, "no")));
        stats.on_failure(ErrorKind::Dropped, "queue full");
        assert_eq!(
            (stats.decode_errors(), stats.panics(), stats.timeouts()),
            (1, 1, 1)
        );
        assert_eq!(
            (stats.handler_errors(), stats.dropped(), stats.failed()),
            (1, 1, 4)
        );
        let last = stats.last_error().unwrap();
        assert_eq!(
            (last.kind, last.message.as_str()),
            (ErrorKind::Dropped, "queue full")
        );
    }
}
