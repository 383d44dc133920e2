//! The terminal summary: one table row per request row, readable in 100 columns.

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use super::Report;
use crate::metrics::RowStats;

fn ms(d: Option<std::time::Duration>) -> String {
    d.map_or_else(
        || "-".into(),
        |d| format!("{:.0}", d.as_secs_f64() * 1000.0),
    )
}

/// Renders the summary table and the stop reason.
pub fn summary(report: &Report, color: bool) -> String {
    let m = &report.outcome.metrics;
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(100);
    if !color {
        table.force_no_tty();
    }
    table.set_header([
        "name", "reqs", "fails", "req/s", "p50", "p90", "p95", "p99", "max", "mean",
    ]);
    let line = |r: &RowStats, name: String| {
        let mut cells = vec![Cell::new(name)];
        let numbers = [
            r.requests.to_string(),
            r.failures.values().sum::<u64>().to_string(),
            format!("{:.1}", r.rps(m.duration)),
            ms(r.percentile(50.0)),
            ms(r.percentile(90.0)),
            ms(r.percentile(95.0)),
            ms(r.percentile(99.0)),
            ms(r.max()),
            ms(r.mean()),
        ];
        cells.extend(
            numbers
                .into_iter()
                .map(|n| Cell::new(n).set_alignment(CellAlignment::Right)),
        );
        cells
    };
    for r in &m.rows {
        if r.requests > 0 {
            table.add_row(line(r, format!("{} {}", r.key.method, r.key.name)));
        }
    }
    table.add_row(line(&m.total, "Aggregated".into()));
    format!(
        "{} — {:.1}s, seed {}, latencies in ms\n{table}\n",
        report.plan_name,
        m.duration.as_secs_f64(),
        report.outcome.seed
    )
}
