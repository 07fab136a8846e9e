//! The console: a line per scenario as soon as its verdict is known (in a pipe, as
//! a CI log reads it, and in a real terminal), a table that fits the width, small
//! rates that do not read as zero, and nothing a scenario prints reaching the
//! terminal as an escape sequence.

use crate::support::Scratch;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Display columns of a line (the scenarios here use narrow characters only, and
/// `…`).
fn columns(line: &str) -> usize {
    line.chars().count()
}

#[test]
fn each_verdict_is_printed_as_soon_as_it_is_known_then_the_table() {
    let s = Scratch::new();
    s.write(
        "suite.yaml",
        "scenarios:\n  - name: quick\n    run: x = 1\n    iterations: 16\n    warmup: 0\n  - name: slow\n    run: import time; time.sleep(0.01)\n    iterations: 100\n    warmup: 0\n",
    );
    let mut child = s
        .command(&["run", "suite.yaml", "--jobs", "1", "--baselines", "none"])
        .env("COLUMNS", "80")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut lines: Vec<(Duration, String)> = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        lines.push((started.elapsed(), line.unwrap()));
    }
    let status = child.wait().unwrap();
    let end = started.elapsed();
    assert_eq!(status.code(), Some(0), "{lines:?}");
    let quick = lines
        .iter()
        .find(|(_, l)| l.trim_start().starts_with("ok [") && l.contains("quick"))
        .unwrap_or_else(|| panic!("a line for `quick`: {lines:?}"));
    // `slow` runs 5 processes of at least a second each after `quick` is done.
    assert!(
        end - quick.0 > Duration::from_secs(3),
        "`quick` printed at {:?}, run ended at {end:?}",
        quick.0
    );
    let table = lines
        .iter()
        .position(|(_, l)| l.starts_with("SCENARIO"))
        .expect("the table");
    let streamed: Vec<&String> = lines[..table]
        .iter()
        .map(|(_, l)| l)
        .filter(|l| l.contains(" ["))
        .collect();
    assert_eq!(streamed.len(), 2, "one line per scenario: {streamed:?}");
    assert!(streamed[1].contains("slow"));
    // Streamed lines and table rows fit; notes in a log stay whole for grep.
    for (_, l) in lines.iter().filter(|(_, l)| !l.starts_with("note: ")) {
        assert!(columns(l) <= 80, "wider than COLUMNS=80: `{l}`");
    }
}

#[test]
fn the_table_fits_the_width_and_uses_more_when_there_is_more() {
    let s = Scratch::new();
    s.write(
        "suite.yaml",
        "scenarios:\n  - name: json-roundtrip-of-a-large-payload-with-nested-records\n    run: x = [1, 2, 3]\n    iterations: 16\n  - name: module-cache\n    setup: L = []\n    run: L.append(object())\n    iterations: 100\n    expect: leak\n",
    );
    let run = |cols: &str| {
        let out = s
            .command(&["run", "suite.yaml", "--baselines", "none"])
            .env("COLUMNS", cols)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let narrow = run("80");
    for l in narrow.lines().filter(|l| !l.starts_with("note: ")) {
        assert!(columns(l) <= 80, "`{l}`\n{narrow}");
    }
    let header = narrow.lines().find(|l| l.starts_with("SCENARIO")).unwrap();
    assert!(!header.contains("RSS/IT"), "{narrow}");
    assert!(narrow.contains("left out to fit 80 columns"), "{narrow}");
    let row = narrow
        .lines()
        .find(|l| l.starts_with("json-roundtrip-o"))
        .unwrap();
    assert!(
        row.contains('…') && row.contains("-records "),
        "shortened in the middle: {narrow}"
    );
    let wide = run("200");
    let header = wide.lines().find(|l| l.starts_with("SCENARIO")).unwrap();
    for col in [
        "BLOCKS/IT",
        "NATIVE/IT",
        "RSS/IT",
        "PEAK",
        "TIME/IT",
        "RESULT",
    ] {
        assert!(header.contains(col), "{header}");
    }
    assert!(wide.contains("json-roundtrip-of-a-large-payload-with-nested-records  "));
    assert!(!wide.contains("left out"), "{wide}");
}

#[test]
fn a_slow_leak_reads_as_one_block_per_n_iterations_not_zero() {
    let s = Scratch::new();
    s.write(
        "slow.yaml",
        "name: slow-leak\nsetup: |\n  L = []\n  i = 0\nrun: |\n  i += 1\n  if i % 300 == 0:\n      L.append(object())\niterations: 6000\nwarmup: 0\n",
    );
    let r = s.memreg(&[
        "run",
        "slow.yaml",
        "--no-attribution",
        "--baselines",
        "none",
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("1 blk / 300 it"), "{}", r.all());
    assert!(
        r.stdout
            .contains("leak: Python blocks grows 1 blk per 300 iterations"),
        "{}",
        r.all()
    );
    assert!(!r.stdout.contains("0.00 blk"), "{}", r.all());
}

#[test]
fn escape_sequences_from_a_scenario_never_reach_the_terminal() {
    let s = Scratch::new();
    s.write(
        "evil.yaml",
        "name: evil\nrun: |\n  print('\\x1b]0;owned\\x07\\x1b[2J\\x1b[31mred')\n  raise ValueError('\\x1b[2Jcleared\\x00\\x07\\u202ereversed')\nprocesses: 1\n",
    );
    let r = s.memreg(&["run", "evil.yaml", "--baselines", "none"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("cleared"), "{}", r.all());
    for bad in ['\u{1b}', '\0', '\u{7}', '\u{202e}'] {
        assert!(
            !r.stdout.contains(bad),
            "{bad:?} reached stdout:\n{}",
            r.stdout
        );
    }
}

/// Runs `memreg run` in a detached tmux session of `width` columns and returns the
/// screen with wrapped lines joined (`capture-pane -J`), so a row that wrapped
/// reads as one line wider than the terminal.
fn in_tmux(s: &Scratch, width: u16, args: &str) -> Option<String> {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED: tmux not installed (apt-get install tmux)");
        return None;
    }
    let socket = s.path().join(format!("tmux-{width}.sock"));
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args(args)
            .env_remove("COLUMNS")
            .env("TERM", "xterm-256color")
            .output()
            .unwrap()
    };
    let done = s.path().join("done");
    let _ = std::fs::remove_file(&done);
    let cmd = format!(
        "cd {dir:?} && {bin:?} run {args} --color never; echo \"exit $?\" > {done:?}; sleep 60",
        dir = s.path(),
        bin = env!("CARGO_BIN_EXE_memreg"),
    );
    let w = width.to_string();
    let out = tmux(&[
        "new-session",
        "-d",
        "-x",
        &w,
        "-y",
        "60",
        "-s",
        "memreg",
        "env",
        "-u",
        "COLUMNS",
        "sh",
        "-c",
        &cmd,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let until = Instant::now() + Duration::from_secs(120);
    while !done.exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let screen = tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", "memreg"]);
    let _ = tmux(&["kill-server"]);
    assert!(done.exists(), "memreg did not finish in tmux");
    Some(String::from_utf8_lossy(&screen.stdout).into_owned())
}

#[test]
fn in_a_real_80_column_terminal_no_row_wraps() {
    let s = Scratch::new();
    s.write(
        "suite.yaml",
        "scenarios:\n  - name: bounded-lru-cache-of-parsed-configuration-objects\n    run: x = [1, 2, 3]\n    iterations: 100\n  - name: list-of-none\n    setup: L = []\n    run: L.append(None)\n    iterations: 400\n  - name: unbounded-module-cache\n    setup: L = []\n    run: L.append(object())\n    iterations: 100\n    expect: leak\n",
    );
    let Some(screen) = in_tmux(&s, 80, "suite.yaml --no-attribution --baselines none") else {
        return;
    };
    for l in screen.lines() {
        assert!(
            columns(l) <= 80,
            "a line wrapped at 80 columns: `{l}`\n{screen}"
        );
    }
    let streamed = screen.lines().filter(|l| l.contains("] ")).count();
    assert_eq!(streamed, 3, "one line per scenario:\n{screen}");
    assert!(screen.contains("LEAK"), "{screen}");
    assert!(
        screen
            .lines()
            .any(|l| l.starts_with("bounded-lru-cach") && l.contains("…")),
        "{screen}"
    );
    assert_eq!(s.read("done").trim(), "exit 1", "{screen}");
    // The progress line is gone once the run ends.
    assert!(!screen.contains("/15]"), "{screen}");
    // A wider terminal shows more.
    let Some(wide) = in_tmux(&s, 160, "suite.yaml --no-attribution --baselines none") else {
        return;
    };
    assert!(
        wide.contains("bounded-lru-cache-of-parsed-configuration-objects"),
        "{wide}"
    );
    assert!(wide.contains("RSS/IT"), "{wide}");
}
