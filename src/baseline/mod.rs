//! Baselines: what a scenario's memory looked like when it was last recorded, and
//! whether it changed since (docs/statistics.md §6-§10).
//!
//! `store` reads and writes the files, `compare` judges one figure, `evaluate` one
//! scenario, `record` decides what `baseline update`/`apply` writes, and
//! `candidates` reads candidate files from another run as untrusted input.

pub mod candidates;
pub mod compare;
pub mod evaluate;
pub mod record;
pub mod store;

pub use compare::{Change, FigureComparison, Kind};
pub use evaluate::{evaluate, BaselineResult};
pub use store::{read_file, BaselineFile, BaselineStore, Entry, StoredFigure, FORMAT};
