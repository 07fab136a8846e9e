//! End-to-end tests: the real binary, real Python, real files. One test binary.

mod faults;
mod junit;
mod run;
mod schema;
mod support;
