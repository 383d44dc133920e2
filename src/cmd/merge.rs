//! `loadplan merge`: the shards' summaries → one merged summary, judged, and every report
//! of it, as `run` writes them.

use std::io::Write;

use crate::cli::MergeArgs;
use crate::exit::Exit;
use crate::report::folder::ResultsDir;
use crate::report::summary::Saved;

/// Runs `loadplan merge`.
pub(super) fn run(
    args: &MergeArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let merged = args
        .summaries
        .iter()
        .map(|p| Saved::read(p))
        .collect::<Result<Vec<_>, _>>()
        .and_then(|inputs| crate::merge::merge(&inputs, args.allow_partial));
    let summary = match merged {
        Ok(s) => s,
        Err(message) => {
            writeln!(err, "error: {message}")?;
            return Ok(Exit::Invalid);
        }
    };
    let folder = ResultsDir::open(&args.out)?;
    Ok(crate::report::publish(
        &summary, &folder, args.quiet, out, err,
    ))
}
