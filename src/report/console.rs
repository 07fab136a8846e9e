//! The terminal table: one row per scenario, then details for what did not pass,
//! then a one-line summary. Colour only when asked (a terminal without NO_COLOR).

use super::{capped, printable, Outcome, RunReport, Spread};
use crate::baseline::compare::Change;
use crate::baseline::BaselineResult;
use crate::scenario::{Expect, Metric};
use crate::units::{format_bytes, format_duration};
use crate::verdict::{format_growth, leak_line, Check, CounterVerdict, Verdict};
use std::io::{self, Write};

const SHOWN_OUTPUT: usize = 8 * 1024;
const SHOWN_LINES: usize = 30;

#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_owned()
        }
    }
    fn red(&self, t: &str) -> String {
        self.paint("1;31", t)
    }
    fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }
    fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }
    fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
}

fn result_label(o: &Outcome) -> (String, Check) {
    let check = o.status();
    if o.analysis.check != Check::Failed && check == Check::Failed {
        let label = match &o.baseline {
            Some(BaselineResult::Compared { .. }) => "REGRESSED",
            _ => "NO BASELINE",
        };
        return (label.to_owned(), check);
    }
    let label = match (&o.analysis.verdict, o.expect, check) {
        (Verdict::Leak, Expect::Leak, _) => "ok (leak expected)".to_owned(),
        (Verdict::Leak, _, _) => "LEAK".to_owned(),
        (Verdict::Clean, Expect::Leak, _) => "FAIL (no leak)".to_owned(),
        (Verdict::Clean, _, _) => "ok".to_owned(),
        (Verdict::Inconclusive { .. }, _, _) => "inconclusive".to_owned(),
        (Verdict::Error, _, _) => match o.faults.first() {
            Some((_, f)) => format!("ERROR {}", f.kind()),
            None => "ERROR".to_owned(),
        },
    };
    (label, check)
}

fn growth_cell(c: Option<&CounterVerdict>) -> String {
    let Some(c) = c else { return "-".to_owned() };
    let med = format_growth(c.metric, c.median);
    if c.min == c.max {
        med
    } else {
        let bound = |v: f64| {
            if c.metric.is_bytes() {
                format_bytes(v)
            } else {
                format!("{v:.2}")
            }
        };
        format!(
            "{med} ({}..{})",
            bound(c.min).trim_end_matches(" B"),
            bound(c.max)
        )
    }
}

fn spread_bytes(s: Option<Spread>) -> String {
    s.map_or("-".into(), |s| format_bytes(s.median))
}

fn time_cell(s: Option<Spread>) -> String {
    let Some(s) = s else { return "-".into() };
    let t = s.median;
    if t < 1e-6 {
        format!("{:.0} ns", t * 1e9)
    } else if t < 1e-3 {
        format!("{:.1} µs", t * 1e6)
    } else {
        format!("{:.2} ms", t * 1e3)
    }
}

pub fn write_report(w: &mut dyn Write, report: &RunReport, style: Style) -> io::Result<()> {
    let metrics: Vec<Metric> = {
        let mut m: Vec<Metric> = report
            .outcomes
            .iter()
            .flat_map(|o| o.analysis.counters.iter().map(|c| c.metric))
            .collect();
        if m.is_empty() {
            m = crate::scenario::defaults::METRICS.to_vec();
        }
        m.sort();
        m.dedup();
        m
    };
    let mut header = vec!["SCENARIO".to_owned()];
    header.extend(
        metrics
            .iter()
            .map(|m| format!("{}/IT", m.key().to_uppercase())),
    );
    header.extend(["PEAK".into(), "TIME/IT".into()]);
    let with_baseline = report.outcomes.iter().any(|o| o.baseline.is_some());
    if with_baseline {
        header.push("BASELINE".into());
    }
    header.push("RESULT".into());
    let mut rows: Vec<(Vec<String>, Check)> = Vec::new();
    for o in &report.outcomes {
        let mut row = vec![o.name.clone()];
        for m in &metrics {
            row.push(growth_cell(
                o.analysis.counters.iter().find(|c| c.metric == *m),
            ));
        }
        row.push(spread_bytes(o.peak_rss));
        row.push(time_cell(o.time_per_iteration));
        if with_baseline {
            row.push(baseline_cell(o.baseline.as_ref()));
        }
        let (label, check) = result_label(o);
        row.push(label);
        rows.push((row, check));
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|(r, _)| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    writeln!(w, "{}", style.bold(line(&header).trim_end()))?;
    for (row, check) in &rows {
        let (last, cells) = row.split_last().expect("row has a result");
        let mut text = line(cells);
        text.push_str("  ");
        let painted = match check {
            Check::Passed => style.green(last),
            Check::Failed | Check::Errored => style.red(last),
            Check::Inconclusive => style.yellow(last),
        };
        writeln!(w, "{text}{painted}")?;
    }

    let troubled: Vec<&Outcome> = report
        .outcomes
        .iter()
        .filter(|o| o.status() != Check::Passed)
        .collect();
    for o in &troubled {
        writeln!(w)?;
        writeln!(
            w,
            "{}",
            style.bold(&format!("--- {} ({}) ---", o.name, o.file.display()))
        )?;
        write_details(w, o)?;
    }
    let improved: Vec<(&Outcome, String)> = report
        .outcomes
        .iter()
        .flat_map(|o| {
            let b = o.baseline.as_ref();
            b.map(|b| b.with(|c| c == &Change::Improved))
                .unwrap_or_default()
                .into_iter()
                .map(move |c| (o, c.describe()))
        })
        .collect();
    if !improved.is_empty() {
        writeln!(w)?;
        for (o, line) in &improved {
            writeln!(
                w,
                "{}",
                style.green(&format!("improved: {}: {line}", o.name))
            )?;
        }
        writeln!(w, "  record improvements with `memreg baseline update`")?;
    }
    let missing: Vec<&str> = report
        .outcomes
        .iter()
        .filter(|o| {
            matches!(
                o.baseline,
                Some(BaselineResult::Missing { strict: false, .. })
            )
        })
        .map(|o| o.name.as_str())
        .collect();
    if !missing.is_empty() {
        let env = report
            .outcomes
            .iter()
            .find_map(|o| o.environment())
            .unwrap_or_default();
        writeln!(
            w,
            "{}",
            style.dim(&format!(
                "note: no baseline in {env} for {} scenario(s): {} (record with `memreg baseline update`)",
                missing.len(),
                missing.join(", ")
            ))
        )?;
    }
    let notes: Vec<&String> = {
        let mut n: Vec<&String> = report.outcomes.iter().flat_map(|o| &o.notes).collect();
        n.sort();
        n.dedup();
        n
    };
    for n in notes {
        writeln!(w, "{}", style.dim(&format!("note: {n}")))?;
    }
    let c = report.counts();
    let mut parts = vec![format!("{} passed", c.passed)];
    if c.failed > 0 {
        parts.push(format!("{} failed", c.failed));
    }
    if c.errored > 0 {
        parts.push(format!("{} errored", c.errored));
    }
    if c.inconclusive > 0 {
        parts.push(format!("{} inconclusive", c.inconclusive));
    }
    let summary = format!(
        "{} scenario{}: {} in {}",
        report.outcomes.len(),
        if report.outcomes.len() == 1 { "" } else { "s" },
        parts.join(", "),
        format_duration(report.elapsed)
    );
    writeln!(w)?;
    let summary = if report.exit_code() == 0 {
        style.green(&summary)
    } else {
        style.red(&summary)
    };
    writeln!(w, "{summary}")?;
    if report.interrupted {
        writeln!(w, "{}", style.red("interrupted: results are incomplete"))?;
    }
    Ok(())
}

fn baseline_cell(b: Option<&BaselineResult>) -> String {
    let Some(b) = b else { return "-".into() };
    match b {
        BaselineResult::Missing { .. } => "none".into(),
        BaselineResult::SettingsDiffer { .. } => "not comparable".into(),
        BaselineResult::Compared { .. } => {
            let pick = |want: fn(&Change) -> bool, label: &str| -> Option<String> {
                let found = b.with(want);
                let first = found.first()?;
                let pct = first
                    .change_percent()
                    .map_or(String::new(), |p| format!(" {p:+.0}%"));
                let more = if found.len() > 1 {
                    format!(" +{}", found.len() - 1)
                } else {
                    String::new()
                };
                Some(format!("{label} {}{pct}{more}", first.figure.key()))
            };
            pick(|c| c == &Change::Regressed, "REGRESSED")
                .or_else(|| pick(|c| matches!(c, Change::Inconclusive(_)), "inconclusive"))
                .or_else(|| pick(|c| c == &Change::Improved, "improved"))
                .unwrap_or_else(|| "ok".into())
        }
    }
}

/// The lines that explain one scenario's failure; shared with the JUnit body.
pub fn detail_lines(o: &Outcome) -> Vec<String> {
    let mut lines = baseline_lines(o);
    lines.extend(leak_detail_lines(o));
    lines.extend(attribution_lines(o));
    lines
}

/// Where the memory comes from: allocation sites with a short traceback, growing
/// object types, and native growth no Python site accounts for.
pub fn attribution_lines(o: &Outcome) -> Vec<String> {
    let mut lines = Vec::new();
    match &o.attribution {
        None => return lines,
        Some(Err(e)) => {
            lines.push(format!("  where: attribution failed: {e}"));
            return lines;
        }
        Some(Ok(a)) => {
            lines.push(format!(
                "  where (tracemalloc over {} iterations, {} frames):",
                a.iterations, a.frames
            ));
            if a.sites.is_empty() {
                lines.push("    no Python allocation site kept memory".into());
            }
            for site in &a.sites {
                lines.push(format!(
                    "    {}:{}  +{}/it, {:+.2} blocks/it",
                    site.file,
                    site.line,
                    format_bytes(site.bytes_per_iteration),
                    site.blocks_per_iteration
                ));
                lines.extend(
                    short_traceback(site)
                        .into_iter()
                        .map(|l| format!("      {l}")),
                );
            }
            if !a.types.is_empty() {
                let types: Vec<String> = a
                    .types
                    .iter()
                    .map(|t| format!("{} {:+.2}/it", t.type_name, t.per_iteration))
                    .collect();
                lines.push(format!("  growing types (gc): {}", types.join(", ")));
            }
        }
    }
    if let Some((native, traced)) = o.unaccounted_native() {
        lines.push(format!(
            "  native: the native heap grows {}/it but Python allocations account for {}/it: memory allocated outside Python (a C extension, ctypes, a library's malloc)",
            format_bytes(native),
            format_bytes(traced)
        ));
    }
    lines
}

/// The site's source line, where it allocated when that is deeper (a library), and
/// at most two callers.
pub fn short_traceback(site: &crate::probe::Site) -> Vec<String> {
    let tb = &site.traceback;
    let at = tb
        .iter()
        .rposition(|f| f.file == site.file && f.line == site.line);
    let mut lines = Vec::new();
    let Some(at) = at else { return lines };
    if !tb[at].source.is_empty() {
        lines.push(tb[at].source.clone());
    }
    if let Some(inner) = tb.last().filter(|_| at + 1 < tb.len()) {
        lines.push(format!("allocated in {}:{}", inner.file, inner.line));
    }
    for f in tb[..at].iter().rev().take(2) {
        lines.push(format!("called from {}:{}  {}", f.file, f.line, f.source));
    }
    lines
}

/// Baseline problems: missing under --strict, or every regressed figure.
pub fn baseline_lines(o: &Outcome) -> Vec<String> {
    let Some(b) = o.baseline.as_ref().filter(|b| b.failed()) else {
        return vec![];
    };
    let mut lines = vec![b.summary()];
    let regressed = b.with(|c| c == &Change::Regressed);
    if regressed.len() > 1 {
        lines.extend(regressed.iter().map(|c| format!("  {}", c.describe())));
    }
    for c in b.with(|c| matches!(c, Change::Inconclusive(_))) {
        lines.push(format!("  inconclusive: {}", c.describe()));
    }
    lines.push("  if the change is intended, record it with `memreg baseline update` and commit baselines/".into());
    lines
}

fn leak_detail_lines(o: &Outcome) -> Vec<String> {
    if o.analysis.check == Check::Passed && o.baseline.as_ref().is_some_and(|b| b.failed()) {
        return vec![];
    }
    let mut lines = Vec::new();
    if let Some(s) = &o.analysis.summary {
        lines.push(s.clone());
    }
    for c in &o.analysis.counters {
        if c.gating && c.leak && o.analysis.summary.as_deref() != Some(leak_line(c).as_str()) {
            lines.push(leak_line(c));
        }
    }
    for c in &o.analysis.counters {
        let per: Vec<String> = c
            .per_process
            .iter()
            .zip(&c.growing)
            .map(|(g, grows)| {
                format!(
                    "{}{}",
                    format_growth(c.metric, *g),
                    if *grows { "*" } else { "" }
                )
            })
            .collect();
        lines.push(format!(
            "  {:<13} per process: {}{}",
            c.metric.label(),
            per.join(", "),
            if c.gating { "" } else { "  (informational)" }
        ));
    }
    if !o.analysis.counters.is_empty() {
        lines.push(format!(
            "  (* = grew in the second half and in each of its quarters; {} iterations after {} warm-up, tolerance {})",
            o.iterations,
            o.warmup,
            o.tolerance
        ));
    }
    if matches!(o.analysis.verdict, Verdict::Leak) && o.expect == Expect::Pass {
        lines.push("  hint: if this is a cache filling, give it more `warmup:`; if the growth is intended, raise `tolerance:`".into());
    }
    if let Some(d) = o.fault_detail() {
        lines.extend(d.lines().map(|l| format!("  {l}")));
    }
    lines
}

fn write_details(w: &mut dyn Write, o: &Outcome) -> io::Result<()> {
    for l in detail_lines(o) {
        writeln!(w, "{l}")?;
    }
    if let Some(out) = &o.output {
        writeln!(w, "  captured output (first failing process):")?;
        let text = capped(&printable(out), SHOWN_OUTPUT);
        let lines: Vec<&str> = text.lines().collect();
        let n = lines.len();
        for (i, l) in lines.iter().enumerate() {
            if n > SHOWN_LINES && i == SHOWN_LINES / 2 {
                writeln!(
                    w,
                    "  | [... {} lines left out; the JUnit report keeps more ...]",
                    n - SHOWN_LINES
                )?;
            }
            if n <= SHOWN_LINES || i < SHOWN_LINES / 2 || i >= n - SHOWN_LINES / 2 {
                writeln!(w, "  | {l}")?;
            }
        }
    }
    Ok(())
}
