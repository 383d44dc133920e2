//! The engine end to end: the real binary against the embedded demo API on an ephemeral
//! loopback port, with short runs and no think time unless a test is about pacing.

use loadplan::demo::DemoOptions;

use crate::support::{Demo, loadplan, run_plan, stderr, stdout};

const FAST: &[&str] = &["--set", "load.think_time=none", "-q"];

fn fast(extra: &[&'static str]) -> Vec<&'static str> {
    FAST.iter().copied().chain(extra.iter().copied()).collect()
}

#[test]
fn reference_plan_logs_in_once_per_user_and_sends_the_token_everywhere() {
    let demo = Demo::start(DemoOptions::default());
    let r = run_plan(
        "plans/upstream.yaml",
        &demo.url(),
        &fast(&["--users", "3", "--duration", "2s"]),
        &[("API_USERNAME", "demo"), ("API_PASSWORD", "demo-password")],
    );
    assert_eq!(r.code(), Some(0), "{}", stderr(&r.output));
    let stats = &demo.server.stats;
    assert_eq!(
        stats.logins(),
        3,
        "each user logs in exactly once while its token is valid"
    );
    assert_eq!(
        stats.unauthorized(),
        0,
        "every protected request carried the token"
    );
    let total = r.summary.as_ref().unwrap()["total"].clone();
    assert!(total["requests"].as_u64().unwrap() > 100, "{total}");
    assert_eq!(total["failures"], 0, "{total}");
    // Details are only fetched for ids a list returned: none answered 404.
    assert!(r.row("get_claim_detail")["requests"].as_u64().unwrap() > 0);
    assert_eq!(r.row("get_claim_detail")["failures"], 0);
}

#[test]
fn seeded_weights_are_followed() {
    let demo = Demo::start(DemoOptions::default());
    let r = run_plan(
        "plans/demo.yaml",
        &demo.url(),
        &fast(&[
            "--users",
            "4",
            "--seed",
            "7",
            "--set",
            "load.iterations=4000",
            "--duration",
            "60s",
        ]),
        &[],
    );
    assert_eq!(r.code(), Some(0), "{}", stderr(&r.output));
    let weights = [
        ("list_claims", 5.0),
        ("filter_claims_by_payer", 3.0),
        ("search_claims", 2.0),
        ("get_payer_summary", 4.0),
        ("list_drift_events", 3.0),
        ("filter_drift_by_severity", 2.0),
        ("get_dashboard", 4.0),
        ("list_uploads", 2.0),
        ("list_reports", 1.0),
        ("get_claim_detail", 3.0),
    ];
    let total: f64 = weights.iter().map(|w| w.1).sum();
    let counts: Vec<f64> = weights
        .iter()
        .map(|(n, _)| r.row(n)["requests"].as_f64().unwrap())
        .collect();
    let n: f64 = counts.iter().sum();
    assert_eq!(n, 4000.0, "exactly the iteration total");
    // Chi-square against the weights, 9 degrees of freedom: 27.9 is the 0.1 % critical value.
    let chi: f64 = weights
        .iter()
        .zip(&counts)
        .map(|((_, w), c)| {
            let expected = n * w / total;
            (c - expected).powi(2) / expected
        })
        .sum();
    assert!(chi < 27.9, "chi-square {chi} for {counts:?}");
}

#[test]
fn tokens_expiring_mid_run_are_renewed_ahead_of_expiry() {
    let demo = Demo::start(DemoOptions {
        token_ttl: std::time::Duration::from_secs(1),
        ..Default::default()
    });
    let r = run_plan(
        "plans/demo.yaml",
        &demo.url(),
        &fast(&[
            "--users",
            "1",
            "--duration",
            "3s",
            "--set",
            "auth.refresh.before_expiry=300ms",
        ]),
        &[],
    );
    assert_eq!(r.code(), Some(0), "{}", stderr(&r.output));
    assert_eq!(demo.server.stats.logins(), 1);
    assert!(
        demo.server.stats.refreshes() >= 2,
        "refreshed {} times",
        demo.server.stats.refreshes()
    );
    assert_eq!(demo.server.stats.unauthorized(), 0);
    assert!(
        r.row("refresh")["requests"].as_u64().unwrap() >= 2,
        "refresh has its own row"
    );
}

#[test]
fn a_401_refreshes_and_retries_once() {
    let demo = Demo::start(DemoOptions {
        token_ttl: std::time::Duration::from_millis(500),
        ..Default::default()
    });
    let r = run_plan(
        "tests/fixtures/engine/refresh-on-401.yaml",
        &demo.url(),
        &["-q"],
        &[],
    );
    assert_eq!(r.code(), Some(0), "{}", stderr(&r.output));
    let stats = &demo.server.stats;
    assert!(
        stats.unauthorized() >= 1 && stats.refreshes() >= 1,
        "401s {} refreshes {}",
        stats.unauthorized(),
        stats.refreshes()
    );
    // Each 401 is followed by a successful retry: the dashboard answered more than it refused.
    let row = r.row("get_dashboard");
    assert_eq!(
        row["failures"].as_u64(),
        Some(stats.unauthorized()),
        "only the refused attempts failed: {row}"
    );
}

#[test]
fn flows_captures_and_feeders() {
    let demo = Demo::start(DemoOptions::default());
    let r = run_plan(
        "tests/fixtures/engine/flow-and-feeder.yaml",
        &demo.url(),
        &["-q", "--seed", "3"],
        &[],
    );
    assert_eq!(r.code(), Some(0), "{}", stderr(&r.output));
    let list = r.row("browse/list");
    let detail = r.row("browse/detail");
    assert_eq!(
        list["requests"], detail["requests"],
        "each flow sends both steps"
    );
    assert_eq!(detail["failures"], 0, "the detail used the captured id");
    // Feeder rows 1, 2, 999999 in turn (each task takes the next row): the unknown id is a 404.
    let fed = r.row("by_feeder");
    let n = fed["requests"].as_u64().unwrap();
    let failed = fed["failures"].as_u64().unwrap();
    assert!(failed > 0 && failed < n, "{fed}");
    assert_eq!(
        fed["failures_by_kind"]["status"].as_u64(),
        Some(failed),
        "{fed}"
    );
    assert_eq!(
        list["requests"].as_u64().unwrap() + n,
        30,
        "the iteration total counts tasks"
    );
}

#[test]
fn open_model_keeps_its_schedule_and_drops_at_the_cap() {
    let demo = Demo::start(DemoOptions::default());
    let r = run_plan("tests/fixtures/engine/open.yaml", &demo.url(), &["-q"], &[]);
    assert_eq!(r.code(), Some(0), "{}", stderr(&r.output));
    let s = r.summary.as_ref().unwrap();
    assert_eq!(s["total"]["requests"], 100, "50/s for 2 s");
    assert_eq!(s["run"]["dropped_iterations"], 0);

    let slow = Demo::start(DemoOptions {
        latency: std::time::Duration::from_millis(300),
        ..Default::default()
    });
    let r = run_plan(
        "tests/fixtures/engine/open.yaml",
        &slow.url(),
        &["-q", "--set", "load.max_concurrency=2"],
        &[],
    );
    let s = r.summary.as_ref().unwrap();
    assert!(s["run"]["dropped_iterations"].as_u64().unwrap() > 50, "{s}");
    assert!(s["total"]["requests"].as_u64().unwrap() <= 16, "{s}");
}

#[test]
fn closed_model_stages_ramp_users_down_and_up() {
    let demo = Demo::start(DemoOptions::default());
    let plan = tempfile::NamedTempFile::with_suffix(".yaml").unwrap();
    std::fs::write(
        plan.path(),
        "version: 1\nname: stages\ntarget: { base_url: http://127.0.0.1:9 }\n\
         auth:\n  login: { method: POST, path: /api/v1/auth/token/, json: { username: demo, password: demo-password } }\n\
         \x20 extract: { access: $.access }\n  apply: { headers: { Authorization: \"Bearer {{ auth.access }}\" } }\n\
         load:\n  think_time: 50ms\n  stages: [{ target: 3, duration: 300ms }, { target: 3, duration: 300ms }, { target: 1, duration: 300ms }, { target: 1, duration: 300ms }, { target: 3, duration: 300ms }, { target: 3, duration: 300ms }]\n\
         endpoints:\n  - { name: dashboard, request: { path: /api/v1/dashboard/ }, check: { status: [200] } }\n",
    )
    .unwrap();
    let r = run_plan(plan.path().to_str().unwrap(), &demo.url(), &["-q"], &[]);
    assert_eq!(r.code(), Some(0), "{}", stderr(&r.output));
    let s = r.summary.as_ref().unwrap();
    assert!(
        s["run"]["duration_s"].as_f64().unwrap() < 3.0,
        "stages end the run: {}",
        s["run"]["duration_s"]
    );
    // Three users, two leave on the ramp-down, two new ones join on the ramp-up: five logins.
    assert_eq!(demo.server.stats.logins(), 5);
    assert_eq!(r.row("dashboard")["failures"], 0);
}

#[test]
fn target_down_is_recorded_and_the_run_completes() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let r = run_plan(
        "tests/fixtures/engine/simple.yaml",
        &format!("http://127.0.0.1:{port}"),
        &["-q"],
        &[],
    );
    assert_eq!(r.code(), Some(0), "{}", stderr(&r.output));
    let row = r.row("health");
    assert!(
        row["failures_by_kind"]["connect"].as_u64().unwrap() > 0,
        "{row}"
    );
}

/// A name that cannot resolve. A DNS label longer than 63 characters is refused by the
/// system resolver before any query is sent, so the test stays on this machine.
#[test]
fn dns_failures_are_recorded_as_connect_failures() {
    let host = format!("{}.invalid", "a".repeat(64));
    let r = run_plan(
        "tests/fixtures/engine/simple.yaml",
        &format!("http://{host}:8080"),
        &["-q"],
        &[],
    );
    assert_eq!(r.code(), Some(0), "{}", stderr(&r.output));
    let row = r.row("health");
    let failed = row["failures_by_kind"]["connect"].as_u64().unwrap();
    assert!(
        failed > 0 && row["failures"].as_u64() == Some(failed),
        "{row}"
    );
    let messages = r.summary.as_ref().unwrap()["failures"].to_string();
    assert!(messages.contains("cannot resolve"), "{messages}");
}

#[test]
fn faults_are_classified() {
    let demo = Demo::start(DemoOptions {
        reset: vec!["/api/v1/dashboard/".into()],
        stall: vec!["/api/v1/uploads/".into()],
        bad_json: vec!["/api/v1/claims/".into()],
        ..Default::default()
    });
    let only = "get_dashboard,list_uploads,list_claims,get_payer_summary";
    let r = run_plan(
        "plans/demo.yaml",
        &demo.url(),
        &fast(&[
            "--users",
            "2",
            "--duration",
            "2s",
            "--only",
            only,
            "--set",
            "target.timeout=300ms",
        ]),
        &[],
    );
    // Every request fails on purpose, so the plan's error-rate SLA fails: exit 1.
    assert_eq!(r.code(), Some(1), "{}", stderr(&r.output));
    let kinds = |name: &str| r.row(name)["failures_by_kind"].clone();
    assert!(
        kinds("get_dashboard")["reset"].as_u64().unwrap_or(0) > 0,
        "{}",
        kinds("get_dashboard")
    );
    assert!(
        kinds("list_uploads")["timeout"].as_u64().unwrap_or(0) > 0,
        "{}",
        kinds("list_uploads")
    );
    assert!(
        kinds("list_claims")["capture"].as_u64().unwrap_or(0)
            + kinds("list_claims")["status"].as_u64().unwrap_or(0)
            > 0,
        "{}",
        kinds("list_claims")
    );
    assert_eq!(
        r.row("get_payer_summary")["failures"],
        0,
        "healthy routes stay healthy"
    );
}

#[test]
fn server_errors_and_truncated_bodies() {
    let demo = Demo::start(DemoOptions {
        error_rate: 1.0,
        ..Default::default()
    });
    let r = run_plan(
        "plans/demo.yaml",
        &demo.url(),
        &fast(&[
            "--users",
            "1",
            "--duration",
            "1s",
            "--only",
            "get_dashboard",
        ]),
        &[],
    );
    assert!(
        r.row("get_dashboard")["failures_by_kind"]["status"]
            .as_u64()
            .unwrap()
            > 0
    );

    let demo = Demo::start(DemoOptions::default());
    let r = run_plan(
        "plans/demo.yaml",
        &demo.url(),
        &fast(&[
            "--users",
            "1",
            "--duration",
            "1s",
            "--only",
            "list_claims",
            "--set",
            "target.max_body=256B",
        ]),
        &[],
    );
    let row = r.row("list_claims");
    assert!(
        row["failures_by_kind"]["capture"].as_u64().unwrap() > 0,
        "a cut body cannot be captured from: {row}"
    );
    assert!(
        row["bytes_in"].as_u64().unwrap() > 256 * row["requests"].as_u64().unwrap(),
        "bytes past the cap are still counted: {row}"
    );
}

#[test]
fn login_without_a_token_stops_the_run_with_exit_1() {
    let demo = Demo::start(DemoOptions::default());
    let r = run_plan(
        "plans/demo.yaml",
        &demo.url(),
        &fast(&[
            "--users",
            "2",
            "--duration",
            "20s",
            "--set",
            "auth.extract.access=$.token",
        ]),
        &[],
    );
    assert_eq!(r.code(), Some(1), "{}", stderr(&r.output));
    assert!(
        stderr(&r.output).contains("no user could log in"),
        "{}",
        stderr(&r.output)
    );
    assert!(
        r.summary.as_ref().unwrap()["run"]["duration_s"]
            .as_f64()
            .unwrap()
            < 10.0,
        "stopped early"
    );
    assert!(r.row("login")["failures"].as_u64().unwrap() >= 2);
}

#[test]
fn secrets_never_appear_in_output_or_results() {
    let demo = Demo::start(DemoOptions {
        error_rate: 0.5,
        ..Default::default()
    });
    let env = [("API_USERNAME", "demo"), ("API_PASSWORD", "demo-password")];
    let r = run_plan(
        "plans/upstream.yaml",
        &demo.url(),
        &[
            "--users",
            "2",
            "--duration",
            "1s",
            "--set",
            "load.think_time=none",
            "-v",
        ],
        &env,
    );
    // Half the requests fail (the demo's error rate): the error-rate SLA fails, exit 1.
    assert_eq!(r.code(), Some(1), "{}", stderr(&r.output));
    let mut texts = vec![stdout(&r.output), stderr(&r.output)];
    for e in std::fs::read_dir(r.out.path()).unwrap() {
        texts.push(std::fs::read_to_string(e.unwrap().path()).unwrap_or_default());
    }
    let dry = run_plan("plans/upstream.yaml", &demo.url(), &["--dry-run"], &env);
    assert_eq!(dry.code(), Some(0), "{}", stderr(&dry.output));
    let dry_out = stdout(&dry.output);
    assert!(
        dry_out.contains("Bearer <auth.access>") && dry_out.contains("<capture claim_ids>"),
        "{dry_out}"
    );
    texts.push(dry_out);
    texts.push(stderr(&dry.output));
    let token = regex::Regex::new(r"[0-9a-f]{32}").unwrap();
    // The reports carry the plan's SHA-256 (64 hex digits), which is no token.
    let plan_hash = regex::Regex::new(r"\b[0-9a-f]{64}\b").unwrap();
    for t in &texts {
        assert!(!t.contains("demo-password"), "password leaked: {t}");
        let t = plan_hash.replace_all(t, "<sha256>");
        assert!(!token.is_match(&t), "token leaked: {t}");
    }
    assert!(
        texts[1].contains("failed "),
        "-v logs failed requests: {}",
        texts[1]
    );
}

#[test]
fn demo_command_prints_its_url_first() {
    // `DemoProcess::start` reads the first line and requires `listening on …`.
    let demo = crate::support::DemoProcess::start(&[]);
    assert!(demo.url.starts_with("http://127.0.0.1:"), "{}", demo.url);
}

#[test]
fn only_rejects_unknown_names() {
    let out = loadplan(&[
        "run",
        "plans/demo.yaml",
        "--only",
        "get_dashbord",
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean `get_dashboard`?"),
        "{}",
        stderr(&out)
    );
}

/// Interrupts a running `run` with a signal once it has sent requests; returns the exit
/// code and the summary it wrote.
#[cfg(unix)]
fn interrupt_run(signal: &str) -> (Option<i32>, serde_json::Value) {
    use std::io::BufRead;
    let demo = Demo::start(DemoOptions::default());
    let out = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_loadplan"))
        .current_dir(crate::support::root())
        .args([
            "run",
            "plans/demo.yaml",
            "--base-url",
            &demo.url(),
            "--duration",
            "60s",
            "--set",
            "load.think_time=none",
            "--out",
            out.path().to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the run has started (its status line, after the health gate's lines) and
    // sent requests.
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("running") {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "no `running` line");
    }
    while demo.server.stats.total_requests() < 50 {
        std::thread::yield_now();
    }
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap().code();
    let summary =
        serde_json::from_slice(&std::fs::read(out.path().join("summary.json")).unwrap()).unwrap();
    (code, summary)
}

#[cfg(unix)]
#[test]
fn ctrl_c_still_writes_the_results() {
    let (code, summary) = interrupt_run("-INT");
    assert_eq!(code, Some(130));
    assert!(summary["total"]["requests"].as_u64().unwrap() >= 50);
    assert_eq!(summary["run"]["stop"], "interrupted");
}

#[cfg(unix)]
#[test]
fn sigterm_still_writes_the_results() {
    let (code, summary) = interrupt_run("-TERM");
    assert_eq!(code, Some(143));
    assert_eq!(summary["run"]["stop"], "terminated");
}

/// Every example plan runs against the demo API (drill never ran its examples).
#[test]
fn every_example_runs() {
    let demo = Demo::start(DemoOptions::default());
    let mut examples: Vec<_> = std::fs::read_dir(crate::support::root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 10, "{examples:?}");
    for path in examples {
        let rel = path
            .strip_prefix(crate::support::root())
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let r = run_plan(&rel, &demo.url(), &fast(&["--duration", "1s"]), &[]);
        assert!(
            matches!(r.code(), Some(0 | 1)),
            "{rel}: {}",
            stderr(&r.output)
        );
        let total = &r.summary.as_ref().unwrap()["total"];
        assert!(
            total["requests"].as_u64().unwrap() > 0,
            "{rel} sent nothing"
        );
    }
}

#[test]
fn a_shared_login_is_sent_once_for_all_users() {
    let demo = Demo::start(DemoOptions::default());
    let r = run_plan(
        "plans/demo.yaml",
        &demo.url(),
        &fast(&[
            "--users",
            "4",
            "--duration",
            "1s",
            "--set",
            "auth.scope=shared",
        ]),
        &[],
    );
    assert_eq!(r.code(), Some(0), "{}", stderr(&r.output));
    assert_eq!(demo.server.stats.logins(), 1);
    assert_eq!(demo.server.stats.unauthorized(), 0);
}

/// A `before_expiry` margin longer than the token's life must not renew before every request.
#[test]
fn a_long_renewal_margin_renews_at_most_halfway_through_a_token_life() {
    let demo = Demo::start(DemoOptions {
        token_ttl: std::time::Duration::from_secs(2),
        ..Default::default()
    });
    let r = run_plan(
        "plans/demo.yaml",
        &demo.url(),
        &fast(&["--users", "1", "--duration", "3s"]),
        &[],
    );
    assert_eq!(r.code(), Some(0), "{}", stderr(&r.output));
    let refreshes = demo.server.stats.refreshes();
    assert!(
        (1..=4).contains(&refreshes),
        "plans/demo.yaml renews 10 s ahead of a 2 s token: {refreshes} refreshes"
    );
}

/// One user failing its first login while others have not started yet does not end the run.
#[test]
fn no_login_waits_for_every_user_to_try() {
    let demo = Demo::start(DemoOptions::default());
    let r = run_plan(
        "plans/demo.yaml",
        &demo.url(),
        &fast(&[
            "--users",
            "3",
            "--duration",
            "20s",
            "--set",
            "load.spawn_rate=2/s",
            "--set",
            "auth.login.json.password=wrong",
        ]),
        &[],
    );
    assert_eq!(r.code(), Some(1), "{}", stderr(&r.output));
    assert!(
        stderr(&r.output).contains("no user could log in (3 users tried"),
        "{}",
        stderr(&r.output)
    );
}

#[test]
fn environment_values_in_any_template_are_masked() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("p.yaml");
    std::fs::write(
        &plan,
        "version: 1\nname: keys\ntarget:\n  base_url: http://127.0.0.1:9\n  headers: { X-Api-Key: \"{{ env.LP_TEST_KEY }}\" }\n\
         load: { users: 1, duration: 1s }\nendpoints:\n  - { name: a, request: { path: /x, query: { sig: \"{{ env.LP_TEST_SIG }}\" } } }\n",
    )
    .unwrap();
    let r = run_plan(
        plan.to_str().unwrap(),
        "http://127.0.0.1:9",
        &["--dry-run"],
        &[("LP_TEST_KEY", "key-s3cret"), ("LP_TEST_SIG", "sig-s3cret")],
    );
    let out = stdout(&r.output);
    assert!(
        out.contains("x-api-key: ***") && out.contains("sig=***"),
        "{out}"
    );
    assert!(!out.contains("s3cret"), "{out}");
}

/// With a seed, a user's run repeats: endpoint picks, and template randomness (`random`,
/// `random_int`), whichever worker thread runs it. (With several users sharing an
/// iteration total, who takes which iteration is a race, so one user here.) Response sizes depend on the
/// random pages, payers and ids requested, so equal byte counts show equal requests.
#[test]
fn seeded_runs_repeat() {
    let demo = Demo::start(DemoOptions::default());
    let bytes = |seed: &'static str| {
        let r = run_plan(
            "plans/demo.yaml",
            &demo.url(),
            &fast(&[
                "--users",
                "1",
                "--seed",
                seed,
                "--set",
                "load.iterations=200",
                "--duration",
                "60s",
            ]),
            &[],
        );
        let s = r.summary.unwrap();
        s["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["requests"].as_u64(), r["bytes_in"].as_u64()))
            .collect::<Vec<_>>()
    };
    let first = bytes("5");
    assert_eq!(first, bytes("5"));
    assert_ne!(first, bytes("6"));
}

/// Requests abandoned at the end of the graceful stop are reported, not silently dropped.
#[test]
fn requests_cut_by_the_graceful_stop_are_reported() {
    let demo = Demo::start(DemoOptions {
        stall: vec!["/api/v1/dashboard/".into()],
        ..Default::default()
    });
    let r = run_plan(
        "plans/demo.yaml",
        &demo.url(),
        &fast(&[
            "--users",
            "2",
            "--duration",
            "1s",
            "--only",
            "get_dashboard",
            "--set",
            "load.graceful_stop=200ms",
        ]),
        &[],
    );
    assert!(
        stderr(&r.output).contains(
            "2 requests were still in flight when the graceful stop (200ms) ended; they count as timeouts"
        ),
        "{}",
        stderr(&r.output)
    );
    assert!(r.summary.is_some(), "results are written");
}

/// A during-load outage (`failure_threshold` failed probes in a row) fails the run.
#[test]
fn a_during_load_outage_fails_the_run() {
    let demo = crate::support::DemoProcess::start(&["--unhealthy-for", "60"]);
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("p.yaml");
    std::fs::write(
        &plan,
        "version: 1\nname: probes\ntarget: { base_url: http://127.0.0.1:9 }\nload: { users: 1, duration: 1500ms, think_time: 100ms }\n\
         endpoints:\n  - { name: a, request: { path: /api/v1/uploads/ }, check: { status: [401] } }\n\
         health:\n  live: { request: { path: /api/v1/health/ }, interval: 100ms, failure_threshold: 2, run: [during] }\n\
         outputs: { formats: [json, junit] }\n",
    )
    .unwrap();
    let r = run_plan(plan.to_str().unwrap(), &demo.url, &["-q"], &[]);
    assert_eq!(r.code(), Some(1), "{}", stderr(&r.output));
    let junit = std::fs::read_to_string(r.out.path().join("junit.xml")).unwrap();
    assert!(junit.contains("live down"), "{junit}");
}

/// Ctrl-C while an `after` health check waits on a stalled target ends the run at once,
/// with the results written and exit 130.
#[cfg(unix)]
#[test]
fn ctrl_c_during_the_after_check_is_heard() {
    use std::io::BufRead;
    let demo = crate::support::DemoProcess::start(&["--stall", "/api/v1/health/"]);
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("p.yaml");
    std::fs::write(
        &plan,
        "version: 1\nname: after\ntarget: { base_url: http://127.0.0.1:9 }\nload: { users: 1, duration: 500ms }\n\
         endpoints:\n  - { name: a, request: { path: /api/v1/uploads/ }, check: { status: [401] } }\n\
         health:\n  ready: { request: { path: /api/v1/health/ }, timeout: 20s, deadline: 60s, run: [after] }\n",
    )
    .unwrap();
    let out = dir.path().join("results");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_loadplan"))
        .args([
            "run",
            plan.to_str().unwrap(),
            "--base-url",
            &demo.url,
            "--out",
            out.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("after the load") {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "the after check never started"
        );
    }
    let started = std::time::Instant::now();
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "waited out the stalled try"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["run"]["stop"], "interrupted", "{}", summary["run"]);
}

#[test]
fn redirects_cookies_gzip_and_closed_connections() {
    let demo = Demo::start(DemoOptions::default());
    let r = run_plan(
        "tests/fixtures/engine/protocol.yaml",
        &demo.url(),
        &["-q", "--seed", "5"],
        &[],
    );
    for row in ["redirects", "cookies/again", "gzip", "close"] {
        let stats = r.row(row);
        assert!(stats["requests"].as_u64().unwrap() > 0, "{row}: {stats}");
        assert_eq!(stats["failures"], 0, "{row}: {stats}");
    }
    // Ten redirects are followed by default; the eleventh is refused.
    let refused = r.row("too_many_redirects");
    assert_eq!(refused["failures"], refused["requests"], "{refused}");
    assert_eq!(
        refused["failures_by_kind"]["status"], refused["requests"],
        "{refused}"
    );
}
