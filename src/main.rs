//! The `loadplan` binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = loadplan::cli::Cli::parse();
    let mut out = loadplan::console::Console::new(std::io::stdout());
    let mut err = loadplan::console::Console::new(std::io::stderr());
    let exit = loadplan::cmd::run(cli, &mut out, &mut err);
    ExitCode::from(exit.code())
}
