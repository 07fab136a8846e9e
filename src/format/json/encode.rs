//! The report model written as format 1.

use super::schema::*;
use super::FORMAT;
use crate::report::model::{Outcome, ProcessDetail, RunReport, Spread};
use crate::report::{
    prose, BaselineResult, Chain, Check, CounterVerdict, ExceptionKind, Expect, Figure, Finding,
    GiveUp, Link, Metric, Phase, Root, Stop, Verdict,
};
use crate::units::format_timestamp;
use std::collections::BTreeMap;
use std::time::Duration;

pub(super) fn metric_j(m: Metric) -> MetricJ {
    match m {
        Metric::Blocks => MetricJ::Blocks,
        Metric::Native => MetricJ::Native,
        Metric::Rss => MetricJ::Rss,
        Metric::Tracemalloc => MetricJ::Tracemalloc,
        Metric::Fds => MetricJ::Fds,
        Metric::Threads => MetricJ::Threads,
    }
}

pub(super) fn check_j(c: Check) -> CheckJ {
    match c {
        Check::Passed => CheckJ::Passed,
        Check::Failed => CheckJ::Failed,
        Check::Errored => CheckJ::Errored,
        Check::Inconclusive => CheckJ::Inconclusive,
        Check::NotRun => CheckJ::NotRun,
    }
}

pub(super) fn spread_j(s: Spread) -> SpreadJ {
    SpreadJ {
        median: s.median,
        min: s.min,
        max: s.max,
    }
}

pub(super) fn duration_j(d: Duration) -> DurationJ {
    DurationJ {
        secs: d.as_secs(),
        nanos: d.subsec_nanos(),
    }
}

pub(super) fn figures_j(f: &BTreeMap<Figure, i64>) -> BTreeMap<String, i64> {
    f.iter().map(|(k, v)| (k.key().to_owned(), *v)).collect()
}

pub(super) fn fault_j(f: &crate::report::Fault) -> FaultJ {
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

pub(super) fn counter_j(c: &CounterVerdict) -> Counter {
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

pub(super) fn process_j(p: &ProcessDetail) -> Process {
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

pub(super) fn baseline_j(o: &Outcome, b: &BaselineResult) -> Baseline {
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

pub(super) fn attribution_j(a: &crate::report::Attribution) -> AttributionJ {
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

pub(super) fn root_j(r: Root) -> RootJ {
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

pub(super) fn give_up_j(g: &GiveUp) -> GiveUpJ {
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

pub(super) fn chain_j(type_name: &str, c: &Chain) -> ChainJ {
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

pub(super) fn scenario_j(o: &Outcome) -> Scenario {
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

pub(super) fn report_j(run: &RunReport) -> Report {
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
