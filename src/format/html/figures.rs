//! A scenario's comparison with its baseline: one row per compared figure with old
//! -> new, the estimated change, its 95% interval, p and the status, and a small
//! chart of the per-process values, old beside new.

use super::esc;
use crate::report::prose;
use crate::report::{BaselineResult, Change, FigureComparison, Outcome};
use std::fmt::Write as _;

const W: f64 = 150.0;
const H: f64 = 56.0;
const PAD: f64 = 6.0;

fn change_class(c: Change) -> &'static str {
    match c {
        Change::Regressed => "fail",
        Change::Improved => "pass",
        Change::Unchanged => "muted",
        Change::Inconclusive => "inconclusive",
    }
}

/// Per-process values as dots: the baseline's on the left (grey), this run's on the
/// right (in the status colour), a tick at each median, on one scale.
fn strip(c: &FigureComparison) -> String {
    let all = c.old.iter().chain(&c.new).map(|&v| v as f64);
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (0.0, 1.0)
    };
    let y = |v: f64| PAD + (hi - v) / (hi - lo) * (H - 2.0 * PAD);
    let new_colour = match c.status {
        Change::Regressed => "#cf222e",
        Change::Improved => "#1a7f37",
        Change::Inconclusive => "#9a6700",
        Change::Unchanged => "#1f77b4",
    };
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="strip" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{} per process: baseline and now">"#,
        esc(c.figure.key())
    );
    for (values, median, x, colour, label) in [
        (&c.old, c.old_median, W * 0.25, "#8c8c8c", "baseline"),
        (&c.new, c.new_median, W * 0.62, new_colour, "now"),
    ] {
        let _ = write!(
            svg,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"><title>{label} median {}</title></line>"##,
            x - 14.0,
            y(median),
            x + 14.0,
            y(median),
            esc(&prose::figure_value(c.figure, median))
        );
        // Equal values side by side, so five identical processes show five dots.
        let n = values.len().max(1) as f64;
        for (i, &v) in values.iter().enumerate() {
            let dx = (i as f64 - (n - 1.0) / 2.0) * 4.0;
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="2.6" fill="{colour}"><title>{label}, process {}: {}</title></circle>"#,
                x + dx,
                y(v as f64),
                i + 1,
                esc(&prose::figure_value(c.figure, v as f64))
            );
        }
    }
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" class="small" text-anchor="middle">old</text><text x="{:.1}" y="{:.1}" class="small" text-anchor="middle">new</text></svg>"#,
        W * 0.25 - 24.0,
        H / 2.0 + 3.0,
        W * 0.62 + 30.0,
        H / 2.0 + 3.0
    );
    svg
}

/// The baseline section of a scenario (nothing when it was not compared).
pub fn section(o: &Outcome) -> String {
    let mut h = String::new();
    match &o.baseline {
        None => {}
        Some(BaselineResult::Compared {
            environment,
            figures,
            ..
        }) => {
            let _ = write!(
                h,
                "<table class=\"figures\"><caption>baseline ({})</caption><tr><th>figure</th><th>old -&gt; new</th><th>change</th><th>95% interval</th><th>p</th><th>status</th><th>per process (old, new)</th></tr>",
                esc(environment)
            );
            for c in figures {
                let note = prose::comparison_note(c)
                    .map(|n| format!("<br/><span class=\"muted\">{}</span>", esc(n)))
                    .unwrap_or_default();
                let status = match prose::inconclusive_change(c) {
                    Some(why) => format!("inconclusive: {why}"),
                    None => prose::change_word(c.status).to_owned(),
                };
                let _ = write!(
                    h,
                    "<tr><td>{fig}</td><td>{old} -&gt; {new}</td><td>{chg}</td><td>{ci}</td><td>{p}</td><td class=\"{cls}\">{status}{note}</td><td>{svg}</td></tr>",
                    cls = change_class(c.status),
                    fig = esc(c.figure.key()),
                    old = esc(&prose::figure_value(c.figure, c.old_median)),
                    new = esc(&prose::figure_value(c.figure, c.new_median)),
                    chg = esc(&prose::change(c)),
                    ci = esc(&prose::interval(c).unwrap_or_else(|| "-".into())),
                    p = c.p_value.map_or("exact".into(), |p| format!("{p:.4}")),
                    status = esc(&status),
                    svg = strip(c),
                );
            }
            h.push_str("</table>");
        }
        Some(b) => {
            let _ = write!(
                h,
                "<p class=\"{}\">baseline: {}</p>",
                if b.failed() { "fail" } else { "muted" },
                esc(&prose::baseline_summary(o, b))
            );
        }
    }
    h
}
