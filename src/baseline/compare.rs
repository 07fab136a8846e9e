//! Comparing one figure's values now against its stored values.
//!
//! Exact figures (identical in every process, on both sides) are compared directly
//! against a floor. Noisy ones need both a significant one-sided Mann-Whitney U test
//! at alpha *and* a Hodges-Lehmann shift beyond the floor (criterion's rule: a
//! verdict needs both significance and an effect beyond the noise band). The floor is
//! the larger of the absolute and the relative threshold (docs/statistics.md
//! §6-§9).

use crate::figures::Figure;
use crate::scenario::{Floors, MIN_BLOCK_BYTES};
use crate::stats::{hodges_lehmann, mann_whitney, median, min_mann_whitney_p};
use serde::{Deserialize, Serialize};

/// Significance level for noisy figures.
pub const ALPHA: f64 = 0.01;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Identical in every process.
    Exact,
    /// Varies between processes.
    Noisy,
}

/// The smallest change of `figure` (in its stored unit) that counts. The relative
/// part is taken of the smaller median, so the rule is symmetric: swapping old and
/// new swaps regressed and improved.
pub fn floor(
    floors: &Floors,
    figure: Figure,
    old_median: f64,
    new_median: f64,
    iterations: u64,
) -> f64 {
    let mut abs = floors.absolute;
    if figure.is_blocks() {
        abs /= MIN_BLOCK_BYTES;
    }
    if figure.is_growth() {
        abs = abs / iterations.max(1) as f64 * 1000.0;
    }
    abs.max(floors.relative * old_median.abs().min(new_median.abs()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Regressed,
    Improved,
    Unchanged,
    /// A change beyond the floor that too few processes cannot make significant.
    Inconclusive,
}

#[derive(Clone, Debug)]
pub struct FigureComparison {
    pub figure: Figure,
    pub kind: Kind,
    pub old: Vec<i64>,
    pub new: Vec<i64>,
    pub old_median: f64,
    pub new_median: f64,
    /// Estimated change (new - old): the direct difference for exact figures, the
    /// Hodges-Lehmann shift for noisy ones.
    pub change: f64,
    /// 95% confidence interval of the change (noisy figures with enough processes).
    pub interval: Option<(f64, f64)>,
    /// One-sided p-value in the direction of the change (noisy figures).
    pub p_value: Option<f64>,
    pub floor: f64,
    pub status: Change,
}

impl FigureComparison {
    pub fn change_percent(&self) -> Option<f64> {
        (self.old_median != 0.0).then(|| self.change / self.old_median.abs() * 100.0)
    }

    /// Whether the baseline's values were identical (a figure compared as noisy
    /// only because it varies now).
    pub fn exact_before(&self) -> bool {
        all_equal(&self.old)
    }
}

fn all_equal(v: &[i64]) -> bool {
    v.windows(2).all(|w| w[0] == w[1])
}

pub fn compare(
    figure: Figure,
    old: &[i64],
    new: &[i64],
    floors: &Floors,
    iterations: u64,
) -> FigureComparison {
    let of = |v: &[i64]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    let (oldf, newf) = (of(old), of(new));
    let (old_median, new_median) = (median(&oldf), median(&newf));
    let floor = floor(floors, figure, old_median, new_median, iterations);
    let mut out = FigureComparison {
        figure,
        kind: Kind::Exact,
        old: old.to_vec(),
        new: new.to_vec(),
        old_median,
        new_median,
        change: new_median - old_median,
        interval: None,
        p_value: None,
        floor,
        status: Change::Unchanged,
    };
    if all_equal(old) && all_equal(new) {
        out.status = if out.change > floor {
            Change::Regressed
        } else if -out.change > floor {
            Change::Improved
        } else {
            Change::Unchanged
        };
        return out;
    }
    out.kind = Kind::Noisy;
    let mw = mann_whitney(&newf, &oldf);
    let (est, interval) = hodges_lehmann(&newf, &oldf, 0.95);
    out.change = est;
    out.interval = interval;
    let up = est > 0.0;
    out.p_value = Some(if up { mw.p_greater } else { mw.p_less });
    out.status = if mw.p_greater <= ALPHA && est > floor {
        Change::Regressed
    } else if mw.p_less <= ALPHA && -est > floor {
        Change::Improved
    } else if est.abs() > floor && min_mann_whitney_p(new.len(), old.len()) > ALPHA {
        Change::Inconclusive
    } else {
        Change::Unchanged
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floors() -> Floors {
        Floors {
            relative: 0.10,
            absolute: 1024.0,
        }
    }

    #[test]
    fn exact_figures_compare_directly_against_the_floor() {
        let c = compare(
            Figure::HeldNative,
            &[100_000; 5],
            &[130_000; 5],
            &floors(),
            2000,
        );
        assert_eq!((c.kind, c.status), (Kind::Exact, Change::Regressed));
        assert_eq!(c.change_percent(), Some(30.0));
        let c = compare(
            Figure::HeldNative,
            &[100_000; 5],
            &[105_000; 5],
            &floors(),
            2000,
        );
        assert_eq!(c.status, Change::Unchanged, "5% is inside the 10% floor");
        let c = compare(
            Figure::HeldNative,
            &[100_000; 5],
            &[50_000; 5],
            &floors(),
            2000,
        );
        assert_eq!(c.status, Change::Improved);
    }

    #[test]
    fn noisy_figures_need_significance_and_effect() {
        let old = [100_000, 101_000, 99_000, 100_500, 99_500];
        let new: Vec<i64> = old.iter().map(|v| v * 13 / 10).collect();
        let c = compare(Figure::PeakRss, &old, &new, &floors(), 2000);
        assert_eq!(c.kind, Kind::Noisy);
        assert_eq!(c.status, Change::Regressed);
        assert!((c.p_value.unwrap() - 1.0 / 252.0).abs() < 1e-12);
        let (lo, hi) = c.interval.unwrap();
        assert!(lo > 0.0 && lo <= c.change && c.change <= hi, "{c:?}");
        // Significant but tiny: not a regression.
        let small: Vec<i64> = old.iter().map(|v| v + 2000).collect();
        assert_eq!(
            compare(Figure::PeakRss, &old, &small, &floors(), 2000).status,
            Change::Unchanged
        );
    }

    #[test]
    fn identical_samples_never_regress_and_swapping_sides_swaps_the_verdict() {
        let a = [100_000, 101_000, 99_000, 100_500, 99_500];
        let b: Vec<i64> = a.iter().map(|v| v * 2).collect();
        assert_eq!(
            compare(Figure::PeakRss, &a, &a, &floors(), 2000).status,
            Change::Unchanged
        );
        assert_eq!(
            compare(Figure::PeakRss, &a, &b, &floors(), 2000).status,
            Change::Regressed
        );
        assert_eq!(
            compare(Figure::PeakRss, &b, &a, &floors(), 2000).status,
            Change::Improved
        );
        // Scaling both sides keeps the verdict.
        let a10: Vec<i64> = a.iter().map(|v| v * 10).collect();
        let b10: Vec<i64> = b.iter().map(|v| v * 10).collect();
        assert_eq!(
            compare(Figure::PeakRss, &a10, &b10, &floors(), 2000).status,
            Change::Regressed
        );
    }

    #[test]
    fn too_few_processes_is_inconclusive() {
        let c = compare(
            Figure::PeakRss,
            &[100_000, 101_000, 99_000],
            &[200_000, 201_000, 199_000],
            &floors(),
            2000,
        );
        assert!(matches!(c.status, Change::Inconclusive), "{c:?}");
    }

    #[test]
    fn a_varying_baseline_is_compared_as_noisy_and_says_so() {
        let c = compare(
            Figure::HeldBlocks,
            &[10, 11, 10, 10, 10],
            &[10; 5],
            &floors(),
            2000,
        );
        assert_eq!(c.kind, Kind::Noisy);
        assert!(!c.exact_before());
        assert_eq!(c.status, Change::Unchanged);
    }

    #[test]
    fn floors_scale_by_unit() {
        let f = Floors {
            relative: 0.0,
            absolute: 1600.0,
        };
        assert_eq!(floor(&f, Figure::HeldNative, 0.0, 0.0, 2000), 1600.0);
        assert_eq!(floor(&f, Figure::HeldBlocks, 0.0, 0.0, 2000), 100.0);
        assert_eq!(floor(&f, Figure::GrowthNative, 0.0, 0.0, 2000), 800.0);
        let r = Floors {
            relative: 0.1,
            absolute: 0.0,
        };
        assert_eq!(floor(&r, Figure::HeldNative, 1000.0, 2000.0, 2000), 100.0);
        assert_eq!(floor(&r, Figure::HeldNative, 2000.0, 1000.0, 2000), 100.0);
    }

    /// Deterministic pseudo-random samples (xorshift), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn sample(&mut self, n: usize, base: i64, spread: i64) -> Vec<i64> {
            (0..n)
                .map(|_| base + (self.next() % (spread as u64 + 1)) as i64)
                .collect()
        }
    }

    #[test]
    fn properties_hold_on_random_samples() {
        let mut rng = Rng(0x9e3779b97f4a7c15);
        for case in 0..2000 {
            let n = 3 + (rng.next() % 8) as usize;
            let m = 3 + (rng.next() % 8) as usize;
            let base = 1_000 + (rng.next() % 10_000_000) as i64;
            let spread = (rng.next() % 3) as i64 * (rng.next() % 200_000) as i64;
            let a = rng.sample(n, base, spread);
            let shift = (rng.next() % 3) as i64 * base / 2;
            let b = rng.sample(m, base + shift, spread);
            let f = Floors {
                relative: 0.10,
                absolute: 1024.0,
            };
            // Identical samples never regress (nor improve).
            let same = compare(Figure::PeakRss, &a, &a, &f, 2000);
            assert_eq!(same.status, Change::Unchanged, "case {case}: {a:?}");
            // Swapping sides swaps regressed and improved.
            let ab = compare(Figure::PeakRss, &a, &b, &f, 2000).status;
            let ba = compare(Figure::PeakRss, &b, &a, &f, 2000).status;
            match (&ab, &ba) {
                (Change::Regressed, other) => assert_eq!(other, &Change::Improved, "case {case}"),
                (Change::Improved, other) => assert_eq!(other, &Change::Regressed, "case {case}"),
                _ => {}
            }
            // Scaling both sides (relative floor only) keeps the verdict.
            let rel = Floors {
                relative: 0.10,
                absolute: 0.0,
            };
            let a3: Vec<i64> = a.iter().map(|v| v * 3).collect();
            let b3: Vec<i64> = b.iter().map(|v| v * 3).collect();
            assert_eq!(
                compare(Figure::PeakRss, &a, &b, &rel, 2000).status,
                compare(Figure::PeakRss, &a3, &b3, &rel, 2000).status,
                "case {case}"
            );
        }
    }
}
