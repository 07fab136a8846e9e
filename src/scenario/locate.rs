//! Where do `setup`, `run` and `teardown` start in the YAML text?
//!
//! The YAML parser gives locations for errors but not for values, and a traceback
//! that says `scenarios/cache.yaml, line 12` is worth a lot. This scanner finds the
//! key lines of block-style YAML; each candidate is then verified against the
//! parsed string (its first lines must stand on the lines claimed), and anything
//! it cannot vouch for gets no location, so a wrong line is never reported.

use std::collections::HashMap;

/// The code keys, and `pytest:` (whose line errors of its expansion name).
const CODE_KEYS: [&str; 4] = ["setup", "run", "teardown", "pytest"];

/// For each scenario in the file (in order), the 1-based line where each code key's
/// content starts, when the scanner found one.
pub(crate) fn code_starts(text: &str, list_form: bool) -> Vec<HashMap<&'static str, usize>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<HashMap<&'static str, usize>> = Vec::new();
    if !list_form {
        out.push(HashMap::new());
    }
    let mut block_owner_indent: Option<usize> = None;
    let mut item_indent: Option<usize> = None;
    let mut seen_scenarios_key = false;

    for (i, line) in lines.iter().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let body = &line[indent..];
        if let Some(owner) = block_owner_indent {
            if body.trim().is_empty() || indent > owner {
                continue; // inside a block scalar
            }
            block_owner_indent = None;
        }
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let mut key_indent = indent;
        let mut rest = body;
        if let Some(after_dash) = body.strip_prefix("- ") {
            if list_form && seen_scenarios_key && item_indent.is_none_or(|ii| ii == indent) {
                item_indent = Some(indent);
                out.push(HashMap::new());
            }
            let extra = after_dash.len() - after_dash.trim_start().len();
            key_indent = indent + 2 + extra;
            rest = after_dash.trim_start();
        }
        let Some((key, value)) = split_key(rest) else {
            continue;
        };
        if list_form && key == "scenarios" && indent == 0 {
            seen_scenarios_key = true;
            continue;
        }
        let value_trim = value.trim();
        let is_block = value_trim.starts_with('|') || value_trim.starts_with('>');
        if is_block {
            block_owner_indent = Some(key_indent);
        }
        let Some(&code_key) = CODE_KEYS.iter().find(|k| **k == key) else {
            continue;
        };
        let at_scenario_level = if list_form {
            item_indent.is_some_and(|ii| key_indent == ii + 2)
        } else {
            key_indent == 0
        };
        if !at_scenario_level {
            continue;
        }
        let start = if value_trim.starts_with('|') {
            Some(i + 2) // literal block: content begins on the next line
        } else if is_block || value_trim.starts_with('"') || value_trim.starts_with('\'') {
            None // folded or quoted: the string's lines are not the file's lines
        } else {
            Some(i + 1) // plain scalar on the key's line
        };
        if let (Some(start), Some(map)) = (start, out.last_mut()) {
            map.insert(code_key, start);
        }
    }
    out
}

/// `key: value` or `key:` at the start of a block-style line.
fn split_key(s: &str) -> Option<(&str, &str)> {
    let colon = s.find(':')?;
    let key = &s[..colon];
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let rest = &s[colon + 1..];
    (rest.is_empty() || rest.starts_with(' ')).then_some((key, rest))
}

/// Accepts a claimed start line only if the code's non-blank lines stand, in order,
/// on the file's lines from there (indentation aside). Returns the line if so.
pub(crate) fn verify(text: &str, code: &str, start: usize) -> Option<usize> {
    let file_lines: Vec<&str> = text.lines().collect();
    for (offset, code_line) in code.lines().enumerate().take(50) {
        if code_line.trim().is_empty() {
            continue;
        }
        let file_line = file_lines.get(start - 1 + offset)?;
        // A plain scalar shares its line with the key: `run: pass`.
        if !file_line.trim().ends_with(code_line.trim()) {
            return None;
        }
    }
    Some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_scenario_literal_and_plain() {
        let text = "name: a\nsetup: |\n  import json\n  x = 1\nrun: json.dumps(x)\n";
        let got = code_starts(text, false);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["setup"], 3);
        assert_eq!(got[0]["run"], 5);
        assert_eq!(verify(text, "import json\nx = 1\n", 3), Some(3));
        assert_eq!(verify(text, "json.dumps(x)", 5), Some(5));
    }

    #[test]
    fn list_form_assigns_keys_to_items() {
        let text = "scenarios:\n  - name: a\n    run: |\n      pass\n  - name: b\n    pythonpath:\n      - src\n    setup: |\n      run: = 1\n    run: x\n";
        let got = code_starts(text, true);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0]["run"], 4);
        assert_eq!(got[1]["setup"], 9);
        assert_eq!(got[1]["run"], 10);
    }

    #[test]
    fn folded_and_quoted_get_no_line() {
        let text = "run: >\n  a\n  b\nsetup: \"x\\ny\"\n";
        let got = code_starts(text, false);
        assert!(!got[0].contains_key("run"));
        assert!(!got[0].contains_key("setup"));
    }

    #[test]
    fn verify_rejects_a_wrong_claim() {
        let text = "run: |\n  a = 1\n";
        assert_eq!(verify(text, "b = 2\n", 2), None);
        assert_eq!(verify(text, "a = 1\n", 2), Some(2));
    }
}
