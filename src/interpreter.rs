//! Which Python interpreter a scenario runs with: the one people mean.
//!
//! In order, the first that applies:
//!
//! 1. `--python` on the command line (for every scenario);
//! 2. the scenario's `python:`;
//! 3. the active virtualenv (`$VIRTUAL_ENV/bin/python`);
//! 4. the environment memreg is installed in: `python` beside memreg's own executable
//!    (`venv/bin/memreg` next to `venv/bin/python`), so `venv/bin/memreg` run without
//!    activating `venv` uses the interpreter that has the user's package. Skipped for the
//!    private environments of tool installers (pipx, `uv tool install`, uvx), which hold
//!    memreg and nothing of the user's: see [`is_tool_environment`];
//! 5. `python3` on `PATH`.
//!
//! Looking a name up on `PATH` skips the `bin` directories of such tool environments too:
//! uvx puts its environment's `bin` first on `PATH`, and its `python3` is not the user's.
//!
//! A leaf: depends on no other module of the crate. It returns the path and the rule that
//! chose it, so the run's banner can say why.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};

/// The rule that chose an interpreter, in order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    Flag,
    Scenario,
    ActiveVirtualenv,
    InstalledEnvironment,
    PathPython3,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::Flag => "--python",
            Rule::Scenario => "scenario `python:`",
            Rule::ActiveVirtualenv => "active virtualenv ($VIRTUAL_ENV)",
            Rule::InstalledEnvironment => "memreg's own environment",
            Rule::PathPython3 => "python3 on PATH",
        })
    }
}

/// An interpreter and the rule that chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub path: PathBuf,
    pub rule: Rule,
}

/// The interpreter a rule named does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound {
    pub name: String,
    pub rule: Rule,
}

/// What the choice depends on besides the two settings: read from the process by
/// [`Context::from_process`], given directly by tests.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `$VIRTUAL_ENV`.
    pub virtual_env: Option<OsString>,
    /// memreg's own executable.
    pub exe: Option<PathBuf>,
    /// `$PATH`.
    pub path: Option<OsString>,
}

impl Context {
    pub fn from_process() -> Context {
        Context {
            virtual_env: std::env::var_os("VIRTUAL_ENV"),
            exe: std::env::current_exe().ok(),
            path: std::env::var_os("PATH"),
        }
    }
}

/// The interpreter for a scenario: `flag` is `--python`, `scenario` its `python:`. A name
/// without a slash is looked up on `PATH`; a path is taken as it is (made absolute).
pub fn choose(
    flag: Option<&str>,
    scenario: Option<&str>,
    cx: &Context,
) -> Result<Choice, NotFound> {
    let (name, rule) = if let Some(p) = flag {
        (p.to_owned(), Rule::Flag)
    } else if let Some(p) = scenario {
        (p.to_owned(), Rule::Scenario)
    } else if let Some(venv) = cx.virtual_env.as_ref().filter(|v| !v.is_empty()) {
        let python = Path::new(venv).join("bin").join("python");
        (python.display().to_string(), Rule::ActiveVirtualenv)
    } else if let Some(path) = cx.exe.as_deref().and_then(installed_environment) {
        return Ok(Choice {
            path,
            rule: Rule::InstalledEnvironment,
        });
    } else {
        ("python3".to_owned(), Rule::PathPython3)
    };
    match find_program(&name, cx.path.as_deref()) {
        Some(path) => Ok(Choice { path, rule }),
        None => Err(NotFound { name, rule }),
    }
}

/// `python` (else `python3`) beside memreg's executable, unless that directory belongs to
/// a tool installer's private environment.
fn installed_environment(exe: &Path) -> Option<PathBuf> {
    let bin = exe.parent()?;
    if bin.parent().is_some_and(is_tool_environment) {
        return None;
    }
    ["python", "python3"]
        .iter()
        .map(|name| bin.join(name))
        .find(|p| p.is_file())
}

/// Whether `root` is an environment a tool installer made for memreg alone, where the
/// user's packages are not: `pipx install` (writes `pipx_metadata.json` into the
/// environment), `uv tool install` (`uv-receipt.toml`), and the throw-away environments
/// of uvx and `pipx run`, which live inside a cache directory (`uv`'s
/// `archive-v0/ID/`, pipx's `.cache/ID/`), marked by `CACHEDIR.TAG` one or two levels
/// up. (Not the environment's own `CACHEDIR.TAG`: `uv venv` writes one into every
/// virtualenv it makes, the user's too.) For those, the user means the interpreter they
/// run their code with: the active virtualenv, else `python3` on PATH.
fn is_tool_environment(root: &Path) -> bool {
    root.join("pipx_metadata.json").is_file()
        || root.join("uv-receipt.toml").is_file()
        || root
            .ancestors()
            .skip(1)
            .take(2)
            .any(|dir| dir.join("CACHEDIR.TAG").is_file())
}

fn find_program(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    let candidate = Path::new(name);
    if candidate.components().count() > 1 {
        return candidate
            .is_file()
            .then(|| std::path::absolute(candidate).unwrap_or(candidate.to_owned()));
    }
    std::env::split_paths(path?)
        .filter(|dir| !dir.parent().is_some_and(is_tool_environment))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch tree of empty files standing in for interpreters and markers.
    struct Tree(tempfile::TempDir);

    impl Tree {
        fn new(files: &[&str]) -> Tree {
            let t = Tree(tempfile::tempdir().unwrap());
            for f in files {
                let p = t.at(f);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, "").unwrap();
            }
            t
        }

        fn at(&self, rel: &str) -> PathBuf {
            self.0.path().join(rel)
        }

        fn cx(&self, venv: Option<&str>, exe: &str, path: &[&str]) -> Context {
            Context {
                virtual_env: venv.map(|v| self.at(v).into_os_string()),
                exe: Some(self.at(exe)),
                path: Some(std::env::join_paths(path.iter().map(|d| self.at(d))).unwrap()),
            }
        }
    }

    fn chosen(r: Result<Choice, NotFound>) -> (PathBuf, Rule) {
        let c = r.unwrap();
        (c.path, c.rule)
    }

    #[test]
    fn each_rule_in_order() {
        let t = Tree::new(&[
            "flag/python",
            "scenario/python",
            "active/bin/python",
            "venv/pyvenv.cfg",
            "venv/bin/python",
            "venv/bin/memreg",
            "usr/bin/python3",
        ]);
        let flag = t.at("flag/python").display().to_string();
        let scen = t.at("scenario/python").display().to_string();
        let cx = t.cx(Some("active"), "venv/bin/memreg", &["usr/bin"]);
        let (flag, scen) = (Some(flag.as_str()), Some(scen.as_str()));
        let rows = [
            (flag, scen, cx.clone(), "flag/python", Rule::Flag),
            (None, scen, cx.clone(), "scenario/python", Rule::Scenario),
            (
                None,
                None,
                cx.clone(),
                "active/bin/python",
                Rule::ActiveVirtualenv,
            ),
            (
                None,
                None,
                t.cx(None, "venv/bin/memreg", &["usr/bin"]),
                "venv/bin/python",
                Rule::InstalledEnvironment,
            ),
            (
                None,
                None,
                t.cx(None, "elsewhere/memreg", &["usr/bin"]),
                "usr/bin/python3",
                Rule::PathPython3,
            ),
            // An empty $VIRTUAL_ENV is no virtualenv.
            (
                None,
                None,
                Context {
                    virtual_env: Some(OsString::new()),
                    ..t.cx(None, "elsewhere/memreg", &["usr/bin"])
                },
                "usr/bin/python3",
                Rule::PathPython3,
            ),
        ];
        for (flag, scenario, cx, want, rule) in rows {
            assert_eq!(chosen(choose(flag, scenario, &cx)), (t.at(want), rule));
        }
    }

    #[test]
    fn tool_installers_environments_are_not_the_users() {
        let t = Tree::new(&[
            "pipx/venvs/memreg/pipx_metadata.json",
            "pipx/venvs/memreg/bin/python",
            "pipx/venvs/memreg/bin/memreg",
            "tools/memreg/uv-receipt.toml",
            "tools/memreg/bin/python",
            "tools/memreg/bin/memreg",
            "cache/uv/CACHEDIR.TAG",
            "cache/uv/archive-v0/abc/CACHEDIR.TAG",
            "cache/uv/archive-v0/abc/bin/python",
            "cache/uv/archive-v0/abc/bin/python3",
            "cache/uv/archive-v0/abc/bin/memreg",
            "pipx/.cache/CACHEDIR.TAG",
            "pipx/.cache/def/bin/python",
            "pipx/.cache/def/bin/memreg",
            "usr/bin/python3",
        ]);
        for exe in [
            "pipx/venvs/memreg/bin/memreg",
            "tools/memreg/bin/memreg",
            "cache/uv/archive-v0/abc/bin/memreg",
            "pipx/.cache/def/bin/memreg",
        ] {
            assert_eq!(
                chosen(choose(None, None, &t.cx(None, exe, &["usr/bin"]))),
                (t.at("usr/bin/python3"), Rule::PathPython3),
                "{exe}"
            );
        }
        // uvx puts its environment's bin first on PATH: its python3 is skipped too, for
        // a bare `--python python3` as well.
        let uvx = t.cx(
            None,
            "cache/uv/archive-v0/abc/bin/memreg",
            &["cache/uv/archive-v0/abc/bin", "usr/bin"],
        );
        assert_eq!(
            chosen(choose(None, None, &uvx)),
            (t.at("usr/bin/python3"), Rule::PathPython3)
        );
        assert_eq!(
            chosen(choose(Some("python3"), None, &uvx)),
            (t.at("usr/bin/python3"), Rule::Flag)
        );
        // An active virtualenv still wins over PATH for them.
        let t2 = Tree::new(&["work/.venv/bin/python", "pipx/venvs/memreg/bin/memreg"]);
        assert_eq!(
            chosen(choose(
                None,
                None,
                &t2.cx(Some("work/.venv"), "pipx/venvs/memreg/bin/memreg", &[])
            )),
            (t2.at("work/.venv/bin/python"), Rule::ActiveVirtualenv)
        );
    }

    #[test]
    fn a_virtualenv_made_by_uv_venv_is_the_users() {
        // `uv venv` writes CACHEDIR.TAG into the virtualenv itself.
        let t = Tree::new(&[
            "proj/.venv/CACHEDIR.TAG",
            "proj/.venv/pyvenv.cfg",
            "proj/.venv/bin/python",
            "proj/.venv/bin/memreg",
            "usr/bin/python3",
        ]);
        assert_eq!(
            chosen(choose(
                None,
                None,
                &t.cx(
                    None,
                    "proj/.venv/bin/memreg",
                    &["proj/.venv/bin", "usr/bin"]
                )
            )),
            (t.at("proj/.venv/bin/python"), Rule::InstalledEnvironment)
        );
        assert_eq!(
            chosen(choose(
                Some("python"),
                None,
                &t.cx(None, "x/memreg", &["proj/.venv/bin", "usr/bin"])
            )),
            (t.at("proj/.venv/bin/python"), Rule::Flag)
        );
    }

    #[test]
    fn python3_beside_memreg_counts_when_there_is_no_python() {
        // A conda environment or a system installation: no pyvenv.cfg, no `python`.
        let t = Tree::new(&["env/bin/python3", "env/bin/memreg"]);
        assert_eq!(
            chosen(choose(None, None, &t.cx(None, "env/bin/memreg", &[]))),
            (t.at("env/bin/python3"), Rule::InstalledEnvironment)
        );
    }

    #[test]
    fn names_are_looked_up_on_path_and_missing_ones_say_which_rule() {
        let t = Tree::new(&["a/python3.12", "b/python3"]);
        let cx = t.cx(None, "x/memreg", &["a", "b"]);
        assert_eq!(
            chosen(choose(Some("python3.12"), None, &cx)),
            (t.at("a/python3.12"), Rule::Flag)
        );
        assert_eq!(
            choose(None, Some("python9"), &cx),
            Err(NotFound {
                name: "python9".into(),
                rule: Rule::Scenario
            })
        );
        let gone = t.cx(Some("deleted-venv"), "x/memreg", &["b"]);
        let err = choose(None, None, &gone).unwrap_err();
        assert_eq!(err.rule, Rule::ActiveVirtualenv);
        assert!(err.name.ends_with("deleted-venv/bin/python"), "{err:?}");
        assert_eq!(
            choose(None, None, &t.cx(None, "x/memreg", &["a"])),
            Err(NotFound {
                name: "python3".into(),
                rule: Rule::PathPython3
            })
        );
    }

    #[test]
    fn the_banner_names_each_rule() {
        let shown: Vec<String> = [
            Rule::Flag,
            Rule::Scenario,
            Rule::ActiveVirtualenv,
            Rule::InstalledEnvironment,
            Rule::PathPython3,
        ]
        .iter()
        .map(Rule::to_string)
        .collect();
        assert_eq!(
            shown,
            [
                "--python",
                "scenario `python:`",
                "active virtualenv ($VIRTUAL_ENV)",
                "memreg's own environment",
                "python3 on PATH"
            ]
        );
    }
}
