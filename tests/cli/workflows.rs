//! The GitHub files: every `run:` step names its `shell:`, and no script interpolates
//! `${{ }}` (inputs reach scripts through `env:`), in the action and all workflows.
//! (actionlint and zizmor run in scripts/lint_workflows.sh, called by test.sh.)

use std::path::{Path, PathBuf};

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml")
            && !p.ends_with("zizmor.yml")
        {
            out.push(p);
        }
    }
}

fn steps(v: &yaml_serde::Value) -> Vec<&yaml_serde::Value> {
    let mut out = Vec::new();
    if let Some(s) = v
        .get("runs")
        .and_then(|r| r.get("steps"))
        .and_then(|s| s.as_sequence())
    {
        out.extend(s);
    }
    if let Some(jobs) = v.get("jobs").and_then(|j| j.as_mapping()) {
        for (_, job) in jobs {
            if let Some(s) = job.get("steps").and_then(|s| s.as_sequence()) {
                out.extend(s);
            }
        }
    }
    out
}

#[test]
fn run_steps_name_their_shell_and_take_inputs_through_env() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    assert!(files.len() >= 3, "{files:?}");
    let mut runs = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let v: yaml_serde::Value =
            yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for step in steps(&v) {
            if let Some(script) = step.get("run").and_then(|r| r.as_str()) {
                runs += 1;
                let name = step.get("name").and_then(|n| n.as_str()).unwrap_or("?");
                assert!(
                    step.get("shell").is_some(),
                    "{}: step `{name}` has no shell",
                    f.display()
                );
                assert!(
                    !script.contains("${{"),
                    "{}: step `{name}` interpolates ${{{{ }}}} in its script",
                    f.display()
                );
            }
        }
    }
    assert!(runs >= 8, "found {runs} run steps");
}

/// Every `uses:` of an action from another repository, in `.github/` and in the
/// README's examples, is a full commit SHA with its version in a comment, and one
/// version of an action has one SHA everywhere (and one SHA one version). (zizmor checks `.github/` too, but not
/// the README, and not that the comments agree.)
#[test]
fn actions_are_pinned_to_commit_shas_with_their_versions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    yaml_files(&root.join(".github"), &mut files);
    files.push(root.join("README.md"));
    let mut shas: std::collections::BTreeMap<String, String> = Default::default();
    let mut versions: std::collections::BTreeMap<String, String> = Default::default();
    let mut pinned = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let at = format!("{}:{}", f.display(), i + 1);
            let Some(used) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses:")
                .map(str::trim)
            else {
                continue;
            };
            if used.starts_with("./") {
                continue;
            }
            if used.starts_with("OWNER/REPO/") {
                // memreg's own action in the README: the user pins a release's SHA.
                assert!(used.contains("@COMMIT_SHA # v"), "{at}: {used}");
                continue;
            }
            let (action, pin) = used
                .split_once('@')
                .unwrap_or_else(|| panic!("{at}: {used}"));
            let (sha, comment) = pin
                .split_once(" # ")
                .unwrap_or_else(|| panic!("{at}: `{used}` has no version comment"));
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{at}: `{used}` is not pinned to a full commit SHA"
            );
            let version = comment.split_whitespace().next().unwrap_or("");
            assert!(version.starts_with('v'), "{at}: `{used}`: version comment");
            let previous = shas.insert(format!("{action}@{version}"), sha.to_owned());
            assert!(
                previous.is_none_or(|p| p == sha),
                "{at}: {action} {version} pinned to two SHAs"
            );
            let previous = versions.insert(format!("{action}@{sha}"), version.to_owned());
            assert!(
                previous.is_none_or(|p| p == version),
                "{at}: {action}@{sha} commented as two versions"
            );
            pinned += 1;
        }
    }
    assert!(pinned >= 20, "found {pinned} pinned uses");
}
