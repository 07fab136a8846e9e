//! The compile check's results kept across runs (src/probe/cache.rs): later runs
//! use them, a changed scenario is compiled again, a corrupt cache is rebuilt,
//! concurrent runs share one cache, and code compiled under other flags is not used.

use crate::support::Scratch;

const FAST: &str = "iterations: 100\nwarmup: 10\n";

fn cache_files(s: &Scratch) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&s.path().join(".cache"), &mut out);
    out.sort();
    out
}

#[test]
fn a_cached_check_uses_changed_code_and_survives_a_corrupt_cache() {
    let s = Scratch::new();
    s.write("c.yaml", &format!("name: c\nrun: x = 1\n{FAST}"));
    let r = s.memreg(&["run", "c.yaml"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let files = cache_files(&s);
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    assert!(
        names.iter().any(|n| n.ends_with("/entry.json")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.contains("/code/")), "{names:?}");
    let r = s.memreg(&["run", "c.yaml"]);
    assert_eq!(r.code, 0, "{}", r.all());

    // Changed code runs as changed, not as cached.
    s.write(
        "c.yaml",
        &format!("name: c\nrun: raise RuntimeError('the changed code ran')\n{FAST}"),
    );
    let r = s.memreg(&["run", "c.yaml"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("the changed code ran"), "{}", r.all());

    // Every cached file overwritten with garbage: ignored, and rebuilt.
    for f in cache_files(&s) {
        std::fs::write(&f, b"\x00garbage\xff").unwrap();
    }
    let r = s.memreg(&["run", "c.yaml"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("the changed code ran"), "{}", r.all());
    let entry = cache_files(&s)
        .into_iter()
        .find(|p| p.ends_with("entry.json"))
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(entry).unwrap())
        .expect("the entry was written again");
    assert_eq!(json["format"], 1);

    // A SyntaxError is still found before anything runs.
    s.write("c.yaml", &format!("name: c\nrun: x = (\n{FAST}"));
    let r = s.memreg(&["run", "c.yaml"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.all().contains("c.yaml:2"), "{}", r.all());
}

#[test]
fn concurrent_runs_share_one_cache() {
    let s = Scratch::new();
    s.write(
        "c.yaml",
        "scenarios:\n  - {name: a, run: x = 1, iterations: 100, warmup: 10}\n  - {name: b, setup: import json, run: json.dumps(1), iterations: 100, warmup: 10}\n",
    );
    let children: Vec<_> = (0..3)
        .map(|_| {
            s.command(&["run", "c.yaml", "--jobs", "1"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        let r = crate::support::Run::from(out);
        assert_eq!(r.code, 0, "{}", r.all());
    }
    let r = s.memreg(&["run", "c.yaml"]);
    assert_eq!(r.code, 0, "{}", r.all());
}

/// The check compiles without -O; a scenario run under PYTHONOPTIMIZE must not get
/// that code (its asserts would still be there): the probe compiles it itself.
#[test]
fn code_compiled_under_other_flags_is_not_used() {
    let s = Scratch::new();
    s.write(
        "o.yaml",
        &format!("name: o\nrun: assert False, 'asserts are compiled out under -O'\nenv: {{PYTHONOPTIMIZE: 1}}\n{FAST}"),
    );
    for _ in 0..2 {
        let r = s.memreg(&["run", "o.yaml"]);
        assert_eq!(r.code, 0, "{}", r.all());
    }
}
