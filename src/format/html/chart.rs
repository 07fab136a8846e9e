//! One counter's chart for one scenario: every process's value against iteration
//! (relative to its first measured sample; a process that looked longer to confirm
//! a growth draws its longer window), the warm-up shaded, and each process's fitted
//! growth (the verdict's Theil-Sen line over the second half of its window) dashed.
//!
//! Processes whose values are identical (exact counters usually are) would hide
//! each other; they are drawn as nested bands instead: the first of a group widest,
//! each later one narrower on top, so every colour shows.

use super::esc;
use crate::report::prose;
use crate::report::{CounterVerdict, Metric, Outcome};
use crate::units::format_bytes;
use std::fmt::Write as _;

const W: f64 = 560.0;
const H: f64 = 220.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 34.0;
/// Process colours, by process index (the legend uses the same).
pub const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
];
const LINE: f64 = 1.3;
/// How much wider a line is for each identical line drawn over it.
const BAND: f64 = 2.2;

pub fn color(process: usize) -> &'static str {
    COLORS[process % COLORS.len()]
}

fn fmt_value(metric: Metric, v: f64) -> String {
    if metric.is_bytes() {
        format_bytes(v)
    } else {
        prose::growth(metric, v)
    }
}

/// How many of the series after each one are identical to it.
pub fn identical_after(series: &[Vec<f64>]) -> Vec<usize> {
    (0..series.len())
        .map(|i| series[i + 1..].iter().filter(|s| **s == series[i]).count())
        .collect()
}

/// The chart, and whether every process drew the same line.
pub fn chart(o: &Outcome, counter: &CounterVerdict) -> Option<(String, bool)> {
    let key = counter.metric.key();
    let metric = counter.metric;
    // Each process's samples (its window may be longer than the user's) relative to
    // its first one, with the verdict's fitted line (slope, intercept) on that scale.
    let series: Vec<(Vec<f64>, Vec<f64>, f64, f64)> = o
        .process_details
        .iter()
        .filter_map(|p| Some((o.positions(p), p.series.get(&counter.metric)?)))
        .filter(|(xs, v)| !v.is_empty() && xs.len() == v.len())
        .zip(counter.per_process.iter().zip(&counter.intercepts))
        .map(|((xs, v), (&slope, &b))| {
            let xs = xs.iter().map(|&x| x as f64).collect();
            let ys = v.iter().map(|&y| (y - v[0]) as f64).collect();
            (xs, ys, slope, b - v[0] as f64)
        })
        .collect();
    if series.is_empty() {
        return None;
    }
    let ys: Vec<Vec<f64>> = series.iter().map(|(_, y, _, _)| y.clone()).collect();
    let nested = identical_after(&ys);
    let all_same = series.len() > 1 && nested[0] == series.len() - 1;
    let warm = o.warmup as f64;
    let x_min = -warm;
    let x_max = o.longest_window() as f64;
    let (mut y_min, mut y_max) = ys
        .iter()
        .flatten()
        .filter(|y| y.is_finite())
        .fold((0.0f64, 0.0f64), |(lo, hi), &y| (lo.min(y), hi.max(y)));
    if y_max - y_min < 1.0 {
        y_max += 1.0;
        y_min -= 1.0;
    }
    let px = |x: f64| LEFT + (x - x_min) / (x_max - x_min).max(1.0) * (W - LEFT - RIGHT);
    let py = |y: f64| TOP + (y_max - y) / (y_max - y_min) * (H - TOP - BOTTOM);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{key} against iteration">"#
    );
    // Warm-up, shaded: not measured, so no samples there.
    let _ = write!(
        svg,
        r##"<rect x="{:.1}" y="{TOP}" width="{:.1}" height="{:.1}" fill="#eeeeee"/><text x="{:.1}" y="{:.1}" class="small" text-anchor="middle">warm-up</text>"##,
        px(x_min),
        px(0.0) - px(x_min),
        H - TOP - BOTTOM,
        (px(x_min) + px(0.0)) / 2.0,
        TOP + 12.0
    );
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#999"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{:.1}" stroke="#999"/>"##,
        H - BOTTOM,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
    for (y, anchor) in [(y_max, "top"), (0.0, "zero"), (y_min, "bottom")] {
        if anchor == "zero" && (y_max == 0.0 || y_min == 0.0) {
            continue;
        }
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" class="small" text-anchor="end">{}</text><line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#ddd" stroke-dasharray="2,3"/>"##,
            LEFT - 4.0,
            py(y) + 4.0,
            esc(&format!("{:+}", fmt_value(metric, y))),
            py(y),
            W - RIGHT,
            py(y)
        );
    }
    for (x, label) in [
        (x_min, format!("-{}", o.warmup)),
        (0.0, "0".into()),
        (x_max, format!("{x_max:.0}")),
    ] {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" class="small" text-anchor="middle">{label}</text>"#,
            px(x),
            H - BOTTOM + 14.0
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" class="small" text-anchor="middle">iteration</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 4.0
    );
    for (i, (xf, ys, slope, b)) in series.iter().enumerate() {
        let c = color(i);
        let width = LINE + BAND * nested[i] as f64;
        let points: Vec<String> = xf
            .iter()
            .zip(ys)
            .map(|(&x, &y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{c}" stroke-width="{width:.1}" stroke-linejoin="round" points="{}"><title>process {}</title></polyline>"#,
            points.join(" "),
            i + 1
        );
        // The fitted growth the verdict used, over the second half of its window.
        let (slope, b) = (*slope, *b);
        let half = counter.fit_from.min(xf.len() - 1);
        let x_end = xf[xf.len() - 1];
        if !(slope.is_finite() && b.is_finite()) {
            continue;
        }
        let _ = write!(
            svg,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{c}" stroke-width="2" stroke-dasharray="6,4" opacity="0.7"><title>fit: {}/iteration</title></line>"#,
            px(xf[half]),
            py(slope * xf[half] + b),
            px(x_end),
            py(slope * x_end + b),
            esc(&fmt_value(metric, slope))
        );
    }
    svg.push_str("</svg>");
    Some((svg, all_same))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_series_are_counted_so_each_can_show() {
        let a = vec![0.0, 1.0];
        let b = vec![0.0, 2.0];
        assert_eq!(
            identical_after(&[a.clone(), b.clone(), a.clone(), a]),
            vec![2, 0, 1, 0]
        );
        assert_eq!(identical_after(&[b]), vec![0]);
    }
}
