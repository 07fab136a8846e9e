//! JUnit XML for CI, in two families:
//!
//! - `rich` (the default): one `testsuites` root, a flat `testsuite` per scenario
//!   file, a `testcase` per scenario with `file`, `line` (the attributed source line
//!   when there is one, else the scenario's `run:` line), `time` and its figures as
//!   `<properties>`; one more case per compared baseline figure. What the common
//!   readers (junitparser, dorny/test-reporter, mikepenz/action-junit-report,
//!   EnricoMi's publisher, junit2html) accept and use.
//! - `xunit2`: the same cases, without the attributes and elements pytest's
//!   `junit-10.xsd` does not allow (`testcase@file`, `@line`, `testcase/properties`,
//!   `testsuites@skipped`), for consumers that validate against it.
//!
//! A failure's `message` is one line without the word its `type` already says (a
//! reader shows "leak: ..." from the type); the body holds the full explanation,
//! its first line said once. A scenario the run never finished is
//! `<skipped message="interrupted">`. No number is NaN or infinite.
//!
//! The XML is written here (not by a JUnit library) because the families differ in
//! attributes a library always writes. Everything a scenario produced is made
//! printable (XML 1.0 cannot carry NUL even escaped) and escaped (`crate::text`);
//! output is kept only for cases that did not pass, capped.

use crate::report::prose;
use crate::report::{BaselineResult, Change, Check, Outcome, RunReport, Verdict};
use crate::text::{capped, one_line, printable, xml_attr, xml_text};
use crate::units::format_timestamp;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Output kept per failing case in the XML.
const OUTPUT_CAP: usize = 16 * 1024;

/// Which JUnit dialect to write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Family {
    /// Everything the common readers use: `file`, `line`, per-case properties.
    #[default]
    Rich,
    /// Valid against pytest's junit-10.xsd.
    Xunit2,
}

/// How to write: the family, and the directory paths are reported relative to
/// (the repository root, for attributed source lines).
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub family: Family,
    pub root: PathBuf,
}

enum Status {
    Passed,
    Skipped {
        message: String,
        body: Option<String>,
    },
    Failure {
        kind: String,
        message: String,
        body: String,
    },
    Error {
        kind: String,
        message: String,
        body: String,
    },
}

struct Case {
    name: String,
    classname: String,
    file: String,
    line: Option<u64>,
    time: Duration,
    status: Status,
    properties: Vec<(String, String)>,
    output: Option<String>,
}

/// The body of a failure: the explanation, with `message` as its first line only
/// when the explanation does not already start with it.
fn body_with(message: &str, lines: Vec<String>) -> String {
    let mut body = printable(&lines.join("\n"));
    let first = body.lines().next().unwrap_or("");
    if !first.contains(message) {
        body = format!("{message}\n{body}");
    }
    body.trim_end().to_owned()
}

fn scenario_status(o: &Outcome) -> Status {
    match o.analysis.check {
        Check::Passed => Status::Passed,
        Check::NotRun => Status::Skipped {
            message: "interrupted".into(),
            body: Some(prose::not_run(o)),
        },
        Check::Inconclusive => Status::Skipped {
            message: one_line(prose::summary(o).as_deref().unwrap_or("inconclusive")),
            body: None,
        },
        Check::Failed => {
            let (kind, message) = match (o.analysis.verdict, o.analysis.leaking()) {
                (Verdict::Leak, Some(c)) => ("leak", prose::leak_message(c)),
                _ => (
                    "no-leak",
                    prose::summary(o).unwrap_or_else(|| "failed".into()),
                ),
            };
            let message = one_line(&message);
            Status::Failure {
                kind: kind.into(),
                body: body_with(&message, prose::detail_lines(o)),
                message,
            }
        }
        Check::Errored => {
            let message = one_line(prose::summary(o).as_deref().unwrap_or("error"));
            Status::Error {
                kind: o
                    .faults
                    .first()
                    .map_or("error", |(_, f)| f.kind().as_str())
                    .to_owned(),
                body: body_with(&message, prose::detail_lines(o)),
                message,
            }
        }
    }
}

/// A number for a property; `None` for NaN or an infinity (never written).
fn finite(v: f64, text: impl FnOnce(f64) -> String) -> Option<String> {
    v.is_finite().then(|| text(v))
}

fn scenario_properties(o: &Outcome) -> Vec<(String, String)> {
    let mut props: Vec<(String, Option<String>)> = vec![
        ("memreg.iterations".into(), Some(o.iterations.to_string())),
        ("memreg.warmup".into(), Some(o.warmup.to_string())),
        ("memreg.processes".into(), Some(o.processes.to_string())),
    ];
    if let Some(py) = &o.python {
        props.push((
            "memreg.python".into(),
            Some(format!("{} {}", py.implementation, py.version)),
        ));
    }
    for c in &o.analysis.counters {
        let k = c.metric.key();
        let four = |v: f64| format!("{v:.4}");
        props.push((format!("growth.{k}.per_iteration"), finite(c.median, four)));
        props.push((format!("growth.{k}.min"), finite(c.min, four)));
        props.push((format!("growth.{k}.max"), finite(c.max, four)));
        props.push((
            format!("growth.{k}.agreeing"),
            Some(format!("{}/{}", c.agreeing, c.processes)),
        ));
        props.push((format!("growth.{k}.p_value"), finite(c.p_value, four)));
    }
    if let Some(p) = o.peak_rss {
        props.push((
            "peak_rss.bytes".into(),
            finite(p.median, |v| format!("{v:.0}")),
        ));
    }
    if let Some(t) = o.time_per_iteration {
        props.push((
            "time_per_iteration.seconds".into(),
            finite(t.median, |v| format!("{v:.3e}")),
        ));
    }
    props
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

fn cases(o: &Outcome, root: &Path) -> Vec<Case> {
    let (file, line) = o.location(root);
    let classname = o.file.display().to_string();
    let status = scenario_status(o);
    let output = o
        .output
        .as_ref()
        .filter(|_| !matches!(status, Status::Passed))
        .map(|out| capped(&printable(out), OUTPUT_CAP));
    let mut cases = vec![Case {
        name: o.name.clone(),
        classname: classname.clone(),
        file: file.clone(),
        line,
        time: o.cpu_time,
        status,
        properties: scenario_properties(o),
        output,
    }];
    let case = |name: String, status: Status, properties: Vec<(String, String)>| Case {
        name,
        classname: classname.clone(),
        file: file.clone(),
        line,
        // A comparison with stored figures takes no measurable time.
        time: Duration::ZERO,
        status,
        properties,
        output: None,
    };
    match &o.baseline {
        Some(BaselineResult::Compared {
            environment,
            figures,
            ..
        }) => {
            for f in figures {
                let status = match f.status {
                    Change::Regressed => {
                        let message = prose::describe(f);
                        Status::Failure {
                            kind: "regression".into(),
                            body: format!(
                                "regression: {message}\nbaseline values: {:?}\nvalues now:      {:?}\nenvironment: {environment}\nif intended: memreg baseline update",
                                f.old, f.new
                            ),
                            message,
                        }
                    }
                    Change::Inconclusive => Status::Skipped {
                        message: format!(
                            "inconclusive: {}: {}",
                            prose::inconclusive_change(f).unwrap_or_default(),
                            prose::describe(f)
                        ),
                        body: None,
                    },
                    Change::Improved | Change::Unchanged => Status::Passed,
                };
                let mut props = vec![];
                for (k, v) in [
                    ("baseline.old_median", f.old_median),
                    ("baseline.new_median", f.new_median),
                ] {
                    if let Some(v) = finite(v, |v| format!("{v}")) {
                        props.push((k.to_owned(), v));
                    }
                }
                props.push((
                    "baseline.kind".into(),
                    format!("{:?}", f.kind).to_lowercase(),
                ));
                if f.status == Change::Improved {
                    props.push(("baseline.improved".into(), prose::describe(f)));
                }
                cases.push(case(
                    format!("{} :: baseline {}", o.name, f.figure.key()),
                    status,
                    props,
                ));
            }
        }
        Some(b) if b.failed() => {
            let message = prose::baseline_summary(o, b);
            cases.push(case(
                format!("{} :: baseline", o.name),
                Status::Failure {
                    kind: "baseline".into(),
                    body: format!("{message}\nrecord one with: memreg baseline update"),
                    message,
                },
                vec![],
            ));
        }
        _ => {}
    }
    cases
}

/// Seconds with three decimals: what the schema's SUREFIRE_TIME allows.
fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

#[derive(Default)]
struct Tally {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
    time: Duration,
}

impl Tally {
    fn add(&mut self, c: &Case) {
        self.tests += 1;
        self.time += c.time;
        match c.status {
            Status::Passed => {}
            Status::Skipped { .. } => self.skipped += 1,
            Status::Failure { .. } => self.failures += 1,
            Status::Error { .. } => self.errors += 1,
        }
    }
}

fn write_case(x: &mut String, c: &Case, family: Family) {
    let _ = write!(
        x,
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
        xml_attr(&c.name),
        xml_attr(&c.classname),
        secs(c.time)
    );
    if family == Family::Rich {
        let _ = write!(x, " file=\"{}\"", xml_attr(&c.file));
        if let Some(line) = c.line {
            let _ = write!(x, " line=\"{line}\"");
        }
    }
    let props = family == Family::Rich && !c.properties.is_empty();
    if !props && matches!(c.status, Status::Passed) && c.output.is_none() {
        x.push_str("/>\n");
        return;
    }
    x.push_str(">\n");
    if props {
        x.push_str("      <properties>\n");
        for (k, v) in &c.properties {
            let _ = writeln!(
                x,
                "        <property name=\"{}\" value=\"{}\"/>",
                xml_attr(k),
                xml_attr(v)
            );
        }
        x.push_str("      </properties>\n");
    }
    let element = |x: &mut String, tag: &str, kind: Option<&str>, message: &str, body: &str| {
        let _ = write!(x, "      <{tag}");
        if let Some(kind) = kind {
            let _ = write!(x, " type=\"{}\"", xml_attr(kind));
        }
        let _ = write!(x, " message=\"{}\"", xml_attr(&one_line(message)));
        if body.is_empty() {
            x.push_str("/>\n");
        } else {
            let _ = writeln!(x, ">{}</{tag}>", xml_text(body));
        }
    };
    match &c.status {
        Status::Passed => {}
        Status::Skipped { message, body } => element(
            x,
            "skipped",
            None,
            message,
            body.as_deref().unwrap_or_default(),
        ),
        Status::Failure {
            kind,
            message,
            body,
        } => element(x, "failure", Some(kind), message, body),
        Status::Error {
            kind,
            message,
            body,
        } => element(x, "error", Some(kind), message, body),
    }
    if let Some(out) = &c.output {
        let _ = writeln!(x, "      <system-out>{}</system-out>", xml_text(out));
    }
    x.push_str("    </testcase>\n");
}

/// The JUnit XML of a run.
pub fn render(run: &RunReport, opts: &Options) -> String {
    // One suite per scenario file, in the order files first appear.
    let mut suites: Vec<(String, Vec<Case>)> = Vec::new();
    for o in &run.outcomes {
        let key = o.file.display().to_string();
        let at = match suites.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                suites.push((key, vec![]));
                suites.len() - 1
            }
        };
        suites[at].1.extend(cases(o, &opts.root));
    }
    let mut all = Tally::default();
    let mut body = String::new();
    let timestamp = run.started.map(format_timestamp);
    for (file, cases) in &suites {
        let mut t = Tally::default();
        cases.iter().for_each(|c| t.add(c));
        let _ = write!(
            body,
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\"",
            t.tests,
            t.failures,
            t.errors,
            t.skipped,
            secs(t.time),
            name = xml_attr(file),
        );
        if let Some(ts) = &timestamp {
            let _ = write!(body, " timestamp=\"{ts}\"");
        }
        if let Some(host) = &run.hostname {
            let _ = write!(body, " hostname=\"{}\"", xml_attr(host));
        }
        let _ = writeln!(body, " file=\"{}\">", xml_attr(file));
        for c in cases {
            write_case(&mut body, c, opts.family);
        }
        body.push_str("  </testsuite>\n");
        all.tests += t.tests;
        all.failures += t.failures;
        all.errors += t.errors;
        all.skipped += t.skipped;
    }
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = write!(
        x,
        "<testsuites name=\"memreg\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\"",
        all.tests,
        all.failures,
        all.errors,
        secs(run.elapsed)
    );
    if opts.family == Family::Rich {
        let _ = write!(x, " skipped=\"{}\"", all.skipped);
        if let Some(ts) = &timestamp {
            let _ = write!(x, " timestamp=\"{ts}\"");
        }
    }
    x.push_str(">\n");
    x.push_str(&body);
    x.push_str("</testsuites>\n");
    x
}

pub fn write(w: &mut dyn Write, run: &RunReport, opts: &Options) -> std::io::Result<()> {
    w.write_all(render(run, opts).as_bytes())
}
