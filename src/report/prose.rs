//! The sentences memreg says about a run, in one place: one-line summaries, the
//! lines that explain a failure, how values are written for people. Every format
//! (console, JUnit, Markdown, HTML, JSON, annotations) takes its wording from here,
//! so they say the same thing.

use super::model::Outcome;
use crate::baseline::record::BaselineChange;
use crate::baseline::{BaselineResult, Change, FigureComparison, Kind};
use crate::figures::Figure;
use crate::probe::holders::{Chain, Garbage, GiveUp, Link, Root};
use crate::probe::wire::{ExceptionKind, Site};
use crate::probe::Attribution;
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
            lines.extend(holder_lines(a));
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

/// Who holds the growing types (a referrer chain each), uncollectable garbage, and
/// atexit registrations that the chains cannot see through.
pub fn holder_lines(a: &Attribution) -> Vec<String> {
    let mut lines = Vec::new();
    let chains: Vec<(&str, &Chain)> = a
        .types
        .iter()
        .filter_map(|t| Some((t.type_name.as_str(), t.held_by.as_ref()?)))
        .collect();
    if !chains.is_empty() {
        let seconds: f64 = chains.iter().map(|(_, c)| c.seconds).sum();
        lines.push(format!(
            "  held by (from a root to one object of each growing type; searched in {seconds:.2} s):"
        ));
        lines.extend(
            chains
                .iter()
                .map(|(t, c)| format!("    {}", chain_line(t, c))),
        );
    }
    if let Some(g) = a.uncollectable.as_ref().filter(|g| g.per_iteration > 0.0) {
        lines.push(format!("  {}", garbage_line(g)));
    }
    if let Some(n) = a.atexit_per_iteration.filter(|n| *n > 0.0) {
        lines.push(format!(
            "  atexit callbacks grow {n:+.2}/it: atexit.register keeps each callback and its arguments until the interpreter exits (out of the collector's sight on Python 3.11+, where chains through them give up)"
        ));
    }
    lines
}

/// `uncollectable garbage (gc.garbage grows +1.00/it: ...): app.Node +1.00/it`
pub fn garbage_line(g: &Garbage) -> String {
    let types: Vec<String> = g
        .types
        .iter()
        .map(|t| format!("{} {:+.2}/it", t.type_name, t.per_iteration))
        .collect();
    let what = if g.debug_saveall {
        "gc.DEBUG_SAVEALL is set: gc.garbage keeps every object the collector frees"
    } else {
        "objects the collector found unreachable but could not free"
    };
    format!(
        "uncollectable garbage (gc.garbage grows {:+.2}/it; {what}): {}",
        g.per_iteration,
        types.join(", ")
    )
}

/// What a link says where a path cannot spell it.
fn link_words(link: &Link) -> &str {
    match link {
        Link::Path(p) => p,
        Link::SetMember => "(member of set)",
        Link::DictKey => "(a key of the dict)",
        Link::Internal => "(internal reference)",
    }
}

/// The chain as one expression, as far as a path can spell it (a debugger can
/// evaluate it): `reqapp._registry[121]['request']`.
pub fn chain_path(c: &Chain) -> String {
    let mut out = c.holder.clone().unwrap_or_default();
    for step in &c.steps {
        match &step.link {
            Link::Path(p) => out.push_str(p),
            other => {
                out.push(' ');
                out.push_str(link_words(other));
            }
        }
    }
    out
}

/// One chain, every object with its type, and where it starts or why it gave up:
/// `reqapp._registry (dict) -> [121] (dict) -> ['request'] (reqapp.Request)  [module global]`
pub fn chain_line(type_name: &str, c: &Chain) -> String {
    let body = match (c.holder.as_deref(), c.steps.split_first()) {
        (None, _) => format!("{type_name} (no referrer found)"),
        (Some(holder), None) => format!("{holder} ({type_name})"),
        (Some(holder), Some((first, rest))) => {
            let joined = match &first.link {
                Link::Path(p) => format!("{holder}{p}"),
                other => format!("{holder} {}", link_words(other)),
            };
            let mut parts = vec![format!("{joined} ({})", first.type_name)];
            parts.extend(
                rest.iter()
                    .map(|s| format!("{} ({})", link_words(&s.link), s.type_name)),
            );
            parts.join(" -> ")
        }
    };
    format!("{body}  [{}]", chain_end(c))
}

/// Where a chain starts, or why it gave up.
pub fn chain_end(c: &Chain) -> String {
    let Some(root) = c.root else {
        return match &c.gave_up {
            Some(g) => format!("gave up: {}", give_up(g)),
            None => "gave up".into(),
        };
    };
    let mut end = match root {
        Root::ModuleGlobal => "module global".to_owned(),
        Root::ClassAttribute => "class attribute".to_owned(),
        Root::Class => "class".to_owned(),
        Root::ClosureCell => "closure cell".to_owned(),
        Root::ThreadFrame => "thread frame".to_owned(),
        Root::ModuleState => format!(
            "internal state of module {}",
            c.holder.as_deref().unwrap_or("?")
        ),
        Root::Atexit => "atexit: registered with atexit.register".to_owned(),
        Root::SysModules => "sys.modules".to_owned(),
        Root::GcGarbage => "gc.garbage".to_owned(),
        Root::LoggingManager => "logging manager".to_owned(),
        Root::WeakrefFinalize => "weakref.finalize registry".to_owned(),
        Root::SubclassRegistry => {
            "the weak registry of subclasses CPython keeps on a class".to_owned()
        }
    };
    if let Some(cl) = &c.closure {
        let sep = if root == Root::ClosureCell {
            ": "
        } else {
            "; via "
        };
        end.push_str(&format!(
            "{sep}free variable '{}' of {}",
            cl.variable, cl.function
        ));
    }
    if let Some(b) = &c.beyond {
        end.push_str(&format!("; nothing found beyond it: {}", give_up(b)));
    }
    end
}

/// Why a referrer-chain search gave up.
pub fn give_up(g: &GiveUp) -> String {
    const C_CODE: &str = "it is held from C (an object of a C type the collector does not track, an extension's static or cache, a reference-count leak, or on Python 3.11+ an atexit callback or a running frame's value stack)";
    match g {
        GiveUp::Time {
            budget_s,
            level,
            inspected,
        } => format!(
            "time budget {budget_s:.1} s spent at depth {level} after {} objects",
            iterations(*inspected)
        ),
        GiveUp::Depth { max_depth } => format!("no root within {max_depth} links"),
        GiveUp::TooMany { max_objects } => format!(
            "more than {} objects on the way to a root",
            iterations(*max_objects)
        ),
        GiveUp::NoRoot { referrers: false } => {
            format!("nothing the garbage collector can see refers to it: {C_CODE}")
        }
        GiveUp::NoRoot { referrers: true } => format!(
            "the chain ends at an object nothing the garbage collector can see refers to: {C_CODE}"
        ),
        GiveUp::NotFound => "no object of this type made during the iterations is alive to search from (its count grew through older objects the collector started tracking)".into(),
        GiveUp::Failed { message } => format!("the search failed: {message}"),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::holders::{Closure, Step};

    fn step(link: Link, type_name: &str) -> Step {
        Step {
            link,
            type_name: type_name.into(),
        }
    }

    fn path(p: &str) -> Link {
        Link::Path(p.into())
    }

    fn chain(holder: Option<&str>, steps: Vec<Step>, root: Option<Root>) -> Chain {
        Chain {
            holder: holder.map(str::to_owned),
            steps,
            root,
            closure: None,
            gave_up: None,
            beyond: None,
            levels: 3,
            inspected: 4,
            seconds: 0.01,
        }
    }

    #[test]
    fn a_chain_reads_as_a_path_with_every_type_and_its_root() {
        let c = chain(
            Some("reqapp"),
            vec![
                step(path("._registry"), "dict"),
                step(path("[121]"), "dict"),
                step(path("['request']"), "reqapp.Request"),
            ],
            Some(Root::ModuleGlobal),
        );
        assert_eq!(
            chain_line("reqapp.Request", &c),
            "reqapp._registry (dict) -> [121] (dict) -> ['request'] (reqapp.Request)  [module global]"
        );
        assert_eq!(chain_path(&c), "reqapp._registry[121]['request']");
    }

    #[test]
    fn links_no_path_can_spell_are_said_in_words() {
        let c = chain(
            Some("app"),
            vec![
                step(path(".members"), "set"),
                step(Link::SetMember, "app.Target"),
            ],
            Some(Root::ModuleGlobal),
        );
        assert_eq!(
            chain_line("app.Target", &c),
            "app.members (set) -> (member of set) (app.Target)  [module global]"
        );
        let c = chain(
            Some("app"),
            vec![step(Link::Internal, "app.Target")],
            Some(Root::ModuleState),
        );
        assert_eq!(
            chain_line("app.Target", &c),
            "app (internal reference) (app.Target)  [internal state of module app]"
        );
        assert_eq!(chain_path(&c), "app (internal reference)");
    }

    #[test]
    fn closures_and_soft_roots_say_how_they_were_reached() {
        let mut c = chain(
            Some("app"),
            vec![
                step(path(".handler"), "function"),
                step(path(".__closure__[0].cell_contents"), "list"),
                step(path("[3]"), "app.Req"),
            ],
            Some(Root::ModuleGlobal),
        );
        c.closure = Some(Closure {
            variable: "seen".into(),
            function: "app.make.<locals>.handler".into(),
        });
        assert!(chain_line("app.Req", &c)
            .ends_with("[module global; via free variable 'seen' of app.make.<locals>.handler]"));
        c.root = Some(Root::ClosureCell);
        c.beyond = Some(GiveUp::NoRoot { referrers: true });
        let line = chain_line("app.Req", &c);
        assert!(
            line.contains("[closure cell: free variable 'seen' of app.make.<locals>.handler; nothing found beyond it: the chain ends at an object nothing the garbage collector can see refers to: it is held from C ("),
            "{line}"
        );
    }

    #[test]
    fn a_search_that_gave_up_says_why() {
        let mut c = chain(
            Some("<list held by ?>"),
            vec![step(path("[0]"), "list"), step(path("[0]"), "app.Target")],
            None,
        );
        c.gave_up = Some(GiveUp::Time {
            budget_s: 2.0,
            level: 7,
            inspected: 123_456,
        });
        assert_eq!(
            chain_line("app.Target", &c),
            "<list held by ?>[0] (list) -> [0] (app.Target)  [gave up: time budget 2.0 s spent at depth 7 after 123,456 objects]"
        );
        c.gave_up = Some(GiveUp::Depth { max_depth: 12 });
        assert!(chain_line("app.Target", &c).ends_with("[gave up: no root within 12 links]"));
        let nothing = Chain {
            gave_up: Some(GiveUp::NoRoot { referrers: false }),
            ..chain(None, vec![], None)
        };
        let line = chain_line("app.Target", &nothing);
        assert!(
            line.starts_with("app.Target (no referrer found)  [gave up: nothing the garbage collector can see refers to it: it is held from C ("),
            "{line}"
        );
    }

    #[test]
    fn counts_are_written_as_counts() {
        assert_eq!(growth(Metric::Fds, 1.0), "1 fd");
        assert_eq!(growth(Metric::Fds, 2.0), "2 fds");
        assert_eq!(growth(Metric::Threads, 0.5), "0.50 threads");
        assert_eq!(growth(Metric::Threads, 0.0), "0 threads");
        assert_eq!(growth(Metric::Blocks, 2.0), "2 blk");
    }

    #[test]
    fn uncollectable_garbage_names_its_types() {
        let g = Garbage {
            per_iteration: 2.0,
            types: vec![crate::probe::holders::GarbageType {
                type_name: "app.Node".into(),
                per_iteration: 1.0,
            }],
            debug_saveall: false,
        };
        assert_eq!(
            garbage_line(&g),
            "uncollectable garbage (gc.garbage grows +2.00/it; objects the collector found unreachable but could not free): app.Node +1.00/it"
        );
    }
}
