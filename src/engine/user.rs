//! What a virtual user does: a closed-model user loops over tasks (pick an endpoint by
//! weight, run it, think) until it is ramped down or the run stops. Apart from the
//! scheduler, which only decides when users start; the open model's workers are `open`'s.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;

use super::session::Session;
use super::shared::{Control, Shared};
use crate::plan::compile::Think;

/// Picks an endpoint by weight among those whose `requires` are met.
pub(super) fn pick(shared: &Shared, session: &Session, rng: &mut SmallRng) -> Option<usize> {
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
pub(crate) fn think_time(think: Think, took: Duration, rng: &mut impl Rng) -> Duration {
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
pub(super) struct User {
    pub(super) id: u64,
    pub(super) slot: u32,
    /// The slot as feeder rows see it: global across shards, so a `unique` row is one
    /// user's in the whole run.
    pub(super) row_slot: u64,
    pub(super) seed: u64,
    pub(super) slots: Arc<Mutex<BTreeSet<u32>>>,
}

impl Drop for User {
    fn drop(&mut self) {
        if let Ok(mut s) = self.slots.lock() {
            s.remove(&self.slot);
        }
    }
}

pub(super) async fn closed_user(
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
    session.set_rows(shared.rows(user.row_slot, &mut rng));
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
        session.set_rows(shared.rows(user.row_slot, &mut rng));
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
