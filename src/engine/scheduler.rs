//! The scheduler: starts closed-model users along the stages, one per slot, and open-model
//! iterations on the arrival schedule, dropping (never delaying) arrivals that find the
//! concurrency cap full. Apart from `run` so the loop that waits on the clock and signals
//! does not also hold the rules of when work starts.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::schedule;
use super::session::Session;
use super::shared::{Control, Shared};
use super::user::{User, closed_user, open_iteration};
use crate::clock::Later as _;
use crate::plan::compile::LoadModel;
use crate::plan::shard::ShardRun;

/// Starts users (closed model) or iterations (open model) as the load shape says.
pub(super) struct Scheduler {
    model: LoadModel,
    rng: SmallRng,
    started: u64,
    dropped: u64,
    arrivals: Option<schedule::Arrivals>,
    next_arrival: Option<Duration>,
    in_flight: Arc<AtomicU32>,
    pool: Arc<Mutex<Vec<Session>>>,
    slots: Arc<Mutex<BTreeSet<u32>>>,
    pub(super) max_users: u64,
    done: bool,
    shard: Option<ShardRun>,
}

impl Scheduler {
    /// `seed` is the run's; a shard derives its own streams from it.
    pub(super) fn new(model: &LoadModel, shard: Option<ShardRun>, seed: u64) -> Self {
        let arrivals = match model {
            LoadModel::Open { stages, .. } => Some(schedule::Arrivals::new(stages)),
            LoadModel::Closed { .. } => None,
        };
        Scheduler {
            model: model.clone(),
            rng: SmallRng::seed_from_u64(shard.map_or(seed, |s| s.seed(seed))),
            started: 0,
            dropped: 0,
            next_arrival: arrivals.as_ref().and_then(|a| a.time_of(0)),
            arrivals,
            in_flight: Arc::new(AtomicU32::new(0)),
            pool: Arc::new(Mutex::new(Vec::new())),
            slots: Arc::default(),
            max_users: 0,
            done: false,
            shard,
        }
    }

    /// Logins that must all fail before the run gives up: every user of a closed model
    /// (so one flaky first login does not end a ramping run), a few for an open one.
    pub(super) fn planned_users(&self) -> u64 {
        match &self.model {
            LoadModel::Closed { .. } => self.max_users.max(1),
            LoadModel::Open { .. } => self.max_users.clamp(1, 10),
        }
    }

    pub(super) fn finished(&self) -> bool {
        self.done
    }

    pub(super) fn active(&self, users: &JoinSet<()>) -> usize {
        match self.model {
            LoadModel::Closed { .. } => users.len(),
            LoadModel::Open { .. } => self.in_flight.load(Ordering::Relaxed) as usize,
        }
    }

    /// The open model's planned rate at `now`; `None` under the closed model.
    pub(super) fn rate(&self, now: Duration) -> Option<f64> {
        self.arrivals.as_ref().map(|a| a.rate_at(now))
    }

    /// Starts what is due at `now`; returns when to look again.
    pub(super) fn step(
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
                self.fill_slots(target, shared, control, users, stop);
                now.saturating_add(Duration::from_millis(20))
            }
            LoadModel::Open {
                max_concurrency, ..
            } => {
                let max = *max_concurrency;
                self.step_open(max, now, shared, control, users, start)
            }
        }
    }

    /// The id of the user (or open-model iteration) started last: global across shards.
    fn user_id(&self, open: bool) -> u64 {
        self.shard
            .map_or(self.started, |s| s.user_id(self.started, open))
    }

    /// Closed model: gives every empty slot up to `target` a new user.
    fn fill_slots(
        &mut self,
        target: u32,
        shared: &Arc<Shared>,
        control: &Arc<Control>,
        users: &mut JoinSet<()>,
        stop: &watch::Receiver<bool>,
    ) {
        // Slots 1..=target each hold one user; a ramp-down empties the highest
        // slots, a ramp-up fills the empty ones with new users.
        let mut occupied = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        for slot in 1..=target {
            if occupied.insert(slot) {
                self.started = self.started.saturating_add(1);
                let user = User {
                    id: self.user_id(false),
                    slot,
                    row_slot: self
                        .shard
                        .map_or(u64::from(slot), |s| s.user_id(u64::from(slot), false)),
                    seed: self.rng.random(),
                    slots: self.slots.clone(),
                };
                let (shared, control, stop) = (shared.clone(), control.clone(), stop.clone());
                users.spawn(async move { closed_user(user, shared, control, stop).await });
            }
        }
    }

    /// Open model: starts or drops every arrival due by `now`; returns when to look again.
    fn step_open(
        &mut self,
        max: u32,
        now: Duration,
        shared: &Arc<Shared>,
        control: &Arc<Control>,
        users: &mut JoinSet<()>,
        start: Instant,
    ) -> Duration {
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
                let id = self.user_id(true);
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

impl Scheduler {
    /// Counts every open-model arrival due before `now` that has not started as dropped: at
    /// the cap they all find it full, and at the end of the run none of them will start.
    pub(super) fn drop_due(&mut self, now: Duration, shared: &Shared, control: &Control) {
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
