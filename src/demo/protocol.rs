//! Routes outside the reference API that exercise what a client does on its own: follow
//! redirects, keep cookies, decompress gzip, and reconnect after `Connection: close`.
//! Under `/demo/`, ungated (no auth, no faults), so tests and examples can aim at them.

use std::io::Write as _;

use axum::Router;
use axum::extract::Path;
use axum::http::header::{CONNECTION, CONTENT_ENCODING, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;

use super::reply;

/// The routes, for the demo's router.
pub(super) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/demo/redirect/{n}", get(redirect))
        .route("/demo/cookie", get(cookie))
        .route("/demo/gzip", get(gzip))
        .route("/demo/close", get(close))
}

/// `n` redirects (302, relative `Location`), then `{"redirected": true}`.
async fn redirect(Path(n): Path<u32>) -> Response {
    if n == 0 {
        return reply::json_static(StatusCode::OK, br#"{"redirected":true}"#);
    }
    let mut response = reply::json_static(StatusCode::FOUND, b"{}");
    if let Ok(to) = HeaderValue::from_str(&format!("/demo/redirect/{}", n - 1)) {
        response.headers_mut().insert(LOCATION, to);
    }
    response
}

/// Sets `visited=1` and answers whether the request already carried it.
async fn cookie(headers: HeaderMap) -> Response {
    let seen = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(';').any(|c| c.trim() == "visited=1"));
    let mut response = reply::json_static(
        StatusCode::OK,
        if seen {
            br#"{"cookie":true}"#
        } else {
            br#"{"cookie":false}"#
        },
    );
    response
        .headers_mut()
        .insert(SET_COOKIE, HeaderValue::from_static("visited=1; Path=/"));
    response
}

/// `{"compressed": true}`, gzipped whatever the request accepts.
async fn gzip() -> Response {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let body = encoder
        .write_all(br#"{"compressed":true}"#)
        .and_then(|()| encoder.finish());
    match body {
        Ok(body) => {
            let mut response = reply::json(StatusCode::OK, body.into());
            response
                .headers_mut()
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            response
        }
        Err(e) => reply::detail(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// `{"closed": true}`, then the connection is closed.
async fn close() -> Response {
    let mut response = reply::json_static(StatusCode::OK, br#"{"closed":true}"#);
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}
