//! The verdict core on real Python at default settings: caches that settle slowly
//! pass, memory outside malloc fails, RSS noise does not, held Python memory is
//! compared in bytes.

use crate::support::Scratch;
use serde_json::Value;

fn report(s: &Scratch, path: &str) -> Value {
    serde_json::from_str(&s.read(path)).unwrap()
}

fn scenario<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no scenario {name}"))
}

fn windows(sc: &Value) -> Vec<u64> {
    sc["process_details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["window"].as_u64().unwrap())
        .collect()
}

const PLATEAUS: &str = r#"scenarios:
  - name: lru-cache-5000
    setup: |
      import functools, itertools
      c = itertools.count()
      @functools.lru_cache(maxsize=5000)
      def f(n):
          return str(n) * 3
    run: f(next(c) % 5000)
  - name: deque-3000
    setup: |
      import collections, itertools
      c = itertools.count()
      d = collections.deque(maxlen=3000)
    run: d.append(next(c))
"#;

#[test]
fn caches_that_settle_after_the_window_pass_after_memreg_looks_longer() {
    let s = Scratch::new();
    s.write("plateaus.yaml", PLATEAUS);
    let r = s.memreg(&["run", "plateaus.yaml", "--json", "r.json"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let v = report(&s, "r.json");
    for name in ["lru-cache-5000", "deque-3000"] {
        let sc = scenario(&v, name);
        assert_eq!(sc["status"], "passed", "{name}");
        assert!(
            windows(sc).iter().all(|&w| w > 2000),
            "{name} grew in the first 2000 iterations, so every process looked longer: {:?}",
            windows(sc)
        );
    }
    assert!(
        r.stdout.contains(
            "lru-cache-5000: grew at first, then settled (Python blocks after about 4,800"
        ),
        "{}",
        r.stdout
    );
}

const OUTSIDE_MALLOC: &str = r#"scenarios:
  - name: mmap-page-per-iteration
    setup: |
      import ctypes
      libc = ctypes.CDLL(None)
      libc.mmap.restype = ctypes.c_void_p
      libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
      def leak():
          # An anonymous private mapping, touched and never unmapped: no malloc,
          # no Python object.
          p = libc.mmap(None, 4096, 3, 0x22, -1, 0)
          ctypes.memset(p, 1, 1)
    run: leak()
"#;

#[cfg(target_os = "linux")]
#[test]
fn a_page_per_iteration_outside_malloc_fails_through_rss() {
    let s = Scratch::new();
    s.write("mmap.yaml", OUTSIDE_MALLOC);
    let r = s.memreg(&["run", "mmap.yaml", "--json", "r.json", "--no-attribution"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout.contains(
            "leak: RSS (memory outside the Python and C heaps) grows 4.0 KiB/iteration (1 page/iteration) (5/5 processes agree"
        ),
        "{}",
        r.stdout
    );
    let v = report(&s, "r.json");
    let sc = scenario(&v, "mmap-page-per-iteration");
    let counters = sc["analysis"]["counters"].as_array().unwrap();
    let by = |m: &str| counters.iter().find(|c| c["metric"] == m).unwrap();
    assert_eq!(by("rss")["finding"], "confirmed");
    assert_eq!(by("blocks")["leak"], false);
    assert_eq!(by("native")["leak"], false);
    assert!(
        windows(sc).iter().all(|&w| w >= 8000),
        "confirmed over 4x the window"
    );
}

/// What moves RSS without leaking: allocator high-water marks, large temporaries,
/// threads, deep recursion, fragmentation of a bounded pool.
const RSS_NOISE: &str = r#"scenarios:
  - name: high-water
    setup: import random
    run: x = bytearray(random.randrange(4 << 20)); del x
  - name: big-temporary
    run: x = bytearray(16 << 20); del x
  - name: thread-start-join
    setup: import threading
    run: |
      t = threading.Thread(target=lambda: None)
      t.start(); t.join()
  - name: deep-recursion
    setup: |
      import sys
      sys.setrecursionlimit(10000)
      def down(n):
          return 0 if n == 0 else down(n - 1)
    run: down(3000)
  - name: bounded-pool
    setup: |
      import random
      random.seed(7)
      pool = [None] * 5000
    run: |
      for _ in range(20):
          pool[random.randrange(5000)] = "x" * random.randrange(1, 200)
"#;

#[cfg(target_os = "linux")]
#[test]
fn rss_noise_stays_clean() {
    let s = Scratch::new();
    s.write("noise.yaml", RSS_NOISE);
    let r = s.memreg(&["run", "noise.yaml", "--json", "r.json", "--no-attribution"]);
    assert_eq!(r.code, 0, "{}", r.all());
}

#[test]
fn a_budget_too_small_to_confirm_is_said_not_hidden() {
    let s = Scratch::new();
    // No room to look longer: a cache that fills for 5000 iterations looks like a
    // leak over 2000, and the report says it could not confirm.
    s.write(
        "budget.yaml",
        &PLATEAUS.replace(
            "    run: f(next(c) % 5000)\n",
            "    run: f(next(c) % 5000)\n    confirm: {iterations: 2000}\n",
        ),
    );
    let r = s.memreg(&["run", "budget.yaml", "-k", "lru", "--no-attribution"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout
            .contains("steady over 2,000 iterations (not confirmed longer: budget)"),
        "{}",
        r.stdout
    );
    // A memo still filling (ever more slowly) when the budget ends is inconclusive,
    // with the reason.
    s.write(
        "settling.yaml",
        "name: random-memo\nsetup: |\n  import random\n  random.seed(3)\n  memo = {}\nrun: |\n  k = random.randrange(2000)\n  memo.setdefault(k, str(k))\nconfirm: {iterations: 8000}\n",
    );
    let r = s.memreg(&["run", "settling.yaml", "--no-attribution"]);
    assert_eq!(
        r.code,
        0,
        "inconclusive neither passes nor fails: {}",
        r.all()
    );
    assert!(r.stdout.contains("inconclusive"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("still grows after 8,000 iterations but slows down"),
        "{}",
        r.stdout
    );
}

fn lru(entries: usize) -> String {
    format!(
        "name: lru\nsetup: |\n  import functools, itertools\n  c = itertools.count()\n  @functools.lru_cache(maxsize={entries})\n  def f(n):\n      return 'value-%d' % n\n  for i in range({entries}):\n      f(i)\nrun: f(next(c) % {entries})\n"
    )
}

#[test]
fn held_python_memory_is_compared_in_bytes() {
    let s = Scratch::new();
    s.write("scenarios/lru.yaml", &lru(2000));
    let r = s.memreg(&["baseline", "update"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(s.read("baselines/lru.json").contains("\"held_python\""));
    // The unchanged scenario, three times: no regression.
    for _ in 0..3 {
        let r = s.memreg(&["run", "--no-attribution"]);
        assert_eq!(r.code, 0, "{}", r.all());
    }
    // 2600 entries instead of 2000: about +30% held Python memory in small objects.
    s.write("scenarios/lru.yaml", &lru(2600));
    let r = s.memreg(&["run", "--no-attribution", "--json", "r.json"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout.contains("regression: held_python:"),
        "{}",
        r.stdout
    );
    let v = report(&s, "r.json");
    let figures = scenario(&v, "lru")["baseline"]["figures"]
        .as_array()
        .unwrap()
        .clone();
    let held = figures
        .iter()
        .find(|f| f["figure"] == "held_python")
        .unwrap();
    assert_eq!(held["status"]["status"], "regressed");
    let change = held["change"].as_f64().unwrap() / held["old_median"].as_f64().unwrap();
    assert!((0.2..0.4).contains(&change), "about +30%: {held}");
    assert!(
        !figures.iter().any(|f| f["figure"] == "held_blocks"),
        "blocks are informational, not compared"
    );
}
