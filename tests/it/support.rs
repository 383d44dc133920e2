//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `loadplan` binary in `dir` with `args`.
pub fn loadplan_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loadplan"))
        .current_dir(dir)
        .args(args)
        .env_remove("TARGET_URL")
        .env("NO_COLOR", "1")
        .output()
        .expect("the loadplan binary runs")
}

/// Runs the `loadplan` binary at the repository root.
pub fn loadplan(args: &[&str]) -> Output {
    loadplan_in(&root(), args)
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
