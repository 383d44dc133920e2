//! HTTP below the engine and health checks: the outgoing request ([`Outgoing`]), the
//! answer ([`Answer`]), the settings every transport of a command shares ([`HttpSettings`]:
//! one TLS configuration, built once and shared by every user, since one per user costs
//! memory and CPU seconds at 10,000 users), the transports (`direct`, a reqwest `client`)
//! that never retry on their own (every attempt is counted) and never use the environment's
//! proxy, and a [`send`] that reads at most the body cap and classifies every failure as
//! data. It knows neither the engine nor health: both call it.
//!
//! No arithmetic here may panic, as in the engine: counts saturate, and clock arithmetic
//! goes through [`Later`](crate::clock::Later).
#![deny(clippy::arithmetic_side_effects)]

mod classify;
mod client;
mod cookies;
mod direct;
mod settings;
mod uri;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};

use crate::clock::Later as _;
use crate::metrics::FailureKind;
pub(crate) use classify::classify;
pub use settings::HttpSettings;
pub(crate) use settings::{SettingsError, Transport};
pub(crate) use uri::{NOT_IN_TARGET, build_uri, join};

/// An answer, with at most `max_body` bytes of its body kept.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// The kept part of the body.
    pub body: Bytes,
    /// All body bytes received, kept or not.
    pub bytes_in: u64,
    /// Whether the body was longer than the cap.
    pub truncated: bool,
    /// From sending to the last body byte (set by [`send`]; transports leave it zero).
    pub latency: Duration,
    /// The values of the cookies the answer set (`Set-Cookie`, on every hop of a redirect):
    /// a login's session cookie is a credential, to be masked like a token.
    pub cookies: Vec<String>,
    /// The `Content-Type` header, for a `-v` line that says what a body that is not JSON
    /// was. Moved out of the answer's headers, not copied: keeping it costs nothing.
    pub content_type: Option<http::HeaderValue>,
}

/// The values of the `Set-Cookie` headers in `headers` (`SID` of `id=SID; Path=/`); no
/// allocation when there are none, as in most answers.
pub(crate) fn cookie_values(headers: &HeaderMap) -> impl Iterator<Item = String> + '_ {
    headers
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| {
            let pair = v.as_bytes().split(|&b| b == b';').next()?;
            let (_, value) = pair.split_at(pair.iter().position(|&b| b == b'=')?);
            let value = value.get(1..)?;
            let value = String::from_utf8_lossy(value.trim_ascii());
            (!value.is_empty()).then(|| value.into_owned())
        })
}

/// Why a request failed, as data: its class (counted by the metrics) and what happened (for
/// reports). The one shape of a failure for the engine, health checks and dry runs, whether
/// the request could not be built, got no complete answer, or failed a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Class.
    pub kind: FailureKind,
    /// What happened.
    pub message: String,
}

impl Failure {
    /// A failure of a class.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

/// A rendered request, as every transport takes it.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Method.
    pub method: Method,
    /// Absolute URI.
    pub uri: Uri,
    /// Headers.
    pub headers: Headers,
    /// Body.
    pub body: Bytes,
}

/// A request's headers: the request's static ones, shared by every send of it, and the
/// ones rendered for this send (which replace static ones of the same name). A transport
/// makes the one map it sends, so rendering copies no map.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    /// The request's static headers.
    pub base: Arc<HeaderMap>,
    /// This send's own.
    pub extra: Vec<(http::header::HeaderName, http::HeaderValue)>,
}

impl Headers {
    /// The headers as one map.
    pub fn to_map(&self) -> HeaderMap {
        let mut map = HeaderMap::clone(&self.base);
        for (name, value) in &self.extra {
            map.insert(name.clone(), value.clone());
        }
        map
    }

    /// Removes a header (copying the shared part once).
    pub fn remove(&mut self, name: &http::header::HeaderName) {
        if self.base.contains_key(name) {
            Arc::make_mut(&mut self.base).remove(name);
        }
        self.extra.retain(|(n, _)| n != name);
    }
}

/// Sends a request and reads its answer within `timeout`, measuring from `start` (a failure's
/// latency is the caller's `start.elapsed()` when this returns). `timer`
/// is reset to the deadline and reused: a user keeps one for all its requests, since
/// moving a registered timer costs less than registering a new one per request.
pub(crate) async fn send(
    transport: &mut Transport,
    request: Outgoing,
    timeout: Duration,
    max_body: u64,
    start: Instant,
    mut timer: std::pin::Pin<&mut tokio::time::Sleep>,
) -> Result<Answer, Failure> {
    timer
        .as_mut()
        .reset(tokio::time::Instant::now().later(timeout));
    let outcome = {
        let exchange = async {
            match &mut *transport {
                Transport::Direct(d) => d.exchange(request, max_body).await,
                Transport::Client(c) => client::exchange(c, request, max_body).await,
            }
        };
        tokio::select! {
            biased;
            r = exchange => Some(r),
            () = timer => None,
        }
    };
    match outcome {
        Some(Ok(answer)) => Ok(Answer {
            latency: start.elapsed(),
            ..answer
        }),
        Some(Err(failure)) => Err(failure),
        None => {
            transport.abandon();
            Err(Failure::new(
                FailureKind::Timeout,
                format!(
                    "timed out after {}",
                    crate::plan::units::format_duration(timeout)
                ),
            ))
        }
    }
}

/// Reads a body, keeping at most `max` bytes and counting them all. Most answers arrive in
/// one chunk, kept as is; only a second chunk makes a copy.
pub(crate) async fn read_capped<B>(body: B, max: u64) -> Result<(Bytes, u64), B::Error>
where
    B: http_body::Body<Data = Bytes>,
{
    use http_body_util::BodyExt as _;
    let mut body = std::pin::pin!(body);
    let mut kept = Bytes::new();
    let mut more: Option<Vec<u8>> = None;
    let mut bytes_in = 0u64;
    while let Some(frame) = body.frame().await {
        let Ok(chunk) = frame?.into_data() else {
            continue;
        };
        bytes_in = bytes_in.saturating_add(chunk.len() as u64);
        let held = more.as_ref().map_or(kept.len(), Vec::len) as u64;
        let room = max.saturating_sub(held) as usize;
        if room == 0 {
            continue;
        }
        let part = chunk.slice(..chunk.len().min(room));
        match &mut more {
            Some(buf) => buf.extend_from_slice(&part),
            None if kept.is_empty() => kept = part,
            None => {
                let mut buf = Vec::with_capacity(kept.len().saturating_add(part.len()));
                buf.extend_from_slice(&kept);
                buf.extend_from_slice(&part);
                more = Some(buf);
            }
        }
    }
    Ok((more.map_or(kept, Bytes::from), bytes_in))
}
