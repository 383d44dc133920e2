//! `loadplan report`: reads a saved `summary.json` and writes every report again, byte for
//! byte as the run wrote them, exiting with the code its stored verdicts give.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::ReportArgs;
use crate::exit::Exit;

/// Runs `loadplan report`: every report again from a saved summary.
pub(super) fn run(
    args: &ReportArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let text = match std::fs::read_to_string(&args.summary) {
        Ok(t) => t,
        Err(e) => {
            writeln!(err, "error: cannot read `{}`: {e}", args.summary.display())?;
            return Ok(Exit::Invalid);
        }
    };
    let mut summary = match crate::report::Summary::from_json(&text) {
        Ok(s) => s,
        Err(e) => {
            writeln!(
                err,
                "error: `{}` is not a loadplan summary: {e:#}",
                args.summary.display()
            )?;
            return Ok(Exit::Invalid);
        }
    };
    if let Some(prefix) = &args.csv_prefix {
        summary.outputs.csv_prefix = Some(prefix.clone());
    }
    let dir = args.out.clone().unwrap_or_else(|| {
        args.summary
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    });
    let mut exit = summary.exit();
    match crate::report::folder::ResultsDir::open(&dir) {
        Ok(dir) => {
            if let Err(e) = crate::report::write_all(&summary, &dir) {
                writeln!(err, "error: cannot write the reports: {e:#}")?;
                exit = exit.worst(Exit::ToolError);
            }
        }
        Err(e) => {
            writeln!(err, "error: {e}")?;
            exit = exit.worst(Exit::ToolError);
        }
    }
    let color = crate::report::terminal::use_color();
    out.write_all(
        if args.quiet {
            crate::report::terminal::verdict(&summary)
        } else {
            crate::report::terminal::summary(&summary, color, crate::report::terminal::width())
        }
        .as_bytes(),
    )?;
    Ok(exit)
}
