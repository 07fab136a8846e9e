//! Statistics that hold for exactly deterministic counters (zero variance) as well as
//! noisy ones: medians, the Theil-Sen slope, and the one-sided sign test.
//!
//! No t-tests: many memory counters are exact, t statistics are NaN or infinite on
//! zero variance, and samples inside one process are autocorrelated
//! (docs/statistics.md §5). The independent replicate is a fresh process; across processes we use
//! the sign test, the rule behind CPython's `-R` leak hunter.

/// Median of the values (mean of the middle two for an even count). NaN if empty.
pub fn median(values: &[f64]) -> f64 {
    median_of(values.to_vec())
}

/// The median of `v`, reordering it: a selection, not a sort (Theil-Sen takes the
/// median of ~20,000 slopes per counter and process).
fn median_of(mut v: Vec<f64>) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let (lower, mid, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    let mid = *mid;
    if n % 2 == 1 {
        mid
    } else {
        // The largest of the lower half is the other middle value.
        let below = lower.iter().copied().max_by(f64::total_cmp).unwrap_or(mid);
        (below + mid) / 2.0
    }
}

/// Theil-Sen estimator: the median of the slopes of all pairs of points with
/// distinct x. Robust to up to ~29% outliers; exact on a straight line; zero on
/// constant data. O(n^2) pairs; memreg calls it on a window's 201 samples.
pub fn theil_sen(xs: &[f64], ys: &[f64]) -> f64 {
    assert_eq!(xs.len(), ys.len());
    if ys.iter().all(|&y| y == ys[0]) {
        // Every slope is 0: the usual series of a counter that does not move.
        return 0.0;
    }
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
        median_of(slopes)
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

/// Which way the Mann-Whitney p-value was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The exact null distribution of U (no ties, both sides <= [`EXACT_MAX`]).
    Exact,
    /// Normal approximation with tie and continuity correction (scipy's default).
    Asymptotic,
}

/// Largest side for which the exact distribution of U is enumerated.
pub const EXACT_MAX: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MannWhitney {
    /// U statistic of `x`: pairs with x > y, plus half the ties.
    pub u: f64,
    /// One-sided p-value for "x tends to be greater than y".
    pub p_greater: f64,
    /// One-sided p-value for "x tends to be less than y".
    pub p_less: f64,
    pub method: Method,
}

/// Mann-Whitney U test of `x` against `y`, both one-sided p-values.
///
/// Written here rather than taken from statrs: statrs 0.19.1's exact path returned
/// inverted one-sided p-values (docs/measuring.md §10). Checked against scipy's
/// documented examples in the tests below.
pub fn mann_whitney(x: &[f64], y: &[f64]) -> MannWhitney {
    let (m, n) = (x.len(), y.len());
    let mut u = 0.0;
    for a in x {
        for b in y {
            if a > b {
                u += 1.0;
            } else if a == b {
                u += 0.5;
            }
        }
    }
    if m == 0 || n == 0 {
        return MannWhitney {
            u,
            p_greater: 1.0,
            p_less: 1.0,
            method: Method::Asymptotic,
        };
    }
    let mut all: Vec<f64> = x.iter().chain(y).copied().collect();
    all.sort_by(f64::total_cmp);
    let mut tie_term = 0.0;
    let mut has_ties = false;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1] == all[i] {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        if t > 1.0 {
            has_ties = true;
            tie_term += t * t * t - t;
        }
        i = j + 1;
    }
    if !has_ties && m <= EXACT_MAX && n <= EXACT_MAX {
        let counts = u_distribution(m, n);
        let total: f64 = counts.iter().sum();
        let k = u as usize;
        let p_greater = counts[k..].iter().sum::<f64>() / total;
        let p_less = counts[..=k].iter().sum::<f64>() / total;
        return MannWhitney {
            u,
            p_greater,
            p_less,
            method: Method::Exact,
        };
    }
    let (mf, nf) = (m as f64, n as f64);
    let big_n = mf + nf;
    let mu = mf * nf / 2.0;
    let var = mf * nf / 12.0 * ((big_n + 1.0) - tie_term / (big_n * (big_n - 1.0)));
    if var <= 0.0 {
        // Every value tied: no evidence either way.
        return MannWhitney {
            u,
            p_greater: 1.0,
            p_less: 1.0,
            method: Method::Asymptotic,
        };
    }
    let sd = var.sqrt();
    let p_greater = 1.0 - normal_cdf((u - mu - 0.5) / sd);
    let p_less = normal_cdf((u - mu + 0.5) / sd);
    MannWhitney {
        u,
        p_greater: p_greater.clamp(0.0, 1.0),
        p_less: p_less.clamp(0.0, 1.0),
        method: Method::Asymptotic,
    }
}

/// Number of orderings of m x-values and n y-values giving each U = 0..=m*n, by the
/// recurrence f(m, n, u) = f(m-1, n, u-n) + f(m, n-1, u) (Mann & Whitney 1947).
fn u_distribution(m: usize, n: usize) -> Vec<f64> {
    // table[j] = distribution for (i, j) as i grows row by row.
    let mut prev: Vec<Vec<f64>> = (0..=n).map(|_| vec![1.0]).collect(); // i = 0
    for i in 1..=m {
        let mut row: Vec<Vec<f64>> = vec![vec![1.0]]; // j = 0
        for j in 1..=n {
            let mut d = vec![0.0; i * j + 1];
            for (k, c) in prev[j].iter().enumerate() {
                d[k + j] += c; // last element is an x above all j y's
            }
            for (k, c) in row[j - 1].iter().enumerate() {
                d[k] += c; // last element is a y
            }
            row.push(d);
        }
        prev = row;
    }
    prev.pop().unwrap_or_else(|| vec![1.0])
}

/// Smallest attainable one-sided p-value with sides of m and n values (no ties).
pub fn min_mann_whitney_p(m: usize, n: usize) -> f64 {
    1.0 / binomial((m + n) as u32, m as u32)
}

/// Standard normal CDF.
pub fn normal_cdf(z: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    Normal::standard().cdf(z)
}

/// Hodges-Lehmann estimate of the shift of `x` over `y` (the median of all pairwise
/// differences), with a distribution-free confidence interval from the null
/// distribution of U (Hollander & Wolfe, ch. 4). `None` bounds when the samples are
/// too small for the requested confidence.
pub fn hodges_lehmann(x: &[f64], y: &[f64], confidence: f64) -> (f64, Option<(f64, f64)>) {
    let mut d: Vec<f64> = x
        .iter()
        .flat_map(|a| y.iter().map(move |b| a - b))
        .collect();
    if d.is_empty() {
        return (f64::NAN, None);
    }
    d.sort_by(f64::total_cmp);
    let est = median(&d);
    let (m, n) = (x.len(), y.len());
    let alpha2 = (1.0 - confidence) / 2.0;
    // k = number of differences cut from each end.
    let k = if m <= EXACT_MAX && n <= EXACT_MAX {
        let counts = u_distribution(m, n);
        let total: f64 = counts.iter().sum();
        let mut cum = 0.0;
        let mut k = 0;
        for c in &counts {
            cum += c;
            if cum / total > alpha2 {
                break;
            }
            k += 1;
        }
        k
    } else {
        use statrs::distribution::{ContinuousCDF, Normal};
        let z = Normal::standard().inverse_cdf(1.0 - alpha2);
        let (mf, nf) = (m as f64, n as f64);
        let c = mf * nf / 2.0 - z * (mf * nf * (mf + nf + 1.0) / 12.0).sqrt();
        c.floor().max(0.0) as usize
    };
    if k == 0 || k > d.len() / 2 {
        return (est, None);
    }
    (est, Some((d[k - 1], d[d.len() - k])))
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
    fn median_by_selection_is_the_middle_of_the_sorted_values() {
        // Odd and even lengths, with ties (counters repeat values), from a fixed LCG.
        let mut state = 12345u64;
        for n in 1..200usize {
            let v: Vec<f64> = (0..n)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 33) % 17) as f64 - 8.0
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let want = if n % 2 == 1 {
                sorted[n / 2]
            } else {
                (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
            };
            assert_eq!(median(&v), want, "{v:?}");
        }
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

    #[test]
    fn mann_whitney_matches_scipy_documented_example() {
        // scipy.stats.mannwhitneyu docs: males vs females, U1 = 17,
        // exact two-sided p = 0.1111 (so one-sided 0.0556), asymptotic two-sided
        // p = 0.11134688653314041.
        let males = [19.0, 22.0, 16.0, 29.0, 24.0];
        let females = [20.0, 11.0, 17.0, 12.0];
        let r = mann_whitney(&males, &females);
        assert_eq!(r.u, 17.0);
        assert_eq!(r.method, Method::Exact);
        assert!(
            (2.0 * r.p_greater - 0.1111111111111111).abs() < 1e-12,
            "{r:?}"
        );
        // Asymptotic path: force it with a tie-free copy above EXACT_MAX? No: compute
        // the normal approximation directly, as scipy does with method="asymptotic".
        let (m, n, u) = (5.0f64, 4.0f64, 17.0f64);
        let sd = (m * n * (m + n + 1.0) / 12.0).sqrt();
        let p = 1.0 - normal_cdf((u - m * n / 2.0 - 0.5) / sd);
        assert!((2.0 * p - 0.11134688653314041).abs() < 1e-9, "{p}");
    }

    #[test]
    fn mann_whitney_one_sided_direction_is_right() {
        // docs/measuring.md §10: five clearly larger values vs five baseline values must give
        // p = 1/252 = 0.00397 (exact) for "greater"; statrs 0.19.1 gave 0.996.
        let x = [110.0, 111.0, 112.0, 113.0, 114.0];
        let y = [100.0, 101.0, 102.0, 103.0, 104.0];
        let r = mann_whitney(&x, &y);
        assert!((r.p_greater - 1.0 / 252.0).abs() < 1e-12, "{r:?}");
        assert!((r.p_less - 1.0).abs() < 1e-12, "{r:?}");
        let r = mann_whitney(&y, &x);
        assert!((r.p_less - 1.0 / 252.0).abs() < 1e-12, "{r:?}");
        assert!((min_mann_whitney_p(5, 5) - 1.0 / 252.0).abs() < 1e-15);
    }

    #[test]
    fn mann_whitney_asymptotic_with_ties_and_all_tied() {
        // With ties: asymptotic with tie correction. scipy 1.x:
        // mannwhitneyu([1,2,2,3,3], [2,2,3,4,4], alternative='less')
        //   -> statistic 7.0, pvalue 0.13666083914614907
        let r = mann_whitney(&[1.0, 2.0, 2.0, 3.0, 3.0], &[2.0, 2.0, 3.0, 4.0, 4.0]);
        assert_eq!(r.method, Method::Asymptotic);
        assert_eq!(r.u, 7.0);
        assert!((r.p_less - 0.13666083914614907).abs() < 1e-9, "{r:?}");
        // Large samples (no ties, beyond EXACT_MAX): scipy
        // mannwhitneyu(arange(30) + 5.5, arange(25), alternative='greater')
        //   -> statistic 560.0, pvalue 0.000908503140537542
        let x: Vec<f64> = (0..30).map(|i| i as f64 + 5.5).collect();
        let y: Vec<f64> = (0..25).map(f64::from).collect();
        let r = mann_whitney(&x, &y);
        assert_eq!((r.u, r.method), (560.0, Method::Asymptotic));
        assert!((r.p_greater - 0.000908503140537542).abs() < 1e-9, "{r:?}");
        // Zero variance on both sides, all equal: no evidence, never NaN.
        let r = mann_whitney(&[7.0; 5], &[7.0; 5]);
        assert_eq!((r.p_greater, r.p_less), (1.0, 1.0));
    }

    #[test]
    fn u_distribution_sums_to_binomial() {
        let d = u_distribution(5, 5);
        assert_eq!(d.len(), 26);
        assert_eq!(d.iter().sum::<f64>(), 252.0);
        assert_eq!(&d[..4], &[1.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    fn hodges_lehmann_shift_and_interval() {
        let y = [100.0, 101.0, 102.0, 103.0, 104.0];
        let x: Vec<f64> = y.iter().map(|v| v + 30.0).collect();
        let (est, ci) = hodges_lehmann(&x, &y, 0.95);
        assert_eq!(est, 30.0);
        // n = m = 5 at 95%: the 3rd smallest and 3rd largest of 25 differences.
        assert_eq!(ci, Some((27.0, 33.0)));
        let (_, ci) = hodges_lehmann(&[1.0, 2.0], &[1.0, 2.0], 0.95);
        assert_eq!(ci, None, "two per side cannot give a 95% interval");
    }

    #[test]
    fn identical_samples_never_differ_and_swapping_flips_direction() {
        let cases: [(&[f64], &[f64]); 3] = [
            (&[1.0, 5.0, 3.0, 9.0, 4.0], &[2.0, 8.0, 7.0, 6.0, 10.0]),
            (
                &[10.0, 10.0, 12.0, 11.0, 10.0],
                &[10.0, 13.0, 14.0, 12.0, 15.0],
            ),
            (&[3.0; 6], &[3.0, 3.0, 4.0, 3.0, 3.0, 3.0]),
        ];
        for (a, b) in cases {
            let same = mann_whitney(a, a);
            assert!(same.p_greater > 0.4 && same.p_less > 0.4, "{same:?}");
            let ab = mann_whitney(a, b);
            let ba = mann_whitney(b, a);
            assert!((ab.p_greater - ba.p_less).abs() < 1e-12);
            assert!((ab.p_less - ba.p_greater).abs() < 1e-12);
            // Scaling both sides keeps the test's answer.
            let a2: Vec<f64> = a.iter().map(|v| v * 1000.0).collect();
            let b2: Vec<f64> = b.iter().map(|v| v * 1000.0).collect();
            let scaled = mann_whitney(&a2, &b2);
            assert!((scaled.p_greater - ab.p_greater).abs() < 1e-12);
        }
    }
}
