//! memreg: a memory-regression test harness for Python code.
//!
//! The modules follow the data flow, each depending only on those before it:
//!
//! - leaves, depending on no other module: [`units`], [`fsio`], [`text`],
//!   [`stats`], [`child`] (one child process, its descendants, and the stop
//!   signals), [`schedule`] (when samples are taken), [`interpreter`] (which Python
//!   a scenario runs with);
//! - [`scenario`] (YAML files to validated scenarios), [`error`] (every reason memreg
//!   cannot do its job, and the exit codes), [`plan`] (selection, shards,
//!   interpreters);
//! - [`probe`] (the Python probe: wire types and spawning), [`runner`] (running
//!   probe processes, `--jobs` at a time);
//! - [`growth`], [`verdict`], [`figures`] (from samples to verdicts and figures),
//!   [`baseline`] (stored figures and their comparison);
//! - [`report`] (the model every format reads, and its wording), [`format`] (console,
//!   JUnit, Markdown, JSON, HTML, annotations);
//! - [`app`] (the commands as functions returning data) and [`cli`] (arguments,
//!   printing, exit codes).

pub mod app;
pub mod baseline;
pub mod child;
pub mod cli;
pub mod error;
pub mod figures;
pub mod format;
pub mod fsio;
pub mod growth;
pub mod interpreter;
pub mod plan;
pub mod probe;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod schedule;
pub mod stats;
pub mod text;
pub mod units;
pub mod verdict;
