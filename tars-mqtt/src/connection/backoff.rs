//! Reconnection delays: exponential backoff with jitter.

use std::time::Duration;

/// Exponential backoff from `min` to `max`, doubling per failure, with jitter (each delay is
/// drawn from the upper half of the current step), reset after a successful connection.
#[derive(Debug, Clone)]
pub(super) struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub(super) fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            attempt: 0,
        }
    }

    pub(super) fn reset(&mut self) {
        self.attempt = 0;
    }

    pub(super) fn attempt(&self) -> u32 {
        self.attempt
    }

    pub(super) fn next_delay(&mut self) -> Duration {
        let step = self
            .min
            .saturating_mul(1u32 << self.attempt.min(16))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let half = step / 2;
        // 53 random bits as a fraction in [0, 1); without OS randomness, no jitter.
        let unit = getrandom::u64().map_or(1.0, |r| (r >> 11) as f64 / (1u64 << 53) as f64);
        half + half.mul_f64(unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_maximum_with_jitter_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(800));
        let steps = [100u64, 200, 400, 800, 800, 800];
        for step in steps {
            let d = b.next_delay().as_millis() as u64;
            assert!(
                d >= step / 2 && d <= step,
                "{d} not in [{}, {step}]",
                step / 2
            );
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}
