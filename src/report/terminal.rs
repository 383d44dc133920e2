//! The terminal summary: a table per endpoint (auth rows and the total below it) and the
//! verdicts, as wide as the terminal allows ([`width`]). Colour only when asked for (a
//! terminal without `NO_COLOR`); the text is otherwise identical, so tests read the plain
//! form.

use comfy_table::{
    Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, Table, Width,
    presets::UTF8_FULL_CONDENSED,
};
use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

use super::summary::{StopKind, Summary};
use crate::sla::{Status, Verdict};

/// Columns of a table off a terminal (a log, a pipe): what a CI log viewer shows unwrapped.
pub(crate) const DEFAULT_WIDTH: u16 = 100;

/// Whether standard output should be coloured: a terminal, and `NO_COLOR` unset or empty.
pub(crate) fn use_color() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Columns the terminal summary may fill: `COLUMNS`, else standard output's terminal.
pub(crate) fn width() -> u16 {
    // comfy-table reads the terminal's size only when standard output is one.
    width_from(
        std::env::var("COLUMNS").ok().as_deref(),
        Table::new().width(),
    )
}

/// `COLUMNS` when it holds a width (the user's word beats the detected size), else the
/// `terminal`'s, else [`DEFAULT_WIDTH`].
fn width_from(columns: Option<&str>, terminal: Option<u16>) -> u16 {
    columns
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|&w| w > 0)
        .or(terminal.filter(|&w| w > 0))
        .unwrap_or(DEFAULT_WIDTH)
}

/// A table as `compare` draws it: [`DEFAULT_WIDTH`] columns, colour only when asked for.
pub(crate) fn table(color: bool) -> Table {
    table_in(color, DEFAULT_WIDTH)
}

/// A table at most `width` columns wide; comfy-table wraps cells that do not fit.
fn table_in(color: bool, width: u16) -> Table {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table
}

/// Columns a table of `content` (each column's widest cell) takes: a border before each
/// column and after the last, a space either side of each cell.
fn drawn_width(content: impl IntoIterator<Item = usize>) -> usize {
    content.into_iter().map(|w| w + 3).sum::<usize>() + 1
}

/// `text` in at most `width` columns: whole when it fits, else its start and end around an
/// ellipsis (`checkout/cart/confirm` → `checkout/…/confirm`), since names of one plan often
/// share a start and tell themselves apart by their end.
fn shorten(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let room = width.saturating_sub(1);
    let head = longest(text.chars(), room.div_ceil(2));
    let tail = longest(text.chars().rev(), room - head.width());
    format!("{head}…{}", tail.chars().rev().collect::<String>())
}

/// The longest start of `chars` that fits in `width` columns.
fn longest(chars: impl Iterator<Item = char>, width: usize) -> String {
    let mut used = 0;
    chars
        .take_while(|c| {
            used += c.width().unwrap_or(0);
            used <= width
        })
        .collect()
}

const ENDPOINT_HEADER: [&str; 10] = [
    "endpoint", "reqs", "fails", "req/s", "p50", "p90", "p95", "p99", "max", "mean",
];

/// The endpoint table's columns (indices into [`ENDPOINT_HEADER`]) in the order they give
/// way when the table is wider than the terminal: `mean` first (p50 tells the typical
/// latency better), then `p90` (between p50 and p95), `max` (one request) and `p50`. The
/// name, counts, rate, p95 and p99 always stay.
const DROPPED_FIRST: [usize; 4] = [9, 5, 8, 4];

/// Name columns kept before any column is dropped: a name this long still says which
/// endpoint it is.
const NAME_KEPT: usize = 24;

/// Narrowest a name gets once every droppable column is gone.
const NAME_LEAST: usize = 8;

/// Which endpoint-table columns fit in `width`, and how wide the names may be, for cells
/// whose widest per column are `widths` (the name's first): every column at full width
/// if they fit; else names shortened down to [`NAME_KEPT`], then columns dropped in
/// [`DROPPED_FIRST`] order, then names shortened further, never below [`NAME_LEAST`].
fn fit(widths: &[usize; 10], width: usize) -> (Vec<usize>, usize) {
    let name = widths[0];
    let mut kept: Vec<usize> = (0..widths.len()).collect();
    let room = |kept: &[usize]| {
        let others = drawn_width(kept.iter().skip(1).map(|&c| widths[c]));
        // The name column's own border and spaces.
        width.saturating_sub(others + 3)
    };
    for dropped in DROPPED_FIRST {
        let room = room(&kept);
        if room >= name.min(NAME_KEPT) {
            return (kept, name.min(room));
        }
        kept.retain(|&c| c != dropped);
    }
    let room = room(&kept);
    (kept, name.min(room.max(NAME_LEAST)))
}

/// What a flow step's name is drawn after, under its flow's row.
const STEP_INDENT: &str = "  └ ";

/// The endpoint table: endpoints in plan order (a flow's steps indented under it), then
/// auth rows, then `Aggregated`; as many columns as fit in `width` ([`fit`]).
pub(crate) fn endpoints_table(summary: &Summary, color: bool, width: u16) -> Table {
    let total = super::format::TableRow {
        stats: &summary.total,
        name: "Aggregated".to_owned(),
        step: false,
    };
    let rows: Vec<(super::format::TableRow<'_>, [String; 9])> =
        super::format::endpoint_rows(summary)
            .chain([total])
            .map(|r| {
                let numbers = super::format::stats_numbers(r.stats);
                (r, numbers)
            })
            .collect();
    let indent = |step: bool| if step { STEP_INDENT.width() } else { 0 };
    let mut widths = ENDPOINT_HEADER.map(str::width);
    for (row, numbers) in &rows {
        widths[0] = widths[0].max(indent(row.step) + row.name.width());
        for (w, n) in widths[1..].iter_mut().zip(numbers) {
            *w = (*w).max(n.width());
        }
    }
    let (kept, name_width) = fit(&widths, usize::from(width));
    let mut t = table_in(color, width);
    t.set_header(kept.iter().map(|&c| ENDPOINT_HEADER[c]));
    for (row, numbers) in &rows {
        t.add_row(kept.iter().map(|&c| match c {
            // A step keeps its indent whole and loses the middle of its name, as any name.
            0 if row.step => Cell::new(format!(
                "{STEP_INDENT}{}",
                shorten(&row.name, name_width.saturating_sub(indent(true)).max(1))
            )),
            0 => Cell::new(shorten(&row.name, name_width)),
            _ => Cell::new(&numbers[c - 1]).set_alignment(CellAlignment::Right),
        }));
    }
    t
}

/// Columns the widest word of `text` takes.
fn longest_word(text: &str) -> usize {
    text.split_whitespace().map(str::width).max().unwrap_or(0)
}

/// The verdicts table, or `None` without SLA assertions.
pub(crate) fn verdicts_table(verdicts: &[Verdict], color: bool, width: u16) -> Option<Table> {
    if verdicts.is_empty() {
        return None;
    }
    let mut t = table_in(color, width);
    let header = ["", "assertion", "scope", "measured", "threshold"];
    t.set_header(header);
    // Per column, the widest word: narrower, a column would break words apart.
    let mut words = header.map(longest_word);
    let mut previous: Option<&str> = None;
    let mut rows = Vec::new();
    for v in verdicts {
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
        let texts = [
            v.status.as_str().to_owned(),
            name.to_owned(),
            v.scope.clone(),
            measured,
            format!("{} {}", v.operator.as_str().replace('_', " "), v.threshold),
        ];
        for (w, text) in words.iter_mut().zip(&texts) {
            *w = (*w).max(longest_word(text));
        }
        rows.push((status, texts));
    }
    // A scope is one word, an endpoint's name: when the columns' words cannot all fit, it
    // loses its middle, as in the endpoint table, rather than break across lines.
    let others = drawn_width([words[0], words[1], words[3], words[4]]);
    let scope_room = usize::from(width)
        .saturating_sub(others + 3)
        .clamp(NAME_LEAST, NAME_KEPT.max(usize::from(width) / 4));
    let scopes = rows.iter().map(|(_, t)| t[2].width()).max().unwrap_or(0);
    words[2] = scopes.min(scope_room);
    for (status, [_, name, scope, measured, threshold]) in rows {
        t.add_row(vec![
            status,
            Cell::new(name),
            Cell::new(shorten(&scope, scope_room)),
            Cell::new(measured),
            Cell::new(threshold),
        ]);
    }
    if drawn_width(words) <= usize::from(width)
        && let Some(column) = t.column_mut(2)
    {
        column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(
            u16::try_from(words[2] + 2).unwrap_or(u16::MAX),
        )));
    }
    // The name is what a reader looks for: it keeps its line whenever the other columns
    // can still keep their words whole; otherwise every column wraps between words.
    let name = verdicts.iter().map(|v| v.name.width()).max();
    if let Some(name) = name
        && drawn_width([words[0], name, words[2], words[3], words[4]]) <= usize::from(width)
        && let Some(column) = t.column_mut(1)
    {
        // comfy-table's widths count the cell's spaces.
        column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(
            u16::try_from(name + 2).unwrap_or(u16::MAX),
        )));
    }
    Some(t)
}

/// Failure groups the terminal lists; the rest are counted in one line.
const FAILURE_ROWS: usize = 10;

/// The most frequent failures, grouped by row, kind and message (masked when recorded),
/// or `None` without failures; and a line saying how many groups were left out.
pub(crate) fn failures_table(
    summary: &Summary,
    color: bool,
    width: u16,
) -> Option<(Table, Option<String>)> {
    if summary.failures.is_empty() {
        return None;
    }
    let failures = super::format::failures_by_count(summary);
    let mut t = table_in(color, width);
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

/// The whole terminal summary, its tables at most `width` columns wide.
pub(crate) fn summary(summary: &Summary, color: bool, width: u16) -> String {
    let run = &summary.run;
    let mut text = format!(
        "{} — {:.1}s, seed {}, latencies in ms\n{}\n",
        summary.plan.name,
        run.duration_s,
        run.seed,
        endpoints_table(summary, color, width)
    );
    if let Some((t, more)) = failures_table(summary, color, width) {
        text.push_str(&format!("{t}\n"));
        if let Some(more) = more {
            text.push_str(&format!("{more}\n"));
        }
    }
    if let Some(t) = verdicts_table(&summary.verdicts, color, width) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A scope is an endpoint's name: in 80 columns it is kept whole or loses its middle,
    /// never broken across lines.
    #[test]
    fn a_long_scope_is_shortened_not_broken_in_80_columns() {
        let mut summary = crate::report::tests::fixture();
        let long = "filter_drift_events_by_severity_and_region";
        summary.verdicts[0].scope = long.into();
        let text = verdicts_table(&summary.verdicts, false, 80)
            .unwrap()
            .to_string();
        // Its start and end on one line, around the ellipsis.
        assert!(
            text.lines()
                .any(|l| l.contains("filter_drif") && l.contains("…") && l.contains("_region")),
            "{text}"
        );
        assert!(text.lines().all(|l| l.width() <= 80), "{text}");
        let wide = verdicts_table(&summary.verdicts, false, 200)
            .unwrap()
            .to_string();
        assert!(wide.contains(long), "{wide}");
    }

    /// Issue 16: a flow's steps are rows indented under it; in 80 columns a long step name
    /// loses its middle but keeps its indent, and the table still fits.
    #[test]
    fn steps_keep_their_indent_when_names_are_shortened() {
        let mut summary = crate::report::tests::fixture();
        let step = "read_the_claim_that_was_just_created_with_its_lines";
        for r in &mut summary.rows {
            if r.name == "checkout/read" {
                r.name = format!("checkout/{step}");
            }
        }
        let wide = endpoints_table(&summary, false, 200).to_string();
        assert!(wide.contains(&format!("│   └ {step} ")), "{wide}");
        let narrow = endpoints_table(&summary, false, 80).to_string();
        assert!(narrow.lines().all(|l| l.width() <= 80), "{narrow}");
        assert!(
            narrow.lines().any(|l| l.starts_with("│   └ read_the_")
                && l.contains("…")
                && l.contains("_lines")),
            "{narrow}"
        );
        assert!(narrow.contains("│   └ create "), "{narrow}");
    }

    #[test]
    fn columns_beat_the_terminal_and_a_pipe_gets_the_default() {
        assert_eq!(width_from(Some("80"), Some(200)), 80);
        assert_eq!(width_from(Some(" 132 "), None), 132);
        assert_eq!(width_from(Some("wide"), Some(120)), 120);
        assert_eq!(width_from(Some("0"), None), DEFAULT_WIDTH);
        assert_eq!(width_from(None, None), DEFAULT_WIDTH);
    }

    #[test]
    fn names_lose_their_middle() {
        assert_eq!(
            shorten("checkout/cart/confirm", 21),
            "checkout/cart/confirm"
        );
        assert_eq!(shorten("checkout/cart/confirm", 18), "checkout/…/confirm");
        assert_eq!(shorten("get_dashboard", 8), "get_…ard");
        // Wide characters count two columns.
        assert_eq!(shorten("請求一覧を取得", 9), "請求…取得");
    }

    #[test]
    fn columns_give_way_in_order_then_names_shrink() {
        // A 30-column name with the fixture's number widths: 69 columns besides the name.
        let widths = [30, 4, 5, 5, 4, 4, 4, 4, 4, 4];
        let all: Vec<usize> = (0..10).collect();
        assert_eq!(fit(&widths, 200), (all.clone(), 30));
        assert_eq!(fit(&widths, 99), (all.clone(), 30));
        // Shortened to 24 before a column goes.
        assert_eq!(fit(&widths, 93), (all, 24));
        assert_eq!(fit(&widths, 80), (vec![0, 1, 2, 3, 4, 6, 7, 8], 25));
        assert_eq!(fit(&widths, 50), (vec![0, 1, 2, 3, 6, 7], 9));
        assert_eq!(fit(&widths, 30), (vec![0, 1, 2, 3, 6, 7], NAME_LEAST));
    }
}
