//! From the processes' samples to a leak verdict per scenario
//! (docs/statistics.md §1-§3):
//!
//!  1. per counter and process, growth per iteration and whether the process grows
//!     (see [`crate::growth`]);
//!  2. the counter *leaks* if the number of growing processes is significant by a
//!     one-sided sign test at [`ALPHA`] (with 5 processes: all 5) and the median
//!     growth exceeds the tolerance.
//!
//! Exact counters that do not move give a slope of exactly 0 and never alarm; for
//! noisy ones the sign test bounds the false-alarm rate by ALPHA per counter.
//! The verdict is data; the sentences that explain it are in `report::prose`.

use crate::growth::{fit_from, process_growth};
use crate::probe::{Measurement, ProcessResult};
use crate::scenario::{Expect, Metric, Scenario, MIN_BLOCK_BYTES};
use crate::{schedule, stats};

/// Significance level of the cross-process sign test.
pub const ALPHA: f64 = 0.05;

#[derive(Clone, Debug)]
pub struct CounterVerdict {
    pub metric: Metric,
    /// Whether this counter can fail the check (RSS is shown, never gates: see README).
    pub gating: bool,
    /// Growth per iteration in each process (blocks or bytes).
    pub per_process: Vec<f64>,
    /// Intercept of each process's fitted line (see [`crate::growth::Growth`]).
    pub intercepts: Vec<f64>,
    /// First sample index of the fit (the start of the second half).
    pub fit_from: usize,
    pub growing: Vec<bool>,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// Growth per iteration above which a process counts as growing.
    pub threshold: f64,
    pub agreeing: u32,
    pub processes: u32,
    pub p_value: f64,
    pub leak: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No gating counter grows.
    Clean,
    /// A gating counter leaks.
    Leak,
    /// Every process grows, but there are too few processes to be significant.
    Inconclusive,
    /// At least one process faulted (or did not run).
    Error,
}

/// What the check concludes, given the verdict and what the scenario expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    Passed,
    Failed,
    Errored,
    Inconclusive,
}

#[derive(Clone, Debug)]
pub struct Analysis {
    pub verdict: Verdict,
    pub check: Check,
    pub counters: Vec<CounterVerdict>,
}

impl Analysis {
    /// The first gating counter that leaks.
    pub fn leaking(&self) -> Option<&CounterVerdict> {
        self.counters.iter().find(|c| c.gating && c.leak)
    }

    /// The analysis of a scenario whose processes faulted or did not all run.
    pub fn errored() -> Analysis {
        Analysis {
            verdict: Verdict::Error,
            check: Check::Errored,
            counters: vec![],
        }
    }
}

fn threshold(metric: Metric, scenario: &Scenario) -> f64 {
    let tol = scenario.tolerance.0 as f64;
    if metric.is_bytes() {
        tol
    } else {
        tol / MIN_BLOCK_BYTES
    }
}

pub fn counter_verdict(
    metric: Metric,
    scenario: &Scenario,
    measurements: &[&Measurement],
) -> Option<CounterVerdict> {
    let positions = schedule::positions(scenario.iterations);
    let thr = threshold(metric, scenario);
    let mut per_process = Vec::new();
    let mut intercepts = Vec::new();
    let mut growing = Vec::new();
    for m in measurements {
        let values = m.series.get(&metric)?;
        let g = process_growth(&positions, values, thr);
        per_process.push(g.slope);
        intercepts.push(g.intercept);
        growing.push(g.grows);
    }
    let n = per_process.len() as u32;
    let agreeing = growing.iter().filter(|g| **g).count() as u32;
    let p_value = stats::sign_test_p(agreeing, n);
    let median = stats::median(&per_process);
    Some(CounterVerdict {
        metric,
        gating: metric != Metric::Rss,
        min: per_process.iter().copied().fold(f64::INFINITY, f64::min),
        max: per_process
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max),
        per_process,
        intercepts,
        fit_from: fit_from(positions.len()),
        growing,
        median,
        threshold: thr,
        agreeing,
        processes: n,
        p_value,
        leak: p_value <= ALPHA && median > thr,
    })
}

pub fn analyse(scenario: &Scenario, results: &[ProcessResult]) -> Analysis {
    if results.iter().any(|r| r.outcome.is_err()) {
        return Analysis::errored();
    }
    let measurements: Vec<&Measurement> = results
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok())
        .collect();
    let counters: Vec<CounterVerdict> = scenario
        .metrics
        .iter()
        .filter_map(|&m| counter_verdict(m, scenario, &measurements))
        .collect();
    let n = measurements.len() as u32;
    let verdict = if counters.iter().any(|c| c.gating && c.leak) {
        Verdict::Leak
    } else if stats::min_agreement(n, ALPHA).is_none()
        && counters
            .iter()
            .any(|c| c.gating && c.agreeing == n && n > 0)
    {
        Verdict::Inconclusive
    } else {
        Verdict::Clean
    };
    let check = match (verdict, scenario.expect) {
        (Verdict::Leak, Expect::Pass) | (Verdict::Clean, Expect::Leak) => Check::Failed,
        (Verdict::Leak, Expect::Leak) | (Verdict::Clean, Expect::Pass) => Check::Passed,
        (Verdict::Inconclusive, _) => Check::Inconclusive,
        (Verdict::Error, _) => Check::Errored,
    };
    Analysis {
        verdict,
        check,
        counters,
    }
}
