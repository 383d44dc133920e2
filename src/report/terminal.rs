//! The terminal summary: a table per endpoint (auth rows and the total below it) and the
//! verdicts, readable in 100 columns. Colour only when asked for (a terminal without
//! `NO_COLOR`); the text is otherwise identical, so tests read the plain form.

use comfy_table::{
    Cell, CellAlignment, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED,
};

use super::summary::{Stats, StopKind, Summary};
use crate::sla::Status;

/// Whether standard output should be coloured: a terminal, and `NO_COLOR` unset or empty.
pub fn use_color() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn table(color: bool) -> Table {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(100);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table
}

fn stats_row(s: &Stats, name: String) -> Vec<Cell> {
    let mut cells = vec![Cell::new(name)];
    let numbers = super::format::stats_numbers(s);
    cells.extend(
        numbers
            .into_iter()
            .map(|n| Cell::new(n).set_alignment(CellAlignment::Right)),
    );
    cells
}

/// The endpoint table: endpoints in plan order, then auth rows, then `Aggregated`.
pub fn endpoints_table(summary: &Summary, color: bool) -> Table {
    let mut t = table(color);
    t.set_header([
        "endpoint", "reqs", "fails", "req/s", "p50", "p90", "p95", "p99", "max", "mean",
    ]);
    for e in &summary.endpoints {
        t.add_row(stats_row(e, e.name.clone()));
    }
    for r in summary.rows.iter().filter(|r| r.endpoint.is_none()) {
        t.add_row(stats_row(r, format!("({})", r.name)));
    }
    t.add_row(stats_row(&summary.total, "Aggregated".into()));
    t
}

/// The verdicts table, or `None` without SLA assertions.
pub fn verdicts_table(summary: &Summary, color: bool) -> Option<Table> {
    if summary.verdicts.is_empty() {
        return None;
    }
    let mut t = table(color);
    t.set_header(["", "assertion", "scope", "measured", "threshold"]);
    let mut previous: Option<&str> = None;
    for v in &summary.verdicts {
        // An assertion over each endpoint gives a row per endpoint: its name is shown once,
        // on the first, so the column stays narrow and the scopes line up.
        let name = if previous == Some(v.name.as_str()) {
            ""
        } else {
            v.name.as_str()
        };
        previous = Some(v.name.as_str());
        let mut status = Cell::new(v.status.as_str());
        if color {
            status = status.fg(match v.status {
                Status::Pass => Color::Green,
                Status::Fail => Color::Red,
                Status::Skipped => Color::Yellow,
            });
        }
        let mut measured = format!("{} {}", v.metric, v.measured_text);
        if let Some(note) = &v.note {
            measured.push_str(&format!(" ({note})"));
        }
        t.add_row(vec![
            status,
            Cell::new(name),
            Cell::new(&v.scope),
            Cell::new(measured),
            Cell::new(format!(
                "{} {}",
                v.operator.as_str().replace('_', " "),
                v.threshold
            )),
        ]);
    }
    Some(t)
}

/// The whole terminal summary.
pub fn summary(summary: &Summary, color: bool) -> String {
    let run = &summary.run;
    let mut text = format!(
        "{} — {:.1}s, seed {}, latencies in ms\n{}\n",
        summary.plan.name,
        run.duration_s,
        run.seed,
        endpoints_table(summary, color)
    );
    if let Some(t) = verdicts_table(summary, color) {
        text.push_str(&format!("{t}\n"));
    }
    for h in &summary.health.results {
        let state = if h.healthy { "healthy" } else { "UNHEALTHY" };
        text.push_str(&format!(
            "health {} ({}): {state} after {} tr{}{}\n",
            h.policy,
            super::format::phase(h.phase),
            h.attempts.len(),
            if h.attempts.len() == 1 { "y" } else { "ies" },
            h.reason
                .as_ref()
                .map_or_else(String::new, |r| format!(": {r}"))
        ));
    }
    for p in &summary.health.probes {
        text.push_str(&format!(
            "health {} (during): {}/{} probes passed, {} outage{}\n",
            p.policy,
            p.successes,
            p.probes,
            p.outages,
            if p.outages == 1 { "" } else { "s" }
        ));
    }
    if let Some(reason) = &run.stop_reason {
        let what = match run.stop {
            StopKind::Aborted => "aborted",
            _ => "stopped",
        };
        text.push_str(&format!("{what}: {reason}\n"));
    }
    let failed: Vec<_> = summary
        .verdicts
        .iter()
        .filter(|v| v.status == Status::Fail)
        .collect();
    let verdict = if summary.passed() { "PASSED" } else { "FAILED" };
    text.push_str(verdict);
    if !failed.is_empty() {
        let list: Vec<String> = failed
            .iter()
            .map(|v| format!("{} [{}]: {}", v.name, v.scope, v.explain()))
            .collect();
        text.push_str(&format!(
            ": {} SLA verdict{} failed\n  {}",
            failed.len(),
            if failed.len() == 1 { "" } else { "s" },
            list.join("\n  ")
        ));
    }
    text.push('\n');
    text
}
