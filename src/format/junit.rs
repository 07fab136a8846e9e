//! JUnit XML for CI: one `testsuites` root, a flat `testsuite` per scenario file, a
//! `testcase` per scenario with `file=` its YAML path. A leak is a `<failure>` whose
//! one-line message is repeated as the body's first line; a crash, timeout or memory
//! limit is an `<error>`. Output is kept only for cases that did not pass, capped and
//! stripped of control characters (XML 1.0 cannot carry NUL even escaped); quick-junit
//! escapes the rest (`]]>`, `<`, `&`), which `junit-report` did not
//! (docs/measuring.md §10).

use crate::report::prose;
use crate::report::{BaselineResult, Change, Check, Outcome, RunReport, Verdict};
use crate::text::{capped, printable};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;
use std::io::Write;

/// Output kept per failing case in the XML.
const OUTPUT_CAP: usize = 16 * 1024;

pub fn to_report(run: &RunReport) -> Report {
    let mut report = Report::new("memreg");
    report.set_time(run.elapsed);
    let mut suites: BTreeMap<String, Vec<&Outcome>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for o in &run.outcomes {
        let key = o.file.display().to_string();
        if !suites.contains_key(&key) {
            order.push(key.clone());
        }
        suites.entry(key).or_default().push(o);
    }
    for key in order {
        let mut suite = TestSuite::new(key.as_str());
        for o in &suites[&key] {
            suite.add_test_case(test_case(o));
            suite.add_test_cases(baseline_cases(o));
        }
        report.add_test_suite(suite);
    }
    report
}

fn test_case(o: &Outcome) -> TestCase {
    let status = match o.analysis.check {
        Check::Passed => TestCaseStatus::success(),
        Check::Inconclusive => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(one_line(
                prose::summary(o).as_deref().unwrap_or("inconclusive"),
            ));
            s
        }
        Check::Failed | Check::Errored => {
            let kind = if o.analysis.check == Check::Failed {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut s = TestCaseStatus::non_success(kind);
            let message = one_line(prose::summary(o).as_deref().unwrap_or("failed"));
            let mut body = prose::detail_lines(o);
            if body.first() != Some(&message) {
                body.insert(0, message.clone());
            }
            s.set_message(message);
            s.set_type(match o.analysis.verdict {
                Verdict::Leak => "leak".to_owned(),
                Verdict::Clean => "no-leak".to_owned(),
                _ => o
                    .faults
                    .first()
                    .map_or("error", |(_, f)| f.kind().as_str())
                    .to_owned(),
            });
            s.set_description(printable(&body.join("\n")));
            s
        }
    };
    let mut case = TestCase::new(o.name.as_str(), status);
    case.set_classname(o.file.display().to_string());
    case.set_time(o.cpu_time);
    case.extra
        .insert("file".into(), o.file.display().to_string().into());
    if o.analysis.check != Check::Passed {
        if let Some(out) = &o.output {
            case.set_system_out(capped(&printable(out), OUTPUT_CAP));
        }
    }
    let mut prop = |k: String, v: String| {
        case.add_property(Property::new(k, v));
    };
    prop("memreg.iterations".into(), o.iterations.to_string());
    prop("memreg.warmup".into(), o.warmup.to_string());
    prop("memreg.processes".into(), o.processes.to_string());
    if let Some(py) = &o.python {
        prop(
            "memreg.python".into(),
            format!("{} {}", py.implementation, py.version),
        );
    }
    for c in &o.analysis.counters {
        let k = c.metric.key();
        prop(
            format!("growth.{k}.per_iteration"),
            format!("{:.4}", c.median),
        );
        prop(format!("growth.{k}.min"), format!("{:.4}", c.min));
        prop(format!("growth.{k}.max"), format!("{:.4}", c.max));
        prop(
            format!("growth.{k}.agreeing"),
            format!("{}/{}", c.agreeing, c.processes),
        );
        prop(format!("growth.{k}.p_value"), format!("{:.4}", c.p_value));
    }
    if let Some(p) = o.peak_rss {
        prop("peak_rss.bytes".into(), format!("{:.0}", p.median));
    }
    if let Some(t) = o.time_per_iteration {
        prop(
            "time_per_iteration.seconds".into(),
            format!("{:.3e}", t.median),
        );
    }
    case
}

/// One case per compared figure (`name :: baseline held_native`), so every
/// regressed figure is its own `<failure>`; one `name :: baseline` case when a
/// missing or incomparable baseline fails under --strict.
fn baseline_cases(o: &Outcome) -> Vec<TestCase> {
    let mut cases = Vec::new();
    let new_case = |name: String, status: TestCaseStatus| {
        let mut c = TestCase::new(name, status);
        c.set_classname(o.file.display().to_string());
        c.extra
            .insert("file".into(), o.file.display().to_string().into());
        c
    };
    match &o.baseline {
        Some(BaselineResult::Compared {
            environment,
            figures,
            ..
        }) => {
            for f in figures {
                let status = match &f.status {
                    Change::Regressed => {
                        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                        let line = format!("regression: {}", prose::describe(f));
                        s.set_message(line.clone());
                        s.set_type("regression");
                        s.set_description(format!(
                            "{line}\nbaseline values: {:?}\nvalues now:      {:?}\nenvironment: {environment}\nif intended: memreg baseline update",
                            f.old, f.new
                        ));
                        s
                    }
                    Change::Inconclusive => {
                        let mut s = TestCaseStatus::skipped();
                        s.set_message(format!(
                            "inconclusive: {}: {}",
                            prose::inconclusive_change(f).unwrap_or_default(),
                            prose::describe(f)
                        ));
                        s
                    }
                    Change::Improved | Change::Unchanged => TestCaseStatus::success(),
                };
                let mut c = new_case(format!("{} :: baseline {}", o.name, f.figure.key()), status);
                c.add_property(Property::new(
                    "baseline.old_median",
                    format!("{}", f.old_median),
                ));
                c.add_property(Property::new(
                    "baseline.new_median",
                    format!("{}", f.new_median),
                ));
                c.add_property(Property::new(
                    "baseline.kind",
                    format!("{:?}", f.kind).to_lowercase(),
                ));
                if f.status == Change::Improved {
                    c.add_property(Property::new("baseline.improved", prose::describe(f)));
                }
                cases.push(c);
            }
        }
        Some(b) if b.failed() => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let summary = prose::baseline_summary(o, b);
            s.set_message(summary.clone());
            s.set_type("baseline");
            s.set_description(format!(
                "{summary}\nrecord one with: memreg baseline update"
            ));
            cases.push(new_case(format!("{} :: baseline", o.name), s));
        }
        _ => {}
    }
    cases
}

fn one_line(s: &str) -> String {
    printable(s.lines().next().unwrap_or(""))
}

pub fn write(w: &mut dyn Write, run: &RunReport) -> std::io::Result<()> {
    let report = to_report(run);
    report.serialize(w).map_err(std::io::Error::other)
}
