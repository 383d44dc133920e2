//! `loadplan compare`: reads two saved runs, compares them and prints the comparison in the
//! chosen format; warnings also go to standard error, where a redirected report cannot
//! hide them. With `--plan`, the plan's relative assertions are judged on the new run
//! against the baseline, and they decide the exit code.

use std::io::{IsTerminal, Write};

use super::{load_plan, overrides};
use crate::cli::{CompareArgs, CompareFormat};
use crate::compare::{self, Comparison, Run, Settings};
use crate::exit::Exit;
use crate::sla::Operator;

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

/// Runs `loadplan compare`: exit 0 without a gating regression (or failed relative
/// assertion, with `--plan`), 1 with one, 2 for input that cannot be compared.
pub(super) fn run(
    args: &CompareArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let runs = Run::read(&args.base).and_then(|base| Ok((base, Run::read(&args.new)?)));
    let comparison = runs.and_then(|(base, new)| {
        let c = compare::compare(&base, &new, &settings(args))?;
        Ok((base, new, c))
    });
    let comparison = match comparison {
        Ok((base, new, mut c)) => {
            if let Some(file) = &args.plan_file
                && let Err(exit) = judge(file, args, (&base, &new), &mut c, err)?
            {
                return Ok(exit);
            }
            c
        }
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

/// `--plan`: its relative assertions judged on `new` against `base`, into `c`; an exit code
/// instead when the plan is invalid or has none.
fn judge(
    file: &std::path::Path,
    args: &CompareArgs,
    (base, new): (&Run, &Run),
    c: &mut Comparison,
    err: &mut dyn Write,
) -> anyhow::Result<Result<(), Exit>> {
    let plan = match load_plan(file, &overrides(&args.plan), err) {
        Ok(p) => p,
        Err(exit) => return Ok(Err(exit)),
    };
    let relative: Vec<_> = plan
        .sla
        .iter()
        .filter(|a| a.operator == Operator::RegressAtMost)
        .cloned()
        .collect();
    if relative.is_empty() {
        writeln!(
            err,
            "error: {}: no relative assertion to judge: add one to `sla`, e.g. `{{ metric: \
             p95, scope: each_endpoint, regress_at_most: 10% }}`, or compare without --plan",
            plan.meta.file
        )?;
        return Ok(Err(Exit::Invalid));
    }
    if plan.meta.sha256 != new.summary.plan.sha256 {
        c.warnings.push(format!(
            "{} is not the plan {} ran (sha256 {}…, theirs {}…): its assertions are judged on \
             the figures {} holds",
            plan.meta.file,
            new.file,
            crate::report::format::short_hash(&plan.meta.sha256),
            crate::report::format::short_hash(&new.summary.plan.sha256),
            new.file
        ));
    }
    match crate::merge::rejudge(new, &relative, Some(base)) {
        // Without an error-rate assertion the judge adds its default gate: not asked for here.
        Ok(verdicts) => {
            c.assertions = verdicts
                .into_iter()
                .filter(|v| v.operator == Operator::RegressAtMost)
                .collect();
        }
        Err(message) => {
            writeln!(err, "error: {message}")?;
            return Ok(Err(Exit::Invalid));
        }
    }
    Ok(Ok(()))
}
