//! The compile check's results kept across runs, so that a run whose interpreter,
//! probe and scenario code are unchanged starts its measuring processes without a
//! check process first (it cost about three interpreter starts: docs/measuring.md
//! §11).
//!
//! Location: `$MEMREG_CACHE_DIR`, else `$XDG_CACHE_HOME/memreg`, else
//! `~/.cache/memreg`. Under `v1/`, one directory per interpreter and probe (a slot):
//!
//! ```text
//! <slot>/entry.json        its key, the interpreter's description, the probe files' checksums
//! <slot>/probe-*.bin       the probe's parts compiled by that interpreter
//! <slot>/code/<hex>.bin    one scenario's compiled code, behind a header holding its
//!                          full key and checksum
//! ```
//!
//! The slot's key is memreg's version, a digest of the probe's source, the
//! interpreter's path as run, the file it resolves to and that file's size and
//! modification time: an interpreter replaced or rebuilt gets a new slot. So do
//! another `PYTHONMALLOC` or `PYTHONDEVMODE` and another C library version, which
//! the interpreter's description (the allocator) reads. An
//! interpreter started through a launcher script (a pyenv shim, `#!` in its first
//! bytes) has no slot: which interpreter it starts is only known by running it, so
//! it is checked every run. Nothing read from the cache is trusted: every file is
//! compared with its full key and checksum before it is linked or copied into the
//! run's private work directory (a digest only names files); anything that does not match
//! is ignored and rebuilt by the check process. Every file is written atomically
//! (a temporary file and a rename), so concurrent runs each see whole files, and
//! one that loses a race finds a mismatch and runs the check itself. The code
//! objects carry the interpreter build and optimisation level they were compiled
//! under, which the probe checks again when it loads them (compiled.rs).
//!
//! The cache is an optimisation: a cache that cannot be read or written (no home
//! directory, a read-only file system) only means the check runs, as without it.

use super::compiled::{code_file, code_key, Digest};
use super::wire::PythonInfo;
use crate::fsio::write_atomic;
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Format of the cache's layout and files; a change starts a new directory.
const LAYOUT: &str = "v1";
const ENTRY: &str = "entry.json";
const CODE_MAGIC: &[u8] = b"memreg-code 1\n";
/// Slots kept (interpreters x probe versions); the least recently used go first.
const MAX_SLOTS: usize = 16;
/// Scenario code files kept per slot; the oldest go first.
const MAX_CODE_FILES: usize = 4096;

/// Where the cache lives.
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// The cache directory from the environment (see the module's documentation);
    /// `None` when there is no home directory to put it in.
    pub fn from_env() -> Option<Cache> {
        Cache::choose(|k| std::env::var_os(k).map(PathBuf::from))
    }

    /// The cache directory given how to read an environment variable.
    fn choose(get: impl Fn(&str) -> Option<PathBuf>) -> Option<Cache> {
        let var = |k: &str| get(k).filter(|v| !v.as_os_str().is_empty());
        let dir = var("MEMREG_CACHE_DIR")
            .or_else(|| {
                var("XDG_CACHE_HOME")
                    .filter(|p| p.is_absolute())
                    .map(|p| p.join("memreg"))
            })
            .or_else(|| var("HOME").map(|h| h.join(".cache").join("memreg")))?;
        Some(Cache::at(dir))
    }

    pub fn at(dir: impl Into<PathBuf>) -> Cache {
        Cache {
            root: dir.into().join(LAYOUT),
        }
    }

    /// The slot of interpreter `python` with this probe, or `None` when it has
    /// none (a launcher script, a file that cannot be read).
    pub fn slot(&self, python: &Path, probe_digest: &str) -> Option<Slot> {
        self.slot_in(python, probe_digest, described_env())
    }

    /// [`Cache::slot`] under the environment `env` (see [`described_env`]).
    fn slot_in(
        &self,
        python: &Path,
        probe_digest: &str,
        env: Vec<(String, String)>,
    ) -> Option<Slot> {
        let key = InterpreterKey::of(python, probe_digest, env)?;
        let json = serde_json::to_string(&key).ok()?;
        Some(Slot {
            dir: self.root.join(Digest::new().field(json.as_bytes()).hex()),
            key,
            root: self.root.clone(),
        })
    }
}

/// What a slot's contents depend on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct InterpreterKey {
    memreg: String,
    probe: String,
    /// The interpreter as the processes are started with it (absolute).
    python: String,
    /// The file it resolves to, and that file's size and modification time.
    target: String,
    size: u64,
    modified_ns: i128,
    /// What else the interpreter's description (`python_info` in core.py) reads
    /// that its file does not fix: the allocator variables and the C library's
    /// version (an upgraded glibc keeps the interpreter's file as it was).
    env: Vec<(String, String)>,
}

impl InterpreterKey {
    fn of(python: &Path, probe_digest: &str, env: Vec<(String, String)>) -> Option<InterpreterKey> {
        let python = std::path::absolute(python).ok()?;
        let target = std::fs::canonicalize(&python).ok()?;
        let meta = std::fs::metadata(&target).ok()?;
        if !meta.is_file() || is_script(&target) {
            return None;
        }
        let modified = meta.modified().ok()?;
        let modified_ns = match modified.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        Some(InterpreterKey {
            memreg: env!("CARGO_PKG_VERSION").into(),
            probe: probe_digest.into(),
            python: python.to_str()?.into(),
            target: target.to_str()?.into(),
            size: meta.len(),
            modified_ns,
            env,
        })
    }
}

/// The environment `python_info` depends on besides the interpreter's file.
fn described_env() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = ["PYTHONMALLOC", "PYTHONDEVMODE"]
        .iter()
        .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
        .collect();
    env.push(("libc".into(), libc_version()));
    env
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn libc_version() -> String {
    // SAFETY: glibc returns a pointer to a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn libc_version() -> String {
    String::new()
}

/// A launcher script (`#!`), not an interpreter binary.
fn is_script(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map_or(true, |()| &head == b"#!")
}

/// What `entry.json` holds.
#[derive(Serialize, Deserialize)]
struct Entry {
    format: u32,
    key: InterpreterKey,
    python: PythonInfo,
    /// Probe files (as the check named them) and their checksums.
    probe: Vec<(String, String)>,
}

/// One interpreter's part of the cache.
pub struct Slot {
    dir: PathBuf,
    key: InterpreterKey,
    root: PathBuf,
}

/// What the cache gave a run: copied into its work directory, checked.
#[derive(Debug, Default)]
pub struct Filled {
    /// The interpreter's description and the probe's compiled parts, when the
    /// slot's entry was whole.
    pub python: Option<PythonInfo>,
    /// Per scenario (in the order given), whether its compiled code was.
    pub code: Vec<bool>,
}

impl Filled {
    /// Everything the check would have produced came from the cache.
    pub fn complete(&self) -> bool {
        self.python.is_some() && self.code.iter().all(|&c| c)
    }
}

impl Slot {
    /// Copies what the slot holds for `scenarios` into `workdir` (probe parts beside
    /// it, code under `workdir/code/`), checking every file first.
    pub fn fill(&self, workdir: &Path, scenarios: &[&Scenario]) -> Filled {
        let python = self.fill_probe(workdir);
        if python.is_some() {
            // Recently used: eviction removes the slots not used for longest.
            let _ = std::fs::File::options()
                .append(true)
                .open(self.dir.join(ENTRY))
                .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        }
        let _ = std::fs::create_dir_all(workdir.join("code"));
        let code = scenarios
            .iter()
            .map(|s| {
                // The work directory is private and nothing reads it yet: a plain
                // write, not an atomic one.
                self.read_code(s)
                    .and_then(|payload| std::fs::write(code_file(workdir, s), payload).ok())
                    .is_some()
            })
            .collect();
        Filled { python, code }
    }

    fn fill_probe(&self, workdir: &Path) -> Option<PythonInfo> {
        let entry: Entry =
            serde_json::from_slice(&std::fs::read(self.dir.join(ENTRY)).ok()?).ok()?;
        if entry.format != 1 || entry.key != self.key || entry.probe.is_empty() {
            return None;
        }
        for (name, sum) in &entry.probe {
            if !is_probe_file(name) {
                return None;
            }
            let bytes = std::fs::read(self.dir.join(name)).ok()?;
            if format!("{:016x}", checksum(&bytes)) != *sum {
                return None;
            }
            place(&self.dir.join(name), &workdir.join(name), &bytes).ok()?;
        }
        Some(entry.python)
    }

    /// Laid out like a work directory's `code/`, with a key and checksum around
    /// each file's code.
    fn code_path(&self, scenario: &Scenario) -> PathBuf {
        code_file(&self.dir, scenario)
    }

    /// The full key a code file must carry: the slot's and the scenario's.
    fn full_code_key(&self, scenario: &Scenario) -> Vec<u8> {
        let mut key = serde_json::to_vec(&self.key).expect("a key serialises");
        key.push(b'\n');
        key.extend_from_slice(code_key(scenario).as_bytes());
        key
    }

    /// A scenario's compiled code, when the slot holds it whole and for this key.
    fn read_code(&self, scenario: &Scenario) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.code_path(scenario)).ok()?;
        let rest = bytes.strip_prefix(CODE_MAGIC)?;
        let (len, rest) = take_u64(rest)?;
        let key_len = usize::try_from(len).ok().filter(|&n| n <= rest.len())?;
        let (key, rest) = rest.split_at(key_len);
        if key != self.full_code_key(scenario) {
            return None;
        }
        let (sum, payload) = take_u64(rest)?;
        (sum == checksum(payload)).then(|| payload.to_vec())
    }

    /// Keeps what a check process just wrote into `workdir`: the code of
    /// `scenarios`, and with `probe` the probe's parts and the slot's entry.
    /// Best effort: an error leaves the cache as it was, or incomplete (and then
    /// ignored).
    pub fn store(&self, workdir: &Path, python: &PythonInfo, scenarios: &[&Scenario], probe: bool) {
        let _ = self.try_store(workdir, python, scenarios, probe);
        self.evict();
    }

    fn try_store(
        &self,
        workdir: &Path,
        python: &PythonInfo,
        scenarios: &[&Scenario],
        probe: bool,
    ) -> Result<(), String> {
        for s in scenarios {
            let Ok(payload) = std::fs::read(code_file(workdir, s)) else {
                continue;
            };
            let key = self.full_code_key(s);
            let mut file = CODE_MAGIC.to_vec();
            file.extend_from_slice(&(key.len() as u64).to_le_bytes());
            file.extend_from_slice(&key);
            file.extend_from_slice(&checksum(&payload).to_le_bytes());
            file.extend_from_slice(&payload);
            write_atomic(&self.code_path(s), &file)?;
        }
        if !probe {
            return Ok(());
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(workdir).map_err(|e| e.to_string())? {
            let name = entry.map_err(|e| e.to_string())?.file_name();
            let Some(name) = name.to_str().filter(|n| is_probe_file(n)) else {
                continue;
            };
            let bytes = std::fs::read(workdir.join(name)).map_err(|e| e.to_string())?;
            write_atomic(&self.dir.join(name), &bytes)?;
            files.push((name.to_owned(), format!("{:016x}", checksum(&bytes))));
        }
        if files.is_empty() {
            return Ok(()); // the interpreter saved no compiled parts: nothing to keep
        }
        files.sort();
        let entry = Entry {
            format: 1,
            key: self.key.clone(),
            python: python.clone(),
            probe: files,
        };
        let json = serde_json::to_vec_pretty(&entry).map_err(|e| e.to_string())?;
        write_atomic(&self.dir.join(ENTRY), &json)
    }

    /// Keeps the cache bounded: at most MAX_SLOTS slots (by last use) and
    /// MAX_CODE_FILES code files in this slot (by age).
    fn evict(&self) {
        remove_oldest(
            &self.root,
            MAX_SLOTS,
            |p| p.join(ENTRY),
            |p| {
                let _ = std::fs::remove_dir_all(p);
            },
        );
        remove_oldest(
            &self.dir.join("code"),
            MAX_CODE_FILES,
            Path::to_path_buf,
            |p| {
                let _ = std::fs::remove_file(p);
            },
        );
    }
}

/// Removes the oldest entries of `dir` beyond `keep`, aged by the modification time
/// of `stamp(entry)` (an entry without one is oldest).
fn remove_oldest(
    dir: &Path,
    keep: usize,
    stamp: impl Fn(&Path) -> PathBuf,
    remove: impl Fn(&Path),
) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    let mut all: Vec<(Option<std::time::SystemTime>, PathBuf)> = read
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .map(|p| {
            (
                std::fs::metadata(stamp(&p)).and_then(|m| m.modified()).ok(),
                p,
            )
        })
        .collect();
    if all.len() <= keep {
        return;
    }
    all.sort();
    for (_, p) in &all[..all.len() - keep] {
        remove(p);
    }
}

/// A probe part as the check process names it: `probe-<part>-<cache tag>.bin`.
fn is_probe_file(name: &str) -> bool {
    name.starts_with("probe-")
        && name.ends_with(".bin")
        && !name.contains('/')
        && !name.contains(".tmp")
}

/// Puts the cache's file `from`, whose checked contents are `bytes`, at `to` in the
/// work directory: a hard link (no data written; the cache replaces files by
/// renaming, never in place, so the link keeps what was checked), else a copy
/// (another file system). What `to` held is removed first: it may be a link into
/// another slot (a run with two interpreters of one bytecode tag), which a write
/// would change in place.
fn place(from: &Path, to: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let _ = std::fs::remove_file(to);
    std::fs::hard_link(from, to).or_else(|_| std::fs::write(to, bytes))
}

fn checksum(bytes: &[u8]) -> u64 {
    Digest::new().field(bytes).value()
}

fn take_u64(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let (head, rest) = bytes.split_at_checked(8)?;
    Some((u64::from_le_bytes(head.try_into().ok()?), rest))
}

/// A digest of everything the probe is: a new memreg or probe gets new slots.
pub const fn probe_digest(parts: &[(&str, &str)], bootstrap: &str) -> u64 {
    let mut d = Digest::new().field(bootstrap.as_bytes());
    let mut i = 0;
    while i < parts.len() {
        d = d.field(parts[i].0.as_bytes()).field(parts[i].1.as_bytes());
        i += 1;
    }
    d.value()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::compiled::code_file;

    /// A scratch directory with an "interpreter" (a binary file, not a script) and
    /// scenarios.
    struct World {
        dir: tempfile::TempDir,
        python: PathBuf,
        scenarios: Vec<Scenario>,
    }

    impl World {
        fn new() -> World {
            let dir = tempfile::tempdir().unwrap();
            let python = dir.path().join("python3");
            std::fs::write(&python, b"\x7fELF fake interpreter").unwrap();
            let yaml = dir.path().join("s.yaml");
            std::fs::write(
                &yaml,
                "scenarios:\n  - {name: a, run: x = 1}\n  - {name: b, setup: import json, run: json.dumps(1)}\n",
            )
            .unwrap();
            let scenarios = crate::scenario::load_all(&[yaml]).unwrap();
            World {
                dir,
                python,
                scenarios,
            }
        }

        fn cache(&self) -> Cache {
            Cache::at(self.dir.path().join("cache"))
        }

        fn slot(&self) -> Slot {
            self.cache().slot(&self.python, "probe1").unwrap()
        }

        fn refs(&self) -> Vec<&Scenario> {
            self.scenarios.iter().collect()
        }

        /// A work directory as a check process leaves it: probe parts and each
        /// scenario's code (payloads made up, tagged with `version`).
        fn checked_workdir(&self, version: &str) -> tempfile::TempDir {
            let w = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(w.path().join("code")).unwrap();
            for part in ["core", "measure"] {
                let name = format!("probe-{part}-cpython-311.bin");
                std::fs::write(w.path().join(name), format!("{part} {version}")).unwrap();
            }
            for s in &self.scenarios {
                std::fs::write(code_file(w.path(), s), format!("{} {version}", s.name)).unwrap();
            }
            w
        }
    }

    fn info() -> PythonInfo {
        crate::runner::fake::python()
    }

    fn same_file(a: &Path, b: &Path) -> bool {
        std::fs::read(a).unwrap() == std::fs::read(b).unwrap()
    }

    #[test]
    fn a_miss_is_stored_and_the_next_run_hits_with_identical_files() {
        let w = World::new();
        let fresh = tempfile::tempdir().unwrap();
        let filled = w.slot().fill(fresh.path(), &w.refs());
        assert!(filled.python.is_none() && filled.code == [false, false]);
        assert!(!filled.complete());

        let checked = w.checked_workdir("v1");
        w.slot().store(checked.path(), &info(), &w.refs(), true);

        let next = tempfile::tempdir().unwrap();
        let filled = w.slot().fill(next.path(), &w.refs());
        assert_eq!(filled.python, Some(info()));
        assert_eq!(filled.code, [true, true]);
        assert!(filled.complete());
        for s in &w.scenarios {
            assert!(same_file(
                &code_file(next.path(), s),
                &code_file(checked.path(), s)
            ));
        }
        for part in ["core", "measure"] {
            let name = format!("probe-{part}-cpython-311.bin");
            assert!(same_file(
                &next.path().join(&name),
                &checked.path().join(&name)
            ));
        }
    }

    #[test]
    fn code_is_kept_per_scenario_so_a_changed_scenario_misses_alone() {
        let w = World::new();
        w.slot()
            .store(w.checked_workdir("v1").path(), &info(), &w.refs(), true);
        let mut changed = w.scenarios.clone();
        crate::probe::tests::set_run(&mut changed[1], "json.dumps(2)");
        let refs: Vec<&Scenario> = changed.iter().collect();
        let filled = w.slot().fill(tempfile::tempdir().unwrap().path(), &refs);
        assert!(filled.python.is_some());
        assert_eq!(filled.code, [true, false]);
    }

    #[test]
    fn corrupt_or_foreign_files_are_ignored_never_used() {
        let w = World::new();
        let slot = w.slot();
        slot.store(w.checked_workdir("v1").path(), &info(), &w.refs(), true);
        let code_a = slot.code_path(&w.scenarios[0]);
        let code_b = slot.code_path(&w.scenarios[1]);

        // One flipped byte in a payload, and a file cut short.
        let mut bytes = std::fs::read(&code_a).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        std::fs::write(&code_a, &bytes).unwrap();
        let bytes = std::fs::read(&code_b).unwrap();
        std::fs::write(&code_b, &bytes[..bytes.len() / 2]).unwrap();
        let filled = slot.fill(tempfile::tempdir().unwrap().path(), &w.refs());
        assert_eq!(filled.code, [false, false]);
        assert!(filled.python.is_some(), "the entry itself is whole");

        // A whole file of another scenario put under this one's name.
        slot.store(w.checked_workdir("v1").path(), &info(), &w.refs(), true);
        std::fs::copy(&code_b, &code_a).unwrap();
        let filled = slot.fill(tempfile::tempdir().unwrap().path(), &w.refs());
        assert_eq!(filled.code, [false, true]);

        // A probe part that changed, and an entry that is not JSON.
        slot.store(w.checked_workdir("v1").path(), &info(), &w.refs(), true);
        std::fs::write(slot.dir.join("probe-core-cpython-311.bin"), b"core v2").unwrap();
        let out = tempfile::tempdir().unwrap();
        assert!(slot.fill(out.path(), &w.refs()).python.is_none());
        std::fs::write(slot.dir.join(ENTRY), b"{ not json").unwrap();
        assert!(slot.fill(out.path(), &w.refs()).python.is_none());

        // The check runs and stores again: whole once more.
        slot.store(w.checked_workdir("v1").path(), &info(), &w.refs(), true);
        assert!(slot.fill(out.path(), &w.refs()).complete());
    }

    #[test]
    fn a_changed_interpreter_or_probe_gets_another_slot() {
        let w = World::new();
        w.slot()
            .store(w.checked_workdir("v1").path(), &info(), &w.refs(), true);
        let out = tempfile::tempdir().unwrap();
        let other_probe = w.cache().slot(&w.python, "probe2").unwrap();
        assert!(!other_probe.fill(out.path(), &w.refs()).complete());
        // Rebuilt in place: another size.
        std::fs::write(&w.python, b"\x7fELF fake interpreter, rebuilt").unwrap();
        assert!(!w.slot().fill(out.path(), &w.refs()).complete());
        assert!(w
            .slot()
            .fill(out.path(), &w.refs())
            .code
            .iter()
            .all(|&c| !c));
    }

    #[test]
    fn another_allocator_environment_gets_another_slot() {
        let w = World::new();
        let with = |env: &[(&str, &str)]| {
            let env = env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            w.cache().slot_in(&w.python, "probe1", env).unwrap()
        };
        let base = with(&[("libc", "2.36")]);
        base.store(w.checked_workdir("v1").path(), &info(), &w.refs(), true);
        let out = tempfile::tempdir().unwrap();
        assert!(base.fill(out.path(), &w.refs()).complete());
        for other in [
            with(&[("libc", "2.41")]),
            with(&[("PYTHONMALLOC", "malloc"), ("libc", "2.36")]),
        ] {
            assert_ne!(other.dir, base.dir);
            assert!(other.fill(out.path(), &w.refs()).python.is_none());
        }
    }

    #[test]
    fn launcher_scripts_have_no_slot() {
        let w = World::new();
        let shim = w.dir.path().join("shim");
        std::fs::write(&shim, "#!/bin/sh\nexec python3 \"$@\"\n").unwrap();
        assert!(w.cache().slot(&shim, "probe1").is_none());
        assert!(w
            .cache()
            .slot(&w.dir.path().join("missing"), "probe1")
            .is_none());
    }

    #[test]
    fn concurrent_runs_see_whole_files_or_none() {
        let w = World::new();
        let versions = ["v1", "v2"];
        let workdirs: Vec<_> = versions.iter().map(|v| w.checked_workdir(v)).collect();
        let expected = |s: &Scenario| -> Vec<Vec<u8>> {
            versions
                .iter()
                .map(|v| format!("{} {v}", s.name).into_bytes())
                .collect()
        };
        std::thread::scope(|scope| {
            for t in 0..4 {
                let (w, workdirs) = (&w, &workdirs);
                scope.spawn(move || {
                    for i in 0..40 {
                        if (t + i) % 2 == 0 {
                            w.slot()
                                .store(workdirs[i % 2].path(), &info(), &w.refs(), true);
                        } else {
                            let out = tempfile::tempdir().unwrap();
                            let filled = w.slot().fill(out.path(), &w.refs());
                            for (s, hit) in w.scenarios.iter().zip(&filled.code) {
                                if *hit {
                                    let got = std::fs::read(code_file(out.path(), s)).unwrap();
                                    assert!(expected(s).contains(&got), "{got:?}");
                                }
                            }
                        }
                    }
                });
            }
        });
        let out = tempfile::tempdir().unwrap();
        assert_eq!(w.slot().fill(out.path(), &w.refs()).code, [true, true]);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let w = World::new();
        let checked = w.checked_workdir("v1");
        for i in 0..MAX_SLOTS + 3 {
            let slot = w.cache().slot(&w.python, &format!("probe{i}")).unwrap();
            slot.store(checked.path(), &info(), &w.refs(), true);
        }
        let slots = std::fs::read_dir(&w.cache().root).unwrap().count();
        assert_eq!(slots, MAX_SLOTS);
        // The newest is kept.
        let last = w
            .cache()
            .slot(&w.python, &format!("probe{}", MAX_SLOTS + 2))
            .unwrap();
        assert!(last
            .fill(tempfile::tempdir().unwrap().path(), &w.refs())
            .complete());
    }

    #[test]
    fn the_directory_comes_from_the_environment_in_order() {
        // Read through a function of the variables, so no test changes the process's.
        let pick = |vars: &[(&str, &str)]| {
            let get = |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| PathBuf::from(v))
            };
            Cache::choose(get).map(|c| c.root)
        };
        let v1 = |p: &str| Some(Path::new(p).join(LAYOUT));
        assert_eq!(
            pick(&[
                ("MEMREG_CACHE_DIR", "/c"),
                ("XDG_CACHE_HOME", "/x"),
                ("HOME", "/h")
            ]),
            v1("/c")
        );
        assert_eq!(
            pick(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")]),
            v1("/x/memreg")
        );
        assert_eq!(
            pick(&[("XDG_CACHE_HOME", "relative"), ("HOME", "/h")]),
            v1("/h/.cache/memreg")
        );
        assert_eq!(
            pick(&[("MEMREG_CACHE_DIR", ""), ("HOME", "/h")]),
            v1("/h/.cache/memreg")
        );
        assert_eq!(pick(&[]), None);
    }
}
