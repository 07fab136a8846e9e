//! The report model every output format reads, and the formats themselves: one
//! module per format, each writing to a `Write` it is given.

pub mod console;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;

use crate::probe::{Fault, ProcessResult, PythonInfo};
use crate::scenario::{Expect, Scenario};
use crate::stats::median;
use crate::verdict::{analyse, Analysis, Check};
use std::path::PathBuf;
use std::time::Duration;

/// Median and range of one figure across processes.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Option<Spread> {
        (!values.is_empty()).then(|| Spread {
            median: median(values),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }
}

/// What happened to one scenario. Serialised as is in the JSON report (plus a few
/// derived fields), so `memreg merge` can read shards back.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    pub name: String,
    pub file: PathBuf,
    /// Line of the scenario file where the `run:` code starts, when known.
    #[serde(default)]
    pub run_line: Option<usize>,
    pub description: Option<String>,
    pub expect: Expect,
    pub python: Option<PythonInfo>,
    pub iterations: u64,
    pub warmup: u64,
    pub processes: u32,
    pub tolerance: crate::units::Bytes,
    pub analysis: Analysis,
    /// Peak RSS of the measured phase (or whole process where it cannot be reset).
    pub peak_rss: Option<Spread>,
    /// Seconds per iteration spent in the body.
    pub time_per_iteration: Option<Spread>,
    /// Sum of the processes' wall times.
    pub cpu_time: Duration,
    /// Each process's fault, with its index, when it had one.
    pub faults: Vec<(u32, Fault)>,
    /// Captured output of the process that explains a failure (the first faulty one,
    /// else the first), when the check did not pass.
    pub output: Option<String>,
    pub notes: Vec<String>,
    /// Each successful process's figures (what baselines store).
    pub figures: Vec<std::collections::BTreeMap<crate::figures::Figure, i64>>,
    /// The comparison with the stored baseline, when the scenario ran cleanly.
    pub baseline: Option<crate::baseline::BaselineResult>,
    /// Where the memory of a failing scenario comes from (or why that is unknown).
    pub attribution: Option<Result<crate::probe::Attribution, String>>,
    /// Every process: its samples or its fault.
    pub process_details: Vec<ProcessDetail>,
}

/// One process as reports show it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ProcessDetail {
    pub index: u32,
    pub elapsed_s: f64,
    pub output_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timing: Option<crate::probe::Timing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss: Option<u64>,
    /// Counter name -> value at each sample (see `sample_iterations`).
    pub series: std::collections::BTreeMap<String, Vec<i64>>,
    pub figures: std::collections::BTreeMap<String, i64>,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FaultDetail {
    pub kind: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traceback: Option<String>,
}

impl Outcome {
    pub fn build(scenario: &Scenario, results: &[ProcessResult]) -> Outcome {
        let mut analysis = analyse(scenario, results);
        let mut faults: Vec<(u32, Fault)> = results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.outcome.as_ref().err().map(|f| (i as u32, f.clone())))
            .collect();
        if results.len() < scenario.processes as usize {
            // Interrupted before every process ran.
            faults.push((results.len() as u32, Fault::Cancelled));
            if analysis.check != Check::Errored {
                analysis.check = Check::Errored;
                analysis.verdict = crate::verdict::Verdict::Error;
                analysis.summary = Some("interrupted".into());
            }
        }
        let records: Vec<_> = results
            .iter()
            .filter_map(|r| r.outcome.as_ref().ok())
            .collect();
        let peaks: Vec<f64> = records
            .iter()
            .filter_map(|r| r.peak_rss)
            .map(|p| p as f64)
            .collect();
        let times: Vec<f64> = records
            .iter()
            .map(|r| r.timing.body_s / scenario.iterations as f64)
            .collect();
        let mut notes: Vec<String> = records
            .iter()
            .flat_map(|r| r.notes.iter().cloned())
            .collect();
        if records
            .iter()
            .any(|r| r.peak_scope.as_deref() == Some("process"))
        {
            notes.push(
                "peak RSS covers the whole process (could not reset it for the measured phase)"
                    .into(),
            );
        }
        notes.sort();
        notes.dedup();
        // Each successful process's figures, computed once (a Theil-Sen fit each).
        let per_process: Vec<Option<std::collections::BTreeMap<crate::figures::Figure, i64>>> =
            results
                .iter()
                .map(|r| {
                    r.outcome
                        .as_ref()
                        .ok()
                        .map(|rec| crate::figures::of_record(rec, scenario.iterations))
                })
                .collect();
        let explaining = results
            .iter()
            .find(|r| r.outcome.is_err())
            .or(results.first())
            .filter(|_| analysis.check != Check::Passed);
        Outcome {
            name: scenario.name.clone(),
            file: scenario.file.clone(),
            run_line: scenario.run.first_line,
            description: scenario.description.clone(),
            expect: scenario.expect,
            python: records.first().map(|r| r.python.clone()),
            iterations: scenario.iterations,
            warmup: scenario.warmup,
            processes: scenario.processes,
            tolerance: scenario.tolerance,
            analysis,
            peak_rss: Spread::of(&peaks),
            time_per_iteration: Spread::of(&times),
            cpu_time: results.iter().map(|r| r.elapsed).sum(),
            faults,
            output: explaining
                .map(|r| r.output.clone())
                .filter(|o| !o.is_empty()),
            notes,
            figures: per_process.iter().flatten().cloned().collect(),
            baseline: None,
            attribution: None,
            process_details: results
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let rec = r.outcome.as_ref().ok();
                    ProcessDetail {
                        index: i as u32,
                        elapsed_s: r.elapsed.as_secs_f64(),
                        output_bytes: r.output_bytes,
                        fault: r.outcome.as_ref().err().map(|f| FaultDetail {
                            kind: f.kind().to_owned(),
                            message: f.to_string(),
                            traceback: match f {
                                Fault::Exception(e) => Some(e.traceback.clone()),
                                _ => None,
                            },
                        }),
                        timing: rec.map(|r| r.timing.clone()),
                        peak_rss: rec.and_then(|r| r.peak_rss),
                        series: rec.map(|r| r.series.clone()).unwrap_or_default(),
                        figures: per_process[i]
                            .iter()
                            .flatten()
                            .map(|(k, v)| (k.key().to_owned(), *v))
                            .collect(),
                    }
                })
                .collect(),
        }
    }

    /// The scenario's check, the leak verdict and the baseline comparison together.
    pub fn status(&self) -> Check {
        match self.analysis.check {
            Check::Errored => Check::Errored,
            Check::Failed => Check::Failed,
            _ if self.baseline.as_ref().is_some_and(|b| b.failed()) => Check::Failed,
            other => other,
        }
    }

    /// The environment key (OS, architecture, Python), when a process reported it.
    pub fn environment(&self) -> Option<String> {
        self.python.as_ref().map(|p| p.environment_key())
    }

    /// Whether a failure should be explained by an attribution run: a leak that was
    /// not expected, or a regressed baseline figure.
    pub fn wants_attribution(&self) -> bool {
        self.faults.is_empty()
            && self.status() == Check::Failed
            && self.analysis.verdict != crate::verdict::Verdict::Clean
            || self.baseline.as_ref().is_some_and(|b| {
                !b.with(|c| c == &crate::baseline::compare::Change::Regressed)
                    .is_empty()
            })
    }

    /// Growth per iteration of the native heap that no Python allocation site
    /// accounts for, with the traced amount, when that is most of it.
    pub fn unaccounted_native(&self) -> Option<(f64, f64)> {
        let a = self.attribution.as_ref()?.as_ref().ok()?;
        let native = self
            .analysis
            .counters
            .iter()
            .find(|c| c.metric == crate::scenario::Metric::Native && c.leak)?;
        let traced = a.traced_bytes_per_iteration.max(0.0);
        (native.median > 0.0 && traced < 0.5 * native.median).then_some((native.median, traced))
    }

    /// The traceback (or equivalent) of the first fault, when there is one.
    pub fn fault_detail(&self) -> Option<String> {
        let (i, f) = self.faults.first()?;
        let detail = match f {
            Fault::Exception(e) => e.traceback.trim_end().to_owned(),
            other => other.to_string(),
        };
        Some(format!("process {}: {detail}", i + 1))
    }
}

/// The whole run.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RunReport {
    pub outcomes: Vec<Outcome>,
    pub elapsed: Duration,
    pub interrupted: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub errored: usize,
    pub inconclusive: usize,
}

impl RunReport {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for o in &self.outcomes {
            match o.status() {
                Check::Passed => c.passed += 1,
                Check::Failed => c.failed += 1,
                Check::Errored => c.errored += 1,
                Check::Inconclusive => c.inconclusive += 1,
            }
        }
        c
    }

    /// 0 when every check passed (inconclusive ones neither pass nor fail), 1 when a
    /// check failed or a scenario errored.
    pub fn exit_code(&self) -> i32 {
        let c = self.counts();
        if c.failed + c.errored > 0 {
            1
        } else {
            0
        }
    }
}

/// Removes control characters (keeping newlines and tabs) so text is safe in XML
/// 1.0 and in terminals: ANSI escapes, NUL bytes and the like.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            // Drop a whole CSI sequence (colours, cursor moves).
            chars.next();
            while let Some(&n) = chars.peek() {
                chars.next();
                if ('@'..='~').contains(&n) {
                    break;
                }
            }
        } else if c == '\n' || c == '\t' || !(c.is_control() || c == '\u{fffe}' || c == '\u{ffff}')
        {
            out.push(c);
        }
    }
    out
}

/// At most about `max` bytes of `text`: its first and last halves, cut at character
/// boundaries, with a marker where the middle was left out (the end of a scenario's
/// output is usually where its error is).
pub fn capped(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut head = max / 2;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - max / 2;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}\n[... {} bytes left out ...]\n{}",
        &text[..head],
        tail - head,
        &text[tail..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_strips_escapes_and_nul() {
        assert_eq!(
            printable("\u{1b}[31mred\u{1b}[0m\0 ok\n\tx\u{7}"),
            "red ok\n\tx"
        );
        assert_eq!(printable("]]> <tag> &"), "]]> <tag> &");
    }

    #[test]
    fn capped_cuts_on_char_boundaries() {
        assert_eq!(capped("abc", 10), "abc");
        let c = capped("éééé", 4);
        assert!(
            c.starts_with('é') && c.ends_with('é') && c.contains("4 bytes left out"),
            "{c}"
        );
    }
}
