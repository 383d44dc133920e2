//! The final numbers of a run: [`RunMetrics`] with one [`RowStats`] per row and an
//! "Aggregated" total. What SLA checks and reports read; they never see shards or tallies.

use super::messages::FailureMessage;
use super::reported;
use super::sample::{FailureKind, RowKey};
use super::series::{SeriesPoint, per_second};
use super::tally::Tally;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::time::Duration;

/// Everything measured in one run.
#[derive(Clone, Debug)]
pub(crate) struct RunMetrics {
    /// One entry per row, in row order.
    pub rows: Vec<RowStats>,
    /// All rows together; its key is `Aggregated` with an empty method.
    pub total: RowStats,
    /// One point per collector tick, plus a last partial one.
    pub series: Vec<SeriesPoint>,
    /// Open-model iterations that were due but not started.
    pub dropped_iterations: u64,
    /// Length of the run, as given to [`Collector::finish`].
    ///
    /// [`Collector::finish`]: super::Collector::finish
    pub duration: Duration,
}

/// Everything measured for one row (or all rows together).
#[derive(Clone, Debug)]
pub(crate) struct RowStats {
    /// Which row.
    pub key: RowKey,
    /// Latency of every request, failed or not, in microseconds (see [`super::HIGHEST_MICROS`]
    /// for the clamp); its count equals `requests`.
    pub histogram: Histogram<u64>,
    /// Requests completed.
    pub requests: u64,
    /// Failed requests by kind; kinds that never happened are absent.
    pub failures: BTreeMap<FailureKind, u64>,
    /// Response bytes received (on the wire).
    pub bytes_in: u64,
    /// Response body bytes as decoded (gunzipped).
    pub body_bytes: u64,
    /// Request bytes sent.
    pub bytes_out: u64,
    /// Checks that passed.
    pub checks_passed: u64,
    /// Checks that failed.
    pub checks_failed: u64,
    /// Flow steps skipped: a capture they require was missing.
    pub skipped: u64,
    /// Refused requests (a refresh status) whose credentials this row renewed.
    pub renewals: u64,
    /// Distinct failure messages, most frequent first, bounded per row (see
    /// [`super::MAX_MESSAGES_PER_ROW`]).
    pub failure_messages: Vec<FailureMessage>,
}

impl RowStats {
    /// The final stats of a row from its running total.
    pub(crate) fn from_tally(key: RowKey, tally: &Tally) -> Self {
        let c = &tally.counters;
        let failures = FailureKind::ALL
            .iter()
            .zip(c.failures)
            .filter(|(_, n)| *n > 0)
            .map(|(kind, n)| (*kind, n))
            .collect();
        Self {
            key,
            histogram: tally.histogram.clone(),
            requests: c.requests,
            failures,
            bytes_in: c.bytes_in,
            body_bytes: c.body_bytes,
            bytes_out: c.bytes_out,
            checks_passed: c.checks_passed,
            checks_failed: c.checks_failed,
            skipped: c.skipped,
            renewals: c.renewals,
            failure_messages: tally.messages.to_messages(),
        }
    }

    /// Latency at quantile `q` (0.0–1.0, e.g. 0.95), or `None` without requests. Accurate to
    /// the histogram's 3 significant digits; reports the highest value equivalent to the
    /// sample at that rank, so it never understates.
    pub(crate) fn quantile(&self, q: f64) -> Option<Duration> {
        self.non_empty()
            .map(|h| Duration::from_micros(reported(h.value_at_quantile(q))))
    }

    /// Latency at percentile `p` (0–100, e.g. 95.0 or 99.9), or `None` without requests.
    pub(crate) fn percentile(&self, p: f64) -> Option<Duration> {
        self.quantile(p / 100.0)
    }

    /// Mean latency, or `None` without requests.
    pub(crate) fn mean(&self) -> Option<Duration> {
        self.non_empty()
            .map(|h| Duration::from_nanos((h.mean() * 1000.0).round() as u64))
    }

    /// Lowest latency (to histogram precision), or `None` without requests.
    pub(crate) fn min(&self) -> Option<Duration> {
        self.non_empty().map(|h| Duration::from_micros(h.min()))
    }

    /// Highest latency (to histogram precision, at most [`super::HIGHEST_MICROS`]), or `None`
    /// without requests.
    pub(crate) fn max(&self) -> Option<Duration> {
        self.non_empty()
            .map(|h| Duration::from_micros(reported(h.max())))
    }

    /// Failed requests, all kinds together.
    pub(crate) fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    /// Failed requests as a fraction of all requests (0.0–1.0); 0 without requests.
    pub(crate) fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.failed() as f64 / self.requests as f64
        }
    }

    /// Requests per second over `duration`; 0 for a zero duration.
    pub(crate) fn rps(&self, duration: Duration) -> f64 {
        per_second(self.requests, duration.as_secs_f64())
    }

    /// Adds `other` into this row: histogram, counters and failure messages (kept most
    /// frequent first). An endpoint that is a flow is the sum of its steps' rows this way.
    pub(crate) fn absorb(&mut self, other: &RowStats) {
        super::merge_into(&mut self.histogram, &other.histogram);
        self.requests += other.requests;
        for (kind, n) in &other.failures {
            *self.failures.entry(*kind).or_default() += n;
        }
        self.bytes_in += other.bytes_in;
        self.body_bytes += other.body_bytes;
        self.bytes_out += other.bytes_out;
        self.checks_passed += other.checks_passed;
        self.checks_failed += other.checks_failed;
        self.skipped += other.skipped;
        self.renewals += other.renewals;
        self.failure_messages
            .extend(other.failure_messages.iter().cloned());
        self.failure_messages
            .sort_by_key(|f| std::cmp::Reverse(f.count));
    }

    /// An empty row named `key`.
    pub(crate) fn empty(key: RowKey) -> Self {
        Self::from_tally(key, &Tally::new())
    }

    fn non_empty(&self) -> Option<&Histogram<u64>> {
        (!self.histogram.is_empty()).then_some(&self.histogram)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Sample;

    #[test]
    fn an_empty_row_has_no_latency_figures_and_no_error_rate() {
        let stats = RowStats::from_tally(RowKey::new("a", "GET"), &Tally::new());
        assert_eq!(stats.percentile(95.0), None);
        assert_eq!((stats.mean(), stats.min(), stats.max()), (None, None, None));
        assert_eq!(stats.error_rate(), 0.0);
        assert_eq!(stats.rps(Duration::ZERO), 0.0);
    }

    #[test]
    fn an_unsent_request_fails_untimed_and_events_are_not_requests() {
        let mut tally = Tally::new();
        tally.record(&Sample::ok(0, Duration::from_millis(10)), Duration::ZERO);
        let unsent = Sample {
            latency: None,
            ..Sample::failed(0, Duration::ZERO, FailureKind::Template, "undefined")
        };
        tally.record(&unsent, Duration::ZERO);
        tally.count(crate::metrics::Event::Skipped);
        tally.count(crate::metrics::Event::Renewal);
        tally.count(crate::metrics::Event::Renewal);
        let stats = RowStats::from_tally(RowKey::new("a", "GET"), &tally);
        assert_eq!((stats.requests, stats.failed()), (2, 1));
        assert_eq!(stats.histogram.len(), 1, "no 0 ms sample");
        assert_eq!(stats.min(), Some(Duration::from_millis(10)));
        assert_eq!((stats.skipped, stats.renewals), (1, 2));
        let mut events_only = Tally::<u64>::new();
        events_only.count(crate::metrics::Event::Skipped);
        assert!(!events_only.is_empty(), "an event alone is data to merge");
    }

    #[test]
    fn figures_of_a_small_row() {
        let mut tally = Tally::new();
        for ms in [10, 20, 30, 40] {
            let mut sample = Sample::ok(0, Duration::from_millis(ms));
            sample.bytes_in = 100;
            if ms == 40 {
                sample.failure = Some((FailureKind::Status, "500"));
            }
            tally.record(&sample, Duration::ZERO);
        }
        let stats = RowStats::from_tally(RowKey::new("a", "GET"), &tally);
        assert_eq!(stats.requests, 4);
        assert_eq!(stats.failures, BTreeMap::from([(FailureKind::Status, 1)]));
        assert_eq!(stats.error_rate(), 0.25);
        assert_eq!(stats.rps(Duration::from_secs(2)), 2.0);
        assert_eq!(stats.min(), Some(Duration::from_millis(10)));
        // 40 ms sits in a bucket 32 µs wide; max reports the bucket's top.
        let max = stats.max().unwrap();
        assert!(max >= Duration::from_millis(40) && max < Duration::from_micros(40_032));
        let mean = stats.mean().unwrap().as_secs_f64();
        assert!((mean - 0.025).abs() < 0.025 * 1e-3, "mean {mean}");
        assert_eq!(stats.quantile(0.5), stats.percentile(50.0));
    }
}
