//! Response builders shared by the demo handlers: JSON bodies, the `{"detail": ...}` error
//! shape the reference API uses, and the two deliberately broken answers (`--bad-json`,
//! `--reset`). Static bodies are `&'static [u8]` so answering them allocates nothing.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use http_body::Frame;
use serde::Serialize;

pub(super) const NOT_PROVIDED: &[u8] =
    br#"{"detail":"Authentication credentials were not provided."}"#;
/// simplejwt's 401 for a bad access token: every token class it tried, and why.
pub(super) const TOKEN_NOT_VALID: &[u8] = br#"{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token is invalid or expired"}]}"#;
/// simplejwt's 401 for a bad refresh token.
pub(super) const REFRESH_NOT_VALID: &[u8] =
    br#"{"detail":"Token is invalid or expired","code":"token_not_valid"}"#;
pub(super) const BAD_CREDENTIALS: &[u8] =
    br#"{"detail":"No active account found with the given credentials"}"#;
pub(super) const NOT_FOUND: &[u8] = br#"{"detail":"Not found."}"#;
pub(super) const INJECTED_ERROR: &[u8] = br#"{"detail":"injected error"}"#;
/// What `--bad-json` answers: starts like a real page, then stops mid-array.
pub(super) const BAD_JSON: &[u8] = br#"{"count": 200, "results": [{"id": 1, "payer": "Ae"#;

/// A JSON response with `body` as is.
pub(super) fn json(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A JSON response from a static body.
pub(super) fn json_static(status: StatusCode, body: &'static [u8]) -> Response {
    json(status, Bytes::from_static(body))
}

/// Serialises `value` per request; a serialisation failure (not expected for our plain
/// structs) becomes a 500 rather than a panic.
pub(super) fn json_value<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => json(status, Bytes::from(body)),
        Err(err) => detail(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
    }
}

/// `{"detail": message}` with `status`, for messages built at run time.
pub(super) fn detail(status: StatusCode, message: &str) -> Response {
    #[derive(Serialize)]
    struct Detail<'a> {
        detail: &'a str,
    }
    match serde_json::to_vec(&Detail { detail: message }) {
        Ok(body) => json(status, Bytes::from(body)),
        // Serialising one &str cannot fail; keep a static fallback instead of unwrapping.
        Err(_) => json_static(status, br#"{"detail":"error"}"#),
    }
}

/// A response whose body fails on its first poll: hyper then drops the connection, so the
/// client sees the connection close with no (complete) answer, like a crashed upstream.
pub(super) fn reset() -> Response {
    Response::new(Body::new(ResetBody))
}

/// Serves `--reset`. Axum gives handlers no access to the socket, and aborting the body is
/// the one hook hyper honours by closing the connection instead of answering.
struct ResetBody;

impl http_body::Body for ResetBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Poll::Ready(Some(Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "connection reset on purpose (--reset)",
        ))))
    }
}
