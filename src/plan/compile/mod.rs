//! Plan → [`CompiledPlan`]: what the engine and health checks run. Templates are compiled
//! once here and the variables they read are checked against what will exist at run time;
//! JSONPath queries and regular expressions are parsed once; units become `Duration`s and
//! numbers. Nothing after this stage looks at YAML or at the plan types' optional fields.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::Reporter;
use super::Source;
use super::defaults;
use super::diagnostic::suggest;
use super::model::{self, ArrivalRate, Plan, ThinkRule, ThinkText, ThinkTime};
use super::partial::Gaps;
use super::validate::capture_names;
use super::yaml::escape_segment;
use sha2::{Digest, Sha256};

use crate::metrics::RowKey;
use crate::template::{GLOBALS, Templates, Text};

mod feeders;
mod request;
mod sla;
mod types;

use feeders::{check_unique_feeders, read_feeder};

pub(crate) use sla::{CompiledAssertion, thresholds};
pub use types::*;

/// What an endpoint's templates may read: everything a user has.
const USER: Scope<'static> = Scope {
    auth: true,
    captures: true,
    what: "an endpoint",
    expect: false,
};

/// The login request (and basic credentials) run before there is a session.
const LOGIN: Scope<'static> = Scope {
    auth: false,
    captures: false,
    what: "the login request",
    expect: false,
};

/// `auth.on_start` steps run in the user's session, after login.
const ON_START: Scope<'static> = Scope {
    auth: true,
    captures: true,
    what: "`auth`",
    expect: false,
};

/// `auth.apply` and `auth.refresh` know the credentials but no session's captures.
const AFTER_LOGIN: Scope<'static> = Scope {
    auth: true,
    captures: false,
    what: "`auth`",
    expect: false,
};

/// What the templates of one part of the plan may read, and where its checks are written.
struct Scope<'a> {
    auth: bool,
    captures: bool,
    what: &'a str,
    /// The checks are a health policy's `expect` (an endpoint's are its `check`).
    expect: bool,
}

struct Compiler<'a> {
    templates: Templates,
    r: &'a mut Reporter,
    dir: &'a std::path::Path,
    /// The names templates may read; `None` where parts set aside for schema errors hold
    /// names that could not be read, and such references are then not checked.
    variables: Option<Vec<String>>,
    captures: Option<BTreeSet<String>>,
    auth_keys: Option<Vec<String>>,
    feeders: Option<Vec<String>>,
    loaded_feeders: Vec<Feeder>,
    env_reads: Vec<EnvRead>,
    /// What templates see before any user runs, to try the ones that read nothing else.
    globals: minijinja::Value,
}

/// Compiles a plan after the checks of meaning; problems go to `r`. A plan read without
/// parts that had schema errors (`gaps`) is compiled too, for the problems of the rest.
pub(crate) fn compile(plan: Plan, source: &Source, gaps: &Gaps, r: &mut Reporter) -> CompiledPlan {
    let owned = |names: Option<Vec<&str>>| {
        names.map(|n| n.into_iter().map(str::to_owned).collect::<Vec<_>>())
    };
    let captures = capture_names(&plan);
    let mut c = Compiler {
        templates: Templates::new(),
        r,
        dir: &source.dir,
        variables: owned(
            gaps.variables
                .with(plan.variables.keys().map(String::as_str)),
        ),
        captures: owned(gaps.captures.with(captures.iter().map(String::as_str)))
            .map(|names| names.into_iter().collect()),
        auth_keys: owned(
            gaps.auth_keys.with(
                plan.auth
                    .iter()
                    .flat_map(|a| a.extract.keys().map(String::as_str)),
            ),
        ),
        feeders: owned(gaps.feeders.with(plan.data.keys().map(String::as_str))),
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
        expect: false,
    };
    let base_url = c.text("/target/base_url", &plan.target.base_url, &base);
    let headers = c.pairs(
        "/target/headers",
        plan.target.headers.iter().map(|(k, v)| (k, v.to_text())),
        &base,
    );
    let mut auth = plan.auth.as_ref().map(|a| c.auth(a));
    let mut endpoints: Vec<CompiledEndpoint> = plan
        .endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| c.endpoint(i, e))
        .collect();
    let health = plan
        .health
        .iter()
        .map(|(name, p)| c.health_policy(name, p))
        .collect();
    let load = load_shape(&plan.load);
    let feeders = std::mem::take(&mut c.loaded_feeders);
    if !gaps.skips("/load") {
        check_unique_feeders(&feeders, &load, c.r);
    }
    let rows = assign_rows(&mut endpoints, auth.as_mut());
    let target = compile_target(&plan.target, base_url, headers, &source.dir);
    CompiledPlan {
        meta: PlanMeta {
            name: plan.name,
            description: plan.description,
            file: source.file.clone(),
            sha256: plan_hash(&identity(&source.value)),
        },
        globals: std::mem::replace(&mut c.globals, minijinja::Value::UNDEFINED),
        rows,
        sla: plan.sla.iter().filter_map(CompiledAssertion::new).collect(),
        outputs: plan.outputs,
        shard: None,
        feeders,
        env_reads: std::mem::take(&mut c.env_reads),
        templates: Arc::new(c.templates),
        target,
        auth,
        endpoints,
        health,
        load,
    }
}

fn compile_target(
    t: &model::Target,
    base_url: Text,
    headers: Vec<(String, Text)>,
    dir: &std::path::Path,
) -> CompiledTarget {
    let timeout = t.timeout.as_ref().map_or(defaults::TIMEOUT, |d| d.get());
    CompiledTarget {
        base_url,
        headers,
        timeout,
        connect_timeout: t.connect_timeout.as_ref().map_or(timeout, |d| d.get()),
        max_body: t.max_body.as_ref().map_or(defaults::MAX_BODY, |b| b.get()),
        max_redirects: t.max_redirects.unwrap_or(defaults::MAX_REDIRECTS) as usize,
        http_version: t.http_version,
        tls: CompiledTls {
            insecure: t.tls.insecure,
            ca_file: t.tls.ca_file.as_ref().map(|f| dir.join(f)),
            client_cert: t
                .tls
                .client_cert
                .as_ref()
                .map(|c| (dir.join(&c.cert), dir.join(&c.key))),
        },
        proxy: t.proxy.clone(),
        connections: t.connections,
    }
}

/// The document without `target.base_url` and `outputs`: where a plan runs and which
/// reports it writes are not what it measures, so the same plan against staging and
/// production (or the demo API's random port), or with `--report html`, hashes the same and
/// compares with its baseline. Summaries record the target beside the hash.
fn identity(document: &serde_json::Value) -> serde_json::Value {
    let mut document = document.clone();
    if let Some(plan) = document.as_object_mut() {
        plan.remove("outputs");
    }
    if let Some(target) = document
        .get_mut("target")
        .and_then(serde_json::Value::as_object_mut)
    {
        target.remove("base_url");
    }
    document
}

/// SHA-256 (hex) of a JSON document serialized with sorted keys and no spaces: the same
/// plan hashes the same whatever its key order, layout or comments.
fn plan_hash(document: &serde_json::Value) -> String {
    Sha256::digest(canonical(document).to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn canonical(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            serde_json::Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&map[k])))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(canonical).collect())
        }
        other => other.clone(),
    }
}

/// Numbers the measured requests — the one place rows are ordered — and returns the rows.
fn assign_rows(endpoints: &mut [CompiledEndpoint], auth: Option<&mut CompiledAuth>) -> Vec<RowKey> {
    let mut rows = Vec::new();
    let mut assign = |r: &mut CompiledRequest, endpoint: Option<usize>| {
        r.row = Some(rows.len());
        let key = RowKey::new(r.label.clone(), r.method.as_str());
        rows.push(match endpoint {
            Some(i) => key.of_endpoint(i),
            None => key,
        });
    };
    for (i, e) in endpoints.iter_mut().enumerate() {
        for r in &mut e.requests {
            assign(r, Some(i));
        }
    }
    if let Some(auth) = auth {
        let refresh = auth.refresh.as_mut().and_then(|r| r.request.as_mut());
        for r in auth
            .login
            .iter_mut()
            .chain(refresh)
            .chain(auth.on_start.iter_mut())
        {
            assign(r, None);
        }
    }
    rows
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
            max_concurrency: l.max_concurrency.unwrap_or(defaults::MAX_CONCURRENCY),
        },
        None => LoadModel::Closed {
            stages: if l.stages.is_empty() {
                let users = l.users.unwrap_or(defaults::USERS);
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
            .map_or(defaults::GRACEFUL_STOP, |d| d.get()),
        seed: l.seed,
    }
}

impl Compiler<'_> {
    fn endpoint(&mut self, i: usize, e: &model::Endpoint) -> CompiledEndpoint {
        let at = format!("/endpoints/{i}");
        let requests = match (&e.request, &e.steps) {
            (Some(req), _) => vec![self.request(
                &e.name,
                req,
                e.check.as_ref(),
                &e.capture,
                &format!("{at}/request"),
                &USER,
            )],
            (None, Some(steps)) => steps
                .iter()
                .enumerate()
                .map(|(j, s)| CompiledRequest {
                    requires: s.requires.clone(),
                    ..self.request(
                        &format!("{}/{}", e.name, s.name),
                        &s.request,
                        s.check.as_ref(),
                        &s.capture,
                        &format!("{at}/steps/{j}/request"),
                        &USER,
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
    }

    fn health_policy(&mut self, name: &str, p: &model::HealthPolicy) -> CompiledHealth {
        let at = format!("/health/{}", escape_segment(name));
        let scope = Scope {
            auth: false,
            captures: false,
            what: "a health policy",
            expect: true,
        };
        let request = self.request(
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
            name: name.to_owned(),
            request,
            timeout: p
                .timeout
                .as_ref()
                .map_or(defaults::HEALTH_TIMEOUT, |d| d.get()),
            initial_delay: p.initial_delay.as_ref().map_or(Duration::ZERO, |d| d.get()),
            interval: p
                .interval
                .as_ref()
                .map_or(defaults::HEALTH_INTERVAL, |d| d.get()),
            backoff: (
                exponential.map_or(1.0, |b| b.factor.unwrap_or(defaults::BACKOFF_FACTOR)),
                p.backoff
                    .as_ref()
                    .and_then(|b| b.max.as_ref())
                    .map_or(defaults::BACKOFF_MAX, |d| d.get()),
                p.backoff
                    .as_ref()
                    .and_then(|b| b.jitter.as_ref())
                    .map_or(0.0, |j| j.get()),
            ),
            retries: p.retries.unwrap_or(defaults::HEALTH_RETRIES),
            deadline: p.deadline.as_ref().map(|d| d.get()),
            success_threshold: p.success_threshold.unwrap_or(defaults::SUCCESS_THRESHOLD),
            failure_threshold: p.failure_threshold.unwrap_or(defaults::FAILURE_THRESHOLD),
            run: p.run.clone(),
        }
    }
    fn auth(&mut self, a: &model::Auth) -> CompiledAuth {
        CompiledAuth {
            login: a.login.as_ref().map(|l| {
                let no_captures = Default::default();
                self.request("login", l, None, &no_captures, "/auth/login", &LOGIN)
            }),
            basic: a.basic.as_ref().map(|b| {
                (
                    self.text("/auth/basic/username", &b.username, &LOGIN),
                    self.text("/auth/basic/password", &b.password, &LOGIN),
                )
            }),
            extract: self.paths("/auth/extract", &a.extract),
            expires_from: match a.refresh.as_ref().and_then(|r| r.expires_from.as_ref()) {
                Some(name) => vec![name.clone()],
                None => DEFAULT_EXPIRES_FROM.map(String::from).to_vec(),
            },
            apply_headers: self.applied(
                "/auth/apply/headers",
                a.apply.as_ref().map(|ap| &ap.headers),
            ),
            apply_query: self.applied("/auth/apply/query", a.apply.as_ref().map(|ap| &ap.query)),
            refresh: a.refresh.as_ref().map(|rf| self.refresh(a, rf)),
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
                        &ON_START,
                    )
                })
                .collect(),
        }
    }

    /// Headers or query parameters `auth.apply` adds to every request after login.
    fn applied(
        &mut self,
        at: &str,
        items: Option<&indexmap::IndexMap<String, String>>,
    ) -> Vec<(String, Text)> {
        items.map_or_else(Vec::new, |items| {
            self.pairs(at, items.iter().map(|(k, v)| (k, v.clone())), &AFTER_LOGIN)
        })
    }

    /// How credentials are renewed; without an `extract` of its own, the refresh reads the
    /// login's.
    fn refresh(&mut self, a: &model::Auth, rf: &model::AuthRefresh) -> CompiledRefresh {
        CompiledRefresh {
            on_status: rf.on_status.clone(),
            before_expiry: rf.before_expiry.as_ref().map(|d| d.get()),
            every: rf.every.as_ref().map(|d| d.get()),
            request: rf.request.as_ref().map(|req| {
                let no_captures = Default::default();
                let at = "/auth/refresh/request";
                self.request("refresh", req, None, &no_captures, at, &AFTER_LOGIN)
            }),
            extract: if rf.extract.is_empty() {
                self.paths("/auth/extract", &a.extract)
            } else {
                self.paths("/auth/refresh/extract", &rf.extract)
            },
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
            "auth" => not_one_of(member?, self.auth_keys.as_ref()?, |m| {
                format!("`auth.{m}` is not extracted by `auth.extract`")
            }),
            "data" => {
                let m = member?;
                not_one_of(m, self.feeders.as_ref()?, |m| {
                    format!("`data.{m}` is not a data feeder of this plan")
                })
                .or_else(|| self.unknown_column(m, full.split('.').nth(2)?))
            }
            "vars" => not_one_of(member?, self.variables.as_ref()?, |m| {
                format!("`vars.{m}` is not in `variables`")
            }),
            r if GLOBALS.contains(&r) => None,
            r => {
                let (variables, captures) = (self.variables.as_ref()?, self.captures.as_ref()?);
                if variables.iter().any(|v| v == r) {
                    None
                } else if captures.contains(r) {
                    (!scope.captures).then(|| {
                        (
                            format!(
                                "{} cannot use the capture `{r}`: captures belong to a user's session",
                                scope.what
                            ),
                            "use a variable or `env.*` here".into(),
                        )
                    })
                } else {
                    Some(self.unknown_root(r, variables, captures, scope))
                }
            }
        }
    }

    /// `data.<feeder>.<column>` where the feeder's CSV file has no such column.
    fn unknown_column(&self, feeder: &str, column: &str) -> Option<(String, String)> {
        let loaded = self.loaded_feeders.iter().find(|f| f.name == feeder)?;
        let known: Vec<&str> = loaded.table.columns().iter().map(String::as_str).collect();
        (!known.contains(&column)).then(|| {
            (
                format!("`data.{feeder}.{column}`: the CSV file has no column `{column}`"),
                suggest(column, &known),
            )
        })
    }

    /// A variable that is neither a built-in, a plan variable nor a capture, with the nearest
    /// one the scope can read suggested.
    fn unknown_root(
        &self,
        r: &str,
        variables: &[String],
        captures: &BTreeSet<String>,
        scope: &Scope<'_>,
    ) -> (String, String) {
        let mut known: Vec<&str> = GLOBALS
            .iter()
            .copied()
            .filter(|g| !["range", "dict", "namespace"].contains(g))
            .collect();
        known.extend(variables.iter().map(String::as_str));
        if scope.captures {
            known.extend(captures.iter().map(String::as_str));
        }
        (
            format!("unknown template variable `{r}`"),
            suggest(r, &known),
        )
    }
}

/// A member (`auth.x`, `data.x`, `vars.x`) that is not one of `names`: the problem, with the
/// nearest name suggested.
fn not_one_of(
    member: &str,
    names: &[String],
    problem: impl FnOnce(&str) -> String,
) -> Option<(String, String)> {
    if names.iter().any(|k| k == member) {
        return None;
    }
    let known: Vec<&str> = names.iter().map(String::as_str).collect();
    Some((problem(member), suggest(member, &known)))
}

#[cfg(test)]
mod tests {
    use super::{identity, plan_hash};

    #[test]
    fn the_plan_hash_ignores_key_order() {
        let a = serde_json::json!({ "b": 1, "a": { "y": [1, 2], "x": null } });
        let b = serde_json::json!({ "a": { "x": null, "y": [1, 2] }, "b": 1 });
        assert_eq!(plan_hash(&a), plan_hash(&b));
        assert_eq!(plan_hash(&a).len(), 64);
        assert_ne!(plan_hash(&a), plan_hash(&serde_json::json!({ "b": 2 })));
    }

    #[test]
    fn the_plan_hash_leaves_out_where_the_plan_runs_and_what_it_writes() {
        let at = |url: &str| {
            plan_hash(&identity(&serde_json::json!({
                "target": { "base_url": url, "timeout": "5s" },
                "load": { "users": 2 }
            })))
        };
        assert_eq!(at("http://127.0.0.1:1234"), at("https://staging.example"));
        let slower = serde_json::json!({ "target": { "base_url": "x", "timeout": "9s" } });
        assert_ne!(at("x"), plan_hash(&identity(&slower)));
        let html = serde_json::json!({
            "target": { "base_url": "x", "timeout": "5s" },
            "load": { "users": 2 },
            "outputs": { "formats": ["html"] }
        });
        assert_eq!(at("x"), plan_hash(&identity(&html)));
    }

    /// Issue 12: rows are numbered once, at compile time, each with its endpoint's index: a flow's
    /// steps belong to their flow, auth rows to none, and no name decides it (`ab` is not a step
    /// of `a`).
    #[test]
    fn rows_are_assigned_their_endpoint_at_compile_time() {
        let yaml = r#"version: 1
name: rows
target: { base_url: "http://127.0.0.1:9" }
auth:
  login: { method: POST, path: /token }
  extract: { access: $.access }
load: { users: 1, iterations: 1 }
endpoints:
  - name: login_page
    request: { path: /login-page }
  - name: a
    steps:
      - { name: s1, request: { path: /1 } }
      - { name: s2, request: { method: POST, path: /2 } }
  - name: ab
    request: { path: /ab }
"#;
        let plan =
            crate::plan::load_bytes("rows.yaml", std::path::Path::new("."), yaml.as_bytes(), &[])
                .unwrap_or_else(|d| panic!("{d:?}"));
        let rows: Vec<(&str, &str, Option<usize>)> = plan
            .rows
            .iter()
            .map(|r| (r.name.as_str(), r.method.as_str(), r.endpoint))
            .collect();
        assert_eq!(
            rows,
            [
                ("login_page", "GET", Some(0)),
                ("a/s1", "GET", Some(1)),
                ("a/s2", "POST", Some(1)),
                ("ab", "GET", Some(2)),
                ("login", "POST", None),
            ]
        );
        let requests: Vec<Option<usize>> = plan
            .endpoints
            .iter()
            .flat_map(|e| e.requests.iter().map(|r| r.row))
            .chain(plan.auth.iter().flat_map(|a| a.login.iter().map(|r| r.row)))
            .collect();
        assert_eq!(requests, [Some(0), Some(1), Some(2), Some(3), Some(4)]);
    }
}
