//! The compiled plan: what the engine, health checks and the conclusion stage read. Every
//! default is applied and every template, JSONPath and expression parsed by the time a
//! value of these types exists.

use std::sync::Arc;
use std::time::Duration;

use std::path::PathBuf;

use serde_json::Value;
use serde_json_path::JsonPath;

use crate::metrics::RowKey;
use crate::plan::model::{self, ConnectionPool, HealthPhase, HttpVersion, Method};
use crate::plan::shard::ShardRun;
use crate::plan::table::Table;
use crate::report::Outputs;
use crate::template::{Templates, Text};

/// A plan ready to run.
#[derive(Debug)]
pub struct CompiledPlan {
    /// Which plan this is, as reports name it.
    pub(crate) meta: PlanMeta,
    /// What every template sees before any user runs: plan variables by name and under
    /// `vars`, and the environment under `env` (read once, when the plan was compiled).
    pub(crate) globals: minijinja::Value,
    /// Every template of the plan.
    pub(crate) templates: Arc<Templates>,
    /// The system under test.
    pub(crate) target: CompiledTarget,
    /// Authentication, if any.
    pub(crate) auth: Option<CompiledAuth>,
    /// Endpoints, in plan order.
    pub(crate) endpoints: Vec<CompiledEndpoint>,
    /// Health policies, in plan order.
    pub(crate) health: Vec<CompiledHealth>,
    /// Load shape.
    pub(crate) load: LoadShape,
    /// Data feeders with their rows.
    pub(crate) feeders: Vec<Feeder>,
    /// Every `env.NAME` a template reads, in plan order.
    pub(crate) env_reads: Vec<EnvRead>,
    /// The rows of the run's metrics, indexed by [`CompiledRequest::row`]: every endpoint
    /// request and step in plan order, then login, refresh and start steps.
    pub(crate) rows: Vec<RowKey>,
    /// The SLA assertions, in plan order.
    pub(crate) sla: Vec<super::CompiledAssertion>,
    /// The reports to write.
    pub(crate) outputs: Outputs,
    /// The shard this process runs (`--shard K/N`); its load is already its share.
    pub(crate) shard: Option<ShardRun>,
}

/// A plan's identity: what reports and summaries name.
#[derive(Debug, Clone)]
pub(crate) struct PlanMeta {
    /// `name`.
    pub name: String,
    /// `description`.
    pub description: Option<String>,
    /// The plan file as named on the command line.
    pub file: String,
    /// SHA-256 (hex) of the plan after overrides, independent of key order and layout.
    pub sha256: String,
}

/// `target`, every default applied and every path resolved.
#[derive(Debug, Clone)]
pub(crate) struct CompiledTarget {
    /// `base_url`, rendered once per run.
    pub base_url: Text,
    /// `headers`.
    pub headers: Vec<(String, Text)>,
    /// Request timeout unless a request sets its own.
    pub timeout: Duration,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Body bytes kept per response.
    pub max_body: u64,
    /// Redirects followed; 0 follows none.
    pub max_redirects: usize,
    /// HTTP versions offered.
    pub http_version: HttpVersion,
    /// TLS settings, paths resolved from the plan's folder.
    pub tls: CompiledTls,
    /// Proxy URL.
    pub proxy: Option<String>,
    /// One pool per user or one for all.
    pub connections: ConnectionPool,
}

/// `target.tls` with its files' paths resolved from the plan's folder.
#[derive(Debug, Clone, Default)]
pub(crate) struct CompiledTls {
    /// Certificates are not verified.
    pub insecure: bool,
    /// Extra CA certificates (PEM).
    pub ca_file: Option<PathBuf>,
    /// Client certificate and key (PEM) for mutual TLS.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

/// One template's read of an environment variable.
#[derive(Debug, Clone)]
pub(crate) struct EnvRead {
    /// The variable (`API_PASSWORD` for `env.API_PASSWORD`).
    pub name: String,
    /// The template's plan pointer (`/auth/login/request/body/json/password`).
    pub pointer: String,
    /// Where the template is written, 1-based.
    pub line: usize,
    /// Column, 1-based.
    pub col: usize,
    /// Whether the template copes with the variable unset (`| default(…)`).
    pub fallback: bool,
}

/// A data feeder: a CSV file's rows, read once.
#[derive(Debug, Clone)]
pub(crate) struct Feeder {
    /// Name (`data.NAME` in templates).
    pub name: String,
    /// Row order.
    pub order: model::FeederOrder,
    /// Its rows and column names.
    pub table: Arc<Table>,
}

/// A request ready to render.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRequest {
    /// Name in reports: `endpoint` or `endpoint/step`.
    pub label: String,
    /// HTTP method.
    pub method: Method,
    /// A path joined to the base URL, or a full URL.
    pub target: RequestTarget,
    /// Query parameters.
    pub query: Vec<(String, Text)>,
    /// Headers (plan defaults are not included here).
    pub headers: Vec<(String, Text)>,
    /// Body.
    pub body: Body,
    /// Timeout for this request, when it has its own.
    pub timeout: Option<Duration>,
    /// Checks on the answer.
    pub checks: CompiledChecks,
    /// Captures from the answer.
    pub captures: Vec<CompiledCapture>,
    /// Captures a flow step needs: without them it is skipped, not sent.
    pub requires: Vec<String>,
    /// The request's row in the run's metrics ([`CompiledPlan::rows`]); none for a health
    /// policy's request, which is measured apart.
    pub row: Option<usize>,
}

/// Where a request goes.
#[derive(Debug, Clone)]
pub(crate) enum RequestTarget {
    /// Joined to the base URL.
    Path(Text),
    /// Used as is.
    Url(Text),
}

/// A request body.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// No body.
    None,
    /// JSON; strings may be templates.
    Json(JsonTemplate),
    /// URL-encoded form.
    Form(Vec<(String, Text)>),
    /// Multipart form: text parts and files.
    Multipart(Vec<(String, Part)>),
    /// Raw text.
    Raw(Text),
}

/// One multipart part.
#[derive(Debug, Clone)]
pub(crate) enum Part {
    /// Text value.
    Text(Text),
    /// A file's bytes, read at compile time.
    File {
        name: String,
        bytes: Arc<[u8]>,
        content_type: Option<String>,
    },
}

/// A JSON value whose strings may be templates. A fully static one is pre-serialized.
#[derive(Debug, Clone)]
pub(crate) enum JsonTemplate {
    /// No templates inside: the serialized bytes.
    Static(bytes::Bytes),
    /// An object.
    Object(Vec<(String, JsonTemplate)>),
    /// An array.
    Array(Vec<JsonTemplate>),
    /// A templated string.
    Text(Text),
    /// A non-string leaf or static string inside a templated structure.
    Leaf(Value),
}

/// Checks on an answer.
#[derive(Debug, Clone, Default)]
pub(crate) struct CompiledChecks {
    /// Accepted statuses; empty means "below 400" (or 200–399 for health).
    pub status: Vec<u16>,
    /// JSON conditions.
    pub json: Vec<CompiledCondition>,
    /// Text the body must contain.
    pub body_contains: Option<Text>,
    /// Slowest acceptable answer.
    pub max_latency: Option<Duration>,
}

/// A JSON condition.
#[derive(Debug, Clone)]
pub(crate) struct CompiledCondition {
    /// The query as written, for messages.
    pub path_text: String,
    /// The parsed query.
    pub path: JsonPath,
    /// The test.
    pub test: ConditionTest,
}

/// The test of a JSON condition.
#[derive(Debug, Clone)]
pub(crate) enum ConditionTest {
    /// Equals the value (strings rendered); skipped when it renders empty and `skip_if_empty`.
    Equals {
        value: JsonTemplate,
        skip_if_empty: bool,
    },
    /// Differs from the value.
    NotEquals(JsonTemplate),
    /// Selects something (`true`) or nothing (`false`).
    Exists(bool),
    /// Text matches.
    Matches(regex::Regex),
    /// One of these values.
    OneOf(Vec<Value>),
}

/// A capture.
#[derive(Debug, Clone)]
pub(crate) struct CompiledCapture {
    /// Variable name.
    pub name: String,
    /// Query.
    pub path: JsonPath,
    /// Keep every match as a list.
    pub all: bool,
    /// Zero matches is not a failure.
    pub allow_empty: bool,
}

/// An endpoint.
#[derive(Debug, Clone)]
pub(crate) struct CompiledEndpoint {
    /// Name.
    pub name: String,
    /// Weight.
    pub weight: u32,
    /// Captures needed first.
    pub requires: Vec<String>,
    /// Own think time.
    pub think_time: Option<Think>,
    /// One request, or the steps of a flow.
    pub requests: Vec<CompiledRequest>,
}

/// Authentication.
#[derive(Debug, Clone)]
pub(crate) struct CompiledAuth {
    /// Login request (absent with basic auth).
    pub login: Option<CompiledRequest>,
    /// Basic credentials.
    pub basic: Option<(Text, Text)>,
    /// Extraction from the login answer.
    pub extract: Vec<(String, JsonPath)>,
    /// The extracted values that may say when the credentials expire, in order of
    /// precedence (see [`DEFAULT_EXPIRES_FROM`]).
    pub expires_from: Vec<String>,
    /// Headers applied after login.
    pub apply_headers: Vec<(String, Text)>,
    /// Query applied after login.
    pub apply_query: Vec<(String, Text)>,
    /// Refresh rules.
    pub refresh: Option<CompiledRefresh>,
    /// Shared by all users.
    pub shared: bool,
    /// Start steps.
    pub on_start: Vec<CompiledRequest>,
}

/// Where the credentials' expiry is read when the plan does not say (`expires_from`): an
/// `expires_in` answer field wins over the `exp` claim of the `access` JWT, which is all
/// djangorestframework-simplejwt sends.
pub(crate) const DEFAULT_EXPIRES_FROM: [&str; 2] = ["expires_in", "access"];

/// Refresh rules.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRefresh {
    /// Statuses that trigger a refresh and one retry.
    pub on_status: Vec<u16>,
    /// Margin before expiry.
    pub before_expiry: Option<Duration>,
    /// Fixed interval.
    pub every: Option<Duration>,
    /// Refresh request; `None` logs in again.
    pub request: Option<CompiledRequest>,
    /// Extraction from the refresh answer.
    pub extract: Vec<(String, JsonPath)>,
}

/// Think time between tasks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Think {
    /// None.
    None,
    /// Constant.
    Constant(Duration),
    /// Uniform between two bounds.
    Between(Duration, Duration),
    /// Constant pacing.
    Pacing(Duration),
    /// Exponential with this mean.
    Poisson(Duration),
}

/// The load shape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LoadShape {
    /// Closed or open model.
    pub model: LoadModel,
    /// Run length, ramp-up included (`None` with only `iterations` or staged shapes).
    pub duration: Option<Duration>,
    /// Total tasks.
    pub iterations: Option<u64>,
    /// Time in-flight work gets at the end.
    pub graceful_stop: Duration,
    /// Seed.
    pub seed: Option<u64>,
}

impl LoadShape {
    /// Most users (closed model) or iterations in flight (open model) at once.
    pub(crate) fn max_users(&self) -> u64 {
        match &self.model {
            LoadModel::Closed { stages, .. } => {
                stages.iter().map(|s| u64::from(s.0)).max().unwrap_or(1)
            }
            LoadModel::Open {
                max_concurrency, ..
            } => u64::from(*max_concurrency),
        }
    }
}

/// Closed or open model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LoadModel {
    /// A fixed population of users.
    Closed {
        /// Users over time: (target, ramp duration) stages; a steady load is one stage.
        stages: Vec<(u32, Duration)>,
        /// The ramp starts at one user (`users` + `spawn_rate`, as Locust does) rather than
        /// at zero (`stages`).
        from_one: bool,
        /// Think time.
        think: Think,
    },
    /// Iterations on a schedule.
    Open {
        /// Rate (per second) over time: (target, ramp duration) stages; constant is one
        /// stage of zero ramp.
        stages: Vec<(f64, Duration)>,
        /// Most iterations at once.
        max_concurrency: u32,
    },
}

/// A health policy.
#[derive(Debug, Clone)]
pub(crate) struct CompiledHealth {
    /// Name.
    pub name: String,
    /// The request.
    pub request: CompiledRequest,
    /// Per-try timeout.
    pub timeout: Duration,
    /// Wait before the first try.
    pub initial_delay: Duration,
    /// Wait between tries.
    pub interval: Duration,
    /// Exponential factor (1 = constant), cap and jitter share.
    pub backoff: (f64, Duration, f64),
    /// Retries after the first try.
    pub retries: u32,
    /// Overall deadline.
    pub deadline: Option<Duration>,
    /// Consecutive successes to pass.
    pub success_threshold: u32,
    /// Consecutive failures that fail a during-load probe.
    pub failure_threshold: u32,
    /// When it runs.
    pub run: Vec<HealthPhase>,
}
