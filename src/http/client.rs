//! The reqwest transport: through a proxy, or the plan's one shared pool (`connections:
//! shared`); the usual case is `direct`.

use std::time::Duration;

use super::{Answer, Failure, Outgoing, classify, cookie_values, read_capped};
use crate::metrics::FailureKind;

/// Sends a request on the client and reads at most `max_body` bytes of its answer's body.
pub(super) async fn exchange(
    client: &reqwest::Client,
    request: Outgoing,
    max_body: u64,
) -> Result<Answer, Failure> {
    let mut r = http::Request::new(request.body);
    *r.method_mut() = request.method;
    *r.uri_mut() = request.uri;
    *r.headers_mut() = request.headers.to_map();
    let request = reqwest::Request::try_from(r).map_err(|e| {
        Failure::new(
            FailureKind::Template,
            format!(
                "cannot build the request: {}",
                super::classify::error_chain(&e, false)
            ),
        )
    })?;
    let mut response = client.execute(request).await.map_err(|e| {
        let default = if e.is_body() || e.is_decode() {
            FailureKind::Body
        } else {
            FailureKind::Connect
        };
        // The top-level message names the URL, which may carry secrets.
        classify(&e, false, default)
    })?;
    let status = response.status().as_u16();
    let cookies = cookie_values(response.headers()).collect();
    let content_type = response.headers_mut().remove(http::header::CONTENT_TYPE);
    let (body, bytes_in) = read_capped(http::Response::from(response).into_body(), max_body)
        .await
        .map_err(|e| classify(&e, false, FailureKind::Body))?;
    Ok(Answer {
        status,
        latency: Duration::ZERO,
        truncated: bytes_in > body.len() as u64,
        body,
        bytes_in,
        cookies,
        content_type,
    })
}
