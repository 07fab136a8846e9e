//! What is said about one scenario's result: its summary and status, why it leaked,
//! settled, faulted or was not run, and the detail lines under a failure.

use super::baseline::{baseline_lines, baseline_note, baseline_summary};
use super::holders::attribution_lines;
use super::quantities::{growth, iterations, per_iteration, PAGE};
use crate::baseline::BaselineResult;
use crate::probe::wire::ExceptionKind;
use crate::probe::Fault;
use crate::report::model::Outcome;
use crate::scenario::{Expect, Metric};
use crate::units::{format_duration, Bytes};
use crate::verdict::{Check, CounterVerdict, Finding, Verdict, ALPHA, CONFIRM_FACTOR};

/// `native heap grows 8.3 B/iteration (5/5 processes agree, sign test p=0.031),
/// steady over 8,000 iterations`: the leak without the word (JUnit's type says it).
pub fn leak_message(c: &CounterVerdict) -> String {
    let what = if c.metric.outside_heaps() {
        "RSS (memory outside the Python and C heaps)".to_owned()
    } else {
        c.metric.label().to_owned()
    };
    let pages = if c.metric.outside_heaps() && c.median > 0.0 {
        let per = c.median / PAGE;
        if (per - per.round()).abs() < 0.05 && per >= 0.95 {
            let n = per.round();
            format!(" ({n} page{}/iteration)", if n == 1.0 { "" } else { "s" })
        } else if per >= 1.0 {
            format!(" ({per:.1} pages/iteration)")
        } else {
            format!(" (1 page per {:.0} iterations)", 1.0 / per)
        }
    } else {
        String::new()
    };
    let mut line = format!(
        "{what} {} {}{pages} ({}/{} processes agree, sign test p={:.3})",
        grows(c.metric),
        per_iteration(c.metric, c.median),
        c.agreeing,
        c.processes,
        c.p_value
    );
    match c.finding {
        Finding::Steady { confirmed: true } => line.push_str(&format!(
            ", steady over {} iterations",
            iterations(c.window())
        )),
        Finding::Steady { confirmed: false } => line.push_str(&format!(
            ", steady over {} iterations (not confirmed longer: budget)",
            iterations(c.window())
        )),
        Finding::Flat | Finding::Settling => {}
    }
    line
}

/// The verb for a counter's label: `native heap grows`, `threads grow`.
fn grows(metric: Metric) -> &'static str {
    if metric.is_count() {
        "grow"
    } else {
        "grows"
    }
}

/// Why a growing heap counter leaves the scenario inconclusive: still slowing down
/// when the budget ran out.
pub fn settling_line(c: &CounterVerdict) -> String {
    format!(
        "{} still {} after {} iterations but slows down ({} at the end): a cache still filling? give it more `warmup:` or a longer `confirm:` budget",
        c.metric.label(),
        grows(c.metric),
        iterations(c.window()),
        per_iteration(c.metric, c.median)
    )
}

/// `leak: native heap grows 8.3 B/iteration (5/5 processes agree, sign test p=0.031)`
pub fn leak_line(c: &CounterVerdict) -> String {
    format!("leak: {}", leak_message(c))
}

/// Why a scenario has no verdict: `the run was interrupted`, with how many of its
/// processes had finished when some had.
pub fn interrupted_reason(o: &Outcome) -> String {
    let finished = o
        .process_details
        .iter()
        .filter(|p| !matches!(p.fault, Some(Fault::Cancelled)))
        .count();
    if finished == 0 {
        "the run was interrupted".into()
    } else {
        format!(
            "the run was interrupted ({finished} of {} processes finished)",
            o.processes
        )
    }
}

/// `not run: the run was interrupted ...`
pub fn not_run(o: &Outcome) -> String {
    format!("not run: {}", interrupted_reason(o))
}

/// How a process ended without a usable record.
pub fn fault(f: &Fault) -> String {
    match f {
        Fault::Exception(e) if e.kind == ExceptionKind::Exit => {
            format!("{} in {}", e.message, e.phase.as_str())
        }
        // pytest's own words: `test failed in call: assert 1 == 2`, `test skipped:
        // not today`, `test xfail: known bug`.
        Fault::Exception(e)
            if matches!(
                e.kind,
                ExceptionKind::TestFailed | ExceptionKind::TestSkipped
            ) =>
        {
            format!("test {}", e.message)
        }
        Fault::Exception(e) => {
            format!("{}: {} (in {})", e.type_name, e.message, e.phase.as_str())
        }
        Fault::Crashed { signal } => format!(
            "Python crashed: killed by signal {signal} ({})",
            crate::child::signal_name(*signal)
        ),
        Fault::ExitedWithoutRecord { code } => format!(
            "process exited with status {code} before reporting (os._exit or a fatal error?)"
        ),
        Fault::TimedOut { after } => format!(
            "timed out after {} (process group killed)",
            format_duration(*after)
        ),
        Fault::MemoryLimit {
            rss: Some(rss),
            limit,
        } => format!(
            "memory limit exceeded: RSS {} > limit {}",
            Bytes(*rss),
            Bytes(*limit)
        ),
        Fault::MemoryLimit { rss: None, limit } => format!(
            "memory limit exceeded: MemoryError at limit {}",
            Bytes(*limit)
        ),
        Fault::BadRecord(m) => format!("probe record unusable: {m}"),
        Fault::Cancelled => "interrupted".into(),
    }
}

/// Why an inconclusive verdict is inconclusive.
pub fn inconclusive_reason(processes: usize) -> String {
    format!(
        "all {processes} processes grow, but {processes} cannot reach p <= {ALPHA} (sign test needs at least 5 processes)"
    )
}

/// One line saying why the leak check failed, errored or was inconclusive.
pub fn summary(o: &Outcome) -> Option<String> {
    let a = &o.analysis;
    match (a.verdict, o.expect) {
        (Verdict::NotRun, _) => Some(not_run(o)),
        (Verdict::Error, _) => {
            let faults: Vec<_> = o.process_faults().collect();
            Some(match faults.first() {
                None => "interrupted".into(),
                Some((_, first)) if faults.len() > 1 => format!(
                    "{} ({} of {} processes failed)",
                    fault(first),
                    faults.len(),
                    o.process_details.len()
                ),
                Some((_, first)) => fault(first),
            })
        }
        (Verdict::Leak, Expect::Pass) => a.leaking().map(leak_line),
        (Verdict::Clean, Expect::Leak) => {
            Some("expected a leak (`expect: leak`), but no counter grows".into())
        }
        (Verdict::Inconclusive, _) => Some(inconclusive(o)),
        _ => None,
    }
}

/// Why an inconclusive scenario is inconclusive.
pub fn inconclusive(o: &Outcome) -> String {
    match o.analysis.counters.iter().find(|c| c.settling()) {
        Some(c) => settling_line(c),
        None => inconclusive_reason(o.process_details.len()),
    }
}

/// What looking longer found for counters that did not fail: a growth that settled,
/// or RSS that kept creeping but slowly or without confirmation.
/// Counters that grew over the user's window but not over the longer one the
/// processes then measured: (counter, median iteration of its last rise, the longest
/// window looked over).
fn settled_counters(o: &Outcome) -> Vec<(&CounterVerdict, u64, u64)> {
    o.analysis
        .counters
        .iter()
        .filter(|c| c.finding == Finding::Flat)
        .filter_map(|c| {
            // Processes where this counter grew over the user's window, so looked longer.
            let extended: Vec<(u64, u64)> = c
                .windows
                .iter()
                .zip(&c.last_rise)
                .zip(&c.grew_in_window)
                .filter(|((w, _), grew)| **w > o.iterations && **grew)
                .map(|((w, r), _)| (*w, *r))
                .collect();
            let looked = extended.iter().map(|(w, _)| *w).max()?;
            let rises: Vec<f64> = extended.iter().map(|(_, r)| *r as f64).collect();
            Some((c, crate::stats::median(&rises) as u64, looked))
        })
        .collect()
}

/// `settled after about 4,800 iterations (looked over 8,000)`, for a scenario whose
/// growth stopped after its window.
pub fn settled(o: &Outcome) -> Option<String> {
    let all = settled_counters(o);
    let at = all.iter().map(|(_, at, _)| *at).max()?;
    let looked = all.iter().map(|(_, _, w)| *w).max()?;
    Some(format!(
        "settled after about {} iterations (looked over {})",
        iterations(at),
        iterations(looked)
    ))
}

pub fn confirmation_notes(o: &Outcome) -> Vec<String> {
    let mut notes = Vec::new();
    let all = settled_counters(o);
    let looked = all.iter().map(|(_, _, w)| *w).max().unwrap_or(0);
    let settled: Vec<String> = all
        .iter()
        .map(|(c, at, _)| format!("{} after about {}", c.metric.label(), iterations(*at)))
        .collect();
    for c in &o.analysis.counters {
        match c.finding {
            Finding::Settling if c.metric.outside_heaps() => notes.push(format!(
                "{}: RSS still creeps after {} iterations but slows down ({}): allocator or fragmentation, not a leak",
                o.name,
                iterations(c.window()),
                per_iteration(c.metric, c.median)
            )),
            Finding::Steady { confirmed: false } if !c.leak => notes.push(format!(
                "{}: RSS grows steadily ({}) but memreg could not look {}x longer within the `confirm:` budget to call it a leak",
                o.name,
                per_iteration(c.metric, c.median),
                CONFIRM_FACTOR
            )),
            _ => {}
        }
    }
    if !settled.is_empty() {
        notes.insert(
            0,
            format!(
                "{}: grew at first, then settled ({}; looked over up to {} iterations)",
                o.name,
                settled.join(", "),
                iterations(looked)
            ),
        );
    }
    notes
}

/// One line saying why the scenario as a whole (leak check and baseline) did not
/// pass, or `None` when it passed.
pub fn status_line(o: &Outcome) -> Option<String> {
    if o.status() == Check::Passed {
        return None;
    }
    if o.analysis.check != Check::Passed {
        return summary(o);
    }
    o.baseline
        .as_ref()
        .filter(|b| b.failed())
        .map(|b| baseline_summary(o, b))
}

/// A scenario's result in a word or two, for reports that show it beside the
/// name: `ok`, `leak`, `no leak`, `regressed`, `no baseline`, `error`,
/// `inconclusive`, `not run`.
pub fn result_word(o: &Outcome) -> &'static str {
    match (o.status(), o.analysis.check, o.analysis.verdict) {
        (Check::Passed, _, _) => "ok",
        (Check::NotRun, _, _) => "not run",
        (Check::Inconclusive, _, _) => "inconclusive",
        (Check::Errored, _, _) => "error",
        (Check::Failed, Check::Failed, Verdict::Leak) => "leak",
        (Check::Failed, Check::Failed, _) => "no leak",
        (Check::Failed, _, _) => match o.baseline {
            Some(BaselineResult::Compared { .. }) => "regressed",
            _ => "no baseline",
        },
    }
}

/// Every note about a scenario: the probes' own, the baseline's, and what looking
/// longer found.
pub fn notes(o: &Outcome) -> Vec<String> {
    let mut n = o.notes.clone();
    n.extend(baseline_note(o));
    n.extend(confirmation_notes(o));
    n
}

/// The lines that explain one scenario's failure, for every format.
pub fn detail_lines(o: &Outcome) -> Vec<String> {
    let mut lines = baseline_lines(o);
    lines.extend(leak_detail_lines(o));
    lines.extend(attribution_lines(o));
    lines
}

fn leak_detail_lines(o: &Outcome) -> Vec<String> {
    if o.analysis.check == Check::Passed && o.baseline.as_ref().is_some_and(|b| b.failed()) {
        return vec![];
    }
    let mut lines = Vec::new();
    let summary = summary(o);
    if let Some(s) = &summary {
        lines.push(s.clone());
    }
    // RSS grows with the heaps: its leak line only says something when they do not.
    let heaps_leak = o
        .analysis
        .counters
        .iter()
        .any(|c| c.leak && !c.metric.outside_heaps());
    for c in &o.analysis.counters {
        if c.gating
            && c.leak
            && !(heaps_leak && c.metric.outside_heaps())
            && summary.as_deref() != Some(leak_line(c).as_str())
        {
            lines.push(leak_line(c));
        }
    }
    let shown = o.shown_counters();
    let width = shown
        .iter()
        .map(|c| c.metric.label().len())
        .max()
        .unwrap_or(0)
        .max(13);
    for c in &shown {
        let per: Vec<String> = c
            .per_process
            .iter()
            .zip(&c.growing)
            .map(|(g, grows)| format!("{}{}", growth(c.metric, *g), if *grows { "*" } else { "" }))
            .collect();
        lines.push(format!(
            "  {:<width$} per process: {}{}",
            c.metric.label(),
            per.join(", "),
            if c.gating { "" } else { "  (informational)" }
        ));
    }
    if !o.analysis.counters.is_empty() {
        let longest = o.longest_window();
        let looked = if longest > o.iterations {
            format!(
                "{} iterations after {} warm-up, looked over up to {} to confirm",
                iterations(o.iterations),
                o.warmup,
                iterations(longest)
            )
        } else {
            format!("{} iterations after {} warm-up", o.iterations, o.warmup)
        };
        let counts = if shown.iter().any(|c| c.metric.is_count()) {
            " (none for file descriptors and threads)"
        } else {
            ""
        };
        lines.push(format!(
            "  (* = grew in the second half and in each of its quarters; {looked}, tolerance {}{counts})",
            o.tolerance
        ));
    }
    if o.analysis.verdict == Verdict::Leak && o.expect == Expect::Pass {
        lines.push(leak_hint(o));
    }
    if let Some(d) = fault_detail(o) {
        lines.extend(d.lines().map(|l| format!("  {l}")));
    }
    lines
}

/// What to do about a leak: for memory, tell a cache from a leak; for a resource,
/// what leaves it open.
fn leak_hint(o: &Outcome) -> String {
    let leaking = o.analysis.leaking();
    match leaking.map(|c| c.metric) {
        Some(Metric::Fds) => "  hint: each iteration leaves file descriptors open (a file, socket or pipe never closed); where they are made and who holds them is below; if it is intended, leave `fds` out of `metrics:`".into(),
        Some(Metric::Threads) => "  hint: each iteration leaves a thread running (started, never finished or joined); where it is made and who holds it is below; if it is intended, leave `threads` out of `metrics:`".into(),
        _ => format!(
            "  hint: the growth stayed steady over {} iterations; a cache that fills for longer than that looks like a leak: give it more `warmup:` or a longer `confirm:` budget; if the growth is intended, raise `tolerance:`",
            iterations(leaking.map_or(o.iterations, CounterVerdict::window))
        ),
    }
}

/// The traceback (or equivalent) of the first fault, when there is one.
pub fn fault_detail(o: &Outcome) -> Option<String> {
    let (i, f) = o.faults.first()?;
    let detail = match f {
        Fault::Exception(e) => e.traceback.trim_end().to_owned(),
        other => fault(other),
    };
    Some(format!("process {}: {detail}", i + 1))
}
