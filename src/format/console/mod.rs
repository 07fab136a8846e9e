//! The console: one line per scenario as its verdict is known (`line`), and at the
//! end the table of every scenario (`table` fits it to the terminal), the details
//! of what did not pass, and a one-line summary. Colour only when asked (a
//! terminal without NO_COLOR). Everything a scenario produced is made printable
//! first: no escape sequence of a scenario's reaches the terminal.

mod line;
mod table;

pub use line::scenario_line;

use crate::report::prose;
use crate::report::{
    BaselineResult, Change, Check, CounterVerdict, Metric, Outcome, RunReport, Spread,
    DEFAULT_METRICS,
};
use crate::text::{capped, one_line, printable, truncate_end, wrap};
use crate::units::{format_bytes, format_duration};
use line::result_label;
use std::io::{self, Write};
use table::Column;

const SHOWN_OUTPUT: usize = 8 * 1024;
const SHOWN_LINES: usize = 30;

/// Width of the console when it is not a terminal and COLUMNS does not say: CI
/// logs are read in browsers, wider than a terminal's 80.
pub const DEFAULT_WIDTH: usize = 120;

#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// Columns of text per line: no table row or streamed line is wider.
    pub width: usize,
    /// Wrap notes and details at the width too (on a terminal). A log keeps them
    /// whole, one line each, for grep; its viewer wraps.
    pub wrap: bool,
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
    /// `text` in the colour of a scenario's status.
    fn status(&self, check: Check, text: &str) -> String {
        match check {
            Check::Passed => self.green(text),
            Check::Failed | Check::Errored => self.red(text),
            Check::Inconclusive | Check::NotRun => self.yellow(text),
        }
    }
}

/// A counter's growth: the median, and the range across processes when they differ
/// (the compact form leaves the range out).
fn growth_cell(c: Option<&CounterVerdict>) -> (String, String) {
    let Some(c) = c else {
        return ("-".into(), "-".into());
    };
    let med = prose::growth(c.metric, c.median);
    if c.min == c.max {
        (med.clone(), med)
    } else {
        let bound = |v: f64| prose::growth(c.metric, v);
        (format!("{med} ({}..{})", bound(c.min), bound(c.max)), med)
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

fn same(s: String) -> (String, String) {
    (s.clone(), s)
}

pub fn write_report(w: &mut dyn Write, report: &RunReport, style: Style) -> io::Result<()> {
    let metrics: Vec<Metric> = {
        let mut m: Vec<Metric> = report
            .outcomes
            .iter()
            .flat_map(|o| o.analysis.counters.iter().map(|c| c.metric))
            .collect();
        if m.is_empty() {
            m = DEFAULT_METRICS.to_vec();
        }
        m.sort();
        m.dedup();
        // Resource counts get a column only when one moved (Outcome::shown_counters).
        m.retain(|&metric| {
            !metric.is_count()
                || report
                    .outcomes
                    .iter()
                    .any(|o| o.shown_counters().iter().any(|c| c.metric == metric))
        });
        m
    };
    let outcomes = &report.outcomes;
    let column = |header: &str, cells: Vec<(String, String)>, drop: Option<u8>| Column {
        header: header.to_owned(),
        cells,
        drop_priority: drop,
        shrinks: false,
    };
    let mut columns = vec![Column {
        header: "SCENARIO".into(),
        cells: outcomes.iter().map(|o| same(one_line(&o.name))).collect(),
        drop_priority: None,
        shrinks: true,
    }];
    for m in &metrics {
        columns.push(column(
            &format!("{}/IT", m.key().to_uppercase()),
            outcomes
                .iter()
                .map(|o| growth_cell(o.counter(*m)))
                .collect(),
            // RSS decides only on a growth confirmed over a longer window (and
            // then the result and details say so): the first column to give way.
            (*m == Metric::Rss).then_some(0),
        ));
    }
    columns.push(column(
        "PEAK",
        outcomes
            .iter()
            .map(|o| same(spread_bytes(o.peak_rss)))
            .collect(),
        Some(2),
    ));
    columns.push(column(
        "TIME/IT",
        outcomes
            .iter()
            .map(|o| same(time_cell(o.time_per_iteration)))
            .collect(),
        Some(1),
    ));
    if outcomes.iter().any(|o| o.baseline.is_some()) {
        columns.push(column(
            "BASELINE",
            outcomes
                .iter()
                .map(|o| baseline_cell(o.baseline.as_ref()))
                .collect(),
            None,
        ));
    }
    let labels: Vec<(String, Check)> = outcomes.iter().map(result_label).collect();
    columns.push(column(
        "RESULT",
        labels
            .iter()
            .map(|(l, _)| (l.clone(), l.replace("ok (leak expected)", "ok (expected)")))
            .collect(),
        None,
    ));
    let fitted = table::fit(&columns, style.width);
    writeln!(w, "{}", style.bold(&fitted.header))?;
    for ((text, last), (_, check)) in fitted.rows.iter().zip(&labels) {
        writeln!(w, "{text}{}", style.status(*check, last))?;
    }
    if !fitted.dropped.is_empty() {
        writeln!(
            w,
            "{}",
            style.dim(&truncate_end(
                &format!(
                    "({} left out to fit {} columns)",
                    fitted.dropped.join(", "),
                    style.width
                ),
                style.width
            ))
        )?;
    }

    let troubled: Vec<&Outcome> = report
        .outcomes
        .iter()
        .filter(|o| !matches!(o.status(), Check::Passed | Check::NotRun))
        .collect();
    for o in &troubled {
        writeln!(w)?;
        let heading = format!("--- {} ({}) ---", o.name, o.file.display());
        say(w, &style, &heading, |t| style.bold(t))?;
        write_details(w, o, &style)?;
    }
    let improved: Vec<(&Outcome, String)> = report
        .outcomes
        .iter()
        .flat_map(|o| {
            let b = o.baseline.as_ref();
            b.map(|b| b.with(Change::Improved))
                .unwrap_or_default()
                .into_iter()
                .map(move |c| (o, prose::describe(c)))
        })
        .collect();
    if !improved.is_empty() {
        writeln!(w)?;
        for (o, line) in &improved {
            let text = format!("improved: {}: {line}", o.name);
            say(w, &style, &text, |t| style.green(t))?;
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
        let text = format!(
            "note: no baseline in {env} for {} scenario(s): {} (record with `memreg baseline update`)",
            missing.len(),
            missing.join(", ")
        );
        say(w, &style, &text, |t| style.dim(t))?;
    }
    let notes: Vec<String> = {
        let mut n: Vec<String> = report.outcomes.iter().flat_map(prose::notes).collect();
        n.sort();
        n.dedup();
        n
    };
    for n in notes {
        say(w, &style, &format!("note: {n}"), |t| style.dim(t))?;
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
    if c.not_run > 0 {
        parts.push(format!("{} not run", c.not_run));
    }
    let summary = format!(
        "{} scenario{}: {} in {}",
        report.outcomes.len(),
        if report.outcomes.len() == 1 { "" } else { "s" },
        parts.join(", "),
        format_duration(report.elapsed)
    );
    writeln!(w)?;
    if report.passed() {
        say(w, &style, &summary, |t| style.green(t))?;
    } else {
        say(w, &style, &summary, |t| style.red(t))?;
    }
    if report.interrupted {
        let text = "interrupted: results are incomplete (scenarios not run have no verdict)";
        say(w, &style, text, |t| style.red(t))?;
    }
    Ok(())
}

/// Writes `text` (anything a scenario may have produced) as printable lines, each
/// painted, wrapped to the width when the style says so.
fn say(
    w: &mut dyn Write,
    style: &Style,
    text: &str,
    paint: impl Fn(&str) -> String,
) -> io::Result<()> {
    for line in printable(text).replace('\t', "    ").lines() {
        if !style.wrap {
            writeln!(w, "{}", paint(line))?;
            continue;
        }
        for part in wrap(line, style.width) {
            writeln!(w, "{}", paint(&part))?;
        }
    }
    Ok(())
}

/// The baseline comparison in a cell; the compact form leaves out how many more
/// figures moved.
fn baseline_cell(b: Option<&BaselineResult>) -> (String, String) {
    let Some(b) = b else { return same("-".into()) };
    match b {
        BaselineResult::Missing { .. } => same("none".into()),
        BaselineResult::SettingsDiffer { .. } => same("not comparable".into()),
        BaselineResult::Compared { .. } => {
            let pick = |want: Change, label: &str| -> Option<(String, String)> {
                let found = b.with(want);
                let first = found.first()?;
                let pct = first
                    .change_percent()
                    .filter(|p| p.is_finite())
                    .map_or(String::new(), |p| format!(" {p:+.0}%"));
                let short = format!("{label} {}{pct}", first.figure.key());
                let full = if found.len() > 1 {
                    format!("{short} +{}", found.len() - 1)
                } else {
                    short.clone()
                };
                Some((full, short))
            };
            pick(Change::Regressed, "REGRESSED")
                .or_else(|| pick(Change::Inconclusive, "inconclusive"))
                .or_else(|| pick(Change::Improved, "improved"))
                .unwrap_or_else(|| same("ok".into()))
        }
    }
}

fn write_details(w: &mut dyn Write, o: &Outcome, style: &Style) -> io::Result<()> {
    let plain = |t: &str| t.to_owned();
    for l in prose::detail_lines(o) {
        say(w, style, &l, plain)?;
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
                say(w, style, &format!("  | {l}"), plain)?;
            }
        }
    }
    Ok(())
}
