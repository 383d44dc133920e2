//! SLA assertions compiled once: the operator picked, the threshold parsed into the unit the
//! measurements use, the name generated, the durations resolved. `sla` evaluates these on
//! every abort-on-fail tick and at the end of the run without parsing anything again.

use std::time::Duration;

use crate::plan::model::{NoData, Scalar, SlaAssertion, SlaMetric, SlaScope};
use crate::plan::threshold::{Threshold, parse_threshold};
use crate::plan::units::Percent;
use crate::sla::Operator;

/// An SLA assertion ready to evaluate.
#[derive(Debug, Clone)]
pub(crate) struct CompiledAssertion {
    /// The name verdicts carry: the plan's, or generated like `p95 below 500ms`.
    pub name: String,
    /// The metric.
    pub metric: SlaMetric,
    /// The comparison.
    pub operator: Operator,
    /// The threshold in the unit of the measured values (milliseconds, a fraction, per
    /// second, a count), or why it cannot be read (a verdict then fails with that note).
    pub threshold: Result<f64, String>,
    /// The threshold as written (`500ms`, `5%`).
    pub threshold_text: String,
    /// With `regress_at_most`: the smallest change that counts, in the unit of the
    /// measured values, and as written; none for the default.
    pub baseline_noise: Option<(f64, String)>,
    /// Over what the metric is measured.
    pub scope: SlaScope,
    /// The endpoints of `scope: endpoints`.
    pub endpoints: Vec<String>,
    /// The health policy of `health_availability`, if one is named.
    pub policy: Option<String>,
    /// What a scope without samples counts as, when the plan says.
    pub on_no_data: Option<NoData>,
    /// Checked during the run, which stops at its first failure.
    pub abort_on_fail: bool,
    /// How long into the run abort-on-fail waits.
    pub abort_delay: Option<Duration>,
}

impl CompiledAssertion {
    /// Compiles one assertion; `None` without an operator (validation refuses that, so a plan
    /// that skipped it gets no verdict rather than a panic).
    pub(crate) fn new(a: &SlaAssertion) -> Option<Self> {
        let (operator, threshold_text) = operator_and_text(a)?;
        let noise_text = a.baseline_noise.as_ref().map(Scalar::to_text);
        let (threshold, baseline_noise) =
            thresholds(&a.metric, operator, &threshold_text, noise_text.as_deref());
        let name = a.name.clone().unwrap_or_else(|| {
            format!(
                "{} {} {threshold_text}",
                String::from(a.metric.clone()),
                operator.as_str()
            )
        });
        Some(Self {
            name,
            metric: a.metric.clone(),
            operator,
            threshold,
            threshold_text,
            baseline_noise,
            scope: a.scope,
            endpoints: a.endpoints.clone(),
            policy: a.policy.clone(),
            on_no_data: a.on_no_data,
            abort_on_fail: a.abort_on_fail,
            abort_delay: a.abort_delay.as_ref().map(|d| d.get()),
        })
    }
}

fn operator_and_text(a: &SlaAssertion) -> Option<(Operator, String)> {
    [
        (Operator::Below, &a.below),
        (Operator::AtMost, &a.at_most),
        (Operator::Above, &a.above),
        (Operator::AtLeast, &a.at_least),
    ]
    .into_iter()
    .find_map(|(op, v)| v.as_ref().map(|v| (op, v.to_text())))
    .or_else(|| {
        a.regress_at_most
            .as_ref()
            .map(|p| (Operator::RegressAtMost, p.to_string()))
    })
}

/// The threshold and the baseline noise written as `text` and `noise` (as a plan writes
/// them, and summaries carry them) in the unit of the measured values: a share for
/// `regress_at_most`, else the metric's. A noise that does not read fails the threshold
/// too, so its verdict says why instead of judging with another floor.
pub(crate) fn thresholds(
    metric: &SlaMetric,
    operator: Operator,
    text: &str,
    noise: Option<&str>,
) -> (Result<f64, String>, Option<(f64, String)>) {
    let threshold = if operator == Operator::RegressAtMost {
        text.parse::<Percent>()
            .map(|p| p.get())
            .map_err(|e| format!("regress_at_most: {e}"))
    } else {
        threshold_of_text(metric, text)
    };
    match noise.map(|n| (threshold_of_text(metric, n), n)) {
        None => (threshold, None),
        Some((Ok(raw), n)) => (threshold, Some((raw, n.to_owned()))),
        Some((Err(e), _)) => (Err(format!("baseline_noise: {e}")), None),
    }
}

fn threshold_of_text(metric: &SlaMetric, text: &str) -> Result<f64, String> {
    let scalar = text
        .parse::<i64>()
        .map(Scalar::Integer)
        .or_else(|_| text.parse::<f64>().map(Scalar::Float))
        .unwrap_or_else(|_| Scalar::Text(text.to_owned()));
    parse_threshold(metric, &scalar)
        .map(raw_threshold)
        .map_err(|e| e.problem)
}

fn raw_threshold(t: Threshold) -> f64 {
    match t {
        // Microseconds / 1000, the same formula as the measured latencies, so a value
        // exactly at the threshold compares equal.
        Threshold::Duration(d) => d.as_micros() as f64 / 1000.0,
        Threshold::Fraction(f) | Threshold::PerSecond(f) => f,
        Threshold::Count(n) => n as f64,
    }
}
