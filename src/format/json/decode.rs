//! Format 1 read back into the report model (derived fields recomputed, not
//! trusted).

use super::schema::*;
use crate::report::model::{Outcome, ProcessDetail, Spread};
use crate::report::{
    prose, Analysis, BaselineResult, Chain, Check, Closure, CounterVerdict, ExceptionKind, Expect,
    Figure, Finding, Garbage, GarbageType, GiveUp, Link, Metric, Phase, Root, Step, Stop, Verdict,
};
use crate::units::Bytes;
use std::collections::BTreeMap;
use std::time::Duration;

pub(super) fn metric_m(m: MetricJ) -> Metric {
    match m {
        MetricJ::Blocks => Metric::Blocks,
        MetricJ::Native => Metric::Native,
        MetricJ::Rss => Metric::Rss,
        MetricJ::Tracemalloc => Metric::Tracemalloc,
        MetricJ::Fds => Metric::Fds,
        MetricJ::Threads => Metric::Threads,
    }
}

pub(super) fn check_m(c: CheckJ) -> Check {
    match c {
        CheckJ::Passed => Check::Passed,
        CheckJ::Failed => Check::Failed,
        CheckJ::Errored => Check::Errored,
        CheckJ::Inconclusive => Check::Inconclusive,
        CheckJ::NotRun => Check::NotRun,
    }
}

pub(super) fn spread_m(s: SpreadJ) -> Spread {
    Spread {
        median: s.median,
        min: s.min,
        max: s.max,
    }
}

pub(super) fn duration_m(d: DurationJ) -> Duration {
    Duration::new(d.secs, d.nanos)
}

pub(super) fn figure_m(key: &str) -> Result<Figure, String> {
    Figure::from_key(key).ok_or_else(|| format!("unknown figure `{key}`"))
}

pub(super) fn figures_m(f: BTreeMap<String, i64>) -> Result<BTreeMap<Figure, i64>, String> {
    f.into_iter().map(|(k, v)| Ok((figure_m(&k)?, v))).collect()
}

pub(super) fn fault_m(f: FaultJ) -> crate::report::Fault {
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

pub(super) fn baseline_m(b: Baseline) -> Result<BaselineResult, String> {
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

pub(super) fn attribution_m(a: AttributionJ) -> crate::report::Attribution {
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

pub(super) fn root_m(r: RootJ) -> Root {
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

pub(super) fn give_up_m(g: GiveUpJ) -> GiveUp {
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

pub(super) fn chain_m(c: ChainJ) -> Chain {
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

pub(super) fn outcome_m(s: Scenario) -> Result<Outcome, String> {
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
