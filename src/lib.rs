//! loadplan: declarative load tests and deployment health checks from YAML plans.
//!
//! The pipeline runs one way: [`plan`] (load, validate, compile) → engine → metrics →
//! verdicts → reports. `main.rs` only parses the command line ([`cli`]) and calls
//! [`cmd::run`]; [`cmd`] holds a module per subcommand and is the only module that knows
//! the command line (nothing below it imports `cli` or `cmd`).

pub mod cli;
mod clock;
pub mod cmd;
pub mod compare;
pub mod conclude;
pub mod console;
pub mod demo;
pub mod engine;
pub mod exit;
pub mod health;
pub mod http;
pub mod metrics;
pub mod plan;
pub mod report;
pub mod secrets;
pub mod sla;
pub mod template;
