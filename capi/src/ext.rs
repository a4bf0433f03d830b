//! The lock-segment extension (`rsmapi_ext.h`, symbol node `RSMEXT_1.0`): 64-bit remote
//! atomics and word locks on segments exported with `RSM_LOCK_OPS`.
//!
//! Checks, in order (rsm-core): handle (`RSMERR_BAD_SEG_HNDL`), controller without atomics
//! (`RSMERR_LOCKS_NOT_SUPPORTED`), segment without `RSM_LOCK_OPS`
//! (`RSMERR_LOCKS_NOT_ENABLED`), offset not a multiple of 8 (`RSMERR_BAD_MEM_ALIGNMENT`),
//! connection not read-write (`RSMERR_PERM_DENIED`), word outside the segment
//! (`RSMERR_BAD_OFFSET`; negative offsets too), lost connection (`RSMERR_CONN_ABORTED`).

use core::ffi::c_int;
use libc::off_t;

use rsm_core::{ErrorKind, RsmError};

use crate::events::timeout;
use crate::state::{self, code, fail};
use crate::types::rsm_memseg_import_handle_t;

/// Runs `f` on the import segment and stores its result in `*old` unless `old` is NULL.
fn atomic(
    op: &'static str,
    h: rsm_memseg_import_handle_t,
    old: *mut u64,
    f: impl FnOnce(&rsm_core::ImportSegment) -> Result<u64, RsmError>,
) -> c_int {
    code((|| {
        let e = state::import(op, h as usize)?;
        let v = f(&e.seg)?;
        if !old.is_null() {
            // SAFETY: non-NULL, writable (contract of the entry points).
            unsafe { old.write_unaligned(v) };
        }
        Ok(())
    })())
}

crate::entry_points! {
    version "RSMEXT_1.0";

    /// Atomically adds `add` to the word at `offset`; the previous value goes to `*old`
    /// unless `old` is NULL.
    ///
    /// # Safety
    /// `old` is NULL or writable.
    pub unsafe extern "C" fn rsm_memseg_import_atomic_fadd64(
        im_memseg: rsm_memseg_import_handle_t,
        offset: off_t,
        add: u64,
        old: *mut u64,
    ) -> c_int {
        atomic("import_atomic_fadd64", im_memseg, old, |s| {
            s.fetch_add64(offset as u64, add)
        })
    }

    /// Atomically replaces the word at `offset` by `desired` if it equals `expected`; the
    /// previous value goes to `*old` unless `old` is NULL. Success whether or not it
    /// matched.
    ///
    /// # Safety
    /// `old` is NULL or writable.
    pub unsafe extern "C" fn rsm_memseg_import_atomic_cas64(
        im_memseg: rsm_memseg_import_handle_t,
        offset: off_t,
        expected: u64,
        desired: u64,
        old: *mut u64,
    ) -> c_int {
        atomic("import_atomic_cas64", im_memseg, old, |s| {
            s.compare_swap64(offset as u64, expected, desired)
        })
    }

    /// Atomically stores `value` in the word at `offset`; the previous value goes to
    /// `*old` unless `old` is NULL.
    ///
    /// # Safety
    /// `old` is NULL or writable.
    pub unsafe extern "C" fn rsm_memseg_import_atomic_swap64(
        im_memseg: rsm_memseg_import_handle_t,
        offset: off_t,
        value: u64,
        old: *mut u64,
    ) -> c_int {
        atomic("import_atomic_swap64", im_memseg, old, |s| {
            s.swap64(offset as u64, value)
        })
    }

    /// Takes the lock word at `offset`, waiting up to `timeout_ms` (negative: no limit,
    /// 0: one attempt); `RSMERR_TIMEOUT` if it stays held. The lock belongs to the calling
    /// thread (through this handle) and is not recursive.
    ///
    /// # Safety
    /// Any values may be passed.
    pub unsafe extern "C" fn rsm_memseg_import_lock(
        im_memseg: rsm_memseg_import_handle_t,
        offset: off_t,
        timeout_ms: c_int,
    ) -> c_int {
        code((|| {
            let e = state::import("import_lock", im_memseg as usize)?;
            e.seg.lock(offset as u64, timeout(timeout_ms))
        })())
    }

    /// Takes the lock word at `offset` if it is free; `RSMERR_TIMEOUT` if it is held.
    ///
    /// # Safety
    /// Any values may be passed.
    pub unsafe extern "C" fn rsm_memseg_import_trylock(
        im_memseg: rsm_memseg_import_handle_t,
        offset: off_t,
    ) -> c_int {
        code((|| {
            let e = state::import("import_trylock", im_memseg as usize)?;
            if e.seg.try_lock(offset as u64)? {
                Ok(())
            } else {
                Err(fail(
                    ErrorKind::Timeout,
                    "import_trylock",
                    format!("the lock at offset {offset} is held"),
                ))
            }
        })())
    }

    /// Releases the lock word at `offset`; `RSMERR_PERM_DENIED` unless the calling thread
    /// holds it through this handle.
    ///
    /// # Safety
    /// Any values may be passed.
    pub unsafe extern "C" fn rsm_memseg_import_unlock(
        im_memseg: rsm_memseg_import_handle_t,
        offset: off_t,
    ) -> c_int {
        code((|| {
            let e = state::import("import_unlock", im_memseg as usize)?;
            e.seg.unlock(offset as u64)
        })())
    }
}
