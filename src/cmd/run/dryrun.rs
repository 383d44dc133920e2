//! `run --dry-run`: the login and the first request of each endpoint, rendered with
//! placeholders for what only a live run knows (`<auth.access>`, `<capture claim_ids>`),
//! secrets masked, nothing sent.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use http::header::{HeaderName, HeaderValue};
use minijinja::{Value as Ctx, context};

use crate::engine::request::Prepared;
use crate::plan::CompiledPlan;
use crate::plan::compile::CompiledRequest;
use crate::secrets::plan_secrets;

/// Headers whose values are never printed.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "proxy-authorization",
    "set-cookie",
];

/// What `auth.apply` adds to a request: headers and query parameters.
type Applied = (Vec<(HeaderName, HeaderValue)>, String);

/// Prints the rendered requests; returns whether every one rendered (a dry run that
/// cannot render a request fails, as the run would).
pub(super) fn print(
    plan: &CompiledPlan,
    base_url: &str,
    out: &mut dyn Write,
) -> anyhow::Result<bool> {
    let secrets = plan_secrets(plan, base_url);
    let mask = |s: &str| secrets.mask(s);
    let live = placeholder_context(plan);
    let base: Arc<str> = base_url.into();
    let applied = applied(plan, &live);
    writeln!(
        out,
        "dry run of {} against {}: nothing is sent\n",
        plan.meta.name,
        mask(base_url)
    )?;
    let mut rendered = true;
    if let Some(login) = plan.auth.as_ref().and_then(|a| a.login.as_ref()) {
        rendered &= show(
            out,
            "login",
            login,
            &base,
            plan,
            &plan.globals,
            &(Vec::new(), String::new()),
            &mask,
        )?;
    }
    for e in &plan.endpoints {
        if let Some(first) = e.requests.first() {
            rendered &= show(out, &e.name, first, &base, plan, &live, &applied, &mask)?;
        }
    }
    Ok(rendered)
}

/// A user's template context with placeholders where values come only at run time: the
/// auth values (`<auth.access>`) and captures (`<capture id>`), user and iteration 1.
fn placeholder_context(plan: &CompiledPlan) -> Ctx {
    let auth_keys: BTreeMap<String, String> = plan
        .auth
        .iter()
        .flat_map(|a| {
            a.extract
                .iter()
                .map(|(k, _)| (k.clone(), format!("<auth.{k}>")))
        })
        .collect();
    let on_start = plan.auth.iter().flat_map(|a| &a.on_start);
    let captures: BTreeMap<String, Vec<String>> = plan
        .endpoints
        .iter()
        .flat_map(|e| &e.requests)
        .chain(on_start)
        .flat_map(|r| &r.captures)
        .map(|c| (c.name.clone(), vec![format!("<capture {}>", c.name)]))
        .collect();
    crate::engine::user_context(
        &plan.globals,
        crate::template::to_value(&captures),
        context! { auth => crate::template::to_value(&auth_keys), user_id => 1, iteration => 1 },
    )
}

/// What `auth.apply` adds to each request, rendered with the placeholder context.
fn applied(plan: &CompiledPlan, live: &Ctx) -> Applied {
    let mut auth_headers = Vec::new();
    for (name, text) in plan.auth.iter().flat_map(|a| &a.apply_headers) {
        let v = plan
            .templates
            .render(text, live)
            .unwrap_or_else(|e| format!("<{e}>"));
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            auth_headers.push((n, v));
        }
    }
    let mut auth_query = url::form_urlencoded::Serializer::new(String::new());
    for (k, t) in plan.auth.iter().flat_map(|a| &a.apply_query) {
        let v = plan
            .templates
            .render(t, live)
            .unwrap_or_else(|e| format!("<{e}>"));
        auth_query.append_pair(k, &v);
    }
    (auth_headers, auth_query.finish())
}

#[allow(clippy::too_many_arguments)]
fn show(
    out: &mut dyn Write,
    title: &str,
    spec: &CompiledRequest,
    base: &Arc<str>,
    plan: &CompiledPlan,
    ctx: &Ctx,
    extra: &Applied,
    mask: &dyn Fn(&str) -> String,
) -> anyhow::Result<bool> {
    writeln!(out, "# {title}")?;
    let prepared = Prepared::new(spec, 0, base, &plan.target.headers, plan.target.timeout)
        .map_err(|e| anyhow::anyhow!(e))?;
    match prepared.render(&plan.templates, ctx, &extra.0, &extra.1) {
        Ok((req, _)) => {
            // Decoded, so placeholders read as written (`<capture claim_ids>`).
            let uri = req.uri.to_string();
            let url = percent_encoding::percent_decode_str(&uri).decode_utf8_lossy();
            writeln!(out, "{} {}", req.method, mask(&url))?;
            for (name, value) in &req.headers.to_map() {
                let shown = if SECRET_HEADERS.contains(&name.as_str())
                    && !value.to_str().unwrap_or("").contains('<')
                {
                    "***".to_owned()
                } else {
                    mask(value.to_str().unwrap_or("<binary>"))
                };
                writeln!(out, "{name}: {shown}")?;
            }
            if !req.body.is_empty() {
                writeln!(out, "\n{}", mask(&String::from_utf8_lossy(&req.body)))?;
            }
        }
        Err(f) => {
            writeln!(out, "cannot render: {}\n", mask(&f.message))?;
            return Ok(false);
        }
    }
    writeln!(out)?;
    Ok(true)
}
