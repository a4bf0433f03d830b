//! Lock segments (extension, DESIGN.md §2.5): remote 64-bit fetch-add, compare-and-swap
//! and swap on 8-byte aligned words, and a lock on a word.
//!
//! A lock word holds 0 when free, else the holder's token `pid << 32 | n` (`n` ≠ 0, unique
//! per acquisition in the holder process). A waiter spins, then yields (briefly: bounded in
//! rounds and in time), then sleeps with exponential back-off (up to ~1 ms); on a
//! single-node controller it breaks a lock whose holder process no longer exists (looked
//! for after ~1 ms of waiting); it gives up with [`ErrorKind::Timeout`] after its timeout.
//! The algorithm runs over the backend's atomics, so every backend with atomics gets locks
//! for free.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use crate::error::{ErrorKind, Result, err};
use crate::sys;
use crate::transport::AtomicOp;

/// Spin this many rounds first (the holder is usually about to release).
const SPIN_ROUNDS: u32 = 32;
/// Then yield until this round, but for no longer than [`YIELD_FOR`]: on an oversubscribed
/// machine a single yield can cost a whole scheduling period, and a waiter that keeps
/// yielding competes with the holder it waits for. Then sleep with back-off (≤ ~1 ms).
const YIELD_ROUNDS: u32 = 64;
/// Longest time spent yielding.
const YIELD_FOR: Duration = Duration::from_micros(500);
/// Dead holders are looked for once waiting lasted this long (or the yield rounds ran out).
const DEAD_CHECK_AFTER: Duration = Duration::from_millis(1);

/// A fresh holder token for this process.
fn token() -> u64 {
    static N: AtomicU32 = AtomicU32::new(1);
    let mut n = N.fetch_add(1, Ordering::Relaxed);
    if n == 0 {
        n = N.fetch_add(1, Ordering::Relaxed);
    }
    ((sys::getpid() as u64) << 32) | n as u64
}

/// Whether the holder of a lock word is known to be gone. Only positive evidence counts:
/// a holder that cannot be checked (no descriptor left to read procfs, ...) keeps its lock.
fn holder_dead(word: u64) -> bool {
    sys::liveness((word >> 32) as u32, None).is_dead()
}

/// The locks one handle holds: (offset, holding thread) → token. A lock belongs to the
/// thread that took it: other threads of the process wait for it like other processes do.
#[derive(Debug, Default)]
pub(crate) struct Held(Mutex<HashMap<(usize, ThreadId), u64>>);

impl Held {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<(usize, ThreadId), u64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One attempt: take the word if free, or if its holder died (`break_dead`).
    fn attempt(
        &self,
        off: usize,
        tok: u64,
        break_dead: bool,
        atomic: &dyn Fn(AtomicOp) -> Result<u64>,
    ) -> Result<bool> {
        let old = atomic(AtomicOp::CompareSwap {
            expected: 0,
            new: tok,
        })?;
        if old == 0 {
            self.map().insert((off, thread::current().id()), tok);
            return Ok(true);
        }
        if break_dead
            && holder_dead(old)
            && atomic(AtomicOp::CompareSwap {
                expected: old,
                new: tok,
            })? == old
        {
            self.map().insert((off, thread::current().id()), tok);
            return Ok(true);
        }
        Ok(false)
    }

    /// `lock`: waits up to `timeout` (`None` = forever). `check` runs between attempts
    /// (it reports a lost connection).
    pub(crate) fn lock(
        &self,
        off: usize,
        timeout: Option<Duration>,
        break_dead: bool,
        atomic: &dyn Fn(AtomicOp) -> Result<u64>,
        check: &dyn Fn() -> Result<()>,
    ) -> Result<()> {
        const OP: &str = "import_lock";
        if self.map().contains_key(&(off, thread::current().id())) {
            return Err(err(
                ErrorKind::PermDenied,
                OP,
                format!("this thread already holds the lock at offset {off}"),
            ));
        }
        let tok = token();
        let start = Instant::now();
        let deadline = timeout.map(|t| start.checked_add(t));
        let mut round: u32 = 0;
        let mut naps: u32 = 0;
        loop {
            let waited = start.elapsed();
            // Dead holders are looked for (a /proc read) only once spinning has not helped.
            let look_for_dead = break_dead && (round >= YIELD_ROUNDS || waited >= DEAD_CHECK_AFTER);
            if self.attempt(off, tok, look_for_dead, atomic)? {
                return Ok(());
            }
            check()?;
            let now = Instant::now();
            let left = match deadline {
                None | Some(None) => None,
                Some(Some(d)) => {
                    if now >= d {
                        return Err(err(
                            ErrorKind::Timeout,
                            OP,
                            format!(
                                "lock at offset {off} still held after {:?}",
                                timeout.unwrap_or_default()
                            ),
                        ));
                    }
                    Some(d - now)
                }
            };
            round = round.saturating_add(1);
            if round < SPIN_ROUNDS {
                std::hint::spin_loop();
            } else if round < YIELD_ROUNDS && waited < YIELD_FOR {
                sys::yield_now();
            } else {
                let mut nap = Duration::from_micros(1 << naps.min(10));
                naps = naps.saturating_add(1);
                if let Some(left) = left {
                    nap = nap.min(left);
                }
                std::thread::sleep(nap);
            }
        }
    }

    /// `trylock`: one attempt (dead holders are broken too).
    pub(crate) fn try_lock(
        &self,
        off: usize,
        break_dead: bool,
        atomic: &dyn Fn(AtomicOp) -> Result<u64>,
    ) -> Result<bool> {
        if self.map().contains_key(&(off, thread::current().id())) {
            return Ok(false);
        }
        self.attempt(off, token(), break_dead, atomic)
    }

    /// `unlock`: [`ErrorKind::PermDenied`] unless this thread holds the lock through this handle.
    pub(crate) fn unlock(
        &self,
        off: usize,
        atomic: &dyn Fn(AtomicOp) -> Result<u64>,
    ) -> Result<()> {
        const OP: &str = "import_unlock";
        let Some(tok) = self.map().remove(&(off, thread::current().id())) else {
            return Err(err(
                ErrorKind::PermDenied,
                OP,
                format!("this thread does not hold the lock at offset {off} through this handle"),
            ));
        };
        let old = atomic(AtomicOp::CompareSwap {
            expected: tok,
            new: 0,
        })?;
        if old != tok {
            return Err(err(
                ErrorKind::PermDenied,
                OP,
                format!(
                    "the lock at offset {off} holds {old:#x}, not this thread's token (it was broken)"
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    fn ops(w: &AtomicU64) -> impl Fn(AtomicOp) -> Result<u64> + '_ {
        move |op| Ok(op.apply(w))
    }

    #[test]
    fn lock_unlock_trylock() {
        let w = AtomicU64::new(0);
        let a = Held::default();
        let b = Held::default();
        let f = ops(&w);
        a.lock(0, Some(Duration::from_secs(1)), true, &f, &|| Ok(()))
            .unwrap();
        assert_eq!(w.load(Ordering::SeqCst) >> 32, std::process::id() as u64);
        assert!(!b.try_lock(0, true, &f).unwrap());
        let e = b
            .lock(0, Some(Duration::from_millis(20)), true, &f, &|| Ok(()))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert_eq!(b.unlock(0, &f).unwrap_err().kind(), ErrorKind::PermDenied);
        assert_eq!(
            a.lock(0, None, true, &f, &|| Ok(())).unwrap_err().kind(),
            ErrorKind::PermDenied
        );
        a.unlock(0, &f).unwrap();
        assert_eq!(w.load(Ordering::SeqCst), 0);
        assert!(b.try_lock(0, true, &f).unwrap());
        b.unlock(0, &f).unwrap();
    }

    #[test]
    fn dead_holder_is_broken() {
        // pid 0x7fff_fff0 does not exist (above pid_max).
        let w = AtomicU64::new((0x7fff_fff0u64 << 32) | 5);
        let a = Held::default();
        let f = ops(&w);
        assert!(!a.try_lock(0, false, &f).unwrap());
        assert!(a.try_lock(0, true, &f).unwrap());
        a.unlock(0, &f).unwrap();
        w.store((0x7fff_fff0u64 << 32) | 5, Ordering::SeqCst);
        a.lock(0, Some(Duration::from_secs(5)), true, &f, &|| Ok(()))
            .unwrap();
    }

    #[test]
    fn check_error_stops_waiting() {
        let w = AtomicU64::new((std::process::id() as u64) << 32 | 9);
        let a = Held::default();
        let f = ops(&w);
        let e = a
            .lock(0, None, true, &f, &|| {
                Err(err(ErrorKind::ConnAborted, "t", "gone"))
            })
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnAborted);
    }
}
