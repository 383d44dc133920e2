//! The summary of a run, built from the plan, the engine's outcome and the verdicts: the
//! view every report renders, in summary.json's shape.

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::RunResult;
use crate::engine::StopReason;
use crate::metrics::{Percentiles, RowStats, encode_histogram};
use crate::plan::CompiledPlan;
use crate::report::format::rfc3339;
use crate::report::summary::{
    Failure, Latency, PlanInfo, RunInfo, RunVerdict, SUMMARY_VERSION, Stats, StopKind, Summary,
};
use crate::sla::{self, Verdict};

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

/// The summary of a finished run with its verdicts. The result has been through its JSON
/// text once, so what the run renders is exactly what `loadplan report` renders from the
/// saved file.
pub(super) fn summary(plan: &CompiledPlan, result: &RunResult, verdicts: Vec<Verdict>) -> Summary {
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
                let endpoint = r.key.endpoint.and_then(|i| names.get(i)).cloned();
                stats(r, endpoint, m.duration)
            })
            .collect(),
        total: stats(&m.total, None, m.duration),
        failures,
        verdicts,
        health: result.health.clone(),
        series: m.series.clone(),
    };
    summary.verdict = RunVerdict::of(summary.exit());
    // Cannot fail: every field serializes and the text is our own.
    Summary::from_json(&summary.to_json()).unwrap_or(summary)
}
