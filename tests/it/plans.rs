//! Plan loading through the library: the bad-input corpus (`tests/fixtures/plans/invalid`,
//! one snapshot of rendered diagnostics per file), the valid fixtures, the schema against
//! every shipped plan, and limits that need a generated file (oversized input).
//! Adding a case means adding a file; `INSTA_UPDATE=always cargo test` writes its snapshot.

use std::path::{Path, PathBuf};

use loadplan::{DiagnosticFormat, render_diagnostics};

use crate::support::{loadplan, loadplan_in, root, stderr};

fn fixtures(kind: &str) -> PathBuf {
    root().join("tests/fixtures/plans").join(kind)
}

/// Every `*.yaml` file directly in `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

/// Renders diagnostics with paths relative to the repository root, so snapshots do not
/// depend on where the checkout lives.
fn render_relative(diags: &[loadplan::Diagnostic]) -> String {
    let prefix = format!("{}/", root().display());
    render_diagnostics(diags, DiagnosticFormat::Human).replace(&prefix, "")
}

#[test]
fn invalid_plans_report_located_diagnostics() {
    insta::glob!("../fixtures/plans/invalid", "*.yaml", |path| {
        let diags = match loadplan::load(path, &[]) {
            Ok(_) => panic!("{} loaded, but it is in the invalid corpus", path.display()),
            Err(diags) => diags,
        };
        assert!(
            !diags.is_empty(),
            "{}: Err without diagnostics",
            path.display()
        );
        for d in &diags {
            assert!(d.line >= 1 && d.col >= 1, "{d:?}");
            assert!(d.hint.is_some(), "every diagnostic has a hint: {d:?}");
        }
        insta::assert_snapshot!(render_relative(&diags));
    });
}

#[test]
fn the_invalid_corpus_is_large_enough() {
    let n = yaml_files(&fixtures("invalid")).len();
    assert!(n >= 35, "only {n} bad plans in the corpus");
}

/// The real binary exits 2 on every bad plan, and never panics.
#[test]
fn invalid_plans_exit_2_through_the_binary() {
    let dir = fixtures("invalid");
    for path in yaml_files(&dir) {
        let name = path.file_name().unwrap().to_str().unwrap();
        let out = loadplan_in(&dir, &["validate", name]);
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{name} panicked:\n{err}");
        assert_eq!(out.status.code(), Some(2), "{name}:\n{err}");
        assert!(err.contains(&format!("{name}:")), "{name}: {err}");
    }
}

#[test]
fn valid_fixtures_load() {
    let files = yaml_files(&fixtures("valid"));
    assert!(files.len() >= 3);
    for path in files {
        if let Err(diags) = loadplan::load(&path, &[]) {
            panic!(
                "{} does not load:\n{}",
                path.display(),
                render_relative(&diags)
            );
        }
    }
}

/// The committed schema (the one the loader embeds) accepts every shipped plan and every
/// valid fixture: a schema that drifts stricter than the plan types fails here.
#[test]
fn schema_accepts_every_shipped_plan() {
    let mut files = yaml_files(&root().join("plans"));
    files.extend(yaml_files(&root().join("examples")));
    files.extend(yaml_files(&fixtures("valid")));
    assert!(files.len() >= 3);
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let file = path.display().to_string();
        let source = loadplan::parse(&file, path.parent().unwrap(), &bytes, &[])
            .unwrap_or_else(|d| panic!("{file} does not parse:\n{}", render_relative(&d)));
        let problems = loadplan::check_schema(&source.value, &source.positions);
        assert!(problems.is_empty(), "{file}: {problems:#?}");
    }
}

/// Issue 15: editors show a key's own description only if no `$ref` has siblings (draft-07
/// ignores them) and render Markdown only from `markdownDescription`.
#[test]
fn schema_has_no_ref_siblings_and_every_description_in_markdown_too() {
    fn walk(node: &serde_json::Value, pointer: &str, problems: &mut Vec<String>) {
        match node {
            serde_json::Value::Object(map) => {
                if map.contains_key("$ref") && map.len() > 1 {
                    let keys: Vec<&String> = map.keys().collect();
                    problems.push(format!("{pointer}: `$ref` beside other keywords {keys:?}"));
                }
                if let Some(text) = map.get("description").and_then(|d| d.as_str())
                    && map.get("markdownDescription").and_then(|d| d.as_str()) != Some(text)
                {
                    problems.push(format!(
                        "{pointer}: no `markdownDescription` equal to its description"
                    ));
                }
                for (key, value) in map {
                    walk(value, &format!("{pointer}/{key}"), problems);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{pointer}/{i}"), problems);
                }
            }
            _ => {}
        }
    }
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/plan.schema.json")).unwrap(),
    )
    .unwrap();
    let mut problems = Vec::new();
    walk(&schema, "", &mut problems);
    assert!(problems.is_empty(), "{problems:#?}");
    // The walk saw the wrapped form, so the assertion above is not vacuous.
    assert!(
        schema["properties"]["load"]["allOf"][0]["$ref"].is_string(),
        "{}",
        schema["properties"]["load"]
    );
}

/// Issue 15: yaml-language-server shows the first description among the schemas that matched
/// a value, innermost first, so a described schema must reach no other description through
/// `$ref`, `allOf`, `anyOf` or `oneOf` (the LSP check in `.ci/run` hovers real keys). The
/// texts moved out of the way stay in the schema as `$comment`.
#[test]
fn only_the_outermost_schema_of_a_value_is_described() {
    use serde_json::Value;
    fn same_value<'a>(root: &'a Value, node: &'a Value) -> Vec<(String, &'a Value)> {
        let mut out = Vec::new();
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            out.push((r.to_owned(), root.pointer(&r[1..]).unwrap()));
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            for (i, sub) in node
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                out.push((format!("{key}/{i}"), sub));
            }
        }
        out
    }
    fn inner_described(
        root: &Value,
        node: &Value,
        path: &str,
        depth: usize,
        out: &mut Vec<String>,
    ) {
        for (step, sub) in same_value(root, node) {
            let path = format!("{path} → {step}");
            if sub.get("description").is_some() || sub.get("markdownDescription").is_some() {
                out.push(path.clone());
            }
            if depth < 8 {
                inner_described(root, sub, &path, depth + 1, out);
            }
        }
    }
    fn walk(root: &Value, node: &Value, pointer: &str, out: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                if map.contains_key("description") {
                    inner_described(root, node, pointer, 0, out);
                }
                for (key, value) in map {
                    walk(root, value, &format!("{pointer}/{key}"), out);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(root, item, &format!("{pointer}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/plan.schema.json")).unwrap(),
    )
    .unwrap();
    let mut hidden = Vec::new();
    walk(&schema, &schema, "", &mut hidden);
    assert!(
        hidden.is_empty(),
        "descriptions that hide the outer one: {hidden:#?}"
    );
    let duration = &schema["definitions"]["Duration"];
    assert!(
        duration["$comment"]
            .as_str()
            .unwrap()
            .starts_with("A length of time"),
        "{duration}"
    );
    // A variant's one key (`between:`) reads the variant's text.
    let think = schema["definitions"]["ThinkRule"]["oneOf"]
        .as_array()
        .unwrap();
    let between = think
        .iter()
        .find_map(|v| v["properties"].get("between"))
        .unwrap();
    assert!(
        between["description"]
            .as_str()
            .unwrap()
            .starts_with("A uniformly random wait")
    );
}

/// A plan over 4 MiB is refused after reading one byte past the limit. The file is sparse,
/// so the test writes almost nothing to disk.
#[test]
fn oversized_plan_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yaml");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(4 * 1024 * 1024 + 1).unwrap();
    drop(file);

    let diags = loadplan::load(&path, &[]).unwrap_err();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!((diags[0].line, diags[0].col), (1, 1));
    assert_eq!(
        diags[0].message,
        "the file is over 4194304 bytes (4 MiB), the most a plan may be"
    );

    let out = loadplan_in(dir.path(), &["validate", "huge.yaml"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("huge.yaml:1:1: the file is over 4194304 bytes"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    // The same limit holds for bytes already in memory.
    let bytes = vec![b' '; 4 * 1024 * 1024 + 1];
    let diags = loadplan::load_bytes("mem.yaml", dir.path(), &bytes, &[]).unwrap_err();
    assert!(diags[0].message.contains("(4 MiB)"), "{diags:?}");
}

/// Issue 11: a plan path that never ends (`/dev/zero`; a pipe is the same) is read only up
/// to the limit, not until memory runs out.
#[cfg(unix)]
#[test]
fn an_endless_plan_file_is_read_up_to_the_limit() {
    let out = loadplan(&["validate", "/dev/zero"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("/dev/zero:1:1: the file is over 4194304 bytes"),
        "{err}"
    );
}
