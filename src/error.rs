//! Why memreg could not do its job, and the exit codes, in one place.
//!
//! Every variant names the file, directory, interpreter or scenario it is about, so
//! the message a user reads says where to look. A scenario that crashes, times out
//! or leaks is not an error here: it is a result (see `report`), and the run goes on.

use crate::child::StopSignal;
use crate::scenario::LoadError;
use std::path::PathBuf;

/// A reason memreg could not do its job (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A scenario file is unreadable or invalid: file:line:column.
    #[error("{0}")]
    Scenario(#[from] LoadError),
    /// Python code of a scenario that does not compile, found before anything ran.
    #[error("{0}")]
    Compile(Box<CompileError>),
    /// `-k` patterns that select nothing in the given paths.
    #[error("no scenario name matches {}", patterns.iter().map(|p| format!("-k {p}")).collect::<Vec<_>>().join(" "))]
    NoMatch {
        paths: Vec<PathBuf>,
        patterns: Vec<String>,
    },
    #[error(
        "Python interpreter `{python}` not found (set `python:` in the scenario or pass --python)"
    )]
    NoInterpreter { python: String },
    #[error("cannot run {}: {source}", python.display())]
    Spawn {
        python: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: memreg needs Python >= {needs}, found Python {version}", python.display())]
    UnsupportedPython {
        python: PathBuf,
        version: String,
        needs: &'static str,
    },
    #[error("{}: could not check the scenarios' Python code: {detail}", python.display())]
    Check { python: PathBuf, detail: String },
    /// A `pytest:` selection pytest could not collect (pytest missing, a bad node
    /// id or option, a conftest that does not import, no test selected), in
    /// pytest's own words.
    #[error("{}{}: scenario `{scenario}`: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Pytest {
        file: PathBuf,
        line: Option<usize>,
        scenario: String,
        message: String,
    },
    #[error("cannot use temporary directory {}: {source}", path.display())]
    WorkDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot read baseline: {source}", path.display())]
    BaselineRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a memreg baseline file ({message}); fix it, delete it, or run `memreg baseline update --force`", path.display())]
    BaselineCorrupt { path: PathBuf, message: String },
    #[error("{}: baseline format {found}, this memreg reads format {supported}; update memreg or rerun `memreg baseline update --force`", path.display())]
    BaselineVersion {
        path: PathBuf,
        found: u64,
        supported: u32,
    },
    #[error("{}: holds scenario `{found}`, expected `{expected}`", path.display())]
    BaselineWrongScenario {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("{}: cannot write baseline: {message}", path.display())]
    BaselineWrite { path: PathBuf, message: String },
    #[error("scenario name `{scenario}` cannot be used as a baseline file name")]
    BaselineName { scenario: String },
    /// A candidate baseline file (untrusted input) that `baseline apply` refuses.
    #[error("{}: {message}", path.display())]
    Candidate { path: PathBuf, message: String },
    #[error("{}: cannot write the {what}: {message}", path.display())]
    WriteReport {
        path: PathBuf,
        what: &'static str,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    ReadReport { path: PathBuf, message: String },
    #[error("{}: scenario `{scenario}` is also in {} (do the shards overlap?)", path.display(), other.display())]
    ShardOverlap {
        path: PathBuf,
        scenario: String,
        other: PathBuf,
    },
    #[error("{}: cannot remove: {source}", path.display())]
    Remove {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot install the handlers of SIGINT, SIGTERM and SIGHUP: {source}")]
    Signals { source: std::io::Error },
    /// Writing the console report failed (other than a closed pipe).
    #[error("cannot write to {stream}: {source}")]
    Output {
        stream: &'static str,
        source: std::io::Error,
    },
}

impl Error {
    /// Whether the error was found while checking the input, before any scenario
    /// ran (the message then says so).
    pub fn before_running(&self) -> bool {
        matches!(
            self,
            Error::Scenario(_)
                | Error::Compile(_)
                | Error::UnsupportedPython { .. }
                | Error::Pytest { .. }
                | Error::BaselineRead { .. }
                | Error::BaselineCorrupt { .. }
                | Error::BaselineVersion { .. }
                | Error::BaselineWrongScenario { .. }
                | Error::BaselineName { .. }
        )
    }
}

/// A SyntaxError (or similar) in a scenario's code.
#[derive(Debug)]
pub struct CompileError {
    /// The scenario file, or `<name:part>` when the code's lines are not known.
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub scenario: String,
    pub part: String,
    pub message: String,
    /// The offending source line.
    pub text: String,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.file.starts_with('<') {
            write!(
                f,
                "scenario `{}`: `{}` line {}:{}: {}",
                self.scenario, self.part, self.line, self.column, self.message
            )?;
        } else {
            write!(
                f,
                "{}:{}:{}: scenario `{}`: `{}`: {}",
                self.file, self.line, self.column, self.scenario, self.part, self.message
            )?;
        }
        if !self.text.trim().is_empty() {
            write!(f, "\n    {}", self.text.trim())?;
        }
        Ok(())
    }
}

/// Every problem found, not just the first.
#[derive(Debug, Default)]
pub struct Errors(pub Vec<Error>);

impl From<Error> for Errors {
    fn from(e: Error) -> Self {
        Errors(vec![e])
    }
}

impl From<Vec<LoadError>> for Errors {
    fn from(es: Vec<LoadError>) -> Self {
        Errors(es.into_iter().map(Error::Scenario).collect())
    }
}

impl Errors {
    pub fn before_running(&self) -> bool {
        self.0.iter().any(Error::before_running)
    }
}

/// memreg's exit codes (README, "Exit codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// Every check passed (inconclusive scenarios neither pass nor fail).
    Passed = 0,
    /// A check failed (leak, expected leak not found, regression, missing baseline
    /// under --strict) or a scenario errored.
    Failed = 1,
    /// memreg could not do its job: bad arguments or input, an I/O error.
    Usage = 2,
    /// Stopped by SIGHUP (128 + 1).
    HangUp = 129,
    /// Interrupted by Ctrl-C, SIGINT (128 + 2).
    Interrupted = 130,
    /// Stopped by SIGTERM (128 + 15).
    Terminated = 143,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The exit code of a run a stop signal ended: 128 + its number, as a shell
    /// reports a process killed by it.
    pub fn stopped_by(signal: StopSignal) -> ExitCode {
        match signal {
            StopSignal::HangUp => ExitCode::HangUp,
            StopSignal::Interrupt => ExitCode::Interrupted,
            StopSignal::Terminate => ExitCode::Terminated,
        }
    }

    /// The stop signal an exit code of [`ExitCode::stopped_by`] stands for.
    pub fn signal_of(code: i32) -> Option<StopSignal> {
        StopSignal::ALL
            .into_iter()
            .find(|&s| ExitCode::stopped_by(s).code() == code)
    }

    /// The exit codes as `--help` lists them.
    pub const HELP: &'static str = "\
Exit codes:
  0    every check passed (inconclusive scenarios neither pass nor fail)
  1    a check failed (a leak, or an expected leak not found) or a scenario errored
       (exception, crash, timeout, memory limit)
  2    memreg could not do its job: bad arguments, bad scenario files, Python code
       that does not compile, no interpreter, pytest tests that cannot be collected
       (or no pytest), an I/O error
  129  stopped by SIGHUP    } every scenario process and its descendants are
  130  interrupted (Ctrl-C) } killed; the reports of what finished are written
  143  stopped by SIGTERM   }";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_signal_exits_128_plus_its_number() {
        for s in StopSignal::ALL {
            assert_eq!(ExitCode::stopped_by(s).code(), 128 + s.number(), "{s:?}");
            assert_eq!(ExitCode::signal_of(128 + s.number()), Some(s));
        }
    }
}
