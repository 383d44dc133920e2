//! SLA evaluation over hand-built statistics: every metric, scope, operator, a value exactly
//! at its threshold, and the no-data rule.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::health::ProbeStats;
use crate::metrics::FailureKind;

/// The endpoints of these tests.
const ENDPOINTS: [&str; 3] = ["a", "b", "flow"];

/// A row whose every request took one of `us` microseconds; `failed` of them failed.
/// Values below 2048 µs are exact in the histogram; larger ones read as their bucket's top.
/// The row belongs to the endpoint its name starts with (`flow/one` to `flow`), as compile
/// would have assigned it.
fn row(name: &str, us: &[u64], failed: u64) -> RowStats {
    let endpoint = name.split('/').next();
    let key = RowKey::new(name, "GET");
    let key = match ENDPOINTS.iter().position(|e| Some(*e) == endpoint) {
        Some(i) => key.of_endpoint(i),
        None => key,
    };
    let mut r = RowStats::empty(key);
    for v in us {
        crate::metrics::record_n(&mut r.histogram, *v, 1);
    }
    r.requests = us.len() as u64;
    if failed > 0 {
        r.failures = BTreeMap::from([(FailureKind::Status, failed)]);
    }
    r
}

fn metrics(rows: Vec<RowStats>) -> RunMetrics {
    let mut total = RowStats::empty(RowKey::new("Aggregated", ""));
    for r in &rows {
        total.absorb(r);
    }
    RunMetrics {
        rows,
        total,
        series: Vec::new(),
        dropped_iterations: 0,
        duration: Duration::from_secs(10),
    }
}

/// One assertion as the plan writes it, compiled as a plan's are.
fn assertion(yaml: &str) -> CompiledAssertion {
    let written: crate::plan::model::SlaAssertion = serde_saphyr::from_str(yaml).unwrap();
    CompiledAssertion::new(&written).unwrap()
}

fn eval(yaml: &str, m: &RunMetrics) -> Vec<Verdict> {
    eval_with(yaml, m, &HealthResults::default())
}

fn eval_with(yaml: &str, m: &RunMetrics, health: &HealthResults) -> Vec<Verdict> {
    let endpoints = ENDPOINTS.map(str::to_owned);
    evaluate(&[assertion(yaml)], &endpoints, m, health, None)
}

fn status(yaml: &str, m: &RunMetrics) -> Status {
    let v = eval(yaml, m);
    assert_eq!(v.len(), 1, "{v:?}");
    v[0].status
}

/// a: 100 requests of 20, 40, … 2000 µs, 5 failed; b: none; flow: two steps of 200 and
/// 400 ms; login: 1000 ms (an auth row, aggregate only).
fn sample() -> RunMetrics {
    let a: Vec<u64> = (1..=100).map(|i| i * 20).collect();
    metrics(vec![
        row("a", &a, 5),
        row("b", &[], 0),
        row("flow/one", &[200_000; 10], 0),
        row("flow/two", &[400_000; 10], 10),
        row("login", &[1_000_000], 0),
    ])
}

#[test]
fn percentiles_compare_with_the_exact_histogram_value() {
    let m = sample();
    let v = eval(
        "{ metric: p50, scope: endpoints, endpoints: [a], below: 1010us }",
        &m,
    );
    assert_eq!(v[0].measured, Some(1.0));
    assert_eq!(v[0].measured_text, "1.00ms");
    assert_eq!(v[0].status, Status::Pass);
    assert_eq!(
        status(
            "{ metric: p99.9, scope: endpoints, endpoints: [a], at_most: 2ms }",
            &m
        ),
        Status::Pass
    );
    assert_eq!(
        status(
            "{ metric: p99, scope: endpoints, endpoints: [a], below: 1980us }",
            &m
        ),
        Status::Fail
    );
}

/// 500 ms reads as 500.2 ms (the top of its bucket): still `at_most: 500ms`, not `below`.
#[test]
fn a_latency_at_the_threshold_within_hdr_precision() {
    let m = metrics(vec![row("a", &[500_000; 10], 0)]);
    assert_eq!(status("{ metric: p95, at_most: 500ms }", &m), Status::Pass);
    assert_eq!(status("{ metric: max, at_least: 500ms }", &m), Status::Pass);
    assert_eq!(status("{ metric: p95, below: 500ms }", &m), Status::Fail);
    assert_eq!(status("{ metric: p95, above: 500ms }", &m), Status::Fail);
    // Beyond the bucket, values compare as measured.
    let m = metrics(vec![row("a", &[502_000; 10], 0)]);
    assert_eq!(status("{ metric: p95, at_most: 500ms }", &m), Status::Fail);
}

#[test]
fn a_value_exactly_at_the_threshold() {
    let m = sample();
    let at = |op: &str| {
        status(
            &format!("{{ metric: p50, scope: endpoints, endpoints: [a], {op}: 1ms }}"),
            &m,
        )
    };
    assert_eq!(at("below"), Status::Fail);
    assert_eq!(at("at_most"), Status::Pass);
    assert_eq!(at("above"), Status::Fail);
    assert_eq!(at("at_least"), Status::Pass);
    // 5 of 100 failed: exactly 5%.
    let rate = |op: &str| {
        status(
            &format!("{{ metric: error_rate, scope: endpoints, endpoints: [a], {op}: 5% }}"),
            &m,
        )
    };
    assert_eq!(rate("below"), Status::Fail);
    assert_eq!(rate("at_most"), Status::Pass);
}

#[test]
fn mean_min_max() {
    let m = sample();
    let one = |yaml: &str| eval(yaml, &m).remove(0);
    let mean = one("{ metric: mean, scope: endpoints, endpoints: [a], below: 1011us }");
    assert!((mean.measured.unwrap() - 1.01).abs() < 1e-9, "{mean:?}");
    assert_eq!(mean.status, Status::Pass);
    let min = one("{ metric: min, scope: endpoints, endpoints: [a], at_least: 20us }");
    assert_eq!((min.measured, min.status), (Some(0.02), Status::Pass));
    // 1 s sits in a bucket 512 µs wide: max reads as its top, above the threshold.
    let max = one("{ metric: max, below: 1s }");
    assert!(max.measured.unwrap() >= 1000.0);
    assert_eq!(max.status, Status::Fail);
}

#[test]
fn rates_counts_and_checks() {
    let mut m = sample();
    // 121 requests over 10 s.
    let rps = eval("{ metric: rps, at_least: 12 }", &m).remove(0);
    assert_eq!((rps.measured, rps.status), (Some(12.1), Status::Pass));
    assert_eq!(rps.measured_text, "12.1/s");
    assert_eq!(status("{ metric: rps, above: 600/m }", &m), Status::Pass);
    // 15 of 121 failed.
    let err = eval("{ metric: error_rate, at_most: 5% }", &m).remove(0);
    assert_eq!(err.status, Status::Fail);
    assert_eq!(err.measured_text, "12.40%");
    assert_eq!(err.unit, "%");
    m.total.checks_passed = 99;
    m.total.checks_failed = 1;
    assert_eq!(
        status("{ metric: check_pass_rate, at_least: 99% }", &m),
        Status::Pass
    );
    assert_eq!(
        status("{ metric: check_pass_rate, above: 99% }", &m),
        Status::Fail
    );
    m.dropped_iterations = 3;
    assert_eq!(
        status("{ metric: dropped_iterations, at_most: 3 }", &m),
        Status::Pass
    );
    assert_eq!(
        status("{ metric: dropped_iterations, below: 3 }", &m),
        Status::Fail
    );
}

#[test]
fn health_availability_reads_during_load_probes() {
    let m = sample();
    let probes = |policy: &str, probes, successes| ProbeStats {
        policy: policy.into(),
        probes,
        successes,
        outages: 0,
        mean_latency_ms: None,
        max_latency_ms: None,
        last_failure: None,
    };
    let health = HealthResults {
        results: Vec::new(),
        probes: vec![probes("ready", 10, 9), probes("deep", 10, 10)],
    };
    let v = eval_with(
        "{ metric: health_availability, at_least: 95% }",
        &m,
        &health,
    );
    assert_eq!((v[0].measured, v[0].status), (Some(95.0), Status::Pass));
    let v = eval_with(
        "{ metric: health_availability, policy: ready, at_least: 95% }",
        &m,
        &health,
    );
    assert_eq!((v[0].scope.as_str(), v[0].status), ("ready", Status::Fail));
    let none = eval("{ metric: health_availability, at_least: 95% }", &m);
    assert_eq!(none[0].status, Status::Fail);
    assert_eq!(none[0].measured_text, "no data");
}

#[test]
fn scopes() {
    let m = sample();
    let each = eval("{ metric: p95, scope: each_endpoint, below: 300ms }", &m);
    let got: Vec<(&str, Status)> = each.iter().map(|v| (v.scope.as_str(), v.status)).collect();
    // b has no requests: skipped, shown; the flow is the sum of its steps (p95 = 400 ms);
    // login is no endpoint.
    assert_eq!(
        got,
        [
            ("a", Status::Pass),
            ("b", Status::Skipped),
            ("flow", Status::Fail)
        ]
    );
    assert_eq!(each[2].measured_text, "400ms");
    assert_eq!(each[1].note.as_deref(), Some("no samples"));
    let named = eval(
        "{ metric: error_rate, scope: endpoints, endpoints: [flow], at_most: 50% }",
        &m,
    );
    assert_eq!(named.len(), 1);
    assert_eq!(
        (named[0].measured, named[0].status),
        (Some(50.0), Status::Pass)
    );
    // The aggregate counts the login row too: max 1000 ms.
    let agg = eval("{ metric: max, below: 1s }", &m);
    assert_eq!(agg[0].scope, AGGREGATE);
}

#[test]
fn the_no_data_rule() {
    let empty = metrics(vec![row("a", &[], 0)]);
    let agg = eval("{ metric: p95, below: 500ms }", &empty).remove(0);
    assert_eq!(agg.status, Status::Fail);
    assert_eq!(agg.measured, None);
    assert!(agg.note.as_deref().unwrap().contains("no samples"));
    // Named means required (issue 9): an endpoint an assertion names must have data.
    assert_eq!(
        status(
            "{ metric: p95, scope: endpoints, endpoints: [a], below: 500ms }",
            &empty
        ),
        Status::Fail
    );
    assert_eq!(
        status(
            "{ metric: p95, scope: endpoints, endpoints: [a], below: 500ms, on_no_data: skip }",
            &empty
        ),
        Status::Skipped
    );
    // `each_endpoint` keeps skipping endpoints without samples.
    let each = eval(
        "{ metric: p95, scope: each_endpoint, below: 500ms }",
        &empty,
    );
    assert_eq!(each[0].scope, "a");
    assert_eq!(each[0].status, Status::Skipped);
    assert_eq!(
        status("{ metric: p95, below: 500ms, on_no_data: skip }", &empty),
        Status::Skipped
    );
    assert_eq!(
        status("{ metric: rps, above: 1, on_no_data: pass }", &empty),
        Status::Pass
    );
    assert_eq!(
        status(
            "{ metric: error_rate, scope: endpoints, endpoints: [a], at_most: 1%, on_no_data: fail }",
            &empty
        ),
        Status::Fail
    );
}

#[test]
fn names_and_explanations() {
    let m = sample();
    let v = eval(
        "{ metric: p95, scope: endpoints, endpoints: [flow], below: 300ms }",
        &m,
    );
    assert_eq!(v[0].name, "p95 below 300ms");
    assert_eq!(v[0].explain(), "p95 400ms, threshold below 300ms");
    let named = eval("{ name: fast, metric: p95, below: 2s }", &m);
    assert_eq!(named[0].name, "fast");
    assert!(!any_failed(&named));
    assert!(any_failed(&v));
}

#[test]
fn abort_waits_for_its_delay_and_ignores_missing_data() {
    let m = sample();
    let sla = vec![assertion(
        "{ metric: max, below: 1s, abort_on_fail: true, abort_delay: 5s }",
    )];
    let names = vec!["a".to_owned()];
    let health = HealthResults::default();
    assert_eq!(
        abort_reason(&sla, &names, &m, &health, Duration::from_secs(4)),
        None
    );
    let reason = abort_reason(&sla, &names, &m, &health, Duration::from_secs(5)).unwrap();
    assert!(
        reason.contains("max 1000ms, threshold below 1s"),
        "{reason}"
    );
    let empty = metrics(vec![row("a", &[], 0)]);
    assert_eq!(
        abort_reason(&sla, &names, &empty, &health, Duration::from_secs(9)),
        None
    );
    let not_abort = vec![assertion("{ metric: max, below: 1s }")];
    assert_eq!(
        abort_reason(&not_abort, &names, &m, &health, Duration::from_secs(9)),
        None
    );
}

fn gate(plan: &str, m: &RunMetrics) -> Vec<(String, Status, String)> {
    let written: Vec<crate::plan::model::SlaAssertion> = serde_saphyr::from_str(plan).unwrap();
    let sla: Vec<CompiledAssertion> = written.iter().filter_map(CompiledAssertion::new).collect();
    let endpoints = vec!["a".to_owned()];
    gates(&sla, &endpoints, m)
        .into_iter()
        .map(|v| (v.name, v.status, v.measured_text))
        .collect()
}

#[test]
fn without_an_error_rate_assertion_any_failure_fails_the_run() {
    let clean = metrics(vec![row("a", &[10, 20], 0)]);
    let one_failed = metrics(vec![row("a", &[10, 20], 1)]);
    let none = "[{ metric: p95, below: 1s }]";
    assert_eq!(
        gate(none, &clean),
        [(DEFAULT_GATE.to_owned(), Status::Pass, "0.00%".to_owned())]
    );
    assert_eq!(
        gate(none, &one_failed),
        [(DEFAULT_GATE.to_owned(), Status::Fail, "50.00%".to_owned())]
    );
    // No request at all is no evidence of health either.
    let empty = metrics(vec![row("a", &[], 0)]);
    assert_eq!(gate(none, &empty)[0].1, Status::Fail);
    // An error_rate per endpoint does not replace the aggregate gate.
    assert_eq!(
        gate(
            "[{ metric: error_rate, scope: each_endpoint, at_most: 10% }]",
            &one_failed
        )[0]
        .0,
        DEFAULT_GATE
    );
}

#[test]
fn a_declared_error_rate_replaces_the_gate_but_not_the_need_for_one_success() {
    let lax = "[{ metric: error_rate, at_most: 100% }]";
    let some_failed = metrics(vec![row("a", &[10, 20], 1)]);
    assert!(gate(lax, &some_failed).is_empty());
    let all_failed = metrics(vec![row("a", &[10, 20], 2)]);
    assert_eq!(
        gate(lax, &all_failed),
        [(ANY_SUCCESS.to_owned(), Status::Fail, "100.00%".to_owned())]
    );
    let empty = metrics(vec![row("a", &[], 0)]);
    assert_eq!(gate(lax, &empty)[0].1, Status::Fail);
}

#[test]
fn a_plan_without_endpoints_has_no_gates() {
    let sla: Vec<CompiledAssertion> = Vec::new();
    assert!(gates(&sla, &[], &metrics(Vec::new())).is_empty());
}

/// A baseline whose comparison of every figure is `verdict` with `interval`: p95 from
/// 20 ms to 30 ms, 40 requests a side.
struct Fixed(compare::Verdict, Option<compare::Interval>);

impl Baseline for Fixed {
    fn compare(
        &self,
        _: &CompiledAssertion,
        allowance: f64,
        _: Option<&str>,
        _: &RowStats,
        _: Duration,
    ) -> Result<Judged, String> {
        assert_eq!(allowance, 0.1);
        Ok(Judged {
            change: FigureChange {
                figure: compare::Figure::P95,
                baseline: Some(20.0),
                new: Some(30.0),
                change: Some(10.0),
                relative_change: Some(0.5),
                interval: self.1,
                verdict: Some(self.0),
                gates: false,
            },
            requests: [40, 40],
        })
    }
}

fn relative(baseline: Option<&dyn Baseline>) -> Vec<Verdict> {
    let m = metrics(vec![row("a", &[1000; 40], 0), row("b", &[2000; 40], 0)]);
    let a = assertion("{ metric: p95, scope: each_endpoint, regress_at_most: 10% }");
    let endpoints = ENDPOINTS.map(str::to_owned);
    evaluate(&[a], &endpoints, &m, &HealthResults::default(), baseline)
}

#[test]
fn a_relative_assertion_without_a_baseline_is_skipped_per_scope() {
    let v = relative(None);
    let got: Vec<_> = v
        .iter()
        .map(|v| (v.scope.as_str(), v.status, v.note.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("a", Status::Skipped, Some("no baseline")),
            ("b", Status::Skipped, Some("no baseline")),
            ("flow", Status::Skipped, Some("no baseline")),
        ]
    );
    assert_eq!(v[0].name, "p95 regress_at_most 10%");
    assert_eq!(v[0].measured_text, "1.00ms");
    assert_eq!(v[0].operator, Operator::RegressAtMost);
    assert!(v[0].baseline.is_none());
}

#[test]
fn a_regression_fails_and_what_cannot_be_told_is_skipped() {
    let interval = Some(compare::Interval {
        low: 8.0,
        high: 12.0,
    });
    let v = relative(Some(&Fixed(compare::Verdict::Regressed, interval)));
    assert_eq!(v[0].status, Status::Fail);
    assert_eq!(
        v[0].note.as_deref(),
        Some("regressed: baseline 20.0ms, +10.0ms (+50.0%), 95 % interval +8.00ms … +12.0ms")
    );
    assert_eq!(
        v[0].baseline,
        Some(BaselineChange {
            measured: Some(20.0),
            change: Some(10.0),
            relative_change: Some(0.5),
            interval: Some([8.0, 12.0]),
            verdict: compare::Verdict::Regressed,
        })
    );
    assert!(v[0].explain().contains("threshold regress at most 10%"));
    for verdict in [compare::Verdict::Unchanged, compare::Verdict::Improved] {
        let v = relative(Some(&Fixed(verdict, interval)));
        assert_eq!(v[0].status, Status::Pass, "{verdict:?}");
    }
    let v = relative(Some(&Fixed(compare::Verdict::Inconclusive, None)));
    assert_eq!(v[0].status, Status::Skipped);
    assert_eq!(
        v[0].note.as_deref(),
        Some(
            "inconclusive: too few samples (p95 needs 100 requests on each side; the \
             baseline had 40, this run 40)"
        )
    );
    let v = relative(Some(&Fixed(compare::Verdict::Inconclusive, interval)));
    assert_eq!(v[0].status, Status::Skipped);
    assert!(
        v[0].note
            .as_deref()
            .unwrap()
            .ends_with("reaches past the allowance without excluding no change"),
        "{:?}",
        v[0].note
    );
}

#[test]
fn a_relative_error_rate_assertion_is_no_gate() {
    let m = metrics(vec![row("a", &[1000; 10], 1)]);
    let names: Vec<String> = gate("[{ metric: error_rate, regress_at_most: 10% }]", &m)
        .into_iter()
        .map(|(name, ..)| name)
        .collect();
    assert_eq!(names, [DEFAULT_GATE]);
}
