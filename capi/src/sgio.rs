//! Scatter/gather (SPEC.md §4.6): `rsm_memseg_import_putv/getv` and local memory
//! handles.

use core::ffi::c_int;
use std::sync::Arc;

use rsm_core::{ErrorKind, LocalMemory, RawIo, RawLocal, RsmError, SgioError};

use crate::state::{self, LOCALMEMS, LocalEntry, code, fail, report};
use crate::types::{
    RSM_HANDLE_TYPE, RSM_MAX_SGIOREQS, RSM_VA_TYPE, caddr_t, rsm_iovec_t, rsm_localmemory_handle_t,
    rsm_scat_gath_t, rsmapi_controller_handle_t, ulong_t,
};

const MAX: usize = RSM_MAX_SGIOREQS as usize;

/// Runs a putv (`put`) or getv on `sg`; returns the error and residual count on failure.
///
/// Checks before any transfer, in order: `sg_io` NULL (`RSMERR_BAD_SGIO`), remote handle
/// (`RSMERR_BAD_SEG_HNDL`), request count 0 or above 16 (`RSMERR_BAD_SGIO`), `iovec` NULL
/// (`RSMERR_BAD_SGIO`), an `io_type` other than `RSM_VA_TYPE`/`RSM_HANDLE_TYPE`
/// (`RSMERR_BAD_SGIO`). Then rsm-core runs the entries in order; an entry naming a NULL,
/// freed or foreign local memory handle fails there with `RSMERR_BAD_LOCALMEM_HNDL`.
///
/// # Safety
/// `sg` is NULL or a readable and writable `rsm_scat_gath_t` whose `iovec` holds
/// `io_request_count` entries; every `RSM_VA_TYPE` entry's local range is valid for the
/// transfer (readable for putv, writable and unshared for getv).
unsafe fn run(put: bool, sg: *mut rsm_scat_gath_t) -> c_int {
    let op = if put { "import_putv" } else { "import_getv" };
    if sg.is_null() {
        return report(&fail(ErrorKind::BadSgio, op, "sg_io is NULL"));
    }
    // SAFETY: non-NULL and readable (contract).
    let req = unsafe { sg.read_unaligned() };
    let n = req.io_request_count;
    let set_residual = |residual: usize| {
        // SAFETY: `sg` is writable (contract); only the one field is written.
        unsafe {
            std::ptr::addr_of_mut!((*sg).io_residual_count).write_unaligned(residual as ulong_t)
        }
    };
    let fail_all = |e: RsmError| {
        set_residual(n as usize);
        report(&e)
    };
    let seg = match state::import(op, req.remote_handle as usize) {
        Ok(s) => s,
        Err(e) => return fail_all(e),
    };
    if n == 0 || n > RSM_MAX_SGIOREQS {
        return fail_all(fail(
            ErrorKind::BadSgio,
            op,
            format!("io_request_count {n} is not in 1..={RSM_MAX_SGIOREQS}"),
        ));
    }
    if req.iovec.is_null() {
        return fail_all(fail(ErrorKind::BadSgio, op, "iovec is NULL"));
    }
    let n = n as usize;
    let mut entries = [rsm_iovec_t_zero(); MAX];
    for (i, slot) in entries.iter_mut().take(n).enumerate() {
        // SAFETY: `iovec` holds `n` entries (contract).
        *slot = unsafe { req.iovec.add(i).read_unaligned() };
        if slot.io_type != RSM_VA_TYPE && slot.io_type != RSM_HANDLE_TYPE {
            return fail_all(fail(
                ErrorKind::BadSgio,
                op,
                format!(
                    "entry {i}: io_type {} is neither RSM_VA_TYPE nor RSM_HANDLE_TYPE",
                    slot.io_type
                ),
            ));
        }
    }
    // Keep every named local memory handle alive for the duration of the call.
    let mut handles: [Option<Arc<LocalEntry>>; MAX] = Default::default();
    for (e, slot) in entries.iter().zip(handles.iter_mut()).take(n) {
        if e.io_type == RSM_HANDLE_TYPE {
            // SAFETY: `io_type` says `handle` is the member the caller set; both members
            // are plain pointers, so reading either is defined anyway.
            let h = unsafe { e.local.handle } as usize;
            *slot = LOCALMEMS.get(h);
        }
    }
    let mut ios = [RawIo {
        local: RawLocal::Addr(std::ptr::null_mut()),
        local_offset: 0,
        remote_offset: 0,
        len: 0,
    }; MAX];
    for ((io, e), h) in ios.iter_mut().zip(&entries).zip(&handles).take(n) {
        let local = if e.io_type == RSM_HANDLE_TYPE {
            match (h, state::tombstone()) {
                (Some(l), _) => RawLocal::Handle(&l.mem),
                (None, Some(dead)) => RawLocal::Handle(dead),
                (None, None) => {
                    return fail_all(fail(
                        ErrorKind::BadLocalmemHndl,
                        op,
                        "an entry names a NULL, freed or foreign local memory handle",
                    ));
                }
            }
        } else {
            // SAFETY: `io_type` says `vaddr` is the member the caller set.
            RawLocal::Addr(unsafe { e.local.vaddr }.cast())
        };
        *io = RawIo {
            local,
            local_offset: e.local_offset,
            remote_offset: e.remote_offset as u64,
            len: e.transfer_length,
        };
    }
    let flags = req.flags;
    // SAFETY: the caller's contract covers every RSM_VA_TYPE range; handle memory is the
    // caller's range registered with rsm_create_localmemory_handle (bounds checked by
    // rsm-core).
    let r: Result<(), SgioError> = unsafe {
        if put {
            seg.seg.putv_raw(&ios[..n], flags)
        } else {
            seg.seg.getv_raw(&ios[..n], flags)
        }
    };
    match r {
        Ok(()) => {
            set_residual(0);
            crate::types::RSM_SUCCESS
        }
        Err(e) => {
            set_residual(e.residual);
            report(&e.error)
        }
    }
}

const fn rsm_iovec_t_zero() -> rsm_iovec_t {
    rsm_iovec_t {
        io_type: 0,
        local: crate::types::rsm_iovec_local {
            vaddr: std::ptr::null_mut(),
        },
        local_offset: 0,
        remote_offset: 0,
        transfer_length: 0,
    }
}

fn create_localmem(
    ctrl_h: usize,
    out: *mut rsm_localmemory_handle_t,
    vaddr: caddr_t,
    length: usize,
) -> Result<(), RsmError> {
    const OP: &str = "create_localmemory_handle";
    if vaddr.is_null() || !(vaddr as usize).is_multiple_of(state::page_size()) {
        return Err(fail(
            ErrorKind::BadAddr,
            OP,
            format!("local_vaddr {vaddr:p} is NULL or not page aligned"),
        ));
    }
    let ctrl = state::controller(OP, ctrl_h)?;
    if out.is_null() {
        return Err(fail(
            ErrorKind::BadLocalmemHndl,
            OP,
            "l_handle out-pointer is NULL",
        ));
    }
    // SAFETY: the entry point's contract: the range stays valid while the handle lives
    // and is not accessed concurrently with a getv that writes it.
    let mem = unsafe { LocalMemory::from_raw(&ctrl.ctrl, vaddr.cast(), length) }?;
    let h = LOCALMEMS
        .insert(Arc::new(LocalEntry {
            mem,
            ctrl: ctrl.ctrl.clone(),
        }))
        .map_err(|_| fail(ErrorKind::InsufficientMem, OP, "too many handles"))?;
    // SAFETY: non-NULL, writable (contract).
    unsafe { out.write_unaligned(h as rsm_localmemory_handle_t) };
    Ok(())
}

fn free_localmem(ctrl_h: usize, h: usize) -> Result<(), RsmError> {
    const OP: &str = "free_localmemory_handle";
    let ctrl = state::controller(OP, ctrl_h)?;
    let l = state::localmem(OP, h)?;
    l.mem.free(&ctrl.ctrl)?;
    LOCALMEMS.remove(h);
    Ok(())
}

crate::entry_points! {
    version "SUNWprivate_1.1";

    /// Copies the local areas of `sg_io->iovec[0..io_request_count]` into the segment
    /// `sg_io->remote_handle`, in order, then (with `RSM_IMPLICIT_SIGPOST` in
    /// `sg_io->flags`) posts one event to the exporter. `io_residual_count` receives the
    /// number of entries not done (0 on success); `flags` is left unchanged.
    ///
    /// Errors: `RSMERR_BAD_SGIO`, `RSMERR_BAD_SEG_HNDL`, `RSMERR_PERM_DENIED`, then per
    /// entry `RSMERR_BAD_ADDR` (NULL address), `RSMERR_BAD_LOCALMEM_HNDL`,
    /// `RSMERR_BAD_OFFSET` / `RSMERR_BAD_LENGTH` (outside the local handle, then outside the
    /// segment), `RSMERR_CONN_ABORTED`.
    ///
    /// # Safety
    /// `sg_io` is NULL or a valid `rsm_scat_gath_t` whose `iovec` holds `io_request_count`
    /// entries, each `RSM_VA_TYPE` range readable.
    pub unsafe extern "C" fn rsm_memseg_import_putv(sg_io: *mut rsm_scat_gath_t) -> c_int {
        // SAFETY: forwarded contract.
        unsafe { run(true, sg_io) }
    }

    /// The mirror of `rsm_memseg_import_putv`: segment → local areas.
    ///
    /// # Safety
    /// As for putv, each `RSM_VA_TYPE` range writable and not otherwise in use.
    pub unsafe extern "C" fn rsm_memseg_import_getv(sg_io: *mut rsm_scat_gath_t) -> c_int {
        // SAFETY: forwarded contract.
        unsafe { run(false, sg_io) }
    }

    /// Creates a handle for the local range `[local_vaddr, local_vaddr + length)` (page
    /// aligned) for use in `RSM_HANDLE_TYPE` scatter/gather entries.
    ///
    /// Errors, in order: `RSMERR_BAD_ADDR` (NULL or not page aligned),
    /// `RSMERR_BAD_CTLR_HNDL`, `RSMERR_BAD_LOCALMEM_HNDL` (`l_handle` NULL),
    /// `RSMERR_BAD_LENGTH` (0).
    ///
    /// # Safety
    /// `l_handle` is NULL or writable; the range stays readable and writable while the
    /// handle exists.
    pub unsafe extern "C" fn rsm_create_localmemory_handle(
        handle: rsmapi_controller_handle_t,
        l_handle: *mut rsm_localmemory_handle_t,
        local_vaddr: caddr_t,
        length: usize,
    ) -> c_int {
        code(create_localmem(handle as usize, l_handle, local_vaddr, length))
    }

    /// Releases a local memory handle; entries naming it fail afterwards.
    ///
    /// Errors: `RSMERR_BAD_CTLR_HNDL` (NULL, stale, or not the controller of the handle),
    /// `RSMERR_BAD_LOCALMEM_HNDL` (NULL, already freed or foreign).
    ///
    /// # Safety
    /// Any values may be passed; they are only looked up.
    pub unsafe extern "C" fn rsm_free_localmemory_handle(
        handle: rsmapi_controller_handle_t,
        l_handle: rsm_localmemory_handle_t,
    ) -> c_int {
        code(free_localmem(handle as usize, l_handle as usize))
    }
}
