//! The summary of a run, built from the plan, the engine's outcome and the verdicts: the
//! view every report renders, in summary.json's shape.

use std::time::Duration;

use super::RunResult;
use crate::engine::StopReason;
use crate::health::HealthResults;
use crate::metrics::{Percentiles, RowStats, RunMetrics, encode_histogram};
use crate::plan::CompiledPlan;
use crate::plan::compile::{CompiledAssertion, LoadModel, LoadShape, Think};
use crate::report::Outputs;
use crate::report::format::rfc3339;
use crate::report::summary::{
    AssertionInfo, BaselineInfo, Failure, Latency, LoadInfo, LoadModelKind, MergeInfo, PlanInfo,
    RunInfo, RunVerdict, SUMMARY_VERSION, ShardInfo, StageInfo, Stats, StopKind, Summary,
    ThinkInfo,
};
use crate::sla::{self, Verdict};

fn ms(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_nanos() as f64 / 1_000_000.0)
}

/// The statistics of one row (or endpoint, or all) over `duration`.
pub(crate) fn stats(r: &RowStats, endpoint: Option<String>, duration: Duration) -> Stats {
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

/// What a summary says beside its measurements: which plan, how the run went, what it
/// applied and evaluated, and whether it was a shard or a merge.
pub(crate) struct Head {
    pub plan: PlanInfo,
    pub run: RunInfo,
    pub load: LoadInfo,
    pub sla: Vec<AssertionInfo>,
    pub outputs: Outputs,
    pub shard: Option<ShardInfo>,
    pub merged: Option<MergeInfo>,
    pub baseline: Option<BaselineInfo>,
}

/// The summary of a finished run with its verdicts, judged against `baseline` if any.
pub(super) fn summary(
    plan: &CompiledPlan,
    result: &RunResult,
    verdicts: Vec<Verdict>,
    baseline: Option<BaselineInfo>,
) -> Summary {
    let outcome = &result.outcome;
    let m = &outcome.metrics;
    let names: Vec<String> = plan.endpoints.iter().map(|e| e.name.clone()).collect();
    let (stop, stop_reason) = match &outcome.stop {
        StopReason::Completed => (StopKind::Completed, None),
        StopReason::Interrupted => (StopKind::Interrupted, None),
        StopReason::Terminated => (StopKind::Terminated, None),
        StopReason::Aborted(r) => (StopKind::Aborted, Some(r.clone())),
        StopReason::NoLogin(r) => (StopKind::NoLogin, Some(r.clone())),
    };
    let head = Head {
        plan: PlanInfo {
            name: plan.meta.name.clone(),
            description: plan.meta.description.clone(),
            file: plan.meta.file.clone(),
            sha256: plan.meta.sha256.clone(),
            target: without_credentials(&result.base_url),
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
        load: load_info(&plan.load),
        sla: plan.sla.iter().map(assertion_info).collect(),
        outputs: plan.outputs.clone(),
        shard: plan.shard.map(|s| ShardInfo {
            index: s.shard.index,
            count: s.shard.count,
        }),
        merged: None,
        baseline,
    };
    assemble(head, &names, m, verdicts, result.health.clone())
}

/// A summary from its head, the endpoints' names, what was measured and the verdicts. It
/// has been through its JSON text once, so what a run renders is exactly what `loadplan
/// report` renders from the saved file.
pub(crate) fn assemble(
    head: Head,
    names: &[String],
    m: &RunMetrics,
    verdicts: Vec<Verdict>,
    health: HealthResults,
) -> Summary {
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
        plan: head.plan,
        run: head.run,
        load: head.load,
        sla: head.sla,
        outputs: head.outputs,
        endpoints: names
            .iter()
            .map(|n| stats(&sla::endpoint_stats(n, names, m), None, m.duration))
            .collect(),
        rows: m
            .rows
            .iter()
            .map(|r| {
                let endpoint = r.key.endpoint.and_then(|i| names.get(i)).cloned();
                stats(r, endpoint, m.duration)
            })
            .collect(),
        total: stats(&m.total, None, m.duration),
        failures,
        verdicts,
        health,
        series: m.series.clone(),
        shard: head.shard,
        merged: head.merged,
        baseline: head.baseline,
    };
    summary.verdict = summary.headline();
    // Our own text reads back; a summary that does not serialize is reported, exit 3, when
    // publishing tries to write it.
    let text = summary.to_json().ok();
    text.and_then(|t| Summary::from_json(&t).ok())
        .unwrap_or(summary)
}

fn load_info(shape: &LoadShape) -> LoadInfo {
    let stage = |target: f64, ramp: &Duration| StageInfo {
        target,
        duration_s: ramp.as_secs_f64(),
    };
    let (model, stages, from_one, think_time, max_concurrency) = match &shape.model {
        LoadModel::Closed {
            stages,
            from_one,
            think,
        } => (
            LoadModelKind::Closed,
            stages
                .iter()
                .map(|(n, d)| stage(f64::from(*n), d))
                .collect(),
            *from_one,
            think_info(think),
            None,
        ),
        LoadModel::Open {
            stages,
            max_concurrency,
        } => (
            LoadModelKind::Open,
            stages.iter().map(|(r, d)| stage(*r, d)).collect(),
            false,
            None,
            Some(*max_concurrency),
        ),
    };
    LoadInfo {
        model,
        stages,
        from_one,
        think_time,
        max_concurrency,
        duration_s: shape.duration.map(|d| d.as_secs_f64()),
        iterations: shape.iterations,
        graceful_stop_s: shape.graceful_stop.as_secs_f64(),
    }
}

fn think_info(think: &Think) -> Option<ThinkInfo> {
    Some(match think {
        Think::None => return None,
        Think::Constant(d) => ThinkInfo::Constant(d.as_secs_f64()),
        Think::Between(a, b) => ThinkInfo::Between([a.as_secs_f64(), b.as_secs_f64()]),
        Think::Pacing(d) => ThinkInfo::Pacing(d.as_secs_f64()),
        Think::Poisson(d) => ThinkInfo::Poisson(d.as_secs_f64()),
    })
}

fn assertion_info(a: &CompiledAssertion) -> AssertionInfo {
    AssertionInfo {
        name: a.name.clone(),
        metric: a.metric.clone(),
        scope: a.scope,
        endpoints: a.endpoints.clone(),
        policy: a.policy.clone(),
        operator: a.operator,
        threshold: a.threshold_text.clone(),
        baseline_noise: a.baseline_noise.as_ref().map(|(_, text)| text.clone()),
        on_no_data: a.on_no_data,
        abort_on_fail: a.abort_on_fail,
        abort_delay_s: a.abort_delay.map(|d| d.as_secs_f64()),
    }
}

/// A base URL without userinfo or query, which may carry credentials: a summary holds none.
fn without_credentials(base_url: &str) -> String {
    match url::Url::parse(base_url.trim()) {
        Ok(mut url) => {
            // Cannot fail for http(s) URLs, the only ones a run accepts.
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => String::new(),
    }
}
