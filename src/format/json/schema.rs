//! Format 1, type by type: what the file holds, apart from the report model.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Serialize, Deserialize)]
pub(super) struct Report {
    pub(super) format: u64,
    pub(super) memreg: String,
    pub(super) elapsed_s: f64,
    /// Stopped before every scenario's verdict; those scenarios are `not_run`.
    pub(super) interrupted: bool,
    /// Derived: the exit code of the process that wrote the report (130 when
    /// interrupted by Ctrl-C).
    pub(super) exit_code: i32,
    /// When the run started (RFC 3339, UTC) and where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) started: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hostname: Option<String>,
    pub(super) counts: Counts,
    pub(super) scenarios: Vec<Scenario>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Counts {
    pub(super) passed: usize,
    pub(super) failed: usize,
    pub(super) errored: usize,
    pub(super) inconclusive: usize,
    #[serde(default)]
    pub(super) not_run: usize,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Scenario {
    pub(super) name: String,
    pub(super) file: PathBuf,
    #[serde(default)]
    pub(super) run_line: Option<usize>,
    pub(super) description: Option<String>,
    pub(super) expect: ExpectJ,
    pub(super) python: Option<Python>,
    pub(super) iterations: u64,
    pub(super) warmup: u64,
    pub(super) processes: u32,
    /// Bytes.
    pub(super) tolerance: u64,
    pub(super) analysis: AnalysisJ,
    pub(super) peak_rss: Option<SpreadJ>,
    pub(super) time_per_iteration: Option<SpreadJ>,
    pub(super) cpu_time: DurationJ,
    pub(super) faults: Vec<(u32, FaultJ)>,
    pub(super) process_details: Vec<Process>,
    /// Per process: figure -> value.
    pub(super) figures: Vec<BTreeMap<String, i64>>,
    pub(super) baseline: Option<Baseline>,
    pub(super) attribution: Option<AttributionResult>,
    pub(super) notes: Vec<String>,
    pub(super) output: Option<String>,
    // Derived, for readers that do not want to recompute them; not read back.
    pub(super) status: CheckJ,
    pub(super) environment: Option<String>,
    pub(super) sample_iterations: Vec<u64>,
    pub(super) unaccounted_native: Option<Unaccounted>,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum ExpectJ {
    Pass,
    Leak,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum CheckJ {
    Passed,
    Failed,
    Errored,
    Inconclusive,
    /// The run was interrupted before the scenario's verdict.
    NotRun,
}

#[derive(Serialize, Deserialize)]
pub(super) struct StartupChangeJ {
    pub(super) recorded: u32,
    pub(super) now: u32,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Python {
    pub(super) implementation: String,
    pub(super) version: String,
    pub(super) executable: String,
    #[serde(default)]
    pub(super) platform: String,
    #[serde(default)]
    pub(super) machine: String,
    #[serde(default)]
    pub(super) build: String,
    #[serde(default)]
    pub(super) allocator: String,
    /// How many modules the interpreter had imported when the probe started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) startup_modules: Option<u32>,
    /// A fingerprint of their names: baselines compare only between interpreters
    /// that start with the same modules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) startup_fingerprint: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct AnalysisJ {
    pub(super) verdict: VerdictJ,
    /// The leak check alone (`status` adds the baseline).
    pub(super) check: CheckJ,
    pub(super) counters: Vec<Counter>,
    /// One line saying why the check failed, errored or was inconclusive.
    pub(super) summary: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub(super) enum VerdictJ {
    Clean,
    Leak,
    Inconclusive { reason: String },
    Error,
    NotRun,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Counter {
    pub(super) metric: MetricJ,
    pub(super) gating: bool,
    pub(super) per_process: Vec<f64>,
    pub(super) growing: Vec<bool>,
    pub(super) median: f64,
    pub(super) min: f64,
    pub(super) max: f64,
    pub(super) threshold: f64,
    pub(super) agreeing: u32,
    pub(super) processes: u32,
    pub(super) p_value: f64,
    pub(super) leak: bool,
    /// Each process's fitted line: value = intercept + per_process * iteration,
    /// fitted from sample `fit_from` on.
    #[serde(default)]
    pub(super) intercepts: Vec<f64>,
    #[serde(default)]
    pub(super) fit_from: usize,
    /// Each process's final window (iterations).
    #[serde(default)]
    pub(super) windows: Vec<u64>,
    /// Whether each process's growth is a steady line (not slowing down).
    #[serde(default)]
    pub(super) steady: Vec<bool>,
    /// Each process's iteration of the counter's last rise (0: never rose).
    #[serde(default)]
    pub(super) last_rise: Vec<u64>,
    /// Whether each process grew over the scenario's own window (and so looked
    /// longer).
    #[serde(default)]
    pub(super) grew_in_window: Vec<bool>,
    #[serde(default)]
    pub(super) finding: FindingJ,
}

/// What the processes' growth of one counter amounts to.
#[derive(Clone, Copy, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum FindingJ {
    #[default]
    Flat,
    /// Steady growth over the user's window only (not confirmed longer).
    Steady,
    /// Steady growth over at least 4x the user's window.
    Confirmed,
    /// Significant growth, still slowing down.
    Settling,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum MetricJ {
    Blocks,
    Native,
    Rss,
    Tracemalloc,
    Fds,
    Threads,
}

#[derive(Serialize, Deserialize)]
pub(super) struct SpreadJ {
    pub(super) median: f64,
    pub(super) min: f64,
    pub(super) max: f64,
}

#[derive(Serialize, Deserialize)]
pub(super) struct DurationJ {
    pub(super) secs: u64,
    pub(super) nanos: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "fault", content = "detail")]
pub(super) enum FaultJ {
    Exception(ExceptionJ),
    Crashed { signal: i32 },
    ExitedWithoutRecord { code: i32 },
    TimedOut { after: DurationJ },
    MemoryLimit { rss: Option<u64>, limit: u64 },
    BadRecord(String),
    Cancelled,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ExceptionJ {
    pub(super) phase: PhaseJ,
    pub(super) kind: ExceptionKindJ,
    #[serde(rename = "type")]
    pub(super) type_name: String,
    pub(super) message: String,
    pub(super) traceback: String,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum PhaseJ {
    Start,
    Setup,
    Warmup,
    Run,
    Teardown,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum ExceptionKindJ {
    Exception,
    Exit,
    MemoryLimit,
    Interrupted,
    TestFailed,
    TestSkipped,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Process {
    pub(super) index: u32,
    pub(super) elapsed_s: f64,
    pub(super) output_bytes: u64,
    /// Derived from the scenario's `faults`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) fault: Option<FaultDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) timing: Option<TimingJ>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) peak_rss: Option<u64>,
    /// The window the series spans (iterations): the scenario's `iterations`, or
    /// longer when the process looked longer to confirm a growth.
    #[serde(default)]
    pub(super) window: u64,
    /// Why the process stopped measuring where it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) stop: Option<StopJ>,
    /// Counter -> value at each sample: sample i after i * window / (samples - 1)
    /// iterations (`sample_iterations` when the window is the scenario's).
    pub(super) series: BTreeMap<MetricJ, Vec<i64>>,
    pub(super) figures: BTreeMap<String, i64>,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum StopJ {
    Flat,
    Confirmed,
    RssSlowing,
    BudgetIterations,
    BudgetTime,
}

#[derive(Serialize, Deserialize)]
pub(super) struct FaultDetail {
    pub(super) kind: String,
    pub(super) message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) traceback: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct TimingJ {
    pub(super) setup_s: f64,
    pub(super) warmup_s: f64,
    pub(super) body_s: f64,
    pub(super) measure_s: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub(super) enum Baseline {
    Missing {
        environment: String,
        strict: bool,
    },
    SettingsDiffer {
        environment: String,
        /// Derived from the recorded and current settings.
        detail: String,
        strict: bool,
        #[serde(default)]
        recorded_iterations: u64,
        #[serde(default)]
        recorded_warmup: u64,
        /// The allocator when it differs: `{"recorded": "pymalloc", "now": "malloc"}`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        allocator: Option<AllocatorChangeJ>,
        /// How many modules the interpreter started with, when that differs:
        /// `{"recorded": 103, "now": 33}`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        startup_modules: Option<StartupChangeJ>,
    },
    Compared {
        environment: String,
        figures: Vec<Comparison>,
        /// Derived from `recorded_with`.
        note: Option<String>,
        #[serde(default)]
        recorded_with: Option<String>,
    },
}

#[derive(Serialize, Deserialize)]
pub(super) struct AllocatorChangeJ {
    pub(super) recorded: String,
    pub(super) now: String,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Comparison {
    pub(super) figure: String,
    pub(super) kind: KindJ,
    /// Derived from `kind` and `old`.
    pub(super) note: Option<String>,
    pub(super) old: Vec<i64>,
    pub(super) new: Vec<i64>,
    pub(super) old_median: f64,
    pub(super) new_median: f64,
    pub(super) change: f64,
    pub(super) interval: Option<(f64, f64)>,
    pub(super) p_value: Option<f64>,
    pub(super) floor: f64,
    pub(super) status: StatusJ,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum KindJ {
    Exact,
    Noisy,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "lowercase")]
pub(super) enum StatusJ {
    Regressed,
    Improved,
    Unchanged,
    /// The reason is derived.
    Inconclusive(String),
}

#[derive(Serialize, Deserialize)]
pub(super) enum AttributionResult {
    Ok(AttributionJ),
    Err(String),
}

#[derive(Serialize, Deserialize)]
pub(super) struct AttributionJ {
    pub(super) iterations: u64,
    pub(super) frames: u64,
    pub(super) traced_bytes_per_iteration: f64,
    pub(super) sites: Vec<SiteJ>,
    pub(super) types: Vec<TypeJ>,
    /// gc.garbage growth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) uncollectable: Option<GarbageJ>,
    /// atexit registrations per iteration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) atexit_per_iteration: Option<f64>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct SiteJ {
    pub(super) file: String,
    pub(super) line: u64,
    pub(super) user_code: bool,
    pub(super) bytes_per_iteration: f64,
    pub(super) blocks_per_iteration: f64,
    pub(super) traceback: Vec<FrameJ>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct FrameJ {
    pub(super) file: String,
    pub(super) line: u64,
    pub(super) source: String,
}

#[derive(Serialize, Deserialize)]
pub(super) struct TypeJ {
    #[serde(rename = "type")]
    pub(super) type_name: String,
    pub(super) per_iteration: f64,
    pub(super) before: u64,
    pub(super) after: u64,
    /// Who holds one object of this type made during the iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) held_by: Option<ChainJ>,
}

/// A referrer chain (see `crate::probe::holders`).
#[derive(Serialize, Deserialize)]
pub(super) struct ChainJ {
    pub(super) holder: Option<String>,
    pub(super) steps: Vec<StepJ>,
    pub(super) root: Option<RootJ>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) closure: Option<ClosureJ>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) gave_up: Option<GiveUpJ>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) beyond: Option<GiveUpJ>,
    pub(super) levels: u64,
    pub(super) inspected: u64,
    pub(super) seconds: f64,
    // Derived, for readers that do not want to render them; not read back.
    /// The holder and every link as one expression.
    #[serde(default)]
    pub(super) path: String,
    /// The chain as the console shows it.
    #[serde(default)]
    pub(super) text: String,
}

#[derive(Serialize, Deserialize)]
pub(super) struct StepJ {
    pub(super) link: LinkJ,
    #[serde(rename = "type")]
    pub(super) type_name: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum LinkJ {
    Path(String),
    SetMember,
    DictKey,
    Internal,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum RootJ {
    ModuleGlobal,
    ClassAttribute,
    Class,
    ClosureCell,
    ThreadFrame,
    ModuleState,
    Atexit,
    SysModules,
    GcGarbage,
    LoggingManager,
    WeakrefFinalize,
    SubclassRegistry,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ClosureJ {
    pub(super) variable: String,
    pub(super) function: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub(super) enum GiveUpJ {
    Time {
        budget_s: f64,
        level: u64,
        inspected: u64,
    },
    Depth {
        max_depth: u64,
    },
    TooMany {
        max_objects: u64,
    },
    NoRoot {
        referrers: bool,
    },
    NotFound,
    Failed {
        message: String,
    },
}

#[derive(Serialize, Deserialize)]
pub(super) struct GarbageJ {
    pub(super) per_iteration: f64,
    pub(super) types: Vec<GarbageTypeJ>,
    pub(super) debug_saveall: bool,
}

#[derive(Serialize, Deserialize)]
pub(super) struct GarbageTypeJ {
    #[serde(rename = "type")]
    pub(super) type_name: String,
    pub(super) per_iteration: f64,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Unaccounted {
    pub(super) native_bytes_per_iteration: f64,
    pub(super) traced_bytes_per_iteration: f64,
}
