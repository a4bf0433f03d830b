//! `librsm.so.2`: Sun's Remote Shared Memory API (RSMAPI) as a C library for Linux.
//!
//! This crate builds the drop-in C library (`cdylib` named `librsm.so`, soname
//! `librsm.so.2`, symbol version `SUNWprivate_1.1`) together with the public headers in
//! `capi/include/`:
//!
//! * `rsmapi.h` → `sys/rsm/rsm_common.h` + `sys/rsm/rsmapi_common.h`: the Solaris interface,
//!   names, values and layouts exactly as SPEC.md §2–4 gives them;
//! * `rsmapi_ext.h`: the rsm lock-segment extension (`RSM_LOCK_OPS`, atomics, locks).
//!
//! [`types`] mirrors every public C type and constant; [`abi`] holds the plumbing every entry
//! point uses (symbol-version binding, panic boundary). Building, linking, installing and the
//! deviations from Solaris are described in `docs/capi.md`.

pub mod abi;
pub mod types;
