//! Stored baselines: one JSON file per scenario in `baselines/`, keyed inside by
//! environment, holding every process's raw figures so any comparison can be
//! recomputed.
//!
//! Files are written deterministically (sorted keys, sorted values, two-space
//! indent, trailing newline, no timestamps or host names), so rerunning an update
//! with no real change leaves `git diff` empty; and atomically (temporary file in
//! the same directory, then rename), so an interrupted update leaves the old file.

use super::compare::Kind;
use crate::error::Error;
use crate::figures::Figure;
use crate::probe::wire::Startup;
use crate::probe::PythonInfo;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Version of the file format; files of another version are refused, not rewritten.
pub const FORMAT: u32 = 1;

/// Largest baseline file memreg reads.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineFile {
    pub format: u32,
    pub scenario: String,
    pub environments: BTreeMap<String, Entry>,
}

/// The baseline of one scenario in one environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub python_build: String,
    pub allocator: String,
    /// The modules the interpreter started with (absent in baselines recorded before
    /// memreg kept it: then taken as comparable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<Startup>,
    pub memreg: String,
    pub iterations: u64,
    pub warmup: u64,
    pub figures: BTreeMap<String, StoredFigure>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredFigure {
    pub kind: Kind,
    pub unit: String,
    pub median: f64,
    /// One value per process, sorted.
    pub values: Vec<i64>,
}

impl Entry {
    pub fn new(
        python: &PythonInfo,
        iterations: u64,
        warmup: u64,
        per_process: &[BTreeMap<Figure, i64>],
    ) -> Entry {
        let mut figures = BTreeMap::new();
        for f in Figure::ALL {
            let mut values: Vec<i64> = per_process
                .iter()
                .filter_map(|p| p.get(&f).copied())
                .collect();
            if values.len() != per_process.len() || values.is_empty() {
                continue;
            }
            values.sort();
            let kind = if values.windows(2).all(|w| w[0] == w[1]) {
                Kind::Exact
            } else {
                Kind::Noisy
            };
            let floats: Vec<f64> = values.iter().map(|&v| v as f64).collect();
            figures.insert(
                f.key().to_owned(),
                StoredFigure {
                    kind,
                    unit: f.unit().to_owned(),
                    median: crate::stats::median(&floats),
                    values,
                },
            );
        }
        Entry {
            python_build: python.build.clone(),
            allocator: python.allocator.clone(),
            startup: python.startup.clone(),
            memreg: env!("CARGO_PKG_VERSION").to_owned(),
            iterations,
            warmup,
            figures,
        }
    }

    pub fn values(&self, figure: Figure) -> Option<&[i64]> {
        self.figures.get(figure.key()).map(|f| f.values.as_slice())
    }
}

/// The directory of baseline files.
pub struct BaselineStore {
    pub dir: PathBuf,
}

/// A file name for a scenario: the name itself when it is made of safe characters
/// (letters, digits, `-`, `_`, `.`, not starting with `.`), else a sanitised form
/// plus a hash of the full name, so different names can never share a file and no
/// name can leave the directory.
pub fn file_name(scenario: &str) -> Result<String, Error> {
    if scenario.is_empty() || scenario.chars().any(char::is_control) {
        return Err(Error::BaselineName {
            scenario: scenario.to_owned(),
        });
    }
    let safe = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
    if scenario.chars().all(safe) && !scenario.starts_with('.') && scenario.len() <= 100 {
        return Ok(format!("{scenario}.json"));
    }
    let mut stem: String = scenario
        .chars()
        .map(|c| if safe(c) { c } else { '_' })
        .take(60)
        .collect();
    stem = stem.trim_start_matches('.').to_owned();
    Ok(format!("{stem}~{:016x}.json", fnv1a(scenario.as_bytes())))
}

/// FNV-1a, 64 bits: stable across platforms and releases (unlike std's hasher).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// The file's text, exactly as written: sorted keys, two-space indent, arrays of
/// numbers on one line (one line per figure in a diff), trailing newline.
pub fn render(file: &BaselineFile) -> String {
    // serde_json's Value keeps keys sorted (no preserve_order feature).
    let value = serde_json::to_value(file).expect("baseline serialises");
    let mut out = String::new();
    write_value(&mut out, &value, 0);
    out.push('\n');
    out
}

fn write_value(out: &mut String, v: &serde_json::Value, indent: usize) {
    use serde_json::Value;
    let pad = |n: usize| "  ".repeat(n);
    match v {
        Value::Object(map) if !map.is_empty() => {
            out.push_str("{\n");
            for (i, (k, v)) in map.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                out.push_str(&Value::String(k.clone()).to_string());
                out.push_str(": ");
                write_value(out, v, indent + 1);
                out.push_str(if i + 1 < map.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(indent));
            out.push('}');
        }
        Value::Array(items) if items.iter().any(|x| x.is_object() || x.is_array()) => {
            out.push_str("[\n");
            for (i, x) in items.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                write_value(out, x, indent + 1);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(indent));
            out.push(']');
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(|x| x.to_string()).collect();
            out.push('[');
            out.push_str(&parts.join(", "));
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

impl BaselineStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        BaselineStore { dir: dir.into() }
    }

    pub fn path_for(&self, scenario: &str) -> Result<PathBuf, Error> {
        Ok(self.dir.join(file_name(scenario)?))
    }

    /// The stored baseline of `scenario`, `None` if there is no file.
    pub fn load(&self, scenario: &str) -> Result<Option<BaselineFile>, Error> {
        let path = self.path_for(scenario)?;
        let file = match read_file(&path)? {
            Some(f) => f,
            None => return Ok(None),
        };
        if file.scenario != scenario {
            return Err(Error::BaselineWrongScenario {
                path,
                found: file.scenario,
                expected: scenario.to_owned(),
            });
        }
        Ok(Some(file))
    }

    pub fn save(&self, file: &BaselineFile) -> Result<PathBuf, Error> {
        let path = self.path_for(&file.scenario)?;
        crate::fsio::write_atomic(&path, render(file).as_bytes()).map_err(|message| {
            Error::BaselineWrite {
                path: path.clone(),
                message,
            }
        })?;
        Ok(path)
    }

    /// Every `*.json` file in the directory, sorted; none if it does not exist.
    pub fn files(&self) -> Result<Vec<PathBuf>, Error> {
        let read = match std::fs::read_dir(&self.dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(source) => {
                return Err(Error::BaselineRead {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut out: Vec<PathBuf> = read
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
            .collect();
        out.sort();
        Ok(out)
    }
}

/// Reads and checks one baseline file; `None` if it does not exist.
pub fn read_file(path: &Path) -> Result<Option<BaselineFile>, Error> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::BaselineRead {
                path: path.to_owned(),
                source,
            })
        }
    };
    let corrupt = |message: String| Error::BaselineCorrupt {
        path: path.to_owned(),
        message,
    };
    if !meta.is_file() {
        return Err(corrupt("not a regular file".into()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(corrupt(format!("larger than {} bytes", MAX_FILE_BYTES)));
    }
    let text = std::fs::read_to_string(path).map_err(|source| Error::BaselineRead {
        path: path.to_owned(),
        source,
    })?;
    // Check the version before the shape, so a future format is named as such.
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    match value.get("format").and_then(|f| f.as_u64()) {
        Some(v) if v == FORMAT as u64 => {}
        Some(v) => {
            return Err(Error::BaselineVersion {
                path: path.to_owned(),
                found: v,
                supported: FORMAT,
            })
        }
        None => return Err(corrupt("no `format` field".into())),
    }
    let file: BaselineFile = serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
    Ok(Some(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BaselineFile {
        let mut figures = BTreeMap::new();
        figures.insert(
            "held_native".to_owned(),
            StoredFigure {
                kind: Kind::Noisy,
                unit: "bytes".into(),
                median: 21472.5,
                values: vec![21400, 21472, 21473, 21500, 21600],
            },
        );
        let entry = Entry {
            python_build: "3.11.7 (main) [GCC 12.2.0]".into(),
            allocator: "pymalloc, glibc 2.36".into(),
            startup: None,
            memreg: "0.1.0".into(),
            iterations: 2000,
            warmup: 200,
            figures,
        };
        BaselineFile {
            format: FORMAT,
            scenario: "json \"roundtrip\"".into(),
            environments: [("linux-x86_64-cpython-3.11".to_owned(), entry)].into(),
        }
    }

    #[test]
    fn files_round_trip_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let store = BaselineStore::new(dir.path());
        let file = sample();
        let path = store.save(&file).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n"));
        assert!(
            text.contains("\"values\": [21400, 21472, 21473, 21500, 21600]"),
            "{text}"
        );
        let back = store.load(&file.scenario).unwrap().unwrap();
        assert_eq!(back, file);
        assert_eq!(render(&back), text, "re-rendering is byte-identical");
        // Keys are sorted at every level.
        let env_pos = text.find("\"environments\"").unwrap();
        assert!(env_pos < text.find("\"format\"").unwrap());
    }

    #[test]
    fn corrupt_foreign_and_mismatched_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = BaselineStore::new(dir.path());
        let path = store.path_for("x").unwrap();
        let cases = [
            ("{not json", "x.json: not a memreg baseline file"),
            (
                r#"{"format": 99, "scenario": "x", "environments": {}}"#,
                "x.json: baseline format 99",
            ),
            (
                r#"{"format": 1, "scenario": "y", "environments": {}}"#,
                "holds scenario `y`, expected `x`",
            ),
            (
                r#"{"format": 1, "scenario": "x", "environments": {}, "extra": 1}"#,
                "unknown field `extra`",
            ),
        ];
        for (text, want) in cases {
            std::fs::write(&path, text).unwrap();
            let e = store.load("x").unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
        assert!(store.load("absent").unwrap().is_none());
    }

    #[test]
    fn racing_writers_leave_one_valid_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(BaselineStore::new(dir.path()));
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                std::thread::spawn(move || {
                    let mut f = sample();
                    for round in 0..25 {
                        f.environments.values_mut().next().unwrap().iterations =
                            1000 + i * 100 + round;
                        store.save(&f).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let back = store.load(&sample().scenario).unwrap().unwrap();
        assert_eq!(back.scenario, sample().scenario);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary files left behind");
    }

    #[test]
    fn file_names_are_safe_and_distinct() {
        assert_eq!(file_name("json-roundtrip").unwrap(), "json-roundtrip.json");
        let traversal = file_name("../../etc/passwd").unwrap();
        assert!(
            !traversal.contains('/') && !traversal.starts_with('.'),
            "{traversal}"
        );
        assert_ne!(file_name("a/b").unwrap(), file_name("a_b").unwrap());
        assert_ne!(file_name("a b").unwrap(), file_name("a?b").unwrap());
        assert_ne!(file_name(".hidden").unwrap(), file_name("hidden").unwrap());
        assert!(file_name("..").unwrap().ends_with(".json"));
        assert!(file_name("").is_err());
        assert!(file_name("a\nb").is_err());
        assert_eq!(
            file_name("x[0]").unwrap(),
            file_name("x[0]").unwrap(),
            "stable"
        );
    }
}
