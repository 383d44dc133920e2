//! Requests, their checks and captures: paths, queries, headers and bodies become templates,
//! JSONPath queries and conditions are parsed once.

use serde_json::Value;
use serde_json_path::JsonPath;

use super::feeders::read_regular_file;
use super::types::*;
use super::{Compiler, Scope};
use crate::plan::model::{Capture, Expectations, MultipartPart, Request};
use crate::plan::yaml::escape_segment;
use crate::template::Text;

/// The query a refused JSONPath likely meant, when repairing the usual slips makes one: `$`
/// put first (`.id`, `items[0]`), each unclosed `[` closed, `[]` as `[*]`, and a bare name
/// in brackets (`[id]`, which RFC 9535 refuses) as a member (`.id`).
fn meant_json_path(text: &str) -> Option<String> {
    let text = text.trim();
    let mut query = match text.chars().next()? {
        '$' => text.to_owned(),
        '.' | '[' => format!("${text}"),
        _ => format!("$.{text}"),
    };
    let unclosed = query
        .matches('[')
        .count()
        .saturating_sub(query.matches(']').count());
    query.extend(std::iter::repeat_n(']', unclosed));
    let query = query.replace("[]", "[*]");
    let bare = regex::Regex::new(r"\[\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\]").ok()?;
    let query = bare.replace_all(&query, ".$1").into_owned();
    (query != text && JsonPath::parse(&query).is_ok()).then_some(query)
}

impl Compiler<'_> {
    pub(super) fn paths(
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

    pub(super) fn json_path(&mut self, at: &str, text: &str) -> Option<JsonPath> {
        match JsonPath::parse(text) {
            Ok(p) => Some(p),
            Err(e) => {
                let about = "JSONPath (RFC 9535) starts with `$`, e.g. `$.results[*].id`";
                let hint = match meant_json_path(text) {
                    Some(meant) => format!("did you mean `{meant}`? {about}"),
                    None => about.to_owned(),
                };
                self.r
                    .value(at, &format!("`{text}` is not a JSONPath query: {e}"), &hint);
                None
            }
        }
    }

    pub(super) fn request(
        &mut self,
        label: &str,
        req: &Request,
        checks: Option<&Expectations>,
        captures: &indexmap::IndexMap<String, Capture>,
        at: &str,
        scope: &Scope<'_>,
    ) -> CompiledRequest {
        let target = self.target(req, at, scope);
        let body = self.body(req, at, scope);
        let parent = at.strip_suffix("/request").unwrap_or(at);
        let check_at = if scope.expect {
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
            captures: self.captures(parent, captures),
            requires: Vec::new(),
            row: None,
        }
    }

    /// Where a request goes: its `url`, else its `path`, else `/`.
    fn target(&mut self, req: &Request, at: &str, scope: &Scope<'_>) -> RequestTarget {
        match (&req.path, &req.url) {
            (_, Some(url)) => RequestTarget::Url(self.text(&format!("{at}/url"), url, scope)),
            (Some(path), None) => {
                RequestTarget::Path(self.text(&format!("{at}/path"), path, scope))
            }
            (None, None) => RequestTarget::Path(Text::Static("/".into())),
        }
    }

    /// The one body a request has: JSON, a form, multipart parts or raw text, in that order.
    fn body(&mut self, req: &Request, at: &str, scope: &Scope<'_>) -> Body {
        if let Some(json) = &req.json {
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
                        (name.clone(), self.multipart_part(&pat, p, scope))
                    })
                    .collect(),
            )
        } else if let Some(raw) = &req.body {
            Body::Raw(self.text(&format!("{at}/body"), raw, scope))
        } else {
            Body::None
        }
    }

    /// A part's file, read now so a missing one is a plan error, or its text value.
    fn multipart_part(&mut self, pat: &str, p: &MultipartPart, scope: &Scope<'_>) -> Part {
        match (&p.value, &p.file) {
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
            (Some(v), None) => Part::Text(self.text(&format!("{pat}/value"), v, scope)),
            (None, None) => Part::Text(Text::Static("".into())),
        }
    }

    fn captures(
        &mut self,
        parent: &str,
        captures: &indexmap::IndexMap<String, Capture>,
    ) -> Vec<CompiledCapture> {
        captures
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
            .collect()
    }

    pub(super) fn checks(
        &mut self,
        at: &str,
        c: &Expectations,
        scope: &Scope<'_>,
    ) -> CompiledChecks {
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

    pub(super) fn json(&mut self, at: &str, v: &Value, scope: &Scope<'_>) -> JsonTemplate {
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
}

fn has_template(t: &JsonTemplate) -> bool {
    match t {
        JsonTemplate::Text(_) => true,
        JsonTemplate::Object(m) => m.iter().any(|(_, v)| has_template(v)),
        JsonTemplate::Array(a) => a.iter().any(has_template),
        JsonTemplate::Static(_) | JsonTemplate::Leaf(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::meant_json_path;

    #[test]
    fn a_refused_json_path_says_what_it_likely_meant() {
        for (written, meant) in [
            ("$.order[id", "$.order.id"),
            ("$.items[0", "$.items[0]"),
            ("$.items[].id", "$.items[*].id"),
            ("$.order[id].total", "$.order.id.total"),
            ("order.id", "$.order.id"),
            (".order.id", "$.order.id"),
            ("[0].id", "$[0].id"),
        ] {
            assert_eq!(
                meant_json_path(written).as_deref(),
                Some(meant),
                "{written}"
            );
        }
        for nothing in ["$.order.id", "$.order[?", "", "$$$"] {
            assert_eq!(meant_json_path(nothing), None, "{nothing}");
        }
    }
}
