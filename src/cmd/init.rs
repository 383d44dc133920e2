//! `loadplan init`: writes a commented starter plan that validates, and the plan schema
//! beside it for editors, never overwriting a file.

use std::io::Write;
use std::path::Path;

use crate::cli::InitArgs;
use crate::exit::Exit;
use crate::plan;

/// The starter plan `loadplan init` writes.
const STARTER_PLAN: &str = include_str!("../../examples/starter.yaml");

/// Runs `loadplan init`.
pub(super) fn run(
    args: &InitArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&args.path);
    let mut file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            writeln!(
                err,
                "error: `{}` already exists; choose another path",
                args.path.display()
            )?;
            return Ok(Exit::Invalid);
        }
        Err(e) => {
            return Err(anyhow::anyhow!(
                "cannot write `{}`: {e}",
                args.path.display()
            ));
        }
    };
    // The modeline points at a schema beside the plan, written too if missing, so editors
    // check the new plan at once, offline.
    file.write_all(
        STARTER_PLAN
            .replacen("../schema/plan.schema.json", "plan.schema.json", 1)
            .as_bytes(),
    )?;
    writeln!(out, "wrote {}", args.path.display())?;
    let schema_path = args
        .path
        .parent()
        .unwrap_or(Path::new(""))
        .join("plan.schema.json");
    if !schema_path.exists() {
        std::fs::write(&schema_path, plan::schema::PLAN_SCHEMA)
            .map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", schema_path.display()))?;
        writeln!(
            out,
            "wrote {} (editors check the plan against it)",
            schema_path.display()
        )?;
    }
    writeln!(
        out,
        "check it with `loadplan validate {}`",
        args.path.display()
    )?;
    Ok(Exit::Passed)
}
