//! `loadplan run --baseline`: relative assertions judged against a saved run with
//! `compare`'s statistics, so an SLA's verdict and `loadplan compare` never disagree on
//! whether a figure regressed.

use std::time::Duration;

use crate::compare::{self, Figure, Run, Settings};
use crate::metrics::RowStats;
use crate::plan::compile::CompiledAssertion;
use crate::report::summary::{BaselineEndpoint, BaselineInfo};
use crate::sla::{Baseline, Judged};

/// The baseline run, as `sla` asks for it.
pub(crate) struct Against<'a>(pub &'a Run);

impl Baseline for Against<'_> {
    fn compare(
        &self,
        a: &CompiledAssertion,
        allowance: f64,
        endpoint: Option<&str>,
        new: &RowStats,
        duration: Duration,
    ) -> Result<Judged, String> {
        let summary = &self.0.summary;
        let base = match endpoint {
            None => &summary.total,
            Some(name) => summary
                .endpoints
                .iter()
                .find(|e| e.name == name)
                .ok_or_else(|| format!("`{name}` did not run in the baseline"))?,
        };
        let figure = Figure::of(&a.metric).ok_or_else(|| {
            format!(
                "`{}` cannot be compared with a baseline",
                String::from(a.metric.clone())
            )
        })?;
        let new = super::build::stats(new, None, duration);
        let change = compare::figure(
            figure,
            (base, self.0),
            (&new, duration.as_secs_f64()),
            &settings(a, allowance),
        )?;
        Ok(Judged {
            change,
            requests: [base.requests, new.requests],
        })
    }
}

/// The practical floor of `a`: its allowance, and its noise where the plan gives one.
fn settings(a: &CompiledAssertion, allowance: f64) -> Settings {
    let defaults = Settings::default();
    // The noise is in the metric's unit, and the floor reads only the part of the figure's
    // kind (ms for latencies, a share for the error rate), so it can stand for both.
    let noise = a.baseline_noise.as_ref().map(|(raw, _)| *raw);
    Settings {
        threshold: allowance,
        noise_ms: noise.unwrap_or(defaults.noise_ms),
        error_noise: noise.unwrap_or(defaults.error_noise),
        fail_on: Vec::new(),
        allow_plan_change: false,
    }
}

/// What a summary records of its baseline: which run, and the latencies of the `endpoints`
/// (this run's, in its order) that the baseline ran too.
pub(crate) fn info(run: &Run, endpoints: &[String]) -> BaselineInfo {
    BaselineInfo {
        run: compare::side(run),
        endpoints: endpoints
            .iter()
            .filter_map(|name| {
                let e = run.summary.endpoints.iter().find(|e| &e.name == name)?;
                Some(BaselineEndpoint {
                    name: name.clone(),
                    histogram: e.histogram.clone(),
                })
            })
            .collect(),
    }
}
