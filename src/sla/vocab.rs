//! The words an SLA assertion is made of — metric, scope, comparison, what no data means —
//! defined here, where they are evaluated; the plan's `sla` section and every summary name
//! them.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// How the measured value is compared with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Operator {
    /// Strictly below.
    Below,
    /// At most (equal passes).
    AtMost,
    /// Strictly above.
    Above,
    /// At least (equal passes).
    AtLeast,
    /// Relative to a baseline run (`loadplan run --baseline`): fails when the change is
    /// beyond chance and larger than this share of the baseline's value (and than the
    /// assertion's `baseline_noise`).
    RegressAtMost,
}

impl Operator {
    /// The plan key, e.g. `at_most`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Operator::Below => "below",
            Operator::AtMost => "at_most",
            Operator::Above => "above",
            Operator::AtLeast => "at_least",
            Operator::RegressAtMost => "regress_at_most",
        }
    }

    /// Whether `measured` passes against `threshold`. For `regress_at_most`, `measured` is
    /// the relative change and `threshold` the allowance; `sla` judges those with the
    /// baseline's confidence interval instead, since the change alone may be chance.
    pub(crate) fn holds(self, measured: f64, threshold: f64) -> bool {
        match self {
            Operator::Below => measured < threshold,
            Operator::AtMost | Operator::RegressAtMost => measured <= threshold,
            Operator::Above => measured > threshold,
            Operator::AtLeast => measured >= threshold,
        }
    }
}

/// A metric an SLA can assert on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SlaMetric {
    /// A latency percentile, 0–100.
    Percentile(f64),
    /// Mean latency.
    Mean,
    /// Fastest answer.
    Min,
    /// Slowest answer.
    Max,
    /// Share of failed requests.
    ErrorRate,
    /// Requests per second.
    Rps,
    /// Share of passed checks.
    CheckPassRate,
    /// Open-model iterations dropped at the concurrency cap.
    DroppedIterations,
    /// Share of successful during-load health probes.
    HealthAvailability,
}

const METRIC_PATTERN: &str = r"^(p[0-9]{1,2}(\.[0-9]+)?|p100|mean|min|max|error_rate|rps|check_pass_rate|dropped_iterations|health_availability)$";

impl TryFrom<String> for SlaMetric {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Ok(match s.as_str() {
            "mean" => SlaMetric::Mean,
            "min" => SlaMetric::Min,
            "max" => SlaMetric::Max,
            "error_rate" => SlaMetric::ErrorRate,
            "rps" => SlaMetric::Rps,
            "check_pass_rate" => SlaMetric::CheckPassRate,
            "dropped_iterations" => SlaMetric::DroppedIterations,
            "health_availability" => SlaMetric::HealthAvailability,
            p if p.starts_with('p') => match p[1..].parse::<f64>() {
                Ok(q) if (0.0..=100.0).contains(&q) => SlaMetric::Percentile(q),
                _ => return Err(format!("`{s}` is not a percentile: write `p95` or `p99.9`")),
            },
            _ => return Err(format!("`{s}` is not a metric")),
        })
    }
}

impl From<SlaMetric> for String {
    fn from(m: SlaMetric) -> String {
        match m {
            SlaMetric::Percentile(q) => format!("p{q}"),
            SlaMetric::Mean => "mean".into(),
            SlaMetric::Min => "min".into(),
            SlaMetric::Max => "max".into(),
            SlaMetric::ErrorRate => "error_rate".into(),
            SlaMetric::Rps => "rps".into(),
            SlaMetric::CheckPassRate => "check_pass_rate".into(),
            SlaMetric::DroppedIterations => "dropped_iterations".into(),
            SlaMetric::HealthAvailability => "health_availability".into(),
        }
    }
}

impl JsonSchema for SlaMetric {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SlaMetric".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "title": "SLA metric",
            "type": "string",
            "pattern": METRIC_PATTERN,
            "description": "A latency percentile (`p50`, `p95`, `p99.9`), `mean`, `min`, `max`, \
                `error_rate`, `rps`, `check_pass_rate`, `dropped_iterations` or `health_availability`.",
            "examples": ["p95", "p99.9", "error_rate", "rps"],
        })
    }
}

/// Which requests an SLA assertion covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SlaScope {
    /// All requests together.
    #[default]
    Aggregate,
    /// Each endpoint on its own; every one must pass.
    EachEndpoint,
    /// Each endpoint named in `endpoints`.
    Endpoints,
}

/// What a metric with no samples means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum NoData {
    /// The assertion fails.
    Fail,
    /// The assertion is skipped (shown as skipped).
    Skip,
    /// The assertion passes.
    Pass,
}
