//! The plan format exactly as a plan author writes it: serde + schemars types. The doc
//! comments here become the JSON Schema's descriptions (editor hover text) and
//! `docs/plan.md`, so they are written for plan authors, not Rust readers.
//!
//! These types hold what was written; `compile` turns them into what runs. No type here
//! uses `#[serde(flatten)]`: it would break `additionalProperties: false` in the schema.

use std::path::PathBuf;

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::units::{ByteSize, HumanDuration, Percent, Rate};

mod auth;
mod data;
mod health;
mod load;
mod outputs;
mod request;
mod sla;
mod target;

pub(crate) use auth::*;
pub(crate) use data::*;
pub(crate) use health::*;
pub(crate) use load::*;
pub(crate) use outputs::*;
pub(crate) use request::*;
pub(crate) use sla::*;
pub(crate) use target::*;

/// A loadplan plan: what to load-test or health-check, and what counts as a pass.
///
/// Start the file with `# yaml-language-server: $schema=<path to schema/plan.schema.json>`
/// so editors check it as you type.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "loadplan plan")]
pub(crate) struct Plan {
    /// Version of the plan format. Always `1`.
    pub version: PlanVersion,
    /// Short name of the plan, shown in reports. Example: `upstream-claims-api`.
    pub name: String,
    /// One or two sentences on what the plan tests, shown in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The system under test: base URL, default headers, timeouts, TLS.
    pub target: Target,
    /// Named values available to every template, by name or as `vars.NAME`.
    /// A list works with the `random` filter. Example: `payers: [Aetna, Cigna]`, used as
    /// `{{ payers | random }}`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub variables: IndexMap<String, serde_json::Value>,
    /// Data feeders: CSV files whose rows feed templates as `data.NAME.COLUMN`.
    /// Example: `accounts: { file: accounts.csv, order: unique }`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub data: IndexMap<String, DataFeeder>,
    /// How virtual users authenticate: a login request or basic auth, what to extract
    /// from the answer, how to send it, and when to refresh it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    /// The load shape: a closed model (`users`) or an open model (`arrival_rate`), and
    /// how long it runs.
    #[serde(default)]
    pub load: Load,
    /// The endpoints virtual users call, each picked in proportion to its `weight`.
    pub endpoints: Vec<Endpoint>,
    /// Service-level assertions: a violated one fails the run (exit code 1).
    ///
    /// Two rules hold whatever is declared here. Unless an assertion checks `error_rate`
    /// at the aggregate scope, the run carries the default gate `no request fails` (as
    /// Locust fails a run on any failed request): declare one to set your own tolerance,
    /// e.g. `{ metric: error_rate, at_most: 5% }`. And a run in which no request succeeded
    /// never passes, even with `error_rate at_most 100%`.
    ///
    /// A request that was answered 401, renewed its credentials and succeeded on retry
    /// counts once, as its retry. An assertion with no samples fails at the aggregate scope
    /// and for each endpoint it names in `endpoints`; with `each_endpoint`, endpoints
    /// without samples are skipped (and shown as skipped). `on_no_data` changes either.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sla: Vec<SlaAssertion>,
    /// Named health-check policies, run before the load (a gate), during it (probes), after
    /// it (verification), or alone with `loadplan health`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub health: IndexMap<String, HealthPolicy>,
    /// Which report files a run writes.
    #[serde(default)]
    pub outputs: Outputs,
}

/// The plan format's version number; only `1` exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct PlanVersion;

impl TryFrom<u32> for PlanVersion {
    type Error = String;
    fn try_from(v: u32) -> Result<Self, String> {
        if v == 1 {
            Ok(PlanVersion)
        } else {
            Err(format!(
                "plan version `{v}` is not supported; this loadplan reads version 1"
            ))
        }
    }
}

impl From<PlanVersion> for u32 {
    fn from(_: PlanVersion) -> u32 {
        1
    }
}

impl JsonSchema for PlanVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PlanVersion".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "const": 1, "description": "Version of the plan format. Always `1`." })
    }
}

/// A string, number or boolean; templates may appear in strings. Used where YAML authors
/// naturally write `page: 1` as well as `page: "{{ n }}"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Scalar {
    /// Text, possibly a template.
    Text(String),
    /// A whole number.
    Integer(i64),
    /// A decimal number.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
}

impl Scalar {
    /// The value as template source text.
    pub(crate) fn to_text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Integer(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

impl JsonSchema for Scalar {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Scalar".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["string", "number", "boolean"],
            "description": "A string (templates allowed), a number or a boolean.",
        })
    }
}
