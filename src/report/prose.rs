//! The sentences memreg says about a run, in one place: one-line summaries, the
//! lines that explain a failure, how values are written for people. Every format
//! (console, JUnit, Markdown, HTML, JSON, annotations) takes its wording from here,
//! so they say the same thing.

use super::model::Outcome;
use crate::baseline::record::BaselineChange;
use crate::baseline::{BaselineResult, Change, FigureComparison, Kind};
use crate::figures::Figure;
use crate::probe::wire::{ExceptionKind, Site};
use crate::probe::Fault;
use crate::scenario::{Expect, Metric};
use crate::units::{format_bytes, format_duration, Bytes};
use crate::verdict::{Check, CounterVerdict, Finding, Verdict, ALPHA, CONFIRM_FACTOR};

/// Below this many units per iteration, a rate is written as one unit per so many
/// iterations (`1 blk / 300 it`): two decimals would print a flagged growth as 0.
const SMALL_RATE: f64 = 0.1;

/// The unit a counter's values are written in: for one, and for several.
fn unit(metric: Metric) -> (&'static str, &'static str) {
    match metric {
        Metric::Fds => ("fd", "fds"),
        Metric::Threads => ("thread", "threads"),
        m if m.is_bytes() => ("B", "B"),
        _ => ("blk", "blk"),
    }
}

/// `(sign, unit, n)` for a small non-zero rate: one unit per `n` iterations.
fn one_per(metric: Metric, value: f64) -> Option<(&'static str, &'static str, f64)> {
    (value != 0.0 && value.is_finite() && value.abs() < SMALL_RATE).then(|| {
        let sign = if value < 0.0 { "-" } else { "" };
        (sign, unit(metric).0, (1.0 / value.abs()).round())
    })
}

/// A counter's growth per iteration, for a column headed `.../IT`: `8.3 B`, `2 blk`,
/// `0.33 blk`, `1 fd`, `2 threads`, and a small rate as `1 blk / 300 it` (or
/// `3.0e-7 blk` below one in a million), never a misleading `0.00`.
pub fn growth(metric: Metric, value: f64) -> String {
    if let Some((sign, unit, n)) = one_per(metric, value) {
        return if n < 1e6 {
            format!("{sign}1 {unit} / {n:.0} it")
        } else {
            format!("{value:.1e} {unit}")
        };
    }
    let (one, many) = unit(metric);
    if metric.is_bytes() {
        format_bytes(value)
    } else if value == 1.0 {
        format!("1 {one}")
    } else if value == value.trunc() {
        format!("{value:.0} {many}")
    } else {
        format!("{value:.2} {many}")
    }
}

/// A growth rate in a sentence: `8.3 B/iteration`, `1 blk per 300 iterations`.
pub fn per_iteration(metric: Metric, value: f64) -> String {
    match one_per(metric, value) {
        Some((sign, unit, n)) if n < 1e6 => format!("{sign}1 {unit} per {n:.0} iterations"),
        _ => format!("{}/iteration", growth(metric, value)),
    }
}

/// A figure's value for people: `1.2 MiB`, `340 blocks`, `8.3 B/it`.
pub fn figure_value(figure: Figure, value: f64) -> String {
    match figure {
        Figure::HeldBlocks => format!("{value:.0} blocks"),
        Figure::GrowthBlocks => format!("{:.3} blk/it", value / 1000.0),
        Figure::GrowthNative => format!("{}/it", format_bytes(value / 1000.0)),
        _ => format_bytes(value),
    }
}

/// A memory page, for RSS growth in pages (4 KiB on the platforms memreg reads RSS).
const PAGE: f64 = 4096.0;

/// A count of iterations for people: `8,000`.
pub fn iterations(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

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
            ..
        } => format!(
            "baseline for {environment} was recorded with {}: not compared",
            settings_detail(*recorded, (o.iterations, o.warmup))
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

/// The note a comparison adds to the scenario's notes, if any.
pub fn baseline_note(o: &Outcome) -> Option<String> {
    match &o.baseline {
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
pub fn short_traceback(site: &Site) -> Vec<String> {
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
            } => [
                scenario.clone(),
                "(all)".into(),
                format!("settings changed: {}", settings_detail(*recorded, *now)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_written_as_counts() {
        assert_eq!(growth(Metric::Fds, 1.0), "1 fd");
        assert_eq!(growth(Metric::Fds, 2.0), "2 fds");
        assert_eq!(growth(Metric::Threads, 0.5), "0.50 threads");
        assert_eq!(growth(Metric::Threads, 0.0), "0 threads");
        assert_eq!(growth(Metric::Blocks, 2.0), "2 blk");
    }
}
