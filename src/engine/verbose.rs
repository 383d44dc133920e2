//! The `-v` line of a failed request: when in the run, which user, what was sent (method and
//! URL), what came back (status, latency, the start of the body, and its content type when
//! the body is the problem) and why it failed, on one line, secrets masked and control
//! characters escaped. Built only for a failure under `-v`: a run without it never gets here.

use std::time::Duration;

use http::{Method, Uri};

use crate::http::{Answer, Failure};
use crate::metrics::FailureKind;
use crate::report::terminal::printable;

/// Body bytes a line shows.
const BODY_SHOWN: usize = 200;

/// Body bytes masked before the line cuts the body to [`BODY_SHOWN`]: masking after the cut
/// would show the start of a secret the cut runs through. Bounded, since each failure's line
/// masks against every known token, and a body may be megabytes.
const BODY_MASKED: usize = 64 << 10;

/// The method and URL of a request that was sent, kept for its `-v` line.
#[derive(Debug, Clone)]
pub(super) struct Sent {
    pub method: Method,
    pub uri: Uri,
}

/// What a failure line tells.
pub(super) struct Failed<'a> {
    /// Since the run's start.
    pub at: Duration,
    /// The user (`user_id`).
    pub user: u64,
    /// The request's row name (`browse/list`).
    pub label: &'a str,
    /// What was sent; none when the request could not be built.
    pub sent: Option<&'a Sent>,
    /// What came back; none without a complete answer.
    pub answer: Option<&'a Answer>,
    /// From sending to the answer or the failure; none when nothing was sent.
    pub latency: Option<Duration>,
    /// Why it failed; its message masked already.
    pub failure: &'a Failure,
}

/// The line: `+3.2s user 2 get_payer: GET http://…/summary → 500 in 12ms: HTTP 500 [status]
/// — body: {"detail":"injected error"}`. `mask` hides known secrets.
pub(super) fn line(f: &Failed<'_>, mask: impl Fn(&str) -> String) -> String {
    let mut out = format!("+{:.1}s user {} {}: ", f.at.as_secs_f64(), f.user, f.label);
    match f.sent {
        Some(sent) => {
            let url = mask(&crate::secrets::url_for_log(&sent.uri.to_string()));
            out.push_str(&format!("{} {} → ", sent.method, printable(&url)));
            match f.answer {
                Some(a) => out.push_str(&a.status.to_string()),
                None => out.push_str("no answer"),
            }
            if let Some(latency) = f.latency {
                out.push_str(&format!(
                    " in {}",
                    crate::plan::units::format_duration(latency)
                ));
            }
        }
        None => out.push_str("not sent"),
    }
    out.push_str(&format!(
        ": {} [{}]",
        printable(&f.failure.message),
        f.failure.kind.as_str()
    ));
    if let Some(a) = f.answer {
        out.push_str(&body(a, f.failure.kind, &mask));
    }
    out
}

/// ` — body (type): start…`, the type shown when the body is what failed (not JSON, a
/// check or a capture on it); nothing for an empty body that is not the problem.
fn body(a: &Answer, kind: FailureKind, mask: &impl Fn(&str) -> String) -> String {
    let about_body = matches!(
        kind,
        FailureKind::Body | FailureKind::Check | FailureKind::Capture
    );
    if a.body.is_empty() && !about_body {
        return String::new();
    }
    let kind = if about_body {
        let ct = a.content_type.as_ref().map_or_else(
            || "no content type".to_owned(),
            |v| String::from_utf8_lossy(v.as_bytes()).into_owned(),
        );
        format!(" ({})", printable(&ct))
    } else {
        String::new()
    };
    if a.body.is_empty() {
        return format!(" — body{kind}: empty");
    }
    let masked = mask(&text(&a.body, BODY_MASKED));
    let shown = text(masked.as_bytes(), BODY_SHOWN);
    let more = if shown.len() < masked.len() || a.truncated || a.body.len() > BODY_MASKED {
        "…"
    } else {
        ""
    };
    format!(" — body{kind}: {}{more}", printable(&shown))
}

/// At most `max` bytes of `bytes` as text, cut at a character boundary; bytes that are not
/// UTF-8 become U+FFFD.
fn text(bytes: &[u8], max: usize) -> String {
    let mut cut = &bytes[..bytes.len().min(max)];
    if let Err(e) = std::str::from_utf8(cut)
        && e.error_len().is_none()
    {
        // Only the last character was cut: leave it out rather than show it broken.
        cut = &cut[..e.valid_up_to()];
    }
    String::from_utf8_lossy(cut).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str, content_type: Option<&'static str>) -> Answer {
        Answer {
            status,
            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
            bytes_in: body.len() as u64,
            truncated: false,
            latency: Duration::from_millis(12),
            cookies: Vec::new(),
            content_type: content_type.map(http::HeaderValue::from_static),
        }
    }

    fn sent(uri: &str) -> Sent {
        Sent {
            method: Method::GET,
            uri: uri.parse().unwrap(),
        }
    }

    fn failed<'a>(
        sent: Option<&'a Sent>,
        answer: Option<&'a Answer>,
        failure: &'a Failure,
    ) -> Failed<'a> {
        Failed {
            at: Duration::from_millis(3_240),
            user: 2,
            label: "get_payer_summary",
            sent,
            answer,
            latency: sent.map(|_| Duration::from_millis(12)),
            failure,
        }
    }

    fn no_secrets(text: &str) -> String {
        text.replace("s3cr3t-token", "***")
    }

    #[test]
    fn a_status_failure_names_time_user_request_status_and_body() {
        let s = sent("http://127.0.0.1:8000/api/v1/payers/7/summary?token=abc&page=2");
        let a = answer(
            500,
            r#"{"detail":"injected error"}"#,
            Some("application/json"),
        );
        let f = Failure::new(FailureKind::Status, "HTTP 500, expected 200");
        assert_eq!(
            line(&failed(Some(&s), Some(&a), &f), no_secrets),
            "+3.2s user 2 get_payer_summary: GET \
             http://127.0.0.1:8000/api/v1/payers/7/summary?token=***&page=2 → 500 in 12ms: \
             HTTP 500, expected 200 [status] — body: {\"detail\":\"injected error\"}"
        );
    }

    #[test]
    fn a_body_failure_names_the_content_type_and_stays_on_one_line() {
        let s = sent("http://h/x");
        let a = answer(
            200,
            "<html>\n<b>oops</b>\u{1b}[2J s3cr3t-token",
            Some("text/html"),
        );
        let f = Failure::new(FailureKind::Body, "body is not JSON (expected value)");
        let text = line(&failed(Some(&s), Some(&a), &f), no_secrets);
        assert!(
            text.ends_with("[body] — body (text/html): <html>\\n<b>oops</b>\\u{1b}[2J ***"),
            "{text}"
        );
        let empty = answer(200, "", None);
        let text = line(&failed(Some(&s), Some(&empty), &f), no_secrets);
        assert!(text.ends_with("— body (no content type): empty"), "{text}");
    }

    #[test]
    fn the_body_is_masked_before_it_is_cut() {
        let s = sent("http://h/x");
        // The secret runs across the 200th byte: cut first, its start would show.
        let body = format!("{}s3cr3t-token and more", "x".repeat(195));
        let a = answer(500, &body, None);
        let f = Failure::new(FailureKind::Status, "HTTP 500");
        let text = line(&failed(Some(&s), Some(&a), &f), no_secrets);
        assert!(text.ends_with("xxx*** a…"), "{text}");
        assert!(!text.contains("s3cr"), "{text}");
        let long = answer(500, &"é".repeat(150), None);
        let text = line(&failed(Some(&s), Some(&long), &f), no_secrets);
        assert!(text.ends_with(&format!("{}…", "é".repeat(100))), "{text}");
    }

    #[test]
    fn without_an_answer_or_a_request_the_line_says_so() {
        let s = sent("http://h/x");
        let f = Failure::new(FailureKind::Timeout, "timed out after 1s");
        assert_eq!(
            line(&failed(Some(&s), None, &f), no_secrets),
            "+3.2s user 2 get_payer_summary: GET http://h/x → no answer in 12ms: \
             timed out after 1s [timeout]"
        );
        let f = Failure::new(FailureKind::Template, "template: undefined value `id`");
        assert_eq!(
            line(&failed(None, None, &f), no_secrets),
            "+3.2s user 2 get_payer_summary: not sent: template: undefined value `id` [template]"
        );
    }
}
