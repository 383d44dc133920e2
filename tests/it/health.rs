//! Health policies end to end: `loadplan health` against the demo API's fault knobs (a
//! `loadplan demo --port 0` child process), the `run` gate, and during-load probes
//! in-process. Deadlines are cut short with `--set`; every bound on wall time is generous.

use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::{DemoProcess, root, stderr, stdout};

/// Runs `loadplan ARGS` without credentials or a target in the environment, with
/// `EXPECTED_VERSION` set only when given; returns the output and the wall time.
fn loadplan(args: &[&str], expected_version: Option<&str>) -> (Output, Duration) {
    let mut cmd = crate::support::command();
    cmd.current_dir(root())
        .args(args)
        .env_remove("TARGET_URL")
        .env_remove("API_USERNAME")
        .env_remove("API_PASSWORD")
        .env_remove("EXPECTED_VERSION")
        .env("NO_COLOR", "1");
    if let Some(v) = expected_version {
        cmd.env("EXPECTED_VERSION", v);
    }
    let start = Instant::now();
    let out = cmd.output().unwrap();
    (out, start.elapsed())
}

/// `loadplan health plans/upstream.yaml --base-url URL` with short timings and `extra` args.
fn health(url: &str, extra: &[&str], expected_version: Option<&str>) -> (Output, Duration) {
    let mut args = vec![
        "health",
        "plans/upstream.yaml",
        "--base-url",
        url,
        "--set",
        "health.ready.interval=100ms",
        "--set",
        "health.ready.retries=50",
    ];
    args.extend_from_slice(extra);
    loadplan(&args, expected_version)
}

fn both(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

#[test]
fn starting_then_healthy_passes_after_retries_without_credentials() {
    // Unhealthy for 2 s from its start, so the first try sees a 503 even when this loaded
    // machine starts the checker slowly.
    let demo = DemoProcess::start(&["--unhealthy-for", "2"]);
    let (out, took) = health(&demo.url, &["--set", "health.ready.deadline=8s"], None);
    let text = both(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("try 1 +0.0s 503"), "{text}");
    assert!(text.contains("HTTP 503, expected 200"), "{text}");
    assert!(text.contains(" 200 ") && text.contains(": ok"), "{text}");
    assert!(text.contains("`ready` healthy after"), "{text}");
    assert!(took < Duration::from_secs(8), "{took:?}");
}

#[test]
fn wrong_version_fails_showing_both_versions_and_writes_reports() {
    let demo = DemoProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let (out, took) = health(
        &demo.url,
        &["--set", "health.ready.deadline=1s", "--out", out_dir],
        Some("9.9.9"),
    );
    let text = both(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("200") && text.contains("$.version is 1.4.2, expected 9.9.9"),
        "{text}"
    );
    assert!(text.contains("`ready` unhealthy after"), "{text}");
    // Deadline 1s plus one per-try timeout (5s), plus process start-up.
    assert!(took < Duration::from_secs(6), "{took:?}");

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("health.json")).unwrap()).unwrap();
    assert_eq!(json["verdict"], "unhealthy");
    assert_eq!(json["healthy"], false);
    assert_eq!(json["results"][0]["policy"], "ready");
    assert_eq!(json["results"][0]["phase"], "standalone");
    assert_eq!(
        json["results"][0]["reason"],
        "$.version is 1.4.2, expected 9.9.9"
    );
    assert!(json["results"][0]["attempts"].as_array().unwrap().len() >= 2);
    let xml = std::fs::read_to_string(dir.path().join("health-junit.xml")).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 1, "{xml}");
    assert!(
        xml.contains("<failure message=\"$.version is 1.4.2, expected 9.9.9\""),
        "{xml}"
    );
}

#[test]
fn a_stall_is_cut_by_the_per_try_timeout_within_the_deadline() {
    let demo = DemoProcess::start(&["--stall", "/api/v1/health/"]);
    let (out, took) = health(
        &demo.url,
        &[
            "--set",
            "health.ready.timeout=500ms",
            "--set",
            "health.ready.deadline=1500ms",
        ],
        None,
    );
    let text = both(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("try 1 +0.0s --- "), "{text}");
    assert!(text.contains(": timed out after 500ms"), "{text}");
    // Never later than deadline + one per-try timeout (2s), plus process start-up.
    assert!(took < Duration::from_millis(4000), "{took:?}");
    assert!(took >= Duration::from_millis(1000), "{took:?}");
}

#[test]
fn an_unreachable_target_fails() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let (out, took) = health(&url, &["--set", "health.ready.deadline=1s"], None);
    let text = both(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("try 1 +0.0s ---"), "{text}");
    assert!(text.to_lowercase().contains("connect"), "{text}");
    assert!(took < Duration::from_secs(6), "{took:?}");
}

#[test]
fn a_non_json_body_fails() {
    let demo = DemoProcess::start(&["--bad-json", "/api/v1/health/"]);
    let (out, _) = health(&demo.url, &["--set", "health.ready.deadline=500ms"], None);
    let text = both(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("body is not JSON"), "{text}");
}

#[test]
fn a_degraded_status_fails() {
    let demo = DemoProcess::start(&["--health-status", "degraded"]);
    let (out, _) = health(&demo.url, &["--set", "health.ready.deadline=500ms"], None);
    let text = both(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("$.status is degraded, expected ok"), "{text}");
}

#[test]
fn a_503_while_starting_fails_at_the_deadline() {
    let demo = DemoProcess::start(&["--unhealthy-for", "60"]);
    let (out, took) = health(&demo.url, &["--set", "health.ready.deadline=1s"], None);
    let text = both(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("unhealthy after") && text.contains("HTTP 503, expected 200"),
        "{text}"
    );
    assert!(took < Duration::from_secs(6), "{took:?}");
}

#[test]
fn an_invalid_expectation_is_exit_2_with_a_location() {
    let dir = tempfile::tempdir().unwrap();
    let plan = std::fs::read_to_string(root().join("plans/demo.yaml"))
        .unwrap()
        .replace(
            "{ path: $.status, equals: ok }",
            "{ path: \"$.status[\", equals: ok }",
        )
        .replace("../schema/", &format!("{}/schema/", root().display()));
    let file = dir.path().join("bad-health.yaml");
    std::fs::write(&file, plan).unwrap();
    let (out, _) = loadplan(
        &[
            "health",
            file.to_str().unwrap(),
            "--base-url",
            "http://127.0.0.1:9",
        ],
        None,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let located = regex_like_location(&err, "bad-health.yaml:");
    assert!(located, "no file:line:col in {err}");
    assert!(err.contains("$.status["), "{err}");
}

#[test]
fn an_unset_variable_in_the_request_is_exit_2_without_retrying() {
    let (out, took) = loadplan(
        &[
            "health",
            "plans/demo.yaml",
            "--base-url",
            "http://127.0.0.1:9",
            "--set",
            "health.ready.request.path=/{{ env.LOADPLAN_TEST_UNSET_PATH }}",
        ],
        None,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("environment variable `LOADPLAN_TEST_UNSET_PATH` is not set"),
        "{err}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
}

/// Whether `text` has `PREFIXLINE:COL:` somewhere.
fn regex_like_location(text: &str, prefix: &str) -> bool {
    text.match_indices(prefix).any(|(i, _)| {
        let rest = &text[i + prefix.len()..];
        let mut parts = rest.splitn(3, ':');
        let line = parts.next().unwrap_or("");
        let col = parts.next().unwrap_or("");
        !line.is_empty()
            && line.chars().all(|c| c.is_ascii_digit())
            && !col.is_empty()
            && col.chars().all(|c| c.is_ascii_digit())
    })
}

#[test]
fn an_unknown_policy_is_exit_2_with_the_known_ones() {
    let (out, _) = loadplan(&["health", "plans/demo.yaml", "--policy", "nope"], None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no health policy `nope`"), "{err}");
    assert!(err.contains("`ready`"), "{err}");
    let (out, _) = loadplan(&["health", "plans/demo.yaml", "--policy", "redy"], None);
    assert!(
        stderr(&out).contains("did you mean `ready`?"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_demo_plan_is_healthy_against_the_demo() {
    let (out, _) = loadplan(
        &["health", "plans/demo.yaml", "--demo", "--policy", "ready"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(stdout(&out).contains("try 1 +0.0s 200"), "{}", stdout(&out));
}

#[test]
fn help_documents_every_option_and_the_exit_codes() {
    let (out, _) = loadplan(&["health", "--help"], None);
    let help = stdout(&out);
    for option in [
        "--policy <NAME>",
        "--set <PATH=VALUE>",
        "--base-url <URL>",
        "--out <DIR>",
        "--demo",
        "--quiet",
        "Exit codes",
    ] {
        assert!(help.contains(option), "`{option}` missing from\n{help}");
    }
}

#[test]
fn a_failed_before_gate_sends_no_load() {
    let dir = tempfile::tempdir().unwrap();
    let (out, took) = loadplan(
        &[
            "run",
            "plans/demo.yaml",
            "--demo",
            "--duration",
            "5s",
            "--out",
            dir.path().to_str().unwrap(),
            "--set",
            "health.ready.deadline=500ms",
            "--set",
            "health.ready.interval=100ms",
        ],
        Some("9.9.9"),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no load was sent"), "{err}");
    assert!(err.contains("$.version is 1.4.2, expected 9.9.9"), "{err}");
    // The load's 5 s never started.
    assert!(took < Duration::from_secs(4), "{took:?}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["total"]["requests"], 0, "{summary}");
    assert_eq!(summary["run"]["logins"], 0, "{summary}");
    // The gate is the verdict: no SLA fails on the statistics of a load never sent.
    let verdicts = summary["verdicts"].as_array().unwrap();
    assert!(
        !verdicts.is_empty() && verdicts.iter().all(|v| v["status"] == "SKIPPED"),
        "{summary}"
    );
}

#[test]
fn during_and_after_policies_stay_out_of_the_endpoint_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = loadplan(
        &[
            "run",
            "plans/demo.yaml",
            "--demo",
            "--duration",
            "1s",
            "--users",
            "1",
            "--out",
            dir.path().to_str().unwrap(),
            "--set",
            "health.ready.run.0=during",
            "--set",
            "health.ready.interval=100ms",
        ],
        None,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("(before the load)"), "{err}");
    assert!(err.contains("health `ready` (after the load)"), "{err}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap()).unwrap();
    let probes = &summary["health"]["probes"][0];
    assert!(
        probes["probes"].as_u64().unwrap() >= 3,
        "probes ran every 100ms: {probes}"
    );
    // The endpoints' requests are only theirs: the rows add up to the total, and no row is
    // the health route.
    let rows = summary["rows"].as_array().unwrap();
    let sum: u64 = rows.iter().map(|r| r["requests"].as_u64().unwrap()).sum();
    assert_eq!(
        sum,
        summary["total"]["requests"].as_u64().unwrap(),
        "{summary}"
    );
    assert!(rows.iter().all(|r| r["name"] != "ready"), "{summary}");
}

/// During-load probes, in-process: they count passes against the demo API until stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_probes_count_every_probe() {
    let server = loadplan::DemoServer::start(loadplan::DemoOptions {
        port: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    let overrides = [
        loadplan::Override::new("target.base_url", &server.base_url()),
        loadplan::Override::new("health.ready.run.0", "during"),
        loadplan::Override::new("health.ready.interval", "20ms"),
    ];
    let plan = loadplan::load(&root().join("plans/demo.yaml"), &overrides).unwrap();
    let http = loadplan::HttpSettings::new(&plan).unwrap();
    let probes = loadplan::Probes::start(&plan, &server.base_url(), &http).unwrap();
    let health = loadplan::Route::Health;
    let waited = Instant::now();
    while server.stats.requests(health) < 5 {
        assert!(
            waited.elapsed() < Duration::from_secs(5),
            "the probes never ran"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stats = probes.stop().await;
    assert_eq!(stats.len(), 1);
    let s = &stats[0];
    assert_eq!(s.policy, "ready");
    assert!(s.probes >= 4, "{s:?}");
    assert_eq!(s.successes, s.probes, "{s:?}");
    assert_eq!(s.outages, 0);
    assert_eq!(s.availability(), Some(1.0));
    assert!(
        s.mean_latency_ms.is_some() && s.max_latency_ms.is_some(),
        "{s:?}"
    );
    // Only the health route was hit: probes are not load.
    assert_eq!(server.stats.total_requests(), server.stats.requests(health));
    server.shutdown().await;
}

/// Issue 12: what `loadplan health` prints for an unhealthy target, whole (times and
/// latencies, which vary, redacted).
#[test]
fn health_output_is_snapshotted() {
    let (out, _) = loadplan(
        &[
            "health",
            "plans/demo.yaml",
            "--demo",
            "--set",
            "health.ready.expect.json.0.equals=down",
            "--set",
            "health.ready.retries=1",
            "--set",
            "health.ready.interval=10ms",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let steady = |text: &str| {
        let text = regex::Regex::new(r"\d+(\.\d+)?(us|ms)\b")
            .unwrap()
            .replace_all(text, "Tms");
        regex::Regex::new(r"\d+\.\ds\b")
            .unwrap()
            .replace_all(&text, "X.Xs")
            .into_owned()
    };
    insta::assert_snapshot!(format!(
        "--- stdout\n{}--- stderr\n{}",
        steady(&stdout(&out)),
        steady(&stderr(&out))
    ));
}
