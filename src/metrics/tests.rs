//! End-to-end tests of the metrics layer: known distributions recorded from several OS
//! threads into one registry, collected tick by tick, checked against exact figures computed
//! from the inputs.

use super::messages::{MAX_MESSAGES_PER_ROW, OVERFLOW_MESSAGE};
use super::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};
use std::thread;

const THREADS: usize = 4;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `work(thread_index)` on `THREADS` OS threads and waits for them.
/// Joined explicitly: unlike the scope's implicit wait, `join` returns only after the
/// thread's thread-locals are destroyed, which is when its shard is marked retired.
fn on_threads(work: impl Fn(usize) + Sync) {
    thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> = (0..THREADS).map(|t| scope.spawn(move || work(t))).collect();
        for handle in handles {
            handle.join().unwrap();
        }
    });
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap()
}

/// The exact value HDR's `value_at_quantile` approximates: the sample of rank ⌈q·n⌉.
fn exact_quantile(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank - 1]
}

/// `got` is the HDR answer for the exact value `want` (both µs): the top of `want`'s bucket,
/// so never below it and at most 0.1% above.
fn assert_within_precision(got: u64, want: u64, what: &str) {
    assert!(
        got >= want && got - want <= want / 1000,
        "{what}: got {got} µs, exact {want} µs"
    );
}

fn row_names() -> Vec<RowKey> {
    vec![
        RowKey::new("uniform", "GET"),
        RowKey::new("bimodal", "POST"),
        RowKey::new("long_tail", "GET"),
    ]
}

/// Inputs of the three rows, in µs, split by thread: uniform 1..=1000 ms (each ms twice per
/// thread), bimodal (90% 15–25 ms, 10% 900–1100 ms) and a Pareto tail reaching past an hour.
fn inputs(thread: usize) -> [Vec<u64>; 3] {
    let uniform = (1..=1000u64)
        .flat_map(|m| [m * 1000, m * 1000 + 1])
        .collect();
    let mut rng = SmallRng::seed_from_u64(thread as u64);
    let bimodal = (0..5000)
        .map(|i| {
            if i % 10 == 0 {
                rng.random_range(900_000..=1_100_000)
            } else {
                rng.random_range(15_000..=25_000)
            }
        })
        .collect();
    let mut tail: Vec<u64> = (0..5000)
        .map(|_| {
            let u: f64 = rng.random_range(1e-9..1.0);
            (1000.0 * u.powf(-1.0 / 1.2)) as u64
        })
        .collect();
    // Two hours: beyond the histogram's range, so it lands (clamped) on the top bucket.
    tail.push(7_200_000_000);
    [uniform, bimodal, tail]
}

/// The failure a uniform-row sample of `micros` carries, if any.
fn uniform_failure(micros: u64) -> Option<(FailureKind, &'static str)> {
    match micros / 1000 {
        m if m % 100 == 0 => Some((FailureKind::Timeout, "timed out after 30s")),
        m if m % 10 == 0 => Some((FailureKind::Status, "HTTP 500")),
        _ => None,
    }
}

fn record_inputs(registry: &Registry, thread: usize) {
    for (row, values) in inputs(thread).iter().enumerate() {
        for &micros in values {
            let mut sample = Sample::ok(row, Duration::from_micros(micros));
            sample.bytes_in = 100;
            sample.body_bytes = 300;
            sample.bytes_out = 10;
            sample.checks_passed = 2;
            if row == 0 {
                sample.failure = uniform_failure(micros);
                sample.checks_failed = u32::from(sample.failure.is_some());
            }
            registry.record(&sample);
        }
    }
}

#[test]
fn bounds_are_valid_and_a_histogram_grows_with_its_latencies_up_to_184_kib() {
    let kib = |h: &hdrhistogram::Histogram<u64>| h.distinct_values() * 8 / 1024;
    let mut h = new_counts::<u64>();
    assert!(h.is_auto_resize());
    assert_eq!((h.low(), h.sigfig()), (LOWEST_MICROS, SIGNIFICANT_DIGITS));
    // The counts array dominates a histogram's memory: this is the per-row cost of a shard.
    assert_eq!(kib(&h), 16);
    record_n(&mut h, 10_000, 1);
    assert_eq!(kib(&h), 40);
    record_n(&mut h, to_micros(Duration::from_secs(86_400)), 1);
    assert!(h.high() >= HIGHEST_MICROS);
    assert_eq!(kib(&h), 184);
    // The ceiling holds for merged values too (a decoded histogram from elsewhere).
    let mut wide = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    wide.record(HIGHEST_MICROS * 100).unwrap();
    let mut dst = new_counts::<u64>();
    crate::metrics::merge_into(&mut dst, &wide);
    assert_eq!((kib(&dst), dst.len()), (184, 1));
}

#[test]
fn distributions_from_several_threads_match_exact_figures() {
    let registry = Arc::new(Registry::new(row_names()));
    let mut collector = Collector::new(Arc::clone(&registry));
    registry.set_users(THREADS as u64);
    on_threads(|t| record_inputs(&registry, t));
    registry.record_dropped(3);
    let point = collector.tick(ms(1000)).clone();
    let metrics = collector.finish(ms(1500));

    let mut all = Vec::new();
    for (row, stats) in metrics.rows.iter().enumerate() {
        let mut want: Vec<u64> = (0..THREADS)
            .flat_map(|t| inputs(t)[row].clone())
            .map(|us| us.min(HIGHEST_MICROS))
            .collect();
        want.sort_unstable();
        all.extend_from_slice(&want);
        let name = &stats.key.name;
        assert_eq!(stats.requests, want.len() as u64, "{name}");
        assert_eq!(stats.histogram.len(), stats.requests, "{name}");
        for q in [0.5, 0.66, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0] {
            let got = micros(stats.quantile(q).unwrap());
            assert_within_precision(got, exact_quantile(&want, q), &format!("{name} q{q}"));
        }
        assert!(
            stats
                .histogram
                .equivalent(micros(stats.min().unwrap()), want[0])
        );
        assert_within_precision(micros(stats.max().unwrap()), *want.last().unwrap(), name);
        let exact_mean = want.iter().sum::<u64>() as f64 / want.len() as f64;
        let mean = stats.mean().unwrap().as_secs_f64() * 1e6;
        assert!(
            (mean - exact_mean).abs() <= exact_mean / 1000.0,
            "{name} mean"
        );
        assert_eq!(stats.bytes_in, 100 * stats.requests);
        assert_eq!(stats.body_bytes, 300 * stats.requests);
        assert_eq!(stats.bytes_out, 10 * stats.requests);
        assert_eq!(stats.checks_passed, 2 * stats.requests);
    }
    // The long tail's two-hour request is counted, clamped to the top of the range.
    assert_eq!(
        metrics.rows[2].max(),
        Some(Duration::from_micros(HIGHEST_MICROS))
    );

    // Uniform row: every 10th ms fails with a status, every 100th with a timeout.
    let uniform = &metrics.rows[0];
    let per_ms = (2 * THREADS) as u64;
    let want_failures = BTreeMap::from([
        (FailureKind::Status, 90 * per_ms),
        (FailureKind::Timeout, 10 * per_ms),
    ]);
    assert_eq!(uniform.failures, want_failures);
    assert_eq!(uniform.checks_failed, 100 * per_ms);
    assert_eq!(uniform.error_rate(), 0.1);
    let messages: Vec<_> = uniform
        .failure_messages
        .iter()
        .map(|m| (m.message.as_str(), m.kind, m.count))
        .collect();
    assert_eq!(
        messages,
        [
            ("HTTP 500", FailureKind::Status, 90 * per_ms),
            ("timed out after 30s", FailureKind::Timeout, 10 * per_ms),
        ]
    );
    assert!(metrics.rows[1].failures.is_empty());

    // Aggregated: the union of the rows.
    all.sort_unstable();
    let total = &metrics.total;
    assert_eq!(total.key.name, "Aggregated");
    assert_eq!(total.requests, all.len() as u64);
    assert_eq!(total.failures, want_failures);
    assert_eq!(total.failure_messages.len(), 2);
    for q in [0.5, 0.95, 0.99] {
        assert_within_precision(
            micros(total.quantile(q).unwrap()),
            exact_quantile(&all, q),
            "total",
        );
    }

    // Everything landed in the first point; the final partial point is empty.
    assert_eq!(metrics.series.len(), 2);
    assert_eq!(metrics.series[0], point);
    assert_eq!(point.total.requests, total.requests);
    assert_eq!((point.users, point.dropped_iterations), (THREADS as u64, 3));
    assert_eq!(point.total.rps, total.requests as f64);
    let p95 = (row_at(&point, 1).percentiles.p95.unwrap() * 1000.0).round() as u64;
    assert_within_precision(p95, exact_quantile(&all_of(1), 0.95), "p95");
    // Content size is the decoded body, as Locust counts it.
    assert_eq!(row_at(&point, 0).cumulative.avg_content_size, Some(300.0));
    let last = &metrics.series[1];
    assert_eq!((last.total.requests, last.interval_s), (0, 0.5));
    assert_eq!(last.total.percentiles, Percentiles::default());
    assert_eq!(last.total.cumulative.requests, total.requests);
    // Idle rows take no room in a point.
    assert!(last.rows.is_empty(), "{:?}", last.rows);
    assert_eq!(metrics.dropped_iterations, 3);
    assert_eq!(metrics.duration, ms(1500));
}

/// The point of `row` in a series point, which must have it.
fn row_at(point: &SeriesPoint, row: usize) -> &RowPoint {
    let active = point.rows.iter().find(|r| r.row == row);
    &active
        .unwrap_or_else(|| panic!("row {row} is not in {point:?}"))
        .point
}

/// Sorted inputs of one row across all threads.
fn all_of(row: usize) -> Vec<u64> {
    let mut v: Vec<u64> = (0..THREADS).flat_map(|t| inputs(t)[row].clone()).collect();
    v.sort_unstable();
    v
}

#[test]
fn series_sums_equal_totals_when_ticking_while_threads_record() {
    const ROUNDS: u64 = 5;
    let registry = Arc::new(Registry::new(row_names()));
    let mut collector = Collector::new(Arc::clone(&registry));
    let per_round = 4_000u64;
    let per_thread = ROUNDS * per_round;
    // Rounds of recording, each fenced by a barrier: the collector ticks while the workers
    // record (swapping shards under their feet) and once more after the round, so every
    // round's samples land in that round's points and no point is shared between rounds.
    let barrier = Barrier::new(THREADS + 1);
    let mut ticks = 0u64;
    thread::scope(|scope| {
        for _ in 0..THREADS {
            let (registry, barrier) = (&registry, &barrier);
            scope.spawn(move || {
                for _ in 0..ROUNDS {
                    barrier.wait();
                    for i in 0..per_round {
                        let row = (i % 3) as usize;
                        let latency = ms(i % 50 + 1);
                        registry.record(&if i % 7 == 0 {
                            Sample::failed(row, latency, FailureKind::Reset, "reset")
                        } else {
                            Sample::ok(row, latency)
                        });
                    }
                    barrier.wait();
                }
            });
        }
        for _ in 0..ROUNDS {
            barrier.wait();
            for _ in 0..5 {
                ticks += 1;
                collector.tick(ms(ticks * 1000));
            }
            barrier.wait();
            ticks += 1;
            collector.tick(ms(ticks * 1000));
        }
    });
    let busy = collector
        .series()
        .iter()
        .filter(|p| p.total.requests > 0)
        .count();
    assert!(busy as u64 >= ROUNDS, "{busy} points with requests");
    let progress = collector.progress();
    let metrics = collector.finish(ms(ticks * 1000 + 250));
    let want = THREADS as u64 * per_thread;
    assert_eq!(metrics.total.requests, want);
    assert!(metrics.series.len() as u64 >= ticks);
    assert!(metrics.series.len() as u64 <= ticks + 1);
    let series_requests: u64 = metrics.series.iter().map(|p| p.total.requests).sum();
    let series_failures: u64 = metrics.series.iter().map(|p| p.total.failures).sum();
    assert_eq!(series_requests, want);
    assert_eq!(series_failures, metrics.total.failed());
    for (row, stats) in metrics.rows.iter().enumerate() {
        let sum: u64 = metrics
            .series
            .iter()
            .filter_map(|p| p.rows.iter().find(|r| r.row == row))
            .map(|r| r.point.requests)
            .sum();
        assert_eq!(sum, stats.requests);
    }
    for point in &metrics.series {
        let rows: u64 = point.rows.iter().map(|r| r.point.requests).sum();
        assert!(point.rows.iter().all(|r| r.point.requests > 0));
        assert_eq!(rows, point.total.requests);
        assert_eq!(
            point.total.percentiles.p50.is_some(),
            point.total.requests > 0
        );
    }
    let failures = metrics.total.failures[&FailureKind::Reset];
    assert_eq!(failures, THREADS as u64 * ROUNDS * per_round.div_ceil(7));
    assert_eq!(metrics.total.failure_messages[0].count, failures);
    assert_eq!(progress.requests, want);
    let ticked = &metrics.series[..ticks as usize];
    let recent: u64 = ticked[ticked.len() - 5..]
        .iter()
        .map(|p| p.total.requests)
        .sum();
    assert_eq!(progress.recent_requests, recent);
    assert_eq!(progress.recent_p95.is_some(), recent > 0);
}

#[test]
fn failure_messages_are_capped_per_row_across_threads() {
    let registry = Arc::new(Registry::new(vec![RowKey::new("flaky", "GET")]));
    let collector = Collector::new(Arc::clone(&registry));
    on_threads(|t| {
        for i in 0..50 {
            let message = format!("thread {t} error {i}");
            for _ in 0..3 {
                registry.record(&Sample::failed(0, ms(5), FailureKind::Body, &message));
            }
        }
    });
    let metrics = collector.finish(ms(1000));
    let row = &metrics.rows[0];
    let distinct = THREADS * 50;
    assert_eq!(row.failures[&FailureKind::Body], 3 * distinct as u64);
    assert_eq!(row.failure_messages.len(), MAX_MESSAGES_PER_ROW + 1);
    let overflow = row.failure_messages.last().unwrap();
    assert_eq!(overflow.message, OVERFLOW_MESSAGE);
    assert_eq!(overflow.count, 3 * (distinct - MAX_MESSAGES_PER_ROW) as u64);
    assert!(
        row.failure_messages[..MAX_MESSAGES_PER_ROW]
            .iter()
            .all(|m| m.count == 3)
    );
    let counted: u64 = row.failure_messages.iter().map(|m| m.count).sum();
    assert_eq!(counted, row.failed());
}

#[test]
fn latencies_beyond_an_hour_are_clamped_not_dropped() {
    let registry = Arc::new(Registry::new(vec![RowKey::new("slow", "GET")]));
    let collector = Collector::new(Arc::clone(&registry));
    for latency in [Duration::from_secs(3 * 3600), Duration::MAX, Duration::ZERO] {
        registry.record(&Sample::ok(0, latency));
    }
    let metrics = collector.finish(ms(10));
    let row = &metrics.rows[0];
    assert_eq!(row.requests, 3);
    assert_eq!(row.max(), Some(Duration::from_micros(HIGHEST_MICROS)));
    assert_eq!(row.min(), Some(Duration::ZERO));
    assert_eq!(
        row.quantile(0.5),
        Some(Duration::from_micros(HIGHEST_MICROS))
    );
}

#[test]
fn two_registries_on_the_same_threads_do_not_mix() {
    let a = Arc::new(Registry::new(vec![RowKey::new("a", "GET")]));
    let b = Arc::new(Registry::new(vec![
        RowKey::new("b", "GET"),
        RowKey::new("c", "GET"),
    ]));
    let (collect_a, collect_b) = (
        Collector::new(Arc::clone(&a)),
        Collector::new(Arc::clone(&b)),
    );
    on_threads(|t| {
        for _ in 0..100 {
            a.record(&Sample::ok(0, ms(1)));
            b.record(&Sample::ok(1, ms(2)));
        }
        if t == 0 {
            b.record(&Sample::failed(0, ms(3), FailureKind::Check, "b only"));
        }
    });
    a.record(&Sample::ok(0, ms(1)));
    let (a, b) = (collect_a.finish(ms(1)), collect_b.finish(ms(1)));
    assert_eq!(a.total.requests, THREADS as u64 * 100 + 1);
    assert_eq!(a.total.failed(), 0);
    assert_eq!(a.rows[0].max(), Some(ms(1)));
    assert_eq!(
        (b.rows[0].requests, b.rows[1].requests),
        (1, THREADS as u64 * 100)
    );
    assert_eq!(b.total.failure_messages.len(), 1);
    assert_eq!(b.rows[1].min(), Some(ms(2)));
}

#[test]
fn a_thread_keeps_recording_after_an_earlier_registry_is_dropped() {
    let first = Registry::new(vec![RowKey::new("a", "GET")]);
    first.record(&Sample::ok(0, ms(1)));
    drop(first);
    let second = Arc::new(Registry::new(vec![RowKey::new("a", "GET")]));
    let collector = Collector::new(Arc::clone(&second));
    second.record(&Sample::ok(0, ms(2)));
    second.record(&Sample::ok(0, ms(2)));
    let metrics = collector.finish(ms(1));
    assert_eq!(metrics.total.requests, 2);
}

#[test]
fn shards_of_exited_threads_are_drained_then_forgotten() {
    let registry = Arc::new(Registry::new(vec![RowKey::new("a", "GET")]));
    let mut collector = Collector::new(Arc::clone(&registry));
    on_threads(|_| registry.record(&Sample::ok(0, ms(1))));
    assert_eq!(registry.shards().len(), THREADS);
    assert_eq!(collector.tick(ms(1000)).total.requests, THREADS as u64);
    assert!(registry.shards().is_empty());
    // The main thread's shard stays: its thread is alive.
    registry.record(&Sample::ok(0, ms(1)));
    collector.tick(ms(2000));
    assert_eq!(registry.shards().len(), 1);
    assert_eq!(collector.progress().requests, THREADS as u64 + 1);
    assert_eq!(collector.finish(ms(2000)).series.len(), 2);
}

/// The progress line's recent figures cover the last five intervals only: second `t` of
/// seven records `t` requests of `t` ms, so the window holds seconds 3 to 7.
#[test]
fn recent_progress_figures_cover_the_last_five_intervals() {
    let registry = Arc::new(Registry::new(vec![RowKey::new("a", "GET")]));
    let mut collector = Collector::new(registry.clone());
    for t in 1..=7u64 {
        for _ in 0..t {
            registry.record(&Sample::ok(0, ms(t)));
        }
        collector.tick(ms(t * 1000));
        let p = collector.progress();
        assert_eq!(p.recent, ms(t.min(5) * 1000), "at {t} s");
    }
    let p = collector.progress();
    assert_eq!(p.requests, 28);
    assert_eq!(p.recent_requests, 3 + 4 + 5 + 6 + 7);
    // 95% of 25 requests is the 24th, one of second 7's: the top of 7 ms's bucket.
    assert_eq!(p.recent_p95, Some(Duration::from_micros(7_003)));
}
