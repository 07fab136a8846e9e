//! The probe's own Python tests (tests/probe/, unittest, standard library only) run
//! under `cargo test`, so CI runs them: referrer chains, give-ups, uncollectable
//! garbage and the resource counters, at the level of the probe's functions.

use std::process::Command;

#[test]
fn the_probe_python_tests_pass() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/probe");
    // The native readers as memreg embeds them (src/probe/native.rs), for the tests
    // of that path (test_native_readers.py, test_counters.py's CountersNative).
    let native = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "unittest", "discover", "-s", dir, "-v"])
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let module = memreg::probe::native::MODULE;
    if !module.is_empty() {
        let path = native.path().join(memreg::probe::native::FILE);
        std::fs::write(&path, module).unwrap();
        cmd.env("MEMREG_READERS", &path);
    }
    let out = cmd.output().expect("python3 runs");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    // A suite that found nothing to run would pass as well.
    assert!(
        log.contains("Ran ") && !log.contains("Ran 0 tests"),
        "{log}"
    );
    // Where memreg builds the native readers, their tests ran.
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        assert!(!log.contains("no native readers"), "{log}");
    }
}

/// memreg writes the probe's configs in Python's marshal format
/// (src/probe/marshal.rs): the interpreter reads back exactly what was written.
#[test]
fn configs_in_marshal_read_back_in_python() {
    use std::collections::BTreeMap;
    #[derive(serde::Serialize)]
    struct Config<'a> {
        text: &'a str,
        none: Option<u8>,
        flags: (bool, bool),
        ints: Vec<i64>,
        big: u64,
        ratio: f64,
        map: BTreeMap<&'a str, (u64, u64)>,
    }
    let config = Config {
        text: "é\n\"x\"\u{1F600}",
        none: None,
        flags: (true, false),
        ints: vec![0, -1, 1 << 20, -(1 << 40), i64::MIN, i64::MAX],
        big: u64::MAX,
        ratio: 0.1,
        map: [("blocks", (0, 16)), ("native", (64, 1))].into(),
    };
    let bytes = memreg::probe::marshal::to_bytes(&config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.bin");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("python3")
        .args([
            "-c",
            "import marshal, sys; print(repr(marshal.loads(open(sys.argv[1], 'rb').read())))",
        ])
        .arg(&path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = format!(
        "{{'text': 'é\\n\"x\"\u{1F600}', 'none': None, 'flags': [True, False], 'ints': [0, -1, 1048576, -1099511627776, {}, {}], 'big': {}, 'ratio': 0.1, 'map': {{'blocks': [0, 16], 'native': [64, 1]}}}}\n",
        i64::MIN,
        i64::MAX,
        u64::MAX
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
}

/// The measuring path's start stays lean (docs/measuring.md §11): a measuring
/// process imports none of the standard library's heavier modules the interpreter
/// did not start with (functools alone imports collections, operator, reprlib and
/// types: ~10 M instructions, a third of an interpreter's own start). The teardown
/// compares its process's modules with those of a fresh interpreter; in a clean
/// virtualenv, since an interpreter whose `.pth` files import them starts with them.
#[test]
fn a_measuring_process_imports_no_heavy_module() {
    let s = crate::support::Scratch::new();
    let venv = s.path().join(".venv");
    let made = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .output()
        .expect("python3 runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    s.write(
        "lean.yaml",
        r#"name: lean
run: pass
iterations: 100
warmup: 10
teardown: |
  import os, sys
  now = set(sys.modules)
  import subprocess
  start = set(subprocess.run([sys.executable, "-c", "import sys; print(' '.join(sys.modules))"],
                             capture_output=True, text=True, check=True).stdout.split())
  heavy = {"functools", "collections", "ctypes", "array", "types", "json", "ast", "re",
           "tokenize", "traceback", "typing", "inspect", "tempfile", "threading", "linecache"}
  if sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION"):
      heavy.add("_ctypes")  # the native readers replace it (src/probe/native.rs)
  extra = sorted(heavy & (now - start))
  if extra:
      raise AssertionError("the probe imported: %s" % ", ".join(extra))
"#,
    );
    let python = venv.join("bin/python");
    let r = s.memreg(&[
        "run",
        "lean.yaml",
        "--no-attribution",
        "--python",
        python.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
}
