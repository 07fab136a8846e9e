//! `memreg run`: measure every planned scenario, compare it with its baseline,
//! explain what failed, and optionally write baseline candidates.

use super::{prepare, Events, Prepared};
use crate::baseline::{evaluate, BaselineFile, BaselineStore, Entry};
use crate::child::{self, CANCELLED};
use crate::error::{Error, Errors};
use crate::plan::Selection;
use crate::probe::{Fault, ProcessResult};
use crate::report::{Outcome, RunReport};
use crate::runner::{self, Rounds, Runner};
use crate::scenario::Scenario;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

/// How to run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub selection: Selection,
    /// Processes at once; `None`: one per CPU.
    pub jobs: Option<usize>,
    /// Directory of baseline files.
    pub baselines: PathBuf,
    /// A missing baseline fails the scenario.
    pub strict: bool,
    /// Explain failures with an attribution process each.
    pub attribution: bool,
    /// Write this run's would-be baselines here.
    pub candidates: Option<PathBuf>,
}

/// What a run produced.
pub struct RunOutput {
    pub report: RunReport,
    /// Where candidates were written, and how many.
    pub candidates: Option<(PathBuf, usize)>,
}

/// The stored baselines of these scenarios; every unreadable file is an error.
pub(crate) fn load_baselines(
    store: &BaselineStore,
    scenarios: &[&Scenario],
) -> Result<Vec<Option<BaselineFile>>, Errors> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for s in scenarios {
        match store.load(&s.name) {
            Ok(f) => files.push(f),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(Errors(errors))
    }
}

/// The number of processes at once: `jobs`, else one per CPU.
pub(crate) fn jobs(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// Builds each scenario's outcome as soon as its processes finish (and compares it
/// with its baseline), so the user hears of it at once.
struct Collect<'a> {
    /// Stored baselines per planned scenario, when the run compares against them.
    stored: Option<&'a [Option<BaselineFile>]>,
    strict: bool,
    events: &'a dyn Events,
    outcomes: Mutex<Vec<Option<Outcome>>>,
}

impl Collect<'_> {
    fn outcome(&self, index: usize, scenario: &Scenario, results: &[ProcessResult]) -> Outcome {
        let mut o = Outcome::build(scenario, results);
        if let (Some(stored), Some(py)) = (self.stored, o.ran_cleanly()) {
            o.baseline = Some(evaluate(
                scenario,
                stored[index].as_ref(),
                &py.environment_key(),
                &o.figures,
                py.into(),
                self.strict,
            ));
        }
        o
    }
}

impl Rounds for Collect<'_> {
    fn finished(
        &self,
        index: usize,
        _round: u32,
        scenario: &Scenario,
        results: Vec<ProcessResult>,
    ) -> Option<Scenario> {
        let o = self.outcome(index, scenario, &results);
        self.events.scenario_done(&o);
        self.outcomes.lock().unwrap()[index] = Some(o);
        None
    }
}

/// Runs every prepared scenario's processes and builds the outcomes, compared with
/// `stored` baselines when given.
pub(crate) fn measure(
    prepared: &Prepared,
    runner: &dyn Runner,
    jobs: usize,
    events: &dyn Events,
    stored: Option<(&[Option<BaselineFile>], bool)>,
) -> Result<RunReport, Errors> {
    let started = Instant::now();
    let started_at = SystemTime::now();
    events.starting(prepared, jobs);
    let collect = Collect {
        stored: stored.map(|(s, _)| s),
        strict: stored.is_some_and(|(_, strict)| strict),
        events,
        outcomes: Mutex::new(vec![None; prepared.plan.scenarios.len()]),
    };
    let unfinished = runner::run_all(&prepared.plan, runner, jobs, events, &collect)?;
    events.measured();
    let mut outcomes = collect.outcomes.into_inner().unwrap();
    for u in unfinished {
        // Interrupted: what ran is kept, and the scenario is not run.
        outcomes[u.index] = Some(Outcome::build(&u.scenario, &u.results));
    }
    Ok(RunReport {
        outcomes: outcomes.into_iter().flatten().collect(),
        elapsed: started.elapsed(),
        interrupted: CANCELLED.load(Ordering::SeqCst),
        started: Some(started_at),
        hostname: hostname(),
        stopped_by: child::stopped_by(),
    })
}

pub fn run(
    opts: &RunOptions,
    runner: &dyn Runner,
    events: &dyn Events,
) -> Result<RunOutput, Errors> {
    let started = Instant::now();
    let prepared = prepare(&opts.selection, runner)?;
    let scenarios = prepared.plan.each_scenario();
    let store = BaselineStore::new(&opts.baselines);
    let stored = load_baselines(&store, &scenarios)?;
    let mut report = measure(
        &prepared,
        runner,
        jobs(opts.jobs),
        events,
        Some((&stored, opts.strict)),
    )?;
    if opts.attribution && !report.interrupted {
        explain(&mut report, &prepared, runner, jobs(opts.jobs), events);
        // Interrupted while explaining: the verdicts stand, the run is interrupted.
        report.interrupted |= CANCELLED.load(Ordering::SeqCst);
        report.stopped_by = child::stopped_by();
    }
    report.elapsed = started.elapsed();
    let candidates = match &opts.candidates {
        Some(dir) => Some((dir.clone(), write_candidates(dir, &report, &scenarios)?)),
        None => None,
    };
    Ok(RunOutput { report, candidates })
}

/// Runs an attribution process for every failing scenario, so failures say where.
fn explain(
    report: &mut RunReport,
    prepared: &Prepared,
    runner: &dyn Runner,
    jobs: usize,
    events: &dyn Events,
) {
    // Each traces as many iterations as its leak needs, by what detection measured.
    let todo: Vec<(usize, u64)> = (0..report.outcomes.len())
        .filter(|&i| report.outcomes[i].wants_attribution())
        .map(|i| {
            let o = &report.outcomes[i];
            let leaking = o.analysis.counters.iter().filter(|c| c.leak);
            let growth = leaking.map(|c| (c.metric, c.median));
            (i, crate::probe::window::window(o.iterations, growth))
        })
        .collect();
    if todo.is_empty() {
        return;
    }
    // Attributions run `jobs` at a time, like the measuring processes.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, Result<crate::report::Attribution, String>)>> =
        Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(todo.len()) {
            scope.spawn(|| loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                let Some(&(i, iterations)) = todo.get(n) else {
                    return;
                };
                if CANCELLED.load(Ordering::SeqCst) {
                    return;
                }
                let planned = &prepared.plan.scenarios[i];
                events.explaining(n + 1, todo.len(), &planned.scenario.name);
                let result = match runner.attribute(&planned.scenario, &planned.python, iterations)
                {
                    Ok(Ok(a)) => Ok(a),
                    // Stopped by the interruption: nothing to say about where.
                    Ok(Err(Fault::Cancelled)) => continue,
                    Ok(Err(fault)) => Err(crate::report::prose::fault(&fault)),
                    Err(e) => Err(e.to_string()),
                };
                done.lock().unwrap().push((i, result));
            });
        }
    });
    for (i, result) in done.into_inner().unwrap() {
        report.outcomes[i].attribution = Some(result);
    }
    events.explained();
}

/// Writes each cleanly run scenario's would-be baseline entry to `dir`, one file per
/// scenario named as its baseline file, for `memreg baseline apply`. Returns how
/// many were written.
fn write_candidates(
    dir: &Path,
    report: &RunReport,
    scenarios: &[&Scenario],
) -> Result<usize, Errors> {
    let store = BaselineStore::new(dir);
    let mut n = 0;
    for (o, s) in report.outcomes.iter().zip(scenarios) {
        let Some(py) = o.ran_cleanly() else { continue };
        let file = BaselineFile {
            format: crate::baseline::FORMAT,
            scenario: s.name.clone(),
            environments: [(
                py.environment_key(),
                Entry::new(py, s.iterations, s.warmup, &o.figures),
            )]
            .into(),
        };
        store.save(&file)?;
        n += 1;
    }
    if n == 0 {
        std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
    }
    Ok(n)
}

/// This machine's name, for reports (JUnit `hostname`).
fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0)?;
    (rc == 0 && end > 0).then(|| String::from_utf8_lossy(&buf[..end]).into_owned())
}
