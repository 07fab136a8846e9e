//! Scenario code cannot change the measurement: what it patches, forks, starts or
//! changes directory to does not hide a leak, reach the record, or cost the source
//! lines. Interpreters the probe cannot run on are refused upfront.

use crate::support::Scratch;
use serde_json::Value;

#[test]
fn a_setup_that_patches_the_probes_functions_does_not_hide_a_leak() {
    let s = Scratch::new();
    // Each patch would hide `L.append(object())` from a probe that looked its
    // functions up after setup: no block counted, the list emptied at every
    // collection, the body never run.
    s.write(
        "patched.yaml",
        r#"scenarios:
  - name: getallocatedblocks
    setup: |
      import sys
      L = []
      sys.getallocatedblocks = lambda: 0
    run: L.append(object())
  - name: gc-collect
    setup: |
      import gc
      L = []
      gc.collect = lambda *a: L.clear() or 0
      gc.freeze = gc.unfreeze = lambda: None
    run: L.append(object())
  - name: builtins-exec
    setup: |
      import builtins
      L = []
      builtins.exec = lambda *a, **k: None
    run: L.append(object())
  - name: time-and-os
    setup: |
      import os, time
      L = []
      time.perf_counter = lambda: 0.0
      os.replace = os.write = lambda *a: None
    run: L.append(object())
"#,
    );
    let r = s.memreg(&[
        "run",
        "patched.yaml",
        "--no-attribution",
        "--json",
        "r.json",
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    let json: Value = serde_json::from_str(&s.read("r.json")).unwrap();
    for sc in json["scenarios"].as_array().unwrap() {
        let name = sc["name"].as_str().unwrap();
        assert_eq!(sc["status"], "failed", "{name}: {}", r.all());
        let blocks = &sc["analysis"]["counters"][0];
        assert_eq!(blocks["metric"], "blocks", "{name}");
        assert_eq!(blocks["median"], 1.0, "{name}: one block per iteration");
        assert_eq!(blocks["agreeing"], 5, "{name}");
    }
    // The body's time is real time, not the patched clock's.
    let t = &json["scenarios"][3]["time_per_iteration"]["median"];
    assert!(t.as_f64().unwrap() > 0.0, "{t}");
}

#[test]
fn forks_and_subprocesses_of_a_scenario_cannot_write_its_record() {
    let s = Scratch::new();
    // A fork that returns into the probe would measure and send a record of its
    // own; a program started with close_fds=False would find the record's file
    // descriptor (its number is the probe's argv[4]) open and write into it.
    s.write(
        "forks.yaml",
        r#"scenarios:
  - name: fork-returns-into-the-probe
    setup: |
      import os
      if os.fork() == 0:
          pass
    run: pass
    iterations: 100
    processes: 2
  - name: child-inherits-every-descriptor
    setup: |
      import subprocess, sys
      fd = int(sys.argv[4])
      subprocess.run([sys.executable, "-c", "import os; os.write(%d, b'{junk')" % fd],
                     close_fds=False, stderr=subprocess.DEVNULL)
    run: pass
    iterations: 100
    processes: 2
"#,
    );
    let r = s.memreg(&["run", "forks.yaml", "--json", "r.json"]);
    assert_eq!(r.code, 0, "{}", r.all());
    for (name, status) in crate::support::statuses(&s.read("r.json")) {
        assert_eq!(status, "passed", "{name}: {}", r.all());
    }
}

#[test]
fn after_chdir_tracebacks_and_attribution_keep_their_source_lines() {
    let s = Scratch::new();
    s.write(
        "cd/chdir.yaml",
        r#"scenarios:
  - name: raises
    setup: |
      import os
      os.chdir("/")
    run: |
      raise ValueError("where is my source")
    iterations: 16
    processes: 1
  - name: leaks
    setup: |
      import os
      L = []
      os.chdir("/")
    run: |
      L.append({"x": 1})
    iterations: 200
"#,
    );
    let r = s.memreg(&["run", "cd", "--json", "r.json"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout
            .contains("File \"cd/chdir.yaml\", line 7, in <module>\n      raise ValueError"),
        "{}",
        r.all()
    );
    let json: Value = serde_json::from_str(&s.read("r.json")).unwrap();
    let site = &json["scenarios"][1]["attribution"]["Ok"]["sites"][0];
    assert_eq!(site["file"], "cd/chdir.yaml", "{site}");
    assert_eq!(site["line"], 16, "{site}");
    let frame = site["traceback"].as_array().unwrap().last().unwrap();
    assert_eq!(frame["source"], "L.append({\"x\": 1})", "{site}");
}

/// An interpreter that reports `version` as its own: python3 with
/// `sys.version_info` replaced before memreg's bootstrap runs.
fn pretending(s: &Scratch, version: &str) -> String {
    let path = s.write(
        "old/python",
        &format!(
            "#!/bin/sh\n[ \"$1\" = -S ] && shift\nshift\nexec python3 -S -c 'import sys; sys.version_info = ({version}); exec(sys.argv.pop(1))' \"$@\"\n"
        ),
    );
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path.display().to_string()
}

fn refuses(s: &Scratch, python: &str, found: &str) {
    let r = s.memreg(&["run", "a.yaml", "--python", python]);
    assert_eq!(r.code, 2, "{}", r.all());
    let want = format!("{python}: memreg needs Python >= 3.8, found Python {found}");
    assert!(r.stderr.contains(&want), "{want}\n{}", r.all());
    assert!(r.stderr.contains("nothing was run"), "{}", r.all());
}

#[test]
fn interpreters_older_than_3_8_are_refused_upfront_with_their_version() {
    let s = Scratch::new();
    s.write("a.yaml", "run: pass\n");
    let fake = pretending(&s, "3, 7, 16");
    refuses(&s, &fake, "3.7.16");
    // The real ones, where this machine has them (the bootstrap's first lines must
    // run on Python 2.7 far enough to say so).
    let mut found = 0;
    for (version, python) in [
        ("2.7.18", "/root/.pyenv/versions/2.7.18/bin/python"),
        ("3.6.15", "/root/.pyenv/versions/3.6.15/bin/python"),
        ("3.7.16", "/root/.pyenv/versions/3.7.16/bin/python"),
    ] {
        if std::path::Path::new(python).is_file() {
            refuses(&s, python, version);
            found += 1;
        }
    }
    eprintln!("{found} real interpreters older than 3.8 checked");
}
