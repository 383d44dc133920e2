//! `loadplan compare`: two saved runs (their `summary.json`) → a [`Comparison`] → the
//! terminal, Markdown or JSON. An absolute SLA catches disasters; this catches drift, and
//! tells a real shift from the noise of a short run: every figure of every row gets a
//! confidence interval of its change from the runs' full HDR histograms and counts
//! ([`stats`]), and a verdict that also weighs a practical floor, so a long run does not
//! call a 0.05 ms shift a regression. Like the reports, it reads summaries and nothing
//! else.

mod render;
pub(crate) mod stats;
#[cfg(test)]
mod tests;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub(crate) use render::{markdown, terminal};
pub(crate) use stats::{Interval, Verdict};

use crate::exit::Exit;
use crate::metrics::decode_histogram;
pub(crate) use crate::report::summary::Side;
use crate::report::summary::{Stats, Summary};
use crate::sla::SlaMetric;
use stats::Buckets;

/// Version of the comparison's JSON format; bumped on any incompatible change.
pub(crate) const COMPARE_VERSION: u32 = 1;

/// Runs whose measured durations differ by more than this share are said to differ.
const DURATION_TOLERANCE: f64 = 0.10;

/// A figure of a row, as `--fail-on` names it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Figure {
    /// Requests completed: how many samples each side has, not judged (throughput is
    /// `rps`).
    #[value(skip)]
    Requests,
    /// Failed requests as a share of all (0.0162 is 1.62 %).
    #[value(name = "error_rate", alias = "error-rate")]
    ErrorRate,
    /// Requests per second; lower is worse.
    Rps,
    /// Median latency, ms.
    P50,
    /// 90th percentile latency, ms.
    P90,
    /// 95th percentile latency, ms.
    P95,
    /// 99th percentile latency, ms.
    P99,
    /// Slowest request, ms.
    Max,
    /// Mean latency, ms.
    Mean,
}

impl Figure {
    /// Every figure, in the order reports show them.
    pub(crate) const ALL: [Figure; 9] = [
        Figure::Requests,
        Figure::ErrorRate,
        Figure::Rps,
        Figure::P50,
        Figure::P90,
        Figure::P95,
        Figure::P99,
        Figure::Max,
        Figure::Mean,
    ];

    /// The name JSON and `--fail-on` use.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Figure::Requests => "requests",
            Figure::ErrorRate => "error_rate",
            Figure::Rps => "rps",
            Figure::P50 => "p50",
            Figure::P90 => "p90",
            Figure::P95 => "p95",
            Figure::P99 => "p99",
            Figure::Max => "max",
            Figure::Mean => "mean",
        }
    }

    /// The figure a relative SLA assertion on `metric` judges; `None` for a metric no
    /// comparison has.
    pub(crate) fn of(metric: &SlaMetric) -> Option<Figure> {
        Some(match metric {
            SlaMetric::Percentile(q) if *q == 50.0 => Figure::P50,
            SlaMetric::Percentile(q) if *q == 90.0 => Figure::P90,
            SlaMetric::Percentile(q) if *q == 95.0 => Figure::P95,
            SlaMetric::Percentile(q) if *q == 99.0 => Figure::P99,
            SlaMetric::Max => Figure::Max,
            SlaMetric::Mean => Figure::Mean,
            SlaMetric::ErrorRate => Figure::ErrorRate,
            SlaMetric::Rps => Figure::Rps,
            _ => return None,
        })
    }

    /// The quantile a latency figure reads (1.0 for the maximum).
    fn quantile(self) -> Option<f64> {
        match self {
            Figure::P50 => Some(0.50),
            Figure::P90 => Some(0.90),
            Figure::P95 => Some(0.95),
            Figure::P99 => Some(0.99),
            Figure::Max => Some(1.0),
            _ => None,
        }
    }

    /// The fewest requests each side needs for the figure to be compared (see
    /// `docs/compare.md`): a latency percentile needs five beyond it.
    pub(crate) fn samples_needed(self) -> u64 {
        match self {
            Figure::Mean => stats::MIN_SAMPLES,
            q => q.quantile().map_or(1, stats::samples_needed),
        }
    }

    /// Whether the figure is a latency in ms (and so has `--noise` as its floor).
    fn is_latency(self) -> bool {
        self.quantile().is_some() || self == Figure::Mean
    }
}

/// How changes are judged: the practical floor below which a change does not count, and
/// which figures decide the exit code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Settings {
    /// Smallest relative change that counts, of every figure but `requests` (`--threshold`).
    /// Example: `0.1` (10 %).
    pub threshold: f64,
    /// Smallest latency change that counts, ms (`--noise`). Example: `1.0`.
    pub noise_ms: f64,
    /// Smallest error-rate change that counts, as a share (`--error-noise`). Example:
    /// `0.005` (half a percentage point).
    pub error_noise: f64,
    /// Figures whose regression in any row, or in the aggregate, fails the comparison
    /// (`--fail-on`). Example: `["p95", "error_rate"]`.
    pub fail_on: Vec<Figure>,
    /// Whether runs of different plans were compared anyway (`--allow-plan-change`).
    pub allow_plan_change: bool,
}

impl Default for Settings {
    /// `--threshold 10% --noise 1ms --error-noise 0.5% --fail-on p95,error_rate`.
    fn default() -> Self {
        Settings {
            threshold: 0.10,
            noise_ms: 1.0,
            error_noise: 0.005,
            fail_on: vec![Figure::P95, Figure::ErrorRate],
            allow_plan_change: false,
        }
    }
}

/// Whether a row ran in both runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Presence {
    /// In both runs: its figures are compared.
    Both,
    /// Only in the new run: its figures have no baseline and no verdict.
    Added,
    /// Only in the baseline: its figures have no new value and no verdict.
    Removed,
}

/// One row (an endpoint, a flow step, login, refresh) or the aggregate of all requests,
/// matched by name and method.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct RowComparison {
    /// Row name (`list_claims`, `checkout/pay`, `login`) or `Aggregated`.
    pub name: String,
    /// HTTP method (`GET`; empty for `Aggregated`).
    pub method: String,
    /// In both runs, or in one only.
    pub presence: Presence,
    /// Every figure, in the order `requests`, `error_rate`, `rps`, `p50`, `p90`, `p95`,
    /// `p99`, `max`, `mean`.
    pub figures: Vec<FigureChange>,
}

impl RowComparison {
    /// The change of `figure`.
    pub(crate) fn figure(&self, figure: Figure) -> Option<&FigureChange> {
        self.figures.iter().find(|f| f.figure == figure)
    }
}

/// One figure of one row, in both runs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct FigureChange {
    /// Which figure. Example: `p95`.
    pub figure: Figure,
    /// In the baseline (ms for latencies, a share for `error_rate`, per second for `rps`);
    /// none without data. Example: `20.6`.
    pub baseline: Option<f64>,
    /// In the new run, same unit. Example: `30.9`.
    pub new: Option<f64>,
    /// New minus baseline. Example: `10.3`.
    pub change: Option<f64>,
    /// The change as a share of the baseline (0.5 is +50 %); none when the baseline is
    /// zero or missing. Example: `0.5`.
    pub relative_change: Option<f64>,
    /// The 95 % confidence interval of the change, from both runs' histograms and counts;
    /// none when either side has too few samples (see `docs/compare.md`).
    pub interval: Option<Interval>,
    /// The verdict; none for `requests` and for a row in one run only.
    pub verdict: Option<Verdict>,
    /// Whether a regression of this figure fails the comparison (`--fail-on`).
    pub gates: bool,
}

/// What `loadplan compare --format json` prints: every figure of every row of two runs
/// of one plan, with its change, confidence interval and verdict.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "loadplan run comparison")]
pub(crate) struct Comparison {
    /// Version of this format (`1`).
    pub version: u32,
    /// Whether any figure named by `settings.fail_on` regressed, in any row or in the
    /// aggregate: then `loadplan compare` exits 1 (without `--plan`).
    pub regressed: bool,
    /// Confidence level of every interval. Example: `0.95`.
    pub confidence: f64,
    /// How changes were judged.
    pub settings: Settings,
    /// The run compared against.
    pub baseline: Side,
    /// The run judged.
    pub new: Side,
    /// What makes the two runs less comparable: a different plan (with
    /// `--allow-plan-change`), load section or duration. Example: `["the load sections
    /// differ: users 5 → 10"]`.
    pub warnings: Vec<String>,
    /// Every row of the baseline in its order, then rows only the new run has.
    pub rows: Vec<RowComparison>,
    /// All requests together (`Aggregated`).
    pub total: RowComparison,
    /// With `loadplan compare --plan`: the verdicts of the plan's relative assertions
    /// (`regress_at_most`) on the new run against the baseline. Then they, not `regressed`,
    /// decide the exit code: 1 when one is `FAIL`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assertions: Vec<crate::sla::Verdict>,
}

pub(crate) use crate::report::summary::Saved as Run;

/// What a row measured, ready to be compared.
struct Measured<'a> {
    stats: &'a Stats,
    duration_s: f64,
    buckets: Buckets,
}

impl<'a> Measured<'a> {
    fn of(stats: &'a Stats, run: &Run) -> Result<Self, String> {
        Self::over(stats, &run.file, run.summary.run.duration_s)
    }

    /// `stats` measured over `duration_s` seconds, read from `file`.
    fn over(stats: &'a Stats, file: &str, duration_s: f64) -> Result<Self, String> {
        let histogram = decode_histogram(&stats.histogram)
            .map_err(|e| format!("{file}: row `{}`: {e}", stats.name))?;
        Ok(Measured {
            stats,
            duration_s,
            buckets: Buckets::of(&histogram),
        })
    }

    fn value(&self, figure: Figure) -> Option<f64> {
        let s = self.stats;
        match figure {
            Figure::Requests => Some(s.requests as f64),
            Figure::ErrorRate => (s.requests > 0).then(|| s.failures as f64 / s.requests as f64),
            Figure::Rps => Some(s.rps),
            Figure::Mean => self.buckets.mean(),
            q => self.buckets.quantile(q.quantile()?),
        }
    }

    fn interval(&self, new: &Measured<'_>, figure: Figure) -> Option<Interval> {
        let (b, n) = (self.stats, new.stats);
        match figure {
            Figure::Requests => None,
            Figure::ErrorRate => {
                stats::proportion_change(b.failures, b.requests, n.failures, n.requests)
            }
            Figure::Rps => {
                stats::rate_change(b.requests, self.duration_s, n.requests, new.duration_s)
            }
            Figure::Mean => stats::mean_change(&self.buckets, &new.buckets),
            q => stats::quantile_change(&self.buckets, &new.buckets, q.quantile()?),
        }
    }
}

impl Settings {
    /// The smallest change of `figure` that counts, from a baseline of `baseline`.
    fn floor(&self, figure: Figure, baseline: f64) -> f64 {
        let relative = self.threshold * baseline.abs();
        if figure.is_latency() {
            relative.max(self.noise_ms)
        } else if figure == Figure::ErrorRate {
            relative.max(self.error_noise)
        } else {
            relative
        }
    }
}

fn figure_change(
    figure: Figure,
    base: Option<&Measured<'_>>,
    new: Option<&Measured<'_>>,
    settings: &Settings,
) -> FigureChange {
    let baseline = base.and_then(|m| m.value(figure));
    let value = new.and_then(|m| m.value(figure));
    let change = baseline.zip(value).map(|(b, n)| n - b);
    let interval = base.zip(new).and_then(|(b, n)| b.interval(n, figure));
    let verdict = (figure != Figure::Requests && base.is_some() && new.is_some()).then(|| {
        match (change, baseline, interval) {
            (Some(change), Some(b), Some(interval)) => stats::judge(
                change,
                interval,
                settings.floor(figure, b),
                figure != Figure::Rps,
            ),
            _ => Verdict::Inconclusive,
        }
    });
    FigureChange {
        figure,
        baseline,
        new: value,
        change,
        relative_change: change
            .zip(baseline)
            .filter(|(_, b)| *b != 0.0)
            .map(|(c, b)| c / b),
        interval,
        verdict,
        gates: settings.fail_on.contains(&figure),
    }
}

/// One figure of `new` (this run's row or endpoint, measured over `new_duration_s`) against
/// `base`, the same in the baseline run `base_run`: how `loadplan run --baseline` judges a
/// relative SLA assertion, with the statistics of a comparison.
pub(crate) fn figure(
    figure: Figure,
    (base, base_run): (&Stats, &Run),
    (new, new_duration_s): (&Stats, f64),
    settings: &Settings,
) -> Result<FigureChange, String> {
    let base = Measured::of(base, base_run)?;
    let new = Measured::over(new, "this run", new_duration_s)?;
    Ok(figure_change(figure, Some(&base), Some(&new), settings))
}

/// The comparison of one row, named by `named`, measured in one run or both.
fn row(
    named: &Stats,
    base: Option<&Measured<'_>>,
    new: Option<&Measured<'_>>,
    settings: &Settings,
) -> RowComparison {
    RowComparison {
        name: named.name.clone(),
        method: named.method.clone(),
        presence: match (base, new) {
            (Some(_), None) => Presence::Removed,
            (None, Some(_)) => Presence::Added,
            _ => Presence::Both,
        },
        figures: Figure::ALL
            .iter()
            .map(|&f| figure_change(f, base, new, settings))
            .collect(),
    }
}

/// The `key` differences of two JSON objects, `key a → b` each (`unset` where absent).
fn differences(a: &serde_json::Value, b: &serde_json::Value) -> Vec<String> {
    let text = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => "unset".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let (empty_a, empty_b) = (serde_json::Map::new(), serde_json::Map::new());
    let (a, b) = (
        a.as_object().unwrap_or(&empty_a),
        b.as_object().unwrap_or(&empty_b),
    );
    a.keys()
        .chain(b.keys().filter(|k| !a.contains_key(*k)))
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k} {} → {}", text(a.get(k)), text(b.get(k))))
        .collect()
}

/// What makes two runs less comparable, or why they cannot be compared at all (a
/// different plan without `--allow-plan-change`).
fn warnings(base: &Run, new: &Run, settings: &Settings) -> Result<Vec<String>, String> {
    let (b, n) = (&base.summary, &new.summary);
    let mut warnings = Vec::new();
    if let Some(what) = other_plan(base, &n.plan.name, &n.plan.sha256) {
        if !settings.allow_plan_change {
            return Err(format!(
                "{}: {what}: the plan file or its overrides differ (`--set`, `--users`, \
                 `--duration`, `--seed`, `--only`); compare runs of one plan, or pass \
                 --allow-plan-change",
                new.file
            ));
        }
        warnings.push(format!("{what}; compared because of --allow-plan-change"));
    }
    if b.plan.target != n.plan.target {
        warnings.push(format!(
            "the runs had different targets ({} → {}): the servers may differ, not the code",
            b.plan.target, n.plan.target
        ));
    }
    let load = |s: &Summary| serde_json::to_value(&s.load).unwrap_or_default();
    let load_changes = differences(&load(b), &load(n));
    if !load_changes.is_empty() {
        warnings.push(format!(
            "the load sections differ ({}): rates and latencies may differ for that alone",
            load_changes.join("; ")
        ));
    }
    for side in [base, new] {
        if let Some(k) = side.summary.shard {
            warnings.push(format!(
                "{} is shard {}/{} alone, a part of the load: compare the merge of every \
                 shard (`loadplan merge`)",
                side.file, k.index, k.count
            ));
        }
    }
    let (t1, t2) = (b.run.duration_s, n.run.duration_s);
    if (t1 - t2).abs() > DURATION_TOLERANCE * t1.max(t2) {
        warnings.push(format!(
            "the runs lasted {t1:.1} s and {t2:.1} s: a short run has fewer samples, and a \
             warm-up weighs more in it"
        ));
    }
    Ok(warnings)
}

/// What tells the plan `name` with hash `sha256` from the one `base` ran, when they differ.
pub(crate) fn other_plan(base: &Run, name: &str, sha256: &str) -> Option<String> {
    let b = &base.summary.plan;
    (b.sha256 != sha256).then(|| {
        format!(
            "a different plan ran than in {} (plan `{name}`, sha256 {}… against `{}`, {}…)",
            base.file,
            crate::report::format::short_hash(sha256),
            b.name,
            crate::report::format::short_hash(&b.sha256)
        )
    })
}

/// The run `run`, as a side of a comparison.
pub(crate) fn side(run: &Run) -> Side {
    let s = &run.summary;
    Side {
        file: run.file.clone(),
        plan: s.plan.name.clone(),
        sha256: s.plan.sha256.clone(),
        started_at: s.run.started_at.clone(),
        duration_s: s.run.duration_s,
        requests: s.total.requests,
        shard: s.shard,
        merged: s.merged.clone(),
    }
}

/// Compares `new` against `base`. The error reads `file: message`: a different plan
/// without `settings.allow_plan_change`, or a histogram that does not decode.
pub(crate) fn compare(base: &Run, new: &Run, settings: &Settings) -> Result<Comparison, String> {
    let warnings = warnings(base, new, settings)?;
    let same_row = |a: &Stats, b: &Stats| a.name == b.name && a.method == b.method;
    let (b_rows, n_rows) = (&base.summary.rows, &new.summary.rows);
    let mut rows = Vec::new();
    for b in b_rows {
        let n = n_rows
            .iter()
            .find(|n| same_row(b, n))
            .map(|n| Measured::of(n, new))
            .transpose()?;
        rows.push(row(b, Some(&Measured::of(b, base)?), n.as_ref(), settings));
    }
    for n in n_rows
        .iter()
        .filter(|n| !b_rows.iter().any(|b| same_row(b, n)))
    {
        rows.push(row(n, None, Some(&Measured::of(n, new)?), settings));
    }
    let (b_total, n_total) = (&base.summary.total, &new.summary.total);
    let total = row(
        b_total,
        Some(&Measured::of(b_total, base)?),
        Some(&Measured::of(n_total, new)?),
        settings,
    );
    let regressed = rows
        .iter()
        .chain(std::iter::once(&total))
        .flat_map(|r| &r.figures)
        .any(|f| f.gates && f.verdict == Some(Verdict::Regressed));
    Ok(Comparison {
        version: COMPARE_VERSION,
        regressed,
        confidence: stats::CONFIDENCE,
        settings: settings.clone(),
        baseline: side(base),
        new: side(new),
        warnings,
        rows,
        total,
        assertions: Vec::new(),
    })
}

impl Comparison {
    /// 1 when a relative assertion failed or, without any, a gating figure regressed; else 0.
    pub(crate) fn exit(&self) -> Exit {
        if self.failed() {
            Exit::Failed
        } else {
            Exit::Passed
        }
    }

    /// Whether the comparison fails: the plan's relative assertions judge it when it has
    /// them, else the figures `settings.fail_on` names.
    pub(crate) fn failed(&self) -> bool {
        if self.assertions.is_empty() {
            self.regressed
        } else {
            self.assertions
                .iter()
                .any(|v| v.status == crate::sla::Status::Fail)
        }
    }

    /// The comparison as JSON text (pretty, with a final newline).
    pub(crate) fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The generated JSON Schema of [`Comparison::to_json`] (what `loadplan schema
    /// --compare` prints and `schema/compare.schema.json` holds).
    pub(crate) fn schema() -> String {
        crate::report::summary::json_schema::<Comparison>()
    }
}
