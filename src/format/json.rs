//! `--json PATH`: the full report for other tools, and what `memreg merge` reads
//! back. Format 1 is documented in the README ("JSON report").
//!
//! The format is defined here, type by type, apart from the report model: a change
//! to the model does not change the file unless this module says so. New fields may
//! be added within a format (readers must ignore unknown fields, and this reader
//! defaults missing new ones); a change to existing fields bumps [`FORMAT`].

use crate::error::ExitCode;
use crate::report::model::{Outcome, ProcessDetail, RunReport, Spread};
use crate::report::{
    prose, Analysis, BaselineResult, Chain, Check, Closure, CounterVerdict, ExceptionKind, Expect,
    Figure, Finding, Garbage, GarbageType, GiveUp, Link, Metric, Phase, Root, Step, Stop, Verdict,
};
use crate::units::{format_timestamp, parse_timestamp, Bytes};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Version of the JSON report format. Additions keep it; changes bump it.
pub const FORMAT: u64 = 1;

#[derive(Serialize, Deserialize)]
struct Report {
    format: u64,
    memreg: String,
    elapsed_s: f64,
    /// Stopped before every scenario's verdict; those scenarios are `not_run`.
    interrupted: bool,
    /// Derived: the exit code of the process that wrote the report (130 when
    /// interrupted by Ctrl-C).
    exit_code: i32,
    /// When the run started (RFC 3339, UTC) and where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hostname: Option<String>,
    counts: Counts,
    scenarios: Vec<Scenario>,
}

#[derive(Serialize, Deserialize)]
struct Counts {
    passed: usize,
    failed: usize,
    errored: usize,
    inconclusive: usize,
    #[serde(default)]
    not_run: usize,
}

#[derive(Serialize, Deserialize)]
struct Scenario {
    name: String,
    file: PathBuf,
    #[serde(default)]
    run_line: Option<usize>,
    description: Option<String>,
    expect: ExpectJ,
    python: Option<Python>,
    iterations: u64,
    warmup: u64,
    processes: u32,
    /// Bytes.
    tolerance: u64,
    analysis: AnalysisJ,
    peak_rss: Option<SpreadJ>,
    time_per_iteration: Option<SpreadJ>,
    cpu_time: DurationJ,
    faults: Vec<(u32, FaultJ)>,
    process_details: Vec<Process>,
    /// Per process: figure -> value.
    figures: Vec<BTreeMap<String, i64>>,
    baseline: Option<Baseline>,
    attribution: Option<AttributionResult>,
    notes: Vec<String>,
    output: Option<String>,
    // Derived, for readers that do not want to recompute them; not read back.
    status: CheckJ,
    environment: Option<String>,
    sample_iterations: Vec<u64>,
    unaccounted_native: Option<Unaccounted>,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ExpectJ {
    Pass,
    Leak,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum CheckJ {
    Passed,
    Failed,
    Errored,
    Inconclusive,
    /// The run was interrupted before the scenario's verdict.
    NotRun,
}

#[derive(Serialize, Deserialize)]
struct StartupChangeJ {
    recorded: u32,
    now: u32,
}

#[derive(Serialize, Deserialize)]
struct Python {
    implementation: String,
    version: String,
    executable: String,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    machine: String,
    #[serde(default)]
    build: String,
    #[serde(default)]
    allocator: String,
    /// How many modules the interpreter had imported when the probe started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    startup_modules: Option<u32>,
    /// A fingerprint of their names: baselines compare only between interpreters
    /// that start with the same modules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    startup_fingerprint: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct AnalysisJ {
    verdict: VerdictJ,
    /// The leak check alone (`status` adds the baseline).
    check: CheckJ,
    counters: Vec<Counter>,
    /// One line saying why the check failed, errored or was inconclusive.
    summary: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
enum VerdictJ {
    Clean,
    Leak,
    Inconclusive { reason: String },
    Error,
    NotRun,
}

#[derive(Serialize, Deserialize)]
struct Counter {
    metric: MetricJ,
    gating: bool,
    per_process: Vec<f64>,
    growing: Vec<bool>,
    median: f64,
    min: f64,
    max: f64,
    threshold: f64,
    agreeing: u32,
    processes: u32,
    p_value: f64,
    leak: bool,
    /// Each process's fitted line: value = intercept + per_process * iteration,
    /// fitted from sample `fit_from` on.
    #[serde(default)]
    intercepts: Vec<f64>,
    #[serde(default)]
    fit_from: usize,
    /// Each process's final window (iterations).
    #[serde(default)]
    windows: Vec<u64>,
    /// Whether each process's growth is a steady line (not slowing down).
    #[serde(default)]
    steady: Vec<bool>,
    /// Each process's iteration of the counter's last rise (0: never rose).
    #[serde(default)]
    last_rise: Vec<u64>,
    /// Whether each process grew over the scenario's own window (and so looked
    /// longer).
    #[serde(default)]
    grew_in_window: Vec<bool>,
    #[serde(default)]
    finding: FindingJ,
}

/// What the processes' growth of one counter amounts to.
#[derive(Clone, Copy, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum FindingJ {
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
enum MetricJ {
    Blocks,
    Native,
    Rss,
    Tracemalloc,
    Fds,
    Threads,
}

#[derive(Serialize, Deserialize)]
struct SpreadJ {
    median: f64,
    min: f64,
    max: f64,
}

#[derive(Serialize, Deserialize)]
struct DurationJ {
    secs: u64,
    nanos: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "fault", content = "detail")]
enum FaultJ {
    Exception(ExceptionJ),
    Crashed { signal: i32 },
    ExitedWithoutRecord { code: i32 },
    TimedOut { after: DurationJ },
    MemoryLimit { rss: Option<u64>, limit: u64 },
    BadRecord(String),
    Cancelled,
}

#[derive(Serialize, Deserialize)]
struct ExceptionJ {
    phase: PhaseJ,
    kind: ExceptionKindJ,
    #[serde(rename = "type")]
    type_name: String,
    message: String,
    traceback: String,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum PhaseJ {
    Start,
    Setup,
    Warmup,
    Run,
    Teardown,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ExceptionKindJ {
    Exception,
    Exit,
    MemoryLimit,
    Interrupted,
    TestFailed,
    TestSkipped,
}

#[derive(Serialize, Deserialize)]
struct Process {
    index: u32,
    elapsed_s: f64,
    output_bytes: u64,
    /// Derived from the scenario's `faults`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fault: Option<FaultDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timing: Option<TimingJ>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    peak_rss: Option<u64>,
    /// The window the series spans (iterations): the scenario's `iterations`, or
    /// longer when the process looked longer to confirm a growth.
    #[serde(default)]
    window: u64,
    /// Why the process stopped measuring where it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stop: Option<StopJ>,
    /// Counter -> value at each sample: sample i after i * window / (samples - 1)
    /// iterations (`sample_iterations` when the window is the scenario's).
    series: BTreeMap<MetricJ, Vec<i64>>,
    figures: BTreeMap<String, i64>,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StopJ {
    Flat,
    Confirmed,
    RssSlowing,
    BudgetIterations,
    BudgetTime,
}

#[derive(Serialize, Deserialize)]
struct FaultDetail {
    kind: String,
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    traceback: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct TimingJ {
    setup_s: f64,
    warmup_s: f64,
    body_s: f64,
    measure_s: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
enum Baseline {
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
struct AllocatorChangeJ {
    recorded: String,
    now: String,
}

#[derive(Serialize, Deserialize)]
struct Comparison {
    figure: String,
    kind: KindJ,
    /// Derived from `kind` and `old`.
    note: Option<String>,
    old: Vec<i64>,
    new: Vec<i64>,
    old_median: f64,
    new_median: f64,
    change: f64,
    interval: Option<(f64, f64)>,
    p_value: Option<f64>,
    floor: f64,
    status: StatusJ,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum KindJ {
    Exact,
    Noisy,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "lowercase")]
enum StatusJ {
    Regressed,
    Improved,
    Unchanged,
    /// The reason is derived.
    Inconclusive(String),
}

#[derive(Serialize, Deserialize)]
enum AttributionResult {
    Ok(AttributionJ),
    Err(String),
}

#[derive(Serialize, Deserialize)]
struct AttributionJ {
    iterations: u64,
    frames: u64,
    traced_bytes_per_iteration: f64,
    sites: Vec<SiteJ>,
    types: Vec<TypeJ>,
    /// gc.garbage growth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uncollectable: Option<GarbageJ>,
    /// atexit registrations per iteration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    atexit_per_iteration: Option<f64>,
}

#[derive(Serialize, Deserialize)]
struct SiteJ {
    file: String,
    line: u64,
    user_code: bool,
    bytes_per_iteration: f64,
    blocks_per_iteration: f64,
    traceback: Vec<FrameJ>,
}

#[derive(Serialize, Deserialize)]
struct FrameJ {
    file: String,
    line: u64,
    source: String,
}

#[derive(Serialize, Deserialize)]
struct TypeJ {
    #[serde(rename = "type")]
    type_name: String,
    per_iteration: f64,
    before: u64,
    after: u64,
    /// Who holds one object of this type made during the iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    held_by: Option<ChainJ>,
}

/// A referrer chain (see `crate::probe::holders`).
#[derive(Serialize, Deserialize)]
struct ChainJ {
    holder: Option<String>,
    steps: Vec<StepJ>,
    root: Option<RootJ>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    closure: Option<ClosureJ>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gave_up: Option<GiveUpJ>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    beyond: Option<GiveUpJ>,
    levels: u64,
    inspected: u64,
    seconds: f64,
    // Derived, for readers that do not want to render them; not read back.
    /// The holder and every link as one expression.
    #[serde(default)]
    path: String,
    /// The chain as the console shows it.
    #[serde(default)]
    text: String,
}

#[derive(Serialize, Deserialize)]
struct StepJ {
    link: LinkJ,
    #[serde(rename = "type")]
    type_name: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum LinkJ {
    Path(String),
    SetMember,
    DictKey,
    Internal,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RootJ {
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
struct ClosureJ {
    variable: String,
    function: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
enum GiveUpJ {
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
struct GarbageJ {
    per_iteration: f64,
    types: Vec<GarbageTypeJ>,
    debug_saveall: bool,
}

#[derive(Serialize, Deserialize)]
struct GarbageTypeJ {
    #[serde(rename = "type")]
    type_name: String,
    per_iteration: f64,
}

#[derive(Serialize, Deserialize)]
struct Unaccounted {
    native_bytes_per_iteration: f64,
    traced_bytes_per_iteration: f64,
}

// ------------------------------------------------------------------ model -> JSON

fn metric_j(m: Metric) -> MetricJ {
    match m {
        Metric::Blocks => MetricJ::Blocks,
        Metric::Native => MetricJ::Native,
        Metric::Rss => MetricJ::Rss,
        Metric::Tracemalloc => MetricJ::Tracemalloc,
        Metric::Fds => MetricJ::Fds,
        Metric::Threads => MetricJ::Threads,
    }
}

fn check_j(c: Check) -> CheckJ {
    match c {
        Check::Passed => CheckJ::Passed,
        Check::Failed => CheckJ::Failed,
        Check::Errored => CheckJ::Errored,
        Check::Inconclusive => CheckJ::Inconclusive,
        Check::NotRun => CheckJ::NotRun,
    }
}

fn spread_j(s: Spread) -> SpreadJ {
    SpreadJ {
        median: s.median,
        min: s.min,
        max: s.max,
    }
}

fn duration_j(d: Duration) -> DurationJ {
    DurationJ {
        secs: d.as_secs(),
        nanos: d.subsec_nanos(),
    }
}

fn figures_j(f: &BTreeMap<Figure, i64>) -> BTreeMap<String, i64> {
    f.iter().map(|(k, v)| (k.key().to_owned(), *v)).collect()
}

fn fault_j(f: &crate::report::Fault) -> FaultJ {
    use crate::report::Fault as F;
    match f {
        F::Exception(e) => FaultJ::Exception(ExceptionJ {
            phase: match e.phase {
                Phase::Start => PhaseJ::Start,
                Phase::Setup => PhaseJ::Setup,
                Phase::Warmup => PhaseJ::Warmup,
                Phase::Run => PhaseJ::Run,
                Phase::Teardown => PhaseJ::Teardown,
            },
            kind: match e.kind {
                ExceptionKind::Exception => ExceptionKindJ::Exception,
                ExceptionKind::Exit => ExceptionKindJ::Exit,
                ExceptionKind::MemoryLimit => ExceptionKindJ::MemoryLimit,
                ExceptionKind::Interrupted => ExceptionKindJ::Interrupted,
                ExceptionKind::TestFailed => ExceptionKindJ::TestFailed,
                ExceptionKind::TestSkipped => ExceptionKindJ::TestSkipped,
            },
            type_name: e.type_name.clone(),
            message: e.message.clone(),
            traceback: e.traceback.clone(),
        }),
        F::Crashed { signal } => FaultJ::Crashed { signal: *signal },
        F::ExitedWithoutRecord { code } => FaultJ::ExitedWithoutRecord { code: *code },
        F::TimedOut { after } => FaultJ::TimedOut {
            after: duration_j(*after),
        },
        F::MemoryLimit { rss, limit } => FaultJ::MemoryLimit {
            rss: *rss,
            limit: *limit,
        },
        F::BadRecord(m) => FaultJ::BadRecord(m.clone()),
        F::Cancelled => FaultJ::Cancelled,
    }
}

fn counter_j(c: &CounterVerdict) -> Counter {
    Counter {
        metric: metric_j(c.metric),
        gating: c.gating,
        per_process: c.per_process.clone(),
        growing: c.growing.clone(),
        median: c.median,
        min: c.min,
        max: c.max,
        threshold: c.threshold,
        agreeing: c.agreeing,
        processes: c.processes,
        p_value: c.p_value,
        leak: c.leak,
        intercepts: c.intercepts.clone(),
        fit_from: c.fit_from,
        windows: c.windows.clone(),
        steady: c.steady.clone(),
        last_rise: c.last_rise.clone(),
        grew_in_window: c.grew_in_window.clone(),
        finding: match c.finding {
            Finding::Flat => FindingJ::Flat,
            Finding::Steady { confirmed: false } => FindingJ::Steady,
            Finding::Steady { confirmed: true } => FindingJ::Confirmed,
            Finding::Settling => FindingJ::Settling,
        },
    }
}

fn process_j(p: &ProcessDetail) -> Process {
    use crate::report::Fault as F;
    Process {
        index: p.index,
        elapsed_s: p.elapsed_s,
        output_bytes: p.output_bytes,
        fault: p.fault.as_ref().map(|f| FaultDetail {
            kind: f.kind().as_str().to_owned(),
            message: prose::fault(f),
            traceback: match f {
                F::Exception(e) => Some(e.traceback.clone()),
                _ => None,
            },
        }),
        timing: p.timing.as_ref().map(|t| TimingJ {
            setup_s: t.setup_s,
            warmup_s: t.warmup_s,
            body_s: t.body_s,
            measure_s: t.measure_s,
        }),
        peak_rss: p.peak_rss,
        window: p.window,
        stop: p.stop.map(|s| match s {
            Stop::Flat => StopJ::Flat,
            Stop::Confirmed => StopJ::Confirmed,
            Stop::RssSlowing => StopJ::RssSlowing,
            Stop::BudgetIterations => StopJ::BudgetIterations,
            Stop::BudgetTime => StopJ::BudgetTime,
        }),
        series: p
            .series
            .iter()
            .map(|(m, v)| (metric_j(*m), v.clone()))
            .collect(),
        figures: figures_j(&p.figures),
    }
}

fn baseline_j(o: &Outcome, b: &BaselineResult) -> Baseline {
    use crate::report::{Change, Kind};
    match b {
        BaselineResult::Missing {
            environment,
            strict,
        } => Baseline::Missing {
            environment: environment.clone(),
            strict: *strict,
        },
        BaselineResult::SettingsDiffer {
            environment,
            recorded,
            allocator,
            startup,
            strict,
        } => Baseline::SettingsDiffer {
            environment: environment.clone(),
            detail: prose::not_comparable(
                *recorded,
                (o.iterations, o.warmup),
                allocator.as_ref(),
                *startup,
            ),
            strict: *strict,
            recorded_iterations: recorded.0,
            recorded_warmup: recorded.1,
            allocator: allocator
                .clone()
                .map(|(recorded, now)| AllocatorChangeJ { recorded, now }),
            startup_modules: startup.map(|(recorded, now)| StartupChangeJ { recorded, now }),
        },
        BaselineResult::Compared {
            environment,
            figures,
            recorded_with,
        } => Baseline::Compared {
            environment: environment.clone(),
            figures: figures
                .iter()
                .map(|c| Comparison {
                    figure: c.figure.key().to_owned(),
                    kind: match c.kind {
                        Kind::Exact => KindJ::Exact,
                        Kind::Noisy => KindJ::Noisy,
                    },
                    note: prose::comparison_note(c).map(str::to_owned),
                    old: c.old.clone(),
                    new: c.new.clone(),
                    old_median: c.old_median,
                    new_median: c.new_median,
                    change: c.change,
                    interval: c.interval,
                    p_value: c.p_value,
                    floor: c.floor,
                    status: match c.status {
                        Change::Regressed => StatusJ::Regressed,
                        Change::Improved => StatusJ::Improved,
                        Change::Unchanged => StatusJ::Unchanged,
                        Change::Inconclusive => {
                            StatusJ::Inconclusive(prose::inconclusive_change(c).unwrap_or_default())
                        }
                    },
                })
                .collect(),
            note: prose::baseline_note(o),
            recorded_with: recorded_with.clone(),
        },
    }
}

fn attribution_j(a: &crate::report::Attribution) -> AttributionJ {
    AttributionJ {
        iterations: a.iterations,
        frames: a.frames,
        traced_bytes_per_iteration: a.traced_bytes_per_iteration,
        sites: a
            .sites
            .iter()
            .map(|s| SiteJ {
                file: s.file.clone(),
                line: s.line,
                user_code: s.user_code,
                bytes_per_iteration: s.bytes_per_iteration,
                blocks_per_iteration: s.blocks_per_iteration,
                traceback: s
                    .traceback
                    .iter()
                    .map(|f| FrameJ {
                        file: f.file.clone(),
                        line: f.line,
                        source: f.source.clone(),
                    })
                    .collect(),
            })
            .collect(),
        types: a
            .types
            .iter()
            .map(|t| TypeJ {
                type_name: t.type_name.clone(),
                per_iteration: t.per_iteration,
                before: t.before,
                after: t.after,
                held_by: t.held_by.as_ref().map(|c| chain_j(&t.type_name, c)),
            })
            .collect(),
        uncollectable: a.uncollectable.as_ref().map(|g| GarbageJ {
            per_iteration: g.per_iteration,
            types: g
                .types
                .iter()
                .map(|t| GarbageTypeJ {
                    type_name: t.type_name.clone(),
                    per_iteration: t.per_iteration,
                })
                .collect(),
            debug_saveall: g.debug_saveall,
        }),
        atexit_per_iteration: a.atexit_per_iteration,
    }
}

fn root_j(r: Root) -> RootJ {
    match r {
        Root::ModuleGlobal => RootJ::ModuleGlobal,
        Root::ClassAttribute => RootJ::ClassAttribute,
        Root::Class => RootJ::Class,
        Root::ClosureCell => RootJ::ClosureCell,
        Root::ThreadFrame => RootJ::ThreadFrame,
        Root::ModuleState => RootJ::ModuleState,
        Root::Atexit => RootJ::Atexit,
        Root::SysModules => RootJ::SysModules,
        Root::GcGarbage => RootJ::GcGarbage,
        Root::LoggingManager => RootJ::LoggingManager,
        Root::WeakrefFinalize => RootJ::WeakrefFinalize,
        Root::SubclassRegistry => RootJ::SubclassRegistry,
    }
}

fn give_up_j(g: &GiveUp) -> GiveUpJ {
    match g {
        GiveUp::Time {
            budget_s,
            level,
            inspected,
        } => GiveUpJ::Time {
            budget_s: *budget_s,
            level: *level,
            inspected: *inspected,
        },
        GiveUp::Depth { max_depth } => GiveUpJ::Depth {
            max_depth: *max_depth,
        },
        GiveUp::TooMany { max_objects } => GiveUpJ::TooMany {
            max_objects: *max_objects,
        },
        GiveUp::NoRoot { referrers } => GiveUpJ::NoRoot {
            referrers: *referrers,
        },
        GiveUp::NotFound => GiveUpJ::NotFound,
        GiveUp::Failed { message } => GiveUpJ::Failed {
            message: message.clone(),
        },
    }
}

fn chain_j(type_name: &str, c: &Chain) -> ChainJ {
    ChainJ {
        holder: c.holder.clone(),
        steps: c
            .steps
            .iter()
            .map(|s| StepJ {
                link: match &s.link {
                    Link::Path(p) => LinkJ::Path(p.clone()),
                    Link::SetMember => LinkJ::SetMember,
                    Link::DictKey => LinkJ::DictKey,
                    Link::Internal => LinkJ::Internal,
                },
                type_name: s.type_name.clone(),
            })
            .collect(),
        root: c.root.map(root_j),
        closure: c.closure.as_ref().map(|cl| ClosureJ {
            variable: cl.variable.clone(),
            function: cl.function.clone(),
        }),
        gave_up: c.gave_up.as_ref().map(give_up_j),
        beyond: c.beyond.as_ref().map(give_up_j),
        levels: c.levels,
        inspected: c.inspected,
        seconds: c.seconds,
        path: prose::chain_path(c),
        text: prose::chain_line(type_name, c),
    }
}

fn scenario_j(o: &Outcome) -> Scenario {
    let a = &o.analysis;
    Scenario {
        name: o.name.clone(),
        file: o.file.clone(),
        run_line: o.run_line,
        description: o.description.clone(),
        expect: match o.expect {
            Expect::Pass => ExpectJ::Pass,
            Expect::Leak => ExpectJ::Leak,
        },
        python: o.python.as_ref().map(|p| Python {
            implementation: p.implementation.clone(),
            version: p.version.clone(),
            executable: p.executable.clone(),
            platform: p.platform.clone(),
            machine: p.machine.clone(),
            build: p.build.clone(),
            allocator: p.allocator.clone(),
            startup_modules: p.startup.as_ref().map(|s| s.modules),
            startup_fingerprint: p.startup.as_ref().map(|s| s.fingerprint.clone()),
        }),
        iterations: o.iterations,
        warmup: o.warmup,
        processes: o.processes,
        tolerance: o.tolerance.0,
        analysis: AnalysisJ {
            verdict: match a.verdict {
                Verdict::Clean => VerdictJ::Clean,
                Verdict::Leak => VerdictJ::Leak,
                Verdict::Inconclusive => VerdictJ::Inconclusive {
                    reason: prose::inconclusive(o),
                },
                Verdict::Error => VerdictJ::Error,
                Verdict::NotRun => VerdictJ::NotRun,
            },
            check: check_j(a.check),
            counters: a.counters.iter().map(counter_j).collect(),
            summary: prose::summary(o),
        },
        peak_rss: o.peak_rss.map(spread_j),
        time_per_iteration: o.time_per_iteration.map(spread_j),
        cpu_time: duration_j(o.cpu_time),
        faults: o.faults.iter().map(|(i, f)| (*i, fault_j(f))).collect(),
        process_details: o.process_details.iter().map(process_j).collect(),
        figures: o.figures.iter().map(figures_j).collect(),
        baseline: o.baseline.as_ref().map(|b| baseline_j(o, b)),
        attribution: o.attribution.as_ref().map(|r| match r {
            Ok(a) => AttributionResult::Ok(attribution_j(a)),
            Err(e) => AttributionResult::Err(e.clone()),
        }),
        notes: prose::notes(o),
        output: o.output.clone(),
        status: check_j(o.status()),
        environment: o.environment(),
        sample_iterations: o.sample_iterations(),
        unaccounted_native: o.unaccounted_native().map(|(native, traced)| Unaccounted {
            native_bytes_per_iteration: native,
            traced_bytes_per_iteration: traced,
        }),
    }
}

fn report_j(run: &RunReport) -> Report {
    let c = run.counts();
    Report {
        format: FORMAT,
        memreg: env!("CARGO_PKG_VERSION").to_owned(),
        elapsed_s: run.elapsed.as_secs_f64(),
        interrupted: run.interrupted,
        exit_code: run.exit_code().code(),
        started: run.started.map(format_timestamp),
        hostname: run.hostname.clone(),
        counts: Counts {
            passed: c.passed,
            failed: c.failed,
            errored: c.errored,
            inconclusive: c.inconclusive,
            not_run: c.not_run,
        },
        scenarios: run.outcomes.iter().map(scenario_j).collect(),
    }
}

pub fn write(w: &mut dyn Write, run: &RunReport) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(&report_j(run)).map_err(std::io::Error::other)?;
    text.push('\n');
    w.write_all(text.as_bytes())
}

// ------------------------------------------------------------------ JSON -> model

fn metric_m(m: MetricJ) -> Metric {
    match m {
        MetricJ::Blocks => Metric::Blocks,
        MetricJ::Native => Metric::Native,
        MetricJ::Rss => Metric::Rss,
        MetricJ::Tracemalloc => Metric::Tracemalloc,
        MetricJ::Fds => Metric::Fds,
        MetricJ::Threads => Metric::Threads,
    }
}

fn check_m(c: CheckJ) -> Check {
    match c {
        CheckJ::Passed => Check::Passed,
        CheckJ::Failed => Check::Failed,
        CheckJ::Errored => Check::Errored,
        CheckJ::Inconclusive => Check::Inconclusive,
        CheckJ::NotRun => Check::NotRun,
    }
}

fn spread_m(s: SpreadJ) -> Spread {
    Spread {
        median: s.median,
        min: s.min,
        max: s.max,
    }
}

fn duration_m(d: DurationJ) -> Duration {
    Duration::new(d.secs, d.nanos)
}

fn figure_m(key: &str) -> Result<Figure, String> {
    Figure::from_key(key).ok_or_else(|| format!("unknown figure `{key}`"))
}

fn figures_m(f: BTreeMap<String, i64>) -> Result<BTreeMap<Figure, i64>, String> {
    f.into_iter().map(|(k, v)| Ok((figure_m(&k)?, v))).collect()
}

fn fault_m(f: FaultJ) -> crate::report::Fault {
    use crate::report::Fault as F;
    match f {
        FaultJ::Exception(e) => F::Exception(crate::report::ScenarioException {
            phase: match e.phase {
                PhaseJ::Start => Phase::Start,
                PhaseJ::Setup => Phase::Setup,
                PhaseJ::Warmup => Phase::Warmup,
                PhaseJ::Run => Phase::Run,
                PhaseJ::Teardown => Phase::Teardown,
            },
            kind: match e.kind {
                ExceptionKindJ::Exception => ExceptionKind::Exception,
                ExceptionKindJ::Exit => ExceptionKind::Exit,
                ExceptionKindJ::MemoryLimit => ExceptionKind::MemoryLimit,
                ExceptionKindJ::Interrupted => ExceptionKind::Interrupted,
                ExceptionKindJ::TestFailed => ExceptionKind::TestFailed,
                ExceptionKindJ::TestSkipped => ExceptionKind::TestSkipped,
            },
            type_name: e.type_name,
            message: e.message,
            traceback: e.traceback,
        }),
        FaultJ::Crashed { signal } => F::Crashed { signal },
        FaultJ::ExitedWithoutRecord { code } => F::ExitedWithoutRecord { code },
        FaultJ::TimedOut { after } => F::TimedOut {
            after: duration_m(after),
        },
        FaultJ::MemoryLimit { rss, limit } => F::MemoryLimit { rss, limit },
        FaultJ::BadRecord(m) => F::BadRecord(m),
        FaultJ::Cancelled => F::Cancelled,
    }
}

fn baseline_m(b: Baseline) -> Result<BaselineResult, String> {
    use crate::report::{Change, FigureComparison, Kind};
    Ok(match b {
        Baseline::Missing {
            environment,
            strict,
        } => BaselineResult::Missing {
            environment,
            strict,
        },
        Baseline::SettingsDiffer {
            environment,
            strict,
            recorded_iterations,
            recorded_warmup,
            allocator,
            startup_modules,
            ..
        } => BaselineResult::SettingsDiffer {
            environment,
            recorded: (recorded_iterations, recorded_warmup),
            allocator: allocator.map(|a| (a.recorded, a.now)),
            startup: startup_modules.map(|s| (s.recorded, s.now)),
            strict,
        },
        Baseline::Compared {
            environment,
            figures,
            recorded_with,
            ..
        } => BaselineResult::Compared {
            environment,
            figures: figures
                .into_iter()
                .map(|c| {
                    Ok(FigureComparison {
                        figure: figure_m(&c.figure)?,
                        kind: match c.kind {
                            KindJ::Exact => Kind::Exact,
                            KindJ::Noisy => Kind::Noisy,
                        },
                        old: c.old,
                        new: c.new,
                        old_median: c.old_median,
                        new_median: c.new_median,
                        change: c.change,
                        interval: c.interval,
                        p_value: c.p_value,
                        floor: c.floor,
                        status: match c.status {
                            StatusJ::Regressed => Change::Regressed,
                            StatusJ::Improved => Change::Improved,
                            StatusJ::Unchanged => Change::Unchanged,
                            StatusJ::Inconclusive(_) => Change::Inconclusive,
                        },
                    })
                })
                .collect::<Result<_, String>>()?,
            recorded_with,
        },
    })
}

fn attribution_m(a: AttributionJ) -> crate::report::Attribution {
    use crate::report::{Frame, Site, TypeGrowth};
    crate::report::Attribution {
        iterations: a.iterations,
        frames: a.frames,
        traced_bytes_per_iteration: a.traced_bytes_per_iteration,
        sites: a
            .sites
            .into_iter()
            .map(|s| Site {
                file: s.file,
                line: s.line,
                user_code: s.user_code,
                bytes_per_iteration: s.bytes_per_iteration,
                blocks_per_iteration: s.blocks_per_iteration,
                traceback: s
                    .traceback
                    .into_iter()
                    .map(|f| Frame {
                        file: f.file,
                        line: f.line,
                        source: f.source,
                    })
                    .collect(),
            })
            .collect(),
        types: a
            .types
            .into_iter()
            .map(|t| TypeGrowth {
                type_name: t.type_name,
                per_iteration: t.per_iteration,
                before: t.before,
                after: t.after,
                held_by: t.held_by.map(chain_m),
            })
            .collect(),
        uncollectable: a.uncollectable.map(|g| Garbage {
            per_iteration: g.per_iteration,
            types: g
                .types
                .into_iter()
                .map(|t| GarbageType {
                    type_name: t.type_name,
                    per_iteration: t.per_iteration,
                })
                .collect(),
            debug_saveall: g.debug_saveall,
        }),
        atexit_per_iteration: a.atexit_per_iteration,
    }
}

fn root_m(r: RootJ) -> Root {
    match r {
        RootJ::ModuleGlobal => Root::ModuleGlobal,
        RootJ::ClassAttribute => Root::ClassAttribute,
        RootJ::Class => Root::Class,
        RootJ::ClosureCell => Root::ClosureCell,
        RootJ::ThreadFrame => Root::ThreadFrame,
        RootJ::ModuleState => Root::ModuleState,
        RootJ::Atexit => Root::Atexit,
        RootJ::SysModules => Root::SysModules,
        RootJ::GcGarbage => Root::GcGarbage,
        RootJ::LoggingManager => Root::LoggingManager,
        RootJ::WeakrefFinalize => Root::WeakrefFinalize,
        RootJ::SubclassRegistry => Root::SubclassRegistry,
    }
}

fn give_up_m(g: GiveUpJ) -> GiveUp {
    match g {
        GiveUpJ::Time {
            budget_s,
            level,
            inspected,
        } => GiveUp::Time {
            budget_s,
            level,
            inspected,
        },
        GiveUpJ::Depth { max_depth } => GiveUp::Depth { max_depth },
        GiveUpJ::TooMany { max_objects } => GiveUp::TooMany { max_objects },
        GiveUpJ::NoRoot { referrers } => GiveUp::NoRoot { referrers },
        GiveUpJ::NotFound => GiveUp::NotFound,
        GiveUpJ::Failed { message } => GiveUp::Failed { message },
    }
}

fn chain_m(c: ChainJ) -> Chain {
    Chain {
        holder: c.holder,
        steps: c
            .steps
            .into_iter()
            .map(|s| Step {
                link: match s.link {
                    LinkJ::Path(p) => Link::Path(p),
                    LinkJ::SetMember => Link::SetMember,
                    LinkJ::DictKey => Link::DictKey,
                    LinkJ::Internal => Link::Internal,
                },
                type_name: s.type_name,
            })
            .collect(),
        root: c.root.map(root_m),
        closure: c.closure.map(|cl| Closure {
            variable: cl.variable,
            function: cl.function,
        }),
        gave_up: c.gave_up.map(give_up_m),
        beyond: c.beyond.map(give_up_m),
        levels: c.levels,
        inspected: c.inspected,
        seconds: c.seconds,
    }
}

fn outcome_m(s: Scenario) -> Result<Outcome, String> {
    let faults: Vec<(u32, crate::report::Fault)> =
        s.faults.into_iter().map(|(i, f)| (i, fault_m(f))).collect();
    let process_details = s
        .process_details
        .into_iter()
        .map(|p| {
            Ok(ProcessDetail {
                index: p.index,
                elapsed_s: p.elapsed_s,
                output_bytes: p.output_bytes,
                fault: faults
                    .iter()
                    .find(|(i, _)| *i == p.index)
                    .map(|(_, f)| f.clone()),
                timing: p.timing.map(|t| crate::report::Timing {
                    setup_s: t.setup_s,
                    warmup_s: t.warmup_s,
                    body_s: t.body_s,
                    measure_s: t.measure_s,
                }),
                peak_rss: p.peak_rss,
                window: p.window,
                stop: p.stop.map(|s| match s {
                    StopJ::Flat => Stop::Flat,
                    StopJ::Confirmed => Stop::Confirmed,
                    StopJ::RssSlowing => Stop::RssSlowing,
                    StopJ::BudgetIterations => Stop::BudgetIterations,
                    StopJ::BudgetTime => Stop::BudgetTime,
                }),
                series: p
                    .series
                    .into_iter()
                    .map(|(m, v)| (metric_m(m), v))
                    .collect(),
                figures: figures_m(p.figures)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut o = Outcome {
        name: s.name,
        file: s.file,
        run_line: s.run_line,
        description: s.description,
        expect: match s.expect {
            ExpectJ::Pass => Expect::Pass,
            ExpectJ::Leak => Expect::Leak,
        },
        python: s.python.map(|p| crate::report::PythonInfo {
            implementation: p.implementation,
            version: p.version,
            executable: p.executable,
            platform: p.platform,
            machine: p.machine,
            build: p.build,
            allocator: p.allocator,
            startup: match (p.startup_modules, p.startup_fingerprint) {
                (Some(modules), Some(fingerprint)) => Some(crate::report::Startup {
                    modules,
                    fingerprint,
                }),
                _ => None,
            },
        }),
        iterations: s.iterations,
        warmup: s.warmup,
        processes: s.processes,
        tolerance: Bytes(s.tolerance),
        analysis: Analysis {
            verdict: match s.analysis.verdict {
                VerdictJ::Clean => Verdict::Clean,
                VerdictJ::Leak => Verdict::Leak,
                VerdictJ::Inconclusive { .. } => Verdict::Inconclusive,
                VerdictJ::Error => Verdict::Error,
                VerdictJ::NotRun => Verdict::NotRun,
            },
            check: check_m(s.analysis.check),
            counters: s
                .analysis
                .counters
                .into_iter()
                .map(|c| CounterVerdict {
                    metric: metric_m(c.metric),
                    gating: c.gating,
                    per_process: c.per_process,
                    intercepts: c.intercepts,
                    fit_from: c.fit_from,
                    windows: c.windows,
                    growing: c.growing,
                    steady: c.steady,
                    last_rise: c.last_rise,
                    grew_in_window: c.grew_in_window,
                    finding: match c.finding {
                        FindingJ::Flat => Finding::Flat,
                        FindingJ::Steady => Finding::Steady { confirmed: false },
                        FindingJ::Confirmed => Finding::Steady { confirmed: true },
                        FindingJ::Settling => Finding::Settling,
                    },
                    median: c.median,
                    min: c.min,
                    max: c.max,
                    threshold: c.threshold,
                    agreeing: c.agreeing,
                    processes: c.processes,
                    p_value: c.p_value,
                    leak: c.leak,
                })
                .collect(),
        },
        peak_rss: s.peak_rss.map(spread_m),
        time_per_iteration: s.time_per_iteration.map(spread_m),
        cpu_time: duration_m(s.cpu_time),
        faults,
        output: s.output,
        notes: s.notes,
        figures: s
            .figures
            .into_iter()
            .map(figures_m)
            .collect::<Result<_, _>>()?,
        baseline: s.baseline.map(baseline_m).transpose()?,
        attribution: s.attribution.map(|a| match a {
            AttributionResult::Ok(a) => Ok(attribution_m(a)),
            AttributionResult::Err(e) => Err(e),
        }),
        process_details,
    };
    // `notes` holds the derived baseline note too: keep only the probes' own.
    if let Some(n) = prose::baseline_note(&o) {
        o.notes.retain(|x| *x != n);
    }
    Ok(o)
}

/// Reads a report written by [`write`] (derived fields are recomputed, not trusted).
pub fn read(text: &str) -> Result<RunReport, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    match v.get("format").and_then(serde_json::Value::as_u64) {
        Some(FORMAT) => {}
        Some(other) => {
            return Err(format!(
                "report format {other}, this memreg reads format {FORMAT}"
            ))
        }
        None => return Err("not a memreg JSON report (no `format`)".into()),
    }
    let report: Report = serde_json::from_value(v).map_err(|e| format!("scenarios: {e}"))?;
    Ok(RunReport {
        outcomes: report
            .scenarios
            .into_iter()
            .map(outcome_m)
            .collect::<Result<_, _>>()?,
        elapsed: Duration::from_secs_f64(report.elapsed_s.max(0.0)),
        interrupted: report.interrupted,
        started: report.started.as_deref().and_then(parse_timestamp),
        hostname: report.hostname,
        // The exit code says which signal (128 + its number).
        stopped_by: ExitCode::signal_of(report.exit_code).filter(|_| report.interrupted),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::fake;

    /// Writing, reading and writing again gives the same file: nothing the format
    /// holds is lost on the way through the model (what `memreg merge` relies on).
    #[test]
    fn a_report_survives_a_round_trip_through_the_model() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(
            &path,
            "scenarios:\n  - {name: leaky, run: x, iterations: 100}\n  - {name: clean, run: x, iterations: 100, expect: leak}\n",
        )
        .unwrap();
        let scenarios = crate::scenario::load_all(&[path]).unwrap();
        let leaky: Vec<_> = (0..5)
            .map(|_| {
                let mut m = fake::measurement(100, 1.0, 8.0, 0);
                let fds: Vec<i64> = (0..m.series[&Metric::Blocks].len() as i64).collect();
                m.series.insert(Metric::Fds, fds);
                fake::process(m)
            })
            .collect();
        let clean: Vec<_> = (0..3)
            .map(|_| fake::process(fake::measurement(100, 0.0, 0.0, 0)))
            .collect();
        let mut leaky = Outcome::build(&scenarios[0], &leaky);
        leaky.attribution = Some(Ok(attribution()));
        let run = RunReport {
            outcomes: vec![leaky, Outcome::build(&scenarios[1], &clean)],
            elapsed: Duration::from_millis(1234),
            interrupted: true,
            started: Some(std::time::UNIX_EPOCH + Duration::from_millis(1_795_442_166_123)),
            hostname: Some("ci-runner".into()),
            stopped_by: None,
        };
        let mut first = Vec::new();
        write(&mut first, &run).unwrap();
        let back = read(std::str::from_utf8(&first).unwrap()).unwrap();
        let mut second = Vec::new();
        write(&mut second, &back).unwrap();
        let (first, second) = (
            String::from_utf8(first).unwrap(),
            String::from_utf8(second).unwrap(),
        );
        let differ = first
            .lines()
            .zip(second.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b);
        assert!(differ.is_none(), "line {:?}", differ);
        assert_eq!(first.len(), second.len());
        assert!(
            back.outcomes[1].not_run(),
            "interrupted before every process ran"
        );
        assert_eq!(back.counts().not_run, 1);
        assert!(back.started.is_some() && back.hostname.is_some());
        let Some(Ok(a)) = &back.outcomes[0].attribution else {
            panic!("attribution lost")
        };
        assert_eq!(a.types, attribution().types, "chains survive");
        assert_eq!(a.uncollectable, attribution().uncollectable);
        assert!(
            first.contains(r#""path": "app._registry[7]['request']""#),
            "{first}"
        );
        assert!(first.contains(r#""fds": ["#), "{first}");
    }

    /// Attribution with a chain of every link kind, one that gave up, and garbage.
    fn attribution() -> crate::report::Attribution {
        use crate::report::TypeGrowth;
        let step = |link: Link, t: &str| Step {
            link,
            type_name: t.into(),
        };
        let chain = Chain {
            holder: Some("app".into()),
            steps: vec![
                step(Link::Path("._registry".into()), "dict"),
                step(Link::Path("[7]".into()), "dict"),
                step(Link::Path("['request']".into()), "app.Request"),
            ],
            root: Some(Root::ModuleGlobal),
            closure: Some(Closure {
                variable: "seen".into(),
                function: "app.f.<locals>.g".into(),
            }),
            gave_up: None,
            beyond: Some(GiveUp::Failed {
                message: "TypeError: x".into(),
            }),
            levels: 3,
            inspected: 4,
            seconds: 0.0123,
        };
        let gave_up = Chain {
            holder: Some("<list held by ?>".into()),
            steps: vec![
                step(Link::SetMember, "set"),
                step(Link::DictKey, "dict"),
                step(Link::Internal, "app.Node"),
            ],
            root: None,
            closure: None,
            gave_up: Some(GiveUp::Time {
                budget_s: 2.0,
                level: 5,
                inspected: 1234,
            }),
            beyond: None,
            levels: 5,
            inspected: 1234,
            seconds: 2.01,
        };
        let growth = |t: &str, held_by| TypeGrowth {
            type_name: t.into(),
            per_iteration: 1.0,
            before: 10,
            after: 110,
            held_by,
        };
        crate::report::Attribution {
            iterations: 100,
            frames: 10,
            traced_bytes_per_iteration: 64.5,
            sites: vec![],
            types: vec![
                growth("app.Request", Some(chain)),
                growth("app.Node", Some(gave_up)),
                growth("dict", None),
            ],
            uncollectable: Some(Garbage {
                per_iteration: 1.0,
                types: vec![GarbageType {
                    type_name: "app.Node".into(),
                    per_iteration: 1.0,
                }],
                debug_saveall: true,
            }),
            atexit_per_iteration: Some(0.5),
        }
    }
}
