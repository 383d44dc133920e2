//! loadplan: declarative load tests and deployment health checks from YAML plans.
//!
//! The pipeline runs one way: `plan` (load, validate, compile) → `engine` → `metrics` →
//! `conclude` (verdicts) → `report`. `main.rs` only parses the command line ([`Cli`]) and
//! calls [`run`]; `cmd` holds a module per subcommand and is the only module that knows the
//! command line (nothing below it imports `cli` or `cmd`). `docs/architecture.md` maps it.
//!
//! Every module is private and its items `pub(crate)` unless exported here: the binary's
//! entry points, the embedded demo API, and what the integration tests load plans and
//! probes with. So `unreachable_pub` and `dead_code` see the whole crate.

mod cli;
mod clock;
mod cmd;
mod compare;
mod conclude;
mod console;
mod demo;
mod engine;
mod exit;
mod health;
mod http;
mod merge;
mod metrics;
mod plan;
mod report;
mod secrets;
mod sla;
mod template;

// The binary.
pub use cli::Cli;
pub use cmd::run;
pub use console::Console;
pub use exit::Exit;

// The embedded demo API: a target for the tests and benchmarks.
pub use demo::{DemoOptions, DemoServer, Route};

// Plans, probes and names the integration tests check directly.
pub use health::Probes;
pub use http::HttpSettings;
pub use plan::diagnostic::{DiagnosticFormat, render as render_diagnostics};
pub use plan::schema::check as check_schema;
pub use plan::{CompiledPlan, Diagnostic, Override, Source, load, load_bytes, parse};
pub use report::folder::ResultsDir;
pub use sla::{ANY_SUCCESS, DEFAULT_GATE};
pub use template::{MAX_OUTPUT, Templates};
