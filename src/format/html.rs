//! `--html PATH`: one self-contained file (inline CSS and SVG; no scripts, no
//! network fetches). For every scenario, a chart per counter of the value against
//! iteration for every process (relative to its first measured sample), the warm-up
//! shaded, and each process's fitted growth (the verdict's Theil-Sen line over the
//! second half) dashed; then the failure details and attribution tables.
//!
//! The markup is well-formed XML (XHTML syntax) so tests can parse it strictly.

use crate::report::prose;
use crate::report::{Check, CounterVerdict, Metric, Outcome, RunReport};
use crate::text::{capped, printable};
use crate::units::format_bytes;
use std::fmt::Write as _;
use std::io::Write;

const W: f64 = 560.0;
const H: f64 = 220.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 34.0;
const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
];

pub fn esc(s: &str) -> String {
    printable(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn fmt_value(bytes: bool, v: f64) -> String {
    if bytes {
        format_bytes(v)
    } else {
        format!("{v:.0} blk")
    }
}

/// One counter's chart for one scenario.
fn chart(o: &Outcome, counter: &CounterVerdict) -> Option<String> {
    let key = counter.metric.key();
    let bytes = counter.metric.is_bytes();
    // Each process's samples (its window may be longer than the user's) relative to
    // its first one, with the verdict's fitted line (slope, intercept) on that scale.
    let series: Vec<(Vec<f64>, Vec<f64>, f64, f64)> = o
        .process_details
        .iter()
        .filter_map(|p| Some((o.positions(p), p.series.get(&counter.metric)?)))
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
    let warm = o.warmup as f64;
    let x_min = -warm;
    let x_max = o.longest_window() as f64;
    let (mut y_min, mut y_max) = series
        .iter()
        .flat_map(|(_, ys, _, _)| ys)
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
    // Axes and labels.
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
            esc(&format!("{:+}", fmt_value(bytes, y))),
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
    let half = counter.fit_from;
    for (i, (xf, ys, slope, b)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points: Vec<String> = xf
            .iter()
            .zip(ys)
            .map(|(&x, &y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{color}" stroke-width="1.3" points="{}"><title>process {}</title></polyline>"#,
            points.join(" "),
            i + 1
        );
        // The fitted growth the verdict used, over the second half of its window.
        let (slope, b, x_end) = (*slope, *b, xf[xf.len() - 1]);
        let _ = write!(
            svg,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="2" stroke-dasharray="6,4" opacity="0.7"><title>fit: {}/iteration</title></line>"#,
            px(xf[half]),
            py(slope * xf[half] + b),
            px(x_end),
            py(slope * x_end + b),
            esc(&fmt_value(bytes, slope))
        );
    }
    svg.push_str("</svg>");
    Some(svg)
}

fn status_class(c: Check) -> &'static str {
    match c {
        Check::Passed => "pass",
        Check::Failed => "fail",
        Check::Errored => "error",
        Check::Inconclusive => "inconclusive",
        Check::NotRun => "not-run",
    }
}

pub fn render(run: &RunReport) -> String {
    let c = run.counts();
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head><meta charset=\"utf-8\"/><title>memreg report</title><style>");
    h.push_str(
        "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}\
         h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}\
         table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}\
         th{background:#f6f6f6}.pass{color:#1a7f37}.fail,.error{color:#cf222e;font-weight:bold}.inconclusive{color:#9a6700}\
         .charts{display:flex;flex-wrap:wrap;gap:10px}figure{margin:0}figcaption{font-size:13px}.chart{border:1px solid #eee;background:#fff}.small{font-size:10px;fill:#555}\
         pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:12px}.muted{color:#666}",
    );
    h.push_str("</style></head><body>");
    let _ = write!(
        h,
        "<h1>memreg: {} scenarios: {} passed, {} failed, {} errored, {} inconclusive</h1>",
        run.outcomes.len(),
        c.passed,
        c.failed,
        c.errored,
        c.inconclusive
    );
    h.push_str("<table><tr><th>scenario</th><th>file</th><th>blocks/it</th><th>native/it</th><th>peak RSS</th><th>result</th></tr>");
    for o in &run.outcomes {
        let g = |m: Metric| {
            o.counter(m)
                .map_or("-".into(), |c| prose::growth(c.metric, c.median))
        };
        let status = o.status();
        let _ = write!(
            h,
            "<tr><td><a href=\"#s-{id}\">{name}</a></td><td>{file}</td><td>{b}</td><td>{n}</td><td>{p}</td><td class=\"{cls}\">{res}</td></tr>",
            id = anchor(&o.name),
            name = esc(&o.name),
            file = esc(&o.file.display().to_string()),
            b = esc(&g(Metric::Blocks)),
            n = esc(&g(Metric::Native)),
            p = o.peak_rss.map_or("-".into(), |p| format_bytes(p.median)),
            cls = status_class(status),
            res = esc(prose::summary(o).as_deref().filter(|_| status != Check::Passed).unwrap_or("ok")),
        );
    }
    h.push_str("</table>");
    for o in &run.outcomes {
        let status = o.status();
        let _ = write!(
            h,
            "<h2 id=\"s-{}\">{} <span class=\"{}\">{}</span></h2><p class=\"muted\">{} &#8226; {} iterations after {} warm-up &#8226; {} processes</p>",
            anchor(&o.name),
            esc(&o.name),
            status_class(status),
            status_class(status),
            esc(&o.file.display().to_string()),
            o.iterations,
            o.warmup,
            o.processes
        );
        if let Some(d) = &o.description {
            let _ = write!(h, "<p>{}</p>", esc(d));
        }
        h.push_str("<div class=\"charts\">");
        for counter in &o.analysis.counters {
            if let Some(svg) = chart(o, counter) {
                let _ = write!(
                    h,
                    "<figure><figcaption>{} (growth {}/it, {}/{} processes growing)</figcaption>{svg}</figure>",
                    esc(counter.metric.label()),
                    esc(&prose::growth(counter.metric, counter.median)),
                    counter.agreeing,
                    counter.processes
                );
            }
        }
        h.push_str("</div>");
        if status != Check::Passed {
            let _ = write!(h, "<pre>{}</pre>", esc(&prose::detail_lines(o).join("\n")));
        }
        if let Some(Ok(a)) = &o.attribution {
            h.push_str("<table><tr><th>allocation site</th><th>bytes/it</th><th>blocks/it</th><th>traceback (innermost last)</th></tr>");
            for s in &a.sites {
                let tb: Vec<String> = s
                    .traceback
                    .iter()
                    .map(|f| format!("{}:{}  {}", f.file, f.line, f.source))
                    .collect();
                let _ = write!(
                    h,
                    "<tr><td>{}:{}</td><td>{}</td><td>{:.2}</td><td><pre>{}</pre></td></tr>",
                    esc(&s.file),
                    s.line,
                    esc(&format_bytes(s.bytes_per_iteration)),
                    s.blocks_per_iteration,
                    esc(&tb.join("\n"))
                );
            }
            h.push_str("</table>");
            if !a.types.is_empty() {
                h.push_str("<table><tr><th>growing type (gc)</th><th>per iteration</th><th>before</th><th>after</th></tr>");
                for t in &a.types {
                    let _ = write!(
                        h,
                        "<tr><td>{}</td><td>{:+.2}</td><td>{}</td><td>{}</td></tr>",
                        esc(&t.type_name),
                        t.per_iteration,
                        t.before,
                        t.after
                    );
                }
                h.push_str("</table>");
            }
        }
        if let Some(out) = &o.output {
            let _ = write!(
                h,
                "<details><summary>captured output</summary><pre>{}</pre></details>",
                esc(&capped(out, 16 * 1024))
            );
        }
    }
    h.push_str("</body></html>\n");
    h
}

fn anchor(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

pub fn write(w: &mut dyn Write, run: &RunReport) -> std::io::Result<()> {
    w.write_all(render(run).as_bytes())
}
