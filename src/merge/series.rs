//! The shards' per-second series as one, on wall-clock seconds from the earliest start.
//! Shards start a fraction of a second (or a few seconds) apart, so their ticks do not line
//! up: each point goes to the second its interval mostly covers, and the points of one
//! second add, histograms included, so each second's percentiles are exact. Running totals
//! come from the merged seconds themselves; a shard's users and content sizes, which a point
//! holds as levels, carry forward to the seconds it has no point in.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::metrics::{
    ActiveRow, Cumulative, Percentiles, RowPoint, SeriesPoint, decode_histogram, merge_into,
    new_counts, per_second,
};
use crate::report::summary::Saved;

/// One row's (or the total's) sums in one merged second, or so far.
#[derive(Default)]
struct Sums {
    requests: u64,
    failures: u64,
    bytes_in: u64,
    bytes_out: u64,
    histogram: Option<Histogram<u64>>,
}

impl Sums {
    fn add(&mut self, p: &RowPoint, histogram: &Histogram<u64>) {
        self.requests += p.requests;
        self.failures += p.failures;
        self.bytes_in += p.bytes_in;
        self.bytes_out += p.bytes_out;
        self.absorb_histogram(histogram);
    }

    fn absorb_histogram(&mut self, h: &Histogram<u64>) {
        merge_into(self.histogram.get_or_insert_with(new_counts), h);
    }

    fn histogram(&self) -> Histogram<u64> {
        self.histogram.clone().unwrap_or_else(new_counts)
    }
}

/// One merged second.
#[derive(Default)]
struct Second {
    /// The latest end of a point in it, seconds from the earliest start.
    end: f64,
    rows: BTreeMap<usize, Sums>,
    total: Sums,
    dropped: u64,
    /// Per shard: its users at its latest point in this second.
    users: BTreeMap<usize, u64>,
    /// Per shard and row (`None`: the total): response body bytes so far.
    body: BTreeMap<(usize, Option<usize>), u64>,
}

/// The series of `shards` (each with its start's offset from the earliest) as one.
pub(super) fn merge(shards: &[(&Saved, Duration)]) -> Result<Vec<SeriesPoint>, String> {
    let mut seconds: BTreeMap<u64, Second> = BTreeMap::new();
    for (shard, (input, offset)) in shards.iter().enumerate() {
        for p in &input.summary.series {
            let end = offset.as_secs_f64() + p.elapsed_s;
            let middle = end - p.interval_s / 2.0;
            let second = seconds.entry(middle.max(0.0).floor() as u64).or_default();
            second.end = second.end.max(end);
            second.dropped += p.dropped_iterations;
            second.users.insert(shard, p.users);
            second
                .total
                .add(&p.total, &histogram(&p.total, &input.file)?);
            second.body.insert((shard, None), body_bytes(&p.total));
            for r in &p.rows {
                second
                    .rows
                    .entry(r.row)
                    .or_default()
                    .add(&r.point, &histogram(&r.point, &input.file)?);
                second
                    .body
                    .insert((shard, Some(r.row)), body_bytes(&r.point));
            }
        }
    }
    Ok(points(seconds))
}

/// The merged points, running totals accumulated second by second.
fn points(seconds: BTreeMap<u64, Second>) -> Vec<SeriesPoint> {
    let last = seconds.keys().next_back().copied();
    let mut so_far: BTreeMap<Option<usize>, Sums> = BTreeMap::new();
    let mut users: BTreeMap<usize, u64> = BTreeMap::new();
    let mut body: BTreeMap<(usize, Option<usize>), u64> = BTreeMap::new();
    let mut previous_end = 0.0;
    let mut out = Vec::new();
    for (index, second) in seconds {
        // Whole seconds, but the last one ends with the last shard.
        let end = if Some(index) == last {
            second.end
        } else {
            (index + 1) as f64
        };
        let interval_s = (end - previous_end).max(0.0);
        previous_end = end;
        users.extend(&second.users);
        body.extend(&second.body);
        let mut point = |row: Option<usize>, sums: &Sums| {
            let total = so_far.entry(row).or_default();
            total.requests += sums.requests;
            total.failures += sums.failures;
            let h = sums.histogram();
            total.absorb_histogram(&h);
            let body_bytes = body
                .iter()
                .filter(|((_, r), _)| *r == row)
                .map(|(_, b)| b)
                .sum();
            RowPoint {
                requests: sums.requests,
                failures: sums.failures,
                rps: per_second(sums.requests, interval_s),
                fps: per_second(sums.failures, interval_s),
                bytes_in: sums.bytes_in,
                bytes_out: sums.bytes_out,
                percentiles: Percentiles::of(&h),
                cumulative: Cumulative::from_parts(
                    &total.histogram(),
                    total.requests,
                    total.failures,
                    body_bytes,
                ),
                histogram: None,
            }
        };
        let rows = second
            .rows
            .iter()
            .map(|(row, sums)| ActiveRow {
                row: *row,
                point: point(Some(*row), sums),
            })
            .collect();
        let total = point(None, &second.total);
        out.push(SeriesPoint {
            elapsed_s: end,
            interval_s,
            users: users.values().sum(),
            dropped_iterations: second.dropped,
            rows,
            total,
        });
    }
    out
}

/// A point's histogram; a shard's points carry one whenever they have requests.
fn histogram(p: &RowPoint, file: &str) -> Result<Histogram<u64>, String> {
    match &p.histogram {
        Some(text) => decode_histogram(text).map_err(|e| format!("{file}: series: {e}")),
        None if p.requests == 0 => Ok(new_counts()),
        None => Err(format!(
            "{file}: its per-second points carry no histograms: merge summaries written by \
             `loadplan run --shard K/N`"
        )),
    }
}

/// Response body bytes so far, from the mean content size a point keeps.
fn body_bytes(p: &RowPoint) -> u64 {
    let c = &p.cumulative;
    c.avg_content_size
        .map_or(0, |avg| (avg * c.requests as f64).round() as u64)
}
