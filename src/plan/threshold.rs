//! SLA thresholds: the unit each metric is compared in, and the parse of a threshold as
//! written (`500ms`, `5%`, `100/s`, `0`). `validate` reports a bad threshold with it and
//! `sla` compares with its value, so the two can never disagree on what a threshold means.

use super::model::{Scalar, SlaMetric};
use super::units::{HumanDuration, Percent, Rate};

/// A parsed threshold, in the metric's own unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Threshold {
    /// A latency.
    Duration(std::time::Duration),
    /// A share, as a fraction (0.05 for `5%`).
    Fraction(f64),
    /// Requests per second.
    PerSecond(f64),
    /// A count.
    Count(u64),
}

/// Why a threshold does not fit its metric: the problem and what the metric takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ThresholdError {
    /// What is wrong, e.g. "expected a duration, found `5`".
    pub problem: String,
    /// What the metric is compared with, e.g. "a duration, like `500ms`".
    pub expected: &'static str,
}

/// Parses `value` as a threshold of `metric`: latencies take a duration, shares a
/// percentage, `rps` a rate or a number, `dropped_iterations` a whole number. A bare `5`
/// for `error_rate` would otherwise be read as 500%, or never be compared at all.
pub(crate) fn parse_threshold(
    metric: &SlaMetric,
    value: &Scalar,
) -> Result<Threshold, ThresholdError> {
    let text = |what: &str| match value {
        Scalar::Text(t) => Ok(t.as_str()),
        _ => Err(format!("expected {what}, found `{}`", value.to_text())),
    };
    let (result, expected) = match metric {
        SlaMetric::Percentile(_) | SlaMetric::Mean | SlaMetric::Min | SlaMetric::Max => (
            text("a duration").and_then(|t| {
                t.parse::<HumanDuration>()
                    .map(|d| Threshold::Duration(d.get()))
            }),
            "a duration, like `500ms`",
        ),
        SlaMetric::ErrorRate | SlaMetric::CheckPassRate | SlaMetric::HealthAvailability => (
            text("a percentage")
                .and_then(|t| t.parse::<Percent>().map(|p| Threshold::Fraction(p.get()))),
            "a percentage with a `%` sign, like `5%`",
        ),
        SlaMetric::Rps => (
            match value {
                Scalar::Integer(n) if *n >= 0 => Ok(Threshold::PerSecond(*n as f64)),
                Scalar::Float(f) if *f >= 0.0 => Ok(Threshold::PerSecond(*f)),
                _ => text("a rate")
                    .and_then(|t| t.parse::<Rate>().map(|r| Threshold::PerSecond(r.get()))),
            },
            "a rate like `100/s`, or a number of requests per second",
        ),
        SlaMetric::DroppedIterations => (
            match value {
                Scalar::Integer(n) if *n >= 0 => Ok(Threshold::Count(*n as u64)),
                _ => Err(format!(
                    "expected a whole number, found `{}`",
                    value.to_text()
                )),
            },
            "a whole number of iterations, like `0`",
        ),
    };
    result.map_err(|problem| ThresholdError { problem, expected })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn each_metric_reads_its_unit() {
        let text = |s: &str| Scalar::Text(s.into());
        assert_eq!(
            parse_threshold(&SlaMetric::Percentile(95.0), &text("500ms")),
            Ok(Threshold::Duration(Duration::from_millis(500)))
        );
        assert_eq!(
            parse_threshold(&SlaMetric::ErrorRate, &text("5%")),
            Ok(Threshold::Fraction(0.05))
        );
        assert_eq!(
            parse_threshold(&SlaMetric::Rps, &Scalar::Integer(20)),
            Ok(Threshold::PerSecond(20.0))
        );
        assert_eq!(
            parse_threshold(&SlaMetric::Rps, &text("120/m")),
            Ok(Threshold::PerSecond(2.0))
        );
        assert_eq!(
            parse_threshold(&SlaMetric::DroppedIterations, &Scalar::Integer(0)),
            Ok(Threshold::Count(0))
        );
        let err = parse_threshold(&SlaMetric::ErrorRate, &Scalar::Integer(5)).unwrap_err();
        assert_eq!(err.problem, "expected a percentage, found `5`");
    }
}
