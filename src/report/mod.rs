//! Reports of a run: the terminal summary, live progress, and the files written to
//! `--out`. Everything here reads a finished [`Report`]; nothing reaches back into the plan
//! file or the engine.

pub mod json;
pub mod progress;
pub mod terminal;

use std::path::Path;

use crate::engine::{RunOutcome, StopReason};
use crate::exit::Exit;
use crate::plan::CompiledPlan;
use crate::plan::model::{OutputFormat, Outputs};

/// A finished run, as every report sees it.
#[derive(Debug)]
pub struct Report {
    /// Plan name.
    pub plan_name: String,
    /// Plan file.
    pub plan_file: String,
    /// What the engine measured.
    pub outcome: RunOutcome,
    /// Health checks before, during and after the load.
    pub health: crate::health::HealthResults,
}

impl Report {
    /// Gathers a run's results.
    pub fn new(plan: &CompiledPlan, outcome: RunOutcome) -> Self {
        Report {
            plan_name: plan.plan.name.clone(),
            plan_file: plan.file.clone(),
            outcome,
            health: crate::health::HealthResults::default(),
        }
    }

    /// The exit code the results call for.
    pub fn exit(&self) -> Exit {
        match self.outcome.stop {
            StopReason::Completed => Exit::Passed,
            StopReason::Interrupted => Exit::Interrupted,
            StopReason::Terminated => Exit::Terminated,
            StopReason::Aborted(_) | StopReason::NoLogin(_) => Exit::Failed,
        }
    }
}

/// Writes every report file the plan asks for into `dir`.
pub fn write_all(report: &Report, outputs: &Outputs, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    // summary.json is always written: `loadplan report` and merges start from it.
    let _ = outputs.formats.contains(&OutputFormat::Json);
    json::write(report, &dir.join("summary.json"))?;
    Ok(())
}
