//! Hints for k6 habits: a plan author who knows k6 writes `thresholds:`, `vus:`,
//! `p(95)<500` or `metric: http_req_duration`, and the nearest loadplan key would not tell
//! them where loadplan keeps that. The schema's diagnostics ask here first, for an unknown
//! key ([`key_hint`]) and for a value it refuses ([`value_hint`]).

use serde_json::Value;

/// Where loadplan keeps what a k6 option under `object` (`""` for the top level, `/load`)
/// configures, when `key` is one.
pub(crate) fn key_hint(object: &str, key: &str, value: Option<&Value>) -> Option<String> {
    let hint = match (object, key) {
        ("", "thresholds") => {
            return Some(format!(
                "loadplan calls these `sla:`, a list of assertions: {}",
                value.and_then(thresholds).unwrap_or_else(|| {
                    "`sla: [{ metric: p95, below: 500ms }, { metric: error_rate, below: 1% }]`"
                        .into()
                })
            ));
        }
        ("/load", "vus") => "did you mean `users`? k6's `vus` are loadplan's `users`",
        ("", "vus") => {
            let users = value.and_then(Value::as_u64).unwrap_or(10);
            return Some(format!(
                "k6's `vus` are loadplan's `users`, under `load:`: `load: {{ users: {users} }}`"
            ));
        }
        ("", "duration" | "iterations") => {
            let example = match value {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ if key == "duration" => "30s".into(),
                _ => "1000".into(),
            };
            return Some(format!(
                "`{key}` goes under `load:`: `load: {{ {key}: {example} }}`"
            ));
        }
        ("", "stages") => {
            "k6 puts `stages` under `options` or a scenario; loadplan under `load:`: \
             `load: { stages: [{ duration: 30s, target: 10 }, { duration: 1m, target: 10 }] }`"
        }
        ("", "options") => {
            "loadplan has no `options:`: `vus`, `duration` and `stages` go under `load:` \
             (`load: { users: 10, duration: 30s }`), `thresholds` under `sla:`"
        }
        ("", "scenarios") | ("/load", "executor") => {
            "a plan has one load shape, under `load:`: `users` or `stages` (k6's \
             `constant-vus`, `ramping-vus`), or `arrival_rate` (`constant-arrival-rate`, \
             `ramping-arrival-rate`); run one plan per scenario"
        }
        ("", "insecureSkipTLSVerify") => "`target: { tls: { insecure: true } }`",
        ("", "userAgent") => "`target: { headers: { User-Agent: my-agent } }`",
        ("", "maxRedirects") => "`target: { max_redirects: 5 }`",
        ("", "rps") | ("/load", "rate" | "timeUnit") => {
            "an open model's rate is `arrival_rate`, under `load:`, with its unit: \
             `load: { arrival_rate: 50/s, duration: 1m }`"
        }
        ("/load", "maxVUs" | "preAllocatedVUs") => {
            "k6's `maxVUs` is `max_concurrency`: the most iterations of `arrival_rate` in \
             flight at once"
        }
        ("/load", "gracefulStop") => "did you mean `graceful_stop`?",
        _ => return None,
    };
    Some(hint.to_owned())
}

/// How to write a k6 threshold the schema refused at `pointer`: an SLA entry written as
/// `p(95)<500`, `metric: p(95)` or `metric: http_req_duration`, or `sla:` as k6's mapping.
pub(crate) fn value_hint(pointer: &str, value: &Value) -> Option<String> {
    let segments: Vec<&str> = pointer.split('/').skip(1).collect();
    match (segments.as_slice(), value) {
        (["sla"], Value::Object(_)) => Some(format!(
            "`sla:` is a list of assertions, not k6's mapping of metrics: {}",
            thresholds(value).unwrap_or_else(|| "`sla: [{ metric: p95, below: 500ms }]`".into())
        )),
        (["sla", _] | ["sla", _, "metric"], Value::String(text)) => {
            if let Some(assertion) = expression(None, text) {
                return Some(format!("write `{assertion}`"));
            }
            let others = if text == "http_req_duration" {
                " (or another latency: `p50`, `p99`, `mean`, `max`)"
            } else {
                ""
            };
            metric(text).map(|m| format!("write `{m}`{others}"))
        }
        _ => None,
    }
}

/// A k6 `thresholds` mapping (`http_req_duration: ['p(95)<500']`) as loadplan's `sla:`,
/// when every threshold in it has a loadplan equivalent.
fn thresholds(value: &Value) -> Option<String> {
    let mut out = Vec::new();
    for (key, list) in value.as_object()? {
        let (name, endpoint) = match key.split_once('{') {
            Some((name, tags)) => (name, tag_name(tags)),
            None => (key.as_str(), None),
        };
        let items = match list {
            Value::Array(items) => items.as_slice(),
            one => std::slice::from_ref(one),
        };
        for item in items {
            let text = item.as_str().or_else(|| item.get("threshold")?.as_str())?;
            let assertion = expression(Some(name), text)?;
            out.push(match &endpoint {
                Some(e) => {
                    assertion.replacen(" }", &format!(", scope: endpoints, endpoints: [{e}] }}"), 1)
                }
                None => assertion,
            });
        }
    }
    (!out.is_empty()).then(|| format!("`sla: [{}]`", out.join(", ")))
}

/// The endpoint a k6 tag filter (`name:get_order}`) names.
fn tag_name(tags: &str) -> Option<String> {
    let (tag, value) = tags.trim_end_matches('}').split_once(':')?;
    (tag.trim() == "name").then(|| value.trim().to_owned())
}

/// A k6 threshold expression (`p(95)<500`, `rate<0.01`, `avg < 200`) of a k6 metric (when
/// known) as a loadplan SLA assertion: `{ metric: p95, below: 500ms }`.
fn expression(k6_metric: Option<&str>, text: &str) -> Option<String> {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let at = text.find(['<', '>', '='])?;
    let (aggregation, rest) = text.split_at(at);
    let (key, number) = [
        ("<=", "at_most"),
        (">=", "at_least"),
        ("<", "below"),
        (">", "above"),
    ]
    .into_iter()
    .find_map(|(op, key)| Some((key, rest.strip_prefix(op)?)))?;
    let n: f64 = number.parse().ok()?;
    let number = number.trim_start_matches('+');
    let (metric, threshold) = match (k6_metric, aggregation) {
        (Some("http_req_failed") | None, "rate") => ("error_rate".into(), percent(n)),
        (Some("checks"), "rate") => ("check_pass_rate".into(), percent(n)),
        (Some("http_reqs"), "rate") => ("rps".into(), format!("{number}/s")),
        (Some("dropped_iterations"), "count") => ("dropped_iterations".into(), number.into()),
        (Some("http_req_duration") | None, aggregation) => {
            (metric(aggregation)?, format!("{number}ms"))
        }
        _ => return None,
    };
    Some(format!("{{ metric: {metric}, {key}: {threshold} }}"))
}

/// A k6 aggregation or metric name as loadplan's metric: `p(95)` → `p95`, `avg` → `mean`,
/// `http_req_failed` → `error_rate`.
fn metric(k6: &str) -> Option<String> {
    let k6 = k6.trim();
    if let Some(n) = k6.strip_prefix("p(").and_then(|p| p.strip_suffix(')')) {
        let n = n.trim();
        return n.parse::<f64>().is_ok().then(|| format!("p{n}"));
    }
    Some(
        match k6 {
            "avg" => "mean",
            "med" => "p50",
            "min" => "min",
            "max" => "max",
            "http_req_duration" => "p95",
            "http_req_failed" => "error_rate",
            "http_reqs" => "rps",
            "checks" => "check_pass_rate",
            _ => return None,
        }
        .to_owned(),
    )
}

/// A k6 rate (a fraction) as a percentage: `0.01` → `1%`.
fn percent(fraction: f64) -> String {
    let text = format!("{:.4}", fraction * 100.0);
    format!("{}%", text.trim_end_matches('0').trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn k6_options_say_where_loadplan_keeps_them() {
        let hint = |object: &str, key: &str, value: Value| {
            key_hint(object, key, Some(&value)).unwrap_or_default()
        };
        let thresholds = hint(
            "",
            "thresholds",
            json!({
                "http_req_duration": ["p(95)<500", "p(99) <= 1500"],
                "http_req_failed": ["rate<0.01"],
                "http_req_duration{name:get_order}": [{ "threshold": "avg<200" }],
            }),
        );
        assert_eq!(
            thresholds,
            "loadplan calls these `sla:`, a list of assertions: `sla: [{ metric: p95, below: \
             500ms }, { metric: p99, at_most: 1500ms }, { metric: error_rate, below: 1% }, \
             { metric: mean, below: 200ms, scope: endpoints, endpoints: [get_order] }]`"
        );
        assert!(hint("", "thresholds", json!(3)).contains("`sla: [{ metric: p95"));
        assert_eq!(
            hint("", "vus", json!(20)),
            "k6's `vus` are loadplan's `users`, under `load:`: `load: { users: 20 }`"
        );
        assert!(hint("/load", "vus", json!(5)).starts_with("did you mean `users`?"));
        assert!(hint("", "stages", json!([])).contains("under `load:`"));
        assert!(hint("", "duration", json!("30s")).contains("`load: { duration: 30s }`"));
        assert!(hint("/load", "maxVUs", json!(50)).contains("`max_concurrency`"));
        assert!(hint("", "scenarios", json!({})).contains("`arrival_rate`"));
        assert!(hint("", "options", json!({})).contains("`load: { users: 10, duration: 30s }`"));
        assert!(hint("", "iterations", json!(100)).contains("`load: { iterations: 100 }`"));
        assert!(
            hint("", "insecureSkipTLSVerify", json!(true))
                .contains("`target: { tls: { insecure: true } }`")
        );
        assert!(hint("", "userAgent", json!("x")).contains("User-Agent"));
        assert!(hint("", "maxRedirects", json!(3)).contains("`target: { max_redirects: 5 }`"));
        for (object, key) in [("", "rps"), ("/load", "rate"), ("/load", "timeUnit")] {
            assert!(
                hint(object, key, json!(50)).contains("`arrival_rate`"),
                "{key}"
            );
        }
        assert!(hint("/load", "executor", json!("constant-vus")).contains("`users` or `stages`"));
        assert_eq!(
            hint("/load", "gracefulStop", json!("30s")),
            "did you mean `graceful_stop`?"
        );
        assert_eq!(key_hint("/load", "wieght", None), None);
        assert_eq!(key_hint("/target", "vus", None), None);
    }

    #[test]
    fn k6_thresholds_are_written_the_loadplan_way() {
        let hint = |pointer: &str, value: Value| value_hint(pointer, &value);
        assert_eq!(
            hint("/sla/0", json!("p(95) < 500")).as_deref(),
            Some("write `{ metric: p95, below: 500ms }`")
        );
        assert_eq!(
            hint("/sla/1/metric", json!("p(99.9)>=2")).as_deref(),
            Some("write `{ metric: p99.9, at_least: 2ms }`")
        );
        assert_eq!(
            hint("/sla/0/metric", json!("p(95)")).as_deref(),
            Some("write `p95`")
        );
        assert_eq!(
            hint("/sla/0/metric", json!("http_req_failed")).as_deref(),
            Some("write `error_rate`")
        );
        assert!(
            hint("/sla/0/metric", json!("http_req_duration")).unwrap()
                == "write `p95` (or another latency: `p50`, `p99`, `mean`, `max`)"
        );
        assert_eq!(
            hint("/sla", json!({ "checks": ["rate>0.99"] })).as_deref(),
            Some(
                "`sla:` is a list of assertions, not k6's mapping of metrics: \
                 `sla: [{ metric: check_pass_rate, above: 99% }]`"
            )
        );
        assert_eq!(hint("/sla/0/metric", json!("p95x")), None);
        assert_eq!(hint("/load/users", json!("p(95)<500")), None);
    }
}
