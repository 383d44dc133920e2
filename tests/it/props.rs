//! Property tests of the plan loader and the template renderer. The loader: whatever the
//! bytes, `load_bytes` returns `Ok` or `Err` and never panics. Four generators: raw bytes; YAML-ish lines from a small grammar
//! of plan keys, values and indentation; plan-shaped YAML trees; and the starter plan with
//! random edits (the last two get past the YAML stage into the schema, the checks of meaning
//! and template compilation). Bounded so the suite stays fast in debug builds: 256 cases
//! each, inputs up to 4 KiB. The renderer: templates built from loops, string repetition
//! and joins over large ranges render or fail within their budget, never hang, never panic
//! and never produce more than the output cap.

use std::path::Path;

use proptest::prelude::*;

const STARTER: &str = include_str!("../../examples/starter.yaml");

const KEYS: &[&str] = &[
    "version",
    "name",
    "target",
    "base_url",
    "timeout",
    "tls",
    "ca_file",
    "headers",
    "variables",
    "data",
    "file",
    "order",
    "auth",
    "login",
    "basic",
    "extract",
    "apply",
    "refresh",
    "on_start",
    "load",
    "users",
    "spawn_rate",
    "stages",
    "target",
    "duration",
    "iterations",
    "arrival_rate",
    "think_time",
    "between",
    "endpoints",
    "weight",
    "requires",
    "request",
    "steps",
    "path",
    "url",
    "method",
    "query",
    "json",
    "form",
    "multipart",
    "body",
    "check",
    "status",
    "capture",
    "all",
    "equals",
    "exists",
    "matches",
    "one_of",
    "sla",
    "metric",
    "scope",
    "below",
    "at_most",
    "health",
    "expect",
    "run",
    "backoff",
    "outputs",
    "formats",
    "<<",
    "? x",
];

const VALUES: &[&str] = &[
    "",
    "1",
    "0",
    "-1",
    "2",
    "99999999999999999999",
    "1.5",
    "1e400",
    "0x1f",
    "true",
    "null",
    "~",
    "30s",
    "500ms",
    "1m30s",
    "30",
    "5%",
    "150%",
    "50/s",
    "0/s",
    "10MiB",
    "none",
    "p95",
    "p101",
    "error_rate",
    "each_endpoint",
    "endpoints",
    "GET",
    "POST",
    "before",
    "during",
    "/health",
    "http://127.0.0.1:8000",
    "$.access",
    "$.items[*].id",
    "'$['",
    "\"{{ x }}\"",
    "\"{{ auth.access }}\"",
    "\"{{ data.a.b }}\"",
    "\"{% for %}\"",
    "\"{{ \"",
    "[]",
    "{}",
    "{ between: [1s, 3s] }",
    "[before, after]",
];

/// Values that are broken or odd YAML out of context.
const NOISE: &[&str] = &[
    "[1, 2",
    "&a [x, x]",
    "*a",
    "*missing",
    "!!str 5",
    "!!binary x",
    "|",
    ">-",
    "\"unclosed",
    "'it''s'",
    "- a",
    "a: b: c",
    "#",
    "---",
    "...",
    "%YAML 1.2",
    "\t",
    "é",
    "\u{feff}",
];

/// One line of YAML-ish text: indentation, maybe a list dash, a key and/or a value.
fn line() -> impl Strategy<Value = String> {
    (
        // Mostly two-space steps, as plans are written, sometimes an odd indentation.
        prop_oneof![4 => (0usize..4).prop_map(|l| l * 2), 1 => 0usize..9],
        prop::bool::weighted(0.2),
        prop::sample::select(KEYS),
        prop_oneof![prop::sample::select(VALUES), prop::sample::select(NOISE)],
        0u8..4,
    )
        .prop_map(|(indent, dash, key, value, shape)| {
            let mut s = " ".repeat(indent);
            if dash {
                s.push_str("- ");
            }
            match shape {
                0 => s.push_str(&format!("{key}: {value}")),
                1 => s.push_str(&format!("{key}:")),
                2 => s.push_str(value),
                _ => s.push_str(&format!("{key}: {{ {key}: {value} }}")),
            }
            s
        })
}

fn yamlish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(line(), 0..60).prop_map(|lines| {
        let mut text = String::new();
        for line in lines {
            if text.len() + line.len() + 1 > 4096 {
                break;
            }
            text.push_str(&line);
            text.push('\n');
        }
        text.into_bytes()
    })
}

/// A YAML tree whose keys are plan keys and whose leaves are plan-like values.
#[derive(Debug, Clone)]
enum Node {
    Leaf(&'static str),
    Map(Vec<(&'static str, Node)>),
    Seq(Vec<Node>),
}

fn node() -> impl Strategy<Value = Node> {
    // Mostly well-formed scalars, so the tree stays valid YAML and reaches later stages.
    let leaf = prop_oneof![
        9 => prop::sample::select(VALUES),
        1 => prop::sample::select(NOISE),
    ]
    .prop_map(Node::Leaf);
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec((prop::sample::select(KEYS), inner.clone()), 0..6)
                .prop_map(Node::Map),
            prop::collection::vec(inner, 0..4).prop_map(Node::Seq),
        ]
    })
}

/// Renders a tree as block YAML (flow `{}`/`[]` for empty collections).
fn render(node: &Node, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match node {
        Node::Leaf(v) => {
            out.push_str(v);
            out.push('\n');
        }
        Node::Map(entries) if entries.is_empty() => out.push_str("{}\n"),
        Node::Seq(items) if items.is_empty() => out.push_str("[]\n"),
        Node::Map(entries) => {
            out.push('\n');
            for (k, v) in entries {
                out.push_str(&format!("{pad}{k}: "));
                render(v, indent + 2, out);
            }
        }
        Node::Seq(items) => {
            out.push('\n');
            for v in items {
                out.push_str(&format!("{pad}- "));
                render(v, indent + 2, out);
            }
        }
    }
}

/// A plan skeleton (version, name, target, load, one endpoint) with random subtrees added
/// to each section, so most inputs get past the YAML stage into the schema, the checks of
/// meaning and template compilation.
fn plan_tree() -> impl Strategy<Value = Vec<u8>> {
    let extra = || prop::collection::vec((prop::sample::select(KEYS), node()), 0..3);
    (extra(), extra(), extra(), extra(), extra()).prop_map(
        |(top, target, load, endpoint, request)| {
            let with = |mut base: Vec<(&'static str, Node)>, extra: Vec<(&'static str, Node)>| {
                base.extend(extra);
                Node::Map(base)
            };
            let plan = with(
                vec![
                    ("version", Node::Leaf("1")),
                    ("name", Node::Leaf("p")),
                    (
                        "target",
                        with(
                            vec![("base_url", Node::Leaf("http://127.0.0.1:8000"))],
                            target,
                        ),
                    ),
                    (
                        "load",
                        with(
                            vec![("users", Node::Leaf("2")), ("duration", Node::Leaf("5s"))],
                            load,
                        ),
                    ),
                    (
                        "endpoints",
                        Node::Seq(vec![with(
                            vec![
                                ("name", Node::Leaf("a")),
                                (
                                    "request",
                                    with(vec![("path", Node::Leaf("/health"))], request),
                                ),
                            ],
                            endpoint,
                        )]),
                    ),
                ],
                top,
            );
            let mut text = String::new();
            render(&plan, 0, &mut text);
            let mut bytes = text.into_bytes();
            bytes.truncate(4096);
            bytes
        },
    )
}

/// The starter plan with a few random edits: a byte replaced, removed or inserted.
fn mutated_starter() -> impl Strategy<Value = Vec<u8>> {
    let edit = (
        any::<prop::sample::Index>(),
        0u8..3,
        prop::sample::select(&b" :-[]{}\"'#\t\n&*|>%!{}0s1/"[..]),
    );
    prop::collection::vec(edit, 1..6).prop_map(|edits| {
        let mut bytes = STARTER.as_bytes().to_vec();
        for (at, kind, b) in edits {
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = b,
                1 => {
                    bytes.remove(i);
                }
                _ => bytes.insert(i, b),
            }
        }
        bytes
    })
}

/// Loads `bytes` as a plan: it must not panic, and a refusal must be diagnostics a user can
/// follow — at least one, each in this file, at a line and column inside it (one past the
/// last line at most: "the file ends here"), with a message.
fn load(bytes: &[u8]) {
    // A folder that does not exist: file checks must fail gracefully, never read anything.
    let dir = Path::new("/nonexistent/loadplan-props");
    let Err(diags) = loadplan::load_bytes("p.yaml", dir, bytes, &[]) else {
        return;
    };
    assert!(!diags.is_empty(), "refused without a diagnostic");
    let lines = bytes.split(|&b| b == b'\n').count();
    for d in &diags {
        assert_eq!(d.file, "p.yaml", "{d:?}");
        assert!(d.line >= 1 && d.col >= 1, "{d:?}");
        assert!(d.line <= lines + 1, "{d:?} is past the {lines} lines");
        assert!(!d.message.trim().is_empty(), "{d:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        load(&bytes);
    }

    #[test]
    fn yamlish_text_never_panics(bytes in yamlish()) {
        load(&bytes);
    }

    #[test]
    fn generated_plans_never_panic(bytes in plan_tree()) {
        load(&bytes);
    }

    #[test]
    fn edited_starter_never_panics(bytes in mutated_starter()) {
        load(&bytes);
    }
}

/// A template made of nested loops, repetitions and joins whose sizes go from nothing to
/// far past any budget.
fn template() -> impl Strategy<Value = String> {
    let size = prop::sample::select(vec![0usize, 1, 7, 1000, 100_000, 10_000_000]);
    let leaf = prop_oneof![
        Just("x".to_owned()),
        Just("{{ user_id }}".to_owned()),
        Just("{{ xs | random }}".to_owned()),
        size.clone().prop_map(|n| format!("{{{{ \"ab\" * {n} }}}}")),
        (size.clone(), size.clone())
            .prop_map(|(n, m)| format!("{{{{ range({n})|join(\"y\" * {m}) }}}}")),
        size.clone()
            .prop_map(|n| format!("{{{{ range({n})|list|length }}}}")),
    ];
    leaf.prop_recursive(3, 16, 3, move |inner| {
        prop_oneof![
            (size.clone(), inner.clone())
                .prop_map(|(n, body)| format!("{{% for i in range({n}) %}}{body}{{% endfor %}}")),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|parts| parts.concat()),
            inner.prop_map(|body| format!("{{% set s %}}{body}{{% endset %}}{{{{ s ~ s }}}}")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn templates_render_within_their_budget(source in template()) {
        let mut t = loadplan::Templates::new();
        let text = t.add("/t", &source).unwrap();
        let ctx = minijinja::context! { user_id => 7, xs => vec![1, 2, 3] };
        let began = std::time::Instant::now();
        let rendered = t.render(&text, &ctx);
        // Debug builds render about fifty times slower than release ones.
        prop_assert!(began.elapsed() < std::time::Duration::from_secs(5), "{source}");
        if let Ok(out) = rendered {
            prop_assert!(out.len() <= loadplan::MAX_OUTPUT, "{source}");
        }
    }
}
