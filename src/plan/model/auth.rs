//! Authentication: log in, apply the credentials, renew them.

use super::*;

/// Authentication of virtual users.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Auth {
    /// A login request each user sends once before its first task (templated).
    /// Example: `{ method: POST, path: /api/v1/auth/token/, json: { username: "{{ env.API_USERNAME }}" } }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<Request>,
    /// HTTP basic authentication on every request, instead of a login request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<BasicAuth>,
    /// Values taken from the login answer with JSONPath (RFC 9535), available to templates
    /// as `auth.NAME`. Example: `access: $.access`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub extract: IndexMap<String, String>,
    /// How the extracted values are sent on every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply: Option<AuthApply>,
    /// When and how to renew the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<AuthRefresh>,
    /// `per_user` (each virtual user logs in) or `shared` (one login for all users).
    /// Default `per_user`.
    #[serde(default)]
    pub scope: AuthScope,
    /// Requests each user runs once, in order, right after logging in (for example to
    /// pick a tenant). Their captures are kept for the user's session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_start: Vec<Step>,
}

/// HTTP basic authentication.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BasicAuth {
    /// User name (template). Example: `"{{ env.API_USERNAME }}"`.
    pub username: String,
    /// Password (template); never shown in output. Example: `"{{ env.API_PASSWORD }}"`.
    pub password: String,
}

/// How extracted credentials are sent.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthApply {
    /// Headers added to every request after login (templates). Example:
    /// `Authorization: "Bearer {{ auth.access }}"`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    /// Query parameters added to every request after login (templates).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub query: IndexMap<String, String>,
}

/// When and how credentials are renewed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthRefresh {
    /// Answer statuses that mean "credentials expired": the user refreshes, then retries
    /// that request once. A refused answer whose credentials were renewed is not a failure:
    /// the request counts once, as its retry's result (which may fail), and the refresh row
    /// (the login row without a refresh request) counts the refusal as
    /// `renewals_on_status` in `summary.json`, outside `error_rate`. When the renewal
    /// fails, the refused answer is the request's failure. Default `[401]`.
    #[serde(default = "default_refresh_statuses")]
    pub on_status: Vec<u16>,
    /// Refresh this long before the credentials expire (never earlier than halfway through
    /// their life). When they expire is read from the answers, as `expires_from` says.
    /// Example: `10s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_expiry: Option<HumanDuration>,
    /// The extracted value (a name in `extract`) that says when the credentials expire: a
    /// number of seconds (like `expires_in`), or a JWT whose `exp` claim is read (not
    /// verified: loadplan is the client, not the verifier). Default: `expires_in` when the
    /// answer has one, else the `exp` claim of `access` when it is a JWT, as
    /// djangorestframework-simplejwt issues them. Name a value only when yours is called
    /// something else. Example: `expires_from: token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_from: Option<String>,
    /// Refresh on a fixed interval, whatever the answer said. Example: `5m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<HumanDuration>,
    /// The refresh request (templated; `auth.*` holds the current values). Without it, the
    /// user logs in again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
    /// Values taken from the refresh answer (JSONPath); default: the same as `auth.extract`,
    /// keeping any value the answer lacks (such as the refresh token).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub extract: IndexMap<String, String>,
}

fn default_refresh_statuses() -> Vec<u16> {
    vec![401]
}

/// Who shares a login.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AuthScope {
    /// Each virtual user logs in for itself.
    #[default]
    PerUser,
    /// One login is shared by all virtual users.
    Shared,
}
