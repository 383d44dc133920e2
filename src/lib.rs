//! loadplan: declarative load tests and deployment health checks from YAML plans.
//!
//! The pipeline runs one way: [`plan`] (load, validate, compile) → engine → metrics →
//! verdicts → reports. `main.rs` only parses the command line and calls [`app::run`].

pub mod app;
pub mod cli;
mod clock;
pub mod conclude;
pub mod console;
pub mod demo;
pub mod dryrun;
pub mod engine;
pub mod exit;
pub mod health;
pub mod http;
pub mod metrics;
pub mod plan;
pub mod report;
pub mod run;
pub mod secrets;
pub mod sla;
pub mod template;
