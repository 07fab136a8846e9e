//! How values are written for people: growth rates, figures, iteration counts.

use crate::figures::Figure;
use crate::scenario::Metric;
use crate::units::format_bytes;

/// Below this many units per iteration, a rate is written as one unit per so many
/// iterations (`1 blk / 300 it`): two decimals would print a flagged growth as 0.
const SMALL_RATE: f64 = 0.1;

/// The unit a counter's values are written in: for one, and for several.
fn unit(metric: Metric) -> (&'static str, &'static str) {
    match metric {
        Metric::Fds => ("fd", "fds"),
        Metric::Threads => ("thread", "threads"),
        m if m.is_bytes() => ("B", "B"),
        _ => ("blk", "blk"),
    }
}

/// `(sign, unit, n)` for a small non-zero rate: one unit per `n` iterations.
fn one_per(metric: Metric, value: f64) -> Option<(&'static str, &'static str, f64)> {
    (value != 0.0 && value.is_finite() && value.abs() < SMALL_RATE).then(|| {
        let sign = if value < 0.0 { "-" } else { "" };
        (sign, unit(metric).0, (1.0 / value.abs()).round())
    })
}

/// A counter's growth per iteration, for a column headed `.../IT`: `8.3 B`, `2 blk`,
/// `0.33 blk`, `1 fd`, `2 threads`, and a small rate as `1 blk / 300 it` (or
/// `3.0e-7 blk` below one in a million), never a misleading `0.00`.
pub fn growth(metric: Metric, value: f64) -> String {
    if let Some((sign, unit, n)) = one_per(metric, value) {
        return if n < 1e6 {
            format!("{sign}1 {unit} / {n:.0} it")
        } else {
            format!("{value:.1e} {unit}")
        };
    }
    let (one, many) = unit(metric);
    if metric.is_bytes() {
        format_bytes(value)
    } else if value == 1.0 {
        format!("1 {one}")
    } else if value == value.trunc() {
        format!("{value:.0} {many}")
    } else {
        format!("{value:.2} {many}")
    }
}

/// A growth rate in a sentence: `8.3 B/iteration`, `1 blk per 300 iterations`.
pub fn per_iteration(metric: Metric, value: f64) -> String {
    match one_per(metric, value) {
        Some((sign, unit, n)) if n < 1e6 => format!("{sign}1 {unit} per {n:.0} iterations"),
        _ => format!("{}/iteration", growth(metric, value)),
    }
}

/// A figure's value for people: `1.2 MiB`, `340 blocks`, `8.3 B/it`.
pub fn figure_value(figure: Figure, value: f64) -> String {
    match figure {
        Figure::HeldBlocks => format!("{value:.0} blocks"),
        Figure::GrowthBlocks => format!("{:.3} blk/it", value / 1000.0),
        Figure::GrowthNative => format!("{}/it", format_bytes(value / 1000.0)),
        _ => format_bytes(value),
    }
}

/// A memory page, for RSS growth in pages (4 KiB on the platforms memreg reads RSS).
pub(super) const PAGE: f64 = 4096.0;

/// A count of iterations for people: `8,000`.
pub fn iterations(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_written_as_counts() {
        assert_eq!(growth(Metric::Fds, 1.0), "1 fd");
        assert_eq!(growth(Metric::Fds, 2.0), "2 fds");
        assert_eq!(growth(Metric::Threads, 0.5), "0.50 threads");
        assert_eq!(growth(Metric::Threads, 0.0), "0 threads");
        assert_eq!(growth(Metric::Blocks, 2.0), "2 blk");
    }
}
