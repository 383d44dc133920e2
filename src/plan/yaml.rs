//! YAML text → JSON value plus a table of positions, in one walk over the events of
//! serde-saphyr's parser. The value is what the schema checks and what the plan types are
//! read from, so the two can never disagree on how a scalar was typed; the table maps every
//! JSON pointer to the line:col of its key and of its value, so schema errors get exact
//! places. Size, depth and alias-expansion limits are enforced here, before anything is
//! built from the document.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use serde_saphyr::granit_parser::{ErrorKind, Event, Parser, ScalarStyle, ScanError, Span};

/// Largest plan file accepted.
pub(crate) const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Deepest nesting of mappings and sequences accepted.
pub(crate) const MAX_DEPTH: usize = 64;
/// Most nodes a document may expand to (aliases included), against "billion laughs" files.
const MAX_NODES: usize = 1_000_000;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

impl Pos {
    fn of(span: &Span) -> Pos {
        Pos {
            line: span.start.line(),
            col: span.start.col() + 1,
        }
    }
}

/// Where one node of the document was written.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodePos {
    /// The key that holds the node, when its parent is a mapping.
    pub key: Option<Pos>,
    /// The node itself.
    pub value: Pos,
}

/// JSON pointer → position, for every node of a document.
#[derive(Debug, Clone, Default)]
pub struct Positions {
    nodes: HashMap<String, NodePos>,
}

impl Positions {
    /// Position of a node's key (or of the node when it has no key).
    pub fn key(&self, pointer: &str) -> Pos {
        self.lookup(pointer, |n| n.key.unwrap_or(n.value))
    }

    /// Position of a node's value.
    pub fn value(&self, pointer: &str) -> Pos {
        self.lookup(pointer, |n| n.value)
    }

    /// Records a node; used by overrides, which add nodes the file did not have.
    pub fn insert(&mut self, pointer: String, pos: NodePos) {
        self.nodes.insert(pointer, pos);
    }

    // A node added by an override has no place in the file: fall back to the nearest
    // ancestor that has one.
    fn lookup(&self, pointer: &str, pick: impl Fn(&NodePos) -> Pos) -> Pos {
        let mut p = pointer;
        loop {
            if let Some(n) = self.nodes.get(p) {
                return pick(n);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return Pos { line: 1, col: 1 },
            }
        }
    }
}

/// A problem found while reading the YAML, with its place.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct YamlError {
    /// Where.
    pub pos: Pos,
    /// JSON pointer of the node, when known.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// Escapes one JSON-pointer segment (RFC 6901).
pub(crate) fn escape_segment(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Refuses input before parsing when it cannot be a plan: too large, or nested too deep
/// (counted on brackets and indentation, so a hostile file never reaches the parser).
pub(crate) fn precheck(bytes: &[u8]) -> Result<&str, YamlError> {
    let at_start = |message: String, hint: &str| YamlError {
        pos: Pos { line: 1, col: 1 },
        pointer: String::new(),
        message,
        hint: Some(hint.into()),
    };
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(at_start(
            format!("the file is over {MAX_FILE_BYTES} bytes (4 MiB), the most a plan may be"),
            "split the plan, or move large data into CSV feeders under `data:`",
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        // The prefix is valid UTF-8, so this counts the characters before the bad byte.
        let col = String::from_utf8_lossy(&valid[line_start..])
            .chars()
            .count()
            + 1;
        YamlError {
            pos: Pos { line, col },
            pointer: String::new(),
            message: "the file is not UTF-8 text (is it a binary file?)".into(),
            hint: Some("a plan is a YAML text file saved as UTF-8".into()),
        }
    })?;
    if text.trim().is_empty() {
        return Err(at_start(
            "the file is empty".into(),
            "start from `loadplan init`, which writes a commented plan",
        ));
    }
    let mut flow_depth = 0usize;
    for (i, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        for (col, c) in line.char_indices() {
            match c {
                '#' if col == 0 || line[..col].ends_with(' ') => break,
                '[' | '{' => flow_depth += 1,
                ']' | '}' => flow_depth = flow_depth.saturating_sub(1),
                _ => {}
            }
            // Two spaces (or one `- `) per level is the tightest block nesting there is.
            if flow_depth + indent / 2 > MAX_DEPTH * 2 || flow_depth > MAX_DEPTH {
                return Err(too_deep(Pos {
                    line: i + 1,
                    col: col + 1,
                }));
            }
        }
    }
    Ok(text)
}

enum Frame {
    Map {
        pointer: String,
        map: Map<String, Value>,
        key: Option<(String, Pos)>,
        anchor: usize,
    },
    Seq {
        pointer: String,
        seq: Vec<Value>,
        anchor: usize,
    },
}

impl Frame {
    fn pointer(&self) -> &str {
        match self {
            Frame::Map { pointer, .. } | Frame::Seq { pointer, .. } => pointer,
        }
    }
}

/// Parses one YAML document into a JSON value and its positions. Duplicate keys are
/// reported (all of them) rather than silently overwritten.
pub(crate) fn parse(text: &str) -> Result<(Value, Positions), Vec<YamlError>> {
    let mut walk = Walk::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| vec![walk.syntax_error(&e, text)])?;
        let pos = Pos::of(&span);
        if walk.take_key(&event, pos) {
            continue;
        }
        let (value, anchor) = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => continue,
            Event::DocumentStart(..) => {
                if walk.second_document(pos) {
                    break;
                }
                continue;
            }
            Event::MappingStart(_, anchor, _) | Event::SequenceStart(_, anchor, _) => {
                let is_map = matches!(event, Event::MappingStart(..));
                walk.open(is_map, anchor, pos).map_err(|e| vec![e])?;
                continue;
            }
            Event::MappingEnd | Event::SequenceEnd => match walk.stack.pop() {
                Some(Frame::Map { map, anchor, .. }) => (Value::Object(map), anchor),
                Some(Frame::Seq { seq, anchor, .. }) => (Value::Array(seq), anchor),
                None => continue,
            },
            Event::Scalar(text, style, anchor, tag) => {
                walk.record_here(pos);
                let is_str_tag = tag.as_ref().is_some_and(|t| t.suffix() == "str");
                (resolve_scalar(&text, style, is_str_tag), anchor)
            }
            Event::Alias(id) => {
                walk.record_here(pos);
                (walk.expand_alias(id), 0)
            }
            _ => continue,
        };
        walk.attach(value, anchor, pos).map_err(|e| vec![e])?;
    }
    walk.finish()
}

/// The state of one walk over a document's events: the open collections, the anchors seen
/// so far and the count of nodes built, aliases expanded.
#[derive(Default)]
struct Walk {
    positions: Positions,
    errors: Vec<YamlError>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Value, usize)>,
    root: Option<Value>,
    nodes: usize,
    documents: usize,
}

impl Walk {
    fn syntax_error(&self, e: &ScanError, text: &str) -> YamlError {
        let m = e.marker();
        let mut pos = Pos {
            line: m.line(),
            col: m.col() + 1,
        };
        let mut message = format!("invalid YAML: {}", e.info());
        if matches!(
            e.kind(),
            ErrorKind::TabInBlockIndentation | ErrorKind::TabInPlainScalar
        ) && let Some(tab) = indenting_tab(text, pos.line)
        {
            pos = tab;
            message = "invalid YAML: a tab indents this line".into();
        }
        YamlError {
            pos,
            pointer: self
                .stack
                .last()
                .map(|f| f.pointer().to_owned())
                .unwrap_or_default(),
            hint: Some(syntax_hint(&message)),
            message,
        }
    }

    /// A scalar in key position of a mapping is a key, not a value: holds it for the value
    /// that follows (reporting it when the mapping has it already) and returns true.
    fn take_key(&mut self, event: &Event<'_>, pos: Pos) -> bool {
        let (
            Event::Scalar(key, ..),
            Some(Frame::Map {
                key: slot @ None,
                map,
                pointer,
                ..
            }),
        ) = (event, self.stack.last_mut())
        else {
            return false;
        };
        if map.contains_key(key.as_ref()) {
            self.errors.push(YamlError {
                pos,
                pointer: format!("{pointer}/{}", escape_segment(key)),
                message: format!("duplicate key `{key}`"),
                hint: Some("each key may appear once in a mapping; remove or merge one".into()),
            });
        }
        *slot = Some((key.to_string(), pos));
        true
    }

    /// Counts a document's start; true (the error recorded) when it is a second one.
    fn second_document(&mut self, pos: Pos) -> bool {
        self.documents += 1;
        if self.documents > 1 {
            self.errors.push(YamlError {
                pos,
                pointer: String::new(),
                message: "the file holds more than one YAML document".into(),
                hint: Some("a plan is one document: remove the second `---`".into()),
            });
            return true;
        }
        false
    }

    fn open(&mut self, is_map: bool, anchor: usize, pos: Pos) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(too_deep(pos));
        }
        let pointer = self.record_here(pos);
        self.stack.push(if is_map {
            Frame::Map {
                pointer,
                map: Map::new(),
                key: None,
                anchor,
            }
        } else {
            Frame::Seq {
                pointer,
                seq: Vec::new(),
                anchor,
            }
        });
        Ok(())
    }

    /// Records the position of the node that starts here, returning its pointer.
    fn record_here(&mut self, pos: Pos) -> String {
        let pointer = child_pointer(&self.stack);
        record(&mut self.positions, &self.stack, &pointer, pos);
        pointer
    }

    fn expand_alias(&mut self, id: usize) -> Value {
        match self.anchors.get(&id) {
            Some((v, size)) => {
                self.nodes += size;
                v.clone()
            }
            None => Value::Null,
        }
    }

    /// Puts a finished node into its parent (or makes it the root), counted against
    /// `MAX_NODES` and kept for later aliases when it has an anchor.
    fn attach(&mut self, value: Value, anchor: usize, pos: Pos) -> Result<(), YamlError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(YamlError {
                pos,
                pointer: String::new(),
                message: format!("the plan expands to more than {MAX_NODES} values"),
                hint: Some("aliases (`*name`) multiply data; a plan never needs this many".into()),
            });
        }
        if anchor != 0 {
            self.anchors
                .insert(anchor, (value.clone(), count_nodes(&value)));
        }
        match self.stack.last_mut() {
            Some(Frame::Map { map, key, .. }) => {
                if let Some((k, _)) = key.take() {
                    map.insert(k, value);
                }
            }
            Some(Frame::Seq { seq, .. }) => seq.push(value),
            None => self.root = Some(value),
        }
        Ok(())
    }

    fn finish(self) -> Result<(Value, Positions), Vec<YamlError>> {
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        Ok((self.root.unwrap_or(Value::Null), self.positions))
    }
}

/// The first tab that indents a line, from `line` on. The parser reports a tab in the
/// indentation where the content after it starts, or, below a plain scalar, where the
/// scalar starts (`path: /x` above a tab-indented line): the tab itself is what to fix.
fn indenting_tab(text: &str, line: usize) -> Option<Pos> {
    text.lines()
        .enumerate()
        .skip(line.saturating_sub(1))
        .find_map(|(i, l)| {
            let indent = &l[..l.len() - l.trim_start_matches([' ', '\t']).len()];
            indent.find('\t').map(|col| Pos {
                line: i + 1,
                col: col + 1,
            })
        })
}

fn too_deep(pos: Pos) -> YamlError {
    YamlError {
        pos,
        pointer: String::new(),
        message: format!("the plan is nested more than {MAX_DEPTH} levels deep"),
        hint: Some("a plan never needs this much nesting; flatten it".into()),
    }
}

fn child_pointer(stack: &[Frame]) -> String {
    match stack.last() {
        Some(Frame::Map {
            pointer,
            key: Some((k, _)),
            ..
        }) => {
            format!("{pointer}/{}", escape_segment(k))
        }
        Some(Frame::Seq { pointer, seq, .. }) => format!("{pointer}/{}", seq.len()),
        Some(Frame::Map { pointer, .. }) => pointer.clone(),
        None => String::new(),
    }
}

fn record(positions: &mut Positions, stack: &[Frame], pointer: &str, value: Pos) {
    let key = match stack.last() {
        Some(Frame::Map {
            key: Some((_, p)), ..
        }) => Some(*p),
        _ => None,
    };
    positions.insert(pointer.to_owned(), NodePos { key, value });
}

fn count_nodes(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(count_nodes).sum::<usize>(),
        Value::Object(o) => 1 + o.values().map(count_nodes).sum::<usize>(),
        _ => 1,
    }
}

/// Types a scalar by the YAML 1.2 core schema: quoted scalars are strings; plain ones may
/// be null, booleans or numbers. `yes`/`no`/`on`/`off` stay strings (YAML 1.1 booleans were
/// a notorious trap).
pub(crate) fn resolve_scalar(text: &str, style: ScalarStyle, force_str: bool) -> Value {
    if force_str || style != ScalarStyle::Plain {
        return Value::String(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Number(i.into());
        }
        if let Ok(u) = text.parse::<u64>() {
            return Value::Number(u.into());
        }
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Number(i.into());
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Value::Number(i.into());
    }
    let looks_float = digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || b".eE+-".contains(&b));
    if looks_float
        && let Ok(f) = text.parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(text.to_owned())
}

fn syntax_hint(info: &str) -> String {
    if info.contains("tab") {
        "YAML indents with spaces only: replace the tab with spaces".into()
    } else if info.contains("mapping values are not allowed") {
        "a value containing `: ` must be quoted, or a key is indented wrongly".into()
    } else if info.contains("unclosed quote") {
        "the quoted value that starts here is never closed: end it with the same quote".into()
    } else if info.contains("flow") || info.contains("':' indicator") {
        // Flow collections are where JSONPath (`$.items[*].id`) and unclosed brackets bite.
        "a `[` or `{` may be unclosed above this point; inside `[ ]` and `{ }`, quote values \
         containing `[`, `]`, `{`, `}`, `,` or `: ` (such as `\"$.items[*].id\"`)"
            .into()
    } else if info.contains("did not find expected") || info.contains("while parsing") {
        "check the indentation and any unclosed quote, `[` or `{` above this point".into()
    } else {
        "fix the YAML syntax at this point".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_keys_and_values() {
        let text = "a: 1\nb:\n  - x: true\n    y: \"2\"\n";
        let (v, pos) = parse(text).unwrap();
        assert_eq!(v, serde_json::json!({"a": 1, "b": [{"x": true, "y": "2"}]}));
        assert_eq!(pos.key("/b/0/y"), Pos { line: 4, col: 5 });
        assert_eq!(pos.value("/b/0/y"), Pos { line: 4, col: 8 });
        assert_eq!(pos.value("/b/0"), Pos { line: 3, col: 5 });
        // Unknown pointers fall back to the nearest ancestor.
        assert_eq!(pos.value("/b/0/zzz"), Pos { line: 3, col: 5 });
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let errors = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].pos, Pos { line: 3, col: 1 });
        assert!(errors[0].message.contains("duplicate key `a`"));
    }

    #[test]
    fn core_schema_scalars() {
        let (v, _) = parse("[1, -2, 1.5, 'x', yes, null, ~, true, 0x1f, 1e3, 1.2.3]").unwrap();
        assert_eq!(
            v,
            serde_json::json!([
                1, -2, 1.5, "x", "yes", null, null, true, 31, 1000.0, "1.2.3"
            ])
        );
    }

    #[test]
    fn aliases_expand_and_are_bounded() {
        let (v, _) = parse("a: &x [1, 2]\nb: *x\n").unwrap();
        assert_eq!(v["b"], serde_json::json!([1, 2]));
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            bomb.push_str(&format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let errors = parse(&bomb).unwrap_err();
        assert!(errors[0].message.contains("expands to more than"));
    }

    #[test]
    fn a_tab_is_reported_where_it_is() {
        for (text, line, col) in [
            // Below a plain scalar: the parser names the scalar's start (3:8).
            ("a:\n  - b: 1\n    c: /x\n\tweight: 2\n", 4, 1),
            ("a:\n  b: /x\n\n\t- c\n", 4, 1),
            // Indenting a key: the parser names the key, after the tab (3:2).
            ("a: 1\nt:\n\tbase_url: x\n", 3, 1),
            ("a:\n  b:\n\t  c: 1\n", 3, 1),
        ] {
            let errors = parse(text).unwrap_err();
            assert_eq!(errors[0].pos, Pos { line, col }, "{text:?}: {errors:?}");
            assert!(errors[0].message.contains("tab"), "{errors:?}");
        }
    }

    #[test]
    fn syntax_errors_are_located() {
        let errors = parse("a: 1\nb:\n\t- x\n").unwrap_err();
        assert_eq!(errors[0].pos.line, 3);
        assert!(
            errors[0].hint.as_deref().unwrap_or("").contains("spaces"),
            "{errors:?}"
        );
    }

    #[test]
    fn precheck_limits() {
        assert!(precheck(b"  \n").unwrap_err().message.contains("empty"));
        assert!(
            precheck(&[0xff, 0xfe, 0])
                .unwrap_err()
                .message
                .contains("UTF-8")
        );
        let deep = "[".repeat(MAX_DEPTH + 5);
        assert!(
            precheck(deep.as_bytes())
                .unwrap_err()
                .message
                .contains("nested")
        );
    }
}
