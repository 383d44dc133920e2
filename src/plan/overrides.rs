//! `--set path=value` overrides, shared by every command that reads a plan. They edit the
//! parsed document before the schema check, so an override is checked exactly like the
//! file itself and there is one code path for plans with and without overrides.

use serde_json::{Map, Value};
use serde_saphyr::granit_parser::ScalarStyle;

use super::yaml::{escape_segment, resolve_scalar};

/// How override paths are written, for error hints.
pub(crate) const PATH_HINT: &str = "a path is dotted keys, list entries by `name` or index: \
    `load.users=10`, `endpoints.get_dashboard.weight=0`, `sla.0.below=300ms`; a value is a \
    YAML scalar or flow collection: `outputs.formats=[csv,html]`";

/// One `--set path=value`, or an edit a shorthand flag stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    path: String,
    edit: Edit,
    /// The command-line flag this override stands for and its argument as written
    /// (`--users`, `50`), when not `--set`.
    flag: Option<(&'static str, String)>,
    /// Why a `--set` argument is not `path=value`: kept rather than refused by the command
    /// line parser, which would stop at the first, so every bad `--set` is reported.
    malformed: Option<String>,
}

/// What an override does at its path.
#[derive(Debug, Clone, PartialEq)]
enum Edit {
    /// Sets the value, written as a YAML scalar or flow collection.
    Set(String),
    /// Removes the key (a flag that replaces one part of the plan with another).
    Remove,
}

impl std::str::FromStr for Override {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (path, value) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}` is not `path=value` (for example `load.users=10`)"))?;
        if path.trim().is_empty() || path.split('.').any(|seg| seg.trim().is_empty()) {
            return Err(format!(
                "`{path}` is not a dotted path (for example `load.users`)"
            ));
        }
        Ok(Override::new(path.trim(), value))
    }
}

impl Override {
    /// An override of one path.
    pub fn new(path: &str, value: &str) -> Self {
        Override {
            path: path.to_owned(),
            edit: Edit::Set(value.to_owned()),
            flag: None,
            malformed: None,
        }
    }

    /// A `--set` argument as the command line gives it: one that is not `path=value` is
    /// kept, and reported with the others when the plan is loaded.
    pub(crate) fn from_arg(s: &str) -> Result<Self, std::convert::Infallible> {
        Ok(s.parse().unwrap_or_else(|why| Override {
            path: s.to_owned(),
            edit: Edit::Set(String::new()),
            flag: None,
            malformed: Some(why),
        }))
    }

    /// An override made by a shorthand flag (`--duration 30s` sets `load.duration`); errors
    /// name the flag rather than a `--set` the user never wrote.
    pub fn from_flag(flag: &'static str, path: &str, value: &str) -> Self {
        Override::for_flag(flag, value, path, value)
    }

    /// One of the overrides a flag stands for, whose value is not the flag's argument
    /// (`--users 50` sets each stage's target).
    pub(crate) fn for_flag(flag: &'static str, arg: &str, path: &str, value: &str) -> Self {
        Override {
            flag: Some((flag, arg.to_owned())),
            ..Override::new(path, value)
        }
    }

    /// A key a flag removes (`--rate` on a closed plan removes `load.users`).
    pub(crate) fn removal(flag: &'static str, arg: &str, path: &str) -> Self {
        Override {
            edit: Edit::Remove,
            ..Override::for_flag(flag, arg, path, "")
        }
    }

    /// How errors name the override: `--set #2 (load.users=abc)` or `--duration abc`.
    pub fn label(&self, position: usize) -> String {
        match &self.flag {
            Some((flag, arg)) => format!("{flag} {arg}"),
            None => format!("--set #{position} ({})", self.text()),
        }
    }

    /// The override as written: `path=value`.
    pub fn text(&self) -> String {
        match (&self.edit, &self.malformed) {
            (_, Some(_)) => self.path.clone(),
            (Edit::Set(value), None) => format!("{}={value}", self.path),
            (Edit::Remove, None) => format!("remove {}", self.path),
        }
    }

    /// Sets the value in a document, creating missing mappings on the way (or removes the
    /// key); returns the JSON pointer it edited. List entries are found by their `name`
    /// (endpoints) or index.
    pub fn apply(&self, doc: &mut Value) -> Result<String, String> {
        if let Some(why) = &self.malformed {
            return Err(why.clone());
        }
        let new = match &self.edit {
            Edit::Set(value) => Some(parse_value(value)?),
            Edit::Remove => None,
        };
        let segments: Vec<&str> = self.path.split('.').collect();
        let mut node = doc;
        let mut pointer = String::new();
        for (i, segment) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            if node.is_null() {
                if new.is_none() {
                    // Nothing to remove below a missing node.
                    return Ok(pointer);
                }
                *node = Value::Object(Map::new());
            }
            node = match node {
                Value::Object(map) => {
                    pointer = format!("{pointer}/{}", escape_segment(segment));
                    if last {
                        match new {
                            Some(new) => _ = map.insert(segment.to_string(), new),
                            None => _ = map.shift_remove(*segment),
                        }
                        return Ok(pointer);
                    }
                    map.entry(segment.to_string()).or_insert(Value::Null)
                }
                Value::Array(items) => {
                    let index = find_entry(items, segment)?;
                    pointer = format!("{pointer}/{index}");
                    if last {
                        match new {
                            Some(new) => items[index] = new,
                            None => _ = items.remove(index),
                        }
                        return Ok(pointer);
                    }
                    &mut items[index]
                }
                other => {
                    return Err(format!(
                        "`{}` is {}, which has no `{segment}`",
                        segments[..i].join("."),
                        super::schema::describe(other)
                    ));
                }
            };
        }
        Err(PATH_HINT.to_owned())
    }
}

/// An override's value: a YAML flow collection (`[csv, html]`, `{a: 1}`) when it starts
/// like one, else a plain scalar typed as the plan file would type it.
fn parse_value(text: &str) -> Result<Value, String> {
    if !text.trim_start().starts_with(['[', '{']) {
        return Ok(resolve_scalar(text, ScalarStyle::Plain, false));
    }
    let parsed = super::yaml::precheck(text.as_bytes())
        .map_err(|e| vec![e])
        .and_then(super::yaml::parse);
    match parsed {
        Ok((value, _)) => Ok(value),
        Err(errors) => Err(format!(
            "`{text}` is not a YAML flow collection: {}; write a list as `[a, b]` and a \
             mapping as `{{key: value}}`",
            errors
                .first()
                .map_or("it does not parse", |e| e.message.as_str())
        )),
    }
}

fn find_entry(items: &[Value], segment: &str) -> Result<usize, String> {
    if let Some(i) = items
        .iter()
        .position(|v| v.get("name").and_then(Value::as_str) == Some(segment))
    {
        return Ok(i);
    }
    if let Ok(i) = segment.parse::<usize>() {
        if i < items.len() {
            return Ok(i);
        }
        return Err(format!(
            "index {i} is past the end of a list of {}",
            items.len()
        ));
    }
    let names: Vec<&str> = items
        .iter()
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .collect();
    Err(format!(
        "no entry named `{segment}`; {}",
        super::diagnostic::suggest(segment, &names)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(doc: &mut Value, s: &str) -> Result<String, String> {
        s.parse::<Override>()?.apply(doc)
    }

    #[test]
    fn sets_scalars_by_dotted_path() {
        let mut doc =
            json!({"load": {"users": 5}, "endpoints": [{"name": "a", "weight": 1}, {"name": "b"}]});
        assert_eq!(set(&mut doc, "load.users=10").unwrap(), "/load/users");
        assert_eq!(
            set(&mut doc, "endpoints.b.weight=0").unwrap(),
            "/endpoints/1/weight"
        );
        assert_eq!(set(&mut doc, "load.duration=2s").unwrap(), "/load/duration");
        assert_eq!(
            set(&mut doc, "target.base_url=http://h:1/x").unwrap(),
            "/target/base_url"
        );
        assert_eq!(doc["load"]["users"], json!(10));
        assert_eq!(doc["endpoints"][1]["weight"], json!(0));
        assert_eq!(doc["target"]["base_url"], json!("http://h:1/x"));
    }

    #[test]
    fn reports_bad_paths() {
        let mut doc = json!({"endpoints": [{"name": "list_claims"}], "load": {"users": 5}});
        let e = set(&mut doc, "endpoints.list_claim.weight=1").unwrap_err();
        assert!(e.contains("did you mean `list_claims`"), "{e}");
        assert!(
            set(&mut doc, "load.users.x=1")
                .unwrap_err()
                .contains("has no `x`")
        );
        assert!("load.users".parse::<Override>().is_err());
        assert!("a..b=1".parse::<Override>().is_err());
    }
}
