//! The application: each command as a function that takes options and a
//! [`Runner`](crate::runner::Runner), does the work, and returns data (a run report,
//! baseline changes) for the command line to print. Nothing here prints or exits,
//! so every command is unit-tested with a fake runner, without Python.

pub mod baselines;
pub mod merge;
pub mod run;

use crate::error::{Error, Errors};
use crate::plan::{self, RunPlan, Selection};
use crate::probe::wire::PytestProblem;
use crate::probe::PythonInfo;
use crate::runner::{Progress, Runner};
use crate::scenario::{Body, Scenario};
use std::path::{Path, PathBuf};

pub use run::{run, RunOptions, RunOutput};

/// What the application tells the user interface while it works. Every method has
/// a default that does nothing.
pub trait Events: Progress {
    /// The plan is checked and its processes are about to start.
    fn starting(&self, _prepared: &Prepared, _jobs: usize) {}
    /// A scenario's outcome is known (its processes finished, its baseline was
    /// compared); called from worker threads, in completion order.
    fn scenario_done(&self, _outcome: &crate::report::Outcome) {}
    /// Every measuring process has finished (or the run was interrupted).
    fn measured(&self) {}
    /// An attribution process starts for failing scenario `n` of `total`.
    fn explaining(&self, _n: usize, _total: usize, _scenario: &str) {}
    /// Every attribution process has finished.
    fn explained(&self) {}
}

/// A plan whose interpreters were found and whose code compiles.
pub struct Prepared {
    pub plan: RunPlan,
    /// Every interpreter the plan uses, as it describes itself.
    pub interpreters: Vec<Interpreter>,
}

/// One interpreter of a run.
pub struct Interpreter {
    pub info: PythonInfo,
    /// The rules that chose it, for the scenarios that use it.
    pub chosen_by: Vec<crate::interpreter::Rule>,
}

/// Plans the run and checks it with every interpreter it uses: all Python code
/// must compile before anything runs. Each scenario then runs the interpreter
/// itself, not a launcher in front of it (a pyenv shim is a shell script that
/// costs tens of milliseconds per process).
pub fn prepare(selection: &Selection, runner: &dyn Runner) -> Result<Prepared, Errors> {
    let expand = |s: &Scenario, python: &Path| expand(s, python, runner);
    let mut plan = plan::plan(selection, &expand)?;
    let mut checked: Vec<(PathBuf, PythonInfo)> = Vec::new();
    let mut problems: Vec<Error> = Vec::new();
    for python in plan.interpreters() {
        let using: Vec<&crate::scenario::Scenario> = plan
            .scenarios
            .iter()
            .filter(|p| p.python == python)
            .map(|p| &p.scenario)
            .collect();
        let (info, mut errors) = runner.check(&python, &using)?;
        problems.append(&mut errors);
        checked.push((python, info));
    }
    if !problems.is_empty() {
        return Err(Errors(problems));
    }
    for p in &mut plan.scenarios {
        let (_, info) = checked
            .iter()
            .find(|(q, _)| *q == p.python)
            .expect("every interpreter was checked");
        let exe = PathBuf::from(&info.executable);
        if exe.is_file() {
            p.python = exe;
        }
    }
    let interpreters = checked
        .into_iter()
        .map(|(python, info)| {
            let mut chosen_by: Vec<_> = plan
                .scenarios
                .iter()
                .filter(|p| p.python == python || p.python.as_os_str() == info.executable.as_str())
                .map(|p| p.chosen_by)
                .collect();
            chosen_by.sort();
            chosen_by.dedup();
            Interpreter { info, chosen_by }
        })
        .collect();
    Ok(Prepared { plan, interpreters })
}

/// The scenarios of the tests a `pytest:` selection collects with `python` (any
/// other scenario as it is): each named by its node id, with its `memreg` marker's
/// settings over the scenario file's. pytest's reasons for collecting nothing, and
/// bad marker settings, are errors before anything runs.
pub(crate) fn expand(
    s: &Scenario,
    python: &Path,
    runner: &dyn Runner,
) -> Result<Vec<Scenario>, Errors> {
    let Body::Selection(selection) = &s.body else {
        return Ok(vec![s.clone()]);
    };
    let expanded = runner.expand(s, python)?;
    if let Some(problem) = expanded.problem {
        return Err(Error::Pytest {
            file: s.file.clone(),
            line: selection.line,
            scenario: s.name.clone(),
            message: problem_message(&problem, &selection.args),
        }
        .into());
    }
    let dir = std::env::current_dir().map_err(|source| Error::WorkDir {
        path: PathBuf::from("."),
        source,
    })?;
    let mut tests = Vec::new();
    let mut errors = Vec::new();
    for test in &expanded.tests {
        match selection.scenario_for(s, test, &expanded.options, &dir) {
            Ok(t) => tests.push(t),
            Err(e) => errors.push(Error::Scenario(e)),
        }
    }
    if errors.is_empty() {
        Ok(tests)
    } else {
        Err(Errors(errors))
    }
}

/// pytest's reason for collecting nothing, said as memreg says it.
fn problem_message(p: &PytestProblem, args: &[String]) -> String {
    let message = p.message.trim_end();
    match p.kind.as_str() {
        "pytest_missing" => message.to_owned(),
        "selection" => format!("pytest refused `{}`: {message}", args.join(" ")),
        "collection" => format!("pytest could not collect `{}`: {message}", args.join(" ")),
        "no_tests" => message.to_owned(),
        _ => format!("pytest: {message}"),
    }
}

#[cfg(test)]
mod tests;
