//! Plan → [`CompiledPlan`]: what the engine and health checks run. Templates are compiled
//! once here and the variables they read are checked against what will exist at run time;
//! JSONPath queries and regular expressions are parsed once; units become `Duration`s and
//! numbers. Nothing after this stage looks at YAML or at the plan types' optional fields.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use serde_json_path::JsonPath;

use super::Reporter;
use super::Source;
use super::diagnostic::suggest;
use super::model::{
    self, ArrivalRate, Capture, Expectations, HealthPhase, Method, Plan, Request, ThinkRule,
    ThinkText, ThinkTime,
};
use super::table::Table;
use super::validate::capture_names;
use super::yaml::escape_segment;
use crate::template::{GLOBALS, Templates, Text};

/// Request timeout when the plan sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Body bytes kept per response when the plan sets no `max_body`.
pub const DEFAULT_MAX_BODY: u64 = 10 << 20;

/// A plan ready to run.
#[derive(Debug)]
pub struct CompiledPlan {
    /// The plan as written, overrides applied (reports show its SLA section and name).
    pub plan: Plan,
    /// The document after overrides, for the plan hash.
    pub document: Value,
    /// The plan file as named on the command line.
    pub file: String,
    /// The folder relative paths in the plan (CA and client certificates) start from.
    pub dir: std::path::PathBuf,
    /// Every template of the plan.
    pub templates: Arc<Templates>,
    /// `target.base_url`, rendered once per run.
    pub base_url: Text,
    /// `target.headers`.
    pub headers: Vec<(String, Text)>,
    /// Request timeout unless a request sets its own.
    pub timeout: Duration,
    /// Body bytes kept per response.
    pub max_body: u64,
    /// Authentication, if any.
    pub auth: Option<CompiledAuth>,
    /// Endpoints, in plan order.
    pub endpoints: Vec<CompiledEndpoint>,
    /// Health policies, in plan order.
    pub health: Vec<CompiledHealth>,
    /// Load shape.
    pub load: LoadShape,
    /// Data feeders with their rows.
    pub feeders: Vec<Feeder>,
    /// Every `env.NAME` a template reads, in plan order.
    pub env_reads: Vec<EnvRead>,
}

/// One template's read of an environment variable.
#[derive(Debug, Clone)]
pub struct EnvRead {
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
pub struct Feeder {
    /// Name (`data.NAME` in templates).
    pub name: String,
    /// Row order.
    pub order: model::FeederOrder,
    /// Its rows and column names.
    pub table: Arc<Table>,
}

/// A request ready to render.
#[derive(Debug, Clone)]
pub struct CompiledRequest {
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
}

/// Where a request goes.
#[derive(Debug, Clone)]
pub enum RequestTarget {
    /// Joined to the base URL.
    Path(Text),
    /// Used as is.
    Url(Text),
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
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
pub enum Part {
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
pub enum JsonTemplate {
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
pub struct CompiledChecks {
    /// Accepted statuses; empty means "below 400" (or 200–399 for health).
    pub status: Vec<u16>,
    /// JSON conditions.
    pub json: Vec<CompiledCondition>,
    /// Text the body must contain.
    pub body_contains: Option<Text>,
    /// Slowest acceptable answer.
    pub max_latency: Option<Duration>,
}

impl CompiledChecks {
    /// Whether any check was declared (without checks, status ≥ 400 fails).
    pub fn is_empty(&self) -> bool {
        self.status.is_empty()
            && self.json.is_empty()
            && self.body_contains.is_none()
            && self.max_latency.is_none()
    }
}

/// A JSON condition.
#[derive(Debug, Clone)]
pub struct CompiledCondition {
    /// The query as written, for messages.
    pub path_text: String,
    /// The parsed query.
    pub path: JsonPath,
    /// The test.
    pub test: ConditionTest,
}

/// The test of a JSON condition.
#[derive(Debug, Clone)]
pub enum ConditionTest {
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
pub struct CompiledCapture {
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
pub struct CompiledEndpoint {
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
pub struct CompiledAuth {
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
pub const DEFAULT_EXPIRES_FROM: [&str; 2] = ["expires_in", "access"];

/// Refresh rules.
#[derive(Debug, Clone)]
pub struct CompiledRefresh {
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
pub enum Think {
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
pub struct LoadShape {
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
    pub fn max_users(&self) -> u64 {
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
pub enum LoadModel {
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
pub struct CompiledHealth {
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

/// What the templates of one part of the plan may read.
struct Scope<'a> {
    auth: bool,
    captures: bool,
    what: &'a str,
}

struct Compiler<'a> {
    templates: Templates,
    r: &'a mut Reporter,
    dir: &'a std::path::Path,
    variables: Vec<String>,
    captures: BTreeSet<String>,
    auth_keys: Vec<String>,
    feeders: Vec<String>,
    loaded_feeders: Vec<Feeder>,
    env_reads: Vec<EnvRead>,
    /// What templates see before any user runs, to try the ones that read nothing else.
    globals: minijinja::Value,
}

/// Compiles a plan that passed the schema and the checks of meaning; problems go to `r`.
pub fn compile(plan: Plan, source: &Source, r: &mut Reporter) -> CompiledPlan {
    let mut c = Compiler {
        templates: Templates::new(),
        r,
        dir: &source.dir,
        variables: plan.variables.keys().cloned().collect(),
        captures: capture_names(&plan),
        auth_keys: plan
            .auth
            .iter()
            .flat_map(|a| a.extract.keys().cloned())
            .collect(),
        feeders: plan.data.keys().cloned().collect(),
        loaded_feeders: Vec::new(),
        env_reads: Vec::new(),
        globals: crate::template::globals(&plan.variables),
    };
    c.loaded_feeders = plan
        .data
        .iter()
        .filter_map(|(name, f)| read_feeder(name, f, &source.dir, c.r))
        .collect();
    let base = Scope {
        auth: false,
        captures: false,
        what: "`target`",
    };
    let user = Scope {
        auth: true,
        captures: true,
        what: "an endpoint",
    };
    let base_url = c.text("/target/base_url", &plan.target.base_url, &base);
    let headers = c.pairs(
        "/target/headers",
        plan.target.headers.iter().map(|(k, v)| (k, v.to_text())),
        &base,
    );
    let auth = plan.auth.as_ref().map(|a| c.auth(a));
    let endpoints = plan
        .endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let at = format!("/endpoints/{i}");
            let requests = match (&e.request, &e.steps) {
                (Some(req), _) => vec![c.request(
                    &e.name,
                    req,
                    e.check.as_ref(),
                    &e.capture,
                    &format!("{at}/request"),
                    &user,
                )],
                (None, Some(steps)) => steps
                    .iter()
                    .enumerate()
                    .map(|(j, s)| CompiledRequest {
                        requires: s.requires.clone(),
                        ..c.request(
                            &format!("{}/{}", e.name, s.name),
                            &s.request,
                            s.check.as_ref(),
                            &s.capture,
                            &format!("{at}/steps/{j}/request"),
                            &user,
                        )
                    })
                    .collect(),
                (None, None) => Vec::new(),
            };
            CompiledEndpoint {
                name: e.name.clone(),
                weight: e.weight,
                requires: e.requires.clone(),
                think_time: e.think_time.as_ref().map(think),
                requests,
            }
        })
        .collect();
    let health = plan
        .health
        .iter()
        .map(|(name, p)| {
            let at = format!("/health/{}", escape_segment(name));
            let scope = Scope {
                auth: false,
                captures: false,
                what: "a health policy",
            };
            let request = c.request(
                name,
                &p.request,
                Some(&p.expect),
                &Default::default(),
                &format!("{at}/request"),
                &scope,
            );
            let exponential = p
                .backoff
                .as_ref()
                .filter(|b| b.kind == model::BackoffKind::Exponential);
            CompiledHealth {
                name: name.clone(),
                request,
                timeout: p
                    .timeout
                    .as_ref()
                    .map_or(Duration::from_secs(5), |d| d.get()),
                initial_delay: p.initial_delay.as_ref().map_or(Duration::ZERO, |d| d.get()),
                interval: p
                    .interval
                    .as_ref()
                    .map_or(Duration::from_secs(2), |d| d.get()),
                backoff: (
                    exponential.map_or(1.0, |b| b.factor.unwrap_or(2.0)),
                    p.backoff
                        .as_ref()
                        .and_then(|b| b.max.as_ref())
                        .map_or(Duration::from_secs(30), |d| d.get()),
                    p.backoff
                        .as_ref()
                        .and_then(|b| b.jitter.as_ref())
                        .map_or(0.0, |j| j.get()),
                ),
                retries: p.retries.unwrap_or(3),
                deadline: p.deadline.as_ref().map(|d| d.get()),
                success_threshold: p.success_threshold.unwrap_or(1),
                failure_threshold: p.failure_threshold.unwrap_or(3),
                run: p.run.clone(),
            }
        })
        .collect();
    let load = load_shape(&plan.load);
    let feeders = std::mem::take(&mut c.loaded_feeders);
    check_unique_feeders(&feeders, &load, c.r);
    CompiledPlan {
        feeders,
        env_reads: std::mem::take(&mut c.env_reads),
        timeout: plan
            .target
            .timeout
            .as_ref()
            .map_or(DEFAULT_TIMEOUT, |d| d.get()),
        max_body: plan
            .target
            .max_body
            .as_ref()
            .map_or(DEFAULT_MAX_BODY, |b| b.get()),
        file: source.file.clone(),
        dir: source.dir.clone(),
        document: source.value.clone(),
        templates: Arc::new(c.templates),
        base_url,
        headers,
        auth,
        endpoints,
        health,
        load,
        plan,
    }
}

fn think(t: &ThinkTime) -> Think {
    match t {
        ThinkTime::Text(ThinkText::None) => Think::None,
        ThinkTime::Text(ThinkText::Constant(d)) | ThinkTime::Rule(ThinkRule::Constant(d)) => {
            Think::Constant(d.get())
        }
        ThinkTime::Rule(ThinkRule::Between([a, b])) => {
            Think::Between(a.get().min(b.get()), a.get().max(b.get()))
        }
        ThinkTime::Rule(ThinkRule::Pacing(d)) => Think::Pacing(d.get()),
        ThinkTime::Rule(ThinkRule::Poisson(d)) => Think::Poisson(d.get()),
    }
}

fn load_shape(l: &model::Load) -> LoadShape {
    let duration = l.duration.as_ref().map(|d| d.get());
    let model = match &l.arrival_rate {
        Some(rate) => LoadModel::Open {
            stages: match rate {
                ArrivalRate::Constant(r) => vec![(r.get(), Duration::ZERO)],
                ArrivalRate::Stages(s) => s
                    .iter()
                    .map(|s| (s.target.get(), s.duration.get()))
                    .collect(),
            },
            max_concurrency: l.max_concurrency.unwrap_or(1000),
        },
        None => LoadModel::Closed {
            stages: if l.stages.is_empty() {
                let users = l.users.unwrap_or(1);
                // Starting `users` at `spawn_rate` is a linear ramp of users / rate seconds.
                let ramp = l.spawn_rate.as_ref().map_or(Duration::ZERO, |r| {
                    Duration::from_secs_f64(f64::from(users.saturating_sub(1)) / r.get().max(1e-9))
                });
                vec![(users, ramp)]
            } else {
                l.stages
                    .iter()
                    .map(|s| (s.target, s.duration.get()))
                    .collect()
            },
            from_one: l.stages.is_empty(),
            think: l.think_time.as_ref().map_or(Think::None, think),
        },
    };
    LoadShape {
        model,
        duration,
        iterations: l.iterations,
        graceful_stop: l
            .graceful_stop
            .as_ref()
            .map_or(Duration::from_secs(10), |d| d.get()),
        seed: l.seed,
    }
}

impl Compiler<'_> {
    fn auth(&mut self, a: &model::Auth) -> CompiledAuth {
        let login_scope = Scope {
            auth: false,
            captures: false,
            what: "the login request",
        };
        let user = Scope {
            auth: true,
            captures: true,
            what: "`auth`",
        };
        let after_login = Scope {
            auth: true,
            captures: false,
            what: "`auth`",
        };
        let no_checks = Default::default();
        CompiledAuth {
            login: a
                .login
                .as_ref()
                .map(|l| self.request("login", l, None, &no_checks, "/auth/login", &login_scope)),
            basic: a.basic.as_ref().map(|b| {
                (
                    self.text("/auth/basic/username", &b.username, &login_scope),
                    self.text("/auth/basic/password", &b.password, &login_scope),
                )
            }),
            extract: self.paths("/auth/extract", &a.extract),
            expires_from: match a.refresh.as_ref().and_then(|r| r.expires_from.as_ref()) {
                Some(name) => vec![name.clone()],
                None => DEFAULT_EXPIRES_FROM.map(String::from).to_vec(),
            },
            apply_headers: a.apply.as_ref().map_or_else(Vec::new, |ap| {
                self.pairs(
                    "/auth/apply/headers",
                    ap.headers.iter().map(|(k, v)| (k, v.clone())),
                    &after_login,
                )
            }),
            apply_query: a.apply.as_ref().map_or_else(Vec::new, |ap| {
                self.pairs(
                    "/auth/apply/query",
                    ap.query.iter().map(|(k, v)| (k, v.clone())),
                    &after_login,
                )
            }),
            refresh: a.refresh.as_ref().map(|rf| CompiledRefresh {
                on_status: rf.on_status.clone(),
                before_expiry: rf.before_expiry.as_ref().map(|d| d.get()),
                every: rf.every.as_ref().map(|d| d.get()),
                request: rf.request.as_ref().map(|req| {
                    self.request(
                        "refresh",
                        req,
                        None,
                        &no_checks,
                        "/auth/refresh/request",
                        &after_login,
                    )
                }),
                extract: if rf.extract.is_empty() {
                    self.paths("/auth/extract", &a.extract)
                } else {
                    self.paths("/auth/refresh/extract", &rf.extract)
                },
            }),
            shared: a.scope == model::AuthScope::Shared,
            on_start: a
                .on_start
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    self.request(
                        &format!("on_start/{}", s.name),
                        &s.request,
                        s.check.as_ref(),
                        &s.capture,
                        &format!("/auth/on_start/{i}/request"),
                        &user,
                    )
                })
                .collect(),
        }
    }

    fn paths(
        &mut self,
        at: &str,
        map: &indexmap::IndexMap<String, String>,
    ) -> Vec<(String, JsonPath)> {
        map.iter()
            .filter_map(|(k, p)| {
                Some((
                    k.clone(),
                    self.json_path(&format!("{at}/{}", escape_segment(k)), p)?,
                ))
            })
            .collect()
    }

    fn json_path(&mut self, at: &str, text: &str) -> Option<JsonPath> {
        match JsonPath::parse(text) {
            Ok(p) => Some(p),
            Err(e) => {
                self.r.value(
                    at,
                    &format!("`{text}` is not a JSONPath query: {e}"),
                    "JSONPath (RFC 9535) starts with `$`, e.g. `$.results[*].id`",
                );
                None
            }
        }
    }

    fn request(
        &mut self,
        label: &str,
        req: &Request,
        checks: Option<&Expectations>,
        captures: &indexmap::IndexMap<String, Capture>,
        at: &str,
        scope: &Scope<'_>,
    ) -> CompiledRequest {
        let target = match (&req.path, &req.url) {
            (_, Some(url)) => RequestTarget::Url(self.text(&format!("{at}/url"), url, scope)),
            (Some(path), None) => {
                RequestTarget::Path(self.text(&format!("{at}/path"), path, scope))
            }
            (None, None) => RequestTarget::Path(Text::Static("/".into())),
        };
        let body = if let Some(json) = &req.json {
            Body::Json(self.json(&format!("{at}/json"), json, scope))
        } else if let Some(form) = &req.form {
            Body::Form(self.pairs(
                &format!("{at}/form"),
                form.iter().map(|(k, v)| (k, v.to_text())),
                scope,
            ))
        } else if let Some(parts) = &req.multipart {
            Body::Multipart(
                parts
                    .iter()
                    .map(|(name, p)| {
                        let pat = format!("{at}/multipart/{}", escape_segment(name));
                        let part = match (&p.value, &p.file) {
                            (_, Some(file)) => match read_regular_file(&self.dir.join(file)) {
                                Ok(bytes) => Part::File {
                                    name: file
                                        .file_name()
                                        .map(|f| f.to_string_lossy().into_owned())
                                        .unwrap_or_default(),
                                    bytes: bytes.into(),
                                    content_type: p.content_type.clone(),
                                },
                                Err(e) => {
                                    self.r.value(
                                        &format!("{pat}/file"),
                                        &format!("cannot read `{}`: {e}", file.display()),
                                        "paths are relative to the plan file",
                                    );
                                    Part::Text(Text::Static("".into()))
                                }
                            },
                            (Some(v), None) => {
                                Part::Text(self.text(&format!("{pat}/value"), v, scope))
                            }
                            (None, None) => Part::Text(Text::Static("".into())),
                        };
                        (name.clone(), part)
                    })
                    .collect(),
            )
        } else if let Some(raw) = &req.body {
            Body::Raw(self.text(&format!("{at}/body"), raw, scope))
        } else {
            Body::None
        };
        let parent = at.strip_suffix("/request").unwrap_or(at);
        let check_at = if parent.starts_with("/health/") {
            format!("{parent}/expect")
        } else {
            format!("{parent}/check")
        };
        CompiledRequest {
            label: label.to_owned(),
            method: req.method,
            target,
            query: self.pairs(
                &format!("{at}/query"),
                req.query.iter().map(|(k, v)| (k, v.to_text())),
                scope,
            ),
            headers: self.pairs(
                &format!("{at}/headers"),
                req.headers.iter().map(|(k, v)| (k, v.to_text())),
                scope,
            ),
            body,
            timeout: req.timeout.as_ref().map(|d| d.get()),
            checks: checks
                .map(|c| self.checks(&check_at, c, scope))
                .unwrap_or_default(),
            captures: captures
                .iter()
                .filter_map(|(name, cap)| {
                    let (path, all, allow_empty) = match cap {
                        Capture::Path(p) => (p, false, false),
                        Capture::Spec(s) => (&s.path, s.all, s.allow_empty),
                    };
                    let cat = format!("{parent}/capture/{}", escape_segment(name));
                    let cat = if matches!(cap, Capture::Spec(_)) {
                        format!("{cat}/path")
                    } else {
                        cat
                    };
                    Some(CompiledCapture {
                        name: name.clone(),
                        path: self.json_path(&cat, path)?,
                        all,
                        allow_empty,
                    })
                })
                .collect(),
            requires: Vec::new(),
        }
    }

    fn checks(&mut self, at: &str, c: &Expectations, scope: &Scope<'_>) -> CompiledChecks {
        CompiledChecks {
            status: c.status.clone(),
            json: c
                .json
                .iter()
                .enumerate()
                .filter_map(|(i, cond)| {
                    let cat = format!("{at}/json/{i}");
                    let path = self.json_path(&format!("{cat}/path"), &cond.path)?;
                    let test = if let Some(v) = &cond.equals {
                        ConditionTest::Equals {
                            value: self.json(&format!("{cat}/equals"), v, scope),
                            skip_if_empty: cond.skip_if_empty,
                        }
                    } else if let Some(v) = &cond.not_equals {
                        ConditionTest::NotEquals(self.json(&format!("{cat}/not_equals"), v, scope))
                    } else if let Some(e) = cond.exists {
                        ConditionTest::Exists(e)
                    } else if let Some(m) = &cond.matches {
                        match regex::Regex::new(m) {
                            Ok(re) => ConditionTest::Matches(re),
                            Err(e) => {
                                self.r.value(
                                    &format!("{cat}/matches"),
                                    &format!("`{m}` is not a regular expression: {e}"),
                                    "see https://docs.rs/regex for the syntax",
                                );
                                return None;
                            }
                        }
                    } else {
                        ConditionTest::OneOf(cond.one_of.clone().unwrap_or_default())
                    };
                    Some(CompiledCondition {
                        path_text: cond.path.clone(),
                        path,
                        test,
                    })
                })
                .collect(),
            body_contains: c
                .body_contains
                .as_ref()
                .map(|b| self.text(&format!("{at}/body_contains"), b, scope)),
            max_latency: c.max_latency.as_ref().map(|d| d.get()),
        }
    }

    fn json(&mut self, at: &str, v: &Value, scope: &Scope<'_>) -> JsonTemplate {
        let t = self.json_inner(at, v, scope);
        match t {
            JsonTemplate::Leaf(v) => {
                JsonTemplate::Static(serde_json::to_vec(&v).unwrap_or_default().into())
            }
            other if !has_template(&other) => {
                JsonTemplate::Static(serde_json::to_vec(v).unwrap_or_default().into())
            }
            other => other,
        }
    }

    fn json_inner(&mut self, at: &str, v: &Value, scope: &Scope<'_>) -> JsonTemplate {
        match v {
            Value::String(s) => match self.text(at, s, scope) {
                Text::Static(_) => JsonTemplate::Leaf(v.clone()),
                t => JsonTemplate::Text(t),
            },
            Value::Array(items) => JsonTemplate::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| self.json_inner(&format!("{at}/{i}"), x, scope))
                    .collect(),
            ),
            Value::Object(map) => JsonTemplate::Object(
                map.iter()
                    .map(|(k, x)| {
                        (
                            k.clone(),
                            self.json_inner(&format!("{at}/{}", escape_segment(k)), x, scope),
                        )
                    })
                    .collect(),
            ),
            other => JsonTemplate::Leaf(other.clone()),
        }
    }

    fn pairs(
        &mut self,
        at: &str,
        items: impl Iterator<Item = (impl AsRef<str>, String)>,
        scope: &Scope<'_>,
    ) -> Vec<(String, Text)> {
        items
            .map(|(k, v)| {
                let k = k.as_ref().to_owned();
                let t = self.text(&format!("{at}/{}", escape_segment(&k)), &v, scope);
                (k, t)
            })
            .collect()
    }

    /// Compiles one template string and checks every variable it reads.
    fn text(&mut self, at: &str, source: &str, scope: &Scope<'_>) -> Text {
        let text = match self.templates.add(at, source) {
            Ok(t) => t,
            Err(e) => {
                let line = if e.line > 1 {
                    format!(" (line {} of the template)", e.line)
                } else {
                    String::new()
                };
                self.r.value(
                    at,
                    &format!("template error{line}: {}", e.message),
                    "minijinja syntax: `{{ name }}` for a value, `{{ xs | random }}` for a filter",
                );
                return Text::Static("".into());
            }
        };
        for (root, full) in self.templates.variables(&text) {
            if let Some(problem) = self.unknown_variable(&root, &full, scope) {
                self.r.value(at, &problem.0, &problem.1);
            }
            if let ("env", Some(name)) = (root.as_str(), full.split('.').nth(1)) {
                let pos = self.r.positions.value(at);
                self.env_reads.push(EnvRead {
                    name: name.to_owned(),
                    pointer: at.to_owned(),
                    line: pos.line,
                    col: pos.col,
                    fallback: self.templates.env_has_fallback(&text, name),
                });
            }
        }
        if let Some(problem) = self.templates.static_budget_error(&text, &self.globals) {
            self.r.value(
                at,
                &format!("template: {problem}"),
                "templates are bounded per render (docs/security.md): loop over less, or \
                 move large data to a CSV feeder",
            );
        }
        text
    }

    fn unknown_variable(
        &self,
        root: &str,
        full: &str,
        scope: &Scope<'_>,
    ) -> Option<(String, String)> {
        let member = full.split('.').nth(1);
        match root {
            "auth" if !scope.auth => Some((
                format!(
                    "{} cannot use `auth`: it is only known after login",
                    scope.what
                ),
                "use `auth.*` in endpoints, `auth.apply` and `auth.refresh`".into(),
            )),
            "auth" => match member {
                Some(m) if !self.auth_keys.iter().any(|k| k == m) => {
                    let known: Vec<&str> = self.auth_keys.iter().map(String::as_str).collect();
                    Some((
                        format!("`auth.{m}` is not extracted by `auth.extract`"),
                        suggest(m, &known),
                    ))
                }
                _ => None,
            },
            "data" => match member {
                Some(m) if !self.feeders.iter().any(|k| k == m) => {
                    let known: Vec<&str> = self.feeders.iter().map(String::as_str).collect();
                    Some((
                        format!("`data.{m}` is not a data feeder of this plan"),
                        suggest(m, &known),
                    ))
                }
                Some(m) => {
                    let column = full.split('.').nth(2)?;
                    let feeder = self.loaded_feeders.iter().find(|f| f.name == m)?;
                    let known: Vec<&str> =
                        feeder.table.columns().iter().map(String::as_str).collect();
                    (!known.contains(&column)).then(|| {
                        (
                            format!("`data.{m}.{column}`: the CSV file has no column `{column}`"),
                            suggest(column, &known),
                        )
                    })
                }
                None => None,
            },
            "vars" => match member {
                Some(m) if !self.variables.iter().any(|k| k == m) => {
                    let known: Vec<&str> = self.variables.iter().map(String::as_str).collect();
                    Some((
                        format!("`vars.{m}` is not in `variables`"),
                        suggest(m, &known),
                    ))
                }
                _ => None,
            },
            r if GLOBALS.contains(&r) || self.variables.iter().any(|v| v == r) => None,
            r if self.captures.contains(r) => (!scope.captures).then(|| {
                (
                    format!(
                        "{} cannot use the capture `{r}`: captures belong to a user's session",
                        scope.what
                    ),
                    "use a variable or `env.*` here".into(),
                )
            }),
            r => {
                let mut known: Vec<&str> = GLOBALS
                    .iter()
                    .copied()
                    .filter(|g| !["range", "dict", "namespace"].contains(g))
                    .collect();
                known.extend(self.variables.iter().map(String::as_str));
                if scope.captures {
                    known.extend(self.captures.iter().map(String::as_str));
                }
                Some((
                    format!("unknown template variable `{r}`"),
                    suggest(r, &known),
                ))
            }
        }
    }
}

/// Reads a feeder's CSV file (first line: column names).
fn read_feeder(
    name: &str,
    f: &model::DataFeeder,
    dir: &std::path::Path,
    r: &mut Reporter,
) -> Option<Feeder> {
    let at = format!("/data/{}/file", escape_segment(name));
    let path = dir.join(&f.file);
    // A missing file is already reported by the checks of meaning.
    // Streamed: the table is the only copy of the file in memory.
    let file = open_regular_file(&path).ok()?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(std::io::BufReader::new(file));
    let columns: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_owned).collect(),
        Err(e) => {
            r.value(
                &at,
                &format!("`{}` is not a readable CSV file: {e}", f.file.display()),
                "the first line names the columns, separated by commas",
            );
            return None;
        }
    };
    let mut table = Table::new(columns);
    // One record buffer for every row: the table copies its cells, so nothing is kept per row.
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                if table.push_row(record.iter()).is_err() {
                    r.value(
                        &at,
                        &format!("`{}` holds over 4 GiB of cells", f.file.display()),
                        "split the file",
                    );
                    return None;
                }
            }
            Err(e) => {
                r.value(
                    &at,
                    &format!("`{}`: {e}", f.file.display()),
                    "every row needs as many fields as the header line",
                );
                return None;
            }
        }
    }
    if table.is_empty() {
        r.value(
            &at,
            &format!("`{}` has no rows below its header line", f.file.display()),
            "add at least one row",
        );
        return None;
    }
    Some(Feeder {
        name: name.to_owned(),
        order: f.order,
        table: Arc::new(table),
    })
}

/// A `unique` feeder needs a row for every user.
fn check_unique_feeders(feeders: &[Feeder], load: &LoadShape, r: &mut Reporter) {
    if matches!(load.model, LoadModel::Open { .. }) {
        // Open-model sessions come and go with the schedule: there is no fixed user to
        // hold a row for the whole run.
        for f in feeders
            .iter()
            .filter(|f| f.order == model::FeederOrder::Unique)
        {
            r.value(
                &format!("/data/{}/order", escape_segment(&f.name)),
                &format!(
                    "`{}` is `unique`, which needs a closed model (`users` or `stages`)",
                    f.name
                ),
                "use `sequential` or `random` with `arrival_rate`",
            );
        }
        return;
    }
    let users = load.max_users();
    for f in feeders
        .iter()
        .filter(|f| f.order == model::FeederOrder::Unique)
    {
        if (f.table.len() as u64) < users {
            r.value(
                &format!("/data/{}/order", escape_segment(&f.name)),
                &format!(
                    "`{}` is `unique` with {} rows, but the load has up to {users} users",
                    f.name,
                    f.table.len()
                ),
                "add rows, lower the users, or use `sequential`/`random`",
            );
        }
    }
}

/// Reads a file to upload. Only regular files: `validate` reads them too, and a device
/// (`/dev/zero`) or a FIFO would never end or would fill memory.
fn read_regular_file(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut open_regular_file(path)?, &mut bytes)?;
    Ok(bytes)
}

/// Opens a file that `validate` may read to its end: only a regular file.
fn open_regular_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::other(
            "not a regular file (folders, devices and pipes cannot be uploaded)",
        ));
    }
    std::fs::File::open(path)
}

fn has_template(t: &JsonTemplate) -> bool {
    match t {
        JsonTemplate::Text(_) => true,
        JsonTemplate::Object(m) => m.iter().any(|(_, v)| has_template(v)),
        JsonTemplate::Array(a) => a.iter().any(has_template),
        JsonTemplate::Static(_) | JsonTemplate::Leaf(_) => false,
    }
}
