//! Reading from a JSON answer only what a request's queries select. A list answer of which
//! a capture keeps `$.results[*].id` yields the ids while it is parsed: nothing else is
//! built. Queries made of names, wildcards and non-negative indices select what they would
//! in the whole document; any other query (filters, `..`, slices, negative indices) parses
//! the whole document instead. Differences from a full parse, all about answers that are
//! not quite JSON: a member name repeated within an object is matched at each occurrence
//! (a parsed document keeps the last), and the parts no query reaches are checked for
//! syntax only (not for valid UTF-8 in strings, numbers out of range, or nesting deeper
//! than 128 levels).

use std::fmt;

use serde::Deserialize as _;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// What some queries reach, each by its position in the list given to [`Shape::of`].
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Shape {
    root: Node,
    queries: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Node {
    /// Queries that select this node.
    ends: Vec<usize>,
    /// Members reached by name.
    fields: Vec<(String, Node)>,
    /// Elements reached by index.
    indices: Vec<(usize, Node)>,
    /// Every member and element (a wildcard).
    any: Option<Box<Node>>,
}

enum Step {
    Name(String),
    Index(usize),
    Any,
}

impl Shape {
    /// The shape of these JSONPath queries, or `None` when one of them is not made of
    /// names, wildcards and indices only (or there are none).
    pub(crate) fn of<'a>(queries: impl IntoIterator<Item = &'a str>) -> Option<Shape> {
        let mut shape = Shape::default();
        for query in queries {
            shape.root.insert(&steps(query)?, shape.queries);
            shape.queries = shape.queries.saturating_add(1);
        }
        (shape.queries > 0).then_some(shape)
    }

    /// Parses `body`, returning each query's matches in document order.
    pub(crate) fn matches(&self, body: &[u8]) -> serde_json::Result<Vec<Vec<Value>>> {
        let mut out = vec![Vec::new(); self.queries];
        let mut de = serde_json::Deserializer::from_slice(body);
        Stream {
            node: &self.root,
            out: &mut out,
        }
        .deserialize(&mut de)?;
        de.end()?;
        Ok(out)
    }
}

impl Node {
    fn insert(&mut self, steps: &[Step], query: usize) {
        let Some((first, rest)) = steps.split_first() else {
            self.ends.push(query);
            return;
        };
        let child = match first {
            Step::Name(n) => entry(&mut self.fields, n),
            Step::Index(i) => entry(&mut self.indices, i),
            Step::Any => self.any.get_or_insert_with(Box::default),
        };
        child.insert(rest, query);
    }

    fn member<'n>(&'n self, key: &str) -> Kids<'n> {
        Kids::of(
            self.fields
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, n)| n)
                .chain(self.any.as_deref()),
        )
    }

    fn element(&self, index: usize) -> Kids<'_> {
        Kids::of(
            self.indices
                .iter()
                .filter(|(i, _)| *i == index)
                .map(|(_, n)| n)
                .chain(self.any.as_deref()),
        )
    }

    fn is_leaf(&self) -> bool {
        self.fields.is_empty() && self.indices.is_empty() && self.any.is_none()
    }
}

fn entry<'a, K: PartialEq + Clone>(list: &'a mut Vec<(K, Node)>, key: &K) -> &'a mut Node {
    let i = match list.iter().position(|(k, _)| k == key) {
        Some(i) => i,
        None => {
            list.push((key.clone(), Node::default()));
            list.len().saturating_sub(1)
        }
    };
    &mut list[i].1
}

/// The nodes a member or element reaches.
enum Kids<'n> {
    None,
    One(&'n Node),
    Many(Vec<&'n Node>),
}

impl<'n> Kids<'n> {
    fn of(mut nodes: impl Iterator<Item = &'n Node>) -> Self {
        match (nodes.next(), nodes.next()) {
            (None, _) => Kids::None,
            (Some(one), None) => Kids::One(one),
            (Some(a), Some(b)) => Kids::Many([a, b].into_iter().chain(nodes).collect()),
        }
    }
}

/// Adds what `node` selects within an already parsed value.
fn walk(value: &Value, node: &Node, out: &mut [Vec<Value>]) {
    for &q in &node.ends {
        out[q].push(value.clone());
    }
    match value {
        Value::Object(members) if !node.is_leaf() => {
            for (k, v) in members {
                for kid in kids(node.member(k)) {
                    walk(v, kid, out);
                }
            }
        }
        Value::Array(elements) if !node.is_leaf() => {
            for (i, v) in elements.iter().enumerate() {
                for kid in kids(node.element(i)) {
                    walk(v, kid, out);
                }
            }
        }
        _ => {}
    }
}

fn kids(k: Kids<'_>) -> Vec<&Node> {
    match k {
        Kids::None => Vec::new(),
        Kids::One(n) => vec![n],
        Kids::Many(v) => v,
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
                // Only plain non-negative indices: `-1` needs the list's length first.
                None if inner.bytes().all(|b| b.is_ascii_digit()) => {
                    out.push(Step::Index(inner.parse().ok()?));
                }
                None => return None,
            }
            rest = r.split_at(end).1.get(1..)?;
        } else {
            return None;
        }
    }
    Some(out)
}

/// Reads one value at `node`: a selected value is parsed whole; otherwise only the members
/// and elements some query goes on into are read, the rest skipped.
struct Stream<'n, 'o> {
    node: &'n Node,
    out: &'o mut Vec<Vec<Value>>,
}

impl<'de> DeserializeSeed<'de> for Stream<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.node.ends.is_empty() {
            d.deserialize_any(self)
        } else {
            let value = Value::deserialize(d)?;
            walk(&value, self.node, self.out);
            Ok(())
        }
    }
}

impl<'de> Visitor<'de> for Stream<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    // No query selects anything inside a scalar.
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            let more = match self.node.element(i) {
                Kids::None => seq.next_element::<IgnoredAny>()?.is_some(),
                Kids::One(node) => seq
                    .next_element_seed(Stream {
                        node,
                        out: self.out,
                    })?
                    .is_some(),
                Kids::Many(nodes) => match seq.next_element::<Value>()? {
                    Some(v) => {
                        nodes.iter().for_each(|n| walk(&v, n, self.out));
                        true
                    }
                    None => false,
                },
            };
            if !more {
                return Ok(());
            }
            i = i.saturating_add(1);
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(kids) = map.next_key_seed(Key(self.node))? {
            match kids {
                Kids::None => {
                    map.next_value::<IgnoredAny>()?;
                }
                Kids::One(node) => map.next_value_seed(Stream {
                    node,
                    out: self.out,
                })?,
                Kids::Many(nodes) => {
                    let v = map.next_value::<Value>()?;
                    nodes.iter().for_each(|n| walk(&v, n, self.out));
                }
            }
        }
        Ok(())
    }
}

/// A member name, read as the nodes it leads to.
struct Key<'n>(&'n Node);

impl<'de, 'n> DeserializeSeed<'de> for Key<'n> {
    type Value = Kids<'n>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Kids<'n>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, 'n> Visitor<'de> for Key<'n> {
    type Value = Kids<'n>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, key: &str) -> Result<Kids<'n>, E> {
        Ok(self.0.member(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"count": 2, "results": [
        {"id": 7, "payer": "Aetna", "lines": [{"code": "A1"}, {"code": "B2"}]},
        {"id": 9, "payer": "Cigna", "lines": []}
    ], "next": null, "meta": {"page": 1, "tags": ["x", "y"], "9": "nine"}}"#;

    fn full(path: &str, doc: &str) -> Vec<Value> {
        let doc: Value = serde_json::from_str(doc).unwrap();
        let q = serde_json_path::JsonPath::parse(path).unwrap();
        q.query(&doc).all().into_iter().cloned().collect()
    }

    /// Whatever the query, reading its matches selects what a full parse does.
    #[test]
    fn matches_are_what_a_full_parse_selects() {
        let paths = [
            "$.results[*].id",
            "$['results'][*]['payer']",
            "$.results[1].id",
            "$.results[0].lines[*].code",
            "$.results.*.lines[0]",
            "$.meta",
            "$.meta.tags[1]",
            "$.meta['9']",
            "$.count",
            "$.next",
            "$.missing.deeper",
            "$.count.deeper",
            "$.results.id",
            "$.meta[0]",
            "$.*",
            "$",
        ];
        for path in paths {
            let shape = Shape::of([path]).unwrap_or_else(|| panic!("{path} is simple"));
            let found = shape.matches(DOC.as_bytes()).unwrap();
            assert_eq!(found, vec![full(path, DOC)], "{path}");
        }
        // All at once: queries sharing nodes, one selecting inside another's match, a name
        // and a wildcard reaching the same member.
        let shape = Shape::of(paths).unwrap();
        let found = shape.matches(DOC.as_bytes()).unwrap();
        for (path, found) in paths.iter().zip(found) {
            assert_eq!(found, full(path, DOC), "{path} among the others");
        }
    }

    #[test]
    fn a_top_level_list_works_too() {
        let doc = r#"[{"id": 1}, {"id": 2}, 3]"#;
        for path in ["$[*].id", "$[1]", "$[5]", "$[2].id"] {
            let found = Shape::of([path]).unwrap().matches(doc.as_bytes()).unwrap();
            assert_eq!(found, vec![full(path, doc)], "{path}");
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
    fn other_queries_parse_everything() {
        for path in [
            "$..id",
            "$.results[?@.id > 7]",
            "$.results[0:1]",
            "$.a['b','c']",
            "$.results[-1]",
            "x",
        ] {
            assert!(Shape::of([path]).is_none(), "{path}");
        }
        assert!(Shape::of(["$.a", "$..id"]).is_none());
        assert!(Shape::of(std::iter::empty::<&str>()).is_none());
    }

    #[test]
    fn invalid_json_is_still_an_error() {
        let shape = Shape::of(["$.a"]).unwrap();
        assert!(shape.matches(br#"{"a": 1"#).is_err());
        assert!(shape.matches(br#"{"a": 1} trailing"#).is_err());
        assert!(shape.matches(br#"{"b": [1, }"#).is_err());
    }
}
