//! Candidate baseline files written by another run (`memreg run
//! --write-candidates`), read as untrusted input for `memreg baseline apply`.

use super::store::{file_name, read_file, BaselineFile};
use crate::error::Error;
use crate::figures::Figure;
use crate::scenario::Scenario;
use std::collections::BTreeMap;
use std::path::Path;

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
) -> Result<Vec<(usize, BaselineFile)>, Vec<Error>> {
    let mut problems = Vec::new();
    let expected: BTreeMap<String, usize> = scenarios
        .iter()
        .enumerate()
        .filter_map(|(i, s)| file_name(&s.name).ok().map(|f| (f, i)))
        .collect();
    let refuse = |path: &Path, message: String| Error::Candidate {
        path: path.to_owned(),
        message,
    };
    let meta = std::fs::symlink_metadata(dir).map_err(|e| vec![refuse(dir, e.to_string())])?;
    if !meta.is_dir() {
        return Err(vec![refuse(dir, "not a directory".into())]);
    }
    let entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| vec![refuse(dir, e.to_string())])?
        .filter_map(|e| e.ok())
        .collect();
    if entries.len() > MAX_CANDIDATES {
        return Err(vec![refuse(
            dir,
            format!("more than {MAX_CANDIDATES} entries"),
        )]);
    }
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            problems.push(refuse(&path, "cannot stat".into()));
            continue;
        };
        if meta.file_type().is_symlink() {
            problems.push(refuse(&path, "is a symbolic link (refused)".into()));
            continue;
        }
        if !meta.is_file() {
            problems.push(refuse(&path, "not a regular file (refused)".into()));
            continue;
        }
        let Some(&index) = expected.get(&name) else {
            problems.push(refuse(
                &path,
                "not the baseline file of any known scenario (refused)".into(),
            ));
            continue;
        };
        let file = match read_file(&path) {
            Ok(Some(f)) => f,
            Ok(None) => continue,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        let scenario = &scenarios[index].name;
        if &file.scenario != scenario {
            problems.push(refuse(
                &path,
                format!("holds scenario `{}`, expected `{scenario}`", file.scenario),
            ));
            continue;
        }
        if file.environments.is_empty() || file.environments.len() > MAX_ENVIRONMENTS {
            problems.push(refuse(
                &path,
                format!("must hold 1 to {MAX_ENVIRONMENTS} environments"),
            ));
            continue;
        }
        for (env, e) in &file.environments {
            if !valid_environment(env) {
                problems.push(refuse(
                    &path,
                    format!("invalid environment key `{}`", env.escape_debug()),
                ));
            }
            if [&e.python_build, &e.allocator, &e.memreg]
                .iter()
                .any(|t| t.len() > MAX_TEXT)
            {
                problems.push(refuse(
                    &path,
                    format!("{env}: text field longer than {MAX_TEXT} bytes"),
                ));
            }
            if e.iterations == 0 || e.figures.is_empty() {
                problems.push(refuse(&path, format!("{env}: no iterations or no figures")));
            }
            for (k, f) in &e.figures {
                if Figure::from_key(k).is_none() {
                    problems.push(refuse(
                        &path,
                        format!("{env}: unknown figure `{}`", k.escape_debug()),
                    ));
                }
                if f.values.is_empty() || f.values.len() > MAX_VALUES || !f.median.is_finite() {
                    problems.push(refuse(
                        &path,
                        format!("{env}: {k}: 1 to {MAX_VALUES} values and a finite median"),
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
