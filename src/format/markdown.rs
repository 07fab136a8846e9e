//! `--markdown PATH`: a summary for `$GITHUB_STEP_SUMMARY` (or a pull request): one
//! table of all scenarios (regressions and scenarios an interruption left without a
//! verdict included, marked), details only for what failed, under 1 MiB whatever
//! the suite size (GitHub refuses larger step summaries). Every cell is escaped for
//! GitHub's renderer and stripped of control characters.

use crate::report::prose;
use crate::report::{BaselineResult, Change, Check, FigureComparison, Metric, Outcome, RunReport};
use crate::text::{capped, html_escape, one_line, printable};
use crate::units::{format_bytes, format_duration};
use std::io::Write;

/// GitHub's step-summary limit is 1 MiB; stay well under it.
pub const BUDGET: usize = 900 * 1024;
const DETAIL_CAP: usize = 8 * 1024;

/// A table cell GitHub renders as the text it is: one printable line, HTML's
/// `&`, `<`, `>` as entities (else `<name>` is swallowed as raw HTML), and the
/// Markdown that would format or split it (`|`, `` ` ``, `*`, `_`, `[`, `]`, `~`, `\`)
/// backslash-escaped.
pub fn cell(s: &str) -> String {
    let mut out = String::new();
    for c in one_line(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn icon(c: Check) -> &'static str {
    match c {
        Check::Passed => "✅",
        Check::Failed => "❌",
        Check::Errored => "💥",
        Check::Inconclusive => "❔",
        Check::NotRun => "⏹️",
    }
}

fn growth(o: &Outcome, metric: Metric) -> String {
    o.counter(metric)
        .map_or("-".into(), |c| prose::growth(c.metric, c.median))
}

/// `+30.0%`, or old -> new when the old median is 0.
fn change(f: &FigureComparison) -> String {
    match f.change_percent().filter(|p| p.is_finite()) {
        Some(p) => format!("{p:+.1}%"),
        None => format!(
            "{} -> {}",
            prose::figure_value(f.figure, f.old_median),
            prose::figure_value(f.figure, f.new_median)
        ),
    }
}

fn baseline(o: &Outcome) -> String {
    match &o.baseline {
        None => "-".into(),
        Some(BaselineResult::Missing { .. }) => "none".into(),
        Some(BaselineResult::SettingsDiffer { .. }) => "not comparable".into(),
        Some(b) => {
            let reg = b.with(Change::Regressed);
            let imp = b.with(Change::Improved);
            if let Some(f) = reg.first() {
                let more = match reg.len() {
                    1 => String::new(),
                    n => format!(" (+{} more)", n - 1),
                };
                format!("REGRESSED {} {}{more}", f.figure.key(), change(f))
            } else if let Some(f) = imp.first() {
                format!("improved {} {}", f.figure.key(), change(f))
            } else {
                "ok".into()
            }
        }
    }
}

pub fn render(run: &RunReport) -> String {
    let c = run.counts();
    let mut out = String::new();
    let not_run = if c.not_run > 0 {
        format!(", {} not run", c.not_run)
    } else {
        String::new()
    };
    out.push_str(&format!(
        "## memreg: {} scenarios: {} passed, {} failed, {} errored, {} inconclusive{not_run} ({})\n\n",
        run.outcomes.len(),
        c.passed,
        c.failed,
        c.errored,
        c.inconclusive,
        format_duration(run.elapsed)
    ));
    if run.interrupted {
        out.push_str("**Interrupted**: scenarios marked ⏹️ were not run and have no verdict.\n\n");
    }
    out.push_str("| | scenario | blocks/it | native/it | peak RSS | baseline | result |\n|---|---|---|---|---|---|---|\n");
    let mut left_out = 0;
    for o in &run.outcomes {
        let status = o.status();
        let row = format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            icon(status),
            cell(&o.name),
            growth(o, Metric::Blocks),
            growth(o, Metric::Native),
            o.peak_rss.map_or("-".into(), |p| format_bytes(p.median)),
            cell(&baseline(o)),
            cell(prose::status_line(o).as_deref().unwrap_or("ok")),
        );
        // Keep room for the failures' details below the table.
        if out.len() + row.len() > BUDGET / 2 {
            left_out += 1;
            continue;
        }
        out.push_str(&row);
    }
    if left_out > 0 {
        out.push_str(&format!("\n{left_out} more scenarios left out to keep this summary under 1 MiB; see the JUnit or JSON report.\n"));
    }
    let troubled: Vec<&Outcome> = run
        .outcomes
        .iter()
        .filter(|o| !matches!(o.status(), Check::Passed | Check::NotRun))
        .collect();
    let mut skipped = 0;
    for o in &troubled {
        let mut body = prose::detail_lines(o).join("\n");
        if body.len() > DETAIL_CAP {
            body = capped(&body, DETAIL_CAP);
        }
        let section = format!(
            "\n<details><summary>{} {} ({})</summary>\n\n```text\n{}\n```\n</details>\n",
            icon(o.status()),
            html_escape(&one_line(&o.name)),
            html_escape(&one_line(&o.file.display().to_string())),
            printable(&body).replace("```", "'''")
        );
        if out.len() + section.len() > BUDGET {
            skipped += 1;
            continue;
        }
        out.push_str(&section);
    }
    if skipped > 0 {
        out.push_str(&format!("\nDetails of {skipped} more failures left out (size limit); see the JUnit or JSON report.\n"));
    }
    out
}

pub fn write(w: &mut dyn Write, run: &RunReport) -> std::io::Result<()> {
    w.write_all(render(run).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::fake;
    use std::time::Duration;

    fn outcome(dir: &std::path::Path, name: &str, leaky: bool) -> Outcome {
        let path = dir.join(format!("{name}.yaml"));
        std::fs::write(&path, format!("name: {name}\nrun: pass\niterations: 16\n")).unwrap();
        let s = crate::scenario::load_all(&[path]).unwrap().remove(0);
        let mut result = fake::process(fake::measurement(
            16,
            if leaky { 10.0 } else { 0.0 },
            0.0,
            0,
        ));
        result.output = "line of output\n".repeat(5000);
        result.output_bytes = 75_000;
        Outcome::build(&s, &vec![result; 5])
    }

    #[test]
    fn cells_show_as_text_on_github() {
        assert_eq!(cell("weird <name> & co"), "weird &lt;name&gt; &amp; co");
        assert_eq!(
            cell("a|b `c` *d* _e_ [f](g) ~h~ \\"),
            "a\\|b \\`c\\` \\*d\\* \\_e\\_ \\[f\\](g) \\~h\\~ \\\\"
        );
        assert_eq!(cell("esc\u{1b}[31mred\0\nnext"), "escred next");
    }

    #[test]
    fn a_huge_suite_stays_under_one_mebibyte() {
        let dir = tempfile::tempdir().unwrap();
        let leaky = outcome(dir.path(), "leaky-scenario-with-a-long-name", true);
        let clean = outcome(dir.path(), "clean", false);
        assert_eq!(leaky.status(), Check::Failed);
        let outcomes: Vec<Outcome> = (0..6000)
            .map(|i| {
                if i % 2 == 0 {
                    leaky.clone()
                } else {
                    clean.clone()
                }
            })
            .collect();
        let run = RunReport {
            outcomes,
            elapsed: Duration::from_secs(1),
            interrupted: false,
            started: None,
            hostname: None,
            stopped_by: None,
        };
        let text = render(&run);
        assert!(text.len() < 1024 * 1024, "{} bytes", text.len());
        assert!(
            text.contains("more scenarios left out") || text.contains("more failures left out")
        );
        assert!(text.contains("<details><summary>❌ leaky-scenario-with-a-long-name"));
        // A small suite is complete.
        let small = RunReport {
            outcomes: vec![leaky, clean],
            elapsed: Duration::from_secs(1),
            interrupted: false,
            started: None,
            hostname: None,
            stopped_by: None,
        };
        let text = render(&small);
        assert!(!text.contains("left out to keep"), "{text}");
        assert!(text.contains("| ✅ | clean |"), "{text}");
        assert!(text.contains("leak: Python blocks grows"), "{text}");
    }
}
