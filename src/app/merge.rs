//! `memreg merge`: the `--json` reports of shards joined into one run report. An
//! interrupted shard's report is accepted: its scenarios that never ran stay not run.

use crate::error::{Error, Errors};
use crate::format::json;
use crate::report::{Outcome, RunReport};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Joins shard reports: every scenario once (a scenario in two reports is an
/// error, the shards overlap), the longest elapsed time, the earliest start, the
/// first host named, interrupted if any was.
pub fn merge(paths: &[PathBuf]) -> Result<RunReport, Errors> {
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let (mut elapsed, mut interrupted) = (Duration::ZERO, false);
    let (mut started, mut hostname) = (None, None);
    let mut stopped_by = None;
    let mut errors = Vec::new();
    for path in paths {
        let part = match read(path) {
            Ok(r) => r,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        for o in part.outcomes {
            if let Some(first) = seen.insert(o.name.clone(), path.clone()) {
                errors.push(Error::ShardOverlap {
                    path: path.clone(),
                    scenario: o.name.clone(),
                    other: first,
                });
            }
            outcomes.push(o);
        }
        elapsed = elapsed.max(part.elapsed);
        interrupted |= part.interrupted;
        started = started.into_iter().chain(part.started).min();
        hostname = hostname.or(part.hostname);
        stopped_by = stopped_by.or(part.stopped_by);
    }
    if !errors.is_empty() {
        return Err(Errors(errors));
    }
    Ok(RunReport {
        outcomes,
        elapsed,
        interrupted,
        started,
        hostname,
        stopped_by,
    })
}

fn read(path: &Path) -> Result<RunReport, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::ReadReport {
        path: path.to_owned(),
        message: format!("cannot read: {e}"),
    })?;
    json::read(&text).map_err(|message| Error::ReadReport {
        path: path.to_owned(),
        message,
    })
}
