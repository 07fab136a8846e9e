//! Bad scenario files: each case gives one exact error naming file:line:column (or
//! the scenario), exit code 2, and nothing run.

use crate::support::Scratch;

fn rejects(file: &str, text: &str, want: &str) {
    let s = Scratch::new();
    s.write(file, text);
    let r = s.memreg(&["run", file]);
    assert_eq!(r.code, 2, "{file}: {}", r.all());
    assert!(
        r.stderr.contains(want),
        "{file}: want `{want}` in\n{}",
        r.all()
    );
    assert!(r.stderr.contains("nothing was run"), "{}", r.all());
    assert!(
        !r.stdout.contains("scenarios,"),
        "nothing may run: {}",
        r.all()
    );
}

#[test]
fn unknown_key_names_line_and_column() {
    rejects(
        "a.yaml",
        "run: pass\niteratons: 5\n",
        "error: a.yaml:2:1: unknown field `iteratons`, expected one of",
    );
}

#[test]
fn wrong_type() {
    rejects(
        "a.yaml",
        "run: pass\niterations: many\n",
        "a.yaml:2:13: iterations: invalid type: string \"many\"",
    );
}

#[test]
fn negative_and_too_small_counts() {
    rejects(
        "a.yaml",
        "run: pass\nprocesses: -1\n",
        "a.yaml:2:12: processes: invalid type: integer `-1`",
    );
    rejects(
        "a.yaml",
        "run: pass\nprocesses: 0\n",
        "a.yaml:2:12: processes: must be at least 1, got 0",
    );
    rejects(
        "a.yaml",
        "run: pass\niterations: 3\n",
        "a.yaml:2:13: iterations: must be at least 16, got 3",
    );
    rejects(
        "a.yaml",
        "run: pass\nwarmup: -3\n",
        "a.yaml:2:9: warmup: invalid type: integer `-3`",
    );
}

#[test]
fn empty_or_missing_run() {
    rejects(
        "a.yaml",
        "run: \"  \"\n",
        "a.yaml:1:6: run: must not be empty",
    );
    rejects(
        "a.yaml",
        "name: x\n",
        "a.yaml: scenario `x`: missing `run:` (Python code to repeat) or `pytest:` (a pytest test or selection)",
    );
    rejects(
        "a.yaml",
        "run: pass\npytest: tests/\n",
        "a.yaml: scenario `a`: `run` and `pytest` exclude each other",
    );
    rejects(
        "a.yaml",
        "setup: import x\npytest: tests/\n",
        "a.yaml: scenario `a`: `setup` and `teardown` do not go with `pytest:`",
    );
    rejects(
        "a.yaml",
        "pytest: \"tests/ -k 'open\"\n",
        "a.yaml:1:9: pytest: unclosed '",
    );
}

#[test]
fn bad_units() {
    rejects(
        "a.yaml",
        "run: pass\nmemory_limit: 2 parsecs\n",
        "a.yaml:2:15: memory_limit: invalid size `2 parsecs`: unknown unit `parsecs`",
    );
    rejects(
        "a.yaml",
        "run: pass\ntimeout: soon\n",
        "a.yaml:2:10: timeout: invalid duration `soon`",
    );
    rejects(
        "a.yaml",
        "run: pass\ntolerance: -5\n",
        "a.yaml:2:12: tolerance: invalid size `-5`: must not be negative",
    );
    rejects(
        "a.yaml",
        "run: pass\nexpect: maybe\n",
        "a.yaml:2:9: expect: unknown variant `maybe`, expected `pass` or `leak`",
    );
    rejects(
        "a.yaml",
        "run: pass\nmetrics: [heap]\n",
        "a.yaml:2:11: metrics[0]: unknown variant `heap`",
    );
}

#[test]
fn malformed_yaml_and_empty_files() {
    rejects(
        "a.yaml",
        "run: [pass\n",
        "a.yaml:2:1: did not find expected ',' or ']'",
    );
    rejects("a.yaml", "", "a.yaml: empty file");
    rejects(
        "a.yaml",
        "scenarios: []\n",
        "a.yaml: `scenarios:` is an empty list",
    );
}

#[test]
fn list_form_errors_name_the_item() {
    rejects(
        "l.yaml",
        "scenarios:\n  - run: pass\n    bogus: 1\n",
        "l.yaml:3:5: scenarios[0]: unknown field `bogus`",
    );
}

#[test]
fn python_that_does_not_compile_is_found_before_running() {
    let text = "name: s\nsetup: |\n  x = 1\nrun: |\n  y = (\n";
    rejects(
        "syn.yaml",
        text,
        "syn.yaml:5:5: scenario `s`: `run`: '(' was never closed",
    );
    // Folded text has no exact file lines: the error names the scenario and part.
    rejects(
        "f.yaml",
        "name: f\nrun: >\n  def\n",
        "scenario `f`: `run` line 1:",
    );
}

#[test]
fn every_bad_file_is_reported_not_just_the_first() {
    let s = Scratch::new();
    s.write("d/a.yaml", "run: pass\nbogus: 1\n");
    s.write("d/b.yaml", "run: pass\niterations: x\n");
    let r = s.memreg(&["run", "d"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("a.yaml:2:1: unknown field `bogus`"),
        "{}",
        r.all()
    );
    assert!(r.stderr.contains("b.yaml:2:13: iterations"), "{}", r.all());
}

#[test]
fn duplicate_names_name_both_files() {
    let s = Scratch::new();
    s.write("d1/a.yaml", "name: same\nrun: pass\n");
    s.write("d2/b.yaml", "name: same\nrun: pass\n");
    let r = s.memreg(&["run", "d1", "d2"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("d2/b.yaml: scenario `same`: duplicate scenario name (also in d1/a.yaml)"),
        "{}",
        r.all()
    );
}

#[test]
fn unreadable_inputs() {
    let s = Scratch::new();
    std::fs::write(s.path().join("bin.yaml"), b"\xff\xfe run: pass").unwrap();
    let r = s.memreg(&["run", "bin.yaml"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("bin.yaml: not valid UTF-8"),
        "{}",
        r.all()
    );

    std::fs::create_dir(s.path().join("empty")).unwrap();
    let r = s.memreg(&["run", "empty"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("empty: no scenario files (*.yaml, *.yml) in this directory"),
        "{}",
        r.all()
    );

    let r = s.memreg(&["run", "missing.yaml"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("missing.yaml: cannot read:"),
        "{}",
        r.all()
    );
}

#[test]
fn missing_interpreter_and_bad_pythonpath() {
    rejects(
        "a.yaml",
        "run: pass\npythonpath: [nope]\n",
        "a.yaml: scenario `a`: pythonpath entry `nope`",
    );
    let s = Scratch::new();
    s.write("a.yaml", "run: pass\npython: /nonexistent/python3\n");
    let r = s.memreg(&["run", "a.yaml"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("Python interpreter `/nonexistent/python3` not found"),
        "{}",
        r.all()
    );
}

#[test]
fn usage_errors_exit_2_and_help_documents_exit_codes() {
    let s = Scratch::new();
    assert_eq!(s.memreg(&["run", "--bogus"]).code, 2);
    let help = s.memreg(&["run", "--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("Exit codes:"), "{}", help.stdout);
    for line in [
        "2    memreg could not do its job",
        "129  stopped by SIGHUP",
        "130  interrupted (Ctrl-C)",
        "143  stopped by SIGTERM",
    ] {
        assert!(help.stdout.contains(line), "{line}\n{}", help.stdout);
    }
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let s = Scratch::new();
    s.write(
        "bom.yaml",
        "\u{feff}name: bom\nrun: pass\niterations: 16\nwarmup: 0\nprocesses: 1\n",
    );
    let r = s.memreg(&["run", "bom.yaml"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("1 scenario: 1 passed"), "{}", r.all());
}

#[test]
fn numbers_and_sizes_past_their_bounds_are_rejected() {
    let cases = [
        (
            "processes: 4294967295",
            "a.yaml:2:12: processes: must be at most 1000, got 4294967295",
        ),
        (
            "iterations: 2000000000",
            "a.yaml:2:13: iterations: must be at most 1000000000, got 2000000000",
        ),
        (
            "warmup: 18446744073709551615",
            "a.yaml:2:9: warmup: must be at most 1000000000",
        ),
        (
            "timeout: 25h",
            "a.yaml:2:10: timeout: `25h` is too long: at most 24h",
        ),
        (
            "memory_limit: 0 B",
            "a.yaml:2:15: memory_limit: `0 B` is too small: at least 32.0 MiB",
        ),
        (
            "memory_limit: 16 MiB",
            "a.yaml:2:15: memory_limit: `16.0 MiB` is too small: at least 32.0 MiB",
        ),
        (
            "tolerance: 2 TiB",
            "a.yaml:2:12: tolerance: invalid size `2.0 TiB`: at most 1.0 TiB",
        ),
        (
            "regression: {absolute: 5 TB}",
            "regression.absolute: invalid size `4.5 TiB`: at most 1.0 TiB",
        ),
        (
            "attribution: {frames: 101}",
            "attribution.frames: must be at most 100, got 101",
        ),
    ];
    for (line, want) in cases {
        rejects("a.yaml", &format!("run: pass\n{line}\n"), want);
    }
}

#[test]
fn every_problem_in_a_file_is_reported_and_nothing_is_left_behind() {
    let s = Scratch::new();
    s.write(
        "one.yaml",
        "processes: 0\nbogus: 1\nmemory_limit: 0 B\ntimeout: soon\n",
    );
    s.write(
        "list.yaml",
        "scenarios:\n  - run: pass\n    iterations: 3\n    extra: 1\n  - name: fine\n    run: pass\n  - run: pass\n    metrics: [heap]\n    expect: maybe\nstray: 1\n",
    );
    let tmp = s.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = s
        .command(&["run", "one.yaml", "list.yaml"])
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let r = crate::support::Run::from(out);
    assert_eq!(r.code, 2, "{}", r.all());
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    let want = [
        "error: one.yaml:1:1: missing field `run`",
        "error: one.yaml:1:12: processes: must be at least 1, got 0",
        "error: one.yaml:2:1: unknown field `bogus`",
        "error: one.yaml:3:15: memory_limit: `0 B` is too small",
        "error: one.yaml:4:10: timeout: invalid duration `soon`",
        "error: list.yaml:3:17: scenarios[0].iterations: must be at least 16, got 3",
        "error: list.yaml:4:5: scenarios[0]: unknown field `extra`",
        "error: list.yaml:8:15: scenarios[2].metrics[0]: unknown variant `heap`",
        "error: list.yaml:9:13: scenarios[2].expect: unknown variant `maybe`",
        "error: list.yaml:10:1: unknown field `stray`, expected `scenarios`",
    ];
    assert_eq!(errors.len(), want.len(), "{}", r.all());
    for (got, want) in errors.iter().zip(want) {
        assert!(
            got.starts_with(want),
            "`{got}` is not `{want}...`\n{}",
            r.all()
        );
    }
    assert!(r.stderr.contains("nothing was run"), "{}", r.all());
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
