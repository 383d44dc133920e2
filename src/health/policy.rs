//! The policy loops on tokio time: `run_to_verdict` (initial delay, tries, backoff, retries,
//! deadline, success threshold) for `loadplan health` and the before/after phases, and
//! `probe_until` for during-load probes (failure threshold, availability). A try is any
//! future, so the loops are tested with scripted tries under `tokio::time::pause()`; the
//! HTTP try lives in `probe.rs`.

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tokio::time::Instant;

use super::schedule::{Backoff, next_sleep, try_budget};
use super::{Attempt, Phase, PolicyResult, ProbeStats, millis};
use crate::http::Failure;
use crate::metrics::FailureKind;
use crate::plan::compile::CompiledHealth;
use crate::plan::units::format_duration;

/// What one try found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TryOutcome {
    /// Answer status, when there was an answer.
    pub status: Option<u16>,
    /// Time the try took.
    pub latency: Duration,
    /// What failed, `None` when the try passed.
    pub failure: Option<Failure>,
}

/// The timing and counting rules of a policy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LoopSpec {
    /// Per-try timeout.
    pub timeout: Duration,
    /// Wait before the first try.
    pub initial_delay: Duration,
    /// Wait between tries.
    pub backoff: Backoff,
    /// Failed tries allowed before giving up.
    pub retries: u32,
    /// Overall deadline.
    pub deadline: Option<Duration>,
    /// Consecutive passes needed.
    pub success_threshold: u32,
    /// Consecutive failed probes that count as an outage.
    pub failure_threshold: u32,
}

impl LoopSpec {
    /// The rules of a compiled policy; `timeout` is the try's own (request or policy).
    pub(crate) fn of(policy: &CompiledHealth, timeout: Duration) -> Self {
        LoopSpec {
            timeout,
            initial_delay: policy.initial_delay,
            backoff: Backoff::of(policy),
            retries: policy.retries,
            deadline: policy.deadline,
            success_threshold: policy.success_threshold.max(1),
            failure_threshold: policy.failure_threshold.max(1),
        }
    }
}

/// Why a policy stopped trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// `success_threshold` passes in a row.
    Healthy,
    /// More failed tries than `retries`.
    Retries,
    /// The next try would have started after the deadline.
    Deadline,
}

/// A policy's verdict and why it ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    /// The result, as reports show it.
    pub result: PolicyResult,
    /// Why the loop ended.
    pub end: End,
}

/// The shortest try worth starting when the deadline is near.
const MIN_TRY: Duration = Duration::from_millis(20);

/// Runs tries until `success_threshold` pass in a row, more than `retries` fail, or the
/// deadline leaves no room for another. Each try gets at most the per-try timeout and never
/// runs past the deadline, and no sleep crosses it, so the verdict comes at most one per-try
/// timeout after the deadline (in practice at the deadline). `on_attempt` sees each try as
/// it ends (for the one-line-per-try output).
pub(crate) async fn run_to_verdict<F, Fut>(
    name: &str,
    phase: Phase,
    spec: &LoopSpec,
    mut try_once: F,
    rng: &mut impl Rng,
    mut on_attempt: impl FnMut(&Attempt),
) -> Verdict
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = TryOutcome>,
{
    let start = Instant::now();
    let left = || spec.deadline.map(|d| d.saturating_sub(start.elapsed()));
    let mut tally = Tally::default();
    let finish = |tally: Tally, end: End| verdict(name, phase, spec, start, tally, end);
    if !spec.initial_delay.is_zero() && !sleep_within(spec.initial_delay, left()).await {
        return finish(tally, End::Deadline);
    }
    loop {
        let budget = try_budget(spec.timeout, left());
        // A try with almost no time left could only time out, and its "timed out after
        // 2ms" would hide the real reason of the tries before it.
        if budget < MIN_TRY && !tally.attempts.is_empty() {
            return finish(tally, End::Deadline);
        }
        let at = start.elapsed();
        let outcome = try_within(budget, try_once(budget)).await;
        let attempt = Attempt {
            number: u32::try_from(tally.attempts.len() + 1).unwrap_or(u32::MAX),
            at_s: at.as_secs_f64(),
            status: outcome.status,
            latency_ms: millis(outcome.latency),
            failure: outcome.failure.map(|f| f.message),
        };
        on_attempt(&attempt);
        if let Some(end) = tally.count(attempt, spec) {
            return finish(tally, end);
        }
        let draw = if spec.backoff.jitter > 0.0 {
            rng.random::<f64>()
        } else {
            0.0
        };
        if !sleep_within(spec.backoff.wait(tally.failures_in_row, draw), left()).await {
            return finish(tally, End::Deadline);
        }
    }
}

/// The tries of a policy so far, and the counts that decide when it ends.
#[derive(Default)]
struct Tally {
    attempts: Vec<Attempt>,
    last_failure: Option<String>,
    passes_in_row: u32,
    failures_in_row: u32,
    failed: u32,
}

impl Tally {
    /// Counts a try; `Some` when it ends the policy.
    fn count(&mut self, attempt: Attempt, spec: &LoopSpec) -> Option<End> {
        let passed = attempt.failure.is_none();
        if let Some(f) = &attempt.failure {
            self.last_failure = Some(f.clone());
        }
        self.attempts.push(attempt);
        if passed {
            self.passes_in_row += 1;
            self.failures_in_row = 0;
            (self.passes_in_row >= spec.success_threshold).then_some(End::Healthy)
        } else {
            self.passes_in_row = 0;
            self.failures_in_row += 1;
            self.failed += 1;
            (self.failed > spec.retries).then_some(End::Retries)
        }
    }
}

/// The verdict of a policy that ended so; an unhealthy one says why, by its last failure.
fn verdict(
    name: &str,
    phase: Phase,
    spec: &LoopSpec,
    start: Instant,
    tally: Tally,
    end: End,
) -> Verdict {
    let reason = match end {
        End::Healthy => None,
        _ => Some(tally.last_failure.unwrap_or_else(|| match spec.deadline {
            Some(d) => format!(
                "deadline of {} reached before {} passing tr{} in a row",
                format_duration(d),
                spec.success_threshold,
                if spec.success_threshold == 1 {
                    "y"
                } else {
                    "ies"
                }
            ),
            None => "no passing try".to_owned(),
        })),
    };
    Verdict {
        result: PolicyResult {
            policy: name.to_owned(),
            phase,
            healthy: end == End::Healthy,
            reason,
            attempts: tally.attempts,
            elapsed_s: start.elapsed().as_secs_f64(),
        },
        end,
    }
}

/// Sleeps `wait`, cut to what is `left` before the deadline; false, without sleeping, when
/// the deadline leaves no room for it.
async fn sleep_within(wait: Duration, left: Option<Duration>) -> bool {
    match next_sleep(wait, left) {
        Some(d) => {
            tokio::time::sleep(d).await;
            true
        }
        None => false,
    }
}

/// Runs a try within `budget`, a timeout when it takes longer. The try enforces its own
/// timeout; this one backs it up, so no try implementation can hold a loop past its budget.
fn try_within(
    budget: Duration,
    try_once: impl Future<Output = TryOutcome>,
) -> impl Future<Output = TryOutcome> {
    let timed = tokio::time::timeout(budget, try_once);
    async move {
        match timed.await {
            Ok(outcome) => outcome,
            Err(_) => TryOutcome {
                status: None,
                latency: budget,
                failure: Some(Failure::new(
                    FailureKind::Timeout,
                    format!("timed out after {}", format_duration(budget)),
                )),
            },
        }
    }
}

/// Shortest wait between during-load probes, so a zero interval cannot spin.
const MIN_PROBE_INTERVAL: Duration = Duration::from_millis(10);

/// Probes every `interval` (after the initial delay) until `stop` turns true, counting
/// passes, latency and outages (`failure_threshold` failures in a row count as one outage,
/// however long it lasts). A probe in flight when `stop` comes is dropped, not counted.
/// Latency statistics cover probes that got an answer.
pub(crate) async fn probe_until<F, Fut>(
    name: &str,
    spec: &LoopSpec,
    mut try_once: F,
    mut stop: watch::Receiver<bool>,
) -> ProbeStats
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = TryOutcome>,
{
    let mut stats = ProbeStats {
        policy: name.to_owned(),
        probes: 0,
        successes: 0,
        outages: 0,
        mean_latency_ms: None,
        max_latency_ms: None,
        last_failure: None,
    };
    let mut answered = 0u64;
    let mut latency_sum = 0.0;
    let mut failures_in_row = 0u32;
    let stopped = async move {
        // A dropped sender also means the load is over.
        let _ = stop.wait_for(|&s| s).await;
    };
    tokio::pin!(stopped);
    let probing = async {
        tokio::time::sleep(spec.initial_delay).await;
        let mut ticker = tokio::time::interval(spec.backoff.interval.max(MIN_PROBE_INTERVAL));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let outcome = try_within(spec.timeout, try_once(spec.timeout)).await;
            stats.probes += 1;
            if outcome.status.is_some() {
                let ms = millis(outcome.latency);
                answered += 1;
                latency_sum += ms;
                stats.max_latency_ms = Some(stats.max_latency_ms.map_or(ms, |m: f64| m.max(ms)));
                stats.mean_latency_ms = Some(latency_sum / answered as f64);
            }
            match outcome.failure {
                None => {
                    stats.successes += 1;
                    failures_in_row = 0;
                }
                Some(f) => {
                    failures_in_row += 1;
                    if failures_in_row == spec.failure_threshold {
                        stats.outages += 1;
                    }
                    stats.last_failure = Some(f.message);
                }
            }
        }
    };
    tokio::select! {
        () = &mut stopped => {}
        () = probing => {}
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn spec() -> LoopSpec {
        LoopSpec {
            timeout: ms(1000),
            initial_delay: Duration::ZERO,
            backoff: Backoff {
                interval: ms(100),
                factor: 1.0,
                max: ms(30_000),
                jitter: 0.0,
            },
            retries: 3,
            deadline: None,
            success_threshold: 1,
            failure_threshold: 3,
        }
    }

    /// A scripted try: each call takes the next (duration, pass) and sleeps that long.
    fn script(
        steps: &[(u64, bool)],
    ) -> impl FnMut(Duration) -> std::pin::Pin<Box<dyn Future<Output = TryOutcome> + Send>> {
        let steps = Arc::new(Mutex::new(steps.iter().copied().collect::<VecDeque<_>>()));
        move |_budget| {
            let (took, pass) = steps.lock().unwrap().pop_front().unwrap_or((0, false));
            Box::pin(async move {
                tokio::time::sleep(ms(took)).await;
                TryOutcome {
                    status: Some(if pass { 200 } else { 503 }),
                    latency: ms(took),
                    failure: (!pass)
                        .then(|| Failure::new(FailureKind::Status, "HTTP 503, expected 200")),
                }
            })
        }
    }

    async fn verdict(spec: &LoopSpec, steps: &[(u64, bool)]) -> Verdict {
        let mut rng = SmallRng::seed_from_u64(1);
        run_to_verdict(
            "ready",
            Phase::Standalone,
            spec,
            script(steps),
            &mut rng,
            |_| {},
        )
        .await
    }

    fn starts(v: &Verdict) -> Vec<u64> {
        v.result
            .attempts
            .iter()
            .map(|a| (a.at_s * 1000.0).round() as u64)
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn passes_after_retries() {
        let v = verdict(&spec(), &[(10, false), (10, false), (10, true)]).await;
        assert_eq!(v.end, End::Healthy);
        assert!(v.result.healthy && v.result.reason.is_none());
        assert_eq!(starts(&v), [0, 110, 220]);
    }

    #[tokio::test(start_paused = true)]
    async fn no_sliver_try_hides_the_real_reason_at_the_deadline() {
        // Tries take 90 ms, then 100 ms of wait: the fifth would start 15 ms before the
        // deadline, could only time out, and would replace the 503 as the reason.
        let s = LoopSpec {
            deadline: Some(ms(775)),
            retries: 100,
            ..spec()
        };
        let v = verdict(&s, &[(90, false); 10]).await;
        assert_eq!(v.end, End::Deadline);
        assert_eq!(starts(&v), [0, 190, 380, 570]);
        assert_eq!(v.result.reason.as_deref(), Some("HTTP 503, expected 200"));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_retries_plus_one_tries() {
        let v = verdict(&spec(), &[(0, false); 10]).await;
        assert_eq!(v.end, End::Retries);
        assert_eq!(v.result.attempts.len(), 4);
        assert_eq!(v.result.reason.as_deref(), Some("HTTP 503, expected 200"));
    }

    #[tokio::test(start_paused = true)]
    async fn initial_delay_and_exponential_backoff() {
        let s = LoopSpec {
            initial_delay: ms(50),
            backoff: Backoff {
                interval: ms(100),
                factor: 2.0,
                max: ms(300),
                jitter: 0.0,
            },
            retries: 5,
            ..spec()
        };
        let v = verdict(&s, &[(0, false); 10]).await;
        // Waits 100, 200, 300 (capped), 300, 300.
        assert_eq!(starts(&v), [50, 150, 350, 650, 950, 1250]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pass_resets_the_backoff_and_thresholds_count_in_a_row() {
        let s = LoopSpec {
            backoff: Backoff {
                interval: ms(100),
                factor: 2.0,
                max: ms(10_000),
                jitter: 0.0,
            },
            success_threshold: 2,
            retries: 10,
            ..spec()
        };
        let v = verdict(
            &s,
            &[
                (0, false),
                (0, false),
                (0, true),
                (0, false),
                (0, true),
                (0, true),
            ],
        )
        .await;
        assert_eq!(v.end, End::Healthy);
        assert_eq!(starts(&v), [0, 100, 300, 400, 500, 600]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_caps_retries_and_sleeps() {
        let s = LoopSpec {
            deadline: Some(ms(350)),
            retries: 100,
            ..spec()
        };
        let v = verdict(&s, &[(0, false); 100]).await;
        assert_eq!(v.end, End::Deadline);
        // 0, 100, 200, 300; the next would start at 400, past the deadline: give up at 300.
        assert_eq!(starts(&v), [0, 100, 200, 300]);
        assert!(v.result.elapsed_s < 0.301, "{}", v.result.elapsed_s);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_try_is_cut_at_the_deadline() {
        let s = LoopSpec {
            deadline: Some(ms(1500)),
            timeout: ms(1000),
            retries: 100,
            ..spec()
        };
        // Every try stalls far longer than its timeout.
        let v = verdict(&s, &[(60_000, false); 10]).await;
        assert_eq!(v.end, End::Deadline);
        // Try 1: 0–1000 (per-try timeout); try 2 at 1100, cut at 1500 (the deadline).
        assert_eq!(starts(&v), [0, 1100]);
        assert_eq!(v.result.attempts[1].latency_ms.round(), 400.0);
        assert_eq!(v.result.reason.as_deref(), Some("timed out after 400ms"));
        let elapsed = v.result.elapsed_s;
        assert!((1.5..1.51).contains(&elapsed), "{elapsed}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_initial_delay_past_the_deadline_never_tries() {
        let s = LoopSpec {
            initial_delay: ms(500),
            deadline: Some(ms(400)),
            ..spec()
        };
        let v = verdict(&s, &[(0, true)]).await;
        assert_eq!(v.end, End::Deadline);
        assert!(v.result.attempts.is_empty());
        assert_eq!(
            v.result.reason.as_deref(),
            Some("deadline of 400ms reached before 1 passing try in a row")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_is_random_but_bounded() {
        let s = LoopSpec {
            backoff: Backoff {
                interval: ms(100),
                factor: 1.0,
                max: ms(30_000),
                jitter: 0.5,
            },
            retries: 20,
            ..spec()
        };
        let v = verdict(&s, &[(0, false); 30]).await;
        let at = starts(&v);
        let gaps: Vec<u64> = at.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| (100..=150).contains(g)), "{gaps:?}");
        assert!(gaps.iter().any(|g| *g != gaps[0]), "{gaps:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn probes_count_passes_and_outages() {
        let s = LoopSpec {
            failure_threshold: 2,
            ..spec()
        };
        let steps = [
            (5, true),
            (5, false),
            (5, false),
            (5, false),
            (7, true),
            (5, false),
            (5, true),
        ];
        let (tx, rx) = watch::channel(false);
        let probing = tokio::spawn({
            let s = s.clone();
            async move { probe_until("live", &s, script(&steps), rx).await }
        });
        // Seven probes at 0, 100, …, 600; stop in the middle of the eighth interval.
        tokio::time::sleep(ms(650)).await;
        tx.send(true).unwrap();
        let stats = probing.await.unwrap();
        assert_eq!(stats.probes, 7);
        assert_eq!(stats.successes, 3);
        assert_eq!(stats.outages, 1);
        assert_eq!(stats.max_latency_ms, Some(7.0));
        assert_eq!(stats.availability(), Some(3.0 / 7.0));
        assert_eq!(
            stats.last_failure.as_deref(),
            Some("HTTP 503, expected 200")
        );
    }
}
