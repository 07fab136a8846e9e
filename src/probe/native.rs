//! The probe's native readers: a small Python extension module (src/probe/c/readers.c,
//! built by build.rs) that reads the measuring loop's counters and makes the probe a
//! subreaper in one C call each, in place of _ctypes (docs/measuring.md §11).
//!
//! memreg embeds the module and writes it into each run's work directory, where the
//! probe loads it by path (counters.py, `Native`); the probe falls back to _ctypes
//! where it is missing or the interpreter refuses it (another architecture or C
//! library, a free-threaded build, a work directory mounted `noexec`).

use std::path::Path;

/// The module's file: empty where build.rs did not build it (not Linux with glibc,
/// or no C compiler for the target).
pub const MODULE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/readers.so"));

/// Its file name in the work directory (the probe's `Native.FILE`); the module's
/// init function is named after it.
pub const FILE: &str = "_memreg_readers.so";

/// Writes the module into the run's work directory, once per run, when memreg has
/// one.
pub fn install(workdir: &Path) -> std::io::Result<()> {
    if MODULE.is_empty() {
        return Ok(());
    }
    std::fs::write(workdir.join(FILE), MODULE)
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn linux_builds_embed_the_module() {
        // A shared object (ELF), not the empty stand-in of a failed build.
        assert_eq!(&super::MODULE[..4], b"\x7fELF");
    }
}
