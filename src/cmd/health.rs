//! `loadplan health`: runs a plan's health policies alone (the post-deploy check) — the
//! named one or all in file order — prints one line per try and decides the exit code that
//! a deploy job rolls back on. Templates render only when used, so only the environment
//! variables the policies themselves read need to be set.

use std::io::Write;

use anyhow::Context as _;
use tokio::sync::watch;

use super::signals::{listen_for_signals, next_signal, stop_for};
use super::{load_plan, render_base_url, require_env, start_demo};
use crate::cli::HealthArgs;
use crate::engine::Signal;
use crate::exit::Exit;
use crate::health::{self, HealthResults, Phase, output};
use crate::plan::CompiledPlan;
use crate::plan::Override;
use crate::plan::compile::CompiledHealth;
use crate::plan::diagnostic::suggest;
use crate::report::folder::ResultsDir;

/// Runs `loadplan health`; try lines and verdicts go to `out`, errors to `err`.
pub(super) async fn run(
    args: &HealthArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let mut overrides = super::overrides(&args.plan);
    let demo = if args.demo {
        Some(start_demo(&mut overrides).await?)
    } else {
        None
    };
    let exit = check_plan(args, &overrides, out, err).await;
    if let Some(server) = demo {
        server.shutdown().await;
    }
    exit
}

async fn check_plan(
    args: &HealthArgs,
    overrides: &[Override],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let plan = match load_plan(&args.plan_file, overrides, err) {
        Ok(p) => p,
        Err(exit) => return Ok(exit),
    };
    let policies = match chosen_policies(&plan, args.policy.as_deref()) {
        Ok(p) => p,
        Err(message) => {
            writeln!(err, "error: {message}")?;
            return Ok(Exit::Invalid);
        }
    };
    let mut pointers = vec!["/target/".to_owned()];
    pointers.extend(
        policies
            .iter()
            .map(|p| format!("/health/{}/", crate::plan::yaml::escape_segment(&p.name))),
    );
    if let Err(exit) = require_env(&plan, &pointers, err) {
        return Ok(exit);
    }
    let base_url = match render_base_url(&plan, err) {
        Ok(u) => u,
        Err(exit) => return Ok(exit),
    };
    let http = crate::http::HttpSettings::new(&plan)?;
    // Before the first try: a check whose results could not be kept must not start.
    let folder = args.out.as_deref().map(ResultsDir::open).transpose()?;
    let (results, interrupted) =
        run_policies(&plan, &policies, &base_url, &http, args, out).await?;
    let mut exit = if results.all_healthy() {
        Exit::Passed
    } else {
        Exit::Failed
    };
    if let Some(signal) = interrupted {
        writeln!(
            err,
            "INTERRUPTED: {} of the policies ran to a verdict",
            results.results.len()
        )?;
        exit = exit.worst(crate::conclude::exit_for(&stop_for(signal)));
    }
    if let Some(dir) = &folder
        && let Err(e) = output::write_files(dir, &plan.meta.name, &plan.meta.file, &results)
    {
        writeln!(
            err,
            "error: cannot write the health reports to `{}`: {e:#}",
            dir.path().display()
        )?;
        exit = exit.worst(Exit::ToolError);
    }
    Ok(exit)
}

/// The policies `--policy` names (all by default), or why the plan has none to run.
fn chosen_policies<'p>(
    plan: &'p CompiledPlan,
    wanted: Option<&str>,
) -> Result<Vec<&'p CompiledHealth>, String> {
    let names: Vec<&str> = plan.health.iter().map(|p| p.name.as_str()).collect();
    if names.is_empty() {
        return Err(format!(
            "`{}` has no health policies; add one under `health:`",
            plan.meta.file
        ));
    }
    match wanted {
        None => Ok(plan.health.iter().collect()),
        Some(wanted) => match plan.health.iter().find(|p| p.name == wanted) {
            Some(p) => Ok(vec![p]),
            None => Err(format!(
                "`{}` has no health policy `{wanted}`\n  hint: {}",
                plan.meta.file,
                suggest(wanted, &names)
            )),
        },
    }
}

/// Runs each policy to its verdict in order until a signal comes; the results so far and
/// the signal, if one came.
async fn run_policies(
    plan: &CompiledPlan,
    policies: &[&CompiledHealth],
    base_url: &str,
    http: &crate::http::HttpSettings,
    args: &HealthArgs,
    out: &mut dyn Write,
) -> anyhow::Result<(HealthResults, Option<Signal>)> {
    let (signal_tx, mut signals) = watch::channel(Signal::Run);
    listen_for_signals(signal_tx);
    let mut results = HealthResults::default();
    for policy in policies {
        let log = (!args.quiet).then_some(&mut *out);
        let verdict = tokio::select! {
            v = health::check(plan, policy, base_url, http, Phase::Standalone, log) => v,
            s = next_signal(&mut signals) => return Ok((results, Some(s))),
        };
        let verdict = verdict.with_context(|| plan.meta.file.clone())?;
        if args.quiet {
            let spec = health::policy::LoopSpec::of(policy, policy.timeout);
            writeln!(
                out,
                "{}",
                output::verdict_line(&verdict.result, verdict.end, &spec)
            )?;
        }
        results.results.push(verdict.result);
    }
    Ok((results, None))
}
