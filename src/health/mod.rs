//! Health checks: the result types that `loadplan health` and the run's before/during/after
//! phases report, and the entry points that produce them. The loops (tries, backoff,
//! deadline, thresholds) are in `policy`, their arithmetic in `schedule`, the HTTP try in
//! `probe` (`http`, and the engine's template and check code), the text and files in `output`,
//! and the `loadplan health` command that runs them alone in `cmd`.

pub(crate) mod output;
pub(crate) mod policy;
pub(crate) mod probe;
pub(crate) mod schedule;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::http::{HttpSettings, SettingsError};
use crate::plan::CompiledPlan;
use crate::plan::compile::CompiledHealth;
use crate::plan::model::HealthPhase;
use policy::{LoopSpec, Verdict};
use probe::Prober;

/// When a policy ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Phase {
    /// Before the load (a gate).
    Before,
    /// After the load (verification).
    After,
    /// Alone, from `loadplan health`.
    Standalone,
}

/// One try of a policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Attempt {
    /// 1-based try number.
    pub number: u32,
    /// Seconds since the policy started.
    pub at_s: f64,
    /// Answer status, when there was an answer.
    pub status: Option<u16>,
    /// Milliseconds the try took.
    pub latency_ms: f64,
    /// What failed (`version 9.9.9, expected 1.4.2`), or `None` when the try passed.
    pub failure: Option<String>,
}

/// The outcome of running one policy to a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct PolicyResult {
    /// Policy name.
    pub policy: String,
    /// When it ran.
    pub phase: Phase,
    /// Healthy: `success_threshold` consecutive passing tries before retries or deadline ran out.
    pub healthy: bool,
    /// Why it is unhealthy: the last failed try's reason, or the deadline.
    pub reason: Option<String>,
    /// Every try.
    pub attempts: Vec<Attempt>,
    /// Seconds from start to verdict.
    pub elapsed_s: f64,
}

/// During-load probes of one policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeStats {
    /// Policy name.
    pub policy: String,
    /// Probes sent.
    pub probes: u64,
    /// Probes that passed.
    pub successes: u64,
    /// Times `failure_threshold` consecutive probes failed (the target counted as down).
    pub outages: u64,
    /// Mean probe latency in milliseconds.
    pub mean_latency_ms: Option<f64>,
    /// Slowest probe in milliseconds.
    pub max_latency_ms: Option<f64>,
    /// The last failure's reason.
    pub last_failure: Option<String>,
}

impl ProbeStats {
    /// Share of passing probes (the `health_availability` metric); `None` without probes.
    pub fn availability(&self) -> Option<f64> {
        (self.probes > 0).then(|| self.successes as f64 / self.probes as f64)
    }
}

/// Every health result of a run or of `loadplan health`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct HealthResults {
    /// Policies run to a verdict (before, after, standalone), in order.
    pub results: Vec<PolicyResult>,
    /// During-load probes, per policy.
    pub probes: Vec<ProbeStats>,
}

impl HealthResults {
    /// Whether every policy that ran to a verdict is healthy.
    pub(crate) fn all_healthy(&self) -> bool {
        // A during-load outage (`failure_threshold` failed probes in a row) fails the run
        // as an unhealthy gate would.
        self.results.iter().all(|r| r.healthy) && self.probes.iter().all(|p| p.outages == 0)
    }
}

/// Milliseconds of a duration, as reports show them.
pub(crate) fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Why health checks could not run at all — not an unhealthy target.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// A policy whose request cannot even be built (a template that does not render, an
    /// invalid URL): an invalid plan.
    #[error("health policy `{policy}`: {message}")]
    NotRunnable {
        /// The policy.
        policy: String,
        /// Why.
        message: String,
    },
    /// The HTTP settings cannot be built.
    #[error(transparent)]
    Http(#[from] SettingsError),
    /// The log (stderr) cannot be written.
    #[error("cannot write the health log: {0}")]
    Log(#[from] std::io::Error),
}

impl HealthError {
    pub(crate) fn not_runnable(policy: &CompiledHealth, message: impl ToString) -> Self {
        HealthError::NotRunnable {
            policy: policy.name.clone(),
            message: message.to_string(),
        }
    }
}

/// Checks, before a run sends anything, that every policy the run will use can build its
/// request (templates render, the URL is valid).
pub(crate) fn preflight(
    plan: &CompiledPlan,
    base_url: &str,
    http: &HttpSettings,
) -> Result<(), HealthError> {
    let used: Vec<&CompiledHealth> = plan.health.iter().filter(|p| !p.run.is_empty()).collect();
    if used.is_empty() {
        return Ok(());
    }
    let globals = plan.globals.clone();
    for policy in used {
        let prober = Prober::new(plan, policy, base_url, http, globals.clone())?;
        prober
            .renders()
            .map_err(|e| HealthError::not_runnable(policy, e))?;
    }
    Ok(())
}

/// Runs one policy to a verdict, writing a header, one line per try and the verdict to
/// `log` when given.
pub(crate) async fn check<W: Write + ?Sized>(
    plan: &CompiledPlan,
    policy: &CompiledHealth,
    base_url: &str,
    http: &HttpSettings,
    phase: Phase,
    mut log: Option<&mut W>,
) -> Result<Verdict, HealthError> {
    let prober = Prober::new(plan, policy, base_url, http, plan.globals.clone())?;
    if let Err(e) = prober.renders() {
        return Err(HealthError::not_runnable(policy, e));
    }
    let spec = LoopSpec::of(policy, prober.timeout());
    if let Some(w) = log.as_mut() {
        writeln!(w, "{}", output::header_line(&policy.name, phase, &spec))?;
    }
    let mut rng = SmallRng::from_os_rng();
    let verdict = policy::run_to_verdict(
        &policy.name,
        phase,
        &spec,
        |budget| prober.try_once(budget),
        &mut rng,
        |a| {
            if let Some(w) = log.as_mut() {
                let _ = writeln!(w, "  {}", output::try_line(a));
            }
        },
    )
    .await;
    if let Some(w) = log.as_mut() {
        writeln!(
            w,
            "{}",
            output::verdict_line(&verdict.result, verdict.end, &spec)
        )?;
    }
    Ok(verdict)
}

/// Runs the plan's `before` or `after` policies in plan order, every one of them even when
/// one fails (the report shows them all).
pub(crate) async fn run_phase<W: Write + ?Sized>(
    plan: &CompiledPlan,
    base_url: &str,
    http: &HttpSettings,
    phase: HealthPhase,
    mut log: Option<&mut W>,
) -> Result<Vec<PolicyResult>, HealthError> {
    let as_phase = match phase {
        HealthPhase::Before => Phase::Before,
        _ => Phase::After,
    };
    let policies: Vec<&CompiledHealth> = plan
        .health
        .iter()
        .filter(|p| p.run.contains(&phase))
        .collect();
    if policies.is_empty() {
        return Ok(Vec::new());
    }
    let mut results = Vec::new();
    for policy in policies {
        let log = log.as_deref_mut();
        results.push(
            check(plan, policy, base_url, http, as_phase, log)
                .await?
                .result,
        );
    }
    Ok(results)
}

/// During-load probes running in background tasks; [`Probes::stop`] ends them.
#[derive(Debug)]
pub struct Probes {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<ProbeStats>>,
}

impl Probes {
    /// Starts a task per `during` policy (none without such policies). Probes use their own
    /// client and never touch the load's metrics, so they stay out of the endpoints'
    /// statistics.
    pub fn start(
        plan: &CompiledPlan,
        base_url: &str,
        http: &HttpSettings,
    ) -> Result<Probes, HealthError> {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        let during: Vec<&CompiledHealth> = plan
            .health
            .iter()
            .filter(|p| p.run.contains(&HealthPhase::During))
            .collect();
        if !during.is_empty() {
            let globals = plan.globals.clone();
            for policy in during {
                let prober = Arc::new(Prober::new(plan, policy, base_url, http, globals.clone())?);
                let spec = LoopSpec::of(policy, prober.timeout());
                let name = policy.name.clone();
                let stopped = stopped.clone();
                tasks.push(tokio::spawn(async move {
                    let try_once = |budget| {
                        let prober = Arc::clone(&prober);
                        async move { prober.try_once(budget).await }
                    };
                    policy::probe_until(&name, &spec, try_once, stopped).await
                }));
            }
        }
        Ok(Probes { stop, tasks })
    }

    /// Stops the probes (an in-flight one is dropped) and gathers their statistics.
    pub async fn stop(self) -> Vec<ProbeStats> {
        let _ = self.stop.send(true);
        let mut stats = Vec::new();
        for task in self.tasks {
            if let Ok(s) = task.await {
                stats.push(s);
            }
        }
        stats
    }
}
