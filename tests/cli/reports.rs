//! Markdown, JSON, HTML and GitHub annotations, from a real run.

use crate::support::Scratch;
use serde_json::Value;

const SUITE: &str = r#"scenarios:
  - name: clean
    run: x = [1, 2, 3]
    iterations: 100
  - name: leaky
    pythonpath: [.]
    setup: import app
    run: app.remember(1)
    iterations: 100
"#;

const APP: &str = "_seen = []\n\ndef remember(x):\n    _seen.append({'x': x})\n";

fn field<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| {
        v.get(k)
            .unwrap_or_else(|| panic!("missing `{path}` in {v}"))
    })
}

#[test]
fn json_report_has_the_documented_shape() {
    let s = Scratch::new();
    s.write("app.py", APP);
    s.write("suite.yaml", SUITE);
    let r = s.memreg(&["run", "suite.yaml", "--json", "out/report.json"]);
    assert_eq!(r.code, 1, "{}", r.all());
    let v: Value = serde_json::from_str(&s.read("out/report.json")).unwrap();
    assert_eq!(v["format"], 1);
    assert_eq!(v["exit_code"], 1);
    assert_eq!(field(&v, "counts.passed"), 1);
    assert_eq!(field(&v, "counts.failed"), 1);
    let scenarios = v["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 2);
    for sc in scenarios {
        for key in [
            "name",
            "file",
            "run_line",
            "expect",
            "status",
            "analysis",
            "python",
            "environment",
            "iterations",
            "warmup",
            "processes",
            "tolerance",
            "sample_iterations",
            "process_details",
            "figures",
            "baseline",
            "attribution",
            "faults",
            "notes",
            "peak_rss",
            "time_per_iteration",
            "unaccounted_native",
        ] {
            assert!(
                sc.get(key).is_some(),
                "scenario `{}` lacks `{key}`",
                sc["name"]
            );
        }
        let xs = sc["sample_iterations"].as_array().unwrap();
        assert_eq!(xs[0], 0);
        assert_eq!(xs.last().unwrap(), 100);
        let procs = sc["process_details"].as_array().unwrap();
        assert_eq!(procs.len(), 5);
        for p in procs {
            let blocks = p["series"]["blocks"].as_array().unwrap();
            assert_eq!(blocks.len(), xs.len(), "one value per sample");
            assert!(p["figures"]["held_blocks"].is_i64());
            assert!(p["timing"]["body_s"].is_f64());
        }
        for c in sc["analysis"]["counters"].as_array().unwrap() {
            for key in [
                "metric",
                "gating",
                "per_process",
                "growing",
                "median",
                "agreeing",
                "p_value",
                "leak",
            ] {
                assert!(c.get(key).is_some(), "counter lacks `{key}`");
            }
        }
        assert_eq!(sc["processes"], 5);
        assert!(field(sc, "environment")
            .as_str()
            .unwrap()
            .contains("cpython-3."));
    }
    let leaky = &scenarios[1];
    assert_eq!(leaky["status"], "failed");
    assert_eq!(field(leaky, "analysis.verdict.verdict"), "leak");
    let site = &leaky["attribution"]["Ok"]["sites"][0];
    assert_eq!(site["file"], "app.py");
    assert_eq!(site["line"], 4);
    assert!(site["traceback"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["source"] == "_seen.append({'x': x})"));
    assert_eq!(
        scenarios[0]["attribution"],
        Value::Null,
        "only failures are explained"
    );
}

#[test]
fn html_report_is_self_contained_with_a_chart_per_counter_and_process() {
    let s = Scratch::new();
    s.write("app.py", APP);
    s.write("suite.yaml", SUITE);
    let r = s.memreg(&["run", "suite.yaml", "--html", "report.html"]);
    assert_eq!(r.code, 1, "{}", r.all());
    let html = s.read("report.html");
    assert!(
        !html.contains("http://")
            || html.matches("http://").count() == html.matches("xmlns=\"http://").count(),
        "no fetches"
    );
    assert!(!html.contains("<script"), "no scripts");
    let doc = roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("HTML must be well-formed: {e}"));
    let svgs: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("svg"))
        .collect();
    assert_eq!(
        svgs.len(),
        2 * 3,
        "blocks, native and RSS charts for two scenarios"
    );
    for svg in &svgs {
        let lines = svg
            .children()
            .filter(|n| n.has_tag_name("polyline"))
            .count();
        assert_eq!(lines, 5, "one line per process");
        assert!(
            svg.descendants().any(|n| n.text() == Some("warm-up")),
            "warm-up shaded and labelled"
        );
        let fits = svg
            .children()
            .filter(|n| n.has_tag_name("line") && n.attribute("stroke-dasharray") == Some("6,4"))
            .count();
        assert_eq!(fits, 5, "a fitted growth line per process");
    }
    assert!(html.contains("app.py:4"), "attribution table");
    // A failure is open, a passing scenario is one line with its charts folded.
    let section = |name: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name("details") && n.attribute("id") == Some(name))
            .unwrap_or_else(|| panic!("section {name}"))
    };
    assert_eq!(section("s-leaky").attribute("open"), Some("open"));
    assert_eq!(section("s-clean").attribute("open"), None);
    let legend = section("s-leaky")
        .descendants()
        .filter(|n| n.attribute("class") == Some("swatch"))
        .count();
    assert_eq!(legend, 5, "a legend entry per process colour");
    let header: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("th"))
        .filter_map(|n| n.text())
        .collect();
    assert!(header.contains(&"baseline"), "{header:?}");
}

#[test]
fn html_marks_a_regressed_baseline_and_shows_old_beside_new() {
    let s = Scratch::new();
    let holder = |n: u32| {
        format!("name: holder\nsetup: |\n  data = [bytes(1000) for _ in range({n})]\nrun: x = [1, 2, 3]\niterations: 100\nwarmup: 10\n")
    };
    s.write("scenarios/holder.yaml", &holder(3000));
    assert_eq!(s.memreg(&["baseline", "update"]).code, 0);
    s.write("scenarios/holder.yaml", &holder(3900));
    let r = s.memreg(&["run", "--html", "r.html", "--markdown", "r.md"]);
    assert_eq!(r.code, 1, "{}", r.all());
    let html = s.read("r.html");
    let doc = roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap();
    let label = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("label fail"))
        .and_then(|n| n.text());
    assert_eq!(label, Some("regressed"), "not a red ok");
    let row = doc
        .descendants()
        .filter(|n| n.has_tag_name("tr"))
        .find(|n| n.first_element_child().and_then(|c| c.text()) == Some("held_native"))
        .expect("a row for held_native");
    let cells: Vec<String> = row
        .children()
        .filter(|n| n.has_tag_name("td"))
        .map(|n| n.descendants().filter_map(|t| t.text()).collect::<String>())
        .collect();
    assert!(cells[1].contains(" -> "), "{cells:?}");
    assert!(
        cells[2].starts_with('+') && cells[2].ends_with('%'),
        "{cells:?}"
    );
    assert!(cells[5].starts_with("regressed"), "{cells:?}");
    let strip = row
        .descendants()
        .find(|n| n.attribute("class") == Some("strip"))
        .expect("old beside new");
    assert_eq!(
        strip
            .descendants()
            .filter(|n| n.has_tag_name("circle"))
            .count(),
        10,
        "five processes old, five new"
    );
    // Markdown shows the regression in the table too.
    let md = s.read("r.md");
    let row = md.lines().find(|l| l.contains("| holder |")).unwrap();
    assert!(row.contains("REGRESSED held\\_native +"), "{row}");
    assert!(row.contains("regression: held\\_native: "), "{row}");
}

#[test]
fn github_annotations_point_at_the_leaking_line_and_output_cannot_inject_commands() {
    let s = Scratch::new();
    s.write("app.py", APP);
    let mut suite = SUITE.to_owned();
    suite.push_str("  - name: evil\n    run: |\n      print('::set-env name=X::1')\n      raise ValueError('bad\\n::error::injected, 100%')\n    iterations: 16\n");
    s.write("suite.yaml", &suite);
    let out = s
        .command(&["run", "suite.yaml", "--markdown", "summary.md"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let start = stdout.find("::stop-commands::").expect("stop-commands");
    let token = stdout[start + 17..]
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_owned();
    assert!(token.len() > 10, "{token}");
    let end = stdout.find(&format!("::{token}::")).expect("resume");
    let (fenced, after) = (&stdout[start..end], &stdout[end..]);
    assert!(
        fenced.contains("::error::injected"),
        "scenario text is inside the fence"
    );
    assert!(
        !after.contains("::set-env") && !after.lines().any(|l| l.starts_with("::error::")),
        "{after}"
    );
    let annotations: Vec<&str> = after
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert_eq!(annotations.len(), 2, "{after}");
    assert!(
        annotations[0].starts_with("::error file=app.py,line=4,title=memreg%3A leaky::"),
        "{}",
        annotations[0]
    );
    assert!(
        annotations[1].starts_with("::error file=suite.yaml,line=12,title=memreg%3A evil::"),
        "{}",
        annotations[1]
    );
    assert!(
        annotations[1].contains("%0A") && annotations[1].contains("100%25"),
        "escaped: {}",
        annotations[1]
    );
    let md = s.read("summary.md");
    assert!(
        md.starts_with("## memreg: 3 scenarios: 1 passed, 1 failed, 1 errored"),
        "{md}"
    );
    assert!(
        md.contains("| ✅ | clean |") && md.contains("<details><summary>❌ leaky"),
        "{md}"
    );
}

#[test]
fn more_than_ten_failures_are_pointed_to_the_summary() {
    let s = Scratch::new();
    let mut suite = String::from("scenarios:\n");
    for i in 0..12 {
        suite.push_str(&format!(
            "  - name: bad{i}\n    run: raise KeyError({i})\n    processes: 1\n"
        ));
    }
    s.write("many.yaml", &suite);
    let out = s
        .command(&["run", "many.yaml", "--no-attribution"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("::error ")).count(),
        10,
        "{stdout}"
    );
    assert!(
        stdout.contains("::notice title=memreg::2 more failing scenarios are not annotated"),
        "{stdout}"
    );
}
