//! `loadplan merge`: the shards' summaries → one merged summary, judged, and every report
//! of it, as `run` writes them. With `--plan`, the plan's `after` policies (which shards
//! skip: N shards checking at N moments would not say whether the target survived the whole
//! load) run once, after the merge.

use std::io::Write;

use super::{load_plan, overrides, render_base_url, require_env};
use crate::cli::MergeArgs;
use crate::exit::Exit;
use crate::plan::model::HealthPhase;
use crate::report::Summary;
use crate::report::folder::ResultsDir;
use crate::report::summary::Saved;

/// Runs `loadplan merge`.
pub(super) async fn run(
    args: &MergeArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let merged = args
        .summaries
        .iter()
        .map(|p| Saved::read(p))
        .collect::<Result<Vec<_>, _>>()
        .and_then(|inputs| {
            let baseline = match (&args.baseline, inputs.first()) {
                (Some(path), Some(first)) => {
                    let plan = &first.summary.plan;
                    let who = format!("the merge of {}", first.file);
                    Some(super::read_baseline(path, &who, &plan.name, &plan.sha256)?)
                }
                _ => None,
            };
            crate::merge::merge(&inputs, args.allow_partial, baseline.as_ref())
        });
    let mut summary = match merged {
        Ok(s) => s,
        Err(message) => {
            writeln!(err, "error: {message}")?;
            return Ok(Exit::Invalid);
        }
    };
    let folder = ResultsDir::open(&args.out)?;
    if let Some(file) = &args.plan_file
        && let Err(exit) = verify(file, args, &mut summary, err).await?
    {
        return Ok(exit);
    }
    Ok(crate::report::publish(
        &summary, &folder, args.quiet, out, err,
    ))
}

/// The plan's `after` policies against its target, their results added to the merged
/// summary; an exit code instead when the plan is not the shards' or cannot run.
async fn verify(
    file: &std::path::Path,
    args: &MergeArgs,
    summary: &mut Summary,
    err: &mut dyn Write,
) -> anyhow::Result<Result<(), Exit>> {
    let plan = match load_plan(file, &overrides(&args.plan), err) {
        Ok(p) => p,
        Err(exit) => return Ok(Err(exit)),
    };
    if plan.meta.sha256 != summary.plan.sha256 {
        writeln!(
            err,
            "error: {}: not the plan the shards ran (sha256 {}…, theirs {}…): give the same \
             file and --set overrides",
            plan.meta.file,
            crate::report::format::short_hash(&plan.meta.sha256),
            crate::report::format::short_hash(&summary.plan.sha256)
        )?;
        return Ok(Err(Exit::Invalid));
    }
    if let Err(exit) = require_env(&plan, &["/target/".into(), "/health/".into()], err) {
        return Ok(Err(exit));
    }
    let base_url = match render_base_url(&plan, err) {
        Ok(u) => u,
        Err(exit) => return Ok(Err(exit)),
    };
    let http = crate::http::HttpSettings::new(&plan)?;
    let log = (!args.quiet).then_some(&mut *err);
    let after = crate::health::run_phase(&plan, &base_url, &http, HealthPhase::After, log).await?;
    summary.health.results.extend(after);
    summary.verdict = summary.headline();
    Ok(Ok(()))
}
