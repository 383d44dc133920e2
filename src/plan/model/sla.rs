//! SLA assertions: what a run must meet to pass.

use super::*;

/// A service-level assertion: `metric` compared with one threshold, over a scope.
/// Example: `{ metric: p95, scope: each_endpoint, below: 500ms }`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaAssertion {
    /// Name shown in reports. Default: generated from the assertion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What is measured: a latency percentile (`p50`, `p90`, `p95`, `p99`, `p99.9`, `p99.99`,
    /// any `pNN`), `mean`, `min`, `max`, `error_rate`, `rps` (requests per second),
    /// `check_pass_rate`, `dropped_iterations`, or `health_availability` (share of
    /// successful during-load health probes).
    pub metric: SlaMetric,
    /// `aggregate` (all requests together, the default), `each_endpoint`, or `endpoints`
    /// (the ones listed in `endpoints`).
    #[serde(default)]
    pub scope: SlaScope,
    /// With `scope: endpoints`: the endpoint names. Example: `[get_dashboard]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<String>,
    /// With `metric: health_availability`: the health policy. Default: every during-load policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Pass when the measured value is strictly below this. Latencies take a duration
    /// (`500ms`), rates a percentage (`5%`) or rate (`100/s`), counts a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<Scalar>,
    /// Pass when the measured value is at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<Scalar>,
    /// Pass when the measured value is strictly above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<Scalar>,
    /// Pass when the measured value is at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<Scalar>,
    /// Stop the run as soon as this assertion fails (checked every second, after
    /// `abort_delay`). Reports are still written.
    #[serde(default)]
    pub abort_on_fail: bool,
    /// With `abort_on_fail`: do not abort before this much of the run has passed. Example: `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_delay: Option<HumanDuration>,
    /// What a metric with no samples means: `fail`, `skip` or `pass`. Default: `fail` at
    /// aggregate scope and for endpoints named in `endpoints` (an endpoint you name must
    /// run), `skip` (shown as skipped) for `each_endpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_no_data: Option<NoData>,
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
pub enum SlaScope {
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
pub enum NoData {
    /// The assertion fails.
    Fail,
    /// The assertion is skipped (shown as skipped).
    Skip,
    /// The assertion passes.
    Pass,
}
