//! Administration (SPEC.md §4.9): `rsm_get_segmentid_range`.

use core::ffi::{c_char, c_int};
use std::ffi::CStr;

use rsm_core::{ErrorKind, RsmError};

use crate::state::{code, fail};
use crate::types::rsm_memseg_id_t;

fn range(
    appid: *const c_char,
    baseid: *mut rsm_memseg_id_t,
    length: *mut u32,
) -> Result<(), RsmError> {
    const OP: &str = "get_segmentid_range";
    if appid.is_null() || baseid.is_null() || length.is_null() {
        return Err(fail(
            ErrorKind::BadAddr,
            OP,
            "appid, baseid and length must not be NULL",
        ));
    }
    // SAFETY: non-NULL, NUL-terminated (contract of the entry point).
    let appid = unsafe { CStr::from_ptr(appid) }.to_string_lossy();
    let (base, len) = rsm_core::get_segmentid_range(&appid)?;
    // SAFETY: non-NULL, writable (contract).
    unsafe {
        baseid.write_unaligned(base);
        length.write_unaligned(len);
    }
    Ok(())
}

crate::entry_points! {
    version "SUNWprivate_1.1";

    /// Looks up the segment-id range reserved for `appid` in the segment-id file
    /// (`RSM_SEGMENTID_FILE`, default `/etc/rsm/rsm.segmentid`; lines
    /// `reserved <appid> <hex baseid> <decimal length>`): ids
    /// `*baseid <= id < *baseid + *length`.
    ///
    /// Errors: `RSMERR_BAD_ADDR` (a NULL argument), `RSMERR_BAD_CONF` (file missing,
    /// unreadable or malformed), `RSMERR_BAD_APPID` (no entry).
    ///
    /// # Safety
    /// `appid` is NULL or a NUL-terminated string; `baseid` and `length` are NULL or
    /// writable.
    pub unsafe extern "C" fn rsm_get_segmentid_range(
        appid: *const c_char,
        baseid: *mut rsm_memseg_id_t,
        length: *mut u32,
    ) -> c_int {
        code(range(appid, baseid, length))
    }
}
