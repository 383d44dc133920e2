//! The command line: clap derive types only, no logic. Doc comments are the help text.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::compare::Figure;
use crate::exit::EXIT_CODES_HELP;
use crate::plan::Override;
use crate::plan::diagnostic::DiagnosticFormat;
use crate::plan::shard::Shard;
use crate::plan::units::{HumanDuration, Percent, Rate};
use crate::report::OutputFormat;

/// Declarative load tests and deployment health checks from YAML plans.
#[derive(Debug, Parser)]
#[command(name = "loadplan", version, after_long_help = EXIT_CODES_HELP, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// loadplan's commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check plans (YAML syntax, schema, meaning) without sending anything.
    ///
    /// For a folder, every `*.yaml`/`*.yml` below it that starts with the plan-schema
    /// modeline is checked; other YAML files are listed as skipped.
    #[command(after_help = EXIT_CODES_HELP)]
    Validate(ValidateArgs),
    /// Print the plan format's JSON Schema (draft-07), or its Markdown reference.
    #[command(after_help = EXIT_CODES_HELP)]
    Schema(SchemaArgs),
    /// Write a commented starter plan that validates.
    #[command(after_help = EXIT_CODES_HELP)]
    Init(InitArgs),
    /// Run a plan's load: virtual users, pacing, checks; then a summary and reports.
    #[command(after_help = EXIT_CODES_HELP)]
    Run(RunArgs),
    /// Render every report again from a saved `summary.json`, byte for byte as the run
    /// wrote them, and exit with the code its stored verdicts give.
    #[command(after_help = EXIT_CODES_HELP)]
    Report(ReportArgs),
    /// Compare two runs of one plan: per row and overall, which figures regressed,
    /// improved, stayed the same, or cannot be told apart from noise.
    ///
    /// Each figure (error rate, req/s, p50, p90, p95, p99, max, mean) gets a 95 % confidence
    /// interval of its change from both runs' HDR histograms and counts, and a verdict:
    /// `regressed`, `improved`, `unchanged`, or `inconclusive` when the samples cannot
    /// tell. A change must also exceed a practical floor (`--threshold`, `--noise`,
    /// `--error-noise`) to count. Exit 1 when a figure named by `--fail-on` regressed in any
    /// row or overall; 2 for unreadable summaries, or runs of different plans without
    /// `--allow-plan-change`. The methods: docs/compare.md.
    #[command(after_help = EXIT_CODES_HELP)]
    Compare(CompareArgs),
    /// Merge the summaries of a plan's shards (`run --shard K/N`) into one run and judge it:
    /// histograms added (exact percentiles, overall and per second), counts summed, the
    /// plan's SLA evaluated on the merged data, and every report a run writes.
    ///
    /// Refuses (exit 2) summaries of different plans or shard counts, a shard given twice,
    /// and missing shards unless `--allow-partial`.
    #[command(after_help = EXIT_CODES_HELP)]
    Merge(MergeArgs),
    /// Check a deployment with the plan's health policies alone, sending no load.
    ///
    /// The post-deploy check: runs the named policy, or every policy in file order, each try
    /// printed as `try N +TIME STATUS LATENCY: what failed`. Exit 0 when healthy, 1 when
    /// unhealthy (roll back; the last failed try's reason is printed), 2 for a bad plan or
    /// arguments. Only the environment variables the policies' own templates read need to
    /// be set (no credentials). No auth is ever sent with a health request.
    #[command(after_help = EXIT_CODES_HELP)]
    Health(HealthArgs),
    /// Serve the embedded demo API (the reference claims API) in the foreground.
    ///
    /// Demo credentials: username `demo`, password `demo-password`. The first line printed is
    /// `listening on http://127.0.0.1:PORT`.
    #[command(after_help = EXIT_CODES_HELP)]
    Demo(crate::demo::DemoOptions),
    /// Print a shell completion script.
    ///
    /// Example: `loadplan completions bash > ~/.local/share/bash-completion/completions/loadplan`,
    /// or `loadplan completions zsh > "${fpath[1]}/_loadplan"`.
    #[command(after_help = EXIT_CODES_HELP)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write a page per command into a folder.
    ///
    /// Example: `loadplan man | man -l -`, or `loadplan man --out /usr/local/share/man/man1`.
    #[command(after_help = EXIT_CODES_HELP)]
    Man(ManArgs),
}

/// `loadplan completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `loadplan man`.
#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Write `loadplan.1` and a page per command (`loadplan-run.1`, …) into this folder
    /// instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Options of every command that reads a plan.
#[derive(Debug, Clone, Args, Default)]
pub(crate) struct PlanOptions {
    /// Override a plan value before it is checked: a dotted path (endpoints by name), the
    /// value read as a YAML scalar or flow collection. Repeatable; every bad one is
    /// reported. Examples: `--set endpoints.get_dashboard.weight=0`, `--set
    /// 'outputs.formats=[csv,html]'`. `LOADPLAN_SET` holds one, used when no `--set` is given.
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = Override::from_arg,
          env = "LOADPLAN_SET", hide_env_values = true)]
    pub set: Vec<Override>,
    /// Target base URL; the same as `--set target.base_url=URL`.
    #[arg(
        long,
        value_name = "URL",
        env = "LOADPLAN_BASE_URL",
        hide_env_values = true
    )]
    pub base_url: Option<String>,
}

/// `loadplan run`. Every flag can also be set by an environment variable,
/// `LOADPLAN_<FLAG>` (`LOADPLAN_USERS=50`); the command line wins.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan_file: PathBuf,
    /// Plan overrides.
    #[command(flatten)]
    pub plan: PlanOptions,
    /// Start the embedded demo API on a free loopback port and point the plan at it.
    #[arg(long, conflicts_with = "base_url", env = "LOADPLAN_DEMO", value_parser = BoolishValueParser::new())]
    pub demo: bool,
    /// Number of users of a closed model: sets `load.users`, or scales the plan's
    /// `stages` so their peak is N (with `--duration`: replaces them with N users for that
    /// long). An open-model plan has no users: use `--rate`.
    #[arg(long, value_name = "N", env = "LOADPLAN_USERS", value_parser = clap::value_parser!(u32).range(1..))]
    pub users: Option<u32>,
    /// Arrival rate of an open model, iterations per second (`200`) or as plans write it
    /// (`200/s`, `300/m`): sets a constant `load.arrival_rate`, or scales its stages so
    /// their peak is R (with `--duration`: replaces them with R for that long). A
    /// closed-model plan becomes an open model at a constant R, for its `duration` or its
    /// stages' length, with the default `max_concurrency`.
    #[arg(long, value_name = "R", env = "LOADPLAN_RATE", value_parser = crate::plan::load_flags::rate_flag,
          conflicts_with = "users")]
    pub rate: Option<Rate>,
    /// Run length; the same as `--set load.duration=D` (e.g. `30s`). Refused on a plan
    /// with stages, which set the length, unless `--users` or `--rate` replaces them.
    #[arg(long, value_name = "D", env = "LOADPLAN_DURATION")]
    pub duration: Option<String>,
    /// Run only these endpoints (comma-separated names); the others get weight 0.
    #[arg(
        long,
        value_name = "NAME,…",
        value_delimiter = ',',
        env = "LOADPLAN_ONLY"
    )]
    pub only: Vec<String>,
    /// Seed for every random choice; the same as `--set load.seed=N`.
    #[arg(long, value_name = "N", env = "LOADPLAN_SEED")]
    pub seed: Option<u64>,
    /// Folder for the reports (`--report` or the plan's `outputs.formats` picks them;
    /// `summary.json` is always written).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "results",
        env = "LOADPLAN_OUT"
    )]
    pub out: PathBuf,
    /// Report formats to write, comma-separated, instead of the plan's `outputs.formats`
    /// (which they replace; the plan's hash stays the same). Example: `--report csv,html`.
    #[arg(
        long,
        value_name = "FORMAT,…",
        value_delimiter = ',',
        value_enum,
        env = "LOADPLAN_REPORT"
    )]
    pub report: Vec<OutputFormat>,
    /// Prefix of the Locust-compatible CSV files: `NAME_stats.csv` and so on (overrides the
    /// plan's `outputs.csv_prefix`).
    #[arg(long, value_name = "NAME", env = "LOADPLAN_CSV_PREFIX")]
    pub csv_prefix: Option<String>,
    /// Only print the verdict and errors.
    #[arg(short, long, conflicts_with = "verbose", env = "LOADPLAN_QUIET", value_parser = BoolishValueParser::new())]
    pub quiet: bool,
    /// Log each failed request to standard error, one line each: time since the start, user,
    /// method, URL, status, the failure and the start of the body (secrets masked).
    #[arg(short, long, env = "LOADPLAN_VERBOSE", value_parser = BoolishValueParser::new())]
    pub verbose: bool,
    /// Render the first request of each endpoint and send nothing.
    #[arg(long, env = "LOADPLAN_DRY_RUN", value_parser = BoolishValueParser::new())]
    pub dry_run: bool,
    /// Judge the plan's relative assertions (`regress_at_most`) against this run: a
    /// `summary.json`, or its results folder, of the same plan (after overrides). Without
    /// it they are skipped.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["shard", "shard_index_from_env"],
          env = "LOADPLAN_BASELINE")]
    pub baseline: Option<PathBuf>,
    /// Run shard K of N of the plan (e.g. `2/4`): its share of the users, rates, stage
    /// targets and iterations, its user ids after the lower shards'. It runs the `before`
    /// gate, skips `after`, and exits 0 once it ran: `loadplan merge` of every shard's
    /// summary gives the verdict.
    #[arg(long, value_name = "K/N", conflicts_with_all = ["shard_index_from_env", "dry_run"],
          env = "LOADPLAN_SHARD")]
    pub shard: Option<Shard>,
    /// Take the shard from `JOB_COMPLETION_INDEX` (the 0-based pod index of a Kubernetes
    /// Indexed Job): shard index + 1 of `--shard-count`.
    #[arg(long, requires = "shard_count", env = "LOADPLAN_SHARD_INDEX_FROM_ENV",
          value_parser = BoolishValueParser::new())]
    pub shard_index_from_env: bool,
    /// How many shards, with `--shard-index-from-env`.
    #[arg(
        long,
        value_name = "N",
        requires = "shard_index_from_env",
        env = "LOADPLAN_SHARD_COUNT"
    )]
    pub shard_count: Option<u32>,
}

/// `loadplan health`.
#[derive(Debug, Args)]
pub(crate) struct HealthArgs {
    /// The plan file; its `health:` policies are run.
    #[arg(value_name = "PLAN")]
    pub plan_file: PathBuf,
    /// Run only this policy (a name under `health:`); by default every policy runs, in
    /// file order, whatever its `run:` phases.
    #[arg(long, value_name = "NAME")]
    pub policy: Option<String>,
    /// Plan overrides.
    #[command(flatten)]
    pub plan: PlanOptions,
    /// Write `health.json` (every try and the verdict) and `health-junit.xml` (one test case
    /// per policy) into this folder, created if missing.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Check the embedded demo API instead of a deployment (local mode): it is started on a
    /// free loopback port and the plan is pointed at it.
    #[arg(long, conflicts_with = "base_url")]
    pub demo: bool,
    /// Print only each policy's verdict, not every try.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `loadplan validate`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Plan files or folders.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output style: `human` (`file:line:col: message`), `github` (pull-request
    /// annotations) or `json`.
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Human)]
    pub format: DiagnosticFormat,
    /// Also report environment variables that the plan's templates read without a
    /// `default(…)` and that are unset here, as `run` would (off by default: pull requests
    /// are validated without secrets).
    #[arg(long)]
    pub env: bool,
    /// Check only the named files that start with the plan-schema modeline, as in a folder,
    /// and list the others as skipped; pass when none is a plan (the pre-commit hook hands
    /// every changed YAML file over).
    #[arg(long)]
    pub plans_only: bool,
    /// Plan overrides.
    #[command(flatten)]
    pub plan: PlanOptions,
}

/// `loadplan schema`.
#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// `json` (the JSON Schema) or `markdown` (the plan reference, docs/plan.md).
    #[arg(long, value_enum, default_value_t = SchemaFormat::Json)]
    pub format: SchemaFormat,
    /// Print the JSON Schema of `summary.json` (schema/summary.schema.json) instead of the
    /// plan's.
    #[arg(long, conflicts_with = "format")]
    pub summary: bool,
    /// Print the JSON Schema of `loadplan compare --format json` (schema/compare.schema.json)
    /// instead of the plan's.
    #[arg(long, conflicts_with_all = ["format", "summary"])]
    pub compare: bool,
}

/// `loadplan report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// A `summary.json` written by `loadplan run`.
    #[arg(value_name = "SUMMARY.json")]
    pub summary: PathBuf,
    /// Folder for the reports. Default: the summary's folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Prefix of the CSV files (`NAME_stats.csv`); default: the one the run used.
    #[arg(long, value_name = "NAME")]
    pub csv_prefix: Option<String>,
    /// Only print errors.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `loadplan merge`.
#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// Each shard's `summary.json`, or its results folder.
    #[arg(value_name = "SUMMARY", required = true)]
    pub summaries: Vec<PathBuf>,
    /// Folder for the merged reports (the plan's `outputs.formats` picks them).
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub out: PathBuf,
    /// Merge even when shards are missing; every report then says which, and that the
    /// figures cover only part of the load.
    #[arg(long)]
    pub allow_partial: bool,
    /// The plan the shards ran (with the same `--set` overrides): its `after` health
    /// policies, which shards skip, run once against the target after the merge and count
    /// in the verdict. Refused unless its hash is the shards'.
    #[arg(long = "plan", value_name = "PLAN")]
    pub plan_file: Option<PathBuf>,
    /// Plan overrides, with `--plan`.
    #[command(flatten)]
    pub plan: PlanOptions,
    /// Judge the relative assertions (`regress_at_most`) of the merged run against this run:
    /// a `summary.json`, or its results folder, of the same plan (a merge of its shards, or
    /// one machine's run). Without it they are skipped.
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,
    /// Only print the verdict and errors.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `loadplan compare`.
#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// The baseline: a `summary.json` written by `loadplan run`, or its results folder.
    #[arg(value_name = "BASE")]
    pub base: PathBuf,
    /// The run to judge against it, likewise.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// `terminal` (tables), `markdown` (for a pull-request comment or
    /// `$GITHUB_STEP_SUMMARY`) or `json` (schema/compare.schema.json).
    #[arg(long, value_enum, default_value_t = CompareFormat::Terminal)]
    pub format: CompareFormat,
    /// Smallest change that counts, relative to the baseline, for every figure. Default
    /// `10%`.
    #[arg(long, value_name = "PCT")]
    pub threshold: Option<Percent>,
    /// Smallest latency change that counts. Default `1ms`.
    #[arg(long, value_name = "D")]
    pub noise: Option<HumanDuration>,
    /// Smallest error-rate change that counts, in percentage points. Default `0.5%`.
    #[arg(long, value_name = "PCT")]
    pub error_noise: Option<Percent>,
    /// Figures whose regression fails the comparison (exit 1), comma-separated. Default
    /// `p95,error_rate`.
    #[arg(long, value_name = "FIGURE,…", value_delimiter = ',', value_enum)]
    pub fail_on: Vec<Figure>,
    /// Compare runs of different plans (another plan, or other overrides: `--set`,
    /// `--users`, `--base-url`, …); every output then says so.
    #[arg(long)]
    pub allow_plan_change: bool,
    /// Judge this plan's relative assertions (`regress_at_most`) on NEW against BASE, as
    /// `run --baseline` would have: they, not `--fail-on`, decide the exit code, and every
    /// format lists their verdicts. With `--set` and the other overrides NEW ran with.
    #[arg(long = "plan", value_name = "PLAN", conflicts_with = "fail_on")]
    pub plan_file: Option<PathBuf>,
    /// Plan overrides, with `--plan`.
    #[command(flatten)]
    pub plan: PlanOptions,
}

/// Output of `loadplan compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CompareFormat {
    /// Tables for a terminal.
    Terminal,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// JSON.
    Json,
}

/// Output of `loadplan schema`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SchemaFormat {
    /// JSON Schema, draft-07.
    Json,
    /// Markdown plan reference.
    Markdown,
}

/// `loadplan init`.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Where to write the plan. Existing files are never overwritten.
    #[arg(default_value = "loadplan.yaml")]
    pub path: PathBuf,
}
