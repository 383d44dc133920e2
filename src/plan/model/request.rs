//! Requests and endpoints: what is sent, how it is checked, what it captures.

use super::*;

/// An HTTP request. Strings are minijinja templates: `{{ vars.x }}`, `{{ auth.access }}`,
/// a capture by name, `{{ env.NAME }}`, `{{ data.feeder.column }}`, and helpers
/// `random_int(a, b)`, `uuid()`, `now()`, `user_id`, `iteration`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Request {
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
pub(crate) enum Method {
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
    pub(crate) fn as_str(self) -> &'static str {
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
pub(crate) struct MultipartPart {
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
pub(crate) struct Endpoint {
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
    /// reported as `ENDPOINT/STEP` (stats.csv, summary.json's `rows`), and as a row indented
    /// under the endpoint's in the terminal, HTML and Markdown tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<Step>>,
}

fn default_weight() -> u32 {
    1
}

/// One request of a flow.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Step {
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
pub(crate) struct Expectations {
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
pub(crate) struct JsonCondition {
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
pub(crate) enum Capture {
    /// JSONPath of the first match. Example: `$.results[0].id`.
    Path(String),
    /// JSONPath with options.
    Spec(CaptureSpec),
}

/// A capture with options.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaptureSpec {
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
