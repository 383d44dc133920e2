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

pub(crate) use codec::{decode_histogram, encode_histogram};
pub(crate) use collector::{Collector, Progress};
pub(crate) use messages::{FailureMessage, MessageLog};
pub(crate) use registry::Registry;
pub(crate) use sample::{Event, FailureKind, RowKey, Sample};
#[cfg(test)]
pub(crate) use series::SERIES_QUANTILES;
pub(crate) use series::{ActiveRow, Cumulative, Percentiles, RowPoint, SeriesPoint, per_second};
pub(crate) use stats::{RowStats, RunMetrics};

use hdrhistogram::Histogram;
use std::time::Duration;

/// Lowest latency the histograms tell apart, in microseconds.
pub(crate) const LOWEST_MICROS: u64 = 1;
/// Highest latency the histograms track, in microseconds (one hour). Larger values are
/// clamped to it, so a hung request still counts, at the top of the range.
pub(crate) const HIGHEST_MICROS: u64 = 3_600_000_000;
/// Significant decimal digits kept for every value: at most 0.1% relative error.
pub(crate) const SIGNIFICANT_DIGITS: u8 = 3;

/// An empty latency histogram with the precision above. It starts at its smallest (2,048
/// counts, 16 KiB with 64-bit counts) and grows to cover the largest latency recorded in it,
/// at most [`HIGHEST_MICROS`] (23 × 1,024 counts, 184 KiB), so a row's memory follows the
/// latencies it sees: a row answering in 10 ms holds 5 × 1,024 counts, an idle row the
/// minimum. Growth happens at most once per power of two, so the hot path almost never
/// allocates. The bucket layout depends only on the lowest value and the precision, so
/// histograms of any size and count width merge and encode alike. Counts of any width: a
/// second's worth of samples fits in 32 bits, which halves the per-second histograms.
pub(crate) fn new_counts<C: hdrhistogram::Counter>() -> Histogram<C> {
    match Histogram::new_with_bounds(LOWEST_MICROS, 2 * LOWEST_MICROS, SIGNIFICANT_DIGITS) {
        Ok(mut histogram) => {
            histogram.auto(true);
            histogram
        }
        // The bounds are constants that `tests::bounds_are_valid` checks.
        Err(err) => unreachable!("constant histogram bounds are invalid: {err:?}"),
    }
}

/// A latency as histogram microseconds, clamped to [`HIGHEST_MICROS`].
pub(crate) fn to_micros(latency: Duration) -> u64 {
    u64::try_from(latency.as_micros()).map_or(HIGHEST_MICROS, |us| us.min(HIGHEST_MICROS))
}

/// Records `count` latencies of `micros`, clamped to [`HIGHEST_MICROS`]; the histogram grows
/// to hold them (hdrhistogram's `saturating_record` would clamp to its current size instead).
pub(crate) fn record_n<C: hdrhistogram::Counter>(h: &mut Histogram<C>, micros: u64, count: C) {
    let micros = micros.min(HIGHEST_MICROS);
    // Growing fails only where `usize` cannot index the counts (never on 64 bits); clamping
    // to the current size still counts the sample.
    if h.record_n(micros, count).is_err() {
        h.saturating_record_n(micros, count);
    }
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
/// A value above [`HIGHEST_MICROS`] (a decoded histogram from elsewhere) is clamped, not
/// lost, so `dst` never grows past its ceiling.
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
            record_n(dst, value.value_iterated_to(), count);
        }
    }
}
