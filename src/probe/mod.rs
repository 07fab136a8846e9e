//! The Python probe shipped inside the binary, and the two things memreg asks of it:
//! `check` (compile every scenario's code before anything runs) and `measure` (run
//! one scenario in one fresh interpreter and report its counters).
//!
//! The probe writes its record to a file of its own (never the scenario's stdout),
//! atomically; a process that ends without a record is an error, never zeros.

use crate::child::{self, Ending, Finished, SpawnError};
use crate::interpreter;
use crate::scenario::{Code, Scenario};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const SOURCE: &str = include_str!("probe.py");

/// Starts the probe: the code object the `check` process saved with marshal (keyed by
/// the interpreter's bytecode tag), else `probe.py` compiled. Its frames are named
/// `<string>`, which attribution leaves out.
const BOOTSTRAP: &str = r#"import sys, marshal
d = sys.argv[1]
try:
    with open(d + '/probe-' + str(sys.implementation.cache_tag) + '.bin', 'rb') as f:
        __memreg_code__ = marshal.load(f)
except (OSError, ValueError, EOFError, TypeError):
    with open(d + '/probe.py', encoding='utf-8') as f:
        __memreg_code__ = compile(f.read(), '<string>', 'exec')
exec(__memreg_code__)
"#;

/// Writes the probe's source into memreg's private work directory, once per run.
pub fn install(workdir: &Path) -> Result<(), ProbeError> {
    std::fs::write(workdir.join("probe.py"), SOURCE).map_err(ProbeError::Temp)
}

/// Most samples taken in one process. The probe keeps sample indices below 257 (the
/// cached small ints) so that counting samples allocates nothing.
pub const MAX_SAMPLES: u64 = 200;

/// Output kept per process (half from the start, half from the end).
pub const OUTPUT_CAP: usize = 64 * 1024;

/// Iterations between samples: `iterations` split into at most [`MAX_SAMPLES`] chunks
/// whose sizes differ by at most one.
pub fn chunks(iterations: u64) -> Vec<u64> {
    let s = iterations.min(MAX_SAMPLES);
    (0..s)
        .map(|j| (j + 1) * iterations / s - j * iterations / s)
        .collect()
}

/// Iteration count at each sample, starting with 0 (the baseline read).
pub fn sample_positions(iterations: u64) -> Vec<u64> {
    std::iter::once(0)
        .chain(chunks(iterations).into_iter().scan(0, |acc, c| {
            *acc += c;
            Some(*acc)
        }))
        .collect()
}

#[derive(Serialize)]
struct Part<'a> {
    scenario: &'a str,
    part: &'a str,
    code: &'a str,
    filename: String,
    first_line: usize,
}

impl<'a> Part<'a> {
    fn new(s: &'a Scenario, part: &'a str, code: &'a Code) -> Self {
        let (filename, first_line) = match code.first_line {
            Some(line) => (s.file.display().to_string(), line),
            None => (format!("<{}:{}>", s.name, part), 1),
        };
        Part {
            scenario: &s.name,
            part,
            code: &code.source,
            filename,
            first_line,
        }
    }
}

#[derive(Serialize)]
struct MeasureConfig<'a> {
    setup: Option<Part<'a>>,
    run: Part<'a>,
    teardown: Option<Part<'a>>,
    warmup: u64,
    chunks: Vec<u64>,
    metrics: Vec<&'static str>,
    memory_limit: u64,
    pythonpath: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct PythonInfo {
    pub implementation: String,
    pub version: String,
    pub executable: String,
    /// `sys.platform`, e.g. `linux`, `darwin`.
    #[serde(default)]
    pub platform: String,
    /// `platform.machine()`, e.g. `x86_64`.
    #[serde(default)]
    pub machine: String,
    /// `sys.version`: the interpreter build.
    #[serde(default)]
    pub build: String,
    /// The object allocator and C library, e.g. `pymalloc, glibc 2.36`.
    #[serde(default)]
    pub allocator: String,
}

impl PythonInfo {
    /// The key baselines are stored under: OS, architecture, implementation and
    /// major.minor version, e.g. `linux-x86_64-cpython-3.11`.
    pub fn environment_key(&self) -> String {
        let minor: Vec<&str> = self.version.split('.').take(2).collect();
        format!(
            "{}-{}-{}-{}",
            self.platform,
            self.machine,
            self.implementation,
            minor.join(".")
        )
    }
}

/// Counters read before the scenario's setup ran.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct StartCounters {
    pub blocks: Option<i64>,
    pub native: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Timing {
    #[serde(default)]
    pub setup_s: f64,
    #[serde(default)]
    pub warmup_s: f64,
    /// Time spent in the scenario's body during the measured iterations.
    #[serde(default)]
    pub body_s: f64,
    /// The measured phase including sampling.
    #[serde(default)]
    pub measure_s: f64,
}

/// An exception (or sys.exit, or MemoryError) raised by the scenario's code.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ScenarioException {
    pub phase: String,
    pub kind: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub message: String,
    pub traceback: String,
}

/// One allocation site that kept memory over the attribution iterations.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Site {
    pub file: String,
    pub line: u64,
    /// Whether `file` is the user's code (not the standard library).
    pub user_code: bool,
    pub bytes_per_iteration: f64,
    pub blocks_per_iteration: f64,
    /// Oldest call first, memreg's and the import machinery's frames left out.
    pub traceback: Vec<Frame>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Frame {
    pub file: String,
    pub line: u64,
    pub source: String,
}

/// A gc-tracked type whose live count grew.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct TypeGrowth {
    #[serde(rename = "type")]
    pub type_name: String,
    pub per_iteration: f64,
    pub before: u64,
    pub after: u64,
}

/// Where retained memory comes from: tracemalloc sites and growing object types.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Attribution {
    pub iterations: u64,
    pub frames: u64,
    /// Net bytes per iteration that tracemalloc saw retained, all sites together.
    pub traced_bytes_per_iteration: f64,
    pub sites: Vec<Site>,
    pub types: Vec<TypeGrowth>,
}

/// What one probe process reports.
#[derive(Clone, Debug, Deserialize)]
pub struct Record {
    pub format: u32,
    pub status: String,
    pub python: PythonInfo,
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default)]
    pub timing: Timing,
    #[serde(default)]
    pub series: BTreeMap<String, Vec<i64>>,
    pub peak_rss: Option<u64>,
    pub peak_scope: Option<String>,
    pub tracemalloc_peak: Option<u64>,
    #[serde(default)]
    pub start: StartCounters,
    pub attribution: Option<Attribution>,
    pub error: Option<ScenarioException>,
}

/// How one probe process ended, when it did not give a usable record.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "fault", content = "detail")]
pub enum Fault {
    /// The scenario raised; the traceback is in the exception.
    Exception(ScenarioException),
    Crashed {
        signal: i32,
    },
    ExitedWithoutRecord {
        code: i32,
    },
    TimedOut {
        after: Duration,
    },
    MemoryLimit {
        rss: Option<u64>,
        limit: u64,
    },
    BadRecord(String),
    Cancelled,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Exception(e) if e.kind == "exit" => write!(f, "{} in {}", e.message, e.phase),
            Fault::Exception(e) => write!(f, "{}: {} (in {})", e.type_name, e.message, e.phase),
            Fault::Crashed { signal } => {
                write!(
                    f,
                    "Python crashed: killed by signal {signal} ({})",
                    child::signal_name(*signal)
                )
            }
            Fault::ExitedWithoutRecord { code } => write!(
                f,
                "process exited with status {code} before reporting (os._exit or a fatal error?)"
            ),
            Fault::TimedOut { after } => {
                write!(
                    f,
                    "timed out after {} (process group killed)",
                    crate::units::format_duration(*after)
                )
            }
            Fault::MemoryLimit {
                rss: Some(rss),
                limit,
            } => write!(
                f,
                "memory limit exceeded: RSS {} > limit {}",
                crate::units::Bytes(*rss),
                crate::units::Bytes(*limit)
            ),
            Fault::MemoryLimit { rss: None, limit } => {
                write!(
                    f,
                    "memory limit exceeded: MemoryError at limit {}",
                    crate::units::Bytes(*limit)
                )
            }
            Fault::BadRecord(m) => write!(f, "probe record unusable: {m}"),
            Fault::Cancelled => write!(f, "interrupted"),
        }
    }
}

impl Fault {
    /// The JUnit/console category: the three kinds users tell apart.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::TimedOut { .. } => "timeout",
            Fault::MemoryLimit { .. } => "memory-limit",
            Fault::Crashed { .. } => "crash",
            Fault::Exception(e) if e.kind == "memory_limit" => "memory-limit",
            Fault::Exception(e) if e.kind == "exit" => "exit",
            Fault::Exception(_) => "exception",
            Fault::ExitedWithoutRecord { .. } => "exit",
            Fault::BadRecord(_) => "probe",
            Fault::Cancelled => "interrupted",
        }
    }
}

/// One measured process: its record when usable, else the fault, plus its output.
#[derive(Clone, Debug)]
pub struct ProcessResult {
    pub outcome: Result<Record, Fault>,
    pub output: String,
    pub output_bytes: u64,
    pub elapsed: Duration,
}

/// A problem with memreg's own work (exit code 2), as opposed to a scenario's fault.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("Python interpreter `{0}` not found (set `python:` in the scenario or pass --python)")]
    NoInterpreter(String),
    #[error("cannot run {python}: {source}")]
    Spawn {
        python: String,
        source: std::io::Error,
    },
    #[error("cannot use temporary directory: {0}")]
    Temp(std::io::Error),
    #[error("{python}: could not check the scenarios' Python code: {detail}")]
    Check { python: String, detail: String },
}

fn probe_args(mode: &str, workdir: &Path, config: &Path, record: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    if mode == "check" {
        // Compiling needs no site-packages: -S skips `site` and every .pth import,
        // which can cost more than the rest of the interpreter start.
        args.push("-S".into());
    }
    args.extend([
        "-c".into(),
        BOOTSTRAP.into(),
        workdir.as_os_str().to_owned(),
        mode.into(),
        config.as_os_str().to_owned(),
        record.as_os_str().to_owned(),
    ]);
    args
}

/// Runs one probe process in `mode` with `config`, for `scenario`'s environment and
/// memory limit. Returns how it ended and its record file (in a directory that lives
/// as long as the returned guard).
fn run_probe(
    mode: &str,
    config: &impl Serialize,
    scenario: &Scenario,
    python: &Path,
    workdir: &Path,
    timeout: Duration,
) -> Result<(Finished, PathBuf, tempfile::TempDir), ProbeError> {
    let dir = tempfile::Builder::new()
        .prefix(mode)
        .tempdir_in(workdir)
        .map_err(ProbeError::Temp)?;
    let config_path = dir.path().join("config.json");
    let record_path = dir.path().join("record.json");
    std::fs::write(
        &config_path,
        serde_json::to_vec(config).expect("config serialises"),
    )
    .map_err(ProbeError::Temp)?;
    let mut env: Vec<(String, String)> = scenario
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // Unbuffered, so output printed just before a crash or a kill is not lost.
    env.push(("PYTHONUNBUFFERED".into(), "1".into()));
    let spec = child::Spec {
        program: python.to_owned(),
        args: probe_args(mode, workdir, &config_path, &record_path),
        env,
        timeout,
        memory_limit: Some(scenario.memory_limit.0),
        output_cap: OUTPUT_CAP,
    };
    let finished = child::run(&spec).map_err(|e| spawn_error(python, e))?;
    Ok((finished, record_path, dir))
}

/// The record of a finished probe process, or the fault that explains why there is
/// no usable one: how the process ended first, then what it wrote.
fn read_record(
    finished: &Finished,
    record_path: &Path,
    timeout: Duration,
    limit: u64,
) -> Result<Record, Fault> {
    let code = match finished.ending {
        Ending::TimedOut => return Err(Fault::TimedOut { after: timeout }),
        Ending::MemoryLimit { rss } => {
            return Err(Fault::MemoryLimit {
                rss: Some(rss),
                limit,
            })
        }
        Ending::Cancelled => return Err(Fault::Cancelled),
        Ending::Signalled(signal) => return Err(Fault::Crashed { signal }),
        Ending::Exited(code) => code,
    };
    let text =
        std::fs::read_to_string(record_path).map_err(|_| Fault::ExitedWithoutRecord { code })?;
    let record: Record =
        serde_json::from_str(&text).map_err(|e| Fault::BadRecord(e.to_string()))?;
    if record.format != 1 {
        return Err(Fault::BadRecord(format!(
            "unknown record format {}",
            record.format
        )));
    }
    if let Some(e) = &record.error {
        if e.kind == "memory_limit" {
            return Err(Fault::MemoryLimit { rss: None, limit });
        }
        return Err(Fault::Exception(e.clone()));
    }
    if record.status != "ok" {
        return Err(Fault::BadRecord(format!(
            "status `{}` without an error",
            record.status
        )));
    }
    Ok(record)
}

/// Runs one measuring process for `scenario`.
pub fn measure(
    scenario: &Scenario,
    python: &Path,
    workdir: &Path,
) -> Result<ProcessResult, ProbeError> {
    let config = MeasureConfig {
        setup: scenario
            .setup
            .as_ref()
            .map(|c| Part::new(scenario, "setup", c)),
        run: Part::new(scenario, "run", &scenario.run),
        teardown: scenario
            .teardown
            .as_ref()
            .map(|c| Part::new(scenario, "teardown", c)),
        warmup: scenario.warmup,
        chunks: chunks(scenario.iterations),
        metrics: scenario.metrics.iter().map(|m| m.key()).collect(),
        memory_limit: scenario.memory_limit.0,
        pythonpath: scenario
            .pythonpath
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
    };
    let (finished, record_path, _dir) = run_probe(
        "measure",
        &config,
        scenario,
        python,
        workdir,
        scenario.timeout,
    )?;
    let outcome = read_record(
        &finished,
        &record_path,
        scenario.timeout,
        scenario.memory_limit.0,
    )
    .and_then(|r| check_series(r, scenario.iterations));
    Ok(ProcessResult {
        outcome,
        output: finished.output.text(),
        output_bytes: finished.output.total(),
        elapsed: finished.elapsed,
    })
}

/// A measuring record must hold every sample of every series, blocks included.
fn check_series(record: Record, iterations: u64) -> Result<Record, Fault> {
    let want = chunks(iterations).len() + 1;
    for (name, values) in &record.series {
        if values.len() != want {
            return Err(Fault::BadRecord(format!(
                "series `{name}` has {} samples, expected {want}",
                values.len()
            )));
        }
    }
    if !record.series.contains_key("blocks") {
        return Err(Fault::BadRecord("no `blocks` series".into()));
    }
    Ok(record)
}

#[derive(Serialize)]
struct AttributeConfig<'a> {
    setup: Option<Part<'a>>,
    run: Part<'a>,
    warmup: u64,
    iterations: u64,
    frames: u64,
    top: u64,
    pythonpath: Vec<String>,
}

/// Most iterations an attribution process runs: tracemalloc slows allocation-heavy
/// code 10x or more, and a leak of a few bytes per iteration shows in far fewer.
pub const ATTRIBUTION_ITERATIONS: u64 = 1000;

/// Runs one attribution process (tracemalloc and gc type counts) for `scenario`.
pub fn attribute(
    scenario: &Scenario,
    python: &Path,
    workdir: &Path,
) -> Result<Result<Attribution, Fault>, ProbeError> {
    let config = AttributeConfig {
        setup: scenario
            .setup
            .as_ref()
            .map(|c| Part::new(scenario, "setup", c)),
        run: Part::new(scenario, "run", &scenario.run),
        warmup: scenario.warmup,
        iterations: scenario.iterations.min(ATTRIBUTION_ITERATIONS),
        frames: scenario.attribution.frames,
        top: scenario.attribution.top,
        pythonpath: scenario
            .pythonpath
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
    };
    // Tracing slows the body (and it runs twice): allow several times the timeout.
    let timeout = scenario.timeout * 4;
    let (finished, record_path, _dir) =
        run_probe("attribute", &config, scenario, python, workdir, timeout)?;
    Ok(
        read_record(&finished, &record_path, timeout, scenario.memory_limit.0).and_then(|r| {
            r.attribution
                .ok_or_else(|| Fault::BadRecord("no attribution in the record".into()))
        }),
    )
}

fn spawn_error(python: &Path, e: SpawnError) -> ProbeError {
    match e {
        SpawnError::NotFound => ProbeError::NoInterpreter(python.display().to_string()),
        SpawnError::Other(source) => ProbeError::Spawn {
            python: python.display().to_string(),
            source,
        },
    }
}

/// A SyntaxError (or similar) in a scenario's code, found before anything ran.
#[derive(Clone, Debug, Deserialize)]
pub struct CompileError {
    pub scenario: String,
    pub part: String,
    pub filename: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub text: String,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.filename.starts_with('<') {
            write!(
                f,
                "scenario `{}`: `{}` line {}:{}: {}",
                self.scenario, self.part, self.line, self.column, self.message
            )?;
        } else {
            write!(
                f,
                "{}:{}:{}: scenario `{}`: `{}`: {}",
                self.filename, self.line, self.column, self.scenario, self.part, self.message
            )?;
        }
        if !self.text.trim().is_empty() {
            write!(f, "\n    {}", self.text.trim())?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct CheckRecord {
    errors: Vec<CompileError>,
    python: PythonInfo,
}

/// Compiles every code part of `scenarios` with `python`; returns the interpreter's
/// identity and every compile error.
pub fn check(
    scenarios: &[&Scenario],
    python: &Path,
    workdir: &Path,
) -> Result<(PythonInfo, Vec<CompileError>), ProbeError> {
    let parts: Vec<Part> = scenarios
        .iter()
        .flat_map(|s| s.parts().map(move |(k, c)| Part::new(s, k, c)))
        .collect();
    let dir = tempfile::Builder::new()
        .prefix("check")
        .tempdir_in(workdir)
        .map_err(ProbeError::Temp)?;
    let config_path = dir.path().join("config.json");
    let record_path = dir.path().join("record.json");
    let json = serde_json::to_vec(&serde_json::json!({ "parts": parts })).expect("serialises");
    std::fs::write(&config_path, json).map_err(ProbeError::Temp)?;
    let spec = child::Spec {
        program: python.to_owned(),
        args: probe_args("check", workdir, &config_path, &record_path),
        env: vec![],
        timeout: Duration::from_secs(120),
        memory_limit: None,
        output_cap: OUTPUT_CAP,
    };
    let finished = child::run(&spec).map_err(|e| spawn_error(python, e))?;
    let fail = |detail: String| ProbeError::Check {
        python: python.display().to_string(),
        detail,
    };
    if finished.ending == Ending::Cancelled {
        return Err(fail("interrupted".into()));
    }
    let text = std::fs::read_to_string(&record_path).map_err(|_| {
        fail(format!(
            "the interpreter ended ({:?}) without an answer; output:\n{}",
            finished.ending,
            finished.output.text()
        ))
    })?;
    let rec: CheckRecord = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
    Ok((rec.python, rec.errors))
}

/// The interpreter for a scenario and the rule that chose it ([`interpreter::choose`]).
pub fn resolve_python(
    override_: Option<&str>,
    scenario: Option<&str>,
) -> Result<interpreter::Choice, ProbeError> {
    interpreter::choose(override_, scenario, &interpreter::Context::from_process())
        .map_err(|e| ProbeError::NoInterpreter(e.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_all_iterations_in_at_most_max_samples() {
        for n in [16, 17, 199, 200, 201, 2000, 2001, 123_457] {
            let c = chunks(n);
            assert_eq!(c.iter().sum::<u64>(), n, "{n}");
            assert!(c.len() as u64 <= MAX_SAMPLES);
            let (lo, hi) = (c.iter().min().unwrap(), c.iter().max().unwrap());
            assert!(hi - lo <= 1, "{n}: {lo}..{hi}");
        }
        assert_eq!(sample_positions(4), vec![0, 1, 2, 3, 4]);
        assert_eq!(*sample_positions(2000).last().unwrap(), 2000);
    }
}
