//! The Python probe shipped inside the binary, and the four things memreg asks of
//! it: `expand` (collect a `pytest:` selection's tests), `check` (compile every
//! scenario's code before anything runs), `measure` (run one scenario in one fresh
//! interpreter and sample its counters) and `attribute` (explain where a failing
//! scenario's memory comes from).
//!
//! The probe sends its record over a file descriptor it inherits (never the
//! scenario's stdout, never a path a scenario could write), ended by a per-process
//! random token; a process that ends without a complete record is a fault, never
//! zeros (docs/measuring.md §9).

pub mod cache;
pub mod compiled;
pub mod fault;
pub mod holders;
pub mod marshal;
pub mod native;
pub mod window;
pub mod wire;

pub use fault::{Fault, FaultKind, ProcessResult};
pub use wire::{Attribution, Measurement, PythonInfo};

use crate::child::{self, Ending, Finished, SpawnError};
use crate::error::Error;
use crate::scenario::{Body, Metric, Scenario, MIN_BLOCK_BYTES};
use crate::schedule;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;
use wire::{
    AttributeConfig, Attributed, ChainConfig, CheckConfig, CheckScenario, Checked, ConfirmConfig,
    Envelope, ExceptionKind, ExpandConfig, Expanded, MeasureConfig, Part, PytestConfig, Reply,
};

/// The probe's parts (src/probe/py/), by name: `core` is the entry point and loads
/// the others a mode needs.
pub const PARTS: [(&str, &str); 9] = [
    ("core", include_str!("py/core.py")),
    ("counters", include_str!("py/counters.py")),
    ("measure", include_str!("py/measure.py")),
    ("attribute", include_str!("py/attribute.py")),
    ("referrers", include_str!("py/referrers.py")),
    ("check", include_str!("py/check.py")),
    ("body", include_str!("py/body.py")),
    ("async_body", include_str!("py/async_body.py")),
    ("pytest_bridge", include_str!("py/pytest_bridge.py")),
];

/// Starts the probe: the code object of its core part that the `check` process saved
/// with marshal (keyed by the interpreter's bytecode tag), else `core.py` compiled,
/// run with a private copy of the builtins (a scenario that replaces
/// `builtins.exec` does not reach the probe's). Its frames are named `<string>`,
/// which tracebacks and attribution leave out.
///
/// Its first lines run on any Python from 2.7 on, so an interpreter older than
/// [`wire::MIN_PYTHON`] says which version it is instead of failing somewhere in the
/// probe.
const BOOTSTRAP: &str = r#"import sys
if sys.version_info < (3, 8):
    import os
    os.write(int(sys.argv[4]), ('{"format": 1, "status": "unsupported", "version": "%d.%d.%d"}\n%s\n' % (tuple(sys.version_info[:3]) + (sys.argv[5],))).encode('ascii'))
    sys.exit(0)
import builtins, marshal
d = sys.argv[1]
try:
    with open(d + '/probe-core-' + str(sys.implementation.cache_tag) + '.bin', 'rb') as f:
        c = marshal.loads(f.read())
except (OSError, ValueError, EOFError, TypeError):
    with open(d + '/probe/core.py', encoding='utf-8') as f:
        c = compile(f.read(), '<string>', 'exec')
exec(c, {'__name__': '__main__', '__builtins__': dict(builtins.__dict__)})
"#;

/// The digest of the probe (its parts and the bootstrap) that keys the compile
/// cache, computed when memreg is built.
const PROBE_DIGEST: u64 = cache::probe_digest(&PARTS, BOOTSTRAP);

/// Writes the probe's sources into memreg's private work directory (once per run),
/// for a process that compiles them: the check, and any process started before the
/// compiled parts are there (expand). A run whose compiled parts all came from the
/// cache, checked, writes none (nine files created and removed on a journalling
/// file system cost ~1 ms of kernel time per run, docs/measuring.md §11).
pub fn install(workdir: &Path) -> Result<(), Error> {
    let err = temp_error(workdir);
    let dir = workdir.join("probe");
    if dir.join("core.py").exists() {
        return Ok(());
    }
    std::fs::create_dir_all(&dir).map_err(&err)?;
    for (name, source) in PARTS {
        std::fs::write(dir.join(format!("{name}.py")), source).map_err(&err)?;
    }
    Ok(())
}

/// Output kept per process (half from the start, half from the end).
pub const OUTPUT_CAP: usize = 64 * 1024;

/// How long the compile check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// How long one referrer-chain search may take: five searches together took
/// 0.2-0.3 s on a heap of ~118k objects and 1.5-2.8 s at 1M, so this bounds only
/// pathological heaps (docs/measuring.md §13).
pub const CHAIN_BUDGET: Duration = Duration::from_secs(2);

/// Most links from a root to a leaked object a search follows.
pub const CHAIN_DEPTH: u64 = 12;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Expand,
    Check,
    Measure,
    Attribute,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Expand => "expand",
            Mode::Check => "check",
            Mode::Measure => "measure",
            Mode::Attribute => "attribute",
        }
    }
}

fn probe_args(
    mode: Mode,
    workdir: &Path,
    config: &Path,
    record_fd: i32,
    token: &str,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    if mode == Mode::Check {
        // Compiling needs no site-packages: -S skips `site` and every .pth import,
        // which can cost more than the rest of the interpreter start.
        args.push("-S".into());
    }
    args.extend([
        "-c".into(),
        BOOTSTRAP.into(),
        workdir.as_os_str().to_owned(),
        mode.as_str().into(),
        config.as_os_str().to_owned(),
        record_fd.to_string().into(),
        token.into(),
    ]);
    args
}

/// A token nobody can guess or write by accident: 128 bits from std's randomly
/// keyed SipHash over the time and a counter.
fn token() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let half = || {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.finish()
    };
    format!("{:016x}{:016x}", half(), half())
}

/// Where a probe process's record arrives: an unnamed file (a memory file on Linux,
/// else one in the work directory), inherited by the process as a file descriptor,
/// and the token that must end it.
struct RecordChannel {
    file: std::fs::File,
    token: String,
}

impl RecordChannel {
    fn new(dir: &Path) -> std::io::Result<RecordChannel> {
        use std::os::fd::{AsRawFd, FromRawFd};
        let mut file = unnamed_file(dir)?;
        if file.as_raw_fd() < 3 {
            // memreg was started with a standard stream closed: the child's stdio
            // would take this number. Move it above them.
            // SAFETY: fcntl on an open descriptor we own; the new one is owned below.
            let fd = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // SAFETY: fd is a fresh descriptor nobody else owns.
            file = unsafe { std::fs::File::from_raw_fd(fd) };
        }
        Ok(RecordChannel {
            file,
            token: token(),
        })
    }

    fn fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.file.as_raw_fd()
    }

    /// The record, when the process sent a complete one: `None` when it sent
    /// nothing, an error when it is not complete.
    fn read(&self) -> Result<Option<String>, Fault> {
        use std::os::unix::fs::FileExt;
        let mut bytes = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match self.file.read_at(&mut buf, bytes.len() as u64) {
                Ok(0) => break,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Fault::BadRecord(format!("cannot read the record: {e}"))),
            }
        }
        if bytes.is_empty() {
            return Ok(None);
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| Fault::BadRecord("the record is not UTF-8".into()))?;
        text.strip_suffix(&format!("\n{}\n", self.token))
            .map(|t| Some(t.to_owned()))
            .ok_or_else(|| {
                Fault::BadRecord(
                    "incomplete record (it does not end with this process's token)".into(),
                )
            })
    }
}

/// A file with no name, gone when closed: memory on Linux (no file system work to
/// create or remove it), else in `dir`.
fn unnamed_file(dir: &Path) -> std::io::Result<std::fs::File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::FromRawFd;
        // SAFETY: memfd_create with a NUL-terminated name; the descriptor is owned
        // by the File below.
        let fd = unsafe { libc::memfd_create(c"memreg-record".as_ptr(), libc::MFD_CLOEXEC) };
        if fd >= 0 {
            // SAFETY: fd is a fresh descriptor nobody else owns.
            return Ok(unsafe { std::fs::File::from_raw_fd(fd) });
        }
    }
    tempfile::tempfile_in(dir)
}

fn temp_error(workdir: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::WorkDir {
        path: workdir.to_owned(),
        source,
    }
}

/// How one probe process is started.
struct Launch<'a> {
    mode: Mode,
    python: &'a Path,
    workdir: &'a Path,
    env: Vec<(String, String)>,
    timeout: Duration,
    memory_limit: Option<u64>,
}

/// Runs one probe process with `config`. Returns how it ended and what it sent.
///
/// A process whose scenario is a pytest test, and the expand and check processes,
/// get a directory of their own beside their config (pytest's cache and basetemp go
/// there). The processes of a code scenario share one config file, named after its
/// contents and written once: nothing is created per process but the record's
/// memory file (docs/measuring.md §11: a file created and removed costs ~0.1 ms of
/// kernel time on a journalling file system, a tenth of a ~1 µs body's process).
fn run_probe(
    launch: Launch,
    config: &impl Serialize,
    private_dir: bool,
) -> Result<(Finished, Result<Option<String>, Fault>), Error> {
    let bytes = marshal::to_bytes(config).expect("a config fits marshal");
    let (dir, config_path) = if private_dir {
        let dir = tempfile::Builder::new()
            .prefix(launch.mode.as_str())
            .tempdir_in(launch.workdir)
            .map_err(temp_error(launch.workdir))?;
        let path = dir.path().join("config.bin");
        std::fs::write(&path, &bytes).map_err(temp_error(launch.workdir))?;
        (Some(dir), path)
    } else {
        let name = format!(
            "config-{}-{}.bin",
            launch.mode.as_str(),
            compiled::Digest::new().field(&bytes).hex()
        );
        let path = launch.workdir.join(name);
        if !path.exists() {
            // Atomic: another process of the scenario may read it meanwhile.
            crate::fsio::write_atomic(&path, &bytes).map_err(|e| Error::WorkDir {
                path: path.clone(),
                source: std::io::Error::other(e),
            })?;
        }
        (None, path)
    };
    let record = RecordChannel::new(launch.workdir).map_err(temp_error(launch.workdir))?;
    let spec = child::Spec {
        program: launch.python.to_owned(),
        args: probe_args(
            launch.mode,
            launch.workdir,
            &config_path,
            record.fd(),
            &record.token,
        ),
        env: launch.env,
        timeout: launch.timeout,
        memory_limit: launch.memory_limit,
        output_cap: OUTPUT_CAP,
        inherit_fd: Some(record.fd()),
    };
    let finished = child::run(&spec).map_err(|e| spawn_error(launch.python, e))?;
    // Read after every descendant is gone (child::run), so nothing writes meanwhile.
    let sent = record.read();
    drop(dir);
    Ok((finished, sent))
}

/// Whether each of `scenario`'s processes needs a directory of its own (a pytest
/// test: pytest's cache and basetemp go there; see [`run_probe`]).
fn own_dir(scenario: &Scenario) -> bool {
    !matches!(scenario.body, Body::Code { .. })
}

/// The scenario's environment for its probe processes.
fn scenario_env(scenario: &Scenario) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = scenario
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // Unbuffered, so output printed just before a crash or a kill is not lost.
    env.push(("PYTHONUNBUFFERED".into(), "1".into()));
    env
}

/// The answer of a finished probe process, or the fault that explains why there is
/// no usable one: how the process ended first, then what it sent.
fn read_reply<T: DeserializeOwned>(
    finished: &Finished,
    sent: Result<Option<String>, Fault>,
    timeout: Duration,
    limit: u64,
) -> Result<T, Fault> {
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
    let text = sent?.ok_or(Fault::ExitedWithoutRecord { code })?;
    let envelope: Envelope =
        serde_json::from_str(&text).map_err(|e| Fault::BadRecord(e.to_string()))?;
    if envelope.format != wire::RECORD_FORMAT {
        return Err(Fault::BadRecord(format!(
            "unknown record format {}",
            envelope.format
        )));
    }
    match Reply::parse(&text, &envelope.status).map_err(Fault::BadRecord)? {
        Reply::Ok(answer) => Ok(answer),
        Reply::Error { error } if error.kind == ExceptionKind::MemoryLimit => {
            Err(Fault::MemoryLimit { rss: None, limit })
        }
        Reply::Error { error } => Err(Fault::Exception(error)),
        Reply::Unsupported { version } => Err(Fault::BadRecord(format!(
            "Python {version}: memreg needs Python >= {}",
            wire::MIN_PYTHON
        ))),
    }
}

fn pythonpath(scenario: &Scenario) -> Vec<String> {
    scenario
        .pythonpath
        .iter()
        .map(|p| p.display().to_string())
        .collect()
}

/// One code part of `scenario` for the probe, when it has that part.
fn part<'a>(scenario: &'a Scenario, key: &str) -> Option<Part<'a>> {
    scenario
        .parts()
        .find(|(k, _)| *k == key)
        .map(|(k, c)| Part::new(scenario, k, c))
}

/// A scenario that reached a measuring process without being a body: a `pytest:`
/// selection the application did not expand.
fn unexpanded(scenario: &Scenario) -> Error {
    Error::Pytest {
        file: scenario.file.clone(),
        line: scenario.location().1,
        scenario: scenario.name.clone(),
        message: "its `pytest:` selection was not expanded into tests before running".into(),
    }
}

/// The file of `scenario`'s compiled code, when the check saved one.
fn compiled_code(workdir: &Path, scenario: &Scenario) -> Option<String> {
    let path = compiled::code_file(workdir, scenario);
    path.is_file().then(|| path.display().to_string())
}

/// Runs one measuring process for `scenario`.
pub fn measure(scenario: &Scenario, python: &Path, workdir: &Path) -> Result<ProcessResult, Error> {
    if matches!(scenario.body, crate::scenario::Body::Selection(_)) {
        return Err(unexpanded(scenario));
    }
    let config = MeasureConfig {
        setup: part(scenario, "setup"),
        run: part(scenario, "run"),
        pytest: PytestConfig::of(scenario),
        teardown: part(scenario, "teardown"),
        warmup: scenario.warmup,
        iterations: scenario.iterations,
        chunks: schedule::chunk_count(scenario.iterations),
        metrics: scenario.metrics.clone(),
        thresholds: scenario
            .metrics
            .iter()
            .map(|&m| (m, threshold(m, scenario.tolerance.0)))
            .collect(),
        confirm: ConfirmConfig {
            max_window: scenario.confirm.iterations,
            time_s: scenario.confirm.time.as_secs_f64(),
            // Past three quarters of the timeout, a doubling could end as a timeout.
            deadline_s: scenario.timeout.as_secs_f64() * 0.75,
        },
        memory_limit: scenario.memory_limit.0,
        pythonpath: pythonpath(scenario),
        compiled: compiled_code(workdir, scenario),
    };
    let launch = Launch {
        mode: Mode::Measure,
        python,
        workdir,
        env: scenario_env(scenario),
        timeout: scenario.timeout,
        memory_limit: Some(scenario.memory_limit.0),
    };
    let (finished, sent) = run_probe(launch, &config, own_dir(scenario))?;
    let outcome =
        read_reply::<Measurement>(&finished, sent, scenario.timeout, scenario.memory_limit.0)
            .and_then(|m| check_series(m, scenario.iterations));
    let mut output = finished.output.text();
    let outcome = match (outcome, &finished.left_running) {
        (Ok(mut m), Some(note)) => {
            m.notes.push(note.clone());
            Ok(m)
        }
        (Err(fault), Some(note)) => {
            output.push_str(&format!("\n[memreg: {note}]\n"));
            Err(fault)
        }
        (outcome, None) => outcome,
    };
    Ok(ProcessResult {
        outcome,
        output,
        output_bytes: finished.output.total(),
        elapsed: finished.elapsed,
    })
}

/// A counter's growth threshold as the probe tests it: `tolerance` bytes per
/// iteration, in the counter's units (blocks: a 16th, docs/statistics.md §1;
/// counts: none, as the verdict).
fn threshold(metric: Metric, tolerance: u64) -> (u64, u64) {
    if metric.is_count() {
        (0, 1)
    } else if metric.is_bytes() {
        (tolerance, 1)
    } else {
        (tolerance, MIN_BLOCK_BYTES as u64)
    }
}

/// A measurement must hold every sample of every series, blocks included, over a
/// window that starts at the user's and only doubles.
fn check_series(m: Measurement, iterations: u64) -> Result<Measurement, Fault> {
    let want = schedule::samples(iterations);
    let all = m.series.iter().chain(m.user_series.iter().flatten());
    for (metric, values) in all {
        if values.len() != want {
            return Err(Fault::BadRecord(format!(
                "series `{}` has {} samples, expected {want}",
                metric.key(),
                values.len()
            )));
        }
    }
    if m.window < iterations || m.window / iterations != 1 << m.extensions {
        return Err(Fault::BadRecord(format!(
            "window {} after {} extensions of {iterations}",
            m.window, m.extensions
        )));
    }
    if !m.series.contains_key(&Metric::Blocks) {
        return Err(Fault::BadRecord("no `blocks` series".into()));
    }
    Ok(m)
}

/// Runs one attribution process (tracemalloc and gc type counts) for `scenario`,
/// over `iterations` iterations (see [`window`]).
pub fn attribute(
    scenario: &Scenario,
    python: &Path,
    workdir: &Path,
    iterations: u64,
) -> Result<Result<Attribution, Fault>, Error> {
    if matches!(scenario.body, crate::scenario::Body::Selection(_)) {
        return Err(unexpanded(scenario));
    }
    let config = AttributeConfig {
        setup: part(scenario, "setup"),
        run: part(scenario, "run"),
        pytest: PytestConfig::of(scenario),
        warmup: scenario.warmup,
        iterations,
        frames: scenario.attribution.frames,
        top: scenario.attribution.top,
        chains: ChainConfig {
            budget_s: CHAIN_BUDGET.as_secs_f64(),
            // The searches take at most one of the four timeouts the process has.
            total_s: CHAIN_BUDGET
                .saturating_mul(u32::try_from(scenario.attribution.top).unwrap_or(u32::MAX))
                .min(scenario.timeout)
                .as_secs_f64(),
            max_depth: CHAIN_DEPTH,
        },
        pythonpath: pythonpath(scenario),
        compiled: compiled_code(workdir, scenario),
    };
    // Tracing slows the body (and it runs twice), and the chain searches take up to
    // one timeout: allow several times the timeout.
    let timeout = scenario.timeout * 4;
    let launch = Launch {
        mode: Mode::Attribute,
        python,
        workdir,
        env: scenario_env(scenario),
        timeout,
        memory_limit: Some(scenario.memory_limit.0),
    };
    let (finished, sent) = run_probe(launch, &config, own_dir(scenario))?;
    Ok(
        read_reply::<Attributed>(&finished, sent, timeout, scenario.memory_limit.0)
            .map(|a| a.attribution),
    )
}

/// How long collecting a `pytest:` selection may take.
const EXPAND_TIMEOUT: Duration = Duration::from_secs(300);

/// Collects the tests of a `pytest:` scenario's selection with `python`, in the
/// scenario's environment, without running any: pytest's collection with the
/// project's conftest.py files, plugins and settings, in memreg's working directory.
pub fn expand(scenario: &Scenario, python: &Path, workdir: &Path) -> Result<Expanded, Error> {
    let crate::scenario::Body::Selection(selection) = &scenario.body else {
        return Ok(Expanded {
            tests: vec![],
            options: vec![],
            problem: None,
        });
    };
    install(workdir)?;
    let invocation_dir = std::env::current_dir().map_err(temp_error(workdir))?;
    let config = ExpandConfig {
        args: &selection.args,
        invocation_dir: invocation_dir.display().to_string(),
        pythonpath: pythonpath(scenario),
    };
    let launch = Launch {
        mode: Mode::Expand,
        python,
        workdir,
        env: scenario_env(scenario),
        timeout: EXPAND_TIMEOUT,
        memory_limit: Some(scenario.memory_limit.0),
    };
    let (finished, sent) = run_probe(launch, &config, true)?;
    let fail = |message: String| Error::Pytest {
        file: scenario.file.clone(),
        line: selection.line,
        scenario: scenario.name.clone(),
        message,
    };
    if finished.ending == Ending::Cancelled {
        return Err(fail("collection interrupted".into()));
    }
    read_reply::<Expanded>(&finished, sent, EXPAND_TIMEOUT, scenario.memory_limit.0).map_err(|f| {
        let output = finished.output.text();
        fail(match f {
            Fault::Exception(e) => format!("collection failed: {}\n{}", e.message, e.traceback),
            other => format!(
                "collection failed ({other:?}){}{}",
                if output.trim().is_empty() {
                    ""
                } else {
                    "; output:\n"
                },
                output.trim_end()
            ),
        })
    })
}

fn spawn_error(python: &Path, e: SpawnError) -> Error {
    match e {
        SpawnError::NotFound => Error::NoInterpreter {
            python: python.display().to_string(),
        },
        SpawnError::Other(source) => Error::Spawn {
            python: python.to_owned(),
            source,
        },
    }
}

/// A check's answer: the interpreter's identity and every compile error.
type CheckResult = Result<(PythonInfo, Vec<Error>), Error>;

/// Compiles every code part of `scenarios` with `python`; returns the interpreter's
/// identity and every compile error. What `cache` holds for this interpreter and
/// probe is used instead of compiling again (cache.rs), and what the check process
/// compiled is kept there; when the cache holds everything, no process runs.
pub fn check(
    scenarios: &[&Scenario],
    python: &Path,
    workdir: &Path,
    cache: Option<&cache::Cache>,
) -> Result<(PythonInfo, Vec<Error>), Error> {
    check_with(scenarios, python, workdir, cache, run_check)
}

/// [`check`], with the check process started by `run_check(scenarios, python,
/// workdir, probe)`.
fn check_with(
    scenarios: &[&Scenario],
    python: &Path,
    workdir: &Path,
    cache: Option<&cache::Cache>,
    run_check: impl FnOnce(&[&Scenario], &Path, &Path, bool) -> CheckResult,
) -> CheckResult {
    std::fs::create_dir_all(workdir.join("code")).map_err(temp_error(workdir))?;
    let digest = format!("{PROBE_DIGEST:016x}");
    let mut slot = cache.and_then(|c| c.slot(python, &digest));
    if let (None, Some(cache)) = (&slot, cache) {
        // A launcher (a pyenv shim): the interpreter it starts, asked once per run
        // (an interpreter start without site, a fraction of a check), has a slot.
        // The measuring processes run that interpreter (app::prepare); a check, when
        // one is needed, still goes through the launcher, as without a cache.
        slot = resolve(python).and_then(|resolved| cache.slot(&resolved, &digest));
    }
    let filled = match &slot {
        Some(slot) => slot.fill(workdir, scenarios),
        None => cache::Filled::default(),
    };
    if let Some(info) = filled.python.as_ref().filter(|_| filled.complete()) {
        return Ok((info.clone(), vec![]));
    }
    let todo: Vec<&Scenario> = scenarios
        .iter()
        .enumerate()
        .filter(|(i, _)| !filled.code.get(*i).copied().unwrap_or(false))
        .map(|(_, s)| *s)
        .collect();
    let probe = filled.python.is_none();
    if probe {
        install(workdir)?;
    }
    let (info, errors) = run_check(&todo, python, workdir, probe)?;
    if let (Some(slot), true) = (&slot, errors.is_empty()) {
        slot.store(workdir, &info, &todo, probe);
    }
    Ok((info, errors))
}

/// The interpreter a launcher script starts: its `sys.executable`, when that is a
/// file.
fn resolve(launcher: &Path) -> Option<std::path::PathBuf> {
    let spec = child::Spec {
        program: launcher.to_owned(),
        args: vec![
            "-S".into(),
            "-c".into(),
            "import sys; sys.stdout.write(sys.executable)".into(),
        ],
        env: vec![],
        timeout: CHECK_TIMEOUT,
        memory_limit: None,
        output_cap: 64 * 1024,
        inherit_fd: None,
    };
    let finished = child::run(&spec).ok()?;
    let path = std::path::PathBuf::from(finished.output.text());
    (finished.ending == Ending::Exited(0) && path.is_absolute() && path.is_file()).then_some(path)
}

/// Runs a check process: compiles `scenarios` (and with `probe` the probe's parts)
/// into `workdir`.
fn run_check(
    scenarios: &[&Scenario],
    python: &Path,
    workdir: &Path,
    probe: bool,
) -> Result<(PythonInfo, Vec<Error>), Error> {
    let config = CheckConfig {
        scenarios: scenarios
            .iter()
            .map(|s| CheckScenario {
                parts: s.parts().map(|(k, c)| Part::new(s, k, c)).collect(),
                compiled: Some(compiled::code_file(workdir, s).display().to_string()),
            })
            .collect(),
        probe,
    };
    let launch = Launch {
        mode: Mode::Check,
        python,
        workdir,
        env: vec![],
        timeout: CHECK_TIMEOUT,
        memory_limit: None,
    };
    let (finished, sent) = run_probe(launch, &config, true)?;
    let fail = |detail: String| Error::Check {
        python: python.to_owned(),
        detail,
    };
    if finished.ending == Ending::Cancelled {
        return Err(fail("interrupted".into()));
    }
    if matches!(sent, Ok(None)) {
        return Err(fail(format!(
            "the interpreter ended ({:?}) without an answer; output:\n{}",
            finished.ending,
            finished.output.text()
        )));
    }
    if let Ok(Some(text)) = &sent {
        let status = serde_json::from_str::<Envelope>(text).map(|e| e.status);
        if let Ok(Reply::<Checked>::Unsupported { version }) =
            Reply::parse(text, status.as_deref().unwrap_or_default())
        {
            return Err(Error::UnsupportedPython {
                python: python.to_owned(),
                version,
                needs: wire::MIN_PYTHON,
            });
        }
    }
    let checked: Checked = read_reply(&finished, sent, CHECK_TIMEOUT, 0).map_err(|f| match f {
        Fault::BadRecord(m) => fail(m),
        other => fail(format!("{other:?}")),
    })?;
    Ok((
        checked.python,
        checked.errors.into_iter().map(Error::from).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// What each check process was asked: scenario names, and whether the probe's
    /// parts too.
    type Asked = RefCell<Vec<(Vec<String>, bool)>>;

    /// A check process that compiles nothing real: it writes what a check leaves
    /// in the work directory (a probe part, each scenario's code file).
    fn fake_check<'a>(
        asked: &'a Asked,
    ) -> impl FnOnce(&[&Scenario], &Path, &Path, bool) -> CheckResult + 'a {
        move |scenarios, _python, workdir, probe| {
            asked
                .borrow_mut()
                .push((scenarios.iter().map(|s| s.name.clone()).collect(), probe));
            if probe {
                std::fs::write(workdir.join("probe-core-cpython-311.bin"), b"core").unwrap();
            }
            for s in scenarios {
                std::fs::write(
                    compiled::code_file(workdir, s),
                    s.run_code().unwrap().source.as_bytes(),
                )
                .unwrap();
            }
            Ok((crate::runner::fake::python(), vec![]))
        }
    }

    /// Replaces a code scenario's `run:` source.
    pub(crate) fn set_run(scenario: &mut Scenario, source: &str) {
        match &mut scenario.body {
            crate::scenario::Body::Code { run, .. } => run.source = source.into(),
            _ => panic!("not a code scenario"),
        }
    }

    #[test]
    fn a_cached_check_runs_no_process_and_a_changed_scenario_is_compiled_alone() {
        let dir = tempfile::tempdir().unwrap();
        let python = dir.path().join("python3");
        std::fs::write(&python, b"\x7fELF").unwrap();
        let yaml = dir.path().join("s.yaml");
        std::fs::write(
            &yaml,
            "scenarios:\n  - {name: a, run: x = 1}\n  - {name: b, run: y = 2}\n",
        )
        .unwrap();
        let mut scenarios = crate::scenario::load_all(&[yaml]).unwrap();
        let cache = cache::Cache::at(dir.path().join("cache"));
        let asked = Asked::default();
        let check = |scenarios: &[Scenario]| {
            let refs: Vec<&Scenario> = scenarios.iter().collect();
            let workdir = tempfile::tempdir().unwrap();
            let (info, errors) = check_with(
                &refs,
                &python,
                workdir.path(),
                Some(&cache),
                fake_check(&asked),
            )
            .unwrap();
            assert!(errors.is_empty());
            assert_eq!(info, crate::runner::fake::python());
            // Every scenario's code is in the work directory, checked or cached.
            for s in &refs {
                let code = std::fs::read(compiled::code_file(workdir.path(), s)).unwrap();
                assert_eq!(code, s.run_code().unwrap().source.as_bytes());
            }
        };
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();

        check(&scenarios);
        assert_eq!(*asked.borrow(), [(names(&["a", "b"]), true)]);
        check(&scenarios);
        assert_eq!(
            asked.borrow().len(),
            1,
            "a second run starts no check process"
        );

        set_run(&mut scenarios[1], "y = 3");
        check(&scenarios);
        assert_eq!(asked.borrow()[1], (names(&["b"]), false));
        check(&scenarios);
        assert_eq!(asked.borrow().len(), 2);

        // Without a cache, every run checks everything.
        let workdir = tempfile::tempdir().unwrap();
        let refs: Vec<&Scenario> = scenarios.iter().collect();
        check_with(&refs, &python, workdir.path(), None, fake_check(&asked)).unwrap();
        assert_eq!(asked.borrow()[2], (names(&["a", "b"]), true));
    }
}
