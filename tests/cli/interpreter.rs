//! Which interpreter runs a scenario (`--python`, `python:`, the active virtualenv,
//! memreg's own environment, `python3` on PATH), checked from inside the interpreter,
//! and the banner that names the rule.

use crate::support::{Run, Scratch};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A scenario that fails unless it runs in the environment at `prefix`.
fn expects_prefix(s: &Scratch, prefix: &Path) {
    s.write(
        "which.yaml",
        &format!(
            "name: which\nsetup: |\n  import os, sys\n  assert os.path.realpath(sys.prefix) == os.path.realpath({:?}), sys.prefix\nrun: pass\niterations: 16\nwarmup: 0\nprocesses: 1\n",
            prefix.display().to_string()
        ),
    );
}

fn make_venv(dir: &Path) -> PathBuf {
    let st = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(dir)
        .status()
        .expect("python3 runs");
    assert!(st.success(), "python3 -m venv {}", dir.display());
    dir.to_owned()
}

/// memreg as a wheel installs it: a copy in the environment's `bin/`.
fn install_memreg(venv: &Path) -> PathBuf {
    let to = venv.join("bin").join("memreg");
    std::fs::copy(env!("CARGO_BIN_EXE_memreg"), &to).unwrap();
    to
}

/// The banner: its first line counts the run, its second names each interpreter.
fn banner(stdout: &str) -> String {
    stdout.lines().take(2).collect::<Vec<_>>().join(" ")
}

#[test]
fn python_flag_overrides_the_scenarios_python_and_the_banner_says_which_rule() {
    let s = Scratch::new();
    s.write(
        "a.yaml",
        "run: pass\npython: /nonexistent/python3\niterations: 16\nwarmup: 0\nprocesses: 1\n",
    );
    let r = s.memreg(&["run", "a.yaml", "--python", "python3"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        banner(&r.stdout).ends_with(", chosen by --python)"),
        "{}",
        r.all()
    );
    s.write(
        "a.yaml",
        "run: pass\npython: python3\niterations: 16\nwarmup: 0\nprocesses: 1\n",
    );
    let r = s.memreg(&["run", "a.yaml"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        banner(&r.stdout).ends_with(", chosen by scenario `python:`)"),
        "{}",
        r.all()
    );
}

#[test]
fn active_virtualenv_then_memregs_own_environment_then_python3_on_path() {
    let s = Scratch::new();
    // Canonical, as memreg finds its own executable (macOS's temp dir is a symlink).
    let root = s.path().canonicalize().unwrap();
    let active = make_venv(&root.join("active"));
    let own = make_venv(&root.join("own"));
    let memreg = install_memreg(&own);

    // An active virtualenv wins over the environment memreg is installed in.
    expects_prefix(&s, &active);
    let mut c = Command::new(&memreg);
    c.args(["run", "which.yaml"])
        .current_dir(s.path())
        .env("NO_COLOR", "1")
        .env("VIRTUAL_ENV", &active)
        .env_remove("GITHUB_ACTIONS");
    let r = Run::from(c.output().unwrap());
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        banner(&r.stdout).contains("chosen by active virtualenv ($VIRTUAL_ENV)"),
        "{}",
        r.all()
    );

    // Not activated: `own/bin/memreg` uses `own/bin/python`, not python3 on PATH.
    expects_prefix(&s, &own);
    let run_own = || {
        let mut c = Command::new(&memreg);
        c.args(["run", "which.yaml"])
            .current_dir(s.path())
            .env("NO_COLOR", "1")
            .env_remove("VIRTUAL_ENV")
            .env_remove("GITHUB_ACTIONS");
        Run::from(c.output().unwrap())
    };
    let r = run_own();
    assert_eq!(r.code, 0, "{}", r.all());
    let line = banner(&r.stdout);
    assert!(
        line.contains(&format!("{}", own.join("bin").display()))
            && line.ends_with(", chosen by memreg's own environment)"),
        "{}",
        r.all()
    );

    // A pipx environment holds memreg alone: python3 on PATH is what the user means.
    std::fs::write(own.join("pipx_metadata.json"), "{}").unwrap();
    let r = run_own();
    assert_eq!(
        r.code,
        1,
        "the scenario must not run in memreg's pipx venv\n{}",
        r.all()
    );
    assert!(
        banner(&r.stdout).ends_with(", chosen by python3 on PATH)"),
        "{}",
        r.all()
    );
}
