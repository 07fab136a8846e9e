//! `--json PATH`: the full report model for other tools (format documented in the
//! README, "JSON report"): every scenario's outcome as memreg holds it (per-process
//! samples, verdicts, baseline comparison, attribution) plus a few derived fields,
//! with a format version. `memreg merge` reads these files back.

use super::{Outcome, RunReport};
use crate::probe::sample_positions;
use serde_json::{json, Value};
use std::io::Write;
use std::time::Duration;

/// Version of the JSON report format. Additions keep it; changes bump it.
pub const FORMAT: u64 = 1;

fn scenario(o: &Outcome) -> Value {
    let mut v = serde_json::to_value(o).expect("outcome serialises");
    let map = v.as_object_mut().expect("an object");
    // Derived fields, for readers that do not want to recompute them.
    map.insert("status".into(), json!(o.status()));
    map.insert("environment".into(), json!(o.environment()));
    map.insert(
        "sample_iterations".into(),
        json!(sample_positions(o.iterations)),
    );
    map.insert(
        "unaccounted_native".into(),
        json!(o.unaccounted_native().map(|(native, traced)| json!({
            "native_bytes_per_iteration": native,
            "traced_bytes_per_iteration": traced,
        }))),
    );
    v
}

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

pub fn write(w: &mut dyn Write, run: &RunReport) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(&to_value(run)).map_err(std::io::Error::other)?;
    text.push('\n');
    w.write_all(text.as_bytes())
}

/// Reads a report written by [`write`] (derived fields are recomputed, not trusted).
pub fn read(text: &str) -> Result<RunReport, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    match v.get("format").and_then(Value::as_u64) {
        Some(FORMAT) => {}
        Some(other) => {
            return Err(format!(
                "report format {other}, this memreg reads format {FORMAT}"
            ))
        }
        None => return Err("not a memreg JSON report (no `format`)".into()),
    }
    let outcomes: Vec<Outcome> =
        serde_json::from_value(v.get("scenarios").cloned().unwrap_or(Value::Null))
            .map_err(|e| format!("scenarios: {e}"))?;
    let elapsed = v.get("elapsed_s").and_then(Value::as_f64).unwrap_or(0.0);
    Ok(RunReport {
        outcomes,
        elapsed: Duration::from_secs_f64(elapsed.max(0.0)),
        interrupted: v
            .get("interrupted")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}
