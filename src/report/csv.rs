//! Locust-compatible CSV files (the headers and content Locust 2.47 writes by default), so
//! dashboards and scripts that read Locust's `--csv` output keep working: `stats.csv`,
//! `stats_history.csv`, `failures.csv`, `exceptions.csv`. `tests/fixtures/locust/` holds
//! files Locust itself wrote, and a test holds ours to their shape.
//!
//! Conventions copied from Locust (its `stats.py`): CRLF line ends and minimal quoting
//! (Python's `csv` module); only rows that had requests, sorted by name then method, with
//! `Aggregated` (empty type) last; median and percentiles as whole milliseconds (ours
//! rounded from the HDR values, not Locust's two significant digits); average, min and max
//! response time, content size (decoded body bytes) and rates as Python prints floats;
//! `N/A` percentiles for an `Aggregated` without requests; first and last seen in whole
//! seconds. The history has the `Aggregated` row per second, and every row's too with
//! `outputs.csv_full_history` (Locust's `--csv-full-history`), with that second's
//! percentiles.

use super::ReportError;
use super::format::{parse_rfc3339, py_float};
use super::summary::{Stats, Summary};
use super::terminal::printable;
use crate::metrics::{Percentiles, RowPoint};

/// `stats.csv` header.
pub(crate) const STATS_HEADER: &str = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";
/// `stats_history.csv` header.
pub(crate) const HISTORY_HEADER: &str = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size";
/// `failures.csv` header.
pub(crate) const FAILURES_HEADER: &str = "Method,Name,Error,Occurrences,First Seen,Last Seen";
/// `exceptions.csv` header.
pub(crate) const EXCEPTIONS_HEADER: &str = "Count,Message,Traceback,Nodes";

/// Whole milliseconds, rounded to nearest (within 1 ms of the HDR value).
fn int_ms(ms: f64) -> String {
    format!("{:.0}", ms.round())
}

fn percentile_cells(p: &Percentiles) -> Vec<String> {
    [
        p.p50, p.p66, p.p75, p.p80, p.p90, p.p95, p.p98, p.p99, p.p99_9, p.p99_99, p.p100,
    ]
    .iter()
    .map(|v| v.map_or_else(|| "0".to_owned(), int_ms))
    .collect()
}

const NA: [&str; 11] = ["N/A"; 11];

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new())
}

fn header(w: &mut csv::Writer<Vec<u8>>, header: &str) -> csv::Result<()> {
    w.write_record(header.split(','))
}

fn finish(w: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, ReportError> {
    // Writing into a Vec cannot fail; flushing the last record is all into_inner does.
    w.into_inner()
        .map_err(|e| ReportError::Csv(e.into_error().into()))
}

/// Rows sorted as Locust sorts entries: by name, then method.
fn sorted(rows: &[Stats]) -> Vec<&Stats> {
    let mut rows: Vec<&Stats> = rows.iter().collect();
    rows.sort_by(|a, b| (&a.name, &a.method).cmp(&(&b.name, &b.method)));
    rows
}

fn stats_record(s: &Stats) -> Vec<String> {
    let mut cells = vec![
        s.method.clone(),
        s.name.clone(),
        s.requests.to_string(),
        s.failures.to_string(),
    ];
    match &s.latency {
        Some(l) => {
            cells.extend([
                l.percentiles.p50.map_or_else(|| "0".into(), int_ms),
                py_float(l.mean_ms),
                py_float(l.min_ms),
                py_float(l.max_ms),
                py_float(s.body_bytes as f64 / s.requests.max(1) as f64),
                py_float(s.rps),
                py_float(s.failures_per_s),
            ]);
            cells.extend(percentile_cells(&l.percentiles));
        }
        None => {
            cells.extend(["0", "0.0", "0", "0", "0", "0.0", "0.0"].map(String::from));
            cells.extend(NA.map(String::from));
        }
    }
    cells
}

/// `stats.csv`: every row that had requests (sorted), then `Aggregated`.
pub(crate) fn stats_csv(summary: &Summary) -> Result<Vec<u8>, ReportError> {
    let mut w = writer();
    header(&mut w, STATS_HEADER)?;
    for s in sorted(&summary.rows)
        .into_iter()
        .filter(|s| s.requests > 0)
        .chain(std::iter::once(&summary.total))
    {
        w.write_record(stats_record(s))?;
    }
    finish(w)
}

fn history_record(
    timestamp: u64,
    users: u64,
    method: &str,
    name: &str,
    p: &RowPoint,
) -> Vec<String> {
    let c = &p.cumulative;
    let mut cells = vec![
        timestamp.to_string(),
        users.to_string(),
        method.to_owned(),
        name.to_owned(),
        format!("{:.6}", p.rps),
        format!("{:.6}", p.fps),
    ];
    if c.requests == 0 {
        cells.extend(NA.map(String::from));
    } else {
        cells.extend(percentile_cells(&p.percentiles));
    }
    cells.extend([
        c.requests.to_string(),
        c.failures.to_string(),
        c.median_ms.map_or_else(|| "0".into(), int_ms),
        c.mean_ms.map_or_else(|| "0.0".into(), py_float),
        c.min_ms.map_or_else(|| "0".into(), py_float),
        c.max_ms.map_or_else(|| "0".into(), py_float),
        c.avg_content_size.map_or_else(|| "0".into(), py_float),
    ]);
    cells
}

/// `stats_history.csv`: per second, `Aggregated`, after each row that has had requests
/// (sorted) with `outputs.csv_full_history`. Timestamps are Unix seconds of the end of
/// each second.
pub(crate) fn history_csv(summary: &Summary) -> Result<Vec<u8>, ReportError> {
    let start = super::format::parse_rfc3339(&summary.run.started_at)
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs_f64());
    let mut order: Vec<usize> = if summary.outputs.csv_full_history {
        (0..summary.rows.len()).collect()
    } else {
        Vec::new()
    };
    order.sort_by(|&a, &b| {
        let (a, b) = (&summary.rows[a], &summary.rows[b]);
        (&a.name, &a.method).cmp(&(&b.name, &b.method))
    });
    let mut w = writer();
    header(&mut w, HISTORY_HEADER)?;
    // Every listed row's point of the current second: a row the point leaves out was idle,
    // with the running totals of its last point. Without full history nothing is listed,
    // so nothing is tracked.
    let tracked = if order.is_empty() {
        0
    } else {
        summary.rows.len()
    };
    let mut current = vec![RowPoint::default(); tracked];
    for point in &summary.series {
        let timestamp = (start + point.elapsed_s).floor() as u64;
        for p in &mut current {
            *p = p.idle();
        }
        for active in &point.rows {
            if let Some(p) = current.get_mut(active.row) {
                p.clone_from(&active.point);
            }
        }
        for &i in &order {
            let p = &current[i];
            if p.cumulative.requests == 0 {
                continue;
            }
            let row = &summary.rows[i];
            w.write_record(history_record(
                timestamp,
                point.users,
                &row.method,
                &row.name,
                p,
            ))?;
        }
        w.write_record(history_record(
            timestamp,
            point.users,
            "",
            "Aggregated",
            &point.total,
        ))?;
    }
    finish(w)
}

/// `failures.csv`: one row per distinct (row, message), sorted by name, method, then most
/// frequent first; first and last seen as RFC 3339 times in whole seconds. Control characters
/// in a server's text are escaped as on the terminal: a file opened with `cat` or in a
/// spreadsheet must not obey them.
pub(crate) fn failures_csv(summary: &Summary) -> Result<Vec<u8>, ReportError> {
    let mut failures: Vec<_> = summary.failures.iter().collect();
    failures.sort_by(|a, b| {
        (&a.name, &a.method, std::cmp::Reverse(a.count), &a.message).cmp(&(
            &b.name,
            &b.method,
            std::cmp::Reverse(b.count),
            &b.message,
        ))
    });
    let mut w = writer();
    header(&mut w, FAILURES_HEADER)?;
    for f in failures {
        w.write_record([
            f.method.clone(),
            printable(&f.name),
            printable(&f.message),
            f.count.to_string(),
            seconds_after(&summary.run.started_at, f.first_seen_s),
            seconds_after(&summary.run.started_at, f.last_seen_s),
        ])?;
    }
    finish(w)
}

/// `base` + `seconds` as RFC 3339 in whole seconds (truncated, as Locust's `int()` does).
fn seconds_after(base: &str, seconds: f64) -> String {
    // A hand-edited summary may hold any number: never panic on it.
    parse_rfc3339(base)
        .and_then(|t| t.checked_add(std::time::Duration::try_from_secs_f64(seconds.max(0.0)).ok()?))
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .unwrap_or_default()
}

/// `exceptions.csv`: tool-side errors (requests that could not be rendered from their
/// templates), by message, most frequent first; no traceback, node `local`.
pub(crate) fn exceptions_csv(summary: &Summary) -> Result<Vec<u8>, ReportError> {
    let mut by_message: std::collections::BTreeMap<&str, u64> = Default::default();
    for f in summary.failures.iter().filter(|f| f.kind == "template") {
        *by_message.entry(f.message.as_str()).or_default() += f.count;
    }
    let mut list: Vec<(&str, u64)> = by_message.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut w = writer();
    header(&mut w, EXCEPTIONS_HEADER)?;
    for (message, count) in list {
        w.write_record([
            count.to_string(),
            message.to_owned(),
            String::new(),
            "local".into(),
        ])?;
    }
    finish(w)
}

/// The four files, unprefixed names.
pub(crate) fn render(summary: &Summary) -> Result<Vec<(String, Vec<u8>)>, ReportError> {
    Ok(vec![
        ("stats.csv".into(), stats_csv(summary)?),
        ("stats_history.csv".into(), history_csv(summary)?),
        ("failures.csv".into(), failures_csv(summary)?),
        ("exceptions.csv".into(), exceptions_csv(summary)?),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn seen_times_are_whole_seconds_truncated() {
        let start = "2023-11-14T22:13:20.123Z";
        assert_eq!(super::seconds_after(start, 1.5), "2023-11-14T22:13:21Z");
        assert_eq!(super::seconds_after(start, 0.0), "2023-11-14T22:13:20Z");
        assert_eq!(super::seconds_after(start, 1e300), "", "never a panic");
        assert_eq!(super::seconds_after("not a time", 1.0), "");
    }
}
