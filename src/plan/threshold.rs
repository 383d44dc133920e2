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
    /// What was likely meant: `500ms` for a latency's `500` (k6 counts milliseconds), `1%`
    /// for an error rate's `0.01` (k6's `rate<0.01`), `30s` for `30 sec`.
    pub meant: Option<String>,
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
    result.map_err(|problem| {
        let meant = meant(metric, value);
        // The unit's parser already says what a slip meant; the hint says it once.
        let problem = match &meant {
            Some(m) => problem
                .strip_suffix(&format!(": did you mean `{m}`?"))
                .map_or_else(|| problem.clone(), str::to_owned),
            None => problem,
        };
        ThresholdError {
            problem,
            expected,
            meant,
        }
    })
}

/// The threshold a refused one likely meant, in the metric's unit.
fn meant(metric: &SlaMetric, value: &Scalar) -> Option<String> {
    let latency = matches!(
        metric,
        SlaMetric::Percentile(_) | SlaMetric::Mean | SlaMetric::Min | SlaMetric::Max
    );
    let share = matches!(
        metric,
        SlaMetric::ErrorRate | SlaMetric::CheckPassRate | SlaMetric::HealthAvailability
    );
    match value {
        Scalar::Integer(_) | Scalar::Float(_) if latency => Some(format!("{}ms", value.to_text())),
        Scalar::Text(t) if latency => super::units::duration_for_words(t),
        Scalar::Text(t) if share => super::units::percent_for_words(t),
        Scalar::Text(t) if *metric == SlaMetric::Rps => super::units::rate_for_words(t),
        Scalar::Float(f) if share && (0.0..=1.0).contains(f) => {
            Some(format!("{}%", percent_text(*f)))
        }
        Scalar::Integer(n) if share && (0..=100).contains(n) => Some(format!("{n}%")),
        _ => None,
    }
}

/// A fraction as a percentage without float noise: `0.01` → `1`, `0.999` → `99.9`.
fn percent_text(fraction: f64) -> String {
    let text = format!("{:.4}", fraction * 100.0);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
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

    #[test]
    fn a_refused_threshold_says_what_it_likely_meant() {
        let meant =
            |metric: SlaMetric, value: Scalar| parse_threshold(&metric, &value).unwrap_err().meant;
        let p95 = || SlaMetric::Percentile(95.0);
        assert_eq!(meant(p95(), Scalar::Integer(500)).as_deref(), Some("500ms"));
        assert_eq!(meant(p95(), Scalar::Float(1.5)).as_deref(), Some("1.5ms"));
        assert_eq!(
            meant(p95(), Scalar::Text("2 sec".into())).as_deref(),
            Some("2s")
        );
        assert_eq!(
            meant(SlaMetric::ErrorRate, Scalar::Float(0.01)).as_deref(),
            Some("1%")
        );
        assert_eq!(
            meant(SlaMetric::CheckPassRate, Scalar::Float(0.999)).as_deref(),
            Some("99.9%")
        );
        assert_eq!(
            meant(SlaMetric::ErrorRate, Scalar::Integer(5)).as_deref(),
            Some("5%")
        );
        assert_eq!(
            meant(SlaMetric::ErrorRate, Scalar::Text("1 percent".into())).as_deref(),
            Some("1%")
        );
        assert_eq!(
            meant(SlaMetric::Rps, Scalar::Text("100/sec".into())).as_deref(),
            Some("100/s")
        );
        // What was meant is said once, in the hint, not in the problem too.
        let err = parse_threshold(&p95(), &Scalar::Text("500 millis".into())).unwrap_err();
        assert_eq!(err.problem, "`500 millis` is not a duration");
        assert_eq!(meant(SlaMetric::ErrorRate, Scalar::Integer(500)), None);
        assert_eq!(meant(p95(), Scalar::Text("fast".into())), None);
    }
}
