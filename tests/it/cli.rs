//! The command line: exit codes, the committed schema and reference, `validate` and `init`.

use crate::support::{loadplan, loadplan_in, root, stderr, stdout};

#[test]
fn committed_schema_is_current() {
    let out = loadplan(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let committed = std::fs::read_to_string(root().join("schema/plan.schema.json")).unwrap();
    assert!(
        stdout(&out) == committed,
        "schema/plan.schema.json is stale: run `cargo run -- schema > schema/plan.schema.json`"
    );
}

/// `docs/man/` holds what `loadplan man --out` writes (issue 15).
#[test]
fn committed_man_pages_are_current() {
    let dir = tempfile::tempdir().unwrap();
    let out = loadplan(&["man", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(names.contains(&"loadplan-run.1".to_owned()), "{names:?}");
    for name in &names {
        let fresh = std::fs::read_to_string(dir.path().join(name)).unwrap();
        let committed =
            std::fs::read_to_string(root().join("docs/man").join(name)).unwrap_or_default();
        assert!(
            fresh == committed,
            "docs/man/{name} is stale: run `cargo run -- man --out docs/man`"
        );
    }
    let main = stdout(&loadplan(&["man"]));
    assert!(main.starts_with(".ie \\n(.g .ds Aq"), "{main}");
    assert!(
        main.contains("loadplan\\-run(1)"),
        "the main page lists the commands"
    );
}

#[test]
fn completions_for_every_shell() {
    for (shell, mark) in [
        ("bash", "complete -F _loadplan"),
        ("zsh", "#compdef loadplan"),
        ("fish", "complete -c loadplan"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[loadplan]"),
    ] {
        let out = loadplan(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = stdout(&out);
        assert!(script.contains(mark), "{shell}: {script}");
        assert!(script.contains("health"), "{shell} completes the commands");
    }
    assert_eq!(loadplan(&["completions", "tcsh"]).status.code(), Some(2));
}

/// What the README says to install for bash works in bash: sourced (as bash-completion
/// loads it from `~/.local/share/bash-completion/completions/`), it completes commands.
#[test]
fn bash_completion_completes_commands() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("loadplan");
    std::fs::write(&script, stdout(&loadplan(&["completions", "bash"]))).unwrap();
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c"])
        .arg(
            r#"source "$1"; complete -p loadplan
            COMP_WORDS=(loadplan he); COMP_CWORD=1; _loadplan loadplan he loadplan
            printf '%s\n' "${COMPREPLY[@]}""#,
        )
        .arg("bash")
        .arg(&script)
        .output()
        .unwrap();
    let shown = stdout(&out);
    assert!(
        shown.contains("-F _loadplan loadplan"),
        "{shown}{}",
        stderr(&out)
    );
    assert!(shown.lines().any(|l| l == "health"), "{shown}");
}

#[test]
fn committed_reference_is_current() {
    let out = loadplan(&["schema", "--format", "markdown"]);
    let committed = std::fs::read_to_string(root().join("docs/plan.md")).unwrap();
    assert!(
        stdout(&out) == committed,
        "docs/plan.md is stale: run `cargo run -- schema --format markdown > docs/plan.md`"
    );
}

#[test]
fn shipped_plans_validate() {
    let out = loadplan(&["validate", "plans", "examples"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("plans valid, 0 problems"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_shipped_plan_has_the_modeline() {
    for dir in ["plans", "examples"] {
        for entry in walk(&root().join(dir)) {
            // examples/ci/ holds CI workflows and examples/kubernetes/ manifests, not plans
            // (the ConfigMap's plan is validated by .ci/run).
            if ["examples/ci", "examples/kubernetes"]
                .iter()
                .any(|d| entry.starts_with(root().join(d)))
            {
                continue;
            }
            if entry.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                let text = std::fs::read_to_string(&entry).unwrap();
                // A CI workflow (examples/ci/) is not a plan.
                if text.lines().any(|l| l.starts_with("jobs:")) {
                    continue;
                }
                let first = text.lines().next().unwrap_or("");
                assert!(
                    first.starts_with("# yaml-language-server: $schema=")
                        && first.ends_with("schema/plan.schema.json"),
                    "{} lacks the schema modeline",
                    entry.display()
                );
            }
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The issue's example: `wieght: 3` on line 40 is reported at 40:5 with a suggestion.
#[test]
fn misspelled_key_on_line_40_is_located_and_suggested() {
    let dir = tempfile::tempdir().unwrap();
    let starter = std::fs::read_to_string(root().join("examples/starter.yaml")).unwrap();
    let mut lines: Vec<String> = starter.lines().map(str::to_owned).collect();
    let at = lines.iter().position(|l| l.trim() == "weight: 1").unwrap();
    lines[at] = "    wieght: 3".into();
    for _ in at + 1..40 {
        lines.insert(1, "# padding".into());
    }
    std::fs::write(dir.path().join("p.yaml"), lines.join("\n")).unwrap();
    let out = loadplan_in(dir.path(), &["validate", "p.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("p.yaml:40:5: unknown key `wieght`"), "{err}");
    assert!(err.contains("hint: did you mean `weight`?"), "{err}");
}

#[test]
fn set_errors_name_the_override() {
    let out = loadplan(&[
        "validate",
        "plans/demo.yaml",
        "--set",
        "load.duration=5s",
        "--set",
        "load.users=abc",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--set #2 (load.users=abc): expected a whole number, found `abc`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn github_and_json_formats() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.yaml"), "version: 2\n").unwrap();
    let out = loadplan_in(dir.path(), &["validate", "p.yaml", "--format", "github"]);
    assert_eq!(out.status.code(), Some(2));
    // On stdout, so `validate … > annotations.txt` captures them (issue 15).
    assert!(
        stdout(&out).contains("::error file=p.yaml,line=1,col=10::"),
        "{}",
        stdout(&out)
    );
    let out = loadplan_in(dir.path(), &["validate", "p.yaml", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|d| d["pointer"] == "/version"),
        "{list}"
    );
}

#[test]
fn validate_dir_skips_files_without_the_modeline() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("other.yaml"), "a: 1\n").unwrap();
    std::fs::copy(
        root().join("examples/starter.yaml"),
        dir.path().join("plan.yaml"),
    )
    .unwrap();
    let out = loadplan_in(dir.path(), &["validate", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("skipped ./other.yaml"),
        "{}",
        stderr(&out)
    );
}

/// Issue 15: the pre-commit hook hands every changed YAML file to `validate --plans-only`;
/// files without the modeline are skipped, plans are still checked, and a commit with no
/// plan passes.
#[test]
fn validate_plans_only_skips_named_files_without_the_modeline() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yml"), "services: {}\n").unwrap();
    let starter = std::fs::read_to_string(root().join("examples/starter.yaml")).unwrap();
    std::fs::write(dir.path().join("plan.yaml"), &starter).unwrap();
    std::fs::write(
        dir.path().join("broken.yaml"),
        starter.replacen("version: 1", "version: 2", 1),
    )
    .unwrap();

    let out = loadplan_in(dir.path(), &["validate", "--plans-only", "compose.yml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("skipped compose.yml"),
        "{}",
        stderr(&out)
    );
    let out = loadplan_in(
        dir.path(),
        &["validate", "--plans-only", "compose.yml", "plan.yaml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = loadplan_in(
        dir.path(),
        &["validate", "--plans-only", "compose.yml", "broken.yaml"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("broken.yaml:"), "{}", stderr(&out));
    // Without the flag a named file is a plan, whatever it starts with.
    let out = loadplan_in(dir.path(), &["validate", "compose.yml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn init_writes_a_plan_that_validates_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let out = loadplan_in(dir.path(), &["init", "new.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(dir.path().join("plan.schema.json").is_file());
    let out = loadplan_in(dir.path(), &["validate", "new.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = loadplan_in(dir.path(), &["init", "new.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    // The new plan runs against the demo API as written (it used to 404 on `/health`).
    let out = loadplan_in(
        dir.path(),
        &[
            "run",
            "new.yaml",
            "--demo",
            "--duration",
            "1s",
            "--set",
            "load.think_time=none",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("PASSED — "), "{}", stdout(&out));
}

#[test]
fn bad_command_line_exits_2() {
    assert_eq!(loadplan(&["validate"]).status.code(), Some(2));
    assert_eq!(loadplan(&["nonsense"]).status.code(), Some(2));
    let help = stdout(&loadplan(&["--help"]));
    assert!(help.contains("Exit codes"), "{help}");
}

/// Issue 16: every subcommand's help ends with the exit codes, the same for all.
#[test]
fn every_subcommand_help_lists_the_exit_codes() {
    for command in [
        "validate",
        "schema",
        "init",
        "run",
        "report",
        "compare",
        "merge",
        "health",
        "demo",
        "completions",
        "man",
    ] {
        let help = stdout(&loadplan(&[command, "--help"]));
        assert!(
            help.contains("Exit codes (the same for every command"),
            "{command}: {help}"
        );
    }
}

/// Issue 16: a busy port is named in the demo's error, and the tool failure is exit 3.
#[test]
fn the_demo_names_the_port_it_cannot_bind() {
    // Held for the whole test: the port stays taken.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port().to_string();
    let out = loadplan(&["demo", "--port", &port]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn shorthand_flags_are_named_in_errors() {
    let out = loadplan(&["run", "plans/demo.yaml", "--duration", "abc", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--duration abc: `abc` is not a valid duration"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_base_url_that_is_not_a_url_is_a_plan_error() {
    for args in [
        [
            "run",
            "plans/demo.yaml",
            "--base-url",
            "not a url",
            "--dry-run",
        ]
        .as_slice(),
        &["health", "plans/demo.yaml", "--base-url", "ftp://x"],
    ] {
        let out = loadplan(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("target.base_url:"),
            "{}",
            stderr(&out)
        );
    }
}

/// Issue 12: `run --only` on a plan with a YAML error reports the located YAML error (exit
/// 2), not "--only names `a`, which the plan does not have".
#[test]
fn only_on_a_broken_plan_reports_where_the_plan_is_broken() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("broken.yaml");
    std::fs::write(&plan, "version: 1\nname: broken\nendpoints: [\n").unwrap();
    let out = loadplan(&["run", plan.to_str().unwrap(), "--only", "a"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("broken.yaml:"), "{err}");
    assert!(!err.contains("--only names"), "{err}");
}

/// Issue 16: a plan with seven mistakes, two the schema finds (a unit, a key typo) and five
/// the checks of meaning find on the parts that are right, gets all seven in one run.
#[test]
fn validate_reports_every_mistake_at_once() {
    let out = loadplan(&["validate", "tests/fixtures/plans/seven-mistakes.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.ends_with("0 of 1 plan valid, 7 problems\n"), "{err}");
    insta::assert_snapshot!(err);
}

/// Issue 16: k6 habits, through the binary: each at its line, with where loadplan keeps it
/// (`vus:` in `load: { users }`, `thresholds:` translated into `sla:`, `p(95) < 500`).
#[test]
fn validate_gives_k6_habits_k6_aware_hints() {
    let out = loadplan(&["validate", "tests/fixtures/plans/invalid/k6-habits.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for expected in [
        "k6-habits.yaml:6:1: unknown key `vus`\n  \
         hint: k6's `vus` are loadplan's `users`, under `load:`: `load: { users: 10 }`\n",
        "k6-habits.yaml:9:3: unknown key `vus`\n  hint: did you mean `users`?",
        "k6-habits.yaml:10:1: unknown key `thresholds`\n  \
         hint: loadplan calls these `sla:`, a list of assertions: `sla: [{ metric: p95, below: \
         300ms }, { metric: p99, below: 1500ms }, { metric: error_rate, below: 1% }]`\n",
        "k6-habits.yaml:18:5: expected a mapping, found `p(95) < 500`\n  \
         hint: write `{ metric: p95, below: 500ms }`\n",
        "k6-habits.yaml:19:13: `p(99)` is not a valid SLA metric\n  hint: write `p99`\n",
    ] {
        assert!(err.contains(expected), "{expected}\nnot in:\n{err}");
    }
}

/// Issue 12: what `validate` prints, whole: each problem at `file:line:col` with its hint,
/// then the count, on the streams they belong to.
#[test]
fn validate_output_is_snapshotted() {
    let out = loadplan(&[
        "validate",
        "tests/fixtures/plans/invalid/duration-30-sec.yaml",
        "tests/fixtures/plans/invalid/duplicate-keys.yaml",
        "plans/demo.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(format!(
        "--- stdout\n{}--- stderr\n{}",
        stdout(&out),
        stderr(&out)
    ));
}
