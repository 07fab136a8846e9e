//! Whole runs on small clean and leaky scenarios with real Python.

use crate::support::{case, parse_junit, property, Scratch};

const FAST: &str = "iterations: 400\nwarmup: 50\n";

// Linux: RSS comes from /proc and the native heap from glibc's mallinfo2.
#[cfg(target_os = "linux")]
#[test]
fn pass_body_shows_exactly_zero_growth_on_every_counter_in_every_process() {
    let s = Scratch::new();
    s.write(
        "p.yaml",
        &format!(
            "name: nothing\nrun: pass\nmetrics: [blocks, native, rss, tracemalloc, fds, threads]\n{FAST}"
        ),
    );
    let r = s.memreg(&["run", "p.yaml", "--junit", "out/j.xml"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let xml = s.read("out/j.xml");
    let doc = parse_junit(&xml);
    let c = case(&doc, "nothing");
    for counter in ["blocks", "native", "rss", "tracemalloc", "fds", "threads"] {
        for stat in ["min", "max"] {
            let v = property(c, &format!("growth.{counter}.{stat}"))
                .unwrap_or_else(|| panic!("{counter}.{stat}"));
            assert_eq!(v.parse::<f64>().unwrap(), 0.0, "{counter}.{stat} in\n{xml}");
        }
        assert_eq!(
            property(c, &format!("growth.{counter}.agreeing")).as_deref(),
            Some("0/5")
        );
    }
}

#[test]
fn finds_an_8_byte_python_leak_and_a_64_byte_native_leak() {
    let s = Scratch::new();
    s.write(
        "leaks.yaml",
        &format!(
            "scenarios:\n  - name: list-of-none\n    setup: L = []\n    run: L.append(None)\n    {}\n  - name: native-64\n    setup: |\n      import ctypes\n      libc = ctypes.CDLL(None)\n      libc.malloc.restype = ctypes.c_void_p\n      libc.malloc.argtypes = [ctypes.c_size_t]\n    run: libc.malloc(64)\n    {}\n",
            "iterations: 2000", "iterations: 400"
        ),
    );
    let r = s.memreg(&["run", "leaks.yaml", "--junit", "j.xml"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("list-of-none"), "{}", r.all());
    assert!(r.stdout.contains("leak: native heap grows"), "{}", r.all());
    let xml = s.read("j.xml");
    let doc = parse_junit(&xml);
    for name in ["list-of-none", "native-64"] {
        let c = case(&doc, name);
        let failure = c
            .children()
            .find(|n| n.has_tag_name("failure"))
            .unwrap_or_else(|| panic!("{name} fails"));
        let message = failure.attribute("message").unwrap();
        // The type says "leak"; the message does not say it again.
        assert!(message.starts_with("native heap grows"), "{message}");
        assert!(message.contains("5/5 processes agree"), "{message}");
        // The body's first line is the sentence, said once.
        let body: Vec<&str> = failure.text().unwrap().lines().collect();
        assert_eq!(body[0], format!("leak: {message}"));
        assert!(!body[1].contains(message), "{body:?}");
    }
    let native: f64 = property(case(&doc, "native-64"), "growth.native.per_iteration")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (64.0..=96.0).contains(&native),
        "malloc(64) costs 64-80 bytes of heap: {native}"
    );
    let blocks: f64 = property(case(&doc, "list-of-none"), "growth.blocks.per_iteration")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        blocks, 0.0,
        "a list of None grows by realloc, not by blocks"
    );
}

#[test]
fn caches_that_fill_and_stop_are_not_leaks() {
    let s = Scratch::new();
    s.write(
        "caches.yaml",
        "scenarios:\n  - name: lru\n    setup: |\n      import functools, itertools\n      c = itertools.count()\n      @functools.lru_cache(maxsize=300)\n      def f(n): return str(n)\n    run: f(next(c))\n    iterations: 1000\n    warmup: 50\n  - name: regex\n    setup: |\n      import re, itertools\n      c = itertools.count()\n    run: re.compile(f'x{next(c) % 100}y')\n    iterations: 1000\n    warmup: 50\n",
    );
    let r = s.memreg(&["run", "caches.yaml"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("2 scenarios: 2 passed"), "{}", r.all());
}

#[test]
fn expect_leak_passes_on_a_leak_and_fails_without_one() {
    let s = Scratch::new();
    s.write(
        "a.yaml",
        &format!("name: leaky\nsetup: L = []\nrun: L.append(object())\nexpect: leak\n{FAST}"),
    );
    s.write(
        "b.yaml",
        &format!("name: clean\nrun: x = [1, 2, 3]\nexpect: leak\n{FAST}"),
    );
    let r = s.memreg(&["run", "a.yaml", "b.yaml", "--junit", "j.xml"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("ok (leak expected)"), "{}", r.all());
    assert!(r.stdout.contains("FAIL (no leak)"), "{}", r.all());
    let xml = s.read("j.xml");
    let doc = parse_junit(&xml);
    assert!(case(&doc, "leaky")
        .children()
        .all(|n| !n.has_tag_name("failure")));
    let f = case(&doc, "clean")
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert!(
        f.attribute("message").unwrap().contains("expected a leak"),
        "{xml}"
    );
}

#[test]
fn tolerance_lets_small_growth_pass() {
    let s = Scratch::new();
    s.write(
        "t.yaml",
        "name: t\nsetup: L = []\nrun: L.append(None)\ntolerance: 64 B\niterations: 2000\n",
    );
    let r = s.memreg(&["run", "t.yaml"]);
    assert_eq!(r.code, 0, "{}", r.all());
}

#[test]
fn select_with_k_runs_only_matching_scenarios() {
    let s = Scratch::new();
    s.write("a.yaml", &format!("name: alpha-one\nrun: pass\n{FAST}"));
    s.write("b.yaml", &format!("name: beta\nrun: pass\n{FAST}"));
    let r = s.memreg(&["run", ".", "-k", "ALPHA"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("alpha-one") && !r.stdout.contains("beta"),
        "{}",
        r.all()
    );
    let r = s.memreg(&["run", ".", "-k", "gamma"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no scenario name matches -k gamma"),
        "{}",
        r.all()
    );
}

#[test]
fn default_path_is_scenarios_dir_and_env_and_pythonpath_reach_the_code() {
    let s = Scratch::new();
    s.write("scenarios/lib/helper.py", "VALUE = 41\n");
    s.write(
        "scenarios/e.yaml",
        &format!("name: env\npythonpath: [lib]\nenv: {{MEMREG_X: 1}}\nsetup: |\n  import os, helper\n  assert os.environ['MEMREG_X'] == '1'\n  assert helper.VALUE == 41\nrun: pass\n{FAST}"),
    );
    let r = s.memreg(&["run"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("1 scenario: 1 passed"), "{}", r.all());
}

#[test]
fn tracebacks_name_the_yaml_line() {
    let s = Scratch::new();
    s.write(
        "tb.yaml",
        "name: tb\nsetup: |\n  x = 1\n  def f():\n      return 1 / 0\nrun: |\n  f()\n",
    );
    let r = s.memreg(&["run", "tb.yaml"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout.contains("File \"tb.yaml\", line 7, in <module>"),
        "{}",
        r.all()
    );
    assert!(
        r.stdout.contains("File \"tb.yaml\", line 5, in f"),
        "{}",
        r.all()
    );
    assert!(
        r.stdout
            .contains("ZeroDivisionError: division by zero (in warmup)"),
        "{}",
        r.all()
    );
}

#[test]
fn few_processes_make_growth_inconclusive_not_failing() {
    let s = Scratch::new();
    s.write(
        "i.yaml",
        &format!("name: few\nsetup: L = []\nrun: L.append(object())\nprocesses: 3\n{FAST}"),
    );
    let r = s.memreg(&["run", "i.yaml"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("inconclusive"), "{}", r.all());
    assert!(r.stdout.contains("all 3 processes grow"), "{}", r.all());
}

#[test]
fn example_scenarios_pass() {
    let s = Scratch::new();
    // Compared against the repository's committed baselines, as CI does.
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let baselines = concat!(env!("CARGO_MANIFEST_DIR"), "/baselines");
    let r = s.memreg(&["run", examples, "--jobs", "2", "--baselines", baselines]);
    assert_eq!(r.code, 0, "{}", r.all());
}
