//! Ctrl-C (SIGINT) to a real memreg: reports of an interrupted run say what ran
//! and that the rest did not ("not run", never NaN), exit 130 in the process and
//! in the JSON, and `memreg merge` reads them.

use crate::support::{case, parse_junit, Scratch};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn interrupt(child: &mut Child) -> i32 {
    // SAFETY: sending SIGINT to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let t = Instant::now();
    let status = child.wait().unwrap();
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    status.code().unwrap_or(-1)
}

/// Numbers that are not numbers, in any spelling a format might use.
fn assert_no_nan(what: &str, text: &str) {
    for bad in ["NaN", "nan ", "inf ", "inf)", "inf\"", "Infinity"] {
        assert!(!text.contains(bad), "{what} holds `{bad}`:\n{text}");
    }
}

#[test]
fn an_interrupted_run_reports_what_ran_and_not_run_for_the_rest() {
    let s = Scratch::new();
    s.write(
        "suite.yaml",
        "scenarios:\n  - name: quick\n    run: x = 1\n    iterations: 16\n    warmup: 0\n  - name: hangs\n    run: import time; time.sleep(600)\n    timeout: 300s\n  - name: never-started\n    run: x = 2\n    iterations: 16\n",
    );
    let mut child = s
        .command(&[
            "run",
            "suite.yaml",
            "--jobs",
            "1",
            "--baselines",
            "none",
            "--json",
            "r.json",
            "--junit",
            "r.xml",
            "--markdown",
            "r.md",
            "--html",
            "r.html",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Once `quick` is reported, `hangs` is running.
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let until = Instant::now() + Duration::from_secs(60);
    while !seen.contains("quick") && Instant::now() < until {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
    }
    assert!(seen.contains("quick"), "{seen}");
    std::thread::sleep(Duration::from_millis(300));
    let code = interrupt(&mut child);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let stdout = seen + &rest;
    assert_eq!(code, 130, "{stdout}");
    assert!(stdout.contains("1 passed, 2 not run"), "{stdout}");
    assert!(stdout.contains("NOT RUN"), "{stdout}");
    assert_no_nan("console", &stdout);

    let json = s.read("r.json");
    assert_no_nan("JSON", &json);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["interrupted"], true);
    assert_eq!(v["exit_code"], 130, "the process's exit code");
    assert_eq!(v["counts"]["passed"], 1);
    assert_eq!(v["counts"]["errored"], 0);
    assert_eq!(v["counts"]["not_run"], 2);
    let status: Vec<&str> = v["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["passed", "not_run", "not_run"]);

    let xml = s.read("r.xml");
    assert_no_nan("JUnit", &xml);
    let doc = parse_junit(&xml);
    for name in ["hangs", "never-started"] {
        let skipped = case(&doc, name)
            .children()
            .find(|n| n.has_tag_name("skipped"))
            .unwrap_or_else(|| panic!("{name} is skipped:\n{xml}"));
        assert_eq!(skipped.attribute("message"), Some("interrupted"));
    }
    let md = s.read("r.md");
    assert_no_nan("Markdown", &md);
    assert!(md.contains("| ⏹️ | never-started |"), "{md}");
    assert!(md.contains("not run: the run was interrupted"), "{md}");
    let html = s.read("r.html");
    assert_no_nan("HTML", &html);
    assert!(html.contains("not run"), "interrupted scenarios are marked");

    // The interrupted run's JSON merges, keeps its verdicts, and says so again.
    let r = s.memreg(&["merge", "r.json", "--json", "merged.json"]);
    assert_eq!(r.code, 130, "{}", r.all());
    assert!(r.stdout.contains("1 passed, 2 not run"), "{}", r.all());
    let merged: Value = serde_json::from_str(&s.read("merged.json")).unwrap();
    assert_eq!(merged["interrupted"], true);
    assert_eq!(merged["exit_code"], 130);
    assert_eq!(merged["scenarios"][1]["status"], "not_run");
}

#[test]
fn ctrl_c_while_explaining_a_failure_ends_the_run_as_interrupted() {
    let s = Scratch::new();
    let marks = s.path().join("setups");
    // Every process appends a line in setup: 5 measuring, then the attribution one.
    s.write(
        "leak.yaml",
        &format!(
            "name: leaky\nsetup: |\n  import time\n  open({marks:?}, 'a').write('x\\n')\n  L = []\nrun: |\n  L.append(object())\n  time.sleep(0.005)\niterations: 100\nwarmup: 10\n"
        ),
    );
    let mut child = s
        .command(&[
            "run",
            "leak.yaml",
            "--baselines",
            "none",
            "--json",
            "r.json",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    let setups = || {
        std::fs::read_to_string(&marks)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    while setups() < 6 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(setups(), 6, "the attribution process started");
    let code = interrupt(&mut child);
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    assert_eq!(code, 130, "{stdout}");
    let v: Value = serde_json::from_str(&s.read("r.json")).unwrap();
    assert_eq!(v["interrupted"], true);
    assert_eq!(v["exit_code"], 130);
    // The verdict was known before the interruption and stands.
    assert_eq!(v["scenarios"][0]["status"], "failed");
    assert_eq!(v["scenarios"][0]["attribution"], Value::Null);
    assert!(
        stdout.contains("interrupted: results are incomplete"),
        "{stdout}"
    );
}
