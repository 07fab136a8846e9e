//! Helpers: a scratch directory with scenario files, and running the binary in it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Runs `memreg ARGS` with the scratch directory as working directory.
    pub fn memreg(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("memreg runs");
        Run::from(out)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_memreg"));
        c.args(args).current_dir(self.path()).env("NO_COLOR", "1");
        c.env_remove("GITHUB_ACTIONS");
        // A cache of compiled code of this scratch directory's own (hidden: no
        // scenario is looked for there), never the user's.
        c.env("MEMREG_CACHE_DIR", self.path().join(".cache"));
        c
    }

    /// `memreg ARGS` with `MEMREG_TEST_MARK` set to a mark of this scratch directory
    /// (see [`survivors`]) and its work directory under `tmp/` of it, started in
    /// its own session. Returns the command and the mark.
    #[cfg(target_os = "linux")]
    pub fn marked(&self, args: &[&str]) -> (Command, String) {
        use std::os::unix::process::CommandExt;
        let mark = self
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let tmp = self.path().join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let mut c = self.command(args);
        c.env("MEMREG_TEST_MARK", &mark).env("TMPDIR", &tmp);
        // SAFETY: setsid is async-signal-safe.
        unsafe {
            c.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        (c, mark)
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(name)).unwrap()
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn all(&self) -> String {
        format!("--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr)
    }
}

/// A parsed JUnit file: (testcase name -> element) lookups over roxmltree.
pub fn parse_junit(text: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(text)
        .unwrap_or_else(|e| panic!("JUnit must be valid XML: {e}\n{text}"))
}

pub fn case<'a>(doc: &'a roxmltree::Document<'a>, name: &str) -> roxmltree::Node<'a, 'a> {
    doc.descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(name))
        .unwrap_or_else(|| panic!("no testcase {name}"))
}

pub fn property(case: roxmltree::Node, name: &str) -> Option<String> {
    case.descendants()
        .find(|n| n.has_tag_name("property") && n.attribute("name") == Some(name))
        .and_then(|n| n.attribute("value").map(str::to_owned))
}

/// The Python of a private virtualenv (under target/) with `xmlschema` and
/// `junitparser` from PyPI, made once and reused; `None`, with a message saying
/// why, only when PyPI cannot be reached (any other failure fails the test).
pub fn python_tools() -> Option<PathBuf> {
    static TOOLS: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    TOOLS
        .get_or_init(|| {
            cached_venv(
                "python-tools",
                &["xmlschema", "junitparser"],
                "import xmlschema, junitparser",
                "schema validation",
            )
        })
        .clone()
}

/// The Python of a private virtualenv (under target/) with pytest 8.x,
/// pytest-asyncio and anyio from PyPI, for the pytest bridge's end-to-end tests;
/// made once and reused, `None` (with a message) only when PyPI cannot be reached.
pub fn pytest_python() -> Option<PathBuf> {
    static PYTEST: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    PYTEST
        .get_or_init(|| {
            cached_venv(
                "pytest-venv",
                &["pytest>=8,<9", "pytest-asyncio", "anyio"],
                "import pytest, pytest_asyncio, anyio; assert pytest.__version__.startswith('8.')",
                "the pytest bridge",
            )
        })
        .clone()
}

/// A virtualenv in the test target directory with `packages` installed, reused
/// while `check` (Python code) runs in it.
fn cached_venv(name: &str, packages: &[&str], check: &str, purpose: &str) -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = venv.join("bin").join("python");
    let ready = |python: &Path| {
        Command::new(python)
            .args(["-c", check])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ready(&python) {
        return Some(python);
    }
    let _ = std::fs::remove_dir_all(&venv);
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .expect("python3 runs");
    assert!(
        made.status.success(),
        "python3 -m venv failed: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let pip = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "--retries",
            "1",
            "--timeout",
            "20",
        ])
        .args(packages)
        .output()
        .expect("pip runs");
    if !pip.status.success() {
        let err = String::from_utf8_lossy(&pip.stderr);
        let offline = [
            "NewConnectionError",
            "Max retries exceeded",
            "Temporary failure in name resolution",
            "Network is unreachable",
            "Connection refused",
            "Could not fetch URL",
            "ProxyError",
            "ConnectTimeout",
            "Read timed out",
        ];
        if offline.iter().any(|o| err.contains(o)) {
            eprintln!(
                "SKIPPED (PyPI unreachable): cannot install {} for {purpose}: {}",
                packages.join(", "),
                err.lines().last().unwrap_or("")
            );
            return None;
        }
        panic!("pip install {} failed:\n{err}", packages.join(" "));
    }
    assert!(ready(&python), "installed but `{check}` fails");
    Some(python)
}

/// Processes that carry `MEMREG_TEST_MARK=mark` in their environment (every
/// descendant of a command started with [`Scratch::marked`] unless it replaced its
/// environment) or belong to session `session`, and have not exited: what a test
/// left running.
#[cfg(target_os = "linux")]
pub fn survivors(mark: &str, session: Option<i32>) -> Vec<String> {
    let needle = format!("MEMREG_TEST_MARK={mark}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        if fields.first().is_none_or(|s| *s == "Z" || *s == "X") {
            continue; // exited, waiting to be reaped
        }
        let sid: Option<i32> = fields.get(3).and_then(|s| s.parse().ok());
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let marked = environ.split(|&b| b == 0).any(|v| v == needle.as_bytes());
        if marked || (session.is_some() && sid == session) {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            found.push(format!(
                "{pid}: {}",
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            ));
        }
    }
    found
}

/// [`survivors`], given up to 3 s to die (a killed process is reaped a moment later).
#[cfg(target_os = "linux")]
pub fn survivors_after_a_moment(mark: &str, session: Option<i32>) -> Vec<String> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let left = survivors(mark, session);
        if left.is_empty() || std::time::Instant::now() > until {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Every scenario's status in a JSON report, by name.
pub fn statuses(json: &str) -> std::collections::BTreeMap<String, String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}
