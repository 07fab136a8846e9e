//! Runs every scenario's processes, `jobs` at a time, and collects their results.
//!
//! A job is one (scenario, process) pair; jobs are queued scenario by scenario so a
//! scenario's replicates run close together in time. A scenario's fault is a result;
//! only memreg's own failures (no interpreter, no temp dir) stop the run.

use crate::child::CANCELLED;
use crate::probe::{self, ProbeError, ProcessResult};
use crate::scenario::Scenario;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// Told about each finished process, from worker threads.
pub trait Progress: Sync {
    fn process_done(&self, done: usize, total: usize, scenario: &Scenario);
}

pub struct NoProgress;

impl Progress for NoProgress {
    fn process_done(&self, _: usize, _: usize, _: &Scenario) {}
}

/// Results per scenario, in the scenarios' order, each in process order.
pub fn run_all(
    scenarios: &[Scenario],
    pythons: &[PathBuf],
    jobs: usize,
    workdir: &Path,
    progress: &dyn Progress,
) -> Result<Vec<Vec<ProcessResult>>, ProbeError> {
    let queue: Mutex<VecDeque<(usize, u32)>> = Mutex::new(
        scenarios
            .iter()
            .enumerate()
            .flat_map(|(si, s)| (0..s.processes).map(move |p| (si, p)))
            .collect(),
    );
    let total = queue.lock().unwrap().len();
    let slots: Mutex<Vec<Vec<Option<ProcessResult>>>> = Mutex::new(
        scenarios
            .iter()
            .map(|s| vec![None; s.processes as usize])
            .collect(),
    );
    let failure: Mutex<Option<ProbeError>> = Mutex::new(None);
    let done = Mutex::new(0usize);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(total.max(1)) {
            scope.spawn(|| loop {
                if CANCELLED.load(Ordering::SeqCst) || failure.lock().unwrap().is_some() {
                    return;
                }
                let Some((si, p)) = queue.lock().unwrap().pop_front() else {
                    return;
                };
                let s = &scenarios[si];
                match probe::measure(s, &pythons[si], workdir) {
                    Ok(result) => {
                        slots.lock().unwrap()[si][p as usize] = Some(result);
                        let mut d = done.lock().unwrap();
                        *d += 1;
                        progress.process_done(*d, total, s);
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
    // After a cancel some slots are empty: those scenarios are reported as interrupted.
    Ok(slots
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|v| v.into_iter().flatten().collect())
        .collect())
}
