//! Plans: read a YAML file, apply `--set` overrides, check it against the schema and for
//! meaning, and compile it into what the engine runs. Data flows one way:
//! file → [`yaml`] (value + positions) → [`overrides`] → [`schema`] → typed [`model::Plan`]
//! → [`validate`] → [`compile`] → [`compile::CompiledPlan`]. Every problem on the way is a
//! [`Diagnostic`] with `file:line:col`, and all of them are reported together: a plan with
//! schema errors is read without the parts that have them ([`partial`]), and the checks of
//! meaning still run on the rest.

pub(crate) mod capacity;
pub(crate) mod compile;
pub(crate) mod defaults;
pub(crate) mod diagnostic;
pub(crate) mod hovers;
pub(crate) mod k6;
pub(crate) mod load_flags;
pub(crate) mod model;
pub(crate) mod overrides;
pub(crate) mod partial;
pub(crate) mod reference;
pub(crate) mod schema;
pub(crate) mod shard;
pub(crate) mod table;
pub(crate) mod threshold;
pub(crate) mod units;
pub(crate) mod validate;
pub(crate) mod yaml;

use std::io::Read as _;
use std::path::{Path, PathBuf};

pub use compile::CompiledPlan;
pub use diagnostic::Diagnostic;
pub use overrides::Override;

use yaml::Positions;

/// The modeline that marks a YAML file as a loadplan plan (used by `validate DIR`).
pub(crate) const SCHEMA_MODELINE: &str = "# yaml-language-server: $schema=";

/// Collects diagnostics for one plan file, placing each at a node's key or value, and
/// naming the `--set` override that produced the node when there is one.
#[derive(Debug)]
pub(crate) struct Reporter {
    file: String,
    positions: Positions,
    overridden: Vec<(String, String)>,
    kept: partial::Kept,
    diagnostics: Vec<Diagnostic>,
}

impl Reporter {
    fn new(file: String, positions: Positions) -> Self {
        Reporter {
            file,
            positions,
            overridden: Vec::new(),
            kept: partial::Kept::default(),
            diagnostics: Vec::new(),
        }
    }

    /// A problem with the value at `pointer`.
    pub(crate) fn value(&mut self, pointer: &str, message: &str, hint: &str) {
        let pointer = self.kept.to_document(pointer);
        let pos = self.positions.value(&pointer);
        self.push(&pointer, pos, message.to_owned(), Some(hint.to_owned()));
    }

    /// A problem with the key that holds `pointer`.
    pub(crate) fn key(&mut self, pointer: &str, message: &str, hint: &str) {
        let pointer = self.kept.to_document(pointer);
        let pos = self.positions.key(&pointer);
        self.push(&pointer, pos, message.to_owned(), Some(hint.to_owned()));
    }

    /// The 1-based number in the file of item `index` of a list (`endpoints`) as checked:
    /// items set aside for schema errors are not checked, but still counted here.
    pub(crate) fn item_number(&self, list: &str, index: usize) -> usize {
        self.kept.number(list, index)
    }

    fn push(&mut self, pointer: &str, pos: yaml::Pos, message: String, hint: Option<String>) {
        let label = self
            .overridden
            .iter()
            .rev()
            .find(|(p, _)| pointer == p || pointer.starts_with(&format!("{p}/")))
            .map(|(_, label)| label.clone());
        let message = match label {
            Some(label) => format!("{label}: {message}"),
            None => message,
        };
        self.diagnostics.push(Diagnostic {
            file: self.file.clone(),
            pointer: pointer.to_owned(),
            line: pos.line,
            col: pos.col,
            message,
            hint,
        });
    }

    fn has_errors(&self) -> bool {
        !self.diagnostics.is_empty()
    }

    fn finish(mut self) -> Vec<Diagnostic> {
        diagnostic::sort_and_dedup(&mut self.diagnostics);
        self.diagnostics
    }
}

/// A plan read from a file, overrides applied, before type checks.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file as named on the command line.
    pub file: String,
    /// The folder relative paths in the plan start from.
    pub dir: PathBuf,
    /// The document, overrides applied.
    pub value: serde_json::Value,
    /// Where each node was written.
    pub positions: Positions,
    /// JSON pointer and label (`--set #2 (load.users=abc)`) of each override applied.
    pub overridden: Vec<(String, String)>,
}

/// Reads and parses a plan file, applies overrides, checks it against the schema and for
/// meaning, and compiles it.
pub fn load(path: &Path, overrides: &[Override]) -> Result<CompiledPlan, Vec<Diagnostic>> {
    let bytes = read(path)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    load_bytes(&path.display().to_string(), &dir, &bytes, overrides)
}

/// A plan file's bytes, read once (a pipe cannot be read twice) and at most one byte past
/// the limit a plan may have, whatever the file is: a device (`/dev/zero`) or a pipe says
/// nothing true about its size in its metadata.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Vec<Diagnostic>> {
    let file = path.display().to_string();
    let at_start = |message: String, hint: &str| {
        vec![Diagnostic {
            file: file.clone(),
            pointer: String::new(),
            line: 1,
            col: 1,
            message,
            hint: Some(hint.to_owned()),
        }]
    };
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(at_start(
            "this is a folder, not a plan file".into(),
            "name a `.yaml` file",
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(yaml::MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| at_start(format!("cannot read the plan: {e}"), "check the path"))?;
    Ok(bytes)
}

/// [`load`] for bytes already in memory; `file` names them in diagnostics.
pub fn load_bytes(
    file: &str,
    dir: &Path,
    bytes: &[u8],
    overrides: &[Override],
) -> Result<CompiledPlan, Vec<Diagnostic>> {
    let (source, override_errors) = parse_all(file, dir, bytes, overrides)?;
    let mut r = Reporter::new(file.to_owned(), source.positions.clone());
    r.overridden = source.overridden.clone();
    // An override that could not be applied is reported with every problem of the others,
    // so a command line with three bad `--set`s hears of all three at once.
    r.diagnostics.extend(override_errors);

    let problems = schema::check(&source.value, &source.positions);
    let failed: Vec<String> = problems.iter().map(|p| p.pointer.clone()).collect();
    for p in problems {
        r.push(&p.pointer, p.pos, p.message, p.hint);
    }
    // The parts with schema errors are set aside and the checks of meaning run on the
    // rest, so one run reports every mistake; the plan only compiles when none is left.
    let read = partial::read(&source.value, &failed);
    for (pointer, message) in &read.problems {
        r.value(pointer, message, "see `docs/plan.md` for this key");
    }
    let Some(partial) = read.plan else {
        return Err(r.finish());
    };
    r.kept = partial.kept;
    validate::check(&partial.plan, &partial.gaps, &source.dir, &mut r);
    let compiled = compile::compile(partial.plan, &source, &partial.gaps, &mut r);
    if r.has_errors() {
        return Err(r.finish());
    }
    Ok(compiled)
}

/// The environment variables that templates under any of `pointers` (plan pointer
/// prefixes; `""` for all) read without a fallback and that are unset, one diagnostic per
/// template, at the template. A run checks this before it sends anything; `validate` does
/// not (pull requests are validated without secrets) unless asked to.
pub(crate) fn missing_env(plan: &CompiledPlan, pointers: &[String]) -> Vec<Diagnostic> {
    plan.env_reads
        .iter()
        .filter(|r| !r.fallback && pointers.iter().any(|p| r.pointer.starts_with(p.as_str())))
        .filter(|r| std::env::var_os(&r.name).is_none())
        .map(|r| Diagnostic {
            file: plan.meta.file.clone(),
            pointer: r.pointer.clone(),
            line: r.line,
            col: r.col,
            message: format!(
                "environment variable `{}` is not set, and this template reads it",
                r.name
            ),
            hint: Some(format!(
                "set it (`export {}=…`), or give the template a fallback: `{{{{ env.{} | default(\"…\") }}}}`",
                r.name, r.name
            )),
        })
        .collect()
}

/// The plan pointers whose templates `loadplan run` renders: everything but the health
/// policies that only `loadplan health` runs.
pub(crate) fn run_pointers(plan: &CompiledPlan) -> Vec<String> {
    let mut pointers: Vec<String> = ["/target", "/auth", "/endpoints", "/variables", "/data"]
        .map(str::to_owned)
        .into();
    pointers.extend(
        plan.health
            .iter()
            .filter(|h| !h.run.is_empty())
            .map(|h| format!("/health/{}/", yaml::escape_segment(&h.name))),
    );
    pointers
}

/// YAML → value with positions, overrides applied; no schema check yet.
pub fn parse(
    file: &str,
    dir: &Path,
    bytes: &[u8],
    overrides: &[Override],
) -> Result<Source, Vec<Diagnostic>> {
    match parse_all(file, dir, bytes, overrides)? {
        (source, errors) if errors.is_empty() => Ok(source),
        (_, errors) => Err(errors),
    }
}

/// [`parse`], with the overrides that could not be applied as diagnostics beside the
/// document the others made.
fn parse_all(
    file: &str,
    dir: &Path,
    bytes: &[u8],
    overrides: &[Override],
) -> Result<(Source, Vec<Diagnostic>), Vec<Diagnostic>> {
    let to_diag = |e: yaml::YamlError| Diagnostic {
        file: file.to_owned(),
        pointer: e.pointer,
        line: e.pos.line,
        col: e.pos.col,
        message: e.message,
        hint: e.hint,
    };
    let text = yaml::precheck(bytes).map_err(|e| vec![to_diag(e)])?;
    let (mut value, positions) =
        yaml::parse(text).map_err(|errors| errors.into_iter().map(to_diag).collect::<Vec<_>>())?;
    if !value.is_object() {
        return Err(vec![Diagnostic {
            file: file.to_owned(),
            pointer: String::new(),
            line: positions.value("").line,
            col: positions.value("").col,
            message: format!(
                "a plan is a mapping of sections (`version`, `name`, `target`, `endpoints`, …), found {}",
                schema::describe(&value)
            ),
            hint: Some("start from `loadplan init`, which writes a commented plan".into()),
        }]);
    }
    let mut errors = Vec::new();
    let mut overridden = Vec::new();
    for (i, o) in overrides.iter().enumerate() {
        let label = o.label(i + 1);
        match o.apply(&mut value) {
            Ok(pointer) => overridden.push((pointer, label)),
            Err(message) => errors.push(Diagnostic {
                file: file.to_owned(),
                pointer: String::new(),
                line: 1,
                col: 1,
                message: format!("{label}: {message}"),
                hint: Some(overrides::PATH_HINT.into()),
            }),
        }
    }
    let source = Source {
        file: file.to_owned(),
        dir: dir.to_owned(),
        value,
        positions,
        overridden,
    };
    Ok((source, errors))
}
