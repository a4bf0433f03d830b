//! Controller operations (SPEC.md §4.1): `rsm_get_controller`, `rsm_get_controller_attr`,
//! `rsm_release_controller`.

use core::ffi::{c_char, c_int};
use std::sync::Arc;

use rsm_core::{Controller, ErrorKind, RsmError};

use crate::state::{self, CONTROLLERS, ControllerEntry, code, fail};
use crate::types::{MAXNAMELEN, rsmapi_controller_attr_t, rsmapi_controller_handle_t};

/// Reads the controller name: NULL means `"loopback"`; at most `MAXNAMELEN - 1` bytes of
/// UTF-8, else `RSMERR_CTLR_NOT_PRESENT`.
///
/// # Safety
/// `name` is NULL or points to a NUL-terminated string (only the first `MAXNAMELEN` bytes
/// are ever read).
unsafe fn controller_name(name: *const c_char) -> Result<String, RsmError> {
    const OP: &str = "get_controller";
    if name.is_null() {
        return Ok("loopback".to_owned());
    }
    // SAFETY: `name` is a C string (caller's contract); strnlen reads at most MAXNAMELEN
    // bytes and stops at the terminator.
    let len = unsafe { libc::strnlen(name, MAXNAMELEN) };
    if len >= MAXNAMELEN {
        return Err(fail(
            ErrorKind::CtlrNotPresent,
            OP,
            format!("controller name longer than {} bytes", MAXNAMELEN - 1),
        ));
    }
    // SAFETY: the `len` bytes before the terminator were just read by strnlen.
    let bytes = unsafe { std::slice::from_raw_parts(name.cast::<u8>(), len) };
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        fail(
            ErrorKind::CtlrNotPresent,
            OP,
            "controller name is not valid UTF-8",
        )
    })
}

fn get(name: &str) -> Result<usize, RsmError> {
    let _serial = state::controller_lock();
    let ctrl = Controller::get(name)?;
    state::register_exit_handler();
    state::init_tombstone(&ctrl);
    if let Some(h) = CONTROLLERS.find(|e| e.ctrl.same_instance(&ctrl)) {
        return Ok(h);
    }
    CONTROLLERS
        .insert(Arc::new(ControllerEntry { ctrl: ctrl.clone() }))
        .map_err(|_| {
            let _ = ctrl.release();
            fail(
                ErrorKind::InsufficientResources,
                "get_controller",
                "too many controller handles",
            )
        })
}

fn release(h: usize) -> Result<(), RsmError> {
    const OP: &str = "release_controller";
    let _serial = state::controller_lock();
    let entry = state::controller(OP, h)?;
    entry.ctrl.release()?;
    if entry.ctrl.ref_count() == 0 {
        CONTROLLERS.remove(h);
    }
    Ok(())
}

fn attr(h: usize) -> Result<rsmapi_controller_attr_t, RsmError> {
    let entry = state::controller("get_controller_attr", h)?;
    let a = entry.ctrl.attr()?;
    Ok(rsmapi_controller_attr_t {
        attr_direct_access_sizes: a.direct_access_sizes,
        attr_atomic_sizes: a.atomic_sizes,
        attr_page_size: a.page_size,
        attr_max_export_segment_size: a.max_export_segment_size,
        attr_tot_export_segment_size: a.tot_export_segment_size,
        attr_max_export_segments: a.max_export_segments,
        attr_max_import_map_size: a.max_import_map_size,
        attr_tot_import_map_size: a.tot_import_map_size,
        attr_max_import_segments: a.max_import_segments,
    })
}

crate::entry_points! {
    version "SUNWprivate_1.1";

    /// Gets a handle for controller `name` (`"loopback"` when NULL; `"loopback<N>"`,
    /// `"shm0"` name the same shared-memory controller, case-insensitively). Repeated gets
    /// of one controller return the same handle and count references.
    ///
    /// Errors: `RSMERR_BAD_CTLR_HNDL` (`controller` NULL), `RSMERR_CTLR_NOT_PRESENT`
    /// (unknown controller, name of 256 bytes or more or not UTF-8, unusable environment).
    ///
    /// # Safety
    /// `name` is NULL or a NUL-terminated string; `controller` is NULL or valid for writing
    /// one handle.
    pub unsafe extern "C" fn rsm_get_controller(
        name: *mut c_char,
        controller: *mut rsmapi_controller_handle_t,
    ) -> c_int {
        code((|| {
            if controller.is_null() {
                return Err(fail(
                    ErrorKind::BadCtlrHndl,
                    "get_controller",
                    "controller out-pointer is NULL",
                ));
            }
            // SAFETY: `name` is NULL or a C string (contract).
            let name = unsafe { controller_name(name) }?;
            let h = get(&name)?;
            // SAFETY: non-NULL, valid for writing (contract); unaligned writes are allowed.
            unsafe { controller.write_unaligned(h as rsmapi_controller_handle_t) };
            Ok(())
        })())
    }

    /// Copies the controller's attributes into `*attr`.
    ///
    /// Errors: `RSMERR_BAD_CTLR_HNDL` (NULL, released or foreign handle),
    /// `RSMERR_BAD_ADDR` (`attr` NULL).
    ///
    /// # Safety
    /// `attr` is NULL or valid for writing one `rsmapi_controller_attr_t`.
    pub unsafe extern "C" fn rsm_get_controller_attr(
        chdl: rsmapi_controller_handle_t,
        attr: *mut rsmapi_controller_attr_t,
    ) -> c_int {
        code((|| {
            let h = chdl as usize;
            state::controller("get_controller_attr", h)?;
            if attr.is_null() {
                return Err(fail(
                    ErrorKind::BadAddr,
                    "get_controller_attr",
                    "attr is NULL",
                ));
            }
            let a = self::attr(h)?;
            // SAFETY: non-NULL, valid for writing (contract).
            unsafe { attr.write_unaligned(a) };
            Ok(())
        })())
    }

    /// Drops one reference taken by `rsm_get_controller`; after the last one the handle is
    /// stale.
    ///
    /// Errors: `RSMERR_BAD_CTLR_HNDL` (NULL, already released or foreign handle).
    ///
    /// # Safety
    /// Any value may be passed; it is only looked up.
    pub unsafe extern "C" fn rsm_release_controller(
        controller: rsmapi_controller_handle_t,
    ) -> c_int {
        code(release(controller as usize))
    }
}
