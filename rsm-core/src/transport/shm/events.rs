//! Interrupt signals over FIFOs. An event is one byte `EVENT` in the receiver's FIFO, so
//! pending events are counted by the pipe (up to its capacity, 64 KiB by default; further
//! posts are dropped while that many are pending). A `KICK` byte only wakes a waiter so it
//! re-checks its connection; it is never counted as an event.
//!
//! On an importer's FIFO the `KICK` of a lost connection is also a boundary. It is written
//! when the segment is revoked (by the exporter, before it removes the name) or when the
//! dead exporter's name is removed (by whoever removes it, before removing): in both cases
//! before the segment id can be published again. So the `EVENT`s ahead of it were posted
//! by the lost publication — a waiter still receives them, one per wait — and anything
//! behind it (a later publication under the same id posting to every FIFO of that id) is
//! never delivered: the first `KICK` a lost connection reads ends its events for good.

use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{ErrorKind, Result, RsmError, err};
use crate::sys;
use crate::types::SIGPOST_NO_ACCUMULATE;

pub(crate) const EVENT: u8 = 1;
pub(crate) const KICK: u8 = 0;

/// FIFO mode for an RSM permission `m`: read+write for every class with any access
/// (posting is writing, waiting is reading; a FIFO opened `O_RDWR` needs both).
pub(crate) fn fifo_mode(m: u32) -> u32 {
    [0, 3, 6]
        .iter()
        .filter(|&&s| (m >> s) & 0o6 != 0)
        .fold(0, |acc, &s| acc | (0o6 << s))
}

/// Posts one event into the FIFO at `path`; delivery failures are ignored (the reference
/// ignores per-importer errors of an export-side post).
pub(crate) fn post_to(path: &Path, flags: u32) {
    if let Ok(fd) = sys::open_fifo(path) {
        post_fd(fd.as_raw_fd(), flags);
    }
}

/// Posts one event into an open FIFO. Returns whether the byte went in (a full pipe or a
/// suppressed `NO_ACCUMULATE` post does not count as an error).
pub(crate) fn post_fd(fd: RawFd, flags: u32) -> bool {
    if flags & SIGPOST_NO_ACCUMULATE != 0 && sys::fionread(fd).unwrap_or(0) > 0 {
        return false;
    }
    matches!(sys::write_byte(fd, EVENT), Ok(true))
}

/// Wakes whoever waits on the FIFO at `path`, without posting an event.
pub(crate) fn kick(path: &Path) {
    if let Ok(fd) = sys::open_fifo(path) {
        let _ = sys::write_byte(fd.as_raw_fd(), KICK);
    }
}

/// Waits until `take` consumes one event. `take` tries without blocking: `Ok(true)` one
/// event consumed, `Ok(false)` nothing pending (and the connection stands), `Err` the
/// handle or its connection is gone. Between tries the wait polls `fd` (readable when a
/// byte arrives) and `peer` (readable when the other side died), up to `timeout`.
pub(crate) fn wait(
    fd: RawFd,
    peer: Option<RawFd>,
    timeout: Option<Duration>,
    take: impl Fn() -> Result<bool>,
) -> Result<()> {
    const OP: &str = "intr_signal_wait";
    let deadline = timeout.map(|t| Instant::now().checked_add(t));
    loop {
        if take()? {
            return Ok(());
        }
        let ms = match deadline {
            None | Some(None) => -1,
            Some(Some(d)) => sys::timeout_ms(Some(d.saturating_duration_since(Instant::now()))),
        };
        let mut p = [
            libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: peer.unwrap_or(-1),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let n = if peer.is_some() { 2 } else { 1 };
        match sys::poll(&mut p[..n], ms) {
            Err(e) => return Err(crate::signal::poll_error(OP, &e)),
            Ok(0) => {
                return Err(err(
                    ErrorKind::Timeout,
                    OP,
                    format!("no event within {:?}", timeout.unwrap_or_default()),
                ));
            }
            // Something arrived (or the peer died): `take` looks at it.
            Ok(_) => {
                if ms == 0 {
                    return match take()? {
                        true => Ok(()),
                        false => Err(err(ErrorKind::Timeout, OP, "no event pending")),
                    };
                }
            }
        }
    }
}

/// Reads one byte of a FIFO for `take`; a failed read is `BAD_ARGS_ERRORS` (as a failed
/// poll would be).
pub(crate) fn read(fd: RawFd) -> Result<Option<u8>> {
    sys::read_byte(fd)
        .map_err(|e| RsmError::os(ErrorKind::BadArgsErrors, "intr_signal_wait", "read", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_modes() {
        assert_eq!(fifo_mode(0o600), 0o600);
        assert_eq!(fifo_mode(0o640), 0o660);
        assert_eq!(fifo_mode(0o402), 0o606);
        assert_eq!(fifo_mode(0), 0);
        assert_eq!(fifo_mode(0o444), 0o666);
    }
}
