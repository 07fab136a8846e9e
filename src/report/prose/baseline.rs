//! What is said about a comparison with the recorded baseline: each figure's
//! change, why figures are not comparable, and the table `baseline update` prints.

use super::quantities::figure_value;
use crate::baseline::record::BaselineChange;
use crate::baseline::{BaselineResult, Change, FigureComparison, Kind};
use crate::report::model::Outcome;

/// Why a figure was compared as it was, when that is worth saying.
pub fn comparison_note(c: &FigureComparison) -> Option<&'static str> {
    match c.kind {
        Kind::Exact => None,
        Kind::Noisy if c.exact_before() => {
            Some("exact in the baseline, varies now: compared as noisy")
        }
        Kind::Noisy => Some("varies between processes: compared as noisy"),
    }
}

/// Why a change beyond the floor is inconclusive.
pub fn inconclusive_change(c: &FigureComparison) -> Option<String> {
    (c.status == Change::Inconclusive).then(|| {
        format!(
            "{} and {} processes cannot reach p <= {} (5 and 5 can)",
            c.old.len(),
            c.new.len(),
            crate::baseline::compare::ALPHA
        )
    })
}

/// `+31.0%` of the old median, or the change itself when the old median is 0.
fn relative(c: &FigureComparison, v: f64) -> String {
    if c.old_median != 0.0 {
        format!("{:+.1}%", v / c.old_median.abs() * 100.0)
    } else {
        format!("{:+}", figure_value(c.figure, v))
    }
}

/// A figure's estimated change: `+31.0%` of the old median (or the change itself
/// when that is 0).
pub fn change(c: &FigureComparison) -> String {
    relative(c, c.change)
}

/// The change's 95% interval, `+30.1%..+32.0%`, when there is one.
pub fn interval(c: &FigureComparison) -> Option<String> {
    c.interval
        .map(|(lo, hi)| format!("{}..{}", relative(c, lo), relative(c, hi)))
}

/// `regressed`, `improved`, `unchanged`, `inconclusive`.
pub fn change_word(c: Change) -> &'static str {
    match c {
        Change::Regressed => "regressed",
        Change::Improved => "improved",
        Change::Unchanged => "unchanged",
        Change::Inconclusive => "inconclusive",
    }
}

/// `held_native: 1.2 MiB -> 1.6 MiB (+31.0%, 95% CI +30.1%..+32.0%, p=0.004, n=5/5)`
pub fn describe(c: &FigureComparison) -> String {
    let f = c.figure;
    let mut s = format!(
        "{}: {} -> {} ({}",
        f.key(),
        figure_value(f, c.old_median),
        figure_value(f, c.new_median),
        relative(c, c.change)
    );
    if let Some((lo, hi)) = c.interval {
        s.push_str(&format!(
            ", 95% CI {}..{}",
            relative(c, lo),
            relative(c, hi)
        ));
    }
    match c.p_value {
        Some(p) => s.push_str(&format!(", p={p:.4}")),
        None => s.push_str(", exact"),
    }
    s.push_str(&format!(", n={}/{})", c.old.len(), c.new.len()));
    if let Some(n) = comparison_note(c) {
        s.push_str(&format!(" [{n}]"));
    }
    s
}

/// Why a baseline was not compared (recorded with other settings).
pub fn settings_detail(recorded: (u64, u64), now: (u64, u64)) -> String {
    format!(
        "iterations {} / warmup {} (now {} / {})",
        recorded.0, recorded.1, now.0, now.1
    )
}

/// Why a baseline was recorded with figures not comparable with these: the
/// allocator, the settings, or both.
pub fn not_comparable(
    recorded: (u64, u64),
    now: (u64, u64),
    allocator: Option<&(String, String)>,
    startup: Option<(u32, u32)>,
) -> String {
    let mut why = Vec::new();
    if let Some((then, now)) = allocator {
        why.push(format!("allocator differs ({then} -> {now})"));
    }
    if let Some((then, now)) = startup {
        why.push(format!(
            "the interpreter starts with other modules imported ({then} -> {now}: a .pth file or sitecustomize), so setup's imports hold other memory"
        ));
    }
    if recorded != now {
        why.push(format!("recorded with {}", settings_detail(recorded, now)));
    }
    why.join("; ")
}

/// A note on a comparison with a baseline recorded by another Python build.
pub fn recorded_with_note(recorded: &str, now: &str) -> String {
    format!("baseline recorded with Python {recorded}, now {now}")
}

/// One line for people: why the baseline check failed, or what it found.
pub fn baseline_summary(o: &Outcome, b: &BaselineResult) -> String {
    match b {
        BaselineResult::Missing { environment, .. } => format!("no baseline for {environment}"),
        BaselineResult::SettingsDiffer {
            environment,
            recorded,
            allocator,
            startup,
            ..
        } => format!(
            "baseline for {environment} not comparable: {}",
            not_comparable(
                *recorded,
                (o.iterations, o.warmup),
                allocator.as_ref(),
                *startup
            )
        ),
        BaselineResult::Compared { .. } => {
            let regressed = b.with(Change::Regressed);
            match regressed.first() {
                Some(first) if regressed.len() == 1 => {
                    format!("regression: {}", describe(first))
                }
                Some(first) => format!(
                    "regression: {} (and {} more)",
                    describe(first),
                    regressed.len() - 1
                ),
                None => "matches the baseline".into(),
            }
        }
    }
}

/// The note a comparison adds to the scenario's notes, if any: a baseline recorded
/// by another Python build, or one not compared (unless that failed the scenario,
/// which says so itself).
pub fn baseline_note(o: &Outcome) -> Option<String> {
    match &o.baseline {
        Some(b @ BaselineResult::SettingsDiffer { strict: false, .. }) => {
            Some(baseline_summary(o, b))
        }
        Some(BaselineResult::Compared {
            recorded_with: Some(then),
            ..
        }) => Some(recorded_with_note(
            then,
            o.python.as_ref().map_or("", |p| p.build.as_str()),
        )),
        _ => None,
    }
}

/// Baseline problems: missing under --strict, or every regressed figure.
pub fn baseline_lines(o: &Outcome) -> Vec<String> {
    let Some(b) = o.baseline.as_ref().filter(|b| b.failed()) else {
        return vec![];
    };
    let mut lines = vec![baseline_summary(o, b)];
    let regressed = b.with(Change::Regressed);
    if regressed.len() > 1 {
        lines.extend(regressed.iter().map(|c| format!("  {}", describe(c))));
    }
    for c in b.with(Change::Inconclusive) {
        lines.push(format!("  inconclusive: {}", describe(c)));
    }
    lines.push("  if the change is intended, record it with `memreg baseline update` and commit baselines/".into());
    lines
}

/// The `baseline update`/`apply` change table, as Markdown ready for a pull request.
pub fn change_table(changes: &[BaselineChange], unchanged: usize) -> String {
    if changes.is_empty() {
        return format!("No baseline changed meaningfully ({unchanged} within noise).\n");
    }
    let mut out = String::from("| scenario | figure | old -> new | change |\n|---|---|---|---|\n");
    for c in changes {
        let cells = match c {
            BaselineChange::New {
                scenario,
                figure,
                median,
            } => [
                scenario.clone(),
                figure.key().into(),
                format!("- -> {}", figure_value(*figure, *median)),
                "new".into(),
            ],
            BaselineChange::Settings {
                scenario,
                recorded,
                now,
                allocator,
                startup,
            } => [
                scenario.clone(),
                "(all)".into(),
                format!(
                    "not comparable: {}",
                    not_comparable(*recorded, *now, allocator.as_ref(), *startup)
                ),
                "re-recorded".into(),
            ],
            BaselineChange::Changed {
                scenario,
                comparison: c,
            } => [
                scenario.clone(),
                c.figure.key().into(),
                format!(
                    "{} -> {}",
                    figure_value(c.figure, c.old_median),
                    figure_value(c.figure, c.new_median)
                ),
                c.change_percent()
                    .map_or("-".into(), |p| format!("{p:+.1}%")),
            ],
        };
        let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            cells[0], cells[1], cells[2], cells[3]
        ));
    }
    out
}
