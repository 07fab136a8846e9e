//! Recording baselines: deciding whether a new entry changes a stored file (by the
//! comparison rules), writing it, and collecting what changed. Shared by `memreg
//! baseline update` (entries from a run) and `memreg baseline apply` (entries from
//! candidate files another run wrote, which are untrusted).

use super::compare::{Change, FigureComparison};
use super::store::{BaselineFile, BaselineStore, Entry};
use super::{evaluate, BaselineResult};
use crate::error::Error;
use crate::figures::Figure;
use crate::scenario::Scenario;
use std::collections::BTreeMap;
use std::path::PathBuf;

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

/// One line of the change table `baseline update` prints.
#[derive(Clone, Debug)]
pub enum BaselineChange {
    /// A figure recorded for the first time.
    New {
        scenario: String,
        figure: Figure,
        median: f64,
    },
    /// Re-recorded because iterations, warm-up or the allocator changed.
    Settings {
        scenario: String,
        recorded: (u64, u64),
        now: (u64, u64),
        /// The allocator before and now, when it changed.
        allocator: Option<(String, String)>,
        /// The modules the interpreter started with, before and now, when they
        /// changed.
        startup: Option<(u32, u32)>,
    },
    /// A figure that changed meaningfully (regressed or improved).
    Changed {
        scenario: String,
        comparison: FigureComparison,
    },
}

/// Writes the entries that change something and collects what changed.
pub struct Recorder<'a> {
    pub store: &'a BaselineStore,
    pub force: bool,
    pub changes: Vec<BaselineChange>,
    pub written: Vec<PathBuf>,
    pub unchanged: usize,
}

impl<'a> Recorder<'a> {
    pub fn new(store: &'a BaselineStore, force: bool) -> Self {
        Recorder {
            store,
            force,
            changes: Vec::new(),
            written: Vec::new(),
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
    ) -> Result<Option<PathBuf>, Error> {
        let name = &scenario.name;
        let result = evaluate(
            scenario,
            existing.as_ref(),
            env,
            &entry.per_process(),
            (&entry).into(),
            false,
        );
        let write = match &result {
            BaselineResult::Missing { .. } => {
                for (k, f) in &entry.figures {
                    if let Some(figure) = Figure::from_key(k) {
                        self.changes.push(BaselineChange::New {
                            scenario: name.clone(),
                            figure,
                            median: f.median,
                        });
                    }
                }
                true
            }
            BaselineResult::SettingsDiffer {
                recorded,
                allocator,
                startup,
                ..
            } => {
                self.changes.push(BaselineChange::Settings {
                    scenario: name.clone(),
                    recorded: *recorded,
                    now: (scenario.iterations, scenario.warmup),
                    allocator: allocator.clone(),
                    startup: *startup,
                });
                true
            }
            BaselineResult::Compared { .. } => {
                let mut changed = result.with(Change::Regressed);
                changed.extend(result.with(Change::Improved));
                changed.sort_by_key(|c| c.figure);
                for c in &changed {
                    self.changes.push(BaselineChange::Changed {
                        scenario: name.clone(),
                        comparison: (*c).clone(),
                    });
                }
                // Figures the stored entry does not have yet (recorded by an older
                // memreg, or a counter turned on since) are new.
                let stored = existing.as_ref().and_then(|f| f.environments.get(env));
                let mut added = false;
                for (k, f) in &entry.figures {
                    let known = stored.is_some_and(|e| e.figures.contains_key(k));
                    if let (false, Some(figure)) = (known, Figure::from_key(k)) {
                        added = true;
                        self.changes.push(BaselineChange::New {
                            scenario: name.clone(),
                            figure,
                            median: f.median,
                        });
                    }
                }
                self.force || added || !changed.is_empty()
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
        self.written.push(path.clone());
        Ok(Some(path))
    }
}
