//! The command line: parse arguments, call the application, print what it returns,
//! and map the outcome to an exit code. Errors are printed once, here.

mod output;

use crate::app::{self, RunOptions};
use crate::child;
use crate::error::{Error, Errors, ExitCode};
use crate::plan::{Selection as PlanSelection, Shard};
use crate::runner::ProbeRunner;
use clap::{Parser, Subcommand};
use output::Terminal;
use std::path::PathBuf;

const EXIT_CODES: &str = ExitCode::HELP;

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
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
}

impl Selection {
    fn plan(&self) -> PlanSelection {
        PlanSelection {
            paths: self.paths.clone(),
            patterns: self.select.clone(),
            python: self.python.clone(),
            shard: self.shard,
        }
    }
}

/// Report files to write, shared by `run` and `merge`.
#[derive(clap::Args)]
struct Outputs {
    /// Write a JUnit XML report to PATH
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
    /// JUnit dialect: `rich` (file, line and figures per case; what common readers
    /// use) or `xunit2` (valid against pytest's junit-10.xsd)
    #[arg(long, value_enum, value_name = "FAMILY", default_value = "rich")]
    junit_format: JunitFormat,
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
    /// Python interpreter that collects `pytest:` selections (overrides `python:`)
    #[arg(long, value_name = "PATH")]
    python: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum JunitFormat {
    Rich,
    Xunit2,
}

impl From<JunitFormat> for crate::format::junit::Family {
    fn from(f: JunitFormat) -> Self {
        match f {
            JunitFormat::Rich => Self::Rich,
            JunitFormat::Xunit2 => Self::Xunit2,
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum ColorChoice {
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
            return if e.use_stderr() {
                ExitCode::Usage.code()
            } else {
                ExitCode::Passed.code()
            };
        }
    };
    let result = dispatch(cli.command);
    match result {
        Ok(code) => code.code(),
        // Stopped while preparing (the compile check was killed): not the input's
        // fault, and the exit code says which signal.
        Err(_) if child::stopped_by().is_some() => {
            eprintln!("interrupted: nothing was reported");
            interrupted_exit().code()
        }
        Err(errors) => {
            output::errors(&errors);
            ExitCode::Usage.code()
        }
    }
}

/// The exit code of a run a stop signal ended (130 if none is known).
fn interrupted_exit() -> ExitCode {
    child::stopped_by().map_or(ExitCode::Interrupted, ExitCode::stopped_by)
}

fn dispatch(command: Command) -> Result<ExitCode, Errors> {
    match command {
        Command::Run(args) => run(&args),
        Command::Baseline(BaselineCommand::Update(args)) => update(&args),
        Command::Baseline(BaselineCommand::Show(args)) => output::show(
            app::baselines::show(&args.baselines, args.name.as_deref())?,
            &args.baselines,
        ),
        Command::Baseline(BaselineCommand::Prune(args)) => output::prune(
            app::baselines::prune(
                &args.paths,
                args.python.as_deref(),
                &args.baselines,
                args.dry_run,
                &ProbeRunner::new()?,
            )?,
            args.dry_run,
        ),
        Command::Baseline(BaselineCommand::Apply(args)) => output::recording(
            &app::baselines::apply(&args.dir, &args.paths, &args.baselines, args.force)?,
            false,
        ),
        Command::Merge(args) => {
            let report = app::merge::merge(&args.results)?;
            output::emit(&report, &args.outputs, output::color(args.color), false)
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP set a flag: running processes are killed and the run
/// ends as interrupted. Installed before the work directory exists, so a signal
/// never leaves it behind.
fn on_stop_signals() -> Result<(), Error> {
    child::stop_on_signals().map_err(|source| Error::Signals { source })
}

fn run(args: &RunArgs) -> Result<ExitCode, Errors> {
    on_stop_signals()?;
    let runner = ProbeRunner::new()?;
    let terminal = Terminal::new(output::color(args.sel.color), output::width());
    let opts = RunOptions {
        selection: args.sel.plan(),
        jobs: args.sel.jobs,
        baselines: args.sel.baselines.clone(),
        strict: args.strict,
        attribution: !args.no_attribution,
        candidates: args.write_candidates.clone(),
    };
    let out = app::run(&opts, &runner, &terminal)?;
    if let Some((dir, n)) = &out.candidates {
        println!("{n} candidate baseline(s) written to {}", dir.display());
    }
    output::emit(
        &out.report,
        &args.outputs,
        output::color(args.sel.color),
        true,
    )
}

fn update(args: &UpdateArgs) -> Result<ExitCode, Errors> {
    on_stop_signals()?;
    let runner = ProbeRunner::new()?;
    let terminal = Terminal::new(output::color(args.sel.color), output::width());
    let updated = app::baselines::update(
        &args.sel.plan(),
        args.sel.jobs,
        &args.sel.baselines,
        args.force,
        &runner,
        &terminal,
    )?;
    match updated.recording {
        None => {
            eprintln!("interrupted: no baseline was written");
            Ok(interrupted_exit())
        }
        Some(r) => output::recording(&r, true),
    }
}
