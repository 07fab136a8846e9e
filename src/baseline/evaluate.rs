//! One scenario's figures now against its stored baseline in this environment.

use super::compare::{self, Change, FigureComparison};
use super::store::BaselineFile;
use crate::figures::Figure;
use crate::scenario::Scenario;
use std::collections::BTreeMap;

/// What the comparison with the stored baseline found for one scenario.
#[derive(Clone, Debug)]
pub enum BaselineResult {
    /// No stored baseline for this scenario in this environment.
    Missing { environment: String, strict: bool },
    /// Stored with other iterations or warm-up: the figures are not comparable.
    SettingsDiffer {
        environment: String,
        /// `iterations` and `warmup` the baseline was recorded with.
        recorded: (u64, u64),
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

/// Compares a scenario's per-process figures with its stored baseline.
pub fn evaluate(
    scenario: &Scenario,
    file: Option<&BaselineFile>,
    environment: &str,
    per_process: &[BTreeMap<Figure, i64>],
    python_build: &str,
    strict: bool,
) -> BaselineResult {
    let environment = environment.to_owned();
    let Some(entry) = file.and_then(|f| f.environments.get(&environment)) else {
        return BaselineResult::Missing {
            environment,
            strict,
        };
    };
    if entry.iterations != scenario.iterations || entry.warmup != scenario.warmup {
        return BaselineResult::SettingsDiffer {
            environment,
            recorded: (entry.iterations, entry.warmup),
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
