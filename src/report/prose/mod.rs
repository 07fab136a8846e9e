//! The sentences memreg says about a run, in one place: one-line summaries, the
//! lines that explain a failure, how values are written for people. Every format
//! (console, JUnit, Markdown, HTML, JSON, annotations) takes its wording from here,
//! so they say the same thing.

mod baseline;
mod holders;
mod outcome;
mod quantities;

pub use baseline::*;
pub use holders::*;
pub use outcome::*;
pub use quantities::*;
