//! `run`'s load flags (`--users`, `--rate`, `--duration`) mean what a k6 or Locust user
//! expects whatever shape the plan's load has. They become overrides of the document's
//! `load` section (after `--set`), chosen by reading it, so they are checked, hashed and
//! named in errors like any other override:
//!
//! - `--users N`: a closed plan's users; stages are scaled so their peak is N; an open plan
//!   has no users (an error naming `--rate`).
//! - `--rate R`: an open plan's constant rate, or its stages scaled to a peak of R; a closed
//!   plan becomes an open model at a constant R.
//! - `--duration D`: the run's length; a staged plan's stages decide it, so it is refused
//!   there unless `--users` or `--rate` replaces the stages with a constant load for D (as
//!   k6's `--vus` with `--duration` replaces `stages`).

use std::time::Duration;

use serde_json::Value;

use super::Override;
use super::defaults;
use super::units::{HumanDuration, Rate, format_duration};

/// The load flags given to `run`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LoadFlags<'a> {
    /// `--users N`.
    pub users: Option<u32>,
    /// `--rate R`.
    pub rate: Option<&'a Rate>,
    /// `--duration D`, as written (the plan's check reports a bad one).
    pub duration: Option<&'a str>,
}

/// What the flags do to a plan: its overrides, and notices that say how the plan's own
/// load was changed when the flag is not a plain replacement of one value.
#[derive(Debug, Default)]
pub(crate) struct LoadEdits {
    /// The overrides, to apply after `--set`.
    pub overrides: Vec<Override>,
    /// One line each, for the screen.
    pub notices: Vec<String>,
}

/// `--rate`'s argument: a rate as a plan writes it (`200/s`, `300/m`), or a bare number of
/// iterations per second (`200`).
pub(crate) fn rate_flag(text: &str) -> Result<Rate, String> {
    let written = if text.contains('/') {
        text.trim().to_owned()
    } else {
        format!("{}/s", text.trim())
    };
    written.parse::<Rate>().map_err(|_| {
        format!(
            "`{text}` is not a rate: write iterations per second (`200`) or a rate as plans \
             do (`200/s`, `300/m`)"
        )
    })
}

/// The overrides the flags stand for on a plan whose `load` section (after `--set`) is
/// `load` (`Null` when it has none); `Err` says why they cannot apply to it.
pub(crate) fn edits(load: &Value, flags: &LoadFlags<'_>) -> Result<LoadEdits, String> {
    let shape = Shape::of(load);
    let mut edits = LoadEdits::default();
    match (flags.users, flags.rate) {
        (Some(users), _) => users_edits(&shape, users, flags.duration, &mut edits)?,
        (None, Some(rate)) => rate_edits(&shape, rate, flags.duration, &mut edits)?,
        (None, None) => {
            if let Some(d) = flags.duration {
                if let Some(stages) = shape.stages() {
                    return Err(duration_on_stages(d, &shape, stages));
                }
                edits
                    .overrides
                    .push(Override::from_flag("--duration", "load.duration", d));
            }
        }
    }
    Ok(edits)
}

/// What the flags need to know of the plan's load.
struct Shape<'a> {
    /// `arrival_rate` is set: the open model.
    open: bool,
    /// Closed-model stages, when there are any.
    user_stages: Option<&'a [Value]>,
    /// Open-model stages, when the rate is staged.
    rate_stages: Option<&'a [Value]>,
    /// `duration` is set.
    has_duration: bool,
}

impl<'a> Shape<'a> {
    fn of(load: &'a Value) -> Self {
        let set = |key: &str| load.get(key).is_some_and(|v| !v.is_null());
        let list = |v: Option<&'a Value>| {
            v.and_then(Value::as_array)
                .map(Vec::as_slice)
                .filter(|s| !s.is_empty())
        };
        Shape {
            open: set("arrival_rate"),
            user_stages: list(load.get("stages")),
            rate_stages: list(load.get("arrival_rate")),
            has_duration: set("duration"),
        }
    }

    /// The stages of either model.
    fn stages(&self) -> Option<&'a [Value]> {
        if self.open {
            self.rate_stages
        } else {
            self.user_stages
        }
    }
}

fn users_edits(
    shape: &Shape<'_>,
    users: u32,
    duration: Option<&str>,
    edits: &mut LoadEdits,
) -> Result<(), String> {
    let arg = users.to_string();
    if shape.open {
        return Err(format!(
            "--users {users}: this plan is an open model (`load.arrival_rate`), which starts \
             iterations at a rate and has no users; use `--rate R` (e.g. `--rate 50/s`) to \
             change its rate"
        ));
    }
    let set = |path: &str, value: &str| Override::for_flag("--users", &arg, path, value);
    match (shape.user_stages, duration) {
        (Some(_), Some(d)) => {
            edits.overrides.extend([
                Override::removal("--users", &arg, "load.stages"),
                set("load.users", &arg),
                Override::for_flag("--duration", d, "load.duration", d),
            ]);
            edits.notices.push(format!(
                "--users {users} --duration {d}: the plan's stages replaced by a constant \
                 {users} users for {d}"
            ));
        }
        (Some(stages), None) => {
            let targets: Vec<Option<u64>> = stages
                .iter()
                .map(|s| s.get("target").and_then(Value::as_u64))
                .collect();
            let peak = targets.iter().flatten().copied().max().unwrap_or(0);
            if peak == 0 {
                return Err(format!(
                    "--users {users}: the plan's stages never go above 0 users, so there is \
                     no peak to scale; use `--users {users} --duration D` for a constant load"
                ));
            }
            let mut scaled = Vec::new();
            for (i, target) in targets.iter().enumerate() {
                let Some(t) = *target else { continue };
                let new = scale_users(t, peak, users);
                scaled.push(new.to_string());
                edits
                    .overrides
                    .push(set(&format!("load.stages.{i}.target"), &new.to_string()));
            }
            edits.notices.push(format!(
                "--users {users}: stages scaled to a peak of {users} users (plan's peak \
                 {peak}; targets now {})",
                scaled.join(", ")
            ));
        }
        (None, _) => {
            edits.overrides.push(set("load.users", &arg));
            if let Some(d) = duration {
                edits
                    .overrides
                    .push(Override::from_flag("--duration", "load.duration", d));
            }
        }
    }
    Ok(())
}

/// A stage target scaled so that the plan's `peak` becomes `users`, to the nearest user;
/// a stage with users keeps at least one.
fn scale_users(target: u64, peak: u64, users: u32) -> u64 {
    let scaled = (target as f64 * f64::from(users) / peak as f64).round() as u64;
    if target >= 1 { scaled.max(1) } else { 0 }
}

fn rate_edits(
    shape: &Shape<'_>,
    rate: &Rate,
    duration: Option<&str>,
    edits: &mut LoadEdits,
) -> Result<(), String> {
    let arg = rate.to_string();
    let set = |path: &str, value: &str| Override::for_flag("--rate", &arg, path, value);
    let with_duration = |edits: &mut LoadEdits| {
        if let Some(d) = duration {
            edits
                .overrides
                .push(Override::for_flag("--duration", d, "load.duration", d));
        }
    };
    if !shape.open {
        return closed_to_open(shape, rate, duration, edits);
    }
    match (shape.rate_stages, duration) {
        (Some(_), Some(d)) => {
            edits.overrides.push(set("load.arrival_rate", &arg));
            with_duration(edits);
            edits.notices.push(format!(
                "--rate {arg} --duration {d}: the plan's arrival-rate stages replaced by a \
                 constant {arg} for {d}"
            ));
        }
        (Some(stages), None) => scale_rates(stages, rate, edits),
        (None, _) => {
            edits.overrides.push(set("load.arrival_rate", &arg));
            with_duration(edits);
        }
    }
    Ok(())
}

/// Open-model stages scaled to a peak of `rate`, each target kept in its own unit.
fn scale_rates(stages: &[Value], rate: &Rate, edits: &mut LoadEdits) {
    let arg = rate.to_string();
    let targets: Vec<Option<Rate>> = stages
        .iter()
        .map(|s| s.get("target")?.as_str()?.parse::<Rate>().ok())
        .collect();
    let Some(peak) = targets
        .iter()
        .flatten()
        .max_by(|a, b| a.get().total_cmp(&b.get()))
        .filter(|p| p.get() > 0.0)
        .cloned()
    else {
        // Nothing to scale from: a constant rate is what is asked for.
        edits.overrides.push(Override::for_flag(
            "--rate",
            &arg,
            "load.arrival_rate",
            &arg,
        ));
        return;
    };
    let factor = rate.get() / peak.get();
    let mut scaled = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        let Some(t) = target else { continue };
        let text = t.to_string();
        let (number, unit) = text.split_once('/').unwrap_or((&text, "s"));
        let number: f64 = number.trim().parse().unwrap_or(0.0);
        let new = format!("{}/{}", decimal(number * factor, number > 0.0), unit.trim());
        edits.overrides.push(Override::for_flag(
            "--rate",
            &arg,
            &format!("load.arrival_rate.{i}.target"),
            &new,
        ));
        scaled.push(new);
    }
    edits.notices.push(format!(
        "--rate {arg}: arrival-rate stages scaled to a peak of {arg} (plan's peak {peak}; \
         targets now {})",
        scaled.join(", ")
    ));
}

/// `--rate` on a closed plan: an open model at a constant rate, as asked. Its users,
/// spawn rate and stages go; `max_concurrency` is the default; the run lasts `--duration`,
/// the plan's own `duration`, or as long as its stages did.
fn closed_to_open(
    shape: &Shape<'_>,
    rate: &Rate,
    duration: Option<&str>,
    edits: &mut LoadEdits,
) -> Result<(), String> {
    let arg = rate.to_string();
    for key in ["users", "spawn_rate", "stages"] {
        edits
            .overrides
            .push(Override::removal("--rate", &arg, &format!("load.{key}")));
    }
    edits.overrides.push(Override::for_flag(
        "--rate",
        &arg,
        "load.arrival_rate",
        &arg,
    ));
    let length = match (duration, shape.user_stages) {
        (Some(d), _) => {
            edits
                .overrides
                .push(Override::for_flag("--duration", d, "load.duration", d));
            format!(" for {d}")
        }
        (None, Some(stages)) if !shape.has_duration => {
            let total = stages_length(stages).ok_or_else(|| {
                format!(
                    "--rate {arg}: the plan's stages have no readable length to run the \
                     constant rate for; add `--duration D`"
                )
            })?;
            let ms = format!("{}ms", total.as_millis());
            edits
                .overrides
                .push(Override::for_flag("--rate", &arg, "load.duration", &ms));
            format!(" for {} (the stages' length)", format_duration(total))
        }
        (None, _) => String::new(),
    };
    edits.notices.push(format!(
        "--rate {arg}: the plan's closed model (users) replaced by an open model at a \
         constant {arg}{length}, at most {} iterations in flight (the `max_concurrency` \
         default)",
        defaults::MAX_CONCURRENCY
    ));
    Ok(())
}

/// The total length of closed-model stages; `None` when one has no readable duration.
fn stages_length(stages: &[Value]) -> Option<Duration> {
    stages
        .iter()
        .map(|s| {
            s.get("duration")?
                .as_str()?
                .parse::<HumanDuration>()
                .ok()
                .map(|d| d.get())
        })
        .sum()
}

/// Why `--duration` alone does not apply to a staged plan, and what to write instead.
fn duration_on_stages(d: &str, shape: &Shape<'_>, stages: &[Value]) -> String {
    let (what, flag, path) = if shape.open {
        (
            "`load.arrival_rate` stages",
            "--rate R",
            "load.arrival_rate",
        )
    } else {
        ("`load.stages`", "--users N", "load.stages")
    };
    let length = stages_length(stages)
        .map(|t| format!(" ({} in all)", format_duration(t)))
        .unwrap_or_default();
    format!(
        "--duration {d}: this plan's load follows its {what}{length}, which decide how long \
         it runs; to run a constant load for {d} instead, add `{flag}` (`{flag} --duration \
         {d}` replaces the stages), or change the stages themselves (`--set \
         {path}.0.duration=…`)"
    )
}

/// A number with at most three decimals, trailing zeros trimmed; a positive number never
/// becomes 0.
fn decimal(v: f64, positive: bool) -> String {
    let v = if positive { v.max(0.001) } else { v };
    let text = format!("{v:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts(edits: &LoadEdits) -> Vec<String> {
        edits.overrides.iter().map(Override::text).collect()
    }

    #[test]
    fn users_scale_closed_stages_to_their_peak() {
        let load = json!({"stages": [
            {"target": 10, "duration": "1s"}, {"target": 3, "duration": "1s"},
            {"target": 1, "duration": "1s"}, {"target": 0, "duration": "1s"}]});
        let flags = LoadFlags {
            users: Some(4),
            ..Default::default()
        };
        let edits = edits(&load, &flags).unwrap();
        assert_eq!(
            texts(&edits),
            [
                "load.stages.0.target=4",
                "load.stages.1.target=1",
                "load.stages.2.target=1",
                "load.stages.3.target=0"
            ]
        );
        assert!(
            edits.notices[0].contains("plan's peak 10"),
            "{:?}",
            edits.notices
        );
    }

    #[test]
    fn rates_scale_open_stages_in_their_own_units() {
        let load = json!({"arrival_rate": [
            {"target": "20/s", "duration": "1s"}, {"target": "600/m", "duration": "1s"},
            {"target": "0/s", "duration": "1s"}]});
        let rate = rate_flag("5").unwrap();
        let flags = LoadFlags {
            rate: Some(&rate),
            ..Default::default()
        };
        assert_eq!(
            texts(&edits(&load, &flags).unwrap()),
            [
                "load.arrival_rate.0.target=5/s",
                "load.arrival_rate.1.target=150/m",
                "load.arrival_rate.2.target=0/s"
            ]
        );
    }

    #[test]
    fn a_rate_turns_a_closed_staged_plan_open_for_the_stages_length() {
        let load = json!({"stages": [{"target": 10, "duration": "1m"},
            {"target": 0, "duration": "30s"}], "think_time": "1s"});
        let rate = rate_flag("200/s").unwrap();
        let flags = LoadFlags {
            rate: Some(&rate),
            ..Default::default()
        };
        assert_eq!(
            texts(&edits(&load, &flags).unwrap()),
            [
                "remove load.users",
                "remove load.spawn_rate",
                "remove load.stages",
                "load.arrival_rate=200/s",
                "load.duration=90000ms"
            ]
        );
    }

    #[test]
    fn flags_that_do_not_fit_the_plan_are_refused() {
        let open = json!({"arrival_rate": "5/s", "duration": "1s"});
        let users = LoadFlags {
            users: Some(3),
            ..Default::default()
        };
        assert!(edits(&open, &users).unwrap_err().contains("--rate"));
        let staged = json!({"stages": [{"target": 2, "duration": "2s"}]});
        let duration = LoadFlags {
            duration: Some("1s"),
            ..Default::default()
        };
        let e = edits(&staged, &duration).unwrap_err();
        assert!(e.contains("(2s in all)") && e.contains("--users N"), "{e}");
        assert!(rate_flag("fast").is_err());
        assert_eq!(rate_flag("2.5").unwrap().get(), 2.5);
    }
}
