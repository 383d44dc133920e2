//! `loadplan demo`: the embedded demo API in the foreground, until the process is stopped.

use crate::demo::DemoOptions;
use crate::exit::Exit;

/// Runs `loadplan demo`.
pub(super) async fn run(opts: DemoOptions) -> anyhow::Result<Exit> {
    crate::demo::serve_foreground(opts).await?;
    Ok(Exit::Passed)
}
