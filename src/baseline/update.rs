//! Recording baselines: deciding whether a new entry changes a stored file (by the
//! comparison rules), writing it, and the Markdown table of what changed. Shared by
//! `memreg baseline update` (entries from a run) and `memreg baseline apply`
//! (entries from candidate files another run wrote, which are untrusted).

use super::compare::Change;
use super::{
    evaluate, file_name, read_file, BaselineError, BaselineFile, BaselineResult, BaselineStore,
    Entry,
};
use crate::figures::Figure;
use crate::scenario::Scenario;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

impl Entry {
    /// Per-process figure maps rebuilt from the stored values (each figure's values
    /// are sorted on their own, which the comparison rules do not mind).
    pub fn per_process(&self) -> Vec<BTreeMap<Figure, i64>> {
        let n = self
            .figures
            .values()
            .map(|f| f.values.len())
            .max()
            .unwrap_or(0);
        (0..n)
            .map(|i| {
                self.figures
                    .iter()
                    .filter_map(|(k, f)| Some((Figure::from_key(k)?, *f.values.get(i)?)))
                    .collect()
            })
            .collect()
    }
}

/// Writes the entries that change something and collects the change table.
pub struct Recorder<'a> {
    pub store: &'a BaselineStore,
    pub force: bool,
    pub rows: Vec<[String; 4]>,
    pub written: usize,
    pub unchanged: usize,
}

impl<'a> Recorder<'a> {
    pub fn new(store: &'a BaselineStore, force: bool) -> Self {
        Recorder {
            store,
            force,
            rows: Vec::new(),
            written: 0,
            unchanged: 0,
        }
    }

    /// Records `entry` for `scenario` in `env` when it is new, its settings changed,
    /// a figure changed meaningfully, or `force`. Returns the path written.
    pub fn record(
        &mut self,
        scenario: &Scenario,
        existing: Option<BaselineFile>,
        env: &str,
        entry: Entry,
    ) -> Result<Option<PathBuf>, BaselineError> {
        let name = &scenario.name;
        let result = evaluate(
            scenario,
            existing.as_ref(),
            env,
            &entry.per_process(),
            &entry.python_build,
            false,
        );
        let write = match &result {
            BaselineResult::Missing { .. } => {
                for (k, f) in &entry.figures {
                    let shown = Figure::from_key(k)
                        .map_or(f.median.to_string(), |fig| fig.format(f.median));
                    self.rows.push([
                        name.clone(),
                        k.clone(),
                        format!("- -> {shown}"),
                        "new".into(),
                    ]);
                }
                true
            }
            BaselineResult::SettingsDiffer { detail, .. } => {
                self.rows.push([
                    name.clone(),
                    "(all)".into(),
                    format!("settings changed: {detail}"),
                    "re-recorded".into(),
                ]);
                true
            }
            BaselineResult::Compared { .. } => {
                let changed = result.with(|c| matches!(c, Change::Regressed | Change::Improved));
                for c in &changed {
                    self.rows.push([
                        name.clone(),
                        c.figure.key().into(),
                        format!(
                            "{} -> {}",
                            c.figure.format(c.old_median),
                            c.figure.format(c.new_median)
                        ),
                        c.change_percent()
                            .map_or("-".into(), |p| format!("{p:+.1}%")),
                    ]);
                }
                self.force || !changed.is_empty()
            }
        };
        if !write {
            self.unchanged += 1;
            return Ok(None);
        }
        let mut file = existing.unwrap_or_else(|| BaselineFile {
            format: super::FORMAT,
            scenario: name.clone(),
            environments: Default::default(),
        });
        file.format = super::FORMAT;
        file.environments.insert(env.to_owned(), entry);
        let path = self.store.save(&file)?;
        self.written += 1;
        Ok(Some(path))
    }

    /// The Markdown table of changes, ready to paste into a pull request.
    pub fn write_table(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.rows.is_empty() {
            writeln!(
                out,
                "No baseline changed meaningfully ({} within noise).",
                self.unchanged
            )?;
            return Ok(());
        }
        writeln!(out, "| scenario | figure | old -> new | change |")?;
        writeln!(out, "|---|---|---|---|")?;
        for r in &self.rows {
            let cells: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                cells[0], cells[1], cells[2], cells[3]
            )?;
        }
        Ok(())
    }
}

/// Limits on candidate files, which come from an unprivileged CI run.
pub const MAX_CANDIDATES: usize = 10_000;
pub const MAX_ENVIRONMENTS: usize = 32;
pub const MAX_VALUES: usize = 1_000;
pub const MAX_TEXT: usize = 1_000;

fn valid_environment(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        && key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Reads the candidate files in `dir`, trusting nothing: every entry must be a
/// regular file (no symlinks, no directories) named exactly as the baseline file of
/// a known scenario, within the size limit, of this format, holding that scenario,
/// with sane environment keys, known figures and bounded values. Returns (scenario
/// index, file) pairs, or every problem found.
pub fn read_candidates(
    dir: &Path,
    scenarios: &[Scenario],
) -> Result<Vec<(usize, BaselineFile)>, Vec<String>> {
    let mut problems = Vec::new();
    let expected: BTreeMap<String, usize> = scenarios
        .iter()
        .enumerate()
        .filter_map(|(i, s)| file_name(&s.name).ok().map(|f| (f, i)))
        .collect();
    let meta =
        std::fs::symlink_metadata(dir).map_err(|e| vec![format!("{}: {e}", dir.display())])?;
    if !meta.is_dir() {
        return Err(vec![format!("{}: not a directory", dir.display())]);
    }
    let entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| vec![format!("{}: {e}", dir.display())])?
        .filter_map(|e| e.ok())
        .collect();
    if entries.len() > MAX_CANDIDATES {
        return Err(vec![format!(
            "{}: more than {MAX_CANDIDATES} entries",
            dir.display()
        )]);
    }
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.path();
        let shown = path.display().to_string();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            problems.push(format!("{shown}: cannot stat"));
            continue;
        };
        if meta.file_type().is_symlink() {
            problems.push(format!("{shown}: is a symbolic link (refused)"));
            continue;
        }
        if !meta.is_file() {
            problems.push(format!("{shown}: not a regular file (refused)"));
            continue;
        }
        let Some(&index) = expected.get(&name) else {
            problems.push(format!(
                "{shown}: not the baseline file of any known scenario (refused)"
            ));
            continue;
        };
        let file = match read_file(&path) {
            Ok(Some(f)) => f,
            Ok(None) => continue,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        let scenario = &scenarios[index].name;
        if &file.scenario != scenario {
            problems.push(format!(
                "{shown}: holds scenario `{}`, expected `{scenario}`",
                file.scenario
            ));
            continue;
        }
        if file.environments.is_empty() || file.environments.len() > MAX_ENVIRONMENTS {
            problems.push(format!(
                "{shown}: must hold 1 to {MAX_ENVIRONMENTS} environments"
            ));
            continue;
        }
        for (env, e) in &file.environments {
            if !valid_environment(env) {
                problems.push(format!(
                    "{shown}: invalid environment key `{}`",
                    env.escape_debug()
                ));
            }
            if [&e.python_build, &e.allocator, &e.memreg]
                .iter()
                .any(|t| t.len() > MAX_TEXT)
            {
                problems.push(format!(
                    "{shown}: {env}: text field longer than {MAX_TEXT} bytes"
                ));
            }
            if e.iterations == 0 || e.figures.is_empty() {
                problems.push(format!("{shown}: {env}: no iterations or no figures"));
            }
            for (k, f) in &e.figures {
                if Figure::from_key(k).is_none() {
                    problems.push(format!(
                        "{shown}: {env}: unknown figure `{}`",
                        k.escape_debug()
                    ));
                }
                if f.values.is_empty() || f.values.len() > MAX_VALUES || !f.median.is_finite() {
                    problems.push(format!(
                        "{shown}: {env}: {k}: 1 to {MAX_VALUES} values and a finite median"
                    ));
                }
            }
        }
        out.push((index, file));
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}
