//! Barriers (SPEC.md §4.7): init, open, close, order, destroy.
//!
//! `rsmapi_barrier_t` is the caller's memory, so its contents are never trusted:
//! `rsm_memseg_import_init_barrier` stores the import handle in `seg`, a barrier key from
//! the barrier table in `privdata` and 16 bits of that key in `gnum`. The other functions
//! look the key up and accept it only if the table entry belongs to the import handle in
//! `seg` and `gnum` matches. Anything else is `RSMERR_BARRIER_UNINITIALIZED`, except a
//! barrier whose import segment has been disconnected since (its `seg` is a stale import
//! handle): `RSMERR_BAD_SEG_HNDL`.

use core::ffi::{c_int, c_void};
use std::sync::Arc;

use rsm_core::{BarrierType, ErrorKind, RsmError};

use crate::registry::{self, TAG_IMPORT};
use crate::state::{self, BARRIERS, BarrierEntry, IMPORTS, code, fail};
use crate::types::{rsm_barrier_type_t, rsm_memseg_import_handle_t, rsmapi_barrier_t};

/// The `gnum` stored for a barrier key.
fn gnum_of(key: usize) -> u16 {
    registry::decode(key).generation as u16 ^ (registry::decode(key).index as u16)
}

/// The barrier `b` designates.
///
/// # Safety
/// `b` is NULL or points to readable `rsmapi_barrier_t` storage.
unsafe fn lookup(
    op: &'static str,
    b: *const rsmapi_barrier_t,
) -> Result<(Arc<BarrierEntry>, usize), RsmError> {
    if b.is_null() {
        return Err(fail(ErrorKind::BadBarrierPtr, op, "barrier is NULL"));
    }
    // SAFETY: non-NULL and readable (contract); any bit pattern is a valid
    // rsmapi_barrier_t (two pointers and an integer).
    let v = unsafe { b.read_unaligned() };
    let key = v.privdata as usize;
    let seg = v.seg as usize;
    if let Some(e) = BARRIERS.get(key)
        && e.seg_handle == seg
        && v.gnum == gnum_of(key)
    {
        return Ok((e, key));
    }
    if registry::tag_of(seg) == TAG_IMPORT
        && registry::tag_of(key) == registry::TAG_BARRIER
        && !IMPORTS.contains(seg)
    {
        return Err(fail(
            ErrorKind::BadSegHndl,
            op,
            "the barrier's import segment was disconnected",
        ));
    }
    Err(fail(
        ErrorKind::BarrierUninitialized,
        op,
        "barrier not initialized (or destroyed)",
    ))
}

fn init(h: usize, ty: rsm_barrier_type_t, b: *mut rsmapi_barrier_t) -> Result<(), RsmError> {
    const OP: &str = "import_init_barrier";
    let seg = state::import(OP, h)?;
    if b.is_null() {
        return Err(fail(ErrorKind::BadBarrierPtr, OP, "barrier is NULL"));
    }
    // The type is recorded only (Solaris ignores it); undefined values count as the
    // default, RSM_BARRIER_SEGMENT.
    let bar = seg
        .seg
        .init_barrier(BarrierType::from_raw(ty).unwrap_or_default())?;
    // Storage re-initialised without a destroy: its old barrier can no longer be named.
    // SAFETY: non-NULL, readable (contract).
    if let Ok((old, old_key)) = unsafe { lookup(OP, b) } {
        let _ = old.bar.destroy();
        BARRIERS.remove(old_key);
    }
    let key = BARRIERS
        .insert(Arc::new(BarrierEntry { bar, seg_handle: h }))
        .map_err(|_| fail(ErrorKind::InsufficientMem, OP, "too many barriers"))?;
    let v = rsmapi_barrier_t {
        seg: h as *mut c_void,
        gnum: gnum_of(key),
        privdata: key as *mut c_void,
    };
    // SAFETY: non-NULL, writable (contract).
    unsafe { b.write_unaligned(v) };
    Ok(())
}

fn destroy(b: *mut rsmapi_barrier_t) -> Result<(), RsmError> {
    const OP: &str = "import_destroy_barrier";
    // SAFETY: `b` is NULL or readable and writable (contract of the entry point).
    let (e, key) = unsafe { lookup(OP, b) }?;
    e.bar.destroy()?;
    BARRIERS.remove(key);
    // SAFETY: non-NULL (lookup succeeded) and writable.
    unsafe {
        b.write_unaligned(rsmapi_barrier_t {
            seg: std::ptr::null_mut(),
            gnum: 0,
            privdata: std::ptr::null_mut(),
        })
    };
    Ok(())
}

crate::entry_points! {
    version "SUNWprivate_1.1";

    /// Initialises `*barrier` for `im_memseg` and makes it the segment's barrier (the one
    /// implicit-mode put/get need). `type` is recorded only (use `RSM_BAR_DEFAULT`).
    ///
    /// Errors: `RSMERR_BAD_SEG_HNDL`, `RSMERR_BAD_BARRIER_PTR` (`barrier` NULL).
    ///
    /// # Safety
    /// `barrier` is NULL or readable and writable `rsmapi_barrier_t` storage.
    pub unsafe extern "C" fn rsm_memseg_import_init_barrier(
        im_memseg: rsm_memseg_import_handle_t,
        type_: rsm_barrier_type_t,
        barrier: *mut rsmapi_barrier_t,
    ) -> c_int {
        code(init(im_memseg as usize, type_, barrier))
    }

    /// Starts an error-detection span.
    ///
    /// Errors: `RSMERR_BAD_BARRIER_PTR`, `RSMERR_BARRIER_UNINITIALIZED`,
    /// `RSMERR_BAD_SEG_HNDL` (segment disconnected).
    ///
    /// # Safety
    /// `barrier` is NULL or readable `rsmapi_barrier_t` storage.
    pub unsafe extern "C" fn rsm_memseg_import_open_barrier(barrier: *mut rsmapi_barrier_t) -> c_int {
        // SAFETY: forwarded contract.
        code((|| unsafe { lookup("import_open_barrier", barrier) }?.0.bar.open())())
    }

    /// Ends the span: success means every transfer since the open completed.
    ///
    /// Errors, in order: `RSMERR_BAD_BARRIER_PTR`, `RSMERR_BARRIER_UNINITIALIZED`,
    /// `RSMERR_BAD_SEG_HNDL`, `RSMERR_CONN_ABORTED` (the exporter unpublished or destroyed
    /// the segment, or died; sticky), `RSMERR_BARRIER_FAILURE`.
    ///
    /// # Safety
    /// `barrier` is NULL or readable `rsmapi_barrier_t` storage.
    pub unsafe extern "C" fn rsm_memseg_import_close_barrier(barrier: *mut rsmapi_barrier_t) -> c_int {
        // SAFETY: forwarded contract.
        code((|| unsafe { lookup("import_close_barrier", barrier) }?.0.bar.close())())
    }

    /// Orders the writes before this call before the writes after it.
    ///
    /// Errors: `RSMERR_BAD_BARRIER_PTR`, `RSMERR_BARRIER_UNINITIALIZED`,
    /// `RSMERR_BAD_SEG_HNDL`, `RSMERR_BARRIER_FAILURE`.
    ///
    /// # Safety
    /// `barrier` is NULL or readable `rsmapi_barrier_t` storage.
    pub unsafe extern "C" fn rsm_memseg_import_order_barrier(barrier: *mut rsmapi_barrier_t) -> c_int {
        // SAFETY: forwarded contract.
        code((|| unsafe { lookup("import_order_barrier", barrier) }?.0.bar.order())())
    }

    /// Releases the barrier and clears `*barrier`; implicit-mode put/get on its segment
    /// then fail with `RSMERR_BARRIER_UNINITIALIZED` until a new init.
    ///
    /// Errors: `RSMERR_BAD_BARRIER_PTR`, `RSMERR_BARRIER_UNINITIALIZED`,
    /// `RSMERR_BAD_SEG_HNDL`.
    ///
    /// # Safety
    /// `barrier` is NULL or readable and writable `rsmapi_barrier_t` storage.
    pub unsafe extern "C" fn rsm_memseg_import_destroy_barrier(barrier: *mut rsmapi_barrier_t) -> c_int {
        code(destroy(barrier))
    }
}
