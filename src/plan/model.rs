//! The plan format exactly as a plan author writes it: serde + schemars types. The doc
//! comments here become the JSON Schema's descriptions (editor hover text) and
//! `docs/plan.md`, so they are written for plan authors, not Rust readers.
//!
//! These types hold what was written; `compile` turns them into what runs. No type here
//! uses `#[serde(flatten)]`: it would break `additionalProperties: false` in the schema.

use std::path::PathBuf;

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::units::{ByteSize, HumanDuration, Percent, Rate};

/// A loadplan plan: what to load-test or health-check, and what counts as a pass.
///
/// Start the file with `# yaml-language-server: $schema=<path to schema/plan.schema.json>`
/// so editors check it as you type.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "loadplan plan")]
pub struct Plan {
    /// Version of the plan format. Always `1`.
    pub version: PlanVersion,
    /// Short name of the plan, shown in reports. Example: `upstream-claims-api`.
    pub name: String,
    /// One or two sentences on what the plan tests, shown in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The system under test: base URL, default headers, timeouts, TLS.
    pub target: Target,
    /// Named values available to every template, by name or as `vars.NAME`.
    /// A list works with the `random` filter. Example: `payers: [Aetna, Cigna]`, used as
    /// `{{ payers | random }}`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub variables: IndexMap<String, serde_json::Value>,
    /// Data feeders: CSV files whose rows feed templates as `data.NAME.COLUMN`.
    /// Example: `accounts: { file: accounts.csv, order: unique }`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub data: IndexMap<String, DataFeeder>,
    /// How virtual users authenticate: a login request or basic auth, what to extract
    /// from the answer, how to send it, and when to refresh it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    /// The load shape: a closed model (`users`) or an open model (`arrival_rate`), and
    /// how long it runs.
    #[serde(default)]
    pub load: Load,
    /// The endpoints virtual users call, each picked in proportion to its `weight`.
    pub endpoints: Vec<Endpoint>,
    /// Service-level assertions: a violated one fails the run (exit code 1).
    ///
    /// Two rules hold whatever is declared here. Unless an assertion checks `error_rate`
    /// at the aggregate scope, the run carries the default gate `no request fails` (as
    /// Locust fails a run on any failed request): declare one to set your own tolerance,
    /// e.g. `{ metric: error_rate, at_most: 5% }`. And a run in which no request succeeded
    /// never passes, even with `error_rate at_most 100%`.
    ///
    /// A request that was answered 401, renewed its credentials and succeeded on retry
    /// counts once, as its retry. An assertion with no samples fails at the aggregate scope
    /// and for each endpoint it names in `endpoints`; with `each_endpoint`, endpoints
    /// without samples are skipped (and shown as skipped). `on_no_data` changes either.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sla: Vec<SlaAssertion>,
    /// Named health-check policies, run before the load (a gate), during it (probes), after
    /// it (verification), or alone with `loadplan health`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub health: IndexMap<String, HealthPolicy>,
    /// Which report files a run writes.
    #[serde(default)]
    pub outputs: Outputs,
}

/// The plan format's version number; only `1` exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct PlanVersion;

impl TryFrom<u32> for PlanVersion {
    type Error = String;
    fn try_from(v: u32) -> Result<Self, String> {
        if v == 1 {
            Ok(PlanVersion)
        } else {
            Err(format!(
                "plan version `{v}` is not supported; this loadplan reads version 1"
            ))
        }
    }
}

impl From<PlanVersion> for u32 {
    fn from(_: PlanVersion) -> u32 {
        1
    }
}

impl JsonSchema for PlanVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PlanVersion".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "const": 1, "description": "Version of the plan format. Always `1`." })
    }
}

/// A string, number or boolean; templates may appear in strings. Used where YAML authors
/// naturally write `page: 1` as well as `page: "{{ n }}"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// Text, possibly a template.
    Text(String),
    /// A whole number.
    Integer(i64),
    /// A decimal number.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
}

impl Scalar {
    /// The value as template source text.
    pub fn to_text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Integer(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

impl JsonSchema for Scalar {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Scalar".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["string", "number", "boolean"],
            "description": "A string (templates allowed), a number or a boolean.",
        })
    }
}

/// The system under test.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
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
pub struct Tls {
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
pub struct ClientCert {
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
pub enum ConnectionPool {
    /// Each virtual user has its own keep-alive connections.
    #[default]
    PerUser,
    /// All virtual users share one connection pool.
    Shared,
}

/// A CSV file whose rows feed templates.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataFeeder {
    /// The CSV file, relative to the plan file. Its first line names the columns.
    /// Example: `data/accounts.csv`.
    pub file: PathBuf,
    /// Which row a virtual user gets: `sequential` (next row each time, wrapping around),
    /// `random`, or `unique` (each user its own row, fixed for the whole run; the run
    /// cannot have more users than rows). Default `sequential`.
    #[serde(default)]
    pub order: FeederOrder,
}

/// Row order of a data feeder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeederOrder {
    /// The next row each time, wrapping around.
    #[default]
    Sequential,
    /// A random row each time.
    Random,
    /// One row per virtual user, kept for the whole run.
    Unique,
}

/// Authentication of virtual users.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Auth {
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
pub struct BasicAuth {
    /// User name (template). Example: `"{{ env.API_USERNAME }}"`.
    pub username: String,
    /// Password (template); never shown in output. Example: `"{{ env.API_PASSWORD }}"`.
    pub password: String,
}

/// How extracted credentials are sent.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthApply {
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
pub struct AuthRefresh {
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
pub enum AuthScope {
    /// Each virtual user logs in for itself.
    #[default]
    PerUser,
    /// One login is shared by all virtual users.
    Shared,
}

/// An HTTP request. Strings are minijinja templates: `{{ vars.x }}`, `{{ auth.access }}`,
/// a capture by name, `{{ env.NAME }}`, `{{ data.feeder.column }}`, and helpers
/// `random_int(a, b)`, `uuid()`, `now()`, `user_id`, `iteration`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// HTTP method. Default `GET`.
    #[serde(default)]
    pub method: Method,
    /// Path joined to `target.base_url` (template). Example: `/api/v1/claims/{{ claim_ids | random }}/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A full URL instead of a path (template); `target.base_url` is not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Query parameters (values are templates). Example: `{ page: "{{ random_int(1, 5) }}" }`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub query: IndexMap<String, Scalar>,
    /// Headers for this request, added to `target.headers` (templates).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, Scalar>,
    /// A JSON body; strings inside are templates. Sets `Content-Type: application/json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
    /// A URL-encoded form body (values are templates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<IndexMap<String, Scalar>>,
    /// A multipart form body: each part a text value (template) or a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipart: Option<IndexMap<String, MultipartPart>>,
    /// A raw body (template), sent as written; set `Content-Type` in `headers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Time allowed for this request; overrides `target.timeout`. Example: `5s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HumanDuration>,
}

/// HTTP method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// GET
    #[default]
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// HEAD
    Head,
    /// OPTIONS
    Options,
}

impl Method {
    /// The method as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
        }
    }
}

/// One part of a multipart body.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MultipartPart {
    /// Text value of the part (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A file sent as the part, relative to the plan file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The part's content type. Example: `text/csv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// An endpoint: one request (or an ordered flow of `steps`) that virtual users pick by weight.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Unique name, shown in reports and used by `sla` and `--only`.
    /// Letters, digits, `_`, `-` and `.`. Example: `list_claims`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.\-]+$"))]
    pub name: String,
    /// Relative weight: an endpoint of weight 4 is picked twice as often as one of weight 2.
    /// `0` disables it. Default `1`.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Captures that must exist before this endpoint is picked.
    /// Example: `[claim_ids]` waits until a list has captured ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// Think time after this endpoint, instead of `load.think_time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_time: Option<ThinkTime>,
    /// The request (use this or `steps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
    /// What the answer must satisfy; without checks, a status of 400 or more fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<Expectations>,
    /// Values taken from the answer into per-user variables, by name.
    /// Example: `claim_ids: { path: "$.results[*].id", all: true }`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub capture: IndexMap<String, Capture>,
    /// An ordered flow of requests run as one task (use this or `request`). Each step is
    /// reported as `ENDPOINT/STEP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<Step>>,
}

fn default_weight() -> u32 {
    1
}

/// One request of a flow.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Name of the step, unique within its flow. Example: `create_claim`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.\-]+$"))]
    pub name: String,
    /// Captures this step needs: while one is missing, null or an empty list, the step is
    /// skipped (not sent, not a request, counted as `skipped` in its row) and the flow goes
    /// on. Example: `requires: [next_page]`, for a DRF `next` link that is `null` on the
    /// last page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// The request.
    pub request: Request,
    /// What the answer must satisfy; without checks, a status of 400 or more fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<Expectations>,
    /// Values taken from the answer into per-user variables.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub capture: IndexMap<String, Capture>,
}

/// What an answer must satisfy. Every listed condition must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Accepted statuses. Example: `[200, 201]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<u16>,
    /// Conditions on the JSON body. Example: `[{ path: $.status, equals: ok }]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub json: Vec<JsonCondition>,
    /// Text the body must contain (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    /// Slowest acceptable answer. Example: `800ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_latency: Option<HumanDuration>,
}

/// A condition on a JSON value selected by a JSONPath (RFC 9535) query. Give one of
/// `equals`, `not_equals`, `exists`, `matches`, `one_of`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonCondition {
    /// JSONPath of the value. Example: `$.status`.
    pub path: String,
    /// The value must equal this (strings are templates). Example: `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<serde_json::Value>,
    /// The value must differ from this (strings are templates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<serde_json::Value>,
    /// `true`: the path must select something; `false`: it must select nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    /// The value (as text) must match this regular expression. Example: `^1\.4\.`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    /// The value must be one of these. Example: `[ok, degraded]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<serde_json::Value>>,
    /// Skip this condition when `equals` renders to an empty string, e.g. for
    /// `"{{ env.EXPECTED_VERSION | default('') }}"` when the variable is unset.
    #[serde(default)]
    pub skip_if_empty: bool,
}

/// A value captured from an answer: a JSONPath, or `{ path, all }`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Capture {
    /// JSONPath of the first match. Example: `$.results[0].id`.
    Path(String),
    /// JSONPath with options.
    Spec(CaptureSpec),
}

/// A capture with options.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureSpec {
    /// JSONPath (RFC 9535). Example: `$.results[*].id`.
    pub path: String,
    /// Keep every match as a list (for the `random` filter) instead of the first one.
    #[serde(default)]
    pub all: bool,
    /// Zero matches is not a failure: the capture becomes an empty list (with `all`) or
    /// null, which `requires:` treats as missing. Without it, a capture that matches
    /// nothing is a `capture` failure, so a mistyped path cannot pass unseen. Example:
    /// `{ path: "$.results[*].id", all: true, allow_empty: true }`.
    #[serde(default)]
    pub allow_empty: bool,
}

/// Wait after a task: `none`, a constant duration (`2s`), or one of `{ constant: 2s }`,
/// `{ between: [1s, 3s] }` (uniform), `{ pacing: 5s }` (each task takes at least this
/// long, wait included), `{ poisson: 2s }` (exponential waits of this mean).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ThinkTime {
    /// `none`, or a constant duration such as `2s`.
    Text(ThinkText),
    /// A think-time rule.
    Rule(ThinkRule),
}

/// `none` or a duration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ThinkText {
    /// No wait.
    None,
    /// A constant wait.
    Constant(HumanDuration),
}

impl TryFrom<String> for ThinkText {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s.trim() == "none" {
            Ok(ThinkText::None)
        } else {
            s.parse().map(ThinkText::Constant)
        }
    }
}

impl From<ThinkText> for String {
    fn from(t: ThinkText) -> String {
        match t {
            ThinkText::None => "none".into(),
            ThinkText::Constant(d) => d.to_string(),
        }
    }
}

impl JsonSchema for ThinkText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ThinkText".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let pattern = format!("^none$|{}", super::units::DURATION_PATTERN);
        json_schema!({
            "title": "think time",
            "type": "string",
            "pattern": pattern,
            "description": "`none`, or a constant wait such as `2s`.",
            "examples": ["none", "2s"],
        })
    }
}

/// A think-time rule; give exactly one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ThinkRule {
    /// The same wait every time. Example: `{ constant: 2s }`.
    Constant(HumanDuration),
    /// A uniformly random wait between two durations. Example: `{ between: [1s, 3s] }`.
    Between([HumanDuration; 2]),
    /// Constant pacing: each task plus its wait takes this long (no wait if the task took
    /// longer). Example: `{ pacing: 5s }`.
    Pacing(HumanDuration),
    /// Exponentially distributed waits with this mean (Poisson arrivals per user).
    /// Example: `{ poisson: 2s }`.
    Poisson(HumanDuration),
}

/// The load shape.
///
/// Closed model: `users` virtual users (started at `spawn_rate`, or along `stages`), each
/// looping over endpoints with `think_time` between tasks. Open model: `arrival_rate`
/// iterations start per second whatever the answers' speed, up to `max_concurrency` at once.
/// The run ends after `duration` (ramp-up included) or after `iterations` tasks in total.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Load {
    /// Closed model: number of virtual users. Example: `50`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
    /// Closed model: how fast users start. Default: all at once. Example: `5/s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spawn_rate: Option<Rate>,
    /// Closed model: ramp the number of users linearly to each stage's `target` over its
    /// `duration`. Example: `[{ target: 20, duration: 1m }, { target: 0, duration: 30s }]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<UserStage>,
    /// Wait after each task (closed model). Default `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_time: Option<ThinkTime>,
    /// Open model: iterations started per unit of time, constant (`50/s`) or staged
    /// (`[{ target: 10/s, duration: 30s }, { target: 100/s, duration: 1m }]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival_rate: Option<ArrivalRate>,
    /// Open model: most iterations in flight at once. An iteration due when this many are
    /// running is dropped (counted, never delayed). Default `1000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    /// How long the load runs, ramp-up included. Example: `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<HumanDuration>,
    /// Stop after this many tasks in total, instead of (or before) `duration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u64>,
    /// Time in-flight tasks get to finish once the load stops. Default `10s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graceful_stop: Option<HumanDuration>,
    /// Seed for every random choice (endpoint picks, think times, `random`), for repeatable
    /// runs. Default: a new seed each run, printed in the summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// A closed-model stage: ramp to `target` users over `duration`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserStage {
    /// Number of users at the end of the stage. Example: `20`.
    pub target: u32,
    /// Length of the stage. Example: `1m`.
    pub duration: HumanDuration,
}

/// An open-model arrival rate: constant or staged.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ArrivalRate {
    /// A constant rate. Example: `50/s`.
    Constant(Rate),
    /// Ramp the rate linearly to each stage's `target` over its `duration`.
    Stages(Vec<RateStage>),
}

/// An open-model stage: ramp to `target` over `duration`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateStage {
    /// Arrival rate at the end of the stage. Example: `100/s`.
    pub target: Rate,
    /// Length of the stage. Example: `1m`.
    pub duration: HumanDuration,
}

/// A service-level assertion: `metric` compared with one threshold, over a scope.
/// Example: `{ metric: p95, scope: each_endpoint, below: 500ms }`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaAssertion {
    /// Name shown in reports. Default: generated from the assertion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What is measured: a latency percentile (`p50`, `p90`, `p95`, `p99`, `p99.9`, `p99.99`,
    /// any `pNN`), `mean`, `min`, `max`, `error_rate`, `rps` (requests per second),
    /// `check_pass_rate`, `dropped_iterations`, or `health_availability` (share of
    /// successful during-load health probes).
    pub metric: SlaMetric,
    /// `aggregate` (all requests together, the default), `each_endpoint`, or `endpoints`
    /// (the ones listed in `endpoints`).
    #[serde(default)]
    pub scope: SlaScope,
    /// With `scope: endpoints`: the endpoint names. Example: `[get_dashboard]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<String>,
    /// With `metric: health_availability`: the health policy. Default: every during-load policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Pass when the measured value is strictly below this. Latencies take a duration
    /// (`500ms`), rates a percentage (`5%`) or rate (`100/s`), counts a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<Scalar>,
    /// Pass when the measured value is at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<Scalar>,
    /// Pass when the measured value is strictly above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<Scalar>,
    /// Pass when the measured value is at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<Scalar>,
    /// Stop the run as soon as this assertion fails (checked every second, after
    /// `abort_delay`). Reports are still written.
    #[serde(default)]
    pub abort_on_fail: bool,
    /// With `abort_on_fail`: do not abort before this much of the run has passed. Example: `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_delay: Option<HumanDuration>,
    /// What a metric with no samples means: `fail`, `skip` or `pass`. Default: `fail` at
    /// aggregate scope and for endpoints named in `endpoints` (an endpoint you name must
    /// run), `skip` (shown as skipped) for `each_endpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_no_data: Option<NoData>,
}

/// A metric an SLA can assert on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SlaMetric {
    /// A latency percentile, 0–100.
    Percentile(f64),
    /// Mean latency.
    Mean,
    /// Fastest answer.
    Min,
    /// Slowest answer.
    Max,
    /// Share of failed requests.
    ErrorRate,
    /// Requests per second.
    Rps,
    /// Share of passed checks.
    CheckPassRate,
    /// Open-model iterations dropped at the concurrency cap.
    DroppedIterations,
    /// Share of successful during-load health probes.
    HealthAvailability,
}

const METRIC_PATTERN: &str = r"^(p[0-9]{1,2}(\.[0-9]+)?|p100|mean|min|max|error_rate|rps|check_pass_rate|dropped_iterations|health_availability)$";

impl TryFrom<String> for SlaMetric {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Ok(match s.as_str() {
            "mean" => SlaMetric::Mean,
            "min" => SlaMetric::Min,
            "max" => SlaMetric::Max,
            "error_rate" => SlaMetric::ErrorRate,
            "rps" => SlaMetric::Rps,
            "check_pass_rate" => SlaMetric::CheckPassRate,
            "dropped_iterations" => SlaMetric::DroppedIterations,
            "health_availability" => SlaMetric::HealthAvailability,
            p if p.starts_with('p') => match p[1..].parse::<f64>() {
                Ok(q) if (0.0..=100.0).contains(&q) => SlaMetric::Percentile(q),
                _ => return Err(format!("`{s}` is not a percentile: write `p95` or `p99.9`")),
            },
            _ => return Err(format!("`{s}` is not a metric")),
        })
    }
}

impl From<SlaMetric> for String {
    fn from(m: SlaMetric) -> String {
        match m {
            SlaMetric::Percentile(q) => format!("p{q}"),
            SlaMetric::Mean => "mean".into(),
            SlaMetric::Min => "min".into(),
            SlaMetric::Max => "max".into(),
            SlaMetric::ErrorRate => "error_rate".into(),
            SlaMetric::Rps => "rps".into(),
            SlaMetric::CheckPassRate => "check_pass_rate".into(),
            SlaMetric::DroppedIterations => "dropped_iterations".into(),
            SlaMetric::HealthAvailability => "health_availability".into(),
        }
    }
}

impl JsonSchema for SlaMetric {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SlaMetric".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "title": "SLA metric",
            "type": "string",
            "pattern": METRIC_PATTERN,
            "description": "A latency percentile (`p50`, `p95`, `p99.9`), `mean`, `min`, `max`, \
                `error_rate`, `rps`, `check_pass_rate`, `dropped_iterations` or `health_availability`.",
            "examples": ["p95", "p99.9", "error_rate", "rps"],
        })
    }
}

/// Which requests an SLA assertion covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaScope {
    /// All requests together.
    #[default]
    Aggregate,
    /// Each endpoint on its own; every one must pass.
    EachEndpoint,
    /// Each endpoint named in `endpoints`.
    Endpoints,
}

/// What a metric with no samples means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoData {
    /// The assertion fails.
    Fail,
    /// The assertion is skipped (shown as skipped).
    Skip,
    /// The assertion passes.
    Pass,
}

/// A health-check policy: a request tried until it meets its expectations or runs out of
/// retries or time.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthPolicy {
    /// The request (templated; no auth is sent). Example: `{ path: /api/v1/health/ }`.
    pub request: Request,
    /// What a healthy answer looks like. Default: a status from 200 to 399.
    #[serde(default)]
    pub expect: Expectations,
    /// Time allowed for each try. Default `5s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HumanDuration>,
    /// Wait before the first try. Default `0s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_delay: Option<HumanDuration>,
    /// Wait between tries (and between during-load probes). Default `2s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<HumanDuration>,
    /// How the wait grows between failed tries. Default: constant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// Failed tries allowed before giving up: attempts = retries + 1. Default `3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Overall time limit for the policy, whatever is left of the retries. Example: `60s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<HumanDuration>,
    /// Consecutive successes needed to pass (like a Kubernetes probe). Default `1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_threshold: Option<u32>,
    /// During the load: consecutive failed probes that count as the target being down.
    /// Default `3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<u32>,
    /// When the policy runs: `before` the load (a gate: never healthy means no load),
    /// `during` it (probes every `interval`), `after` it (verification). `loadplan health`
    /// runs policies alone. Default `[before]`.
    #[serde(default = "default_phases")]
    pub run: Vec<HealthPhase>,
}

fn default_phases() -> Vec<HealthPhase> {
    vec![HealthPhase::Before]
}

/// Growth of the wait between failed health tries.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    /// `constant` (always `interval`) or `exponential` (multiplied by `factor` after each
    /// failed try, up to `max`).
    #[serde(rename = "type")]
    pub kind: BackoffKind,
    /// Multiplier of the exponential backoff. Default `2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// Longest wait of the exponential backoff. Default `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<HumanDuration>,
    /// Random spread added to each wait, as a share of it. Example: `20%`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Percent>,
}

/// Kind of backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackoffKind {
    /// The same wait each time.
    Constant,
    /// A growing wait.
    Exponential,
}

/// When a health policy runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthPhase {
    /// Before the load: a gate.
    Before,
    /// During the load: periodic probes.
    During,
    /// After the load: verification.
    After,
}

/// Report files written by a run, in `--out DIR`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    /// Formats to write: `json` (summary.json), `csv` (Locust-compatible CSVs; their
    /// percentiles are whole milliseconds from loadplan's HDR histograms, where Locust
    /// rounds response times to about 2 significant digits first), `junit`
    /// (junit.xml), `html` (report.html), `markdown` (summary.md), `ndjson` (metrics.ndjson,
    /// written live). Default `[json]`.
    #[serde(default = "default_formats")]
    pub formats: Vec<OutputFormat>,
    /// Prefix of the CSV files: `PREFIX_stats.csv` and so on. Default: none (`stats.csv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv_prefix: Option<String>,
    /// Every row in `stats_history.csv`, each second, as Locust's `--csv-full-history`
    /// writes them; by default only the `Aggregated` rows, as Locust does. Default `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub csv_full_history: bool,
}

impl Default for Outputs {
    fn default() -> Self {
        Outputs {
            formats: default_formats(),
            csv_prefix: None,
            csv_full_history: false,
        }
    }
}

fn default_formats() -> Vec<OutputFormat> {
    vec![OutputFormat::Json]
}

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// summary.json
    Json,
    /// Locust-compatible stats.csv, stats_history.csv, failures.csv, exceptions.csv
    Csv,
    /// junit.xml
    Junit,
    /// report.html
    Html,
    /// summary.md
    Markdown,
    /// metrics.ndjson
    Ndjson,
}
