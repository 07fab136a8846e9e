//! One scenario's figures now against its stored baseline in this environment.

use super::compare::{self, Change, FigureComparison};
use super::store::{BaselineFile, Entry};
use crate::figures::Figure;
use crate::probe::wire::Startup;
use crate::probe::PythonInfo;
use crate::scenario::Scenario;
use std::collections::BTreeMap;

/// What the comparison with the stored baseline found for one scenario.
#[derive(Clone, Debug)]
pub enum BaselineResult {
    /// No stored baseline for this scenario in this environment.
    Missing { environment: String, strict: bool },
    /// Stored with other iterations or warm-up, or under another allocator: the
    /// figures are not comparable.
    SettingsDiffer {
        environment: String,
        /// `iterations` and `warmup` the baseline was recorded with.
        recorded: (u64, u64),
        /// The allocator the baseline was recorded with and the one now, when they
        /// differ (`pymalloc` -> `malloc`): under `PYTHONMALLOC=malloc` every object
        /// is a C heap block, so blocks and native heap measure other things.
        allocator: Option<(String, String)>,
        /// How many modules the interpreter started with then and now, when the
        /// interpreters start differently (a `.pth` file, `sitecustomize`): setup's
        /// imports then hold different memory.
        startup: Option<(u32, u32)>,
        strict: bool,
    },
    Compared {
        environment: String,
        figures: Vec<FigureComparison>,
        /// The Python build the baseline was recorded with, when it is not this one.
        recorded_with: Option<String>,
    },
}

impl BaselineResult {
    /// Whether this fails the scenario's check: a regressed figure, or no usable
    /// baseline under `--strict`.
    pub fn failed(&self) -> bool {
        match self {
            BaselineResult::Missing { strict, .. }
            | BaselineResult::SettingsDiffer { strict, .. } => *strict,
            BaselineResult::Compared { .. } => !self.with(Change::Regressed).is_empty(),
        }
    }

    /// The compared figures whose change is `change`.
    pub fn with(&self, change: Change) -> Vec<&FigureComparison> {
        match self {
            BaselineResult::Compared { figures, .. } => {
                figures.iter().filter(|c| c.status == change).collect()
            }
            _ => vec![],
        }
    }

    pub fn environment(&self) -> &str {
        match self {
            BaselineResult::Missing { environment, .. }
            | BaselineResult::SettingsDiffer { environment, .. }
            | BaselineResult::Compared { environment, .. } => environment,
        }
    }
}

/// What, beyond the environment key, decides whether figures are comparable: the
/// interpreter build (noted when it differs), the allocator and the modules the
/// interpreter starts with (not comparable when they differ).
pub struct Conditions<'a> {
    pub build: &'a str,
    pub allocator: &'a str,
    pub startup: Option<&'a Startup>,
}

impl<'a> From<&'a PythonInfo> for Conditions<'a> {
    fn from(p: &'a PythonInfo) -> Self {
        Conditions {
            build: &p.build,
            allocator: &p.allocator,
            startup: p.startup.as_ref(),
        }
    }
}

impl<'a> From<&'a Entry> for Conditions<'a> {
    fn from(e: &'a Entry) -> Self {
        Conditions {
            build: &e.python_build,
            allocator: &e.allocator,
            startup: e.startup.as_ref(),
        }
    }
}

/// Compares a scenario's per-process figures with its stored baseline.
pub fn evaluate(
    scenario: &Scenario,
    file: Option<&BaselineFile>,
    environment: &str,
    per_process: &[BTreeMap<Figure, i64>],
    now: Conditions,
    strict: bool,
) -> BaselineResult {
    let (python_build, allocator) = (now.build, now.allocator);
    let environment = environment.to_owned();
    let Some(entry) = file.and_then(|f| f.environments.get(&environment)) else {
        return BaselineResult::Missing {
            environment,
            strict,
        };
    };
    let allocator = allocator_change(&entry.allocator, allocator);
    // A baseline (or a run) that did not record the modules is taken as comparable.
    let startup = match (&entry.startup, now.startup) {
        (Some(then), Some(now)) if then.fingerprint != now.fingerprint => {
            Some((then.modules, now.modules))
        }
        _ => None,
    };
    if entry.iterations != scenario.iterations
        || entry.warmup != scenario.warmup
        || allocator.is_some()
        || startup.is_some()
    {
        return BaselineResult::SettingsDiffer {
            environment,
            recorded: (entry.iterations, entry.warmup),
            allocator,
            startup,
            strict,
        };
    }
    let mut figures = Vec::new();
    for f in Figure::ALL.into_iter().filter(|f| f.compared()) {
        let Some(old) = entry.values(f) else { continue };
        let new: Vec<i64> = per_process
            .iter()
            .filter_map(|p| p.get(&f).copied())
            .collect();
        if new.is_empty() || new.len() != per_process.len() || old.is_empty() {
            continue;
        }
        figures.push(compare::compare(
            f,
            old,
            &new,
            &scenario.regression,
            scenario.iterations,
        ));
    }
    BaselineResult::Compared {
        environment,
        figures,
        recorded_with: (entry.python_build != python_build).then(|| entry.python_build.clone()),
    }
}

/// What differs between two allocator descriptions (`pymalloc, glibc 2.36`): the
/// object allocator, or the C library's name. A C library's version does not
/// change what the figures measure; it is in the Python build note when it matters.
/// A baseline that recorded no allocator is taken as comparable.
fn allocator_change(recorded: &str, now: &str) -> Option<(String, String)> {
    if recorded.is_empty() || now.is_empty() {
        return None;
    }
    let parts = |s: &str| -> (String, String) {
        let mut it = s.split(',').map(str::trim);
        let object = it.next().unwrap_or("").to_owned();
        let libc = it
            .next()
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or("")
            .to_owned();
        (object, libc)
    };
    let (old, new) = (parts(recorded), parts(now));
    let differing: Vec<(String, String)> = [(old.0, new.0), (old.1, new.1)]
        .into_iter()
        .filter(|(a, b)| a != b)
        .collect();
    if differing.is_empty() {
        return None;
    }
    let join = |pick: fn(&(String, String)) -> &String| {
        differing
            .iter()
            .map(|d| pick(d).as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some((join(|d| &d.0), join(|d| &d.1)))
}

#[cfg(test)]
mod tests {
    use super::allocator_change;

    #[test]
    fn the_allocator_and_the_c_library_decide_what_is_comparable() {
        let pair = |a: &str, b: &str| Some((a.to_owned(), b.to_owned()));
        let cases = [
            ("pymalloc, glibc 2.36", "pymalloc, glibc 2.36", None),
            ("pymalloc, glibc 2.36", "pymalloc, glibc 2.39", None),
            (
                "pymalloc, glibc 2.36",
                "malloc, glibc 2.36",
                pair("pymalloc", "malloc"),
            ),
            (
                "pymalloc",
                "pymalloc_debug",
                pair("pymalloc", "pymalloc_debug"),
            ),
            (
                "pymalloc, glibc 2.36",
                "pymalloc, musl",
                pair("glibc", "musl"),
            ),
            (
                "pymalloc, glibc 2.36",
                "malloc, musl",
                pair("pymalloc, glibc", "malloc, musl"),
            ),
            ("", "malloc, glibc 2.36", None),
        ];
        for (old, new, want) in cases {
            assert_eq!(allocator_change(old, new), want, "{old} -> {new}");
        }
    }
}
