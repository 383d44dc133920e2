//! Issue 13: one plan as shards in separate processes against one demo API, then `merge`.
//! The merged counts are the shards' and the server's; the merged histograms are the sum
//! of the shards'; `unique` feeder rows are never shared across shards; the merged verdict
//! is the plan's SLA on the merged data; mismatched inputs are refused.

use std::path::Path;
use std::process::Stdio;

use hdrhistogram::serialization::Deserializer;
use loadplan::{DemoOptions, Route};

use crate::support::{Demo, loadplan, stderr, stdout};

/// Seven users over twelve `unique` rows, each user fetching its row's claim; the check on
/// the id fails on purpose, so every failure message names the row a user had.
const PLAN: &str = r#"version: 1
name: shards
target: { base_url: "http://127.0.0.1:9" }
data:
  claims: { file: claims.csv, order: unique }
auth:
  login: { method: POST, path: /api/v1/auth/token/, json: { username: demo, password: demo-password } }
  extract: { access: $.access }
  apply: { headers: { Authorization: "Bearer {{ auth.access }}" } }
load: { users: 7, iterations: 140, duration: 30s }
endpoints:
  - name: claim
    request: { path: "/api/v1/claims/{{ data.claims.id }}/" }
    check:
      status: [200]
      json: [{ path: $.id, equals: 0 }]
sla:
  - { metric: p95, below: 10s }
  - { metric: error_rate, at_most: 100% }
health:
  survived: { request: { path: /api/v1/health/ }, run: [after] }
outputs: { formats: [json, csv, junit, markdown] }
"#;

fn histogram(base64_text: &str) -> hdrhistogram::Histogram<u64> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64_text)
        .unwrap();
    let mut h: hdrhistogram::Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .unwrap();
    // Sized to its own largest value: adding a slower shard's must grow it.
    h.auto(true);
    h
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap()
}

/// The claim ids a shard's users had, from its failure messages (`$.id is 5, expected 0`).
fn ids(summary: &serde_json::Value) -> Vec<u64> {
    let mut ids: Vec<u64> = summary["failures"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| {
            let m = f["message"].as_str()?;
            m.split("$.id is ").nth(1)?.split(',').next()?.parse().ok()
        })
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn shards_merge_into_one_exact_run_and_mismatches_are_refused() {
    let demo = Demo::start(DemoOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (1..=12).map(|i| format!("{i}\n")).collect();
    std::fs::write(dir.path().join("claims.csv"), format!("id\n{rows}")).unwrap();
    let plan = dir.path().join("plan.yaml");
    std::fs::write(&plan, PLAN).unwrap();
    let out = |k: u32| dir.path().join(format!("shard-{k}"));
    let shards: Vec<_> = (1..=3)
        .map(|k| {
            let mut cmd = crate::support::command();
            cmd.args([
                "run",
                plan.to_str().unwrap(),
                "-q",
                "--base-url",
                &demo.url(),
            ])
            .args(["--out", out(k).to_str().unwrap()])
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
            // The last shard learns its index as a Kubernetes Indexed Job's pod does.
            if k == 3 {
                cmd.args(["--shard-index-from-env", "--shard-count", "3"])
                    .env("JOB_COMPLETION_INDEX", "2");
            } else {
                cmd.args(["--shard", &format!("{k}/3")]);
            }
            cmd.spawn().unwrap()
        })
        .collect();
    for (k, child) in (1..=3).zip(shards) {
        let o = child.wait_with_output().unwrap();
        // Every request fails its check, yet a shard that ran exits 0: the merge judges.
        assert_eq!(o.status.code(), Some(0), "shard {k}: {}", stderr(&o));
        assert!(stdout(&o).contains("DEFERRED"), "shard {k}: {}", stdout(&o));
    }
    let parts: Vec<serde_json::Value> = (1..=3).map(|k| summary(&out(k))).collect();
    for (k, s) in (1..=3).zip(&parts) {
        assert_eq!(s["shard"], serde_json::json!({ "index": k, "count": 3 }));
        assert_eq!(s["verdict"], "DEFERRED");
    }
    // Users 3, 2, 2 and iterations 47, 47, 46: the plan's 7 and 140, split.
    let requests: Vec<u64> = parts
        .iter()
        .map(|s| s["total"]["requests"].as_u64().unwrap())
        .collect();
    assert_eq!(
        requests,
        [47 + 3, 47 + 2, 46 + 2],
        "iterations and one login per user"
    );
    // Each user had its own row, in no other shard.
    let mut all: Vec<u64> = parts.iter().flat_map(ids).collect();
    assert_eq!(ids(&parts[0]), [1, 2, 3]);
    all.sort_unstable();
    assert_eq!(all, (1..=7).collect::<Vec<_>>());

    let merged_dir = dir.path().join("merged");
    let folders: Vec<String> = (1..=3).map(|k| out(k).display().to_string()).collect();
    let m = loadplan(
        &[
            &["merge"][..],
            &folders.iter().map(String::as_str).collect::<Vec<_>>(),
            &["--out", merged_dir.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(m.status.code(), Some(0), "{}", stderr(&m));
    let merged = summary(&merged_dir);
    assert_eq!(merged["verdict"], "PASSED");
    assert_eq!(merged["merged"]["shards"], serde_json::json!([1, 2, 3]));
    assert_eq!(merged["load"]["stages"][0]["target"], 7.0);
    assert_eq!(merged["load"]["iterations"], 140);
    let claims = &merged["rows"][0];
    assert_eq!(claims["requests"], 140);
    assert_eq!(
        claims["requests"],
        demo.server.stats.requests(Route::GetClaim)
    );
    assert_eq!(merged["run"]["logins"], 7);
    assert_eq!(merged["total"]["requests"], 147);
    // Exact: the merged histogram is the sum of the shards', bucket for bucket.
    let mut sum = histogram(parts[0]["total"]["histogram"].as_str().unwrap());
    for s in &parts[1..] {
        sum.add(histogram(s["total"]["histogram"].as_str().unwrap()))
            .unwrap();
    }
    let total = histogram(merged["total"]["histogram"].as_str().unwrap());
    let buckets = |h: &hdrhistogram::Histogram<u64>| -> Vec<(u64, u64)> {
        h.iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    };
    assert_eq!(buckets(&total), buckets(&sum));
    assert_eq!(
        merged["total"]["latency"]["percentiles"]["p95"].as_f64(),
        Some(sum.value_at_quantile(0.95) as f64 / 1000.0)
    );
    // Per second: every request is in one second, and no second is faster than its shards
    // let it be.
    let series = merged["series"].as_array().unwrap();
    let per_second: u64 = series
        .iter()
        .map(|p| p["total"]["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(per_second, 147);
    let last = series.last().unwrap();
    assert_eq!(last["total"]["cumulative"]["requests"], 147);
    // The failures of every shard, one line per distinct message, each counted once.
    let failed: u64 = merged["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["count"].as_u64().unwrap())
        .sum();
    assert_eq!(failed, 140);
    assert!(merged_dir.join("junit.xml").exists() && merged_dir.join("stats.csv").exists());
    // Shards skip `after`; with the plan, the merge runs it once, after all the load.
    assert_eq!(demo.server.stats.requests(Route::Health), 0);
    assert!(merged["health"]["results"].as_array().unwrap().is_empty());
    let checked_dir = dir.path().join("checked");
    let checked = loadplan(
        &[
            &["merge"][..],
            &folders.iter().map(String::as_str).collect::<Vec<_>>(),
            &["--plan", plan.to_str().unwrap(), "--base-url", &demo.url()],
            &["--out", checked_dir.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(checked.status.code(), Some(0), "{}", stderr(&checked));
    assert_eq!(demo.server.stats.requests(Route::Health), 1);
    let after = &summary(&checked_dir)["health"]["results"];
    assert_eq!(after[0]["policy"], "survived", "{after}");
    assert_eq!(after[0]["phase"], "after", "{after}");
    let elsewhere = loadplan(&[
        "merge",
        &folders[0],
        &folders[1],
        &folders[2],
        "--plan",
        plan.to_str().unwrap(),
        "--set",
        "load.users=8",
        "--out",
        checked_dir.to_str().unwrap(),
    ]);
    assert_eq!(elsewhere.status.code(), Some(2), "{}", stderr(&elsewhere));
    assert!(stderr(&elsewhere).contains("not the plan the shards ran"));

    // Refused, exit 2: a shard twice, a missing shard, a summary of another plan.
    let refused = |args: &[&str], expected: &str| {
        let o = loadplan(&[&["merge", "--out", merged_dir.to_str().unwrap()], args].concat());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(expected), "{args:?}: {}", stderr(&o));
    };
    refused(&[&folders[0], &folders[0], &folders[1]], "again");
    refused(&[&folders[0], &folders[1]], "shard 3 of 3 is missing");
    let partial = loadplan(&[
        "merge",
        &folders[0],
        &folders[1],
        "--allow-partial",
        "--out",
        dir.path().join("partial").to_str().unwrap(),
    ]);
    assert_eq!(partial.status.code(), Some(0), "{}", stderr(&partial));
    assert!(stdout(&partial).contains("PARTIAL: merged from shards 1, 2 of 3"));
    // Every report says so: Markdown, and JUnit for CI's test view.
    for file in ["summary.md", "junit.xml"] {
        let text = std::fs::read_to_string(dir.path().join("partial").join(file)).unwrap();
        assert!(text.contains("shard 3 is missing"), "{file}: {text}");
    }
    let mut other = summary(&out(3));
    other["plan"]["sha256"] = "f".repeat(64).into();
    let other_file = dir.path().join("other.json");
    std::fs::write(&other_file, other.to_string()).unwrap();
    refused(
        &[&folders[0], &folders[1], other_file.to_str().unwrap()],
        "another plan ran",
    );
}
