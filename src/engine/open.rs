//! The open model: a dispatcher task that hands each arrival, on its schedule, to a parked
//! worker (or starts one, up to `max_concurrency`; past that the arrival is dropped), and
//! long-lived workers that each keep one session, and so one keep-alive connection, across
//! the iterations they run. An arrival costs a channel send: no task, session, connection or
//! timer of its own. Before the clock starts, enough workers to take the first 10 ms of
//! arrivals open their connections: a cold start at 40,000/s otherwise needs hundreds of
//! connections at once, each slow enough that the arrivals behind it find every worker busy.
//!
//! The dispatcher is a task of the runtime, not part of the run's loop: that loop is
//! `block_on`'s, on a thread of its own, and with the workers busy on the same core it was
//! woken 10–40 ms late, long enough for every worker to be busy and arrivals to drop.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::schedule::Arrivals;
use super::session::Session;
use super::shared::{Control, Shared};
use super::user::pick;
use crate::clock::Later as _;
use crate::plan::shard::ShardRun;

/// When open-model iterations start, and how many were dropped.
pub(super) struct Dispatch {
    arrivals: Arrivals,
    next_arrival: Option<Duration>,
    max: u32,
    rng: SmallRng,
    shard: Option<ShardRun>,
    started: u64,
    dropped: u64,
    /// Workers started so far (at most `max`).
    workers: u32,
    /// Sessions connected ahead of the clock, each a parked worker to be.
    warm: Vec<Session>,
    idle: Arc<Idle>,
    in_flight: Arc<AtomicU32>,
    pub(super) done: bool,
}

impl Dispatch {
    pub(super) fn new(
        arrivals: Arrivals,
        max: u32,
        rng: SmallRng,
        shard: Option<ShardRun>,
        in_flight: Arc<AtomicU32>,
    ) -> Self {
        Dispatch {
            next_arrival: arrivals.time_of(0),
            arrivals,
            max,
            rng,
            shard,
            started: 0,
            dropped: 0,
            workers: 0,
            warm: Vec::new(),
            idle: Arc::new(Idle::open()),
            in_flight,
            done: false,
        }
    }

    /// Connects the sessions of the workers the first 10 ms of arrivals need, for at most a
    /// second (a target that does not answer is the first requests' to report).
    pub(super) async fn warm(&mut self, shared: &Shared, base: &str) {
        const AHEAD: Duration = Duration::from_millis(10);
        let Ok(uri) = base.parse::<http::Uri>() else {
            return;
        };
        let want = (self.arrivals.rate_at(Duration::ZERO) * AHEAD.as_secs_f64()).ceil();
        // `as` saturates: a rate past u32's range is capped at `max` all the same.
        let want = (want as u32).min(self.max);
        while self.workers < want {
            let id = self.next_worker_id();
            let Ok(session) = shared.session(id, self.rng.random()) else {
                break;
            };
            self.warm.push(session);
        }
        let connecting = self.warm.iter_mut().map(|s| s.warm(&uri));
        let _ = tokio::time::timeout(Duration::from_secs(1), join_all(connecting)).await;
    }

    /// Counts a new worker and returns its session's user id: global across shards.
    fn next_worker_id(&mut self) -> u64 {
        self.workers = self.workers.saturating_add(1);
        let local = u64::from(self.workers);
        self.shard.map_or(local, |s| s.user_id(local, true))
    }

    /// Starts a worker, with its session when it has one, and gives its sender.
    fn spawn_worker(
        &mut self,
        session: Option<Session>,
        shared: &Arc<Shared>,
        workers: &mut JoinSet<()>,
    ) -> mpsc::Sender<Ticket> {
        let id = match &session {
            Some(s) => s.user_id,
            None => self.next_worker_id(),
        };
        let (tx, rx) = mpsc::channel(1);
        let (shared, idle, in_flight) = (shared.clone(), self.idle.clone(), self.in_flight.clone());
        workers.spawn(worker(id, session, rx, shared, idle, in_flight));
        tx
    }

    /// Dispatches until the deadline, the stop or the iteration total, then lets the parked
    /// workers go; returns itself (for the drop count) and the workers still running.
    pub(super) async fn run(
        mut self,
        deadline: Option<Duration>,
        shared: Arc<Shared>,
        control: Arc<Control>,
        mut stop: watch::Receiver<bool>,
        start: Instant,
    ) -> (Self, JoinSet<()>) {
        let mut workers = JoinSet::new();
        for session in std::mem::take(&mut self.warm) {
            let tx = self.spawn_worker(Some(session), &shared, &mut workers);
            self.idle.park(tx);
        }
        let sleep = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(sleep);
        loop {
            let now = start.elapsed();
            if let Some(end) = deadline.filter(|d| now >= *d) {
                // The clock wakes on whole milliseconds: start the arrivals due before the
                // end that the last wait overshot, rather than count them as dropped.
                let before_end = end.saturating_sub(Duration::from_nanos(1));
                self.step(before_end, &shared, &control, &mut workers, start);
                break;
            }
            if control.stopping.load(Ordering::Relaxed) {
                break;
            }
            let wake = self.step(now, &shared, &control, &mut workers, start);
            if self.done {
                break;
            }
            let until = deadline.map_or(wake, |d| wake.min(d));
            sleep
                .as_mut()
                .reset(tokio::time::Instant::from_std(start.later(until)));
            tokio::select! {
                () = &mut sleep => {}
                _ = stop.changed() => {}
            }
        }
        self.idle.close();
        (self, workers)
    }

    /// Starts or drops every arrival due by `now`; returns when to look again.
    fn step(
        &mut self,
        now: Duration,
        shared: &Arc<Shared>,
        control: &Control,
        workers: &mut JoinSet<()>,
        start: Instant,
    ) -> Duration {
        let mut full = false;
        while let Some(due) = self.next_arrival.filter(|d| *d <= now) {
            if !control.claim() {
                self.done = true;
                self.next_arrival = None;
                break;
            }
            let parked = self.idle.pop();
            if parked.is_none() && self.workers >= self.max {
                // Every arrival due by now finds the cap full too: drop them at once
                // (one at a time, a rate of 10^9/s would take the dispatcher minutes a
                // second). Counted as it happens, so abort-on-fail and progress see
                // drops live.
                self.dropped = self.dropped.saturating_add(1);
                shared.metrics.record_dropped(1);
                self.drop_due(now, shared, control);
                full = true;
            } else {
                self.started = self.started.saturating_add(1);
                self.in_flight.fetch_add(1, Ordering::Relaxed);
                let back = match parked {
                    Some(back) => back,
                    None => self.spawn_worker(None, shared, workers),
                };
                let ticket = Ticket {
                    intended: start.later(due),
                    seed: self.rng.random(),
                    back: back.clone(),
                };
                // A parked or new worker's channel is empty and its receiver waits on it.
                let _ = back.try_send(ticket);
            }
            let k = self.started.saturating_add(self.dropped);
            self.next_arrival = self.arrivals.time_of(k);
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

    /// Counts every arrival due before `now` that has not started as dropped: at the cap
    /// they all find it full, and at the end of the run none of them will start.
    pub(super) fn drop_due(&mut self, now: Duration, shared: &Shared, control: &Control) {
        let missed = self
            .arrivals
            .due_before(now)
            .saturating_sub(self.started.saturating_add(self.dropped));
        let n = control.claim_up_to(missed);
        self.dropped = self.dropped.saturating_add(n);
        shared.metrics.record_dropped(n);
    }
}

/// An arrival handed to a worker: when it was due, its seed, and the worker's own sender,
/// which it parks again when it is done.
struct Ticket {
    intended: Instant,
    seed: u64,
    back: mpsc::Sender<Ticket>,
}

/// Workers waiting for an arrival, the one parked last on top (its connection is the
/// likeliest to be warm). `None` once the dispatcher ended: a worker then ends instead of
/// parking, and dropping the parked senders ends those that wait.
struct Idle(Mutex<Option<Vec<mpsc::Sender<Ticket>>>>);

impl Idle {
    fn open() -> Self {
        Idle(Mutex::new(Some(Vec::new())))
    }

    fn pop(&self) -> Option<mpsc::Sender<Ticket>> {
        self.lock().as_mut().and_then(Vec::pop)
    }

    /// Parks a worker; false once the dispatcher ended.
    fn park(&self, sender: mpsc::Sender<Ticket>) -> bool {
        self.lock().as_mut().map(|v| v.push(sender)).is_some()
    }

    fn close(&self) {
        self.lock().take();
    }

    fn lock(&self) -> MutexGuard<'_, Option<Vec<mpsc::Sender<Ticket>>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A worker: runs one iteration per ticket on its session (user `id`, made at its first
/// ticket unless it came connected) until the dispatcher ends.
async fn worker(
    id: u64,
    mut session: Option<Session>,
    mut tickets: mpsc::Receiver<Ticket>,
    shared: Arc<Shared>,
    idle: Arc<Idle>,
    in_flight: Arc<AtomicU32>,
) {
    while let Some(ticket) = tickets.recv().await {
        iterate(id, &mut session, &ticket, &shared).await;
        in_flight.fetch_sub(1, Ordering::Relaxed);
        if !idle.park(ticket.back) {
            return;
        }
    }
}

/// One iteration: a task on the worker's session, after a login if it has none. A session
/// whose login failed is let go, so the next arrival tries as a new user (the run gives up
/// on logins after a number of users, not of attempts).
async fn iterate(id: u64, slot: &mut Option<Session>, ticket: &Ticket, shared: &Shared) {
    let mut rng = SmallRng::seed_from_u64(ticket.seed);
    let session = match slot {
        Some(s) => s,
        None => match shared.session(id, ticket.seed) {
            Ok(s) => slot.insert(s),
            Err(_) => return,
        },
    };
    session.set_rows(shared.rows(session.user_id, &mut rng));
    if !session.is_ready(shared) && session.start(shared).await.is_err() {
        *slot = None;
        return;
    }
    if let Some(endpoint) = pick(shared, session, &mut rng) {
        session
            .run_task(shared, endpoint, Some(ticket.intended))
            .await;
    }
}
