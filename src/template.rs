//! minijinja templates of a plan: compiled once when the plan is loaded, rendered strictly
//! (an undefined value is an error, never an empty string) with loadplan's helpers.
//! Strings without template syntax are kept as plain text and never go through the engine,
//! so static parts of requests cost nothing per request. Every render is bounded: minijinja
//! fuel caps the work and memory a template may spend, and its output is capped, so a plan
//! cannot make the engine loop or allocate without end.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::Arc;

use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Names every template may use besides plan variables and captures.
pub(crate) const GLOBALS: &[&str] = &[
    "env",
    "vars",
    "auth",
    "data",
    "user_id",
    "iteration",
    "random_int",
    "random_float",
    "uuid",
    "now",
    "now_ms",
    "range",
    "dict",
    "namespace",
];

/// Work one render may do, in minijinja fuel: one instruction, or about 64 bytes of data made
/// or visited, costs one. It bounds a render to tens of milliseconds and about 6 MB whatever
/// the template loops over, and leaves room for a JSON body of a few hundred KiB.
pub(crate) const FUEL: u64 = 100_000;

/// Longest text one render may produce.
pub const MAX_OUTPUT: usize = 1 << 20;

/// Roots of [`GLOBALS`] only a run knows: a template that reads none of them (nor a
/// capture) renders the same at `validate` time as at run time, up to randomness and the
/// clock.
const RUN_TIME_GLOBALS: &[&str] = &["auth", "data", "user_id", "iteration"];

/// A string of the plan: plain text, or a compiled template by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// Text without template syntax.
    Static(Arc<str>),
    /// A template registered in the plan's [`Templates`] under this name.
    Template(Arc<str>),
}

impl Text {
    /// The text when it is static.
    pub fn as_static(&self) -> Option<&str> {
        match self {
            Text::Static(s) => Some(s),
            Text::Template(_) => None,
        }
    }
}

/// A template that failed to compile: the message and the 1-based line within the string.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    /// What is wrong, from minijinja.
    pub message: String,
    /// Line within the template source, 1-based.
    pub line: usize,
}

/// The compiled templates of one plan.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

thread_local! {
    // One generator per worker thread: templates need randomness on every request, and a
    // shared locked generator would serialize all users.
    static RNG: RefCell<SmallRng> = RefCell::new(SmallRng::from_os_rng());
}

/// Converts serializable data (JSON values, maps of strings) into a template value.
pub(crate) fn to_value<T: serde::Serialize>(v: &T) -> Value {
    Value::from(minijinja::value::Serde(v))
}

/// Seeds the calling thread's template randomness (`random`, `random_int`, …), so that seeded
/// runs repeat.
pub(crate) fn seed_thread(seed: u64) {
    RNG.with(|r| *r.borrow_mut() = SmallRng::seed_from_u64(seed));
}

fn with_rng<T>(f: impl FnOnce(&mut SmallRng) -> T) -> T {
    RNG.with(|r| f(&mut r.borrow_mut()))
}

impl Templates {
    /// An environment with strict undefined values and loadplan's helpers.
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.add_function("random_int", |lo: i64, hi: i64| -> Result<i64, Error> {
            if lo > hi {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("random_int({lo}, {hi}): the first bound is above the second"),
                ));
            }
            Ok(with_rng(|r| r.random_range(lo..=hi)))
        });
        env.add_function("random_float", |lo: f64, hi: f64| -> f64 {
            with_rng(|r| lo + (hi - lo) * r.random::<f64>())
        });
        env.add_function("uuid", || {
            uuid::Builder::from_random_bytes(with_rng(|r| r.random()))
                .into_uuid()
                .to_string()
        });
        env.add_function("now", || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
        env.add_function("now_ms", || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0)
        });
        env.add_filter("random", |v: Value| -> Result<Value, Error> {
            let len = v.len().unwrap_or(0);
            if len == 0 {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "`random` needs a non-empty list (did a capture come back empty?)",
                ));
            }
            let i = with_rng(|r| r.random_range(0..len));
            v.get_item_by_index(i)
        });
        Templates { env }
    }

    /// Compiles a plan string. `name` identifies it (its JSON pointer); strings without
    /// `{{`, `{%` or `{#` stay static.
    pub fn add(&mut self, name: &str, source: &str) -> Result<Text, TemplateError> {
        if !(source.contains("{{") || source.contains("{%") || source.contains("{#")) {
            return Ok(Text::Static(source.into()));
        }
        match self
            .env
            .add_template_owned(name.to_owned(), source.to_owned())
        {
            Ok(()) => Ok(Text::Template(name.into())),
            Err(e) => Err(TemplateError {
                message: e
                    .detail()
                    .map_or_else(|| e.kind().to_string(), str::to_owned),
                line: e.line().unwrap_or(1),
            }),
        }
    }

    /// Root names a template reads that it does not set itself (`auth` for `auth.access`),
    /// with the full dotted name they were read as.
    pub fn variables(&self, text: &Text) -> BTreeSet<(String, String)> {
        let Text::Template(name) = text else {
            return BTreeSet::new();
        };
        let Ok(t) = self.env.get_template(name) else {
            return BTreeSet::new();
        };
        t.undeclared_variables(true)
            .into_iter()
            .map(|full| {
                let root = full.split('.').next().unwrap_or(&full).to_owned();
                (root, full)
            })
            .collect()
    }

    /// Names of the environment variables (`env.NAME`) read by every template whose name
    /// (its plan pointer) starts with none of `skip`.
    pub fn env_reads(&self, skip: &[&str]) -> BTreeSet<String> {
        self.env
            .templates()
            .filter(|(name, _)| !skip.iter().any(|s| name.starts_with(s)))
            .flat_map(|(_, t)| t.undeclared_variables(true))
            .filter_map(|full| {
                full.strip_prefix("env.")
                    .map(|n| n.split('.').next().unwrap_or(n).to_owned())
            })
            .collect()
    }

    /// Whether the template behind `text` copes with `env.NAME` unset: every read has a
    /// fallback (`env.NAME | default(…)`), or the template tests it (`env.NAME is
    /// defined`, and then guards its reads itself).
    pub fn env_has_fallback(&self, text: &Text, name: &str) -> bool {
        let Text::Template(id) = text else {
            return true;
        };
        let Ok(t) = self.env.get_template(id) else {
            return false;
        };
        let name = regex::escape(name);
        let read = format!(
            r#"\benv\s*(?:\.\s*{name}\b|\[\s*["']{name}["']\s*\])(?:(\s*\|\s*(?:default|d)\b)|(\s+is\s+(?:not\s+)?(?:defined|undefined)\b))?"#
        );
        let Ok(re) = regex::Regex::new(&read) else {
            return false;
        };
        let reads: Vec<_> = re.captures_iter(t.source()).collect();
        reads.iter().any(|c| c.get(2).is_some())
            || (!reads.is_empty() && reads.iter().all(|c| c.get(1).is_some()))
    }

    /// Renders a string with a context.
    pub fn render(&self, text: &Text, ctx: &Value) -> Result<String, String> {
        match text {
            Text::Static(s) => Ok(s.to_string()),
            Text::Template(name) => self.render_template(name, ctx).map_err(|e| e.message()),
        }
    }

    /// Whether a template that reads nothing only a run knows (auth, captures, data, the
    /// user) exceeds its budget when rendered with `globals`: the message when it does. A
    /// template that fails otherwise, or reads run-time values, is left to the run.
    pub fn static_budget_error(&self, text: &Text, globals: &Value) -> Option<String> {
        let Text::Template(name) = text else {
            return None;
        };
        let vars = self.variables(text);
        let is_static = |root: &str| {
            (GLOBALS.contains(&root) && !RUN_TIME_GLOBALS.contains(&root))
                || globals.get_attr(root).is_ok_and(|v| !v.is_undefined())
        };
        if !vars.iter().all(|(root, _)| is_static(root)) {
            return None;
        }
        match self.render_template(name, globals) {
            Err(e @ RenderError::Budget(_)) => Some(e.message()),
            _ => None,
        }
    }

    fn render_template(&self, name: &str, ctx: &Value) -> Result<String, RenderError> {
        let t = self
            .env
            .get_template(name)
            .map_err(|e| RenderError::Other(e.to_string()))?;
        let out = t.render(ctx).map_err(|e| match e.kind() {
            ErrorKind::OutOfFuel => RenderError::Budget(format!(
                "the template does more work than one render may ({FUEL} fuel): a loop or \
                 filter over too many items"
            )),
            _ => RenderError::Other(render_error(&e)),
        })?;
        if out.len() > MAX_OUTPUT {
            return Err(RenderError::Budget(format!(
                "the template produced {} bytes, more than one render may ({MAX_OUTPUT})",
                out.len()
            )));
        }
        Ok(out)
    }
}

/// Why a render failed.
enum RenderError {
    /// It went over the fuel or output budget.
    Budget(String),
    /// Anything else (an undefined value, a filter's error).
    Other(String),
}

impl RenderError {
    fn message(self) -> String {
        match self {
            RenderError::Budget(m) | RenderError::Other(m) => m,
        }
    }
}

/// The values every template sees before any user runs: plan variables by name and under
/// `vars`, and the environment under `env`.
pub(crate) fn globals(variables: &indexmap::IndexMap<String, serde_json::Value>) -> Value {
    let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    let mut map: std::collections::BTreeMap<String, Value> = variables
        .iter()
        .map(|(k, v)| (k.clone(), to_value(v)))
        .collect();
    map.insert("env".into(), to_value(&env));
    map.insert("vars".into(), to_value(variables));
    Value::from(map)
}

fn render_error(e: &Error) -> String {
    let mut message = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    if e.kind() == ErrorKind::UndefinedError {
        message.push_str(" (a value the template reads does not exist)");
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn static_strings_skip_the_engine() {
        let mut t = Templates::new();
        assert_eq!(
            t.add("/a", "/api/v1/").unwrap(),
            Text::Static("/api/v1/".into())
        );
        assert!(matches!(t.add("/b", "{{ x }}").unwrap(), Text::Template(_)));
    }

    #[test]
    fn strict_undefined_fails() {
        let mut t = Templates::new();
        let text = t.add("/a", "/claims/{{ claim_id }}/").unwrap();
        assert!(t.render(&text, &context! {}).is_err());
        assert_eq!(
            t.render(&text, &context! { claim_id => 7 }).unwrap(),
            "/claims/7/"
        );
    }

    #[test]
    fn helpers_and_variables() {
        let mut t = Templates::new();
        let text = t
            .add(
                "/a",
                "{{ random_int(3, 3) }} {{ xs | random }} {{ auth.access }}",
            )
            .unwrap();
        let vars: Vec<_> = t.variables(&text).into_iter().map(|(r, _)| r).collect();
        assert_eq!(vars, ["auth", "random_int", "xs"]);
        let out = t
            .render(
                &text,
                &context! { xs => vec![5], auth => context! { access => "t" } },
            )
            .unwrap();
        assert_eq!(out, "3 5 t");
        let empty = t.add("/b", "{{ xs | random }}").unwrap();
        let err = t
            .render(&empty, &context! { xs => Vec::<i32>::new() })
            .unwrap_err();
        assert!(err.contains("non-empty list"), "{err}");
    }

    #[test]
    fn env_fallbacks_are_seen() {
        let mut t = Templates::new();
        let guarded = |t: &mut Templates, source: &str| {
            let text = t.add(&format!("/{source}"), source).unwrap();
            t.env_has_fallback(&text, "API_KEY")
        };
        assert!(!guarded(&mut t, "{{ env.API_KEY }}"));
        assert!(guarded(&mut t, "{{ env.API_KEY | default('x') }}"));
        assert!(guarded(&mut t, "{{ env['API_KEY']|d('x') }}"));
        assert!(guarded(
            &mut t,
            "{% if env.API_KEY is defined %}{{ env.API_KEY }}{% endif %}"
        ));
        assert!(!guarded(
            &mut t,
            "{{ env.API_KEY|default('x') }} {{ env.API_KEY }}"
        ));
        assert!(!guarded(
            &mut t,
            "{{ env.API_KEY_2 | default('x') }} {{ env.API_KEY }}"
        ));
    }

    #[test]
    fn renders_are_bounded_in_work_and_output() {
        let mut t = Templates::new();
        let bomb = t
            .add(
                "/a",
                "{% for i in range(100000) %}{{ user_id }}{% endfor %}",
            )
            .unwrap();
        let err = t.render(&bomb, &context! { user_id => 1 }).unwrap_err();
        assert!(err.contains("100000 fuel"), "{err}");
        // Cheap in fuel (bytes cost 1/64 of an instruction) but over the output cap.
        let wide = t.add("/b", "{{ 'x' * 2000000 }}").unwrap();
        let err = t.render(&wide, &context! {}).unwrap_err();
        assert!(err.contains("produced 2000000 bytes"), "{err}");
        let fine = t.add("/c", "{{ 'x' * 1000 }}").unwrap();
        assert_eq!(t.render(&fine, &context! {}).unwrap().len(), 1000);
    }

    #[test]
    fn only_templates_without_run_time_values_are_tried_statically() {
        let mut t = Templates::new();
        let globals = globals(&indexmap::IndexMap::new());
        let loop_over = |body: &str| format!("{{% for i in range(100000) %}}{body}{{% endfor %}}");
        let fixed = t.add("/a", &loop_over("x")).unwrap();
        assert!(t.static_budget_error(&fixed, &globals).is_some());
        let per_user = t.add("/b", &loop_over("{{ user_id }}")).unwrap();
        assert_eq!(t.static_budget_error(&per_user, &globals), None);
        let small = t.add("/c", "{{ range(10) | join(',') }}").unwrap();
        assert_eq!(t.static_budget_error(&small, &globals), None);
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let mut t = Templates::new();
        let e = t.add("/a", "ok\n{{ x ").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
