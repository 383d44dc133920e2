//! Live progress: on a terminal an indicatif line redrawn every second; elsewhere (CI logs)
//! a status line at the start and every 10 s.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::metrics::Collector;

/// Progress display of one run.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    total: Option<Duration>,
}

impl Progress {
    /// Progress of the run named `title`, planned to last `total` (none: until its
    /// iterations are done); nothing when `quiet`.
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
            plain: !quiet && !terminal,
            total,
        }
    }

    /// Shows the state after a second.
    pub(crate) fn tick(&self, collector: &Collector, elapsed: Duration) {
        let p = collector.progress();
        let total = self
            .total
            .map_or_else(String::new, |t| format!("/{}s", t.as_secs()));
        let line = format!(
            "{}s{total}  users {}  {:.1} req/s  errors {}  p95 {}",
            elapsed.as_secs(),
            p.users,
            p.rps,
            p.failures,
            p.p95.map_or_else(
                || "-".into(),
                |d| format!("{:.0}ms", d.as_secs_f64() * 1000.0)
            ),
        );
        if let Some(bar) = &self.bar {
            bar.set_message(line);
            bar.tick();
        } else if self.plain && elapsed.as_secs().is_multiple_of(10) {
            crate::console::note(format_args!("{line}"));
        }
    }

    /// Clears the live line.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
