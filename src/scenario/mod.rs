//! Scenarios: what a user asks memreg to run, as read and checked from YAML files.
//!
//! `load` turns paths into validated [`Scenario`]s (or errors naming file:line:column);
//! `schema` is the YAML shape; `problems` finds every problem of a scenario that does
//! not parse, not just the first; `locate` finds where code blocks start in the file
//! so Python tracebacks can name YAML lines; `pytest` turns a `pytest:` selection's
//! collected tests into scenarios of their own.

mod load;
mod locate;
mod problems;
mod pytest;
mod schema;

pub use load::{discover, load, load_all, LoadError};
pub use pytest::{CollectedTest, PytestSelection, PytestTest, MARKER_KEYS};
pub use schema::{Expect, Metric, MIN_BLOCK_BYTES};

use crate::units::Bytes;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Defaults chosen so that a scenario with only `run:` gives a trustworthy verdict
/// in a few seconds (see README, "Defaults").
pub mod defaults {
    use super::*;
    pub const ITERATIONS: u64 = 2000;
    pub const WARMUP: u64 = 200;
    pub const PROCESSES: u32 = 5;
    pub const TIMEOUT: Duration = Duration::from_secs(60);
    pub const MEMORY_LIMIT: Bytes = Bytes(2 << 30);
    pub const TOLERANCE: Bytes = Bytes(0);
    /// Read where the platform can (the probe leaves a counter it cannot read out,
    /// with a note).
    pub const METRICS: [Metric; 5] = [
        Metric::Blocks,
        Metric::Native,
        Metric::Rss,
        Metric::Fds,
        Metric::Threads,
    ];
    /// A process may extend its window to this many times `iterations` to confirm a
    /// growth (docs/statistics.md §1).
    pub const CONFIRM_FACTOR: u64 = 16;
    /// ... and spend at most this long measuring, extensions included.
    pub const CONFIRM_TIME: Duration = Duration::from_secs(20);
}

/// The bounds of every number a scenario gives (README, "Scenario reference"): wide
/// enough for any real use, narrow enough that a typo cannot make memreg allocate
/// for four billion processes or wait for a year.
pub mod bounds {
    use std::time::Duration;

    /// The verdict compares quarters of the measured window: fewer samples than
    /// this cannot show a trend.
    pub const MIN_ITERATIONS: u64 = 16;
    /// For `iterations` and `warmup`: 10^9 runs of even an empty body take minutes.
    pub const MAX_ITERATIONS: u64 = 1_000_000_000;
    /// Fresh interpreters per scenario: 1000 give a sign test far below any alpha.
    pub const MAX_PROCESSES: u64 = 1000;
    /// Traceback depth and sites or types shown (`attribution:`).
    pub const MAX_SHOWN: u64 = 100;
    /// `confirm.iterations`: the longest window a process may extend to.
    pub const MAX_CONFIRM_ITERATIONS: u64 = 16 * MAX_ITERATIONS;
    /// `timeout` and `confirm.time`, per process (24h).
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
    /// Any size (`memory_limit`, `tolerance`, `regression.absolute`): 1 TiB.
    pub const MAX_SIZE: u64 = 1 << 40;
    /// `memory_limit`: a Python interpreter alone is 10 to 20 MiB resident, and the
    /// limit covers the whole process; a smaller one fails every process.
    pub const MIN_MEMORY_LIMIT: u64 = 32 << 20;
}

/// One piece of Python source from a scenario, with where it starts in the YAML file
/// (when that could be established exactly).
#[derive(Clone, Debug, PartialEq)]
pub struct Code {
    pub source: String,
    /// 1-based line in the scenario file where `source` line 1 stands.
    pub first_line: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    /// The YAML file, as discovered from the user's paths.
    pub file: PathBuf,
    /// What runs: Python code, or a pytest test.
    pub body: Body,
    pub iterations: u64,
    pub warmup: u64,
    pub processes: u32,
    pub timeout: Duration,
    pub memory_limit: Bytes,
    pub python: Option<String>,
    pub env: BTreeMap<String, String>,
    /// Absolute directories, resolved against the scenario file's directory.
    pub pythonpath: Vec<PathBuf>,
    pub tolerance: Bytes,
    pub expect: Expect,
    pub metrics: Vec<Metric>,
    /// Floors for baseline comparison.
    pub regression: Floors,
    /// Traceback depth and number of sites/types shown when explaining a failure.
    pub attribution: AttributionSettings,
    /// How much longer a process may measure to confirm a growth.
    pub confirm: ConfirmSettings,
}

/// `confirm:`: the budget a process has to look longer before memreg decides that a
/// growing counter leaks (docs/statistics.md §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfirmSettings {
    /// The longest window, in iterations (at least `iterations`; equal: never extend).
    pub iterations: u64,
    /// Most time the measured phase may take, extensions included.
    pub time: Duration,
}

/// `regression:`: how far a baseline figure may move before it counts as a change.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Floors {
    /// Fraction of the smaller of the two medians, e.g. 0.10.
    pub relative: f64,
    /// Bytes; blocks are held to a 16th of it (the smallest pymalloc block), growth
    /// per 1000 iterations to what would add up to it over the measured window.
    pub absolute: f64,
}

impl Default for Floors {
    fn default() -> Self {
        Floors {
            relative: 0.10,
            absolute: 64.0 * 1024.0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttributionSettings {
    pub frames: u64,
    pub top: u64,
}

impl Default for AttributionSettings {
    fn default() -> Self {
        AttributionSettings { frames: 10, top: 5 }
    }
}

/// What a scenario runs each iteration.
#[derive(Clone, Debug)]
pub enum Body {
    /// `setup`, `run` and `teardown` code from the YAML file.
    Code {
        setup: Option<Code>,
        run: Code,
        teardown: Option<Code>,
    },
    /// A `pytest:` selection as written, before its tests are collected: the
    /// application expands it into one [`Body::Test`] scenario per test before
    /// anything runs.
    Selection(PytestSelection),
    /// One collected pytest test: setup, call and teardown per iteration.
    Test(PytestTest),
}

impl Scenario {
    /// The code parts in the order they run, with their YAML key (none for a pytest
    /// test).
    pub fn parts(&self) -> impl Iterator<Item = (&'static str, &Code)> {
        let (setup, run, teardown) = match &self.body {
            Body::Code {
                setup,
                run,
                teardown,
            } => (setup.as_ref(), Some(run), teardown.as_ref()),
            Body::Selection(_) | Body::Test(_) => (None, None, None),
        };
        [("setup", setup), ("run", run), ("teardown", teardown)]
            .into_iter()
            .filter_map(|(k, c)| c.map(|c| (k, c)))
    }

    /// The `run:` code, when the scenario is code.
    pub fn run_code(&self) -> Option<&Code> {
        match &self.body {
            Body::Code { run, .. } => Some(run),
            Body::Selection(_) | Body::Test(_) => None,
        }
    }

    /// Where a reader of a result should look: the scenario file at its `run:` line,
    /// or a pytest test's file (relative to the directory memreg runs in) at the
    /// line of its function.
    pub fn location(&self) -> (PathBuf, Option<usize>) {
        match &self.body {
            Body::Code { run, .. } => (self.file.clone(), run.first_line),
            Body::Selection(s) => (self.file.clone(), s.line),
            Body::Test(t) => (t.file.clone(), t.line),
        }
    }
}
