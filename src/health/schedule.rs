//! The wait schedule of a health policy, as pure functions of durations: how long to wait
//! after a try (backoff and jitter), how long a try may take (the per-try timeout cut to the
//! deadline) and whether another try still fits before the deadline. The async loop in
//! `policy.rs` only sleeps what these say, so the arithmetic is unit-tested here.

use std::time::Duration;

use crate::plan::compile::CompiledHealth;

/// Growth of the wait between tries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Backoff {
    /// Wait after a passing try, and after the first failure in a row.
    pub interval: Duration,
    /// Multiplier per further failure in a row; 1 is a constant backoff.
    pub factor: f64,
    /// Longest wait of an exponential backoff, before jitter.
    pub max: Duration,
    /// Share of the wait added at random (0.0–1.0).
    pub jitter: f64,
}

impl Backoff {
    /// The policy's backoff.
    pub(crate) fn of(policy: &CompiledHealth) -> Self {
        let (factor, max, jitter) = policy.backoff;
        Backoff {
            interval: policy.interval,
            factor,
            max,
            jitter,
        }
    }

    /// Whether the wait grows (an exponential backoff).
    fn grows(&self) -> bool {
        (self.factor - 1.0).abs() > f64::EPSILON
    }

    /// The wait after a try that ended `failures_in_row` failures in a row (0 after a pass).
    /// `draw` is a random number in `[0, 1)`; it only matters with jitter. The cap applies
    /// before the jitter, so even capped waits of many clients stay spread out.
    pub(crate) fn wait(&self, failures_in_row: u32, draw: f64) -> Duration {
        let base = if failures_in_row <= 1 || !self.grows() {
            self.interval
        } else {
            let exponent = i32::try_from(failures_in_row - 1).unwrap_or(i32::MAX);
            let secs = self.interval.as_secs_f64() * self.factor.powi(exponent);
            // Overflow (or a NaN from a silly factor) means "very long": the cap.
            Duration::try_from_secs_f64(secs).map_or(self.max, |d| d.min(self.max))
        };
        let base = if self.grows() {
            base.min(self.max)
        } else {
            base
        };
        let spread = (self.jitter * draw.clamp(0.0, 1.0)).clamp(0.0, 1.0);
        base + base.mul_f64(spread)
    }
}

/// Time allowed for a try: the per-try timeout, cut to what is left before the deadline.
pub(crate) fn try_budget(timeout: Duration, left: Option<Duration>) -> Duration {
    left.map_or(timeout, |left| timeout.min(left))
}

/// How long to sleep before the next try: `wait`, or `None` when the next try would start
/// at or after the deadline (the policy then gives up at once instead of sleeping in vain).
pub(crate) fn next_sleep(wait: Duration, left: Option<Duration>) -> Option<Duration> {
    match left {
        Some(left) if wait >= left => None,
        _ => Some(wait),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn exponential() -> Backoff {
        Backoff {
            interval: ms(100),
            factor: 2.0,
            max: ms(500),
            jitter: 0.0,
        }
    }

    #[test]
    fn constant_backoff_waits_the_interval() {
        let b = Backoff {
            factor: 1.0,
            max: ms(50),
            ..exponential()
        };
        for n in 0..5 {
            // The cap belongs to the exponential backoff only.
            assert_eq!(b.wait(n, 0.0), ms(100));
        }
    }

    #[test]
    fn exponential_backoff_doubles_up_to_the_cap() {
        let b = exponential();
        let waits: Vec<Duration> = (1..=6).map(|n| b.wait(n, 0.0)).collect();
        assert_eq!(
            waits,
            [ms(100), ms(200), ms(400), ms(500), ms(500), ms(500)]
        );
        // A pass resets the growth.
        assert_eq!(b.wait(0, 0.0), ms(100));
    }

    #[test]
    fn huge_exponents_stay_at_the_cap() {
        let b = Backoff {
            factor: 1e300,
            ..exponential()
        };
        assert_eq!(b.wait(u32::MAX, 0.0), ms(500));
    }

    #[test]
    fn jitter_adds_a_share_of_the_wait() {
        let b = Backoff {
            jitter: 0.2,
            ..exponential()
        };
        assert_eq!(b.wait(1, 0.0), ms(100));
        assert_eq!(b.wait(1, 0.5), ms(110));
        assert_eq!(b.wait(3, 0.5), ms(440));
        // Jitter applies after the cap.
        assert_eq!(b.wait(9, 0.5), ms(550));
        // Out-of-range draws are clamped.
        assert_eq!(b.wait(1, 7.0), ms(120));
    }

    #[test]
    fn tries_are_cut_to_the_deadline() {
        assert_eq!(try_budget(ms(5000), None), ms(5000));
        assert_eq!(try_budget(ms(5000), Some(ms(1200))), ms(1200));
        assert_eq!(try_budget(ms(300), Some(ms(1200))), ms(300));
    }

    #[test]
    fn never_sleeps_past_the_deadline() {
        assert_eq!(next_sleep(ms(100), None), Some(ms(100)));
        assert_eq!(next_sleep(ms(100), Some(ms(101))), Some(ms(100)));
        assert_eq!(next_sleep(ms(100), Some(ms(100))), None);
        assert_eq!(next_sleep(ms(100), Some(ms(0))), None);
    }
}
