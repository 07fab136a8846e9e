//! From the processes' samples to a leak verdict per scenario.
//!
//! The rule (README, "How memreg decides"): for each counter and each process,
//!  1. growth per iteration = Theil-Sen slope over the second half of the measured
//!     window (the first half absorbs caches that fill and stop);
//!  2. the process *grows* if that slope exceeds the tolerance AND the counter rose
//!     by more than the tolerance in each of the last two quarters of the window (a
//!     one-off step, such as a cache filling once, rises in only one quarter);
//!  3. the counter *leaks* if the number of growing processes is significant by a
//!     one-sided sign test at ALPHA (with 5 processes: all 5) and the median growth
//!     exceeds the tolerance.
//!
//! Exact counters that do not move give a slope of exactly 0 and never alarm; for
//! noisy ones the sign test bounds the false-alarm rate by ALPHA per counter.

use crate::probe::{sample_positions, Fault, ProcessResult, Record};
use crate::scenario::{Expect, Metric, Scenario};
use crate::stats;
use serde::{Deserialize, Serialize};

/// Significance level of the cross-process sign test.
pub const ALPHA: f64 = 0.05;

/// The smallest pymalloc block is 16 bytes, so N blocks per iteration are at least
/// 16*N bytes: a block count is tested against tolerance / 16.
pub const MIN_BLOCK_BYTES: f64 = 16.0;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CounterVerdict {
    pub metric: Metric,
    /// Whether this counter can fail the check (RSS is shown, never gates: see README).
    pub gating: bool,
    /// Growth per iteration in each process (blocks or bytes).
    pub per_process: Vec<f64>,
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "verdict")]
pub enum Verdict {
    /// No gating counter grows.
    Clean,
    /// A gating counter leaks.
    Leak,
    /// Every process grows, but there are too few processes to be significant.
    Inconclusive { reason: String },
    /// At least one process faulted.
    Error,
}

/// What the check concludes, given the verdict and what the scenario expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    Passed,
    Failed,
    Errored,
    Inconclusive,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Analysis {
    pub verdict: Verdict,
    pub check: Check,
    pub counters: Vec<CounterVerdict>,
    /// One line saying why the check failed, errored or was inconclusive.
    pub summary: Option<String>,
}

fn threshold(metric: Metric, scenario: &Scenario) -> f64 {
    let tol = scenario.tolerance.0 as f64;
    if metric.is_bytes() {
        tol
    } else {
        tol / MIN_BLOCK_BYTES
    }
}

/// Growth per iteration and whether the counter grows, for one process's series.
pub fn process_growth(positions: &[u64], values: &[i64], threshold: f64) -> (f64, bool) {
    let s = values.len() - 1;
    let (half, q3) = (s / 2, (3 * s) / 4);
    let xs: Vec<f64> = positions[half..].iter().map(|&x| x as f64).collect();
    let ys: Vec<f64> = values[half..].iter().map(|&y| y as f64).collect();
    let slope = stats::theil_sen(&xs, &ys);
    let rate = |a: usize, b: usize| {
        let dx = (positions[b] - positions[a]) as f64;
        if dx == 0.0 {
            0.0
        } else {
            (values[b] - values[a]) as f64 / dx
        }
    };
    let grows = slope > threshold && rate(half, q3) > threshold && rate(q3, s) > threshold;
    (slope, grows)
}

pub fn counter_verdict(
    metric: Metric,
    scenario: &Scenario,
    records: &[&Record],
) -> Option<CounterVerdict> {
    let positions = sample_positions(scenario.iterations);
    let thr = threshold(metric, scenario);
    let mut per_process = Vec::new();
    let mut growing = Vec::new();
    for r in records {
        let values = r.series.get(metric.key())?;
        let (g, grows) = process_growth(&positions, values, thr);
        per_process.push(g);
        growing.push(grows);
    }
    let n = per_process.len() as u32;
    let agreeing = growing.iter().filter(|g| **g).count() as u32;
    let p_value = stats::sign_test_p(agreeing, n);
    let median = stats::median(&per_process);
    let gating = metric != Metric::Rss;
    Some(CounterVerdict {
        metric,
        gating,
        min: per_process.iter().copied().fold(f64::INFINITY, f64::min),
        max: per_process
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max),
        per_process,
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
    let faults: Vec<&Fault> = results
        .iter()
        .filter_map(|r| r.outcome.as_ref().err())
        .collect();
    if let Some(first) = faults.first() {
        let summary = if faults.len() > 1 {
            format!(
                "{first} ({} of {} processes failed)",
                faults.len(),
                results.len()
            )
        } else {
            first.to_string()
        };
        return Analysis {
            verdict: Verdict::Error,
            check: Check::Errored,
            counters: vec![],
            summary: Some(summary),
        };
    }
    let records: Vec<&Record> = results
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok())
        .collect();
    let counters: Vec<CounterVerdict> = scenario
        .metrics
        .iter()
        .filter_map(|&m| counter_verdict(m, scenario, &records))
        .collect();
    let leaking: Vec<&CounterVerdict> = counters.iter().filter(|c| c.gating && c.leak).collect();
    let n = records.len() as u32;
    let verdict = if !leaking.is_empty() {
        Verdict::Leak
    } else if stats::min_agreement(n, ALPHA).is_none()
        && counters
            .iter()
            .any(|c| c.gating && c.agreeing == n && n > 0)
    {
        Verdict::Inconclusive {
            reason: format!(
                "all {n} processes grow, but {n} cannot reach p <= {ALPHA} (sign test needs at least 5 processes)"
            ),
        }
    } else {
        Verdict::Clean
    };
    let (check, summary) = match (&verdict, scenario.expect) {
        (Verdict::Leak, Expect::Pass) => (Check::Failed, Some(leak_line(leaking[0]))),
        (Verdict::Leak, Expect::Leak) => (Check::Passed, None),
        (Verdict::Clean, Expect::Pass) => (Check::Passed, None),
        (Verdict::Clean, Expect::Leak) => (
            Check::Failed,
            Some("expected a leak (`expect: leak`), but no counter grows".to_owned()),
        ),
        (Verdict::Inconclusive { reason }, _) => (Check::Inconclusive, Some(reason.clone())),
        (Verdict::Error, _) => unreachable!("faults handled above"),
    };
    Analysis {
        verdict,
        check,
        counters,
        summary,
    }
}

/// `native heap grows 8.3 B/iteration (5/5 processes, p=0.031)`
pub fn leak_line(c: &CounterVerdict) -> String {
    format!(
        "leak: {} grows {}/iteration ({}/{} processes agree, sign test p={:.3})",
        c.metric.label(),
        format_growth(c.metric, c.median),
        c.agreeing,
        c.processes,
        c.p_value
    )
}

pub fn format_growth(metric: Metric, value: f64) -> String {
    if metric.is_bytes() {
        crate::units::format_bytes(value)
    } else if value == value.trunc() {
        format!("{value:.0} blk")
    } else {
        format!("{value:.2} blk")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn positions() -> Vec<u64> {
        sample_positions(2000)
    }

    fn series(f: impl Fn(u64) -> i64) -> Vec<i64> {
        positions().into_iter().map(f).collect()
    }

    #[test]
    fn flat_series_never_grows() {
        let (g, grows) = process_growth(&positions(), &series(|_| 43090), 0.0);
        assert_eq!(g, 0.0);
        assert!(!grows);
    }

    #[test]
    fn linear_growth_is_measured_exactly() {
        let (g, grows) = process_growth(&positions(), &series(|i| 1000 + i as i64), 0.0);
        assert_eq!(g, 1.0);
        assert!(grows);
        let (_, grows) = process_growth(&positions(), &series(|i| 1000 + i as i64), 1.0);
        assert!(!grows, "growth equal to the tolerance is not a leak");
    }

    #[test]
    fn a_cache_that_fills_and_stops_is_not_growth() {
        // Grows 1/iteration until iteration 700, then flat.
        let (g, grows) = process_growth(&positions(), &series(|i| i.min(700) as i64), 0.0);
        assert_eq!(g, 0.0);
        assert!(!grows);
    }

    #[test]
    fn a_single_late_step_is_not_growth() {
        // One step at 3/4 of the window: rises in one quarter only.
        let (_, grows) = process_growth(
            &positions(),
            &series(|i| if i > 1510 { 4096 } else { 0 }),
            0.0,
        );
        assert!(!grows);
    }

    #[test]
    fn a_staircase_leak_grows() {
        // Realloc-style steps of 2 KiB every 230 iterations (~8.9 B/iteration).
        let (g, grows) = process_growth(&positions(), &series(|i| (i / 230 * 2048) as i64), 0.0);
        assert!(grows);
        assert!(g > 4.0 && g < 16.0, "{g}");
    }
}
