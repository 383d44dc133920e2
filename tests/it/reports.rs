//! Reports end to end: the real binary against the embedded demo API (in a child process on
//! 127.0.0.1, port 0), healthy and with one slow endpoint; `loadplan report` byte identity;
//! real output against the committed summary schema.

use std::path::Path;

use crate::support::{DemoProcess, loadplan, root, stderr, stdout};

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn summary_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&read(dir, "summary.json")).unwrap()
}

#[test]
fn a_slow_endpoint_fails_its_p95_in_every_report() {
    let demo = DemoProcess::start(&["--slow", "/api/v1/dashboard/=700"]);
    let dir = tempfile::tempdir().unwrap();
    let out = loadplan(&[
        "run",
        "plans/demo.yaml",
        "--base-url",
        &demo.url,
        "--duration",
        "2s",
        "--set",
        "load.think_time=none",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let json = summary_json(dir.path());
    let failed: Vec<&serde_json::Value> = json["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["status"] == "FAIL")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let v = failed[0];
    assert_eq!(
        (v["metric"].as_str(), v["scope"].as_str()),
        (Some("p95"), Some("get_dashboard"))
    );
    let measured = v["measured"].as_f64().unwrap();
    assert!((700.0..1500.0).contains(&measured), "p95 {measured}");
    let text = v["measured_text"].as_str().unwrap().to_owned();
    // Every report names get_dashboard's p95 with the measured value.
    let needle = format!("p95 {text}");
    let terminal = stdout(&out);
    let line = terminal
        .lines()
        .find(|l| l.contains("FAIL") && l.contains("get_dashboard"))
        .unwrap_or_else(|| panic!("terminal:\n{terminal}"));
    assert!(line.contains(&needle), "{line}");
    for name in ["junit.xml", "report.html", "summary.md"] {
        let body = read(dir.path(), name);
        assert!(
            body.contains(&needle) && body.contains("get_dashboard"),
            "{name} lacks `{needle}`"
        );
    }
    assert!(read(dir.path(), "junit.xml").contains(
        "<failure message=\"every endpoint&apos;s p95 under 500 ms [get_dashboard]: p95 "
    ));
    assert!(read(dir.path(), "report.html").contains("<td class=\"fail\">FAIL</td>"));
    assert!(
        read(dir.path(), "summary.md")
            .contains("| ❌ FAIL | every endpoint's p95 under 500 ms | get_dashboard |")
    );
}

#[test]
fn a_healthy_run_passes_and_report_renders_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let step_summary = dir.path().join("step-summary.md");
    let run_dir = dir.path().join("run");
    let out = crate::support::command()
        .current_dir(root())
        .args([
            "run",
            "plans/demo.yaml",
            "--demo",
            "--duration",
            "2s",
            "--set",
            "load.think_time=none",
            "--csv-prefix",
            "demo",
            "--out",
            run_dir.to_str().unwrap(),
        ])
        .env("NO_COLOR", "1")
        .env("GITHUB_STEP_SUMMARY", &step_summary)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("PASSED"));
    let mut names: Vec<String> = std::fs::read_dir(&run_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "demo_exceptions.csv",
            "demo_failures.csv",
            "demo_stats.csv",
            "demo_stats_history.csv",
            "junit.xml",
            "metrics.ndjson",
            "report.html",
            "summary.json",
            "summary.md"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(&step_summary).unwrap(),
        read(&run_dir, "summary.md")
    );
    // The live file has a line per second, and the final render completed it.
    let ndjson = read(&run_dir, "metrics.ndjson");
    assert!(ndjson.lines().count() >= 2, "{ndjson}");
    // Real output validates against the committed schema.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/summary.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft7::new(&schema).unwrap();
    let instance = summary_json(&run_dir);
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(instance["plan"]["sha256"].as_str().unwrap().len(), 64);
    // `loadplan report` renders every file again, byte for byte, and exits as stored.
    let again = dir.path().join("again");
    let out = loadplan(&[
        "report",
        run_dir.join("summary.json").to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for name in &names {
        assert!(
            std::fs::read(run_dir.join(name)).unwrap() == std::fs::read(again.join(name)).unwrap(),
            "{name} differs after `loadplan report`"
        );
    }
}

#[test]
fn report_exits_with_the_stored_verdict_and_rejects_other_files() {
    let dir = tempfile::tempdir().unwrap();
    // The golden summary (a failing p95).
    let json = std::fs::read_to_string(root().join("tests/fixtures/reports/summary.json")).unwrap();
    let file = dir.path().join("summary.json");
    std::fs::write(&file, &json).unwrap();
    let out = loadplan(&[
        "report",
        file.to_str().unwrap(),
        "--out",
        dir.path().join("o").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .contains("FAILED — 3.0s, 247 requests, 1.62% failed\n  FAIL every endpoint's p95"),
        "{}",
        stdout(&out)
    );
    assert!(dir.path().join("o/golden_stats.csv").exists());
    std::fs::write(&file, "{}").unwrap();
    let out = loadplan(&["report", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not a loadplan summary"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn schema_summary_prints_the_committed_summary_schema() {
    let out = loadplan(&["schema", "--summary"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out) == std::fs::read_to_string(root().join("schema/summary.schema.json")).unwrap(),
        "schema/summary.schema.json is stale: run `cargo run -- schema --summary > schema/summary.schema.json`"
    );
}

#[test]
fn abort_on_fail_stops_the_run_early_and_still_writes_every_report() {
    let demo = DemoProcess::start(&["--slow", "/api/v1/dashboard/=700"]);
    let dir = tempfile::tempdir().unwrap();
    let plan = std::fs::read_to_string(root().join("plans/demo.yaml"))
        .unwrap()
        .replacen(
            "    below: 500ms\n",
            "    below: 500ms\n    abort_on_fail: true\n    abort_delay: 1s\n",
            1,
        );
    let plan_file = dir.path().join("abort.yaml");
    std::fs::write(&plan_file, plan).unwrap();
    let out_dir = dir.path().join("out");
    let out = loadplan(&[
        "run",
        plan_file.to_str().unwrap(),
        "--base-url",
        &demo.url,
        "--duration",
        "30s",
        "--set",
        "load.think_time=none",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let json = summary_json(&out_dir);
    assert_eq!(json["run"]["stop"], "aborted");
    let reason = json["run"]["stop_reason"].as_str().unwrap();
    assert!(
        reason.contains("get_dashboard") && reason.contains("p95"),
        "{reason}"
    );
    assert!(json["run"]["duration_s"].as_f64().unwrap() < 15.0);
    assert!(stdout(&out).contains("aborted: SLA"), "{}", stdout(&out));
    for name in [
        "stats.csv",
        "junit.xml",
        "report.html",
        "summary.md",
        "metrics.ndjson",
    ] {
        assert!(out_dir.join(name).exists(), "{name} missing after abort");
    }
}

/// The class of a CSV cell, for comparing number formats rather than values.
fn cell_class(cell: &str) -> &'static str {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let seconds_stamp = cell.len() == 20
        && cell.ends_with('Z')
        && cell.as_bytes()[10] == b'T'
        && !cell.contains('.');
    if cell == "N/A" {
        "N/A"
    } else if digits(cell) {
        "whole"
    } else if cell.split_once('.').is_some_and(|(i, f)| {
        digits(i) && !f.is_empty() && f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }) {
        "float"
    } else if seconds_stamp {
        "timestamp (s)"
    } else {
        "text"
    }
}

/// A CSV file's lines as cells (every cell here is unquoted or a message we do not class).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// Issue 10: loadplan's CSV set has the shape of the set Locust 2.47 wrote for the same suite
/// (`tests/fixtures/locust/`): the same headers and line ends, the same rows in the same order
/// (no row without requests; a history of `Aggregated` rows only unless full history is asked
/// for), and in every column a number format Locust writes there.
#[test]
fn csv_files_have_the_shape_locust_writes() {
    let demo = DemoProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("default");
    let out = loadplan(&[
        "run",
        "tests/fixtures/locust/plan.yaml",
        "--base-url",
        &demo.url,
        "-q",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    // `missing_claim` fails on purpose, as in the Locust run.
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );
    // The same run with full history: re-rendered from its summary.
    let full_dir = dir.path().join("full-history");
    let mut summary = summary_json(&out_dir);
    summary["outputs"]["csv_full_history"] = true.into();
    let edited = dir.path().join("full.json");
    std::fs::write(&edited, summary.to_string()).unwrap();
    let out = loadplan(&[
        "report",
        edited.to_str().unwrap(),
        "--out",
        full_dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );

    let fixtures = root().join("tests/fixtures/locust");
    for (set, ours) in [("default", &out_dir), ("full-history", &full_dir)] {
        for file in ["stats", "stats_history", "failures", "exceptions"] {
            let name = format!("locust_{file}.csv");
            let theirs = read(&fixtures.join(set), &name);
            let mine = read(ours, &name);
            let what = format!("{set}/{name}");
            assert!(
                mine.ends_with("\r\n") && !mine.replace("\r\n", "").contains('\n'),
                "{what}: CRLF"
            );
            let (theirs, mine) = (csv_rows(&theirs), csv_rows(&mine));
            assert_eq!(mine[0], theirs[0], "{what}: header");
            // Which rows, in which order: (type, name), grouped by timestamp in the history.
            let key = |rows: &[Vec<String>]| -> Vec<Vec<(String, String)>> {
                let (ty, name) = match file {
                    "stats" => (0, 1),
                    "stats_history" => (2, 3),
                    "failures" => (0, 1),
                    _ => return vec![],
                };
                let mut groups: Vec<Vec<(String, String)>> = vec![];
                for row in &rows[1..] {
                    // The history restarts its group at `Aggregated`.
                    if groups.last().is_none_or(|g| {
                        g.last().is_some_and(|k| k.1 == "Aggregated") || file != "stats_history"
                    }) {
                        groups.push(vec![]);
                    }
                    groups
                        .last_mut()
                        .unwrap()
                        .push((row[ty].clone(), row[name].clone()));
                }
                if file == "stats_history" {
                    // Seconds before every entry had a request list fewer rows: compare
                    // the steady state, the last second.
                    groups.split_off(groups.len() - 1)
                } else {
                    groups
                }
            };
            let keys = |rows: &[Vec<String>]| {
                let mut k = key(rows);
                if file == "failures" {
                    // One row per message: ours and Locust's word them differently.
                    k.iter_mut().for_each(|g| g.dedup());
                    k.dedup();
                }
                k
            };
            assert_eq!(keys(&mine), keys(&theirs), "{what}: rows");
            // Every cell's format is one Locust writes in that column.
            for (col, title) in theirs[0].iter().enumerate() {
                let allowed: std::collections::BTreeSet<&str> =
                    theirs[1..].iter().map(|r| cell_class(&r[col])).collect();
                for row in &mine[1..] {
                    let class = cell_class(&row[col]);
                    let no_requests_yet = file == "stats_history" && row[17] == "0";
                    assert!(
                        allowed.contains(class) || no_requests_yet,
                        "{what}: `{title}` is `{}` ({class}); Locust writes {allowed:?}",
                        row[col]
                    );
                }
            }
        }
    }
}
