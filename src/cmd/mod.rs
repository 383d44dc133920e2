//! The application edge: runs one parsed command and decides its exit code. Each command
//! is a short pipeline over the library's stages; output goes to the given writers so
//! tests can capture it.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command, InitArgs, ReportArgs, SchemaArgs, SchemaFormat, ValidateArgs};
use crate::exit::Exit;
use crate::plan::Override;
use crate::plan::{self, SCHEMA_MODELINE, diagnostic};

mod health;
mod run;
mod signals;

/// Runs a command; `out` and `err` are standard output and error.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Exit {
    let result = match cli.command {
        Command::Validate(args) => validate(&args, out, err),
        Command::Schema(args) => schema(&args, out),
        Command::Init(args) => init(&args, out, err),
        Command::Run(args) => runtime().and_then(|rt| rt.block_on(run::run(&args, out, err))),
        Command::Report(args) => report(&args, out, err),
        Command::Health(args) => runtime().and_then(|rt| rt.block_on(health::run(&args, out, err))),
        Command::Completions(args) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut cmd, "loadplan", out);
            Ok(Exit::Passed)
        }
        Command::Man(args) => man(&args, out),
        Command::Demo(opts) => runtime().and_then(|rt| {
            rt.block_on(crate::demo::serve_foreground(opts))?;
            Ok(Exit::Passed)
        }),
    };
    result.unwrap_or_else(|e| {
        let _ = writeln!(err, "error: {e:#}");
        Exit::ToolError
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// `--demo`: starts the embedded demo API on a free loopback port and points the plan at it.
pub async fn start_demo(overrides: &mut Vec<Override>) -> anyhow::Result<crate::demo::DemoServer> {
    let server = crate::demo::DemoServer::start(crate::demo::DemoOptions {
        port: 0,
        ..Default::default()
    })
    .await
    .map_err(|e| anyhow::anyhow!("cannot start the demo API: {e}"))?;
    overrides.push(Override::new("target.base_url", &server.base_url()));
    Ok(server)
}

/// Renders `target.base_url` once for a run or a health check; a template error or a
/// result that is not an http(s) URL is a plan error (exit 2).
pub fn render_base_url(plan: &plan::CompiledPlan, err: &mut dyn Write) -> Result<String, Exit> {
    let rendered = plan
        .templates
        .render(&plan.base_url, &crate::engine::globals(plan));
    let problem = match &rendered {
        Err(e) => e.clone(),
        Ok(u) => match url::Url::parse(u.trim()) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {
                return Ok(u.trim().to_owned());
            }
            Ok(_) => format!("`{u}` is not an http or https URL"),
            Err(e) => format!("`{u}` is not a URL ({e}); write it like `http://127.0.0.1:8000`"),
        },
    };
    let _ = writeln!(err, "{}: target.base_url: {problem}", plan.file);
    Err(Exit::Invalid)
}

/// Refuses a plan whose templates under `pointers` read unset environment variables
/// without a fallback, printing each one at its template (exit 2).
pub fn require_env(
    plan: &plan::CompiledPlan,
    pointers: &[String],
    err: &mut dyn Write,
) -> Result<(), Exit> {
    let missing = plan::missing_env(plan, pointers);
    if missing.is_empty() {
        return Ok(());
    }
    let _ =
        err.write_all(diagnostic::render(&missing, diagnostic::DiagnosticFormat::Human).as_bytes());
    Err(Exit::Invalid)
}

/// Loads a plan with overrides, printing its diagnostics on failure.
pub fn load_plan(
    path: &Path,
    overrides: &[Override],
    err: &mut dyn Write,
) -> Result<plan::CompiledPlan, Exit> {
    plan::load(path, overrides).map_err(|diags| {
        let _ = err
            .write_all(diagnostic::render(&diags, diagnostic::DiagnosticFormat::Human).as_bytes());
        Exit::Invalid
    })
}

fn validate(args: &ValidateArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Exit> {
    let overrides = args.plan.overrides();
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

fn schema(args: &SchemaArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    if args.summary {
        out.write_all(crate::report::Summary::schema().as_bytes())?;
        return Ok(Exit::Passed);
    }
    match args.format {
        SchemaFormat::Json => out.write_all(plan::schema::generate().as_bytes())?,
        SchemaFormat::Markdown => out.write_all(plan::reference::markdown().as_bytes())?,
    }
    Ok(Exit::Passed)
}

/// `loadplan report`: every report again from a saved summary.
fn report(args: &ReportArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Exit> {
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
            crate::report::terminal::summary(&summary, color)
        }
        .as_bytes(),
    )?;
    Ok(exit)
}

/// `loadplan man`: the main page on `out`, or every page into a folder.
fn man(args: &crate::cli::ManArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let cmd = <Cli as clap::CommandFactory>::command();
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(cmd, dir))
                .map_err(|e| {
                    anyhow::anyhow!("cannot write the pages to `{}`: {e}", dir.display())
                })?;
        }
        None => clap_mangen::Man::new(cmd).render(out)?,
    }
    Ok(Exit::Passed)
}

/// The starter plan `loadplan init` writes.
pub const STARTER_PLAN: &str = include_str!("../../examples/starter.yaml");

fn init(args: &InitArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Exit> {
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
