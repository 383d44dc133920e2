//! Which summaries merge, and what a merge refuses.

use super::*;

fn shard(index: u32, count: u32) -> Saved {
    let mut summary = crate::report::tests::fixture();
    summary.shard = Some(crate::report::summary::ShardInfo { index, count });
    Saved {
        file: format!("shard-{index}/summary.json"),
        summary,
    }
}

fn refusal(inputs: &[Saved], allow_partial: bool) -> String {
    merge(inputs, allow_partial, None).expect_err("refused")
}

#[test]
fn a_summary_that_is_no_shard_merges_to_itself() {
    let single = Saved {
        file: "summary.json".into(),
        summary: crate::report::tests::fixture(),
    };
    let merged = merge(std::slice::from_ref(&single), false, None).unwrap();
    assert_eq!(merged.to_json().unwrap(), single.summary.to_json().unwrap());
}

#[test]
fn summaries_that_do_not_belong_together_are_refused() {
    let mut other_plan = shard(2, 2);
    other_plan.summary.plan.sha256 = "f".repeat(64);
    assert!(
        refusal(&[shard(1, 2), other_plan], false)
            .starts_with("shard-2/summary.json: another plan ran")
    );
    let e = refusal(&[shard(1, 2), shard(2, 3)], false);
    assert!(
        e.contains("of a run in 3 shards, but shard-1/summary.json is of a run in 2"),
        "{e}"
    );
    let e = refusal(&[shard(1, 2), shard(1, 2)], false);
    assert!(e.contains("shard 1/2 again"), "{e}");
    let e = refusal(&[shard(1, 3)], false);
    assert!(
        e.starts_with("shards 2, 3 of 3 are missing") && e.contains("--allow-partial"),
        "{e}"
    );
    let mut no_shard = shard(2, 2);
    no_shard.summary.shard = None;
    assert!(refusal(&[shard(1, 2), no_shard], false).contains("not a shard's summary"));
    assert!(refusal(&[], false).contains("name the summaries"));
}

#[test]
fn a_partial_merge_says_which_shards_are_missing() {
    let mut s = shard(1, 3);
    // The fixture was no shard: its points carry no histograms, which a merge needs.
    s.summary.series.clear();
    let merged = merge(&[s], true, None).unwrap();
    let info = merged.merged.clone().unwrap();
    assert_eq!(
        (info.count, info.shards, info.missing),
        (3, vec![1], vec![2, 3])
    );
    let notes = crate::report::format::notices(&merged);
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("PARTIAL: merged from shards 1 of 3; shards 2, 3 are missing")),
        "{notes:?}"
    );
}

#[test]
fn points_without_histograms_are_refused() {
    let e = refusal(&[shard(1, 2), shard(2, 2)], false);
    assert!(e.contains("per-second points carry no histograms"), "{e}");
}

/// A shard of the fixture plan that sent, in its second `s`, one `list_claims` request of
/// each latency in `latencies(s)`, started `offset` after the epoch of the run.
fn recorded(index: u32, offset: Duration, latencies: impl Fn(u64) -> Vec<u64>) -> Saved {
    use crate::conclude::{RunResult, conclude};
    use crate::engine::{RunOutcome, StopReason};
    use crate::metrics::{Collector, Registry, Sample};
    use std::sync::Arc;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let plan = crate::plan::load(&root.join("tests/fixtures/reports/plan.yaml"), &[])
        .unwrap()
        .into_shard(crate::plan::shard::Shard { index, count: 2 });
    let row = plan
        .rows
        .iter()
        .position(|r| r.name == "list_claims")
        .unwrap();
    let registry = Arc::new(Registry::new(plan.rows.clone()));
    let mut collector = Collector::new(registry.clone()).keeping_histograms(true);
    for second in 0..3u64 {
        for ms in latencies(second) {
            registry.record(&Sample::ok(row, Duration::from_millis(ms)));
        }
        collector.tick(Duration::from_secs(second + 1));
    }
    let outcome = RunOutcome {
        metrics: collector.finish(Duration::from_secs(3)),
        stop: StopReason::Completed,
        started_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000) + offset,
        seed: 7,
        login_failures: BTreeMap::new(),
        logins: 0,
        refreshes: 0,
        cut: 0,
    };
    let result = RunResult {
        outcome,
        health: HealthResults::default(),
        not_sent: None,
        base_url: "http://127.0.0.1:9".into(),
    };
    Saved {
        file: format!("shard-{index}"),
        summary: conclude(&plan, &result, None),
    }
}

/// Each merged second holds exactly the requests both shards sent in it (the second shard
/// started 300 ms later), so its percentiles are those of one histogram of them all.
#[test]
fn each_merged_second_is_one_histogram_of_every_shards_requests_in_it() {
    use crate::metrics::Percentiles;
    let a = |s: u64| (1..=50).map(|i| 10 + i + 20 * s).collect::<Vec<_>>();
    let b = |s: u64| (1..=30).map(|i| 200 + 7 * i + 50 * s).collect::<Vec<_>>();
    let merged = merge(
        &[
            recorded(1, Duration::ZERO, a),
            recorded(2, Duration::from_millis(300), b),
        ],
        false,
        None,
    )
    .unwrap();
    assert_eq!(merged.series.len(), 3, "{:?}", merged.series);
    let mut all = new_counts::<u64>();
    for (second, point) in (0..3u64).zip(&merged.series) {
        let mut h = new_counts::<u64>();
        for ms in a(second).into_iter().chain(b(second)) {
            h.record(ms * 1000).unwrap();
            all.record(ms * 1000).unwrap();
        }
        assert_eq!(point.total.requests, 80);
        assert_eq!(
            point.total.percentiles,
            Percentiles::of(&h),
            "second {second}"
        );
        assert_eq!(point.rows.len(), 1);
        assert_eq!(point.rows[0].point.percentiles, Percentiles::of(&h));
        assert_eq!(point.total.cumulative.requests, 80 * (second + 1));
    }
    assert_eq!(
        merged.total.latency.as_ref().unwrap().percentiles,
        Percentiles::of(&all)
    );
    assert_eq!(merged.run.duration_s, 3.3);
    assert_eq!(
        merged.load.stages[0].target, 4.0,
        "the plan's 4 users, 2 + 2"
    );
    assert_eq!(merged.verdict, crate::report::summary::RunVerdict::Failed);
}
