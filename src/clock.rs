//! Clock arithmetic that cannot panic, for the modules that deny
//! `clippy::arithmetic_side_effects` (the engine and HTTP).

use std::time::{Duration, Instant};

/// A point in time plus a duration, without panicking: should the sum not fit the clock, the
/// result is the point itself (a deadline that has come, so a wait ends instead of a panic).
pub(crate) trait Later: Sized {
    /// `self + d`, or `self` when the sum does not fit.
    fn later(self, d: Duration) -> Self;
}

impl Later for Instant {
    fn later(self, d: Duration) -> Self {
        self.checked_add(d).unwrap_or(self)
    }
}

impl Later for tokio::time::Instant {
    fn later(self, d: Duration) -> Self {
        self.checked_add(d).unwrap_or(self)
    }
}
