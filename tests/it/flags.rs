//! Issue 16 item 7, a command line that bends: `--users` and `--rate` fit any load shape,
//! `--duration` never silently cuts stages, `LOADPLAN_*` variables stand for flags, `--set`
//! takes flow collections and reports every bad override, `--report` picks formats, and
//! `metrics.ndjson` carries wall-clock times.

use std::time::{Duration, SystemTime};

use loadplan::DemoOptions;

use crate::support::{Demo, RunResult, loadplan, loadplan_env_in, root, run_plan, stderr, stdout};

/// A plan with this `load` section (flow style) against one endpoint, in its own folder.
fn plan(load: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.yaml");
    std::fs::write(
        &path,
        format!(
            "version: 1\nname: flags\ntarget:\n  base_url: http://127.0.0.1:1\n\
             load: {load}\nendpoints:\n  - name: health\n    request: {{ path: /api/v1/health/ }}\n"
        ),
    )
    .unwrap();
    (dir, path.to_str().unwrap().to_owned())
}

/// Closed-model stages: a ramp to 4 users, then down to 2; 1 s in all.
const USER_STAGES: &str =
    "{ stages: [{ target: 4, duration: 500ms }, { target: 2, duration: 500ms }] }";
/// Open-model stages: 10/s, then 20/s; 1 s in all.
const RATE_STAGES: &str =
    "{ arrival_rate: [{ target: 10/s, duration: 500ms }, { target: 20/s, duration: 500ms }] }";

/// `summary.json`'s `load.stages` as (target, duration_s) pairs.
fn stages(run: &RunResult) -> Vec<(f64, f64)> {
    let s = run.summary.as_ref().expect("summary.json was written");
    s["load"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| {
            (
                st["target"].as_f64().unwrap(),
                st["duration_s"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn passed(run: &RunResult) {
    assert_eq!(
        run.code(),
        Some(0),
        "{}{}",
        stdout(&run.output),
        stderr(&run.output)
    );
}

#[test]
fn users_scale_a_staged_plan_to_its_peak_and_say_so() {
    let demo = Demo::start(DemoOptions::default());
    let (_dir, plan) = plan(USER_STAGES);
    let run = run_plan(&plan, &demo.url(), &["--users", "8"], &[]);
    passed(&run);
    assert_eq!(stages(&run), [(8.0, 0.5), (4.0, 0.5)]);
    let err = stderr(&run.output);
    assert!(
        err.contains("--users 8: stages scaled to a peak of 8 users (plan's peak 4"),
        "{err}"
    );
}

#[test]
fn users_with_a_duration_replace_the_stages_with_a_constant_load() {
    let demo = Demo::start(DemoOptions::default());
    let (_dir, plan) = plan(USER_STAGES);
    let run = run_plan(
        &plan,
        &demo.url(),
        &["--users", "2", "--duration", "1s"],
        &[],
    );
    passed(&run);
    assert_eq!(stages(&run), [(2.0, 0.0)]);
    let summary = run.summary.as_ref().unwrap();
    assert_eq!(summary["load"]["duration_s"], 1.0, "{summary}");
}

#[test]
fn a_duration_alone_on_a_staged_plan_is_refused() {
    for load in [USER_STAGES, RATE_STAGES] {
        let (_dir, plan) = plan(load);
        let out = loadplan(&["run", &plan, "--duration", "3s", "--dry-run"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("--duration 3s: this plan's load follows"),
            "{err}"
        );
        assert!(err.contains("--duration 3s` replaces the stages"), "{err}");
    }
}

#[test]
fn users_on_an_open_plan_are_refused_naming_rate() {
    let (_dir, plan) = plan(RATE_STAGES);
    let out = loadplan(&["run", &plan, "--users", "5", "--dry-run"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--users 5: this plan is an open model"),
        "{err}"
    );
    assert!(err.contains("`--rate R`"), "{err}");
}

#[test]
fn a_rate_scales_open_stages_and_opens_a_closed_plan() {
    let demo = Demo::start(DemoOptions::default());
    let (_dir, open) = plan(RATE_STAGES);
    let run = run_plan(&open, &demo.url(), &["--rate", "40"], &[]);
    passed(&run);
    assert_eq!(stages(&run), [(20.0, 0.5), (40.0, 0.5)]);
    assert!(
        stderr(&run.output).contains("--rate 40/s: arrival-rate stages scaled to a peak of 40/s"),
        "{}",
        stderr(&run.output)
    );

    // A closed plan runs an open model at the rate, for as long as its stages did.
    let (_dir, closed) = plan(USER_STAGES);
    let run = run_plan(&closed, &demo.url(), &["--rate", "30/s"], &[]);
    passed(&run);
    let summary = run.summary.as_ref().unwrap();
    assert_eq!(summary["load"]["model"], "open", "{summary}");
    assert_eq!(summary["load"]["max_concurrency"], 1000, "{summary}");
    assert_eq!(summary["load"]["duration_s"], 1.0, "{summary}");
    assert_eq!(stages(&run), [(30.0, 0.0)]);
    // About 30 iterations in the second, not the closed model's loop-as-fast-as-you-can.
    let requests = summary["total"]["requests"].as_u64().unwrap();
    assert!((20..=40).contains(&requests), "{requests} requests");
}

#[test]
fn environment_variables_stand_for_flags() {
    let demo = Demo::start(DemoOptions::default());
    let (_dir, plan) = plan("{ users: 1, duration: 1s }");
    let run = run_plan(&plan, &demo.url(), &[], &[("LOADPLAN_USERS", "3")]);
    passed(&run);
    assert_eq!(stages(&run), [(3.0, 0.0)]);
    // The command line wins over the environment.
    let run = run_plan(
        &plan,
        &demo.url(),
        &["--users", "2"],
        &[("LOADPLAN_USERS", "3")],
    );
    passed(&run);
    assert_eq!(stages(&run), [(2.0, 0.0)]);
}

#[test]
fn help_names_the_variables_but_never_a_secret_value() {
    let out = loadplan_env_in(
        &root(),
        &["run", "--help"],
        &[
            ("LOADPLAN_BASE_URL", "https://user:hunter2@example.com"),
            ("LOADPLAN_SET", "auth.login.json.password=hunter2"),
            ("LOADPLAN_USERS", "7"),
        ],
    );
    let help = stdout(&out);
    for name in [
        "LOADPLAN_USERS=7",
        "LOADPLAN_RATE",
        "LOADPLAN_REPORT",
        "LOADPLAN_SET",
    ] {
        assert!(help.contains(&format!("[env: {name}")), "{name}: {help}");
    }
    assert!(!help.contains("hunter2"), "{help}");
}

#[test]
fn every_bad_set_is_reported() {
    let out = loadplan(&[
        "validate",
        "plans/demo.yaml",
        "--set",
        "load.users=abc",
        "--set",
        "endpoints.nope.weight=1",
        "--set",
        "no-equals-sign",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for message in [
        "--set #1 (load.users=abc): expected a whole number",
        "--set #2 (endpoints.nope.weight=1): no entry named `nope`",
        "--set #3 (no-equals-sign): `no-equals-sign` is not `path=value`",
    ] {
        assert!(err.contains(message), "{message}: {err}");
    }
    assert!(err.contains("3 problems"), "{err}");
}

/// The files a run wrote, sorted.
fn files(run: &RunResult) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(run.out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn report_formats_come_from_the_command_line() {
    let demo = Demo::start(DemoOptions::default());
    let (_dir, plan) = plan("{ users: 1, duration: 500ms }");
    let run = run_plan(&plan, &demo.url(), &["--report", "csv"], &[]);
    passed(&run);
    assert_eq!(
        files(&run),
        [
            "exceptions.csv",
            "failures.csv",
            "stats.csv",
            "stats_history.csv",
            "summary.json"
        ]
    );
    // The same through `--set`, as a YAML flow list.
    let run = run_plan(
        &plan,
        &demo.url(),
        &["--set", "outputs.formats=[junit, html]"],
        &[],
    );
    passed(&run);
    assert_eq!(files(&run), ["junit.xml", "report.html", "summary.json"]);

    let out = loadplan(&["run", &plan, "--report", "csv,pdf", "--dry-run"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("invalid value 'pdf'"), "{err}");
    assert!(
        err.contains("json, csv, junit, html, markdown, ndjson"),
        "{err}"
    );
}

#[test]
fn metrics_ndjson_lines_carry_the_wall_clock_time() {
    let demo = Demo::start(DemoOptions::default());
    let (_dir, plan) = plan("{ users: 1, duration: 1200ms }");
    let run = run_plan(&plan, &demo.url(), &["--report", "ndjson"], &[]);
    passed(&run);
    let summary = run.summary.as_ref().unwrap();
    let started = humantime::parse_rfc3339(summary["run"]["started_at"].as_str().unwrap()).unwrap();
    let text = std::fs::read_to_string(run.out.path().join("metrics.ndjson")).unwrap();
    assert!(text.lines().count() >= 2, "{text}");
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let time = v["time"].as_str().expect("a `time` field");
        assert!(time.ends_with('Z') && time.len() == 24, "{time}");
        let at: SystemTime = humantime::parse_rfc3339(time).unwrap();
        let elapsed = Duration::from_secs_f64(v["elapsed_s"].as_f64().unwrap());
        let off = at.duration_since(started).unwrap().abs_diff(elapsed);
        assert!(
            off <= Duration::from_millis(1),
            "{time} is not start + {elapsed:?}"
        );
    }
}
