//! `loadplan run`: from plan file to exit code. The plan is loaded with the command line's
//! overrides (pointed at the demo API with `--demo`), checked for what the run needs, and
//! printed instead with `--dry-run`; otherwise the results folder is claimed and the run
//! goes through its phases: gate (the `before` health policies), load (the engine, with
//! progress and the `during` probes), verify (the `after` policies) and conclude (verdicts,
//! reports, the exit code).

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use tokio::sync::watch;

use super::signals::{listen_for_signals, next_signal, stop_for};
use super::{print_diagnostics, render_base_url, require_env, start_demo};
use crate::cli::RunArgs;
use crate::compare;
use crate::conclude::{AbortCheck, RunResult};
use crate::engine::{self, RunOptions, RunOutcome, Signal, StopReason};
use crate::exit::Exit;
use crate::health::{self, HealthResults, PolicyResult};
use crate::metrics::{Collector, Registry};
use crate::plan::load_flags::{self, LoadFlags};
use crate::plan::model::{HealthPhase, OutputFormat};
use crate::plan::shard::Shard;
use crate::plan::{self, CompiledPlan, Override};
use crate::report::folder::ResultsDir;
use crate::report::progress::Progress;

mod dryrun;

/// Runs `loadplan run`: the plan, its checks and the results folder first, then the
/// phases in order — gate, load (when the gate opens), verify, conclude.
pub(super) async fn run(
    args: &RunArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let (plan, demo) = match plan_for_run(args, err).await? {
        Ok(loaded) => loaded,
        Err(exit) => return Ok(exit),
    };
    let baseline = match baseline(args, &plan) {
        Ok(b) => b,
        Err(message) => {
            writeln!(err, "error: {message}")?;
            return Ok(Exit::Invalid);
        }
    };
    // Before anything is sent: every variable the run's templates need must be set.
    if let Err(exit) = require_env(&plan, &plan::run_pointers(&plan), err) {
        return Ok(exit);
    }
    let base_url = match render_base_url(&plan, err) {
        Ok(u) => u,
        Err(exit) => return Ok(exit),
    };
    // Once for the command: the load, its health checks and probes share it (and a dry run
    // reports an unreadable CA or client certificate as the run would).
    let http = crate::http::HttpSettings::new(&plan)?;
    if args.dry_run {
        let rendered = dryrun::print(&plan, &base_url, out)?;
        return Ok(if rendered {
            Exit::Passed
        } else {
            Exit::Invalid
        });
    }
    // Before any request: a run whose results could not be kept must not start.
    let folder = ResultsDir::open(&args.out)?;
    // A health policy whose request cannot be built is a plan error, found before the gate
    // sends anything rather than when its phase comes.
    health::preflight(&plan, &base_url, &http).with_context(|| plan.meta.file.clone())?;
    // Signals are heard from here on: during the health phases as during the load.
    let (signal_tx, signals) = watch::channel(Signal::Run);
    listen_for_signals(signal_tx);
    let mut phases = Phases {
        args,
        plan: &plan,
        base_url: &base_url,
        http: &http,
        folder: &folder,
        baseline: baseline.as_ref(),
        signals,
    };
    let result = match phases.gate(err).await? {
        Gate::Open(before) => {
            let mut result = phases.load(before, err).await?;
            phases.verify(&mut result, err).await?;
            result
        }
        Gate::Closed { before, stop, why } => phases.not_run(before, stop, why),
    };
    if let Some(server) = demo {
        server.shutdown().await;
    }
    phases.conclude(&result, out, err)
}

/// The plan as this run applies it: read once (the flags read its load, and a pipe cannot
/// be read twice), with the command line's overrides (their notices printed), pointed at
/// the demo API with `--demo` (which is returned, running), cut to its shard, writing the
/// `--report` formats. `Ok(Err(exit))` when the plan or a flag is invalid.
async fn plan_for_run(
    args: &RunArgs,
    err: &mut dyn Write,
) -> anyhow::Result<Result<(CompiledPlan, Option<crate::demo::DemoServer>), Exit>> {
    let bytes = match plan::read(&args.plan_file) {
        Ok(bytes) => bytes,
        Err(diags) => return Ok(Err(print_diagnostics(&diags, err))),
    };
    let mut overrides = match overrides(args, &bytes) {
        Ok((overrides, notices)) => {
            for notice in notices.iter().filter(|_| !args.quiet) {
                writeln!(err, "note: {notice}")?;
            }
            overrides
        }
        Err(message) => {
            writeln!(err, "error: {message}")?;
            return Ok(Err(Exit::Invalid));
        }
    };
    let demo = if args.demo {
        Some(start_demo(&mut overrides).await?)
    } else {
        None
    };
    let shard = match shard(args) {
        Ok(s) => s,
        Err(message) => {
            writeln!(err, "error: {message}")?;
            return Ok(Err(Exit::Invalid));
        }
    };
    let dir = args.plan_file.parent().unwrap_or(std::path::Path::new(""));
    let file = args.plan_file.display().to_string();
    let mut plan = match plan::load_bytes(&file, dir, &bytes, &overrides) {
        Ok(p) => match shard {
            Some(s) => p.into_shard(s),
            None => p,
        },
        Err(diags) => return Ok(Err(print_diagnostics(&diags, err))),
    };
    // Like `--csv-prefix`, outside the plan's hash: which files a run writes does not make
    // it another load, so runs with other reports still compare.
    if !args.report.is_empty() {
        plan.outputs.formats.clear();
        for format in &args.report {
            if !plan.outputs.formats.contains(format) {
                plan.outputs.formats.push(*format);
            }
        }
    }
    Ok(Ok((plan, demo)))
}

/// The run `--baseline` names, if any; `Err` when it cannot be read or ran another plan.
fn baseline(args: &RunArgs, plan: &CompiledPlan) -> Result<Option<compare::Run>, String> {
    args.baseline
        .as_deref()
        .map(|path| super::read_baseline(path, &plan.meta.file, &plan.meta.name, &plan.meta.sha256))
        .transpose()
}

/// The shard `--shard` or `--shard-index-from-env` names, if any.
fn shard(args: &RunArgs) -> Result<Option<Shard>, String> {
    match (args.shard, args.shard_count) {
        (Some(s), _) => Ok(Some(s)),
        (None, Some(count)) => {
            let index = std::env::var("JOB_COMPLETION_INDEX").ok();
            Shard::from_job_index(index.as_deref(), count).map(Some)
        }
        (None, None) => Ok(None),
    }
}

/// What every phase of one run reads: the command line, the plan, the rendered base URL, the
/// HTTP settings built once for the command,
/// the claimed results folder, the baseline, and the signals heard since just before the
/// gate.
struct Phases<'a> {
    args: &'a RunArgs,
    plan: &'a CompiledPlan,
    base_url: &'a str,
    http: &'a crate::http::HttpSettings,
    folder: &'a ResultsDir,
    baseline: Option<&'a compare::Run>,
    signals: watch::Receiver<Signal>,
}

/// How the gate ended.
enum Gate {
    /// Every `before` policy is healthy (or there is none): the load may start. Their results.
    Open(Vec<PolicyResult>),
    /// No load is sent: a policy is unhealthy, or a signal came first.
    Closed {
        /// The `before` results so far.
        before: Vec<PolicyResult>,
        /// Why the run stopped.
        stop: StopReason,
        /// Why no load was sent, for the verdicts.
        why: &'static str,
    },
}

impl Phases<'_> {
    /// Gate: the `before` policies decide whether the target may be loaded at all, so a
    /// deployment that is not ready gets no traffic; the run still ends with reports that
    /// say why. A signal while the gate waits ends the run there too.
    async fn gate(&mut self, err: &mut dyn Write) -> anyhow::Result<Gate> {
        let log = (!self.args.quiet).then_some(&mut *err);
        let before = tokio::select! {
            r = health::run_phase(self.plan, self.base_url, self.http, HealthPhase::Before, log) => r?,
            s = next_signal(&mut self.signals) => {
                return Ok(Gate::Closed {
                    before: Vec::new(),
                    stop: stop_for(s),
                    why: "interrupted before the load",
                });
            }
        };
        let Some(failed) = before.iter().find(|r| !r.healthy) else {
            return Ok(Gate::Open(before));
        };
        let reason = format!(
            "health gate `{}` failed: {}",
            failed.policy,
            failed.reason.as_deref().unwrap_or("unknown")
        );
        Ok(Gate::Closed {
            before,
            stop: StopReason::Aborted(reason),
            why: "the health gate failed",
        })
    }

    /// The result of a run that sent no load: empty statistics, the `before` results so
    /// far, why it stopped and why nothing was sent (the verdicts say so instead of judging
    /// empty statistics).
    fn not_run(&self, before: Vec<PolicyResult>, stop: StopReason, why: &str) -> RunResult {
        let registry = Arc::new(Registry::new(self.plan.rows.clone()));
        let outcome = RunOutcome {
            metrics: Collector::new(registry).finish(Duration::ZERO),
            stop,
            started_at: SystemTime::now(),
            seed: self.args.seed.or(self.plan.load.seed).unwrap_or(0),
            login_failures: Default::default(),
            logins: 0,
            refreshes: 0,
            cut: 0,
        };
        RunResult {
            outcome,
            health: HealthResults {
                results: before,
                probes: Vec::new(),
            },
            not_sent: Some(why.to_owned()),
            base_url: self.base_url.to_owned(),
        }
    }

    /// Load: the engine runs the plan's users against the target, with the progress line,
    /// the live `metrics.ndjson`, the abort-on-fail checks and the `during` probes beside it
    /// (their own client, outside the endpoints' statistics).
    async fn load(
        &self,
        before: Vec<PolicyResult>,
        err: &mut dyn Write,
    ) -> anyhow::Result<RunResult> {
        let plan = self.plan;
        raise_open_files_limit(plan, err);
        let title = format!("{} ({})", plan.meta.name, plan.meta.file);
        let mut progress = Progress::new(
            self.args.quiet,
            &title,
            plan.load.duration,
            err_is_terminal(),
        );
        // One start for the engine and the live file's wall-clock times.
        let started_at = SystemTime::now();
        let opts = RunOptions {
            verbose: self.args.verbose,
            seed: self.args.seed,
            started_at: Some(started_at),
        };
        let probes = health::Probes::start(plan, self.base_url, self.http)?;
        let mut ndjson = if plan.outputs.formats.contains(&OutputFormat::Ndjson) {
            let path = self.folder.path().join(crate::report::NDJSON_FILE);
            let writer =
                crate::report::ndjson::LiveWriter::create(&path, plan.rows.clone(), started_at);
            Some(writer.map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", path.display()))?)
        } else {
            None
        };
        let abort = AbortCheck::new(plan);
        let outcome = engine::run(
            plan,
            self.base_url,
            self.http,
            &opts,
            self.signals.clone(),
            |collector, elapsed| {
                progress.tick(collector, elapsed);
                // A live file is a convenience: the final render still writes it in full.
                if ndjson
                    .as_mut()
                    .is_some_and(|w| w.write_new(collector.series()).is_err())
                {
                    ndjson = None;
                }
                abort.tick(collector, elapsed)
            },
        )
        .await;
        let probes = probes.stop().await;
        let outcome = outcome?;
        progress.finish(&outcome.metrics);
        Ok(RunResult {
            outcome,
            health: HealthResults {
                results: before,
                probes,
            },
            not_sent: None,
            base_url: self.base_url.to_owned(),
        })
    }

    /// Verify: the `after` policies check that the target is still healthy once the load
    /// has ended, since a load that met its SLA but left the target broken must fail the
    /// run. Skipped when a signal stopped the load; a signal while they run stops the run.
    async fn verify(&mut self, result: &mut RunResult, err: &mut dyn Write) -> anyhow::Result<()> {
        // A shard leaves them to one check after the merge: N shards checking at N moments
        // would not say whether the target survived the whole load.
        if self.plan.shard.is_some()
            || matches!(
                result.outcome.stop,
                StopReason::Interrupted | StopReason::Terminated
            )
        {
            return Ok(());
        }
        let log = (!self.args.quiet).then_some(&mut *err);
        tokio::select! {
            after = health::run_phase(self.plan, self.base_url, self.http, HealthPhase::After, log) => {
                result.health.results.extend(after?);
            }
            s = next_signal(&mut self.signals) => result.outcome.stop = stop_for(s),
        }
        Ok(())
    }

    /// Conclude: unhealthy health results as errors, then the verdicts, the terminal
    /// summary and every report file (unhealthy results count as failures there), then the
    /// exit code. It is decided last, so a signal that came while the reports were written
    /// still decides it.
    fn conclude(
        &self,
        result: &RunResult,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> anyhow::Result<Exit> {
        for r in result.health.results.iter().filter(|r| !r.healthy) {
            writeln!(
                err,
                "error: health `{}` {} unhealthy: {}",
                r.policy,
                if r.phase == health::Phase::Before {
                    "(before the load; no load was sent)"
                } else {
                    "(after the load)"
                },
                crate::report::terminal::printable(r.reason.as_deref().unwrap_or("unknown"))
            )?;
        }
        let mut summary = crate::conclude::conclude(self.plan, result, self.baseline);
        if let Some(prefix) = &self.args.csv_prefix {
            summary.outputs.csv_prefix = Some(prefix.clone());
        }
        let mut exit = result.exit().worst(crate::report::publish(
            &summary,
            self.folder,
            self.args.quiet,
            out,
            err,
        ));
        if let StopReason::NoLogin(reason) = &result.outcome.stop {
            writeln!(err, "error: {reason}")?;
        }
        if let Signal::Interrupt | Signal::Terminate = *self.signals.borrow() {
            exit = exit.worst(crate::conclude::exit_for(&stop_for(*self.signals.borrow())));
        }
        Ok(exit)
    }
}

/// The plan overrides of `run`'s flags: `--set` and `--base-url`, then what `--users`,
/// `--rate` and `--duration` stand for on this plan's load, then `--seed` and `--only`;
/// with notices of how the flags changed the plan's load. `Err` says why a flag cannot be
/// applied.
fn overrides(args: &RunArgs, bytes: &[u8]) -> Result<(Vec<Override>, Vec<String>), String> {
    let mut overrides = super::overrides(&args.plan);
    // A plan that cannot be parsed gets no flag verdicts here: loading it next reports
    // where it is broken, which is what its author needs to see first.
    let file = args.plan_file.display().to_string();
    let document = plan::parse(&file, std::path::Path::new(""), bytes, &overrides)
        .ok()
        .map(|source| source.value);
    let flags = LoadFlags {
        users: args.users,
        rate: args.rate.as_ref(),
        duration: args.duration.as_deref(),
    };
    let load = document
        .as_ref()
        .and_then(|d| d.get("load"))
        .unwrap_or(&serde_json::Value::Null);
    let edits = load_flags::edits(load, &flags)?;
    overrides.extend(edits.overrides);
    if let Some(seed) = args.seed {
        overrides.push(Override::from_flag(
            "--seed",
            "load.seed",
            &seed.to_string(),
        ));
    }
    if let Some(document) = &document {
        overrides.extend(only_overrides(&args.only, document)?);
    }
    Ok((overrides, edits.notices))
}

/// Each user keeps its own connections: make room for them (plus files and slack).
fn raise_open_files_limit(plan: &plan::CompiledPlan, err: &mut dyn Write) {
    let users = plan.load.max_users();
    let wanted = users + 256;
    match rlimit::increase_nofile_limit(wanted) {
        Ok(got) if got < wanted => {
            let _ = writeln!(
                err,
                "warning: open-files limit is {got}, below the {wanted} that {users} users may need (raise `ulimit -n`)"
            );
        }
        _ => {}
    }
}

fn err_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// `--only a,b`: every other endpoint of the plan's `document` gets weight 0.
fn only_overrides(only: &[String], document: &serde_json::Value) -> Result<Vec<Override>, String> {
    if only.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = document
        .get("endpoints")
        .and_then(|e| e.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.get("name").and_then(|n| n.as_str()))
        .collect();
    for wanted in only {
        if !names.contains(&wanted.as_str()) {
            return Err(format!(
                "--only names `{wanted}`, which the plan does not have; {}",
                plan::diagnostic::suggest(wanted, &names)
            ));
        }
    }
    Ok(names
        .iter()
        .filter(|n| !only.iter().any(|o| o == *n))
        .map(|n| Override::new(&format!("endpoints.{n}.weight"), "0"))
        .collect())
}
