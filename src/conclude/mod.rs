//! The conclusion stage: from what a run produced (the engine's outcome, the health results,
//! whether load was sent) and the compiled plan to a [`Summary`], with the SLA verdicts, the
//! implicit gates and the run's verdict decided here. Reports render a `Summary` and nothing
//! else, so everything that judges a run lives here (and in `sla`, which it calls): at the
//! end of `loadplan run`, and during it for `abort_on_fail` ([`AbortCheck`]).

mod abort;
mod baseline;
mod build;
#[cfg(test)]
pub(crate) use build::stats;
#[cfg(test)]
pub(crate) mod tests;

pub(crate) use abort::AbortCheck;
pub(crate) use baseline::{Against, info as baseline_info};
pub(crate) use build::{Head, assemble};

use crate::engine::{RunOutcome, StopReason};
use crate::exit::Exit;
use crate::health::HealthResults;
use crate::plan::CompiledPlan;
use crate::report::Summary;

/// What a finished run produced, before it is judged.
#[derive(Debug)]
pub(crate) struct RunResult {
    /// What the engine measured (empty when no load was sent).
    pub outcome: RunOutcome,
    /// Health checks before, during and after the load.
    pub health: HealthResults,
    /// Why no load was sent, when none was (the health gate failed, or a signal came
    /// first): the verdicts then say so instead of judging empty statistics.
    pub not_sent: Option<String>,
    /// The rendered base URL the run used.
    pub base_url: String,
}

impl RunResult {
    /// The exit code the stop reason calls for (verdicts aside: see [`Summary::exit`]).
    pub(crate) fn exit(&self) -> Exit {
        exit_for(&self.outcome.stop)
    }
}

/// The exit code a stop reason calls for.
pub(crate) fn exit_for(stop: &StopReason) -> Exit {
    match stop {
        StopReason::Completed => Exit::Passed,
        StopReason::Interrupted => Exit::Interrupted,
        StopReason::Terminated => Exit::Terminated,
        StopReason::Aborted(_) | StopReason::NoLogin(_) => Exit::Failed,
    }
}

/// Judges a finished run: the plan's assertions (relative ones against `baseline`) and the
/// implicit gates over what was measured (all SKIPPED when no load was sent), then the
/// summary every report renders.
pub(crate) fn conclude(
    plan: &CompiledPlan,
    result: &RunResult,
    baseline: Option<&crate::compare::Run>,
) -> Summary {
    let endpoints: Vec<String> = plan.endpoints.iter().map(|e| e.name.clone()).collect();
    let metrics = &result.outcome.metrics;
    let against = baseline.map(baseline::Against);
    let mut verdicts = crate::sla::verdicts(
        &plan.sla,
        &endpoints,
        metrics,
        &result.health,
        against.as_ref().map(|b| b as &dyn crate::sla::Baseline),
    );
    if let Some(why) = &result.not_sent {
        // The gate or the signal is the verdict, not the empty statistics.
        for v in &mut verdicts {
            v.status = crate::sla::Status::Skipped;
            v.note = Some(format!("no load was sent: {why}"));
        }
    }
    let baseline = baseline.map(|b| baseline::info(b, &endpoints));
    build::summary(plan, result, verdicts, baseline)
}
