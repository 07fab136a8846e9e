//! `--json PATH`: the full report model for other tools (format documented in the
//! README, "JSON report"): per-process samples, verdicts, baseline comparison and
//! attribution, with a format version.

use super::{capped, printable, Outcome, RunReport};
use crate::probe::sample_positions;
use serde_json::{json, Value};
use std::io::Write;

/// Version of the JSON report format. Additions keep it; changes bump it.
pub const FORMAT: u32 = 1;

pub fn to_value(run: &RunReport) -> Value {
    let c = run.counts();
    json!({
        "format": FORMAT,
        "memreg": env!("CARGO_PKG_VERSION"),
        "elapsed_s": run.elapsed.as_secs_f64(),
        "interrupted": run.interrupted,
        "exit_code": run.exit_code(),
        "counts": {
            "passed": c.passed,
            "failed": c.failed,
            "errored": c.errored,
            "inconclusive": c.inconclusive,
        },
        "scenarios": run.outcomes.iter().map(scenario).collect::<Vec<_>>(),
    })
}

fn scenario(o: &Outcome) -> Value {
    let attribution = match &o.attribution {
        None => Value::Null,
        Some(Ok(a)) => serde_json::to_value(a).expect("serialises"),
        Some(Err(e)) => json!({ "error": e }),
    };
    json!({
        "name": o.name,
        "file": o.file.display().to_string(),
        "description": o.description,
        "expect": o.expect,
        "status": o.status(),
        "verdict": o.analysis.verdict,
        "summary": o.analysis.summary,
        "python": o.python,
        "environment": o.environment(),
        "settings": {
            "iterations": o.iterations,
            "warmup": o.warmup,
            "processes": o.processes,
            "tolerance_bytes": o.tolerance.0,
        },
        "sample_iterations": sample_positions(o.iterations),
        "counters": o.analysis.counters,
        "peak_rss": o.peak_rss,
        "time_per_iteration_s": o.time_per_iteration,
        "processes": o.process_details,
        "baseline": o.baseline,
        "attribution": attribution,
        "unaccounted_native": o.unaccounted_native().map(|(native, traced)| json!({
            "native_bytes_per_iteration": native,
            "traced_bytes_per_iteration": traced,
        })),
        "notes": o.notes,
        "output": o.output.as_ref().map(|t| capped(&printable(t), 16 * 1024)),
    })
}

pub fn write(w: &mut dyn Write, run: &RunReport) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(&to_value(run)).map_err(std::io::Error::other)?;
    text.push('\n');
    w.write_all(text.as_bytes())
}
