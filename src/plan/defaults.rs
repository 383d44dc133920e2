//! What a plan gets for a setting it leaves out: one constant per default, applied by
//! `compile`. The plan types' doc comments (the schema's descriptions, `docs/plan.md`) say
//! the same values in words; a test reads the generated schema and fails when the two
//! disagree, so neither can change alone.

use std::time::Duration;

/// `target.timeout`.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);
/// `target.max_body`: 10 MiB.
pub(crate) const MAX_BODY: u64 = 10 << 20;
/// `target.max_redirects`.
pub(crate) const MAX_REDIRECTS: u32 = 10;
/// `load.users` of a closed model that names neither users nor stages.
pub(crate) const USERS: u32 = 1;
/// `load.max_concurrency` of an open model.
pub(crate) const MAX_CONCURRENCY: u32 = 1000;
/// `load.graceful_stop`.
pub(crate) const GRACEFUL_STOP: Duration = Duration::from_secs(10);
/// A health policy's `timeout` (per try).
pub(crate) const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);
/// A health policy's `interval`.
pub(crate) const HEALTH_INTERVAL: Duration = Duration::from_secs(2);
/// A health policy's `retries`.
pub(crate) const HEALTH_RETRIES: u32 = 3;
/// A health policy's `success_threshold`.
pub(crate) const SUCCESS_THRESHOLD: u32 = 1;
/// A health policy's `failure_threshold`.
pub(crate) const FAILURE_THRESHOLD: u32 = 3;
/// `backoff.factor` of an exponential backoff.
pub(crate) const BACKOFF_FACTOR: f64 = 2.0;
/// `backoff.max`.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;

    /// The description of the property at `path` (definition, property) in the plan schema.
    fn description(schema: &serde_json::Value, definition: &str, property: &str) -> String {
        schema["definitions"][definition]["properties"][property]["description"]
            .as_str()
            .unwrap_or_else(|| panic!("no description for {definition}.{property}"))
            .to_owned()
    }

    #[test]
    fn the_schema_states_every_default_the_compiler_applies() {
        let schema: serde_json::Value =
            serde_json::from_str(crate::plan::schema::PLAN_SCHEMA).unwrap();
        let secs = |d: Duration| format!("{}s", d.as_secs());
        let cases = [
            ("Target", "timeout", secs(TIMEOUT)),
            ("Target", "max_body", format!("{}MiB", MAX_BODY >> 20)),
            ("Target", "max_redirects", MAX_REDIRECTS.to_string()),
            ("Load", "users", USERS.to_string()),
            ("Load", "max_concurrency", MAX_CONCURRENCY.to_string()),
            ("Load", "graceful_stop", secs(GRACEFUL_STOP)),
            ("HealthPolicy", "timeout", secs(HEALTH_TIMEOUT)),
            ("HealthPolicy", "interval", secs(HEALTH_INTERVAL)),
            ("HealthPolicy", "retries", HEALTH_RETRIES.to_string()),
            (
                "HealthPolicy",
                "success_threshold",
                SUCCESS_THRESHOLD.to_string(),
            ),
            (
                "HealthPolicy",
                "failure_threshold",
                FAILURE_THRESHOLD.to_string(),
            ),
            ("Backoff", "factor", format!("{BACKOFF_FACTOR}")),
            ("Backoff", "max", secs(BACKOFF_MAX)),
        ];
        for (definition, property, value) in cases {
            let text = description(&schema, definition, property);
            assert!(
                text.contains(&format!("Default `{value}`")),
                "{definition}.{property} says {text:?}, the compiler applies {value}"
            );
        }
    }
}
