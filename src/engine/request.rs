//! One request of a plan, prepared once per run (static URL, header values and bodies
//! resolved ahead of time) and rendered per send with a user's template context; then its
//! answer is checked and captured. Failures here are data: a reason and a class.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Uri};
use minijinja::Value as Ctx;
use serde_json::Value;

use crate::http::{Answer, Failure, Headers, Outgoing, build_uri, join};
use crate::metrics::FailureKind;
use crate::plan::compile::{
    Body, CompiledChecks, CompiledRequest, ConditionTest, JsonTemplate, Part, RequestTarget,
};
use crate::template::{Templates, Text};

/// A request ready to render many times.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// The compiled request.
    pub spec: CompiledRequest,
    /// Metrics row.
    pub row: usize,
    method: Method,
    /// The URI when path and base are static and there is no templated query.
    static_uri: Option<Uri>,
    base: Arc<str>,
    static_headers: Arc<HeaderMap>,
    dynamic_headers: Vec<(HeaderName, Text)>,
    /// Time allowed.
    pub timeout: Duration,
    /// Whether rendering or checking reads the template context; a fully static request
    /// skips building it.
    pub needs_ctx: bool,
    /// The queries of the JSON checks, then of the captures, when each can be answered
    /// while the answer is parsed (see [`Json::Matches`]).
    pub json_shape: Option<super::shape::Shape>,
}

/// The `User-Agent` of every request (load, health checks, dry runs) unless the plan sets
/// one.
pub(crate) const USER_AGENT: &str = concat!("loadplan/", env!("CARGO_PKG_VERSION"));

impl Prepared {
    /// Prepares a request; `headers` are the plan's default headers then the request's own
    /// (later ones win).
    pub(crate) fn new(
        spec: &CompiledRequest,
        row: usize,
        base: &Arc<str>,
        defaults: &[(String, Text)],
        default_timeout: Duration,
    ) -> Result<Self, String> {
        let method =
            Method::from_bytes(spec.method.as_str().as_bytes()).map_err(|e| e.to_string())?;
        let (static_headers, dynamic_headers) = headers(spec, defaults)?;
        let static_uri = static_uri(spec, base)?;
        let needs_ctx = static_uri.is_none()
            || !dynamic_headers.is_empty()
            || !matches!(spec.body, Body::None | Body::Json(JsonTemplate::Static(_)))
            || spec.checks.body_contains.is_some()
            || !spec.checks.json.is_empty();
        Ok(Prepared {
            spec: spec.clone(),
            row,
            method,
            static_uri,
            base: base.clone(),
            static_headers: Arc::new(static_headers),
            dynamic_headers,
            timeout: spec.timeout.unwrap_or(default_timeout),
            needs_ctx,
            json_shape: super::shape::Shape::of(
                spec.checks
                    .json
                    .iter()
                    .map(|c| c.path_text.clone())
                    .chain(spec.captures.iter().map(|c| c.path.to_string()))
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str),
            ),
        })
    }

    /// Renders the request for one send, with the bytes its body sends. `extra_headers`
    /// and `extra_query` (encoded) come from `auth.apply`.
    pub(crate) fn render(
        &self,
        t: &Templates,
        ctx: &Ctx,
        extra_headers: &[(HeaderName, HeaderValue)],
        extra_query: &str,
    ) -> Result<(Outgoing, u64), Failure> {
        let uri = self.render_uri(t, ctx, extra_query)?;
        let mut headers = self.render_headers(t, ctx, extra_headers)?;
        let body = self.render_body(t, ctx, &mut headers)?;
        let bytes_out = body.len() as u64;
        Ok((
            Outgoing {
                method: self.method.clone(),
                uri,
                headers,
                body,
            },
            bytes_out,
        ))
    }

    /// The URI of one send: the static one when nothing is added, else the rendered target
    /// and query with `extra_query` after them.
    fn render_uri(&self, t: &Templates, ctx: &Ctx, extra_query: &str) -> Result<Uri, Failure> {
        let r = |text: &Text| t.render(text, ctx).map_err(|e| template_failure(&e));
        match (&self.static_uri, extra_query) {
            (Some(u), "") => Ok(u.clone()),
            _ => {
                let raw = match (&self.static_uri, &self.spec.target) {
                    (Some(u), _) => u.to_string(),
                    (None, RequestTarget::Path(p)) => join(&self.base, &r(p)?),
                    (None, RequestTarget::Url(u)) => r(u)?,
                };
                let mut pairs = Vec::new();
                if self.static_uri.is_none() {
                    for (k, v) in &self.spec.query {
                        pairs.push((k.as_str(), r(v)?));
                    }
                }
                build_uri(
                    &raw,
                    pairs.iter().map(|(k, v)| (*k, v.as_str())),
                    extra_query,
                )
                .map_err(|e| Failure::new(FailureKind::Template, e))
            }
        }
    }

    /// The headers of one send: the static map, then the rendered ones and `extra_headers`.
    fn render_headers(
        &self,
        t: &Templates,
        ctx: &Ctx,
        extra_headers: &[(HeaderName, HeaderValue)],
    ) -> Result<Headers, Failure> {
        let r = |text: &Text| t.render(text, ctx).map_err(|e| template_failure(&e));
        let mut headers = Headers {
            base: Arc::clone(&self.static_headers),
            extra: Vec::with_capacity(
                self.dynamic_headers
                    .len()
                    .saturating_add(extra_headers.len()),
            ),
        };
        for (name, text) in &self.dynamic_headers {
            let v = r(text)?;
            let v = HeaderValue::from_str(&v).map_err(|_| {
                Failure::new(
                    FailureKind::Template,
                    format!("header `{name}` rendered to an invalid value"),
                )
            })?;
            headers.extra.push((name.clone(), v));
        }
        headers.extra.extend_from_slice(extra_headers);
        Ok(headers)
    }

    /// The body of one send; a multipart body adds its content type (with the boundary it
    /// picked) to `headers`.
    fn render_body(
        &self,
        t: &Templates,
        ctx: &Ctx,
        headers: &mut Headers,
    ) -> Result<Bytes, Failure> {
        let r = |text: &Text| t.render(text, ctx).map_err(|e| template_failure(&e));
        Ok(match &self.spec.body {
            Body::None => Bytes::new(),
            Body::Json(JsonTemplate::Static(b)) => b.clone(),
            Body::Json(other) => {
                Bytes::from(serde_json::to_vec(&render_json(other, t, ctx)?).unwrap_or_default())
            }
            Body::Form(pairs) => {
                let mut rendered = Vec::with_capacity(pairs.len());
                for (k, v) in pairs {
                    rendered.push((k.as_str(), r(v)?));
                }
                Bytes::from(
                    url::form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(rendered.iter().map(|(k, v)| (*k, v.as_str())))
                        .finish(),
                )
            }
            Body::Raw(text) => Bytes::from(r(text)?),
            Body::Multipart(parts) => {
                let mut texts = Vec::with_capacity(parts.len());
                for (_, part) in parts {
                    texts.push(match part {
                        Part::Text(text) => Some(r(text)?),
                        Part::File { .. } => None,
                    });
                }
                let boundary = format!("loadplan-{}", uuid::Uuid::new_v4().simple());
                let ct =
                    HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}"))
                        .map_err(|e| Failure::new(FailureKind::Template, e.to_string()))?;
                headers.extra.push((header::CONTENT_TYPE, ct));
                multipart(parts, &texts, &boundary)
            }
        })
    }
}

/// A request's headers: those that never change, in the map every send shares, and those
/// rendered per send. Later ones of a name replace earlier ones, and a JSON or form body gets
/// its content type unless the plan sets one.
fn headers(
    spec: &CompiledRequest,
    defaults: &[(String, Text)],
) -> Result<(HeaderMap, Vec<(HeaderName, Text)>), String> {
    let mut static_headers = HeaderMap::new();
    // Every HTTP client names itself, and some firewalls refuse requests that do not;
    // the plan's headers below replace it.
    static_headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
    let mut dynamic_headers = Vec::new();
    for (name, value) in defaults.iter().chain(&spec.headers) {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("`{name}` is not a valid header name"))?;
        static_headers.remove(&name);
        dynamic_headers.retain(|(n, _)| *n != name);
        match value.as_static() {
            Some(v) => {
                let v = HeaderValue::from_str(v)
                    .map_err(|_| format!("header `{name}` has an invalid value"))?;
                static_headers.insert(name, v);
            }
            None => dynamic_headers.push((name, value.clone())),
        }
    }
    let content_type = match &spec.body {
        Body::Json(_) => Some("application/json"),
        Body::Form(_) => Some("application/x-www-form-urlencoded"),
        Body::None | Body::Raw(_) | Body::Multipart(_) => None,
    };
    if let Some(ct) = content_type
        && !static_headers.contains_key(header::CONTENT_TYPE)
        && !dynamic_headers
            .iter()
            .any(|(n, _)| n == header::CONTENT_TYPE)
    {
        static_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    Ok((static_headers, dynamic_headers))
}

/// The URI of a request whose base, path and query are all static, built once for every send.
fn static_uri(spec: &CompiledRequest, base: &str) -> Result<Option<Uri>, String> {
    match (
        &spec.target,
        spec.query.iter().all(|(_, v)| v.as_static().is_some()),
    ) {
        (RequestTarget::Path(p), true) => p.as_static().map(|p| join(base, p)),
        (RequestTarget::Url(u), true) => u.as_static().map(str::to_owned),
        _ => None,
    }
    .map(|u| {
        build_uri(
            &u,
            spec.query
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_static().unwrap_or_default())),
            "",
        )
    })
    .transpose()
}

/// A multipart/form-data body (RFC 7578); `texts` holds the rendered text parts.
fn multipart(parts: &[(String, Part)], texts: &[Option<String>], boundary: &str) -> Bytes {
    // Quotes and line breaks cannot appear inside a quoted parameter.
    let quote = |s: &str| {
        s.replace('"', "%22")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let mut out = Vec::new();
    for ((name, part), text) in parts.iter().zip(texts) {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match (part, text) {
            (
                Part::File {
                    name: file,
                    bytes,
                    content_type,
                },
                _,
            ) => {
                out.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
                        quote(name),
                        quote(file),
                        content_type.as_deref().unwrap_or("application/octet-stream")
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(bytes);
            }
            (Part::Text(_), text) => {
                out.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{}\"\r\n\r\n",
                        quote(name)
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(text.as_deref().unwrap_or_default().as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Bytes::from(out)
}

fn template_failure(e: &str) -> Failure {
    Failure::new(FailureKind::Template, format!("template: {e}"))
}

/// Renders a JSON template into a value.
pub(crate) fn render_json(j: &JsonTemplate, t: &Templates, ctx: &Ctx) -> Result<Value, Failure> {
    Ok(match j {
        JsonTemplate::Static(bytes) => serde_json::from_slice(bytes).unwrap_or(Value::Null),
        JsonTemplate::Leaf(v) => v.clone(),
        JsonTemplate::Text(text) => {
            Value::String(t.render(text, ctx).map_err(|e| template_failure(&e))?)
        }
        JsonTemplate::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| render_json(i, t, ctx))
                .collect::<Result<_, _>>()?,
        ),
        JsonTemplate::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| Ok((k.clone(), render_json(v, t, ctx)?)))
                .collect::<Result<_, Failure>>()?,
        ),
    })
}

/// Outcome of the checks on an answer.
#[derive(Debug, Default)]
pub(crate) struct Verdict {
    /// Checks that passed.
    pub passed: u32,
    /// The failed checks, if any: the first one's kind, every one's message.
    pub failure: Option<Failure>,
    /// Checks that failed.
    pub failed: u32,
    /// The body's JSON, when a check or capture needed it.
    pub json: Option<Json>,
}

/// An answer's JSON as checks and captures read it.
#[derive(Debug)]
pub(crate) enum Json {
    /// The whole document.
    Whole(Value),
    /// Each query's matches (see [`Prepared::json_shape`]): the JSON checks', then the
    /// captures' from `captures_from` on.
    Matches {
        /// Per query, in document order.
        found: Vec<Vec<Value>>,
        /// Where the captures' queries start.
        captures_from: usize,
    },
}

/// A request's query: its `n`-th JSON check or capture.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Query {
    /// A JSON check.
    Check(usize),
    /// A capture.
    Capture(usize),
}

impl Json {
    /// What `path` selects; `query` says which of the request's queries it is.
    pub(crate) fn select<'a>(
        &'a self,
        path: &serde_json_path::JsonPath,
        query: Query,
    ) -> Vec<&'a Value> {
        match self {
            Json::Whole(doc) => path.query(doc).all(),
            Json::Matches {
                found,
                captures_from,
            } => {
                let i = match query {
                    Query::Check(j) => j,
                    Query::Capture(c) => captures_from.saturating_add(c),
                };
                found.get(i).map(|m| m.iter().collect()).unwrap_or_default()
            }
        }
    }
}

/// Checks an answer. `health` uses 200–399 as the default status range, load requests
/// anything below 400.
pub(crate) fn check(
    checks: &CompiledChecks,
    answer: &Answer,
    t: &Templates,
    ctx: &Ctx,
    needs_json: bool,
    shape: Option<&super::shape::Shape>,
) -> Verdict {
    let mut v = Verdict::default();
    if checks.status.is_empty() {
        if answer.status >= 400 {
            v.fail(FailureKind::Status, format!("HTTP {}", answer.status));
        }
    } else if checks.status.contains(&answer.status) {
        v.passed = v.passed.saturating_add(1);
    } else {
        v.fail(
            FailureKind::Status,
            format!("HTTP {}, expected {}", answer.status, list(&checks.status)),
        );
    }
    if let Some(max) = checks.max_latency {
        if answer.latency <= max {
            v.passed = v.passed.saturating_add(1);
        } else {
            v.fail(
                FailureKind::Check,
                // The measured latency is the sample's, not the message's: a message
                // that carried it would make every slow request a distinct failure.
                format!("slower than {}", crate::plan::units::format_duration(max)),
            );
        }
    }
    if let Some(text) = &checks.body_contains {
        match t.render(text, ctx) {
            Ok(needle) if contains(&answer.body, needle.as_bytes()) => {
                v.passed = v.passed.saturating_add(1)
            }
            Ok(needle) => v.fail(
                FailureKind::Check,
                format!("body does not contain `{needle}`"),
            ),
            Err(e) => v.fail(FailureKind::Template, format!("template: {e}")),
        }
    }
    if !checks.json.is_empty() || needs_json {
        v.check_json(checks, answer, t, ctx, shape);
    }
    v
}

impl Verdict {
    /// Counts a failed condition. Each is named, in the order checked; the first one's kind
    /// classifies the request.
    fn fail(&mut self, kind: FailureKind, message: String) {
        self.failed = self.failed.saturating_add(1);
        match &mut self.failure {
            None => self.failure = Some(Failure::new(kind, message)),
            Some(f) => {
                f.message.push_str("; ");
                f.message.push_str(&message);
            }
        }
    }

    /// The JSON checks, on the body parsed whole or (with a `shape`) for its queries only;
    /// keeps the parse for the captures.
    fn check_json(
        &mut self,
        checks: &CompiledChecks,
        answer: &Answer,
        t: &Templates,
        ctx: &Ctx,
        shape: Option<&super::shape::Shape>,
    ) {
        let parsed = match shape {
            Some(shape) => shape.matches(&answer.body).map(|found| Json::Matches {
                found,
                captures_from: checks.json.len(),
            }),
            None => serde_json::from_slice::<Value>(&answer.body).map(Json::Whole),
        };
        match parsed {
            Ok(json) => {
                for (j, cond) in checks.json.iter().enumerate() {
                    let found = json.select(&cond.path, Query::Check(j));
                    match evaluate(&cond.test, &found, t, ctx) {
                        Ok(None) => self.passed = self.passed.saturating_add(1),
                        Ok(Some(why)) => {
                            self.fail(FailureKind::Check, format!("{} {why}", cond.path_text))
                        }
                        Err(f) => self.fail(f.kind, f.message),
                    }
                }
                self.json = Some(json);
            }
            Err(e) if !checks.json.is_empty() => {
                let why = if answer.truncated {
                    "the body was cut at `max_body`".to_owned()
                } else {
                    e.to_string()
                };
                self.fail(FailureKind::Body, format!("body is not JSON ({why})"));
            }
            Err(_) => {}
        }
    }
}

/// `None` when the condition holds, else why not.
fn evaluate(
    test: &ConditionTest,
    found: &[&Value],
    t: &Templates,
    ctx: &Ctx,
) -> Result<Option<String>, Failure> {
    let first = found.first().copied();
    let shown = |v: Option<&Value>| v.map_or_else(|| "nothing".to_owned(), plain);
    Ok(match test {
        ConditionTest::Exists(true) if found.is_empty() => Some("is missing".into()),
        ConditionTest::Exists(false) if !found.is_empty() => {
            Some(format!("is present ({})", shown(first)))
        }
        ConditionTest::Exists(_) => None,
        ConditionTest::Equals {
            value,
            skip_if_empty,
        } => {
            let expected = render_json(value, t, ctx)?;
            let skipped = *skip_if_empty && expected.as_str() == Some("");
            if skipped || first.is_some_and(|f| same(f, &expected)) {
                None
            } else {
                Some(format!(
                    "is {}, expected {}",
                    shown(first),
                    plain(&expected)
                ))
            }
        }
        ConditionTest::NotEquals(value) => {
            let unwanted = render_json(value, t, ctx)?;
            first
                .filter(|f| same(f, &unwanted))
                .map(|f| format!("is {}, which is not allowed", plain(f)))
        }
        ConditionTest::Matches(re) => match first {
            Some(f) if re.is_match(&plain(f)) => None,
            other => Some(format!("is {}, which does not match `{re}`", shown(other))),
        },
        ConditionTest::OneOf(options) => match first {
            Some(f) if options.iter().any(|o| same(f, o)) => None,
            other => Some(format!(
                "is {}, expected one of {}",
                shown(other),
                options.iter().map(plain).collect::<Vec<_>>().join(", ")
            )),
        },
    })
}

/// Equality as a plan author means it: `1.4.2` written in YAML equals the string, `200`
/// equals `"200"`.
fn same(a: &Value, b: &Value) -> bool {
    a == b || plain(a) == plain(b)
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn list(statuses: &[u16]) -> String {
    statuses
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Extracts a request's captures from its JSON answer into `into`.
pub(crate) fn capture(
    spec: &CompiledRequest,
    json: Option<&Json>,
    into: &mut Vec<(String, Value)>,
) -> Result<(), Failure> {
    for (i, c) in spec.captures.iter().enumerate() {
        let Some(json) = json else {
            return Err(Failure::new(
                FailureKind::Capture,
                format!("capture `{}`: the body is not JSON", c.name),
            ));
        };
        let found = json.select(&c.path, Query::Capture(i));
        if found.is_empty() && !c.allow_empty {
            return Err(Failure::new(
                FailureKind::Capture,
                format!("capture `{}`: nothing at `{}`", c.name, c.path),
            ));
        }
        let value = if c.all {
            Value::Array(found.into_iter().cloned().collect())
        } else {
            found.first().map_or(Value::Null, |v| (*v).clone())
        };
        into.push((c.name.clone(), value));
    }
    Ok(())
}
