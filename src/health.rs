//! Health-check results: what `loadplan health` and the run's before/during/after phases
//! report. The policy loop that produces them lives here too (tries, backoff, deadline,
//! thresholds), reusing the engine's HTTP and template code.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// When a policy ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Before the load (a gate).
    Before,
    /// After the load (verification).
    After,
    /// Alone, from `loadplan health`.
    Standalone,
}

/// One try of a policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Attempt {
    /// 1-based try number.
    pub number: u32,
    /// Seconds since the policy started.
    pub at_s: f64,
    /// Answer status, when there was an answer.
    pub status: Option<u16>,
    /// Milliseconds the try took.
    pub latency_ms: f64,
    /// What failed (`version 9.9.9, expected 1.4.2`), or `None` when the try passed.
    pub failure: Option<String>,
}

/// The outcome of running one policy to a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PolicyResult {
    /// Policy name.
    pub policy: String,
    /// When it ran.
    pub phase: Phase,
    /// Healthy: `success_threshold` consecutive passing tries before retries or deadline ran out.
    pub healthy: bool,
    /// Why it is unhealthy: the last failed try's reason, or the deadline.
    pub reason: Option<String>,
    /// Every try.
    pub attempts: Vec<Attempt>,
    /// Seconds from start to verdict.
    pub elapsed_s: f64,
}

/// During-load probes of one policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeStats {
    /// Policy name.
    pub policy: String,
    /// Probes sent.
    pub probes: u64,
    /// Probes that passed.
    pub successes: u64,
    /// Times `failure_threshold` consecutive probes failed (the target counted as down).
    pub outages: u64,
    /// Mean probe latency in milliseconds.
    pub mean_latency_ms: Option<f64>,
    /// Slowest probe in milliseconds.
    pub max_latency_ms: Option<f64>,
    /// The last failure's reason.
    pub last_failure: Option<String>,
}

impl ProbeStats {
    /// Share of passing probes (the `health_availability` metric); `None` without probes.
    pub fn availability(&self) -> Option<f64> {
        (self.probes > 0).then(|| self.successes as f64 / self.probes as f64)
    }
}

/// Every health result of a run or of `loadplan health`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HealthResults {
    /// Policies run to a verdict (before, after, standalone), in order.
    pub results: Vec<PolicyResult>,
    /// During-load probes, per policy.
    pub probes: Vec<ProbeStats>,
}

impl HealthResults {
    /// Whether every policy that ran to a verdict is healthy.
    pub fn all_healthy(&self) -> bool {
        self.results.iter().all(|r| r.healthy)
    }
}

/// Milliseconds of a duration, as reports show them.
pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
