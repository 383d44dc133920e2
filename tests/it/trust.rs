//! A verdict you can trust (issue 9) and results that cannot be lost (issue 11): no PASSED on
//! a broken target, named endpoints must have data, missing environment refused before
//! anything is sent, the terminal says why, and the results folder is checked, locked and
//! written before the terminal is.

use loadplan::DemoOptions;
use loadplan::{ANY_SUCCESS, DEFAULT_GATE};

use crate::support::{Demo, RunResult, loadplan, root, run_plan, stderr, stdout};

/// A loopback port where nothing listens, held for as long as the socket lives: bound (so no
/// other test can take the number) but never listening, so every connect is refused.
struct DeadPort {
    _socket: tokio::net::TcpSocket,
    url: String,
}

fn dead_port() -> DeadPort {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://127.0.0.1:{}", socket.local_addr().unwrap().port());
    DeadPort {
        _socket: socket,
        url,
    }
}

fn verdict<'a>(r: &'a RunResult, name: &str, scope: &str) -> &'a serde_json::Value {
    r.summary.as_ref().unwrap()["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name && v["scope"] == scope)
        .unwrap_or_else(|| panic!("no verdict `{name}` [{scope}]"))
}

/// Durations vary from run to run; everything else in these outputs does not.
fn steady(text: &str) -> String {
    regex::Regex::new(r"\d+\.\d+s\b")
        .unwrap()
        .replace_all(text, "X.Xs")
        .into_owned()
}

#[test]
fn a_lax_error_rate_cannot_pass_a_run_where_every_request_failed() {
    let dead = dead_port();
    let r = run_plan("tests/fixtures/trust/lax.yaml", &dead.url, &["-q"], &[]);
    assert_eq!(r.code(), Some(1), "{}", stderr(&r.output));
    assert_eq!(
        verdict(&r, "error_rate at_most 100%", "aggregate")["status"],
        "PASS"
    );
    let gate = verdict(&r, ANY_SUCCESS, "aggregate");
    assert_eq!(gate["status"], "FAIL", "{gate}");
    assert_eq!(r.summary.as_ref().unwrap()["verdict"], "FAILED");
}

#[test]
fn quiet_prints_the_verdict_and_why_only() {
    let dead = dead_port();
    let r = run_plan("tests/fixtures/trust/dead.yaml", &dead.url, &["-q"], &[]);
    assert_eq!(r.code(), Some(1), "{}", stderr(&r.output));
    insta::assert_snapshot!(steady(&stdout(&r.output)), @r"
    FAILED — X.Xs, 3 requests, 100.00% failed
      FAIL no request fails (default; declare an error_rate assertion to change it) [aggregate]: error_rate 100.00%, threshold at most 0%
    ");
    assert_eq!(verdict(&r, DEFAULT_GATE, "aggregate")["status"], "FAIL");
}

#[test]
fn a_list_capture_that_matches_nothing_fails_and_so_does_the_sla_naming_its_endpoint() {
    let demo = Demo::start(DemoOptions::default());
    let r = run_plan(
        "tests/fixtures/trust/capture-typo.yaml",
        &demo.url(),
        &["-q"],
        &[],
    );
    assert_eq!(r.code(), Some(1), "{}", stdout(&r.output));
    let list = r.row("list_claims");
    assert!(list["requests"].as_u64().unwrap() > 0, "{list}");
    assert_eq!(
        list["failures_by_kind"]["capture"], list["requests"],
        "{list}"
    );
    let named = verdict(&r, "p95 below 500ms", "claim_detail");
    assert_eq!(named["status"], "FAIL", "{named}");
    assert!(
        named["note"].as_str().unwrap().contains("no samples"),
        "{named}"
    );
    // `allow_empty` says zero matches is fine: no capture failure, the endpoint waits.
    let r = run_plan(
        "tests/fixtures/trust/capture-typo.yaml",
        &demo.url(),
        &[
            "-q",
            "--set",
            "endpoints.list_claims.capture.claim_ids.allow_empty=true",
        ],
        &[],
    );
    assert_eq!(r.row("list_claims")["failures"], 0);
    assert_eq!(
        verdict(&r, "p95 below 500ms", "claim_detail")["status"],
        "FAIL"
    );
}

#[test]
fn unset_environment_is_refused_before_anything_is_sent() {
    let demo = Demo::start(DemoOptions::default());
    let url = demo.url();
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().to_str().unwrap();
    let runs: [&[&str]; 3] = [
        &[
            "run",
            "plans/upstream.yaml",
            "--base-url",
            &url,
            "--out",
            out_dir,
        ],
        &[
            "run",
            "plans/upstream.yaml",
            "--base-url",
            &url,
            "--dry-run",
        ],
        &[
            "health",
            "plans/upstream.yaml",
            "--base-url",
            &url,
            "--set",
            "health.ready.request.path=/{{ env.LOADPLAN_TEST_UNSET_PATH }}",
        ],
    ];
    for args in runs {
        let o = loadplan(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        let names: &[&str] = if args[0] == "health" {
            &["LOADPLAN_TEST_UNSET_PATH"]
        } else {
            &["API_USERNAME", "API_PASSWORD"]
        };
        for name in names {
            assert!(
                regex::Regex::new(&format!(
                    r"plans/upstream\.yaml:\d+:\d+: environment variable `{name}` is not set"
                ))
                .unwrap()
                .is_match(&err),
                "{args:?}: {err}"
            );
        }
    }
    assert_eq!(
        demo.server.stats.total_requests(),
        0,
        "nothing reached the API"
    );
    // A dry run that cannot render a request fails as the run would.
    let o = loadplan(&[
        "run",
        "plans/demo.yaml",
        "--dry-run",
        "--set",
        "endpoints.get_dashboard.request.path=/{{ [] | random }}",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stdout(&o).contains("cannot render"), "{}", stdout(&o));
    // `validate` stays environment-free unless asked.
    assert_eq!(
        loadplan(&["validate", "plans/upstream.yaml"]).status.code(),
        Some(0)
    );
    let o = loadplan(&["validate", "--env", "plans/upstream.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("`API_PASSWORD` is not set"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_terminal_lists_the_failures_grouped_and_masked() {
    let demo = Demo::start(DemoOptions::default());
    let secret = "s3cr3t-never-shown";
    let r = run_plan(
        "tests/fixtures/trust/failing-checks.yaml",
        &demo.url(),
        &[],
        &[("LOADPLAN_TEST_SECRET", secret)],
    );
    assert_eq!(r.code(), Some(1));
    let out = stdout(&r.output);
    assert!(!out.contains(secret), "{out}");
    let start = out.find("│ fails").expect("a failures table");
    let table: String = out[start..]
        .lines()
        .take_while(|l| !l.starts_with('└'))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(table, @r"
    │ fails ┆ request ┆ kind   ┆ why                                                                  │
    ╞═══════╪═════════╪════════╪══════════════════════════════════════════════════════════════════════╡
    │     7 ┆ missing ┆ status ┆ HTTP 404                                                             │
    │     5 ┆ health  ┆ status ┆ HTTP 200, expected 201; slower than 1us; body does not contain `***` │
    ");
    assert!(out.contains("reports: "), "{out}");
}

#[test]
fn results_folder_below_a_file_is_a_tool_error_before_any_request() {
    let demo = Demo::start(DemoOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let below = file.join("results");
    let o = loadplan(&[
        "run",
        "plans/demo.yaml",
        "--base-url",
        &demo.url(),
        "--out",
        below.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "cannot create the results folder `{}`",
            below.display()
        )),
        "{}",
        stderr(&o)
    );
    assert_eq!(demo.server.stats.total_requests(), 0);
}

#[test]
fn a_results_folder_in_use_is_refused_before_any_request() {
    let demo = Demo::start(DemoOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let held = loadplan::ResultsDir::open(dir.path()).unwrap();
    let o = loadplan(&[
        "run",
        "tests/fixtures/trust/dead.yaml",
        "--base-url",
        &demo.url(),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is in use by another loadplan run (process"),
        "{}",
        stderr(&o)
    );
    assert_eq!(demo.server.stats.total_requests(), 0);
    drop(held);
}

/// stdout closed by its reader (`loadplan run … | head -1`): the pipe's read end is closed
/// before the child starts, so every write to stdout meets a broken pipe. The run still
/// writes every report and keeps its exit code (it was exit 3 with nothing written), and a
/// dry run still exits 0.
#[cfg(unix)]
#[test]
fn a_closed_stdout_loses_nothing() {
    let demo = Demo::start(DemoOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let closed = |args: &[&str]| {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        crate::support::command()
            .current_dir(root())
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap()
    };
    let url = demo.url();
    let out = dir.path().to_str().unwrap();
    let o = closed(&[
        "run",
        "plans/demo.yaml",
        "--base-url",
        &url,
        "--duration",
        "1s",
        "--set",
        "load.think_time=none",
        "--out",
        out,
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    assert!(!stderr(&o).contains("Broken pipe"), "{}", stderr(&o));
    for file in ["summary.json", "report.html", "junit.xml"] {
        assert!(dir.path().join(file).exists(), "{file} missing");
    }
    let o = closed(&["run", "plans/demo.yaml", "--base-url", &url, "--dry-run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// Starts `loadplan ARGS` with piped output; waits for a standard-error line containing
/// `ready`, then for `until` to hold.
#[cfg(unix)]
fn spawn_until(
    args: &[&str],
    ready: &str,
    until: impl Fn() -> bool,
) -> (
    std::process::Child,
    std::io::BufReader<std::process::ChildStderr>,
) {
    use std::io::BufRead;
    let mut child = crate::support::command()
        .current_dir(root())
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains(ready) {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "no `{ready}` line");
    }
    while !until() {
        std::thread::yield_now();
    }
    (child, err)
}

#[cfg(unix)]
fn kill(child: &std::process::Child, signal: &str) {
    let ok = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// A second Ctrl-C stops waiting for stalled requests, and the reports are still written.
#[cfg(unix)]
#[test]
fn a_second_ctrl_c_skips_the_graceful_wait_but_writes_the_summary() {
    use std::io::BufRead;
    let demo = Demo::start(DemoOptions {
        stall: vec!["/api/v1/dashboard/".into()],
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let url = demo.url();
    let (mut child, mut err) = spawn_until(
        &[
            "run",
            "plans/demo.yaml",
            "--base-url",
            &url,
            "--only",
            "get_dashboard",
            "--users",
            "2",
            "--duration",
            "60s",
            "--set",
            "load.graceful_stop=60s",
            "--out",
            dir.path().to_str().unwrap(),
        ],
        "running",
        || demo.server.stats.requests(loadplan::Route::Dashboard) >= 2,
    );
    let started = std::time::Instant::now();
    kill(&child, "-INT");
    let mut line = String::new();
    while !line.contains("stopping: waiting") {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0);
    }
    kill(&child, "-INT");
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["verdict"], "INTERRUPTED");
    assert_eq!(summary["run"]["cut_requests"], 2, "{}", summary["run"]);
}

/// `loadplan health` hears Ctrl-C: exit 130, and its files are written.
#[cfg(unix)]
#[test]
fn health_is_interrupted_with_its_files_written() {
    let demo = Demo::start(DemoOptions {
        stall: vec!["/api/v1/health/".into()],
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let url = demo.url();
    let (mut child, _err) = spawn_until(
        &[
            "health",
            "plans/demo.yaml",
            "--base-url",
            &url,
            "--out",
            dir.path().to_str().unwrap(),
        ],
        "",
        || demo.server.stats.requests(loadplan::Route::Health) >= 1,
    );
    kill(&child, "-INT");
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert!(dir.path().join("health.json").exists());
    assert!(dir.path().join("health-junit.xml").exists());
}
