//! Parsing only the parts of a JSON answer that a request's captures and checks can reach.
//! A list answer of which a capture keeps `$.results[*].id` is parsed into the ids alone:
//! the rest is skipped without building values. Paths made of names, wildcards and indices
//! select exactly what they would in the whole document; any other path (filters, `..`,
//! slices) parses everything.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The parts of a document some paths can reach.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shape {
    /// Everything below is kept (a path ends here).
    all: bool,
    /// Members reached by name.
    fields: Vec<(String, Shape)>,
    /// Every member and element (a wildcard or an index).
    any: Option<Box<Shape>>,
}

enum Step {
    Name(String),
    Any,
}

impl Shape {
    /// The shape reached by these JSONPath queries, or `None` when one of them is not made
    /// of names, wildcards and indices only (or there are none).
    pub fn of<'a>(paths: impl IntoIterator<Item = &'a str>) -> Option<Shape> {
        let mut root = Shape::default();
        let mut any_path = false;
        for path in paths {
            let steps = steps(path)?;
            root.insert(&steps);
            any_path = true;
        }
        // A member reached both by name and by a wildcard would need the two merged: rare
        // enough to parse everything instead.
        (any_path && !root.mixed()).then_some(root)
    }

    fn mixed(&self) -> bool {
        (self.any.is_some() && !self.fields.is_empty())
            || self.fields.iter().any(|(_, s)| s.mixed())
            || self.any.as_deref().is_some_and(Shape::mixed)
    }

    fn insert(&mut self, steps: &[Step]) {
        let Some((first, rest)) = steps.split_first() else {
            self.all = true;
            return;
        };
        let child = match first {
            Step::Name(n) => {
                let i = match self.fields.iter().position(|(k, _)| k == n) {
                    Some(i) => i,
                    None => {
                        self.fields.push((n.clone(), Shape::default()));
                        self.fields.len() - 1
                    }
                };
                &mut self.fields[i].1
            }
            Step::Any => self.any.get_or_insert_with(Box::default),
        };
        child.insert(rest);
    }

    /// Parses `body` keeping only this shape's parts.
    pub fn parse(&self, body: &[u8]) -> serde_json::Result<Value> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let value = Pruned(self).deserialize(&mut de)?;
        de.end()?;
        Ok(value)
    }

    fn member(&self, key: &str) -> Option<&Shape> {
        match &self.any {
            Some(each) => Some(each),
            None => self.fields.iter().find(|(k, _)| k == key).map(|(_, s)| s),
        }
    }
}

/// The steps of a simple JSONPath: `$`, then `.name`, `['name']`, `.*`, `[*]` or `[3]`.
fn steps(path: &str) -> Option<Vec<Step>> {
    let mut rest = path.trim().strip_prefix('$')?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix(".*").or_else(|| rest.strip_prefix("[*]")) {
            out.push(Step::Any);
            rest = r;
        } else if let Some(r) = rest.strip_prefix('.') {
            if r.starts_with('.') {
                return None;
            }
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return None;
            }
            out.push(Step::Name(name.to_owned()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            let quoted = (inner.len() >= 2)
                .then(|| {
                    inner
                        .strip_prefix('\'')
                        .and_then(|s| s.strip_suffix('\''))
                        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                })
                .flatten();
            match quoted {
                Some(name) if !name.contains(['\\', '\'', '"']) => {
                    out.push(Step::Name(name.to_owned()));
                }
                Some(_) => return None,
                None if inner.parse::<i64>().is_ok() => out.push(Step::Any),
                None => return None,
            }
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(out)
}

struct Pruned<'s>(&'s Shape);

impl<'de> DeserializeSeed<'de> for Pruned<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.0.all {
            serde::Deserialize::deserialize(d)
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Pruned<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    // No path selects anything inside a scalar: its value is never read.
    fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_str<E>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        match self.0.any.as_deref() {
            // Every element is kept, pruned, so indices still count right.
            Some(each) => {
                while let Some(v) = seq.next_element_seed(Pruned(each))? {
                    out.push(v);
                }
            }
            // Names select nothing in a list.
            None => while seq.next_element::<IgnoredAny>()?.is_some() {},
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::with_capacity(if self.0.any.is_some() {
            map.size_hint().unwrap_or(0)
        } else {
            self.0.fields.len()
        });
        while let Some(key) = map.next_key_seed(Key(self.0))? {
            match key {
                Some((name, shape)) => {
                    let v = map.next_value_seed(Pruned(shape))?;
                    out.insert(name, v);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// A member name, kept (with the shape below it) only when a path goes there.
struct Key<'s>(&'s Shape);

impl<'de, 's> DeserializeSeed<'de> for Key<'s> {
    type Value = Option<(String, &'s Shape)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, 's> Visitor<'de> for Key<'s> {
    type Value = Option<(String, &'s Shape)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.0.member(key).map(|s| (key.to_owned(), s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DOC: &str = r#"{"count": 2, "results": [
        {"id": 7, "payer": "Aetna", "lines": [{"code": "A1"}, {"code": "B2"}]},
        {"id": 9, "payer": "Cigna", "lines": []}
    ], "next": null, "meta": {"page": 1, "tags": ["x", "y"]}}"#;

    /// Whatever the path, a pruned parse selects what a full parse does.
    #[test]
    fn pruned_parses_select_what_full_ones_do() {
        let full: Value = serde_json::from_str(DOC).unwrap();
        for path in [
            "$.results[*].id",
            "$['results'][*]['payer']",
            "$.results[1].id",
            "$.results[-1].lines[*].code",
            "$.results.*.lines[0]",
            "$.meta",
            "$.meta.tags[1]",
            "$.count",
            "$.next",
            "$.missing.deeper",
            "$.count.deeper",
            "$.results.id",
            "$",
        ] {
            let shape = Shape::of([path]).unwrap_or_else(|| panic!("{path} is simple"));
            let pruned = shape.parse(DOC.as_bytes()).unwrap();
            let q = serde_json_path::JsonPath::parse(path).unwrap();
            assert_eq!(q.query(&pruned).all(), q.query(&full).all(), "{path}");
        }
    }

    /// Plans' queries reach the shape through their parsed form's text.
    #[test]
    fn parsed_queries_keep_their_shape() {
        for path in ["$.results[*].id", "$['a'].b[0]", "$.*"] {
            let parsed = serde_json_path::JsonPath::parse(path).unwrap().to_string();
            assert_eq!(Shape::of([parsed.as_str()]), Shape::of([path]), "{path}");
            assert!(Shape::of([parsed.as_str()]).is_some(), "{parsed}");
        }
    }

    #[test]
    fn prunes_what_no_path_reaches() {
        let shape = Shape::of(["$.results[*].id"]).unwrap();
        let pruned = shape.parse(DOC.as_bytes()).unwrap();
        assert_eq!(pruned, json!({"results": [{"id": 7}, {"id": 9}]}));
    }

    #[test]
    fn other_paths_parse_everything() {
        for path in [
            "$..id",
            "$.results[?@.id > 7]",
            "$.results[0:1]",
            "$.a['b','c']",
            "x",
        ] {
            assert!(Shape::of([path]).is_none(), "{path}");
        }
        assert!(Shape::of(["$.a", "$..id"]).is_none());
        assert!(Shape::of(["$.a.b", "$.*.c"]).is_none());
        assert!(Shape::of(std::iter::empty::<&str>()).is_none());
    }

    #[test]
    fn invalid_json_is_still_an_error() {
        let shape = Shape::of(["$.a"]).unwrap();
        assert!(shape.parse(br#"{"a": 1"#).is_err());
        assert!(shape.parse(br#"{"a": 1} trailing"#).is_err());
    }
}
