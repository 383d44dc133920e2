//! One point of the per-second time series: what each row and the whole run did in the
//! interval that just ended, plus running totals. Serialized as is for `metrics.ndjson`
//! lines and `stats_history.csv` rows, so fields are plain numbers (milliseconds, seconds).
//! A point holds no histogram, only computed figures, and only for the rows that had
//! requests in its interval: about 400 bytes of JSON per active row, nothing per idle one.

use super::micros_to_ms;
use super::tally::{Interval, Tally};
use hdrhistogram::Histogram;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The quantiles of [`Percentiles`], in field order (Locust's history columns).
pub(crate) const SERIES_QUANTILES: [f64; 11] = [
    0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0,
];

/// The time series point of one interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct SeriesPoint {
    /// Seconds since the run started, at the end of the interval.
    pub elapsed_s: f64,
    /// Length of the interval in seconds (1 except for the last, partial one).
    pub interval_s: f64,
    /// Live users at the end of the interval.
    pub users: u64,
    /// Open-model iterations dropped during the interval.
    pub dropped_iterations: u64,
    /// One entry per row that completed requests in the interval, in row order; a row
    /// without any is left out (its running totals are those of its last entry).
    pub rows: Vec<ActiveRow>,
    /// All rows together ("Aggregated").
    pub total: RowPoint,
}

/// A row's point in a [`SeriesPoint`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct ActiveRow {
    /// The row's index in the summary's `rows` (names are not repeated in every point).
    pub row: usize,
    /// What the row did.
    #[serde(flatten)]
    pub point: RowPoint,
}

/// What one row (or all rows) did during one interval.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct RowPoint {
    /// Requests completed in the interval.
    pub requests: u64,
    /// Of those, failed.
    pub failures: u64,
    /// Requests per second over the interval.
    pub rps: f64,
    /// Failures per second over the interval.
    pub fps: f64,
    /// Response bytes received in the interval.
    pub bytes_in: u64,
    /// Request bytes sent in the interval.
    pub bytes_out: u64,
    /// Latency percentiles of this interval's requests only.
    pub percentiles: Percentiles,
    /// Running totals since the start of the run.
    pub cumulative: Cumulative,
    /// The interval's HDR latency histogram (microseconds), V2 + DEFLATE, base64: written
    /// by a shard (`--shard`), so `loadplan merge` computes exact percentiles per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<String>,
}

/// Latency percentiles in milliseconds; `None` when the interval had no requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Percentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 66th percentile.
    pub p66: Option<f64>,
    /// 75th percentile.
    pub p75: Option<f64>,
    /// 80th percentile.
    pub p80: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 98th percentile.
    pub p98: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// 99.9th percentile.
    pub p99_9: Option<f64>,
    /// 99.99th percentile.
    pub p99_99: Option<f64>,
    /// Maximum.
    pub p100: Option<f64>,
}

impl Percentiles {
    /// The [`SERIES_QUANTILES`] of `histogram`, in one pass over its counts.
    pub(crate) fn of<C: hdrhistogram::Counter>(histogram: &Histogram<C>) -> Self {
        if histogram.is_empty() {
            return Self::default();
        }
        let mut v = [None; SERIES_QUANTILES.len()];
        for (slot, micros) in v
            .iter_mut()
            .zip(histogram.value_at_quantiles(SERIES_QUANTILES))
        {
            *slot = Some(micros_to_ms(micros));
        }
        let [p50, p66, p75, p80, p90, p95, p98, p99, p99_9, p99_99, p100] = v;
        Self {
            p50,
            p66,
            p75,
            p80,
            p90,
            p95,
            p98,
            p99,
            p99_9,
            p99_99,
            p100,
        }
    }
}

/// Running totals of a row since the start of the run (Locust's "Total …" columns).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Cumulative {
    /// Requests so far.
    pub requests: u64,
    /// Failures so far.
    pub failures: u64,
    /// Median latency so far, in milliseconds.
    pub median_ms: Option<f64>,
    /// Mean latency so far, in milliseconds.
    pub mean_ms: Option<f64>,
    /// Lowest latency so far, in milliseconds.
    pub min_ms: Option<f64>,
    /// Highest latency so far, in milliseconds.
    pub max_ms: Option<f64>,
    /// Mean response body size so far, in bytes as decoded (gunzipped).
    pub avg_content_size: Option<f64>,
}

impl Cumulative {
    pub(crate) fn of(total: &Tally) -> Self {
        let c = &total.counters;
        Self::from_parts(&total.histogram, c.requests, c.failed(), c.body_bytes)
    }

    /// The running totals of `requests` (`failures` of them failed, `body_bytes` received
    /// decoded) whose latencies are `h`.
    pub(crate) fn from_parts(
        h: &Histogram<u64>,
        requests: u64,
        failures: u64,
        body_bytes: u64,
    ) -> Self {
        if h.is_empty() {
            return Self {
                requests,
                failures,
                ..Self::default()
            };
        }
        Self {
            requests,
            failures,
            median_ms: Some(micros_to_ms(h.value_at_quantile(0.5))),
            mean_ms: Some(h.mean() / 1000.0),
            min_ms: Some(micros_to_ms(h.min())),
            max_ms: Some(micros_to_ms(h.max())),
            avg_content_size: Some(body_bytes as f64 / requests.max(1) as f64),
        }
    }
}

impl RowPoint {
    /// The point of an interval without requests after this one: the same running totals.
    pub(crate) fn idle(&self) -> Self {
        Self {
            cumulative: self.cumulative,
            ..Self::default()
        }
    }

    /// This point carrying `histogram`, encoded; a histogram past the V2 format's counts is
    /// left out (the point's figures still stand).
    pub(crate) fn with_histogram<C: hdrhistogram::Counter>(
        self,
        histogram: Option<&Histogram<C>>,
    ) -> Self {
        Self {
            histogram: histogram.and_then(|h| super::encode_histogram(h).ok()),
            ..self
        }
    }

    /// The point of one row from its interval data and running total.
    pub(crate) fn of(interval: &Interval, total: &Tally, interval_s: f64) -> Self {
        let c = &interval.counters;
        let failures = c.failed();
        Self {
            requests: c.requests,
            failures,
            rps: per_second(c.requests, interval_s),
            fps: per_second(failures, interval_s),
            bytes_in: c.bytes_in,
            bytes_out: c.bytes_out,
            percentiles: Percentiles::of(&interval.histogram),
            cumulative: Cumulative::of(total),
            histogram: None,
        }
    }
}

/// `n` per second over `secs`; 0 for an empty interval (a final drain right after a tick).
pub(crate) fn per_second(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Sample;
    use std::time::Duration;

    #[test]
    fn a_row_point_serializes_as_flat_numbers() {
        let mut interval = Interval::new();
        interval.record(&Sample::ok(0, Duration::from_millis(12)), Duration::ZERO);
        let mut tally = Tally::new();
        tally.absorb(&interval);
        let json = serde_json::to_value(RowPoint::of(&interval, &tally, 0.5)).unwrap();
        assert_eq!(json["requests"], 1);
        assert_eq!(json["rps"], 2.0);
        // 12 ms sits in a bucket 8 µs wide; percentiles report its top.
        assert_eq!(json["percentiles"]["p99_9"], 12.007);
        assert_eq!(json["cumulative"]["min_ms"], 12.0);
        let empty = serde_json::to_value(RowPoint::of(&Interval::new(), &tally, 0.0)).unwrap();
        assert_eq!(empty["percentiles"]["p50"], serde_json::Value::Null);
        assert_eq!(empty["rps"], 0.0);
    }
}
