//! From the user's paths to validated scenarios. Every problem is collected (not just
//! the first) and names its file and line, or the scenario.

use super::schema::{RawFile, RawScenario};
use super::{defaults, locate, problems, Body, Code, PytestSelection, Scenario};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// A problem with the scenario files. Always reported with exit code 2.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    pub path: PathBuf,
    /// 1-based line and column, when the problem has one.
    pub location: Option<(usize, usize)>,
    pub scenario: Option<String>,
    pub message: String,
}

impl LoadError {
    fn file(path: &Path, message: impl Into<String>) -> Self {
        LoadError {
            path: path.to_owned(),
            location: None,
            scenario: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some((line, col)) = self.location {
            write!(f, ":{line}:{col}")?;
        }
        if let Some(s) = &self.scenario {
            write!(f, ": scenario `{s}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LoadError {}

/// Scenario files under the given paths: files as named, directories searched
/// recursively for `*.yaml` / `*.yml` (hidden directories skipped), in sorted order.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<LoadError>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Err(e) => errors.push(LoadError::file(path, format!("cannot read: {e}"))),
            Ok(m) if m.is_dir() => {
                let before = files.len();
                if let Err(e) = walk(path, &mut files) {
                    errors.push(e);
                } else if files.len() == before {
                    errors.push(LoadError::file(
                        path,
                        "no scenario files (*.yaml, *.yml) in this directory",
                    ));
                }
            }
            Ok(_) => files.push(path.clone()),
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.canonicalize().unwrap_or_else(|_| f.clone())));
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(errors)
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let read = std::fs::read_dir(dir)
        .map_err(|e| LoadError::file(dir, format!("cannot read directory: {e}")))?;
    let mut entries: Vec<_> = read
        .collect::<Result<_, _>>()
        .map_err(|e| LoadError::file(dir, format!("cannot read directory: {e}")))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // file_type() does not follow symlinks: linked directories are not entered,
        // so a link cycle cannot loop.
        let ft = entry
            .file_type()
            .map_err(|e| LoadError::file(&path, format!("cannot stat: {e}")))?;
        if ft.is_dir() {
            if !name.starts_with('.') {
                walk(&path, out)?;
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(path);
        }
    }
    Ok(())
}

/// The scenarios under the given paths (see [`discover`]), read and validated; on
/// any problem, all of them.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Scenario>, Vec<LoadError>> {
    load_all(&discover(paths)?)
}

/// Reads, parses and validates every file; on any problem returns all of them.
pub fn load_all(files: &[PathBuf]) -> Result<Vec<Scenario>, Vec<LoadError>> {
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match load_file(file) {
            Ok(mut s) => scenarios.append(&mut s),
            Err(mut e) => errors.append(&mut e),
        }
    }
    let mut first_seen: HashMap<&str, &Path> = HashMap::new();
    for s in &scenarios {
        if let Some(prev) = first_seen.insert(&s.name, &s.file) {
            errors.push(LoadError {
                path: s.file.clone(),
                location: None,
                scenario: Some(s.name.clone()),
                message: format!("duplicate scenario name (also in {})", prev.display()),
            });
        }
    }
    if errors.is_empty() {
        Ok(scenarios)
    } else {
        Err(errors)
    }
}

fn load_file(path: &Path) -> Result<Vec<Scenario>, Vec<LoadError>> {
    let one = |message: String| vec![LoadError::file(path, message)];
    let bytes = std::fs::read(path).map_err(|e| one(format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        one(format!("not valid UTF-8 (first bad byte at offset {at})"))
    })?;
    // A byte-order mark (some Windows editors write one) is not part of the YAML;
    // yaml_serde would read it as a second document.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let value: yaml_serde::Value =
        yaml_serde::from_str(text).map_err(|e| vec![yaml_error(path, &e)])?;
    let list_form = value
        .as_mapping()
        .is_some_and(|m| m.contains_key(yaml_serde::Value::from("scenarios")));
    if value.is_null() {
        return Err(one(
            "empty file: expected a scenario (a mapping with at least `run:`)".into(),
        ));
    }
    let mut errors = Vec::new();
    let raws: Vec<Option<RawScenario>> = if list_form {
        match yaml_serde::from_str::<RawFile>(text) {
            Ok(file) => file.scenarios.into_iter().map(Some).collect(),
            Err(e) => {
                let Some(items) = value.get("scenarios").and_then(|v| v.as_sequence()) else {
                    return Err(vec![yaml_error(path, &e)]);
                };
                errors.extend(
                    problems::unknown_top_keys(text, &keys(&value))
                        .iter()
                        .map(|e| yaml_error(path, e)),
                );
                let mut raws = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match problems::parse(text, Some(i), &keys(item)) {
                        Ok(raw) => raws.push(Some(raw)),
                        Err(es) => {
                            errors.extend(es.iter().map(|e| yaml_error(path, e)));
                            raws.push(None);
                        }
                    }
                }
                raws
            }
        }
    } else {
        match yaml_serde::from_str::<RawScenario>(text) {
            Ok(raw) => vec![Some(raw)],
            Err(_) => {
                let es = problems::parse(text, None, &keys(&value))
                    .err()
                    .unwrap_or_default();
                return Err(es.iter().map(|e| yaml_error(path, e)).collect());
            }
        }
    };
    if raws.is_empty() {
        return Err(one("`scenarios:` is an empty list".into()));
    }
    // Each entry's own YAML, kept for `pytest:` selections (their tests' marker
    // settings are validated over it).
    let entries: Vec<yaml_serde::Value> = if list_form {
        value
            .get("scenarios")
            .and_then(|v| v.as_sequence())
            .cloned()
            .unwrap_or_default()
    } else {
        vec![value.clone()]
    };
    let starts = locate::code_starts(text, list_form);
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = Vec::new();
    let count = raws.len();
    for (i, raw) in raws.into_iter().enumerate() {
        let Some(raw) = raw else { continue };
        let lines = starts.get(i).filter(|_| starts.len() == count);
        let default_name = if list_form {
            format!("{stem}[{i}]")
        } else {
            stem.clone()
        };
        match build(path, text, raw, default_name, lines) {
            Ok(mut s) => {
                if let (Body::Selection(sel), Some(yaml)) = (&mut s.body, entries.get(i)) {
                    sel.yaml = yaml.clone();
                }
                out.push(s)
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        // In file order; problems without a position (found after parsing) last.
        errors.sort_by_key(|e| e.location.unwrap_or((usize::MAX, 0)));
        Err(errors)
    }
}

/// The string keys of a mapping (none for anything else).
fn keys(value: &yaml_serde::Value) -> Vec<String> {
    value
        .as_mapping()
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A validated scenario from its parsed YAML, or every problem found. `text` and
/// `lines` locate its code in the file (`""` and `None` when there is no file text:
/// a test's settings).
pub(crate) fn build(
    path: &Path,
    text: &str,
    raw: RawScenario,
    default_name: String,
    lines: Option<&HashMap<&'static str, usize>>,
) -> Result<Scenario, Vec<LoadError>> {
    let prefix = raw.name.as_ref().map(|n| n.0.clone());
    let name = raw.name.map(|n| n.0).unwrap_or(default_name);
    let mut problems = Vec::new();
    let mut problem = |message: String| {
        problems.push(LoadError {
            path: path.to_owned(),
            location: None,
            scenario: Some(name.clone()),
            message,
        })
    };
    if let Err(m) = super::schema::check_name(&name) {
        problem(format!(
            "{m} (the default name is the file name; set `name:`)"
        ));
    }
    let code = |key: &'static str, source: String| {
        let first_line = lines
            .and_then(|l| l.get(key))
            .and_then(|&start| locate::verify(text, &source, start));
        Code { source, first_line }
    };
    let non_blank = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let mut pythonpath = Vec::new();
    for entry in raw.pythonpath.unwrap_or_default() {
        let joined = dir.join(&entry);
        let abs = std::path::absolute(&joined).unwrap_or(joined);
        if !abs.is_dir() {
            problem(format!(
                "pythonpath entry `{entry}` ({}) is not a directory",
                abs.display()
            ));
        }
        pythonpath.push(abs);
    }
    let mut metrics = raw.metrics.unwrap_or_else(|| defaults::METRICS.to_vec());
    metrics.sort();
    metrics.dedup();
    if metrics.is_empty() {
        problem(
            "`metrics` must name at least one of blocks, native, rss, tracemalloc, fds, threads"
                .into(),
        );
    }
    let confirm = {
        let iterations = raw
            .iterations
            .as_ref()
            .map_or(defaults::ITERATIONS, |v| v.0);
        let c = raw.confirm.as_ref();
        let max = c
            .and_then(|c| c.iterations.as_ref())
            .map_or(iterations.saturating_mul(defaults::CONFIRM_FACTOR), |v| v.0);
        if max < iterations {
            problem(format!(
                "`confirm.iterations` ({max}) must be at least `iterations` ({iterations})"
            ));
        }
        super::ConfirmSettings {
            iterations: max,
            time: c
                .and_then(|c| c.time.as_ref())
                .map_or(defaults::CONFIRM_TIME, |t| t.0),
        }
    };
    let body = match (raw.run, raw.pytest) {
        (Some(run), None) => Some(Body::Code {
            setup: non_blank(raw.setup).map(|s| code("setup", s)),
            run: code("run", run.0),
            teardown: non_blank(raw.teardown).map(|s| code("teardown", s)),
        }),
        (None, Some(_)) if raw.setup.is_some() || raw.teardown.is_some() => {
            problem(
                "`setup` and `teardown` do not go with `pytest:`: the test's fixtures set up and tear down".into(),
            );
            None
        }
        (None, Some(args)) => Some(Body::Selection(PytestSelection {
            args: args.0,
            prefix,
            line: lines.and_then(|l| l.get("pytest")).copied(),
            yaml: yaml_serde::Value::Null,
        })),
        (Some(_), Some(_)) => {
            problem(
                "`run` and `pytest` exclude each other: a scenario runs Python code or a pytest test"
                    .into(),
            );
            None
        }
        (None, None) => {
            problem(
                "missing `run:` (Python code to repeat) or `pytest:` (a pytest test or selection)"
                    .into(),
            );
            None
        }
    };
    let (false, Some(body)) = (!problems.is_empty(), body) else {
        return Err(problems);
    };
    Ok(Scenario {
        description: raw.description,
        file: path.to_owned(),
        body,
        iterations: raw
            .iterations
            .as_ref()
            .map_or(defaults::ITERATIONS, |v| v.0),
        warmup: raw.warmup.map_or(defaults::WARMUP, |v| v.0),
        // At most bounds::MAX_PROCESSES.
        processes: raw.processes.map_or(defaults::PROCESSES, |v| v.0 as u32),
        timeout: raw.timeout.map_or(defaults::TIMEOUT, |v| v.0),
        memory_limit: raw.memory_limit.map_or(defaults::MEMORY_LIMIT, |v| v.0),
        python: raw.python.map(|p| p.0),
        env: raw
            .env
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect::<BTreeMap<_, _>>(),
        pythonpath,
        tolerance: raw.tolerance.map_or(defaults::TOLERANCE, |v| v.0),
        expect: raw.expect.unwrap_or_default(),
        metrics,
        regression: {
            let d = super::Floors::default();
            let r = raw.regression;
            super::Floors {
                relative: r
                    .as_ref()
                    .and_then(|r| r.relative.as_ref())
                    .map_or(d.relative, |p| p.0),
                absolute: r
                    .as_ref()
                    .and_then(|r| r.absolute.as_ref())
                    .map_or(d.absolute, |a| a.0 .0 as f64),
            }
        },
        confirm,
        attribution: {
            let d = super::AttributionSettings::default();
            let a = raw.attribution;
            super::AttributionSettings {
                frames: a
                    .as_ref()
                    .and_then(|a| a.frames.as_ref())
                    .map_or(d.frames, |v| v.0),
                top: a
                    .as_ref()
                    .and_then(|a| a.top.as_ref())
                    .map_or(d.top, |v| v.0),
            }
        },
        name,
    })
}

fn yaml_error(path: &Path, e: &yaml_serde::Error) -> LoadError {
    let mut message = e.to_string();
    // The location goes in front, compiler style; drop the parser's own suffix.
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    LoadError {
        path: path.to_owned(),
        location: e.location().map(|l| (l.line(), l.column())),
        scenario: None,
        message,
    }
}
