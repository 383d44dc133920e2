//! The system under test: its URL, headers, timeouts, TLS and connections.

use super::*;

/// The system under test.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Target {
    /// Base URL that request paths are joined to; a template. A path in the base URL is
    /// kept: `http://host/prefix` + `/api/x` is `http://host/prefix/api/x`.
    /// Example: `"{{ env.TARGET_URL | default('http://127.0.0.1:8000') }}"`.
    pub base_url: String,
    /// Headers sent with every request (templates allowed). Example: `Accept: application/json`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, Scalar>,
    /// Time allowed for a whole request (connect, send, answer) unless the request sets its
    /// own. Default `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HumanDuration>,
    /// Time allowed to open a connection. Default: the request timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<HumanDuration>,
    /// TLS settings for `https` targets. Certificates are verified unless `insecure: true`.
    #[serde(default)]
    pub tls: Tls,
    /// HTTP version to use: `auto` (HTTP/2 when the server offers it over TLS), `http1`
    /// or `http2` (HTTP/2 only, also without TLS). Default `auto`.
    #[serde(default)]
    pub http_version: HttpVersion,
    /// Proxy URL for all requests. None unless set here: `HTTP_PROXY`/`HTTPS_PROXY` in the
    /// environment are ignored, so a CI proxy never carries the load.
    /// Example: `http://proxy.internal:3128`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Most of a response body that is read and kept (for checks and captures); the rest is
    /// counted but discarded. Default `10MiB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body: Option<ByteSize>,
    /// How many redirects to follow; `0` never follows. Default `10`. A redirect to another
    /// origin (scheme, host, port) does not carry the credentials: `Authorization`,
    /// `Cookie`, every header `auth.apply` sets and every `target.headers` value read from
    /// `env` are dropped. With `connections: shared` or a `proxy`, a redirect to another
    /// origin is not followed when the plan sends such headers (the 3xx answer is the result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_redirects: Option<u32>,
    /// Connections: `per_user` (each virtual user keeps its own keep-alive connections,
    /// like Locust and k6) or `shared` (one pool for all users). Default `per_user`.
    #[serde(default)]
    pub connections: ConnectionPool,
}

/// TLS settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Tls {
    /// Skip certificate verification. Only for test systems with self-signed certificates.
    #[serde(default)]
    pub insecure: bool,
    /// A PEM file of extra CA certificates to trust, relative to the plan file.
    /// Example: `certs/internal-ca.pem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// A client certificate for mutual TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<ClientCert>,
}

/// A client certificate and its private key, PEM files relative to the plan file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientCert {
    /// The certificate chain (PEM). Example: `certs/client.pem`.
    pub cert: PathBuf,
    /// The private key (PEM). Example: `certs/client.key`.
    pub key: PathBuf,
}

/// HTTP version preference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HttpVersion {
    /// HTTP/2 when the server offers it over TLS, else HTTP/1.1.
    #[default]
    Auto,
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/2 only.
    Http2,
}

/// Who shares connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ConnectionPool {
    /// Each virtual user has its own keep-alive connections.
    #[default]
    PerUser,
    /// All virtual users share one connection pool.
    Shared,
}
