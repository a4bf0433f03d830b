//! Plumbing shared by every exported C entry point: symbol-version binding and the panic
//! boundary.
//!
//! Every `rsm_*` function of `librsm.so.2` is defined with [`entry_points!`](crate::entry_points),
//! never with a bare `#[unsafe(no_mangle)]`:
//!
//! ```ignore
//! rsm::entry_points! {
//!     version "SUNWprivate_1.1";
//!
//!     /// Releases one reference to a controller (SPEC.md §4.1).
//!     ///
//!     /// # Safety
//!     /// `controller` is NULL or a value returned by `rsm_get_controller`.
//!     pub unsafe extern "C" fn rsm_release_controller(
//!         controller: rsmapi_controller_handle_t,
//!     ) -> c_int {
//!         /* body */
//!     }
//! }
//! ```
//!
//! The macro
//! * marks each function `#[unsafe(no_mangle)]`;
//! * runs its body inside [`boundary`], so a panic becomes `RSMERR_INTERNAL_ERROR` (functions
//!   returning `c_int`) or is swallowed (functions returning nothing) instead of aborting the
//!   C program;
//! * emits `.symver f, f@@@<node>` for each function in a `global_asm!` placed in the **same
//!   module** as the definitions. `.symver` only binds a symbol defined in the same object
//!   file, and rustc puts a module's functions and its `global_asm!` in the same codegen unit;
//!   a `.symver` in another module silently leaves the symbol unversioned in debug builds
//!   (several codegen units). So: one `entry_points!` block per module, containing exactly
//!   that module's entry points.
//!
//! The version nodes themselves are defined by the version script that `build.rs` passes to
//! the linker.

use core::ffi::c_int;
use std::any::Any;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::types::RSMERR_INTERNAL_ERROR;

/// Version node of the 42 Solaris RSMAPI functions (illumos `librsm/common/mapfile-vers`).
pub const SUNW_VERSION_NODE: &str = "SUNWprivate_1.1";

/// Version node of the rsm lock-segment extension (`rsmapi_ext.h`). It inherits from
/// [`SUNW_VERSION_NODE`].
pub const EXT_VERSION_NODE: &str = "RSMEXT_1.0";

/// DT_SONAME of the library.
pub const SONAME: &str = "librsm.so.2";

/// What an entry point returns when its body panicked.
pub trait PanicValue {
    /// The value handed to the C caller after a caught panic.
    fn on_panic() -> Self;
}

impl PanicValue for c_int {
    /// `RSMERR_INTERNAL_ERROR` (100).
    fn on_panic() -> Self {
        RSMERR_INTERNAL_ERROR
    }
}

impl PanicValue for () {
    /// `void` functions (only `rsm_free_interconnect_topology`) just return.
    fn on_panic() {}
}

/// Runs `body`, converting a panic into [`PanicValue::on_panic`] and a one-line message on
/// standard error that names the entry point. Unwinding never crosses into C.
pub fn boundary<R: PanicValue, F: FnOnce() -> R>(entry_point: &'static str, body: F) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            let reason = panic_message(payload.as_ref());
            // Writing to stderr may fail (closed descriptor); nothing better can be done then,
            // and `eprintln!` would panic again.
            let _ = writeln!(
                std::io::stderr(),
                "librsm: internal error in {entry_point}: {reason}"
            );
            // A payload's destructor may itself panic; leaking the (small) payload keeps that
            // second panic from unwinding out of the boundary.
            std::mem::forget(payload);
            R::on_panic()
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "panic with a non-string payload"
    }
}

/// Defines exported C entry points bound to one symbol-version node; see the
/// [module documentation](crate::abi).
///
/// Syntax: `version "<node>";` followed by `pub unsafe extern "C" fn` items (attributes and
/// docs allowed; return type `c_int` or none).
#[macro_export]
macro_rules! entry_points {
    (
        version $node:literal;
        $(
            $(#[$attr:meta])*
            pub unsafe extern "C" fn $name:ident ( $($arg:ident : $ty:ty),* $(,)? )
                $(-> $ret:ty)? $body:block
        )+
    ) => {
        $(
            $(#[$attr])*
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn $name($($arg: $ty),*) $(-> $ret)? {
                $crate::abi::boundary(::core::stringify!($name), move || $body)
            }
        )+
        ::core::arch::global_asm!(
            $(
                ::core::concat!(
                    ".symver ",
                    ::core::stringify!($name),
                    ", ",
                    ::core::stringify!($name),
                    "@@@",
                    $node
                ),
            )+
        );
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_passes_the_value_through() {
        assert_eq!(boundary("rsm_test_ok", || 7 as c_int), 7);
        boundary("rsm_test_unit", || ());
    }

    #[test]
    fn boundary_turns_a_panic_into_internal_error() {
        let code: c_int = boundary("rsm_test_panics", || panic!("deliberate test panic"));
        assert_eq!(code, 100);
        let code: c_int = boundary("rsm_test_panics_fmt", || {
            let detail = 42;
            panic!("deliberate test panic {detail}")
        });
        assert_eq!(code, RSMERR_INTERNAL_ERROR);
    }

    #[test]
    fn boundary_swallows_a_panic_in_a_void_function() {
        let mut ran = false;
        boundary::<(), _>("rsm_test_void_panics", || {
            ran = true;
            panic!("deliberate test panic")
        });
        assert!(ran);
    }

    #[test]
    fn panic_message_reads_str_and_string_payloads() {
        let text: Box<dyn Any + Send> = Box::new("static text");
        assert_eq!(panic_message(text.as_ref()), "static text");
        let owned: Box<dyn Any + Send> = Box::new(String::from("owned text"));
        assert_eq!(panic_message(owned.as_ref()), "owned text");
        let other: Box<dyn Any + Send> = Box::new(5_u8);
        assert_eq!(
            panic_message(other.as_ref()),
            "panic with a non-string payload"
        );
    }
}
