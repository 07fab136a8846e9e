//! Running one child process the way a test harness must: in its own process group
//! (so a timeout reaches grandchildren too), stdin closed, stdout and stderr merged
//! into one bounded capture, a deadline, a memory watch, and no orphans left behind.
//!
//! Why not `duct`: its `kill()` does not reach grandchildren (docs/measuring.md §9),
//! and its capture keeps all output in memory; std's `Command::process_group` and
//! `std::io::pipe` do what is needed with one reader thread.
//!
//! `signals` turns SIGINT, SIGTERM and SIGHUP into [`CANCELLED`]; `reap` finds and
//! kills what a process left running outside its process group; `limits` raises the
//! open-files limit every child inherits.

mod limits;
mod reap;
mod signals;

pub use signals::{stop_on_signals, stopped_by, StopSignal, CANCELLED};

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How often a running child's clock, memory and Ctrl-C are checked.
const WATCH: Duration = Duration::from_millis(10);

/// Time between SIGTERM and SIGKILL when a child must stop.
const GRACE: Duration = Duration::from_millis(500);

pub struct Spec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    /// Kill the child when its resident memory passes this many bytes (Linux).
    pub memory_limit: Option<u64>,
    /// Bytes of output kept: half from the start, half from the end.
    pub output_cap: usize,
    /// A file descriptor of memreg's the child inherits under the same number (all
    /// others are closed on exec): a channel the child's stdout cannot reach.
    pub inherit_fd: Option<i32>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Ending {
    Exited(i32),
    Signalled(i32),
    TimedOut,
    MemoryLimit { rss: u64 },
    Cancelled,
}

#[derive(Debug)]
pub struct Finished {
    pub ending: Ending,
    pub output: Captured,
    pub elapsed: Duration,
    /// A note naming what the process left running when it ended (memreg killed
    /// it), if it left anything: its process group's survivors, and descendants that
    /// left the group. After a timeout or a kill, only the latter.
    pub left_running: Option<String>,
}

#[derive(Debug)]
pub enum SpawnError {
    NotFound,
    Other(std::io::Error),
}

/// Runs `spawn` with `fd` (if any) inheritable, and makes it close-on-exec again
/// after. Called under [`reap::LIVE`]'s lock, which every spawn of memreg's takes, so
/// no other child of memreg's gets the descriptor.
fn inheriting<T>(
    fd: Option<i32>,
    spawn: impl FnOnce() -> std::io::Result<T>,
) -> std::io::Result<T> {
    let Some(fd) = fd else {
        return spawn();
    };
    // SAFETY: fcntl on a descriptor memreg owns and keeps open meanwhile.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    let spawned = spawn();
    // SAFETY: as above.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    spawned
}

/// The start and the end of a stream, and how much was thrown away between them.
#[derive(Clone, Debug, Default)]
pub struct Captured {
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    total: u64,
    half: usize,
}

impl Captured {
    fn new(cap: usize) -> Self {
        Captured {
            half: cap / 2,
            ..Default::default()
        }
    }

    fn push(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        let room = self.half.saturating_sub(self.head.len());
        let n = room.min(data.len());
        self.head.extend_from_slice(&data[..n]);
        data = &data[n..];
        if data.len() > self.half {
            data = &data[data.len() - self.half..];
        }
        self.tail.extend(data);
        let excess = self.tail.len().saturating_sub(self.half);
        self.tail.drain(..excess);
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// The kept output as text, with a marker where bytes were dropped.
    pub fn text(&self) -> String {
        let kept = self.head.len() + self.tail.len();
        let mut out = String::from_utf8_lossy(&self.head).into_owned();
        let dropped = self.total - kept as u64;
        if dropped > 0 {
            out.push_str(&format!("\n[... {dropped} bytes of output left out ...]\n"));
        }
        let tail: Vec<u8> = self.tail.iter().copied().collect();
        out.push_str(&String::from_utf8_lossy(&tail));
        out
    }
}

pub fn run(spec: &Spec) -> Result<Finished, SpawnError> {
    reap::become_subreaper();
    limits::raise_open_files();
    let (reader, writer) = std::io::pipe().map_err(SpawnError::Other)?;
    let writer2 = writer.try_clone().map_err(SpawnError::Other)?;
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer2)
        .process_group(0);
    // No code runs between fork and exec (no `pre_exec`), so std starts the child
    // with posix_spawn (vfork semantics: memreg's memory is not copied, and none of
    // its pages fault afterwards): ~1.7 ms of memreg's CPU time per five processes
    // (docs/measuring.md §11). The scenario process makes itself a subreaper at its
    // start instead (the probe, before any scenario code: reap.rs), and the one
    // descriptor it inherits is made inheritable only while it is spawned (below).
    let mark = reap::new_mark();
    cmd.env(reap::MARK_VAR, &mark);
    let start = Instant::now();
    let mut child = {
        // Registered under the lock it is spawned under: a sweep never sees it
        // unregistered (see reap).
        let mut live = reap::LIVE.lock().unwrap_or_else(|e| e.into_inner());
        let child = inheriting(spec.inherit_fd, || cmd.spawn()).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                SpawnError::NotFound
            }
            _ => SpawnError::Other(e),
        })?;
        live.push(reap::Live {
            pid: child.id() as libc::pid_t,
            mark,
        });
        child
    };
    drop(cmd); // closes our copies of the pipe's write end
    let pid = child.id() as libc::pid_t;

    let (tx, rx) = mpsc::channel();
    let cap = spec.output_cap;
    std::thread::spawn(move || {
        let mut captured = Captured::new(cap);
        let mut reader = reader;
        let mut buf = [0u8; 16 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => captured.push(&buf[..n]),
            }
        }
        let _ = tx.send(captured);
    });

    // A waiter thread blocks until the child exits (leaving it a zombie), so exit is
    // seen at once; this thread wakes every WATCH to check the clock, Ctrl-C and
    // memory.
    let (exit_tx, exit_rx) = mpsc::channel();
    std::thread::spawn(move || {
        wait_without_reaping(pid);
        let _ = exit_tx.send(());
    });
    let deadline = start + spec.timeout;
    let ending = loop {
        match exit_rx.recv_timeout(WATCH) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break Ending::Exited(0),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if CANCELLED.load(Ordering::SeqCst) {
            stop_group(pid);
            break Ending::Cancelled;
        }
        if Instant::now() >= deadline {
            stop_group(pid);
            break Ending::TimedOut;
        }
        if let Some(limit) = spec.memory_limit {
            if let Some(rss) = rss_of(pid) {
                if rss > limit {
                    stop_group(pid);
                    break Ending::MemoryLimit { rss };
                }
            }
        }
    };
    // Whatever the scenario started and left running goes with it: first named (a
    // process stopped for a timeout or a kill had its group stopped on purpose; what
    // left the group is still worth a note), then killed and reaped.
    let stopped = !matches!(ending, Ending::Exited(_));
    if stopped {
        // Killed just now: its orphans are reparented to memreg when it has exited.
        let _ = exit_rx.recv();
    }
    let left: Vec<String> = reap::leftovers(pid)
        .into_iter()
        .filter(|(group, _)| !stopped || *group != pid)
        .map(|(_, command)| command)
        .collect();
    kill_group(pid, libc::SIGKILL);
    reap::sweep(pid);
    let status = {
        // Reaped under the lock, so no sweep takes its pid for a leftover meanwhile.
        let mut live = reap::LIVE.lock().unwrap_or_else(|e| e.into_inner());
        let status = child.wait();
        live.retain(|l| l.pid != pid);
        status.map_err(SpawnError::Other)?
    };
    let elapsed = start.elapsed();
    let ending = match ending {
        Ending::Exited(_) | Ending::Signalled(_) => match (status.code(), status.signal()) {
            (Some(c), _) => Ending::Exited(c),
            (None, Some(s)) => Ending::Signalled(s),
            _ => Ending::Exited(-1),
        },
        other => other,
    };
    // Every descendant is gone on Linux, so the pipe is closed; elsewhere a process
    // that left the group (setsid) could hold it open forever: do not wait for it.
    let output = rx.recv_timeout(Duration::from_secs(2)).unwrap_or_else(|_| {
        let mut c = Captured::new(cap);
        c.push(b"[output unavailable: a process outside memreg's control kept the pipe open]");
        c
    });
    Ok(Finished {
        ending,
        output,
        elapsed,
        left_running: reap::note(&left),
    })
}

/// Polls for exit while leaving the child a zombie, so its pid (and so the process
/// group id) cannot be reused before the group is cleaned up.
fn exited_without_reaping(pid: libc::pid_t) -> Option<Ending> {
    // SAFETY: waitid with a zeroed siginfo_t out-parameter; WNOWAIT leaves the child
    // waitable for Child::wait.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let r = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        if r == 0 && info.si_pid() != 0 {
            return Some(Ending::Exited(0)); // the real status is read by wait()
        }
        if r != 0 {
            return Some(Ending::Exited(-1));
        }
    }
    None
}

/// Blocks until the child has exited, leaving it waitable (WNOWAIT).
fn wait_without_reaping(pid: libc::pid_t) {
    loop {
        // SAFETY: as in exited_without_reaping, without WNOHANG.
        let r = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return;
        }
    }
}

/// SIGTERM to the group, a grace period, then SIGKILL.
fn stop_group(pid: libc::pid_t) {
    kill_group(pid, libc::SIGTERM);
    let until = Instant::now() + GRACE;
    while Instant::now() < until {
        if exited_without_reaping(pid).is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    kill_group(pid, libc::SIGKILL);
}

fn kill_group(pgid: libc::pid_t, signal: i32) {
    // SAFETY: plain syscall; ESRCH (group already gone) is fine.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

#[cfg(target_os = "linux")]
fn rss_of(pid: libc::pid_t) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

#[cfg(not(target_os = "linux"))]
fn rss_of(_pid: libc::pid_t) -> Option<u64> {
    None // the probe's RLIMIT_AS is the only guard here; see README
}

#[cfg(target_os = "linux")]
fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as u64 }
}

pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGINT => "SIGINT",
        libc::SIGPIPE => "SIGPIPE",
        _ => "signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_head_and_tail() {
        let mut c = Captured::new(8);
        c.push(b"abcdefghijklmnopqrstuvwxyz");
        assert_eq!(c.total(), 26);
        let t = c.text();
        assert!(t.starts_with("abcd"), "{t}");
        assert!(t.ends_with("wxyz"), "{t}");
        assert!(t.contains("18 bytes of output left out"), "{t}");
    }

    #[test]
    fn capture_small_output_is_whole() {
        let mut c = Captured::new(100);
        c.push(b"hello ");
        c.push(b"world");
        assert_eq!(c.text(), "hello world");
    }
}
