//! `summary.json`: everything a run measured and decided, versioned and described by
//! `schema/summary.schema.json` (generated from these types; `conclude` builds it). Every other report renders
//! from a [`Summary`] only, so `loadplan report` can render them again, byte for byte, from
//! a saved file. A summary holds no secrets: the plan's name, hash, load, SLA and output
//! sections, never its auth, headers or variables.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::exit::Exit;
use crate::health::HealthResults;
use crate::metrics::{Percentiles, SeriesPoint};
use crate::plan::model::{Load, Outputs, SlaAssertion};
use crate::sla::{self, Verdict};

/// Version of the summary format; bumped on any incompatible change.
pub const SUMMARY_VERSION: u32 = 1;

/// A finished run as every report sees it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "loadplan run summary")]
pub struct Summary {
    /// Version of this format (`1`).
    pub version: u32,
    /// The run's verdict: `PASSED`, `FAILED` (an assertion or health check failed, the run
    /// aborted, or no user could log in) or `INTERRUPTED` (Ctrl-C or SIGTERM; what was
    /// measured until then is below).
    pub verdict: RunVerdict,
    /// Which plan ran.
    pub plan: PlanInfo,
    /// When and how the run went.
    pub run: RunInfo,
    /// The plan's `load` section, overrides applied.
    pub load: Load,
    /// The plan's `sla` section, overrides applied.
    pub sla: Vec<SlaAssertion>,
    /// The report files written (and the CSV prefix actually used).
    pub outputs: Outputs,
    /// One entry per endpoint, in plan order: the sum of its rows (a flow has one row per
    /// step).
    pub endpoints: Vec<Stats>,
    /// One entry per measured row (endpoints, flow steps, login, refresh), in plan order.
    pub rows: Vec<Stats>,
    /// Every request together (`Aggregated`).
    pub total: Stats,
    /// Distinct failure messages per row, most frequent first within a row.
    pub failures: Vec<Failure>,
    /// Every SLA verdict.
    pub verdicts: Vec<Verdict>,
    /// Health checks before, during and after the load.
    pub health: HealthResults,
    /// One point per second (the last one partial).
    pub series: Vec<SeriesPoint>,
}

/// A run's overall verdict, as every report headlines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum RunVerdict {
    /// Every verdict and health check passed and the run completed.
    Passed,
    /// An assertion or health check failed, the run aborted, or no user could log in.
    Failed,
    /// Stopped by Ctrl-C or SIGTERM.
    Interrupted,
}

impl RunVerdict {
    /// `PASSED`, `FAILED` or `INTERRUPTED`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunVerdict::Passed => "PASSED",
            RunVerdict::Failed => "FAILED",
            RunVerdict::Interrupted => "INTERRUPTED",
        }
    }

    /// The verdict an exit code stands for.
    pub fn of(exit: Exit) -> RunVerdict {
        match exit {
            Exit::Passed => RunVerdict::Passed,
            Exit::Interrupted | Exit::Terminated => RunVerdict::Interrupted,
            Exit::Failed | Exit::ToolError | Exit::Invalid => RunVerdict::Failed,
        }
    }
}

/// The plan a run executed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PlanInfo {
    /// The plan's name.
    pub name: String,
    /// The plan's description.
    pub description: Option<String>,
    /// The plan file as named on the command line.
    pub file: String,
    /// SHA-256 (hex) of the plan document after overrides, as JSON with sorted keys: equal
    /// hashes mean the same plan ran.
    pub sha256: String,
}

/// Why the run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    /// The duration, the stages or the iteration total ran out.
    Completed,
    /// Ctrl-C.
    Interrupted,
    /// SIGTERM.
    Terminated,
    /// An SLA with `abort_on_fail` failed.
    Aborted,
    /// No user could log in.
    NoLogin,
}

/// When and how the run went.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RunInfo {
    /// Start, RFC 3339 UTC.
    pub started_at: String,
    /// End of the measured period, RFC 3339 UTC.
    pub ended_at: String,
    /// Measured seconds.
    pub duration_s: f64,
    /// The seed every random choice came from.
    pub seed: u64,
    /// Why the run stopped.
    pub stop: StopKind,
    /// The abort or no-login reason.
    pub stop_reason: Option<String>,
    /// Successful logins.
    pub logins: u64,
    /// Successful token refreshes.
    pub refreshes: u64,
    /// Failed logins by reason.
    pub login_failures: BTreeMap<String, u64>,
    /// Open-model iterations that were due but not started.
    pub dropped_iterations: u64,
    /// Requests still in flight when the graceful stop ended, each counted as a `timeout`
    /// failure of its row.
    pub cut_requests: u64,
}

/// Statistics of one row, one endpoint or all requests.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Stats {
    /// Row name (`list_claims`, `checkout/pay`, `login`), endpoint name, or `Aggregated`.
    pub name: String,
    /// HTTP method (`GET`; `GET+POST` for a flow of several; empty for `Aggregated`).
    pub method: String,
    /// For a row: the endpoint it belongs to (none for login, refresh and start steps).
    pub endpoint: Option<String>,
    /// Requests completed.
    pub requests: u64,
    /// Failed requests.
    pub failures: u64,
    /// Failed requests by kind (`status`, `check`, `timeout`, `connect`, …).
    pub failures_by_kind: BTreeMap<String, u64>,
    /// Checks that passed.
    pub checks_passed: u64,
    /// Checks that failed.
    pub checks_failed: u64,
    /// Requests per second over the run.
    pub rps: f64,
    /// Failures per second over the run.
    pub failures_per_s: f64,
    /// Response bytes received on the wire (compressed when the answer was gzipped;
    /// through a proxy or `connections: shared`, as decoded).
    pub bytes_in: u64,
    /// Response body bytes as decoded (gunzipped), up to `target.max_body` per answer:
    /// Locust's content size.
    #[serde(default)]
    pub body_bytes: u64,
    /// Request bytes sent.
    pub bytes_out: u64,
    /// Flow steps not sent because a capture they `require` was missing or null (not
    /// requests).
    #[serde(default)]
    pub skipped: u64,
    /// Requests refused with a refresh status (401) whose credentials this row (refresh,
    /// or login when there is no refresh request) renewed: each was retried and counts once
    /// in its own row, as the retry's result, so these are not failures.
    #[serde(default)]
    pub renewals_on_status: u64,
    /// Latencies in milliseconds; none without a request that was sent.
    pub latency: Option<Latency>,
    /// The HDR latency histogram (microseconds), V2 + DEFLATE, base64: merge or re-render
    /// from it.
    pub histogram: String,
}

/// Latency figures in milliseconds, from the HDR histogram (3 significant digits; a
/// percentile reads as the top of its bucket, so it never understates).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Latency {
    /// Fastest.
    pub min_ms: f64,
    /// Mean.
    pub mean_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// p50 … p100, Locust's reporting percentiles.
    pub percentiles: Percentiles,
}

/// One distinct failure message of one row.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Failure {
    /// Row name.
    pub name: String,
    /// HTTP method.
    pub method: String,
    /// Failure kind (`status`, `check`, `timeout`, `connect`, `reset`, `body`, `capture`,
    /// `template`).
    pub kind: String,
    /// The message.
    pub message: String,
    /// How many failures carried it.
    pub count: u64,
    /// Seconds from the start when first seen.
    pub first_seen_s: f64,
    /// Seconds from the start when last seen.
    pub last_seen_s: f64,
}

impl Summary {
    /// The summary as `summary.json` text (pretty, with a final newline).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads `summary.json` text.
    pub fn from_json(text: &str) -> anyhow::Result<Self> {
        let summary: Summary = serde_json::from_str(text)?;
        if summary.version != SUMMARY_VERSION {
            anyhow::bail!(
                "summary version `{}` is not supported; this loadplan reads version {SUMMARY_VERSION}",
                summary.version
            );
        }
        Ok(summary)
    }

    /// The exit code the stored results call for.
    pub fn exit(&self) -> Exit {
        let stop = match self.run.stop {
            StopKind::Completed => Exit::Passed,
            StopKind::Interrupted => Exit::Interrupted,
            StopKind::Terminated => Exit::Terminated,
            StopKind::Aborted | StopKind::NoLogin => Exit::Failed,
        };
        let verdicts = if sla::any_failed(&self.verdicts) || !self.health.all_healthy() {
            Exit::Failed
        } else {
            Exit::Passed
        };
        stop.worst(verdicts)
    }

    /// The generated JSON Schema of `summary.json` (what `loadplan schema --summary` prints
    /// and `schema/summary.schema.json` holds).
    pub fn schema() -> String {
        json_schema::<Summary>()
    }
}

/// The draft-07 JSON Schema of `T`, pretty, with a final newline: how every committed schema
/// of loadplan's own files is written (`schema/summary.schema.json`,
/// `schema/compare.schema.json`).
pub fn json_schema<T: JsonSchema>() -> String {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<T>();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
