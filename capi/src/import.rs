//! Import side, connection and mapping (SPEC.md §4.4, §4.7 modes): connect, disconnect,
//! map, unmap, get_mode, set_mode.

use core::ffi::{c_int, c_void};
use libc::off_t;
use std::sync::Arc;

use rsm_core::{BarrierMode, ErrorKind, ImportSegment, MapAttr, RsmError};

use crate::state::{self, BARRIERS, IMPORTS, ImportEntry, code, fail};
use crate::types::{
    rsm_attribute_t, rsm_barrier_mode_t, rsm_memseg_id_t, rsm_memseg_import_handle_t,
    rsm_node_id_t, rsm_permission_t, rsmapi_controller_handle_t,
};

fn connect(
    ctrl_h: usize,
    node: rsm_node_id_t,
    id: rsm_memseg_id_t,
    perm: rsm_permission_t,
    out: *mut rsm_memseg_import_handle_t,
) -> Result<(), RsmError> {
    const OP: &str = "import_connect";
    let ctrl = state::controller(OP, ctrl_h)?;
    if out.is_null() {
        return Err(fail(
            ErrorKind::BadSegHndl,
            OP,
            "im_memseg out-pointer is NULL",
        ));
    }
    // SAFETY: non-NULL, writable (contract of the entry point).
    unsafe { out.write_unaligned(std::ptr::null_mut()) };
    let seg = ImportSegment::connect(&ctrl.ctrl, node, id, perm)?;
    let h = IMPORTS
        .insert(Arc::new(ImportEntry { seg }))
        .map_err(|_| fail(ErrorKind::InsufficientResources, OP, "too many segments"))?;
    // SAFETY: as above.
    unsafe { out.write_unaligned(h as rsm_memseg_import_handle_t) };
    Ok(())
}

fn disconnect(h: usize) -> Result<(), RsmError> {
    let e = state::import("import_disconnect", h)?;
    e.seg.disconnect()?;
    IMPORTS.remove(h);
    // Barriers of a disconnected segment are gone too; their storage now reads as
    // belonging to a stale segment (RSMERR_BAD_SEG_HNDL).
    for b in BARRIERS.remove_where(|b| b.seg_handle == h) {
        let _ = b.bar.destroy();
    }
    Ok(())
}

/// `len` rounded up to whole pages (what mmap really maps).
fn page_round(len: usize) -> usize {
    let ps = state::page_size();
    len.div_ceil(ps).saturating_mul(ps)
}

fn map(
    h: usize,
    address: *mut *mut c_void,
    attr: rsm_attribute_t,
    perm: rsm_permission_t,
    offset: off_t,
    length: usize,
) -> Result<(), RsmError> {
    const OP: &str = "import_map";
    let e = state::import(OP, h)?;
    if address.is_null() {
        return Err(fail(ErrorKind::BadAddr, OP, "address is NULL"));
    }
    // Values the header does not define behave like RSM_MAP_NONE, as in Solaris.
    let attr = MapAttr::from_raw(attr).unwrap_or(MapAttr::None);
    // SAFETY: non-NULL, readable and writable (contract).
    let hint = unsafe { address.read_unaligned() };
    let mut ranges = state::ranges();
    if attr == MapAttr::Fixed
        && let Some(owner) = ranges.overlapping(hint as usize, page_round(length), h)
    {
        return Err(fail(
            ErrorKind::BadAddr,
            OP,
            format!(
                "RSM_MAP_FIXED at {hint:p} would replace memory librsm manages (handle {owner:#x})"
            ),
        ));
    }
    // SAFETY: with RSM_MAP_FIXED the caller vouches that it owns `hint..hint+length` and
    // that nothing else uses it (contract, as for mmap); ranges librsm itself manages were
    // refused above. Otherwise the address is only a hint. The returned mapping is only
    // handed to C.
    let p = unsafe {
        e.seg
            .map_raw(hint.cast(), attr, perm, offset as u64, length)
    }?;
    ranges.claim(h, p as usize, page_round(length));
    // SAFETY: as above.
    unsafe { address.write_unaligned(p.cast()) };
    Ok(())
}

fn unmap(h: usize) -> Result<(), RsmError> {
    let e = state::import("import_unmap", h)?;
    let mut ranges = state::ranges();
    e.seg.unmap()?;
    ranges.release(h);
    Ok(())
}

crate::entry_points! {
    version "SUNWprivate_1.1";

    /// Connects to segment `segment_id` of node `node_id` with permission `perm`
    /// (`RSM_PERM_READ`, `RSM_PERM_WRITE`, `RSM_PERM_RDWR` or 0) and stores the handle in
    /// `*im_memseg`. The connection starts in implicit barrier mode, unmapped.
    ///
    /// Errors, in order: `RSMERR_BAD_CTLR_HNDL`, `RSMERR_BAD_SEG_HNDL` (`im_memseg` NULL),
    /// `RSMERR_PERM_DENIED` (bits outside 0600), `RSMERR_CTLR_NOT_PRESENT` (not the local
    /// node), `RSMERR_SEG_NOT_PUBLISHED`, `RSMERR_SEG_NOT_PUBLISHED_TO_NODE`,
    /// `RSMERR_PERM_DENIED`, `RSMERR_BAD_DRIVER_VERSION`, `RSMERR_INSUFFICIENT_RESOURCES`.
    ///
    /// # Safety
    /// `im_memseg` is NULL or writable.
    pub unsafe extern "C" fn rsm_memseg_import_connect(
        controller: rsmapi_controller_handle_t,
        node_id: rsm_node_id_t,
        segment_id: rsm_memseg_id_t,
        perm: rsm_permission_t,
        im_memseg: *mut rsm_memseg_import_handle_t,
    ) -> c_int {
        code(connect(controller as usize, node_id, segment_id, perm, im_memseg))
    }

    /// Breaks the connection (an implicit mapping is removed) and makes the handle and its
    /// barriers stale.
    ///
    /// Errors: `RSMERR_BAD_SEG_HNDL`, `RSMERR_SEG_STILL_MAPPED` (explicitly mapped),
    /// `RSMERR_POLLFD_IN_USE`.
    ///
    /// # Safety
    /// Any value may be passed; it is only looked up.
    pub unsafe extern "C" fn rsm_memseg_import_disconnect(
        im_memseg: rsm_memseg_import_handle_t,
    ) -> c_int {
        code(disconnect(im_memseg as usize))
    }

    /// Maps `[offset, offset + length)` of the segment (offset page aligned) with `perm`
    /// and stores the address in `*address` (with `RSM_MAP_FIXED`, exactly the incoming
    /// `*address`; otherwise it is a hint). One mapping per handle.
    ///
    /// Errors, in order: `RSMERR_BAD_SEG_HNDL`, `RSMERR_BAD_ADDR` (`address` NULL;
    /// `RSM_MAP_FIXED` over memory librsm manages), `RSMERR_SEG_ALREADY_MAPPED`,
    /// `RSMERR_BAD_SEG_HNDL`, `RSMERR_BAD_PERMS` (`perm` > 0600), `RSMERR_BAD_LENGTH` (0 or
    /// past the end; negative offsets count as past the end), `RSMERR_BAD_MEM_ALIGNMENT`
    /// (offset, or fixed address), `RSMERR_MAP_FAILED` (`RSM_LOOPBACK_MAP=0`),
    /// `RSMERR_CONN_ABORTED`, `RSMERR_BAD_PERMS` (more than the connection grants).
    ///
    /// # Safety
    /// `address` is NULL or readable and writable. With `RSM_MAP_FIXED`, the pages at
    /// `*address` are replaced (as by `mmap(MAP_FIXED)`): the caller must own them. The
    /// mapping must not be used after `rsm_memseg_import_unmap`.
    pub unsafe extern "C" fn rsm_memseg_import_map(
        im_memseg: rsm_memseg_import_handle_t,
        address: *mut *mut c_void,
        attr: rsm_attribute_t,
        perm: rsm_permission_t,
        offset: off_t,
        length: usize,
    ) -> c_int {
        code(map(im_memseg as usize, address, attr, perm, offset, length))
    }

    /// Removes the mapping (explicit, or implicit from an earlier put/get).
    ///
    /// Errors: `RSMERR_BAD_SEG_HNDL`, `RSMERR_SEG_NOT_MAPPED`.
    ///
    /// # Safety
    /// Any value may be passed; it is only looked up. The mapping's addresses must not be
    /// used afterwards.
    pub unsafe extern "C" fn rsm_memseg_import_unmap(im_memseg: rsm_memseg_import_handle_t) -> c_int {
        code(unmap(im_memseg as usize))
    }

    /// Stores the segment's barrier mode in `*mode`.
    ///
    /// Errors: `RSMERR_BAD_SEG_HNDL`, `RSMERR_BAD_ADDR` (`mode` NULL).
    ///
    /// # Safety
    /// `mode` is NULL or writable.
    pub unsafe extern "C" fn rsm_memseg_import_get_mode(
        im_memseg: rsm_memseg_import_handle_t,
        mode: *mut rsm_barrier_mode_t,
    ) -> c_int {
        code((|| {
            let e = state::import("import_get_mode", im_memseg as usize)?;
            if mode.is_null() {
                return Err(fail(ErrorKind::BadAddr, "import_get_mode", "mode is NULL"));
            }
            let m = e.seg.get_mode()?;
            // SAFETY: non-NULL, writable (contract).
            unsafe { mode.write_unaligned(m as rsm_barrier_mode_t) };
            Ok(())
        })())
    }

    /// Selects `RSM_BARRIER_MODE_IMPLICIT` (the default) or `RSM_BARRIER_MODE_EXPLICIT`.
    ///
    /// Errors: `RSMERR_BAD_SEG_HNDL`, `RSMERR_BAD_MODE`.
    ///
    /// # Safety
    /// Any values may be passed.
    pub unsafe extern "C" fn rsm_memseg_import_set_mode(
        im_memseg: rsm_memseg_import_handle_t,
        mode: rsm_barrier_mode_t,
    ) -> c_int {
        code((|| {
            let e = state::import("import_set_mode", im_memseg as usize)?;
            e.seg.set_mode(BarrierMode::from_raw(mode)?)
        })())
    }
}
