//! `loadplan completions`: a shell completion script, generated from the clap types.

use std::io::Write;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::Exit;

/// Runs `loadplan completions`.
pub(super) fn run(args: &CompletionsArgs, out: &mut dyn Write) -> Exit {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(args.shell, &mut cmd, "loadplan", out);
    Exit::Passed
}
