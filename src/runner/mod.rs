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
use crate::probe::wire::Expanded;
use crate::probe::{self, Attribution, Fault, ProcessResult, PythonInfo};
use crate::scenario::Scenario;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};

/// Starts the processes a run needs.
pub trait Runner: Sync {
    /// Collects the tests of a `pytest:` selection with `python`, running none.
    fn expand(&self, scenario: &Scenario, python: &Path) -> Result<Expanded, Error>;
    /// Compiles every code part of `scenarios` with `python`: the interpreter's
    /// identity and every compile error.
    fn check(
        &self,
        python: &Path,
        scenarios: &[&Scenario],
    ) -> Result<(PythonInfo, Vec<Error>), Error>;
    /// One measuring process.
    fn measure(&self, scenario: &Scenario, python: &Path) -> Result<ProcessResult, Error>;
    /// One attribution process over `iterations` iterations: where a failing
    /// scenario's memory comes from.
    fn attribute(
        &self,
        scenario: &Scenario,
        python: &Path,
        iterations: u64,
    ) -> Result<Result<Attribution, Fault>, Error>;
}

/// The real runner: the Python probe, from a private work directory that is removed
/// when the runner is dropped.
pub struct ProbeRunner {
    workdir: tempfile::TempDir,
    cache: Option<probe::cache::Cache>,
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
        probe::native::install(workdir.path()).map_err(|source| Error::WorkDir {
            path: workdir.path().to_owned(),
            source,
        })?;
        Ok(ProbeRunner {
            workdir,
            cache: probe::cache::Cache::from_env(),
        })
    }
}

impl Runner for ProbeRunner {
    fn expand(&self, scenario: &Scenario, python: &Path) -> Result<Expanded, Error> {
        probe::expand(scenario, python, self.workdir.path())
    }

    fn check(
        &self,
        python: &Path,
        scenarios: &[&Scenario],
    ) -> Result<(PythonInfo, Vec<Error>), Error> {
        probe::check(scenarios, python, self.workdir.path(), self.cache.as_ref())
    }

    fn measure(&self, scenario: &Scenario, python: &Path) -> Result<ProcessResult, Error> {
        probe::measure(scenario, python, self.workdir.path())
    }

    fn attribute(
        &self,
        scenario: &Scenario,
        python: &Path,
        iterations: u64,
    ) -> Result<Result<Attribution, Fault>, Error> {
        probe::attribute(scenario, python, self.workdir.path(), iterations)
    }
}

/// Told about each finished process, from worker threads.
pub trait Progress: Sync {
    fn process_done(&self, done: usize, total: usize, scenario: &Scenario);
}

/// Decides, each time every process of a scenario's round has finished, whether the
/// scenario is done or runs another round (a confirmation over a longer window, say).
/// Called from worker threads, as soon as the round is complete.
pub trait Rounds: Sync {
    /// The processes of round `round` of scenario `index` (in process order) ran
    /// `scenario`. Returns the scenario to run for another round, or `None`.
    fn finished(
        &self,
        index: usize,
        round: u32,
        scenario: &Scenario,
        results: Vec<ProcessResult>,
    ) -> Option<Scenario>;
}

/// A scenario whose round did not finish (the run was interrupted): the processes
/// that did, in process order (none when the round never started).
pub struct Unfinished {
    pub index: usize,
    pub round: u32,
    pub scenario: Arc<Scenario>,
    pub results: Vec<ProcessResult>,
}

struct Job {
    index: usize,
    process: u32,
    round: u32,
    scenario: Arc<Scenario>,
}

struct RoundState {
    round: u32,
    scenario: Arc<Scenario>,
    slots: Vec<Option<ProcessResult>>,
    filled: usize,
    done: bool,
}

struct Queue {
    jobs: VecDeque<Job>,
    /// Jobs taken by a worker and not yet accounted for: while there are any, an
    /// empty queue may still get a new round.
    in_flight: usize,
    total: usize,
    finished: usize,
}

fn jobs_of(index: usize, round: u32, scenario: &Arc<Scenario>) -> impl Iterator<Item = Job> + '_ {
    (0..scenario.processes).map(move |process| Job {
        index,
        process,
        round,
        scenario: scenario.clone(),
    })
}

/// Runs every planned scenario's processes, `jobs` at a time, telling `rounds` as
/// each scenario's round completes (a new round goes to the front of the queue, so
/// verdicts come in order). Returns the scenarios left unfinished by Ctrl-C.
pub fn run_all(
    plan: &RunPlan,
    runner: &dyn Runner,
    jobs: usize,
    progress: &dyn Progress,
    rounds: &dyn Rounds,
) -> Result<Vec<Unfinished>, Error> {
    let states: Vec<Mutex<RoundState>> = plan
        .scenarios
        .iter()
        .map(|p| {
            Mutex::new(RoundState {
                round: 0,
                scenario: Arc::new(p.scenario.clone()),
                slots: vec![None; p.scenario.processes as usize],
                filled: 0,
                done: false,
            })
        })
        .collect();
    let first: VecDeque<Job> = states
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            let scenario = s.lock().unwrap().scenario.clone();
            jobs_of(i, 0, &scenario).collect::<Vec<_>>()
        })
        .collect();
    let total = first.len();
    let queue = Mutex::new(Queue {
        jobs: first,
        in_flight: 0,
        total,
        finished: 0,
    });
    let wake = Condvar::new();
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let stop = || CANCELLED.load(Ordering::SeqCst) || failure.lock().unwrap().is_some();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(total.max(1)) {
            scope.spawn(|| loop {
                let job = {
                    let mut q = queue.lock().unwrap();
                    loop {
                        if stop() {
                            wake.notify_all();
                            return;
                        }
                        if let Some(job) = q.jobs.pop_front() {
                            q.in_flight += 1;
                            break job;
                        }
                        if q.in_flight == 0 {
                            wake.notify_all();
                            return;
                        }
                        // Another worker may still add a round; look again soon (the
                        // timeout also notices Ctrl-C).
                        q = wake
                            .wait_timeout(q, std::time::Duration::from_millis(50))
                            .unwrap()
                            .0;
                    }
                };
                let python = &plan.scenarios[job.index].python;
                let measured = runner.measure(&job.scenario, python);
                let mut next: Vec<Job> = Vec::new();
                match measured {
                    Ok(result) => {
                        let complete = {
                            let mut st = states[job.index].lock().unwrap();
                            st.slots[job.process as usize] = Some(result);
                            st.filled += 1;
                            (st.filled == st.slots.len())
                                .then(|| st.slots.iter_mut().map(|r| r.take().unwrap()).collect())
                        };
                        {
                            let mut q = queue.lock().unwrap();
                            q.finished += 1;
                            progress.process_done(q.finished, q.total, &job.scenario);
                        }
                        if let Some(results) = complete {
                            let again =
                                rounds.finished(job.index, job.round, &job.scenario, results);
                            let mut st = states[job.index].lock().unwrap();
                            match again {
                                Some(scenario) => {
                                    let scenario = Arc::new(scenario);
                                    st.round += 1;
                                    st.slots = vec![None; scenario.processes as usize];
                                    st.filled = 0;
                                    next.extend(jobs_of(job.index, st.round, &scenario));
                                    st.scenario = scenario;
                                }
                                None => st.done = true,
                            }
                        }
                    }
                    Err(e) => {
                        failure.lock().unwrap().get_or_insert(e);
                    }
                }
                let mut q = queue.lock().unwrap();
                q.total += next.len();
                for j in next.into_iter().rev() {
                    q.jobs.push_front(j);
                }
                q.in_flight -= 1;
                wake.notify_all();
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap() {
        return Err(e);
    }
    Ok(states
        .into_iter()
        .enumerate()
        .filter_map(|(index, st)| {
            let st = st.into_inner().unwrap();
            (!st.done).then(|| Unfinished {
                index,
                round: st.round,
                scenario: st.scenario,
                results: st.slots.into_iter().flatten().collect(),
            })
        })
        .collect())
}

#[cfg(test)]
pub mod fake;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Planned;

    /// Asks for a second, longer round of every scenario whose first round grew.
    struct Confirm {
        seen: Mutex<Vec<(usize, u32, u64, usize)>>,
    }

    impl Rounds for Confirm {
        fn finished(
            &self,
            index: usize,
            round: u32,
            scenario: &Scenario,
            results: Vec<ProcessResult>,
        ) -> Option<Scenario> {
            self.seen
                .lock()
                .unwrap()
                .push((index, round, scenario.iterations, results.len()));
            (round == 0 && scenario.run_code().unwrap().source.contains("blocks+=")).then(|| {
                let mut longer = scenario.clone();
                longer.iterations *= 4;
                longer
            })
        }
    }

    struct Quiet;
    impl Progress for Quiet {
        fn process_done(&self, _: usize, _: usize, _: &Scenario) {}
    }

    #[test]
    fn a_round_can_ask_for_another_and_every_round_is_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(
            &path,
            "scenarios:\n  - {name: a, run: pass, iterations: 100}\n  - {name: b, run: blocks+=1, iterations: 100}\n  - {name: c, run: pass, iterations: 100, processes: 3}\n",
        )
        .unwrap();
        let plan = RunPlan {
            scenarios: crate::scenario::load_all(&[path])
                .unwrap()
                .into_iter()
                .map(|scenario| Planned {
                    scenario,
                    python: "python3".into(),
                    chosen_by: crate::interpreter::Rule::Flag,
                })
                .collect(),
        };
        let runner = fake::FakeRunner::default();
        let confirm = Confirm {
            seen: Mutex::new(vec![]),
        };
        for jobs in [1, 3] {
            confirm.seen.lock().unwrap().clear();
            runner.measured.lock().unwrap().clear();
            let unfinished = run_all(&plan, &runner, jobs, &Quiet, &confirm).unwrap();
            assert!(unfinished.is_empty());
            let mut seen = confirm.seen.lock().unwrap().clone();
            seen.sort();
            assert_eq!(
                seen,
                vec![
                    (0, 0, 100, 5),
                    (1, 0, 100, 5),
                    (1, 1, 400, 5),
                    (2, 0, 100, 3)
                ],
                "jobs={jobs}"
            );
            assert_eq!(runner.measured.lock().unwrap().len(), 18);
        }
    }
}
