//! The JUnit file's shape, checked with a strict XML parser, pytest's junit-10.xsd
//! (through xmlschema) and junitparser, the reader many CI tools build on.

use crate::support::{case, parse_junit, property, python_tools, Scratch};
use std::path::Path;

#[test]
fn one_suite_per_file_one_case_per_scenario_with_file_attribute() {
    let s = Scratch::new();
    s.write("a.yaml", "scenarios:\n  - name: a1\n    run: pass\n    iterations: 100\n  - name: a2\n    setup: L = []\n    run: L.append(object())\n    iterations: 100\n");
    s.write(
        "b.yaml",
        "name: b1\nrun: print('hello from b1')\niterations: 100\n",
    );
    let r = s.memreg(&["run", "a.yaml", "b.yaml", "--junit", "reports/memreg.xml"]);
    assert_eq!(r.code, 1, "{}", r.all());
    let xml = s.read("reports/memreg.xml");
    let doc = parse_junit(&xml);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 2);
    assert_eq!(suites[0].attribute("name"), Some("a.yaml"));
    assert_eq!(suites[0].attribute("tests"), Some("2"));
    assert_eq!(suites[0].attribute("failures"), Some("1"));
    assert_eq!(suites[1].attribute("name"), Some("b.yaml"));
    // Flat: no nested suites.
    assert!(suites
        .iter()
        .all(|s| s.children().all(|c| !c.has_tag_name("testsuite"))));
    for (name, file) in [("a1", "a.yaml"), ("a2", "a.yaml"), ("b1", "b.yaml")] {
        assert_eq!(case(&doc, name).attribute("file"), Some(file));
    }
    let a2 = case(&doc, "a2");
    let f = a2.children().find(|n| n.has_tag_name("failure")).unwrap();
    assert_eq!(f.attribute("type"), Some("leak"));
    assert!(f
        .attribute("message")
        .unwrap()
        .starts_with("Python blocks grows 1 blk/iteration"));
    assert_eq!(
        property(a2, "growth.blocks.agreeing").as_deref(),
        Some("5/5")
    );
    assert_eq!(property(a2, "memreg.processes").as_deref(), Some("5"));
    // Output is kept only for cases that did not pass.
    let b1 = case(&doc, "b1");
    assert!(
        b1.children().all(|n| !n.has_tag_name("system-out")),
        "{xml}"
    );
    assert!(r.stdout.contains("JUnit report: reports/memreg.xml"));
}

/// A clean scenario, an attributed leak, an exception whose message holds escape
/// codes, an inconclusive one and a regressed baseline figure.
fn mixed_suite(s: &Scratch) {
    s.write(
        "app.py",
        "_seen = []\n\ndef remember(x):\n    _seen.append({'x': x})\n",
    );
    s.write(
        "scenarios/mixed.yaml",
        "scenarios:\n  - name: clean\n    run: x = [1, 2, 3]\n    iterations: 100\n  - name: leaky\n    pythonpath: [..]\n    setup: import app\n    run: app.remember(1)\n    iterations: 100\n  - name: raises\n    run: raise ValueError('\\x1b[31mred\\x1b[0m <b> & \"q\"')\n    processes: 2\n  - name: few\n    setup: L = []\n    run: L.append(object())\n    iterations: 100\n    processes: 3\n",
    );
    s.write(
        "scenarios/holder.yaml",
        "name: holder\nsetup: |\n  data = [bytes(1000) for _ in range(3000)]\nrun: x = [1, 2, 3]\niterations: 100\nwarmup: 10\n",
    );
    let r = s.memreg(&["baseline", "update", "-k", "holder"]);
    assert_eq!(r.code, 0, "{}", r.all());
    s.write(
        "scenarios/holder.yaml",
        "name: holder\nsetup: |\n  data = [bytes(1000) for _ in range(3900)]\nrun: x = [1, 2, 3]\niterations: 100\nwarmup: 10\n",
    );
}

/// Validates `xml` against pytest's junit-10.xsd and reads it with junitparser:
/// one line per case, `suite|case|time|Result:type:message`.
fn validate_and_read(python: &Path, xml: &Path, schema: bool) -> Vec<String> {
    let script = r#"
import sys, xmlschema, junitparser
if sys.argv[3] == "1":
    xmlschema.XMLSchema(sys.argv[1]).validate(sys.argv[2])
for suite in junitparser.JUnitXml.fromfile(sys.argv[2]):
    for case in suite:
        results = ["%s:%s:%s" % (type(r).__name__, r.type, r.message) for r in case.result]
        print("%s|%s|%s|%s" % (suite.name, case.name, case.time, ";".join(results)))
"#;
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/junit-10.xsd");
    let out = std::process::Command::new(python)
        .args(["-c", script])
        .arg(xsd)
        .arg(xml)
        .arg(if schema { "1" } else { "0" })
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        xml.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_case_has_file_line_and_time_and_xunit2_validates_against_junit_10_xsd() {
    let s = Scratch::new();
    mixed_suite(&s);
    let r = s.memreg(&[
        "run",
        "scenarios",
        "--junit",
        "rich.xml",
        "--json",
        "run.json",
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    let rich = s.read("rich.xml");
    for bad in ["NaN", "inf\"", "\u{1b}"] {
        assert!(!rich.contains(bad), "`{bad}` in\n{rich}");
    }
    let doc = parse_junit(&rich);
    for suite in doc.descendants().filter(|n| n.has_tag_name("testsuite")) {
        for attr in ["time", "timestamp", "hostname", "file", "tests", "failures"] {
            assert!(suite.attribute(attr).is_some(), "suite lacks {attr}");
        }
        let ts = suite.attribute("timestamp").unwrap();
        assert!(ts.len() == 24 && ts.ends_with('Z'), "{ts}");
    }
    for c in doc.descendants().filter(|n| n.has_tag_name("testcase")) {
        let name = c.attribute("name").unwrap();
        let time: f64 = c.attribute("time").unwrap().parse().unwrap();
        assert!(time.is_finite() && time >= 0.0, "{name}");
        assert!(c.attribute("file").is_some(), "{name} lacks file");
        let line: u64 = c
            .attribute("line")
            .unwrap_or_else(|| panic!("{name} lacks line"))
            .parse()
            .unwrap();
        assert!(line > 0);
    }
    // The leak points at the line that keeps the memory; the rest at `run:`.
    let leaky = case(&doc, "leaky");
    assert_eq!(leaky.attribute("file"), Some("app.py"));
    assert_eq!(leaky.attribute("line"), Some("4"));
    let raises = case(&doc, "raises");
    assert_eq!(raises.attribute("file"), Some("scenarios/mixed.yaml"));
    assert_eq!(raises.attribute("line"), Some("11"));
    // Messages do not repeat the type; bodies say their first line once.
    let failure = leaky
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    let message = failure.attribute("message").unwrap();
    assert!(message.starts_with("Python blocks grows"), "{message}");
    let error = raises.children().find(|n| n.has_tag_name("error")).unwrap();
    let emsg = error.attribute("message").unwrap();
    assert_eq!(error.attribute("type"), Some("exception"));
    assert!(emsg.starts_with("ValueError: red <b> & \"q\""), "{emsg}");
    let body: Vec<&str> = error.text().unwrap().lines().collect();
    assert_eq!(body[0], emsg, "{body:?}");
    assert!(
        !body[1..].contains(&emsg),
        "first line said twice: {body:?}"
    );
    let regressed = case(&doc, "holder :: baseline held_native");
    let f = regressed
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(f.attribute("type"), Some("regression"));
    assert!(f.attribute("message").unwrap().starts_with("held_native: "));
    assert_eq!(regressed.attribute("file"), Some("scenarios/holder.yaml"));
    assert!(case(&doc, "few")
        .children()
        .any(|n| n.has_tag_name("skipped")));

    // xunit2, from the same run through `merge`, validates against the schema.
    let r = s.memreg(&[
        "merge",
        "run.json",
        "--junit",
        "x2.xml",
        "--junit-format",
        "xunit2",
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    let x2 = s.read("x2.xml");
    let doc2 = parse_junit(&x2);
    assert!(doc2.root_element().attribute("skipped").is_none());
    assert!(doc2
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .all(|c| c.attribute("file").is_none()
            && c.children().all(|p| !p.has_tag_name("properties"))));
    let Some(python) = python_tools() else { return };
    let cases = validate_and_read(&python, &s.path().join("x2.xml"), true);
    let rich_cases = validate_and_read(&python, &s.path().join("rich.xml"), false);
    assert_eq!(cases.len(), rich_cases.len(), "{cases:?}");
    let find = |name: &str| {
        cases
            .iter()
            .find(|l| l.split('|').nth(1) == Some(name))
            .unwrap_or_else(|| panic!("{name} in {cases:?}"))
            .clone()
    };
    assert!(find("clean").ends_with('|'), "passed: {}", find("clean"));
    assert!(
        find("leaky").contains("|Failure:leak:Python blocks grows"),
        "{}",
        find("leaky")
    );
    assert!(
        find("raises").contains("|Error:exception:ValueError: red"),
        "{}",
        find("raises")
    );
    assert!(find("few").contains("|Skipped:"), "{}", find("few"));
    assert!(
        find("holder :: baseline held_native").contains("|Failure:regression:held_native: "),
        "{}",
        find("holder :: baseline held_native")
    );
    for line in &cases {
        let time: f64 = line.split('|').nth(2).unwrap().parse().unwrap();
        assert!(time.is_finite(), "{line}");
    }
}
