//! The commands, one module per subcommand: each is a short pipeline over the library's
//! stages that decides its exit code. Here are the dispatch and the helpers they share
//! (plan loading, `--demo`, the environment check, the base URL). Only `cmd` and `main.rs`
//! know the command line: the stages below take plain arguments. Output goes to the given
//! writers so tests can capture it.

use std::io::Write;
use std::path::Path;

use crate::cli::{Cli, Command, PlanOptions};
use crate::exit::Exit;
use crate::plan::{self, Override, diagnostic};

mod compare;
mod completions;
mod demo;
mod health;
mod init;
mod man;
mod merge;
mod report;
mod run;
mod schema;
mod signals;
mod validate;

/// The saved run `path` names, as the baseline of `who`'s relative assertions (a plan file,
/// or the shards being merged); `Err` when it cannot be read or ran another plan: its
/// figures would be of another load.
fn read_baseline(
    path: &Path,
    who: &str,
    name: &str,
    sha256: &str,
) -> Result<crate::compare::Run, String> {
    let base = crate::compare::Run::read(path)?;
    match crate::compare::other_plan(&base, name, sha256) {
        Some(what) => Err(format!(
            "{who}: {what}: the plan file or its overrides differ (`--set`, `--users`, \
             `--rate`, `--duration`, `--seed`, `--only`); run with the baseline's plan and overrides"
        )),
        None => Ok(base),
    }
}

/// Runs a command; `out` and `err` are standard output and error.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Exit {
    let checks_plans = match &cli.command {
        Command::Validate(_) | Command::Run(_) | Command::Health(_) => true,
        Command::Merge(args) => args.plan_file.is_some(),
        Command::Compare(args) => args.plan_file.is_some(),
        _ => false,
    };
    if checks_plans && let Err(e) = plan::schema::ready() {
        let _ = writeln!(err, "error: {e}");
        return Exit::of_error(&e.into());
    }
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args, out, err),
        Command::Schema(args) => schema::run(&args, out),
        Command::Init(args) => init::run(&args, out, err),
        Command::Run(args) => runtime().and_then(|rt| rt.block_on(run::run(&args, out, err))),
        Command::Report(args) => report::run(&args, out, err),
        Command::Compare(args) => compare::run(&args, out, err),
        Command::Merge(args) => runtime().and_then(|rt| rt.block_on(merge::run(&args, out, err))),
        Command::Health(args) => runtime().and_then(|rt| rt.block_on(health::run(&args, out, err))),
        Command::Completions(args) => Ok(completions::run(&args, out)),
        Command::Man(args) => man::run(&args, out),
        Command::Demo(opts) => runtime().and_then(|rt| rt.block_on(demo::run(opts))),
    };
    result.unwrap_or_else(|e| {
        let _ = writeln!(err, "error: {e:#}");
        Exit::of_error(&e)
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Every override of the plan options, `--base-url` last so it wins.
fn overrides(options: &PlanOptions) -> Vec<Override> {
    let mut all = options.set.clone();
    if let Some(url) = &options.base_url {
        all.push(Override::from_flag("--base-url", "target.base_url", url));
    }
    all
}

/// `--demo`: starts the embedded demo API on a free loopback port and points the plan at it.
async fn start_demo(overrides: &mut Vec<Override>) -> anyhow::Result<crate::demo::DemoServer> {
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
fn render_base_url(plan: &plan::CompiledPlan, err: &mut dyn Write) -> Result<String, Exit> {
    let rendered = plan.templates.render(&plan.target.base_url, &plan.globals);
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
    let _ = writeln!(err, "{}: target.base_url: {problem}", plan.meta.file);
    Err(Exit::Invalid)
}

/// Refuses a plan whose templates under `pointers` read unset environment variables
/// without a fallback, printing each one at its template (exit 2).
fn require_env(
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
fn load_plan(
    path: &Path,
    overrides: &[Override],
    err: &mut dyn Write,
) -> Result<plan::CompiledPlan, Exit> {
    plan::load(path, overrides).map_err(|diags| print_diagnostics(&diags, err))
}

/// Prints a plan's diagnostics; a plan with them is invalid (exit 2).
fn print_diagnostics(diags: &[plan::Diagnostic], err: &mut dyn Write) -> Exit {
    let _ =
        err.write_all(diagnostic::render(diags, diagnostic::DiagnosticFormat::Human).as_bytes());
    Exit::Invalid
}
