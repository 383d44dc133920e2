//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `loadplan` binary, without the `LOADPLAN_*` variables of the environment the tests
/// run in: each is a `run` flag (`LOADPLAN_USERS`), and a stray one would change every run.
pub fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loadplan"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LOADPLAN_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Runs the `loadplan` binary in `dir` with `args`.
pub fn loadplan_in(dir: &Path, args: &[&str]) -> Output {
    loadplan_env_in(dir, args, &[])
}

/// Runs the `loadplan` binary in `dir` with `args` and extra environment.
pub fn loadplan_env_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    command()
        .current_dir(dir)
        .envs(env.iter().copied())
        .args(args)
        .env_remove("TARGET_URL")
        .env_remove("EXPECTED_VERSION")
        .env_remove("GITHUB_STEP_SUMMARY")
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

/// The embedded demo API, served in the background for one test.
pub struct Demo {
    /// The server.
    pub server: loadplan::DemoServer,
    _runtime: tokio::runtime::Runtime,
}

impl Demo {
    /// Starts the demo API on an ephemeral loopback port with these knobs.
    pub fn start(opts: loadplan::DemoOptions) -> Demo {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime
            .block_on(loadplan::DemoServer::start(loadplan::DemoOptions {
                port: 0,
                ..opts
            }))
            .unwrap();
        Demo {
            server,
            _runtime: runtime,
        }
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        self.server.base_url()
    }
}

/// A finished run: its output and the summary it wrote.
pub struct RunResult {
    /// Process output.
    pub output: Output,
    /// `summary.json`, when written.
    pub summary: Option<serde_json::Value>,
    /// The results folder (kept alive for the test).
    pub out: tempfile::TempDir,
}

impl RunResult {
    /// Exit code.
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// A summary row by name.
    pub fn row(&self, name: &str) -> serde_json::Value {
        let s = self.summary.as_ref().expect("summary.json was written");
        s["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no row {name} in {s}"))
    }
}

/// Runs `loadplan run PLAN --base-url URL --out TMP ARGS…` with extra environment.
pub fn run_plan(plan: &str, url: &str, args: &[&str], env: &[(&str, &str)]) -> RunResult {
    let mut all = vec!["--base-url", url];
    all.extend_from_slice(args);
    run_in_tempdir(plan, &all, env)
}

/// Runs `loadplan run PLAN --out TMP ARGS…` with `TARGET_URL=url`, for plans whose base URL
/// reads it (as `plans/demo.yaml` does): unlike `--base-url`, the URL is then no override,
/// so runs against different servers have the same plan hash.
pub fn run_targeting(plan: &str, url: &str, args: &[&str]) -> RunResult {
    run_in_tempdir(plan, args, &[("TARGET_URL", url)])
}

fn run_in_tempdir(plan: &str, args: &[&str], env: &[(&str, &str)]) -> RunResult {
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().to_str().unwrap().to_owned();
    let mut all = vec!["run", plan, "--out", &out_dir];
    all.extend_from_slice(args);
    let mut cmd = command();
    cmd.current_dir(root())
        .args(&all)
        .env("NO_COLOR", "1")
        .env_remove("TARGET_URL")
        .env_remove("EXPECTED_VERSION")
        .env_remove("GITHUB_STEP_SUMMARY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    let summary = std::fs::read(out.path().join("summary.json"))
        .ok()
        .map(|b| serde_json::from_slice(&b).unwrap());
    RunResult {
        output,
        summary,
        out,
    }
}

/// A `loadplan demo --port 0 ARGS` child process, killed on drop.
pub struct DemoProcess {
    child: std::process::Child,
    /// Its base URL.
    pub url: String,
}

impl DemoProcess {
    /// Starts it with these knobs and waits for its `listening on` line.
    pub fn start(args: &[&str]) -> DemoProcess {
        use std::io::BufRead;
        let mut child = command()
            .args(["demo", "--port", "0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line `{line}`"))
            .to_owned();
        DemoProcess { child, url }
    }
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
