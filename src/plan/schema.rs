//! The plan's JSON Schema: generated from the plan types (schemars, draft-07 for editor
//! support), committed as `schema/plan.schema.json` and embedded; plans are checked against
//! the embedded copy (a test keeps the two equal). Schema errors are translated into
//! diagnostics a plan author can act on: placed at the offending key or value, with the
//! nearest known key suggested, and descending into the branch of a `oneOf`/`anyOf` whose
//! shape matched instead of saying "not valid under any of the schemas".

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use schemars::Schema;
use schemars::generate::SchemaSettings;
use schemars::transform::{RecursiveTransform, RemoveRefSiblings, Transform as _};
use serde_json::Value;

use super::diagnostic::suggest;
use super::model::Plan;
use super::yaml::{Pos, Positions};

/// The committed schema, as shipped in the binary.
pub(crate) const PLAN_SCHEMA: &str = include_str!("../../schema/plan.schema.json");

/// Generates the plan schema from the plan types, as pretty JSON with a final newline.
///
/// Descriptions are then laid out for editors' hovers ([`super::hovers`]). Draft-07 ignores
/// every keyword beside a `$ref`, so a `$ref` that has siblings, from schemars or from that
/// layout, moves into `allOf: [{ $ref }]` (a test keeps it that way).
pub(crate) fn generate() -> String {
    let mut schema = SchemaSettings::draft07()
        .with_transform(RecursiveTransform(add_markdown_description))
        .into_generator()
        .into_root_schema_for::<Plan>()
        .to_value();
    super::hovers::layout(&mut schema);
    let mut schema = Schema::try_from(schema).unwrap_or_default();
    RemoveRefSiblings::default().transform(&mut schema);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Our descriptions are Markdown (backticks around keys and values). Editors that render
/// hovers as Markdown (VS Code's YAML extension) read `markdownDescription` and show
/// `description` as plain text, so every described node carries the same text in both.
fn add_markdown_description(schema: &mut Schema) {
    if let Some(text) = schema.get("description").cloned() {
        schema.insert("markdownDescription".to_owned(), text);
    }
}

/// The built-in plan schema cannot be used: a defect of this build (exit 3), never a reason
/// to let a plan through unchecked.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the plan schema built into loadplan cannot be used: {0}")]
pub(crate) struct SchemaError(String);

fn schema() -> Result<&'static (Value, Validator), SchemaError> {
    static SCHEMA: OnceLock<Result<(Value, Validator), SchemaError>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let value: Value =
                serde_json::from_str(PLAN_SCHEMA).map_err(|e| SchemaError(e.to_string()))?;
            let validator =
                jsonschema::draft7::new(&value).map_err(|e| SchemaError(e.to_string()))?;
            Ok((value, validator))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Builds the schema's validator, once: commands that check plans call it first, so a
/// broken build ends with exit 3 before any plan is read.
pub(crate) fn ready() -> Result<(), SchemaError> {
    schema().map(|_| ())
}

/// A schema problem before it is tied to a file.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaProblem {
    /// JSON pointer of the node.
    pub pointer: String,
    /// Where it is in the file.
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// Checks a plan document against the schema; every problem, placed.
pub fn check(instance: &Value, positions: &Positions) -> Vec<SchemaProblem> {
    let (root, validator) = match schema() {
        Ok(s) => s,
        // Fails closed: without the schema, no plan passes.
        Err(e) => {
            return vec![SchemaProblem {
                pointer: String::new(),
                pos: positions.value(""),
                message: e.to_string(),
                hint: Some("this build of loadplan is broken: please report it".into()),
            }];
        }
    };
    let cx = Cx {
        root,
        positions,
        instance,
    };
    validator
        .iter_errors(instance)
        .flat_map(|e| cx.explain(&e))
        .map(|mut p| {
            // A k6 habit gets where loadplan keeps it, before what the schema says.
            if let Some(hint) = instance
                .pointer(&p.pointer)
                .and_then(|v| super::k6::value_hint(&p.pointer, v))
            {
                p.hint = Some(hint);
            }
            p
        })
        .collect()
}

struct Cx<'a> {
    root: &'a Value,
    positions: &'a Positions,
    instance: &'a Value,
}

impl Cx<'_> {
    fn explain(&self, e: &ValidationError<'_>) -> Vec<SchemaProblem> {
        let at = e.instance_path().as_str().to_owned();
        let value = self.instance.pointer(&at).unwrap_or(&Value::Null);
        let parent = self.schema_node(parent_pointer(e.schema_path().as_str()));
        let described = || self.described(parent_pointer(e.schema_path().as_str()));
        let problem =
            |message: String, hint: Option<String>| vec![self.problem(&at, message, hint)];
        match e.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let known = property_names(parent);
                unexpected
                    .iter()
                    .map(|k| self.unknown_key(&at, k, &known))
                    .collect()
            }
            ValidationErrorKind::OneOfNotValid { context }
            | ValidationErrorKind::AnyOf { context } => {
                self.explain_branches(e, &at, value, parent, context)
            }
            ValidationErrorKind::Type { kind } => problem(
                format!("expected {}, found {}", type_names(kind), describe(value)),
                described(),
            ),
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                let hint = parent
                    .and_then(|p| p.get("properties"))
                    .and_then(|p| self.resolve(p.get(name)?))
                    .and_then(first_sentence);
                problem(format!("missing required key `{name}`"), hint)
            }
            ValidationErrorKind::Pattern { .. } => {
                let title = parent
                    .and_then(|p| p.get("title"))
                    .and_then(Value::as_str)
                    .unwrap_or("value");
                problem(
                    format!("{} is not a valid {title}", describe(value)),
                    pattern_hint(title, value, described()),
                )
            }
            ValidationErrorKind::Enum { options } => {
                let names: Vec<&str> = options
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                vec![self.not_allowed(&at, value, &names)]
            }
            ValidationErrorKind::Constant { expected_value } => problem(
                format!("expected `{expected_value}`, found {}", describe(value)),
                described(),
            ),
            ValidationErrorKind::MinItems { limit } => {
                problem(count_mismatch("at least", *limit, value), described())
            }
            ValidationErrorKind::MaxItems { limit } => {
                problem(count_mismatch("at most", *limit, value), described())
            }
            _ => problem(e.to_string(), described()),
        }
    }

    /// A problem with the value at `at`.
    fn problem(&self, at: &str, message: String, hint: Option<String>) -> SchemaProblem {
        SchemaProblem {
            pos: self.positions.value(at),
            pointer: at.to_owned(),
            message,
            hint,
        }
    }

    /// A value outside a fixed set, with the nearest allowed one suggested.
    fn not_allowed(&self, at: &str, value: &Value, allowed: &[&str]) -> SchemaProblem {
        self.problem(
            at,
            format!("{} is not allowed here", describe(value)),
            Some(suggest(value.as_str().unwrap_or_default(), allowed)),
        )
    }

    fn unknown_key(&self, object: &str, key: &str, known: &[&str]) -> SchemaProblem {
        let pointer = format!("{object}/{}", super::yaml::escape_segment(key));
        let hint = super::k6::key_hint(object, key, self.instance.pointer(&pointer))
            .unwrap_or_else(|| suggest(key, known));
        SchemaProblem {
            pos: self.positions.key(&pointer),
            pointer,
            message: format!("unknown key `{key}`"),
            hint: Some(hint),
        }
    }

    /// A `oneOf`/`anyOf` failed. Branches whose shape did not match (a wrong type or a
    /// missing tag key at this very node) are set aside; if one branch is left, its own
    /// errors are the real ones. Otherwise the node matches no branch at all.
    fn explain_branches(
        &self,
        e: &ValidationError<'_>,
        at: &str,
        value: &Value,
        parent: Option<&Value>,
        context: &[Vec<ValidationError<'static>>],
    ) -> Vec<SchemaProblem> {
        let branches: Vec<&Value> = parent
            .and_then(|p| p.get("oneOf").or_else(|| p.get("anyOf")))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|b| self.resolve(b)).collect())
            .unwrap_or_default();
        // A Rust enum whose variants have doc comments becomes a `oneOf` of `const`s: every
        // branch fails the same way, so name the allowed values instead of the last branch.
        let consts: Vec<&str> = branches
            .iter()
            .filter_map(|b| b.get("const")?.as_str())
            .collect();
        if !consts.is_empty() && consts.len() == branches.len() {
            return vec![self.not_allowed(at, value, &consts)];
        }
        if let Some(best) = best_branch(context, at) {
            return best.iter().flat_map(|b| self.explain(b)).collect();
        }
        // No branch fits. For a mapping, name the keys no branch knows.
        let mut known: Vec<&str> = branches
            .iter()
            .flat_map(|b| property_names(Some(b)))
            .collect();
        known.dedup();
        let description = parent.and_then(first_sentence);
        if let Value::Object(map) = value
            && !known.is_empty()
        {
            return self.keys_of_no_branch(at, map, &known, description);
        }
        vec![self.no_shape_fits(e, at, value, &branches, description)]
    }

    /// A mapping that fits no branch: its keys that no branch knows, or, when every key is
    /// known, that exactly one of them must be given.
    fn keys_of_no_branch(
        &self,
        at: &str,
        map: &serde_json::Map<String, Value>,
        known: &[&str],
        description: Option<String>,
    ) -> Vec<SchemaProblem> {
        let unknown: Vec<SchemaProblem> = map
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .map(|k| self.unknown_key(at, k, known))
            .collect();
        if !unknown.is_empty() {
            return unknown;
        }
        let keys: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
        vec![self.problem(
            at,
            format!("give exactly one of {}", keys.join(", ")),
            description,
        )]
    }

    /// Names every shape allowed here: an optional unit (`anyOf: [duration, null]`) given a
    /// number says which unit; `50/s` or a list of stages says both.
    fn no_shape_fits(
        &self,
        e: &ValidationError<'_>,
        at: &str,
        value: &Value,
        branches: &[&Value],
        description: Option<String>,
    ) -> SchemaProblem {
        let typed: Vec<&Value> = branches
            .iter()
            .copied()
            .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        let shapes: Vec<String> = typed.iter().flat_map(|b| self.shapes(b)).collect();
        let message = if shapes.is_empty() {
            format!("{} is not valid here", describe(value))
        } else {
            format!(
                "expected {}, found {}",
                shapes.join(" or "),
                describe(value)
            )
        };
        let description = match typed.as_slice() {
            [only] => first_sentence(only).or(description),
            _ => description,
        };
        self.problem(at, message, description.or_else(|| Some(e.to_string())))
    }

    /// A schema node as a plan author would name it (`a rate such as `50/s``, `a list`),
    /// through `anyOf`/`oneOf` alternatives.
    fn shapes(&self, node: &Value) -> Vec<String> {
        if let Some(title) = node.get("title").and_then(Value::as_str) {
            return vec![match node
                .get("examples")
                .and_then(|e| e.get(0))
                .and_then(Value::as_str)
            {
                Some(example) => format!("a {title} such as `{example}`"),
                None => format!("a {title}"),
            }];
        }
        if let Some(alternatives) = node
            .get("anyOf")
            .or_else(|| node.get("oneOf"))
            .and_then(Value::as_array)
        {
            let branches: Vec<&Value> = alternatives
                .iter()
                .filter_map(|b| self.resolve(b))
                .collect();
            // Externally tagged alternatives (`{ between: … }`, `{ pacing: … }`) read best as
            // one mapping with a choice of keys.
            let tags: Vec<String> = branches
                .iter()
                .filter_map(|b| {
                    match b
                        .get("required")
                        .and_then(Value::as_array)
                        .map(Vec::as_slice)
                    {
                        Some([Value::String(k)])
                            if b.get("type").and_then(Value::as_str) == Some("object") =>
                        {
                            Some(format!("`{k}`"))
                        }
                        _ => None,
                    }
                })
                .collect();
            let mut out: Vec<String> = branches
                .iter()
                .filter(|b| tags.is_empty() || b.get("required").is_none())
                .flat_map(|b| self.shapes(b))
                .collect();
            if !tags.is_empty() {
                out.push(format!("a mapping with one of {}", tags.join(", ")));
            }
            out.dedup();
            return out;
        }
        let name = match node.get("type").and_then(Value::as_str) {
            Some("array") => "a list",
            Some("object") => "a mapping",
            Some("string") => "text",
            Some("integer") => "a whole number",
            Some("number") => "a number",
            Some("boolean") => "`true` or `false`",
            _ => return Vec::new(),
        };
        vec![name.to_owned()]
    }

    /// The first sentence of the nearest description at or above a schema path (an array's
    /// items and an enum variant's property often have none of their own).
    fn described(&self, path: &str) -> Option<String> {
        let mut p = path;
        for _ in 0..4 {
            if let Some(d) = self.schema_node(p).and_then(first_sentence) {
                return Some(d);
            }
            p = parent_pointer(p);
            if p.is_empty() {
                break;
            }
        }
        None
    }

    /// The schema node at a schema path, following `$ref`s on the way.
    fn schema_node(&self, path: &str) -> Option<&Value> {
        let mut node = self.root;
        for segment in path.split('/').skip(1) {
            let segment = segment.replace("~1", "/").replace("~0", "~");
            node = if segment == "$ref" {
                self.resolve_ref(node.get("$ref")?.as_str()?)?
            } else {
                match node {
                    Value::Object(m) => m.get(&segment)?,
                    Value::Array(a) => a.get(segment.parse::<usize>().ok()?)?,
                    _ => return None,
                }
            };
        }
        self.resolve(node)
    }

    /// Follows a node's `$ref` (and single-entry `allOf` wrappers draft-07 uses for them).
    fn resolve<'v>(&'v self, node: &'v Value) -> Option<&'v Value> {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            return self.resolve_ref(r);
        }
        if let Some([only]) = node
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            return self.resolve(only);
        }
        Some(node)
    }

    fn resolve_ref(&self, reference: &str) -> Option<&Value> {
        self.root.pointer(reference.strip_prefix('#')?)
    }
}

/// Whether a `oneOf`/`anyOf` branch failed on the shape of the node at `at` itself: a wrong
/// type or a missing tag key. Such a branch was not what the author meant, so its errors
/// would only mislead.
fn shape_mismatch(errors: &[ValidationError<'_>], at: &str) -> bool {
    type_mismatch(errors, at)
        || errors.iter().any(|b| {
            b.instance_path().as_str() == at
                && matches!(b.kind(), ValidationErrorKind::Required { .. })
        })
}

/// A wrong type at `at`, directly or in every branch of a nested `oneOf`/`anyOf` (a number
/// where only strings or mappings fit).
fn type_mismatch(errors: &[ValidationError<'_>], at: &str) -> bool {
    errors.iter().any(|b| {
        b.instance_path().as_str() == at
            && match b.kind() {
                ValidationErrorKind::Type { .. } => true,
                ValidationErrorKind::OneOfNotValid { context }
                | ValidationErrorKind::AnyOf { context } => {
                    context.iter().all(|c| type_mismatch(c, at))
                }
                _ => false,
            }
    })
}

/// The branch of a failed `oneOf`/`anyOf` whose shape matched, and went deepest into the
/// node before failing (the fewest errors breaking a tie).
fn best_branch<'c>(
    context: &'c [Vec<ValidationError<'static>>],
    at: &str,
) -> Option<&'c Vec<ValidationError<'static>>> {
    context
        .iter()
        .filter(|errors| !shape_mismatch(errors, at))
        .max_by_key(|errors| {
            let depth = errors
                .iter()
                .map(|b| b.instance_path().as_str().len())
                .max()
                .unwrap_or(0);
            (depth, usize::MAX - errors.len())
        })
}

/// `30 sec` for `30s`, `50/sec` for `50/s`: says what was meant before what a unit is.
fn pattern_hint(title: &str, value: &Value, described: Option<String>) -> Option<String> {
    let meant_for: Option<fn(&str) -> Option<String>> = match title {
        "duration" | "think time" => Some(super::units::duration_for_words),
        "rate" => Some(super::units::rate_for_words),
        "percentage" => Some(super::units::percent_for_words),
        _ => None,
    };
    let meant = meant_for.and_then(|meant| value.as_str().and_then(meant));
    match (meant, described) {
        (Some(meant), Some(text)) => Some(format!("did you mean `{meant}`? {text}")),
        (Some(meant), None) => Some(format!("did you mean `{meant}`?")),
        (None, text) => text,
    }
}

fn count_mismatch(bound: &str, limit: u64, value: &Value) -> String {
    format!(
        "expected {bound} {limit} values, found {}",
        value.as_array().map_or(0, Vec::len)
    )
}

fn parent_pointer(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

fn property_names(node: Option<&Value>) -> Vec<&str> {
    node.and_then(|n| n.get("properties"))
        .and_then(Value::as_object)
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn first_sentence(node: &Value) -> Option<String> {
    let text = super::hovers::doc(node)?;
    let end = text.find(". ").map_or(text.len(), |i| i + 1);
    let line = text[..end].replace('\n', " ");
    Some(line.trim().to_owned())
}

fn type_names(kind: &TypeKind) -> String {
    let name = |t: &jsonschema::JsonType| match t.to_string().as_str() {
        "object" => "a mapping".to_owned(),
        "array" => "a list".to_owned(),
        "integer" => "a whole number".to_owned(),
        "number" => "a number".to_owned(),
        "boolean" => "`true` or `false`".to_owned(),
        "string" => "text".to_owned(),
        other => other.to_owned(),
    };
    match kind {
        TypeKind::Single(t) => name(t),
        // `null` is how optional keys are typed; "expected null" would only confuse.
        TypeKind::Multiple(ts) => ts
            .iter()
            .filter(|t| t.to_string() != "null")
            .map(|t| name(&t))
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

/// A value as a plan author would recognise it in a message.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "an empty value".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("`{n}`"),
        Value::String(s) if s.chars().count() > 60 => {
            format!("`{}…`", s.chars().take(60).collect::<String>())
        }
        Value::String(s) => format!("`{s}`"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}
