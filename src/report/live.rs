//! What runs on each engine tick besides the progress line: the live `metrics.ndjson` and
//! the abort-on-fail SLA check. Owned by `loadplan run`, called from the engine's
//! `on_tick`.

use std::path::Path;
use std::time::Duration;

use super::ndjson::LiveWriter;
use crate::health::HealthResults;
use crate::metrics::Collector;
use crate::plan::CompiledPlan;
use crate::plan::model::{OutputFormat, SlaAssertion};

/// Per-tick work of one run.
#[derive(Debug)]
pub struct Live {
    ndjson: Option<LiveWriter>,
    abort_sla: Vec<SlaAssertion>,
    endpoints: Vec<String>,
}

impl Live {
    /// Prepares the live file (when the plan asks for `ndjson`; `dir` is created) and the
    /// abort-on-fail assertions.
    pub fn new(plan: &CompiledPlan, dir: &Path) -> anyhow::Result<Self> {
        let ndjson = if plan.plan.outputs.formats.contains(&OutputFormat::Ndjson) {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create `{}`: {e}", dir.display()))?;
            let path = dir.join(super::NDJSON_FILE);
            Some(
                LiveWriter::create(&path, crate::engine::rows(plan))
                    .map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", path.display()))?,
            )
        } else {
            None
        };
        Ok(Self {
            ndjson,
            abort_sla: plan
                .plan
                .sla
                .iter()
                .filter(|a| a.abort_on_fail)
                .cloned()
                .collect(),
            endpoints: plan.endpoints.iter().map(|e| e.name.clone()).collect(),
        })
    }

    /// One tick: appends the new second to the live file and checks the abort-on-fail
    /// assertions; returns the abort reason when one fails.
    pub fn tick(&mut self, collector: &Collector, elapsed: Duration) -> Option<String> {
        if let Some(w) = &mut self.ndjson
            && w.write_new(collector.series()).is_err()
        {
            // A live file is a convenience: the final render still writes it in full.
            self.ndjson = None;
        }
        if self.abort_sla.is_empty() {
            return None;
        }
        let due = self
            .abort_sla
            .iter()
            .any(|a| a.abort_delay.as_ref().is_none_or(|d| elapsed >= d.get()));
        if !due {
            return None;
        }
        // During-load health probes are the health loop's; until it hands them over the
        // abort check sees none (a `health_availability` abort waits for the final verdict).
        crate::sla::abort_reason(
            &self.abort_sla,
            &self.endpoints,
            &collector.snapshot(),
            &HealthResults::default(),
            elapsed,
        )
    }
}
