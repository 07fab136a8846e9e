//! `--html PATH`: one self-contained file (inline CSS and SVG; no scripts, no
//! network fetches). A summary table (with the baseline result), then a section
//! per scenario: one line for a scenario that passed, its charts folded away in
//! `<details>`; failures open, with a chart per counter of every process's value
//! against iteration (`chart`), the comparison with the baseline figure by figure
//! (`figures`), the failure details and the attribution tables.
//!
//! The markup is well-formed XML (XHTML syntax) so tests can parse it strictly.

mod chart;
mod figures;

use crate::report::prose;
use crate::report::{BaselineResult, Change, Check, Metric, Outcome, RunReport};
use crate::text::{capped, printable};
use crate::units::format_bytes;
use std::fmt::Write as _;
use std::io::Write;

pub fn esc(s: &str) -> String {
    printable(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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

/// The baseline result in a few words: `regressed held_native +30.0%`, `ok`, ...
fn baseline_cell(o: &Outcome) -> String {
    match &o.baseline {
        None => "-".into(),
        Some(BaselineResult::Missing { .. }) => "none".into(),
        Some(BaselineResult::SettingsDiffer { .. }) => "not comparable".into(),
        Some(b) => {
            let pick = |want: Change| {
                b.with(want).first().map(|f| {
                    format!(
                        "{} {} {}",
                        prose::change_word(want),
                        f.figure.key(),
                        prose::change(f)
                    )
                })
            };
            pick(Change::Regressed)
                .or_else(|| pick(Change::Inconclusive))
                .or_else(|| pick(Change::Improved))
                .unwrap_or_else(|| "ok".into())
        }
    }
}

fn growth(o: &Outcome, m: Metric) -> String {
    o.counter(m)
        .map_or("-".into(), |c| prose::growth(c.metric, c.median))
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}\
h1{font-size:22px}table{border-collapse:collapse;margin:8px 0}\
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}caption{text-align:left;font-weight:bold;padding:4px 0}\
th{background:#f6f6f6}.pass{color:#1a7f37}.fail,.error{color:#cf222e;font-weight:bold}.inconclusive{color:#9a6700}.not-run{color:#6e7781;font-style:italic}\
.scenario{border-top:1px solid #ddd;padding:4px 0}.scenario summary{cursor:pointer;font-size:15px}\
.scenario[open]>summary{font-size:17px;margin-bottom:6px}.label{display:inline-block;min-width:84px}\
.charts{display:flex;flex-wrap:wrap;gap:10px}figure{margin:0}figcaption{font-size:13px}.chart{border:1px solid #eee;background:#fff}.small{font-size:10px;fill:#555}\
.legend{font-size:12px;margin:4px 0}.swatch{display:inline-block;width:18px;height:4px;margin:0 4px 2px 10px;vertical-align:middle}\
pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:12px}.muted{color:#666}";

fn legend(o: &Outcome) -> String {
    let mut h = String::from("<div class=\"legend\">processes:");
    for i in 0..o.process_details.len() {
        let _ = write!(
            h,
            "<span class=\"swatch\" style=\"background:{}\"></span>{}",
            chart::color(i),
            i + 1
        );
    }
    h.push_str(" <span class=\"muted\">(solid: value; dashed: fitted growth)</span></div>");
    h
}

fn charts(o: &Outcome) -> String {
    let mut h = String::from("<div class=\"charts\">");
    for counter in o.shown_counters() {
        if let Some((svg, same)) = chart::chart(o, counter) {
            let same = if same {
                format!(
                    "; all {} processes identical, drawn as nested bands",
                    o.process_details.len()
                )
            } else {
                String::new()
            };
            let _ = write!(
                h,
                "<figure><figcaption>{} (growth {}/it, {}/{} processes growing{same})</figcaption>{svg}</figure>",
                esc(counter.metric.label()),
                esc(&prose::growth(counter.metric, counter.median)),
                counter.agreeing,
                counter.processes
            );
        }
    }
    h.push_str("</div>");
    h
}

fn attribution(o: &Outcome) -> String {
    let mut h = String::new();
    let Some(Ok(a)) = &o.attribution else {
        return h;
    };
    if a.sites.is_empty() {
        h.push_str("<p class=\"muted\">attribution: no Python allocation site kept memory</p>");
    } else {
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
    }
    if !a.types.is_empty() {
        h.push_str("<table><tr><th>growing type (gc)</th><th>per iteration</th><th>before</th><th>after</th><th>held by</th></tr>");
        for t in &a.types {
            let held_by = t
                .held_by
                .as_ref()
                .map_or(String::new(), |c| prose::chain_line(&t.type_name, c));
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{:+.2}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&t.type_name),
                t.per_iteration,
                t.before,
                t.after,
                esc(&held_by)
            );
        }
        h.push_str("</table>");
    }
    h
}

fn scenario(o: &Outcome) -> String {
    let status = o.status();
    let failing = matches!(status, Check::Failed | Check::Errored);
    let mut h = String::new();
    let found = prose::status_line(o).unwrap_or_else(|| {
        let g: Vec<String> = o
            .shown_counters()
            .into_iter()
            .filter(|c| c.gating)
            .map(|c| format!("{} {}", c.metric.key(), prose::growth(c.metric, c.median)))
            .collect();
        format!("growth per iteration: {}", g.join(", "))
    });
    let _ = write!(
        h,
        "<details class=\"scenario\" id=\"s-{id}\"{open}><summary><span class=\"label {cls}\">{word}</span> <b>{name}</b> <span class=\"muted\">{found}</span></summary>",
        id = anchor(&o.name),
        open = if failing { " open=\"open\"" } else { "" },
        cls = status_class(status),
        word = prose::result_word(o),
        name = esc(&o.name),
        found = esc(&found),
    );
    let _ = write!(
        h,
        "<p class=\"muted\">{} &#8226; {} iterations after {} warm-up &#8226; {} processes</p>",
        esc(&o.file.display().to_string()),
        o.iterations,
        o.warmup,
        o.processes
    );
    if let Some(d) = &o.description {
        let _ = write!(h, "<p>{}</p>", esc(d));
    }
    // The baseline first: when it regressed, that is what the reader came for.
    h.push_str(&figures::section(o));
    if !o.analysis.counters.is_empty() {
        h.push_str(&legend(o));
        h.push_str(&charts(o));
    }
    if !matches!(status, Check::Passed) {
        let _ = write!(h, "<pre>{}</pre>", esc(&prose::detail_lines(o).join("\n")));
    }
    h.push_str(&attribution(o));
    if let Some(out) = &o.output {
        let _ = write!(
            h,
            "<details><summary>captured output</summary><pre>{}</pre></details>",
            esc(&capped(out, 16 * 1024))
        );
    }
    h.push_str("</details>");
    h
}

pub fn render(run: &RunReport) -> String {
    let c = run.counts();
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head><meta charset=\"utf-8\"/><title>memreg report</title><style>");
    h.push_str(STYLE);
    h.push_str("</style></head><body>");
    let not_run = if c.not_run > 0 {
        format!(", {} not run", c.not_run)
    } else {
        String::new()
    };
    let _ = write!(
        h,
        "<h1>memreg: {} scenarios: {} passed, {} failed, {} errored, {} inconclusive{not_run}</h1>",
        run.outcomes.len(),
        c.passed,
        c.failed,
        c.errored,
        c.inconclusive
    );
    if run.interrupted {
        h.push_str("<p class=\"fail\">interrupted: scenarios marked not run have no verdict</p>");
    }
    h.push_str("<table><tr><th>scenario</th><th>file</th><th>blocks/it</th><th>native/it</th><th>peak RSS</th><th>baseline</th><th>result</th></tr>");
    for o in &run.outcomes {
        let status = o.status();
        let result = prose::status_line(o).unwrap_or_else(|| prose::result_word(o).to_owned());
        let bcls = match o.baseline.as_ref() {
            Some(b) if b.failed() => "fail",
            Some(b) if !b.with(Change::Improved).is_empty() => "pass",
            _ => "",
        };
        let _ = write!(
            h,
            "<tr><td><a href=\"#s-{id}\">{name}</a></td><td>{file}</td><td>{b}</td><td>{n}</td><td>{p}</td><td class=\"{bcls}\">{base}</td><td class=\"{cls}\">{res}</td></tr>",
            id = anchor(&o.name),
            name = esc(&o.name),
            file = esc(&o.file.display().to_string()),
            b = esc(&growth(o, Metric::Blocks)),
            n = esc(&growth(o, Metric::Native)),
            p = o.peak_rss.map_or("-".into(), |p| format_bytes(p.median)),
            base = esc(&baseline_cell(o)),
            cls = status_class(status),
            res = esc(&result),
        );
    }
    h.push_str("</table>");
    for o in &run.outcomes {
        h.push_str(&scenario(o));
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
