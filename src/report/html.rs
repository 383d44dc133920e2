//! `report.html`: one self-contained page (no script, no stylesheet or font from elsewhere,
//! works offline) with the overview, the load shape, verdicts, endpoint and check tables,
//! charts over time (users, requests and failures per second, latency percentiles, each
//! row's latency) and a latency distribution per endpoint. Charts are inline SVG whose
//! geometry `chart` computes; the markup lives in `templates/report.html`, rendered by
//! minijinja with HTML auto-escaping, so names from the plan cannot inject markup.

use indicatif::HumanBytes;
use minijinja::{AutoEscape, Environment, Value, escape_formatter};

use super::terminal::printable;
use serde::Serialize;

use super::ReportError;
use super::chart::{Chart, HEIGHT, LEFT, RIGHT, Series, Unit, WIDTH, distribution, time_chart};
use super::summary::{Failure, LoadInfo, LoadModelKind, PlanInfo, RunInfo, Stats, Summary};
use crate::sla::Status;

const TEMPLATE: &str = include_str!("../../templates/report.html");

#[derive(Serialize)]
struct Row {
    name: String,
    /// A flow's step, indented under its flow (`tr.step`).
    step: bool,
    requests: u64,
    failures: u64,
    rps: String,
    p50: String,
    p90: String,
    p95: String,
    p99: String,
    max: String,
    mean: String,
    received: String,
    sent: String,
}

fn row(s: &Stats, name: String, step: bool) -> Row {
    // The terminal's and Markdown's numbers, so every report shows a row alike.
    let [_, _, rps, p50, p90, p95, p99, max, mean] = super::format::stats_numbers(s);
    let [received, sent] = super::format::bytes_numbers(s);
    Row {
        name,
        step,
        requests: s.requests,
        failures: s.failures,
        rps,
        p50,
        p90,
        p95,
        p99,
        max,
        mean,
        received,
        sent,
    }
}

#[derive(Serialize)]
struct VerdictRow {
    status: &'static str,
    class: &'static str,
    name: String,
    scope: String,
    measured: String,
    threshold: String,
    note: Option<String>,
}

/// Everything the template sees.
#[derive(Serialize)]
struct Page<'a> {
    plan: &'a PlanInfo,
    run: &'a RunInfo,
    stop: serde_json::Value,
    verdict: &'static str,
    notices: Vec<String>,
    load: Vec<(&'static str, String)>,
    stages: Vec<[String; 3]>,
    data: [String; 3],
    verdicts: Vec<VerdictRow>,
    rows: Vec<Row>,
    total: Row,
    checks: Vec<CheckRow>,
    /// The planned load beside the measured users (or iterations in flight).
    load_charts: Vec<Chart>,
    charts: Vec<Chart>,
    row_charts: Vec<Chart>,
    distributions: Vec<Chart>,
    health: &'a crate::health::HealthResults,
    failures: Vec<&'a Failure>,
    width: f64,
    height: f64,
    left: f64,
    baseline: f64,
    right_edge: f64,
}

/// A row's checks: how many passed, failed, and the share that passed.
#[derive(Serialize)]
struct CheckRow {
    name: String,
    passed: u64,
    failed: u64,
    rate: String,
}

/// Renders `report.html`.
pub(crate) fn render(summary: &Summary) -> Result<String, ReportError> {
    let env = environment()?;
    let rows: Vec<Row> = super::format::endpoint_rows(summary)
        .map(|r| row(r.stats, r.name, r.step))
        .collect();
    let mut failures = super::format::failures_by_count(summary);
    failures.truncate(50);
    let total = &summary.total;
    let page = Page {
        plan: &summary.plan,
        run: &summary.run,
        stop: serde_json::to_value(summary.run.stop)?,
        verdict: summary.verdict.as_str(),
        notices: super::format::notices(summary),
        load: load_shape(&summary.load),
        stages: stages(&summary.load),
        data: [total.bytes_in, total.body_bytes, total.bytes_out]
            .map(|b| HumanBytes(b).to_string()),
        verdicts: verdict_rows(summary),
        rows,
        total: row(total, "Aggregated".into(), false),
        checks: check_rows(summary),
        load_charts: load_charts(summary),
        charts: time_charts(summary),
        row_charts: row_charts(summary),
        distributions: distributions(summary),
        health: &summary.health,
        failures,
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        baseline: HEIGHT - super::chart::BOTTOM,
        right_edge: WIDTH - RIGHT,
    };
    let text = env
        .get_template("report.html")?
        .render(crate::template::to_value(&page))?;
    Ok(text)
}

/// Each endpoint's latency distribution, its baseline's over it when the run had one.
fn distributions(summary: &Summary) -> Vec<Chart> {
    summary
        .endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let base = summary.baseline.as_ref().and_then(|b| {
                b.endpoints
                    .iter()
                    .find(|d| d.name == e.name)
                    .map(|d| d.histogram.as_str())
            });
            distribution(i, e, base)
        })
        .collect()
}

fn seconds(s: f64) -> String {
    format!("{} s", super::format::py_float((s * 10.0).round() / 10.0))
}

/// The load the run applied, in words: what a Locust or k6 user reads first.
fn load_shape(load: &LoadInfo) -> Vec<(&'static str, String)> {
    let mut out = vec![(
        "model",
        match load.model {
            LoadModelKind::Closed => "closed: virtual users, each looping".to_owned(),
            LoadModelKind::Open => "open: iterations started at a rate".to_owned(),
        },
    )];
    let peak = load.stages.iter().map(|s| s.target).fold(0.0, f64::max);
    out.push((
        "peak",
        match load.model {
            LoadModelKind::Closed => format!("{peak} users"),
            LoadModelKind::Open => format!("{peak} iterations/s"),
        },
    ));
    if let (LoadModelKind::Closed, true, Some(first)) =
        (load.model, load.from_one, load.stages.first())
        && first.duration_s > 0.0
    {
        out.push((
            "spawn rate",
            format!("{:.2} users/s", (first.target - 1.0) / first.duration_s),
        ));
    }
    if let Some(t) = &load.think_time {
        use super::summary::ThinkInfo;
        out.push((
            "think time",
            match t {
                ThinkInfo::Constant(s) => format!("constant {}", seconds(*s)),
                ThinkInfo::Between([a, b]) => {
                    format!("between {} and {}", seconds(*a), seconds(*b))
                }
                ThinkInfo::Pacing(s) => format!("constant pacing, a task every {}", seconds(*s)),
                ThinkInfo::Poisson(s) => format!("exponential, mean {}", seconds(*s)),
            },
        ));
    } else if load.model == LoadModelKind::Closed {
        out.push(("think time", "none".into()));
    }
    if let Some(n) = load.max_concurrency {
        out.push(("max concurrency", format!("{n} iterations in flight")));
    }
    if let Some(d) = load.duration_s {
        out.push(("planned duration", seconds(d)));
    }
    if let Some(n) = load.iterations {
        out.push(("iterations", n.to_string()));
    }
    out.push(("graceful stop", seconds(load.graceful_stop_s)));
    out
}

/// The stages as rows: from, to, over.
fn stages(load: &LoadInfo) -> Vec<[String; 3]> {
    let unit = match load.model {
        LoadModelKind::Closed => "users",
        LoadModelKind::Open => "/s",
    };
    let mut from = match (load.model, load.from_one) {
        (LoadModelKind::Closed, true) => 1.0,
        _ => 0.0,
    };
    load.stages
        .iter()
        .map(|s| {
            let row = [
                format!("{from} {unit}"),
                format!("{} {unit}", s.target),
                seconds(s.duration_s),
            ];
            from = s.target;
            row
        })
        .collect()
}

/// Rows with checks, and the share of their checks that passed.
fn check_rows(summary: &Summary) -> Vec<CheckRow> {
    summary
        .rows
        .iter()
        .filter(|r| r.checks_passed + r.checks_failed > 0)
        .map(|r| CheckRow {
            name: r.name.clone(),
            passed: r.checks_passed,
            failed: r.checks_failed,
            rate: format!(
                "{:.2} %",
                r.checks_passed as f64 * 100.0 / (r.checks_passed + r.checks_failed) as f64
            ),
        })
        .collect()
}

/// The template in an environment that escapes for HTML.
fn environment() -> Result<Environment<'static>, ReportError> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    // Server text may carry terminal escape sequences: shown escaped, as on the terminal, so
    // the file is inert in a browser and under `cat` alike.
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(text) if !value.is_safe() && text.chars().any(char::is_control) => {
            escape_formatter(out, state, &Value::from(printable(text)))
        }
        _ => escape_formatter(out, state, value),
    });
    env.add_template("report.html", TEMPLATE)?;
    Ok(env)
}

/// The stages' corners: (seconds since the start, users or iterations/s), ramps straight
/// between them, a step as two corners at one time; held to the planned duration when it
/// outlasts the stages.
fn planned_corners(load: &LoadInfo) -> Vec<(f64, f64)> {
    let from = match (load.model, load.from_one) {
        (LoadModelKind::Closed, true) => 1.0,
        _ => 0.0,
    };
    let mut corners = vec![(0.0, from)];
    let mut elapsed = 0.0;
    for s in &load.stages {
        elapsed += s.duration_s;
        if elapsed == 0.0 {
            // A step at the start is where the load starts, not a jump from one user.
            corners[0].1 = s.target;
        } else {
            corners.push((elapsed, s.target));
        }
    }
    if let (Some(end), Some(&(_, last))) = (load.duration_s, corners.last())
        && end > elapsed
    {
        corners.push((end, last));
    }
    corners
}

/// The planned load at `t` from `corners`: none past the planned end, except for a plan
/// that counts iterations, whose load holds until they are done.
fn planned_at(corners: &[(f64, f64)], t: f64, holds: bool) -> Option<f64> {
    let last = corners.last()?;
    if t >= last.0 {
        return (t == last.0 || holds).then_some(last.1);
    }
    corners.windows(2).find_map(|w| {
        let [(t0, v0), (t1, v1)] = [w[0], w[1]];
        (t0 <= t && t < t1).then(|| v0 + (v1 - v0) * (t - t0) / (t1 - t0))
    })
}

/// The load the plan asked for, drawn dashed, at its corners and at each measured second,
/// so it reads against the measured chart beside it second by second; then that chart:
/// users (or iterations in flight).
fn load_charts(summary: &Summary) -> Vec<Chart> {
    let load = &summary.load;
    let series = &summary.series;
    let measured: Vec<f64> = series.iter().map(|p| p.elapsed_s).collect();
    let corners = planned_corners(load);
    let mut points: Vec<(f64, Option<f64>)> = corners.iter().map(|&(t, v)| (t, Some(v))).collect();
    let holds = load.duration_s.is_none() && load.iterations.is_some();
    points.extend(
        measured
            .iter()
            .filter(|t| !corners.iter().any(|c| c.0 == **t))
            .map(|&t| (t, planned_at(&corners, t, holds))),
    );
    // Stable: a step's two corners keep their order.
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (planned_title, planned_label, planned_unit, users_title, users_label) = match load.model {
        LoadModelKind::Closed => ("Planned users", "users", Unit::Count, "Users", "users"),
        LoadModelKind::Open => (
            "Planned arrival rate",
            "iterations/s",
            Unit::PerSecond,
            "Iterations in flight",
            "in flight",
        ),
    };
    vec![
        time_chart(
            &points.iter().map(|p| p.0).collect::<Vec<_>>(),
            ("chart-planned".into(), planned_title.into()),
            planned_unit,
            vec![Series {
                label: planned_label,
                class: "planned",
                values: points.iter().map(|p| p.1).collect(),
            }],
        ),
        time_chart(
            &measured,
            ("chart-users".into(), users_title.into()),
            Unit::Count,
            vec![Series {
                label: users_label,
                class: "users",
                values: series.iter().map(|p| Some(p.users as f64)).collect(),
            }],
        ),
    ]
}

/// Requests, failures and latency percentiles per second, over the whole run.
fn time_charts(summary: &Summary) -> Vec<Chart> {
    let series = &summary.series;
    let times: Vec<f64> = series.iter().map(|p| p.elapsed_s).collect();
    let total = |f: fn(&crate::metrics::RowPoint) -> Option<f64>| -> Vec<Option<f64>> {
        series.iter().map(|p| f(&p.total)).collect()
    };
    let chart = |id: &str, title: &str| (id.to_owned(), title.to_owned());
    vec![
        time_chart(
            &times,
            chart("chart-rps", "Requests per second"),
            Unit::PerSecond,
            vec![Series {
                label: "req/s",
                class: "rps",
                values: total(|p| Some(p.rps)),
            }],
        ),
        time_chart(
            &times,
            chart("chart-errors", "Failures per second"),
            Unit::PerSecond,
            vec![Series {
                label: "failures/s",
                class: "errors",
                values: total(|p| Some(p.fps)),
            }],
        ),
        time_chart(
            &times,
            chart("chart-latency", "Latency percentiles (each second)"),
            Unit::Ms,
            percentile_lines(series.iter().map(|p| &p.total.percentiles)),
        ),
    ]
}

/// p99, p95 and p50, in that order, so a line that meets another is drawn over it.
fn percentile_lines<'a>(
    points: impl Iterator<Item = &'a crate::metrics::Percentiles> + Clone,
) -> Vec<Series> {
    let line = |label, f: fn(&crate::metrics::Percentiles) -> Option<f64>| Series {
        label,
        class: label,
        values: points.clone().map(f).collect(),
    };
    vec![
        line("p99", |p| p.p99),
        line("p95", |p| p.p95),
        line("p50", |p| p.p50),
    ]
}

/// Each row's latency over time, small multiples on one time axis: a second in which the
/// row completed nothing is left out of its lines.
fn row_charts(summary: &Summary) -> Vec<Chart> {
    let series = &summary.series;
    let times: Vec<f64> = series.iter().map(|p| p.elapsed_s).collect();
    let empty = crate::metrics::Percentiles::default();
    summary
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.requests > 0)
        .map(|(i, r)| {
            let points: Vec<&crate::metrics::Percentiles> = series
                .iter()
                .map(|p| {
                    p.rows
                        .iter()
                        .find(|a| a.row == i)
                        .map_or(&empty, |a| &a.point.percentiles)
                })
                .collect();
            let mut lines = percentile_lines(points.iter().copied());
            lines.remove(0);
            time_chart(
                &times,
                (
                    format!("row-latency-{i}"),
                    format!("{} {}", r.method, r.name),
                ),
                Unit::Ms,
                lines,
            )
        })
        .collect()
}

fn verdict_rows(summary: &Summary) -> Vec<VerdictRow> {
    summary
        .verdicts
        .iter()
        .map(|v| VerdictRow {
            status: v.status.as_str(),
            class: match v.status {
                Status::Pass => "pass",
                Status::Fail => "fail",
                Status::Skipped => "skip",
            },
            name: v.name.clone(),
            scope: v.scope.clone(),
            measured: format!("{} {}", v.metric, v.measured_text),
            threshold: format!("{} {}", v.operator.as_str().replace('_', " "), v.threshold),
            note: v.note.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::StageInfo;

    fn load(model: LoadModelKind, from_one: bool, stages: &[(f64, f64)]) -> LoadInfo {
        LoadInfo {
            model,
            stages: stages
                .iter()
                .map(|&(target, duration_s)| StageInfo { target, duration_s })
                .collect(),
            from_one,
            think_time: None,
            max_concurrency: None,
            duration_s: None,
            iterations: None,
            graceful_stop_s: 0.0,
        }
    }

    /// Issue 16: the planned load follows the stages: a Locust-style ramp from one user held
    /// to the planned duration, k6-style stages from none with a step as a vertical edge, and
    /// nothing planned past the end unless the plan counts iterations.
    #[test]
    fn the_planned_load_follows_the_stages() {
        let mut ramp = load(LoadModelKind::Closed, true, &[(5.0, 0.8)]);
        ramp.duration_s = Some(3.0);
        let corners = planned_corners(&ramp);
        assert_eq!(corners, [(0.0, 1.0), (0.8, 5.0), (3.0, 5.0)]);
        assert_eq!(planned_at(&corners, 0.4, false), Some(3.0));
        assert_eq!(planned_at(&corners, 2.0, false), Some(5.0));
        assert_eq!(planned_at(&corners, 4.0, false), None);
        assert_eq!(planned_at(&corners, 4.0, true), Some(5.0));

        let steps = load(
            LoadModelKind::Open,
            false,
            &[(10.0, 2.0), (30.0, 0.0), (0.0, 1.0)],
        );
        let corners = planned_corners(&steps);
        assert_eq!(corners, [(0.0, 0.0), (2.0, 10.0), (2.0, 30.0), (3.0, 0.0)]);
        assert_eq!(planned_at(&corners, 1.0, false), Some(5.0));
        assert_eq!(planned_at(&corners, 2.5, false), Some(15.0));

        // `users: 4` without a ramp starts at 4, not at one user.
        let at_once = load(LoadModelKind::Closed, true, &[(4.0, 0.0)]);
        assert_eq!(planned_corners(&at_once), [(0.0, 4.0)]);
    }

    /// The planned chart's hover columns and data table carry each measured second too, and
    /// the line is dashed.
    #[test]
    fn the_planned_chart_is_dashed_and_reads_each_second() {
        let summary = crate::report::tests::fixture();
        let html = render(&summary).unwrap();
        let start = html.find(r#"<figure id="chart-planned">"#).unwrap();
        let figure = &html[start..start + html[start..].find("</figure>").unwrap()];
        assert!(
            figure.contains("<figcaption>Planned users</figcaption>"),
            "{figure}"
        );
        assert!(figure.contains(r#"<polyline class="planned""#), "{figure}");
        assert!(figure.contains("<title>2s: users 4</title>"), "{figure}");
        assert!(html.contains("svg .planned { stroke: #0969da; stroke-dasharray: 6 4; }"));
    }
}
