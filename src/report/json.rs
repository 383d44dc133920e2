//! `summary.json`: the run's statistics per row, with each row's HDR histogram, so results
//! can be rendered again or merged.

use std::path::Path;

use serde::Serialize;

use super::Report;
use crate::metrics::{RowStats, encode_histogram};

/// Version of the summary format.
pub const SUMMARY_VERSION: u32 = 1;

#[derive(Serialize)]
struct Summary<'a> {
    version: u32,
    plan: &'a str,
    plan_file: &'a str,
    seed: u64,
    duration_s: f64,
    stop: String,
    logins: u64,
    refreshes: u64,
    login_failures: &'a std::collections::BTreeMap<String, u64>,
    dropped_iterations: u64,
    rows: Vec<Row>,
    total: Row,
}

#[derive(Serialize)]
struct Row {
    name: String,
    method: String,
    requests: u64,
    failures: u64,
    failures_by_kind: std::collections::BTreeMap<String, u64>,
    rps: f64,
    mean_ms: Option<f64>,
    min_ms: Option<f64>,
    max_ms: Option<f64>,
    p50_ms: Option<f64>,
    p90_ms: Option<f64>,
    p95_ms: Option<f64>,
    p99_ms: Option<f64>,
    bytes_in: u64,
    bytes_out: u64,
    histogram: String,
}

fn ms(d: Option<std::time::Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64() * 1000.0)
}

fn row(r: &RowStats, seconds: std::time::Duration) -> Row {
    Row {
        name: r.key.name.clone(),
        method: r.key.method.clone(),
        requests: r.requests,
        failures: r.failures.values().sum(),
        failures_by_kind: r
            .failures
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), *v))
            .collect(),
        rps: r.rps(seconds),
        mean_ms: ms(r.mean()),
        min_ms: ms(r.min()),
        max_ms: ms(r.max()),
        p50_ms: ms(r.percentile(50.0)),
        p90_ms: ms(r.percentile(90.0)),
        p95_ms: ms(r.percentile(95.0)),
        p99_ms: ms(r.percentile(99.0)),
        bytes_in: r.bytes_in,
        bytes_out: r.bytes_out,
        histogram: encode_histogram(&r.histogram).unwrap_or_default(),
    }
}

/// Writes `summary.json`.
pub fn write(report: &Report, path: &Path) -> anyhow::Result<()> {
    let m = &report.outcome.metrics;
    let summary = Summary {
        version: SUMMARY_VERSION,
        plan: &report.plan_name,
        plan_file: &report.plan_file,
        seed: report.outcome.seed,
        duration_s: m.duration.as_secs_f64(),
        stop: format!("{:?}", report.outcome.stop),
        logins: report.outcome.logins,
        refreshes: report.outcome.refreshes,
        login_failures: &report.outcome.login_failures,
        dropped_iterations: m.dropped_iterations,
        rows: m.rows.iter().map(|r| row(r, m.duration)).collect(),
        total: row(&m.total, m.duration),
    };
    let mut text = serde_json::to_string_pretty(&summary)?;
    text.push('\n');
    std::fs::write(path, text)?;
    Ok(())
}
