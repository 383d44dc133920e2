//! The geometry of report.html's charts: inline SVG computed here, drawn by the template.
//! Every chart is readable without a script: each second (or bin) is a column whose
//! `<title>` a browser shows on hover, and each chart carries its numbers as a table too,
//! for screen readers and for copying.

use hdrhistogram::Histogram;
use serde::Serialize;

use super::format::ms_text;
use super::summary::Stats;
use crate::metrics::decode_histogram;

/// The SVG's coordinate box; the page scales it to its width.
pub(super) const WIDTH: f64 = 960.0;
pub(super) const HEIGHT: f64 = 220.0;
pub(super) const LEFT: f64 = 64.0;
/// Wide enough for the last x label, centred on the right edge, to stay whole.
pub(super) const RIGHT: f64 = 36.0;
const TOP: f64 = 12.0;
pub(super) const BOTTOM: f64 = 30.0;

#[derive(Serialize)]
pub(super) struct Tick {
    pos: String,
    label: String,
}

#[derive(Serialize)]
pub(super) struct Line {
    label: String,
    class: String,
    points: String,
}

#[derive(Serialize)]
pub(super) struct Bar {
    x: String,
    y: String,
    w: String,
    h: String,
    label: String,
}

/// A column a pointer can rest on: its `<title>` names every value in it.
#[derive(Serialize)]
pub(super) struct Hover {
    x: String,
    w: String,
    label: String,
}

/// The chart's numbers as a table.
#[derive(Serialize, Default)]
pub(super) struct DataTable {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

#[derive(Serialize)]
pub(super) struct Chart {
    id: String,
    title: String,
    lines: Vec<Line>,
    bars: Vec<Bar>,
    hovers: Vec<Hover>,
    x_ticks: Vec<Tick>,
    y_ticks: Vec<Tick>,
    data: DataTable,
    empty: bool,
}

impl Chart {
    fn new(id: String, title: String) -> Chart {
        Chart {
            id,
            title,
            lines: Vec::new(),
            bars: Vec::new(),
            hovers: Vec::new(),
            x_ticks: Vec::new(),
            y_ticks: Vec::new(),
            data: DataTable::default(),
            empty: true,
        }
    }
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

/// What a value of a chart's unit reads as.
#[derive(Clone, Copy)]
pub(super) enum Unit {
    /// Milliseconds.
    Ms,
    /// A count per second.
    PerSecond,
    /// A count.
    Count,
}

impl Unit {
    fn axis(self) -> &'static str {
        match self {
            Unit::Ms => "ms",
            Unit::PerSecond => "/s",
            Unit::Count => "",
        }
    }

    fn text(self, v: f64) -> String {
        match self {
            Unit::Ms => ms_text(v),
            Unit::PerSecond => format!("{v:.1}/s"),
            Unit::Count => format!("{v:.0}"),
        }
    }
}

/// One line of a time chart: its label, CSS class and value at each second (`None` leaves
/// the second out: no request completed in it).
pub(super) struct Series {
    pub label: &'static str,
    pub class: &'static str,
    pub values: Vec<Option<f64>>,
}

/// A chart of `series` over the seconds that end at `times` (seconds since the start).
pub(super) fn time_chart(
    times: &[f64],
    (id, title): (String, String),
    unit: Unit,
    series: Vec<Series>,
) -> Chart {
    let mut chart = Chart::new(id, title);
    let end = times.last().copied().unwrap_or(0.0);
    let top = nice_max(
        series
            .iter()
            .flat_map(|s| s.values.iter().flatten())
            .fold(0.0, |a: f64, b| a.max(*b)),
    );
    chart.lines = series
        .iter()
        .map(|s| Line {
            label: s.label.to_owned(),
            class: s.class.to_owned(),
            points: times
                .iter()
                .zip(&s.values)
                .filter_map(|(t, v)| {
                    v.map(|v| format!("{},{}", num(plot_x(*t, end)), num(plot_y(v, top))))
                })
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect();
    let value = |s: &Series, i: usize| s.values[i].map_or_else(|| "–".to_owned(), |v| unit.text(v));
    let mut start = 0.0;
    for (i, t) in times.iter().enumerate() {
        let cells: Vec<String> = series.iter().map(|s| value(s, i)).collect();
        let named: Vec<String> = series
            .iter()
            .zip(&cells)
            .map(|(s, c)| format!("{} {c}", s.label))
            .collect();
        // A corner at the start, or a step's second corner, spans no time: nothing to hover.
        if *t > start {
            chart.hovers.push(Hover {
                x: num(plot_x(start, end)),
                w: num(plot_x(*t, end) - plot_x(start, end)),
                label: format!("{}s: {}", short(*t), named.join(" · ")),
            });
        }
        let mut row = vec![format!("{t:.1}")];
        row.extend(cells);
        chart.data.rows.push(row);
        start = *t;
    }
    chart.data.header = std::iter::once("s".to_owned())
        .chain(series.iter().map(|s| s.label.to_owned()))
        .collect();
    chart.x_ticks = [0.0, 0.5, 1.0]
        .iter()
        .map(|f| Tick {
            pos: num(plot_x(end * f, end)),
            label: format!("{}s", short(end * f)),
        })
        .collect();
    chart.y_ticks = y_ticks(top, unit.axis());
    chart.empty = times.is_empty();
    chart
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
pub(super) fn distribution(index: usize, s: &Stats, base: Option<&str>) -> Chart {
    let mut chart = Chart::new(
        format!("dist-{index}"),
        format!("{} latency distribution", s.name),
    );
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
        let range = format!(
            "{}–{}",
            ms_text(bins.edge_ms(i)),
            ms_text(bins.edge_ms(i + 1))
        );
        match (&base_counts, &base_values) {
            (Some((base_counts, _)), Some(base_values)) => format!(
                "{range}: {} ({:.1} %); baseline {} ({:.1} %)",
                requests(counts[i]),
                values[i],
                requests(base_counts[i]),
                base_values[i]
            ),
            _ => format!("{range}: {}", requests(counts[i])),
        }
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
    chart.hovers = (0..BINS)
        .map(|i| Hover {
            x: num(LEFT + slot * i as f64),
            w: num(slot),
            label: label(i),
        })
        .collect();
    chart.data.header = ["from", "to", "requests"].map(String::from).to_vec();
    if base_counts.is_some() {
        chart.data.header.push("baseline".into());
    }
    chart.data.rows = (0..BINS)
        .map(|i| {
            let mut row = vec![
                ms_text(bins.edge_ms(i)),
                ms_text(bins.edge_ms(i + 1)),
                counts[i].to_string(),
            ];
            if let Some((c, _)) = &base_counts {
                row.push(c[i].to_string());
            }
            row
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every second is a column with its values in a `<title>`, and in the data table.
    #[test]
    fn a_time_chart_names_each_seconds_values() {
        let chart = time_chart(
            &[1.0, 2.0, 2.5],
            ("c".into(), "C".into()),
            Unit::Ms,
            vec![
                Series {
                    label: "p50",
                    class: "p50",
                    values: vec![Some(1.5), None, Some(40.44)],
                },
                Series {
                    label: "p95",
                    class: "p95",
                    values: vec![Some(3.0), None, Some(90.0)],
                },
            ],
        );
        let labels: Vec<&str> = chart.hovers.iter().map(|h| h.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "1s: p50 1.50ms · p95 3.00ms",
                "2s: p50 – · p95 –",
                "2.5s: p50 40.4ms · p95 90.0ms"
            ]
        );
        assert_eq!(chart.data.header, ["s", "p50", "p95"]);
        assert_eq!(chart.data.rows[2], ["2.5", "40.4ms", "90.0ms"]);
        // The last x label sits on the right edge, with room for its text.
        assert_eq!(chart.x_ticks[2].label, "2.5s");
        assert!(WIDTH - chart.x_ticks[2].pos.parse::<f64>().unwrap() >= RIGHT);
    }
}
