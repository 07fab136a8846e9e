//! No descendant outlives its scenario process. A process group reaches what stays
//! in the group; a descendant that calls `setsid()` (a daemon, a double fork, a
//! server started in the background) leaves it, and used to outlive memreg.
//!
//! On Linux memreg is a child subreaper (`PR_SET_CHILD_SUBREAPER`), and so is every
//! scenario process: the probe sets it at its start, before any scenario code runs
//! (`become_subreaper` in src/probe/py/core.py; memreg runs no code between fork and
//! exec, so that its children start by posix_spawn). An
//! orphan is reparented to the nearest living subreaper above it: while a scenario
//! process lives, that is the scenario process itself, so its orphans stay in its
//! own subtree and never mix with another scenario's under `--jobs`. When the
//! scenario process ends, whatever it left running becomes memreg's child. So after
//! every process memreg kills and reaps each child of its own that is not a live
//! scenario process, round after round (the children of a killed process are
//! reparented to memreg in turn), until none is left.
//!
//! Races. A scenario process is registered in [`LIVE`] under the same lock that
//! spawns it and reaped under it, and the sweep holds it while it looks: a sweep
//! never mistakes a scenario process that is starting, running or being reaped for
//! a leftover. Only memreg's own unreaped children are signalled, and their pids
//! cannot be reused before memreg reaps them. When two scenario processes end at the
//! same moment, the orphans of both are memreg's children when the first sweep
//! looks: each scenario process carries a mark in its environment
//! ([`MARK_VAR`], inherited by what it starts and forks), and a sweep leaves a
//! leftover marked by (or in the process group of) another scenario process still
//! registered to that one's own sweep, which is sure to come. Only a leftover that
//! left the group and replaced its environment can be named in the wrong
//! scenario's note; it is killed all the same.
//!
//! Elsewhere (macOS has no subreaper and no /proc) only the process group is killed:
//! a descendant that left the group can outlive memreg (see README).

use std::sync::Mutex;
#[cfg(target_os = "linux")]
use std::time::{Duration, Instant};

/// A scenario process spawned and not yet reaped.
pub(super) struct Live {
    pub pid: libc::pid_t,
    /// The value of [`MARK_VAR`] in its environment.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub mark: String,
}

/// Scenario processes spawned and not yet reaped.
pub(super) static LIVE: Mutex<Vec<Live>> = Mutex::new(Vec::new());

/// The environment variable that marks a scenario process and its descendants.
pub(super) const MARK_VAR: &str = "MEMREG_SCENARIO_PROCESS";

/// A mark no other scenario process of this or another memreg has.
pub(super) fn new_mark() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}.{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// How long a sweep may take before it gives up (a process in uninterruptible
/// sleep cannot be reaped until it wakes).
#[cfg(target_os = "linux")]
const SWEEP_LIMIT: Duration = Duration::from_secs(2);

/// At most this many leftover commands are named in a note.
const NAMED: usize = 3;

/// Makes memreg the reaper of its orphaned descendants (once; Linux).
pub(super) fn become_subreaper() {
    #[cfg(target_os = "linux")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: prctl with integer arguments. If it fails (a very old kernel),
        // leftovers go to init instead and only the process group is killed.
        ONCE.call_once(|| unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        });
    }
}

/// What a finished scenario process (`pid`, also its process group) left running:
/// its orphans and all their descendants, as `(process group, command)`.
#[cfg(target_os = "linux")]
pub(super) fn leftovers(pid: libc::pid_t) -> Vec<(libc::pid_t, String)> {
    let live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    let mut found = Vec::new();
    let mut todo: Vec<libc::pid_t> = orphans(&live, pid);
    drop(live);
    while let Some(p) = todo.pop() {
        if let Some(stat) = stat(p).filter(|s| !s.zombie) {
            found.push((stat.pgid, command(p)));
        }
        todo.extend(children(p));
    }
    found
}

#[cfg(not(target_os = "linux"))]
pub(super) fn leftovers(_pid: libc::pid_t) -> Vec<(libc::pid_t, String)> {
    Vec::new()
}

/// Kills and reaps every child of memreg that is not a live scenario process, and
/// whatever is reparented to memreg as they die, until none is left (or
/// [`SWEEP_LIMIT`] passes). `pid` is the scenario process that just ended.
#[cfg(target_os = "linux")]
pub(super) fn sweep(pid: libc::pid_t) {
    let until = Instant::now() + SWEEP_LIMIT;
    while Instant::now() < until {
        let live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        let found = orphans(&live, pid);
        if found.is_empty() {
            return;
        }
        for &p in &found {
            // SAFETY: p is an unreaped child of memreg, so its pid is not reused.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        for &p in &found {
            reap(p, until);
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn sweep(_pid: libc::pid_t) {}

/// memreg's children that are not live scenario processes, leaving out those that
/// belong to another live scenario process (its own sweep takes them).
#[cfg(target_os = "linux")]
fn orphans(live: &[Live], ended: libc::pid_t) -> Vec<libc::pid_t> {
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    let others: Vec<&Live> = live.iter().filter(|l| l.pid != ended).collect();
    children(me)
        .into_iter()
        .filter(|p| !live.iter().any(|l| l.pid == *p))
        .filter(|&p| {
            let in_group =
                stat(p).is_some_and(|s| s.pgid != p && others.iter().any(|l| l.pid == s.pgid));
            let marked = mark(p).is_some_and(|m| others.iter().any(|l| l.mark == m));
            !in_group && !marked
        })
        .collect()
}

/// The [`MARK_VAR`] a process was started with, if it has one.
#[cfg(target_os = "linux")]
fn mark(pid: libc::pid_t) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let prefix = format!("{MARK_VAR}=");
    environ
        .split(|&b| b == 0)
        .find_map(|v| v.strip_prefix(prefix.as_bytes()))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Waits (polling, bounded) until child `pid` is reaped.
#[cfg(target_os = "linux")]
fn reap(pid: libc::pid_t, until: Instant) {
    loop {
        let mut status = 0;
        // SAFETY: waitpid on one specific child of ours.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r != 0 || Instant::now() >= until {
            return; // reaped, or not ours (-1), or out of time
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(target_os = "linux")]
struct Stat {
    pgid: libc::pid_t,
    zombie: bool,
}

/// State and process group from /proc/PID/stat.
#[cfg(target_os = "linux")]
fn stat(pid: libc::pid_t) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    let mut fields = text.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?;
    let _ppid = fields.next()?;
    Some(Stat {
        pgid: fields.next()?.parse().ok()?,
        zombie: state == "Z" || state == "X",
    })
}

/// The children of `pid`: from every thread's `children` file (CONFIG_PROC_CHILDREN),
/// else by reading every process's parent.
#[cfg(target_os = "linux")]
fn children(pid: libc::pid_t) -> Vec<libc::pid_t> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for task in tasks.flatten() {
        match std::fs::read_to_string(task.path().join("children")) {
            Ok(text) => out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<libc::pid_t>().ok()),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && task.path().exists() => {
                return children_by_scan(pid);
            }
            Err(_) => {} // the thread ended meanwhile
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(target_os = "linux")]
fn children_by_scan(pid: libc::pid_t) -> Vec<libc::pid_t> {
    let Ok(all) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    all.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|&p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|t| {
                    let mut f = t.rsplit_once(')')?.1.split_whitespace();
                    f.nth(1)?.parse::<libc::pid_t>().ok()
                })
                == Some(pid)
        })
        .collect()
}

/// A process's command line as people read it, shortened.
#[cfg(target_os = "linux")]
fn command(pid: libc::pid_t) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let raw = String::from_utf8_lossy(&raw);
    let mut words: Vec<&str> = raw.split('\0').filter(|s| !s.is_empty()).collect();
    if let Some(program) = words.first_mut() {
        // The program's file name: an interpreter's full path says little.
        *program = program.rsplit('/').next().unwrap_or(program);
    }
    let mut text = words.join(" ");
    if text.is_empty() {
        text = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|c| format!("[{}]", c.trim()))
            .unwrap_or_else(|_| "?".into());
    }
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    }
}

/// One line for a scenario's notes: the commands a process left running.
pub fn note(commands: &[String]) -> Option<String> {
    if commands.is_empty() {
        return None;
    }
    let mut distinct: Vec<&str> = commands.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut named: Vec<String> = distinct
        .iter()
        .take(NAMED)
        .map(|c| format!("`{c}`"))
        .collect();
    if distinct.len() > NAMED {
        named.push(format!("and {} more", distinct.len() - NAMED));
    }
    Some(format!(
        "left processes running when it ended (memreg killed them): {}",
        named.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_names_distinct_commands_without_pids() {
        assert_eq!(note(&[]), None);
        let n = note(&[
            "sleep 30".into(),
            "sleep 30".into(),
            "python3 -m http.server".into(),
        ])
        .unwrap();
        assert_eq!(
            n,
            "left processes running when it ended (memreg killed them): `python3 -m http.server`, `sleep 30`"
        );
        let many: Vec<String> = (0..5).map(|i| format!("sleep {i}")).collect();
        assert!(note(&many).unwrap().ends_with("`sleep 2`, and 2 more"));
    }
}
