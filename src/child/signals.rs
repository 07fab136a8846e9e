//! Stop signals: SIGINT, SIGTERM and SIGHUP end a run the way Ctrl-C always did.
//! The handler only records the signal; the code that runs children sees
//! [`CANCELLED`], stops every process group, and the run ends as interrupted.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Set when a stop signal arrives (see [`stop_on_signals`]); every running child is
/// killed when it is seen, and no new one starts.
pub static CANCELLED: AtomicBool = AtomicBool::new(false);

/// The number of the signal that set [`CANCELLED`] (0 before one arrived).
static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// A signal that stops a run: SIGINT (Ctrl-C), SIGTERM (`timeout`, `docker stop`, CI
/// cancellation, systemd), SIGHUP (the terminal went away). Each ends the run the same
/// way; only the exit code (128 + the signal's number) tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopSignal {
    HangUp,
    Interrupt,
    Terminate,
}

impl StopSignal {
    pub const ALL: [StopSignal; 3] = [
        StopSignal::HangUp,
        StopSignal::Interrupt,
        StopSignal::Terminate,
    ];

    pub fn number(self) -> i32 {
        match self {
            StopSignal::HangUp => libc::SIGHUP,
            StopSignal::Interrupt => libc::SIGINT,
            StopSignal::Terminate => libc::SIGTERM,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StopSignal::HangUp => "SIGHUP",
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
        }
    }

    fn from_number(n: i32) -> Option<StopSignal> {
        StopSignal::ALL.into_iter().find(|s| s.number() == n)
    }
}

/// The stop signal that arrived, if one did.
pub fn stopped_by() -> Option<StopSignal> {
    StopSignal::from_number(STOP_SIGNAL.load(Ordering::SeqCst))
}

extern "C" fn on_stop_signal(signal: libc::c_int) {
    // Only atomic stores: all a signal handler may safely do. The first signal is
    // the one reported.
    let _ = STOP_SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
    CANCELLED.store(true, Ordering::SeqCst);
}

/// Makes SIGINT, SIGTERM and SIGHUP stop the run instead of killing memreg outright:
/// the handler sets [`CANCELLED`], every running child's process group is stopped
/// (SIGTERM, grace period, SIGKILL) and the run ends as interrupted, so reports are
/// written and the work directory removed.
pub fn stop_on_signals() -> std::io::Result<()> {
    for s in StopSignal::ALL {
        // SAFETY: a zeroed sigaction with a handler that only stores atomics
        // (async-signal-safe); SA_RESTART keeps blocking calls of other threads going.
        let r = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_stop_signal as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(s.number(), &action, std::ptr::null_mut())
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
