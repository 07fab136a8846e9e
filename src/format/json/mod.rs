//! `--json PATH`: the full report for other tools, and what `memreg merge` reads
//! back. Format 1 is documented in the README ("JSON report").
//!
//! The format is defined here, type by type, apart from the report model: a change
//! to the model does not change the file unless this module says so. New fields may
//! be added within a format (readers must ignore unknown fields, and this reader
//! defaults missing new ones); a change to existing fields bumps [`FORMAT`].

mod decode;
mod encode;
mod schema;

use crate::error::ExitCode;
use crate::report::model::RunReport;
use crate::units::parse_timestamp;
use decode::outcome_m;
use encode::report_j;
use schema::Report;
use std::io::Write;
use std::time::Duration;

/// Version of the JSON report format. Additions keep it; changes bump it.
pub const FORMAT: u64 = 1;

pub fn write(w: &mut dyn Write, run: &RunReport) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(&report_j(run)).map_err(std::io::Error::other)?;
    text.push('\n');
    w.write_all(text.as_bytes())
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
    use crate::report::model::Outcome;
    use crate::report::{Chain, Closure, Garbage, GarbageType, GiveUp, Link, Metric, Root, Step};
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
