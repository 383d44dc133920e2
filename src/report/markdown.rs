//! `summary.md`: the verdict, the verdicts table, the endpoint table and health results in
//! GitHub-flavoured Markdown (what `$GITHUB_STEP_SUMMARY` shows).

use std::fmt::Write as _;

use super::format::{bytes_numbers, stats_numbers};
use super::summary::{RunVerdict, Stats, Summary};
use crate::sla::{Status, Verdict};

/// Escapes text for a line of Markdown: `<` could open HTML, `[` a link or an image (server
/// text must not become a live "Approve the rollback" link or a tracking image), a backtick
/// code, a newline a new block; control characters are dropped.
fn inline(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect::<String>()
        .replace('\\', "\\\\")
        .replace('[', "\\[")
        .replace(']', "\\]")
        .replace('`', "\\`")
        .replace('<', "&lt;")
        .replace('\n', " ")
}

/// Escapes a table cell: [`inline`], and `|` would end the cell.
pub(crate) fn cell(text: &str) -> String {
    inline(text).replace('|', "\\|")
}

/// A table line; `name` is escaped already.
fn stats_line(out: &mut String, s: &Stats, name: &str) {
    let _ = writeln!(
        out,
        "| {name} | {} | {} |",
        stats_numbers(s).join(" | "),
        bytes_numbers(s).join(" | ")
    );
}

/// Renders `summary.md`.
pub(crate) fn render(summary: &Summary) -> String {
    let mut out = String::new();
    overview(&mut out, summary);
    verdicts_table(&mut out, "Verdicts", &summary.verdicts);
    endpoints_table(&mut out, summary);
    health_table(&mut out, summary);
    failures_table(&mut out, summary);
    out
}

/// The verdict heading, the run in one sentence, and the notices.
fn overview(out: &mut String, summary: &Summary) {
    let _ = writeln!(
        out,
        "## {} loadplan: {} — {}\n",
        match summary.verdict {
            RunVerdict::Passed => "✅",
            RunVerdict::Failed => "❌",
            RunVerdict::Interrupted => "⚠️",
            RunVerdict::Deferred => "⏸️",
        },
        cell(&summary.plan.name),
        summary.verdict.as_str()
    );
    let run = &summary.run;
    let _ = writeln!(
        out,
        "{:.1} s from {}, {} requests, {} failed, seed {}, stop: {}{}.\n",
        run.duration_s,
        run.started_at,
        summary.total.requests,
        summary.total.failures,
        run.seed,
        serde_json::to_value(run.stop)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        run.stop_reason
            .as_ref()
            .map_or_else(String::new, |r| format!(" ({})", cell(r)))
    );
    for note in super::format::notices(summary) {
        let _ = writeln!(out, "> **Note:** {}\n", inline(&note));
    }
}

/// The verdicts under a `### heading`, or nothing without verdicts.
pub(crate) fn verdicts_table(out: &mut String, heading: &str, verdicts: &[Verdict]) {
    if verdicts.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "### {heading}\n\n| | assertion | scope | measured | threshold |\n|---|---|---|---|---|\n"
    );
    for v in verdicts {
        let icon = match v.status {
            Status::Pass => "✅ PASS",
            Status::Fail => "❌ FAIL",
            Status::Skipped => "⏭️ SKIPPED",
        };
        let mut measured = format!("{} {}", v.metric, v.measured_text);
        if let Some(note) = &v.note {
            let _ = write!(measured, " ({note})");
        }
        let _ = writeln!(
            out,
            "| {icon} | {} | {} | {} | {} {} |",
            cell(&v.name),
            cell(&v.scope),
            cell(&measured),
            v.operator.as_str().replace('_', " "),
            cell(&v.threshold)
        );
    }
    out.push('\n');
}

fn endpoints_table(out: &mut String, summary: &Summary) {
    out.push_str("### Endpoints (latencies in ms)\n\n| endpoint | reqs | fails | req/s | p50 | p90 | p95 | p99 | max | mean | received | sent |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for row in super::format::endpoint_rows(summary) {
        let name = if row.step {
            // GitHub trims a cell's spaces but not no-break ones: the step stays indented
            // under its flow, in the rendered table and in the raw file alike.
            format!("\u{a0}\u{a0}└ {}", cell(&row.name))
        } else {
            cell(&row.name)
        };
        stats_line(out, row.stats, &name);
    }
    stats_line(out, &summary.total, "**Aggregated**");
    out.push('\n');
}

/// Health checks before and after the load, and the probes during it; nothing without any.
fn health_table(out: &mut String, summary: &Summary) {
    let h = &summary.health;
    if h.results.is_empty() && h.probes.is_empty() {
        return;
    }
    out.push_str(
        "### Health\n\n| policy | phase | result | tries | reason |\n|---|---|---|--:|---|\n",
    );
    for r in &h.results {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(&r.policy),
            super::format::phase(r.phase),
            if r.healthy {
                "✅ healthy"
            } else {
                "❌ unhealthy"
            },
            r.attempts.len(),
            cell(r.reason.as_deref().unwrap_or(""))
        );
    }
    for p in &h.probes {
        let _ = writeln!(
            out,
            "| {} | during | {}/{} probes passed | {} | {} outage(s) |",
            cell(&p.policy),
            p.successes,
            p.probes,
            p.probes,
            p.outages
        );
    }
    out.push('\n');
}

/// The 20 most frequent failure groups.
fn failures_table(out: &mut String, summary: &Summary) {
    if summary.failures.is_empty() {
        return;
    }
    out.push_str("### Failures\n\n| request | kind | message | count |\n|---|---|---|--:|\n");
    for f in super::format::failures_by_count(summary).iter().take(20) {
        let _ = writeln!(
            out,
            "| {} {} | {} | {} | {} |",
            f.method,
            cell(&f.name),
            f.kind,
            cell(&f.message),
            f.count
        );
    }
    out.push('\n');
}
