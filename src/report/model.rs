//! The report model: what happened to every scenario of a run, built once from the
//! processes' results, the baseline comparison and the attribution, and read by
//! every output format. It holds data, not sentences (those are in `prose`).

use crate::baseline::{BaselineResult, Change};
use crate::child::StopSignal;
use crate::error::ExitCode;
use crate::figures::{self, Figure};
use crate::probe::wire::{PeakScope, Series, Stop, Timing};
use crate::probe::{Attribution, Fault, ProcessResult, PythonInfo};
use crate::scenario::{Expect, Metric, Scenario};
use crate::stats::median;
use crate::units::Bytes;
use crate::verdict::{analyse, Analysis, Check, Verdict};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Median and range of one figure across processes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Option<Spread> {
        (!values.is_empty()).then(|| Spread {
            median: median(values),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }
}

/// What happened to one scenario.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub name: String,
    pub file: PathBuf,
    /// Line of the scenario file where the `run:` code starts, when known.
    pub run_line: Option<usize>,
    pub description: Option<String>,
    pub expect: Expect,
    pub python: Option<PythonInfo>,
    pub iterations: u64,
    pub warmup: u64,
    pub processes: u32,
    pub tolerance: Bytes,
    pub analysis: Analysis,
    /// Peak RSS of the measured phase (or whole process where it cannot be reset).
    pub peak_rss: Option<Spread>,
    /// Seconds per iteration spent in the body.
    pub time_per_iteration: Option<Spread>,
    /// Sum of the processes' wall times.
    pub cpu_time: Duration,
    /// Each process's fault, with its index (a process stopped by an interruption is
    /// `Cancelled`; one that never started has none).
    pub faults: Vec<(u32, Fault)>,
    /// Captured output of the process that explains a failure (the first faulty one,
    /// else the first), when the check did not pass.
    pub output: Option<String>,
    pub notes: Vec<String>,
    /// Each successful process's figures (what baselines store).
    pub figures: Vec<BTreeMap<Figure, i64>>,
    /// The comparison with the stored baseline, when the scenario ran cleanly.
    pub baseline: Option<BaselineResult>,
    /// Where the memory of a failing scenario comes from (or why that is unknown).
    pub attribution: Option<Result<Attribution, String>>,
    /// Every process that ran: its samples or its fault.
    pub process_details: Vec<ProcessDetail>,
}

/// One process as reports show it.
#[derive(Clone, Debug)]
pub struct ProcessDetail {
    pub index: u32,
    pub elapsed_s: f64,
    pub output_bytes: u64,
    pub fault: Option<Fault>,
    pub timing: Option<Timing>,
    pub peak_rss: Option<u64>,
    /// The window the series spans: the user's `iterations`, or longer when the
    /// process looked longer to confirm a growth (0: no series).
    pub window: u64,
    /// Why the process stopped measuring where it did.
    pub stop: Option<Stop>,
    /// Counter -> value at each sample (see [`Outcome::positions`]).
    pub series: Series,
    pub figures: BTreeMap<Figure, i64>,
}

impl Outcome {
    pub fn build(scenario: &Scenario, results: &[ProcessResult]) -> Outcome {
        let faults: Vec<(u32, Fault)> = results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.outcome.as_ref().err().map(|f| (i as u32, f.clone())))
            .collect();
        // Interrupted before every process ran, or a process was stopped by the
        // interruption: not run, whatever the processes that finished showed.
        let interrupted = results.len() < scenario.processes as usize
            || faults.iter().any(|(_, f)| matches!(f, Fault::Cancelled));
        let analysis = if interrupted {
            Analysis::not_run()
        } else {
            analyse(scenario, results)
        };
        let measurements: Vec<_> = results
            .iter()
            .filter_map(|r| r.outcome.as_ref().ok())
            .collect();
        let peaks: Vec<f64> = measurements
            .iter()
            .filter_map(|m| m.peak_rss)
            .map(|p| p as f64)
            .collect();
        let times: Vec<f64> = measurements
            .iter()
            .map(|m| m.timing.body_s / m.window.max(1) as f64)
            .collect();
        let mut notes: Vec<String> = measurements
            .iter()
            .flat_map(|m| m.notes.iter().cloned())
            .collect();
        if measurements
            .iter()
            .any(|m| m.peak_scope == Some(PeakScope::Process))
        {
            notes.push(
                "peak RSS covers the whole process (could not reset it for the measured phase)"
                    .into(),
            );
        }
        notes.sort();
        notes.dedup();
        // Each successful process's figures, computed once (a Theil-Sen fit each).
        let per_process: Vec<Option<BTreeMap<Figure, i64>>> = results
            .iter()
            .map(|r| {
                r.outcome
                    .as_ref()
                    .ok()
                    .map(|m| figures::of_measurement(m, scenario.iterations))
            })
            .collect();
        let explaining = results
            .iter()
            .find(|r| r.outcome.is_err())
            .or(results.first())
            .filter(|_| analysis.check != Check::Passed);
        let (file, run_line) = scenario.location();
        Outcome {
            name: scenario.name.clone(),
            file,
            run_line,
            description: scenario.description.clone(),
            expect: scenario.expect,
            python: measurements.first().map(|m| m.python.clone()),
            iterations: scenario.iterations,
            warmup: scenario.warmup,
            processes: scenario.processes,
            tolerance: scenario.tolerance,
            analysis,
            peak_rss: Spread::of(&peaks),
            time_per_iteration: Spread::of(&times),
            cpu_time: results.iter().map(|r| r.elapsed).sum(),
            faults,
            output: explaining
                .map(|r| r.output.clone())
                .filter(|o| !o.is_empty()),
            notes,
            figures: per_process.iter().flatten().cloned().collect(),
            baseline: None,
            attribution: None,
            process_details: results
                .iter()
                .zip(per_process)
                .enumerate()
                .map(|(i, (r, figures))| {
                    let m = r.outcome.as_ref().ok();
                    ProcessDetail {
                        index: i as u32,
                        elapsed_s: r.elapsed.as_secs_f64(),
                        output_bytes: r.output_bytes,
                        fault: r.outcome.as_ref().err().cloned(),
                        timing: m.map(|m| m.timing.clone()),
                        peak_rss: m.and_then(|m| m.peak_rss),
                        window: m.map_or(0, |m| m.window),
                        stop: m.map(|m| m.stop),
                        series: m.map(|m| m.series.clone()).unwrap_or_default(),
                        figures: figures.unwrap_or_default(),
                    }
                })
                .collect(),
        }
    }

    /// The scenario's check, the leak verdict and the baseline comparison together.
    pub fn status(&self) -> Check {
        match self.analysis.check {
            Check::Errored => Check::Errored,
            Check::Failed => Check::Failed,
            _ if self.baseline.as_ref().is_some_and(|b| b.failed()) => Check::Failed,
            other => other,
        }
    }

    /// The interpreter, when every process ran cleanly (what baselines need).
    pub fn ran_cleanly(&self) -> Option<&PythonInfo> {
        self.python
            .as_ref()
            .filter(|_| self.faults.is_empty() && self.analysis.check != Check::NotRun)
    }

    /// Whether the run was interrupted before this scenario's verdict.
    pub fn not_run(&self) -> bool {
        self.analysis.check == Check::NotRun
    }

    /// Where to point a reader of a failure: the first attributed allocation site in
    /// a file under `root` (relative to it), else the scenario file at its `run:`
    /// line.
    pub fn location(&self, root: &Path) -> (String, Option<u64>) {
        if let (Some(Ok(a)), Ok(root)) = (&self.attribution, root.canonicalize()) {
            for site in a.sites.iter().filter(|s| s.user_code) {
                let inside = root
                    .join(&site.file)
                    .canonicalize()
                    .ok()
                    .and_then(|abs| abs.strip_prefix(&root).ok().map(Path::to_path_buf));
                if let Some(rel) = inside {
                    return (rel.display().to_string(), Some(site.line));
                }
            }
        }
        (
            self.file.display().to_string(),
            self.run_line.map(|l| l as u64),
        )
    }

    /// The environment key (OS, architecture, Python), when a process reported it.
    pub fn environment(&self) -> Option<String> {
        self.python.as_ref().map(|p| p.environment_key())
    }

    /// Iteration count at each sample of the user's window.
    pub fn sample_iterations(&self) -> Vec<u64> {
        crate::schedule::positions(self.iterations)
    }

    /// Iteration count at each sample of a process's series (its window may be
    /// longer than the user's).
    pub fn positions(&self, p: &ProcessDetail) -> Vec<u64> {
        let chunks = crate::schedule::chunk_count(self.iterations);
        crate::schedule::window_positions(p.window.max(self.iterations), chunks)
    }

    /// The most iterations any process measured (its final window).
    pub fn longest_window(&self) -> u64 {
        self.process_details
            .iter()
            .map(|p| p.window)
            .max()
            .unwrap_or(0)
            .max(self.iterations)
    }

    /// The analysis of one counter, when it was read.
    pub fn counter(&self, metric: Metric) -> Option<&crate::verdict::CounterVerdict> {
        self.analysis.counters.iter().find(|c| c.metric == metric)
    }

    /// The counters reports show: the memory ones always, file descriptors and
    /// threads when they grew or shrank in some process (they are 0 almost always).
    pub fn shown_counters(&self) -> Vec<&crate::verdict::CounterVerdict> {
        self.analysis
            .counters
            .iter()
            .filter(|c| !c.metric.is_count() || c.per_process.iter().any(|g| *g != 0.0))
            .collect()
    }

    /// Whether a failure should be explained by an attribution run: a leak that was
    /// not expected, or a regressed baseline figure.
    pub fn wants_attribution(&self) -> bool {
        self.faults.is_empty()
            && self.status() == Check::Failed
            && self.analysis.verdict != Verdict::Clean
            || self
                .baseline
                .as_ref()
                .is_some_and(|b| !b.with(Change::Regressed).is_empty())
    }

    /// Growth per iteration of the native heap that no Python allocation site
    /// accounts for, with the traced amount, when that is most of it.
    pub fn unaccounted_native(&self) -> Option<(f64, f64)> {
        let a = self.attribution.as_ref()?.as_ref().ok()?;
        let native = self
            .analysis
            .counters
            .iter()
            .find(|c| c.metric == Metric::Native && c.leak)?;
        let traced = a.traced_bytes_per_iteration.max(0.0);
        (native.median > 0.0 && traced < 0.5 * native.median).then_some((native.median, traced))
    }

    /// The faults of processes that ran (not the marker of processes that never ran).
    pub fn process_faults(&self) -> impl Iterator<Item = &(u32, Fault)> {
        let ran = self.process_details.len() as u32;
        self.faults.iter().filter(move |(i, _)| *i < ran)
    }
}

/// The whole run.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub outcomes: Vec<Outcome>,
    pub elapsed: Duration,
    /// Stopped before every scenario had its verdict (Ctrl-C); the scenarios it
    /// stopped are `Check::NotRun`.
    pub interrupted: bool,
    /// When the run started, and on which machine (for reports), when known.
    pub started: Option<SystemTime>,
    pub hostname: Option<String>,
    /// The signal that interrupted the run (SIGINT, SIGTERM, SIGHUP), when
    /// `interrupted` and known; it decides the exit code (128 + its number).
    pub stopped_by: Option<StopSignal>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub errored: usize,
    pub inconclusive: usize,
    /// Interrupted before their verdict.
    pub not_run: usize,
}

impl RunReport {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for o in &self.outcomes {
            match o.status() {
                Check::Passed => c.passed += 1,
                Check::Failed => c.failed += 1,
                Check::Errored => c.errored += 1,
                Check::Inconclusive => c.inconclusive += 1,
                Check::NotRun => c.not_run += 1,
            }
        }
        c
    }

    /// Whether every check passed (inconclusive ones neither pass nor fail).
    pub fn passed(&self) -> bool {
        let c = self.counts();
        c.failed + c.errored == 0
    }

    /// The process exit code for this report: what the process exits with and
    /// what the JSON report says (an interruption wins over any verdict).
    pub fn exit_code(&self) -> ExitCode {
        if self.interrupted {
            self.stopped_by
                .map_or(ExitCode::Interrupted, ExitCode::stopped_by)
        } else if self.passed() {
            ExitCode::Passed
        } else {
            ExitCode::Failed
        }
    }
}
