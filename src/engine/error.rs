//! Why a run's load cannot start. Every case but a missing row is something the plan
//! describes that cannot be sent (a header name, a URL, credentials whose template does not
//! render, a certificate): an invalid plan, found before the first request.

use crate::http::SettingsError;

/// Why the engine could not prepare the run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EngineError {
    /// A request cannot be built from its templates and the base URL.
    #[error("{label}: {message}")]
    Request {
        /// `endpoint` or `endpoint/step`.
        label: String,
        /// Why.
        message: String,
    },
    /// An `auth.apply` header name is not a valid HTTP header name.
    #[error("`{0}` is not a valid header name")]
    HeaderName(String),
    /// `auth.basic` credentials that do not render or cannot be sent in a header.
    #[error("auth.basic.{field}: {message}")]
    Basic {
        /// `username`, `password`, or `credentials` for the header they make.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// The HTTP settings cannot be built.
    #[error(transparent)]
    Http(#[from] SettingsError),
    /// A request compile left without a metrics row: a bug in loadplan, not in the plan.
    #[error("{0}: no metrics row (a bug in loadplan: please report it)")]
    NoRow(String),
}
