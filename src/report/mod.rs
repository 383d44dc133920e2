//! Reports of a run: the terminal summary, live progress, and the files written to
//! `--out`. Everything here renders a finished [`Summary`] (never the plan file or the
//! engine), so `loadplan report` renders the same bytes from a saved `summary.json`. No
//! report carries a render timestamp for the same reason.

mod chart;
pub(crate) mod csv;
mod error;
pub(crate) mod folder;
pub(crate) mod format;
pub(crate) mod html;
pub(crate) mod junit;
pub(crate) mod markdown;
pub(crate) mod ndjson;
mod outputs;
pub(crate) mod progress;
pub(crate) mod summary;
pub(crate) mod terminal;
#[cfg(test)]
pub(crate) mod tests;

use std::path::PathBuf;

pub(crate) use error::{ReportError, SummaryError};
pub(crate) use outputs::{OutputFormat, Outputs};
pub(crate) use summary::Summary;

use crate::exit::Exit;

/// Name of the summary file in `--out`.
pub(crate) const SUMMARY_FILE: &str = "summary.json";
/// Name of the live metrics file in `--out`.
pub(crate) const NDJSON_FILE: &str = "metrics.ndjson";

/// Every file the summary's `outputs` asks for, as (file name, contents), in a fixed
/// order. `summary.json` is always among them: `loadplan report` and merges start from it.
pub(crate) fn render_files(summary: &Summary) -> Result<Vec<(String, Vec<u8>)>, ReportError> {
    let formats = &summary.outputs.formats;
    let mut files = vec![(SUMMARY_FILE.to_owned(), summary.to_json()?.into_bytes())];
    if formats.contains(&OutputFormat::Csv) {
        let prefix = summary
            .outputs
            .csv_prefix
            .as_deref()
            .map_or_else(String::new, |p| format!("{p}_"));
        for (name, bytes) in csv::render(summary)? {
            files.push((format!("{prefix}{name}"), bytes));
        }
    }
    if formats.contains(&OutputFormat::Junit) {
        files.push(("junit.xml".into(), junit::render(summary)?.into_bytes()));
    }
    if formats.contains(&OutputFormat::Html) {
        files.push(("report.html".into(), html::render(summary)?.into_bytes()));
    }
    if formats.contains(&OutputFormat::Markdown) {
        files.push(("summary.md".into(), markdown::render(summary).into_bytes()));
    }
    if formats.contains(&OutputFormat::Ndjson) {
        files.push((NDJSON_FILE.into(), ndjson::render(summary).into_bytes()));
    }
    Ok(files)
}

/// Writes every report file into `dir`; returns their paths. One file that cannot be
/// written does not stop the others; `summary.json` goes first, since `loadplan report` can
/// rebuild every other file from it.
pub(crate) fn write_all(
    summary: &Summary,
    dir: &folder::ResultsDir,
) -> Result<Vec<PathBuf>, ReportError> {
    let json = summary.to_json();
    let files = render_files(summary);
    let mut written = Vec::new();
    let mut errors = Vec::new();
    let mut write = |name: &str, bytes: &[u8]| match dir.write(name, bytes) {
        Ok(path) => written.push(path),
        Err(e) => errors.push(e.to_string()),
    };
    if let Ok(json) = &json {
        write(SUMMARY_FILE, json.as_bytes());
    }
    if let Ok(files) = &files {
        for (name, bytes) in files.iter().filter(|(n, _)| n != SUMMARY_FILE) {
            write(name, bytes);
        }
    }
    if let Err(e) = json {
        errors.push(e.to_string());
    }
    // summary.json's own failure is counted once, above.
    if let Some(e) = files
        .as_ref()
        .err()
        .filter(|e| !matches!(e, ReportError::Json(_)))
    {
        errors.push(e.to_string());
    }
    if errors.is_empty() {
        Ok(written)
    } else {
        Err(ReportError::Write(errors))
    }
}

/// Appends the Markdown summary to `$GITHUB_STEP_SUMMARY` when it is set (GitHub Actions).
pub(crate) fn append_step_summary(summary: &Summary) -> Result<(), ReportError> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    file.write_all(markdown::render(summary).as_bytes())?;
    Ok(())
}

/// The end of `loadplan run` and `loadplan report`'s counterpart: writes every report of
/// `summary` into `dir` and the step summary, then prints the terminal summary (only the
/// verdict when `quiet`). Files come before printing, and printing never fails the run: a
/// closed terminal cannot lose the results. Returns the exit code the summary calls for
/// (a report that cannot be written is a tool error, after the others were tried).
pub(crate) fn publish(
    summary: &Summary,
    dir: &folder::ResultsDir,
    quiet: bool,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Exit {
    let mut exit = summary.exit();
    let written = write_all(summary, dir);
    if let Err(e) = &written {
        let _ = writeln!(err, "error: cannot write the reports: {e:#}");
        exit = exit.worst(Exit::ToolError);
    }
    if let Err(e) = append_step_summary(summary) {
        let _ = writeln!(err, "error: {e:#}");
        exit = exit.worst(Exit::ToolError);
    }
    let text = if quiet {
        terminal::verdict(summary)
    } else {
        terminal::summary(summary, terminal::use_color(), terminal::width())
    };
    let _ = out.write_all(text.as_bytes());
    if !quiet && let Ok(files) = &written {
        let _ = writeln!(
            out,
            "reports: {} ({})",
            dir.path().display(),
            files
                .iter()
                .filter_map(|p| p.file_name()?.to_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    exit
}
