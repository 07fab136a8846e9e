//! End-to-end tests: the real binary, real Python, real files. One test binary.

mod baseline;
mod faults;
mod junit;
mod run;
mod schema;
mod support;
