//! `memreg baseline update|apply|show|prune`.

use super::run::{jobs, load_baselines, measure};
use super::{prepare, Events};
use crate::baseline::candidates::read_candidates;
use crate::baseline::record::{BaselineChange, Recorder};
use crate::baseline::{read_file, BaselineFile, BaselineStore, Entry};
use crate::error::{Error, Errors};
use crate::plan::Selection;
use crate::report::{prose, RunReport};
use crate::runner::Runner;
use crate::scenario::{self, Body, PytestSelection};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// What happened to one scenario's baseline.
#[derive(Clone, Debug, PartialEq)]
pub enum Recorded {
    Written(PathBuf),
    /// Within noise of the stored baseline: the file is left as it is.
    Unchanged,
    /// The scenario did not run cleanly; nothing was recorded.
    NotRecorded {
        why: String,
    },
}

/// What `baseline update` or `apply` did.
pub struct Recording {
    /// Per scenario, in order.
    pub scenarios: Vec<(String, Recorded)>,
    /// What changed, for the change table.
    pub changes: Vec<BaselineChange>,
    pub written: usize,
    pub unchanged: usize,
}

impl Recording {
    fn new(recorder: Recorder, scenarios: Vec<(String, Recorded)>) -> Recording {
        Recording {
            scenarios,
            written: recorder.written.len(),
            unchanged: recorder.unchanged,
            changes: recorder.changes,
        }
    }

    pub fn not_recorded(&self) -> usize {
        self.scenarios
            .iter()
            .filter(|(_, r)| matches!(r, Recorded::NotRecorded { .. }))
            .count()
    }
}

/// What `baseline update` produced: the run, and what it recorded (nothing when
/// the run was interrupted).
pub struct Updated {
    pub report: RunReport,
    pub recording: Option<Recording>,
}

/// Runs the selected scenarios and records their baselines for this environment.
/// Unreadable or foreign baseline files stop an update unless `force` says to
/// replace them.
pub fn update(
    selection: &Selection,
    jobs_: Option<usize>,
    dir: &Path,
    force: bool,
    runner: &dyn Runner,
    events: &dyn Events,
) -> Result<Updated, Errors> {
    let prepared = prepare(selection, runner)?;
    let scenarios = prepared.plan.each_scenario();
    let store = BaselineStore::new(dir);
    let stored: Vec<Option<BaselineFile>> = if force {
        scenarios
            .iter()
            .map(|s| store.load(&s.name).ok().flatten())
            .collect()
    } else {
        load_baselines(&store, &scenarios)?
    };
    let report = measure(&prepared, runner, jobs(jobs_), events, None)?;
    if report.interrupted {
        return Ok(Updated {
            report,
            recording: None,
        });
    }
    let mut recorder = Recorder::new(&store, force);
    let mut done = Vec::new();
    for ((o, s), existing) in report.outcomes.iter().zip(&scenarios).zip(stored) {
        let Some(python) = o.ran_cleanly() else {
            let why = prose::summary(o).unwrap_or_else(|| "errored".into());
            done.push((o.name.clone(), Recorded::NotRecorded { why }));
            continue;
        };
        let entry = Entry::new(python, s.iterations, s.warmup, &o.figures);
        let result = match recorder.record(s, existing, &python.environment_key(), entry)? {
            Some(path) => Recorded::Written(path),
            None => Recorded::Unchanged,
        };
        done.push((o.name.clone(), result));
    }
    Ok(Updated {
        recording: Some(Recording::new(recorder, done)),
        report,
    })
}

/// Applies candidate baselines (untrusted: see `baseline::candidates`) for the
/// scenarios under `paths`. Everything is checked before anything is written.
pub fn apply(
    candidates: &Path,
    paths: &[PathBuf],
    dir: &Path,
    force: bool,
) -> Result<Recording, Errors> {
    let mut scenarios = scenario::load(paths)?;
    scenarios.extend(claimed_tests(candidates, &scenarios));
    let files = read_candidates(candidates, &scenarios).map_err(Errors)?;
    let store = BaselineStore::new(dir);
    let mut existing = Vec::new();
    for (i, _) in &files {
        existing.push(match store.load(&scenarios[*i].name) {
            Ok(f) => f,
            Err(_) if force => None,
            Err(e) => return Err(e.into()),
        });
    }
    let mut recorder = Recorder::new(&store, force);
    let mut done = Vec::new();
    for ((i, candidate), mut current) in files.into_iter().zip(existing) {
        let s = &scenarios[i];
        for (env, entry) in candidate.environments {
            let result = match recorder.record(s, current.clone(), &env, entry)? {
                Some(path) => {
                    current = store.load(&s.name)?;
                    Recorded::Written(path)
                }
                None => Recorded::Unchanged,
            };
            done.push((s.name.clone(), result));
        }
    }
    Ok(Recording::new(recorder, done))
}

/// The scenarios of pytest tests that candidate files in `dir` hold, for the
/// `pytest:` selections among `scenarios`. The tests are not collected (that would
/// run the project's code, which `apply` must not): a candidate is taken for a test
/// when its scenario name has the shape of one of the selection's node ids
/// ([`PytestSelection::claims`]); it is then checked like any candidate. Its
/// iterations and warm-up are the candidate's (a test's marker may set them).
fn claimed_tests(dir: &Path, scenarios: &[scenario::Scenario]) -> Vec<scenario::Scenario> {
    let selections: Vec<(&scenario::Scenario, &PytestSelection)> = scenarios
        .iter()
        .filter_map(|s| match &s.body {
            Body::Selection(sel) => Some((s, sel)),
            _ => None,
        })
        .collect();
    if selections.is_empty() {
        return vec![];
    }
    let known: HashSet<String> = scenarios
        .iter()
        .filter_map(|s| crate::baseline::store::file_name(&s.name).ok())
        .collect();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut out = Vec::new();
    for entry in entries
        .flatten()
        .take(crate::baseline::candidates::MAX_CANDIDATES)
    {
        if known.contains(&*entry.file_name().to_string_lossy()) {
            continue;
        }
        let Ok(Some(file)) = read_file(&entry.path()) else {
            continue; // read_candidates refuses it, saying why
        };
        let Some((base, _)) = selections
            .iter()
            .find(|(_, sel)| sel.claims(&file.scenario))
        else {
            continue;
        };
        let mut s = (*base).clone();
        s.name = file.scenario.clone();
        if let Some(e) = file.environments.values().next() {
            (s.iterations, s.warmup) = (e.iterations, e.warmup);
        }
        out.push(s);
    }
    out
}

/// Stored baselines: every file in `dir`, or the one of scenario `name`; and the
/// files that could not be read.
pub struct Shown {
    pub files: Vec<(PathBuf, BaselineFile)>,
    pub errors: Vec<Error>,
}

pub fn show(dir: &Path, name: Option<&str>) -> Result<Shown, Errors> {
    let store = BaselineStore::new(dir);
    let paths = match name {
        Some(name) => vec![store.path_for(name)?],
        None => store.files()?,
    };
    let mut shown = Shown {
        files: Vec::new(),
        errors: Vec::new(),
    };
    for path in paths {
        match read_file(&path) {
            Ok(Some(f)) => shown.files.push((path, f)),
            Ok(None) => shown.errors.push(Error::BaselineRead {
                path,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no baseline stored"),
            }),
            Err(e) => shown.errors.push(e),
        }
    }
    Ok(shown)
}

/// Baselines of scenarios that no longer exist.
pub struct Pruned {
    /// (file, scenario it holds).
    pub stale: Vec<(PathBuf, String)>,
    /// Files left alone because they could not be read.
    pub unreadable: Vec<Error>,
    /// Whether the stale files were removed (not a dry run).
    pub removed: bool,
}

/// Removes (unless `dry_run`) the baselines in `dir` of scenarios that the files
/// under `paths` no longer define. `pytest:` selections are collected with
/// `python` (or their interpreter) to know their tests: a test that is gone loses
/// its baseline, and if pytest cannot collect, nothing is removed.
pub fn prune(
    paths: &[PathBuf],
    python: Option<&str>,
    dir: &Path,
    dry_run: bool,
    runner: &dyn Runner,
) -> Result<Pruned, Errors> {
    let expand = |s: &scenario::Scenario, python: &Path| super::expand(s, python, runner);
    let scenarios = crate::plan::expand_all(scenario::load(paths)?, python, &expand)?;
    let names: HashSet<&str> = scenarios.iter().map(|(s, _)| s.name.as_str()).collect();
    let store = BaselineStore::new(dir);
    let mut pruned = Pruned {
        stale: Vec::new(),
        unreadable: Vec::new(),
        removed: false,
    };
    for path in store.files()? {
        match read_file(&path) {
            Ok(Some(f)) if !names.contains(f.scenario.as_str()) => {
                pruned.stale.push((path, f.scenario))
            }
            Ok(_) => {}
            Err(e) => pruned.unreadable.push(e),
        }
    }
    if !dry_run && !pruned.stale.is_empty() {
        for (path, _) in &pruned.stale {
            std::fs::remove_file(path).map_err(|source| Error::Remove {
                path: path.clone(),
                source,
            })?;
        }
        pruned.removed = true;
    }
    Ok(pruned)
}
