//! `--set path=value` overrides, shared by every command that reads a plan. They edit the
//! parsed document before the schema check, so an override is checked exactly like the
//! file itself and there is one code path for plans with and without overrides.

use serde_json::{Map, Value};
use serde_saphyr::granit_parser::ScalarStyle;

use super::yaml::{escape_segment, resolve_scalar};

/// How override paths are written, for error hints.
pub(crate) const PATH_HINT: &str = "a path is dotted keys, list entries by `name` or index: \
    `load.users=10`, `endpoints.get_dashboard.weight=0`, `sla.0.below=300ms`";

/// One `--set path=value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    path: String,
    value: String,
    /// The command-line flag this override stands for (`--duration`), when not `--set`.
    flag: Option<&'static str>,
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
        Ok(Override {
            path: path.trim().to_owned(),
            value: value.to_owned(),
            flag: None,
        })
    }
}

impl Override {
    /// An override of one path.
    pub fn new(path: &str, value: &str) -> Self {
        Override {
            path: path.to_owned(),
            value: value.to_owned(),
            flag: None,
        }
    }

    /// An override made by a shorthand flag (`--duration 30s` sets `load.duration`); errors
    /// name the flag rather than a `--set` the user never wrote.
    pub fn from_flag(flag: &'static str, path: &str, value: &str) -> Self {
        Override {
            flag: Some(flag),
            ..Override::new(path, value)
        }
    }

    /// How errors name the override: `--set #2 (load.users=abc)` or `--duration abc`.
    pub fn label(&self, position: usize) -> String {
        match self.flag {
            Some(flag) => format!("{flag} {}", self.value),
            None => format!("--set #{position} ({})", self.text()),
        }
    }

    /// The override as written: `path=value`.
    pub fn text(&self) -> String {
        format!("{}={}", self.path, self.value)
    }

    /// Sets the value in a document, creating missing mappings on the way; returns the JSON
    /// pointer it set. List entries are found by their `name` (endpoints) or index.
    pub fn apply(&self, doc: &mut Value) -> Result<String, String> {
        let new = resolve_scalar(&self.value, ScalarStyle::Plain, false);
        let segments: Vec<&str> = self.path.split('.').collect();
        let mut node = doc;
        let mut pointer = String::new();
        for (i, segment) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            if node.is_null() {
                *node = Value::Object(Map::new());
            }
            node = match node {
                Value::Object(map) => {
                    pointer = format!("{pointer}/{}", escape_segment(segment));
                    let child = map.entry(segment.to_string()).or_insert(Value::Null);
                    if last {
                        *child = new;
                        return Ok(pointer);
                    }
                    child
                }
                Value::Array(items) => {
                    let index = find_entry(items, segment)?;
                    pointer = format!("{pointer}/{index}");
                    if last {
                        items[index] = new;
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
