//! The accumulator of one row: histogram, counters and failure messages. The same type is a
//! row of a worker's shard (one interval's data), a row of the collector's interval merge,
//! and a row's running total, so merging is one `absorb` everywhere.

use super::messages::MessageLog;
use super::sample::{Event, FailureKind, Sample};
use super::{merge_into, new_counts, record_n, to_micros};
use hdrhistogram::{Counter, Histogram};
use std::time::Duration;

/// Plain counters of one row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    pub(crate) requests: u64,
    /// Indexed by [`FailureKind::index`].
    pub(crate) failures: [u64; FailureKind::COUNT],
    pub(crate) bytes_in: u64,
    pub(crate) body_bytes: u64,
    pub(crate) bytes_out: u64,
    pub(crate) checks_passed: u64,
    pub(crate) checks_failed: u64,
    pub(crate) skipped: u64,
    pub(crate) renewals: u64,
}

impl Counters {
    pub(crate) fn add(&mut self, other: &Counters) {
        self.requests += other.requests;
        for (mine, theirs) in self.failures.iter_mut().zip(other.failures) {
            *mine += theirs;
        }
        self.bytes_in += other.bytes_in;
        self.body_bytes += other.body_bytes;
        self.bytes_out += other.bytes_out;
        self.checks_passed += other.checks_passed;
        self.checks_failed += other.checks_failed;
        self.skipped += other.skipped;
        self.renewals += other.renewals;
    }

    /// Failed requests, all kinds together.
    pub(crate) fn failed(&self) -> u64 {
        self.failures.iter().sum()
    }
}

/// Histogram + counters + messages of one row. Running totals count in 64 bits; a
/// second's data (a shard's rows, the interval merge) in 32.
#[derive(Debug)]
pub(crate) struct Tally<C: Counter = u64> {
    /// Latency in microseconds; every request, failed or not.
    pub(crate) histogram: Histogram<C>,
    pub(crate) counters: Counters,
    pub(crate) messages: MessageLog,
}

/// One interval's data of a row.
pub(crate) type Interval = Tally<u32>;

impl<C: Counter> Tally<C> {
    pub(crate) fn new() -> Self {
        Self {
            histogram: new_counts(),
            counters: Counters::default(),
            messages: MessageLog::default(),
        }
    }

    /// Records one sample; `at` (time since the registry started) dates a failure message.
    pub(crate) fn record(&mut self, sample: &Sample<'_>, at: Duration) {
        if let Some(latency) = sample.latency {
            record_n(&mut self.histogram, to_micros(latency), C::one());
        }
        let c = &mut self.counters;
        c.requests += 1;
        c.bytes_in += sample.bytes_in;
        c.body_bytes += sample.body_bytes;
        c.bytes_out += sample.bytes_out;
        c.checks_passed += u64::from(sample.checks_passed);
        c.checks_failed += u64::from(sample.checks_failed);
        if let Some((kind, message)) = sample.failure {
            c.failures[kind.index()] += 1;
            self.messages.record(kind, message, at);
        }
    }

    /// Counts one [`Event`].
    pub(crate) fn count(&mut self, event: Event) {
        match event {
            Event::Skipped => self.counters.skipped += 1,
            Event::Renewal => self.counters.renewals += 1,
        }
    }

    /// Nothing recorded since the last reset: every sample counts a request, every event
    /// its counter, so the counters alone tell.
    pub(crate) fn is_empty(&self) -> bool {
        self.counters == Counters::default()
    }

    /// Adds the histogram and counters of `src` (not its messages: those move with
    /// [`MessageLog::drain_into`], once, into the running total).
    pub(crate) fn absorb<S: Counter>(&mut self, src: &Tally<S>) {
        merge_into(&mut self.histogram, &src.histogram);
        self.counters.add(&src.counters);
    }

    /// Empties the histogram and counters; message keys stay (see [`MessageLog`]).
    pub(crate) fn reset(&mut self) {
        // `reset` clears the whole counts array, so skip it when nothing was recorded.
        if !self.histogram.is_empty() {
            self.histogram.reset();
        }
        self.counters = Counters::default();
    }
}
