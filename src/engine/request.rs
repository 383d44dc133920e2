//! One request of a plan, prepared once per run (static URL, header values and bodies
//! resolved ahead of time) and rendered per send with a user's template context; then its
//! answer is checked and captured. Failures here are data: a reason and a class.

use std::sync::Arc;
use std::time::Duration;

use minijinja::Value as Ctx;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde_json::Value;

use super::http::Answer;
use crate::metrics::FailureKind;
use crate::plan::compile::{
    Body, CompiledChecks, CompiledRequest, ConditionTest, JsonTemplate, Part, RequestTarget,
};
use crate::template::{Templates, Text};

/// A request ready to render many times.
#[derive(Debug)]
pub struct Prepared {
    /// The compiled request.
    pub spec: CompiledRequest,
    /// Metrics row.
    pub row: usize,
    method: Method,
    /// The URL when path and base are static and there is no templated query.
    static_url: Option<Url>,
    base: Arc<str>,
    static_headers: HeaderMap,
    dynamic_headers: Vec<(HeaderName, Text)>,
    /// Time allowed.
    pub timeout: Duration,
    /// Whether rendering or checking reads the template context; a fully static request
    /// skips building it.
    pub needs_ctx: bool,
}

/// Why a request could not be built or did not pass.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Class.
    pub kind: FailureKind,
    /// Reason.
    pub message: String,
}

impl Failure {
    fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

/// Joins a base URL and a path, keeping the base's own path (`http://h/prefix` + `/api/x`
/// → `http://h/prefix/api/x`); absolute URLs are left alone.
pub fn join(base: &str, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        return path.to_owned();
    }
    match (base.ends_with('/'), path.starts_with('/')) {
        (true, true) => format!("{base}{}", &path[1..]),
        (false, false) if !path.is_empty() => format!("{base}/{path}"),
        _ => format!("{base}{path}"),
    }
}

impl Prepared {
    /// Prepares a request; `headers` are the plan's default headers then the request's own
    /// (later ones win).
    pub fn new(
        spec: &CompiledRequest,
        row: usize,
        base: &Arc<str>,
        defaults: &[(String, Text)],
        default_timeout: Duration,
    ) -> Result<Self, String> {
        let method =
            Method::from_bytes(spec.method.as_str().as_bytes()).map_err(|e| e.to_string())?;
        let mut static_headers = HeaderMap::new();
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
        let static_url = match (
            &spec.target,
            spec.query.iter().all(|(_, v)| v.as_static().is_some()),
        ) {
            (RequestTarget::Path(p), true) => p.as_static().map(|p| join(base, p)),
            (RequestTarget::Url(u), true) => u.as_static().map(str::to_owned),
            _ => None,
        }
        .map(|u| {
            with_query(
                &u,
                spec.query
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_static().unwrap_or_default())),
            )
        })
        .transpose()?;
        let needs_ctx = static_url.is_none()
            || !dynamic_headers.is_empty()
            || !matches!(spec.body, Body::None | Body::Json(JsonTemplate::Static(_)))
            || spec.checks.body_contains.is_some()
            || !spec.checks.json.is_empty();
        Ok(Prepared {
            spec: spec.clone(),
            row,
            method,
            static_url,
            base: base.clone(),
            static_headers,
            dynamic_headers,
            timeout: spec.timeout.unwrap_or(default_timeout),
            needs_ctx,
        })
    }

    /// Renders the request for one send. `extra` headers and query come from `auth.apply`.
    pub fn render(
        &self,
        t: &Templates,
        ctx: &Ctx,
        client: &reqwest::Client,
        extra_headers: &[(HeaderName, HeaderValue)],
        extra_query: &[(String, String)],
    ) -> Result<(reqwest::Request, u64), Failure> {
        let r = |text: &Text| t.render(text, ctx).map_err(|e| template_failure(&e));
        let mut url = match &self.static_url {
            Some(u) => u.clone(),
            None => {
                let raw = match &self.spec.target {
                    RequestTarget::Path(p) => join(&self.base, &r(p)?),
                    RequestTarget::Url(u) => r(u)?,
                };
                let mut pairs = Vec::with_capacity(self.spec.query.len());
                for (k, v) in &self.spec.query {
                    pairs.push((k.as_str(), r(v)?));
                }
                with_query(&raw, pairs.iter().map(|(k, v)| (*k, v.as_str())))
                    .map_err(|e| Failure::new(FailureKind::Template, e))?
            }
        };
        if !extra_query.is_empty() {
            url.query_pairs_mut().extend_pairs(extra_query);
        }
        let mut builder = client
            .request(self.method.clone(), url)
            .headers(self.static_headers.clone());
        for (name, text) in &self.dynamic_headers {
            let v = r(text)?;
            let v = HeaderValue::from_str(&v).map_err(|_| {
                Failure::new(
                    FailureKind::Template,
                    format!("header `{name}` rendered to an invalid value"),
                )
            })?;
            builder = builder.header(name, v);
        }
        for (name, value) in extra_headers {
            builder = builder.header(name, value.clone());
        }
        let (builder, bytes_out) = match &self.spec.body {
            Body::None => (builder, 0),
            Body::Json(j) => {
                let bytes = match j {
                    JsonTemplate::Static(b) => b.to_vec(),
                    other => serde_json::to_vec(&render_json(other, t, ctx)?).unwrap_or_default(),
                };
                let n = bytes.len() as u64;
                (
                    builder
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(bytes),
                    n,
                )
            }
            Body::Form(pairs) => {
                let mut rendered = Vec::with_capacity(pairs.len());
                for (k, v) in pairs {
                    rendered.push((k.clone(), r(v)?));
                }
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&rendered)
                    .finish();
                let n = body.len() as u64;
                (
                    builder
                        .header(
                            reqwest::header::CONTENT_TYPE,
                            "application/x-www-form-urlencoded",
                        )
                        .body(body),
                    n,
                )
            }
            Body::Raw(text) => {
                let body = r(text)?;
                let n = body.len() as u64;
                (builder.body(body), n)
            }
            Body::Multipart(parts) => {
                let mut form = reqwest::multipart::Form::new();
                let mut n = 0u64;
                for (name, part) in parts {
                    form = match part {
                        Part::Text(text) => {
                            let v = r(text)?;
                            n += v.len() as u64;
                            form.text(name.clone(), v)
                        }
                        Part::File {
                            name: file,
                            bytes,
                            content_type,
                        } => {
                            n += bytes.len() as u64;
                            let mut p = reqwest::multipart::Part::bytes(bytes.to_vec())
                                .file_name(file.clone());
                            if let Some(ct) = content_type {
                                p = p.mime_str(ct).map_err(|e| {
                                    Failure::new(FailureKind::Template, e.to_string())
                                })?;
                            }
                            form.part(name.clone(), p)
                        }
                    };
                }
                (builder.multipart(form), n)
            }
        };
        let request = builder.build().map_err(|e| {
            Failure::new(
                FailureKind::Template,
                format!("cannot build the request: {e}"),
            )
        })?;
        Ok((request, bytes_out))
    }
}

fn with_query<'a>(
    url: &str,
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<Url, String> {
    let mut url = Url::parse(url).map_err(|e| format!("`{url}` is not a valid URL: {e}"))?;
    let mut pairs = pairs.peekable();
    if pairs.peek().is_some() {
        url.query_pairs_mut().extend_pairs(pairs);
    }
    Ok(url)
}

fn template_failure(e: &str) -> Failure {
    Failure::new(FailureKind::Template, format!("template: {e}"))
}

/// Renders a JSON template into a value.
pub fn render_json(j: &JsonTemplate, t: &Templates, ctx: &Ctx) -> Result<Value, Failure> {
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
pub struct Verdict {
    /// Checks that passed.
    pub passed: u32,
    /// The first failed check, if any, and how many failed.
    pub failure: Option<Failure>,
    /// Checks that failed.
    pub failed: u32,
    /// The body parsed as JSON, when a check or capture needed it.
    pub json: Option<Value>,
}

/// Checks an answer. `health` uses 200–399 as the default status range, load requests
/// anything below 400.
pub fn check(
    checks: &CompiledChecks,
    answer: &Answer,
    t: &Templates,
    ctx: &Ctx,
    needs_json: bool,
) -> Verdict {
    let mut v = Verdict::default();
    let fail = |v: &mut Verdict, kind: FailureKind, message: String| {
        v.failed += 1;
        if v.failure.is_none() {
            v.failure = Some(Failure::new(kind, message));
        }
    };
    if checks.status.is_empty() {
        if answer.status >= 400 {
            fail(
                &mut v,
                FailureKind::Status,
                format!("HTTP {}", answer.status),
            );
        }
    } else if checks.status.contains(&answer.status) {
        v.passed += 1;
    } else {
        fail(
            &mut v,
            FailureKind::Status,
            format!("HTTP {}, expected {}", answer.status, list(&checks.status)),
        );
    }
    if let Some(max) = checks.max_latency {
        if answer.latency <= max {
            v.passed += 1;
        } else {
            fail(
                &mut v,
                FailureKind::Check,
                format!(
                    "took {}, more than {}",
                    crate::plan::units::format_duration(answer.latency),
                    crate::plan::units::format_duration(max)
                ),
            );
        }
    }
    if let Some(text) = &checks.body_contains {
        match t.render(text, ctx) {
            Ok(needle) if contains(&answer.body, needle.as_bytes()) => v.passed += 1,
            Ok(needle) => fail(
                &mut v,
                FailureKind::Check,
                format!("body does not contain `{needle}`"),
            ),
            Err(e) => fail(&mut v, FailureKind::Template, format!("template: {e}")),
        }
    }
    if !checks.json.is_empty() || needs_json {
        match serde_json::from_slice::<Value>(&answer.body) {
            Ok(json) => {
                for cond in &checks.json {
                    let found = cond.path.query(&json).all();
                    match evaluate(&cond.test, &found, t, ctx) {
                        Ok(None) => v.passed += 1,
                        Ok(Some(why)) => fail(
                            &mut v,
                            FailureKind::Check,
                            format!("{} {why}", cond.path_text),
                        ),
                        Err(f) => fail(&mut v, f.kind, f.message),
                    }
                }
                v.json = Some(json);
            }
            Err(e) if !checks.json.is_empty() => {
                let why = if answer.truncated {
                    "the body was cut at `max_body`".to_owned()
                } else {
                    e.to_string()
                };
                fail(
                    &mut v,
                    FailureKind::Body,
                    format!("body is not JSON ({why})"),
                );
            }
            Err(_) => {}
        }
    }
    v
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
pub fn capture(
    spec: &CompiledRequest,
    json: Option<&Value>,
    into: &mut Vec<(String, Value)>,
) -> Result<(), Failure> {
    for c in &spec.captures {
        let Some(json) = json else {
            return Err(Failure::new(
                FailureKind::Capture,
                format!("capture `{}`: the body is not JSON", c.name),
            ));
        };
        let found = c.path.query(json).all();
        let value = if c.all {
            Value::Array(found.into_iter().cloned().collect())
        } else {
            match found.first() {
                Some(v) => (*v).clone(),
                None => {
                    return Err(Failure::new(
                        FailureKind::Capture,
                        format!("capture `{}`: nothing at `{}`", c.name, c.path),
                    ));
                }
            }
        };
        into.push((c.name.clone(), value));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_keep_the_base_path() {
        assert_eq!(join("http://h/prefix", "/api/x"), "http://h/prefix/api/x");
        assert_eq!(join("http://h/prefix/", "/api/x"), "http://h/prefix/api/x");
        assert_eq!(join("http://h", "api/x"), "http://h/api/x");
        assert_eq!(join("http://h/p", "https://other/x"), "https://other/x");
    }
}
