//! Baselines end to end: record, compare, flag a 30% regression, stay quiet on
//! reruns, and refuse what it cannot read.

use crate::support::{case, parse_junit, Scratch};

/// Holds `n` 1000-byte objects (native heap and blocks) and repeats a clean body.
fn holder(n: u32) -> String {
    format!("name: holder\nsetup: |\n  data = [bytes(1000) for _ in range({n})]\nrun: x = [1, 2, 3]\niterations: 100\nwarmup: 10\n")
}

#[test]
fn a_30_percent_heavier_scenario_is_flagged_and_a_rerun_is_quiet() {
    let s = Scratch::new();
    s.write("scenarios/holder.yaml", &holder(3000));
    let r = s.memreg(&["baseline", "update"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("| holder | held_native | - -> "),
        "{}",
        r.all()
    );
    assert!(r.stdout.contains("1 written, 0 unchanged"), "{}", r.all());
    let stored = s.read("baselines/holder.json");
    assert!(
        stored.contains("\"linux-") || stored.contains("\"darwin-"),
        "{stored}"
    );

    // No change: the run passes against the baseline, an update writes nothing.
    let r = s.memreg(&["run", "--junit", "j.xml"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("BASELINE"), "{}", r.all());
    let r = s.memreg(&["baseline", "update"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("No baseline changed meaningfully"),
        "{}",
        r.all()
    );
    assert_eq!(
        s.read("baselines/holder.json"),
        stored,
        "byte for byte unchanged"
    );

    // 30% more held memory is flagged, per figure, with old -> new and the change.
    s.write("scenarios/holder.yaml", &holder(3900));
    let r = s.memreg(&["run", "--junit", "j.xml"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("REGRESSED"), "{}", r.all());
    assert!(r.stdout.contains("regression: held_native:"), "{}", r.all());
    let xml = s.read("j.xml");
    let doc = parse_junit(&xml);
    let f = case(&doc, "holder :: baseline held_native")
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap_or_else(|| panic!("held_native must fail:\n{xml}"));
    let msg = f.attribute("message").unwrap();
    assert!(msg.contains("->") && msg.contains("n=5/5"), "{msg}");
    let pct: f64 = msg
        .split('(')
        .nth(1)
        .unwrap()
        .split('%')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((25.0..35.0).contains(&pct), "about +30%: {msg}");
    // The leak check itself still passes: it is a separate test case.
    assert!(case(&doc, "holder")
        .children()
        .all(|n| !n.has_tag_name("failure")));

    // Recording the intended change makes it pass again.
    let r = s.memreg(&["baseline", "update"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("| holder | held_native |"), "{}", r.all());
    assert_eq!(s.memreg(&["run"]).code, 0);
}

#[test]
fn improvements_never_fail_and_say_how_to_record_them() {
    let s = Scratch::new();
    s.write("scenarios/holder.yaml", &holder(3000));
    assert_eq!(s.memreg(&["baseline", "update"]).code, 0);
    s.write("scenarios/holder.yaml", &holder(1500));
    let r = s.memreg(&["run"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("improved: holder: held_native"),
        "{}",
        r.all()
    );
    assert!(r.stdout.contains("memreg baseline update"), "{}", r.all());
}

#[test]
fn missing_baselines_are_reported_and_fail_only_with_strict() {
    let s = Scratch::new();
    s.write("scenarios/holder.yaml", &holder(10));
    let r = s.memreg(&["run"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("no baseline in"), "{}", r.all());
    let r = s.memreg(&["run", "--strict", "--junit", "j.xml"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("NO BASELINE"), "{}", r.all());
    let xml = s.read("j.xml");
    let doc = parse_junit(&xml);
    assert!(case(&doc, "holder :: baseline")
        .children()
        .any(|n| n.has_tag_name("failure")));
}

#[test]
fn changed_settings_are_not_compared() {
    let s = Scratch::new();
    s.write("scenarios/holder.yaml", &holder(10));
    assert_eq!(s.memreg(&["baseline", "update"]).code, 0);
    s.write(
        "scenarios/holder.yaml",
        &holder(10).replace("iterations: 100", "iterations: 120"),
    );
    let r = s.memreg(&["run"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("not comparable"), "{}", r.all());
}

#[test]
fn unreadable_baselines_stop_the_run_and_only_force_replaces_them() {
    let s = Scratch::new();
    s.write("scenarios/holder.yaml", &holder(10));
    s.write("baselines/holder.json", "{ this is not json");
    let r = s.memreg(&["run"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stderr
            .contains("baselines/holder.json: not a memreg baseline file"),
        "{}",
        r.all()
    );
    assert!(r.stderr.contains("nothing was run"));
    let r = s.memreg(&["baseline", "update"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert_eq!(
        s.read("baselines/holder.json"),
        "{ this is not json",
        "never silently overwritten"
    );
    s.write(
        "baselines/holder.json",
        r#"{"format": 7, "scenario": "holder", "environments": {}}"#,
    );
    let r = s.memreg(&["run"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("baseline format 7"), "{}", r.all());
    let r = s.memreg(&["baseline", "update", "--force"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(s.read("baselines/holder.json").contains("\"format\": 1"));
}

#[test]
fn show_and_prune() {
    let s = Scratch::new();
    s.write(
        "scenarios/a.yaml",
        "name: keep\nrun: pass\niterations: 50\n",
    );
    s.write(
        "scenarios/b.yaml",
        "name: gone\nrun: pass\niterations: 50\n",
    );
    assert_eq!(s.memreg(&["baseline", "update"]).code, 0);
    let r = s.memreg(&["baseline", "show", "keep"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("keep (baselines/keep.json)"),
        "{}",
        r.all()
    );
    assert!(r.stdout.contains("held_blocks"), "{}", r.all());
    assert_eq!(s.memreg(&["baseline", "show", "nope"]).code, 2);

    std::fs::remove_file(s.path().join("scenarios/b.yaml")).unwrap();
    let r = s.memreg(&["baseline", "prune", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("would remove baselines/gone.json"),
        "{}",
        r.all()
    );
    assert!(s.path().join("baselines/gone.json").exists());
    let r = s.memreg(&["baseline", "prune"]);
    assert!(r.stdout.contains("1 removed"), "{}", r.all());
    assert!(!s.path().join("baselines/gone.json").exists());
    assert!(s.path().join("baselines/keep.json").exists());
}

#[test]
fn scenario_names_that_are_not_file_names_map_safely() {
    let s = Scratch::new();
    s.write(
        "scenarios/t.yaml",
        "name: ../../escape me\nrun: pass\niterations: 50\n",
    );
    let r = s.memreg(&["baseline", "update"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let files: Vec<String> = std::fs::read_dir(s.path().join("baselines"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].starts_with("escape_me") || files[0].contains('~'),
        "{files:?}"
    );
    assert!(!s.path().join("escape me.json").exists());
    assert_eq!(s.memreg(&["run"]).code, 0);
}

#[test]
fn a_run_under_another_allocator_is_not_compared_with_a_pymalloc_baseline() {
    let s = Scratch::new();
    s.write("scenarios/holder.yaml", &holder(3000));
    let r = s.memreg(&["baseline", "update"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        s.read("baselines/holder.json")
            .contains("\"allocator\": \"pymalloc"),
        "{}",
        s.read("baselines/holder.json")
    );
    // Under PYTHONMALLOC=malloc every object is a C heap block: compared, held_native
    // would read as a regression of more than 100%.
    let out = s
        .command(&["run", "--json", "r.json", "--junit", "j.xml"])
        .env("PYTHONMALLOC", "malloc")
        .output()
        .unwrap();
    let r = crate::support::Run::from(out);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(!r.stdout.contains("REGRESSED"), "{}", r.all());
    assert!(
        r.stdout
            .contains("not comparable: allocator differs (pymalloc -> malloc)"),
        "{}",
        r.all()
    );
    let json: serde_json::Value = serde_json::from_str(&s.read("r.json")).unwrap();
    let b = &json["scenarios"][0]["baseline"];
    assert_eq!(b["result"], "settings_differ", "{b}");
    assert_eq!(b["allocator"]["recorded"], "pymalloc", "{b}");
    assert_eq!(b["allocator"]["now"], "malloc", "{b}");
    assert_eq!(b["detail"], "allocator differs (pymalloc -> malloc)", "{b}");
    // The JSON reads back (merge) to the same report.
    let r = s.memreg(&["merge", "r.json", "--json", "back.json"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let back: serde_json::Value = serde_json::from_str(&s.read("back.json")).unwrap();
    assert_eq!(back["scenarios"][0]["baseline"], *b);
    // Under --strict an incomparable baseline fails, and says why.
    let out = s
        .command(&["run", "--strict", "--junit", "j.xml"])
        .env("PYTHONMALLOC", "malloc")
        .output()
        .unwrap();
    let r = crate::support::Run::from(out);
    assert_eq!(r.code, 1, "{}", r.all());
    let xml = s.read("j.xml");
    let doc = parse_junit(&xml);
    let failure = case(&doc, "holder :: baseline")
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert!(
        failure
            .attribute("message")
            .unwrap()
            .contains("not comparable: allocator differs (pymalloc -> malloc)"),
        "{xml}"
    );
}

/// A virtualenv of the test's python3, with a `.pth` file importing `modules` at
/// start when there are any (as site-packages of real projects do).
fn venv(s: &Scratch, name: &str, modules: &[&str]) -> String {
    let dir = s.path().join(name);
    let st = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(st.success());
    let python = dir.join("bin/python");
    if !modules.is_empty() {
        let out = std::process::Command::new(&python)
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ])
            .output()
            .unwrap();
        let site = String::from_utf8(out.stdout).unwrap();
        std::fs::write(
            std::path::Path::new(site.trim()).join("preload.pth"),
            format!("import {}\n", modules.join(", ")),
        )
        .unwrap();
    }
    python.display().to_string()
}

#[test]
fn an_interpreter_that_starts_with_other_modules_is_not_comparable_not_a_regression() {
    let s = Scratch::new();
    // Setup imports json: in an interpreter that imported it at start (a .pth file),
    // it holds nothing; in a plain one, the whole module.
    s.write(
        "scenarios/j.yaml",
        "name: j\nsetup: import json, decimal\nrun: json.dumps([1])\niterations: 100\nwarmup: 10\n",
    );
    let plain = venv(&s, "plain", &[]);
    let preloading = venv(&s, "preloading", &["json", "decimal"]);
    let r = s.memreg(&["baseline", "update", "--python", &preloading]);
    assert_eq!(r.code, 0, "{}", r.all());
    let r = s.memreg(&["run", "--python", &plain, "--no-attribution"]);
    assert_eq!(r.code, 0, "not comparable is no failure: {}", r.all());
    assert!(
        r.stdout
            .contains("the interpreter starts with other modules imported"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("REGRESSED"), "{}", r.stdout);
    let r = s.memreg(&["run", "--python", &plain, "--no-attribution", "--strict"]);
    assert_eq!(r.code, 1, "under --strict it fails: {}", r.all());
    // The same interpreter again is compared as usual.
    let r = s.memreg(&["run", "--python", &preloading, "--no-attribution"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(!r.stdout.contains("not comparable"), "{}", r.stdout);
}
