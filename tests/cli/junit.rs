//! The JUnit file's shape, checked with a strict XML parser.

use crate::support::{case, parse_junit, property, Scratch};

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
        .starts_with("leak: Python blocks grows 1 blk/iteration"));
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
