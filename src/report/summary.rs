//! `summary.json`: everything a run measured and decided, versioned and described by
//! `schema/summary.schema.json` (generated from these types). Every other report renders
//! from a [`Summary`] only, so `loadplan report` can render them again, byte for byte, from
//! a saved file. A summary holds no secrets: the plan's name, hash, load, SLA and output
//! sections, never its auth, headers or variables.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Report;
use super::format::rfc3339;
use crate::engine::StopReason;
use crate::exit::Exit;
use crate::health::HealthResults;
use crate::metrics::{Percentiles, RowStats, SeriesPoint, encode_histogram};
use crate::plan::CompiledPlan;
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

/// SHA-256 (hex) of a JSON document serialized with sorted keys and no spaces.
pub fn plan_hash(document: &serde_json::Value) -> String {
    let text = serde_json::to_string(&canonical(document)).unwrap_or_default();
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn canonical(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            serde_json::Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&map[k])))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(canonical).collect())
        }
        other => other.clone(),
    }
}

fn ms(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_nanos() as f64 / 1_000_000.0)
}

/// The statistics of one row (or endpoint, or all) over `duration`.
pub fn stats(r: &RowStats, endpoint: Option<String>, duration: Duration) -> Stats {
    let latency = match (ms(r.min()), ms(r.max())) {
        (Some(min_ms), Some(max_ms)) => Some(Latency {
            min_ms,
            // Straight from the histogram (µs → ms), as the time series computes it.
            mean_ms: r.histogram.mean() / 1000.0,
            max_ms,
            percentiles: Percentiles::of(&r.histogram),
        }),
        _ => None,
    };
    let secs = duration.as_secs_f64();
    let per_s = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    Stats {
        name: r.key.name.clone(),
        method: r.key.method.clone(),
        endpoint,
        requests: r.requests,
        failures: r.failed(),
        failures_by_kind: r
            .failures
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), *v))
            .collect(),
        checks_passed: r.checks_passed,
        checks_failed: r.checks_failed,
        rps: per_s(r.requests),
        failures_per_s: per_s(r.failed()),
        bytes_in: r.bytes_in,
        body_bytes: r.body_bytes,
        bytes_out: r.bytes_out,
        skipped: r.skipped,
        renewals_on_status: r.renewals,
        latency,
        // Only a count beyond the V2 format's range fails to encode; the figures above
        // still stand then.
        histogram: encode_histogram(&r.histogram).unwrap_or_default(),
    }
}

impl Summary {
    /// The summary of a finished run with its verdicts. The result has been through its
    /// JSON text once, so what the run renders is exactly what `loadplan report` renders
    /// from the saved file.
    pub fn build(plan: &CompiledPlan, report: &Report, verdicts: Vec<Verdict>) -> Self {
        let outcome = &report.outcome;
        let m = &outcome.metrics;
        let names: Vec<String> = plan.endpoints.iter().map(|e| e.name.clone()).collect();
        let (stop, stop_reason) = match &outcome.stop {
            StopReason::Completed => (StopKind::Completed, None),
            StopReason::Interrupted => (StopKind::Interrupted, None),
            StopReason::Terminated => (StopKind::Terminated, None),
            StopReason::Aborted(r) => (StopKind::Aborted, Some(r.clone())),
            StopReason::NoLogin(r) => (StopKind::NoLogin, Some(r.clone())),
        };
        let failures = m
            .rows
            .iter()
            .flat_map(|r| {
                r.failure_messages.iter().map(|f| Failure {
                    name: r.key.name.clone(),
                    method: r.key.method.clone(),
                    kind: f.kind.as_str().to_owned(),
                    message: f.message.clone(),
                    count: f.count,
                    first_seen_s: f.first_seen.as_secs_f64(),
                    last_seen_s: f.last_seen.as_secs_f64(),
                })
            })
            .collect();
        let mut summary = Summary {
            version: SUMMARY_VERSION,
            verdict: RunVerdict::Passed,
            plan: PlanInfo {
                name: plan.plan.name.clone(),
                description: plan.plan.description.clone(),
                file: plan.file.clone(),
                sha256: plan_hash(&plan.document),
            },
            run: RunInfo {
                started_at: rfc3339(outcome.started_at),
                ended_at: rfc3339(outcome.started_at + m.duration),
                duration_s: m.duration.as_secs_f64(),
                seed: outcome.seed,
                stop,
                stop_reason,
                logins: outcome.logins,
                refreshes: outcome.refreshes,
                login_failures: outcome.login_failures.clone(),
                dropped_iterations: m.dropped_iterations,
                cut_requests: outcome.cut,
            },
            load: plan.plan.load.clone(),
            sla: plan.plan.sla.clone(),
            outputs: plan.plan.outputs.clone(),
            endpoints: names
                .iter()
                .map(|n| stats(&sla::endpoint_stats(n, &names, m), None, m.duration))
                .collect(),
            rows: m
                .rows
                .iter()
                .map(|r| {
                    let endpoint = sla::endpoint_of(&r.key.name, &names).map(str::to_owned);
                    stats(r, endpoint, m.duration)
                })
                .collect(),
            total: stats(&m.total, None, m.duration),
            failures,
            verdicts,
            health: report.health.clone(),
            series: m.series.clone(),
        };
        summary.verdict = RunVerdict::of(summary.exit());
        // Cannot fail: every field serializes and the text is our own.
        Self::from_json(&summary.to_json()).unwrap_or(summary)
    }

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
        let schema = schemars::generate::SchemaSettings::draft07()
            .into_generator()
            .into_root_schema_for::<Summary>();
        let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
        text.push('\n');
        text
    }
}
