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

/// A 64-bit digest over length-prefixed fields (so `("ab", "c")` and `("a", "bc")`
/// differ), eight bytes at a time: each word is mixed in by a multiply and an
/// xor-shift. Names files and checks them for corruption; never trusted alone:
/// whatever a name promises is checked against the full key stored beside it (see
/// the cache). A `const fn`, so the probe's own digest is computed when memreg is
/// built, not in every run.
pub struct Digest(u64);

impl Digest {
    pub const fn new() -> Digest {
        Digest(0xcbf2_9ce4_8422_2325)
    }

    pub const fn field(self, bytes: &[u8]) -> Digest {
        let mut h = mix(self.0, bytes.len() as u64);
        let mut rest = bytes;
        while let Some((word, tail)) = rest.split_first_chunk::<8>() {
            h = mix(h, u64::from_le_bytes(*word));
            rest = tail;
        }
        // The last 1 to 7 bytes, zero-padded (the length above keeps them apart).
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            let mut i = 0;
            while i < rest.len() {
                last[i] = rest[i];
                i += 1;
            }
            h = mix(h, u64::from_le_bytes(last));
        }
        Digest(h)
    }

    pub const fn value(&self) -> u64 {
        self.0
    }

    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

const fn mix(h: u64, w: u64) -> u64 {
    let h = (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^ (h >> 29)
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

    #[test]
    fn every_byte_and_every_length_counts() {
        let base = vec![7u8; 37];
        let d = |b: &[u8]| Digest::new().field(b).value();
        let mut seen = std::collections::HashSet::new();
        for n in 0..=base.len() {
            assert!(seen.insert(d(&base[..n])), "length {n}");
        }
        for i in 0..base.len() {
            for bit in 0..8 {
                let mut flipped = base.clone();
                flipped[i] ^= 1 << bit;
                assert!(seen.insert(d(&flipped)), "byte {i} bit {bit}");
            }
        }
    }
}
