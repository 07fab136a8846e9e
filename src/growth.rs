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
    fn a_staircase_leak_grows() {
        // Realloc-style steps of 2 KiB every 230 iterations (~8.9 B/iteration).
        let g = process_growth(&positions(), &series(|i| (i / 230 * 2048) as i64), 0.0);
        assert!(g.grows);
        assert!(g.slope > 4.0 && g.slope < 16.0, "{}", g.slope);
    }
}
