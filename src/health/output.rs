//! How health results read: the one line per try and the verdict line (terminal, for both
//! `loadplan health` and `loadplan run`), and the files of `loadplan health --out DIR`
//! (`health.json`, `health-junit.xml`). Reads results only; runs nothing.

use std::time::Duration;

use serde::Serialize;

use super::policy::{End, LoopSpec};
use super::{Attempt, HealthResults, Phase, PolicyResult};
use crate::plan::units::format_duration;
use crate::report::ReportError;

/// Version of the `health.json` format.
pub(crate) const HEALTH_FILE_VERSION: u32 = 1;

/// `try 2 +2.0s 200 3ms: $.version is 9.9.9, expected 1.4.2` (`ok` when the try passed, `---`
/// without an answer).
pub(crate) fn try_line(a: &Attempt) -> String {
    let status = a.status.map_or_else(|| "---".to_owned(), |s| s.to_string());
    let latency = format_duration(Duration::from_secs_f64(a.latency_ms.max(0.0) / 1000.0));
    format!(
        "try {} +{:.1}s {status} {latency}: {}",
        a.number,
        a.at_s,
        crate::report::terminal::printable(a.failure.as_deref().unwrap_or("ok"))
    )
}

/// `health `ready` (before): up to 6 tries, 5s each, deadline 60s`
pub(crate) fn header_line(name: &str, phase: Phase, spec: &LoopSpec) -> String {
    let phase = match phase {
        Phase::Before => " (before the load)",
        Phase::After => " (after the load)",
        Phase::Standalone => "",
    };
    let tries = spec.retries.saturating_add(1);
    let deadline = spec.deadline.map_or_else(String::new, |d| {
        format!(", deadline {}", format_duration(d))
    });
    format!(
        "health `{name}`{phase}: up to {tries} tr{}, {} each{deadline}",
        if tries == 1 { "y" } else { "ies" },
        format_duration(spec.timeout)
    )
}

/// `healthy after 3 tries in 2.2s` or `unhealthy after 4 tries in 3.0s (deadline 3s
/// reached): REASON`.
pub(crate) fn verdict_line(r: &PolicyResult, end: End, spec: &LoopSpec) -> String {
    let n = r.attempts.len();
    let tries = format!(
        "{n} tr{} in {:.1}s",
        if n == 1 { "y" } else { "ies" },
        r.elapsed_s
    );
    if r.healthy {
        return format!("`{}` healthy after {tries}", r.policy);
    }
    let why = match (end, spec.deadline) {
        (End::Deadline, Some(d)) => format!(
            " (the {} deadline left no time for another try)",
            format_duration(d)
        ),
        (End::Retries, _) => format!(" ({} retries used)", spec.retries),
        _ => String::new(),
    };
    format!(
        "`{}` unhealthy after {tries}{why}: {}",
        r.policy,
        crate::report::terminal::printable(r.reason.as_deref().unwrap_or("unknown"))
    )
}

/// `health.json`: the results with an overall verdict.
#[derive(Debug, Serialize)]
struct HealthFile<'a> {
    version: u32,
    plan: &'a str,
    plan_file: &'a str,
    /// `healthy` or `unhealthy`.
    verdict: &'static str,
    healthy: bool,
    #[serde(flatten)]
    results: &'a HealthResults,
}

/// Writes `health.json` and `health-junit.xml` into `dir` (created if missing).
pub(crate) fn write_files(
    dir: &crate::report::folder::ResultsDir,
    plan: &str,
    plan_file: &str,
    results: &HealthResults,
) -> Result<(), ReportError> {
    let healthy = results.all_healthy();
    let file = HealthFile {
        version: HEALTH_FILE_VERSION,
        plan,
        plan_file,
        verdict: if healthy { "healthy" } else { "unhealthy" },
        healthy,
        results,
    };
    let mut json = serde_json::to_vec_pretty(&file)?;
    json.push(b'\n');
    let xml = junit(plan, results)?;
    let errors: Vec<String> = [
        ("health.json", &json[..]),
        ("health-junit.xml", xml.as_bytes()),
    ]
    .into_iter()
    .filter_map(|(name, bytes)| dir.write(name, bytes).err())
    .map(|e| e.to_string())
    .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ReportError::Write(errors))
    }
}

/// JUnit XML with one test case per policy run to a verdict; a failure carries the reason
/// as its message and every try as its text.
pub(crate) fn junit(plan: &str, results: &HealthResults) -> Result<String, ReportError> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new(format!("loadplan health: {plan}"));
    let mut total = Duration::ZERO;
    for r in &results.results {
        let status = if r.healthy {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(r.reason.clone().unwrap_or_default())
                .set_type("unhealthy")
                .set_description(
                    r.attempts
                        .iter()
                        .map(try_line)
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
            s
        };
        let mut case = TestCase::new(r.policy.clone(), status);
        let phase = serde_json::to_value(r.phase)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let elapsed = Duration::try_from_secs_f64(r.elapsed_s).unwrap_or_default();
        total += elapsed;
        case.set_classname(format!("health.{phase}"))
            .set_time(elapsed)
            .set_assertions(r.attempts.len());
        suite.add_test_case(case);
    }
    suite.set_time(total);
    let mut report = Report::new("loadplan");
    report.set_time(total).add_test_suite(suite);
    crate::report::junit::to_xml(&report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::schedule::Backoff;

    fn attempt(number: u32, status: Option<u16>, failure: Option<&str>) -> Attempt {
        Attempt {
            number,
            at_s: 2.04,
            status,
            latency_ms: 3.0,
            failure: failure.map(str::to_owned),
        }
    }

    fn result(healthy: bool) -> PolicyResult {
        PolicyResult {
            policy: "ready".into(),
            phase: Phase::Standalone,
            healthy,
            reason: (!healthy).then(|| "$.version is 9.9.9, expected 1.4.2".into()),
            attempts: vec![
                attempt(1, Some(503), Some("HTTP 503, expected 200")),
                attempt(
                    2,
                    Some(200),
                    (!healthy).then_some("$.version is 9.9.9, expected 1.4.2"),
                ),
            ],
            elapsed_s: 3.0,
        }
    }

    fn spec() -> LoopSpec {
        LoopSpec {
            timeout: Duration::from_secs(1),
            initial_delay: Duration::ZERO,
            backoff: Backoff {
                interval: Duration::from_millis(100),
                factor: 1.0,
                max: Duration::from_secs(30),
                jitter: 0.0,
            },
            retries: 5,
            deadline: Some(Duration::from_secs(3)),
            success_threshold: 1,
            failure_threshold: 3,
        }
    }

    #[test]
    fn try_lines() {
        assert_eq!(
            try_line(&attempt(
                2,
                Some(200),
                Some("$.version is 9.9.9, expected 1.4.2")
            )),
            "try 2 +2.0s 200 3ms: $.version is 9.9.9, expected 1.4.2"
        );
        assert_eq!(
            try_line(&attempt(3, Some(200), None)),
            "try 3 +2.0s 200 3ms: ok"
        );
        assert_eq!(
            try_line(&attempt(1, None, Some("timed out after 1s"))),
            "try 1 +2.0s --- 3ms: timed out after 1s"
        );
    }

    #[test]
    fn header_and_verdict_lines() {
        assert_eq!(
            header_line("ready", Phase::Before, &spec()),
            "health `ready` (before the load): up to 6 tries, 1s each, deadline 3s"
        );
        assert_eq!(
            verdict_line(&result(true), End::Healthy, &spec()),
            "`ready` healthy after 2 tries in 3.0s"
        );
        assert_eq!(
            verdict_line(&result(false), End::Deadline, &spec()),
            "`ready` unhealthy after 2 tries in 3.0s (the 3s deadline left no time for another \
             try): \
             $.version is 9.9.9, expected 1.4.2"
        );
    }

    #[test]
    fn junit_has_one_case_per_policy() {
        let results = HealthResults {
            results: vec![result(true), result(false)],
            probes: Vec::new(),
        };
        let xml = junit("demo", &results).unwrap();
        assert_eq!(xml.matches("<testcase ").count(), 2, "{xml}");
        assert!(
            xml.contains(r#"tests="2""#) && xml.contains(r#"failures="1""#),
            "{xml}"
        );
        assert!(xml.contains("$.version is 9.9.9, expected 1.4.2"), "{xml}");
        // junit-4.xsd allows `skipped` on `<testsuite>` only.
        assert!(
            xml.contains(r#"<testsuites name="loadplan" tests="2" failures="1" errors="0""#),
            "{xml}"
        );
    }
}
