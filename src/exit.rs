//! Exit codes, the same for every command. When several apply, the most severe wins:
//! 2 > 3 > 130/143 > 1 > 0.

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Everything passed.
    Passed,
    /// The run happened and an SLA or health check failed.
    Failed,
    /// Interrupted by SIGTERM (reports still written).
    Terminated,
    /// Interrupted by Ctrl-C (reports still written).
    Interrupted,
    /// The tool itself failed (cannot bind, cannot write a report).
    ToolError,
    /// Invalid plan or command line.
    Invalid,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Passed => 0,
            Exit::Failed => 1,
            Exit::Invalid => 2,
            Exit::ToolError => 3,
            Exit::Interrupted => 130,
            Exit::Terminated => 143,
        }
    }

    /// The more severe of two outcomes.
    pub fn worst(self, other: Exit) -> Exit {
        self.max(other)
    }

    /// The exit code of an error that ended a command — the one place errors become codes.
    /// What the plan or a saved file got wrong, found only when it was used (a request or
    /// certificate that cannot be built, a summary that cannot be read), is invalid input;
    /// everything else (a report that cannot be written, a runtime that cannot start) is
    /// the tool's own failure.
    pub fn of_error(e: &anyhow::Error) -> Exit {
        use crate::engine::EngineError;
        use crate::health::HealthError;
        use crate::http::SettingsError;
        use crate::plan::schema::SchemaError;
        use crate::report::folder::FolderError;
        use crate::report::{ReportError, SummaryError};
        let of = |cause: &(dyn std::error::Error + 'static)| {
            if let Some(e) = cause.downcast_ref::<HealthError>() {
                Some(match e {
                    HealthError::Log(_) => Exit::ToolError,
                    HealthError::NotRunnable { .. } | HealthError::Http(_) => Exit::Invalid,
                })
            } else if let Some(e) = cause.downcast_ref::<EngineError>() {
                Some(match e {
                    EngineError::NoRow(_) => Exit::ToolError,
                    _ => Exit::Invalid,
                })
            } else if cause.is::<SettingsError>() || cause.is::<SummaryError>() {
                Some(Exit::Invalid)
            } else if cause.is::<ReportError>()
                || cause.is::<SchemaError>()
                || cause.is::<FolderError>()
            {
                Some(Exit::ToolError)
            } else {
                None
            }
        };
        e.chain().find_map(of).unwrap_or(Exit::ToolError)
    }
}

/// The exit-code table, for `--help` and the README.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes (the same for every command; when several apply, 2 > 3 > 130/143 > 1 > 0):
  0    passed (also: a shard, run --shard K/N, that ran: merge gives the verdict)
  1    ran, and an SLA or health check failed (also: any failed request without an
       error_rate assertion, no request succeeded, abort-on-fail, no user could log in,
       target never healthy; compare: a --fail-on figure regressed; merge: the merged
       run failed)
  2    invalid plan or command line (also: an unset environment variable a template needs;
       compare: an unreadable summary, runs of different plans; merge: summaries of
       different plans or shard counts, a shard twice or missing)
  3    the tool itself failed (cannot bind, cannot create, write or lock the results
       folder, cannot write a report)
  130  interrupted by Ctrl-C (reports still written)
  143  terminated by SIGTERM (reports still written)";

#[cfg(test)]
mod tests {
    use super::Exit::*;

    #[test]
    fn severity_order() {
        assert_eq!(Passed.worst(Failed), Failed);
        assert_eq!(Failed.worst(Interrupted), Interrupted);
        assert_eq!(Terminated.worst(Interrupted), Interrupted);
        assert_eq!(Interrupted.worst(ToolError), ToolError);
        assert_eq!(ToolError.worst(Invalid), Invalid);
    }

    #[test]
    fn errors_map_to_codes_by_type_through_context() {
        use anyhow::Context as _;
        let health: anyhow::Result<()> = Err(crate::health::HealthError::NotRunnable {
            policy: "ready".into(),
            message: "bad URL".into(),
        })
        .context("plan.yaml");
        let health = health.unwrap_err();
        assert_eq!(super::Exit::of_error(&health), Invalid);
        assert_eq!(
            format!("{health:#}"),
            "plan.yaml: health policy `ready`: bad URL"
        );
        let report = anyhow::Error::from(crate::report::ReportError::Write(vec!["disk".into()]));
        assert_eq!(super::Exit::of_error(&report), ToolError);
        let folder = anyhow::Error::from(crate::report::folder::FolderError::InUse {
            path: "results".into(),
            holder: "process 1".into(),
        });
        assert_eq!(super::Exit::of_error(&folder), ToolError);
        let summary = crate::report::Summary::from_json(r#"{"version": 99}"#).unwrap_err();
        assert_eq!(super::Exit::of_error(&summary.into()), Invalid);
        let engine = anyhow::Error::from(crate::engine::EngineError::HeaderName("a b".into()));
        assert_eq!(super::Exit::of_error(&engine), Invalid);
        let bug = anyhow::Error::from(crate::engine::EngineError::NoRow("x".into()));
        assert_eq!(super::Exit::of_error(&bug), ToolError);
        assert_eq!(
            super::Exit::of_error(&anyhow::anyhow!("runtime")),
            ToolError
        );
    }
}
