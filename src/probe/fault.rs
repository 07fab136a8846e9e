//! How one probe process ended when it gave no usable record. A fault is a result
//! of the scenario (reported, the suite goes on), never an error of memreg's.

use super::wire::{ExceptionKind, Measurement, ScenarioException};
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Fault {
    /// The scenario raised; the traceback is in the exception.
    Exception(ScenarioException),
    Crashed {
        signal: i32,
    },
    ExitedWithoutRecord {
        code: i32,
    },
    TimedOut {
        after: Duration,
    },
    MemoryLimit {
        rss: Option<u64>,
        limit: u64,
    },
    BadRecord(String),
    Cancelled,
}

/// The categories users tell apart (console, JUnit `type`, JSON `kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    Timeout,
    MemoryLimit,
    Crash,
    Exit,
    Exception,
    Probe,
    Interrupted,
    /// A pytest test failed, or errored in its setup or teardown.
    TestFailed,
    /// A pytest test was skipped (or xfailed).
    TestSkipped,
}

impl FaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Timeout => "timeout",
            FaultKind::MemoryLimit => "memory-limit",
            FaultKind::Crash => "crash",
            FaultKind::Exit => "exit",
            FaultKind::Exception => "exception",
            FaultKind::Probe => "probe",
            FaultKind::Interrupted => "interrupted",
            FaultKind::TestFailed => "test-failed",
            FaultKind::TestSkipped => "test-skipped",
        }
    }
}

impl Fault {
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::TimedOut { .. } => FaultKind::Timeout,
            Fault::MemoryLimit { .. } => FaultKind::MemoryLimit,
            Fault::Crashed { .. } => FaultKind::Crash,
            Fault::Exception(e) => match e.kind {
                ExceptionKind::MemoryLimit => FaultKind::MemoryLimit,
                ExceptionKind::Exit => FaultKind::Exit,
                ExceptionKind::Exception | ExceptionKind::Interrupted => FaultKind::Exception,
                ExceptionKind::TestFailed => FaultKind::TestFailed,
                ExceptionKind::TestSkipped => FaultKind::TestSkipped,
            },
            Fault::ExitedWithoutRecord { .. } => FaultKind::Exit,
            Fault::BadRecord(_) => FaultKind::Probe,
            Fault::Cancelled => FaultKind::Interrupted,
        }
    }
}

/// One measured process: its samples when usable, else the fault, plus its output.
#[derive(Clone, Debug)]
pub struct ProcessResult {
    pub outcome: Result<Measurement, Fault>,
    pub output: String,
    pub output_bytes: u64,
    pub elapsed: Duration,
}
