//! The report model (`model`) every output format reads, and the sentences
//! (`prose`) they all use. The model is built once per run; formats never compute
//! statistics or talk to the probe, they render this.
//!
//! The vocabulary the formats need is re-exported here, so a format depends on the
//! report and nothing below it.

pub mod model;
pub mod prose;

pub use crate::baseline::record::BaselineChange;
pub use crate::baseline::{BaselineResult, Change, FigureComparison, Kind};
pub use crate::figures::Figure;
pub use crate::probe::holders::{Chain, Closure, Garbage, GarbageType, GiveUp, Link, Root, Step};
pub use crate::probe::wire::{
    ExceptionKind, Frame, Phase, ScenarioException, Site, Startup, Stop, Timing, TypeGrowth,
};
pub use crate::probe::{Attribution, Fault, FaultKind, PythonInfo};
pub use crate::scenario::defaults::METRICS as DEFAULT_METRICS;
pub use crate::scenario::{Expect, Metric};
pub use crate::verdict::{Analysis, Check, CounterVerdict, Finding, Verdict, CONFIRM_FACTOR};
pub use model::{Counts, Outcome, ProcessDetail, RunReport, Spread};
