//! The terminal summary: a table per endpoint (auth rows and the total below it) and the
//! verdicts, readable in 100 columns. Colour only when asked for (a terminal without
//! `NO_COLOR`); the text is otherwise identical, so tests read the plain form.

use comfy_table::{
    Cell, CellAlignment, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED,
};

use super::summary::{Stats, StopKind, Summary};
use crate::sla::Status;

/// Whether standard output should be coloured: a terminal, and `NO_COLOR` unset or empty.
pub(crate) fn use_color() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A table as every terminal report draws it: 100 columns, colour only when asked for.
pub(crate) fn table(color: bool) -> Table {
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
pub(crate) fn endpoints_table(summary: &Summary, color: bool) -> Table {
    let mut t = table(color);
    t.set_header([
        "endpoint", "reqs", "fails", "req/s", "p50", "p90", "p95", "p99", "max", "mean",
    ]);
    for (s, name) in super::format::endpoint_rows(summary) {
        t.add_row(stats_row(s, name));
    }
    t.add_row(stats_row(&summary.total, "Aggregated".into()));
    t
}

/// The verdicts table, or `None` without SLA assertions.
pub(crate) fn verdicts_table(summary: &Summary, color: bool) -> Option<Table> {
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

/// Failure groups the terminal lists; the rest are counted in one line.
const FAILURE_ROWS: usize = 10;

/// The most frequent failures, grouped by row, kind and message (masked when recorded),
/// or `None` without failures; and a line saying how many groups were left out.
pub(crate) fn failures_table(summary: &Summary, color: bool) -> Option<(Table, Option<String>)> {
    if summary.failures.is_empty() {
        return None;
    }
    let failures = super::format::failures_by_count(summary);
    let mut t = table(color);
    t.set_header(["fails", "request", "kind", "why"]);
    for f in failures.iter().take(FAILURE_ROWS) {
        t.add_row(vec![
            Cell::new(f.count).set_alignment(CellAlignment::Right),
            Cell::new(printable(&f.name)),
            Cell::new(&f.kind),
            Cell::new(printable(&f.message)),
        ]);
    }
    let rest = &failures[failures.len().min(FAILURE_ROWS)..];
    let more = (!rest.is_empty()).then(|| {
        let count: u64 = rest.iter().map(|f| f.count).sum();
        format!(
            "… and {} more kind{} of failure ({count} failure{}): every one is in summary.json{}",
            rest.len(),
            if rest.len() == 1 { "" } else { "s" },
            if count == 1 { "" } else { "s" },
            if summary.outputs.formats.contains(&super::OutputFormat::Csv) {
                " and failures.csv"
            } else {
                ""
            }
        )
    });
    Some((t, more))
}

/// Text from a server or a plan, safe for a terminal: control characters (escape
/// sequences that retitle the window or clear the screen) are shown escaped, not obeyed.
pub(crate) fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The verdict and each failed assertion with its measured value and threshold: all that
/// `--quiet` prints, and the end of the full summary.
pub(crate) fn verdict(summary: &Summary) -> String {
    let mut text = super::format::headline(summary);
    let failed: Vec<String> = summary
        .verdicts
        .iter()
        .filter(|v| v.status == Status::Fail)
        .map(|v| format!("  FAIL {} [{}]: {}", v.name, v.scope, v.explain()))
        .collect();
    for line in failed {
        text.push('\n');
        text.push_str(&line);
    }
    for h in summary.health.results.iter().filter(|h| !h.healthy) {
        text.push_str(&format!(
            "\n  UNHEALTHY {} ({}): {}",
            h.policy,
            super::format::phase(h.phase),
            printable(h.reason.as_deref().unwrap_or("no passing try"))
        ));
    }
    if let Some(reason) = &summary.run.stop_reason {
        let what = match summary.run.stop {
            StopKind::Aborted => "aborted",
            _ => "stopped",
        };
        text.push_str(&format!("\n  {what}: {}", printable(reason)));
    }
    text.push('\n');
    text
}

/// The whole terminal summary.
pub(crate) fn summary(summary: &Summary, color: bool) -> String {
    let run = &summary.run;
    let mut text = format!(
        "{} — {:.1}s, seed {}, latencies in ms\n{}\n",
        summary.plan.name,
        run.duration_s,
        run.seed,
        endpoints_table(summary, color)
    );
    if let Some((t, more)) = failures_table(summary, color) {
        text.push_str(&format!("{t}\n"));
        if let Some(more) = more {
            text.push_str(&format!("{more}\n"));
        }
    }
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
                .map_or_else(String::new, |r| format!(": {}", printable(r)))
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
    for note in super::format::notices(summary) {
        text.push_str(&format!("note: {}\n", printable(&note)));
    }
    text.push_str(&verdict(summary));
    text
}
