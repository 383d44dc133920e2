//! SLA assertions: what a run must meet to pass.

use super::*;
pub(crate) use crate::sla::{NoData, SlaMetric, SlaScope};

/// A service-level assertion: `metric` compared with one threshold, over a scope.
/// Example: `{ metric: p95, scope: each_endpoint, below: 500ms }`.
///
/// Or compared with a baseline run: `{ metric: p95, scope: each_endpoint, regress_at_most:
/// 10%, baseline_noise: 5ms }` fails when an endpoint's p95 got worse than the baseline's
/// by more than 10 % and 5 ms, beyond chance (`loadplan run PLAN --baseline
/// results/main`; see `docs/compare.md`). Without a baseline it is skipped.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SlaAssertion {
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
    /// Fail when the metric got worse than in the baseline run (`loadplan run --baseline`)
    /// by more than this share of the baseline's value, and the change is beyond chance:
    /// its 95 % confidence interval, from both runs' histograms, excludes no change. A
    /// change too uncertain to tell (a short run) is skipped, not failed; without a baseline
    /// the assertion is skipped. For `p50`, `p90`, `p95`, `p99`, `max`, `mean`,
    /// `error_rate` and `rps` (worse is lower). Instead of `below`, `at_most`, `above` or
    /// `at_least`. Example: `10%`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regress_at_most: Option<Percent>,
    /// With `regress_at_most`: the smallest change that counts, whatever its share: a
    /// duration for latencies, percentage points for `error_rate` (`rps` has none). Default:
    /// `1ms` for latencies, `0.5%` for `error_rate`, as `loadplan compare`. Example: `5ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_noise: Option<Scalar>,
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
