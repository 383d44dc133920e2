//! One virtual user's session: its HTTP client (connections, cookies), its credentials and
//! their renewal, its captures, and running one task (an endpoint: one request or a flow)
//! with checks, captures, the refresh-and-retry-once rule, and recording every attempt.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use http::header::{HeaderName, HeaderValue, InvalidHeaderValue};
use minijinja::{Value as Ctx, context};
use serde_json::Value;
use tokio::sync::Mutex as AsyncMutex;

use super::Shared;
use super::request::{self, Prepared};
use super::verbose::Sent;
use crate::http::Failure;
use crate::metrics::{Event, FailureKind, Sample};

/// Credentials as the last login or refresh left them.
#[derive(Debug, Default)]
pub(crate) struct AuthData {
    /// Extracted values (`auth.*`).
    pub values: serde_json::Map<String, Value>,
    ctx: Ctx,
    headers: Vec<(HeaderName, HeaderValue)>,
    // `auth.apply.query`, encoded once.
    query: String,
    /// When the credentials expire, when known.
    expires_at: Option<Instant>,
    obtained_at: Option<Instant>,
}

/// Credentials of one user, or of all users when the plan shares a login.
#[derive(Debug, Default)]
pub(crate) struct AuthSlot {
    current: std::sync::RwLock<Option<Arc<AuthData>>>,
    // Held across the login/refresh exchange so concurrent users of a shared login renew
    // it once, not once each.
    renewing: AsyncMutex<()>,
}

impl AuthSlot {
    /// Fixed basic credentials: an `Authorization` header on every request, never renewed.
    pub(crate) fn set_basic(&self, user: &str, password: &str) -> Result<(), InvalidHeaderValue> {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let mut value = HeaderValue::from_str(&format!("Basic {token}"))?;
        value.set_sensitive(true);
        self.set(Some(Arc::new(AuthData {
            headers: vec![(http::header::AUTHORIZATION, value)],
            ..AuthData::default()
        })));
        Ok(())
    }

    fn get(&self) -> Option<Arc<AuthData>> {
        self.current.read().map(|g| g.clone()).unwrap_or_default()
    }

    fn set(&self, data: Option<Arc<AuthData>>) {
        if let Ok(mut g) = self.current.write() {
            *g = data;
        }
    }
}

/// A virtual user.
#[derive(Debug)]
pub(crate) struct Session {
    /// 1-based user number (`user_id` in templates).
    pub user_id: u64,
    /// Tasks started so far (`iteration` in templates).
    pub iteration: u64,
    seed: u64,
    // Reused for every request's timeout (see `http::send`).
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
    transport: crate::http::Transport,
    auth: Arc<AuthSlot>,
    captures: BTreeMap<String, Value>,
    captures_ctx: Ctx,
    row_ctx: Ctx,
    login_failed: bool,
}

/// An answer with a refresh status, not yet recorded.
#[derive(Debug)]
struct Refused {
    answer: crate::http::Answer,
    sent: Option<Sent>,
    bytes: (u64, u64, u64),
}

/// What one attempt got as far as, for its record and its `-v` line.
#[derive(Debug, Default, Clone, Copy)]
struct Reached<'a> {
    /// The request on the wire (kept only under `-v`).
    sent: Option<&'a Sent>,
    /// Its answer, when complete.
    answer: Option<&'a crate::http::Answer>,
    /// From sending to the answer or the failure; none when nothing was sent.
    latency: Option<Duration>,
}

impl<'a> Reached<'a> {
    /// An attempt that got an answer.
    fn answered(sent: Option<&'a Sent>, answer: &'a crate::http::Answer) -> Self {
        Reached {
            sent,
            answer: Some(answer),
            latency: Some(answer.latency),
        }
    }
}

/// How a task ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TaskEnd {
    /// Every request passed.
    Passed,
    /// A request failed.
    Failed,
}

impl Session {
    /// A new user; `auth` is its own slot, or the shared one.
    pub(crate) fn new(
        user_id: u64,
        seed: u64,
        transport: crate::http::Transport,
        auth: Arc<AuthSlot>,
    ) -> Self {
        Session {
            user_id,
            seed,
            iteration: 0,
            timer: Box::pin(tokio::time::sleep(Duration::from_secs(86_400))),
            transport,
            auth,
            captures: BTreeMap::new(),
            captures_ctx: crate::template::to_value(&BTreeMap::<String, Value>::new()),
            row_ctx: Ctx::UNDEFINED,
            login_failed: false,
        }
    }

    /// Whether the user has credentials (or needs none).
    pub(crate) fn is_ready(&self, shared: &Shared) -> bool {
        shared.login.is_none() || self.auth.get().is_some()
    }

    /// Whether every capture in `requires` exists (and a list is not empty).
    pub(crate) fn has(&self, requires: &[String]) -> bool {
        requires.iter().all(|r| match self.captures.get(r) {
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Null) | None => false,
            Some(_) => true,
        })
    }

    fn ctx(&self, shared: &Shared) -> Ctx {
        let auth = self
            .auth
            .get()
            .map(|a| a.ctx.clone())
            .unwrap_or(Ctx::UNDEFINED);
        super::user_context(
            &shared.globals,
            self.captures_ctx.clone(),
            context! { auth => auth, user_id => self.user_id, iteration => self.iteration, data => self.row_ctx.clone() },
        )
    }

    /// Opens this user's connection to `uri`'s origin before its first request.
    pub(crate) async fn warm(&mut self, uri: &http::Uri) {
        self.transport.warm(uri).await;
    }

    /// Picks this task's data-feeder rows.
    pub(crate) fn set_rows(&mut self, rows: Ctx) {
        self.row_ctx = rows;
    }

    /// Logs in (when the plan has a login and the user has no credentials yet) and runs the
    /// start steps. Returns the failure reason when the login failed.
    pub(crate) async fn start(&mut self, shared: &Shared) -> Result<(), String> {
        if shared.login.is_some()
            && self.auth.get().is_none()
            && let Err(reason) = self.renew(shared, None, true).await
        {
            if !self.login_failed {
                self.login_failed = true;
                shared.counters.users_failed.fetch_add(1, Ordering::Relaxed);
            }
            return Err(reason);
        }
        for step in &shared.on_start {
            if self.send(shared, step, None).await == TaskEnd::Failed {
                break;
            }
        }
        Ok(())
    }

    /// Runs one endpoint's requests in order; a failed request ends the flow, a step whose
    /// `requires` are unmet (the last page's `next: null`, say) is skipped and counted.
    pub(crate) async fn run_task(
        &mut self,
        shared: &Shared,
        endpoint: usize,
        intended: Option<Instant>,
    ) -> TaskEnd {
        self.iteration = self.iteration.saturating_add(1);
        let mut intended = intended;
        for prepared in &shared.endpoints[endpoint].requests {
            if !self.has(&prepared.spec.requires) {
                shared.metrics.count(prepared.row, Event::Skipped);
                continue;
            }
            if self.send(shared, prepared, intended.take()).await == TaskEnd::Failed {
                return TaskEnd::Failed;
            }
        }
        TaskEnd::Passed
    }

    /// Sends one request (renewing credentials when due, and once more after a refresh
    /// status), checks, captures and records it.
    async fn send(&mut self, shared: &Shared, p: &Prepared, intended: Option<Instant>) -> TaskEnd {
        self.renew_if_due(shared).await;
        let mut retried = false;
        loop {
            let start = intended.filter(|_| !retried).unwrap_or_else(Instant::now);
            // The credentials this attempt sends: when they are refused, only these are
            // renewed (another user of a shared login may have renewed them already).
            let used = self.auth.get();
            let refused = match self
                .attempt(shared, p, used.as_ref(), start, !retried)
                .await
            {
                Ok(end) => return end,
                Err(refused) => refused,
            };
            retried = true;
            if self.renew(shared, used, false).await.is_ok() {
                // The request counts once, as its retry's result; the refusal is counted
                // by the row that renewed the credentials, not as a failure (issue 9).
                if let Some(row) = shared.refresh.as_ref().or(shared.login.as_ref()) {
                    shared.metrics.count(row.row, Event::Renewal);
                }
                continue;
            }
            let f = Failure {
                kind: FailureKind::Status,
                message: format!(
                    "HTTP {} (the credentials could not be renewed)",
                    refused.answer.status
                ),
            };
            self.record(
                shared,
                p,
                Reached::answered(refused.sent.as_ref(), &refused.answer),
                Some(&f),
                refused.bytes,
                (0, 1),
            );
            return TaskEnd::Failed;
        }
    }

    /// One attempt. An answer with a refresh status, while a retry is still allowed, is
    /// returned unrecorded: whether it failed depends on the renewal.
    async fn attempt(
        &mut self,
        shared: &Shared,
        p: &Prepared,
        auth: Option<&Arc<AuthData>>,
        start: Instant,
        may_retry: bool,
    ) -> Result<TaskEnd, Refused> {
        let ctx = if p.needs_ctx {
            // Template randomness comes from the worker thread's generator; reseeding it from
            // the user, the task and the request makes `random` repeat under `--seed`
            // whichever thread runs the user.
            let mix =
                self.iteration.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (p.row as u64).rotate_left(32);
            crate::template::seed_thread(self.seed ^ mix);
            self.ctx(shared)
        } else {
            Ctx::UNDEFINED
        };
        let (headers, query) = auth.map_or((&[][..], ""), |a| (&a.headers[..], a.query.as_str()));
        let Ok((answer, bytes_out, sent)) = self
            .render_and_send(shared, p, &ctx, headers, query, start)
            .await
        else {
            return Ok(TaskEnd::Failed);
        };
        let bytes = (answer.bytes_in, answer.body.len() as u64, bytes_out);
        if may_retry && shared.refresh_statuses.contains(&answer.status) && shared.login.is_some() {
            return Err(Refused {
                answer,
                sent,
                bytes,
            });
        }
        let verdict = request::check(
            &p.spec.checks,
            &answer,
            &shared.templates,
            &ctx,
            !p.spec.captures.is_empty(),
            p.json_shape.as_ref(),
        );
        let mut failure = verdict.failure;
        if failure.is_none() {
            let mut captured = Vec::new();
            match request::capture(&p.spec, verdict.json.as_ref(), &mut captured) {
                Ok(()) if !captured.is_empty() => {
                    self.captures.extend(captured);
                    self.captures_ctx = crate::template::to_value(&self.captures);
                }
                Ok(()) => {}
                Err(f) => failure = Some(f),
            }
        }
        self.record(
            shared,
            p,
            Reached::answered(sent.as_ref(), &answer),
            failure.as_ref(),
            bytes,
            (verdict.passed, verdict.failed),
        );
        Ok(if failure.is_some() {
            TaskEnd::Failed
        } else {
            TaskEnd::Passed
        })
    }

    /// Renders and sends a request; a failure to build it or to get an answer is recorded
    /// here (one that could not be built has no latency: nothing was sent). Under `-v`, what
    /// was sent comes back too, for the failure line.
    async fn render_and_send(
        &mut self,
        shared: &Shared,
        p: &Prepared,
        ctx: &Ctx,
        headers: &[(HeaderName, HeaderValue)],
        query: &str,
        start: Instant,
    ) -> Result<(crate::http::Answer, u64, Option<Sent>), Failure> {
        let (req, bytes_out) = p
            .render(&shared.templates, ctx, headers, query)
            .inspect_err(|f| {
                self.record(shared, p, Reached::default(), Some(f), (0, 0, 0), (0, 1));
            })?;
        // Copied only for a failure line: without `-v` the request is sent as it is.
        let sent = shared.verbose.then(|| Sent {
            method: req.method.clone(),
            uri: req.uri.clone(),
        });
        let in_flight = InFlight {
            shared,
            row: p.row,
            start,
            bytes_out,
        };
        let answer = crate::http::send(
            &mut self.transport,
            req,
            p.timeout,
            shared.http.max_body,
            start,
            self.timer.as_mut(),
        )
        .await;
        std::mem::forget(in_flight);
        match answer {
            Ok(answer) => Ok((answer, bytes_out, sent)),
            Err(f) => {
                let reached = Reached {
                    sent: sent.as_ref(),
                    answer: None,
                    latency: Some(start.elapsed()),
                };
                self.record(shared, p, reached, Some(&f), (0, 0, bytes_out), (0, 0));
                Err(f)
            }
        }
    }

    /// Records one request; `bytes` are received on the wire, received as decoded, and
    /// sent. Under `-v` a failure is logged, with what the attempt `reached`.
    fn record(
        &self,
        shared: &Shared,
        p: &Prepared,
        reached: Reached<'_>,
        failure: Option<&Failure>,
        bytes: (u64, u64, u64),
        checks: (u32, u32),
    ) {
        // Failure messages may quote answers or rendered values: mask secrets before they
        // reach the log or the results.
        let message = failure.map(|f| shared.mask(&f.message));
        if let (Some(f), Some(m), true) = (failure, &message, shared.verbose) {
            let line = super::verbose::line(
                &super::verbose::Failed {
                    at: shared.started.elapsed(),
                    user: self.user_id,
                    label: &p.spec.label,
                    sent: reached.sent,
                    answer: reached.answer,
                    latency: reached.latency,
                    failure: &Failure::new(f.kind, m.as_str()),
                },
                |text| shared.mask(text),
            );
            crate::console::note(format_args!("{line}"));
        }
        shared.metrics.record(&Sample {
            row: p.row,
            latency: reached.latency,
            failure: failure.zip(message.as_deref()).map(|(f, m)| (f.kind, m)),
            bytes_in: bytes.0,
            body_bytes: bytes.1,
            bytes_out: bytes.2,
            checks_passed: checks.0,
            checks_failed: checks.1,
        });
    }

    async fn renew_if_due(&mut self, shared: &Shared) {
        let Some(auth) = self.auth.get() else { return };
        let due = auth.obtained_at.is_some_and(|got| {
            super::expiry::renewal_due(
                Instant::now(),
                got,
                auth.expires_at,
                shared.before_expiry,
                shared.refresh_every,
            )
        });
        if due {
            let _ = self.renew(shared, Some(auth), false).await;
        }
    }

    /// Logs in, or refreshes with the refresh request (falling back to a login when it
    /// fails). `seen` is the credentials the caller saw: when another user of a shared
    /// login already replaced them, nothing is sent.
    async fn renew(
        &mut self,
        shared: &Shared,
        seen: Option<Arc<AuthData>>,
        login: bool,
    ) -> Result<(), String> {
        let slot = self.auth.clone();
        let _guard = slot.renewing.lock().await;
        let current = slot.get();
        let replaced = match (&current, &seen) {
            (Some(c), Some(s)) => !Arc::ptr_eq(c, s),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if replaced {
            return Ok(());
        }
        if !login && let (Some(refresh), Some(old)) = (&shared.refresh, &current) {
            match self
                .exchange(shared, refresh, &shared.refresh_extract, Some(old))
                .await
            {
                Ok(data) => {
                    shared.counters.refreshes.fetch_add(1, Ordering::Relaxed);
                    slot.set(Some(Arc::new(data)));
                    return Ok(());
                }
                Err(_) => slot.set(None),
            }
        }
        let Some(login_req) = &shared.login else {
            return Ok(());
        };
        match self
            .exchange(shared, login_req, &shared.login_extract, None)
            .await
        {
            Ok(data) => {
                shared.counters.logins_ok.fetch_add(1, Ordering::Relaxed);
                slot.set(Some(Arc::new(data)));
                Ok(())
            }
            Err(reason) => {
                shared.counters.login_failed(&reason);
                slot.set(None);
                Err(reason)
            }
        }
    }

    /// Sends a login or refresh request and builds credentials from its answer.
    async fn exchange(
        &mut self,
        shared: &Shared,
        p: &Prepared,
        extract: &[(String, serde_json_path::JsonPath)],
        old: Option<&Arc<AuthData>>,
    ) -> Result<AuthData, String> {
        let ctx = self.ctx(shared);
        let (answer, bytes_out, sent) = self
            .render_and_send(shared, p, &ctx, &[], "", Instant::now())
            .await
            .map_err(|f| f.message)?;
        let verdict = request::check(&p.spec.checks, &answer, &shared.templates, &ctx, true, None);
        let mut values = old.map(|o| o.values.clone()).unwrap_or_default();
        let mut expires_at = None;
        let result = match (&verdict.failure, &verdict.json) {
            (Some(f), _) => Err(f.clone()),
            (None, None) => Err(Failure {
                kind: FailureKind::Body,
                message: "answer is not JSON".into(),
            }),
            (None, Some(json)) => captured(shared, extract, json, old, &mut values).map(|at| {
                expires_at = at;
            }),
        };
        // Known before recording, so a failure message quoting them is masked. The cookies a
        // login or refresh answer sets are credentials too.
        shared.add_secrets(
            values
                .values()
                .filter_map(serde_json::Value::as_str)
                .chain(answer.cookies.iter().map(String::as_str)),
        );
        self.record(
            shared,
            p,
            Reached::answered(sent.as_ref(), &answer),
            result.as_ref().err(),
            (answer.bytes_in, answer.body.len() as u64, bytes_out),
            (verdict.passed, verdict.failed),
        );
        result.map_err(|f| f.message)?;
        let ctx = crate::template::to_value(&values);
        let (headers, query) = applied(shared, &ctx)?;
        Ok(AuthData {
            values,
            ctx,
            headers,
            query,
            expires_at,
            obtained_at: Some(Instant::now()),
        })
    }
}

/// Reads the values `extract` names from a login or refresh answer into `values`, and when
/// the credentials expire.
fn captured(
    shared: &Shared,
    extract: &[(String, serde_json_path::JsonPath)],
    json: &request::Json,
    old: Option<&Arc<AuthData>>,
    values: &mut serde_json::Map<String, Value>,
) -> Result<Option<Instant>, Failure> {
    let mut missing = None;
    let mut answered = Vec::new();
    for (i, (name, path)) in extract.iter().enumerate() {
        match json.select(path, request::Query::Capture(i)).first() {
            Some(v) => {
                values.insert(name.clone(), (*v).clone());
                answered.push(name.as_str());
            }
            // A refresh answer may omit values the login gave (the refresh token).
            None if old.is_some() && values.contains_key(name) => {}
            // Another value may say when the credentials expire (a JWT's `exp`
            // when `expires_in` is missing): decided below.
            None if shared.expires_from.contains(name) => {}
            None => missing = Some(name.clone()),
        }
    }
    match missing {
        Some(name) => Err(Failure {
            kind: FailureKind::Capture,
            message: format!("answer has no `{name}` (auth.extract)"),
        }),
        None => Ok(()),
    }
    .and_then(|()| expiry(shared, extract, values, &answered))
}

/// `auth.apply` rendered with fresh credentials: the headers, and the query encoded once.
fn applied(shared: &Shared, ctx: &Ctx) -> Result<(Vec<(HeaderName, HeaderValue)>, String), String> {
    let auth_ctx = context! { auth => ctx.clone(), ..shared.globals.clone() };
    let render = |text: &crate::template::Text| shared.templates.render(text, &auth_ctx);
    let mut headers = Vec::new();
    for (name, text) in &shared.apply_headers {
        let v = render(text).map_err(|e| format!("auth.apply: {e}"))?;
        let v = HeaderValue::from_str(&v)
            .map_err(|_| format!("auth.apply: header `{name}` is not a valid value"))?;
        headers.push((name.clone(), v));
    }
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, text) in &shared.apply_query {
        query.append_pair(name, &render(text).map_err(|e| format!("auth.apply: {e}"))?);
    }
    Ok((headers, query.finish()))
}

/// When fresh credentials expire, from the first of `expires_from` that this answer carried
/// and that says (an earlier login's `expires_in` is stale after a refresh). Unknown is fine
/// unless the plan renews ahead of expiry or extracts a value for it.
fn expiry(
    shared: &Shared,
    extract: &[(String, serde_json_path::JsonPath)],
    values: &serde_json::Map<String, Value>,
    answered: &[&str],
) -> Result<Option<Instant>, Failure> {
    let (now, wall) = (Instant::now(), std::time::SystemTime::now());
    let mut why = Vec::new();
    let mut missing = false;
    for name in &shared.expires_from {
        match values
            .get(name)
            .filter(|_| answered.contains(&name.as_str()))
        {
            Some(v) => match super::expiry::expires_at(v, now, wall) {
                Some(at) => return Ok(Some(at)),
                None => why.push(format!(
                    "`auth.{name}` is neither seconds nor a JWT with a numeric `exp`"
                )),
            },
            None if extract.iter().any(|(n, _)| n == name) => {
                missing = true;
                why.push(format!("the answer has no `{name}`"));
            }
            None => {}
        }
    }
    // An opaque token is fine by itself; a field the plan extracts for the expiry, or a
    // renewal ahead of it, needs an answer that says.
    if why.is_empty() || !(missing || shared.before_expiry.is_some()) {
        return Ok(None);
    }
    Err(Failure {
        kind: FailureKind::Capture,
        message: format!(
            "cannot tell when the credentials expire: {} (auth.refresh.expires_from)",
            why.join(", and ")
        ),
    })
}

/// A request on the wire. Dropped before its answer, it is recorded as a timeout of its row:
/// the graceful stop ended and the user's task was cancelled, and a request that never ends
/// must still count, or an endpoint that hangs would pass for lack of data.
struct InFlight<'a> {
    shared: &'a Shared,
    row: usize,
    start: Instant,
    bytes_out: u64,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.shared.counters.cut.fetch_add(1, Ordering::Relaxed);
        self.shared.metrics.record(&crate::metrics::Sample {
            failure: Some((
                FailureKind::Timeout,
                "still in flight when the graceful stop ended",
            )),
            bytes_out: self.bytes_out,
            ..crate::metrics::Sample::ok(self.row, self.start.elapsed())
        });
    }
}
