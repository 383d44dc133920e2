//! A plan read part by part, so that the checks of meaning run on every part that is right
//! even when another part has schema errors. A part is a top-level section, or one item of
//! `endpoints`, `sla`, `health`, `data` or `variables`. A part with a schema error, or one
//! that the plan types refuse (`150%`, which the schema's pattern lets through), is set
//! aside whole; the plan is read from the rest, with stand-ins for the required sections.
//! What the checks need to know of a part set aside, the names it declares, is read from
//! the document ([`Gaps`]); a check that would need more of it is skipped rather than guess.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::model::Plan;
use super::yaml::escape_segment;

/// Sections whose items are parts of their own: lists, by index.
const LISTS: [&str; 2] = ["endpoints", "sla"];
/// Sections whose items are parts of their own: mappings, by key.
const MAPS: [&str; 3] = ["health", "data", "variables"];

/// Stands in for a required section that is missing or set aside, so the rest still reads.
/// A test reads `{}`, so a new required section without a stand-in fails it.
fn stand_in(section: &str) -> Option<Value> {
    Some(match section {
        "version" => json!(1),
        "name" => json!(""),
        "target" => json!({ "base_url": "" }),
        "endpoints" => json!([]),
        _ => return None,
    })
}

/// The most times a plan is read again after the types refuse a part: each refusal the
/// schema let through costs one more read of the whole document.
const MAX_READS: usize = 16;

/// The parts of a plan that read, and the problems found while reading it.
#[derive(Debug)]
pub(crate) struct Read {
    /// The plan without the parts set aside; `None` when it could not be read at all.
    pub plan: Option<Partial>,
    /// Parts the plan types refused though the schema let them through: pointer, message.
    pub problems: Vec<(String, String)>,
}

/// A plan without the parts set aside, and what the checks must know of those.
#[derive(Debug)]
pub(crate) struct Partial {
    /// The plan, read from the parts that are right.
    pub plan: Plan,
    /// What is missing from it.
    pub gaps: Gaps,
    /// Where the items of its lists were in the document.
    pub kept: Kept,
}

/// Reads `document` without the parts that hold any of `failed` (pointers of the schema's
/// problems), then without each part the plan types refuse, one at a time.
pub(crate) fn read(document: &Value, failed: &[String]) -> Read {
    let mut parts: BTreeSet<String> = failed.iter().filter_map(|p| part_of(p)).collect();
    let mut problems = Vec::new();
    for _ in 0..MAX_READS {
        let (repaired, kept, stand_ins) = repair(document, &parts);
        match serde_path_to_error::deserialize::<_, Plan>(&repaired) {
            Ok(plan) => {
                parts.extend(stand_ins);
                let gaps = Gaps::of(document, &parts);
                let plan = Some(Partial { plan, gaps, kept });
                return Read { plan, problems };
            }
            Err(e) => {
                let pointer = kept.to_document(&to_pointer(e.path()));
                problems.push((pointer.clone(), e.inner().to_string()));
                // A refusal at the root, or of a stand-in, leaves nothing to set aside.
                if !part_of(&pointer).is_some_and(|part| parts.insert(part)) {
                    break;
                }
            }
        }
    }
    Read {
        plan: None,
        problems,
    }
}

/// The part a pointer lies in: `/endpoints/2` for `/endpoints/2/request/path`, `/load` for
/// `/load/users`; `None` for the root.
fn part_of(pointer: &str) -> Option<String> {
    let mut segments = pointer.strip_prefix('/')?.split('/');
    let section = segments.next()?;
    let split = LISTS.contains(&section) || MAPS.contains(&section);
    Some(match segments.next() {
        Some(item) if split => format!("/{section}/{item}"),
        _ => format!("/{section}"),
    })
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// The document without `parts`, stand-ins in place of the required sections it lacks
/// (returned as parts, since nothing of them was read).
fn repair(document: &Value, parts: &BTreeSet<String>) -> (Value, Kept, Vec<String>) {
    let mut doc = document.as_object().cloned().unwrap_or_default();
    for part in parts {
        let mut segments = part[1..].splitn(2, '/');
        let section = segments.next().unwrap_or_default();
        match segments.next() {
            None => {
                doc.remove(section);
            }
            Some(key) if MAPS.contains(&section) => {
                if let Some(Value::Object(items)) = doc.get_mut(section) {
                    items.remove(&unescape(key));
                }
            }
            Some(_) => {}
        }
    }
    let mut kept = Kept::default();
    for section in LISTS {
        let Some(Value::Array(items)) = doc.get_mut(section) else {
            continue;
        };
        let (indexes, left): (Vec<usize>, Vec<Value>) = std::mem::take(items)
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !parts.contains(&format!("/{section}/{i}")))
            .unzip();
        if left.len() != indexes.last().map_or(0, |last| last + 1) {
            kept.lists.push((section, indexes));
        }
        *items = left;
    }
    let mut stand_ins = Vec::new();
    for section in ["version", "name", "target", "endpoints"] {
        if !doc.contains_key(section)
            && let Some(value) = stand_in(section)
        {
            doc.insert(section.to_owned(), value);
            stand_ins.push(format!("/{section}"));
        }
    }
    (Value::Object(doc), kept, stand_ins)
}

/// Where the items left in a plan's lists were in the document, once items before them
/// were set aside: checks number items as they find them, diagnostics as the file does.
#[derive(Debug, Clone, Default)]
pub(crate) struct Kept {
    /// A list (`endpoints`) and, for each item left, its index in the document.
    lists: Vec<(&'static str, Vec<usize>)>,
}

impl Kept {
    /// The document's pointer for a pointer into the plan as read.
    pub(crate) fn to_document(&self, pointer: &str) -> String {
        for (section, indexes) in &self.lists {
            let Some(rest) = pointer
                .strip_prefix('/')
                .and_then(|p| p.strip_prefix(section))
                .and_then(|p| p.strip_prefix('/'))
            else {
                continue;
            };
            let (index, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            if let Some(original) = index.parse::<usize>().ok().and_then(|i| indexes.get(i)) {
                return format!("/{section}/{original}{tail}");
            }
        }
        pointer.to_owned()
    }

    /// The 1-based number in the document of item `index` of `list` as read.
    pub(crate) fn number(&self, list: &str, index: usize) -> usize {
        self.lists
            .iter()
            .find(|(section, _)| *section == list)
            .and_then(|(_, indexes)| indexes.get(index).copied())
            .unwrap_or(index)
            + 1
    }
}

/// Names declared in parts set aside; `None` once one of them could not be read, and a
/// reference to such a name is then not checked.
#[derive(Debug, Clone)]
pub(crate) struct Names(Option<BTreeSet<String>>);

impl Default for Names {
    fn default() -> Self {
        Names(Some(BTreeSet::new()))
    }
}

impl Names {
    fn add(&mut self, name: Option<&str>) {
        match (&mut self.0, name) {
            (Some(names), Some(name)) => {
                names.insert(name.to_owned());
            }
            _ => self.0 = None,
        }
    }

    /// The keys of a mapping that may be missing; anything else there cannot be read.
    fn add_keys(&mut self, mapping: Option<&Value>) {
        match mapping {
            None => {}
            Some(Value::Object(m)) => m.keys().for_each(|k| self.add(Some(k))),
            Some(_) => self.0 = None,
        }
    }

    /// `known` and these names, or `None` when these could not all be read.
    pub(crate) fn with<'a>(
        &'a self,
        known: impl IntoIterator<Item = &'a str>,
    ) -> Option<Vec<&'a str>> {
        let extra = self.0.as_ref()?;
        let mut names: Vec<&str> = known.into_iter().collect();
        names.extend(extra.iter().map(String::as_str));
        Some(names)
    }
}

/// What the checks of a plan read part by part must know of the parts set aside.
#[derive(Debug, Clone, Default)]
pub(crate) struct Gaps {
    /// Pointers of the parts set aside: `/load`, `/endpoints/2`, `/health/ready`.
    skipped: BTreeSet<String>,
    /// Endpoint names.
    pub endpoints: Names,
    /// Capture names (endpoints, their steps, `auth.on_start`).
    pub captures: Names,
    /// Health policy names.
    pub health: Names,
    /// Data feeder names.
    pub feeders: Names,
    /// Variable names.
    pub variables: Names,
    /// What `auth.extract` takes.
    pub auth_keys: Names,
}

impl Gaps {
    /// Whether a part at or below `section` (`/load`, `/endpoints`) was set aside.
    pub(crate) fn skips(&self, section: &str) -> bool {
        self.skipped
            .iter()
            .any(|p| p == section || p.starts_with(&format!("{section}/")))
    }

    fn of(document: &Value, parts: &BTreeSet<String>) -> Gaps {
        let mut gaps = Gaps {
            skipped: parts.clone(),
            ..Gaps::default()
        };
        for part in parts {
            let mut segments = part[1..].splitn(2, '/');
            let section = segments.next().unwrap_or_default();
            let item = segments.next().map(unescape);
            let node = document.pointer(part);
            match (section, item) {
                ("endpoints", Some(_)) => {
                    gaps.endpoints
                        .add(node.and_then(|e| e.get("name")).and_then(Value::as_str));
                    gaps.captures_of(node);
                }
                ("endpoints", None) => {
                    gaps.endpoints.add(None);
                    gaps.captures.add(None);
                }
                ("health", item) => gaps.health.add(item.as_deref()),
                ("data", item) => gaps.feeders.add(item.as_deref()),
                ("variables", item) => gaps.variables.add(item.as_deref()),
                ("auth", _) => gaps.auth_of(node),
                _ => {}
            }
        }
        gaps
    }

    /// The captures an endpoint set aside declares, itself or in its steps.
    fn captures_of(&mut self, endpoint: Option<&Value>) {
        let Some(Value::Object(e)) = endpoint else {
            return self.captures.add(None);
        };
        self.captures.add_keys(e.get("capture"));
        self.step_captures(e.get("steps"));
    }

    /// The captures of a list of steps; anything else than a list may declare any name.
    fn step_captures(&mut self, steps: Option<&Value>) {
        match steps {
            None => {}
            Some(Value::Array(steps)) => {
                for step in steps {
                    self.captures.add_keys(step.get("capture"));
                }
            }
            Some(_) => self.captures.add(None),
        }
    }

    /// What an `auth` set aside extracts, and captures in its start steps.
    fn auth_of(&mut self, auth: Option<&Value>) {
        let Some(Value::Object(a)) = auth else {
            if auth.is_some() {
                self.auth_keys.add(None);
                self.captures.add(None);
            }
            return;
        };
        self.auth_keys.add_keys(a.get("extract"));
        self.step_captures(a.get("on_start"));
    }
}

/// The JSON pointer of a place serde stopped at.
fn to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        out.push('/');
        match segment {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } => out.push_str(&escape_segment(key)),
            Segment::Enum { variant } => out.push_str(&escape_segment(variant)),
            Segment::Unknown => out.pop().map_or((), |_| ()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(endpoints: Value) -> Value {
        json!({
            "version": 1,
            "name": "p",
            "target": { "base_url": "http://a" },
            "endpoints": endpoints,
        })
    }

    #[test]
    fn a_failed_item_is_set_aside_and_the_others_keep_their_place() {
        let doc = plan(json!([
            { "name": "a", "request": { "path": "/a" } },
            { "name": "b", "wieght": 2, "capture": { "id": "$.id" } },
            { "name": "c", "request": { "path": "/c" } },
        ]));
        let read = read(&doc, &["/endpoints/1/wieght".to_owned()]);
        let partial = read.plan.unwrap();
        let names: Vec<&str> = partial
            .plan
            .endpoints
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, ["a", "c"]);
        assert_eq!(
            partial.kept.to_document("/endpoints/1/request"),
            "/endpoints/2/request"
        );
        assert_eq!(partial.kept.to_document("/endpoints/0"), "/endpoints/0");
        assert_eq!(partial.kept.number("endpoints", 1), 3);
        assert!(partial.gaps.skips("/endpoints"));
        assert!(!partial.gaps.skips("/load"));
        assert_eq!(partial.gaps.endpoints.with(["a"]), Some(vec!["a", "b"]));
        assert_eq!(partial.gaps.captures.with([]), Some(vec!["id"]));
    }

    #[test]
    fn required_sections_get_stand_ins() {
        let partial = read(&json!({}), &[]).plan.unwrap();
        assert!(partial.gaps.skips("/target") && partial.gaps.skips("/endpoints"));
        assert_eq!(partial.gaps.endpoints.with([]), None);
    }

    #[test]
    fn a_refusal_the_schema_let_through_is_reported_and_set_aside() {
        let mut doc = plan(json!([{ "name": "a", "request": { "path": "/a" } }]));
        doc["sla"] = json!([
            { "metric": "error_rate", "below": "1%" },
            { "metric": "p95", "below": "500ms", "regress_at_most": "150%" },
        ]);
        let read = read(&doc, &[]);
        assert_eq!(read.problems.len(), 1, "{:?}", read.problems);
        assert_eq!(read.problems[0].0, "/sla/1/regress_at_most");
        assert_eq!(read.plan.unwrap().plan.sla.len(), 1);
    }

    #[test]
    fn names_that_cannot_be_read_turn_checks_off() {
        let doc = plan(json!([{ "name": 3, "capture": "x" }]));
        let partial = read(&doc, &["/endpoints/0/name".to_owned()]).plan.unwrap();
        assert_eq!(partial.gaps.endpoints.with([]), None);
        assert_eq!(partial.gaps.captures.with([]), None);
    }

    /// The messages `load_bytes` gives a plan.
    fn messages(plan: &str) -> Vec<String> {
        let dir = std::path::Path::new(".");
        match super::super::load_bytes("p.yaml", dir, plan.as_bytes(), &[]) {
            Ok(_) => Vec::new(),
            Err(diags) => diags
                .into_iter()
                .map(|d| format!("{}:{}: {}", d.line, d.col, d.message))
                .collect(),
        }
    }

    #[test]
    fn what_a_part_set_aside_declares_is_not_reported_missing() {
        let plan = "version: 1\nname: p\ntarget: { base_url: http://a }\n\
            load: { users: ten }\n\
            auth: { login: { path: /login }, extract: { token: $.t }, scop: shared }\n\
            endpoints:\n\
            - { name: a, request: { path: /a }, capture: { id: $.id }, wieght: 1 }\n\
            - name: b\n  requires: [id]\n  request:\n    path: '/b/{{ id }}/{{ auth.token }}'\n\
            health:\n  up: { request: { path: /up }, run: [durring] }\n\
            sla:\n\
            - { metric: p95, below: 1s, scope: endpoints, endpoints: [a, b] }\n\
            - { metric: health_availability, at_least: 99%, policy: up }\n";
        let messages = messages(plan);
        assert_eq!(messages.len(), 4, "{messages:#?}");
        for m in ["expected a whole number", "`scop`", "`wieght`", "`durring`"] {
            assert!(messages.iter().any(|s| s.contains(m)), "{m}: {messages:#?}");
        }
    }

    #[test]
    fn a_refused_part_does_not_hide_the_meaning_of_the_rest() {
        let plan = "version: 1\nname: p\ntarget: { base_url: http://a }\n\
            load: { users: 1, duration: 1s }\n\
            endpoints:\n- { name: a, request: { path: '/{{ nope }}' } }\n\
            sla:\n- { metric: p95, regress_at_most: 150% }\n";
        let messages = messages(plan);
        assert_eq!(messages.len(), 2, "{messages:#?}");
        assert!(
            messages[0].starts_with("6:31: unknown template variable `nope`"),
            "{messages:#?}"
        );
        assert!(
            messages[1].starts_with("8:35: `150%` is outside 0%..100%"),
            "{messages:#?}"
        );
    }
}
