//! The scheduler: starts closed-model users along the stages, one per slot, and the open
//! model's dispatcher (`open`), which starts iterations on the arrival schedule. Apart from
//! `run` so the loop that waits on the clock and signals does not also hold the rules of
//! when work starts.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::open::Dispatch;
use super::schedule;
use super::shared::{Control, Shared};
use super::user::{User, closed_user};
use crate::plan::compile::LoadModel;
use crate::plan::shard::ShardRun;

/// Starts users (closed model) or iterations (open model) as the load shape says.
pub(super) struct Scheduler {
    model: LoadModel,
    rng: SmallRng,
    started: u64,
    /// The open model's planned rate, for the progress line.
    arrivals: Option<schedule::Arrivals>,
    open: Open,
    /// Open-model iterations in flight, which the workers count down.
    in_flight: Arc<AtomicU32>,
    slots: Arc<Mutex<BTreeSet<u32>>>,
    pub(super) max_users: u64,
    done: bool,
    shard: Option<ShardRun>,
}

/// The open model's dispatcher: not started yet, running as a task, or ended.
enum Open {
    None,
    Ready(Dispatch),
    Running(JoinHandle<(Dispatch, JoinSet<()>)>),
    Ended(Dispatch),
}

impl Scheduler {
    /// `seed` is the run's; a shard derives its own streams from it.
    pub(super) fn new(model: &LoadModel, shard: Option<ShardRun>, seed: u64) -> Self {
        let seed = shard.map_or(seed, |s| s.seed(seed));
        let in_flight = Arc::new(AtomicU32::new(0));
        let (arrivals, open) = match model {
            LoadModel::Open {
                stages,
                max_concurrency,
            } => {
                let arrivals = schedule::Arrivals::new(stages);
                let rng = SmallRng::seed_from_u64(seed);
                let max = *max_concurrency;
                let dispatch = Dispatch::new(arrivals.clone(), max, rng, shard, in_flight.clone());
                (Some(arrivals), Open::Ready(dispatch))
            }
            LoadModel::Closed { .. } => (None, Open::None),
        };
        Scheduler {
            model: model.clone(),
            rng: SmallRng::seed_from_u64(seed),
            started: 0,
            arrivals,
            open,
            in_flight,
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
        match &self.open {
            Open::None => self.done,
            Open::Ended(d) => d.done,
            Open::Ready(..) | Open::Running(..) => false,
        }
    }

    pub(super) fn active(&self, users: &JoinSet<()>) -> usize {
        match &self.open {
            Open::None => users.len(),
            _ => self.in_flight.load(Ordering::Relaxed) as usize,
        }
    }

    /// The open model's planned rate at `now`; `None` under the closed model.
    pub(super) fn rate(&self, now: Duration) -> Option<f64> {
        self.arrivals.as_ref().map(|a| a.rate_at(now))
    }

    /// Connects the open model's first workers, before the clock starts.
    pub(super) async fn warm(&mut self, shared: &Shared, base: &str) {
        if let Open::Ready(dispatch) = &mut self.open {
            dispatch.warm(shared, base).await;
        }
    }

    /// Starts what is due at `now`; returns when to look again. The open model's dispatcher
    /// starts at the first step and runs until `deadline` on its own.
    #[expect(
        clippy::too_many_arguments,
        reason = "the run's state, passed as it is"
    )]
    pub(super) fn step(
        &mut self,
        now: Duration,
        deadline: Option<Duration>,
        shared: &Arc<Shared>,
        control: &Arc<Control>,
        users: &mut JoinSet<()>,
        stop: &watch::Receiver<bool>,
        start: Instant,
    ) -> Duration {
        let later = now.saturating_add(Duration::from_millis(20));
        let LoadModel::Closed {
            stages, from_one, ..
        } = &self.model
        else {
            if let Open::Ready(..) = self.open
                && let Open::Ready(dispatch) = std::mem::replace(&mut self.open, Open::None)
            {
                let task = dispatch.run(
                    deadline,
                    shared.clone(),
                    control.clone(),
                    stop.clone(),
                    start,
                );
                self.open = Open::Running(tokio::spawn(task));
            }
            return now.saturating_add(Duration::from_secs(1));
        };
        if control
            .iterations_left
            .as_ref()
            .is_some_and(|l| l.load(Ordering::Relaxed) == 0)
        {
            // The iteration total is spent: users leave as they finish (their think
            // time cut short); start none.
            self.done = true;
            control.stop();
            return later;
        }
        let target = schedule::users_at(stages, *from_one, now);
        control.target_users.store(target, Ordering::Relaxed);
        self.fill_slots(target, shared, control, users, stop);
        later
    }

    /// Waits until the open model's dispatcher ends, and returns its workers, still running;
    /// never returns under the closed model or once it ended.
    pub(super) async fn dispatcher_ended(&mut self) -> JoinSet<()> {
        match self.end_dispatch().await {
            Some(workers) => workers,
            None => std::future::pending().await,
        }
    }

    /// Ends the open model's dispatcher (one not started yet ends at once, and one running
    /// ends by the deadline or the stop, which the caller set), with its workers.
    pub(super) async fn end_dispatch(&mut self) -> Option<JoinSet<()>> {
        if let Open::Ready(..) = self.open
            && let Open::Ready(dispatch) = std::mem::replace(&mut self.open, Open::None)
        {
            self.open = Open::Ended(dispatch);
            return Some(JoinSet::new());
        }
        let Open::Running(task) = &mut self.open else {
            return None;
        };
        // Awaited in place, so that a `select!` that drops this future loses nothing.
        match task.await {
            Ok((dispatch, workers)) => {
                self.open = Open::Ended(dispatch);
                Some(workers)
            }
            // A dispatcher that panicked took its workers with it.
            Err(_) => {
                self.open = Open::None;
                self.done = true;
                Some(JoinSet::new())
            }
        }
    }

    /// The id of the user started last: global across shards.
    fn user_id(&self) -> u64 {
        self.shard
            .map_or(self.started, |s| s.user_id(self.started, false))
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
                    id: self.user_id(),
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
}

impl Scheduler {
    /// Counts every open-model arrival due before `now` that has not started as dropped
    /// (once its dispatcher ended): at the end of the run none of them will start.
    pub(super) fn drop_due(&mut self, now: Duration, shared: &Shared, control: &Control) {
        if let Open::Ended(dispatch) = &mut self.open {
            dispatch.drop_due(now, shared, control);
        }
    }
}
