//! Running probe processes: the [`Runner`] that starts one (the real one runs the
//! Python probe; tests use a fake, as hyperfine's mock executor), and the pool that
//! runs every scenario's processes, `jobs` at a time.
//!
//! A job is one (scenario, process) pair; jobs are queued scenario by scenario so a
//! scenario's replicates run close together in time. A scenario's fault is a result;
//! only memreg's own failures (no interpreter, no temp dir) stop the run.

use crate::child::CANCELLED;
use crate::error::Error;
use crate::plan::RunPlan;
use crate::probe::{self, Attribution, Fault, ProcessResult, PythonInfo};
use crate::scenario::Scenario;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// Starts the processes a run needs.
pub trait Runner: Sync {
    /// Compiles every code part of `scenarios` with `python`: the interpreter's
    /// identity and every compile error.
    fn check(
        &self,
        python: &Path,
        scenarios: &[&Scenario],
    ) -> Result<(PythonInfo, Vec<Error>), Error>;
    /// One measuring process.
    fn measure(&self, scenario: &Scenario, python: &Path) -> Result<ProcessResult, Error>;
    /// One attribution process: where a failing scenario's memory comes from.
    fn attribute(
        &self,
        scenario: &Scenario,
        python: &Path,
    ) -> Result<Result<Attribution, Fault>, Error>;
}

/// The real runner: the Python probe, from a private work directory that is removed
/// when the runner is dropped.
pub struct ProbeRunner {
    workdir: tempfile::TempDir,
}

impl ProbeRunner {
    pub fn new() -> Result<ProbeRunner, Error> {
        let workdir = tempfile::Builder::new()
            .prefix("memreg-")
            .tempdir()
            .map_err(|source| Error::WorkDir {
                path: std::env::temp_dir(),
                source,
            })?;
        probe::install(workdir.path())?;
        Ok(ProbeRunner { workdir })
    }
}

impl Runner for ProbeRunner {
    fn check(
        &self,
        python: &Path,
        scenarios: &[&Scenario],
    ) -> Result<(PythonInfo, Vec<Error>), Error> {
        probe::check(scenarios, python, self.workdir.path())
    }

    fn measure(&self, scenario: &Scenario, python: &Path) -> Result<ProcessResult, Error> {
        probe::measure(scenario, python, self.workdir.path())
    }

    fn attribute(
        &self,
        scenario: &Scenario,
        python: &Path,
    ) -> Result<Result<Attribution, Fault>, Error> {
        probe::attribute(scenario, python, self.workdir.path())
    }
}

/// Told about each finished process, from worker threads.
pub trait Progress: Sync {
    fn process_done(&self, done: usize, total: usize, scenario: &Scenario);
}

/// Results per scenario, in the plan's order, each in process order. After Ctrl-C,
/// scenarios have fewer results than processes (those are reported as interrupted).
pub fn run_all(
    plan: &RunPlan,
    runner: &dyn Runner,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<Vec<Vec<ProcessResult>>, Error> {
    let queue: Mutex<VecDeque<(usize, u32)>> = Mutex::new(
        plan.scenarios
            .iter()
            .enumerate()
            .flat_map(|(si, p)| (0..p.scenario.processes).map(move |k| (si, k)))
            .collect(),
    );
    let total = queue.lock().unwrap().len();
    let slots: Mutex<Vec<Vec<Option<ProcessResult>>>> = Mutex::new(
        plan.scenarios
            .iter()
            .map(|p| vec![None; p.scenario.processes as usize])
            .collect(),
    );
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let done = Mutex::new(0usize);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(total.max(1)) {
            scope.spawn(|| loop {
                if CANCELLED.load(Ordering::SeqCst) || failure.lock().unwrap().is_some() {
                    return;
                }
                let Some((si, k)) = queue.lock().unwrap().pop_front() else {
                    return;
                };
                let planned = &plan.scenarios[si];
                match runner.measure(&planned.scenario, &planned.python) {
                    Ok(result) => {
                        slots.lock().unwrap()[si][k as usize] = Some(result);
                        let mut d = done.lock().unwrap();
                        *d += 1;
                        progress.process_done(*d, total, &planned.scenario);
                    }
                    Err(e) => {
                        failure.lock().unwrap().get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap() {
        return Err(e);
    }
    Ok(slots
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|v| v.into_iter().flatten().collect())
        .collect())
}

#[cfg(test)]
pub mod fake;
