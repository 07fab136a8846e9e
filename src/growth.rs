//! Growth of one counter in one process: the estimate both the leak verdict and
//! the baselines' growth figures use (docs/statistics.md §1-§2).
//!
//! Growth per iteration is the Theil-Sen slope over the second half of the measured
//! window (the first half absorbs caches that fill and stop; Theil-Sen ignores
//! isolated jumps). The process *grows* if that slope exceeds the threshold and the
//! counter also rose by more than the threshold per iteration in each of the last
//! two quarters (a one-off step, such as a cache filling once, rises in one only).

use crate::stats;

/// One process's fitted growth of one counter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Growth {
    /// Growth per iteration (counter units), the Theil-Sen slope.
    pub slope: f64,
    /// Intercept of the fitted line (the median of `y - slope * x` over the fitted
    /// samples), so reports can draw the fit without refitting.
    pub intercept: f64,
    /// Whether the slope and both last quarters exceed the threshold.
    pub grows: bool,
}

/// Index of the first sample the fit uses: the start of the second half.
pub fn fit_from(samples: usize) -> usize {
    samples.saturating_sub(1) / 2
}

/// Growth per iteration of `values` sampled at `positions`, against `threshold`.
pub fn process_growth(positions: &[u64], values: &[i64], threshold: f64) -> Growth {
    let s = values.len() - 1;
    let (half, q3) = (fit_from(values.len()), (3 * s) / 4);
    let xs: Vec<f64> = positions[half..].iter().map(|&x| x as f64).collect();
    let ys: Vec<f64> = values[half..].iter().map(|&y| y as f64).collect();
    let slope = stats::theil_sen(&xs, &ys);
    let intercepts: Vec<f64> = xs.iter().zip(&ys).map(|(x, y)| y - slope * x).collect();
    let rate = |a: usize, b: usize| {
        let dx = (positions[b] - positions[a]) as f64;
        if dx == 0.0 {
            0.0
        } else {
            (values[b] - values[a]) as f64 / dx
        }
    };
    let grows = slope > threshold && rate(half, q3) > threshold && rate(q3, s) > threshold;
    Growth {
        slope,
        intercept: stats::median(&intercepts),
        grows,
    }
}

/// Whether a series' growth is a steady line rather than slowing down: the rise over
/// the last half of the window is at least 0.4 times (the slope of) the quarter
/// before, and 0.4 times the eighth before that (docs/statistics.md §1). A steady
/// line gives 1 for both ratios, a cache settling like 1/t gives about 0.5 and 0.25,
/// and one that has settled 0. The probe uses the same test to decide when to stop
/// looking longer.
pub fn steady(values: &[i64]) -> bool {
    let s = values.len() - 1;
    let (h, q, e) = (
        values[s] - values[s / 2],
        values[s / 2] - values[s / 4],
        values[s / 4] - values[s / 8],
    );
    5 * h >= 4 * q && 5 * h >= 8 * e
}

/// The iteration of the series' last rise (0 when it never rose).
pub fn last_rise(positions: &[u64], values: &[i64]) -> u64 {
    (1..values.len())
        .rev()
        .find(|&i| values[i] > values[i - 1])
        .map_or(0, |i| positions[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule;

    fn positions() -> Vec<u64> {
        schedule::positions(2000)
    }

    fn series(f: impl Fn(u64) -> i64) -> Vec<i64> {
        positions().into_iter().map(f).collect()
    }

    #[test]
    fn flat_series_never_grows() {
        let g = process_growth(&positions(), &series(|_| 43090), 0.0);
        assert_eq!(g.slope, 0.0);
        assert_eq!(g.intercept, 43090.0);
        assert!(!g.grows);
    }

    #[test]
    fn linear_growth_is_measured_exactly() {
        let g = process_growth(&positions(), &series(|i| 1000 + i as i64), 0.0);
        assert_eq!((g.slope, g.intercept), (1.0, 1000.0));
        assert!(g.grows);
        let g = process_growth(&positions(), &series(|i| 1000 + i as i64), 1.0);
        assert!(!g.grows, "growth equal to the tolerance is not a leak");
    }

    #[test]
    fn a_cache_that_fills_and_stops_is_not_growth() {
        // Grows 1/iteration until iteration 700, then flat.
        let g = process_growth(&positions(), &series(|i| i.min(700) as i64), 0.0);
        assert_eq!(g.slope, 0.0);
        assert!(!g.grows);
    }

    #[test]
    fn a_single_late_step_is_not_growth() {
        // One step at 3/4 of the window: rises in one quarter only.
        let g = process_growth(
            &positions(),
            &series(|i| if i > 1510 { 4096 } else { 0 }),
            0.0,
        );
        assert!(!g.grows);
    }

    #[test]
    fn a_steady_line_and_a_staircase_are_steady_a_settling_cache_is_not() {
        assert!(steady(&series(|i| i as i64)));
        assert!(steady(&series(|i| (i / 230 * 2048) as i64)));
        // A cache settling like 1 - 1/t (a coupon collector), and one that stopped.
        assert!(!steady(&series(
            |i| (100_000.0 * (1.0 - 200.0 / (200.0 + i as f64))) as i64
        )));
        assert!(!steady(&series(|i| i.min(1200) as i64)));
        // Flat is steady: growth is judged only where a counter grows.
        assert!(steady(&series(|_| 7)));
    }

    #[test]
    fn the_last_rise_is_found() {
        let p = positions();
        assert_eq!(last_rise(&p, &series(|i| i.min(700) as i64)), 700);
        assert_eq!(last_rise(&p, &series(|_| 3)), 0);
    }

    #[test]
    fn a_staircase_leak_grows() {
        // Realloc-style steps of 2 KiB every 230 iterations (~8.9 B/iteration).
        let g = process_growth(&positions(), &series(|i| (i / 230 * 2048) as i64), 0.0);
        assert!(g.grows);
        assert!(g.slope > 4.0 && g.slope < 16.0, "{}", g.slope);
    }
}
