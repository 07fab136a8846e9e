//! A runner without Python, for tests of everything above the probe (hyperfine's
//! mock executor, for memreg). A scenario's `run:` code is read as directives that
//! say what its processes report:
//!
//! - `blocks+=R` / `native+=R`: the counter grows R per iteration (default 0);
//! - `held=B`: native bytes held from setup on (default 0);
//! - `raise`: every process raises in `run`;
//! - `syntax-error`: the compile check reports a SyntaxError in `run`.
//!
//! A `pytest:` selection collects the node ids among its arguments (those with
//! `::`), with the `memreg` marker settings given in [`FakeRunner::markers`]; its
//! other arguments are its options. A selection with no node id is pytest missing.
//! A test's node id is read for the directives above.

use super::Runner;
use crate::error::Error;
use crate::probe::wire::{
    EndCounters, ExceptionKind, Expanded, Measurement, Phase, PytestProblem, PythonInfo,
    ScenarioException, StartCounters, Stop, Timing,
};
use crate::probe::{Attribution, Fault, ProcessResult};
use crate::scenario::{Body, CollectedTest, Metric, Scenario};
use crate::schedule;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// The interpreter every fake process reports.
pub fn python() -> PythonInfo {
    PythonInfo {
        implementation: "cpython".into(),
        version: "3.11.7".into(),
        executable: "/fake/python3".into(),
        platform: "linux".into(),
        machine: "x86_64".into(),
        build: "3.11.7 (fake)".into(),
        allocator: "pymalloc, glibc 2.36".into(),
        startup: Some(crate::probe::wire::Startup::of_names(&[
            "builtins".into(),
            "sys".into(),
        ])),
    }
}

/// One process's samples: blocks and native heap growing linearly.
pub fn measurement(iterations: u64, blocks_rate: f64, native_rate: f64, held: i64) -> Measurement {
    let positions = schedule::positions(iterations);
    let line = |base: i64, rate: f64| -> Vec<i64> {
        positions
            .iter()
            .map(|&x| base + (rate * x as f64).round() as i64)
            .collect()
    };
    Measurement {
        python: python(),
        notes: vec![],
        timing: Timing {
            body_s: 1e-6 * iterations as f64,
            ..Timing::default()
        },
        series: [
            (Metric::Blocks, line(40_000, blocks_rate)),
            (Metric::Native, line(1_000_000 + held, native_rate)),
        ]
        .into(),
        peak_rss: Some(14 << 20),
        peak_scope: None,
        tracemalloc_peak: None,
        start: StartCounters {
            blocks: Some(40_000),
            native: Some(1_000_000),
            python: Some(2_000_000),
        },
        end: EndCounters {
            python: Some(2_000_000 + (blocks_rate * 64.0 * iterations as f64) as i64),
        },
        window: iterations,
        extensions: 0,
        stop: if blocks_rate == 0.0 && native_rate == 0.0 {
            Stop::Flat
        } else {
            Stop::BudgetIterations
        },
        window_s: 1e-6 * iterations as f64,
        user_series: None,
    }
}

/// A finished process with `measurement`'s samples.
pub fn process(m: Measurement) -> ProcessResult {
    ProcessResult {
        outcome: Ok(m),
        output: String::new(),
        output_bytes: 0,
        elapsed: Duration::from_millis(10),
    }
}

/// The text read for directives: the `run:` code, or a test's node id (`[`, `]`
/// and `-` separate words there: `test_x[blocks+=1]`).
fn directives(s: &Scenario) -> String {
    match &s.body {
        Body::Code { run, .. } => run.source.clone(),
        Body::Test(t) => t.nodeid.replace(['[', ']', '-'], " "),
        Body::Selection(sel) => sel.args.join(" "),
    }
}

fn directive(s: &Scenario, key: &str) -> Option<f64> {
    directives(s)
        .split_whitespace()
        .find_map(|d| d.strip_prefix(key)?.parse().ok())
}

fn has(s: &Scenario, word: &str) -> bool {
    directives(s).split_whitespace().any(|d| d == word)
}

/// Records what it was asked to do.
#[derive(Default)]
pub struct FakeRunner {
    pub measured: Mutex<Vec<String>>,
    pub attributed: Mutex<Vec<String>>,
    /// `pytest:` selections collected, by their first argument.
    pub expanded: Mutex<Vec<String>>,
    /// `memreg` marker settings of fake tests, by node id.
    pub markers: std::collections::HashMap<String, serde_json::Value>,
}

impl Runner for FakeRunner {
    fn expand(&self, s: &Scenario, python: &Path) -> Result<Expanded, Error> {
        let Body::Selection(sel) = &s.body else {
            panic!("expand is for selections")
        };
        self.expanded.lock().unwrap().push(sel.args[0].clone());
        let (ids, options): (Vec<&String>, Vec<&String>) =
            sel.args.iter().partition(|a| a.contains("::"));
        if ids.is_empty() {
            return Ok(Expanded {
                tests: vec![],
                options: vec![],
                problem: Some(PytestProblem {
                    kind: "pytest_missing".into(),
                    message: format!("pytest is not installed for {}", python.display()),
                }),
            });
        }
        let tests = ids
            .into_iter()
            .map(|id| CollectedTest {
                nodeid: id.clone(),
                selector: id.clone(),
                file: id.split("::").next().unwrap().to_owned(),
                line: Some(7),
                memreg: self.markers.get(id).and_then(|m| m.as_object().cloned()),
            })
            .collect();
        Ok(Expanded {
            tests,
            options: options.into_iter().cloned().collect(),
            problem: None,
        })
    }

    fn check(
        &self,
        python: &Path,
        scenarios: &[&Scenario],
    ) -> Result<(PythonInfo, Vec<Error>), Error> {
        let errors = scenarios
            .iter()
            .filter(|s| has(s, "syntax-error"))
            .map(|s| {
                Error::Compile(Box::new(crate::error::CompileError {
                    file: s.file.display().to_string(),
                    line: s.location().1.unwrap_or(1),
                    column: 1,
                    scenario: s.name.clone(),
                    part: "run".into(),
                    message: "invalid syntax".into(),
                    text: String::new(),
                }))
            })
            .collect();
        let mut info = self::python();
        info.executable = python.display().to_string();
        Ok((info, errors))
    }

    fn measure(&self, s: &Scenario, _python: &Path) -> Result<ProcessResult, Error> {
        self.measured.lock().unwrap().push(s.name.clone());
        if has(s, "raise") {
            return Ok(ProcessResult {
                outcome: Err(Fault::Exception(ScenarioException {
                    phase: Phase::Run,
                    kind: ExceptionKind::Exception,
                    type_name: "KeyError".into(),
                    message: "1".into(),
                    traceback: "Traceback (most recent call last):\nKeyError: 1\n".into(),
                })),
                output: "boom\n".into(),
                output_bytes: 5,
                elapsed: Duration::from_millis(10),
            });
        }
        Ok(process(measurement(
            s.iterations,
            directive(s, "blocks+=").unwrap_or(0.0),
            directive(s, "native+=").unwrap_or(0.0),
            directive(s, "held=").unwrap_or(0.0) as i64,
        )))
    }

    fn attribute(
        &self,
        s: &Scenario,
        _python: &Path,
        iterations: u64,
    ) -> Result<Result<Attribution, Fault>, Error> {
        self.attributed.lock().unwrap().push(s.name.clone());
        Ok(Ok(Attribution {
            iterations,
            frames: s.attribution.frames,
            traced_bytes_per_iteration: 0.0,
            sites: vec![],
            types: vec![],
            uncollectable: None,
            atexit_per_iteration: None,
        }))
    }
}
