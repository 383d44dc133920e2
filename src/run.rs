//! `loadplan run`: the one pipeline from plan file to exit code — load with overrides,
//! optionally start the demo API, render the base URL, gate on the `before` health policies,
//! run the engine with signals, progress and `during` health probes, verify the `after`
//! policies, then print the summary, write the reports and decide the exit code.

use std::io::Write;
use std::time::Duration;

use tokio::sync::watch;

use crate::app::load_plan;
use crate::cli::RunArgs;
use crate::conclude::{AbortCheck, RunResult};
use crate::engine::{self, RunOptions, RunOutcome, Signal, StopReason};
use crate::exit::Exit;
use crate::health::{self, HealthResults};
use crate::plan::model::{HealthPhase, OutputFormat};
use crate::plan::{self, Override};

/// Runs `loadplan run`.
pub async fn run(args: &RunArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Exit> {
    let mut overrides = args.plan.overrides();
    if let Some(users) = args.users {
        overrides.push(Override::from_flag(
            "--users",
            "load.users",
            &users.to_string(),
        ));
    }
    if let Some(d) = &args.duration {
        overrides.push(Override::from_flag("--duration", "load.duration", d));
    }
    if let Some(seed) = args.seed {
        overrides.push(Override::from_flag(
            "--seed",
            "load.seed",
            &seed.to_string(),
        ));
    }
    match only_overrides(args) {
        Ok(extra) => overrides.extend(extra),
        Err(message) => {
            writeln!(err, "error: {message}")?;
            return Ok(Exit::Invalid);
        }
    }
    let demo = if args.demo {
        Some(crate::app::start_demo(&mut overrides).await?)
    } else {
        None
    };
    let compiled = match load_plan(&args.plan_file, &overrides, err) {
        Ok(p) => p,
        Err(exit) => return Ok(exit),
    };
    // Before anything is sent: every variable the run's templates need must be set.
    if let Err(exit) = crate::app::require_env(&compiled, &plan::run_pointers(&compiled), err) {
        return Ok(exit);
    }
    let base_url = match crate::app::render_base_url(&compiled, err) {
        Ok(u) => u,
        Err(exit) => return Ok(exit),
    };
    // Once for the command: the load, its health checks and probes share it (and a dry run
    // reports an unreadable CA or client certificate as the run would).
    let http = crate::http::HttpSettings::new(&compiled)?;
    if args.dry_run {
        let rendered = crate::dryrun::print(&compiled, &base_url, out)?;
        return Ok(if rendered {
            Exit::Passed
        } else {
            Exit::Invalid
        });
    }
    // Before any request: a run whose results could not be kept must not start.
    let results = match crate::report::folder::ResultsDir::open(&args.out) {
        Ok(r) => r,
        Err(e) => {
            writeln!(err, "error: {e}")?;
            return Ok(Exit::ToolError);
        }
    };
    // Health: `before` policies gate the load, `during` ones probe beside it (their own
    // client, outside the endpoints' statistics), `after` ones verify once it has ended.
    match health::preflight(&compiled, &base_url, &http) {
        Err(e) if e.is::<health::NotRunnable>() => {
            writeln!(err, "error: {}: {e}", compiled.file)?;
            return Ok(Exit::Invalid);
        }
        other => other?,
    }
    // Signals are heard from here on: during the health phases as during the load.
    let (signal_tx, mut signal_rx) = watch::channel(Signal::Run);
    listen_for_signals(signal_tx);
    let mut health = HealthResults::default();
    let log = (!args.quiet).then_some(&mut *err);
    let before = tokio::select! {
        r = health::run_phase(&compiled, &base_url, &http, HealthPhase::Before, log) => Ok(r?),
        s = next_signal(&mut signal_rx) => Err(s),
    };
    let mut not_sent = None;
    let outcome = if let Err(signal) = before {
        not_sent = Some("interrupted before the load".to_owned());
        not_run(&compiled, args.seed, stop_for(signal))
    } else if let Some(failed) = before.iter().flatten().find(|r| !r.healthy) {
        let reason = format!(
            "health gate `{}` failed: {}",
            failed.policy,
            failed.reason.as_deref().unwrap_or("unknown")
        );
        not_sent = Some("the health gate failed".to_owned());
        health.results = before.unwrap_or_default();
        not_run(&compiled, args.seed, StopReason::Aborted(reason))
    } else {
        health.results = before.unwrap_or_default();
        raise_open_files_limit(&compiled, err);
        let title = format!("{} ({})", compiled.plan.name, compiled.file);
        let progress = crate::report::progress::Progress::new(
            args.quiet,
            &title,
            compiled.load.duration,
            err_is_terminal(),
        );
        let opts = RunOptions {
            verbose: args.verbose,
            seed: args.seed,
        };
        let probes = health::Probes::start(&compiled, &base_url, &http)?;
        let mut ndjson = if compiled
            .plan
            .outputs
            .formats
            .contains(&OutputFormat::Ndjson)
        {
            let path = results.path().join(crate::report::NDJSON_FILE);
            let writer = crate::report::ndjson::LiveWriter::create(&path, engine::rows(&compiled));
            Some(writer.map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", path.display()))?)
        } else {
            None
        };
        let abort = AbortCheck::new(&compiled);
        let outcome = engine::run(
            &compiled,
            &base_url,
            &http,
            &opts,
            signal_rx.clone(),
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
        health.probes = probes.stop().await;
        let mut outcome = outcome?;
        progress.finish();
        if !matches!(
            outcome.stop,
            StopReason::Interrupted | StopReason::Terminated
        ) {
            let log = (!args.quiet).then_some(&mut *err);
            tokio::select! {
                after = health::run_phase(&compiled, &base_url, &http, HealthPhase::After, log) => {
                    health.results.extend(after?);
                }
                s = next_signal(&mut signal_rx) => outcome.stop = stop_for(s),
            }
        }
        outcome
    };
    if let Some(server) = demo {
        server.shutdown().await;
    }
    let result = RunResult {
        outcome,
        health,
        not_sent,
    };
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
    // SLA verdicts, the terminal summary, every report file and the exit code (unhealthy
    // health results count as failures there).
    let mut summary = crate::conclude::conclude(&compiled, &result);
    if let Some(prefix) = &args.csv_prefix {
        summary.outputs.csv_prefix = Some(prefix.clone());
    }
    let mut exit = result.exit().worst(crate::report::publish(
        &summary, &results, args.quiet, out, err,
    ));
    if let StopReason::NoLogin(reason) = &result.outcome.stop {
        writeln!(err, "error: {reason}")?;
    }
    // A signal that came while the reports were written still decides the exit code.
    if let Signal::Interrupt | Signal::Terminate = *signal_rx.borrow() {
        exit = exit.worst(crate::conclude::exit_for(&stop_for(*signal_rx.borrow())));
    }
    Ok(exit)
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

/// The outcome of a run that sent no load (its `before` gate failed, or a signal came
/// first): empty statistics and why.
fn not_run(plan: &plan::CompiledPlan, seed: Option<u64>, stop: StopReason) -> RunOutcome {
    let registry = std::sync::Arc::new(crate::metrics::Registry::new(engine::rows(plan)));
    RunOutcome {
        metrics: crate::metrics::Collector::new(registry).finish(Duration::ZERO),
        stop,
        started_at: std::time::SystemTime::now(),
        seed: seed.or(plan.load.seed).unwrap_or(0),
        login_failures: Default::default(),
        logins: 0,
        refreshes: 0,
        cut: 0,
    }
}

/// Waits for the first signal.
pub async fn next_signal(rx: &mut watch::Receiver<Signal>) -> Signal {
    loop {
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
        let s = *rx.borrow();
        if s != Signal::Run {
            return s;
        }
    }
}

/// The stop reason a signal stands for.
pub fn stop_for(signal: Signal) -> StopReason {
    match signal {
        Signal::Terminate => StopReason::Terminated,
        Signal::Interrupt | Signal::Run => StopReason::Interrupted,
    }
}

fn err_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// `--only a,b`: every other endpoint gets weight 0.
fn only_overrides(args: &RunArgs) -> Result<Vec<Override>, String> {
    if args.only.is_empty() {
        return Ok(Vec::new());
    }
    let bytes = std::fs::read(&args.plan_file)
        .map_err(|e| format!("cannot read `{}`: {e}", args.plan_file.display()))?;
    let names: Vec<String> = plan::parse(
        &args.plan_file.display().to_string(),
        std::path::Path::new(""),
        &bytes,
        &[],
    )
    .ok()
    .and_then(|s| s.value.get("endpoints").and_then(|e| e.as_array()).cloned())
    .unwrap_or_default()
    .iter()
    .filter_map(|e| e.get("name").and_then(|n| n.as_str()).map(str::to_owned))
    .collect();
    let known: Vec<&str> = names.iter().map(String::as_str).collect();
    for wanted in &args.only {
        if !known.contains(&wanted.as_str()) {
            return Err(format!(
                "--only names `{wanted}`, which the plan does not have; {}",
                plan::diagnostic::suggest(wanted, &known)
            ));
        }
    }
    Ok(names
        .iter()
        .filter(|n| !args.only.contains(n))
        .map(|n| Override::new(&format!("endpoints.{n}.weight"), "0"))
        .collect())
}

/// Ctrl-C and SIGTERM stop the run gracefully; a second signal of either kind stops
/// waiting for requests in flight (the reports are still written); a third quits at once.
/// The handlers are installed before this returns, so a signal that comes before the
/// listening task first runs is heard, not the default (which kills the process with no
/// reports). The sender is never dropped, so the engine never sees a closed channel.
pub fn listen_for_signals(tx: watch::Sender<Signal>) {
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    tokio::spawn(async move {
        let mut heard = 0;
        loop {
            #[cfg(unix)]
            let signal = tokio::select! {
                () = next(&mut interrupt) => Signal::Interrupt,
                () = next(&mut terminate) => Signal::Terminate,
            };
            #[cfg(not(unix))]
            let signal = match tokio::signal::ctrl_c().await {
                Ok(()) => Signal::Interrupt,
                // No Ctrl-C handler here: keep the channel open rather than return.
                Err(_) => std::future::pending().await,
            };
            heard += 1;
            match heard {
                1 => crate::console::note(format_args!(
                    "stopping: waiting for requests in flight; signal again to stop waiting"
                )),
                2 => crate::console::note(format_args!(
                    "stopping now: requests in flight are abandoned; the reports are still written (signal again to quit at once)"
                )),
                _ => {
                    crate::console::note(format_args!("signalled again: quitting at once"));
                    std::process::exit(if signal == Signal::Interrupt {
                        130
                    } else {
                        143
                    });
                }
            }
            // Sent every time, even unchanged: the engine counts the second as "stop waiting".
            tx.send_replace(signal);
        }
    });
}

/// The next delivery of a signal; never, when its handler could not be installed.
#[cfg(unix)]
async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
    if let Some(s) = signal
        && s.recv().await.is_some()
    {
        return;
    }
    std::future::pending::<()>().await;
}
