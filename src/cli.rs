//! Command-line interface: parse arguments, run the pipeline, map the outcome to an
//! exit code. Errors are printed once, here.

use crate::baseline::update::{self, Recorder};
use crate::baseline::{self, BaselineError, BaselineFile, BaselineResult, BaselineStore, Entry};
use crate::child::CANCELLED;
use crate::figures::Figure;
use crate::fsio::write_atomic;
use crate::probe::{self, CompileError, ProbeError, PythonInfo};
use crate::report::{self, console, junit, Outcome, RunReport};
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
    /// Run scenarios: report leaks, and regressions against stored baselines
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Record, inspect and prune stored baselines
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Join the --json results of shards into one report and exit code
    #[command(after_help = EXIT_CODES)]
    Merge(MergeArgs),
}

#[derive(Subcommand)]
enum BaselineCommand {
    /// Run scenarios and record their baselines for this environment
    Update(UpdateArgs),
    /// Print stored baselines
    Show(ShowArgs),
    /// Remove baselines of scenarios that no longer exist
    Prune(PruneArgs),
    /// Apply candidate baselines written by `memreg run --write-candidates` (untrusted)
    Apply(ApplyArgs),
}

/// Which scenarios, and how to run them.
#[derive(clap::Args)]
struct Selection {
    /// Scenario files or directories (searched recursively for *.yaml, *.yml)
    #[arg(default_value = "scenarios")]
    paths: Vec<PathBuf>,
    /// Only scenarios whose name contains PATTERN (case-insensitive; repeat to add)
    #[arg(short = 'k', value_name = "PATTERN")]
    select: Vec<String>,
    /// Python interpreter for every scenario (overrides `python:` in the files)
    #[arg(long, value_name = "PATH")]
    python: Option<String>,
    /// Processes run at once [default: number of CPUs]
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<usize>,
    /// Directory of baseline files
    #[arg(long, value_name = "DIR", default_value = "baselines")]
    baselines: PathBuf,
    /// When to colour output
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
    /// Run only shard K of N (1-based): scenarios split round-robin in a fixed order
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
}

fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{text}`: expected K/N with 1 <= K <= N, e.g. 2/4");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || k == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// Report files to write, shared by `run` and `merge`.
#[derive(clap::Args)]
struct Outputs {
    /// Write a JUnit XML report to PATH
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
    /// Write a Markdown summary to PATH (for $GITHUB_STEP_SUMMARY; under 1 MiB)
    #[arg(long, value_name = "PATH")]
    markdown: Option<PathBuf>,
    /// Write the full report as JSON to PATH (what `memreg merge` reads)
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Write a self-contained HTML report with growth charts to PATH
    #[arg(long, value_name = "PATH")]
    html: Option<PathBuf>,
}

#[derive(clap::Args)]
struct MergeArgs {
    /// JSON reports written by `memreg run --json` (one per shard)
    #[arg(required = true)]
    results: Vec<PathBuf>,
    #[command(flatten)]
    outputs: Outputs,
    /// When to colour output
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
}

#[derive(clap::Args)]
struct ApplyArgs {
    /// Directory of candidate files (from `memreg run --write-candidates`)
    dir: PathBuf,
    /// Scenario files or directories: only their scenarios' candidates are accepted
    #[arg(default_value = "scenarios")]
    paths: Vec<PathBuf>,
    /// Directory of baseline files
    #[arg(long, value_name = "DIR", default_value = "baselines")]
    baselines: PathBuf,
    /// Rewrite every baseline, even unchanged, unreadable or foreign-version ones
    #[arg(long)]
    force: bool,
}

#[derive(clap::Args)]
struct RunArgs {
    #[command(flatten)]
    sel: Selection,
    #[command(flatten)]
    outputs: Outputs,
    /// Fail scenarios that have no baseline for this environment
    #[arg(long)]
    strict: bool,
    /// Do not explain failures (skips the tracemalloc attribution run)
    #[arg(long)]
    no_attribution: bool,
    /// Write this run's would-be baselines to DIR (for `memreg baseline apply`)
    #[arg(long, value_name = "DIR")]
    write_candidates: Option<PathBuf>,
}

#[derive(clap::Args)]
struct UpdateArgs {
    #[command(flatten)]
    sel: Selection,
    /// Rewrite every baseline, even unchanged, unreadable or foreign-version ones
    #[arg(long)]
    force: bool,
}

#[derive(clap::Args)]
struct ShowArgs {
    /// Only this scenario
    name: Option<String>,
    /// Directory of baseline files
    #[arg(long, value_name = "DIR", default_value = "baselines")]
    baselines: PathBuf,
}

#[derive(clap::Args)]
struct PruneArgs {
    /// Scenario files or directories that define which scenarios exist
    #[arg(default_value = "scenarios")]
    paths: Vec<PathBuf>,
    /// Directory of baseline files
    #[arg(long, value_name = "DIR", default_value = "baselines")]
    baselines: PathBuf,
    /// List what would be removed, remove nothing
    #[arg(long)]
    dry_run: bool,
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
    let result = match cli.command {
        Command::Run(args) => run(&args),
        Command::Baseline(BaselineCommand::Update(args)) => update(&args),
        Command::Baseline(BaselineCommand::Show(args)) => show(&args),
        Command::Baseline(BaselineCommand::Prune(args)) => prune(&args),
        Command::Baseline(BaselineCommand::Apply(args)) => apply(&args),
        Command::Merge(args) => merge(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            e.print();
            2
        }
    }
}

/// A reason memreg could not do its job (exit code 2).
enum Failure {
    Load(Vec<LoadError>),
    Compile(Vec<CompileError>),
    Probe(ProbeError),
    Baseline(Vec<BaselineError>),
    Message(String),
}

impl Failure {
    fn print(&self) {
        let mut err = std::io::stderr().lock();
        let lines: Vec<String> = match self {
            Failure::Load(es) => es.iter().map(|e| e.to_string()).collect(),
            Failure::Compile(es) => es.iter().map(|e| e.to_string()).collect(),
            Failure::Baseline(es) => es.iter().map(|e| e.to_string()).collect(),
            Failure::Probe(e) => vec![e.to_string()],
            Failure::Message(m) => vec![m.clone()],
        };
        for l in lines {
            let _ = writeln!(err, "error: {l}");
        }
        if matches!(
            self,
            Failure::Load(_) | Failure::Compile(_) | Failure::Baseline(_)
        ) {
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

fn color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Validated scenarios with their interpreters, ready to run.
struct Prepared {
    scenarios: Vec<Scenario>,
    pythons: Vec<PathBuf>,
    /// Each interpreter, with the rules that chose it (for the banner).
    infos: Vec<(PythonInfo, String)>,
    workdir: tempfile::TempDir,
}

/// Everything that can be checked before running: files, selection, interpreters,
/// and that all Python code compiles.
fn prepare(sel: &Selection) -> Result<Prepared, Failure> {
    let files = scenario::discover(&sel.paths).map_err(Failure::Load)?;
    let all = scenario::load_all(&files).map_err(Failure::Load)?;
    let mut scenarios = select(all, &sel.select);
    if scenarios.is_empty() {
        return Err(Failure::Message(format!(
            "no scenario name matches {}",
            sel.select
                .iter()
                .map(|p| format!("-k {p}"))
                .collect::<Vec<_>>()
                .join(" ")
        )));
    }
    if let Some((k, n)) = sel.shard {
        // Round-robin over the fixed discovery order (sorted files, file order), so
        // N runners with the same files cover every scenario exactly once.
        scenarios = scenarios
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % n == k - 1)
            .map(|(_, s)| s)
            .collect();
    }
    let chosen: Vec<_> = scenarios
        .iter()
        .map(|s| probe::resolve_python(sel.python.as_deref(), s.python.as_deref()))
        .collect::<Result<_, _>>()?;
    let pythons: Vec<PathBuf> = chosen.iter().map(|c| c.path.clone()).collect();
    let chosen_by = |py: &PathBuf| {
        let rules: std::collections::BTreeSet<_> = chosen
            .iter()
            .filter(|c| &c.path == py)
            .map(|c| c.rule)
            .collect();
        rules
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let workdir = tempfile::Builder::new()
        .prefix("memreg-")
        .tempdir()
        .map_err(|e| Failure::Probe(ProbeError::Temp(e)))?;
    probe::install(workdir.path())?;
    let mut distinct: Vec<&PathBuf> = pythons.iter().collect();
    distinct.sort();
    distinct.dedup();
    let mut checked: Vec<(PathBuf, PythonInfo)> = Vec::new();
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
        checked.push((py.clone(), info));
    }
    if !compile_errors.is_empty() {
        return Err(Failure::Compile(compile_errors));
    }
    // Run the interpreter itself, not a launcher in front of it (a pyenv shim is a
    // shell script that costs tens of milliseconds per process).
    let pythons: Vec<PathBuf> = pythons
        .iter()
        .map(|p| {
            let info = &checked.iter().find(|(q, _)| q == p).expect("checked").1;
            let exe = PathBuf::from(&info.executable);
            if exe.is_file() {
                exe
            } else {
                p.clone()
            }
        })
        .collect();
    Ok(Prepared {
        scenarios,
        pythons,
        infos: checked
            .into_iter()
            .map(|(p, i)| (i, chosen_by(&p)))
            .collect(),
        workdir,
    })
}

/// Runs every prepared scenario and builds the outcomes.
fn execute(p: &Prepared, jobs: Option<usize>) -> Result<RunReport, Failure> {
    let started = Instant::now();
    let _ = ctrlc::set_handler(|| CANCELLED.store(true, Ordering::SeqCst));
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let processes: u32 = p.scenarios.iter().map(|s| s.processes).sum();
    {
        let mut out = std::io::stdout().lock();
        let pys: Vec<String> = p
            .infos
            .iter()
            .map(|(i, by)| {
                format!(
                    "{} {} ({}, chosen by {by})",
                    i.implementation, i.version, i.executable
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "memreg {}: {} scenario{}, {} processes, {} at a time, {}\n",
            env!("CARGO_PKG_VERSION"),
            p.scenarios.len(),
            if p.scenarios.len() == 1 { "" } else { "s" },
            processes,
            jobs,
            pys.join(", ")
        );
    }
    let progress = TerminalProgress {
        enabled: std::io::stderr().is_terminal(),
    };
    let results = runner::run_all(&p.scenarios, &p.pythons, jobs, p.workdir.path(), &progress)?;
    progress.clear();
    let outcomes: Vec<Outcome> = p
        .scenarios
        .iter()
        .zip(&results)
        .map(|(s, r)| Outcome::build(s, r))
        .collect();
    Ok(RunReport {
        outcomes,
        elapsed: started.elapsed(),
        interrupted: CANCELLED.load(Ordering::SeqCst),
    })
}

/// The stored baselines of these scenarios; every unreadable file is an error.
fn load_baselines(
    store: &BaselineStore,
    scenarios: &[Scenario],
) -> Result<Vec<Option<BaselineFile>>, Failure> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for s in scenarios {
        match store.load(&s.name) {
            Ok(f) => files.push(f),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(Failure::Baseline(errors))
    }
}

fn run(args: &RunArgs) -> Result<i32, Failure> {
    let prepared = prepare(&args.sel)?;
    let store = BaselineStore::new(&args.sel.baselines);
    let stored = load_baselines(&store, &prepared.scenarios)?;
    let mut report = execute(&prepared, args.sel.jobs)?;
    for ((o, s), file) in report
        .outcomes
        .iter_mut()
        .zip(&prepared.scenarios)
        .zip(&stored)
    {
        if let (true, Some(py)) = (o.faults.is_empty(), o.python.clone()) {
            let env = py.environment_key();
            o.baseline = Some(baseline::evaluate(
                s,
                file.as_ref(),
                &env,
                &o.figures,
                &py.build,
                args.strict,
            ));
            if let Some(BaselineResult::Compared { note: Some(n), .. }) = &o.baseline {
                o.notes.push(n.clone());
            }
        }
    }
    if !args.no_attribution && !report.interrupted {
        explain(&mut report, &prepared);
    }
    if let Some(dir) = &args.write_candidates {
        write_candidates(dir, &report, &prepared.scenarios)?;
    }
    emit(&report, &args.outputs, color(args.sel.color))
}

/// Writes each cleanly run scenario's would-be baseline entry to `dir`, one file per
/// scenario named as its baseline file, for `memreg baseline apply`.
fn write_candidates(dir: &Path, report: &RunReport, scenarios: &[Scenario]) -> Result<(), Failure> {
    let store = BaselineStore::new(dir);
    let mut n = 0;
    for (o, s) in report.outcomes.iter().zip(scenarios) {
        let (Some(py), true) = (&o.python, o.faults.is_empty()) else {
            continue;
        };
        let file = BaselineFile {
            format: baseline::FORMAT,
            scenario: s.name.clone(),
            environments: [(
                py.environment_key(),
                Entry::new(py, s.iterations, s.warmup, &o.figures),
            )]
            .into(),
        };
        store.save(&file).map_err(|e| Failure::Baseline(vec![e]))?;
        n += 1;
    }
    if n == 0 {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Message(format!("{}: {e}", dir.display())))?;
    }
    println!("{n} candidate baseline(s) written to {}", dir.display());
    Ok(())
}

/// Prints the console report (fenced against workflow-command injection under
/// GitHub Actions, then annotations) and writes the requested report files.
fn emit(report: &RunReport, outputs: &Outputs, color: bool) -> Result<i32, Failure> {
    let mut out = std::io::stdout().lock();
    // Under GitHub Actions nothing a scenario prints (tracebacks, output) may be read
    // as a workflow command: the report goes between stop-commands markers.
    let github = report::github::enabled();
    let token = report::github::stop_token();
    if github {
        let _ = writeln!(out, "::stop-commands::{token}");
    }
    if let Err(e) = console::write_report(&mut out, report, console::Style { color }) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(Failure::Message(format!("cannot write to stdout: {e}")));
        }
    }
    if github {
        let _ = writeln!(out, "::{token}::");
        let root = std::env::current_dir().unwrap_or_default();
        let _ = report::github::write_annotations(&mut out, report, &root);
    }
    type Writer = fn(&mut dyn Write, &RunReport) -> std::io::Result<()>;
    let files: [(&Option<PathBuf>, &str, Writer); 4] = [
        (&outputs.junit, "JUnit report", junit::write),
        (
            &outputs.markdown,
            "Markdown summary",
            report::markdown::write,
        ),
        (&outputs.json, "JSON report", report::json::write),
        (&outputs.html, "HTML report", report::html::write),
    ];
    for (path, what, writer) in files {
        if let Some(path) = path {
            let mut buf = Vec::new();
            writer(&mut buf, report)
                .map_err(|e| Failure::Message(format!("cannot render the {what}: {e}")))?;
            write_atomic(path, &buf).map_err(Failure::Message)?;
            let _ = writeln!(out, "{what}: {}", path.display());
        }
    }
    Ok(if report.interrupted {
        130
    } else {
        report.exit_code()
    })
}

fn merge(args: &MergeArgs) -> Result<i32, Failure> {
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut seen: std::collections::HashMap<String, PathBuf> = std::collections::HashMap::new();
    let (mut elapsed, mut interrupted) = (std::time::Duration::ZERO, false);
    let mut errors = Vec::new();
    for path in &args.results {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("{}: cannot read: {e}", path.display()));
                continue;
            }
        };
        let part = match report::json::read(&text) {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        for o in part.outcomes {
            if let Some(first) = seen.insert(o.name.clone(), path.clone()) {
                errors.push(format!(
                    "{}: scenario `{}` is also in {} (do the shards overlap?)",
                    path.display(),
                    o.name,
                    first.display()
                ));
            }
            outcomes.push(o);
        }
        elapsed = elapsed.max(part.elapsed);
        interrupted |= part.interrupted;
    }
    if !errors.is_empty() {
        return Err(Failure::Message(errors.join("\nerror: ")));
    }
    let report = RunReport {
        outcomes,
        elapsed,
        interrupted,
    };
    emit(&report, &args.outputs, color(args.color))
}

/// Runs an attribution process for every failing scenario, so failures say where.
fn explain(report: &mut RunReport, prepared: &Prepared) {
    let todo: Vec<usize> = (0..report.outcomes.len())
        .filter(|&i| report.outcomes[i].wants_attribution())
        .collect();
    for (n, &i) in todo.iter().enumerate() {
        if CANCELLED.load(Ordering::SeqCst) {
            return;
        }
        if std::io::stderr().is_terminal() {
            eprint!(
                "\r\u{1b}[Kexplaining [{}/{}] {}",
                n + 1,
                todo.len(),
                prepared.scenarios[i].name
            );
        }
        let result = match probe::attribute(
            &prepared.scenarios[i],
            &prepared.pythons[i],
            prepared.workdir.path(),
        ) {
            Ok(Ok(a)) => Ok(a),
            Ok(Err(fault)) => Err(fault.to_string()),
            Err(e) => Err(e.to_string()),
        };
        report.outcomes[i].attribution = Some(result);
    }
    if !todo.is_empty() && std::io::stderr().is_terminal() {
        eprint!("\r\u{1b}[K");
    }
}

fn update(args: &UpdateArgs) -> Result<i32, Failure> {
    let prepared = prepare(&args.sel)?;
    let store = BaselineStore::new(&args.sel.baselines);
    // Unreadable or foreign files stop an update unless --force says to replace them.
    let stored: Vec<Option<BaselineFile>> = if args.force {
        prepared
            .scenarios
            .iter()
            .map(|s| store.load(&s.name).ok().flatten())
            .collect()
    } else {
        load_baselines(&store, &prepared.scenarios)?
    };
    let report = execute(&prepared, args.sel.jobs)?;
    if report.interrupted {
        eprintln!("interrupted: no baseline was written");
        return Ok(130);
    }
    let mut out = std::io::stdout().lock();
    let mut recorder = Recorder::new(&store, args.force);
    let mut skipped = 0;
    for ((o, s), existing) in report.outcomes.iter().zip(&prepared.scenarios).zip(stored) {
        let (Some(python), true) = (&o.python, o.faults.is_empty()) else {
            let why = o
                .analysis
                .summary
                .clone()
                .unwrap_or_else(|| "errored".into());
            let _ = writeln!(out, "not recorded: {}: {why}", o.name);
            skipped += 1;
            continue;
        };
        let entry = Entry::new(python, s.iterations, s.warmup, &o.figures);
        let env = python.environment_key();
        if let Some(path) = recorder
            .record(s, existing, &env, entry)
            .map_err(|e| Failure::Baseline(vec![e]))?
        {
            let _ = writeln!(out, "wrote {}", path.display());
        }
    }
    let _ = writeln!(out);
    let _ = recorder.write_table(&mut out);
    let _ = writeln!(
        out,
        "\n{} written, {} unchanged, {skipped} not recorded",
        recorder.written, recorder.unchanged
    );
    Ok(if skipped > 0 { 1 } else { 0 })
}

fn apply(args: &ApplyArgs) -> Result<i32, Failure> {
    let files = scenario::discover(&args.paths).map_err(Failure::Load)?;
    let scenarios = scenario::load_all(&files).map_err(Failure::Load)?;
    // Validate everything before writing anything.
    let candidates = update::read_candidates(&args.dir, &scenarios).map_err(|problems| {
        Failure::Message(format!(
            "refusing candidates in {}:\nerror: {}",
            args.dir.display(),
            problems.join("\nerror: ")
        ))
    })?;
    let store = BaselineStore::new(&args.baselines);
    let mut existing = Vec::new();
    for (i, _) in &candidates {
        existing.push(match store.load(&scenarios[*i].name) {
            Ok(f) => f,
            Err(_) if args.force => None,
            Err(e) => return Err(Failure::Baseline(vec![e])),
        });
    }
    let mut out = std::io::stdout().lock();
    let mut recorder = Recorder::new(&store, args.force);
    for ((i, candidate), mut current) in candidates.into_iter().zip(existing) {
        for (env, entry) in candidate.environments {
            if let Some(path) = recorder
                .record(&scenarios[i], current.clone(), &env, entry)
                .map_err(|e| Failure::Baseline(vec![e]))?
            {
                let _ = writeln!(out, "wrote {}", path.display());
                current = store
                    .load(&scenarios[i].name)
                    .map_err(|e| Failure::Baseline(vec![e]))?;
            }
        }
    }
    let _ = writeln!(out);
    let _ = recorder.write_table(&mut out);
    let _ = writeln!(
        out,
        "\n{} written, {} unchanged",
        recorder.written, recorder.unchanged
    );
    Ok(0)
}

fn show(args: &ShowArgs) -> Result<i32, Failure> {
    let store = BaselineStore::new(&args.baselines);
    let paths = match &args.name {
        Some(name) => vec![store
            .path_for(name)
            .map_err(|e| Failure::Baseline(vec![e]))?],
        None => store.files().map_err(|e| Failure::Baseline(vec![e]))?,
    };
    let mut out = std::io::stdout().lock();
    let mut errors = Vec::new();
    let mut shown = 0;
    for path in paths {
        let file = match baseline::read_file(&path) {
            Ok(Some(f)) => f,
            Ok(None) => {
                errors.push(BaselineError::Read {
                    path,
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "no baseline stored"),
                });
                continue;
            }
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        shown += 1;
        let _ = writeln!(out, "{} ({})", file.scenario, path.display());
        for (env, e) in &file.environments {
            let _ = writeln!(
                out,
                "  {env}: {} iterations after {} warm-up; {}; memreg {}",
                e.iterations, e.warmup, e.allocator, e.memreg
            );
            for (k, f) in &e.figures {
                let fig = Figure::from_key(k);
                let fmt = |v: f64| fig.map_or(v.to_string(), |g| g.format(v));
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
    if shown == 0 && errors.is_empty() {
        let _ = writeln!(out, "no baselines in {}", args.baselines.display());
    }
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(Failure::Baseline(errors))
    }
}

fn prune(args: &PruneArgs) -> Result<i32, Failure> {
    let files = scenario::discover(&args.paths).map_err(Failure::Load)?;
    let scenarios = scenario::load_all(&files).map_err(Failure::Load)?;
    let names: std::collections::HashSet<&str> =
        scenarios.iter().map(|s| s.name.as_str()).collect();
    let store = BaselineStore::new(&args.baselines);
    let mut out = std::io::stdout().lock();
    let mut stale = Vec::new();
    for path in store.files().map_err(|e| Failure::Baseline(vec![e]))? {
        match baseline::read_file(&path) {
            Ok(Some(f)) if !names.contains(f.scenario.as_str()) => stale.push((path, f.scenario)),
            Ok(_) => {}
            Err(e) => {
                let _ = writeln!(out, "left alone (unreadable): {e}");
            }
        }
    }
    if stale.is_empty() {
        let _ = writeln!(out, "nothing to prune");
        return Ok(0);
    }
    for (path, name) in &stale {
        let verb = if args.dry_run {
            "would remove"
        } else {
            "removing"
        };
        let _ = writeln!(
            out,
            "{verb} {} (scenario `{name}` no longer exists)",
            path.display()
        );
    }
    if !args.dry_run {
        for (path, _) in &stale {
            std::fs::remove_file(path)
                .map_err(|e| Failure::Message(format!("{}: cannot remove: {e}", path.display())))?;
        }
        let _ = writeln!(out, "{} removed", stale.len());
    }
    Ok(0)
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
