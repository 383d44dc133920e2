//! `junit.xml` (quick-junit): one test suite of SLA verdicts and one of health checks, so CI
//! systems show each assertion as a test. A failure's message holds the measured value and
//! the threshold. No timestamps: the file renders the same from a saved summary. Both JUnit
//! files (this one and `health-junit.xml`) go through [`to_xml`], which keeps them valid
//! against Jenkins' `junit-4.xsd`, the schema CI test views follow.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::ReportError;
use super::summary::{StopKind, Summary};
use crate::sla::Status;

/// Renders `junit.xml`.
pub(crate) fn render(summary: &Summary) -> Result<String, ReportError> {
    let mut report = Report::new(format!("loadplan {}", summary.plan.name));
    report.add_test_suite(run_suite(summary));
    report.add_test_suite(sla_suite(summary));
    report.add_test_suite(health_suite(summary));
    to_xml(&report)
}

/// The run itself is a test: an interrupted, aborted or loginless run shows as such in a CI
/// test view, not only as missing data in the verdicts.
fn run_suite(summary: &Summary) -> TestSuite {
    let mut run = TestSuite::new("run");
    // What the tables cannot say (a partial merge, a shard's deferred verdict, dropped
    // iterations) reaches CI's test view too.
    let notices = super::format::notices(summary);
    if !notices.is_empty() {
        run.set_system_out(notices.join("\n"));
    }
    let status = match summary.run.stop {
        StopKind::Completed => TestCaseStatus::success(),
        stop => {
            let kind = if stop == StopKind::Interrupted || stop == StopKind::Terminated {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut s = not_passed(kind, "run", super::format::headline(summary));
            if let Some(reason) = &summary.run.stop_reason {
                s.set_description(reason.clone());
            }
            s
        }
    };
    run.add_test_case(test_case(
        summary,
        "run",
        "the run completes".into(),
        status,
    ));
    run
}

fn sla_suite(summary: &Summary) -> TestSuite {
    let mut sla = TestSuite::new("sla");
    for v in &summary.verdicts {
        let status = match v.status {
            Status::Pass => TestCaseStatus::success(),
            Status::Fail => not_passed(
                NonSuccessKind::Failure,
                "sla",
                format!("{} [{}]: {}", v.name, v.scope, v.explain()),
            ),
            Status::Skipped => {
                let mut s = TestCaseStatus::skipped();
                // The reason is the element's text: junit-4.xsd types `<skipped>` as a plain
                // string, so a `message` attribute would not validate.
                s.set_description(v.note.clone().unwrap_or_else(|| "skipped".into()));
                s
            }
        };
        let mut case = test_case(summary, "sla", format!("{} [{}]", v.name, v.scope), status);
        case.set_system_out(format!(
            "{}\n{}",
            v.explain(),
            step_lines(summary, &v.scope)
        ));
        sla.add_test_case(case);
    }
    sla
}

/// The steps of the flow named `scope`, a line each with their figures, for the output of
/// an assertion on the flow: a CI test view then shows which step made it fail. Empty for an
/// endpoint of one request and for `aggregate`. Steps are not test cases of their own: a
/// test is an assertion, and a step has none (its figures count in its flow's), so the test
/// count and the pass/fail trend Jenkins and GitLab draw stay those of the plan's SLA.
fn step_lines(summary: &Summary, scope: &str) -> String {
    let ms = |p: Option<f64>| p.map_or_else(|| "-".to_owned(), super::format::ms_text);
    super::format::endpoint_rows(summary)
        .skip_while(|r| r.step || r.name != scope)
        .skip(1)
        .take_while(|r| r.step)
        .map(|r| {
            let s = r.stats;
            let p = s.latency.as_ref().map(|l| &l.percentiles);
            format!(
                "  └ {}: {} requests, {} failed, p50 {}, p95 {}, p99 {}\n",
                r.name,
                s.requests,
                s.failures,
                ms(p.and_then(|p| p.p50)),
                ms(p.and_then(|p| p.p95)),
                ms(p.and_then(|p| p.p99)),
            )
        })
        .collect()
}

/// Health checks before and after the load, then the probes during it.
fn health_suite(summary: &Summary) -> TestSuite {
    let mut health = TestSuite::new("health");
    for h in &summary.health.results {
        let status = if h.healthy {
            TestCaseStatus::success()
        } else {
            not_passed(
                NonSuccessKind::Failure,
                "health",
                format!(
                    "{} unhealthy after {} tries: {}",
                    h.policy,
                    h.attempts.len(),
                    h.reason.as_deref().unwrap_or("no passing try")
                ),
            )
        };
        let phase = super::format::phase(h.phase);
        let name = format!("{} ({phase})", h.policy);
        health.add_test_case(test_case(summary, "health", name, status));
    }
    for p in &summary.health.probes {
        let status = if p.outages == 0 {
            TestCaseStatus::success()
        } else {
            not_passed(
                NonSuccessKind::Failure,
                "health",
                format!(
                    "{} down {} times during the load ({}/{} probes passed): {}",
                    p.policy,
                    p.outages,
                    p.successes,
                    p.probes,
                    p.last_failure.as_deref().unwrap_or("no reason recorded")
                ),
            )
        };
        let mut case = test_case(summary, "health", format!("{} (during)", p.policy), status);
        case.set_system_out(format!(
            "{}/{} probes passed, {} outages\n",
            p.successes, p.probes, p.outages
        ));
        health.add_test_case(case);
    }
    health
}

/// A failure or an error, its type the suite's name.
fn not_passed(kind: NonSuccessKind, suite: &str, message: String) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(kind);
    s.set_message(message).set_type(suite);
    s
}

/// A test case, its class `<plan>.<suite>`.
fn test_case(summary: &Summary, suite: &str, name: String, status: TestCaseStatus) -> TestCase {
    let mut case = TestCase::new(name, status);
    case.set_classname(format!("{}.{suite}", summary.plan.name));
    case
}

/// Serializes a JUnit report so that it validates against Jenkins' `junit-4.xsd`.
pub(crate) fn to_xml(report: &Report) -> Result<String, ReportError> {
    Ok(without_root_skipped(report.to_string()?))
}

/// Removes the `skipped="N"` attribute of the root `<testsuites>` element. quick-junit 0.8
/// always writes it and has no option to leave it out, but junit-4.xsd allows `skipped` only
/// on `<testsuite>`, where quick-junit writes it too, so no count is lost. quick-xml escapes
/// `"` and `>` in attribute values, so the first `>` ends the root tag and ` skipped="` inside
/// it can only be that attribute.
fn without_root_skipped(mut xml: String) -> String {
    const ATTRIBUTE: &str = " skipped=\"";
    let Some(start) = xml.find("<testsuites") else {
        return xml;
    };
    let end = xml[start..].find('>').map_or(xml.len(), |i| start + i);
    if let Some(at) = xml[start..end].find(ATTRIBUTE) {
        let at = start + at;
        let value = at + ATTRIBUTE.len();
        if let Some(close) = xml[value..end].find('"') {
            xml.replace_range(at..=value + close, "");
        }
    }
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The root tag of a serialized report.
    fn root_tag(xml: &str) -> &str {
        let start = xml.find("<testsuites").expect("a <testsuites> element");
        &xml[start..start + xml[start..].find('>').expect("a closed tag")]
    }

    #[test]
    fn testsuites_carries_no_skipped_attribute_but_each_testsuite_keeps_its_count() {
        let mut suite = TestSuite::new("sla");
        let mut skipped = TestCaseStatus::skipped();
        skipped.set_description("no samples");
        suite.add_test_case(TestCase::new("p95 [list_reports]", skipped));
        suite.add_test_case(TestCase::new(
            "p95 [list_claims]",
            TestCaseStatus::success(),
        ));
        // A name that looks like the attribute must survive: it is escaped, not matched.
        let mut report = Report::new(r#"plan skipped="1" <x>"#);
        report.add_test_suite(suite);

        let xml = to_xml(&report).unwrap();
        assert_eq!(
            root_tag(&xml),
            r#"<testsuites name="plan skipped=&quot;1&quot; &lt;x&gt;" tests="2" failures="0" errors="0""#,
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testsuite name="sla" tests="2" skipped="1""#),
            "{xml}"
        );
        assert!(xml.contains("<skipped>no samples</skipped>"), "{xml}");
    }
}
