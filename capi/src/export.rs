//! Export side (SPEC.md §4.3): create (in place), destroy, rebind, publish, unpublish,
//! republish.
//!
//! `rsm_memseg_export_create` exports the caller's own pages where they are
//! (rsm-core's [`ExportSegment::create_in_place`]): their contents are copied into the
//! segment's shared file, which is then mapped over the same addresses. `docs/capi.md`
//! ("Exporting the caller's memory") states the rules and what happens to the pages on
//! rebind, unpublish and destroy. A range exported by one segment (or holding an explicit
//! import mapping) cannot be exported by another one at the same time:
//! `RSMERR_BAD_ADDR`.

use core::ffi::{c_int, c_void};
use std::sync::Arc;

use rsm_core::{AccessEntry, ErrorKind, ExportFlags, ExportSegment, RsmError};

use crate::state::{self, EXPORTS, ExportEntry, code, fail};
use crate::types::{
    offset_t, rsm_memseg_export_handle_t, rsm_memseg_id_t, rsmapi_access_entry_t,
    rsmapi_controller_handle_t, uint_t,
};

/// Most access-list entries any controller accepts; one more is read so rsm-core can report
/// an over-long list (`RSMERR_BAD_ACL`) without the library reading further than that.
const ACL_READ_LIMIT: usize = rsm_core::MAX_ACL_ENTRIES + 1;

/// Copies the access list (`list` may be NULL when `len` is 0).
///
/// # Safety
/// `list` is NULL or valid for reading `len` entries.
unsafe fn access_list(
    op: &'static str,
    list: *const rsmapi_access_entry_t,
    len: uint_t,
) -> Result<Vec<AccessEntry>, RsmError> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if list.is_null() {
        return Err(fail(
            ErrorKind::BadAcl,
            op,
            format!("access_list is NULL with access_list_length {len}"),
        ));
    }
    let n = (len as usize).min(ACL_READ_LIMIT);
    Ok((0..n)
        .map(|i| {
            // SAFETY: i < len entries are readable (contract).
            let e = unsafe { list.add(i).read_unaligned() };
            AccessEntry::new(e.ae_node, e.ae_permission)
        })
        .collect())
}

fn overlap_error(op: &'static str, start: usize, len: usize, owner: usize) -> RsmError {
    fail(
        ErrorKind::BadAddr,
        op,
        format!(
            "{len} bytes at {start:#x} overlap memory librsm already manages (handle {owner:#x})"
        ),
    )
}

fn create(
    ctrl_h: usize,
    out: *mut rsm_memseg_export_handle_t,
    vaddr: *mut c_void,
    size: usize,
    flags: uint_t,
) -> Result<(), RsmError> {
    const OP: &str = "export_create";
    let ctrl = state::controller(OP, ctrl_h)?;
    if out.is_null() {
        return Err(fail(
            ErrorKind::BadSegHndl,
            OP,
            "memseg out-pointer is NULL",
        ));
    }
    // SAFETY: non-NULL, writable (contract of the entry point).
    unsafe { out.write_unaligned(std::ptr::null_mut()) };
    let mut ranges = state::ranges();
    if !vaddr.is_null()
        && size != 0
        && let Some(owner) = ranges.overlapping(vaddr as usize, size, 0)
    {
        return Err(overlap_error(OP, vaddr as usize, size, owner));
    }
    // SAFETY: the entry point's contract: `vaddr..vaddr+size` is this process's read/write
    // memory that stays mapped while exported; rsm-core checks NULL, size and alignment,
    // and reports an unmapped range as BAD_ADDR. No Rust reference points into it.
    let seg = unsafe {
        ExportSegment::create_in_place(
            &ctrl.ctrl,
            vaddr.cast(),
            size,
            ExportFlags::from_bits(flags),
        )
    }?;
    let h = EXPORTS
        .insert(Arc::new(ExportEntry { seg }))
        .map_err(|_| fail(ErrorKind::InsufficientResources, OP, "too many segments"))?;
    ranges.claim(h, vaddr as usize, size);
    // SAFETY: as above.
    unsafe { out.write_unaligned(h as rsm_memseg_export_handle_t) };
    Ok(())
}

fn destroy(h: usize) -> Result<(), RsmError> {
    const OP: &str = "export_destroy";
    let e = state::export(OP, h)?;
    e.seg.destroy()?;
    EXPORTS.remove(h);
    state::ranges().release(h);
    Ok(())
}

fn rebind(h: usize, vaddr: *mut c_void, size: usize) -> Result<(), RsmError> {
    const OP: &str = "export_rebind";
    let e = state::export(OP, h)?;
    if vaddr.is_null() {
        return Err(fail(ErrorKind::BadAddr, OP, "vaddr is NULL"));
    }
    let mut ranges = state::ranges();
    if let Some(owner) = ranges.overlapping(vaddr as usize, size, h) {
        return Err(overlap_error(OP, vaddr as usize, size, owner));
    }
    // SAFETY: the entry point's contract, as for create, for the new range. rsm-core
    // checks the whole new range before it changes anything (a failed rebind leaves the
    // segment and both ranges as they were) and cuts the old range loose with its own
    // contents.
    unsafe { e.seg.rebind_in_place(vaddr.cast(), size) }?;
    ranges.claim(h, vaddr as usize, size);
    Ok(())
}

fn publish(
    h: usize,
    segment_id: *mut rsm_memseg_id_t,
    list: *const rsmapi_access_entry_t,
    len: uint_t,
) -> Result<(), RsmError> {
    const OP: &str = "export_publish";
    if segment_id.is_null() {
        return Err(fail(ErrorKind::BadSegid, OP, "segment_id is NULL"));
    }
    let e = state::export(OP, h)?;
    // SAFETY: `list` is NULL or holds `len` entries (contract).
    let acl = unsafe { access_list(OP, list, len) }?;
    // SAFETY: non-NULL (checked) and valid for reading and writing (contract).
    let want = unsafe { segment_id.read_unaligned() };
    let id = e.seg.publish(want, &acl)?;
    // SAFETY: as above.
    unsafe { segment_id.write_unaligned(id) };
    Ok(())
}

fn republish(h: usize, list: *const rsmapi_access_entry_t, len: uint_t) -> Result<(), RsmError> {
    const OP: &str = "export_republish";
    let e = state::export(OP, h)?;
    if e.seg.segment_id().is_none() {
        return Err(fail(
            ErrorKind::SegNotPublished,
            OP,
            "segment is not published",
        ));
    }
    // SAFETY: `list` is NULL or holds `len` entries (contract).
    let acl = unsafe { access_list(OP, list, len) }?;
    e.seg.republish(&acl)
}

crate::entry_points! {
    version "SUNWprivate_1.1";

    /// Exports the caller's range `[vaddr, vaddr + size)` in place and stores the new
    /// handle in `*memseg`. `flags`: `RSM_ALLOW_REBIND`, `RSM_CREATE_SEG_DONTWAIT`,
    /// `RSM_LOCK_OPS` (`rsmapi_ext.h`); other bits are ignored.
    ///
    /// Errors, in order: `RSMERR_BAD_CTLR_HNDL`, `RSMERR_BAD_SEG_HNDL` (`memseg` NULL),
    /// `RSMERR_BAD_ADDR` (range already exported or mapped by librsm), `RSMERR_BAD_ADDR`
    /// (`vaddr` NULL), `RSMERR_BAD_LENGTH` (0), `RSMERR_BAD_MEM_ALIGNMENT` (`vaddr` or
    /// `size` not a multiple of the page size), `RSMERR_BAD_ADDR` (range not mapped),
    /// `RSMERR_INSUFFICIENT_MEM` / `RSMERR_INSUFFICIENT_RESOURCES`.
    ///
    /// # Safety
    /// `memseg` is NULL or writable. `[vaddr, vaddr + size)` is readable and writable
    /// memory of this process that stays mapped until the segment is destroyed or rebound
    /// elsewhere; its pages are replaced by a shared mapping with the same contents.
    pub unsafe extern "C" fn rsm_memseg_export_create(
        controller: rsmapi_controller_handle_t,
        memseg: *mut rsm_memseg_export_handle_t,
        vaddr: *mut c_void,
        size: usize,
        flags: uint_t,
    ) -> c_int {
        code(create(controller as usize, memseg, vaddr, size, flags))
    }

    /// Unpublishes the segment (importers are cut off) and releases it; the handle becomes
    /// stale and the caller's range keeps the last contents as private memory.
    ///
    /// Errors: `RSMERR_BAD_SEG_HNDL`, `RSMERR_POLLFD_IN_USE`.
    ///
    /// # Safety
    /// Any value may be passed; it is only looked up.
    pub unsafe extern "C" fn rsm_memseg_export_destroy(memseg: rsm_memseg_export_handle_t) -> c_int {
        code(destroy(memseg as usize))
    }

    /// Makes `[vaddr, vaddr + size)` the segment's memory (its contents are what importers
    /// see from now on); the previous range becomes private memory keeping its contents.
    /// `off` is ignored, as in Solaris.
    ///
    /// Errors, in order: `RSMERR_BAD_SEG_HNDL`, `RSMERR_BAD_ADDR` (NULL, or range managed
    /// by another segment or mapping), `RSMERR_REBIND_NOT_ALLOWED`, `RSMERR_NOT_CREATOR`,
    /// `RSMERR_BAD_LENGTH` (size differs), `RSMERR_BAD_ADDR` (not page aligned, not
    /// mapped).
    ///
    /// # Safety
    /// As for `rsm_memseg_export_create`, for the new range.
    pub unsafe extern "C" fn rsm_memseg_export_rebind(
        memseg: rsm_memseg_export_handle_t,
        vaddr: *mut c_void,
        off: offset_t,
        size: usize,
    ) -> c_int {
        let _ = off;
        code(rebind(memseg as usize, vaddr, size))
    }

    /// Publishes the segment under `*segment_id` (0: the lowest free id from 0x80000000,
    /// stored back) with the access list `access_list[0..access_list_length]` (empty:
    /// every node, with the creator's default mode).
    ///
    /// Errors, in order: `RSMERR_BAD_SEGID` (`segment_id` NULL), `RSMERR_BAD_SEG_HNDL`,
    /// `RSMERR_BAD_ACL` (NULL list with a length), `RSMERR_SEG_ALREADY_PUBLISHED`,
    /// `RSMERR_RESERVED_SEGID`, `RSMERR_NOT_CREATOR`, `RSMERR_BAD_ACL`,
    /// `RSMERR_INSUFFICIENT_RESOURCES`, `RSMERR_SEGID_IN_USE`.
    ///
    /// # Safety
    /// `segment_id` is NULL or readable and writable; `access_list` is NULL or holds
    /// `access_list_length` entries.
    pub unsafe extern "C" fn rsm_memseg_export_publish(
        memseg: rsm_memseg_export_handle_t,
        segment_id: *mut rsm_memseg_id_t,
        access_list: *mut rsmapi_access_entry_t,
        access_list_length: uint_t,
    ) -> c_int {
        code(publish(memseg as usize, segment_id, access_list, access_list_length))
    }

    /// Withdraws the segment: importers are cut off (`RSMERR_CONN_ABORTED`); it may be
    /// published again.
    ///
    /// Errors: `RSMERR_BAD_SEG_HNDL`, `RSMERR_SEG_NOT_PUBLISHED`, `RSMERR_NOT_CREATOR`.
    ///
    /// # Safety
    /// Any value may be passed; it is only looked up.
    pub unsafe extern "C" fn rsm_memseg_export_unpublish(
        memseg: rsm_memseg_export_handle_t,
    ) -> c_int {
        code((|| state::export("export_unpublish", memseg as usize)?.seg.unpublish())())
    }

    /// Replaces the access list of a published segment; existing connections are kept.
    ///
    /// Errors, in order: `RSMERR_BAD_SEG_HNDL`, `RSMERR_SEG_NOT_PUBLISHED`,
    /// `RSMERR_BAD_ACL` (NULL list with a length), `RSMERR_NOT_CREATOR`, `RSMERR_BAD_ACL`.
    ///
    /// # Safety
    /// `access_list` is NULL or holds `access_list_length` entries.
    pub unsafe extern "C" fn rsm_memseg_export_republish(
        memseg: rsm_memseg_export_handle_t,
        access_list: *mut rsmapi_access_entry_t,
        access_list_length: uint_t,
    ) -> c_int {
        code(republish(memseg as usize, access_list, access_list_length))
    }
}
