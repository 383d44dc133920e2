//! `loadplan merge`: the summaries of a plan's shards as one run. HDR histograms add
//! exactly, so the merged percentiles — overall, per row and per second — are those of one
//! histogram of every request any shard sent, and the plan's SLA (as the summaries carry
//! it) is evaluated again on them: one verdict, as if one machine had sent the whole load.
//! First it checks that the summaries belong together: one plan, one shard count, each
//! shard once, none missing (unless the caller allows a partial merge, which every report
//! then states).

mod series;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::compare::Run;
use crate::conclude::{Against, Head, assemble, baseline_info};
use crate::health::HealthResults;
use crate::metrics::{FailureKind, FailureMessage, MessageLog, RowKey, RowStats, RunMetrics};
use crate::metrics::{decode_histogram, new_counts};
use crate::plan::compile::{CompiledAssertion, thresholds};
use crate::report::format::{parse_rfc3339, rfc3339};
use crate::report::summary::{
    AssertionInfo, LoadInfo, MergeInfo, RunInfo, Saved, Stats, StopKind, Summary,
};

/// The merged summary of `inputs`, its relative assertions judged against `baseline` (skipped
/// without one), or why they do not merge (`file: message`). A single summary that is no
/// shard merges to itself.
pub(crate) fn merge(
    inputs: &[Saved],
    allow_partial: bool,
    baseline: Option<&Run>,
) -> Result<Summary, String> {
    let first = inputs
        .first()
        .ok_or("name the summaries of every shard to merge")?;
    if let ([only], None) = (inputs, first.summary.shard) {
        return Ok(match baseline {
            None => only.summary.clone(),
            Some(b) => judged_again(only, b)?,
        });
    }
    let mut info = check(inputs, allow_partial)?;
    let starts = inputs
        .iter()
        .map(|i| {
            parse_rfc3339(&i.summary.run.started_at)
                .ok_or_else(|| format!("{}: `run.started_at` is not a time", i.file))
        })
        .collect::<Result<Vec<SystemTime>, String>>()?;
    let t0 = starts
        .iter()
        .min()
        .copied()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let offsets: Vec<Duration> = starts
        .iter()
        .map(|s| s.duration_since(t0).unwrap_or_default())
        .collect();
    info.start_spread_s = offsets
        .iter()
        .max()
        .copied()
        .unwrap_or_default()
        .as_secs_f64();
    let duration = inputs
        .iter()
        .zip(&offsets)
        .map(|(i, o)| o.as_secs_f64() + i.summary.run.duration_s)
        .fold(0.0, f64::max);
    let duration = Duration::try_from_secs_f64(duration).unwrap_or_default();
    let shards: Vec<(&Saved, Duration)> = inputs.iter().zip(offsets.iter().copied()).collect();
    let names = endpoint_names(&first.summary);
    let mut metrics = metrics(&shards, &names, duration)?;
    metrics.series = series::merge(&shards)?;
    let health = HealthResults {
        results: inputs
            .iter()
            .flat_map(|i| i.summary.health.results.iter().cloned())
            .collect(),
        probes: inputs
            .iter()
            .flat_map(|i| i.summary.health.probes.iter().cloned())
            .collect(),
    };
    let assertions = first.summary.sla.iter().map(assertion).collect::<Vec<_>>();
    let verdicts = judge(&assertions, &names, &metrics, &health, baseline);
    let head = Head {
        plan: first.summary.plan.clone(),
        run: run_info(inputs, t0, duration),
        load: load(inputs),
        sla: first.summary.sla.clone(),
        outputs: first.summary.outputs.clone(),
        shard: None,
        merged: Some(info),
        baseline: baseline.map(|b| baseline_info(b, &names)),
    };
    Ok(assemble(head, &names, &metrics, verdicts, health))
}

/// A run's summary with its assertions judged again, relative ones against `baseline`.
fn judged_again(saved: &Saved, baseline: &Run) -> Result<Summary, String> {
    let assertions: Vec<CompiledAssertion> = saved.summary.sla.iter().map(assertion).collect();
    let mut summary = saved.summary.clone();
    summary.verdicts = rejudge(saved, &assertions, Some(baseline))?;
    summary.baseline = Some(baseline_info(baseline, &endpoint_names(&summary)));
    summary.verdict = summary.headline();
    Ok(summary)
}

/// `assertions` judged on the figures `saved` holds, relative ones against `baseline`
/// (skipped without one): what the run's own verdicts would have been with that plan.
pub(crate) fn rejudge(
    saved: &Saved,
    assertions: &[CompiledAssertion],
    baseline: Option<&Run>,
) -> Result<Vec<crate::sla::Verdict>, String> {
    let s = &saved.summary;
    let names = endpoint_names(s);
    let duration = Duration::try_from_secs_f64(s.run.duration_s).unwrap_or_default();
    let metrics = metrics(&[(saved, Duration::ZERO)], &names, duration)?;
    Ok(judge(assertions, &names, &metrics, &s.health, baseline))
}

fn endpoint_names(s: &Summary) -> Vec<String> {
    s.endpoints.iter().map(|e| e.name.clone()).collect()
}

/// The shards' figures as the metrics stage holds one run's, but for the per-second series
/// (no verdict reads it; a run's own summary has no histograms in it to merge).
fn metrics(
    shards: &[(&Saved, Duration)],
    names: &[String],
    duration: Duration,
) -> Result<RunMetrics, String> {
    let rows = shards.first().map_or(0, |(s, _)| s.summary.rows.len());
    Ok(RunMetrics {
        rows: (0..rows)
            .map(|i| merged_row(shards, names, |s| s.rows.get(i)))
            .collect::<Result<_, _>>()?,
        total: merged_row(shards, names, |s| Some(&s.total))?,
        series: Vec::new(),
        dropped_iterations: shards
            .iter()
            .map(|(i, _)| i.summary.run.dropped_iterations)
            .sum(),
        duration,
    })
}

fn judge(
    assertions: &[CompiledAssertion],
    names: &[String],
    metrics: &RunMetrics,
    health: &HealthResults,
    baseline: Option<&Run>,
) -> Vec<crate::sla::Verdict> {
    let against = baseline.map(Against);
    crate::sla::verdicts(
        assertions,
        names,
        metrics,
        health,
        against.as_ref().map(|b| b as &dyn crate::sla::Baseline),
    )
}

/// The summaries are shards of one run of one plan, each once; which are there and which
/// are missing.
fn check(inputs: &[Saved], allow_partial: bool) -> Result<MergeInfo, String> {
    let first = &inputs[0];
    let mut seen = BTreeMap::new();
    let mut count = None;
    for input in inputs {
        let s = &input.summary;
        let shard = s.shard.ok_or_else(|| {
            format!(
                "{}: not a shard's summary (written by `loadplan run --shard K/N`); only \
                 the shards of one run merge",
                input.file
            )
        })?;
        if s.plan.sha256 != first.summary.plan.sha256 {
            return Err(format!(
                "{}: another plan ran (plan `{}`, sha256 {}…) than in {} (`{}`, {}…): merge \
                 the shards of one plan",
                input.file,
                s.plan.name,
                crate::report::format::short_hash(&s.plan.sha256),
                first.file,
                first.summary.plan.name,
                crate::report::format::short_hash(&first.summary.plan.sha256)
            ));
        }
        let n = *count.get_or_insert(shard.count);
        if shard.count != n {
            return Err(format!(
                "{}: shard {}/{} of a run in {} shards, but {} is of a run in {n}",
                input.file, shard.index, shard.count, shard.count, first.file
            ));
        }
        if let Some(other) = seen.insert(shard.index, &input.file) {
            return Err(format!(
                "{}: shard {}/{n} again (also {other}): merge each shard once",
                input.file, shard.index
            ));
        }
    }
    let count = count.unwrap_or(1);
    let shards: Vec<u32> = seen.keys().copied().collect();
    let missing: Vec<u32> = (1..=count).filter(|k| !seen.contains_key(k)).collect();
    if !missing.is_empty() && !allow_partial {
        let list: Vec<String> = missing.iter().map(u32::to_string).collect();
        return Err(format!(
            "shard{} {} of {count} {} missing: merge every shard's summary, or pass \
             --allow-partial for a verdict on part of the load",
            if missing.len() == 1 { "" } else { "s" },
            list.join(", "),
            if missing.len() == 1 { "is" } else { "are" }
        ));
    }
    Ok(MergeInfo {
        count,
        shards,
        missing,
        start_spread_s: 0.0,
    })
}

/// One row (or the total) over every shard: histograms and counts added, failure messages
/// combined (their times from the earliest start).
fn merged_row(
    shards: &[(&Saved, Duration)],
    names: &[String],
    pick: impl Fn(&Summary) -> Option<&Stats>,
) -> Result<RowStats, String> {
    let mut merged: Option<RowStats> = None;
    let mut log = MessageLog::default();
    for (input, offset) in shards {
        let stats = pick(&input.summary).ok_or_else(|| {
            format!(
                "{}: fewer rows than the other shards' summaries",
                input.file
            )
        })?;
        let row = row_stats(stats, names, &input.file)?;
        for f in input
            .summary
            .failures
            .iter()
            .filter(|f| f.name == stats.name && f.method == stats.method)
        {
            log.add_message(&FailureMessage {
                message: f.message.clone(),
                kind: FailureKind::parse(&f.kind).unwrap_or(FailureKind::Status),
                count: f.count,
                first_seen: *offset + Duration::from_secs_f64(f.first_seen_s.max(0.0)),
                last_seen: *offset + Duration::from_secs_f64(f.last_seen_s.max(0.0)),
            });
        }
        match &mut merged {
            None => merged = Some(row),
            Some(m) if m.key.name == row.key.name && m.key.method == row.key.method => {
                m.absorb(&row)
            }
            Some(m) => {
                return Err(format!(
                    "{}: row `{}` where the other shards have `{}`",
                    input.file, row.key.name, m.key.name
                ));
            }
        }
    }
    let mut merged = merged.ok_or("no shard to merge")?;
    merged.failure_messages = log.to_messages();
    Ok(merged)
}

/// A summary's row as the metrics stage holds it.
fn row_stats(s: &Stats, names: &[String], file: &str) -> Result<RowStats, String> {
    let mut key = RowKey::new(s.name.clone(), s.method.clone());
    if let Some(i) = s
        .endpoint
        .as_ref()
        .and_then(|e| names.iter().position(|n| n == e))
    {
        key = key.of_endpoint(i);
    }
    let histogram = if s.histogram.is_empty() {
        new_counts::<u64>()
    } else {
        decode_histogram(&s.histogram).map_err(|e| format!("{file}: row `{}`: {e}", s.name))?
    };
    let failures = s
        .failures_by_kind
        .iter()
        .map(|(kind, n)| {
            FailureKind::parse(kind)
                .map(|k| (k, *n))
                .ok_or_else(|| format!("{file}: row `{}`: no failure kind `{kind}`", s.name))
        })
        .collect::<Result<_, _>>()?;
    Ok(RowStats {
        key,
        histogram,
        requests: s.requests,
        failures,
        bytes_in: s.bytes_in,
        body_bytes: s.body_bytes,
        bytes_out: s.bytes_out,
        checks_passed: s.checks_passed,
        checks_failed: s.checks_failed,
        skipped: s.skipped,
        renewals: s.renewals_on_status,
        failure_messages: Vec::new(),
    })
}

/// An assertion as a summary carries it, ready to evaluate again.
fn assertion(a: &AssertionInfo) -> CompiledAssertion {
    let (threshold, baseline_noise) = thresholds(
        &a.metric,
        a.operator,
        &a.threshold,
        a.baseline_noise.as_deref(),
    );
    CompiledAssertion {
        name: a.name.clone(),
        metric: a.metric.clone(),
        operator: a.operator,
        threshold,
        threshold_text: a.threshold.clone(),
        baseline_noise,
        scope: a.scope,
        endpoints: a.endpoints.clone(),
        policy: a.policy.clone(),
        on_no_data: a.on_no_data,
        abort_on_fail: a.abort_on_fail,
        abort_delay: a
            .abort_delay_s
            .and_then(|s| Duration::try_from_secs_f64(s).ok()),
    }
}

/// How the shards went together: from the first start to the last end, the most severe
/// stop, counts added.
fn run_info(inputs: &[Saved], t0: SystemTime, duration: Duration) -> RunInfo {
    let runs: Vec<&RunInfo> = inputs.iter().map(|i| &i.summary.run).collect();
    let severity = |k: StopKind| match k {
        StopKind::Completed => 0,
        StopKind::NoLogin | StopKind::Aborted => 1,
        StopKind::Terminated => 2,
        StopKind::Interrupted => 3,
    };
    let worst = runs
        .iter()
        .max_by_key(|r| severity(r.stop))
        .map_or(StopKind::Completed, |r| r.stop);
    let reasons: Vec<String> = runs
        .iter()
        .zip(inputs)
        .filter_map(|(r, i)| {
            let reason = r.stop_reason.as_ref()?;
            Some(match i.summary.shard {
                Some(s) => format!("shard {}: {reason}", s.index),
                None => reason.clone(),
            })
        })
        .collect();
    let mut login_failures = BTreeMap::new();
    for r in &runs {
        for (reason, n) in &r.login_failures {
            *login_failures.entry(reason.clone()).or_insert(0) += n;
        }
    }
    RunInfo {
        started_at: rfc3339(t0),
        ended_at: rfc3339(t0 + duration),
        duration_s: duration.as_secs_f64(),
        seed: runs[0].seed,
        stop: worst,
        stop_reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        logins: runs.iter().map(|r| r.logins).sum(),
        refreshes: runs.iter().map(|r| r.refreshes).sum(),
        login_failures,
        dropped_iterations: runs.iter().map(|r| r.dropped_iterations).sum(),
        cut_requests: runs.iter().map(|r| r.cut_requests).sum(),
    }
}

/// The plan's load: the shards' shares added back (the split adds up exactly).
fn load(inputs: &[Saved]) -> LoadInfo {
    let mut load = inputs[0].summary.load.clone();
    for other in &inputs[1..] {
        let o = &other.summary.load;
        for (stage, theirs) in load.stages.iter_mut().zip(&o.stages) {
            stage.target += theirs.target;
        }
        load.iterations = load.iterations.zip(o.iterations).map(|(a, b)| a + b);
        load.max_concurrency = load
            .max_concurrency
            .zip(o.max_concurrency)
            .map(|(a, b)| a + b);
    }
    load
}
