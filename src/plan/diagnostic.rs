//! A plan problem with its place: a JSON pointer into the plan, the `line:col` in the file,
//! a message and a hint on how to fix it. Every stage that checks a plan (YAML syntax,
//! schema, meaning) produces these; rendering to human, GitHub or JSON text lives here too.

use std::fmt::Write as _;

use serde::Serialize;

/// One problem in a plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file, as given on the command line.
    pub file: String,
    /// JSON pointer of the offending node (`/endpoints/3/weight`); empty for the whole file.
    pub pointer: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong, lowercase, user values in backticks.
    pub message: String,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Output style of `validate` and of plan errors in every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DiagnosticFormat {
    /// `file:line:col: message` and an indented `hint:` line.
    #[default]
    Human,
    /// `::error file=…,line=…,col=…::message` lines for GitHub pull-request annotations.
    Github,
    /// A JSON list of `{file, pointer, line, col, message, hint}`.
    Json,
}

/// Renders diagnostics in one format.
pub fn render(diagnostics: &[Diagnostic], format: DiagnosticFormat) -> String {
    let mut out = String::new();
    match format {
        DiagnosticFormat::Human => {
            for d in diagnostics {
                let _ = writeln!(out, "{}:{}:{}: {}", d.file, d.line, d.col, d.message);
                if let Some(hint) = &d.hint {
                    let _ = writeln!(out, "  hint: {hint}");
                }
            }
        }
        DiagnosticFormat::Github => {
            for d in diagnostics {
                let mut message = d.message.clone();
                if let Some(hint) = &d.hint {
                    message.push_str(" (hint: ");
                    message.push_str(hint);
                    message.push(')');
                }
                let _ = writeln!(
                    out,
                    "::error file={},line={},col={}::{}",
                    github_escape_property(&d.file),
                    d.line,
                    d.col,
                    github_escape_data(&message)
                );
            }
        }
        DiagnosticFormat::Json => {
            out = serde_json::to_string_pretty(diagnostics).unwrap_or_else(|_| "[]".into());
            out.push('\n');
        }
    }
    out
}

// GitHub workflow commands need these escapes, or a `%` or newline in a message corrupts
// the annotation.
fn github_escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn github_escape_property(s: &str) -> String {
    github_escape_data(s)
        .replace(':', "%3A")
        .replace(',', "%2C")
}

/// Sorts by position, then message, and drops exact repeats (a schema may report the same
/// problem through two paths).
pub(crate) fn sort_and_dedup(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| (a.line, a.col, &a.message).cmp(&(b.line, b.col, &b.message)));
    diagnostics.dedup_by(|a, b| a.line == b.line && a.col == b.col && a.message == b.message);
}

/// The known name nearest to `unknown`, when it is close enough to be a likely typo.
pub(crate) fn nearest<'a>(
    unknown: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let known: Vec<&'a str> = known.into_iter().collect();
    // `get` for `GET`: a difference of case alone is the likeliest typo of all.
    if let Some(k) = known.iter().find(|k| k.eq_ignore_ascii_case(unknown)) {
        return Some(k);
    }
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(unknown, k), k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// A hint that suggests the nearest known name, or lists them all.
pub(crate) fn suggest(unknown: &str, known: &[&str]) -> String {
    match nearest(unknown, known.iter().copied()) {
        Some(k) => format!("did you mean `{k}`?"),
        None if known.is_empty() => "remove it".into(),
        None => format!(
            "expected one of: {}",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            nearest("wieght", ["weight", "name", "request"]),
            Some("weight")
        );
        assert_eq!(nearest("zzz", ["weight", "name"]), None);
        assert_eq!(suggest("wieght", &["weight"]), "did you mean `weight`?");
    }

    #[test]
    fn github_format_escapes() {
        let d = Diagnostic {
            file: "a,b.yaml".into(),
            pointer: String::new(),
            line: 3,
            col: 5,
            message: "100% wrong\nreally".into(),
            hint: None,
        };
        assert_eq!(
            render(&[d], DiagnosticFormat::Github),
            "::error file=a%2Cb.yaml,line=3,col=5::100%25 wrong%0Areally\n"
        );
    }
}
