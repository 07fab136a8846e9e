//! Stop signals and descendants: SIGINT, SIGTERM and SIGHUP stop a run promptly and
//! leave nothing behind; no descendant of a scenario process outlives it, even one
//! that left its process group and session.
//!
//! Linux: the checks read /proc, and reaping descendants that left the process
//! group needs a child subreaper.
#![cfg(target_os = "linux")]

use crate::support::{case, parse_junit, survivors_after_a_moment, Scratch};
use std::time::{Duration, Instant};

/// Python that starts, from the scenario's setup: a grandchild in the process
/// group, a child in a session of its own, and a double-forked daemon (setsid, then
/// the middle process exits so the daemon is orphaned at once).
const DESCENDANTS: &str = r#"import os, subprocess, sys, time
      subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
      subprocess.Popen([sys.executable, "-c", "import time; time.sleep(601)"], start_new_session=True)
      if os.fork() == 0:
          os.setsid()
          if os.fork() == 0:
              time.sleep(602)
          os._exit(0)"#;

fn stop_with(signal: i32, code: i32) {
    let s = Scratch::new();
    let ready = s.path().join("ready");
    s.write(
        "stop.yaml",
        &format!(
            r#"scenarios:
  - name: quick
    run: pass
    iterations: 100
    processes: 2
  - name: hang
    setup: |
      {DESCENDANTS}
      open({ready:?} + str(os.getpid()), "w").close()
    run: import time; time.sleep(600)
    timeout: 300s
    processes: 2
"#
        ),
    );
    let (mut cmd, mark) = s.marked(&[
        "run",
        "stop.yaml",
        "--jobs",
        "2",
        "--junit",
        "j.xml",
        "--json",
        "r.json",
    ]);
    let mut memreg = cmd.stdout(std::process::Stdio::null()).spawn().unwrap();
    let session = memreg.id() as i32;
    let until = Instant::now() + Duration::from_secs(30);
    while std::fs::read_dir(s.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("ready"))
        .count()
        < 2
    {
        assert!(Instant::now() < until, "both hanging processes start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = Instant::now();
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(memreg.id() as i32, signal) };
    let status = memreg.wait().unwrap();
    let took = sent.elapsed();
    eprintln!("signal {signal}: memreg exited {status:?} after {took:?}");
    assert_eq!(status.code(), Some(code));
    // Under 1 s plus the 0.5 s grace period; a shared CI machine gets some slack.
    assert!(took < Duration::from_secs(3), "stopped promptly: {took:?}");
    let left = survivors_after_a_moment(&mark, Some(session));
    assert!(left.is_empty(), "left running: {left:#?}");
    let tmp: Vec<_> = std::fs::read_dir(s.path().join("tmp")).unwrap().collect();
    assert!(tmp.is_empty(), "work directory left behind: {tmp:?}");
    // The reports of what finished are written.
    let xml = s.read("j.xml");
    let doc = parse_junit(&xml);
    assert!(case(&doc, "quick")
        .children()
        .all(|n| !n.has_tag_name("failure") && !n.has_tag_name("error")));
    let json: serde_json::Value = serde_json::from_str(&s.read("r.json")).unwrap();
    assert_eq!(json["interrupted"], true);
    assert_eq!(json["scenarios"][0]["status"], "passed");
}

#[test]
fn sigterm_stops_everything_promptly_and_exits_143() {
    stop_with(libc::SIGTERM, 143);
}

#[test]
fn sighup_stops_everything_promptly_and_exits_129() {
    stop_with(libc::SIGHUP, 129);
}

#[test]
fn ctrl_c_stops_everything_promptly_and_exits_130() {
    stop_with(libc::SIGINT, 130);
}

#[test]
fn descendants_that_leave_the_process_group_are_killed_and_named() {
    let s = Scratch::new();
    // The daemon keeps the output pipe open: it used to cost 2 s per process and
    // the output ("output unavailable").
    s.write(
        "d.yaml",
        &format!(
            r#"name: daemon
setup: |
      {DESCENDANTS}
      print("setup done")
run: pass
teardown: raise RuntimeError("to see the output")
iterations: 100
processes: 3
"#
        ),
    );
    let (mut cmd, mark) = s.marked(&["run", "d.yaml", "--jobs", "3", "--json", "r.json"]);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let left = survivors_after_a_moment(&mark, None);
    assert!(left.is_empty(), "left running: {left:#?}");
    let json: serde_json::Value = serde_json::from_str(&s.read("r.json")).unwrap();
    let output = json["scenarios"][0]["output"].as_str().unwrap();
    assert!(output.contains("setup done"), "{output}");
    assert!(!output.contains("output unavailable"), "{output}");
    assert!(
        output.contains("left processes running when it ended (memreg killed them)"),
        "{output}"
    );
    assert!(output.contains("time.sleep(601)"), "{output}");
}

#[test]
fn a_clean_scenario_that_leaves_a_daemon_passes_with_a_note() {
    let s = Scratch::new();
    s.write(
        "d.yaml",
        &format!(
            "name: daemon\nsetup: |\n      {DESCENDANTS}\nrun: pass\niterations: 100\nprocesses: 2\n"
        ),
    );
    let (mut cmd, mark) = s.marked(&["run", "d.yaml", "--json", "r.json"]);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("note: left processes running when it ended (memreg killed them)"),
        "{stdout}"
    );
    let json: serde_json::Value = serde_json::from_str(&s.read("r.json")).unwrap();
    let notes = json["scenarios"][0]["notes"].to_string();
    assert!(notes.contains("time.sleep(601)"), "{notes}");
    let left = survivors_after_a_moment(&mark, None);
    assert!(left.is_empty(), "left running: {left:#?}");
}

#[test]
fn a_signal_during_attribution_ends_the_run_as_interrupted() {
    let s = Scratch::new();
    let ready = s.path().join("explaining");
    // The attribution process (probe mode `attribute`) of this leak hangs in setup.
    s.write(
        "leak.yaml",
        &format!(
            r#"name: leak
setup: |
  import sys, time
  L = []
  if sys.argv[2] == "attribute":
      open({ready:?}, "w").close()
      time.sleep(600)
run: L.append(object())
iterations: 100
"#
        ),
    );
    let (mut cmd, mark) = s.marked(&["run", "leak.yaml", "--json", "r.json"]);
    let mut memreg = cmd.stdout(std::process::Stdio::null()).spawn().unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    while !ready.exists() {
        assert!(Instant::now() < until, "attribution starts");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(memreg.id() as i32, libc::SIGTERM) };
    let status = memreg.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    let json: serde_json::Value = serde_json::from_str(&s.read("r.json")).unwrap();
    assert_eq!(json["interrupted"], true);
    assert_eq!(
        json["scenarios"][0]["status"], "failed",
        "the leak found stays"
    );
    let left = survivors_after_a_moment(&mark, None);
    assert!(left.is_empty(), "left running: {left:#?}");
}

#[test]
fn a_scenarios_daemon_lives_while_other_scenarios_processes_end_beside_it() {
    let s = Scratch::new();
    // `uses-daemon` orphans a daemon (double fork) and needs it alive in every
    // iteration, while `quick` processes end beside it and are swept: a sweep must
    // not take a live scenario's orphan for a leftover.
    s.write(
        "jobs.yaml",
        r#"scenarios:
  - name: uses-daemon
    setup: |
      import os, time
      r, w = os.pipe()
      middle = os.fork()
      if middle == 0:
          os.setsid()
          pid = os.fork()
          if pid == 0:
              time.sleep(600)
              os._exit(0)
          os.write(w, str(pid).encode())
          os._exit(0)
      os.waitpid(middle, 0)
      daemon = int(os.read(r, 32))
    run: |
      os.kill(daemon, 0)
      time.sleep(0.002)
    iterations: 300
    warmup: 0
    processes: 2
  - name: quick
    run: pass
    iterations: 16
    warmup: 0
    processes: 12
"#,
    );
    let (mut cmd, mark) = s.marked(&["run", "jobs.yaml", "--jobs", "3", "--json", "r.json"]);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&s.read("r.json")).unwrap();
    assert_eq!(json["scenarios"][0]["status"], "passed", "{stdout}");
    let left = survivors_after_a_moment(&mark, None);
    assert!(left.is_empty(), "left running: {left:#?}");
}

/// An orphan of the scenario's code is adopted by the scenario process itself (a
/// subreaper the probe makes of itself before any scenario code runs), not by memreg
/// or init: what README promises ("os.getppid() of an orphaned descendant is the
/// scenario process").
#[cfg(target_os = "linux")]
#[test]
fn an_orphan_is_adopted_by_its_scenario_process() {
    let s = Scratch::new();
    s.write(
        "orphan.yaml",
        r#"name: adopted
setup: |
  import os, time
  r, w = os.pipe()
  middle = os.fork()
  if middle == 0:
      if os.fork() == 0:
          parent = os.getppid()
          for _ in range(400):  # until the middle process has exited
              if os.getppid() != parent:
                  break
              time.sleep(0.005)
          os.write(w, str(os.getppid()).encode())
          os._exit(0)
      os._exit(0)
  os.waitpid(middle, 0)
  adopter = int(os.read(r, 32))
  assert adopter == os.getpid(), "adopted by %d, not the scenario process %d" % (adopter, os.getpid())
run: pass
iterations: 16
warmup: 0
"#,
    );
    let r = s.memreg(&["run", "orphan.yaml", "--json", "r.json"]);
    assert_eq!(r.code, 0, "{}", r.all());
}
