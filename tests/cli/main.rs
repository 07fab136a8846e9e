//! End-to-end tests: the real binary, real Python, real files. One test binary.

mod asyncio;
mod attribution;
mod baseline;
mod cache;
mod console;
mod faults;
mod holders;
mod integrity;
mod interpreter;
mod interrupt;
mod junit;
mod pipeline;
mod probe_python;
mod pytest;
mod reports;
mod resources;
mod run;
mod schema;
mod signals;
mod support;
mod verdict;
mod workflows;
