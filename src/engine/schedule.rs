//! Load shapes as pure functions of time: how many users a closed model wants at `t`, and
//! when the open model's iterations are due. Kept free of I/O so they are unit-tested.

use std::time::Duration;

/// Users wanted at `t`: each stage ramps linearly from the previous target (0 at first) to
/// its own over its duration; after the last stage the last target holds. A steady load
/// from `spawn_rate` is one stage that starts at one user.
pub(crate) fn users_at(stages: &[(u32, Duration)], from_one: bool, t: Duration) -> u32 {
    let mut start = Duration::ZERO;
    let mut previous = if from_one {
        1.0f64.min(stages.first().map_or(0.0, |s| f64::from(s.0)))
    } else {
        0.0
    };
    for &(target, length) in stages {
        let target = f64::from(target);
        if t < start.saturating_add(length) {
            let progress = t.saturating_sub(start).as_secs_f64() / length.as_secs_f64();
            return (previous + (target - previous) * progress).floor().max(0.0) as u32;
        }
        start = start.saturating_add(length);
        previous = target;
    }
    previous as u32
}

/// Total length of a list of stages.
pub(crate) fn stages_length<T>(stages: &[(T, Duration)]) -> Duration {
    stages.iter().map(|s| s.1).sum()
}

/// Arrivals due this late never come: the run's clock (an `Instant`, seconds in an `i64`)
/// could not be read that far, and no run lasts 35,000 years.
const NEVER: Duration = Duration::from_secs(1 << 40);

/// Due times of open-model iterations: the rate ramps linearly within each stage from the
/// previous rate (the first stage starts at its own target when its ramp is zero, i.e. a
/// constant rate; otherwise at 0), then holds the last rate.
#[derive(Debug, Clone)]
pub(crate) struct Arrivals {
    stages: Vec<(f64, Duration)>,
    next: u64,
}

impl Arrivals {
    /// Arrivals for rate stages (per second).
    pub(crate) fn new(stages: &[(f64, Duration)]) -> Self {
        Arrivals {
            stages: stages.to_vec(),
            next: 0,
        }
    }

    /// Walks the rate's ramps: `piece(start, length, rate at start, rate at end)` for each
    /// stage with a length, until it returns a value; otherwise the end of the last ramp and
    /// the rate held after it.
    fn walk<T>(
        &self,
        mut piece: impl FnMut(f64, f64, f64, f64) -> Option<T>,
    ) -> Result<T, (f64, f64)> {
        let mut t0 = 0.0f64;
        let mut r0 = match self.stages.first() {
            Some(&(r, d)) if d.is_zero() => r,
            _ => 0.0,
        };
        for &(r1, d) in &self.stages {
            let len = d.as_secs_f64();
            if len > 0.0 {
                if let Some(v) = piece(t0, len, r0, r1) {
                    return Ok(v);
                }
                t0 += len;
            }
            r0 = r1;
        }
        Err((t0, r0))
    }

    /// The planned rate (per second) at `t`, for the progress line.
    pub(crate) fn rate_at(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        self.walk(|t0, len, r0, r1| {
            (t < t0 + len).then(|| r0 + (r1 - r0) * ((t - t0) / len).max(0.0))
        })
        .unwrap_or_else(|(_, held)| held)
    }

    /// How many arrivals are due before `t`: arrival k is due when the integral of the rate
    /// reaches k, so this is the integral rounded up (less a rounding error's worth, so that
    /// an arrival due exactly at `t` is not counted).
    pub(crate) fn due_before(&self, t: Duration) -> u64 {
        let t = t.as_secs_f64();
        let mut area = 0.0f64;
        let walked = self.walk(|t0, len, r0, r1| -> Option<()> {
            let x = (t - t0).clamp(0.0, len);
            // The rate ramps from r0 to r1 over the stage: the area up to x is a trapezoid.
            area += r0 * x + (r1 - r0) / len * x * x / 2.0;
            None
        });
        if let Err((t0, r0)) = walked {
            area += r0 * (t - t0).max(0.0);
        }
        // `as` saturates: a rate high enough for the count to leave u64 is all of them.
        let n = (area - 1e-6).ceil().max(0.0) as u64;
        // Arrival 0 is due at the start, however small the rate.
        let first = self.time_of(0).is_some_and(|at| at.as_secs_f64() < t);
        n.max(u64::from(first))
    }

    /// Due time of the k-th arrival (0-based), or `None` if the rate is zero forever after.
    pub(crate) fn time_of(&self, k: u64) -> Option<Duration> {
        // Arrival k is due when the integral of the rate reaches k.
        let goal = k as f64;
        let mut done = 0.0f64;
        let walked = self.walk(|t0, len, r0, r1| {
            let area = (r0 + r1) / 2.0 * len;
            if done + area < goal {
                done += area;
                return None;
            }
            let need = goal - done;
            let slope = (r1 - r0) / len;
            // Solve r0·x + slope·x²/2 = need for x in [0, len].
            let x = if slope.abs() < 1e-12 {
                need / r0.max(1e-12)
            } else {
                (-r0 + (r0 * r0 + 2.0 * slope * need).max(0.0).sqrt()) / slope
            };
            Some(Duration::from_secs_f64(t0 + x.clamp(0.0, len)))
        });
        match walked {
            Ok(t) => Some(t),
            Err((_, r0)) if r0 <= 0.0 => None,
            // A rate small enough puts the next arrival past any clock: there is none.
            Err((t0, r0)) => Duration::try_from_secs_f64(t0 + (goal - done) / r0)
                .ok()
                .filter(|at| *at < NEVER),
        }
    }
}

impl Iterator for Arrivals {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let t = self.time_of(self.next)?;
        self.next = self.next.saturating_add(1);
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: f64) -> Duration {
        Duration::from_secs_f64(secs)
    }

    #[test]
    fn spawn_rate_ramp_starts_at_one_user() {
        // 5 users at 5/s: users start at 0, 0.2, 0.4, 0.6, 0.8 s (Locust's behaviour).
        let stages = [(5, s(0.8))];
        assert_eq!(users_at(&stages, true, s(0.0)), 1);
        assert_eq!(users_at(&stages, true, s(0.21)), 2);
        assert_eq!(users_at(&stages, true, s(0.79)), 4);
        assert_eq!(users_at(&stages, true, s(0.8)), 5);
        assert_eq!(users_at(&stages, true, s(100.0)), 5);
        assert_eq!(users_at(&[(5, Duration::ZERO)], true, s(0.0)), 5);
    }

    #[test]
    fn stages_ramp_up_and_down() {
        let stages = [(10, s(10.0)), (10, s(5.0)), (0, s(5.0))];
        assert_eq!(users_at(&stages, false, s(0.0)), 0);
        assert_eq!(users_at(&stages, false, s(5.0)), 5);
        assert_eq!(users_at(&stages, false, s(12.0)), 10);
        assert_eq!(users_at(&stages, false, s(17.5)), 5);
        assert_eq!(users_at(&stages, false, s(30.0)), 0);
        assert_eq!(stages_length(&stages), s(20.0));
    }

    #[test]
    fn constant_rate_is_evenly_spaced() {
        let a: Vec<Duration> = Arrivals::new(&[(4.0, Duration::ZERO)]).take(5).collect();
        assert_eq!(a, vec![s(0.0), s(0.25), s(0.5), s(0.75), s(1.0)]);
    }

    #[test]
    fn an_arrival_past_any_clock_is_none() {
        // Once per 10^300 seconds: the second arrival would overflow a Duration; once per
        // 10^19 seconds, the run's clock.
        let a = Arrivals::new(&[(1e-300, Duration::ZERO)]);
        assert_eq!(a.time_of(0), Some(Duration::ZERO));
        assert_eq!(a.time_of(1), None);
        assert_eq!(Arrivals::new(&[(1e-19, Duration::ZERO)]).time_of(1), None);
        assert_eq!(a.due_before(Duration::from_secs(1)), 1);
    }

    #[test]
    fn the_rate_ramps_then_holds() {
        let constant = Arrivals::new(&[(4.0, Duration::ZERO), (4.0, s(10.0))]);
        assert_eq!(constant.rate_at(s(0.0)), 4.0);
        assert_eq!(constant.rate_at(s(30.0)), 4.0);
        let ramp = Arrivals::new(&[(10.0, s(10.0)), (0.0, s(5.0))]);
        assert_eq!(ramp.rate_at(s(0.0)), 0.0);
        assert_eq!(ramp.rate_at(s(5.0)), 5.0);
        assert_eq!(ramp.rate_at(s(12.5)), 5.0);
        assert_eq!(ramp.rate_at(s(20.0)), 0.0);
    }

    #[test]
    fn ramped_rate_integrates() {
        // 0 → 10/s over 10 s is 50 arrivals; then 10/s.
        let a = Arrivals::new(&[(10.0, s(10.0))]);
        // The count due by t agrees with the due times, ramps included.
        for k in [1u64, 7, 49, 50, 51, 300] {
            let t = a.time_of(k).unwrap();
            assert_eq!(
                a.due_before(t + Duration::from_micros(1)),
                k + 1,
                "{k} at {t:?}"
            );
            assert_eq!(a.due_before(t), k, "{k} at {t:?}");
        }
        let t50 = a.time_of(50).unwrap().as_secs_f64();
        assert!((t50 - 10.0).abs() < 1e-9, "{t50}");
        let t60 = a.time_of(60).unwrap().as_secs_f64();
        assert!((t60 - 11.0).abs() < 1e-9, "{t60}");
        // Quarter of the way in time, a sixteenth... (x²): 5 s → 12.5 arrivals.
        assert!(a.time_of(12).unwrap() < s(5.0) && a.time_of(13).unwrap() > s(5.0));
        assert_eq!(
            Arrivals::new(&[(5.0, s(1.0)), (0.0, s(1.0))]).time_of(1000),
            None
        );
    }

    #[test]
    fn counts_match_the_rate_in_every_second() {
        let a: Vec<Duration> = Arrivals::new(&[(2000.0, Duration::ZERO)])
            .take_while(|t| *t < s(60.0))
            .collect();
        assert_eq!(a.len(), 120_000);
        for second in 0..60 {
            let n = a.iter().filter(|t| t.as_secs() == second).count();
            assert_eq!(n, 2000, "second {second}");
        }
    }
}
