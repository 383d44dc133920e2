//! The load engine: runs a compiled plan's virtual users on tokio, closed model (a user
//! population along stages, think time between tasks) or open model (iterations on a
//! wall-clock schedule, dropped — never delayed — at the concurrency cap), until the
//! duration, the iteration total, an abort or an interrupt; then gives in-flight work the
//! graceful-stop period. Measurements go to per-thread recorders (`metrics`).
//!
//! This file holds `run` and its public types; `shared` what the users share and how it is
//! prepared, `scheduler` when users and iterations start, `user` what a user does, and
//! `session` / `request` one user's connection and requests.
//!
//! No arithmetic in the engine may panic: counts saturate, and clock arithmetic goes through
//! [`Later`](crate::clock::Later). Every duration of a plan is at most a year (`plan::units::MAX_DURATION`) and
//! those from servers are clamped (`expiry`), so the clock never really overflows; the lint
//! below, an inner attribute, keeps it that way in every child module too.
#![deny(clippy::arithmetic_side_effects)]

mod error;
pub(crate) mod expiry;
mod open;
pub(crate) mod request;
pub(crate) mod schedule;
mod scheduler;
pub(crate) mod session;
pub(crate) mod shape;
mod shared;
mod user;
mod verbose;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use minijinja::Value as Ctx;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::clock::Later as _;
use crate::http;
use crate::metrics::{Collector, Registry, RunMetrics};
use crate::plan::CompiledPlan;
use crate::plan::compile::{LoadModel, LoadShape};
pub(crate) use error::EngineError;
use scheduler::Scheduler;
pub(crate) use shared::Shared;
use shared::{Control, prepare};

/// Why the load stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// The duration, the stages or the iteration total ran out.
    Completed,
    /// Ctrl-C (SIGINT).
    Interrupted,
    /// SIGTERM.
    Terminated,
    /// An SLA with `abort_on_fail` failed.
    Aborted(String),
    /// No user could log in.
    NoLogin(String),
}

/// Signals from outside the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// Keep going.
    Run,
    /// Ctrl-C.
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Signal {
    /// How the run stops for this signal; none for [`Signal::Run`].
    pub(crate) fn stop(self) -> Option<StopReason> {
        match self {
            Signal::Run => None,
            Signal::Interrupt => Some(StopReason::Interrupted),
            Signal::Terminate => Some(StopReason::Terminated),
        }
    }
}

/// What a run measured.
#[derive(Debug)]
pub(crate) struct RunOutcome {
    /// Measurements.
    pub metrics: RunMetrics,
    /// Why it stopped.
    pub stop: StopReason,
    /// Wall-clock start.
    pub started_at: SystemTime,
    /// The seed used.
    pub seed: u64,
    /// Login failures by reason.
    pub login_failures: BTreeMap<String, u64>,
    /// Successful logins.
    pub logins: u64,
    /// Successful refreshes.
    pub refreshes: u64,
    /// Requests still in flight when the graceful stop ended: each is counted as a
    /// `timeout` failure of its row, with the time it had been waiting as its latency.
    pub cut: u64,
}

/// Options of one run that are not in the plan.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunOptions {
    /// Log each failed request to standard error (secrets masked).
    pub verbose: bool,
    /// Seed, overriding the plan's.
    pub seed: Option<u64>,
    /// The wall-clock start the run reports, when the caller needs it before the run
    /// (live files with wall-clock times); default: when the engine starts.
    pub started_at: Option<SystemTime>,
}

/// A user's template context: the plan's globals, then its captures, then its own values
/// (`auth`, `user_id`, `iteration`, `data`). minijinja's merge lets the last map win, so a
/// capture or a built-in is never hidden by a plan variable of the same name.
pub(crate) fn user_context(globals: &Ctx, captures: Ctx, own: Ctx) -> Ctx {
    minijinja::value::merge_maps([globals.clone(), captures, own])
}

/// Runs a plan's load with the command's HTTP settings. `base_url` is the rendered base URL;
/// `signals` carries Ctrl-C and SIGTERM; `on_tick` sees each second's collector (progress,
/// live files, abort checks) and may return a reason to abort.
pub(crate) async fn run(
    plan: &CompiledPlan,
    base_url: &str,
    http: &http::HttpSettings,
    opts: &RunOptions,
    mut signals: watch::Receiver<Signal>,
    mut on_tick: impl FnMut(&Collector, Duration) -> Option<String>,
) -> Result<RunOutcome, EngineError> {
    let started_at = opts.started_at.unwrap_or_else(SystemTime::now);
    let seed = opts.seed.or(plan.load.seed).unwrap_or_else(rand::random);
    let registry = Arc::new(Registry::new(plan.rows.clone()));
    let base: Arc<str> = base_url.trim().into();
    let mut shared = prepare(plan, &base, opts, registry.clone(), http.clone())?;
    let (control, stop_rx) = Control::new(plan.load.iterations);
    let control = Arc::new(control);
    let load = &plan.load;
    let deadline = deadline(load);
    let mut scheduler = Scheduler::new(&load.model, plan.shard, seed);
    scheduler.max_users = load.max_users();
    scheduler.warm(&shared, &base).await;
    // One start for the schedule, the metrics and the `-v` lines' times, once the open
    // model's first workers are connected.
    shared.started = std::time::Instant::now();
    let shared = Arc::new(shared);
    let start = shared.started;
    let mut users = JoinSet::new();
    // A shard keeps each second's histograms: the merge of all shards needs them for exact
    // percentiles over time.
    let mut collector = Collector::new(registry.clone()).keeping_histograms(plan.shard.is_some());
    let mut stop = StopReason::Completed;
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now().later(Duration::from_secs(1)),
        Duration::from_secs(1),
    );
    let mut signals_open = true;
    loop {
        let now = start.elapsed();
        if deadline.is_some_and(|d| now >= d) || control.stopping.load(Ordering::Relaxed) {
            break;
        }
        if let Some(reason) = no_login(&shared, &scheduler) {
            stop = StopReason::NoLogin(reason);
            break;
        }
        let wake = scheduler.step(
            now, deadline, &shared, &control, &mut users, &stop_rx, start,
        );
        if scheduler.finished() && users.is_empty() {
            break;
        }
        let sleep_until = deadline.map_or(wake, |d| wake.min(d));
        tokio::select! {
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(start.later(sleep_until))) => {}
            _ = ticker.tick() => {
                registry.set_users(scheduler.active(&users) as u64);
                registry.set_rate(scheduler.rate(start.elapsed()));
                collector.tick(start.elapsed());
                if let Some(reason) = on_tick(&collector, start.elapsed()) {
                    stop = StopReason::Aborted(reason);
                    break;
                }
            }
            Some(_) = users.join_next(), if !users.is_empty() => {}
            workers = scheduler.dispatcher_ended() => users = workers,
            changed = signals.changed(), if signals_open => {
                signals_open = changed.is_ok();
                if let Some(reason) = changed.ok().and_then(|()| signals.borrow().stop()) {
                    stop = reason;
                    break;
                }
            }
        }
    }
    let end = start.elapsed();
    if deadline.is_none_or(|d| end < d) {
        control.stop();
    }
    // The open model's dispatcher ends by itself at the deadline, having started what was
    // due before it, and at once on a stop.
    if let Some(workers) = scheduler.end_dispatch().await {
        users = workers;
    }
    scheduler.drop_due(deadline.map_or(end, |d| end.min(d)), &shared, &control);
    control.stop();
    graceful_stop(
        &mut users,
        load.graceful_stop,
        &mut signals,
        signals_open,
        &mut stop,
    )
    .await;
    if let (StopReason::Completed, Some(reason)) = (&stop, no_login(&shared, &scheduler)) {
        stop = StopReason::NoLogin(reason);
    }
    let metrics = collector.finish(start.elapsed());
    Ok(outcome(&shared, metrics, stop, started_at, seed))
}

/// The outcome of a finished run, with the login counters the users kept.
fn outcome(
    shared: &Shared,
    metrics: RunMetrics,
    stop: StopReason,
    started_at: SystemTime,
    seed: u64,
) -> RunOutcome {
    let login_failures = shared
        .counters
        .failures
        .lock()
        .map(|m| m.clone())
        .unwrap_or_default();
    RunOutcome {
        metrics,
        stop,
        started_at,
        seed,
        login_failures,
        logins: shared.counters.logins_ok.load(Ordering::Relaxed),
        refreshes: shared.counters.refreshes.load(Ordering::Relaxed),
        cut: shared.counters.cut.load(Ordering::Relaxed),
    }
}

/// When the load stops by the clock: the duration, else the stages' length, unless the
/// iteration total decides (a closed model's single stage then only sets the population).
fn deadline(load: &LoadShape) -> Option<Duration> {
    match &load.model {
        _ if load.duration.is_some() => load.duration,
        LoadModel::Closed { stages, .. } if stages.len() > 1 || load.iterations.is_none() => {
            Some(schedule::stages_length(stages)).filter(|d| !d.is_zero())
        }
        LoadModel::Open { stages, .. } if load.iterations.is_none() => {
            Some(schedule::stages_length(stages)).filter(|d| !d.is_zero())
        }
        _ => None,
    }
}

/// Gives in-flight work the graceful-stop `period`, then aborts what is left, and waits
/// until every user has ended.
async fn graceful_stop(
    users: &mut JoinSet<()>,
    period: Duration,
    signals: &mut watch::Receiver<Signal>,
    signals_open: bool,
    stop: &mut StopReason,
) {
    let grace = tokio::time::sleep(period);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            next = users.join_next() => if next.is_none() { break },
            _ = &mut grace => { users.abort_all(); break; }
            Ok(()) = signals.changed(), if signals_open => {
                // A signal during the graceful stop decides the exit code (after an abort,
                // say); one on top of the signal that stopped the run ends the wait.
                let signalled = matches!(stop, StopReason::Interrupted | StopReason::Terminated);
                if let Some(reason) = signals.borrow().stop() {
                    *stop = reason;
                }
                if signalled {
                    users.abort_all();
                    break;
                }
            }
        }
    }
    while users.join_next().await.is_some() {}
}

/// The run stops early when every user tried to log in and none succeeded.
fn no_login(shared: &Shared, scheduler: &Scheduler) -> Option<String> {
    let c = &shared.counters;
    let users_failed = c.users_failed.load(Ordering::Relaxed);
    if shared.login.is_none()
        || c.logins_ok.load(Ordering::Relaxed) > 0
        || users_failed < scheduler.planned_users()
    {
        return None;
    }
    let reasons = c.failures.lock().ok()?;
    let (reason, _) = reasons.iter().max_by_key(|(_, n)| **n)?;
    Some(format!(
        "no user could log in ({users_failed} users tried, {} attempts): {}",
        c.failed.load(Ordering::Relaxed),
        shared.mask(reason)
    ))
}
