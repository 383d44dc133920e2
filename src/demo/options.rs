//! The demo server's knobs: `DemoOptions` is both the `loadplan demo` flags (clap derive, doc
//! comments are the help text) and the in-process configuration. Durations are parsed from
//! the CLI's units here so the server only ever sees `Duration`s; fractional seconds are
//! accepted, which lets tests use sub-second TTLs without a fake clock.

use std::str::FromStr;
use std::time::Duration;

/// A `--slow`, `--stall`, `--reset`, `--bad-json`, `--latency`, `--error-rate` or duration
/// value that does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DemoOptionError {
    /// `--slow` without `=` or with a bad millisecond count.
    #[error("`{0}` is not PATH=MS (for example `/api/v1/dashboard/=250`)")]
    Slow(String),
    /// A path that does not start with `/`.
    #[error("path `{0}` must start with `/` (it is matched against the request path exactly)")]
    Path(String),
    /// A millisecond count that is not a non-negative integer.
    #[error("`{0}` is not a whole number of milliseconds")]
    Millis(String),
    /// A second count that is not a non-negative number.
    #[error("`{0}` is not a number of seconds")]
    Seconds(String),
    /// An error rate outside 0.0–1.0.
    #[error("`{0}` is not a rate between 0.0 and 1.0")]
    Rate(String),
}

/// Extra latency for one request path: `--slow PATH=MS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowPath {
    /// The request path, matched exactly (query string excluded), e.g. `/api/v1/dashboard/`.
    pub path: String,
    /// Added on top of `--latency`.
    pub delay: Duration,
}

impl FromStr for SlowPath {
    type Err = DemoOptionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Split at the last `=` so a path that itself contains `=` still works.
        let (path, ms) = s
            .rsplit_once('=')
            .ok_or_else(|| DemoOptionError::Slow(s.to_owned()))?;
        let path = parse_path(path)?;
        let delay = parse_millis(ms).map_err(|_| DemoOptionError::Slow(s.to_owned()))?;
        Ok(SlowPath { path, delay })
    }
}

/// How the embedded demo API behaves: latency, injected faults, token lifetime, health.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct DemoOptions {
    /// Port to listen on, on 127.0.0.1 only; 0 picks a free port.
    #[arg(long, value_name = "PORT", default_value_t = 8000)]
    pub port: u16,

    /// Latency added to every response, in milliseconds.
    #[arg(long, value_name = "MS", default_value = "0", value_parser = parse_millis)]
    pub latency: Duration,

    /// Extra latency for one request path, matched exactly (e.g.
    /// `/api/v1/dashboard/=250`); repeatable.
    #[arg(long, value_name = "PATH=MS")]
    pub slow: Vec<SlowPath>,

    /// Fraction (0.0–1.0) of authenticated requests to protected routes answered
    /// 500 `{"detail":"injected error"}`, spread evenly over the request sequence.
    #[arg(long, value_name = "R", default_value_t = 0.0, value_parser = parse_rate)]
    pub error_rate: f64,

    /// Access-token lifetime in seconds (the JWT's `exp`; fractions allowed, for tests).
    #[arg(long, value_name = "S", default_value = "300", value_parser = parse_seconds)]
    pub token_ttl: Duration,

    /// Token answers also carry `expires_in` (the access token's lifetime in seconds), as
    /// some deployments add; simplejwt itself answers only `{"access", "refresh"}`.
    #[arg(long)]
    pub expires_in: bool,

    /// The health route answers 503 `{"status":"starting"}` for this many seconds after
    /// start (fractions allowed).
    #[arg(long, value_name = "S", default_value = "0", value_parser = parse_seconds)]
    pub unhealthy_for: Duration,

    /// Requests to this exact path never get an answer (until the server stops); for
    /// testing client timeouts. Repeatable.
    #[arg(long, value_name = "PATH", value_parser = parse_path)]
    pub stall: Vec<String>,

    /// Requests to this exact path get their connection closed without a complete answer.
    /// Repeatable.
    #[arg(long, value_name = "PATH", value_parser = parse_path)]
    pub reset: Vec<String>,

    /// Requests to this exact path get 200 with `Content-Type: application/json` and a body
    /// that is not valid JSON. Repeatable.
    #[arg(long, value_name = "PATH", value_parser = parse_path)]
    pub bad_json: Vec<String>,

    /// The version the health route reports.
    #[arg(long, value_name = "V", default_value = "1.4.2")]
    pub version: String,

    /// The `status` field of the health route's 200 answer (e.g. `degraded`, to test a
    /// health policy's JSON condition).
    #[arg(long, value_name = "S", default_value = "ok")]
    pub health_status: String,
}

impl Default for DemoOptions {
    /// The same values as the CLI defaults (a unit test holds them together).
    fn default() -> Self {
        DemoOptions {
            port: 8000,
            latency: Duration::ZERO,
            slow: Vec::new(),
            error_rate: 0.0,
            token_ttl: Duration::from_secs(300),
            expires_in: false,
            unhealthy_for: Duration::ZERO,
            stall: Vec::new(),
            reset: Vec::new(),
            bad_json: Vec::new(),
            version: "1.4.2".to_owned(),
            health_status: "ok".to_owned(),
        }
    }
}

fn parse_path(s: &str) -> Result<String, DemoOptionError> {
    if s.starts_with('/') {
        Ok(s.to_owned())
    } else {
        Err(DemoOptionError::Path(s.to_owned()))
    }
}

fn parse_millis(s: &str) -> Result<Duration, DemoOptionError> {
    s.trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| DemoOptionError::Millis(s.to_owned()))
}

fn parse_seconds(s: &str) -> Result<Duration, DemoOptionError> {
    s.trim()
        .parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| DemoOptionError::Seconds(s.to_owned()))
}

fn parse_rate(s: &str) -> Result<f64, DemoOptionError> {
    match s.trim().parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(DemoOptionError::Rate(s.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser, Subcommand};

    /// Mirrors how the CLI embeds the options, including a top-level `--version` flag, to
    /// prove the demo's own `--version V` does not clash with it.
    #[derive(Debug, Parser)]
    #[command(name = "loadplan", version)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Debug, Subcommand)]
    enum Command {
        Demo(DemoOptions),
    }

    fn parse(args: &[&str]) -> Result<DemoOptions, clap::Error> {
        let argv = ["loadplan", "demo"].iter().chain(args);
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::Demo(opts) => opts,
        })
    }

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_match_the_cli() {
        assert_eq!(parse(&[]).expect("no flags parse"), DemoOptions::default());
    }

    #[test]
    fn every_flag_parses() {
        let opts = parse(&[
            "--port=0",
            "--latency=5",
            "--slow=/api/v1/dashboard/=250",
            "--slow",
            "/api/v1/uploads/=1",
            "--error-rate=0.25",
            "--token-ttl=0.05",
            "--expires-in",
            "--unhealthy-for=2",
            "--stall=/api/v1/reports/",
            "--reset=/api/v1/uploads/",
            "--bad-json=/api/v1/dashboard/",
            "--version=2.0.0",
            "--health-status=degraded",
        ])
        .expect("valid flags parse");
        assert_eq!(opts.port, 0);
        assert_eq!(opts.latency, Duration::from_millis(5));
        assert_eq!(
            opts.slow,
            vec![
                SlowPath {
                    path: "/api/v1/dashboard/".into(),
                    delay: Duration::from_millis(250)
                },
                SlowPath {
                    path: "/api/v1/uploads/".into(),
                    delay: Duration::from_millis(1)
                },
            ]
        );
        assert_eq!(opts.error_rate, 0.25);
        assert_eq!(opts.token_ttl, Duration::from_millis(50));
        assert!(opts.expires_in);
        assert_eq!(opts.unhealthy_for, Duration::from_secs(2));
        assert_eq!(opts.stall, vec!["/api/v1/reports/".to_owned()]);
        assert_eq!(opts.reset, vec!["/api/v1/uploads/".to_owned()]);
        assert_eq!(opts.bad_json, vec!["/api/v1/dashboard/".to_owned()]);
        assert_eq!(opts.version, "2.0.0");
        assert_eq!(opts.health_status, "degraded");
    }

    #[test]
    fn bad_values_are_refused() {
        for args in [
            &["--error-rate=1.5"][..],
            &["--error-rate=-0.1"],
            &["--slow=/x"],
            &["--slow=x=5"],
            &["--slow=/x=fast"],
            &["--stall=api/v1/health/"],
            &["--token-ttl=-1"],
            &["--token-ttl=soon"],
            &["--latency=1.5"],
        ] {
            assert!(parse(args).is_err(), "{args:?} should be refused");
        }
    }

    #[test]
    fn error_messages_name_the_value() {
        assert_eq!(
            "x".parse::<SlowPath>().map_err(|e| e.to_string()),
            Err("`x` is not PATH=MS (for example `/api/v1/dashboard/=250`)".to_owned())
        );
        assert_eq!(
            parse_rate("2").map_err(|e| e.to_string()),
            Err("`2` is not a rate between 0.0 and 1.0".to_owned())
        );
    }
}
