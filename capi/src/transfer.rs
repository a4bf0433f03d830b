//! Import side data transfers (SPEC.md §4.5): `rsm_memseg_import_get8/16/32/64/get` and
//! `rsm_memseg_import_put8/16/32/64/put`.
//!
//! Each call is one handle lookup (the import table's read lock, held for the transfer; no
//! reference count, no allocation) followed by rsm-core's raw transfer, which checks in the reference order: local pointer NULL
//! (`RSMERR_BAD_ADDR`), local pointer and offset alignment (`RSMERR_BAD_MEM_ALIGNMENT`),
//! disconnected (`RSMERR_BAD_SEG_HNDL`), permission (`RSMERR_PERM_DENIED`), outside the
//! mapped window (`RSMERR_BAD_OFFSET`), past the end of the segment
//! (`RSMERR_BAD_LENGTH`; negative offsets count as past the end), implicit mode without a
//! barrier (`RSMERR_BARRIER_UNINITIALIZED`), lost connection (`RSMERR_CONN_ABORTED`).

use core::ffi::{c_int, c_void};
use libc::off_t;

use rsm_core::ErrorKind;

use crate::state::{self, IMPORTS, code, report};
use crate::types::{rsm_memseg_import_handle_t, ulong_t};

/// The error of a handle that is not a live import handle.
#[cold]
fn stale(op: &'static str, h: rsm_memseg_import_handle_t) -> c_int {
    report(&state::not_a_handle(ErrorKind::BadSegHndl, op, h as usize))
}

/// # Safety
/// `src` is NULL or readable for `item * rep` bytes.
#[inline]
unsafe fn put(
    op: &'static str,
    h: rsm_memseg_import_handle_t,
    offset: off_t,
    src: *const u8,
    item: usize,
    rep: ulong_t,
) -> c_int {
    // A transfer never blocks (it copies memory), so it may run under the table's read
    // lock; disconnect waits for it.
    let r = IMPORTS.with(h as usize, |e| {
        // SAFETY: forwarded contract; rsm-core checks NULL, alignment and bounds.
        code(unsafe { e.seg.put_raw(offset as u64, src, item, rep as usize) })
    });
    r.unwrap_or_else(|| stale(op, h))
}

/// # Safety
/// `dst` is NULL or writable for `item * rep` bytes and not otherwise in use.
#[inline]
unsafe fn get(
    op: &'static str,
    h: rsm_memseg_import_handle_t,
    offset: off_t,
    dst: *mut u8,
    item: usize,
    rep: ulong_t,
) -> c_int {
    let r = IMPORTS.with(h as usize, |e| {
        // SAFETY: forwarded contract; rsm-core checks NULL, alignment and bounds.
        code(unsafe { e.seg.get_raw(offset as u64, dst, item, rep as usize) })
    });
    r.unwrap_or_else(|| stale(op, h))
}

crate::entry_points! {
    version "SUNWprivate_1.1";

    /// Copies `rep_cnt` bytes from segment offset `offset` to `datap`.
    ///
    /// # Safety
    /// `datap` is NULL or writable for `rep_cnt` bytes.
    pub unsafe extern "C" fn rsm_memseg_import_get8(
        im_memseg: rsm_memseg_import_handle_t,
        offset: off_t,
        datap: *mut u8,
        rep_cnt: ulong_t,
    ) -> c_int {
        // SAFETY: forwarded contract.
        unsafe { get("import_get8", im_memseg, offset, datap, 1, rep_cnt) }
    }

    /// Copies `rep_cnt` 16-bit items (16-bit loads) from segment offset `offset` (even)
    /// to `datap` (2-aligned).
    ///
    /// # Safety
    /// `datap` is NULL or writable for `rep_cnt` items.
    pub unsafe extern "C" fn rsm_memseg_import_get16(
        im_memseg: rsm_memseg_import_handle_t,
        offset: off_t,
        datap: *mut u16,
        rep_cnt: ulong_t,
    ) -> c_int {
        // SAFETY: forwarded contract.
        unsafe { get("import_get16", im_memseg, offset, datap.cast(), 2, rep_cnt) }
    }

    /// Copies `rep_cnt` 32-bit items from segment offset `offset` (multiple of 4).
    ///
    /// # Safety
    /// `datap` is NULL or writable for `rep_cnt` items.
    pub unsafe extern "C" fn rsm_memseg_import_get32(
        im_memseg: rsm_memseg_import_handle_t,
        offset: off_t,
        datap: *mut u32,
        rep_cnt: ulong_t,
    ) -> c_int {
        // SAFETY: forwarded contract.
        unsafe { get("import_get32", im_memseg, offset, datap.cast(), 4, rep_cnt) }
    }

    /// Copies `rep_cnt` 64-bit items from segment offset `offset` (multiple of 8).
    ///
    /// # Safety
    /// `datap` is NULL or writable for `rep_cnt` items.
    pub unsafe extern "C" fn rsm_memseg_import_get64(
        im_memseg: rsm_memseg_import_handle_t,
        offset: off_t,
        datap: *mut u64,
        rep_cnt: ulong_t,
    ) -> c_int {
        // SAFETY: forwarded contract.
        unsafe { get("import_get64", im_memseg, offset, datap.cast(), 8, rep_cnt) }
    }

    /// Copies `length` bytes from segment offset `offset` to `dst_addr`.
    ///
    /// # Safety
    /// `dst_addr` is NULL or writable for `length` bytes.
    pub unsafe extern "C" fn rsm_memseg_import_get(
        im_memseg: rsm_memseg_import_handle_t,
        offset: off_t,
        dst_addr: *mut c_void,
        length: usize,
    ) -> c_int {
        // SAFETY: forwarded contract.
        unsafe { get("import_get", im_memseg, offset, dst_addr.cast(), 1, length as ulong_t) }
    }

    /// Copies `rep_cnt` bytes from `datap` to segment offset `offset`.
    ///
    /// # Safety
    /// `datap` is NULL or readable for `rep_cnt` bytes.
    pub unsafe extern "C" fn rsm_memseg_import_put8(
        im_memseg: rsm_memseg_import_handle_t,
        offset: off_t,
        datap: *mut u8,
        rep_cnt: ulong_t,
    ) -> c_int {
        // SAFETY: forwarded contract.
        unsafe { put("import_put8", im_memseg, offset, datap, 1, rep_cnt) }
    }

    /// Copies `rep_cnt` 16-bit items (16-bit stores) from `datap` (2-aligned) to segment
    /// offset `offset` (even).
    ///
    /// # Safety
    /// `datap` is NULL or readable for `rep_cnt` items.
    pub unsafe extern "C" fn rsm_memseg_import_put16(
        im_memseg: rsm_memseg_import_handle_t,
        offset: off_t,
        datap: *mut u16,
        rep_cnt: ulong_t,
    ) -> c_int {
        // SAFETY: forwarded contract.
        unsafe { put("import_put16", im_memseg, offset, datap.cast(), 2, rep_cnt) }
    }

    /// Copies `rep_cnt` 32-bit items to segment offset `offset` (multiple of 4).
    ///
    /// # Safety
    /// `datap` is NULL or readable for `rep_cnt` items.
    pub unsafe extern "C" fn rsm_memseg_import_put32(
        im_memseg: rsm_memseg_import_handle_t,
        offset: off_t,
        datap: *mut u32,
        rep_cnt: ulong_t,
    ) -> c_int {
        // SAFETY: forwarded contract.
        unsafe { put("import_put32", im_memseg, offset, datap.cast(), 4, rep_cnt) }
    }

    /// Copies `rep_cnt` 64-bit items to segment offset `offset` (multiple of 8).
    ///
    /// # Safety
    /// `datap` is NULL or readable for `rep_cnt` items.
    pub unsafe extern "C" fn rsm_memseg_import_put64(
        im_memseg: rsm_memseg_import_handle_t,
        offset: off_t,
        datap: *mut u64,
        rep_cnt: ulong_t,
    ) -> c_int {
        // SAFETY: forwarded contract.
        unsafe { put("import_put64", im_memseg, offset, datap.cast(), 8, rep_cnt) }
    }

    /// Copies `length` bytes from `src_addr` to segment offset `offset`.
    ///
    /// # Safety
    /// `src_addr` is NULL or readable for `length` bytes.
    pub unsafe extern "C" fn rsm_memseg_import_put(
        im_memseg: rsm_memseg_import_handle_t,
        offset: off_t,
        src_addr: *mut c_void,
        length: usize,
    ) -> c_int {
        // SAFETY: forwarded contract.
        unsafe { put("import_put", im_memseg, offset, src_addr.cast(), 1, length as ulong_t) }
    }
}
