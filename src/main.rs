//! The `loadplan` binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = loadplan::cli::Cli::parse();
    let exit = loadplan::app::run(cli, &mut std::io::stdout(), &mut std::io::stderr());
    ExitCode::from(exit.code())
}
