//! `pytest:`: a scenario that names a pytest test, or a selection of tests, instead
//! of code. A selection is expanded before anything runs (the application asks
//! pytest, in the scenario's interpreter, what it collects) into one scenario per
//! test, named by the test's node id, with the settings of the test's `memreg`
//! marker over the scenario file's. Marker settings are validated by the same
//! schema as the file's, and a bad one is an error at the test's file:line.

use super::load::{build, LoadError};
use super::schema::{check_name, RawScenario};
use super::{Body, Scenario};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The scenario keys a test's `memreg` marker may set. The others decide which
/// tests there are and how they are collected (`pytest`, `python`, `env`,
/// `pythonpath`), name them, or are code: they belong to the scenario file.
pub const MARKER_KEYS: [&str; 12] = [
    "description",
    "iterations",
    "warmup",
    "processes",
    "timeout",
    "memory_limit",
    "tolerance",
    "expect",
    "metrics",
    "regression",
    "attribution",
    "confirm",
];

/// A `pytest:` selection as the scenario file writes it.
#[derive(Clone, Debug)]
pub struct PytestSelection {
    /// pytest command-line arguments: node ids, paths, options (`-m`, `-k`, `-p`).
    pub args: Vec<String>,
    /// The scenario's own `name:`, put before each test's node id.
    pub prefix: Option<String>,
    /// Line of the `pytest:` key in the scenario file, when found.
    pub line: Option<usize>,
    /// The scenario's YAML mapping, which each test's marker settings go over.
    pub(crate) yaml: yaml_serde::Value,
}

/// One collected test, as a scenario body.
#[derive(Clone, Debug, PartialEq)]
pub struct PytestTest {
    /// The test as typed on pytest's command line from `invocation_dir` (its node
    /// id when pytest's rootdir is that directory).
    pub selector: String,
    /// pytest's node id (relative to pytest's rootdir).
    pub nodeid: String,
    /// The test function's file, relative to `invocation_dir`, and its line.
    pub file: PathBuf,
    pub line: Option<usize>,
    /// The selection's options (its arguments less paths and node ids), passed on
    /// with the one test.
    pub options: Vec<String>,
    /// The directory pytest runs in: memreg's working directory.
    pub invocation_dir: PathBuf,
}

/// A test as pytest's collection reports it (the probe's `expand` mode).
#[derive(Clone, Debug, Deserialize)]
pub struct CollectedTest {
    pub nodeid: String,
    pub selector: String,
    pub file: String,
    pub line: Option<usize>,
    /// Keyword arguments of the test's `memreg` markers (function over class over
    /// module), or none.
    pub memreg: Option<serde_json::Map<String, serde_json::Value>>,
}

impl PytestSelection {
    /// The scenario of one collected test: named by its selector (after the
    /// scenario's `name:` and `::`, when it has one), with `base`'s settings under
    /// the test's marker settings.
    pub fn scenario_for(
        &self,
        base: &Scenario,
        test: &CollectedTest,
        options: &[String],
        invocation_dir: &Path,
    ) -> Result<Scenario, LoadError> {
        let name = match &self.prefix {
            Some(p) => format!("{p}::{}", test.selector),
            None => test.selector.clone(),
        };
        let err = |message: String| LoadError {
            path: PathBuf::from(&test.file),
            location: test.line.map(|l| (l, 1)),
            scenario: Some(name.clone()),
            message,
        };
        check_name(&name).map_err(|m| err(format!("the test's scenario name: {m}")))?;
        let mut yaml = self.yaml.clone();
        let Some(mapping) = yaml.as_mapping_mut() else {
            return Err(err("the scenario is not a mapping".into()));
        };
        mapping.remove("name");
        for (key, value) in test.memreg.iter().flatten() {
            check_marker_setting(key, value).map_err(&err)?;
            let value = yaml_serde::to_value(value).map_err(|e| err(e.to_string()))?;
            mapping.insert(key.as_str().into(), value);
        }
        let raw: RawScenario =
            yaml_serde::from_value(yaml).map_err(|e| err(format!("`memreg` marker: {e}")))?;
        let mut s = build(&base.file, "", raw, name.clone(), None).map_err(|es| {
            let messages: Vec<&str> = es.iter().map(|e| e.message.as_str()).collect();
            err(format!("`memreg` marker: {}", messages.join("; ")))
        })?;
        s.body = Body::Test(PytestTest {
            selector: test.selector.clone(),
            nodeid: test.nodeid.clone(),
            file: PathBuf::from(&test.file),
            line: test.line,
            options: options.to_vec(),
            invocation_dir: invocation_dir.to_owned(),
        });
        Ok(s)
    }
}

impl PytestSelection {
    /// Whether `name` could be the scenario of one of this selection's tests,
    /// judged by its shape alone (the scenario's `name:` and `::` first when it has
    /// one, then a node id `FILE.py::...` with FILE a relative path that stays
    /// inside the working directory). `baseline apply` uses it: it must accept
    /// candidates for tests without running the project's code to collect them.
    pub fn claims(&self, name: &str) -> bool {
        let id = match &self.prefix {
            Some(p) => name
                .strip_prefix(p.as_str())
                .and_then(|r| r.strip_prefix("::")),
            None => Some(name),
        };
        let Some((file, rest)) = id.and_then(|id| id.split_once("::")) else {
            return false;
        };
        let path = Path::new(file);
        !rest.is_empty()
            && file.ends_with(".py")
            && path.is_relative()
            && path
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
    }
}

/// One marker keyword argument, checked alone so that an error names it.
fn check_marker_setting(key: &str, value: &serde_json::Value) -> Result<(), String> {
    if !MARKER_KEYS.contains(&key) {
        return Err(match key {
            "pytest" | "python" | "env" | "pythonpath" => format!(
                "`memreg` marker: `{key}` cannot be set per test (it decides how tests are collected): set it in the scenario file"
            ),
            "name" | "run" | "setup" | "teardown" => format!(
                "`memreg` marker: `{key}` cannot be set per test"
            ),
            _ => format!(
                "`memreg` marker: unknown setting `{key}`; expected one of {}",
                MARKER_KEYS.join(", ")
            ),
        });
    }
    let mut alone = yaml_serde::Mapping::new();
    alone.insert("pytest".into(), "t".into());
    alone.insert(
        key.into(),
        yaml_serde::to_value(value).map_err(|e| e.to_string())?,
    );
    yaml_serde::from_value::<RawScenario>(yaml_serde::Value::Mapping(alone))
        .map(drop)
        .map_err(|e| format!("`memreg` marker: `{key}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_selection_claims_names_shaped_like_its_tests() {
        let mut sel = PytestSelection {
            args: vec!["tests/".into()],
            prefix: None,
            line: None,
            yaml: yaml_serde::Value::Null,
        };
        assert!(sel.claims("tests/test_x.py::test_a[json]"));
        assert!(sel.claims("test_x.py::TestC::test_m"));
        for not in [
            "json-roundtrip",
            "tests/test_x.py",
            "/etc/x.py::t",
            "../x.py::t",
            "a.txt::t",
        ] {
            assert!(!sel.claims(not), "{not}");
        }
        sel.prefix = Some("smoke".into());
        assert!(sel.claims("smoke::tests/test_x.py::test_a"));
        assert!(!sel.claims("tests/test_x.py::test_a"));
    }

    #[test]
    fn marker_settings_are_checked_one_by_one() {
        use serde_json::json;
        assert!(check_marker_setting("iterations", &json!(500)).is_ok());
        assert!(check_marker_setting("tolerance", &json!("64 B")).is_ok());
        assert!(check_marker_setting("metrics", &json!(["blocks"])).is_ok());
        let e = check_marker_setting("iterations", &json!(5)).unwrap_err();
        assert!(
            e.contains("`iterations`") && e.contains("at least 16"),
            "{e}"
        );
        let e = check_marker_setting("python", &json!("python3")).unwrap_err();
        assert!(e.contains("cannot be set per test"), "{e}");
        let e = check_marker_setting("itertions", &json!(1)).unwrap_err();
        assert!(e.contains("unknown setting `itertions`"), "{e}");
        let e = check_marker_setting("expect", &json!("maybe")).unwrap_err();
        assert!(e.contains("`expect`"), "{e}");
    }
}
