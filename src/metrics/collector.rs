//! The reading side: a [`Collector`], owned by the engine's ticker, swaps every shard's
//! interval data out once a second, merges it into running totals and appends one time
//! series point; at the end it hands back [`RunMetrics`]. Merging happens here, off the
//! workers' hot path.

use super::messages::MessageLog;
use super::registry::{Registry, Shard, new_rows};
use super::reported;
use super::sample::RowKey;
use super::series::{ActiveRow, RowPoint, SeriesPoint};
use super::stats::{RowStats, RunMetrics};
use super::tally::{Interval, Tally};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Live figures for the progress line, as of the last tick.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Progress {
    /// Time of the last tick since the start of the run.
    pub elapsed: Duration,
    /// Requests so far.
    pub requests: u64,
    /// Failures so far.
    pub failures: u64,
    /// Closed model: live users; open model: iterations in flight.
    pub users: u64,
    /// The open model's planned arrival rate now, per second; `None` under the closed model.
    pub rate: Option<f64>,
    /// Open-model iterations dropped so far.
    pub dropped_iterations: u64,
    /// What the last [`RECENT`] intervals cover (less early in the run).
    pub recent: Duration,
    /// Requests completed in those intervals.
    pub recent_requests: u64,
    /// 95th percentile latency of those intervals' requests, all rows together.
    pub recent_p95: Option<Duration>,
}

/// Intervals (seconds) behind the progress line's recent figures: long enough to smooth a
/// slow endpoint's gaps, short enough to show a change within a few seconds.
const RECENT: usize = 5;

/// Merges the registry's shards, tick by tick. Memory: per row a running total and an
/// interval merge (two histograms), one spare shard's worth of rows for the swap, two
/// histograms for the overall figures and [`RECENT`] + 1 for the progress line's recent
/// ones, whatever the number of threads.
#[derive(Debug)]
pub(crate) struct Collector {
    registry: Arc<Registry>,
    /// Swapped with a shard's rows under its lock, so the lock is held for a pointer swap;
    /// after the merge it is empty again and serves the next shard.
    spare: Vec<Interval>,
    /// Per row: this interval's data from every shard (messages unused).
    interval: Vec<Interval>,
    /// Per row: running totals, messages included.
    totals: Vec<Tally>,
    /// All rows together, this interval and so far (messages unused).
    interval_all: Interval,
    total_all: Tally,
    /// The last [`RECENT`] intervals of all rows together, with their lengths, oldest first;
    /// the oldest is reused for the next, so a tick allocates nothing.
    recent: VecDeque<(Duration, Interval)>,
    /// Their merge, rebuilt each tick.
    recent_all: Tally,
    series: Vec<SeriesPoint>,
    last_elapsed: Duration,
    last_dropped: u64,
    progress: Progress,
    /// Each point carries its interval's histograms (a shard's, for an exact merge).
    histograms: bool,
}

impl Collector {
    /// A collector for `registry`; create one per registry.
    pub(crate) fn new(registry: Arc<Registry>) -> Self {
        let rows = registry.rows().len();
        Self {
            spare: new_rows(rows),
            interval: new_rows(rows),
            totals: new_rows(rows),
            interval_all: Tally::new(),
            total_all: Tally::new(),
            recent: VecDeque::with_capacity(RECENT),
            recent_all: Tally::new(),
            series: Vec::new(),
            last_elapsed: Duration::ZERO,
            last_dropped: 0,
            progress: Progress::default(),
            histograms: false,
            registry,
        }
    }

    /// Keeps each interval's histograms in its point (`keep`), encoded as the totals are.
    pub(crate) fn keeping_histograms(mut self, keep: bool) -> Self {
        self.histograms = keep;
        self
    }

    /// Collects the interval that ended at `elapsed` (time since the run started) and returns
    /// its time series point, also appended to the series.
    pub(crate) fn tick(&mut self, elapsed: Duration) -> &SeriesPoint {
        self.drain();
        self.push_point(elapsed)
    }

    /// Figures for the progress line, as of the last tick; no merging, no locks.
    pub(crate) fn progress(&self) -> Progress {
        Progress {
            users: self.registry.users(),
            rate: self.registry.rate(),
            ..self.progress
        }
    }

    /// The series so far.
    pub(crate) fn series(&self) -> &[SeriesPoint] {
        &self.series
    }

    /// The running totals as of the last tick, as [`RunMetrics`] without the series: what
    /// abort-on-fail SLA checks read during the run. Clones one histogram per row, so call it
    /// only when such a check is due, not for every progress line.
    pub(crate) fn snapshot(&self) -> RunMetrics {
        RunMetrics {
            rows: self
                .registry
                .rows()
                .iter()
                .zip(&self.totals)
                .map(|(key, tally)| RowStats::from_tally(key.clone(), tally))
                .collect(),
            total: RowStats::from_tally(RowKey::new("Aggregated", ""), &self.total_all),
            series: Vec::new(),
            dropped_iterations: self.registry.dropped(),
            duration: self.last_elapsed,
        }
    }

    /// Collects what was recorded since the last tick and returns the run's metrics. Call it
    /// after the workers have stopped: samples recorded afterwards are not counted. The last
    /// point covers the partial interval since the last tick; it is left out only when that
    /// interval is empty in both time and data.
    pub(crate) fn finish(mut self, elapsed: Duration) -> RunMetrics {
        let drained = self.drain();
        if drained || elapsed > self.last_elapsed {
            self.push_point(elapsed);
        }
        let rows: Vec<RowStats> = self
            .registry
            .rows()
            .iter()
            .zip(&self.totals)
            .map(|(key, tally)| RowStats::from_tally(key.clone(), tally))
            .collect();
        // The per-row logs are bounded, so rebuilding the total's (bounded too) is cheap.
        let mut messages = MessageLog::default();
        for tally in &self.totals {
            messages.absorb(&tally.messages);
        }
        self.total_all.messages = messages;
        RunMetrics {
            rows,
            total: RowStats::from_tally(RowKey::new("Aggregated", ""), &self.total_all),
            series: self.series,
            dropped_iterations: self.registry.dropped(),
            duration: elapsed,
        }
    }

    /// Swaps every shard's rows out and merges them into `interval` (and messages into
    /// `totals`). Returns whether any sample was found.
    fn drain(&mut self) -> bool {
        for tally in &mut self.interval {
            tally.reset();
        }
        let mut any = false;
        let mut retired: Vec<Arc<Shard>> = Vec::new();
        for shard in self.registry.shards() {
            // Read before the swap: a thread marks its shard retired after its last sample,
            // so once we see the mark, this swap takes everything it will ever record.
            let is_retired = shard.retired.load(Ordering::Acquire);
            std::mem::swap(&mut *shard.lock(), &mut self.spare);
            for ((row, interval), total) in self
                .spare
                .iter_mut()
                .zip(&mut self.interval)
                .zip(&mut self.totals)
            {
                if row.is_empty() {
                    continue;
                }
                any = true;
                interval.absorb(row);
                row.messages.drain_into(&mut total.messages);
                row.reset();
            }
            if is_retired {
                retired.push(shard);
            }
        }
        if !retired.is_empty() {
            self.registry.remove_shards(&retired);
        }
        any
    }

    /// Folds `interval` into the running totals and appends the point ending at `elapsed`.
    fn push_point(&mut self, elapsed: Duration) -> &SeriesPoint {
        let interval_s = elapsed.saturating_sub(self.last_elapsed).as_secs_f64();
        self.interval_all.reset();
        let mut rows = Vec::new();
        for (row, (interval, total)) in self.interval.iter().zip(&mut self.totals).enumerate() {
            total.absorb(interval);
            self.interval_all.absorb(interval);
            if interval.counters.requests > 0 {
                rows.push(ActiveRow {
                    row,
                    point: RowPoint::of(interval, total, interval_s)
                        .with_histogram(self.histograms.then_some(&interval.histogram)),
                });
            }
        }
        self.total_all.absorb(&self.interval_all);
        let total = RowPoint::of(&self.interval_all, &self.total_all, interval_s)
            .with_histogram(self.histograms.then_some(&self.interval_all.histogram));

        self.remember(elapsed.saturating_sub(self.last_elapsed));
        let recent = &self.recent_all.histogram;
        let dropped = self.registry.dropped();
        let users = self.registry.users();
        self.progress = Progress {
            elapsed,
            requests: total.cumulative.requests,
            failures: total.cumulative.failures,
            users,
            rate: self.registry.rate(),
            dropped_iterations: dropped,
            recent: self.recent.iter().map(|(length, _)| *length).sum(),
            recent_requests: self.recent_all.counters.requests,
            recent_p95: (!recent.is_empty())
                .then(|| Duration::from_micros(reported(recent.value_at_quantile(0.95)))),
        };
        let index = self.series.len();
        self.series.push(SeriesPoint {
            elapsed_s: elapsed.as_secs_f64(),
            interval_s,
            users,
            dropped_iterations: dropped.saturating_sub(self.last_dropped),
            rows,
            total,
        });
        self.last_elapsed = elapsed;
        self.last_dropped = dropped;
        &self.series[index]
    }

    /// Keeps this interval of all rows (`length` long) among the recent ones and merges them
    /// for the progress line: [`RECENT`] histogram merges a tick, nothing per sample.
    fn remember(&mut self, length: Duration) {
        let mut slot = if self.recent.len() < RECENT {
            Interval::new()
        } else {
            self.recent
                .pop_front()
                .map_or_else(Interval::new, |(_, i)| i)
        };
        slot.reset();
        slot.absorb(&self.interval_all);
        self.recent.push_back((length, slot));
        self.recent_all.reset();
        for (_, interval) in &self.recent {
            self.recent_all.absorb(interval);
        }
    }
}
