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
//! The 42 functions are thin layers over rsm-core, one module per group of SPEC.md §4:
//! [`controller`], [`topology`], [`export`], [`import`], [`transfer`], [`sgio`],
//! [`barrier`], [`events`], [`admin`]; the six extension functions are in [`ext`]. Each
//! entry point validates its C arguments (handles through the tables of [`registry`] and
//! [`state`], never by dereferencing them; NULL out-pointers), calls rsm-core and returns
//! the `RSMERR_*` code, inside the panic boundary of [`abi`].
//!
//! [`types`] mirrors every public C type and constant. Building, linking, installing and the
//! deviations from Solaris are described in `docs/capi.md`.

pub mod abi;
pub mod admin;
pub mod barrier;
pub mod controller;
pub mod events;
pub mod export;
pub mod ext;
pub mod import;
pub mod registry;
pub mod sgio;
pub mod state;
pub mod topology;
pub mod transfer;
pub mod types;
