//! Scenarios: what a user asks memreg to run, as read and checked from YAML files.
//!
//! `load` turns paths into validated [`Scenario`]s (or errors naming file:line:column);
//! `schema` is the YAML shape; `locate` finds where code blocks start in the file so
//! Python tracebacks can name YAML lines.

mod load;
mod locate;
mod schema;

pub use load::{discover, load_all, LoadError};
pub use schema::{Expect, Metric};

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
    pub const METRICS: [Metric; 3] = [Metric::Blocks, Metric::Native, Metric::Rss];
    /// The verdict compares quarters of the measured window: fewer samples than
    /// this cannot show a trend.
    pub const MIN_ITERATIONS: u64 = 16;
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
    pub setup: Option<Code>,
    pub run: Code,
    pub teardown: Option<Code>,
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
    pub regression: crate::baseline::compare::Floors,
    /// Traceback depth and number of sites/types shown when explaining a failure.
    pub attribution: AttributionSettings,
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

impl Scenario {
    /// The code parts in the order they run, with their YAML key.
    pub fn parts(&self) -> impl Iterator<Item = (&'static str, &Code)> {
        [
            ("setup", self.setup.as_ref()),
            ("run", Some(&self.run)),
            ("teardown", self.teardown.as_ref()),
        ]
        .into_iter()
        .filter_map(|(k, c)| c.map(|c| (k, c)))
    }
}
