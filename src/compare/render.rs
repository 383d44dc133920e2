//! A [`Comparison`] for people: the terminal (comfy-table, like the run's summary) and
//! Markdown (a pull-request comment or `$GITHUB_STEP_SUMMARY`). Both show the same text,
//! built once here: an overview with a line per row and a cell per figure (its change and
//! a mark for its verdict), then every figure that regressed or improved in full.

use std::fmt::Write as _;

use comfy_table::{Cell, CellAlignment, Color};

use super::{Comparison, Figure, FigureChange, Presence, RowComparison, Verdict};
use crate::report::format::ms_text;
use crate::report::markdown::cell;
use crate::report::terminal::printable;

const HEADER: [&str; 10] = [
    "row", "reqs", "errors", "req/s", "p50", "p90", "p95", "p99", "max", "mean",
];

const DETAIL_HEADER: [&str; 7] = [
    "row",
    "figure",
    "baseline",
    "new",
    "change",
    "95% interval",
    "verdict",
];

fn mark(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Regressed => "✗",
        Verdict::Improved => "✓",
        Verdict::Unchanged => "=",
        Verdict::Inconclusive => "?",
    }
}

fn legend(c: &Comparison) -> String {
    format!(
        "✗ regressed  ✓ improved  = unchanged  ? inconclusive (too few samples, or the change \
         is inside the noise)\nchanges under {:.0}%, {} or {:.1} points of error rate do not \
         count; gating: {}",
        c.settings.threshold * 100.0,
        ms_text(c.settings.noise_ms),
        c.settings.error_noise * 100.0,
        gating(c)
    )
}

fn gating(c: &Comparison) -> String {
    let names: Vec<&str> = c.settings.fail_on.iter().map(|f| f.as_str()).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// A figure's value in its unit: `20.6ms`, `1.62%`, `40.7/s`.
fn value(figure: Figure, v: f64) -> String {
    match figure {
        Figure::Requests => format!("{v:.0}"),
        Figure::ErrorRate => format!("{:.2}%", v * 100.0),
        Figure::Rps => format!("{v:.1}/s"),
        _ => ms_text(v),
    }
}

/// A change in the figure's unit: `+10.3ms`, `+1.20pp` (percentage points), `-4.0/s`.
fn change(figure: Figure, c: f64) -> String {
    let sign = if c < 0.0 { "-" } else { "+" };
    match figure {
        Figure::Requests => format!("{c:+.0}"),
        Figure::ErrorRate => format!("{c:+.2}pp", c = c * 100.0),
        Figure::Rps => format!("{c:+.1}/s"),
        _ => format!("{sign}{}", ms_text(c.abs())),
    }
}

/// An overview cell: the relative change (the change itself where there is no relative
/// one, and always for the error rate, in points with one decimal) and the verdict's mark.
fn overview_cell(f: &FigureChange) -> String {
    let Some(c) = f.change else {
        return "-".into();
    };
    let text = match (f.figure, f.relative_change) {
        (Figure::ErrorRate, _) => format!("{:+.1}pp", c * 100.0),
        (_, None) => change(f.figure, c),
        (_, Some(r)) => format!("{:+.0}%", r * 100.0),
    };
    // No space before the mark: ten columns must fit in 100.
    f.verdict
        .map_or(text.clone(), |v| format!("{text}{}", mark(v)))
}

fn requests_cell(row: &RowComparison) -> String {
    let requests = row.figure(Figure::Requests);
    let side = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.0}"));
    format!(
        "{}→{}",
        side(requests.and_then(|f| f.baseline)),
        side(requests.and_then(|f| f.new))
    )
}

fn row_name(row: &RowComparison) -> String {
    match row.presence {
        Presence::Both => row.name.clone(),
        Presence::Added => format!("{} (added)", row.name),
        Presence::Removed => format!("{} (removed)", row.name),
    }
}

/// The rows people read: every row with requests in either run (`--only` and weight 0 leave
/// rows without any; JSON keeps them), then the aggregate.
fn all_rows(c: &Comparison) -> impl Iterator<Item = &RowComparison> {
    let ran = |r: &&RowComparison| {
        r.figure(Figure::Requests)
            .is_some_and(|f| f.baseline.unwrap_or(0.0) + f.new.unwrap_or(0.0) > 0.0)
    };
    c.rows.iter().filter(ran).chain(std::iter::once(&c.total))
}

/// A line of the overview: the row's name, then a cell per column after it, each with the
/// verdict that colours it.
type OverviewLine = (String, Vec<(String, Option<Verdict>)>);

fn overview(c: &Comparison) -> Vec<OverviewLine> {
    all_rows(c)
        .map(|row| {
            let mut cells = vec![(requests_cell(row), None)];
            cells.extend(
                row.figures
                    .iter()
                    .filter(|f| f.figure != Figure::Requests)
                    .map(|f| (overview_cell(f), f.verdict)),
            );
            (row_name(row), cells)
        })
        .collect()
}

/// Every figure that regressed or improved, in full: row, figure, baseline, new, change
/// with its relative change, interval, verdict.
fn details(c: &Comparison) -> Vec<([String; 7], Verdict)> {
    let mut lines = Vec::new();
    for row in all_rows(c) {
        for f in &row.figures {
            let Some(v @ (Verdict::Regressed | Verdict::Improved)) = f.verdict else {
                continue;
            };
            let (Some(b), Some(n), Some(delta), Some(i)) =
                (f.baseline, f.new, f.change, f.interval)
            else {
                continue;
            };
            let mut text = change(f.figure, delta);
            if let Some(r) = f.relative_change {
                let _ = write!(text, " ({:+.0}%)", r * 100.0);
            }
            let verdict = if f.gates {
                format!("{} (gates)", v.as_str())
            } else {
                v.as_str().to_owned()
            };
            lines.push((
                [
                    row.name.clone(),
                    f.figure.as_str().to_owned(),
                    value(f.figure, b),
                    value(f.figure, n),
                    text,
                    format!("{} … {}", change(f.figure, i.low), change(f.figure, i.high)),
                    verdict,
                ],
                v,
            ));
        }
    }
    lines
}

/// `REGRESSED — …` with each gating figure that regressed, or `NO REGRESSION — …` with
/// how the gating figures came out.
fn headline(c: &Comparison) -> String {
    if !c.assertions.is_empty() {
        return assertions_headline(&c.assertions);
    }
    let gated = || {
        all_rows(c).flat_map(|r| {
            r.figures
                .iter()
                .filter(|f| f.gates && f.verdict.is_some())
                .map(move |f| (r, f))
        })
    };
    if c.regressed {
        let what: Vec<String> = gated()
            .filter(|(_, f)| f.verdict == Some(Verdict::Regressed))
            .map(|(r, f)| {
                format!(
                    "{} {} {}",
                    r.name,
                    f.figure.as_str(),
                    f.change.map_or_else(String::new, |d| change(f.figure, d))
                )
            })
            .collect();
        return format!("REGRESSED — {}", what.join(", "));
    }
    let count = |v: Verdict| gated().filter(|(_, f)| f.verdict == Some(v)).count();
    format!(
        "NO REGRESSION in {} — {} improved, {} unchanged, {} inconclusive",
        gating(c),
        count(Verdict::Improved),
        count(Verdict::Unchanged),
        count(Verdict::Inconclusive)
    )
}

/// `FAILED — 1 of 2 relative assertions: p95 regressed (get_dashboard)`.
fn assertions_headline(verdicts: &[crate::sla::Verdict]) -> String {
    let failed: Vec<String> = verdicts
        .iter()
        .filter(|v| v.status == crate::sla::Status::Fail)
        .map(|v| format!("{} ({})", v.name, v.scope))
        .collect();
    if failed.is_empty() {
        let skipped = verdicts
            .iter()
            .filter(|v| v.status == crate::sla::Status::Skipped)
            .count();
        format!(
            "PASSED — {} relative assertion{} held, {skipped} skipped",
            verdicts.len() - skipped,
            if verdicts.len() - skipped == 1 {
                ""
            } else {
                "s"
            }
        )
    } else {
        format!(
            "FAILED — {} of {} relative assertions: {}",
            failed.len(),
            verdicts.len(),
            failed.join(", ")
        )
    }
}

/// `, shard 2/4` or `, merged from 4 shards` (`, merged from shards 1, 3 of 4` when partial).
fn made_of(s: &super::Side) -> String {
    match (&s.shard, &s.merged) {
        (Some(k), _) => format!(", shard {}/{}", k.index, k.count),
        (None, Some(m)) if m.missing.is_empty() => format!(", merged from {} shards", m.count),
        (None, Some(m)) => {
            let list: Vec<String> = m.shards.iter().map(u32::to_string).collect();
            format!(", merged from shards {} of {}", list.join(", "), m.count)
        }
        (None, None) => String::new(),
    }
}

fn sides(c: &Comparison) -> [String; 2] {
    let side = |label: &str, s: &super::Side| {
        format!(
            "{label} {} (plan {}{}, started {}, {:.1} s, {} requests)",
            s.file,
            s.plan,
            made_of(s),
            s.started_at,
            s.duration_s,
            s.requests
        )
    };
    [side("baseline:", &c.baseline), side("new:     ", &c.new)]
}

fn colour(cell: Cell, verdict: Option<Verdict>, color: bool) -> Cell {
    match verdict {
        Some(Verdict::Regressed) if color => cell.fg(Color::Red),
        Some(Verdict::Improved) if color => cell.fg(Color::Green),
        _ => cell,
    }
}

/// The terminal text of a comparison.
pub(crate) fn terminal(c: &Comparison, color: bool) -> String {
    let mut text = String::new();
    for line in sides(c) {
        let _ = writeln!(text, "{}", printable(&line));
    }
    for w in &c.warnings {
        let _ = writeln!(text, "warning: {}", printable(w));
    }
    let mut t = crate::report::terminal::table(color);
    t.set_header(HEADER);
    for (name, cells) in overview(c) {
        let mut line = vec![Cell::new(printable(&name))];
        line.extend(
            cells
                .into_iter()
                .map(|(s, v)| colour(Cell::new(s).set_alignment(CellAlignment::Right), v, color)),
        );
        t.add_row(line);
    }
    let _ = writeln!(text, "{t}\n{}", legend(c));
    let details = details(c);
    if !details.is_empty() {
        let mut t = crate::report::terminal::table(color);
        t.set_header(DETAIL_HEADER);
        for (cells, v) in details {
            let last = cells.len() - 1;
            t.add_row(cells.into_iter().enumerate().map(|(i, s)| {
                let cell = Cell::new(printable(&s));
                if i == last {
                    colour(cell, Some(v), color)
                } else {
                    cell
                }
            }));
        }
        let _ = writeln!(text, "{t}");
    }
    let width = crate::report::terminal::width();
    if let Some(t) = crate::report::terminal::verdicts_table(&c.assertions, color, width) {
        let _ = writeln!(text, "{t}");
    }
    let _ = writeln!(text, "{}", headline(c));
    text
}

/// The Markdown of a comparison, for a pull-request comment or `$GITHUB_STEP_SUMMARY`.
pub(crate) fn markdown(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## {} loadplan compare: {}\n",
        if c.failed() { "❌" } else { "✅" },
        cell(&headline(c))
    );
    for line in sides(c) {
        let _ = writeln!(out, "{}  ", cell(&line));
    }
    out.push('\n');
    for w in &c.warnings {
        let _ = writeln!(out, "> **Warning:** {}\n", cell(w));
    }
    let _ = writeln!(
        out,
        "| {} |\n|---|{}",
        HEADER.join(" | "),
        "--:|".repeat(HEADER.len() - 1)
    );
    for (name, cells) in overview(c) {
        let cells: Vec<String> = cells.iter().map(|(s, _)| cell(s)).collect();
        let _ = writeln!(out, "| {} | {} |", cell(&name), cells.join(" | "));
    }
    let legend: Vec<String> = legend(c).lines().map(cell).collect();
    let _ = writeln!(out, "\n{}\n", legend.join("  \n"));
    let details = details(c);
    if !details.is_empty() {
        let _ = writeln!(
            out,
            "### Changes\n\n| {} |\n|---|---|--:|--:|--:|--:|---|",
            DETAIL_HEADER.join(" | ")
        );
        for (cells, _) in details {
            let cells: Vec<String> = cells.iter().map(|s| cell(s)).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out.push('\n');
    }
    crate::report::markdown::verdicts_table(
        &mut out,
        "Relative assertions of the plan",
        &c.assertions,
    );
    out
}
