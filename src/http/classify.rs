//! Sorting transport errors into failure classes, with the message reports show.

use super::Failure;
use crate::metrics::FailureKind;

/// Sorts an error into a failure class by the types in its chain, `default` when they say
/// nothing more specific; the message is the chain's text. `top` includes the error's own
/// message (reqwest's names the URL, which may carry query secrets, so it is left out there).
pub(crate) fn classify(
    e: &(dyn std::error::Error + 'static),
    top: bool,
    default: FailureKind,
) -> Failure {
    Failure::new(kind_of(e, default), error_chain(e, top))
}

/// The class an error chain stands for. The first rule that any error of the chain meets
/// wins: a timeout, then an answer that is not HTTP, then a connection closed under the
/// request, then a connection that could not be opened.
fn kind_of(e: &(dyn std::error::Error + 'static), default: FailureKind) -> FailureKind {
    use std::io::ErrorKind;
    let chain = || std::iter::successors(Some(e), |e| e.source());
    let hyper = || chain().filter_map(|e| e.downcast_ref::<hyper::Error>());
    let reqwest = || chain().filter_map(|e| e.downcast_ref::<reqwest::Error>());
    let io = || chain().filter_map(io_kind);
    if io().any(|k| k == ErrorKind::TimedOut)
        || hyper().any(hyper::Error::is_timeout)
        || reqwest().any(reqwest::Error::is_timeout)
    {
        FailureKind::Timeout
    } else if hyper().any(|h| h.is_parse() || h.is_parse_status() || h.is_parse_too_large()) {
        FailureKind::Body
    } else if hyper().any(|h| h.is_incomplete_message() || h.is_canceled())
        || io().any(|k| matches!(k, ErrorKind::ConnectionReset | ErrorKind::BrokenPipe))
    {
        // Not `UnexpectedEof`: hyper's body cut short (a `body` failure), rustls' missing
        // close_notify and a TLS handshake's end (the transport's default) are such ends.
        FailureKind::Reset
    } else if reqwest().any(reqwest::Error::is_connect)
        || io().any(|k| k == ErrorKind::ConnectionRefused)
    {
        FailureKind::Connect
    } else {
        default
    }
}

/// The kind of an I/O error in a chain: an `io::Error` itself, or the one an HTTP/2 error
/// carries (h2 keeps it out of its source chain).
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    match e.downcast_ref::<std::io::Error>() {
        Some(io) => Some(io.kind()),
        None => e
            .downcast_ref::<h2::Error>()
            .and_then(h2::Error::get_io)
            .map(std::io::Error::kind),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error, ErrorKind};

    /// An error that wraps another, as hyper and reqwest wrap the I/O error under them.
    #[derive(Debug)]
    struct Wrapped(Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("request failed")
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    fn kind(io: ErrorKind, message: &str) -> FailureKind {
        classify(&Wrapped(Error::new(io, message)), true, FailureKind::Body).kind
    }

    #[test]
    fn io_error_kinds_decide_the_class() {
        assert_eq!(kind(ErrorKind::ConnectionReset, "x"), FailureKind::Reset);
        assert_eq!(kind(ErrorKind::BrokenPipe, "x"), FailureKind::Reset);
        assert_eq!(
            kind(ErrorKind::UnexpectedEof, "x"),
            FailureKind::Body,
            "the default"
        );
        assert_eq!(
            kind(ErrorKind::ConnectionRefused, "x"),
            FailureKind::Connect
        );
        assert_eq!(kind(ErrorKind::TimedOut, "x"), FailureKind::Timeout);
        assert_eq!(
            kind(ErrorKind::Other, "x"),
            FailureKind::Body,
            "the default"
        );
    }

    /// Words in a message decide nothing: a server's text (an HTTP/2 GOAWAY's debug data)
    /// cannot turn a failure into another class.
    #[test]
    fn message_text_decides_nothing() {
        let words = "connection reset, timed out, dns, connection refused, invalid header parsed";
        assert_eq!(kind(ErrorKind::Other, words), FailureKind::Body);
        assert_eq!(
            kind(ErrorKind::ConnectionRefused, "timed out"),
            FailureKind::Connect
        );
    }

    #[test]
    fn the_message_is_the_chain() {
        let e = Wrapped(Error::new(ErrorKind::ConnectionReset, "reset by peer"));
        assert_eq!(
            classify(&e, true, FailureKind::Body).message,
            "request failed: reset by peer"
        );
        assert_eq!(
            classify(&e, false, FailureKind::Body).message,
            "reset by peer"
        );
    }
}
