//! `loadplan schema`: prints the plan format's JSON Schema or its Markdown reference, or the
//! JSON Schema of `summary.json` or of `loadplan compare --format json`.

use std::io::Write;

use crate::cli::{SchemaArgs, SchemaFormat};
use crate::exit::Exit;
use crate::plan;

/// Runs `loadplan schema`.
pub(super) fn run(args: &SchemaArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    if args.summary {
        out.write_all(crate::report::Summary::schema().as_bytes())?;
        return Ok(Exit::Passed);
    }
    if args.compare {
        out.write_all(crate::compare::Comparison::schema().as_bytes())?;
        return Ok(Exit::Passed);
    }
    match args.format {
        SchemaFormat::Json => out.write_all(plan::schema::generate().as_bytes())?,
        SchemaFormat::Markdown => out.write_all(plan::reference::markdown().as_bytes())?,
    }
    Ok(Exit::Passed)
}
