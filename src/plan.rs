//! From the user's paths and options to a run plan: which scenarios run (loaded,
//! `pytest:` selections expanded into their tests, selected with `-k`, split into
//! shards) and with which interpreter each.
//!
//! Nothing runs here: the application supplies the expansion (pytest's collection)
//! and checks the plan with the interpreters (the compile check) before measuring.

use crate::error::{Error, Errors};
use crate::interpreter::{self, Choice, Rule};
use crate::scenario::{self, Body, LoadError, Scenario};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Which scenarios to run, and with which interpreter.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Scenario files or directories.
    pub paths: Vec<PathBuf>,
    /// `-k` patterns: a scenario runs when its name contains any (case-insensitive).
    pub patterns: Vec<String>,
    /// `--python`: the interpreter for every scenario.
    pub python: Option<String>,
    /// `--shard K/N`: only every N-th scenario, starting with the K-th.
    pub shard: Option<Shard>,
}

/// Shard K of N (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}`: expected K/N with 1 <= K <= N, e.g. 2/4");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (k, n): (usize, usize) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if n == 0 || k == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

/// A scenario with the interpreter that will run it.
#[derive(Clone, Debug)]
pub struct Planned {
    pub scenario: Scenario,
    pub python: PathBuf,
    /// The rule that chose the interpreter (said in the run's banner).
    pub chosen_by: Rule,
}

/// The scenarios of one run, in discovery order (sorted files, then order in file).
#[derive(Clone, Debug, Default)]
pub struct RunPlan {
    pub scenarios: Vec<Planned>,
}

impl RunPlan {
    /// The distinct interpreters, sorted.
    pub fn interpreters(&self) -> Vec<PathBuf> {
        let mut all: Vec<PathBuf> = self.scenarios.iter().map(|p| p.python.clone()).collect();
        all.sort();
        all.dedup();
        all
    }

    /// The planned scenarios, in order.
    pub fn each_scenario(&self) -> Vec<&Scenario> {
        self.scenarios.iter().map(|p| &p.scenario).collect()
    }

    /// Number of measuring processes the plan starts.
    pub fn processes(&self) -> u32 {
        self.scenarios.iter().map(|p| p.scenario.processes).sum()
    }
}

/// Expands one `pytest:` selection, run with the given interpreter, into the
/// scenarios of its tests (the application asks pytest; see `app::prepare`).
pub type Expand<'a> = dyn Fn(&Scenario, &Path) -> Result<Vec<Scenario>, Errors> + 'a;

/// Loads, expands, selects and shards the scenarios and finds their interpreters.
/// `pytest:` selections are expanded first, with their interpreter, so that `-k`
/// and `--shard` see one scenario per test.
pub fn plan(sel: &Selection, expand: &Expand) -> Result<RunPlan, Errors> {
    let expanded = expand_all(scenario::load(&sel.paths)?, sel.python.as_deref(), expand)?;
    let expanded: Vec<(Scenario, Option<Choice>)> = {
        let names: Vec<String> = expanded.iter().map(|(s, _)| s.name.clone()).collect();
        let keep = select_names(&names, &sel.patterns);
        expanded
            .into_iter()
            .zip(keep)
            .filter_map(|(e, k)| k.then_some(e))
            .collect()
    };
    if expanded.is_empty() && !sel.patterns.is_empty() {
        return Err(Error::NoMatch {
            paths: sel.paths.clone(),
            patterns: sel.patterns.clone(),
        }
        .into());
    }
    let expanded = match sel.shard {
        Some(shard) => shard_of(expanded, shard),
        None => expanded,
    };
    let mut planned = Vec::new();
    let mut errors = Vec::new();
    for (s, choice) in expanded {
        let choice = match choice {
            Some(c) => Ok(c),
            None => resolve_python(sel.python.as_deref(), s.python.as_deref()),
        };
        match choice {
            Ok(choice) => planned.push(Planned {
                scenario: s,
                python: choice.path,
                chosen_by: choice.rule,
            }),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(RunPlan { scenarios: planned })
    } else {
        Err(Errors(errors))
    }
}

/// Every scenario, with each `pytest:` selection replaced by its tests' scenarios
/// (and the interpreter that collected them). Two scenarios of one name are an
/// error, as in the files: a test selected twice needs a `name:` on one selection.
pub fn expand_all(
    scenarios: Vec<Scenario>,
    python: Option<&str>,
    expand: &Expand,
) -> Result<Vec<(Scenario, Option<Choice>)>, Errors> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for s in scenarios {
        if !matches!(s.body, Body::Selection(_)) {
            out.push((s, None));
            continue;
        }
        let choice = match resolve_python(python, s.python.as_deref()) {
            Ok(c) => c,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        match expand(&s, &choice.path) {
            Ok(tests) => out.extend(tests.into_iter().map(|t| (t, Some(choice.clone())))),
            Err(mut e) => errors.append(&mut e.0),
        }
    }
    let mut first: HashMap<&str, &Scenario> = HashMap::new();
    for (s, _) in &out {
        if let Some(prev) = first.insert(&s.name, s) {
            errors.push(Error::Scenario(LoadError {
                path: s.file.clone(),
                location: None,
                scenario: Some(s.name.clone()),
                message: format!(
                    "duplicate scenario name (also in {}); a test selected by two `pytest:` scenarios needs a `name:` on one",
                    prev.file.display()
                ),
            }));
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Errors(errors))
    }
}

/// For each name, whether it contains any pattern (all when there is none).
pub fn select_names(names: &[String], patterns: &[String]) -> Vec<bool> {
    let pats: Vec<String> = patterns.iter().map(|p| p.to_lowercase()).collect();
    names
        .iter()
        .map(|n| {
            let name = n.to_lowercase();
            pats.is_empty() || pats.iter().any(|p| name.contains(p))
        })
        .collect()
}

/// Round-robin over the fixed discovery order, so N runners with the same files
/// cover every scenario exactly once.
pub fn shard_of<T>(items: Vec<T>, shard: Shard) -> Vec<T> {
    items
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % shard.n == shard.k - 1)
        .map(|(_, s)| s)
        .collect()
}

/// The interpreter for a scenario and the rule that chose it (see
/// [`interpreter::choose`] for the order).
pub fn resolve_python(flag: Option<&str>, scenario: Option<&str>) -> Result<Choice, Error> {
    interpreter::choose(flag, scenario, &interpreter::Context::from_process())
        .map_err(|e| Error::NoInterpreter { python: e.name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_in_discovery_order() {
        for n in 1..=4 {
            let mut seen: Vec<usize> = (1..=n)
                .flat_map(|k| shard_of((0..7).collect(), Shard { k, n }))
                .collect();
            seen.sort();
            assert_eq!(seen, (0..7).collect::<Vec<_>>(), "N={n}");
        }
        assert_eq!(shard_of((0..7).collect(), Shard { k: 2, n: 3 }), vec![1, 4]);
    }

    #[test]
    fn shard_syntax() {
        assert_eq!("2/4".parse(), Ok(Shard { k: 2, n: 4 }));
        for bad in ["0/3", "4/3", "1/0", "x/2", "3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
