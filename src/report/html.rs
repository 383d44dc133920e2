//! `report.html`: one self-contained page (no script, no stylesheet or font from elsewhere,
//! works offline) with the overview, verdicts, endpoint table, charts of req/s, errors and
//! latency percentiles over time, and a latency distribution per endpoint. Charts are
//! inline SVG: the geometry is computed here, the markup lives in `templates/report.html`,
//! rendered by minijinja with HTML auto-escaping, so names from the plan cannot inject
//! markup.

use hdrhistogram::Histogram;
use minijinja::{AutoEscape, Environment, Value, escape_formatter};

use super::terminal::printable;
use serde::Serialize;

use super::ReportError;
use super::format::ms_text;
use super::summary::{Failure, PlanInfo, RunInfo, Stats, Summary};
use crate::metrics::decode_histogram;
use crate::sla::Status;

const TEMPLATE: &str = include_str!("../../templates/report.html");

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 28.0;

#[derive(Serialize)]
struct Tick {
    pos: String,
    label: String,
}

#[derive(Serialize)]
struct Line {
    label: String,
    class: String,
    points: String,
}

#[derive(Serialize)]
struct Bar {
    x: String,
    y: String,
    w: String,
    h: String,
    label: String,
}

#[derive(Serialize)]
struct Chart {
    id: String,
    title: String,
    unit: String,
    lines: Vec<Line>,
    bars: Vec<Bar>,
    x_ticks: Vec<Tick>,
    y_ticks: Vec<Tick>,
    empty: bool,
}

fn num(v: f64) -> String {
    format!("{v:.1}")
}

/// A round upper bound for an axis: 1, 2 or 5 × 10^n, at least `max`.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * magnitude)
}

fn plot_x(t: f64, end: f64) -> f64 {
    LEFT + (WIDTH - LEFT - RIGHT) * if end > 0.0 { t / end } else { 0.0 }
}

fn plot_y(v: f64, top: f64) -> f64 {
    HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * (v / top)
}

fn short(v: f64) -> String {
    if v >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn y_ticks(top: f64, unit: &str) -> Vec<Tick> {
    [0.0, 0.5, 1.0]
        .iter()
        .map(|f| Tick {
            pos: num(plot_y(top * f, top)),
            label: format!("{}{unit}", short(top * f)),
        })
        .collect()
}

/// A time-series chart of `lines` (label, CSS class, values per point; `None` leaves the
/// point out).
fn time_chart(
    summary: &Summary,
    id: &str,
    title: &str,
    unit: &str,
    lines: Vec<(&str, &str, Vec<Option<f64>>)>,
) -> Chart {
    let times: Vec<f64> = summary.series.iter().map(|p| p.elapsed_s).collect();
    let end = times.last().copied().unwrap_or(0.0);
    let top = nice_max(
        lines
            .iter()
            .flat_map(|(_, _, v)| v.iter().flatten())
            .fold(0.0, |a: f64, b| a.max(*b)),
    );
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|(label, class, values)| Line {
            label: label.to_owned(),
            class: class.to_owned(),
            points: times
                .iter()
                .zip(values)
                .filter_map(|(t, v)| {
                    v.map(|v| format!("{},{}", num(plot_x(*t, end)), num(plot_y(v, top))))
                })
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect();
    Chart {
        id: id.to_owned(),
        title: title.to_owned(),
        unit: unit.to_owned(),
        empty: times.is_empty(),
        lines,
        bars: Vec::new(),
        x_ticks: [0.0, 0.5, 1.0]
            .iter()
            .map(|f| Tick {
                pos: num(plot_x(end * f, end)),
                label: format!("{}s", short(end * f)),
            })
            .collect(),
        y_ticks: y_ticks(top, unit),
    }
}

const BINS: usize = 24;

/// Requests per latency bin, bins spaced logarithmically from `lo` to `hi` µs.
struct Bins {
    lo: f64,
    ratio: f64,
}

impl Bins {
    fn over<'a>(histograms: impl IntoIterator<Item = &'a Histogram<u64>>) -> Bins {
        let (lo, hi) = histograms.into_iter().fold((u64::MAX, 1), |(lo, hi), h| {
            (lo.min(h.min()), hi.max(h.max()))
        });
        let lo = lo.max(1) as f64;
        let hi = (hi as f64).max(lo + 1.0);
        Bins {
            lo,
            ratio: (hi / lo).ln(),
        }
    }

    fn counts(&self, h: &Histogram<u64>) -> [u64; BINS] {
        let bin = |us: f64| {
            (((us.max(self.lo) / self.lo).ln() / self.ratio * BINS as f64) as usize).min(BINS - 1)
        };
        let mut counts = [0u64; BINS];
        for v in h.iter_recorded() {
            counts[bin(v.value_iterated_to() as f64)] += v.count_at_value();
        }
        counts
    }

    /// The lower edge of bin `i`, in ms.
    fn edge_ms(&self, i: usize) -> f64 {
        self.lo * (self.ratio * i as f64 / BINS as f64).exp() / 1000.0
    }
}

fn requests(n: u64) -> String {
    format!("{n} request{}", if n == 1 { "" } else { "s" })
}

/// The latency distribution of one endpoint: requests per latency bin, bins spaced
/// logarithmically from the fastest to the slowest request. Against a baseline, both runs'
/// distributions share the bins and are drawn as shares of their requests: this run's as
/// bars, the baseline's as an outline over them, so a shift reads at a glance.
fn distribution(index: usize, s: &Stats, base: Option<&str>) -> Chart {
    let mut chart = Chart {
        id: format!("dist-{index}"),
        title: format!("{} latency distribution", s.name),
        unit: "ms".into(),
        lines: Vec::new(),
        bars: Vec::new(),
        x_ticks: Vec::new(),
        y_ticks: Vec::new(),
        empty: true,
    };
    let Ok(h) = decode_histogram(&s.histogram) else {
        return chart;
    };
    if h.is_empty() {
        return chart;
    }
    let base = base
        .and_then(|b| decode_histogram(b).ok())
        .filter(|b| !b.is_empty());
    let bins = Bins::over([Some(&h), base.as_ref()].into_iter().flatten());
    let counts = bins.counts(&h);
    let base_counts = base.as_ref().map(|b| (bins.counts(b), b.len()));
    // Shares when two runs of different sizes share the axis; counts otherwise.
    let scale = |n: u64, of: u64| match base_counts {
        Some(_) => n as f64 * 100.0 / of.max(1) as f64,
        None => n as f64,
    };
    let values = counts.map(|n| scale(n, h.len()));
    let base_values = base_counts.map(|(c, of)| c.map(|n| scale(n, of)));
    let highest = values
        .iter()
        .chain(base_values.iter().flatten())
        .fold(0.0, |m: f64, v| m.max(*v));
    let top = nice_max(highest.max(1.0));
    let slot = (WIDTH - LEFT - RIGHT) / BINS as f64;
    let label = |i: usize| {
        let mut text = format!(
            "{}–{}: {}",
            ms_text(bins.edge_ms(i)),
            ms_text(bins.edge_ms(i + 1)),
            requests(counts[i])
        );
        if let (Some((base_counts, _)), Some(base_values)) = (&base_counts, &base_values) {
            text = format!(
                "{text} ({:.1} %); baseline {} ({:.1} %)",
                values[i],
                requests(base_counts[i]),
                base_values[i]
            );
        }
        text
    };
    chart.bars = (0..BINS)
        .filter(|i| counts[*i] > 0)
        .map(|i| {
            let y = plot_y(values[i], top);
            Bar {
                x: num(LEFT + slot * i as f64 + 1.0),
                y: num(y),
                w: num(slot - 2.0),
                h: num(HEIGHT - BOTTOM - y),
                label: label(i),
            }
        })
        .collect();
    if let Some(base_values) = base_values {
        chart.title.push_str(", against the baseline");
        // A step outline: each bin's level across its slot, down to the axis at both ends.
        let mut points = vec![format!("{},{}", num(LEFT), num(HEIGHT - BOTTOM))];
        for (i, v) in base_values.iter().enumerate() {
            let y = num(plot_y(*v, top));
            points.push(format!("{},{y}", num(LEFT + slot * i as f64)));
            points.push(format!("{},{y}", num(LEFT + slot * (i + 1) as f64)));
        }
        points.push(format!("{},{}", num(WIDTH - RIGHT), num(HEIGHT - BOTTOM)));
        chart.lines = vec![Line {
            label: "baseline".into(),
            class: "baseline".into(),
            points: points.join(" "),
        }];
    }
    chart.x_ticks = [0, BINS / 2, BINS]
        .iter()
        .map(|i| Tick {
            pos: num(LEFT + slot * *i as f64),
            label: ms_text(bins.edge_ms(*i)),
        })
        .collect();
    chart.y_ticks = y_ticks(top, if base_counts.is_some() { "%" } else { "" });
    chart.empty = false;
    chart
}

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
}

fn row(s: &Stats, name: String, step: bool) -> Row {
    // The terminal's and Markdown's numbers, so every report shows a row alike.
    let [_, _, rps, p50, p90, p95, p99, max, mean] = super::format::stats_numbers(s);
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
    verdicts: Vec<VerdictRow>,
    rows: Vec<Row>,
    total: Row,
    charts: Vec<Chart>,
    distributions: Vec<Chart>,
    health: &'a crate::health::HealthResults,
    failures: Vec<&'a Failure>,
    width: f64,
    height: f64,
    left: f64,
    baseline: f64,
    right_edge: f64,
}

/// Renders `report.html`.
pub(crate) fn render(summary: &Summary) -> Result<String, ReportError> {
    let env = environment()?;
    let rows: Vec<Row> = super::format::endpoint_rows(summary)
        .map(|r| row(r.stats, r.name, r.step))
        .collect();
    let mut failures = super::format::failures_by_count(summary);
    failures.truncate(50);
    let page = Page {
        plan: &summary.plan,
        run: &summary.run,
        stop: serde_json::to_value(summary.run.stop)?,
        verdict: summary.verdict.as_str(),
        notices: super::format::notices(summary),
        verdicts: verdict_rows(summary),
        rows,
        total: row(&summary.total, "Aggregated".into(), false),
        charts: time_charts(summary),
        distributions: summary
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
            .collect(),
        health: &summary.health,
        failures,
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        baseline: HEIGHT - BOTTOM,
        right_edge: WIDTH - RIGHT,
    };
    let text = env
        .get_template("report.html")?
        .render(crate::template::to_value(&page))?;
    Ok(text)
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

/// Requests, failures and latency percentiles per second, over the whole run.
fn time_charts(summary: &Summary) -> Vec<Chart> {
    let series = &summary.series;
    let total = |f: fn(&crate::metrics::RowPoint) -> Option<f64>| -> Vec<Option<f64>> {
        series.iter().map(|p| f(&p.total)).collect()
    };
    vec![
        time_chart(
            summary,
            "chart-rps",
            "Requests per second",
            "/s",
            vec![("req/s", "rps", total(|p| Some(p.rps)))],
        ),
        time_chart(
            summary,
            "chart-errors",
            "Failures per second",
            "/s",
            vec![("failures/s", "errors", total(|p| Some(p.fps)))],
        ),
        time_chart(
            summary,
            "chart-latency",
            "Latency percentiles (each second)",
            "ms",
            vec![
                ("p50", "p50", total(|p| p.percentiles.p50)),
                ("p95", "p95", total(|p| p.percentiles.p95)),
                ("p99", "p99", total(|p| p.percentiles.p99)),
            ],
        ),
    ]
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
