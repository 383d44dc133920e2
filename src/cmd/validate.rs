//! `loadplan validate`: checks plan files and folders (YAML syntax, schema, meaning; with
//! `--env`, unset environment variables too) without sending anything, and prints every
//! problem at once in the chosen format.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::ValidateArgs;
use crate::exit::Exit;
use crate::plan::{self, SCHEMA_MODELINE, diagnostic};

/// Runs `loadplan validate`: human diagnostics go to `err`, machine formats to `out`.
pub(super) fn run(
    args: &ValidateArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let overrides = super::overrides(&args.plan);
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for path in &args.paths {
        if path.is_dir() {
            collect_plans(path, &mut files, &mut skipped)?;
        } else if args.plans_only && !is_plan(path) {
            skipped.push(path.clone());
        } else {
            files.push(path.clone());
        }
    }
    let mut all = Vec::new();
    for file in &files {
        match plan::load(file, &overrides) {
            Err(diags) => all.extend(diags),
            Ok(p) if args.env => all.extend(plan::missing_env(&p, &plan::run_pointers(&p))),
            Ok(_) => {}
        }
    }
    let text = diagnostic::render(&all, args.format);
    use diagnostic::DiagnosticFormat::{Github, Human, Json};
    // Machine formats are the command's output: `> annotations.txt` must capture them.
    match args.format {
        Json | Github => out.write_all(text.as_bytes())?,
        Human => err.write_all(text.as_bytes())?,
    }
    if args.format != Json {
        for s in &skipped {
            writeln!(
                err,
                "skipped {} (no `{SCHEMA_MODELINE}…` line)",
                s.display()
            )?;
        }
    }
    if args.format == Human {
        let bad: std::collections::BTreeSet<&str> = all.iter().map(|d| d.file.as_str()).collect();
        writeln!(
            err,
            "{} of {} plan{} valid, {} problem{}",
            files.len() - bad.len(),
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            all.len(),
            if all.len() == 1 { "" } else { "s" }
        )?;
    }
    // A commit that touches only other YAML (workflows, compose files) has nothing to check.
    if files.is_empty() && !args.plans_only {
        writeln!(
            err,
            "no plans found (plans start with `{SCHEMA_MODELINE}…`)"
        )?;
        return Ok(Exit::Invalid);
    }
    Ok(if all.is_empty() {
        Exit::Passed
    } else {
        Exit::Invalid
    })
}

/// Every YAML file below `dir` (sorted): plans (with the modeline) and the rest.
fn collect_plans(
    dir: &Path,
    plans: &mut Vec<PathBuf>,
    skipped: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_plans(&path, plans, skipped)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            if is_plan(&path) {
                plans.push(path);
            } else {
                skipped.push(path);
            }
        }
    }
    Ok(())
}

/// Whether a file is a plan: the plan-schema modeline is among its first five lines.
fn is_plan(path: &Path) -> bool {
    let head = std::fs::read(path)
        .map(|b| b.into_iter().take(4096).collect::<Vec<u8>>())
        .unwrap_or_default();
    String::from_utf8_lossy(&head)
        .lines()
        .take(5)
        .any(|l| l.starts_with(SCHEMA_MODELINE))
}
