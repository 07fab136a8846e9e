//! One line per scenario, printed as soon as its verdict is known (on a terminal
//! and in a CI log alike): the result, the processes' time, the name and what was
//! found, in the terminal's width.
//!
//! ```text
//!           ok [  0.9s] json-roundtrip          no growth (blocks, native, rss)
//!         LEAK [  1.3s] list-of-none            native heap grows 8.4 B/iteration (5/5 ...
//! ```

use super::Style;
use crate::report::prose;
use crate::report::{BaselineResult, Change, Check, Expect, Outcome, Verdict};
use crate::text::{display_width, one_line, shorten_middle, truncate_end};

/// Width of the result word, right-aligned (the widest is `INCONCLUSIVE`).
pub const LABEL: usize = 12;

/// The result in a word or two, and the check it paints as.
pub fn result_label(o: &Outcome) -> (String, Check) {
    let check = o.status();
    if o.analysis.check == Check::Passed && check == Check::Failed {
        let label = match &o.baseline {
            Some(BaselineResult::Compared { .. }) => "REGRESSED",
            _ => "NO BASELINE",
        };
        return (label.to_owned(), check);
    }
    let label = match (&o.analysis.verdict, o.expect) {
        (Verdict::Leak, Expect::Leak) => "ok (leak expected)".to_owned(),
        (Verdict::Leak, _) => "LEAK".to_owned(),
        (Verdict::Clean, Expect::Leak) => "FAIL (no leak)".to_owned(),
        (Verdict::Clean, _) => "ok".to_owned(),
        (Verdict::Inconclusive, _) => "inconclusive".to_owned(),
        (Verdict::NotRun, _) => "NOT RUN".to_owned(),
        (Verdict::Error, _) => match o.faults.first() {
            Some((_, f)) => format!("ERROR {}", f.kind().as_str()),
            None => "ERROR".to_owned(),
        },
    };
    (label, check)
}

/// The short result word of a streamed line.
fn word(o: &Outcome) -> &'static str {
    match (o.status(), o.analysis.verdict) {
        (Check::NotRun, _) => "NOT RUN",
        (Check::Inconclusive, _) => "INCONCLUSIVE",
        (Check::Errored, _) => "ERROR",
        (Check::Passed, _) => "ok",
        (Check::Failed, Verdict::Leak) if o.analysis.check == Check::Failed => "LEAK",
        (Check::Failed, _) if o.analysis.check == Check::Failed => "FAIL",
        (Check::Failed, _) => match &o.baseline {
            Some(BaselineResult::Compared { .. }) => "REGRESSED",
            _ => "NO BASELINE",
        },
    }
}

/// What was found, in one line: the growth of a clean scenario, the leak, the
/// regression, the fault, or why there is no verdict.
pub fn finding(o: &Outcome) -> String {
    if o.not_run() {
        return prose::interrupted_reason(o);
    }
    if o.analysis.check == Check::Passed {
        if let Some(b) = o.baseline.as_ref().filter(|b| b.failed()) {
            return match b.with(Change::Regressed).first() {
                Some(first) => prose::describe(first),
                None => prose::baseline_summary(o, b),
            };
        }
    }
    if let (Verdict::Leak, Some(c)) = (o.analysis.verdict, o.analysis.leaking()) {
        return if o.expect == Expect::Leak {
            format!(
                "leaks as expected: {} {}",
                c.metric.key(),
                rate(c.metric, c.median)
            )
        } else {
            prose::leak_message(c)
        };
    }
    if o.analysis.check != Check::Passed {
        return prose::summary(o).unwrap_or_default();
    }
    // A clean scenario: what grew at first and settled, what grew a little (under the
    // tolerance, or in too few processes), else which counters did not grow at all
    // (file descriptors and threads named only when they moved: Outcome::shown_counters).
    if let Some(settled) = prose::settled(o) {
        return settled;
    }
    let shown = o.shown_counters();
    let gating = shown.iter().filter(|c| c.gating);
    let moved: Vec<String> = gating
        .clone()
        .filter(|c| c.median != 0.0)
        .map(|c| format!("{} {}", c.metric.key(), rate(c.metric, c.median)))
        .collect();
    if moved.is_empty() {
        let keys: Vec<&str> = gating.map(|c| c.metric.key()).collect();
        format!("no growth ({})", keys.join(", "))
    } else {
        moved.join(", ")
    }
}

/// `0 blk/it`, `8.4 B/it`, `1 blk / 300 it`.
fn rate(metric: crate::report::Metric, v: f64) -> String {
    let g = prose::growth(metric, v);
    if g.ends_with(" it") {
        g
    } else {
        format!("{g}/it")
    }
}

/// Seconds, in six columns: `  0.9s`, `123.4s`.
fn seconds(o: &Outcome) -> String {
    format!("{:>5.1}s", o.cpu_time.as_secs_f64())
}

/// The streamed line of one scenario, at most `style.width` columns; names are
/// padded (or shortened in the middle) to `name_width`.
pub fn scenario_line(o: &Outcome, style: &Style, name_width: usize) -> String {
    let word = word(o);
    // Label, time and name take what they need; the finding gets the rest.
    let fixed = LABEL + 1 + 8 + 1;
    // Names take at most half of what is left, so the finding has room.
    let name_width = name_width
        .min((style.width.saturating_sub(fixed + 2) / 2).max(16))
        .max(4);
    let name = shorten_middle(&one_line(&o.name), name_width);
    let pad = " ".repeat(name_width.saturating_sub(display_width(&name)));
    let room = style.width.saturating_sub(fixed + name_width + 2);
    let finding = truncate_end(&one_line(&finding(o)), room);
    let painted = style.status(o.status(), &format!("{word:>LABEL$}"));
    format!("{painted} [{}] {name}{pad}  {finding}", seconds(o))
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::fake;

    fn outcome(name: &str, growth: f64) -> Outcome {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(
            &path,
            format!("name: {name}\nrun: pass\niterations: 3000\n"),
        )
        .unwrap();
        let s = crate::scenario::load_all(&[path]).unwrap().remove(0);
        let r = fake::process(fake::measurement(3000, growth, 0.0, 0));
        Outcome::build(&s, &vec![r; 5])
    }

    #[test]
    fn a_streamed_line_fits_and_says_what_was_found() {
        let style = Style {
            color: false,
            width: 80,
            wrap: false,
        };
        let o = outcome("a-scenario-with-quite-a-long-name-for-a-memory-test", 1.0);
        let line = scenario_line(&o, &style, 60);
        assert!(display_width(&line) <= 80, "{line}");
        assert!(line.trim_start().starts_with("LEAK ["), "{line}");
        assert!(line.contains('…'), "{line}");
        let clean = scenario_line(&outcome("clean", 0.0), &style, 5);
        assert!(clean.contains("no growth (blocks, native"), "{clean}");
    }

    #[test]
    fn a_slow_leak_is_not_rounded_to_zero() {
        let o = outcome("slow", 1.0 / 300.0);
        let f = finding(&o);
        assert!(f.contains("1 blk per 300 iterations"), "{f}");
    }
}
