//! The engine's measurement layer: latency histograms, counters, failure messages and the
//! per-second time series, per row (endpoint, step, login, refresh) and overall.
//!
//! Data flows one way: workers call [`Registry::record`] (each OS thread writes its own
//! shard, so there is no shared lock and no message per request) → the engine's ticker owns a
//! [`Collector`] that swaps the shards out once a second and merges them → [`RunMetrics`].
//! This module knows nothing about HTTP, plans or report formats.

mod codec;
mod collector;
mod messages;
mod registry;
mod sample;
mod series;
mod stats;
mod tally;
#[cfg(test)]
mod tests;

pub use codec::{HistogramCodecError, decode_histogram, encode_histogram};
pub use collector::{Collector, Progress};
pub use messages::{FailureMessage, MAX_MESSAGE_BYTES, MAX_MESSAGES_PER_ROW, OVERFLOW_MESSAGE};
pub use registry::Registry;
pub use sample::{Event, FailureKind, RowKey, Sample};
pub use series::{Cumulative, Percentiles, RowPoint, SERIES_QUANTILES, SeriesPoint};
pub use stats::{RowStats, RunMetrics};

use hdrhistogram::Histogram;
use std::time::Duration;

/// Lowest latency the histograms tell apart, in microseconds.
pub const LOWEST_MICROS: u64 = 1;
/// Highest latency the histograms track, in microseconds (one hour). Larger values are
/// clamped to it, so a hung request still counts, at the top of the range.
pub const HIGHEST_MICROS: u64 = 3_600_000_000;
/// Significant decimal digits kept for every value: at most 0.1% relative error.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// An empty latency histogram with the bounds above and auto-resize off, so its memory is
/// fixed at creation (no growth on the hot path) and all histograms merge index by index.
pub fn new_histogram() -> Histogram<u64> {
    new_counts()
}

/// [`new_histogram`] with counts of any width: a second's worth of samples fits in 32 bits,
/// which halves the memory of the per-second histograms.
pub(crate) fn new_counts<C: hdrhistogram::Counter>() -> Histogram<C> {
    match Histogram::new_with_bounds(LOWEST_MICROS, HIGHEST_MICROS, SIGNIFICANT_DIGITS) {
        // `new_with_bounds` leaves auto-resize off.
        Ok(histogram) => histogram,
        // The bounds are constants that `tests::bounds_are_valid` checks.
        Err(err) => unreachable!("constant histogram bounds are invalid: {err:?}"),
    }
}

/// A latency as histogram microseconds, clamped to [`HIGHEST_MICROS`].
pub(crate) fn to_micros(latency: Duration) -> u64 {
    u64::try_from(latency.as_micros()).map_or(HIGHEST_MICROS, |us| us.min(HIGHEST_MICROS))
}

/// A value read back from a histogram, capped at [`HIGHEST_MICROS`]: the top bucket reaches
/// a little past it, and a clamped request should read as exactly one hour.
pub(crate) fn reported(micros: u64) -> u64 {
    micros.min(HIGHEST_MICROS)
}

/// Histogram microseconds as fractional milliseconds (the time series' unit), capped like
/// [`reported`].
pub(crate) fn micros_to_ms(micros: u64) -> f64 {
    reported(micros) as f64 / 1000.0
}

/// Adds `src` into `dst`, value by value: histograms of different count widths cannot be
/// added index by index, and walking only recorded values skips the empty top of the range.
/// A value out of `dst`'s range (a decoded histogram from elsewhere) is clamped, not lost.
pub(crate) fn merge_into<D: hdrhistogram::Counter, S: hdrhistogram::Counter>(
    dst: &mut Histogram<D>,
    src: &Histogram<S>,
) {
    if src.is_empty() {
        return;
    }
    for value in src.iter_recorded() {
        // Merges only ever widen (32 into 64 bits); a count too wide is clamped.
        let n = value.count_at_value().as_u64();
        if let Some(count) = D::from_u64(n).or_else(|| D::from_u32(u32::MAX)) {
            dst.saturating_record_n(value.value_iterated_to(), count);
        }
    }
}
