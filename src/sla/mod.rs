//! SLA evaluation: the plan's `sla` section × the measured statistics → one [`Verdict`] per
//! assertion and scope. A pure function of its inputs (no clock, no I/O), so the run, the
//! abort-on-fail check during the run and the tests all get the same answer. Reports only
//! render verdicts; they never evaluate anything.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::compare::{self, FigureChange};
use crate::health::HealthResults;
use crate::metrics::{RowKey, RowStats, RunMetrics};
use crate::plan::compile::CompiledAssertion;

#[cfg(test)]
mod tests;
mod vocab;

pub(crate) use vocab::{NoData, Operator, SlaMetric, SlaScope};

/// The scope name of an assertion over all requests.
pub(crate) const AGGREGATE: &str = "aggregate";

/// The outcome of one verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum Status {
    /// The assertion holds.
    Pass,
    /// The assertion is violated (or had no data, where that fails).
    Fail,
    /// Not evaluated: no data, and the no-data rule says skip.
    Skipped,
}

impl Status {
    /// `PASS`, `FAIL` or `SKIPPED`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skipped => "SKIPPED",
        }
    }
}

/// One assertion evaluated over one scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Verdict {
    /// The assertion's name (given, or generated like `p95 below 500ms`).
    pub name: String,
    /// The metric, as written (`p95`, `error_rate`).
    pub metric: String,
    /// `aggregate` or an endpoint name.
    pub scope: String,
    /// The measured value in `unit`; `None` without data.
    pub measured: Option<f64>,
    /// Unit of `measured`: `ms`, `%`, `/s` or empty for counts.
    pub unit: String,
    /// The measured value as reports show it (`712.4ms`, `3.20%`), or `no data`.
    pub measured_text: String,
    /// The comparison.
    pub operator: Operator,
    /// The threshold as written in the plan (`500ms`, `5%`).
    pub threshold: String,
    /// PASS, FAIL or SKIPPED.
    pub status: Status,
    /// Why, when the value alone does not say (`no samples`, `no samples: fails at aggregate
    /// scope`, `no baseline`).
    pub note: Option<String>,
    /// For `regress_at_most`, when compared with a baseline run: the comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineChange>,
}

/// A relative assertion's figure in the baseline run and its change, in the verdict's
/// `unit`. Example: `{ measured: 20.6, change: 10.3, relative_change: 0.5, interval: [8.1,
/// 12.5], verdict: regressed }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct BaselineChange {
    /// The baseline's value; none without data.
    pub measured: Option<f64>,
    /// This run's value minus the baseline's.
    pub change: Option<f64>,
    /// The change as a share of the baseline's value (0.5 is +50 %); none when the baseline
    /// is zero.
    pub relative_change: Option<f64>,
    /// The 95 % confidence interval of the change, `[low, high]`; none with too few samples.
    pub interval: Option<[f64; 2]>,
    /// What the change means: `regressed` fails the assertion, `improved` and `unchanged`
    /// pass it, `inconclusive` skips it.
    pub verdict: compare::Verdict,
}

/// The baseline run relative assertions (`regress_at_most`) are judged against. The caller
/// holds it (`conclude`, with the baseline's summary); `sla` turns its comparison into a
/// verdict.
pub(crate) trait Baseline {
    /// The figure of `a` over `endpoint` (all requests when `None`), measured by this run
    /// as `new` over `duration`, against the baseline's, where a change within `allowance`
    /// (a share) does not count. `Err` says why it cannot be compared.
    fn compare(
        &self,
        a: &CompiledAssertion,
        allowance: f64,
        endpoint: Option<&str>,
        new: &RowStats,
        duration: Duration,
    ) -> Result<Judged, String>;
}

/// A figure compared with the baseline.
pub(crate) struct Judged {
    /// The comparison of the figure.
    pub change: FigureChange,
    /// Requests of the scope in the baseline and in this run.
    pub requests: [u64; 2],
}

impl Verdict {
    /// `p95 712.4ms, threshold below 500ms` — what failure messages show.
    pub(crate) fn explain(&self) -> String {
        let mut text = format!(
            "{} {}, threshold {} {}",
            self.metric,
            self.measured_text,
            self.operator.as_str().replace('_', " "),
            self.threshold
        );
        if let Some(note) = &self.note {
            text.push_str(&format!(" ({note})"));
        }
        text
    }
}

/// Whether any verdict failed.
pub(crate) fn any_failed(verdicts: &[Verdict]) -> bool {
    verdicts.iter().any(|v| v.status == Status::Fail)
}

/// An endpoint's statistics: the sum of its rows (each row knows its endpoint's index; auth
/// rows belong to none and count in the aggregate only).
pub(crate) fn endpoint_stats(name: &str, endpoints: &[String], metrics: &RunMetrics) -> RowStats {
    let mut stats = RowStats::empty(RowKey::new(name, ""));
    let mut methods: Vec<&str> = Vec::new();
    let index = endpoints.iter().position(|e| e == name);
    for row in &metrics.rows {
        if index.is_some() && row.key.endpoint == index {
            stats.absorb(row);
            if !methods.contains(&row.key.method.as_str()) {
                methods.push(&row.key.method);
            }
        }
    }
    stats.key.method = methods.join("+");
    stats
}

/// The verdict a plan without an aggregate `error_rate` assertion carries: Locust's
/// default, any failed request fails the run.
pub const DEFAULT_GATE: &str =
    "no request fails (default; declare an error_rate assertion to change it)";

/// The verdict that fails a run in which no request succeeded, whatever the plan declares
/// (a lax `error_rate at_most 100%` must not pass a dead target).
pub const ANY_SUCCESS: &str = "some request succeeds (always checked)";

/// An implicit gate: an aggregate `error_rate` assertion that fails without data.
fn implicit(name: &str, operator: Operator, threshold: f64, text: &str) -> CompiledAssertion {
    CompiledAssertion {
        name: name.to_owned(),
        metric: SlaMetric::ErrorRate,
        operator,
        threshold: Ok(threshold),
        threshold_text: text.to_owned(),
        baseline_noise: None,
        scope: SlaScope::Aggregate,
        endpoints: Vec::new(),
        policy: None,
        on_no_data: Some(NoData::Fail),
        abort_on_fail: false,
        abort_delay: None,
    }
}

/// Evaluates every assertion of `sla` over its scopes. `endpoints` are the plan's endpoint
/// names in plan order; `metrics` and `health` are what the run measured; relative
/// assertions are judged against `baseline`, and skipped without one.
pub(crate) fn evaluate(
    sla: &[CompiledAssertion],
    endpoints: &[String],
    metrics: &RunMetrics,
    health: &HealthResults,
    baseline: Option<&dyn Baseline>,
) -> Vec<Verdict> {
    sla.iter()
        .flat_map(|a| evaluate_one(a, endpoints, metrics, health, baseline))
        .collect()
}

/// Everything a run is judged by: the plan's assertions ([`evaluate`]), then the implicit
/// [`gates`].
pub(crate) fn verdicts(
    sla: &[CompiledAssertion],
    endpoints: &[String],
    metrics: &RunMetrics,
    health: &HealthResults,
    baseline: Option<&dyn Baseline>,
) -> Vec<Verdict> {
    let mut verdicts = evaluate(sla, endpoints, metrics, health, baseline);
    verdicts.extend(gates(sla, endpoints, metrics));
    verdicts
}

/// The verdicts a run carries beside its plan's assertions: without an aggregate
/// `error_rate` assertion, [`DEFAULT_GATE`]; with one, [`ANY_SUCCESS`] once no request
/// succeeded. None for a plan without endpoints.
pub(crate) fn gates(
    sla: &[CompiledAssertion],
    endpoints: &[String],
    metrics: &RunMetrics,
) -> Vec<Verdict> {
    if endpoints.is_empty() {
        return Vec::new();
    }
    // A relative error-rate assertion does not bound the error rate: it is no gate.
    let declared = sla.iter().any(|a| {
        a.metric == SlaMetric::ErrorRate
            && a.scope == SlaScope::Aggregate
            && a.operator != Operator::RegressAtMost
    });
    let gate = if !declared {
        implicit(DEFAULT_GATE, Operator::AtMost, 0.0, "0%")
    } else if metrics.total.failed() >= metrics.total.requests {
        implicit(ANY_SUCCESS, Operator::Below, 1.0, "100%")
    } else {
        return Vec::new();
    };
    evaluate_one(&gate, endpoints, metrics, &HealthResults::default(), None)
}

/// During the run: the first `abort_on_fail` assertion, past its `abort_delay`, that fails on
/// data (no data never aborts: early in a run there may be no answer yet). Returns the abort
/// reason.
pub(crate) fn abort_reason(
    sla: &[CompiledAssertion],
    endpoints: &[String],
    snapshot: &RunMetrics,
    health: &HealthResults,
    elapsed: Duration,
) -> Option<String> {
    sla.iter()
        .filter(|a| a.abort_on_fail && a.abort_delay.is_none_or(|d| elapsed >= d))
        .flat_map(|a| evaluate_one(a, endpoints, snapshot, health, None))
        .find(|v| v.status == Status::Fail && v.measured.is_some())
        .map(|v| {
            format!(
                "SLA `{}` failed at {}s ({}): {}",
                v.name,
                elapsed.as_secs(),
                v.scope,
                v.explain()
            )
        })
}

/// What a metric is measured in: how raw values (ms, fractions, per second, counts) are
/// shown.
#[derive(Clone, Copy)]
enum Unit {
    Millis,
    Fraction,
    PerSecond,
    Count,
}

impl Unit {
    fn of(metric: &SlaMetric) -> Unit {
        match metric {
            SlaMetric::Percentile(_) | SlaMetric::Mean | SlaMetric::Min | SlaMetric::Max => {
                Unit::Millis
            }
            SlaMetric::ErrorRate | SlaMetric::CheckPassRate | SlaMetric::HealthAvailability => {
                Unit::Fraction
            }
            SlaMetric::Rps => Unit::PerSecond,
            SlaMetric::DroppedIterations => Unit::Count,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Unit::Millis => "ms",
            Unit::Fraction => "%",
            Unit::PerSecond => "/s",
            Unit::Count => "",
        }
    }

    /// A raw value in the unit reports show.
    fn shown(self, raw: f64) -> f64 {
        match self {
            Unit::Fraction => raw * 100.0,
            _ => raw,
        }
    }

    fn text(self, raw: f64) -> String {
        match self {
            Unit::Millis => crate::report::format::ms_text(raw),
            Unit::Fraction => format!("{:.2}%", raw * 100.0),
            Unit::PerSecond => format!("{raw:.1}/s"),
            Unit::Count => format!("{raw:.0}"),
        }
    }
}

fn latency_ms(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_nanos() as f64 / 1_000_000.0)
}

/// Relative width of an HDR bucket at 3 significant digits (at most 1/1024).
const HDR_PRECISION: f64 = 0.001;

/// The raw measured value of a request metric over one row; `None` without samples.
fn measure(metric: &SlaMetric, stats: &RowStats, duration: Duration) -> Option<f64> {
    match metric {
        SlaMetric::Percentile(p) => latency_ms(stats.percentile(*p)),
        SlaMetric::Mean => latency_ms(stats.mean()),
        SlaMetric::Min => latency_ms(stats.min()),
        SlaMetric::Max => latency_ms(stats.max()),
        SlaMetric::ErrorRate => (stats.requests > 0).then(|| stats.error_rate()),
        SlaMetric::Rps => (stats.requests > 0 && !duration.is_zero()).then(|| stats.rps(duration)),
        SlaMetric::CheckPassRate => {
            let checks = stats.checks_passed + stats.checks_failed;
            (checks > 0).then(|| stats.checks_passed as f64 / checks as f64)
        }
        // Not per row: handled by the caller.
        SlaMetric::DroppedIterations | SlaMetric::HealthAvailability => None,
    }
}

fn availability(policy: Option<&str>, health: &HealthResults) -> Option<f64> {
    let (probes, successes) = health
        .probes
        .iter()
        .filter(|p| policy.is_none_or(|name| p.policy == name))
        .fold((0u64, 0u64), |(n, ok), p| (n + p.probes, ok + p.successes));
    (probes > 0).then(|| successes as f64 / probes as f64)
}

fn evaluate_one(
    a: &CompiledAssertion,
    endpoints: &[String],
    metrics: &RunMetrics,
    health: &HealthResults,
    baseline: Option<&dyn Baseline>,
) -> Vec<Verdict> {
    match a.metric {
        SlaMetric::DroppedIterations => {
            vec![verdict(
                a,
                AGGREGATE,
                Some(metrics.dropped_iterations as f64),
                true,
            )]
        }
        SlaMetric::HealthAvailability => {
            let scope = a.policy.as_deref().unwrap_or(AGGREGATE);
            vec![verdict(
                a,
                scope,
                availability(a.policy.as_deref(), health),
                true,
            )]
        }
        _ => {
            let (names, required): (Vec<Option<&str>>, bool) = match a.scope {
                SlaScope::Aggregate => (vec![None], true),
                SlaScope::EachEndpoint => {
                    (endpoints.iter().map(|e| Some(e.as_str())).collect(), false)
                }
                SlaScope::Endpoints => {
                    (a.endpoints.iter().map(|e| Some(e.as_str())).collect(), true)
                }
            };
            names
                .into_iter()
                .map(|name| {
                    let owned;
                    let stats = match name {
                        None => &metrics.total,
                        Some(name) => {
                            owned = endpoint_stats(name, endpoints, metrics);
                            &owned
                        }
                    };
                    if a.operator == Operator::RegressAtMost {
                        return relative(a, name, stats, metrics.duration, baseline);
                    }
                    let raw = measure(&a.metric, stats, metrics.duration);
                    verdict(a, name.unwrap_or(AGGREGATE), raw, required)
                })
                .collect()
        }
    }
}

/// One scope's verdict. `required`: a scope without samples fails unless the plan says
/// otherwise (the aggregate, and endpoints an assertion names); `each_endpoint` skips them.
fn verdict(a: &CompiledAssertion, scope: &str, raw: Option<f64>, required: bool) -> Verdict {
    let (status, note) = match (raw, &a.threshold) {
        (_, Err(e)) => (Status::Fail, Some(format!("threshold: {e}"))),
        (Some(raw), Ok(t)) => compare(a, raw, *t),
        (None, Ok(_)) => without_samples(a, required),
    };
    Verdict {
        note,
        ..judged(a, scope, raw, status)
    }
}

/// A verdict of `a` over `scope` with the measured value `raw`, before its note.
fn judged(a: &CompiledAssertion, scope: &str, raw: Option<f64>, status: Status) -> Verdict {
    let unit = Unit::of(&a.metric);
    Verdict {
        name: a.name.clone(),
        metric: String::from(a.metric.clone()),
        scope: scope.to_owned(),
        measured: raw.map(|r| unit.shown(r)),
        unit: unit.label().to_owned(),
        measured_text: raw.map_or_else(|| "no data".to_owned(), |r| unit.text(r)),
        operator: a.operator,
        threshold: a.threshold_text.clone(),
        status,
        note: None,
        baseline: None,
    }
}

/// A relative assertion's verdict over `endpoint` (all requests when `None`): FAIL when
/// the figure regressed against the baseline (beyond chance and the allowance), PASS when
/// it did not, SKIPPED when the samples cannot tell or there is no baseline.
fn relative(
    a: &CompiledAssertion,
    endpoint: Option<&str>,
    new: &RowStats,
    duration: Duration,
    baseline: Option<&dyn Baseline>,
) -> Verdict {
    let raw = measure(&a.metric, new, duration);
    let scope = endpoint.unwrap_or(AGGREGATE);
    let compared = match (&a.threshold, baseline) {
        (Err(e), _) => Err((Status::Fail, format!("threshold: {e}"))),
        (Ok(_), None) => Err((Status::Skipped, "no baseline".to_owned())),
        (Ok(allowance), Some(b)) => b
            .compare(a, *allowance, endpoint, new, duration)
            .map_err(|why| (Status::Skipped, why)),
    };
    match compared {
        Err((status, note)) => Verdict {
            note: Some(note),
            ..judged(a, scope, raw, status)
        },
        Ok(j) => {
            let unit = Unit::of(&a.metric);
            let c = &j.change;
            let verdict = c.verdict.unwrap_or(compare::Verdict::Inconclusive);
            let status = match verdict {
                compare::Verdict::Regressed => Status::Fail,
                compare::Verdict::Improved | compare::Verdict::Unchanged => Status::Pass,
                compare::Verdict::Inconclusive => Status::Skipped,
            };
            Verdict {
                note: Some(relative_note(&a.metric, unit, &j, verdict)),
                baseline: Some(BaselineChange {
                    measured: c.baseline.map(|b| unit.shown(b)),
                    change: c.change.map(|d| unit.shown(d)),
                    relative_change: c.relative_change,
                    interval: c.interval.map(|i| [unit.shown(i.low), unit.shown(i.high)]),
                    verdict,
                }),
                ..judged(a, scope, raw, status)
            }
        }
    }
}

/// What a comparison found, for the verdict's note: `regressed: baseline 20.6ms, +10.3ms
/// (+50.0%), 95 % interval +8.1ms … +12.5ms`.
fn relative_note(metric: &SlaMetric, unit: Unit, j: &Judged, verdict: compare::Verdict) -> String {
    let c = &j.change;
    let signed = |raw: f64| {
        if raw < 0.0 {
            format!("−{}", unit.text(-raw))
        } else {
            format!("+{}", unit.text(raw))
        }
    };
    let Some(interval) = c.interval else {
        return format!(
            "inconclusive: too few samples ({} needs {} requests on each side; the baseline \
             had {}, this run {})",
            String::from(metric.clone()),
            c.figure.samples_needed(),
            j.requests[0],
            j.requests[1]
        );
    };
    let mut text = format!(
        "{}: baseline {}",
        verdict.as_str(),
        c.baseline
            .map_or_else(|| "no data".to_owned(), |b| unit.text(b))
    );
    if let Some(change) = c.change {
        text.push_str(&format!(", {}", signed(change)));
    }
    if let Some(r) = c.relative_change {
        text.push_str(&format!(" ({:+.1}%)", r * 100.0));
    }
    text.push_str(&format!(
        ", 95 % interval {} … {}",
        signed(interval.low),
        signed(interval.high)
    ));
    if verdict == compare::Verdict::Inconclusive {
        text.push_str(": it reaches past the allowance without excluding no change");
    }
    text
}

/// A measured value against the threshold `t`.
fn compare(a: &CompiledAssertion, raw: f64, t: f64) -> (Status, Option<String>) {
    // Percentiles, min and max come from HDR buckets 0.1 % wide, read at the bucket's top:
    // a value that close to the threshold may be the threshold itself, so it is compared
    // as equal (`at_most: 500ms` passes a p95 of 500 ms).
    let within = matches!(
        a.metric,
        SlaMetric::Percentile(_) | SlaMetric::Min | SlaMetric::Max
    ) && (raw - t).abs() <= t.abs() * HDR_PRECISION;
    let compared = if within { t } else { raw };
    let status = if a.operator.holds(compared, t) {
        Status::Pass
    } else {
        Status::Fail
    };
    let note =
        within.then(|| "equal to the threshold within the histogram's 0.1 % precision".to_owned());
    (status, note)
}

/// What a scope without samples counts as: the plan's `on_no_data`, else by `required`.
fn without_samples(a: &CompiledAssertion, required: bool) -> (Status, Option<String>) {
    let rule = a
        .on_no_data
        .unwrap_or(if required { NoData::Fail } else { NoData::Skip });
    let (status, note) = match rule {
        NoData::Fail => (Status::Fail, "no samples: counts as a failure"),
        NoData::Skip => (Status::Skipped, "no samples"),
        NoData::Pass => (Status::Pass, "no samples: counts as a pass"),
    };
    (status, Some(note.to_owned()))
}
