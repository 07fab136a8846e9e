//! What crosses the wire between memreg and the Python probe: the configuration
//! memreg writes for one process, and the record the probe writes back. Typed on
//! both sides of serde, so a misspelt status, fault kind or counter is a decoding
//! error, never a silently wrong result.

use super::holders::{Chain, Garbage};
use crate::scenario::{Code, Metric, Scenario};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the record format the probe writes.
pub const RECORD_FORMAT: u32 = 1;

/// One piece of a scenario's code as the probe compiles it: the file name and first
/// line make tracebacks and SyntaxErrors name the YAML file and line.
#[derive(Serialize)]
pub struct Part<'a> {
    pub scenario: &'a str,
    pub part: &'a str,
    pub code: &'a str,
    /// Absolute, so Python still finds the source lines after the scenario changes
    /// directory.
    pub filename: String,
    /// The file as the user named it: what tracebacks and errors show.
    pub shown: String,
    pub first_line: usize,
}

impl<'a> Part<'a> {
    pub fn new(s: &'a Scenario, part: &'a str, code: &'a Code) -> Self {
        let (filename, shown, first_line) = match code.first_line {
            Some(line) => (
                std::path::absolute(&s.file)
                    .unwrap_or_else(|_| s.file.clone())
                    .display()
                    .to_string(),
                s.file.display().to_string(),
                line,
            ),
            None => {
                let name = format!("<{}:{}>", s.name, part);
                (name.clone(), name, 1)
            }
        };
        Part {
            scenario: &s.name,
            part,
            code: &code.source,
            filename,
            shown,
            first_line,
        }
    }
}

/// `check` mode: compile every part of every scenario, and save what compiled.
#[derive(Serialize)]
pub struct CheckConfig<'a> {
    pub scenarios: Vec<CheckScenario<'a>>,
    /// Compile and save the probe's own parts too.
    pub probe: bool,
}

/// One scenario's parts, and where its compiled code goes.
#[derive(Serialize)]
pub struct CheckScenario<'a> {
    pub parts: Vec<Part<'a>>,
    pub compiled: Option<String>,
}

/// `expand` mode: collect a `pytest:` selection's tests without running them.
#[derive(Serialize)]
pub struct ExpandConfig<'a> {
    pub args: &'a [String],
    /// The directory pytest runs in (memreg's working directory).
    pub invocation_dir: String,
    pub pythonpath: Vec<String>,
}

/// `expand` mode's answer: the tests, or pytest's reason for none.
#[derive(Deserialize)]
pub struct Expanded {
    pub tests: Vec<crate::scenario::CollectedTest>,
    /// The selection's options (its arguments less paths and node ids).
    pub options: Vec<String>,
    pub problem: Option<PytestProblem>,
}

/// Why pytest could not collect a selection.
#[derive(Clone, Debug, Deserialize)]
pub struct PytestProblem {
    /// `pytest_missing`, `selection`, `collection`, `no_tests` or `pytest`.
    pub kind: String,
    /// pytest's own message.
    pub message: String,
}

/// A pytest test as a measuring process runs it (pytest_bridge.PytestBody).
#[derive(Serialize)]
pub struct PytestConfig<'a> {
    pub selector: &'a str,
    pub invocation_dir: String,
    pub options: &'a [String],
}

impl<'a> PytestConfig<'a> {
    pub fn of(s: &'a Scenario) -> Option<Self> {
        match &s.body {
            crate::scenario::Body::Test(t) => Some(PytestConfig {
                selector: &t.selector,
                invocation_dir: t.invocation_dir.display().to_string(),
                options: &t.options,
            }),
            _ => None,
        }
    }
}

/// `measure` mode: run one scenario and sample its counters.
#[derive(Serialize)]
pub struct MeasureConfig<'a> {
    pub setup: Option<Part<'a>>,
    /// The body: `run` code, or a pytest test.
    pub run: Option<Part<'a>>,
    pub pytest: Option<PytestConfig<'a>>,
    pub teardown: Option<Part<'a>>,
    pub warmup: u64,
    /// The user's window.
    pub iterations: u64,
    /// Chunks per window (even): the samples, less the baseline read.
    pub chunks: u64,
    pub metrics: Vec<Metric>,
    /// Per counter, the growth per iteration above which it grows, as a
    /// fraction (numerator, denominator) in counter units.
    pub thresholds: BTreeMap<Metric, (u64, u64)>,
    pub confirm: ConfirmConfig,
    pub memory_limit: u64,
    pub pythonpath: Vec<String>,
    /// The scenario's code compiled by the check process (src/probe/compiled.rs).
    pub compiled: Option<String>,
}

/// How far a process may extend its window to confirm a growth.
#[derive(Serialize)]
pub struct ConfirmConfig {
    /// The longest window, in iterations.
    pub max_window: u64,
    /// Most seconds the measured phase may take, extensions included.
    pub time_s: f64,
    /// Seconds after the probe's start past which it never extends (inside the
    /// process's timeout).
    pub deadline_s: f64,
}

/// `attribute` mode: explain where retained memory comes from.
#[derive(Serialize)]
pub struct AttributeConfig<'a> {
    pub setup: Option<Part<'a>>,
    pub run: Option<Part<'a>>,
    pub pytest: Option<PytestConfig<'a>>,
    pub warmup: u64,
    pub iterations: u64,
    pub frames: u64,
    pub top: u64,
    pub chains: ChainConfig,
    pub pythonpath: Vec<String>,
    /// The scenario's code compiled by the check process (src/probe/compiled.rs).
    pub compiled: Option<String>,
}

/// Bounds of the referrer-chain searches of one attribution process.
#[derive(Serialize)]
pub struct ChainConfig {
    /// Seconds one search may take (one heap scan may overrun it).
    pub budget_s: f64,
    /// Seconds all searches together may take.
    pub total_s: f64,
    /// Most links from a root to the object.
    pub max_depth: u64,
}

/// The record's first fields, read before the rest: a record of another version is
/// named as such, and the status says what the rest is.
#[derive(Deserialize)]
pub struct Envelope {
    pub format: u32,
    #[serde(default)]
    pub status: String,
}

/// A probe process's answer: what its mode produced, the scenario's exception, or
/// the bootstrap's refusal of an interpreter older than [`MIN_PYTHON`].
pub enum Reply<T> {
    Ok(T),
    Error { error: ScenarioException },
    Unsupported { version: String },
}

#[derive(Deserialize)]
struct ErrorReply {
    error: ScenarioException,
}

#[derive(Deserialize)]
struct UnsupportedReply {
    version: String,
}

impl<T: DeserializeOwned> Reply<T> {
    /// The answer in `text`, a record whose envelope says `status`: parsed straight
    /// into its type (not buffered as an internally tagged enum would be, which
    /// cost ~0.4 M instructions per measuring process's record).
    pub fn parse(text: &str, status: &str) -> Result<Reply<T>, String> {
        let e = |e: serde_json::Error| e.to_string();
        match status {
            "ok" => serde_json::from_str(text).map(Reply::Ok).map_err(e),
            "error" => serde_json::from_str(text)
                .map(|r: ErrorReply| Reply::Error { error: r.error })
                .map_err(e),
            "unsupported" => serde_json::from_str(text)
                .map(|r: UnsupportedReply| Reply::Unsupported { version: r.version })
                .map_err(e),
            other => Err(format!("unknown record status {other:?}")),
        }
    }
}

/// The oldest Python the probe runs on (`gc.freeze` is 3.7, `sys.implementation` and
/// the rest of the probe are tested from 3.8). Also in the bootstrap, as `(3, 8)`.
pub const MIN_PYTHON: &str = "3.8";

/// The interpreter a probe ran in.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
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
    /// The modules the interpreter had imported when the probe started (the record
    /// lists their names; only their count and fingerprint are kept).
    #[serde(
        default,
        rename = "startup_modules",
        deserialize_with = "startup_of_names"
    )]
    pub startup: Option<Startup>,
}

/// The modules an interpreter starts with: what `site`, `.pth` files and
/// `sitecustomize` import before any scenario code. Held figures include the modules a
/// scenario's setup imports that were not there already, so they are comparable only
/// between interpreters that start alike.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Startup {
    /// How many modules.
    pub modules: u32,
    /// FNV-1a of their sorted names, joined by newlines, in hex.
    pub fingerprint: String,
}

impl Startup {
    pub fn of_names(names: &[String]) -> Startup {
        let mut sorted: Vec<&str> = names.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        let hash = sorted
            .join("\n")
            .bytes()
            .fold(0xcbf29ce484222325u64, |h, b| {
                (h ^ b as u64).wrapping_mul(0x100000001b3)
            });
        Startup {
            modules: sorted.len() as u32,
            fingerprint: format!("{hash:016x}"),
        }
    }
}

/// A probe sends the names; a `PythonInfo` memreg serialised itself (the compile
/// check's cache, src/probe/cache.rs) holds the count and fingerprint.
fn startup_of_names<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Startup>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Sent {
        Names(Vec<String>),
        Kept(Startup),
    }
    Ok(Option::<Sent>::deserialize(d)?.map(|s| match s {
        Sent::Names(n) => Startup::of_names(&n),
        Sent::Kept(k) => k,
    }))
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

/// `check` mode's answer.
#[derive(Deserialize)]
pub struct Checked {
    pub python: PythonInfo,
    pub errors: Vec<CompileProblem>,
}

/// A SyntaxError (or similar) in a scenario's code.
#[derive(Clone, Debug, Deserialize)]
pub struct CompileProblem {
    pub scenario: String,
    pub part: String,
    pub filename: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub text: String,
}

impl From<CompileProblem> for crate::error::Error {
    fn from(p: CompileProblem) -> Self {
        crate::error::Error::Compile(Box::new(crate::error::CompileError {
            file: p.filename,
            line: p.line,
            column: p.column,
            scenario: p.scenario,
            part: p.part,
            message: p.message,
            text: p.text,
        }))
    }
}

/// Counters read before the scenario's setup ran.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct StartCounters {
    pub blocks: Option<i64>,
    pub native: Option<i64>,
    /// Bytes in pymalloc's allocated blocks (absent without pymalloc).
    #[serde(default)]
    pub python: Option<i64>,
}

/// Counters read once at the end of the user's window.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct EndCounters {
    #[serde(default)]
    pub python: Option<i64>,
}

/// Why a process stopped measuring where it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// No gating counter grew at the end of the window.
    Flat,
    /// Every growing counter was steady over at least 4x the user's window.
    Confirmed,
    /// Only RSS still grew, and it was slowing down (it cannot fail).
    RssSlowing,
    /// Doubling the window would pass the iteration budget.
    BudgetIterations,
    /// Doubling the window would pass the time budget.
    BudgetTime,
}

#[derive(Clone, Debug, Default, Deserialize)]
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

/// Whether peak RSS covers the measured phase only, or the whole process (where
/// VmHWM could not be reset).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeakScope {
    Measured,
    Process,
}

/// A counter's value at every sample (see `schedule::positions`).
pub type Series = BTreeMap<Metric, Vec<i64>>;

/// `measure` mode's answer: one process's samples.
#[derive(Clone, Debug, Deserialize)]
pub struct Measurement {
    pub python: PythonInfo,
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default)]
    pub timing: Timing,
    #[serde(deserialize_with = "series_of_values")]
    pub series: Series,
    /// Peak RSS of the user's window.
    pub peak_rss: Option<u64>,
    pub peak_scope: Option<PeakScope>,
    #[serde(default)]
    pub tracemalloc_peak: Option<u64>,
    #[serde(default)]
    pub start: StartCounters,
    #[serde(default)]
    pub end: EndCounters,
    /// The final window (iterations the series spans): the user's `iterations`, or
    /// more when the process looked longer.
    pub window: u64,
    /// How many times the window doubled.
    #[serde(default)]
    pub extensions: u32,
    pub stop: Stop,
    /// Seconds the user's window took (sampling included).
    #[serde(default)]
    pub window_s: f64,
    /// The series at the end of the user's window, when the window extended (the
    /// baselines' figures are read from it).
    #[serde(default, deserialize_with = "some_series_of_values")]
    pub user_series: Option<Series>,
}

/// A record's series: per counter, its values as a JSON list of integers, or as the
/// hex of their little-endian 64-bit bytes (what the probe sends where it can: one C
/// call, where writing 201 numbers one by one costs ~0.2 M instructions a series).
fn series_of_values<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Series, D::Error> {
    BTreeMap::<Metric, Values>::deserialize(d).map(unwrap_values)
}

fn some_series_of_values<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Series>, D::Error> {
    Option::<BTreeMap<Metric, Values>>::deserialize(d).map(|m| m.map(unwrap_values))
}

fn unwrap_values(raw: BTreeMap<Metric, Values>) -> Series {
    raw.into_iter().map(|(k, v)| (k, v.0)).collect()
}

/// One series as the probe sends it (see [`series_of_values`]).
struct Values(Vec<i64>);

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Values, D::Error> {
        d.deserialize_any(ValuesVisitor)
    }
}

struct ValuesVisitor;

impl<'de> serde::de::Visitor<'de> for ValuesVisitor {
    type Value = Values;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of integers, or their little-endian 64-bit bytes in hex")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Values, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element::<i64>()? {
            out.push(v);
        }
        Ok(Values(out))
    }

    fn visit_str<E: serde::de::Error>(self, hex: &str) -> Result<Values, E> {
        values_of_hex(hex)
            .map(Values)
            .ok_or_else(|| E::custom(format!("not a series in hex: {hex:.40}")))
    }
}

/// 64-bit little-endian integers from their bytes in hex (16 digits each).
fn values_of_hex(hex: &str) -> Option<Vec<i64>> {
    let digits = hex.as_bytes();
    if !digits.len().is_multiple_of(16) {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    digits
        .chunks_exact(16)
        .map(|word| {
            let mut bytes = [0u8; 8];
            for (i, pair) in word.chunks_exact(2).enumerate() {
                bytes[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
            }
            Some(i64::from_le_bytes(bytes))
        })
        .collect()
}

impl Measurement {
    /// The series over the user's window.
    pub fn user_window(&self) -> &Series {
        self.user_series.as_ref().unwrap_or(&self.series)
    }
}

/// `attribute` mode's answer.
#[derive(Deserialize)]
pub struct Attributed {
    pub attribution: Attribution,
}

/// The phase of a process in which the scenario's code raised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Start,
    Setup,
    Warmup,
    Run,
    Teardown,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Start => "start",
            Phase::Setup => "setup",
            Phase::Warmup => "warmup",
            Phase::Run => "run",
            Phase::Teardown => "teardown",
        }
    }
}

/// What the scenario's exception was, as the probe classified it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// Any exception.
    Exception,
    /// `sys.exit`.
    Exit,
    /// `MemoryError` under the probe's own address-space cap.
    MemoryLimit,
    /// `KeyboardInterrupt`.
    Interrupted,
    /// A pytest test failed (or errored in its setup or teardown); the traceback
    /// is pytest's failure text.
    TestFailed,
    /// A pytest test was skipped, or failed as expected (xfail).
    TestSkipped,
}

/// An exception (or sys.exit, or MemoryError) raised by the scenario's code.
#[derive(Clone, Debug, Deserialize)]
pub struct ScenarioException {
    pub phase: Phase,
    pub kind: ExceptionKind,
    #[serde(rename = "type")]
    pub type_name: String,
    pub message: String,
    pub traceback: String,
}

/// One allocation site that kept memory over the attribution iterations.
#[derive(Clone, Debug, Deserialize)]
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

#[derive(Clone, Debug, Deserialize)]
pub struct Frame {
    pub file: String,
    pub line: u64,
    pub source: String,
}

/// A gc-tracked type whose live count grew.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TypeGrowth {
    #[serde(rename = "type")]
    pub type_name: String,
    pub per_iteration: f64,
    pub before: u64,
    pub after: u64,
    /// Who holds one object of this type made during the iterations.
    #[serde(default)]
    pub held_by: Option<Chain>,
}

/// Where retained memory comes from: tracemalloc sites and growing object types.
#[derive(Clone, Debug, Deserialize)]
pub struct Attribution {
    pub iterations: u64,
    pub frames: u64,
    /// Net bytes per iteration that tracemalloc saw retained, all sites together.
    pub traced_bytes_per_iteration: f64,
    pub sites: Vec<Site>,
    pub types: Vec<TypeGrowth>,
    /// `gc.garbage` growth (absent from records of older memreg versions).
    #[serde(default)]
    pub uncollectable: Option<Garbage>,
    /// atexit registrations per iteration, where atexit can count them: they hold
    /// their arguments out of the collector's sight on 3.11+.
    #[serde(default)]
    pub atexit_per_iteration: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_arrive_as_lists_or_as_little_endian_hex() {
        assert_eq!(values_of_hex(""), Some(vec![]));
        assert_eq!(
            values_of_hex("0100000000000000ffffffffffffffff00000000000000801027000000000000"),
            Some(vec![1, -1, i64::MIN, 10000])
        );
        assert_eq!(values_of_hex("01"), None);
        assert_eq!(values_of_hex("zz00000000000000"), None);
        let json = r#"{"blocks": [1, 2], "native": "0300000000000000"}"#;
        let mut d = serde_json::Deserializer::from_str(json);
        let s = series_of_values(&mut d).unwrap();
        assert_eq!(s[&Metric::Blocks], [1, 2]);
        assert_eq!(s[&Metric::Native], [3]);
    }
}
