//! Sorting transport errors into failure classes, with the message reports show.

use super::Failure;
use crate::metrics::FailureKind;

/// Sorts an error into a failure class by what its chain says, `default` when it says
/// nothing more specific. `top` includes the error's own message (reqwest's names the
/// URL, which may carry query secrets, so it is left out there).
pub(crate) fn classify(
    e: &(dyn std::error::Error + 'static),
    top: bool,
    default: FailureKind,
) -> Failure {
    let chain = error_chain(e, top);
    let lower = chain.to_lowercase();
    let kind = if lower.contains("timed out") || lower.contains("timeout") {
        FailureKind::Timeout
    } else if lower.contains(" parsed") || lower.contains("message head is too large") {
        // hyper's words for an answer that is not valid HTTP.
        FailureKind::Body
    } else if lower.contains("reset")
        || lower.contains("broken pipe")
        || lower.contains("connection closed")
        || lower.contains("incomplete message")
        || lower.contains("unexpected eof")
        || lower.contains("canceled")
    {
        FailureKind::Reset
    } else if lower.contains("dns")
        || lower.contains("resolve")
        || lower.contains("connection refused")
        || lower.contains("error trying to connect")
    {
        // Not any "connect…": hyper's body and I/O errors speak of "connection" too.
        FailureKind::Connect
    } else {
        default
    };
    Failure::new(kind, chain)
}

pub(super) fn error_chain(e: &(dyn std::error::Error + 'static), top: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = if top { Some(e) } else { e.source() };
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        parts.push("request failed".into());
    }
    parts.join(": ")
}
