//! `loadplan man`: manual pages in roff, generated from the clap types.

use std::io::Write;

use crate::cli::{Cli, ManArgs};
use crate::exit::Exit;

/// Runs `loadplan man`: the main page on `out`, or every page into a folder.
pub(super) fn run(args: &ManArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
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
