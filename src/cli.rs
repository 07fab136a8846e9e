//! Command-line interface: parse arguments, run the pipeline, map the outcome to an
//! exit code. Errors are printed once, here.

use crate::child::CANCELLED;
use crate::probe::{self, CompileError, ProbeError, PythonInfo};
use crate::report::{console, junit, Outcome, RunReport};
use crate::runner::{self, Progress};
use crate::scenario::{self, LoadError, Scenario};
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;

const EXIT_CODES: &str = "\
Exit codes:
  0  every check passed (inconclusive scenarios neither pass nor fail)
  1  a check failed (a leak, or an expected leak not found) or a scenario errored
     (exception, crash, timeout, memory limit)
  2  memreg could not do its job: bad arguments, bad scenario files, Python code
     that does not compile, no interpreter, an I/O error
  130  interrupted (Ctrl-C); every child process is killed";

#[derive(Parser)]
#[command(name = "memreg", version, about = "Memory-regression tests for Python code: finds leaks with statistics", after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios and report leaks
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario files or directories (searched recursively for *.yaml, *.yml)
    #[arg(default_value = "scenarios")]
    paths: Vec<PathBuf>,
    /// Only scenarios whose name contains PATTERN (case-insensitive; repeat to add)
    #[arg(short = 'k', value_name = "PATTERN")]
    select: Vec<String>,
    /// Write a JUnit XML report to PATH
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
    /// Python interpreter for every scenario (overrides `python:` in the files)
    #[arg(long, value_name = "PATH")]
    python: Option<String>,
    /// Processes run at once [default: number of CPUs]
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<usize>,
    /// When to colour output
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Command::Run(args) => match run(&args) {
            Ok(code) => code,
            Err(e) => {
                e.print();
                2
            }
        },
    }
}

/// A reason memreg could not do its job (exit code 2).
enum Failure {
    Load(Vec<LoadError>),
    Compile(Vec<CompileError>),
    Probe(ProbeError),
    Message(String),
}

impl Failure {
    fn print(&self) {
        let mut err = std::io::stderr().lock();
        let lines: Vec<String> = match self {
            Failure::Load(es) => es.iter().map(|e| e.to_string()).collect(),
            Failure::Compile(es) => es.iter().map(|e| e.to_string()).collect(),
            Failure::Probe(e) => vec![e.to_string()],
            Failure::Message(m) => vec![m.clone()],
        };
        for l in lines {
            let _ = writeln!(err, "error: {l}");
        }
        if matches!(self, Failure::Load(_) | Failure::Compile(_)) {
            let _ = writeln!(err, "nothing was run");
        }
    }
}

impl From<ProbeError> for Failure {
    fn from(e: ProbeError) -> Self {
        Failure::Probe(e)
    }
}

fn select(scenarios: Vec<Scenario>, patterns: &[String]) -> Vec<Scenario> {
    if patterns.is_empty() {
        return scenarios;
    }
    let pats: Vec<String> = patterns.iter().map(|p| p.to_lowercase()).collect();
    scenarios
        .into_iter()
        .filter(|s| {
            let name = s.name.to_lowercase();
            pats.iter().any(|p| name.contains(p))
        })
        .collect()
}

fn run(args: &RunArgs) -> Result<i32, Failure> {
    let started = Instant::now();
    let files = scenario::discover(&args.paths).map_err(Failure::Load)?;
    let all = scenario::load_all(&files).map_err(Failure::Load)?;
    let scenarios = select(all, &args.select);
    if scenarios.is_empty() {
        return Err(Failure::Message(format!(
            "no scenario name matches {}",
            args.select
                .iter()
                .map(|p| format!("-k {p}"))
                .collect::<Vec<_>>()
                .join(" ")
        )));
    }
    let pythons: Vec<PathBuf> = scenarios
        .iter()
        .map(|s| probe::resolve_python(args.python.as_deref(), s.python.as_deref()))
        .collect::<Result<_, _>>()?;
    let workdir = tempfile::Builder::new()
        .prefix("memreg-")
        .tempdir()
        .map_err(|e| Failure::Probe(ProbeError::Temp(e)))?;

    // Compile everything with each interpreter before running anything.
    let mut distinct: Vec<&PathBuf> = pythons.iter().collect();
    distinct.sort();
    distinct.dedup();
    let mut infos: Vec<(PathBuf, PythonInfo)> = Vec::new();
    let mut compile_errors = Vec::new();
    for py in distinct {
        let using: Vec<&Scenario> = scenarios
            .iter()
            .zip(&pythons)
            .filter(|(_, p)| *p == py)
            .map(|(s, _)| s)
            .collect();
        let (info, mut errors) = probe::check(&using, py, workdir.path())?;
        compile_errors.append(&mut errors);
        infos.push((py.clone(), info));
    }
    if !compile_errors.is_empty() {
        return Err(Failure::Compile(compile_errors));
    }
    // Run the interpreter itself, not a launcher in front of it (a pyenv shim is a
    // shell script that costs tens of milliseconds per process).
    let pythons: Vec<PathBuf> = pythons
        .iter()
        .map(|p| {
            let info = &infos.iter().find(|(q, _)| q == p).expect("checked").1;
            let exe = PathBuf::from(&info.executable);
            if exe.is_file() {
                exe
            } else {
                p.clone()
            }
        })
        .collect();

    let _ = ctrlc::set_handler(|| CANCELLED.store(true, Ordering::SeqCst));
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let processes: u32 = scenarios.iter().map(|s| s.processes).sum();
    {
        let mut out = std::io::stdout().lock();
        let pys: Vec<String> = infos
            .iter()
            .map(|(_, i)| format!("{} {} ({})", i.implementation, i.version, i.executable))
            .collect();
        let _ = writeln!(
            out,
            "memreg {}: {} scenario{}, {} processes, {} at a time, {}\n",
            env!("CARGO_PKG_VERSION"),
            scenarios.len(),
            if scenarios.len() == 1 { "" } else { "s" },
            processes,
            jobs,
            pys.join(", ")
        );
    }
    let progress = TerminalProgress {
        enabled: std::io::stderr().is_terminal(),
    };
    let results = runner::run_all(&scenarios, &pythons, jobs, workdir.path(), &progress)?;
    progress.clear();
    let interrupted = CANCELLED.load(Ordering::SeqCst);
    let outcomes: Vec<Outcome> = scenarios
        .iter()
        .zip(&results)
        .map(|(s, r)| Outcome::build(s, r))
        .collect();
    let report = RunReport {
        outcomes,
        elapsed: started.elapsed(),
        interrupted,
    };

    let mut out = std::io::stdout().lock();
    if let Err(e) = console::write_report(&mut out, &report, console::Style { color }) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(Failure::Message(format!("cannot write to stdout: {e}")));
        }
    }
    if let Some(path) = &args.junit {
        let mut buf = Vec::new();
        junit::write(&mut buf, &report)
            .map_err(|e| Failure::Message(format!("cannot render JUnit: {e}")))?;
        write_atomic(path, &buf).map_err(Failure::Message)?;
        let _ = writeln!(out, "JUnit report: {}", path.display());
    }
    Ok(if interrupted { 130 } else { report.exit_code() })
}

/// Writes via a temporary file in the same directory and a rename, so a reader
/// never sees half a file and an interrupted write leaves the old one intact.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("{}: cannot create directory: {e}", dir.display()))?;
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    tmp.write_all(bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| format!("{}: {}", path.display(), e.error))?;
    Ok(())
}

struct TerminalProgress {
    enabled: bool,
}

impl Progress for TerminalProgress {
    fn process_done(&self, done: usize, total: usize, scenario: &Scenario) {
        if self.enabled {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\u{1b}[K[{done:>4}/{total}] {}", scenario.name);
            let _ = e.flush();
        }
    }
}

impl TerminalProgress {
    fn clear(&self) {
        if self.enabled {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\u{1b}[K");
            let _ = e.flush();
        }
    }
}
