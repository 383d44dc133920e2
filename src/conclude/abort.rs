//! `abort_on_fail`: the assertions checked on every engine tick, so a run that is already
//! failing stops early. The same evaluation as the final verdicts, over a snapshot.

use std::time::Duration;

use crate::health::HealthResults;
use crate::metrics::Collector;
use crate::plan::CompiledPlan;
use crate::plan::compile::CompiledAssertion;

/// The abort-on-fail assertions of one run.
#[derive(Debug)]
pub(crate) struct AbortCheck {
    sla: Vec<CompiledAssertion>,
    endpoints: Vec<String>,
}

impl AbortCheck {
    /// The plan's `abort_on_fail` assertions.
    pub(crate) fn new(plan: &CompiledPlan) -> Self {
        Self {
            sla: plan
                .sla
                .iter()
                .filter(|a| a.abort_on_fail)
                .cloned()
                .collect(),
            endpoints: plan.endpoints.iter().map(|e| e.name.clone()).collect(),
        }
    }

    /// One tick: the abort reason when an assertion past its `abort_delay` fails.
    pub(crate) fn tick(&self, collector: &Collector, elapsed: Duration) -> Option<String> {
        let due = self
            .sla
            .iter()
            .any(|a| a.abort_delay.is_none_or(|d| elapsed >= d));
        if !due {
            return None;
        }
        // During-load health probes are the health loop's; until it hands them over the
        // abort check sees none (a `health_availability` abort waits for the final verdict).
        crate::sla::abort_reason(
            &self.sla,
            &self.endpoints,
            &collector.snapshot(),
            &HealthResults::default(),
            elapsed,
        )
    }
}
