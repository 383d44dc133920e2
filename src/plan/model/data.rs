//! Data feeders: CSV files whose rows templates read as `data`.

use super::*;

/// A CSV file whose rows feed templates.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DataFeeder {
    /// The CSV file, relative to the plan file. Its first line names the columns.
    /// Example: `data/accounts.csv`.
    pub file: PathBuf,
    /// Which row a virtual user gets: `sequential` (next row each time, wrapping around),
    /// `random`, or `unique` (each user its own row, fixed for the whole run; the run
    /// cannot have more users than rows). Default `sequential`.
    #[serde(default)]
    pub order: FeederOrder,
}

/// Row order of a data feeder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FeederOrder {
    /// The next row each time, wrapping around.
    #[default]
    Sequential,
    /// A random row each time.
    Random,
    /// One row per virtual user, kept for the whole run.
    Unique,
}
