//! The conclusion stage over deterministic traffic: the fixture run's summary is the golden
//! `tests/fixtures/reports/summary.json` that report tests render from, its verdicts, and
//! percentiles of known distributions from histogram to every report.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::build::stats;
use super::*;
use crate::engine::{RunOutcome, StopReason};
use crate::health::{Attempt, Phase, PolicyResult, ProbeStats};
use crate::metrics::{Collector, FailureKind, Registry, RowKey, RowStats, Sample};
use crate::report;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The committed fixture is what this stage builds from the fixture run; set
/// `LOADPLAN_UPDATE_FIXTURES=1` to rewrite it after a deliberate change (and review the diff).
#[test]
fn a_summary_names_its_target_without_credentials() {
    assert_eq!(fixture().plan.target, "https://claims.example/api");
}

#[test]
fn the_fixture_summary_is_current() {
    let built = fixture().to_json().unwrap();
    let path = root().join("tests/fixtures/reports/summary.json");
    if std::env::var_os("LOADPLAN_UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, &built).unwrap();
    }
    assert!(
        built == report::tests::FIXTURE,
        "tests/fixtures/reports/summary.json is stale: rerun with LOADPLAN_UPDATE_FIXTURES=1"
    );
}

/// The fixture run, without a baseline.
pub(crate) fn fixture() -> Summary {
    fixture_against(None)
}

/// Three seconds of made-up traffic, recorded through the real registry and collector with
/// explicit tick times, so every figure is the same on every machine; its relative
/// assertion judged against `baseline`.
fn fixture_against(baseline: Option<&crate::compare::Run>) -> Summary {
    let plan = crate::plan::load(&root().join("tests/fixtures/reports/plan.yaml"), &[])
        .unwrap_or_else(|d| panic!("fixture plan: {d:?}"));
    let mut plan = plan;
    // The path as a user would type it, not this machine's checkout path.
    plan.meta.file = "tests/fixtures/reports/plan.yaml".into();
    let rows = plan.rows.clone();
    let index = |name: &str| rows.iter().position(|r| r.name == name).unwrap();
    let (claims, dash, create, read, login) = (
        index("list_claims"),
        index("get_dashboard"),
        index("checkout/create"),
        index("checkout/read"),
        index("login"),
    );
    let registry = Arc::new(Registry::new(rows.clone()));
    let mut collector = Collector::new(registry.clone());
    registry.set_users(4);
    for second in 0..3u64 {
        if second == 0 {
            for _ in 0..4 {
                registry.record(&Sample::ok(login, ms(3)));
            }
        }
        for i in 0..40 {
            let mut s = Sample::ok(claims, ms((second * 40 + i) % 25 + 5));
            // Gzipped on the wire: Locust's content size is the decoded body.
            s.bytes_in = 1200;
            s.body_bytes = 3900;
            s.checks_passed = 1;
            if second == 1 && i == 0 {
                s.failure = Some((FailureKind::Status, "status 500, expected 200"));
                s.checks_passed = 0;
                s.checks_failed = 1;
            }
            registry.record(&s);
        }
        for i in 0..20 {
            registry.record(&Sample::ok(dash, ms(100 + i)));
        }
        for i in 0..10 {
            registry.record(&Sample::ok(dash, ms(700 + i * 3)));
        }
        for _ in 0..5 {
            // A POST: the one row that sends a body.
            let mut s = Sample::ok(create, ms(50));
            s.bytes_out = 640;
            s.bytes_in = 210;
            s.body_bytes = 210;
            registry.record(&s);
            registry.record(&Sample::ok(read, ms(20)));
        }
        if second == 2 {
            registry.record(&Sample::failed(
                read,
                ms(21),
                FailureKind::Check,
                "check `$.status` failed: expected \"open\", found \"paid\"",
            ));
            for _ in 0..2 {
                registry.record(&Sample::failed(
                    claims,
                    Duration::ZERO,
                    FailureKind::Template,
                    "template: undefined value `claim_idz`",
                ));
            }
        }
        collector.tick(Duration::from_secs(second + 1));
    }
    let mut metrics = collector.finish(Duration::from_secs(3));
    for row in metrics
        .rows
        .iter_mut()
        .chain(std::iter::once(&mut metrics.total))
    {
        for m in &mut row.failure_messages {
            m.first_seen = ms(1500);
            m.last_seen = ms(2750);
        }
    }
    let outcome = RunOutcome {
        metrics,
        stop: StopReason::Completed,
        started_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000),
        seed: 7,
        login_failures: BTreeMap::new(),
        logins: 4,
        refreshes: 0,
        cut: 0,
    };
    let health = HealthResults {
        results: vec![PolicyResult {
            policy: "ready".into(),
            phase: Phase::Before,
            healthy: true,
            reason: None,
            attempts: vec![Attempt {
                number: 1,
                at_s: 0.0,
                status: Some(200),
                latency_ms: 2.5,
                failure: None,
            }],
            elapsed_s: 0.0025,
        }],
        probes: vec![ProbeStats {
            policy: "ready".into(),
            probes: 3,
            successes: 3,
            outages: 0,
            mean_latency_ms: Some(2.0),
            max_latency_ms: Some(3.0),
            last_failure: None,
        }],
    };
    conclude(
        &plan,
        &RunResult {
            outcome,
            health,
            not_sent: None,
            base_url: "https://user:secret@claims.example/api?key=secret".into(),
        },
        baseline,
    )
}

#[test]
fn the_same_run_as_its_own_baseline_does_not_regress() {
    let base = crate::compare::Run {
        file: "results/main/summary.json".into(),
        summary: fixture(),
    };
    let summary = fixture_against(Some(&base));
    let relative: Vec<_> = summary
        .verdicts
        .iter()
        .filter(|v| v.operator == crate::sla::Operator::RegressAtMost)
        .collect();
    assert_eq!(relative.len(), 4, "{relative:#?}");
    for v in relative {
        let change = v.baseline.as_ref().unwrap();
        // `list_reports` sent nothing in either run.
        let none = v.scope == "list_reports";
        assert_eq!(change.change, (!none).then_some(0.0), "{v:#?}");
        // Too few samples to tell is skipped, never failed; enough are unchanged.
        match change.verdict {
            crate::compare::Verdict::Unchanged => assert_eq!(v.status, crate::sla::Status::Pass),
            crate::compare::Verdict::Inconclusive => {
                assert_eq!(v.status, crate::sla::Status::Skipped);
                assert!(
                    v.note.as_deref().unwrap().starts_with("inconclusive: "),
                    "{v:#?}"
                );
            }
            other => panic!("{other:?}: {v:#?}"),
        }
    }
    let side = &summary.baseline.as_ref().unwrap().run;
    assert_eq!(side.file, "results/main/summary.json");
    assert_eq!(side.sha256, summary.plan.sha256);
    assert!(
        report::format::notices(&summary)
            .iter()
            .any(|n| n.starts_with(
                "relative assertions compared with the baseline results/main/summary.json (plan `"
            )),
        "{:?}",
        report::format::notices(&summary)
    );
    // Without a baseline the same assertion is skipped, and the run's verdict is unchanged.
    let alone = fixture();
    assert!(alone.baseline.is_none());
    assert_eq!(alone.verdict, summary.verdict);
}

#[test]
fn the_fixture_fails_on_get_dashboard_p95_and_exits_1() {
    let summary = fixture();
    let failed: Vec<(&str, &str)> = summary
        .verdicts
        .iter()
        .filter(|v| v.status == crate::sla::Status::Fail)
        .map(|v| (v.metric.as_str(), v.scope.as_str()))
        .collect();
    assert_eq!(failed, [("p95", "get_dashboard")]);
    assert_eq!(summary.exit(), Exit::Failed);
    let skipped: Vec<&str> = summary
        .verdicts
        .iter()
        .filter(|v| v.status == crate::sla::Status::Skipped)
        .map(|v| v.scope.as_str())
        .collect();
    // The endpoint that sent nothing, and each relative assertion, without a baseline.
    assert_eq!(
        skipped,
        [
            "list_reports",
            "list_claims",
            "get_dashboard",
            "checkout",
            "list_reports"
        ]
    );
}

// --- percentiles of known distributions in every report -------------------------------

/// The exact value HDR's `value_at_quantile` approximates: the sample of rank ⌈q·n⌉.
fn exact_quantile(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank - 1]
}

/// µs inputs: uniform 1..=1000 ms; bimodal 90% 15–25 ms, 10% 900–1100 ms; a long tail
/// (Pareto, α = 1.2, from 1 ms) reaching minutes.
fn distributions() -> Vec<(&'static str, Vec<u64>)> {
    let uniform: Vec<u64> = (1..=1000).map(|ms| ms * 1000).collect();
    let mut bimodal: Vec<u64> = (0..900).map(|i| 15_000 + (i * 10_000) / 900).collect();
    bimodal.extend((0..100).map(|i| 900_000 + i * 2_000));
    let n = 5000;
    let tail: Vec<u64> = (0..n)
        .map(|i| {
            let u = (i as f64 + 0.5) / n as f64;
            (1000.0 / (1.0 - u).powf(1.0 / 1.2)) as u64
        })
        .collect();
    vec![
        ("uniform", uniform),
        ("bimodal", bimodal),
        ("long_tail", tail),
    ]
}

const QUANTILES: [f64; 11] = crate::metrics::SERIES_QUANTILES;

#[test]
fn every_reported_percentile_matches_the_exact_value() {
    let mut summary = fixture();
    let duration = Duration::from_secs(10);
    let mut inputs = Vec::new();
    summary.rows = distributions()
        .into_iter()
        .map(|(name, mut values)| {
            let mut row = RowStats::empty(RowKey::new(name, "GET"));
            for v in &values {
                crate::metrics::record_n(&mut row.histogram, *v, 1);
            }
            row.requests = values.len() as u64;
            values.sort_unstable();
            inputs.push((name, values));
            stats(&row, Some(name.to_owned()), duration)
        })
        .collect();
    summary.endpoints = summary.rows.clone();
    // summary.json: within the histogram's precision (never below, at most 0.1% above).
    for (stats, (name, sorted)) in summary.rows.iter().zip(&inputs) {
        let p = &stats.latency.as_ref().unwrap().percentiles;
        let got = [
            p.p50, p.p66, p.p75, p.p80, p.p90, p.p95, p.p98, p.p99, p.p99_9, p.p99_99, p.p100,
        ];
        for (q, got) in QUANTILES.iter().zip(got) {
            let want = exact_quantile(sorted, *q);
            let got = (got.unwrap() * 1000.0).round() as u64;
            assert!(
                got >= want && got - want <= want / 1000,
                "{name} q{q}: json {got} µs, exact {want} µs"
            );
        }
    }
    // stats.csv: whole ms (min, max and mean as floats), within 1 ms (plus the
    // histogram's 0.1%) of the exact value.
    let stats = String::from_utf8(report::csv::stats_csv(&summary).unwrap()).unwrap();
    for line in stats.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let Some((name, sorted)) = inputs.iter().find(|(n, _)| *n == cells[1]) else {
            continue;
        };
        let check = |cell: &str, want_us: u64, what: &str| {
            let got: f64 = cell.parse().unwrap();
            let want = want_us as f64 / 1000.0;
            assert!(
                (got - want).abs() <= 1.0 + want / 1000.0,
                "{name} {what}: csv {got} ms, exact {want} ms"
            );
        };
        check(cells[4], exact_quantile(sorted, 0.5), "median");
        check(cells[6], sorted[0], "min");
        check(cells[7], *sorted.last().unwrap(), "max");
        let mean = sorted.iter().sum::<u64>() as f64 / sorted.len() as f64;
        let got_mean: f64 = cells[5].parse().unwrap();
        assert!(
            (got_mean - mean / 1000.0).abs() <= 1.0 + mean / 1e6,
            "{name} mean: csv {got_mean}, exact {}",
            mean / 1000.0
        );
        for (i, q) in QUANTILES.iter().enumerate() {
            check(cells[11 + i], exact_quantile(sorted, *q), &format!("q{q}"));
        }
    }
    // Terminal, Markdown and HTML show the same p95 text as each other.
    let term = report::terminal::summary(&summary, false, report::terminal::DEFAULT_WIDTH);
    let md = report::markdown::render(&summary);
    let html = report::html::render(&summary).unwrap();
    for stats in &summary.rows {
        let p95 = report::format::ms_cell(stats.latency.as_ref().unwrap().percentiles.p95);
        for (what, text) in [("terminal", &term), ("markdown", &md), ("html", &html)] {
            assert!(text.contains(&p95), "{what} lacks {} p95 {p95}", stats.name);
        }
    }
}
