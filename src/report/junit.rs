//! `junit.xml` (quick-junit): one test suite of SLA verdicts and one of health checks, so CI
//! systems show each assertion as a test. A failure's message holds the measured value and
//! the threshold. No timestamps: the file renders the same from a saved summary.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::summary::{StopKind, Summary};
use crate::sla::Status;

/// Renders `junit.xml`.
pub fn render(summary: &Summary) -> anyhow::Result<String> {
    let mut report = Report::new(format!("loadplan {}", summary.plan.name));
    // The run itself is a test: an interrupted, aborted or loginless run shows as such in
    // a CI test view, not only as missing data in the verdicts.
    let mut run = TestSuite::new("run");
    let status = match summary.run.stop {
        StopKind::Completed => TestCaseStatus::success(),
        stop => {
            let kind = if stop == StopKind::Interrupted || stop == StopKind::Terminated {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut s = TestCaseStatus::non_success(kind);
            s.set_message(super::format::headline(summary))
                .set_type("run");
            if let Some(reason) = &summary.run.stop_reason {
                s.set_description(reason.clone());
            }
            s
        }
    };
    let mut case = TestCase::new("the run completes", status);
    case.set_classname(format!("{}.run", summary.plan.name));
    run.add_test_case(case);
    report.add_test_suite(run);
    let mut sla = TestSuite::new("sla");
    for v in &summary.verdicts {
        let status = match v.status {
            Status::Pass => TestCaseStatus::success(),
            Status::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!("{} [{}]: {}", v.name, v.scope, v.explain()))
                    .set_type("sla");
                s
            }
            Status::Skipped => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(v.note.clone().unwrap_or_else(|| "skipped".into()));
                s
            }
        };
        let mut case = TestCase::new(format!("{} [{}]", v.name, v.scope), status);
        case.set_classname(format!("{}.sla", summary.plan.name));
        case.set_system_out(format!("{}\n", v.explain()));
        sla.add_test_case(case);
    }
    report.add_test_suite(sla);
    let mut health = TestSuite::new("health");
    for h in &summary.health.results {
        let status = if h.healthy {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!(
                "{} unhealthy after {} tries: {}",
                h.policy,
                h.attempts.len(),
                h.reason.as_deref().unwrap_or("no passing try")
            ))
            .set_type("health");
            s
        };
        let phase = super::format::phase(h.phase);
        let mut case = TestCase::new(format!("{} ({phase})", h.policy), status);
        case.set_classname(format!("{}.health", summary.plan.name));
        health.add_test_case(case);
    }
    for p in &summary.health.probes {
        let status = if p.outages == 0 {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!(
                "{} down {} times during the load ({}/{} probes passed): {}",
                p.policy,
                p.outages,
                p.successes,
                p.probes,
                p.last_failure.as_deref().unwrap_or("no reason recorded")
            ))
            .set_type("health");
            s
        };
        let mut case = TestCase::new(format!("{} (during)", p.policy), status);
        case.set_classname(format!("{}.health", summary.plan.name));
        case.set_system_out(format!(
            "{}/{} probes passed, {} outages\n",
            p.successes, p.probes, p.outages
        ));
        health.add_test_case(case);
    }
    report.add_test_suite(health);
    Ok(report.to_string()?)
}
