//! Number and time formatting shared by every report, so the terminal, Markdown, HTML and
//! JUnit show the same text for the same value.

use std::time::SystemTime;

/// Milliseconds for people: three significant figures or whole ms (`712ms`, `41.3ms`,
/// `0.84ms`).
pub(crate) fn ms_text(ms: f64) -> String {
    format!("{}ms", ms_number(ms))
}

/// [`ms_text`] without the unit.
pub(crate) fn ms_number(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.2}")
    }
}

/// An optional latency in ms for a table cell: `-` without data.
pub(crate) fn ms_cell(ms: Option<f64>) -> String {
    ms.map_or_else(|| "-".to_owned(), ms_number)
}

/// A float as Python's `repr` writes it (what Locust's CSV writer prints): the shortest text
/// that reads back to the same value, with `.0` on whole numbers.
pub(crate) fn py_float(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let text = format!("{v}");
    if text.contains('.') || text.contains('e') {
        text
    } else {
        format!("{text}.0")
    }
}

/// A wall-clock time as RFC 3339 UTC with milliseconds (`2025-01-31T12:00:00.123Z`).
pub(crate) fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Parses [`rfc3339`]'s text back; `None` if it is not such a time.
pub(crate) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text).ok()
}

/// A health phase as plans and reports write it (`before`, `after`, `standalone`).
pub(crate) fn phase(p: crate::health::Phase) -> &'static str {
    match p {
        crate::health::Phase::Before => "before",
        crate::health::Phase::After => "after",
        crate::health::Phase::Standalone => "standalone",
    }
}

/// One endpoint line's numbers, as the terminal and Markdown tables show them: requests,
/// failures, req/s, p50, p90, p95, p99, max, mean (latencies in ms).
pub(crate) fn stats_numbers(s: &super::summary::Stats) -> [String; 9] {
    let lat = s.latency.as_ref();
    let p = |f: fn(&super::summary::Latency) -> Option<f64>| ms_cell(lat.and_then(f));
    [
        s.requests.to_string(),
        s.failures.to_string(),
        format!("{:.1}", s.rps),
        p(|l| l.percentiles.p50),
        p(|l| l.percentiles.p90),
        p(|l| l.percentiles.p95),
        p(|l| l.percentiles.p99),
        p(|l| Some(l.max_ms)),
        p(|l| Some(l.mean_ms)),
    ]
}

/// One endpoint line's data, as Markdown and HTML show it beside [`stats_numbers`]: bytes
/// received on the wire and bytes sent, in binary units (`1.21 MiB`).
pub(crate) fn bytes_numbers(s: &super::summary::Stats) -> [String; 2] {
    [s.bytes_in, s.bytes_out].map(|b| indicatif::HumanBytes(b).to_string())
}

/// `part` of `whole` as a percentage with two decimals (`1.62%`); `None` when `whole` is 0.
pub(crate) fn share(part: u64, whole: u64) -> Option<String> {
    (whole > 0).then(|| format!("{:.2}%", part as f64 * 100.0 / whole as f64))
}

/// The run's one-line verdict: `PASSED — 30.0s, 1234 requests, 0.00% failed`; an
/// interrupted run says that what follows was measured until then.
pub(crate) fn headline(summary: &super::Summary) -> String {
    let run = &summary.run;
    let total = &summary.total;
    let rate = share(total.failures, total.requests)
        .map_or_else(|| "none answered".to_owned(), |s| format!("{s} failed"));
    let until = match run.stop {
        super::summary::StopKind::Interrupted => " (Ctrl-C; measured until then)",
        super::summary::StopKind::Terminated => " (SIGTERM; measured until then)",
        _ => "",
    };
    format!(
        "{}{until} — {:.1}s, {} request{}, {rate}",
        summary.verdict.as_str(),
        run.duration_s,
        total.requests,
        if total.requests == 1 { "" } else { "s" },
    )
}

/// A plan hash as messages name it: its first 12 hex digits, enough to tell plans apart.
pub(crate) fn short_hash(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

/// Shards started further apart than this (seconds) are said not to have run together.
const START_SPREAD_NOTICE_S: f64 = 10.0;

/// What a reader must not miss beside the tables, one sentence each: a shard's deferred
/// verdict, a merge's shards, dropped iterations, users cut at the graceful stop, renewals
/// after a refusal, failed logins. Empty when there is none.
pub(crate) fn notices(summary: &super::Summary) -> Vec<String> {
    let run = &summary.run;
    let mut notes = Vec::new();
    if let Some(shard) = summary.shard {
        notes.push(format!(
            "shard {} of {}: the verdict is `loadplan merge`'s over every shard's summary; \
             these figures are this shard's share of the load, and its `after` health \
             checks are left to `loadplan merge --plan`, once, after all the load",
            shard.index, shard.count
        ));
    }
    if let Some(merged) = &summary.merged {
        let list = |ids: &[u32]| {
            ids.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        notes.push(if merged.missing.is_empty() {
            format!("merged from all {} shards", merged.count)
        } else {
            let one = merged.missing.len() == 1;
            format!(
                "PARTIAL: merged from shards {} of {}; shard{} {} {} missing (--allow-partial), \
                 so the figures and verdicts cover only part of the load",
                list(&merged.shards),
                merged.count,
                if one { "" } else { "s" },
                list(&merged.missing),
                if one { "is" } else { "are" }
            )
        });
    }
    if let Some(spread) = summary
        .merged
        .as_ref()
        .map(|m| m.start_spread_s)
        .filter(|s| *s > START_SPREAD_NOTICE_S)
    {
        notes.push(format!(
            "the shards started {spread:.0} s apart: they did not load the target together, \
             so the merged rates understate what each second saw"
        ));
    }
    if let Some(b) = summary.baseline.as_ref().map(|b| &b.run) {
        notes.push(format!(
            "relative assertions compared with the baseline {} (plan `{}`, sha256 {}…, \
             started {}, {} requests in {:.1} s)",
            b.file,
            b.plan,
            short_hash(&b.sha256),
            b.started_at,
            b.requests,
            b.duration_s
        ));
    }
    if run.dropped_iterations > 0 {
        notes.push(format!(
            "{} iteration{} dropped: due on the open model's schedule but not started, \
             `max_concurrency` was reached",
            run.dropped_iterations,
            if run.dropped_iterations == 1 {
                " was"
            } else {
                "s were"
            }
        ));
    }
    if run.cut_requests > 0 {
        notes.push(format!(
            "{} request{} still in flight when the graceful stop ended; \
             {} as timeouts",
            run.cut_requests,
            if run.cut_requests == 1 {
                " was"
            } else {
                "s were"
            },
            if run.cut_requests == 1 {
                "it counts"
            } else {
                "they count"
            }
        ));
    }
    let renewed: u64 = summary.rows.iter().map(|r| r.renewals_on_status).sum();
    if renewed > 0 {
        notes.push(format!(
            "{renewed} request{} refused for expired credentials, renewed and retried: each \
             counts once, as its retry",
            if renewed == 1 { " was" } else { "s were" }
        ));
    }
    let failed_logins: u64 = run.login_failures.values().sum();
    if failed_logins > 0 {
        let reasons: Vec<String> = run
            .login_failures
            .iter()
            .map(|(reason, n)| format!("{n}× {reason}"))
            .collect();
        notes.push(format!(
            "{failed_logins} login{} failed ({} succeeded): {}",
            if failed_logins == 1 { "" } else { "s" },
            run.logins,
            reasons.join("; ")
        ));
    }
    notes
}

/// One line of the endpoint table above `Aggregated`.
pub(crate) struct TableRow<'a> {
    /// Its figures.
    pub stats: &'a super::summary::Stats,
    /// Its name as shown: the endpoint's, a flow step's own (`list` of `browse/list`), or a
    /// row no endpoint owns in parentheses (`(login)`).
    pub name: String,
    /// Whether it is a flow's step, shown indented under its flow.
    pub step: bool,
}

/// The endpoint table's rows above `Aggregated`, named as every report names them: the
/// endpoints in plan order, each flow followed by its steps (stats.csv's `ENDPOINT/STEP`
/// rows; an endpoint of one request has no step row), then the rows no endpoint owns
/// (logins) in parentheses.
pub(crate) fn endpoint_rows(summary: &super::Summary) -> impl Iterator<Item = TableRow<'_>> {
    let endpoints = summary.endpoints.iter().flat_map(|e| {
        let steps = summary.rows.iter().filter_map(move |r| {
            let step = r
                .name
                .strip_prefix(e.name.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .filter(|_| r.endpoint.as_deref() == Some(e.name.as_str()))?;
            Some(TableRow {
                stats: r,
                name: step.to_owned(),
                step: true,
            })
        });
        std::iter::once(TableRow {
            stats: e,
            name: e.name.clone(),
            step: false,
        })
        .chain(steps)
    });
    let others = summary
        .rows
        .iter()
        .filter(|r| r.endpoint.is_none())
        .map(|r| TableRow {
            stats: r,
            name: format!("({})", r.name),
            step: false,
        });
    endpoints.chain(others)
}

/// The failure groups, most frequent first. Stable: equal counts keep the summary's order
/// (plan order, then frequency).
pub(crate) fn failures_by_count(summary: &super::Summary) -> Vec<&super::summary::Failure> {
    let mut failures: Vec<_> = summary.failures.iter().collect();
    failures.sort_by_key(|f| std::cmp::Reverse(f.count));
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(ms_text(712.44), "712ms");
        assert_eq!(ms_text(41.26), "41.3ms");
        assert_eq!(ms_text(0.844), "0.84ms");
        assert_eq!(py_float(12.0), "12.0");
        assert_eq!(py_float(0.1), "0.1");
        assert_eq!(py_float(2.5e-7), "0.00000025");
    }

    /// Issue 16: a flow's row is followed by one per step, named by the step alone; an
    /// endpoint of one request has no step row; logins come last.
    #[test]
    fn flows_are_followed_by_their_steps() {
        let summary = crate::report::tests::fixture();
        let rows: Vec<(String, bool, u64)> = endpoint_rows(&summary)
            .map(|r| (r.name, r.step, r.stats.requests))
            .collect();
        let names: Vec<(&str, bool)> = rows.iter().map(|(n, s, _)| (n.as_str(), *s)).collect();
        assert_eq!(
            names,
            [
                ("list_claims", false),
                ("get_dashboard", false),
                ("checkout", false),
                ("create", true),
                ("read", true),
                ("list_reports", false),
                ("(login)", false),
            ]
        );
        // The steps add up to their flow.
        assert_eq!(rows[3].2 + rows[4].2, rows[2].2);
    }

    #[test]
    fn times_round_trip() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        let text = rfc3339(t);
        assert_eq!(text, "2023-11-14T22:13:20.123Z");
        assert_eq!(parse_rfc3339(&text), Some(t));
    }
}
