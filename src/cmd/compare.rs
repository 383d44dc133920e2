//! `loadplan compare`: reads two saved runs, compares them and prints the comparison in the
//! chosen format; warnings also go to standard error, where a redirected report cannot
//! hide them.

use std::io::{IsTerminal, Write};

use crate::cli::{CompareArgs, CompareFormat};
use crate::compare::{self, Settings};
use crate::exit::Exit;

/// The command line's settings over the defaults.
fn settings(args: &CompareArgs) -> Settings {
    let defaults = Settings::default();
    Settings {
        threshold: args
            .threshold
            .as_ref()
            .map_or(defaults.threshold, |p| p.get()),
        noise_ms: args
            .noise
            .as_ref()
            .map_or(defaults.noise_ms, |d| d.get().as_secs_f64() * 1000.0),
        error_noise: args
            .error_noise
            .as_ref()
            .map_or(defaults.error_noise, |p| p.get()),
        fail_on: if args.fail_on.is_empty() {
            defaults.fail_on
        } else {
            args.fail_on.clone()
        },
        allow_plan_change: args.allow_plan_change,
    }
}

/// Runs `loadplan compare`: exit 0 without a gating regression, 1 with one, 2 for input
/// that cannot be compared.
pub(super) fn run(
    args: &CompareArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let comparison = compare::Run::read(&args.base)
        .and_then(|base| Ok((base, compare::Run::read(&args.new)?)))
        .and_then(|(base, new)| compare::compare(&base, &new, &settings(args)));
    let comparison = match comparison {
        Ok(c) => c,
        Err(e) => {
            writeln!(err, "error: {e}")?;
            return Ok(Exit::Invalid);
        }
    };
    let color = crate::report::terminal::use_color();
    // A terminal that shows the tables shows their warnings already.
    if !(args.format == CompareFormat::Terminal && std::io::stdout().is_terminal()) {
        for w in &comparison.warnings {
            writeln!(err, "warning: {w}")?;
        }
    }
    let text = match args.format {
        CompareFormat::Terminal => compare::terminal(&comparison, color),
        CompareFormat::Markdown => compare::markdown(&comparison),
        CompareFormat::Json => comparison.to_json(),
    };
    out.write_all(text.as_bytes())?;
    Ok(comparison.exit())
}
