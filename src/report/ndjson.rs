//! `metrics.ndjson`: one JSON line per second with every row's and the overall figures of
//! that second, for live dashboards that tail the file; its `time` is the wall-clock end of
//! the second (RFC 3339, UTC, milliseconds), the run's start plus `elapsed_s`. [`LiveWriter`] appends each line as
//! the run goes (flushed every second); at the end the file is rendered again from the
//! summary's series, which holds the same points plus the last partial one, so the file is
//! the same whether written live, at the end, or by `loadplan report`.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::format::{parse_rfc3339, rfc3339};
use super::summary::Summary;
use crate::metrics::{RowKey, RowPoint, SeriesPoint};

fn row_value(name: &str, method: &str, p: &RowPoint) -> Value {
    let mut v = json!({ "name": name, "method": method });
    if let (Value::Object(map), Ok(Value::Object(point))) = (&mut v, serde_json::to_value(p)) {
        map.extend(point);
    }
    v
}

/// One line (with its newline) for a series point of a run that started at `start` (as
/// `summary.json` writes it, to the millisecond): the rows that had requests in it, named
/// from `rows` (every row of the run, in index order), then the total.
pub(crate) fn line(rows: &[RowKey], start: SystemTime, point: &SeriesPoint) -> String {
    let time = Duration::try_from_secs_f64(point.elapsed_s)
        .ok()
        .and_then(|d| start.checked_add(d))
        .map_or(Value::Null, |t| Value::String(rfc3339(t)));
    let value = json!({
        "time": time,
        "elapsed_s": point.elapsed_s,
        "interval_s": point.interval_s,
        "users": point.users,
        "dropped_iterations": point.dropped_iterations,
        "rows": point
            .rows
            .iter()
            .filter_map(|a| rows.get(a.row).map(|k| row_value(&k.name, &k.method, &a.point)))
            .collect::<Vec<_>>(),
        "total": row_value("Aggregated", "", &point.total),
    });
    let mut text = value.to_string();
    text.push('\n');
    text
}

/// The whole file from a summary's series.
pub(crate) fn render(summary: &Summary) -> String {
    let keys: Vec<RowKey> = summary
        .rows
        .iter()
        .map(|r| RowKey::new(r.name.clone(), r.method.clone()))
        .collect();
    let start = parse_rfc3339(&summary.run.started_at).unwrap_or(SystemTime::UNIX_EPOCH);
    summary
        .series
        .iter()
        .map(|p| line(&keys, start, p))
        .collect()
}

/// `started_at` as `summary.json` writes it, to the millisecond, so the live lines' times
/// are the final render's.
fn as_written(started_at: SystemTime) -> SystemTime {
    parse_rfc3339(&rfc3339(started_at)).unwrap_or(started_at)
}

/// Appends lines to `metrics.ndjson` while the run goes.
#[derive(Debug)]
pub(crate) struct LiveWriter {
    file: std::fs::File,
    rows: Vec<RowKey>,
    start: SystemTime,
    written: usize,
}

impl LiveWriter {
    /// Creates (truncates) the file for a run that starts at `started_at`.
    pub(crate) fn create(
        path: &Path,
        rows: Vec<RowKey>,
        started_at: SystemTime,
    ) -> std::io::Result<Self> {
        Ok(Self {
            file: std::fs::File::create(path)?,
            rows,
            start: as_written(started_at),
            written: 0,
        })
    }

    /// Writes the points of `series` not written yet, then flushes. Errors are returned once
    /// and the caller may stop calling: a live file is a convenience, the final render is
    /// what counts.
    pub(crate) fn write_new(&mut self, series: &[SeriesPoint]) -> std::io::Result<()> {
        let mut text = String::new();
        for point in series.iter().skip(self.written) {
            text.push_str(&line(&self.rows, self.start, point));
        }
        self.written = series.len();
        self.file.write_all(text.as_bytes())?;
        self.file.flush()
    }
}
