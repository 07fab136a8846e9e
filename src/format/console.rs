//! The terminal table: one row per scenario, then details for what did not pass,
//! then a one-line summary. Colour only when asked (a terminal without NO_COLOR).

use crate::report::prose;
use crate::report::{
    BaselineResult, Change, Check, CounterVerdict, Expect, Metric, Outcome, RunReport, Spread,
    Verdict, DEFAULT_METRICS,
};
use crate::text::{capped, printable};
use crate::units::{format_bytes, format_duration};
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
        (Verdict::Inconclusive, _, _) => "inconclusive".to_owned(),
        (Verdict::Error, _, _) => match o.faults.first() {
            Some((_, f)) => format!("ERROR {}", f.kind().as_str()),
            None => "ERROR".to_owned(),
        },
    };
    (label, check)
}

fn growth_cell(c: Option<&CounterVerdict>) -> String {
    let Some(c) = c else { return "-".to_owned() };
    let med = prose::growth(c.metric, c.median);
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
            m = DEFAULT_METRICS.to_vec();
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
            row.push(growth_cell(o.counter(*m)));
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
            b.map(|b| b.with(Change::Improved))
                .unwrap_or_default()
                .into_iter()
                .map(move |c| (o, prose::describe(c)))
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
    let notes: Vec<String> = {
        let mut n: Vec<String> = report.outcomes.iter().flat_map(prose::notes).collect();
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
    let summary = if report.passed() {
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
            let pick = |want: Change, label: &str| -> Option<String> {
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
            pick(Change::Regressed, "REGRESSED")
                .or_else(|| pick(Change::Inconclusive, "inconclusive"))
                .or_else(|| pick(Change::Improved, "improved"))
                .unwrap_or_else(|| "ok".into())
        }
    }
}

fn write_details(w: &mut dyn Write, o: &Outcome) -> io::Result<()> {
    for l in prose::detail_lines(o) {
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
