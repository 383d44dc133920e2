//! Health-check policies: gates before the load, probes during it, checks after it.

use super::*;

/// A health-check policy: a request tried until it meets its expectations or runs out of
/// retries or time.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HealthPolicy {
    /// The request (templated; no auth is sent). Example: `{ path: /api/v1/health/ }`.
    pub request: Request,
    /// What a healthy answer looks like. Default: a status from 200 to 399.
    #[serde(default)]
    pub expect: Expectations,
    /// Time allowed for each try. Default `5s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HumanDuration>,
    /// Wait before the first try. Default `0s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_delay: Option<HumanDuration>,
    /// Wait between tries (and between during-load probes). Default `2s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<HumanDuration>,
    /// How the wait grows between failed tries. Default: constant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// Failed tries allowed before giving up: attempts = retries + 1. Default `3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Overall time limit for the policy, whatever is left of the retries. Example: `60s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<HumanDuration>,
    /// Consecutive successes needed to pass (like a Kubernetes probe). Default `1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_threshold: Option<u32>,
    /// During the load: consecutive failed probes that count as the target being down.
    /// Default `3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<u32>,
    /// When the policy runs: `before` the load (a gate: never healthy means no load),
    /// `during` it (probes every `interval`), `after` it (verification). `loadplan health`
    /// runs policies alone. Default `[before]`.
    #[serde(default = "default_phases")]
    pub run: Vec<HealthPhase>,
}

fn default_phases() -> Vec<HealthPhase> {
    vec![HealthPhase::Before]
}

/// Growth of the wait between failed health tries.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Backoff {
    /// `constant` (always `interval`) or `exponential` (multiplied by `factor` after each
    /// failed try, up to `max`).
    #[serde(rename = "type")]
    pub kind: BackoffKind,
    /// Multiplier of the exponential backoff. Default `2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// Longest wait of the exponential backoff. Default `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<HumanDuration>,
    /// Random spread added to each wait, as a share of it. Example: `20%`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Percent>,
}

/// Kind of backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BackoffKind {
    /// The same wait each time.
    Constant,
    /// A growing wait.
    Exponential,
}

/// When a health policy runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum HealthPhase {
    /// Before the load: a gate.
    Before,
    /// During the load: periodic probes.
    During,
    /// After the load: verification.
    After,
}
