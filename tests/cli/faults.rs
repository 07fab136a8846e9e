//! A scenario's fault is a result: an error for that scenario, the rest go on, and
//! no process is left behind.

use crate::support::{case, parse_junit, Scratch};
#[cfg(target_os = "linux")]
use std::time::{Duration, Instant};

#[cfg(target_os = "linux")]
fn process_alive(pid: i32) -> bool {
    // A zombie waiting for init to reap it is dead for our purposes.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

#[cfg(target_os = "linux")]
fn wait_gone(pid: i32) -> bool {
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        if !process_alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[cfg(target_os = "linux")]
fn error_of<'a>(doc: &'a roxmltree::Document<'a>, name: &str) -> (String, String) {
    let c = case(doc, name);
    let e = c
        .children()
        .find(|n| n.has_tag_name("error"))
        .unwrap_or_else(|| panic!("{name} must be an <error>"));
    (
        e.attribute("type").unwrap_or("").to_owned(),
        e.attribute("message").unwrap_or("").to_owned(),
    )
}

// Linux: reads /proc to check the grandchild, and the memory bomb relies on the RSS
// watch and RLIMIT_AS, which macOS does not enforce.
#[cfg(target_os = "linux")]
#[test]
fn every_fault_is_an_error_result_and_the_suite_goes_on() {
    let s = Scratch::new();
    let pidfile = s.path().join("grandchild.pid");
    s.write(
        "faults.yaml",
        &format!(
            r#"scenarios:
  - name: raises
    run: raise ValueError("boom")
    processes: 2
  - name: exits
    run: import sys; sys.exit(3)
    processes: 2
  - name: os-exit
    run: import os; os._exit(7)
    processes: 2
  - name: segfault
    run: import ctypes; ctypes.string_at(0)
    processes: 2
  - name: setup-fails
    setup: import no_such_module_anywhere
    run: pass
    processes: 2
  - name: teardown-fails
    run: pass
    teardown: raise KeyError("late")
    iterations: 16
    processes: 2
  - name: hangs
    setup: |
      import subprocess, sys
      p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
      open({pidfile:?}, "w").write(str(p.pid))
    run: import time; time.sleep(600)
    timeout: 1s
    processes: 1
  - name: memory-bomb
    run: |
      hog = []
      while True:
          hog.append(bytearray(64 * 2**20))
    memory_limit: 300 MiB
    processes: 2
  - name: survivor
    run: x = 1
    iterations: 100
"#
        ),
    );
    let started = Instant::now();
    let r = s.memreg(&["run", "faults.yaml", "--junit", "j.xml"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the suite must not hang"
    );
    let xml = s.read("j.xml");
    let doc = parse_junit(&xml);
    let expect = [
        ("raises", "exception", "ValueError: boom (in warmup)"),
        ("exits", "exit", "scenario called sys.exit(3) in warmup"),
        (
            "os-exit",
            "exit",
            "process exited with status 7 before reporting",
        ),
        ("segfault", "crash", "killed by signal 11 (SIGSEGV)"),
        (
            "setup-fails",
            "exception",
            "ModuleNotFoundError: No module named 'no_such_module_anywhere' (in setup)",
        ),
        (
            "teardown-fails",
            "exception",
            "KeyError: 'late' (in teardown)",
        ),
        (
            "hangs",
            "timeout",
            "timed out after 1.0s (process group killed)",
        ),
        ("memory-bomb", "memory-limit", "memory limit exceeded"),
    ];
    for (name, kind, message) in expect {
        let (t, m) = error_of(&doc, name);
        assert_eq!(t, kind, "{name}: {m}");
        assert!(m.contains(message), "{name}: `{m}` lacks `{message}`");
    }
    let survivor = case(&doc, "survivor");
    assert!(survivor
        .children()
        .all(|n| !n.has_tag_name("error") && !n.has_tag_name("failure")));
    assert!(r.stdout.contains("1 passed, 8 errored"), "{}", r.all());
    // The segfault's Python stack (faulthandler) is in the captured output.
    let seg = case(&doc, "segfault");
    let out = seg
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .and_then(|n| n.text())
        .unwrap_or("");
    assert!(out.contains("Segmentation fault"), "{out}");
    // The grandchild of the hung scenario went down with its group.
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(wait_gone(pid), "grandchild {pid} survived the timeout");
}

#[test]
fn a_flood_of_output_is_bounded_and_the_junit_stays_valid() {
    let s = Scratch::new();
    s.write(
        "flood.yaml",
        "name: flood\nrun: |\n  import sys\n  for i in range(300000):\n      print('\\x1b[31mred\\x1b[0m ]]> <x> & \\x00 \\x07 line', i)\n  raise RuntimeError('after flood')\niterations: 16\nwarmup: 0\nprocesses: 1\n",
    );
    let r = s.memreg(&["run", "flood.yaml", "--junit", "j.xml"]);
    assert_eq!(r.code, 1, "{}", &r.stdout[..r.stdout.len().min(3000)]);
    assert!(
        r.stdout.len() < 20_000,
        "console output must be bounded: {} bytes",
        r.stdout.len()
    );
    assert!(r.stdout.contains("lines left out"), "{}", r.stdout);
    let xml = s.read("j.xml");
    assert!(
        xml.len() < 64 * 1024,
        "JUnit must be bounded: {} bytes",
        xml.len()
    );
    assert!(!xml.contains('\u{1b}') && !xml.contains('\0') && !xml.contains('\u{7}'));
    let doc = parse_junit(&xml);
    let c = case(&doc, "flood");
    let out = c
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .and_then(|n| n.text())
        .unwrap();
    assert!(out.contains("red ]]> <x> &"), "{out}");
    assert!(out.contains("bytes left out"), "{out}");
    assert!(out.contains("line 299999"), "the end of the output is kept");
}
