//! Builds the probe's native readers (src/probe/c/readers.c) into a Python
//! extension module that memreg embeds and writes into each run's work directory
//! (src/probe/native.rs). Linux with glibc only, where the readers it replaces go
//! through _ctypes. The module is an optimisation: where it cannot be built (no C
//! compiler for the target), memreg is built without it, says so once here, and the
//! probe reads the same counters through _ctypes.

use std::path::PathBuf;

const SOURCE: &str = "src/probe/c/readers.c";

fn main() {
    println!("cargo:rerun-if-changed={SOURCE}");
    println!("cargo:rerun-if-changed=build.rs");
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("readers.so");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let built = if os == "linux" && env == "gnu" {
        match compile(&out) {
            Ok(()) => true,
            Err(why) => {
                println!(
                    "cargo:warning=memreg is built without its native readers ({why}); \
                     the probe reads its counters through _ctypes instead"
                );
                false
            }
        }
    } else {
        false
    };
    if !built {
        // An empty module: memreg writes none and the probe uses _ctypes.
        std::fs::write(&out, b"").expect("OUT_DIR is writable");
    }
}

fn compile(out: &std::path::Path) -> Result<(), String> {
    let compiler = cc::Build::new()
        .opt_level(2)
        .debug(false)
        .pic(true)
        .warnings(true)
        .try_get_compiler()
        .map_err(|e| e.to_string())?;
    let mut command = compiler.to_command();
    command
        .args(["-shared", "-fvisibility=hidden", "-o"])
        .arg(out)
        .arg(SOURCE);
    let result = command
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", compiler.path()))?;
    if !result.status.success() {
        return Err(format!(
            "{:?} failed: {}",
            compiler.path(),
            String::from_utf8_lossy(&result.stderr).trim()
        ));
    }
    for line in String::from_utf8_lossy(&result.stderr).lines() {
        println!("cargo:warning={line}");
    }
    Ok(())
}
