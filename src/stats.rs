//! Statistics that hold for exactly deterministic counters (zero variance) as well as
//! noisy ones: medians, the Theil-Sen slope, and the one-sided sign test.
//!
//! No t-tests: many memory counters are exact, t statistics are NaN or infinite on
//! zero variance, and samples inside one process are autocorrelated (MEASURING.md
//! section 5). The independent replicate is a fresh process; across processes we use
//! the sign test, the rule behind CPython's `-R` leak hunter.

/// Median of the values (mean of the middle two for an even count). NaN if empty.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Theil-Sen estimator: the median of the slopes of all pairs of points with
/// distinct x. Robust to up to ~29% outliers; exact on a straight line; zero on
/// constant data. O(n^2) pairs; memreg calls it on at most ~100 points.
pub fn theil_sen(xs: &[f64], ys: &[f64]) -> f64 {
    assert_eq!(xs.len(), ys.len());
    let mut slopes = Vec::with_capacity(xs.len() * xs.len() / 2);
    for i in 0..xs.len() {
        for j in i + 1..xs.len() {
            let dx = xs[j] - xs[i];
            if dx != 0.0 {
                slopes.push((ys[j] - ys[i]) / dx);
            }
        }
    }
    if slopes.is_empty() {
        0.0
    } else {
        median(&slopes)
    }
}

/// One-sided sign test: P(X >= k) for X ~ Binomial(n, 1/2), exactly.
pub fn sign_test_p(k: u32, n: u32) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    let total: f64 = (k..=n).map(|i| binomial(n, i)).sum();
    total / 2f64.powi(n as i32)
}

fn binomial(n: u32, k: u32) -> f64 {
    let k = k.min(n - k);
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// The fewest agreeing processes out of `n` whose sign-test p is <= alpha, if any.
pub fn min_agreement(n: u32, alpha: f64) -> Option<u32> {
    (1..=n).find(|&k| sign_test_p(k, n) <= alpha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_known_answers() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn theil_sen_is_exact_on_a_line_and_zero_on_constants() {
        let xs: Vec<f64> = (0..50).map(f64::from).collect();
        let line: Vec<f64> = xs.iter().map(|x| 8.0 * x + 100.0).collect();
        assert_eq!(theil_sen(&xs, &line), 8.0);
        let flat = vec![43090.0; 50];
        assert_eq!(theil_sen(&xs, &flat), 0.0);
    }

    #[test]
    fn theil_sen_ignores_a_few_outliers() {
        // Sen (1968)-style check: a line of slope 2 with two wild points.
        let xs: Vec<f64> = (0..20).map(f64::from).collect();
        let mut ys: Vec<f64> = xs.iter().map(|x| 2.0 * x).collect();
        ys[3] = 500.0;
        ys[15] = -400.0;
        let s = theil_sen(&xs, &ys);
        assert!((s - 2.0).abs() < 1e-9, "{s}");
    }

    #[test]
    fn theil_sen_known_small_example() {
        // Pairwise slopes of (1,1),(2,3),(3,2),(4,5): 2, 0.5, 4/3, -1, 1, 3 -> median 7/6.
        let s = theil_sen(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 5.0]);
        assert!((s - 7.0 / 6.0).abs() < 1e-12, "{s}");
    }

    #[test]
    fn sign_test_known_answers() {
        assert_eq!(sign_test_p(5, 5), 1.0 / 32.0);
        assert_eq!(sign_test_p(9, 10), 11.0 / 1024.0);
        assert_eq!(sign_test_p(0, 7), 1.0);
        assert_eq!(sign_test_p(3, 6), 42.0 / 64.0);
        assert_eq!(min_agreement(5, 0.05), Some(5));
        assert_eq!(min_agreement(4, 0.05), None);
        assert_eq!(min_agreement(10, 0.05), Some(9));
        assert_eq!(min_agreement(7, 0.01), Some(7));
    }
}
