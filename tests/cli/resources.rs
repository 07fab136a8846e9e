//! Open file descriptors and live threads are counters like the memory ones, read by
//! default: a scenario that leaves a file, a socket or a thread behind per iteration
//! fails with the count per iteration, a clean one reads exactly zero.

use crate::support::{case, parse_junit, property, Scratch};

// Small windows keep these fast; looking longer (4x) still confirms the growth.
const LEAKS: &str = r#"scenarios:
  - name: file-kept
    setup: |
      import os
      files = []
    run: files.append(open(os.devnull))
  - name: raw-fd
    setup: import os
    run: os.open(os.devnull, os.O_RDONLY)
  - name: socket-pair
    setup: |
      import socket
      socks = []
    run: socks.append(socket.socketpair())
  - name: thread-blocked
    setup: |
      import threading
      stop = threading.Event()
    run: threading.Thread(target=stop.wait).start()
"#;

#[cfg(any(target_os = "linux", target_os = "macos"))]
#[test]
fn a_file_a_socket_or_a_thread_left_per_iteration_fails_with_the_count() {
    let s = Scratch::new();
    s.write(
        "leaks.yaml",
        &LEAKS.replace(
            "    setup:",
            "    iterations: 64\n    warmup: 4\n    setup:",
        ),
    );
    let r = s.memreg(&["run", "leaks.yaml", "--junit", "j.xml"]);
    assert_eq!(r.code, 1, "{}", r.all());
    let xml = s.read("j.xml");
    let doc = parse_junit(&xml);
    for (name, message) in [
        (
            "file-kept",
            "file descriptors grow 1 fd/iteration (5/5 processes agree",
        ),
        (
            "raw-fd",
            "file descriptors grow 1 fd/iteration (5/5 processes agree",
        ),
        (
            "socket-pair",
            "file descriptors grow 2 fds/iteration (5/5 processes agree",
        ),
        (
            "thread-blocked",
            "threads grow 1 thread/iteration (5/5 processes agree",
        ),
    ] {
        let c = case(&doc, name);
        let failure = c
            .children()
            .find(|n| n.has_tag_name("failure"))
            .unwrap_or_else(|| panic!("{name} fails:\n{}", r.stdout));
        let got = failure.attribute("message").unwrap();
        assert!(got.starts_with(message), "{name}: {got}");
        let body = failure.text().unwrap();
        assert!(body.contains("  hint: each iteration leaves"), "{body}");
    }
    // Exactly one per iteration in every process.
    for (name, counter, want) in [
        ("raw-fd", "fds", 1.0),
        ("socket-pair", "fds", 2.0),
        ("thread-blocked", "threads", 1.0),
    ] {
        for stat in ["min", "max"] {
            let v: f64 = property(case(&doc, name), &format!("growth.{counter}.{stat}"))
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(v, want, "{name} {counter}.{stat}");
        }
    }
    // A raw descriptor costs no memory: only the fd count fails.
    let raw = case(&doc, "raw-fd");
    assert_eq!(
        property(raw, "growth.blocks.agreeing").as_deref(),
        Some("0/5")
    );
    // The count columns appear because they moved.
    let header = r
        .stdout
        .lines()
        .find(|l| l.starts_with("SCENARIO"))
        .unwrap_or_default();
    assert!(
        header.contains("FDS/IT") && header.contains("THREADS/IT"),
        "{header}"
    );
}

#[cfg(any(target_os = "linux", target_os = "macos"))]
#[test]
fn files_opened_and_closed_and_threads_joined_read_exactly_zero() {
    let s = Scratch::new();
    s.write(
        "clean.yaml",
        r#"name: tidy
setup: |
  import os, socket, threading
  def work():
      pass
run: |
  with open(os.devnull) as f:
      f.read(1)
  a, b = socket.socketpair()
  a.close()
  b.close()
  t = threading.Thread(target=work)
  t.start()
  t.join()
iterations: 200
warmup: 20
"#,
    );
    let r = s.memreg(&["run", "clean.yaml", "--junit", "j.xml"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let xml = s.read("j.xml");
    let doc = parse_junit(&xml);
    let c = case(&doc, "tidy");
    for counter in ["fds", "threads"] {
        for stat in ["min", "max"] {
            let v = property(c, &format!("growth.{counter}.{stat}"))
                .unwrap_or_else(|| panic!("{counter} is read by default:\n{xml}"));
            assert_eq!(v.parse::<f64>().unwrap(), 0.0, "{counter}.{stat}");
        }
        assert_eq!(
            property(c, &format!("growth.{counter}.agreeing")).as_deref(),
            Some("0/5")
        );
    }
    // Counts that never moved take no room in the table.
    assert!(!r.stdout.contains("FDS/IT"), "{}", r.stdout);
}

#[test]
fn leaving_fds_out_of_metrics_opts_out() {
    let s = Scratch::new();
    s.write(
        "o.yaml",
        "name: pool\nsetup: import os\nrun: os.open(os.devnull, os.O_RDONLY)\nmetrics: [blocks, native]\niterations: 64\nwarmup: 4\n",
    );
    let r = s.memreg(&["run", "o.yaml", "--junit", "j.xml"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let xml = s.read("j.xml");
    assert!(property(case(&parse_junit(&xml), "pool"), "growth.fds.min").is_none());
}

/// Started with the common soft limit of 1,024 open files, a scenario that keeps a
/// file per iteration for 1,500 iterations reaches its verdict: memreg raised the
/// limit its processes inherit (src/child/limits.rs), instead of the scenario ending
/// in "Too many open files".
#[cfg(target_os = "linux")]
#[test]
fn a_descriptor_leak_past_1024_reaches_its_verdict_under_a_1024_soft_limit() {
    let mut hard = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit with a valid pointer.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut hard) },
        0
    );
    if hard.rlim_max != libc::RLIM_INFINITY && hard.rlim_max < 10_000 {
        eprintln!("skipped: the hard limit on open files is {}", hard.rlim_max);
        return;
    }
    let s = Scratch::new();
    s.write(
        "fds.yaml",
        "name: file-kept\nsetup: |\n  import os\n  files = []\nrun: files.append(open(os.devnull))\niterations: 1500\nwarmup: 10\n",
    );
    let mut cmd = s.command(&["run", "fds.yaml", "--junit", "j.xml"]);
    let memreg = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let out = {
        let mut sh = std::process::Command::new("sh");
        sh.arg("-c")
            .arg("ulimit -Sn 1024 && exec \"$0\" \"$@\"")
            .arg(memreg)
            .args(args)
            .current_dir(s.path());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => sh.env(k, v),
                None => sh.env_remove(k),
            };
        }
        cmd = sh;
        cmd.output().expect("sh runs")
    };
    let r = crate::support::Run::from(out);
    assert_eq!(r.code, 1, "{}", r.all());
    let xml = s.read("j.xml");
    let doc = parse_junit(&xml);
    let failure = case(&doc, "file-kept")
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap_or_else(|| panic!("file-kept fails:\n{}", r.all()));
    let message = failure.attribute("message").unwrap();
    assert!(
        message.starts_with("file descriptors grow 1 fd/iteration (5/5 processes agree"),
        "{message}"
    );
}
