//! The probe's own Python tests (tests/probe/, unittest, standard library only) run
//! under `cargo test`, so CI runs them: referrer chains, give-ups, uncollectable
//! garbage and the resource counters, at the level of the probe's functions.

use std::process::Command;

#[test]
fn the_probe_python_tests_pass() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/probe");
    let out = Command::new("python3")
        .args(["-m", "unittest", "discover", "-s", dir, "-v"])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    // A suite that found nothing to run would pass as well.
    assert!(
        log.contains("Ran ") && !log.contains("Ran 0 tests"),
        "{log}"
    );
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
