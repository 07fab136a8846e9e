//! memreg: a memory-regression test harness for Python code.
//!
//! The modules follow the data flow: scenario files ([`scenario`]) are checked and
//! run by the Python [`probe`] in fresh interpreters ([`child`], [`runner`]); their
//! samples become verdicts ([`stats`], [`verdict`]) and then reports ([`report`]).

pub mod baseline;
pub mod child;
pub mod cli;
pub mod figures;
pub mod fsio;
pub mod interpreter;
pub mod probe;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod stats;
pub mod units;
pub mod verdict;
