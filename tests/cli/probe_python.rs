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
