//! CI pipelines: shards, merging their results, and baseline candidates applied as
//! untrusted input.

use crate::support::{parse_junit, Scratch};
use serde_json::Value;

fn suite(n: usize) -> String {
    let mut s = String::from("scenarios:\n");
    for i in 0..n {
        if i % 3 == 1 {
            s.push_str(&format!("  - name: s{i}\n    setup: L = []\n    run: L.append(object())\n    iterations: 50\n"));
        } else {
            s.push_str(&format!(
                "  - name: s{i}\n    run: x = {i}\n    iterations: 16\n"
            ));
        }
    }
    s
}

#[test]
fn every_scenario_lands_in_exactly_one_shard() {
    let s = Scratch::new();
    s.write("scenarios/suite.yaml", &suite(7));
    for n in 1..=4 {
        let mut seen: Vec<String> = Vec::new();
        for k in 1..=n {
            let out = format!("shard-{k}-of-{n}.json");
            let r = s.memreg(&[
                "run",
                "--shard",
                &format!("{k}/{n}"),
                "--json",
                &out,
                "--no-attribution",
                "-j2",
            ]);
            assert!(r.code == 0 || r.code == 1, "{}", r.all());
            seen.extend(crate::support::statuses(&s.read(&out)).into_keys());
        }
        seen.sort();
        let want: Vec<String> = (0..7).map(|i| format!("s{i}")).collect::<Vec<_>>();
        let mut want_sorted = want.clone();
        want_sorted.sort();
        assert_eq!(seen, want_sorted, "N={n}: each scenario exactly once");
    }
    // More shards than scenarios: the empty shard passes and still writes its report.
    s.write("scenarios/suite.yaml", &suite(2));
    let r = s.memreg(&["run", "--shard", "3/3", "--json", "empty.json"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(crate::support::statuses(&s.read("empty.json")).is_empty());
    assert_eq!(s.memreg(&["run", "--shard", "0/3"]).code, 2);
    assert_eq!(s.memreg(&["run", "--shard", "4/3"]).code, 2);
}

#[test]
fn merging_shards_gives_the_verdicts_of_the_unsharded_run() {
    let s = Scratch::new();
    s.write("scenarios/suite.yaml", &suite(6));
    let whole = s.memreg(&["run", "--json", "whole.json", "--no-attribution"]);
    assert_eq!(whole.code, 1, "{}", whole.all());
    for k in 1..=3 {
        s.memreg(&[
            "run",
            "--shard",
            &format!("{k}/3"),
            "--json",
            &format!("part{k}.json"),
            "--no-attribution",
        ]);
    }
    let merged = s.memreg(&[
        "merge",
        "part1.json",
        "part2.json",
        "part3.json",
        "--junit",
        "merged.xml",
        "--json",
        "merged.json",
        "--markdown",
        "merged.md",
    ]);
    assert_eq!(merged.code, whole.code, "{}", merged.all());
    assert_eq!(
        crate::support::statuses(&s.read("merged.json")),
        crate::support::statuses(&s.read("whole.json"))
    );
    let xml = s.read("merged.xml");
    let doc = parse_junit(&xml);
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert_eq!(cases, 6, "{xml}");
    let failures = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert_eq!(failures, 2, "s1 and s4 leak");
    assert!(s
        .read("merged.md")
        .contains("6 scenarios: 4 passed, 2 failed"));
    // Overlapping shards and foreign files are refused.
    let r = s.memreg(&["merge", "part1.json", "part1.json"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("is also in part1.json (do the shards overlap?)"),
        "{}",
        r.all()
    );
    s.write("bogus.json", "{\"format\": 9}");
    let r = s.memreg(&["merge", "bogus.json"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("bogus.json: report format 9"),
        "{}",
        r.all()
    );
}

const ONE: &str =
    "name: holder\nsetup: data = [bytes(1000) for _ in range(100)]\nrun: x = 1\niterations: 50\n";

#[test]
fn candidates_from_a_run_apply_as_baselines() {
    let s = Scratch::new();
    s.write("scenarios/a.yaml", ONE);
    let r = s.memreg(&["run", "--write-candidates", "candidates"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(s.path().join("candidates/holder.json").is_file());
    assert!(
        !s.path().join("baselines").exists(),
        "a run writes no baseline"
    );
    let r = s.memreg(&["baseline", "apply", "candidates"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("| holder | held_native | - -> "),
        "{}",
        r.all()
    );
    let stored = s.read("baselines/holder.json");
    let r = s.memreg(&["baseline", "apply", "candidates"]);
    assert!(
        r.stdout.contains("No baseline changed meaningfully"),
        "{}",
        r.all()
    );
    assert_eq!(s.read("baselines/holder.json"), stored);
    assert_eq!(s.memreg(&["run"]).code, 0);
}

#[test]
fn apply_refuses_untrusted_candidates_and_writes_nothing() {
    let s = Scratch::new();
    s.write("scenarios/a.yaml", ONE);
    assert_eq!(s.memreg(&["run", "--write-candidates", "good"]).code, 0);
    let good = s.read("good/holder.json");
    let refuse = |setup: &dyn Fn(&std::path::Path), want: &str| {
        let dir = s.path().join("bad");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        setup(&dir);
        let r = s.memreg(&["baseline", "apply", "bad"]);
        assert_eq!(r.code, 2, "{want}: {}", r.all());
        assert!(r.stderr.contains(want), "want `{want}`:\n{}", r.all());
        assert!(!s.path().join("baselines").exists(), "nothing written");
    };
    refuse(
        &|d| std::fs::write(d.join("other.json"), &good).unwrap(),
        "not the baseline file of any known scenario",
    );
    refuse(
        &|d| {
            std::fs::write(
                d.join("holder.json"),
                good.replace("\"scenario\": \"holder\"", "\"scenario\": \"../../x\""),
            )
            .unwrap()
        },
        "holds scenario `../../x`, expected `holder`",
    );
    refuse(
        &|d| {
            std::os::unix::fs::symlink(s.path().join("good/holder.json"), d.join("holder.json"))
                .unwrap()
        },
        "is a symbolic link (refused)",
    );
    refuse(
        &|d| std::fs::create_dir(d.join("holder.json")).unwrap(),
        "not a regular file (refused)",
    );
    refuse(
        &|d| std::fs::write(d.join("holder.json"), " ".repeat(5 << 20)).unwrap(),
        "larger than",
    );
    refuse(
        &|d| {
            std::fs::write(
                d.join("holder.json"),
                good.replace("\"format\": 1", "\"format\": 2"),
            )
            .unwrap()
        },
        "baseline format 2",
    );
    refuse(
        &|d| {
            std::fs::write(
                d.join("holder.json"),
                good.replacen(
                    "\"environments\": {",
                    "\"extra\": 1, \"environments\": {",
                    1,
                ),
            )
            .unwrap()
        },
        "unknown field `extra`",
    );
    refuse(
        &|d| {
            std::fs::write(
                d.join("holder.json"),
                good.replace("\"held_native\"", "\"owned_by_attacker\""),
            )
            .unwrap()
        },
        "unknown figure `owned_by_attacker`",
    );
    refuse(
        &|d| {
            let v: Value = serde_json::from_str(&good).unwrap();
            let env = v["environments"]
                .as_object()
                .unwrap()
                .keys()
                .next()
                .unwrap()
                .clone();
            std::fs::write(d.join("holder.json"), good.replace(&env, "../Evil Env")).unwrap()
        },
        "invalid environment key",
    );
}

#[test]
fn the_actions_outputs_count_passed_leaked_regressed_and_errored() {
    let s = Scratch::new();
    s.write("scenarios/a.yaml", ONE);
    assert_eq!(s.memreg(&["baseline", "update"]).code, 0);
    s.write("scenarios/a.yaml", &ONE.replace("range(100)", "range(400)"));
    s.write(
        "scenarios/b.yaml",
        "scenarios:\n  - name: ok\n    run: x = 1\n    iterations: 16\n  - name: leak\n    setup: L = []\n    run: L.append(object())\n    iterations: 50\n  - name: boom\n    run: raise KeyError(1)\n    processes: 1\n",
    );
    let r = s.memreg(&["run", "--json", "report.json", "--no-attribution"]);
    assert_eq!(r.code, 1, "{}", r.all());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/.github/actions/memreg/outputs.py"
    );
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(s.path().join("report.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text, "passed=1\nleaked=1\nregressed=1\nerrored=1\n",
        "holder regressed, ok passed, leak leaked, boom errored"
    );
}
