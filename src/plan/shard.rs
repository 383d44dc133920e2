//! One plan as N processes: shard K of N runs its share of the load, so a scheduler that
//! knows nothing of loadplan (a Kubernetes Indexed Job, a CI matrix) can run the shards and
//! `loadplan merge` can judge them as one run. Counts (users, stage targets, iterations,
//! the open model's concurrency cap) split as integers with the remainder going to the
//! lowest shards, so the shares add up to the plan exactly; rates split evenly. User ids
//! stay global: shard K's users are numbered after those of shards 1…K−1, so `user_id` and
//! `unique` feeder rows never collide across shards.

use std::fmt;
use std::str::FromStr;

use super::CompiledPlan;
use super::compile::{LoadModel, LoadShape};

/// Shard `index` of `count`, 1-based: `2/4` is the second of four.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    /// Which shard, 1 ≤ index ≤ count.
    pub index: u32,
    /// How many shards the plan runs as.
    pub count: u32,
}

impl Shard {
    /// Shard `index` of `count`, or why that is no shard.
    pub(crate) fn new(index: u32, count: u32) -> Result<Self, String> {
        if count == 0 {
            return Err("a plan runs as at least 1 shard".into());
        }
        if index == 0 || index > count {
            return Err(format!(
                "shard {index} of {count} does not exist: shards are numbered 1 to {count}"
            ));
        }
        Ok(Shard { index, count })
    }

    /// Shard `JOB_COMPLETION_INDEX + 1` of `count`: Kubernetes numbers an Indexed Job's
    /// pods from 0.
    pub(crate) fn from_job_index(value: Option<&str>, count: u32) -> Result<Self, String> {
        let value = value.ok_or(
            "--shard-index-from-env reads JOB_COMPLETION_INDEX, which is not set (Kubernetes \
             sets it in the pods of an Indexed Job)",
        )?;
        let index: u32 = value.trim().parse().map_err(|_| {
            format!("JOB_COMPLETION_INDEX is `{value}`, not a pod index (0, 1, 2, …)")
        })?;
        Shard::new(index.saturating_add(1), count)
    }

    /// This shard's share of `total`: `total / count`, plus one of the remainder for the
    /// lowest shards.
    pub(crate) fn share(self, total: u64) -> u64 {
        let (n, k) = (u64::from(self.count), u64::from(self.index));
        total / n + u64::from(k <= total % n)
    }

    /// How many of the first `total` ids shards 1…K−1 take: where this shard's ids start.
    fn ids_before(self, total: u64) -> u64 {
        (1..self.index)
            .map(|k| Shard { index: k, ..self }.share(total))
            .sum()
    }
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not K/N (for example `2/4`: shard 2 of 4)"))?;
        let number = |t: &str| {
            t.trim()
                .parse::<u32>()
                .map_err(|_| format!("`{s}` is not K/N (for example `2/4`: shard 2 of 4)"))
        };
        Shard::new(number(k)?, number(n)?)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a shard changes in how the engine numbers users and seeds its random streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShardRun {
    /// Which shard.
    pub shard: Shard,
    /// Closed model: the users of lower shards, added to this shard's user ids.
    pub first_user: u64,
}

impl ShardRun {
    /// The id of this shard's `local`-th user (1-based): after the lower shards' users in
    /// the closed model; interleaved with the other shards' in the open model, whose
    /// iterations have no total to number after.
    pub(crate) fn user_id(self, local: u64, open: bool) -> u64 {
        if open {
            local
                .saturating_sub(1)
                .saturating_mul(u64::from(self.shard.count))
                .saturating_add(u64::from(self.shard.index))
        } else {
            local.saturating_add(self.first_user)
        }
    }

    /// The seed of this shard's random streams: derived from the run's seed and the shard,
    /// so shards of one seeded run differ from each other and repeat run after run.
    pub(crate) fn seed(self, seed: u64) -> u64 {
        // splitmix64's finalizer: neighbouring shard numbers give unrelated seeds.
        let mut z = seed ^ u64::from(self.shard.index).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl CompiledPlan {
    /// This plan as shard `shard` runs it: its share of the load, its users numbered after
    /// the lower shards'.
    pub(crate) fn into_shard(mut self, shard: Shard) -> Self {
        let (load, run) = split(&self.load, shard);
        self.load = load;
        self.shard = Some(run);
        self
    }
}

/// `load` split for `shard`, and how the shard numbers its users.
pub(crate) fn split(load: &LoadShape, shard: Shard) -> (LoadShape, ShardRun) {
    let share = |n: u32| u32::try_from(shard.share(u64::from(n))).unwrap_or(n);
    let model = match &load.model {
        LoadModel::Closed {
            stages,
            from_one,
            think,
        } => LoadModel::Closed {
            stages: stages.iter().map(|(n, d)| (share(*n), *d)).collect(),
            from_one: *from_one,
            think: *think,
        },
        LoadModel::Open {
            stages,
            max_concurrency,
        } => LoadModel::Open {
            stages: stages
                .iter()
                .map(|(r, d)| (r / f64::from(shard.count), *d))
                .collect(),
            // At least one: a shard with a rate and no room for an iteration would drop all.
            max_concurrency: share(*max_concurrency).max(1),
        },
    };
    let run = ShardRun {
        shard,
        first_user: shard.ids_before(load.max_users()),
    };
    let split = LoadShape {
        model,
        iterations: load.iterations.map(|n| shard.share(n)),
        ..load.clone()
    };
    (split, run)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;
    use crate::plan::compile::Think;

    fn closed(stages: Vec<(u32, Duration)>, iterations: Option<u64>) -> LoadShape {
        LoadShape {
            model: LoadModel::Closed {
                stages,
                from_one: false,
                think: Think::None,
            },
            duration: None,
            iterations,
            graceful_stop: Duration::from_secs(10),
            seed: None,
        }
    }

    fn shards(count: u32) -> impl Iterator<Item = Shard> {
        (1..=count).map(move |index| Shard { index, count })
    }

    #[test]
    fn shard_ids_read_as_k_of_n_and_from_a_job_index() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        assert!(
            "0/4"
                .parse::<Shard>()
                .unwrap_err()
                .contains("numbered 1 to 4")
        );
        assert!("5/4".parse::<Shard>().is_err());
        assert!("2-4".parse::<Shard>().unwrap_err().contains("K/N"));
        assert!("1/0".parse::<Shard>().is_err());
        assert_eq!(
            Shard::from_job_index(Some("0"), 3),
            Ok(Shard { index: 1, count: 3 })
        );
        assert!(Shard::from_job_index(Some("3"), 3).is_err());
        assert!(
            Shard::from_job_index(None, 3)
                .unwrap_err()
                .contains("JOB_COMPLETION_INDEX")
        );
        assert!(Shard::from_job_index(Some("x"), 3).is_err());
    }

    #[test]
    fn remainders_go_to_the_lowest_shards() {
        let shares: Vec<u64> = shards(4).map(|s| s.share(10)).collect();
        assert_eq!(shares, [3, 3, 2, 2]);
        let load = closed(vec![(10, Duration::ZERO)], None);
        let firsts: Vec<u64> = shards(4).map(|s| split(&load, s).1.first_user).collect();
        assert_eq!(firsts, [0, 3, 6, 8]);
    }

    #[test]
    fn open_model_ids_interleave_and_seeds_differ_by_shard() {
        let load = LoadShape {
            model: LoadModel::Open {
                stages: vec![(100.0, Duration::ZERO)],
                max_concurrency: 10,
            },
            ..closed(Vec::new(), None)
        };
        let runs: Vec<ShardRun> = shards(3).map(|s| split(&load, s).1).collect();
        let ids: Vec<u64> = runs
            .iter()
            .flat_map(|r| (1..=4).map(|local| r.user_id(local, true)))
            .collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=12).collect::<Vec<_>>());
        assert_ne!(runs[0].seed(7), runs[1].seed(7));
        assert_eq!(runs[0].seed(7), runs[0].seed(7));
        let (share, _) = split(&load, Shard { index: 2, count: 3 });
        let LoadModel::Open {
            stages,
            max_concurrency,
        } = share.model
        else {
            panic!("open");
        };
        assert_eq!((stages[0].0 * 3.0, max_concurrency), (100.0, 3));
    }

    proptest! {
        /// Whatever the plan and N, the shares add up to the plan: every stage's users and the
        /// iteration total, and the users' ids cover 1…max exactly once.
        #[test]
        fn shares_add_up_to_the_plan(
            targets in proptest::collection::vec(0u32..500, 1..5),
            iterations in proptest::option::of(0u64..100_000),
            count in 1u32..17,
        ) {
            let load = closed(
                targets.iter().map(|t| (*t, Duration::from_secs(1))).collect(),
                iterations,
            );
            let parts: Vec<(LoadShape, ShardRun)> = shards(count).map(|s| split(&load, s)).collect();
            for (i, t) in targets.iter().enumerate() {
                let sum: u32 = parts
                    .iter()
                    .map(|(p, _)| match &p.model {
                        LoadModel::Closed { stages, .. } => stages[i].0,
                        LoadModel::Open { .. } => 0,
                    })
                    .sum();
                prop_assert_eq!(sum, *t);
            }
            let total: Option<u64> = parts.iter().map(|(p, _)| p.iterations).sum();
            prop_assert_eq!(total, iterations);
            let mut ids: Vec<u64> = parts
                .iter()
                .flat_map(|(p, r)| (1..=p.max_users_or_zero()).map(|local| r.user_id(local, false)))
                .collect();
            ids.sort_unstable();
            let max = u64::from(*targets.iter().max().unwrap_or(&0));
            prop_assert_eq!(ids, (1..=max).collect::<Vec<_>>());
        }
    }

    impl LoadShape {
        fn max_users_or_zero(&self) -> u64 {
            match &self.model {
                LoadModel::Closed { stages, .. } => {
                    stages.iter().map(|s| u64::from(s.0)).max().unwrap_or(0)
                }
                LoadModel::Open { .. } => 0,
            }
        }
    }
}
