//! GitHub Actions workflow commands (when `GITHUB_ACTIONS=true`): an `::error` per
//! failing scenario at the leaking source line when that file is in the repository,
//! else at the scenario file; at most ten, the rest pointed to the step summary.
//!
//! Values are escaped as the runner expects (`%`, CR, LF; in properties also `:` and
//! `,`), and scenario output is printed between `::stop-commands::` markers with a
//! random token so a scenario cannot inject workflow commands.

use crate::report::prose;
use crate::report::{Check, Outcome, RunReport};
use crate::text::printable;
use std::io::Write;
use std::path::Path;

pub const MAX_ANNOTATIONS: usize = 10;

pub fn enabled() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Escapes a command's message.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command's property value.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn write_annotations(w: &mut dyn Write, run: &RunReport, root: &Path) -> std::io::Result<()> {
    let failing: Vec<&Outcome> = run
        .outcomes
        .iter()
        .filter(|o| matches!(o.status(), Check::Failed | Check::Errored))
        .collect();
    for o in failing.iter().take(MAX_ANNOTATIONS) {
        let (file, line) = o.location(root);
        let mut props = format!("file={}", escape_property(&file));
        if let Some(l) = line {
            props.push_str(&format!(",line={l}"));
        }
        props.push_str(&format!(
            ",title={}",
            escape_property(&format!("memreg: {}", o.name))
        ));
        let message = prose::detail_lines(o).join("\n");
        writeln!(w, "::error {props}::{}", escape_data(&printable(&message)))?;
    }
    if failing.len() > MAX_ANNOTATIONS {
        writeln!(
            w,
            "::notice title=memreg::{}",
            escape_data(&format!(
                "{} more failing scenarios are not annotated; see the step summary or the JUnit report",
                failing.len() - MAX_ANNOTATIONS
            ))
        )?;
    }
    Ok(())
}

/// A token no scenario can guess, for `::stop-commands::`.
pub fn stop_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("memreg-{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_runner_rules() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
        assert_eq!(
            escape_data("::error::injected"),
            "::error::injected",
            "data is one line after escaping"
        );
        assert_ne!(stop_token(), "");
    }
}
