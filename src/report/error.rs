//! Why reports could not be made: every case is the tool's own failure (exit 3), reported
//! after the other files were tried; and why a saved summary cannot be read, which is bad
//! input (exit 2).

/// A report that could not be rendered or written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReportError {
    /// summary.json (or a value in it) does not serialize.
    #[error("cannot render summary.json: {0}")]
    Json(#[from] serde_json::Error),
    /// A CSV file does not render.
    #[error("cannot render the CSV files: {0}")]
    Csv(#[from] csv::Error),
    /// report.html does not render.
    #[error("cannot render report.html: {0}")]
    Html(#[from] minijinja::Error),
    /// junit.xml does not render.
    #[error("cannot render junit.xml: {0}")]
    Junit(#[from] quick_junit::SerializeError),
    /// Files that could not be written, each with its reason.
    #[error("{}", .0.join("; "))]
    Write(Vec<String>),
    /// `$GITHUB_STEP_SUMMARY` cannot be appended to.
    #[error("cannot append to $GITHUB_STEP_SUMMARY: {0}")]
    StepSummary(#[from] std::io::Error),
}

/// A saved summary that cannot be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SummaryError {
    /// Not JSON, or not a summary's shape (callers say which file is not a summary).
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// Written by a loadplan whose format this one does not read.
    #[error(
        "summary version `{found}` is not supported; this loadplan reads version {}",
        super::summary::SUMMARY_VERSION
    )]
    Version {
        /// The file's version.
        found: u32,
    },
}
