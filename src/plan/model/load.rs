//! The load shape: users, arrival rates, stages, think time.

use super::*;

/// Wait after a task: `none`, a constant duration (`2s`), or one of `{ constant: 2s }`,
/// `{ between: [1s, 3s] }` (uniform), `{ pacing: 5s }` (each task takes at least this
/// long, wait included), `{ poisson: 2s }` (exponential waits of this mean).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum ThinkTime {
    /// `none`, or a constant duration such as `2s`.
    Text(ThinkText),
    /// A think-time rule.
    Rule(ThinkRule),
}

/// `none` or a duration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) enum ThinkText {
    /// No wait.
    None,
    /// A constant wait.
    Constant(HumanDuration),
}

impl TryFrom<String> for ThinkText {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s.trim() == "none" {
            Ok(ThinkText::None)
        } else {
            s.parse().map(ThinkText::Constant)
        }
    }
}

impl From<ThinkText> for String {
    fn from(t: ThinkText) -> String {
        match t {
            ThinkText::None => "none".into(),
            ThinkText::Constant(d) => d.to_string(),
        }
    }
}

impl JsonSchema for ThinkText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ThinkText".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let pattern = format!("^none$|{}", crate::plan::units::DURATION_PATTERN);
        json_schema!({
            "title": "think time",
            "type": "string",
            "pattern": pattern,
            "description": "`none`, or a constant wait such as `2s`.",
            "examples": ["none", "2s"],
        })
    }
}

/// A think-time rule; give exactly one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum ThinkRule {
    /// The same wait every time. Example: `{ constant: 2s }`.
    Constant(HumanDuration),
    /// A uniformly random wait between two durations. Example: `{ between: [1s, 3s] }`.
    Between([HumanDuration; 2]),
    /// Constant pacing: each task plus its wait takes this long (no wait if the task took
    /// longer). Example: `{ pacing: 5s }`.
    Pacing(HumanDuration),
    /// Exponentially distributed waits with this mean (Poisson arrivals per user).
    /// Example: `{ poisson: 2s }`.
    Poisson(HumanDuration),
}

/// The load shape.
///
/// Closed model: `users` virtual users (started at `spawn_rate`, or along `stages`), each
/// looping over endpoints with `think_time` between tasks. Open model: `arrival_rate`
/// iterations start per second whatever the answers' speed, up to `max_concurrency` at once.
/// The run ends after `duration` (ramp-up included) or after `iterations` tasks in total.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Load {
    /// Closed model: number of virtual users. Default `1`. Example: `50`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
    /// Closed model: how fast users start. Default: all at once. Example: `5/s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spawn_rate: Option<Rate>,
    /// Closed model: ramp the number of users linearly to each stage's `target` over its
    /// `duration`. Example: `[{ target: 20, duration: 1m }, { target: 0, duration: 30s }]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<UserStage>,
    /// Wait after each task (closed model). Default `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_time: Option<ThinkTime>,
    /// Open model: iterations started per unit of time, constant (`50/s`) or staged
    /// (`[{ target: 10/s, duration: 30s }, { target: 100/s, duration: 1m }]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival_rate: Option<ArrivalRate>,
    /// Open model: most iterations in flight at once. An iteration due when this many are
    /// running is dropped (counted, never delayed). Default `1000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    /// How long the load runs, ramp-up included. Example: `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<HumanDuration>,
    /// Stop after this many tasks in total, instead of (or before) `duration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u64>,
    /// Time in-flight tasks get to finish once the load stops. Default `10s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graceful_stop: Option<HumanDuration>,
    /// Seed for every random choice (endpoint picks, think times, `random`), for repeatable
    /// runs. Default: a new seed each run, printed in the summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// A closed-model stage: ramp to `target` users over `duration`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserStage {
    /// Number of users at the end of the stage. Example: `20`.
    pub target: u32,
    /// Length of the stage. Example: `1m`.
    pub duration: HumanDuration,
}

/// An open-model arrival rate: constant or staged.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum ArrivalRate {
    /// A constant rate. Example: `50/s`.
    Constant(Rate),
    /// Ramp the rate linearly to each stage's `target` over its `duration`.
    Stages(Vec<RateStage>),
}

/// An open-model stage: ramp to `target` over `duration`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateStage {
    /// Arrival rate at the end of the stage. Example: `100/s`.
    pub target: Rate,
    /// Length of the stage. Example: `1m`.
    pub duration: HumanDuration,
}
