//! Limits every child inherits from memreg.
//!
//! A scenario that leaks a file descriptor per iteration must reach its verdict (fds
//! grow 1 per iteration) rather than `EMFILE` after ~1,000 iterations where the soft
//! limit is 1024 (the default window looked at 4x longer is 8,200 iterations). So
//! memreg raises its own soft `RLIMIT_NOFILE` towards the hard limit, at most 65,536,
//! as Go programs do at start, once, before its first child: every child inherits it,
//! and the probe need not import `resource` to do it in each process
//! (docs/measuring.md §12). Code that stays under the old limit sees no difference.

/// The most open files a child may have: enough for a descriptor per iteration of the
/// default window looked at 4x longer, several times over.
const WANT: libc::rlim_t = 1 << 16;

/// macOS refuses a soft limit above its per-process maximum (OPEN_MAX, 10,240).
const FALLBACK: libc::rlim_t = 10_240;

pub(super) fn raise_open_files() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = raise(WANT);
    });
}

/// Raises the soft limit towards `want` (capped by the hard limit); the soft limit
/// afterwards, or None when it cannot be read.
fn raise(want: libc::rlim_t) -> Option<libc::rlim_t> {
    let mut lim = open_files()?;
    // SAFETY: setrlimit with a valid pointer to a local rlimit.
    unsafe {
        let hard = lim.rlim_max;
        let cap = if hard == libc::RLIM_INFINITY {
            want
        } else {
            hard.min(want)
        };
        for limit in [cap, FALLBACK.min(cap)] {
            if lim.rlim_cur == libc::RLIM_INFINITY || lim.rlim_cur >= limit {
                break;
            }
            let new = libc::rlimit {
                rlim_cur: limit,
                rlim_max: hard,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &new) == 0 {
                lim.rlim_cur = new.rlim_cur;
                break;
            }
        }
    }
    Some(lim.rlim_cur)
}

/// The soft and hard limits on open files, when they can be read.
fn open_files() -> Option<libc::rlimit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit with a valid pointer to a local rlimit.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0).then_some(lim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_ends_at_least_as_high_and_never_above_the_hard_one() {
        let before = open_files().unwrap();
        let after = raise(WANT).unwrap();
        if before.rlim_cur != libc::RLIM_INFINITY {
            assert!(after >= before.rlim_cur);
        }
        if before.rlim_max != libc::RLIM_INFINITY {
            assert!(after <= before.rlim_max);
        }
        // Raising again changes nothing.
        assert_eq!(raise(WANT), Some(after));
    }
}
