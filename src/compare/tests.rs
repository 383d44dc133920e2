//! `compare` over a fixed pair of runs: `tests/fixtures/compare/{base,new}/summary.json`,
//! built here from seeded latencies through the conclusion stage's own `stats` (this test
//! keeps them current), golden files of the three formats, the committed schema, and the
//! refusals and warnings between runs that do not match.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use hdrhistogram::Histogram;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, LogNormal};

use super::*;
use crate::metrics::{FailureKind, RowKey, RowStats, merge_into, new_counts, record_n};
use crate::report::summary::RunVerdict;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

const BASE: &str = include_str!("../../tests/fixtures/compare/base/summary.json");
const NEW: &str = include_str!("../../tests/fixtures/compare/new/summary.json");
const SECONDS: u64 = 60;

/// A row of `requests` log-normal latencies around `median_ms`, `failures` of them failed.
fn row_stats(
    name: &str,
    method: &str,
    endpoint: Option<usize>,
    (requests, failures): (u64, u64),
    median_ms: f64,
    seed: u64,
) -> RowStats {
    let mut rng = StdRng::seed_from_u64(seed);
    let dist = LogNormal::new((median_ms * 1000.0).ln(), 0.3).unwrap();
    let mut histogram: Histogram<u64> = new_counts::<u64>();
    for _ in 0..requests {
        let us: f64 = dist.sample(&mut rng);
        record_n(&mut histogram, us as u64, 1);
    }
    RowStats {
        key: RowKey {
            name: name.into(),
            method: method.into(),
            endpoint,
        },
        histogram,
        requests,
        failures: [(FailureKind::Status, failures)]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect(),
        bytes_in: 0,
        body_bytes: 0,
        bytes_out: 0,
        checks_passed: 0,
        checks_failed: 0,
        skipped: 0,
        renewals: 0,
        failure_messages: Vec::new(),
    }
}

/// A run of `rows` over a minute, on the skeleton of the reports' fixture summary.
fn run_of(rows: Vec<RowStats>, users: u32) -> Summary {
    let duration = Duration::from_secs(SECONDS);
    let mut total = row_stats("Aggregated", "", None, (0, 0), 1.0, 0);
    for r in &rows {
        merge_into(&mut total.histogram, &r.histogram);
        total.requests += r.requests;
        for (kind, n) in &r.failures {
            *total.failures.entry(*kind).or_default() += n;
        }
    }
    let mut s = crate::report::tests::fixture();
    s.plan.name = "compare-fixture".into();
    s.plan.file = "plans/compare.yaml".into();
    s.load.stages = vec![crate::report::summary::StageInfo {
        target: f64::from(users),
        duration_s: 0.0,
    }];
    s.load.duration_s = Some(60.0);
    s.run.duration_s = duration.as_secs_f64();
    s.run.ended_at = "2025-06-15T15:07:40.000Z".into();
    s.run.logins = users.into();
    s.sla.clear();
    s.verdicts.clear();
    s.failures.clear();
    s.series.clear();
    s.rows = rows
        .iter()
        .map(|r| crate::conclude::stats(r, r.key.endpoint.map(|_| r.key.name.clone()), duration))
        .collect();
    s.endpoints = s
        .rows
        .iter()
        .filter(|r| r.endpoint.is_some())
        .map(|r| crate::report::summary::Stats {
            endpoint: None,
            ..r.clone()
        })
        .collect();
    s.total = crate::conclude::stats(&total, None, duration);
    s.verdict = RunVerdict::of(s.exit());
    Summary::from_json(&s.to_json().unwrap()).unwrap()
}

/// The baseline: five rows over a minute.
fn base_summary() -> Summary {
    run_of(
        vec![
            row_stats("list_claims", "GET", Some(0), (3000, 6), 20.0, 1),
            row_stats("get_dashboard", "GET", Some(1), (2000, 0), 40.0, 2),
            row_stats("search_claims", "GET", Some(2), (40, 0), 25.0, 3),
            row_stats("upload_claim", "POST", Some(3), (500, 0), 60.0, 4),
            row_stats("login", "POST", None, (20, 0), 5.0, 5),
        ],
        10,
    )
}

/// The new run: list_claims 20 % faster but failing 3 %, get_dashboard 50 % slower,
/// search_claims twice as slow on 40 samples, upload_claim gone, export_claims new.
fn new_summary() -> Summary {
    run_of(
        vec![
            row_stats("list_claims", "GET", Some(0), (3000, 90), 16.0, 11),
            row_stats("get_dashboard", "GET", Some(1), (2000, 0), 60.0, 12),
            row_stats("search_claims", "GET", Some(2), (40, 0), 50.0, 13),
            row_stats("export_claims", "GET", Some(3), (300, 0), 80.0, 14),
            row_stats("login", "POST", None, (20, 0), 5.0, 15),
        ],
        10,
    )
}

/// The committed pair is what this builds; `LOADPLAN_UPDATE_FIXTURES=1` rewrites it after a
/// deliberate change (review the diff).
#[test]
fn the_fixture_pair_is_current() {
    let mut stale = Vec::new();
    for (built, committed, name) in [
        (base_summary().to_json().unwrap(), BASE, "base"),
        (new_summary().to_json().unwrap(), NEW, "new"),
    ] {
        let path = root().join(format!("tests/fixtures/compare/{name}/summary.json"));
        if std::env::var_os("LOADPLAN_UPDATE_FIXTURES").is_some() {
            std::fs::write(&path, &built).unwrap();
        }
        if built != committed {
            stale.push(format!("tests/fixtures/compare/{name}/summary.json"));
        }
    }
    assert!(
        stale.is_empty(),
        "{} stale: rerun with LOADPLAN_UPDATE_FIXTURES=1",
        stale.join(" and ")
    );
}

fn run(file: &str, text: &str) -> Run {
    Run {
        file: file.into(),
        summary: Summary::from_json(text).unwrap(),
    }
}

fn pair() -> (Run, Run) {
    (
        run("tests/fixtures/compare/base/summary.json", BASE),
        run("tests/fixtures/compare/new/summary.json", NEW),
    )
}

fn fixture_comparison() -> Comparison {
    let (base, new) = pair();
    compare(&base, &new, &Settings::default()).unwrap()
}

fn verdicts(c: &Comparison, row: &str) -> BTreeMap<&'static str, Option<Verdict>> {
    let r = c
        .rows
        .iter()
        .chain(std::iter::once(&c.total))
        .find(|r| r.name == row)
        .unwrap();
    r.figures
        .iter()
        .map(|f| (f.figure.as_str(), f.verdict))
        .collect()
}

#[test]
fn each_row_gets_the_verdicts_its_samples_support() {
    use Verdict::*;
    let c = fixture_comparison();
    assert!(c.regressed);
    assert_eq!(c.exit(), Exit::Failed);
    let claims = verdicts(&c, "list_claims");
    assert_eq!(claims["error_rate"], Some(Regressed));
    assert_eq!(claims["requests"], None);
    for p in ["p50", "p90", "p95", "mean"] {
        assert_eq!(claims[p], Some(Improved), "{p}");
    }
    assert_eq!(claims["rps"], Some(Unchanged));
    let dash = verdicts(&c, "get_dashboard");
    for p in ["p50", "p90", "p95", "p99", "mean"] {
        assert_eq!(dash[p], Some(Regressed), "{p}");
    }
    assert_eq!(dash["error_rate"], Some(Unchanged));
    // 40 samples: the median doubled beyond chance, but no p90 or p95 can be told apart.
    let search = verdicts(&c, "search_claims");
    assert_eq!(search["p50"], Some(Regressed));
    assert_eq!(search["p95"], Some(Inconclusive));
    assert_eq!(search["p99"], Some(Inconclusive));
    let login = verdicts(&c, "login");
    assert_eq!(login["p95"], Some(Inconclusive));
    let presence: Vec<(&str, Presence)> = c
        .rows
        .iter()
        .map(|r| (r.name.as_str(), r.presence))
        .collect();
    assert_eq!(
        presence,
        [
            ("list_claims", Presence::Both),
            ("get_dashboard", Presence::Both),
            ("search_claims", Presence::Both),
            ("upload_claim", Presence::Removed),
            ("login", Presence::Both),
            ("export_claims", Presence::Added),
        ]
    );
    assert!(verdicts(&c, "export_claims").values().all(Option::is_none));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn nothing_regresses_against_itself() {
    let (base, _) = pair();
    let c = compare(&base, &base, &Settings::default()).unwrap();
    assert!(!c.regressed);
    assert_eq!(c.exit(), Exit::Passed);
    let claims = verdicts(&c, "list_claims");
    for f in ["error_rate", "rps", "p50", "p90", "p95", "p99", "mean"] {
        assert_eq!(claims[f], Some(Verdict::Unchanged), "{f}");
    }
}

#[test]
fn fail_on_chooses_the_gating_figures() {
    let (base, new) = pair();
    let settings = Settings {
        fail_on: vec![Figure::Rps],
        ..Settings::default()
    };
    let c = compare(&base, &new, &settings).unwrap();
    assert!(!c.regressed);
    // A generous floor turns the dashboard's 50 % into nothing that counts.
    let settings = Settings {
        threshold: 0.6,
        error_noise: 0.05,
        ..Settings::default()
    };
    let c = compare(&base, &new, &settings).unwrap();
    assert!(!c.regressed, "{}", terminal(&c, false));
    assert_eq!(
        verdicts(&c, "get_dashboard")["p95"],
        Some(Verdict::Unchanged)
    );
}

#[test]
fn golden_files() {
    let c = fixture_comparison();
    insta::assert_snapshot!("compare_terminal", terminal(&c, false));
    insta::assert_snapshot!("compare_md", markdown(&c));
    insta::assert_snapshot!("compare_json", c.to_json());
}

#[test]
fn the_committed_compare_schema_is_current_and_output_validates() {
    crate::report::tests::assert_committed_schema(
        "schema/compare.schema.json",
        &Comparison::schema(),
        "cargo run -- schema --compare",
        &fixture_comparison().to_json(),
    );
}

#[test]
fn a_different_plan_is_refused_unless_allowed_and_then_warned_of() {
    let (base, mut new) = pair();
    new.summary.plan.sha256 = "f".repeat(64);
    new.summary.load.stages[0].target = 20.0;
    new.summary.run.duration_s = 30.0;
    let e = compare(&base, &new, &Settings::default()).unwrap_err();
    assert!(
        e.starts_with("tests/fixtures/compare/new/summary.json: a different plan ran than in tests/fixtures/compare/base/summary.json"),
        "{e}"
    );
    assert!(e.contains("--allow-plan-change"), "{e}");
    let settings = Settings {
        allow_plan_change: true,
        ..Settings::default()
    };
    let c = compare(&base, &new, &settings).unwrap();
    assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings);
    assert!(c.warnings[0].ends_with("compared because of --allow-plan-change"));
    assert_eq!(
        c.warnings[1],
        "the load sections differ (stages [{\"target\":10.0,\"duration_s\":0.0}] → [{\"target\":20.0,\"duration_s\":0.0}]): rates and latencies may differ for that alone"
    );
    assert!(c.warnings[2].starts_with("the runs lasted 60.0 s and 30.0 s"));
    // Every format says so.
    let text = terminal(&c, false);
    let md = markdown(&c);
    let json = c.to_json();
    for w in &c.warnings {
        assert!(text.contains(&format!("warning: {w}")), "{text}");
        assert!(
            md.contains("> **Warning:** the load sections differ"),
            "{md}"
        );
        assert!(json.contains(&serde_json::to_string(w).unwrap()), "{json}");
    }
}

#[test]
fn a_load_section_is_compared_as_json() {
    let a = serde_json::json!({"users": 5, "duration": "30s", "think_time": "none"});
    let b = serde_json::json!({"users": 5, "duration": "1m", "arrival_rate": "10/s"});
    assert_eq!(
        differences(&a, &b),
        [
            "duration 30s → 1m",
            "think_time none → unset",
            "arrival_rate unset → 10/s"
        ]
    );
}

#[test]
fn unreadable_input_names_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Run::read(&dir.path().join("nope.json")).unwrap_err();
    assert!(
        missing.ends_with("nope.json: cannot read: No such file or directory (os error 2)"),
        "{missing}"
    );
    // A folder is read through its summary.json.
    let e = Run::read(dir.path()).unwrap_err();
    assert!(e.contains("summary.json: cannot read"), "{e}");
    std::fs::write(dir.path().join("summary.json"), "{}").unwrap();
    let e = Run::read(dir.path()).unwrap_err();
    assert!(
        e.contains("summary.json: not a loadplan summary: missing field"),
        "{e}"
    );
    // A histogram that does not decode is invalid input too.
    let (base, mut new) = pair();
    new.summary.rows[1].histogram = "not base64!".into();
    let e = compare(&base, &new, &Settings::default()).unwrap_err();
    assert_eq!(
        e,
        "tests/fixtures/compare/new/summary.json: row `get_dashboard`: histogram is not valid base64"
    );
}
