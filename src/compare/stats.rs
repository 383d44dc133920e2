//! The statistics behind `compare`'s verdicts. Each figure gets a 95 % confidence interval of
//! its change (new − baseline), computed from what the two runs recorded, never from two
//! bare numbers: percentiles and the maximum by a bootstrap over the HDR buckets, the mean
//! by Welch's normal interval from the histograms' moments, the error rate by Newcombe's
//! score interval for a difference of two proportions, the request rate by a Poisson
//! interval. [`judge`] then weighs the interval against the practical floor. The methods
//! are explained for users in `docs/compare.md`.

use hdrhistogram::Histogram;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Beta, Distribution};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::metrics::micros_to_ms;

/// Confidence level of every interval.
pub(crate) const CONFIDENCE: f64 = 0.95;
/// The normal quantile of [`CONFIDENCE`], two-sided (1.96).
const Z: f64 = 1.959_963_984_540_054;
/// Bootstrap replicates per percentile: the interval's ends are its 2.5th and 97.5th
/// percentiles, each then resting on 50 replicates.
pub(crate) const REPLICATES: usize = 2000;
/// Every bootstrap starts from this seed, so the same two summaries always give the same
/// verdicts.
const SEED: u64 = 14;
/// Fewest samples on each side for the mean, the maximum or any percentile: below it the
/// normal approximation and the bootstrap both mislead.
pub(crate) const MIN_SAMPLES: u64 = 30;
/// Fewest samples above a percentile on each side: p95 needs 100 samples, p99 500. With
/// fewer, a percentile is the few slowest requests, and chance alone moves it.
const MIN_BEYOND: f64 = 5.0;

/// A confidence interval of a change (new − baseline), in the figure's unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Interval {
    /// Lower end. Example: `8.9` (ms).
    pub low: f64,
    /// Upper end. Example: `11.2` (ms).
    pub high: f64,
}

/// What a figure's change means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
// Named apart from the SLA's verdicts, beside which summary.json carries it.
#[schemars(rename = "ChangeVerdict")]
pub(crate) enum Verdict {
    /// Worse, beyond chance and by more than the practical floor (`--threshold`, `--noise`,
    /// `--error-noise`).
    Regressed,
    /// Better, beyond chance and by more than the practical floor.
    Improved,
    /// Any change is within the practical floor: the whole confidence interval is.
    Unchanged,
    /// The samples cannot tell: too few of them, or the interval reaches past the floor
    /// without excluding no change.
    Inconclusive,
}

impl Verdict {
    /// The word reports show.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// The verdict of an observed `change` with confidence interval `interval`, where changes
/// within `floor` (≥ 0) do not matter and `worse_up` says whether a larger value is worse.
/// Significant means the interval excludes zero; that alone is not enough, since long runs
/// make any shift significant: the observed change must also exceed the floor.
pub(crate) fn judge(change: f64, interval: Interval, floor: f64, worse_up: bool) -> Verdict {
    let (up, down) = if worse_up {
        (Verdict::Regressed, Verdict::Improved)
    } else {
        (Verdict::Improved, Verdict::Regressed)
    };
    if change.abs() > floor && interval.low > 0.0 {
        up
    } else if change.abs() > floor && interval.high < 0.0 {
        down
    } else if interval.low >= -floor && interval.high <= floor {
        Verdict::Unchanged
    } else {
        Verdict::Inconclusive
    }
}

/// A latency histogram as cumulative counts per recorded bucket, each bucket read as its
/// top in milliseconds, as the summary's percentiles are.
#[derive(Debug, Clone)]
pub(crate) struct Buckets {
    cumulative: Vec<u64>,
    values_ms: Vec<f64>,
    mean_ms: f64,
    stdev_ms: f64,
}

impl Buckets {
    /// The buckets of `h`.
    pub(crate) fn of(h: &Histogram<u64>) -> Self {
        let mut total = 0u64;
        let (cumulative, values_ms) = h
            .iter_recorded()
            .map(|v| {
                total = total.saturating_add(v.count_at_value());
                (
                    total,
                    micros_to_ms(h.highest_equivalent(v.value_iterated_to())),
                )
            })
            .unzip();
        Buckets {
            cumulative,
            values_ms,
            mean_ms: h.mean() / 1000.0,
            stdev_ms: h.stdev() / 1000.0,
        }
    }

    /// Samples recorded.
    pub(crate) fn samples(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// The mean in ms; `None` without samples.
    pub(crate) fn mean(&self) -> Option<f64> {
        (self.samples() > 0).then_some(self.mean_ms)
    }

    /// The `q` quantile in ms (1.0: the maximum), as hdrhistogram's `value_at_quantile`
    /// reads it: the bucket holding the ⌈q·n⌉-th sample; `None` without samples.
    pub(crate) fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.samples();
        if n == 0 {
            return None;
        }
        self.at_rank(rank(q, n) as f64)
    }

    /// The bucket that holds the sample of rank `r` (1 ≤ r ≤ n, fractional allowed).
    fn at_rank(&self, r: f64) -> Option<f64> {
        let i = self.cumulative.partition_point(|&c| (c as f64) < r);
        self.values_ms.get(i).or(self.values_ms.last()).copied()
    }

    /// Whether the `q` quantile rests on enough samples to be compared (see [`MIN_BEYOND`]).
    pub(crate) fn enough_for(&self, q: f64) -> bool {
        enough(self.samples(), q)
    }
}

fn enough(n: u64, q: f64) -> bool {
    n >= MIN_SAMPLES && (q >= 1.0 || n as f64 * (1.0 - q) >= MIN_BEYOND - 1e-9)
}

/// The fewest samples the `q` quantile is compared with (p50 30, p95 100, p99 500).
pub(crate) fn samples_needed(q: f64) -> u64 {
    (MIN_SAMPLES..)
        .find(|&n| enough(n, q))
        .unwrap_or(MIN_SAMPLES)
}

/// hdrhistogram's rank of the `q` quantile among `n` samples: ⌈q·n⌉, at least 1.
fn rank(q: f64, n: u64) -> u64 {
    ((q * n as f64).ceil() as u64).clamp(1, n)
}

/// Bootstrap interval of the change of the `q` quantile (1.0: the maximum). Resampling `n`
/// requests from a run and taking the k-th smallest is the same as reading the run's
/// distribution at the k-th smallest of `n` uniform numbers, which follows Beta(k, n−k+1):
/// each replicate draws that one number per side instead of `n` requests, so a replicate
/// costs the same for 10 requests as for 10 million. `None` when either side lacks the
/// samples ([`Buckets::enough_for`]).
pub(crate) fn quantile_change(base: &Buckets, new: &Buckets, q: f64) -> Option<Interval> {
    if !base.enough_for(q) || !new.enough_for(q) {
        return None;
    }
    let order = |b: &Buckets| {
        let n = b.samples();
        let k = rank(q, n);
        Beta::new(k as f64, (n - k + 1) as f64).ok()
    };
    let (base_beta, new_beta) = (order(base)?, order(new)?);
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut draw = |b: &Buckets, beta: &Beta<f64>| {
        let u: f64 = beta.sample(&mut rng);
        b.at_rank(u * b.samples() as f64)
    };
    let mut changes: Vec<f64> = (0..REPLICATES)
        .filter_map(|_| Some(draw(new, &new_beta)? - draw(base, &base_beta)?))
        .collect();
    changes.sort_by(f64::total_cmp);
    let at = |p: f64| changes.get((changes.len().saturating_sub(1) as f64 * p).round() as usize);
    let tail = (1.0 - CONFIDENCE) / 2.0;
    Some(Interval {
        low: *at(tail)?,
        high: *at(1.0 - tail)?,
    })
}

/// Welch's interval of the change of the mean, from each histogram's mean and standard
/// deviation (with [`MIN_SAMPLES`] or more, the mean is close enough to normal).
pub(crate) fn mean_change(base: &Buckets, new: &Buckets) -> Option<Interval> {
    let (n1, n2) = (base.samples(), new.samples());
    if n1 < MIN_SAMPLES || n2 < MIN_SAMPLES {
        return None;
    }
    let change = new.mean_ms - base.mean_ms;
    let se = (base.stdev_ms.powi(2) / n1 as f64 + new.stdev_ms.powi(2) / n2 as f64).sqrt();
    Some(Interval {
        low: change - Z * se,
        high: change + Z * se,
    })
}

/// Wilson's score interval of a proportion `x` of `n`.
fn wilson(x: u64, n: u64) -> (f64, f64) {
    let (x, n) = (x as f64, n as f64);
    let p = x / n;
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Newcombe's hybrid score interval (his method 10) of the change of a proportion, from
/// `x1` of `n1` to `x2` of `n2`: unlike the textbook z-test it stays honest with few or no
/// failures (0 of 50 against 0 of 50 cannot rule out a few percent). `None` when a side
/// has no requests.
pub(crate) fn proportion_change(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<Interval> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let ((l1, u1), (l2, u2)) = (wilson(x1, n1), wilson(x2, n2));
    let change = p2 - p1;
    Some(Interval {
        low: change - ((p2 - l2).powi(2) + (u1 - p1).powi(2)).sqrt(),
        high: change + ((u2 - p2).powi(2) + (p1 - l1).powi(2)).sqrt(),
    })
}

/// The interval of the change of a rate, `n1` events in `t1` seconds to `n2` in `t2`,
/// taking counts as Poisson (each with variance equal to itself). Under a closed model the
/// counts vary less than that, so the interval is, if anything, too wide. `None` without
/// a measured duration on both sides, or without any request.
pub(crate) fn rate_change(n1: u64, t1: f64, n2: u64, t2: f64) -> Option<Interval> {
    if t1 <= 0.0 || t2 <= 0.0 || n1 + n2 == 0 {
        return None;
    }
    let change = n2 as f64 / t2 - n1 as f64 / t1;
    let se = (n1 as f64 / (t1 * t1) + n2 as f64 / (t2 * t2)).sqrt();
    Some(Interval {
        low: change - Z * se,
        high: change + Z * se,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::new_counts;
    use rand_distr::LogNormal;

    /// `n` latencies around `median_ms` (log-normal, σ = 0.3: a long right tail, as real
    /// latencies have), each multiplied by `scale`.
    fn histogram(seed: u64, n: usize, median_ms: f64, scale: f64) -> Histogram<u64> {
        let mut rng = StdRng::seed_from_u64(seed);
        let dist = LogNormal::new((median_ms * 1000.0).ln(), 0.3).unwrap();
        let mut h = new_counts::<u64>();
        for _ in 0..n {
            let us: f64 = dist.sample(&mut rng);
            crate::metrics::record_n(&mut h, (us * scale) as u64, 1);
        }
        h
    }

    fn run(seed: u64, n: usize, median_ms: f64, scale: f64) -> Buckets {
        Buckets::of(&histogram(seed, n, median_ms, scale))
    }

    fn verdict_of(base: &Buckets, new: &Buckets, q: f64) -> Verdict {
        let (b, n) = (base.quantile(q).unwrap(), new.quantile(q).unwrap());
        match quantile_change(base, new, q) {
            Some(interval) => judge(n - b, interval, (0.1 * b).max(1.0), true),
            None => Verdict::Inconclusive,
        }
    }

    /// Counts the verdicts of `trials` seeded trials.
    fn trials(
        trials: u64,
        mut verdict: impl FnMut(u64) -> Verdict,
    ) -> std::collections::BTreeMap<&'static str, u64> {
        let mut counts = std::collections::BTreeMap::new();
        for t in 0..trials {
            *counts.entry(verdict(t).as_str()).or_default() += 1;
        }
        counts
    }

    #[test]
    fn quantiles_read_as_the_summary_reads_them() {
        let mut h = new_counts::<u64>();
        for us in [12_000, 12_003, 30_000, 700_000] {
            h.record(us).unwrap();
        }
        let b = Buckets::of(&h);
        for q in [0.25, 0.5, 0.75, 0.95, 1.0] {
            assert_eq!(
                b.quantile(q),
                Some(micros_to_ms(h.value_at_quantile(q))),
                "q {q}"
            );
        }
        assert_eq!(b.quantile(1.0), Some(micros_to_ms(h.max())));
        assert_eq!(b.samples(), 4);
        assert_eq!(Buckets::of(&new_counts::<u64>()).quantile(0.5), None);
    }

    #[test]
    fn the_same_distribution_is_unchanged_in_95_percent_of_trials() {
        // 2,000 samples put 20 above a p99: too few to rule out a 10 % change in 4 trials of
        // 10, so the p99 gets 10,000.
        for (q, n) in [(0.5, 2000), (0.9, 2000), (0.95, 2000), (0.99, 10_000)] {
            let counts = trials(100, |t| {
                verdict_of(&run(2 * t, n, 20.0, 1.0), &run(2 * t + 1, n, 20.0, 1.0), q)
            });
            assert!(
                counts.get("unchanged").copied().unwrap_or(0) >= 95,
                "q {q}: {counts:?}"
            );
        }
    }

    #[test]
    fn a_20_percent_shift_in_2000_samples_regresses_in_95_percent_of_trials() {
        for q in [0.5, 0.9, 0.95, 0.99] {
            let counts = trials(100, |t| {
                verdict_of(
                    &run(2 * t, 2000, 20.0, 1.0),
                    &run(2 * t + 1, 2000, 20.0, 1.2),
                    q,
                )
            });
            assert!(
                counts.get("regressed").copied().unwrap_or(0) >= 95,
                "q {q}: {counts:?}"
            );
            // And the other way round it is an improvement.
            let counts = trials(20, |t| {
                verdict_of(
                    &run(2 * t, 2000, 20.0, 1.2),
                    &run(2 * t + 1, 2000, 20.0, 1.0),
                    q,
                )
            });
            assert_eq!(counts.get("improved"), Some(&20), "q {q}: {counts:?}");
        }
    }

    #[test]
    fn the_mean_follows_the_same_rules() {
        let judge_mean = |base: &Buckets, new: &Buckets| {
            let change = new.mean().unwrap() - base.mean().unwrap();
            judge(
                change,
                mean_change(base, new).unwrap(),
                (0.1 * base.mean().unwrap()).max(1.0),
                true,
            )
        };
        let same = trials(100, |t| {
            judge_mean(
                &run(2 * t, 2000, 20.0, 1.0),
                &run(2 * t + 1, 2000, 20.0, 1.0),
            )
        });
        assert!(
            same.get("unchanged").copied().unwrap_or(0) >= 95,
            "{same:?}"
        );
        let shifted = trials(100, |t| {
            judge_mean(
                &run(2 * t, 2000, 20.0, 1.0),
                &run(2 * t + 1, 2000, 20.0, 1.2),
            )
        });
        assert!(
            shifted.get("regressed").copied().unwrap_or(0) >= 95,
            "{shifted:?}"
        );
    }

    #[test]
    fn a_tiny_but_significant_shift_is_unchanged() {
        // 0.05 ms on 2 ms, 20,000 samples a side: beyond chance, below the 1 ms floor.
        let base = run(1, 20_000, 2.0, 1.0);
        let new = run(2, 20_000, 2.0, 1.025);
        let interval = quantile_change(&base, &new, 0.5).unwrap();
        assert!(interval.low > 0.0, "significant: {interval:?}");
        assert_eq!(verdict_of(&base, &new, 0.5), Verdict::Unchanged);
    }

    #[test]
    fn few_samples_are_inconclusive_whatever_they_show() {
        // 99 samples cannot carry a p95 (fewer than 5 above it), nor 29 a median.
        let (base, new) = (run(1, 99, 20.0, 1.0), run(2, 99, 20.0, 3.0));
        assert_eq!(quantile_change(&base, &new, 0.95), None);
        assert!(quantile_change(&base, &new, 0.5).is_some());
        assert_eq!(quantile_change(&run(1, 29, 20.0, 1.0), &new, 0.5), None);
        assert_eq!(mean_change(&run(1, 29, 20.0, 1.0), &new), None);
        // Ten samples of a doubled latency: plainly slower, yet not enough to gate on.
        let (base, new) = (run(1, 10, 20.0, 1.0), run(2, 10, 20.0, 2.0));
        assert_eq!(quantile_change(&base, &new, 0.5), None);
    }

    #[test]
    fn one_slow_request_does_not_regress_the_maximum() {
        let base = run(1, 2000, 20.0, 1.0);
        let mut h = histogram(2, 1999, 20.0, 1.0);
        h.record(900_000).unwrap();
        let new = Buckets::of(&h);
        assert_eq!(verdict_of(&base, &new, 1.0), Verdict::Inconclusive);
        // Twenty of them do.
        for _ in 0..19 {
            h.record(900_000).unwrap();
        }
        assert_eq!(verdict_of(&base, &Buckets::of(&h), 1.0), Verdict::Regressed);
    }

    #[test]
    fn error_rates_same_and_shifted() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut failures = |n: u64, p: f64| {
            (0..n)
                .filter(|_| rand::Rng::random_bool(&mut rng, p))
                .count() as u64
        };
        let mut verdict = |n: u64, p1: f64, p2: f64| {
            let (x1, x2) = (failures(n, p1), failures(n, p2));
            let change = (x2 as f64 - x1 as f64) / n as f64;
            let floor = (0.1 * x1 as f64 / n as f64).max(0.005);
            judge(
                change,
                proportion_change(x1, n, x2, n).unwrap(),
                floor,
                true,
            )
        };
        // One failure in a thousand: 5,000 requests rule out half a point.
        let same = trials(100, |_| verdict(5000, 0.001, 0.001));
        assert!(
            same.get("unchanged").copied().unwrap_or(0) >= 95,
            "{same:?}"
        );
        let shifted = trials(100, |_| verdict(2000, 0.01, 0.03));
        assert!(
            shifted.get("regressed").copied().unwrap_or(0) >= 95,
            "{shifted:?}"
        );
        // No failures on either side of a short run cannot rule out a few percent.
        let tiny = proportion_change(0, 20, 0, 20).unwrap();
        assert_eq!(judge(0.0, tiny, 0.005, true), Verdict::Inconclusive);
        let none = proportion_change(0, 5000, 0, 5000).unwrap();
        assert_eq!(judge(0.0, none, 0.005, true), Verdict::Unchanged);
        assert_eq!(proportion_change(0, 0, 0, 10), None);
    }

    #[test]
    fn a_lower_rate_is_the_regression() {
        let floor = 0.1 * 100.0;
        // 100/s for 20 s against 70/s: fewer requests got through.
        let i = rate_change(2000, 20.0, 1400, 20.0).unwrap();
        assert_eq!(judge(-30.0, i, floor, false), Verdict::Regressed);
        let i = rate_change(2000, 20.0, 2020, 20.0).unwrap();
        assert_eq!(judge(1.0, i, floor, false), Verdict::Unchanged);
        // Ten requests in 2 s each: nothing to tell.
        let i = rate_change(10, 2.0, 14, 2.0).unwrap();
        assert_eq!(judge(2.0, i, 0.5, false), Verdict::Inconclusive);
        assert_eq!(rate_change(10, 0.0, 14, 2.0), None);
    }

    #[test]
    fn intervals_are_deterministic() {
        let (base, new) = (run(1, 500, 20.0, 1.0), run(2, 500, 20.0, 1.1));
        assert_eq!(
            quantile_change(&base, &new, 0.9),
            quantile_change(&base, &new, 0.9)
        );
    }
}
