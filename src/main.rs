//! The `loadplan` binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = loadplan::Cli::parse();
    let mut out = loadplan::Console::new(std::io::stdout());
    let mut err = loadplan::Console::new(std::io::stderr());
    let exit = loadplan::run(cli, &mut out, &mut err);
    ExitCode::from(exit.code())
}
