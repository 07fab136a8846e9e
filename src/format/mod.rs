//! The output formats, one module each: the console table, JUnit XML, Markdown,
//! JSON, HTML and GitHub annotations. Each renders the report model
//! (`crate::report`) with its shared wording (`report::prose`) and knows nothing of
//! statistics, the probe, or the other formats.

pub mod console;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
