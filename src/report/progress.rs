//! Live progress: on a terminal an indicatif line redrawn every second; elsewhere (CI logs)
//! a line at the first second, every 10 s and at the end, so even a short run shows two.
//! Both carry the same labelled fields ([`line`]), and a run leaves its end line behind.

use std::fmt::Write as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::metrics::{self, Collector, RunMetrics};

/// Seconds between two lines of the plain log.
const PLAIN_EVERY_S: u64 = 10;

/// The progress line of figures `p`, of a run planned to last `total` (none: until its
/// iterations are done):
/// `elapsed 10s/30s  users 5  requests 81  errors 2 (2.47%)  last 5s: 2.7 req/s, p95 12.3ms`,
/// the open model showing `in-flight 2  rate 10.0/s` instead of users, and `dropped 3`
/// at the end once iterations were dropped. Totals are since the start; the rate and the
/// percentile cover the last few seconds, so a change shows within them.
pub(crate) fn line(p: &metrics::Progress, total: Option<Duration>) -> String {
    let mut line = format!("elapsed {}s", p.elapsed.as_secs());
    if let Some(total) = total {
        let _ = write!(line, "/{}s", total.as_secs());
    }
    let _ = match p.rate {
        None => write!(line, "  users {}", p.users),
        Some(rate) => write!(line, "  in-flight {}  rate {rate:.1}/s", p.users),
    };
    let _ = write!(line, "  requests {}  errors {}", p.requests, p.failures);
    if let Some(share) = super::format::share(p.failures, p.requests) {
        let _ = write!(line, " ({share})");
    }
    let rps = if p.recent.is_zero() {
        "-".to_owned()
    } else {
        format!("{:.1}", p.recent_requests as f64 / p.recent.as_secs_f64())
    };
    let _ = write!(
        line,
        "  last {}s: {rps} req/s, p95 {}",
        p.recent.as_secs_f64().round(),
        p.recent_p95.map_or_else(|| "-".to_owned(), latency)
    );
    if p.dropped_iterations > 0 {
        let _ = write!(line, "  dropped {}", p.dropped_iterations);
    }
    line
}

/// A latency for the progress line: microseconds below a millisecond, where a fast local
/// target lives and `0ms` would say nothing.
fn latency(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{}µs", d.as_micros())
    } else {
        super::format::ms_text(d.as_secs_f64() * 1000.0)
    }
}

/// When the plain log prints: the lines of one run, tick by tick.
#[derive(Debug, Default)]
struct Plain {
    /// Elapsed time of the last line printed, if any.
    printed: Option<Duration>,
}

impl Plain {
    /// Whether the tick at `elapsed` gets a line: the first, then one per 10 s.
    fn due(&mut self, elapsed: Duration) -> bool {
        let due = self
            .printed
            .is_none_or(|at| elapsed.as_secs() / PLAIN_EVERY_S > at.as_secs() / PLAIN_EVERY_S);
        if due {
            self.printed = Some(elapsed);
        }
        due
    }
}

/// The end line's figures: the run's totals, with the recent figures and the gauges of
/// its last tick (the final partial second has no full window of its own).
fn at_end(last: metrics::Progress, metrics: &RunMetrics) -> metrics::Progress {
    metrics::Progress {
        elapsed: metrics.duration,
        requests: metrics.total.requests,
        failures: metrics.total.failed(),
        dropped_iterations: metrics.dropped_iterations,
        ..last
    }
}

/// Progress display of one run.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    /// The plain log's state; `None` on a terminal and with `-q`.
    plain: Option<Plain>,
    total: Option<Duration>,
    /// The figures of the last tick.
    last: metrics::Progress,
    quiet: bool,
}

impl Progress {
    /// Progress of the run named `title`, planned to last `total` (none: until its
    /// iterations are done), drawn live when `terminal`; nothing when `quiet`.
    pub(crate) fn new(quiet: bool, title: &str, total: Option<Duration>, terminal: bool) -> Self {
        let bar = (!quiet && terminal).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        });
        if !quiet && !terminal {
            crate::console::note(format_args!("running {title}"));
        }
        Progress {
            bar,
            plain: (!quiet && !terminal).then(Plain::default),
            total,
            last: metrics::Progress::default(),
            quiet,
        }
    }

    /// Shows the state after a tick.
    pub(crate) fn tick(&mut self, collector: &Collector, elapsed: Duration) {
        self.last = metrics::Progress {
            elapsed,
            ..collector.progress()
        };
        if let Some(bar) = &self.bar {
            bar.set_message(line(&self.last, self.total));
            bar.tick();
        } else if let Some(plain) = &mut self.plain
            && plain.due(elapsed)
        {
            crate::console::note(format_args!("{}", line(&self.last, self.total)));
        }
    }

    /// Clears the live line and prints the end line, from the run's final `metrics`.
    pub(crate) fn finish(&self, metrics: &RunMetrics) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if !self.quiet {
            let end = at_end(self.last, metrics);
            crate::console::note(format_args!("{}", line(&end, self.total)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// A closed-model run of 5 users at about 2.7 req/s, `t` seconds in.
    fn closed(t: u64) -> metrics::Progress {
        metrics::Progress {
            elapsed: secs(t),
            requests: 27 * t / 10,
            failures: t / 10,
            users: 5,
            rate: None,
            dropped_iterations: 0,
            recent: secs(t.min(5)),
            recent_requests: 27 * t.min(5) / 10,
            recent_p95: Some(Duration::from_micros(12_340)),
        }
    }

    #[test]
    fn every_field_is_labelled() {
        let open = metrics::Progress {
            rate: Some(10.0),
            users: 2,
            dropped_iterations: 3,
            recent_p95: Some(Duration::from_micros(850)),
            ..closed(20)
        };
        let idle = metrics::Progress {
            elapsed: secs(1),
            users: 1,
            ..metrics::Progress::default()
        };
        let lines = [
            line(&closed(10), Some(secs(30))),
            line(&open, Some(secs(30))),
            line(&idle, None),
        ];
        insta::assert_snapshot!("progress_lines", lines.join("\n"));
    }

    #[test]
    fn latencies_below_a_millisecond_keep_their_microseconds() {
        assert_eq!(latency(Duration::from_micros(0)), "0µs");
        assert_eq!(latency(Duration::from_micros(999)), "999µs");
        assert_eq!(latency(Duration::from_micros(1000)), "1.00ms");
        assert_eq!(latency(Duration::from_micros(712_400)), "712ms");
    }

    /// The plain log of a run planned for `end` seconds, ticked each second until then:
    /// 3 requests a second, every tenth failed, the latencies rising by 100 µs a second.
    fn plain_log(end: f64) -> Vec<String> {
        use crate::metrics::{FailureKind, Registry, RowKey, Sample};
        let total = Some(Duration::from_secs_f64(end));
        let registry = std::sync::Arc::new(Registry::new(vec![RowKey::new("list", "GET")]));
        registry.set_users(5);
        let mut collector = Collector::new(registry.clone());
        let mut plain = Plain::default();
        let mut lines = Vec::new();
        let mut last = metrics::Progress::default();
        let mut n = 0u64;
        for t in 1..=end.ceil() as u64 {
            for _ in 0..3 {
                n += 1;
                let latency = Duration::from_micros(600 + 100 * t);
                registry.record(&if n.is_multiple_of(10) {
                    Sample::failed(0, latency, FailureKind::Status, "HTTP 500")
                } else {
                    Sample::ok(0, latency)
                });
            }
            if (t as f64) < end {
                collector.tick(secs(t));
                last = collector.progress();
                if plain.due(secs(t)) {
                    lines.push(line(&last, total));
                }
            }
        }
        let metrics = collector.finish(Duration::from_secs_f64(end));
        lines.push(line(&at_end(last, &metrics), total));
        lines
    }

    #[test]
    fn a_plain_log_has_the_first_second_every_ten_and_the_end() {
        let short = plain_log(3.0);
        assert_eq!(short.len(), 2, "{short:#?}");
        let long = plain_log(25.4);
        insta::assert_snapshot!(
            "progress_plain",
            format!("3 s:\n{}\n25 s:\n{}", short.join("\n"), long.join("\n"))
        );
    }
}
