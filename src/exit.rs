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
}

/// The exit-code table, for `--help` and the README.
pub const EXIT_CODES_HELP: &str = "\
Exit codes (the same for every command; when several apply, 2 > 3 > 130/143 > 1 > 0):
  0    passed
  1    ran, and an SLA or health check failed (also: any failed request without an
       error_rate assertion, no request succeeded, abort-on-fail, no user could log in,
       target never healthy; compare: a --fail-on figure regressed)
  2    invalid plan or command line (also: an unset environment variable a template needs;
       compare: an unreadable summary, runs of different plans)
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
}
