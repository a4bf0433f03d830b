//! Interrupt signals and poll descriptors (SPEC.md §4.8): `rsm_intr_signal_post`,
//! `rsm_intr_signal_wait`, `rsm_memseg_get_pollfd`, `rsm_memseg_release_pollfd`,
//! `rsm_intr_signal_wait_pollfd`.
//!
//! The `void *` argument of the first four may be an export or an import handle; the
//! handle tables tell them apart (anything else is `RSMERR_BAD_SEG_HNDL`).

use core::ffi::{c_int, c_void};
use std::time::Duration;

use rsm_core::{ErrorKind, RsmError};

use crate::state::{self, AnySegment, code, fail};
use crate::types::{RSM_SIGPOST_NO_ACCUMULATE, uint_t};

/// A C timeout in milliseconds: negative waits without limit, 0 polls once.
pub fn timeout(ms: c_int) -> Option<Duration> {
    u64::try_from(ms).ok().map(Duration::from_millis)
}

fn post(h: *mut c_void, flags: uint_t) -> Result<(), RsmError> {
    // Only RSM_SIGPOST_NO_ACCUMULATE has a meaning; other bits are ignored (Solaris
    // ignores the whole word).
    let flags = flags & RSM_SIGPOST_NO_ACCUMULATE;
    match state::any_segment("intr_signal_post", h as usize)? {
        AnySegment::Export(e) => e.seg.signal_post(flags),
        AnySegment::Import(i) => i.seg.signal_post(flags),
    }
}

fn wait(h: *mut c_void, ms: c_int) -> Result<(), RsmError> {
    let t = timeout(ms);
    match state::any_segment("intr_signal_wait", h as usize)? {
        AnySegment::Export(e) => e.seg.signal_wait(t),
        AnySegment::Import(i) => i.seg.signal_wait(t),
    }
}

fn get_pollfd(h: *mut c_void, fd: *mut libc::pollfd) -> Result<(), RsmError> {
    const OP: &str = "memseg_get_pollfd";
    let seg = state::any_segment(OP, h as usize)?;
    if fd.is_null() {
        return Err(fail(ErrorKind::BadAddr, OP, "fd is NULL"));
    }
    let p = match seg {
        AnySegment::Export(e) => e.seg.get_pollfd(),
        AnySegment::Import(i) => i.seg.get_pollfd(),
    }?;
    // SAFETY: non-NULL, writable (contract of the entry point).
    unsafe { fd.write_unaligned(p) };
    Ok(())
}

fn release_pollfd(h: *mut c_void) -> Result<(), RsmError> {
    match state::any_segment("memseg_release_pollfd", h as usize)? {
        AnySegment::Export(e) => e.seg.release_pollfd(),
        AnySegment::Import(i) => i.seg.release_pollfd(),
    }
}

/// The most descriptors `poll(2)` accepts (`RLIMIT_NOFILE`); more is `EINVAL`.
fn nfds_limit() -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into `r`.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } == 0 {
        r.rlim_cur
    } else {
        1024
    }
}

fn wait_pollfd(
    fds: *mut libc::pollfd,
    nfds: libc::nfds_t,
    ms: c_int,
    numfdsp: *mut c_int,
) -> Result<(), RsmError> {
    const OP: &str = "intr_signal_wait_pollfd";
    if fds.is_null() && nfds > 0 {
        return Err(fail(
            ErrorKind::BadAddr,
            OP,
            format!("fds is NULL with nfds {nfds}"),
        ));
    }
    if nfds > nfds_limit() {
        return Err(fail(
            ErrorKind::BadArgsErrors,
            OP,
            format!("nfds {nfds} exceeds the descriptor limit (poll: EINVAL)"),
        ));
    }
    let slice: &mut [libc::pollfd] = if nfds == 0 {
        &mut []
    } else {
        // SAFETY: non-NULL, `nfds` entries readable and writable (contract), not
        // referenced by anything else during the call; struct pollfd has no invalid bit
        // patterns.
        unsafe { std::slice::from_raw_parts_mut(fds, nfds as usize) }
    };
    let set = |n: usize| {
        if !numfdsp.is_null() {
            // SAFETY: non-NULL, writable (contract).
            unsafe { numfdsp.write_unaligned(n.min(c_int::MAX as usize) as c_int) };
        }
    };
    match rsm_core::wait_pollfd(slice, timeout(ms)) {
        Ok(n) => {
            set(n);
            Ok(())
        }
        Err(e) => {
            if e.kind() == ErrorKind::Timeout {
                set(0);
            }
            Err(e)
        }
    }
}

crate::entry_points! {
    version "SUNWprivate_1.1";

    /// Posts one event: on an import handle to the exporter, on an export handle to every
    /// importer. `flags`: 0 or `RSM_SIGPOST_NO_ACCUMULATE` (dropped if an event is already
    /// pending).
    ///
    /// Errors: `RSMERR_BAD_SEG_HNDL`, `RSMERR_CONN_ABORTED` (import side, connection lost).
    ///
    /// # Safety
    /// Any value may be passed; it is only looked up.
    pub unsafe extern "C" fn rsm_intr_signal_post(im_memseg: *mut c_void, flags: uint_t) -> c_int {
        code(post(im_memseg, flags))
    }

    /// Waits for and consumes one event on an export or import handle; `timeout` in
    /// milliseconds, negative = no limit, 0 = poll once.
    ///
    /// Errors: `RSMERR_BAD_SEG_HNDL`, `RSMERR_TIMEOUT`, `RSMERR_INTERRUPTED`,
    /// `RSMERR_CONN_ABORTED` (import side, connection lost — at once when the exporter
    /// dies).
    ///
    /// # Safety
    /// Any value may be passed; it is only looked up.
    pub unsafe extern "C" fn rsm_intr_signal_wait(im_memseg: *mut c_void, timeout: c_int) -> c_int {
        code(wait(im_memseg, timeout))
    }

    /// Stores the segment's event descriptor (`events = POLLRDNORM`) in `*fd` and takes a
    /// reference (destroy/disconnect fail with `RSMERR_POLLFD_IN_USE` until released). The
    /// descriptor polls readable while events are pending; do not close it.
    ///
    /// Errors: `RSMERR_BAD_SEG_HNDL`, `RSMERR_BAD_ADDR` (`fd` NULL).
    ///
    /// # Safety
    /// `fd` is NULL or writable.
    pub unsafe extern "C" fn rsm_memseg_get_pollfd(memseg: *mut c_void, fd: *mut libc::pollfd) -> c_int {
        code(get_pollfd(memseg, fd))
    }

    /// Drops one reference taken by `rsm_memseg_get_pollfd` (none held: no effect).
    ///
    /// Errors: `RSMERR_BAD_SEG_HNDL`.
    ///
    /// # Safety
    /// Any value may be passed; it is only looked up.
    pub unsafe extern "C" fn rsm_memseg_release_pollfd(memseg: *mut c_void) -> c_int {
        code(release_pollfd(memseg))
    }

    /// `poll(2)` over RSMAPI descriptors and ordinary ones; one event is consumed per
    /// ready RSMAPI descriptor (its `revents` is cleared if another waiter took it).
    /// `*numfdsp` (may be NULL) receives the number of descriptors with events (0 on
    /// timeout). A lost import connection shows as `POLLHUP`.
    ///
    /// Errors: `RSMERR_BAD_ADDR` (`fds` NULL with `nfds` > 0), `RSMERR_TIMEOUT`,
    /// `RSMERR_INTERRUPTED`, `RSMERR_INSUFFICIENT_RESOURCES`, `RSMERR_BAD_ARGS_ERRORS`
    /// (other poll errors, e.g. `nfds` above the descriptor limit).
    ///
    /// # Safety
    /// `fds` is NULL or holds `nfds` entries; `numfdsp` is NULL or writable.
    pub unsafe extern "C" fn rsm_intr_signal_wait_pollfd(
        fds: *mut libc::pollfd,
        nfds: libc::nfds_t,
        timeout: c_int,
        numfdsp: *mut c_int,
    ) -> c_int {
        code(wait_pollfd(fds, nfds, timeout, numfdsp))
    }
}
