//! What a worker hands the metrics layer: the fixed row keys, the closed set of failure kinds
//! and one [`Sample`] per request. Plain data; recording lives in `registry.rs`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// One row of the results: an endpoint, a step, a login or a token refresh. Rows are fixed
/// before the run starts and a row's index is its position in [`Registry::new`]'s list.
///
/// [`Registry::new`]: super::Registry::new
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct RowKey {
    /// The name shown in reports, e.g. `list_claims` or `login`.
    pub name: String,
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// The index (in plan order) of the endpoint the row belongs to; none for login,
    /// refresh and start steps. Assigned with the row, so no name decides it.
    pub endpoint: Option<usize>,
}

impl RowKey {
    /// A row key from its name and method, of no endpoint.
    pub(crate) fn new(name: impl Into<String>, method: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            method: method.into(),
            endpoint: None,
        }
    }

    /// The same row, of the endpoint at `index`.
    pub(crate) fn of_endpoint(self, index: usize) -> Self {
        Self {
            endpoint: Some(index),
            ..self
        }
    }
}

/// Why a request counted as failed. A closed set, so counts live in a fixed array on the hot
/// path and reports can rely on every kind being known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The response status was not the expected one.
    Status,
    /// A check (assertion) on the response failed.
    Check,
    /// The request did not complete in time.
    Timeout,
    /// The connection could not be opened (refused, DNS, TLS handshake).
    Connect,
    /// The connection was reset or closed mid-request.
    Reset,
    /// The response body could not be read or decoded.
    Body,
    /// A capture (extracting a value from the response) found nothing.
    Capture,
    /// The request could not be rendered from its templates.
    Template,
}

impl FailureKind {
    /// Every kind, in declaration order (the index order of [`FailureKind::index`]).
    pub const ALL: [FailureKind; 8] = [
        FailureKind::Status,
        FailureKind::Check,
        FailureKind::Timeout,
        FailureKind::Connect,
        FailureKind::Reset,
        FailureKind::Body,
        FailureKind::Capture,
        FailureKind::Template,
    ];

    /// How many kinds there are.
    pub const COUNT: usize = Self::ALL.len();

    /// The kind's name in reports and serialized output.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Status => "status",
            FailureKind::Check => "check",
            FailureKind::Timeout => "timeout",
            FailureKind::Connect => "connect",
            FailureKind::Reset => "reset",
            FailureKind::Body => "body",
            FailureKind::Capture => "capture",
            FailureKind::Template => "template",
        }
    }

    /// The kind named `name` (as [`FailureKind::as_str`] writes it).
    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The kind's position in [`FailureKind::ALL`], for per-kind arrays.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finished request (or attempt), as a worker reports it. Borrowed so that recording a
/// success allocates nothing.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample<'a> {
    /// Index of the row in the registry's row list.
    pub row: usize,
    /// Time from the (intended) send to the end of the response; failed requests have one
    /// too. `None` for a request that was never sent (its templates could not render): it
    /// counts as a failed request with no latency sample.
    pub latency: Option<Duration>,
    /// Why the request failed and a short message, or `None` on success.
    pub failure: Option<(FailureKind, &'a str)>,
    /// Response bytes received (on the wire).
    pub bytes_in: u64,
    /// Response body bytes as decoded (gunzipped).
    pub body_bytes: u64,
    /// Request bytes sent.
    pub bytes_out: u64,
    /// Checks on this response that passed.
    pub checks_passed: u32,
    /// Checks on this response that failed.
    pub checks_failed: u32,
}

impl<'a> Sample<'a> {
    /// A successful sample with no bytes and no checks; set the other fields as needed.
    pub(crate) fn ok(row: usize, latency: Duration) -> Self {
        Self {
            row,
            latency: Some(latency),
            failure: None,
            bytes_in: 0,
            body_bytes: 0,
            bytes_out: 0,
            checks_passed: 0,
            checks_failed: 0,
        }
    }

    /// A failed sample of `kind` with `message`.
    #[cfg(test)]
    pub(crate) fn failed(
        row: usize,
        latency: Duration,
        kind: FailureKind,
        message: &'a str,
    ) -> Self {
        Self {
            failure: Some((kind, message)),
            ..Self::ok(row, latency)
        }
    }
}

/// What a row counts besides requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A flow step not sent because a capture it `requires` was missing.
    Skipped,
    /// A request refused with a refresh status (401) whose credentials this row renewed
    /// before the request was retried.
    Renewal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_index_in_declaration_order_and_serialize_as_their_names() {
        for (i, kind) in FailureKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i);
            assert_eq!(
                serde_json::to_string(kind).unwrap(),
                format!("\"{}\"", kind.as_str())
            );
            assert_eq!(kind.to_string(), kind.as_str());
        }
    }
}
