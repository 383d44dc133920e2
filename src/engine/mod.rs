//! The load engine: runs a compiled plan's virtual users on tokio, closed model (a user
//! population along stages, think time between tasks) or open model (iterations on a
//! wall-clock schedule, dropped — never delayed — at the concurrency cap), until the
//! duration, the iteration total, an abort or an interrupt; then gives in-flight work the
//! graceful-stop period. Measurements go to per-thread recorders (`metrics`).
//!
//! No arithmetic here may panic: counts saturate, and clock arithmetic goes through
//! [`Later`](crate::clock::Later). Every duration of a plan is at most a year (`plan::units::MAX_DURATION`) and
//! those from servers are clamped (`expiry`), so the clock never really overflows; the lint
//! below keeps it that way.
#![deny(clippy::arithmetic_side_effects)]

pub mod expiry;
pub mod request;
pub mod schedule;
pub mod session;
pub mod shape;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use ::http::header::HeaderName;
use minijinja::Value as Ctx;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::clock::Later as _;
use crate::http;
use crate::metrics::{Collector, Registry, RunMetrics};
use crate::plan::CompiledPlan;
use crate::plan::compile::{LoadModel, Think};
use crate::template::{Templates, Text};
use request::Prepared;
use session::{AuthSlot, Session};

/// Why the load stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
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
pub enum Signal {
    /// Keep going.
    Run,
    /// Ctrl-C.
    Interrupt,
    /// SIGTERM.
    Terminate,
}

/// What a run measured.
#[derive(Debug)]
pub struct RunOutcome {
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
pub struct RunOptions {
    /// Log each failed request to standard error (secrets masked).
    pub verbose: bool,
    /// Seed, overriding the plan's.
    pub seed: Option<u64>,
}

/// A prepared endpoint.
#[derive(Debug)]
pub struct Endpoint {
    /// Name.
    pub name: String,
    /// Weight.
    pub weight: u32,
    /// Captures needed first.
    pub requires: Vec<String>,
    /// Think time after it.
    pub think: Think,
    /// Requests in order.
    pub requests: Vec<Prepared>,
}

/// Login counters.
#[derive(Debug, Default)]
pub struct Counters {
    /// Successful logins.
    pub logins_ok: AtomicU64,
    /// Successful refreshes.
    pub refreshes: AtomicU64,
    failures: Mutex<BTreeMap<String, u64>>,
    failed: AtomicU64,
    /// Users (sessions) whose login failed at least once.
    pub users_failed: AtomicU64,
    /// Requests still in flight when the graceful stop ended, recorded as timeouts.
    pub cut: AtomicU64,
}

impl Counters {
    fn login_failed(&self, reason: &str) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.failures.lock() {
            let n = m.entry(reason.to_owned()).or_default();
            *n = n.saturating_add(1);
        }
    }
}

/// What every user of a run shares, read-only but for counters and the secret list.
#[derive(Debug)]
pub struct Shared {
    /// Templates.
    pub templates: Arc<Templates>,
    /// HTTP settings.
    pub http: http::HttpSettings,
    /// `env`, `vars`, the variables by name.
    pub globals: Ctx,
    /// Endpoints.
    pub endpoints: Vec<Endpoint>,
    /// Login request.
    pub login: Option<Prepared>,
    /// What a login extracts.
    pub login_extract: Vec<(String, serde_json_path::JsonPath)>,
    /// Refresh request.
    pub refresh: Option<Prepared>,
    /// What a refresh extracts.
    pub refresh_extract: Vec<(String, serde_json_path::JsonPath)>,
    /// Statuses that trigger a refresh and one retry.
    pub refresh_statuses: Vec<u16>,
    /// Extracted values that may say when credentials expire, first wins.
    pub expires_from: Vec<String>,
    /// Renew this long before expiry.
    pub before_expiry: Option<Duration>,
    /// Renew this often.
    pub refresh_every: Option<Duration>,
    /// `auth.apply` headers.
    pub apply_headers: Vec<(HeaderName, Text)>,
    /// `auth.apply` query.
    pub apply_query: Vec<(String, Text)>,
    /// Start steps.
    pub on_start: Vec<Prepared>,
    /// Measurements.
    pub metrics: Arc<Registry>,
    /// Login counters.
    pub counters: Counters,
    /// `-v`.
    pub verbose: bool,
    secrets: Mutex<crate::secrets::Secrets>,
    shared_auth: Option<Arc<AuthSlot>>,
    feeders: Vec<FeederState>,
}

/// A data feeder's rows, and its position for sequential order.
#[derive(Debug)]
struct FeederState {
    name: String,
    order: crate::plan::model::FeederOrder,
    table: Arc<crate::plan::table::Table>,
    next: AtomicU64,
}

impl Shared {
    /// Masks every known secret in a text.
    pub fn mask(&self, text: &str) -> String {
        self.secrets
            .lock()
            .map(|s| s.mask(text))
            .unwrap_or_else(|_| "***".into())
    }

    fn add_secrets<'a>(&self, values: impl Iterator<Item = &'a str>) {
        if let Ok(mut secrets) = self.secrets.lock() {
            for v in values {
                secrets.add(v);
            }
        }
    }

    /// The `data` context of one task: a row of every feeder.
    fn rows(&self, user_id: u64, rng: &mut SmallRng) -> Ctx {
        use crate::plan::model::FeederOrder;
        if self.feeders.is_empty() {
            return Ctx::UNDEFINED;
        }
        let map: BTreeMap<&str, Ctx> = self
            .feeders
            .iter()
            .map(|f| {
                let n = f.table.len() as u64;
                let i = match f.order {
                    FeederOrder::Sequential => f
                        .next
                        .fetch_add(1, Ordering::Relaxed)
                        .checked_rem(n)
                        .unwrap_or(0),
                    FeederOrder::Random => rng.random_range(0..n),
                    // One row per user for the whole run; validation made sure there are enough.
                    FeederOrder::Unique => user_id.saturating_sub(1).checked_rem(n).unwrap_or(0),
                };
                let row = crate::plan::table::Row {
                    table: f.table.clone(),
                    index: i as usize,
                };
                (f.name.as_str(), Ctx::from_object(row))
            })
            .collect();
        Ctx::from(map)
    }

    fn session(&self, user_id: u64, seed: u64) -> anyhow::Result<Session> {
        let slot = self.shared_auth.clone().unwrap_or_default();
        Ok(Session::new(
            user_id,
            seed,
            self.http.transport(true)?,
            slot,
        ))
    }
}

/// A user's template context: the plan's globals, then its captures, then its own values
/// (`auth`, `user_id`, `iteration`, `data`). minijinja's merge lets the last map win, so a
/// capture or a built-in is never hidden by a plan variable of the same name.
pub fn user_context(globals: &Ctx, captures: Ctx, own: Ctx) -> Ctx {
    minijinja::value::merge_maps([globals.clone(), captures, own])
}

/// The template globals: `env`, `vars` and each variable by name.
pub fn globals(plan: &CompiledPlan) -> Ctx {
    crate::template::globals(&plan.plan.variables)
}

fn prepare(
    plan: &CompiledPlan,
    base: &Arc<str>,
    opts: &RunOptions,
    metrics: Arc<Registry>,
    http: http::HttpSettings,
    globals: Ctx,
) -> anyhow::Result<Shared> {
    let next = |r: &crate::plan::compile::CompiledRequest| -> anyhow::Result<Prepared> {
        // Compile numbers every request the engine sends; one without a row is a bug there.
        let row = r
            .row
            .ok_or_else(|| anyhow::anyhow!("{}: no metrics row", r.label))?;
        Prepared::new(r, row, base, &plan.headers, plan.timeout)
            .map_err(|e| anyhow::anyhow!("{}: {e}", r.label))
    };
    let default_think = match &plan.load.model {
        LoadModel::Closed { think, .. } => *think,
        LoadModel::Open { .. } => Think::None,
    };
    let mut endpoints = Vec::new();
    for e in &plan.endpoints {
        endpoints.push(Endpoint {
            name: e.name.clone(),
            weight: e.weight,
            requires: e.requires.clone(),
            think: e.think_time.unwrap_or(default_think),
            requests: e
                .requests
                .iter()
                .map(&next)
                .collect::<anyhow::Result<_>>()?,
        });
    }
    let auth = plan.auth.as_ref();
    let login = auth.and_then(|a| a.login.as_ref()).map(&next).transpose()?;
    let refresh_spec = auth.and_then(|a| a.refresh.as_ref());
    let refresh = refresh_spec
        .and_then(|r| r.request.as_ref())
        .map(&next)
        .transpose()?;
    let on_start = auth
        .map(|a| {
            a.on_start
                .iter()
                .map(&next)
                .collect::<anyhow::Result<Vec<_>>>()
        })
        .transpose()?
        .unwrap_or_default();
    let mut apply_headers = Vec::new();
    for (name, text) in auth.map(|a| &a.apply_headers[..]).unwrap_or_default() {
        apply_headers.push((
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| anyhow::anyhow!("`{name}` is not a valid header name"))?,
            text.clone(),
        ));
    }
    let shared_auth = match auth {
        Some(a) if a.shared => Some(Arc::new(AuthSlot::default())),
        Some(a) if a.basic.is_some() => Some(Arc::new(AuthSlot::default())),
        _ => None,
    };
    let shared = Shared {
        templates: plan.templates.clone(),
        http,
        globals,
        endpoints,
        login,
        login_extract: auth.map(|a| a.extract.clone()).unwrap_or_default(),
        refresh,
        refresh_extract: refresh_spec.map(|r| r.extract.clone()).unwrap_or_default(),
        refresh_statuses: refresh_spec
            .map(|r| r.on_status.clone())
            .unwrap_or_default(),
        expires_from: auth.map(|a| a.expires_from.clone()).unwrap_or_default(),
        before_expiry: refresh_spec.and_then(|r| r.before_expiry),
        refresh_every: refresh_spec.and_then(|r| r.every),
        apply_headers,
        apply_query: auth.map(|a| a.apply_query.clone()).unwrap_or_default(),
        on_start,
        metrics,
        counters: Counters::default(),
        verbose: opts.verbose,
        secrets: Mutex::new(crate::secrets::plan_secrets(plan, base)),
        shared_auth,
        feeders: plan
            .feeders
            .iter()
            .map(|f| FeederState {
                name: f.name.clone(),
                order: f.order,
                table: f.table.clone(),
                next: AtomicU64::new(0),
            })
            .collect(),
    };
    if let Some((user, pass)) = auth.and_then(|a| a.basic.as_ref()) {
        let user = plan
            .templates
            .render(user, &shared.globals)
            .map_err(|e| anyhow::anyhow!("auth.basic.username: {e}"))?;
        let pass = plan
            .templates
            .render(pass, &shared.globals)
            .map_err(|e| anyhow::anyhow!("auth.basic.password: {e}"))?;
        if let Ok(mut secrets) = shared.secrets.lock() {
            secrets.keep_basic(&user, &pass);
        }
        if let Some(slot) = &shared.shared_auth {
            slot.set_basic(&user, &pass)?;
        }
    }
    Ok(shared)
}

/// State the scheduler and users share to stop in order.
struct Control {
    stopping: AtomicBool,
    stop_tx: watch::Sender<bool>,
    iterations_left: Option<AtomicU64>,
    target_users: AtomicU32,
}

impl Control {
    /// Claims one task from the iteration total; false when none are left.
    fn claim(&self) -> bool {
        self.claim_up_to(1) == 1
    }

    /// Claims up to `n` tasks from the iteration total; how many it got.
    fn claim_up_to(&self, n: u64) -> u64 {
        if self.stopping.load(Ordering::Relaxed) {
            return 0;
        }
        match &self.iterations_left {
            None => n,
            Some(left) => left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| {
                    Some(l.saturating_sub(n))
                })
                .map_or(0, |l| l.min(n)),
        }
    }

    fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        let _ = self.stop_tx.send(true);
    }
}

/// Runs a plan's load with the command's HTTP settings. `base_url` is the rendered base URL;
/// `signals` carries Ctrl-C and
/// SIGTERM; `on_tick` sees each second's collector (progress, live files, abort checks)
/// and may return a reason to abort.
pub async fn run(
    plan: &CompiledPlan,
    base_url: &str,
    http: &http::HttpSettings,
    opts: &RunOptions,
    mut signals: watch::Receiver<Signal>,
    mut on_tick: impl FnMut(&Collector, Duration) -> Option<String>,
) -> anyhow::Result<RunOutcome> {
    let started_at = SystemTime::now();
    let seed = opts.seed.or(plan.load.seed).unwrap_or_else(rand::random);
    let registry = Arc::new(Registry::new(plan.rows.clone()));
    let base: Arc<str> = base_url.trim().into();
    let shared = Arc::new(prepare(
        plan,
        &base,
        opts,
        registry.clone(),
        http.clone(),
        globals(plan),
    )?);
    let (stop_tx, stop_rx) = watch::channel(false);
    let control = Arc::new(Control {
        stopping: AtomicBool::new(false),
        stop_tx,
        iterations_left: plan.load.iterations.map(AtomicU64::new),
        target_users: AtomicU32::new(0),
    });
    let load = &plan.load;
    let deadline = match &load.model {
        _ if load.duration.is_some() => load.duration,
        LoadModel::Closed { stages, .. } if stages.len() > 1 || load.iterations.is_none() => {
            Some(schedule::stages_length(stages)).filter(|d| !d.is_zero())
        }
        LoadModel::Open { stages, .. } if load.iterations.is_none() => {
            Some(schedule::stages_length(stages)).filter(|d| !d.is_zero())
        }
        _ => None,
    };
    let start = Instant::now();
    let mut users = JoinSet::new();
    let mut collector = Collector::new(registry.clone());
    let mut stop = StopReason::Completed;
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now().later(Duration::from_secs(1)),
        Duration::from_secs(1),
    );
    let mut scheduler = Scheduler::new(&load.model, seed);
    scheduler.max_users = load.max_users();
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
        let wake = scheduler.step(now, &shared, &control, &mut users, &stop_rx, start);
        if scheduler.finished() && users.is_empty() {
            break;
        }
        let sleep_until = deadline.map_or(wake, |d| wake.min(d));
        tokio::select! {
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(start.later(sleep_until))) => {}
            _ = ticker.tick() => {
                registry.set_users(scheduler.active(&users) as u64);
                collector.tick(start.elapsed());
                if let Some(reason) = on_tick(&collector, start.elapsed()) {
                    stop = StopReason::Aborted(reason);
                    break;
                }
            }
            Some(_) = users.join_next(), if !users.is_empty() => {}
            changed = signals.changed(), if signals_open => {
                signals_open = changed.is_ok();
                match (changed, *signals.borrow()) {
                    (Ok(()), Signal::Interrupt) => { stop = StopReason::Interrupted; break; }
                    (Ok(()), Signal::Terminate) => { stop = StopReason::Terminated; break; }
                    _ => {}
                }
            }
        }
    }
    let end = start.elapsed();
    scheduler.drop_due(deadline.map_or(end, |d| end.min(d)), &shared, &control);
    control.stop();
    let grace = tokio::time::sleep(load.graceful_stop);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            next = users.join_next() => if next.is_none() { break },
            _ = &mut grace => { users.abort_all(); break; }
            Ok(()) = signals.changed(), if signals_open => {
                // A signal during the graceful stop decides the exit code (after an abort,
                // say); one on top of the signal that stopped the run ends the wait.
                let signalled = matches!(stop, StopReason::Interrupted | StopReason::Terminated);
                match *signals.borrow() {
                    Signal::Interrupt => stop = StopReason::Interrupted,
                    Signal::Terminate => stop = StopReason::Terminated,
                    Signal::Run => {}
                }
                if signalled {
                    users.abort_all();
                    break;
                }
            }
        }
    }
    while users.join_next().await.is_some() {}
    if let (StopReason::Completed, Some(reason)) = (&stop, no_login(&shared, &scheduler)) {
        stop = StopReason::NoLogin(reason);
    }
    let metrics = collector.finish(start.elapsed());
    let login_failures = shared
        .counters
        .failures
        .lock()
        .map(|m| m.clone())
        .unwrap_or_default();
    Ok(RunOutcome {
        metrics,
        stop,
        started_at,
        seed,
        login_failures,
        logins: shared.counters.logins_ok.load(Ordering::Relaxed),
        refreshes: shared.counters.refreshes.load(Ordering::Relaxed),
        cut: shared.counters.cut.load(Ordering::Relaxed),
    })
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

/// Starts users (closed model) or iterations (open model) as the load shape says.
struct Scheduler {
    model: LoadModel,
    rng: SmallRng,
    started: u64,
    dropped: u64,
    arrivals: Option<schedule::Arrivals>,
    next_arrival: Option<Duration>,
    in_flight: Arc<AtomicU32>,
    pool: Arc<Mutex<Vec<Session>>>,
    slots: Arc<Mutex<std::collections::BTreeSet<u32>>>,
    max_users: u64,
    done: bool,
}

impl Scheduler {
    fn new(model: &LoadModel, seed: u64) -> Self {
        let arrivals = match model {
            LoadModel::Open { stages, .. } => Some(schedule::Arrivals::new(stages)),
            LoadModel::Closed { .. } => None,
        };
        Scheduler {
            model: model.clone(),
            rng: SmallRng::seed_from_u64(seed),
            started: 0,
            dropped: 0,
            next_arrival: arrivals.as_ref().and_then(|a| a.time_of(0)),
            arrivals,
            in_flight: Arc::new(AtomicU32::new(0)),
            pool: Arc::new(Mutex::new(Vec::new())),
            slots: Arc::default(),
            max_users: 0,
            done: false,
        }
    }

    /// Logins that must all fail before the run gives up: every user of a closed model
    /// (so one flaky first login does not end a ramping run), a few for an open one.
    fn planned_users(&self) -> u64 {
        match &self.model {
            LoadModel::Closed { .. } => self.max_users.max(1),
            LoadModel::Open { .. } => self.max_users.clamp(1, 10),
        }
    }

    fn finished(&self) -> bool {
        self.done
    }

    fn active(&self, users: &JoinSet<()>) -> usize {
        match self.model {
            LoadModel::Closed { .. } => users.len(),
            LoadModel::Open { .. } => self.in_flight.load(Ordering::Relaxed) as usize,
        }
    }

    /// Starts what is due at `now`; returns when to look again.
    fn step(
        &mut self,
        now: Duration,
        shared: &Arc<Shared>,
        control: &Arc<Control>,
        users: &mut JoinSet<()>,
        stop: &watch::Receiver<bool>,
        start: Instant,
    ) -> Duration {
        match &self.model {
            LoadModel::Closed {
                stages, from_one, ..
            } => {
                if control
                    .iterations_left
                    .as_ref()
                    .is_some_and(|l| l.load(Ordering::Relaxed) == 0)
                {
                    // The iteration total is spent: users leave as they finish (their think
                    // time cut short); start none.
                    self.done = true;
                    control.stop();
                    return now.saturating_add(Duration::from_millis(20));
                }
                let target = schedule::users_at(stages, *from_one, now);
                control.target_users.store(target, Ordering::Relaxed);
                // Slots 1..=target each hold one user; a ramp-down empties the highest
                // slots, a ramp-up fills the empty ones with new users.
                let mut occupied = self.slots.lock().unwrap_or_else(|e| e.into_inner());
                for slot in 1..=target {
                    if occupied.insert(slot) {
                        self.started = self.started.saturating_add(1);
                        let user = User {
                            id: self.started,
                            slot,
                            seed: self.rng.random(),
                            slots: self.slots.clone(),
                        };
                        let (shared, control, stop) =
                            (shared.clone(), control.clone(), stop.clone());
                        users.spawn(async move { closed_user(user, shared, control, stop).await });
                    }
                }
                now.saturating_add(Duration::from_millis(20))
            }
            LoadModel::Open {
                max_concurrency, ..
            } => {
                let max = *max_concurrency;
                let mut full = false;
                while let Some(due) = self.next_arrival.filter(|d| *d <= now) {
                    if !control.claim() {
                        self.done = true;
                        self.next_arrival = None;
                        break;
                    }
                    if self.in_flight.load(Ordering::Relaxed) >= max {
                        // Every arrival due by now finds the cap full too: drop them at once
                        // (one at a time, a rate of 10^9/s would take the scheduler minutes a
                        // second). Counted as it happens, so abort-on-fail and progress see
                        // drops live.
                        self.dropped = self.dropped.saturating_add(1);
                        shared.metrics.record_dropped(1);
                        self.drop_due(now, shared, control);
                        full = true;
                    } else {
                        self.in_flight.fetch_add(1, Ordering::Relaxed);
                        self.started = self.started.saturating_add(1);
                        let intended = start.later(due);
                        let session = self.pool.lock().ok().and_then(|mut p| p.pop());
                        let (shared, pool, in_flight) =
                            (shared.clone(), self.pool.clone(), self.in_flight.clone());
                        let id = self.started;
                        let seed = self.rng.random();
                        users.spawn(async move {
                            open_iteration(id, seed, session, intended, &shared, &pool).await;
                            in_flight.fetch_sub(1, Ordering::Relaxed);
                        });
                    }
                    let k = self.started.saturating_add(self.dropped);
                    self.next_arrival = self.arrivals.as_ref().and_then(|a| a.time_of(k));
                }
                if self.next_arrival.is_none() {
                    self.done = true;
                }
                let wake = self
                    .next_arrival
                    .unwrap_or(now.saturating_add(Duration::from_millis(100)));
                // At the cap, arrivals due meanwhile are counted in bulk at the next step: do
                // not spin on a rate far above what the cap lets start.
                if full {
                    wake.max(now.saturating_add(Duration::from_millis(1)))
                } else {
                    wake
                }
            }
        }
    }
}

impl Scheduler {
    /// Counts every open-model arrival due before `now` that has not started as dropped: at
    /// the cap they all find it full, and at the end of the run none of them will start.
    fn drop_due(&mut self, now: Duration, shared: &Shared, control: &Control) {
        let Some(arrivals) = &self.arrivals else {
            return;
        };
        let missed = arrivals
            .due_before(now)
            .saturating_sub(self.started.saturating_add(self.dropped));
        let n = control.claim_up_to(missed);
        self.dropped = self.dropped.saturating_add(n);
        shared.metrics.record_dropped(n);
    }
}

/// Picks an endpoint by weight among those whose `requires` are met.
fn pick(shared: &Shared, session: &Session, rng: &mut SmallRng) -> Option<usize> {
    let total: u64 = shared
        .endpoints
        .iter()
        .filter(|e| session.has(&e.requires))
        .map(|e| u64::from(e.weight))
        .sum();
    if total == 0 {
        return None;
    }
    let mut x = rng.random_range(0..total);
    for (i, e) in shared.endpoints.iter().enumerate() {
        if !session.has(&e.requires) {
            continue;
        }
        let w = u64::from(e.weight);
        if x < w {
            return Some(i);
        }
        x = x.saturating_sub(w);
    }
    None
}

/// How long to wait after a task that took `took`.
pub fn think_time(think: Think, took: Duration, rng: &mut impl Rng) -> Duration {
    match think {
        Think::None => Duration::ZERO,
        Think::Constant(d) => d,
        Think::Between(a, b) if b > a => {
            a.saturating_add(b.saturating_sub(a).mul_f64(rng.random::<f64>()))
        }
        Think::Between(a, _) => a,
        Think::Pacing(d) => d.saturating_sub(took),
        Think::Poisson(mean) => mean.mul_f64(-(1.0 - rng.random::<f64>()).ln()),
    }
}

/// A closed-model user: its number, its slot, its seed; it frees its slot when it leaves.
struct User {
    id: u64,
    slot: u32,
    seed: u64,
    slots: Arc<Mutex<std::collections::BTreeSet<u32>>>,
}

impl Drop for User {
    fn drop(&mut self) {
        if let Ok(mut s) = self.slots.lock() {
            s.remove(&self.slot);
        }
    }
}

async fn closed_user(
    user: User,
    shared: Arc<Shared>,
    control: Arc<Control>,
    mut stop: watch::Receiver<bool>,
) {
    let mut rng = SmallRng::seed_from_u64(user.seed);
    let Ok(mut session) = shared.session(user.id, user.seed) else {
        return;
    };
    // A login may read a feeder row (a unique account per slot, say).
    session.set_rows(shared.rows(u64::from(user.slot), &mut rng));
    // A user whose login fails retries after a pause, until the run gives up on logins.
    while session.start(&shared).await.is_err() {
        let ramped_down = user.slot > control.target_users.load(Ordering::Relaxed);
        if ramped_down || sleep_or_stop(Duration::from_secs(1), &mut stop).await {
            return;
        }
    }
    loop {
        if user.slot > control.target_users.load(Ordering::Relaxed) {
            // Ramp-down: the highest slots leave first.
            return;
        }
        let Some(endpoint) = pick(&shared, &session, &mut rng) else {
            // Nothing is eligible yet (its `requires` are unmet): wait rather than spin.
            if sleep_or_stop(Duration::from_secs(1), &mut stop).await {
                return;
            }
            continue;
        };
        if !control.claim() {
            return;
        }
        let began = Instant::now();
        session.set_rows(shared.rows(u64::from(user.slot), &mut rng));
        session.run_task(&shared, endpoint, None).await;
        let wait = think_time(shared.endpoints[endpoint].think, began.elapsed(), &mut rng);
        if wait.is_zero() {
            // A task that fails before sending (a template over its budget, say) awaits
            // nothing: without this the loop would keep its worker thread from the run's
            // clock and signal handling for good.
            tokio::task::yield_now().await;
        } else if sleep_or_stop(wait, &mut stop).await {
            return;
        }
        if control.stopping.load(Ordering::Relaxed) {
            return;
        }
        if !session.is_ready(&shared)
            && session.start(&shared).await.is_err()
            && sleep_or_stop(Duration::from_secs(1), &mut stop).await
        {
            return;
        }
    }
}

async fn open_iteration(
    id: u64,
    seed: u64,
    session: Option<Session>,
    intended: Instant,
    shared: &Shared,
    pool: &Mutex<Vec<Session>>,
) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut session = match session {
        Some(s) => s,
        None => match shared.session(id, seed) {
            Ok(s) => s,
            Err(_) => return,
        },
    };
    session.set_rows(shared.rows(session.user_id, &mut rng));
    if !session.is_ready(shared) && session.start(shared).await.is_err() {
        return;
    }
    if let Some(endpoint) = pick(shared, &session, &mut rng) {
        session.run_task(shared, endpoint, Some(intended)).await;
    }
    if let Ok(mut p) = pool.lock() {
        p.push(session);
    }
}

/// Sleeps, or returns true as soon as the run stops.
async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = stop.changed() => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn think_times_follow_their_rule() {
        let mut rng = SmallRng::seed_from_u64(1);
        let s = Duration::from_secs;
        assert_eq!(think_time(Think::None, s(1), &mut rng), Duration::ZERO);
        assert_eq!(think_time(Think::Constant(s(2)), s(5), &mut rng), s(2));
        // Pacing: the task's own time counts toward the period.
        assert_eq!(think_time(Think::Pacing(s(5)), s(2), &mut rng), s(3));
        assert_eq!(
            think_time(Think::Pacing(s(5)), s(7), &mut rng),
            Duration::ZERO
        );
        let waits: Vec<f64> = (0..10_000)
            .map(|_| think_time(Think::Between(s(1), s(3)), s(0), &mut rng).as_secs_f64())
            .collect();
        assert!(waits.iter().all(|w| (1.0..=3.0).contains(w)));
        let mean = waits.iter().sum::<f64>() / waits.len() as f64;
        assert!((mean - 2.0).abs() < 0.05, "{mean}");
        let poisson: f64 = (0..20_000)
            .map(|_| think_time(Think::Poisson(s(2)), s(0), &mut rng).as_secs_f64())
            .sum::<f64>()
            / 20_000.0;
        assert!((poisson - 2.0).abs() < 0.1, "{poisson}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_cuts_think_time_short() {
        let (tx, mut rx) = watch::channel(false);
        let start = tokio::time::Instant::now();
        let sleeper =
            tokio::spawn(async move { sleep_or_stop(Duration::from_secs(60), &mut rx).await });
        tokio::time::sleep(Duration::from_secs(1)).await;
        tx.send(true).unwrap();
        assert!(sleeper.await.unwrap(), "reported the stop");
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "did not wait out the 60 s"
        );
        let (_tx, mut rx) = watch::channel(false);
        assert!(!sleep_or_stop(Duration::from_secs(5), &mut rx).await);
        assert!(start.elapsed() >= Duration::from_secs(6));
    }
}
