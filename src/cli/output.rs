//! What the command line prints: the banner and progress while running, the
//! console report and report files afterwards, baseline commands' results, errors.

use super::{ColorChoice, Outputs};
use crate::app::baselines::{Pruned, Recorded, Recording, Shown};
use crate::app::{Events, Prepared};
use crate::error::{Error, Errors, ExitCode};
use crate::format::{console, github, html, json, junit, markdown};
use crate::fsio::write_atomic;
use crate::report::{prose, Figure, Outcome, RunReport};
use crate::runner::Progress;
use crate::scenario::Scenario;
use crate::text::{display_width, one_line, shorten_middle, truncate_end};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

pub(super) fn color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Prints every error, then whether anything ran.
pub(super) fn errors(errors: &Errors) {
    let mut err = std::io::stderr().lock();
    for e in &errors.0 {
        let _ = writeln!(err, "error: {e}");
    }
    if errors.before_running() {
        let _ = writeln!(err, "nothing was run");
    }
}

/// Columns of the console: the terminal's width when stdout is one, else COLUMNS,
/// else a default for logs.
pub(super) fn width() -> usize {
    let columns = || {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&c| c >= 20)
    };
    if std::io::stdout().is_terminal() {
        // SAFETY: TIOCGWINSZ fills a winsize; a zeroed one is valid to pass.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
        if ok && ws.ws_col > 0 {
            return ws.ws_col as usize;
        }
        return columns().unwrap_or(80);
    }
    columns().unwrap_or(console::DEFAULT_WIDTH)
}

/// The terminal while a run goes on: the banner and one line per scenario as its
/// verdict is known on stdout, and a progress line on stderr when that is a
/// terminal. Worker threads report at once; a lock keeps lines whole.
pub(super) struct Terminal {
    progress: bool,
    style: console::Style,
    /// Widest scenario name of the plan (set when the run starts).
    name_width: AtomicUsize,
    /// The progress line now shown, redrawn under each scenario's line.
    shown: Mutex<String>,
}

impl Terminal {
    pub(super) fn new(color: bool, width: usize) -> Terminal {
        Terminal {
            progress: std::io::stderr().is_terminal(),
            style: console::Style {
                color,
                width,
                wrap: false,
            },
            name_width: AtomicUsize::new(0),
            shown: Mutex::new(String::new()),
        }
    }

    fn status(&self, text: &str) {
        let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
        if self.progress {
            let text = truncate_end(text, self.style.width.saturating_sub(1));
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\u{1b}[K{text}");
            let _ = e.flush();
            *shown = text;
        }
    }
}

impl Progress for Terminal {
    fn process_done(&self, done: usize, total: usize, scenario: &Scenario) {
        self.status(&format!("[{done:>4}/{total}] {}", one_line(&scenario.name)));
    }
}

impl Events for Terminal {
    fn starting(&self, prepared: &Prepared, jobs: usize) {
        let n = prepared.plan.scenarios.len();
        let pys: Vec<String> = prepared
            .interpreters
            .iter()
            .map(|i| {
                let by: Vec<String> = i.chosen_by.iter().map(|r| r.to_string()).collect();
                format!(
                    "{} {} ({}, chosen by {})",
                    i.info.implementation,
                    i.info.version,
                    i.info.executable,
                    by.join(" and ")
                )
            })
            .collect();
        let width = self.style.width;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "{}",
            truncate_end(
                &format!(
                    "memreg {}: {} scenario{}, {} processes, {} at a time",
                    env!("CARGO_PKG_VERSION"),
                    n,
                    if n == 1 { "" } else { "s" },
                    prepared.plan.processes(),
                    jobs,
                ),
                width
            )
        );
        for py in pys {
            let _ = writeln!(out, "{}", shorten_middle(&one_line(&py), width));
        }
        let _ = writeln!(out);
        let widest = prepared
            .plan
            .scenarios
            .iter()
            .map(|p| display_width(&one_line(&p.scenario.name)))
            .max()
            .unwrap_or(0);
        self.name_width.store(widest, Ordering::Relaxed);
    }

    fn scenario_done(&self, outcome: &Outcome) {
        let line = console::scenario_line(
            outcome,
            &self.style,
            self.name_width.load(Ordering::Relaxed),
        );
        let shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
        if self.progress && !shown.is_empty() {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\u{1b}[K");
            let _ = e.flush();
        }
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
        if self.progress && !shown.is_empty() {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "{shown}");
            let _ = e.flush();
        }
    }

    fn measured(&self) {
        self.status("");
    }

    fn explaining(&self, n: usize, total: usize, scenario: &str) {
        self.status(&format!("explaining [{n}/{total}] {}", one_line(scenario)));
    }

    fn explained(&self) {
        self.status("");
    }
}

/// Prints the console report (fenced against workflow-command injection under
/// GitHub Actions, then annotations) and writes the requested report files.
/// `streamed`: a line per scenario was printed while running (then a blank line
/// sets the table apart).
pub(super) fn emit(
    report: &RunReport,
    outputs: &Outputs,
    color: bool,
    streamed: bool,
) -> Result<ExitCode, Errors> {
    let mut out = std::io::stdout().lock();
    let style = console::Style {
        color,
        width: width(),
        wrap: std::io::stdout().is_terminal(),
    };
    // Under GitHub Actions nothing a scenario prints (tracebacks, output) may be read
    // as a workflow command: the report goes between stop-commands markers.
    let gh = github::enabled();
    let token = github::stop_token();
    if gh {
        let _ = writeln!(out, "::stop-commands::{token}");
    }
    // After the streamed lines: a blank line, then the table.
    if streamed && !report.outcomes.is_empty() {
        let _ = writeln!(out);
    }
    if let Err(e) = console::write_report(&mut out, report, style) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(Error::Output {
                stream: "stdout",
                source: e,
            }
            .into());
        }
    }
    if gh {
        let _ = writeln!(out, "::{token}::");
        let root = std::env::current_dir().unwrap_or_default();
        let _ = github::write_annotations(&mut out, report, &root);
    }
    let junit_options = junit::Options {
        family: outputs.junit_format.into(),
        root: std::env::current_dir().unwrap_or_default(),
    };
    let write_junit = |w: &mut dyn Write, r: &RunReport| junit::write(w, r, &junit_options);
    type Writer<'a> = &'a dyn Fn(&mut dyn Write, &RunReport) -> std::io::Result<()>;
    let files: [(&Option<std::path::PathBuf>, &'static str, Writer); 4] = [
        (&outputs.junit, "JUnit report", &write_junit),
        (&outputs.markdown, "Markdown summary", &markdown::write),
        (&outputs.json, "JSON report", &json::write),
        (&outputs.html, "HTML report", &html::write),
    ];
    for (path, what, writer) in files {
        let Some(path) = path else { continue };
        let mut buf = Vec::new();
        let written = writer(&mut buf, report)
            .map_err(|e| e.to_string())
            .and_then(|()| write_atomic(path, &buf));
        if let Err(message) = written {
            return Err(Error::WriteReport {
                path: path.clone(),
                what,
                message,
            }
            .into());
        }
        let _ = writeln!(out, "{what}: {}", path.display());
    }
    Ok(report.exit_code())
}

/// Prints what `baseline update` (`update`) or `apply` recorded.
pub(super) fn recording(r: &Recording, update: bool) -> Result<ExitCode, Errors> {
    let mut out = std::io::stdout().lock();
    for (name, result) in &r.scenarios {
        match result {
            Recorded::Written(path) => {
                let _ = writeln!(out, "wrote {}", path.display());
            }
            Recorded::NotRecorded { why } => {
                let _ = writeln!(out, "not recorded: {name}: {why}");
            }
            Recorded::Unchanged => {}
        }
    }
    let _ = writeln!(out);
    let _ = write!(out, "{}", prose::change_table(&r.changes, r.unchanged));
    if update {
        let skipped = r.not_recorded();
        let _ = writeln!(
            out,
            "\n{} written, {} unchanged, {skipped} not recorded",
            r.written, r.unchanged
        );
        Ok(if skipped > 0 {
            ExitCode::Failed
        } else {
            ExitCode::Passed
        })
    } else {
        let _ = writeln!(out, "\n{} written, {} unchanged", r.written, r.unchanged);
        Ok(ExitCode::Passed)
    }
}

/// Prints stored baselines; unreadable files are errors after the rest is shown.
pub(super) fn show(shown: Shown, dir: &Path) -> Result<ExitCode, Errors> {
    let mut out = std::io::stdout().lock();
    for (path, file) in &shown.files {
        let _ = writeln!(out, "{} ({})", file.scenario, path.display());
        for (env, e) in &file.environments {
            let _ = writeln!(
                out,
                "  {env}: {} iterations after {} warm-up; {}; memreg {}",
                e.iterations, e.warmup, e.allocator, e.memreg
            );
            for (k, f) in &e.figures {
                let fmt = |v: f64| {
                    Figure::from_key(k).map_or(v.to_string(), |g| prose::figure_value(g, v))
                };
                let range = match (f.values.first(), f.values.last()) {
                    (Some(a), Some(b)) if a != b => {
                        format!("{} .. {}", fmt(*a as f64), fmt(*b as f64))
                    }
                    _ => "identical".into(),
                };
                let _ = writeln!(
                    out,
                    "    {k:<17} {:<6} median {:<14} n={} {range}",
                    format!("{:?}", f.kind).to_lowercase(),
                    fmt(f.median),
                    f.values.len()
                );
            }
        }
    }
    if shown.files.is_empty() && shown.errors.is_empty() {
        let _ = writeln!(out, "no baselines in {}", dir.display());
    }
    if shown.errors.is_empty() {
        Ok(ExitCode::Passed)
    } else {
        Err(Errors(shown.errors))
    }
}

/// Prints what `baseline prune` removed (or would remove).
pub(super) fn prune(pruned: Pruned, dry_run: bool) -> Result<ExitCode, Errors> {
    let mut out = std::io::stdout().lock();
    for e in &pruned.unreadable {
        let _ = writeln!(out, "left alone (unreadable): {e}");
    }
    if pruned.stale.is_empty() {
        let _ = writeln!(out, "nothing to prune");
        return Ok(ExitCode::Passed);
    }
    let verb = if dry_run { "would remove" } else { "removing" };
    for (path, name) in &pruned.stale {
        let _ = writeln!(
            out,
            "{verb} {} (scenario `{name}` no longer exists)",
            path.display()
        );
    }
    if pruned.removed {
        let _ = writeln!(out, "{} removed", pruned.stale.len());
    }
    Ok(ExitCode::Passed)
}
