//! `summary.json`: everything a run measured and decided, versioned and described by
//! `schema/summary.schema.json` (generated from these types; `conclude` builds it). Every other report renders
//! from a [`Summary`] only, so `loadplan report` can render them again, byte for byte, from
//! a saved file. A summary holds no secrets: the plan's name, hash, load, SLA and output
//! sections, never its auth, headers or variables.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Outputs, ReportError, SummaryError};
use crate::exit::Exit;
use crate::health::HealthResults;
use crate::metrics::{Percentiles, SeriesPoint};
use crate::sla::{self, NoData, Operator, SlaMetric, SlaScope, Verdict};

/// Version of the summary format; bumped on any incompatible change.
pub(crate) const SUMMARY_VERSION: u32 = 2;

/// A finished run as every report sees it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "loadplan run summary")]
pub(crate) struct Summary {
    /// Version of this format (`2`).
    pub version: u32,
    /// The run's verdict: `PASSED`, `FAILED` (an assertion or health check failed, the run
    /// aborted, or no user could log in) or `INTERRUPTED` (Ctrl-C or SIGTERM; what was
    /// measured until then is below).
    pub verdict: RunVerdict,
    /// Which plan ran.
    pub plan: PlanInfo,
    /// When and how the run went.
    pub run: RunInfo,
    /// The load the run applied: the plan's `load` section, overrides and defaults applied.
    pub load: LoadInfo,
    /// The SLA assertions the run evaluated, overrides applied and names generated.
    pub sla: Vec<AssertionInfo>,
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
    /// The shard this run was (`--shard K/N`): its verdict is deferred to `loadplan merge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// The shards this summary was merged from (`loadplan merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<MergeInfo>,
    /// The run the relative assertions (`regress_at_most`) were judged against (`loadplan
    /// run --baseline`); each one's comparison is in its verdicts' `baseline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineInfo>,
}

/// The run a run's relative assertions were judged against, and what the reports draw of
/// it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct BaselineInfo {
    /// Which run it was.
    #[serde(flatten)]
    pub run: Side,
    /// The baseline's latency histogram of each endpoint both runs have, in this run's
    /// order, so report.html can draw the two distributions over each other.
    #[serde(default)]
    pub endpoints: Vec<BaselineEndpoint>,
}

/// One endpoint's latencies in the baseline.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct BaselineEndpoint {
    /// The endpoint's name.
    pub name: String,
    /// Its latency histogram, as `endpoints[].histogram`.
    pub histogram: String,
}

/// One of the two runs compared.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Side {
    /// The summary file as named on the command line (a folder's `summary.json`).
    /// Example: `results/main/summary.json`.
    pub file: String,
    /// The plan's name.
    pub plan: String,
    /// SHA-256 of the plan after overrides (`plan.sha256` of the summary).
    pub sha256: String,
    /// Start of the run, RFC 3339 UTC. Example: `2025-06-15T15:06:40.000Z`.
    pub started_at: String,
    /// Measured seconds.
    pub duration_s: f64,
    /// Requests completed, all rows together.
    pub requests: u64,
    /// The shard it was, when it is one shard's summary alone (`--shard K/N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// The shards it was merged from, when it is a merge (`loadplan merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<MergeInfo>,
}

/// Which shard of how many: `{ index: 2, count: 4 }` is `--shard 2/4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct ShardInfo {
    /// The shard, 1 to `count`.
    pub index: u32,
    /// How many shards the plan ran as.
    pub count: u32,
}

/// What a merged summary was made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct MergeInfo {
    /// How many shards the plan ran as.
    pub count: u32,
    /// The shards merged, ascending.
    pub shards: Vec<u32>,
    /// The shards missing (merged with `--allow-partial`): the figures cover only the rest
    /// of the load.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<u32>,
    /// Seconds between the first shard's start and the last's: shards meant to load the
    /// target together start within a few seconds.
    pub start_spread_s: f64,
}

/// A run's overall verdict, as every report headlines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum RunVerdict {
    /// Every verdict and health check passed and the run completed.
    Passed,
    /// An assertion or health check failed, the run aborted, or no user could log in.
    Failed,
    /// Stopped by Ctrl-C or SIGTERM.
    Interrupted,
    /// A shard that ran (`--shard`): `loadplan merge` of all shards gives the verdict.
    Deferred,
}

impl RunVerdict {
    /// `PASSED`, `FAILED` or `INTERRUPTED`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RunVerdict::Passed => "PASSED",
            RunVerdict::Failed => "FAILED",
            RunVerdict::Interrupted => "INTERRUPTED",
            RunVerdict::Deferred => "DEFERRED",
        }
    }

    /// The verdict an exit code stands for.
    pub(crate) fn of(exit: Exit) -> RunVerdict {
        match exit {
            Exit::Passed => RunVerdict::Passed,
            Exit::Interrupted | Exit::Terminated => RunVerdict::Interrupted,
            Exit::Failed | Exit::ToolError | Exit::Invalid => RunVerdict::Failed,
        }
    }
}

/// The plan a run executed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct PlanInfo {
    /// The plan's name.
    pub name: String,
    /// The plan's description.
    pub description: Option<String>,
    /// The plan file as named on the command line.
    pub file: String,
    /// SHA-256 (hex) of the plan document after overrides, as JSON with sorted keys and
    /// without `target.base_url` and `outputs`: equal hashes mean the same plan ran,
    /// wherever it ran and whichever reports it wrote.
    pub sha256: String,
    /// Where it ran: the rendered base URL, without credentials or query
    /// (`https://staging.example.com/api`).
    pub target: String,
}

/// The load a run applied, every default resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct LoadInfo {
    /// `closed`: a number of virtual users, each looping; `open`: iterations started at a
    /// rate, whatever the answers' speed.
    pub model: LoadModelKind,
    /// The shape over time. Closed model: users; open model: iterations per second. Each
    /// stage ramps linearly to `target` over `duration_s` (`0`: a step). Example: `users: 50,
    /// spawn_rate: 5/s` is `[{ target: 50, duration_s: 9.8 }]` with `from_one`.
    pub stages: Vec<StageInfo>,
    /// Closed model: the ramp starts at one user (`users` with `spawn_rate`, as Locust
    /// does) rather than at none (`stages`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_one: bool,
    /// Closed model: the wait after each task; none without think time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_time: Option<ThinkInfo>,
    /// Open model: the most iterations in flight at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    /// The run's planned length in seconds, ramps included; none when stages or an
    /// iteration total set it.
    pub duration_s: Option<f64>,
    /// The planned number of tasks, when the plan counts them.
    pub iterations: Option<u64>,
    /// Seconds in-flight work got to finish once the load stopped.
    pub graceful_stop_s: f64,
}

/// Closed or open load model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LoadModelKind {
    /// A population of virtual users.
    Closed,
    /// Iterations on a schedule.
    Open,
}

/// One stage of the load: ramp linearly to `target` over `duration_s`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct StageInfo {
    /// Users (closed model) or iterations per second (open model) at the stage's end.
    pub target: f64,
    /// Seconds the ramp takes.
    pub duration_s: f64,
}

/// The wait after each task, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ThinkInfo {
    /// Always this long.
    Constant(f64),
    /// Uniformly between two bounds: `[1.0, 3.0]`.
    Between([f64; 2]),
    /// Constant pacing: each task starts this long after the last one started.
    Pacing(f64),
    /// Exponential with this mean.
    Poisson(f64),
}

/// An SLA assertion as the run evaluated it. Example: `{ name: "p95 below 500ms", metric:
/// p95, scope: each_endpoint, operator: below, threshold: 500ms }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct AssertionInfo {
    /// The name verdicts carry: the plan's, or generated like `p95 below 500ms`.
    pub name: String,
    /// The metric.
    pub metric: SlaMetric,
    /// Over what it is measured.
    pub scope: SlaScope,
    /// The endpoints of `scope: endpoints`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<String>,
    /// The health policy of `metric: health_availability`, when one is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The comparison.
    pub operator: Operator,
    /// The threshold as written (`500ms`, `5%`, `10/s`; for `regress_at_most`, the share
    /// of the baseline's value).
    pub threshold: String,
    /// With `regress_at_most`: the smallest change that counted, as written (`5ms`); none
    /// for the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_noise: Option<String>,
    /// What a scope without samples counted as, when the plan said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_no_data: Option<NoData>,
    /// Checked during the run, which stopped at its first failure.
    pub abort_on_fail: bool,
    /// Seconds into the run abort-on-fail waited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_delay_s: Option<f64>,
}

/// Why the run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StopKind {
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
pub(crate) struct RunInfo {
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
pub(crate) struct Stats {
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
pub(crate) struct Latency {
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
pub(crate) struct Failure {
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
    pub(crate) fn to_json(&self) -> Result<String, ReportError> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        Ok(text)
    }

    /// Reads `summary.json` text.
    pub(crate) fn from_json(text: &str) -> Result<Self, SummaryError> {
        let summary: Summary = serde_json::from_str(text)?;
        if summary.version != SUMMARY_VERSION {
            return Err(SummaryError::Version {
                found: summary.version,
            });
        }
        Ok(summary)
    }

    /// The exit code the stored results call for. A shard that ran exits 0 whatever its own
    /// figures say (the merge judges the whole load), so a scheduler never retries it and
    /// sends its load twice; a signal still ends it with 130/143.
    pub(crate) fn exit(&self) -> Exit {
        let stop = match self.run.stop {
            StopKind::Completed => Exit::Passed,
            StopKind::Interrupted => Exit::Interrupted,
            StopKind::Terminated => Exit::Terminated,
            StopKind::Aborted | StopKind::NoLogin => Exit::Failed,
        };
        if self.shard.is_some() {
            return match stop {
                Exit::Interrupted | Exit::Terminated => stop,
                _ => Exit::Passed,
            };
        }
        let verdicts = if sla::any_failed(&self.verdicts) || !self.health.all_healthy() {
            Exit::Failed
        } else {
            Exit::Passed
        };
        stop.worst(verdicts)
    }

    /// The headline verdict: a shard's is deferred unless a signal stopped it.
    pub(crate) fn headline(&self) -> RunVerdict {
        match (self.shard, self.exit()) {
            (Some(_), Exit::Passed) => RunVerdict::Deferred,
            (_, exit) => RunVerdict::of(exit),
        }
    }

    /// The generated JSON Schema of `summary.json` (what `loadplan schema --summary` prints
    /// and `schema/summary.schema.json` holds).
    pub(crate) fn schema() -> String {
        json_schema::<Summary>()
    }
}

/// The draft-07 JSON Schema of `T`, pretty, with a final newline: how every committed schema
/// of loadplan's own files is written (`schema/summary.schema.json`,
/// `schema/compare.schema.json`).
pub(crate) fn json_schema<T: JsonSchema>() -> String {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<T>();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// A summary read from the command line, with the name it was read by.
#[derive(Debug, Clone)]
pub(crate) struct Saved {
    /// The file, as named (a folder's `summary.json`).
    pub file: String,
    /// Its contents.
    pub summary: Summary,
}

impl Saved {
    /// Reads a run from `path`: a `summary.json`, or a results folder holding one. The error
    /// reads `file: message`.
    pub(crate) fn read(path: &Path) -> Result<Self, String> {
        let file = if path.is_dir() {
            path.join(crate::report::SUMMARY_FILE)
        } else {
            path.to_path_buf()
        };
        let name = file.display().to_string();
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{name}: cannot read: {e}"))?;
        let summary = Summary::from_json(&text)
            .map_err(|e| format!("{name}: not a loadplan summary: {e:#}"))?;
        Ok(Saved {
            file: name,
            summary,
        })
    }
}
