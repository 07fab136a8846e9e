//! Where a scenario's compiled code lives: the check process compiles every
//! scenario's parts once and saves the code objects with marshal to a file named
//! after the interpreter and the code (its parts' sources, file names and first
//! lines, which the code objects embed), so the measuring and attribution
//! processes load them instead of compiling (docs/measuring.md §11).
//!
//! A code object is valid only for the interpreter build and optimisation level
//! that made it; the probe checks both when it loads one and compiles the source
//! itself otherwise (`scenario_code` in src/probe/py/core.py).

use super::wire::Part;
use crate::scenario::Scenario;
use std::path::{Path, PathBuf};

/// FNV-1a, 64 bits, over length-prefixed fields (so `("ab", "c")` and `("a", "bc")`
/// differ). Names files; never trusted alone: whatever a name promises is
/// checked against the full key stored beside it (see the cache).
pub struct Digest(u64);

impl Digest {
    pub fn new() -> Digest {
        Digest(0xcbf2_9ce4_8422_2325)
    }

    pub fn field(mut self, bytes: &[u8]) -> Digest {
        for &b in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        self
    }

    pub fn value(&self) -> u64 {
        self.0
    }

    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

impl Default for Digest {
    fn default() -> Self {
        Digest::new()
    }
}

/// What a scenario's compiled code depends on, as one string: every part's name,
/// file name, first line and source.
pub fn code_key(scenario: &Scenario) -> String {
    let mut key = String::new();
    for (name, code) in scenario.parts() {
        let p = Part::new(scenario, name, code);
        key.push_str(&format!(
            "{}\n{}\n{}\n{}\n{}\n",
            name,
            p.filename.len(),
            p.filename,
            p.first_line,
            p.code.len()
        ));
        key.push_str(p.code);
        key.push('\n');
    }
    key
}

/// The file holding `scenario`'s compiled code in a work directory. Named after the
/// code alone: a scenario runs with one interpreter, and code compiled by another
/// build is refused by the probe (its stamp differs).
pub fn code_file(workdir: &Path, scenario: &Scenario) -> PathBuf {
    let name = Digest::new().field(code_key(scenario).as_bytes()).hex();
    workdir.join("code").join(format!("{name}.bin"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_length_prefixed() {
        let a = Digest::new().field(b"ab").field(b"c").hex();
        let b = Digest::new().field(b"a").field(b"bc").hex();
        assert_ne!(a, b);
        assert_eq!(a, Digest::new().field(b"ab").field(b"c").hex());
        assert_eq!(a.len(), 16);
    }
}
