//! The engine end to end: the real binary against the embedded demo API on an ephemeral
//! loopback port, with short runs and no think time unless a test is about pacing.

use loadplan::DEFAULT_GATE;
use loadplan::DemoOptions;

use crate::support::{Demo, RunResult, loadplan, run_plan, stderr, stdout};

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

/// Issue 10: the reference plan, unmodified, renews short-lived tokens ahead of expiry
/// whether the token answer is simplejwt's (`{"access", "refresh"}`: the expiry is only in
/// the JWT's `exp`) or also carries `expires_in`.
#[test]
fn tokens_expiring_mid_run_are_renewed_ahead_of_expiry_in_both_answer_shapes() {
    for expires_in in [false, true] {
        let demo = Demo::start(DemoOptions {
            token_ttl: std::time::Duration::from_secs(1),
            expires_in,
            ..Default::default()
        });
        let r = run_plan(
            "plans/upstream.yaml",
            &demo.url(),
            &fast(&["--users", "2", "--duration", "3s"]),
            &[("API_USERNAME", "demo"), ("API_PASSWORD", "demo-password")],
        );
        let shape = if expires_in {
            "with expires_in"
        } else {
            "simplejwt"
        };
        assert_eq!(r.code(), Some(0), "{shape}: {}", stderr(&r.output));
        let stats = &demo.server.stats;
        assert_eq!(stats.logins(), 2, "{shape}");
        assert!(
            stats.refreshes() >= 2,
            "{shape}: refreshed {} times",
            stats.refreshes()
        );
        assert_eq!(stats.unauthorized(), 0, "{shape}: no request was refused");
        let total = &r.summary.as_ref().unwrap()["total"];
        assert_eq!(total["failures"], 0, "{shape}: {total}");
        assert!(
            r.row("refresh")["requests"].as_u64().unwrap() >= 2,
            "{shape}: refresh has its own row"
        );
    }
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
    // Issue 9: a refused request whose credentials were renewed counts once, as its
    // retry's result; the refusals are counted by the refresh row, not as failures.
    let row = r.row("get_dashboard");
    assert_eq!(row["failures"], 0, "{row}");
    assert_eq!(r.summary.as_ref().unwrap()["total"]["failures"], 0);
    let md = std::fs::read_to_string(r.out.path().join("summary.md")).unwrap_or_default();
    assert!(
        md.contains("refused for expired credentials, renewed and retried"),
        "summary.md notes the renewals: {md}"
    );
    let refresh = r.row("refresh");
    assert_eq!(
        refresh["renewals_on_status"].as_u64(),
        Some(stats.unauthorized()),
        "every refusal was renewed and counted: {refresh}"
    );
    assert_eq!(
        row["requests"].as_u64().unwrap() + stats.unauthorized(),
        stats.requests(loadplan::Route::Dashboard),
        "the dashboard row counts each request once: {row}"
    );
}

/// Issue 10: a step whose `requires` are unmet is skipped (not sent, not a request); a step
/// that cannot render is a `template` failure with no latency sample.
#[test]
fn flow_steps_with_unmet_requires_are_skipped_and_unrenderable_ones_are_not_timed() {
    let demo = Demo::start(DemoOptions::default());
    let plan = "tests/fixtures/engine/steps-requires.yaml";
    let r = run_plan(plan, &demo.url(), &["-q", "--only", "guarded"], &[]);
    assert_eq!(r.code(), Some(0), "{}", stderr(&r.output));
    let detail = r.row("guarded/detail");
    assert_eq!(
        detail["skipped"], 1,
        "only the first, before the list: {detail}"
    );
    assert_eq!(detail["requests"], 5, "{detail}");
    assert_eq!(detail["failures"], 0, "{detail}");
    assert_eq!(r.row("guarded/list")["requests"], 6);
    assert_eq!(
        demo.server.stats.requests(loadplan::Route::GetClaim),
        5,
        "a skipped step is not sent"
    );

    let r = run_plan(plan, &demo.url(), &["-q", "--only", "unguarded"], &[]);
    let detail = r.row("unguarded/detail");
    assert_eq!(detail["requests"], 6, "{detail}");
    assert_eq!(detail["failures_by_kind"]["template"], 6, "{detail}");
    assert!(
        detail["latency"].is_null(),
        "nothing was sent, so nothing was timed: {detail}"
    );
    assert_eq!(r.row("unguarded/list")["requests"], 0, "the flow stopped");
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
    let s = r.summary.as_ref().unwrap();
    assert_eq!(
        r.code(),
        Some(0),
        "{}\nrun: {}\nfailures: {}",
        stderr(&r.output),
        s["run"],
        s["failures"]
    );
    assert_eq!(s["total"]["requests"], 100, "50/s for 2 s");
    assert_eq!(s["run"]["dropped_iterations"], 0);
    assert!(
        !stderr(&r.output).contains("elapsed "),
        "-q prints no progress"
    );

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
    // No error_rate assertion in the plan: the default gate fails the run (issue 9).
    assert_eq!(r.code(), Some(1), "{}", stderr(&r.output));
    let row = r.row("health");
    assert!(
        row["failures_by_kind"]["connect"].as_u64().unwrap() > 0,
        "{row}"
    );
    let gate = default_gate(&r);
    assert_eq!(gate["status"], "FAIL", "{gate}");
    assert_eq!(gate["measured_text"], "100.00%", "{gate}");
    let out = stdout(&r.output);
    assert!(
        out.starts_with("FAILED — ") && out.contains(&format!("FAIL {DEFAULT_GATE} [aggregate]")),
        "{out}"
    );
}

/// The default failure gate's verdict in a run's summary.
fn default_gate(r: &RunResult) -> serde_json::Value {
    r.summary.as_ref().unwrap()["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == DEFAULT_GATE)
        .cloned()
        .expect("the default gate is among the verdicts")
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
    assert_eq!(r.code(), Some(1), "{}", stderr(&r.output));
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
            // Room for the login's two JWTs, not for a list page.
            "target.max_body=1KiB",
        ]),
        &[],
    );
    let row = r.row("list_claims");
    assert!(
        row["failures_by_kind"]["capture"].as_u64().unwrap() > 0,
        "a cut body cannot be captured from: {row}"
    );
    assert!(
        row["bytes_in"].as_u64().unwrap() > 1024 * row["requests"].as_u64().unwrap(),
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
        texts[1].contains(" → 500 in "),
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

/// An interrupted run: its exit code, standard output, summary and results folder.
#[cfg(unix)]
struct Interrupted {
    code: Option<i32>,
    stdout: String,
    summary: serde_json::Value,
    out: tempfile::TempDir,
}

/// Interrupts a running `run` with a signal once it has sent requests.
#[cfg(unix)]
fn interrupt_run(signal: &str) -> Interrupted {
    use std::io::BufRead;
    let demo = Demo::start(DemoOptions::default());
    let out = tempfile::tempdir().unwrap();
    let mut child = crate::support::command()
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
        .stdout(std::process::Stdio::piped())
        .env("NO_COLOR", "1")
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
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while demo.server.stats.total_requests() < 50 {
        assert!(
            std::time::Instant::now() < deadline,
            "fewer than 50 requests in 60 s"
        );
        std::thread::yield_now();
    }
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let summary =
        serde_json::from_slice(&std::fs::read(out.path().join("summary.json")).unwrap()).unwrap();
    Interrupted {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        summary,
        out,
    }
}

/// Ctrl-C after requests were sent: exit 130, and every report says INTERRUPTED with what
/// was measured until then (issue 9).
#[cfg(unix)]
#[test]
fn ctrl_c_still_writes_the_results() {
    let run = interrupt_run("-INT");
    assert_eq!(run.code, Some(130));
    let summary = &run.summary;
    assert!(summary["total"]["requests"].as_u64().unwrap() >= 50);
    assert_eq!(summary["run"]["stop"], "interrupted");
    assert_eq!(summary["verdict"], "INTERRUPTED");
    assert!(
        run.stdout
            .contains("INTERRUPTED (Ctrl-C; measured until then) — "),
        "{}",
        run.stdout
    );
    let read = |name: &str| std::fs::read_to_string(run.out.path().join(name)).unwrap();
    assert!(read("report.html").contains(r#"id="verdict">INTERRUPTED<"#));
    assert!(read("summary.md").contains("— INTERRUPTED"));
    let junit = read("junit.xml");
    assert!(
        junit.contains(r#"<error message="INTERRUPTED (Ctrl-C; measured until then)"#),
        "{junit}"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_still_writes_the_results() {
    let run = interrupt_run("-TERM");
    assert_eq!(run.code, Some(143));
    assert_eq!(run.summary["run"]["stop"], "terminated");
    assert_eq!(run.summary["verdict"], "INTERRUPTED");
}

/// Every example plan runs against the demo API (drill never ran its examples) and does what
/// it shows: it passes, every row it names sent requests with no failure, and the figure the
/// example is about holds.
#[test]
fn every_example_runs_and_does_what_it_shows() {
    type Check = fn(&serde_json::Value) -> Result<(), String>;
    let logins_per_user: Check = |s| {
        let users = &s["load"]["stages"][0]["target"];
        (s["run"]["logins"].as_f64() == users.as_f64())
            .then_some(())
            .ok_or(format!("{} logins for {users} users", s["run"]["logins"]))
    };
    let no_check: Check = |_| Ok(());
    let examples: [(&str, &[&str], Check); 11] = [
        ("basic-auth", &["health"], no_check),
        ("data-feeder", &["claims_by_payer"], logins_per_user),
        ("flow", &["browse/list", "browse/detail"], logins_per_user),
        ("health", &["dashboard_unauthenticated"], |s| {
            let results = s["health"]["results"].as_array().unwrap();
            let healthy = results.iter().filter(|r| r["healthy"] == true).count();
            (results.len() == 2 && healthy == 2)
                .then_some(())
                .ok_or(format!("health before and after: {results:?}"))
        }),
        ("jwt-auth", &["get_dashboard"], logins_per_user),
        ("open-model", &["health"], |s| {
            (s["load"]["model"] == "open" && s["run"]["dropped_iterations"] == 0)
                .then_some(())
                .ok_or(format!("open model, nothing dropped: {}", s["run"]))
        }),
        // Four iterations, each a weighted pick among the four body kinds.
        ("request-bodies", &[], |s| {
            (s["total"]["requests"] == 4 && s["total"]["failures"] == 0)
                .then_some(())
                .ok_or(format!(
                    "4 requests, none failed: {}",
                    s["total"]["requests"]
                ))
        }),
        ("sla", &["health"], |s| {
            let verdicts = s["verdicts"].as_array().unwrap();
            (verdicts.len() > 2 && verdicts.iter().all(|v| v["status"] == "PASS"))
                .then_some(())
                .ok_or(format!("every assertion passes: {verdicts:?}"))
        }),
        ("stages", &["health"], no_check),
        ("starter", &["health"], no_check),
        ("think-time", &["health", "paced_health"], no_check),
    ];
    let demo = Demo::start(DemoOptions::default());
    let mut found: Vec<String> = std::fs::read_dir(crate::support::root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_owned())
        .collect();
    found.sort();
    let listed: Vec<&str> = examples.iter().map(|(name, ..)| *name).collect();
    assert_eq!(found, listed, "every example needs its expectation here");
    for (name, rows, check) in examples {
        let rel = format!("examples/{name}.yaml");
        // A staged example keeps its shape, its three stages shortened to 1 s in all
        // (`--duration` no longer cuts stages short).
        let length: &[&str] = match name {
            "stages" => &[
                "--set=load.stages.0.duration=300ms",
                "--set=load.stages.1.duration=400ms",
                "--set=load.stages.2.duration=300ms",
            ],
            "open-model" => &[
                "--set=load.arrival_rate.0.duration=300ms",
                "--set=load.arrival_rate.1.duration=400ms",
                "--set=load.arrival_rate.2.duration=300ms",
            ],
            _ => &["--duration", "1s"],
        };
        let r = run_plan(&rel, &demo.url(), &fast(length), &[]);
        let summary = r.summary.as_ref().unwrap();
        assert_eq!(
            r.code(),
            Some(0),
            "{rel}: {}\nverdicts: {}\nfailures: {}",
            stderr(&r.output),
            summary["verdicts"],
            summary["failures"]
        );
        for name in rows {
            let row = r.row(name);
            assert!(
                row["requests"].as_u64().unwrap() > 0,
                "{rel}: `{name}` sent nothing"
            );
            assert_eq!(row["failures"], 0, "{rel}: `{name}` failed: {row}");
        }
        if let Err(why) = check(summary) {
            panic!("{rel}: {why}");
        }
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
    assert_eq!(
        r.summary.as_ref().unwrap()["run"]["cut_requests"],
        2,
        "{}",
        stderr(&r.output)
    );
    // Each counts as a timeout of its row: a hung endpoint can never pass for lack of data.
    let row = r.row("get_dashboard");
    assert_eq!(row["failures_by_kind"]["timeout"], 2, "{row}");
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
    let mut child = crate::support::command()
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

const NO_CONTENT: &str = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";

/// A loopback server that gives every request `answer` and keeps each request's head.
fn recording_server(
    answer: &'static str,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = heads.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            while reader.read_line(&mut head).is_ok_and(|n| n > 2) {}
            let head = head.to_lowercase();
            // Read the body too: closing on unread bytes would reset the connection.
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0);
            let _ = reader.read_exact(&mut vec![0; length]);
            seen.lock().unwrap().push(head);
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (url, heads)
}

/// Issue 10: a default `User-Agent` from both transports and health checks; a plan's own
/// header replaces it.
#[test]
fn requests_name_loadplan_as_their_user_agent_unless_the_plan_does() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("ua.yaml");
    std::fs::write(
        &plan,
        "version: 1\nname: ua\ntarget: { base_url: http://127.0.0.1:9 }\n\
         load: { users: 1, iterations: 1, duration: 10s }\n\
         endpoints: [ { name: a, request: { path: /a } } ]\n\
         health: { up: { request: { path: /health }, expect: { status: [204] }, run: [after] } }\n",
    )
    .unwrap();
    let plan = plan.to_str().unwrap();
    let ours = format!("user-agent: loadplan/{}", env!("CARGO_PKG_VERSION"));
    for extra in [&[][..], &["--set", "target.connections=shared"]] {
        let (url, heads) = recording_server(NO_CONTENT);
        let r = run_plan(plan, &url, &[&["-q"][..], extra].concat(), &[]);
        assert_eq!(r.code(), Some(0), "{extra:?}: {}", stderr(&r.output));
        let heads = heads.lock().unwrap();
        assert_eq!(
            heads.len(),
            2,
            "the request and the health check: {heads:?}"
        );
        assert!(
            heads.iter().all(|h| h.contains(&ours)),
            "{extra:?}: {heads:?}"
        );
    }
    let (url, heads) = recording_server(NO_CONTENT);
    let r = run_plan(
        plan,
        &url,
        &["-q", "--set", "target.headers.User-Agent=claims-ci/2"],
        &[],
    );
    assert_eq!(r.code(), Some(0), "{}", stderr(&r.output));
    let heads = heads.lock().unwrap();
    assert!(
        heads
            .iter()
            .all(|h| h.contains("user-agent: claims-ci/2") && !h.contains("loadplan/")),
        "{heads:?}"
    );
}

/// Issue 10: a gzipped answer's decoded size (Locust's content size) is counted beside the
/// bytes that came over the wire.
#[test]
fn decoded_body_bytes_are_counted_beside_wire_bytes() {
    let demo = Demo::start(DemoOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("gzip.yaml");
    std::fs::write(
        &plan,
        "version: 1\nname: gzip\ntarget: { base_url: http://127.0.0.1:9 }\n\
         load: { users: 1, iterations: 3, duration: 10s }\n\
         endpoints: [ { name: gz, request: { path: /demo/gzip } } ]\n",
    )
    .unwrap();
    let r = run_plan(plan.to_str().unwrap(), &demo.url(), &["-q"], &[]);
    assert_eq!(r.code(), Some(0), "{}", stderr(&r.output));
    let row = r.row("gz");
    // `{"compressed": true}` is 19 bytes; gzip's header and trailer make it longer.
    assert_eq!(row["body_bytes"], 3 * 19, "{row}");
    let wire = row["bytes_in"].as_u64().unwrap();
    assert!(wire > 3 * 19, "the gzipped bytes: {row}");
}

/// Issue 10: an answer that says nothing of its expiry (an opaque token, no `expires_in`)
/// fails the login only when the plan needs the expiry: it renews ahead of it, or extracts
/// a field for it that is missing.
#[test]
fn an_unknowable_expiry_fails_the_login_only_when_the_plan_needs_it() {
    const OPAQUE: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                          Content-Length: 19\r\nConnection: close\r\n\r\n{\"access\":\"opaque\"}";
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("opaque.yaml");
    std::fs::write(
        &plan,
        "version: 1\nname: opaque\ntarget: { base_url: http://127.0.0.1:9 }\n\
         auth:\n  login: { method: POST, path: /token, json: { u: x } }\n  extract: { access: $.access }\n\
         \x20 apply: { headers: { Authorization: \"Bearer {{ auth.access }}\" } }\n\
         \x20 refresh: { on_status: [401] }\n\
         load: { users: 1, iterations: 2, duration: 10s }\n\
         endpoints: [ { name: a, request: { path: /a } } ]\n",
    )
    .unwrap();
    let plan = plan.to_str().unwrap();
    let (url, _) = recording_server(OPAQUE);
    let r = run_plan(plan, &url, &["-q"], &[]);
    assert_eq!(
        r.code(),
        Some(0),
        "an opaque token alone is fine: {}",
        stderr(&r.output)
    );
    for (what, set) in [
        ("renews ahead", "auth.refresh.before_expiry=10s"),
        (
            "extracts expires_in",
            "auth.extract.expires_in=$.expires_in",
        ),
    ] {
        let (url, _) = recording_server(OPAQUE);
        let r = run_plan(plan, &url, &["-q", "--set", set], &[]);
        let err = stderr(&r.output);
        assert_eq!(r.code(), Some(1), "{what}: {err}");
        assert!(
            err.contains("cannot tell when the credentials expire")
                && err.contains("`auth.access` is neither seconds nor a JWT"),
            "{what}: {err}"
        );
    }
}

/// Issue 10: DRF's last page answers `next: null`; a step that `requires` the captured link
/// is skipped then, not sent and not a `template` failure.
#[test]
fn a_step_requiring_a_null_capture_is_skipped() {
    const LAST_PAGE: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                             Content-Length: 29\r\nConnection: close\r\n\r\n{\"next\":null,\"results\":[1,2]}";
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("paging.yaml");
    std::fs::write(
        &plan,
        "version: 1\nname: paging\ntarget: { base_url: http://127.0.0.1:9 }\n\
         load: { users: 1, iterations: 3, duration: 10s }\n\
         endpoints:\n  - name: pages\n    steps:\n\
         \x20     - { name: first, request: { path: /first }, capture: { next_page: $.next } }\n\
         \x20     - { name: next, requires: [next_page], request: { url: \"{{ next_page }}\" } }\n",
    )
    .unwrap();
    let (url, heads) = recording_server(LAST_PAGE);
    let r = run_plan(plan.to_str().unwrap(), &url, &["-q"], &[]);
    assert_eq!(r.code(), Some(0), "{}", stderr(&r.output));
    let next = r.row("pages/next");
    assert_eq!(
        (next["requests"].as_u64(), next["skipped"].as_u64()),
        (Some(0), Some(3)),
        "{next}"
    );
    assert_eq!(r.row("pages/first")["failures"], 0);
    assert_eq!(
        heads.lock().unwrap().len(),
        3,
        "only the first pages were sent"
    );
}

/// Issue 10: the other shipped JWT plans, unmodified, against the answer shape with
/// `expires_in` (every other test runs `plans/demo.yaml` against simplejwt's shape).
#[test]
fn shipped_jwt_plans_renew_ahead_of_expiry_with_expires_in_answers() {
    for plan in ["plans/demo.yaml", "examples/jwt-auth.yaml"] {
        let demo = Demo::start(DemoOptions {
            token_ttl: std::time::Duration::from_secs(1),
            expires_in: true,
            ..Default::default()
        });
        let r = run_plan(
            plan,
            &demo.url(),
            &fast(&["--users", "1", "--duration", "2s"]),
            &[],
        );
        assert_eq!(r.code(), Some(0), "{plan}: {}", stderr(&r.output));
        assert_eq!(demo.server.stats.unauthorized(), 0, "{plan}");
        assert!(demo.server.stats.refreshes() >= 1, "{plan}");
    }
}

/// Issue 16: piped (a CI log), a 3 s run prints a labelled progress line at its first second
/// and one at its end, with the run's final totals; `-q` prints none.
#[test]
fn a_piped_short_run_prints_labelled_progress_at_its_start_and_end() {
    let demo = Demo::start(DemoOptions::default());
    let r = run_plan(
        "plans/demo.yaml",
        &demo.url(),
        &["--users", "2", "--duration", "3s"],
        &[],
    );
    let err = stderr(&r.output);
    assert_eq!(r.code(), Some(0), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("elapsed ")).collect();
    assert!(lines.len() >= 2, "{err}");
    for line in &lines {
        for label in [
            "/3s  users 2  requests ",
            "  errors 0",
            "  last ",
            " req/s, p95 ",
        ] {
            assert!(line.contains(label), "`{label}` missing from `{line}`");
        }
        assert!(
            !line.contains('\u{1b}'),
            "escape codes in a piped log: {line:?}"
        );
    }
    assert!(lines[0].starts_with("elapsed 1s/3s"), "{err}");
    let requests = r.summary.as_ref().unwrap()["total"]["requests"].clone();
    assert!(
        lines[lines.len() - 1]
            .starts_with(&format!("elapsed 3s/3s  users 2  requests {requests}  ")),
        "the end line has the run's totals: {err}"
    );
}

/// Issue 16: a `-v` line says when (since the start), which user, what was sent, what came
/// back and why it failed, on one line; the content type when the body is the problem. The
/// token (in the `Authorization` header and the query) and the API key never show.
#[test]
fn verbose_failure_lines_show_the_request_and_the_answer_never_a_secret() {
    let demo = Demo::start(DemoOptions {
        error_rate: 1.0,
        bad_json: vec!["/api/v1/dashboard/".into()],
        ..Default::default()
    });
    const KEY: &str = "k3y-s3cr3t-value";
    let r = run_plan(
        "tests/fixtures/engine/verbose.yaml",
        &demo.url(),
        &["--seed", "1", "-v"],
        &[("LOADPLAN_TEST_KEY", KEY)],
    );
    assert_eq!(r.code(), Some(1), "{}", stderr(&r.output));
    let err = stderr(&r.output);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with('+')).collect();
    let one = |label: &str| {
        lines
            .iter()
            .find(|l| l.contains(&format!(" user 1 {label}: ")))
            .unwrap_or_else(|| panic!("no `-v` line of {label}:\n{err}"))
    };
    let url = regex::escape(&demo.url());
    let status = regex::Regex::new(&format!(
        r#"^\+\d+\.\ds user 1 payer_summary: GET {url}/api/v1/payers/summary/\?api_key=\*\*\*&page=1&note=\*\*\*&access_token=\*\*\* → 500 in \S+: HTTP 500 \[status\] — body: \{{"detail":"injected error"\}}$"#
    ))
    .unwrap();
    assert!(status.is_match(one("payer_summary")), "{err}");
    let not_json = one("dashboard");
    assert!(
        not_json.contains(" → 200 in ")
            && not_json.contains(": body is not JSON (")
            && not_json.contains("[body] — body (application/json): {\"count\""),
        "{not_json}"
    );
    let check = one("health");
    assert!(
        check.ends_with(
            "[check] — body (application/json): {\"status\":\"ok\",\"version\":\"1.4.2\"}"
        ),
        "{check}"
    );
    let token = regex::Regex::new(r"eyJ[A-Za-z0-9_-]{8,}").unwrap();
    for text in [err.as_str(), stdout(&r.output).as_str()] {
        assert!(!text.contains(KEY), "the key shows:\n{text}");
        assert!(!token.is_match(text), "a token shows:\n{text}");
        assert!(!text.contains("Bearer"), "the header shows:\n{text}");
    }
}
