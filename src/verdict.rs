//! From the processes' samples to a leak verdict per scenario
//! (docs/statistics.md §1-§3):
//!
//!  1. per counter and process, over the process's final window (the user's, or a
//!     longer one when the probe looked longer), growth per iteration, whether the
//!     process grows (see [`crate::growth`]), and whether that growth is *steady* or
//!     slowing down;
//!  2. the counter grows significantly if the number of growing processes passes a
//!     one-sided sign test at [`ALPHA`] (with 5 processes: all 5) and the median
//!     growth exceeds the tolerance;
//!  3. significant growth is a *leak* when every growing process is steady over at
//!     least [`CONFIRM_FACTOR`] times the user's window; growth still slowing down
//!     is a cache *settling* (inconclusive for the heaps, never a failure for RSS);
//!     steady growth the budget did not let the probe confirm is a leak for the heaps
//!     (as before confirmation existed) and not a failure for RSS.
//!
//! Exact counters that do not move give a slope of exactly 0 and never alarm; for
//! noisy ones the sign test bounds the false-alarm rate by ALPHA per counter.
//! The verdict is data; the sentences that explain it are in `report::prose`.

use crate::growth::{fit_from, last_rise, process_growth, steady};
use crate::probe::{Measurement, ProcessResult};
use crate::scenario::{Expect, Metric, Scenario, MIN_BLOCK_BYTES};
use crate::{schedule, stats};

/// Significance level of the cross-process sign test.
pub const ALPHA: f64 = 0.05;

/// Growth is confirmed (steady) or found settling over at least this many times the
/// user's window (the probe's CONFIRM_FACTOR).
pub const CONFIRM_FACTOR: u64 = 4;

/// What the processes' growth of one counter amounts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finding {
    /// No significant growth.
    Flat,
    /// Significant growth, steady in every growing process; `confirmed` when over at
    /// least [`CONFIRM_FACTOR`] times the user's window.
    Steady { confirmed: bool },
    /// Significant growth that slows down in at least one growing process: a cache
    /// still filling at the end of the budget.
    Settling,
}
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
    /// Each process's final window, in iterations.
    pub windows: Vec<u64>,
    pub growing: Vec<bool>,
    /// Whether each process's growth over its window is a steady line (not slowing).
    pub steady: Vec<bool>,
    /// Each process's iteration of the last rise of the counter (0: never rose).
    pub last_rise: Vec<u64>,
    /// Whether each process grew over the user's window (what made it look longer).
    pub grew_in_window: Vec<bool>,
    pub finding: Finding,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// Growth per iteration above which a process counts as growing.
    pub threshold: f64,
    pub agreeing: u32,
    pub processes: u32,
    pub p_value: f64,
    /// Whether this counter fails the check.
    pub leak: bool,
}

impl CounterVerdict {
    /// Significant growth slowing down in a heap counter: the scenario is
    /// inconclusive unless another counter leaks.
    pub fn settling(&self) -> bool {
        self.gating && self.finding == Finding::Settling && !self.metric.outside_heaps()
    }

    /// The shortest final window among the growing processes (what a confirmation
    /// covered), or the shortest window when none grows.
    pub fn window(&self) -> u64 {
        self.windows
            .iter()
            .zip(&self.growing)
            .filter(|(_, g)| **g)
            .map(|(w, _)| *w)
            .min()
            .or_else(|| self.windows.iter().copied().min())
            .unwrap_or(0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No gating counter grows.
    Clean,
    /// A gating counter leaks.
    Leak,
    /// Every process grows, but there are too few processes to be significant; or a
    /// heap counter grows significantly but is still slowing down at the budget.
    Inconclusive,
    /// At least one process faulted.
    Error,
    /// The run was interrupted before every process of the scenario finished: there
    /// is no verdict.
    NotRun,
}

/// What the check concludes, given the verdict and what the scenario expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    Passed,
    Failed,
    Errored,
    Inconclusive,
    /// Interrupted before it could be checked: neither passed nor failed.
    NotRun,
}

#[derive(Clone, Debug)]
pub struct Analysis {
    pub verdict: Verdict,
    pub check: Check,
    pub counters: Vec<CounterVerdict>,
}

impl Analysis {
    /// The gating counter that leaks, a resource (file descriptors, threads) before
    /// memory: a leaked file or thread is the more specific finding, and its memory
    /// grows because it leaks.
    pub fn leaking(&self) -> Option<&CounterVerdict> {
        let mut leaks = self.counters.iter().filter(|c| c.gating && c.leak);
        let first = leaks.clone().next();
        leaks.find(|c| c.metric.is_count()).or(first)
    }

    /// The analysis of a scenario whose processes faulted.
    pub fn errored() -> Analysis {
        Analysis {
            verdict: Verdict::Error,
            check: Check::Errored,
            counters: vec![],
        }
    }

    /// The analysis of a scenario the run was interrupted in: no counters, no verdict.
    pub fn not_run() -> Analysis {
        Analysis {
            verdict: Verdict::NotRun,
            check: Check::NotRun,
            counters: vec![],
        }
    }
}

/// Growth per iteration above which a process grows: the byte tolerance, a 16th of
/// it for blocks, and none for counts (a file descriptor or thread per iteration
/// that outlives it is a leak whatever the tolerance: `metrics:` opts out).
fn threshold(metric: Metric, scenario: &Scenario) -> f64 {
    let tol = scenario.tolerance.0 as f64;
    if metric.is_count() {
        0.0
    } else if metric.is_bytes() {
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
    // No process, no growth: a median, minimum and maximum of nothing would be NaN
    // and infinities.
    if measurements.is_empty() {
        return None;
    }
    let chunks = schedule::chunk_count(scenario.iterations);
    let thr = threshold(metric, scenario);
    let n = measurements.len();
    let mut c = CounterVerdict {
        metric,
        gating: true,
        per_process: Vec::with_capacity(n),
        intercepts: Vec::with_capacity(n),
        fit_from: fit_from(chunks as usize + 1),
        windows: Vec::with_capacity(n),
        growing: Vec::with_capacity(n),
        steady: Vec::with_capacity(n),
        last_rise: Vec::with_capacity(n),
        grew_in_window: Vec::with_capacity(n),
        finding: Finding::Flat,
        median: 0.0,
        min: 0.0,
        max: 0.0,
        threshold: thr,
        agreeing: 0,
        processes: n as u32,
        p_value: 1.0,
        leak: false,
    };
    for m in measurements {
        let values = m.series.get(&metric)?;
        let positions = schedule::window_positions(m.window, chunks);
        let g = process_growth(&positions, values, thr);
        c.per_process.push(g.slope);
        c.intercepts.push(g.intercept);
        c.windows.push(m.window);
        c.growing.push(g.grows);
        c.steady.push(steady(values));
        c.last_rise.push(last_rise(&positions, values));
        c.grew_in_window.push(match &m.user_series {
            Some(user) => user.get(&metric).is_some_and(|v| {
                process_growth(&schedule::positions(scenario.iterations), v, thr).grows
            }),
            None => g.grows,
        });
    }
    c.agreeing = c.growing.iter().filter(|g| **g).count() as u32;
    c.p_value = stats::sign_test_p(c.agreeing, c.processes);
    c.median = stats::median(&c.per_process);
    c.min = c.per_process.iter().copied().fold(f64::INFINITY, f64::min);
    c.max = c
        .per_process
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    if c.p_value <= ALPHA && c.median > thr {
        let growing = || {
            c.steady
                .iter()
                .zip(&c.windows)
                .zip(&c.growing)
                .filter(|(_, g)| **g)
        };
        c.finding = if growing().all(|((s, _), _)| *s) {
            Finding::Steady {
                confirmed: growing().all(|((_, w), _)| *w >= CONFIRM_FACTOR * scenario.iterations),
            }
        } else {
            Finding::Settling
        };
    }
    // A leak outside the heaps (RSS) must be confirmed: RSS moves in pages and
    // allocators keep freed pages, so only a line steady over 4x the window counts.
    c.leak = match c.finding {
        Finding::Steady { confirmed } => confirmed || !metric.outside_heaps(),
        Finding::Flat | Finding::Settling => false,
    };
    Some(c)
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
        || counters.iter().any(CounterVerdict::settling)
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
        (Verdict::NotRun, _) => Check::NotRun,
    };
    Analysis {
        verdict,
        check,
        counters,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::fake;

    fn scenario(iterations: u64) -> Scenario {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(&path, format!("run: pass\niterations: {iterations}\n")).unwrap();
        crate::scenario::load_all(&[path]).unwrap().remove(0)
    }

    /// A process whose `metric` follows `f(iteration)` over a window of `window`.
    fn process(s: &Scenario, metric: Metric, window: u64, f: impl Fn(u64) -> i64) -> Measurement {
        let mut m = fake::measurement(s.iterations, 0.0, 0.0, 0);
        let chunks = schedule::chunk_count(s.iterations);
        let positions = schedule::window_positions(window, chunks);
        m.series
            .insert(metric, positions.iter().map(|&x| f(x)).collect());
        m.window = window;
        m.extensions = (window / s.iterations).trailing_zeros();
        m
    }

    fn verdict(s: &Scenario, metric: Metric, ms: &[Measurement]) -> CounterVerdict {
        let refs: Vec<&Measurement> = ms.iter().collect();
        counter_verdict(metric, s, &refs).unwrap()
    }

    #[test]
    fn a_steady_line_over_four_windows_is_a_confirmed_leak() {
        let s = scenario(2000);
        let ms: Vec<_> = (0..5)
            .map(|_| process(&s, Metric::Blocks, 8000, |x| 1000 + x as i64 / 300))
            .collect();
        let c = verdict(&s, Metric::Blocks, &ms);
        assert_eq!(c.finding, Finding::Steady { confirmed: true });
        assert!(c.leak);
        assert_eq!(c.window(), 8000);
    }

    #[test]
    fn growth_that_slows_down_is_settling_inconclusive_for_heaps_never_a_failure_for_rss() {
        let s = scenario(2000);
        // A coupon collector: 2000 keys drawn at random fill ever more slowly.
        let fill = |x: u64| (2000.0 * (1.0 - (-(x as f64) / 4000.0).exp())) as i64;
        for metric in [Metric::Blocks, Metric::Rss] {
            let ms: Vec<_> = (0..5).map(|_| process(&s, metric, 32000, fill)).collect();
            let c = verdict(&s, metric, &ms);
            assert_eq!(c.finding, Finding::Settling, "{metric:?}");
            assert!(!c.leak, "{metric:?}");
            assert_eq!(c.settling(), metric == Metric::Blocks);
        }
    }

    #[test]
    fn steady_growth_the_budget_did_not_confirm_fails_the_heaps_but_not_rss() {
        let s = scenario(2000);
        for metric in [Metric::Native, Metric::Rss] {
            let ms: Vec<_> = (0..5)
                .map(|_| process(&s, metric, 2000, |x| 4096 * x as i64))
                .collect();
            let c = verdict(&s, metric, &ms);
            assert_eq!(c.finding, Finding::Steady { confirmed: false });
            assert_eq!(c.leak, metric == Metric::Native, "{metric:?}");
        }
    }

    #[test]
    fn a_cache_that_filled_during_the_longer_window_is_clean() {
        let s = scenario(2000);
        // lru_cache(maxsize=5000): 3 blocks per iteration until iteration 4800.
        let ms: Vec<_> = (0..5)
            .map(|_| process(&s, Metric::Blocks, 8000, |x| 3 * x.min(4800) as i64))
            .collect();
        let c = verdict(&s, Metric::Blocks, &ms);
        assert_eq!(c.finding, Finding::Flat);
        assert!(!c.leak);
        assert_eq!(c.last_rise, vec![4800; 5]);
    }

    #[test]
    fn counts_have_no_tolerance_and_lead_the_summary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(&path, "run: pass\niterations: 2000\ntolerance: 1 KiB\n").unwrap();
        let s = crate::scenario::load_all(&[path]).unwrap().remove(0);
        // One fd per 300 iterations is a leak even with a 1 KiB tolerance, and blocks
        // growing far below it are not.
        let ms: Vec<_> = (0..5)
            .map(|_| {
                let mut m = process(&s, Metric::Fds, 8000, |x| 12 + x as i64 / 300);
                let blocks = process(&s, Metric::Blocks, 8000, |x| 40_000 + x as i64);
                m.series
                    .insert(Metric::Blocks, blocks.series[&Metric::Blocks].clone());
                m
            })
            .collect();
        let refs: Vec<&Measurement> = ms.iter().collect();
        let fds = counter_verdict(Metric::Fds, &s, &refs).unwrap();
        assert_eq!((fds.threshold, fds.leak), (0.0, true));
        let blocks = counter_verdict(Metric::Blocks, &s, &refs).unwrap();
        assert_eq!((blocks.threshold, blocks.leak), (64.0, false));
        // With memory leaking too, the resource is what the summary names.
        let mut leaky_blocks = counter_verdict(Metric::Blocks, &s, &refs).unwrap();
        leaky_blocks.leak = true;
        let a = Analysis {
            verdict: Verdict::Leak,
            check: Check::Failed,
            counters: vec![leaky_blocks, fds],
        };
        assert_eq!(a.leaking().map(|c| c.metric), Some(Metric::Fds));
    }

    #[test]
    fn four_growing_processes_of_five_are_not_significant() {
        let s = scenario(2000);
        let mut ms: Vec<_> = (0..4)
            .map(|_| process(&s, Metric::Native, 8000, |x| 8 * x as i64))
            .collect();
        ms.push(process(&s, Metric::Native, 2000, |_| 0));
        let c = verdict(&s, Metric::Native, &ms);
        assert_eq!((c.agreeing, c.finding, c.leak), (4, Finding::Flat, false));
    }
}
