//! The reports a run writes: the report stage's settings, which a plan's `outputs` section
//! holds and every summary carries, so `loadplan report` writes the same files again.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Report files written by a run, in `--out DIR`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Outputs {
    /// Formats to write: `json` (summary.json), `csv` (Locust-compatible CSVs; their
    /// percentiles are whole milliseconds from loadplan's HDR histograms, where Locust
    /// rounds response times to about 2 significant digits first), `junit`
    /// (junit.xml), `html` (report.html), `markdown` (summary.md), `ndjson` (metrics.ndjson,
    /// written live). Default `[json]`.
    #[serde(default = "default_formats")]
    pub formats: Vec<OutputFormat>,
    /// Prefix of the CSV files: `PREFIX_stats.csv` and so on. Default: none (`stats.csv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv_prefix: Option<String>,
    /// Every row in `stats_history.csv`, each second, as Locust's `--csv-full-history`
    /// writes them; by default only the `Aggregated` rows, as Locust does. Default `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub csv_full_history: bool,
}

impl Default for Outputs {
    fn default() -> Self {
        Outputs {
            formats: default_formats(),
            csv_prefix: None,
            csv_full_history: false,
        }
    }
}

fn default_formats() -> Vec<OutputFormat> {
    vec![OutputFormat::Json]
}

/// A report format.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OutputFormat {
    /// summary.json
    Json,
    /// Locust-compatible stats.csv, stats_history.csv, failures.csv, exceptions.csv
    Csv,
    /// junit.xml
    Junit,
    /// report.html
    Html,
    /// summary.md
    Markdown,
    /// metrics.ndjson
    Ndjson,
}
