//! `#[repr(C)]` mirrors of every public RSMAPI type and constant.
//!
//! Each item corresponds to a declaration of `include/rsmapi.h`,
//! `include/sys/rsm/rsm_common.h`, `include/sys/rsm/rsmapi_common.h` or
//! `include/rsmapi_ext.h` (named in its docs), written from SPEC.md §2–3. Layouts are the LP64
//! ones of SPEC.md §2.4 and are asserted at compile time at the bottom of this file; the
//! integration tests compare every constant and every field offset with what the C compiler
//! sees through the headers.
//!
//! C enums are `int`-sized; their typedefs are `c_int` aliases here and the enumerators plain
//! constants, so an out-of-range value coming from C is an ordinary integer the entry points
//! validate, never an invalid Rust enum.

#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_int, c_longlong, c_uchar, c_uint, c_ulong, c_void};
use core::fmt;
use core::marker::{PhantomData, PhantomPinned};
use core::mem::{align_of, offset_of, size_of};

#[cfg(not(target_pointer_width = "64"))]
compile_error!("rsm-capi implements the LP64 RSMAPI ABI only (SPEC.md §1)");

// ---------------------------------------------------------------------------------------------
// Solaris base types (rsm_common.h provides them on Linux)
// ---------------------------------------------------------------------------------------------

/// `uchar_t`: `unsigned char`.
pub type uchar_t = c_uchar;
/// `uint_t`: `unsigned int`.
pub type uint_t = c_uint;
/// `ulong_t`: `unsigned long`.
pub type ulong_t = c_ulong;
/// `offset_t`: `long long` (signed).
pub type offset_t = c_longlong;
/// `caddr_t`: `char *`.
pub type caddr_t = *mut c_char;

// ---------------------------------------------------------------------------------------------
// rsm_common.h — scalar typedefs and opaque handles (SPEC §2.1, §2.2)
// ---------------------------------------------------------------------------------------------

/// `rsm_addr_t`: interconnect hardware address.
pub type rsm_addr_t = u64;
/// `rsm_node_id_t`: cluster node id.
pub type rsm_node_id_t = u32;
/// `rsm_memseg_id_t`: segment id, unique per exporting node.
pub type rsm_memseg_id_t = u32;
/// `rsm_permission_t`: octal owner/group/other permission digits (0400, 0200, 0600, ...).
pub type rsm_permission_t = u32;

macro_rules! opaque_handle_target {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Incomplete in C: only pointers to it exist, and only librsm knows what they point at.
        #[repr(C)]
        #[derive(Debug)]
        pub struct $name {
            _opaque: [u8; 0],
            _not_send_sync_unpin: PhantomData<(*mut u8, PhantomPinned)>,
        }
    };
}

opaque_handle_target!(
    /// `struct __rsm_memseg_import_handle` (rsm_common.h).
    __rsm_memseg_import_handle
);
opaque_handle_target!(
    /// `struct __rsm_memseg_export_handle` (rsm_common.h).
    __rsm_memseg_export_handle
);
opaque_handle_target!(
    /// `struct __rsm_localmemory_handle` (rsmapi_common.h).
    __rsm_localmemory_handle
);
opaque_handle_target!(
    /// `struct __rsmapi_controller_handle` (rsmapi_common.h).
    __rsmapi_controller_handle
);

/// `rsm_memseg_import_handle_t` (rsm_common.h).
pub type rsm_memseg_import_handle_t = *mut __rsm_memseg_import_handle;
/// `rsm_memseg_export_handle_t` (rsm_common.h).
pub type rsm_memseg_export_handle_t = *mut __rsm_memseg_export_handle;
/// `rsm_localmemory_handle_t` (rsmapi_common.h).
pub type rsm_localmemory_handle_t = *mut __rsm_localmemory_handle;
/// `rsmapi_controller_handle_t` (rsmapi_common.h).
pub type rsmapi_controller_handle_t = *mut __rsmapi_controller_handle;

// ---------------------------------------------------------------------------------------------
// Enums (SPEC §2.3, §3.5)
// ---------------------------------------------------------------------------------------------

/// `rsm_attribute_t` (rsmapi.h): mapping attribute of `rsm_memseg_import_map`.
pub type rsm_attribute_t = c_int;
/// The system chooses the address.
pub const RSM_MAP_NONE: rsm_attribute_t = 0x0;
/// Map exactly at `*address`.
pub const RSM_MAP_FIXED: rsm_attribute_t = 0x1;
/// Declared by Solaris, never given a meaning.
pub const RSM_MAP_RESERVED: rsm_attribute_t = 0x2;

/// `rsm_access_size_t` (rsm_common.h): bits of `attr_direct_access_sizes` /
/// `attr_atomic_sizes`.
pub type rsm_access_size_t = c_int;
/// 8-bit accesses.
pub const RSM_DAS8: rsm_access_size_t = 1;
/// 16-bit accesses.
pub const RSM_DAS16: rsm_access_size_t = 2;
/// 32-bit accesses.
pub const RSM_DAS32: rsm_access_size_t = 4;
/// 64-bit accesses.
pub const RSM_DAS64: rsm_access_size_t = 8;

/// `rsm_barrier_type_t` (rsm_common.h).
pub type rsm_barrier_type_t = c_int;
/// Barrier scope: one segment.
pub const RSM_BARRIER_SEGMENT: rsm_barrier_type_t = 0x01;
/// Barrier scope: one node.
pub const RSM_BARRIER_NODE: rsm_barrier_type_t = 0x02;
/// Barrier scope: one segment, calling thread.
pub const RSM_BARRIER_SEGMENT_THREAD: rsm_barrier_type_t = 0x11;
/// Barrier scope: one node, calling thread.
pub const RSM_BARRIER_NODE_THREAD: rsm_barrier_type_t = 0x12;
/// `RSM_BAR_DEFAULT` (rsmapi.h, rsm addition): the barrier type the manual pages tell
/// programs to pass to `rsm_memseg_import_init_barrier`. Solaris never defined it; we alias
/// [`RSM_BARRIER_SEGMENT`] (SPEC §3.5; docs/capi.md "Deviations").
pub const RSM_BAR_DEFAULT: rsm_barrier_type_t = RSM_BARRIER_SEGMENT;

/// `rsm_barrier_mode_t` (rsm_common.h).
pub type rsm_barrier_mode_t = c_int;
/// The caller brackets accesses with open/close barrier calls.
pub const RSM_BARRIER_MODE_EXPLICIT: rsm_barrier_mode_t = 0;
/// Every put/get is wrapped in its own barrier (default of a new import segment).
pub const RSM_BARRIER_MODE_IMPLICIT: rsm_barrier_mode_t = 1;

// ---------------------------------------------------------------------------------------------
// Structures (SPEC §2.4)
// ---------------------------------------------------------------------------------------------

/// `rsmapi_controller_attr_t` (rsmapi_common.h), filled by `rsm_get_controller_attr`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct rsmapi_controller_attr_t {
    /// Bitmask of `RSM_DAS*`.
    pub attr_direct_access_sizes: uint_t,
    /// Bitmask of `RSM_DAS*`.
    pub attr_atomic_sizes: uint_t,
    /// Controller page size in bytes.
    pub attr_page_size: usize,
    /// Largest exportable segment in bytes.
    pub attr_max_export_segment_size: usize,
    /// Total exportable bytes.
    pub attr_tot_export_segment_size: usize,
    /// Largest number of export segments.
    pub attr_max_export_segments: ulong_t,
    /// Largest importable mapping in bytes.
    pub attr_max_import_map_size: usize,
    /// Total importable mapping bytes.
    pub attr_tot_import_map_size: usize,
    /// Largest number of import segments.
    pub attr_max_import_segments: ulong_t,
}

/// `rsmapi_access_entry_t` (rsmapi_common.h): one access-control-list entry.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct rsmapi_access_entry_t {
    /// Node allowed to import.
    pub ae_node: rsm_node_id_t,
    /// Three octal digits owner/group/other, at most 0666.
    pub ae_permission: rsm_permission_t,
}

/// `rsmapi_barrier_t` (rsmapi_common.h): caller-allocated barrier storage, filled by
/// `rsm_memseg_import_init_barrier`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rsmapi_barrier_t {
    /// Owning import segment.
    pub seg: *mut c_void,
    /// Generation-number snapshot.
    pub gnum: u16,
    /// Implementation-private data.
    pub privdata: *mut c_void,
}

/// The anonymous union `local` of `rsm_iovec_t` (C has no name for its type).
#[repr(C)]
#[derive(Clone, Copy)]
pub union rsm_iovec_local {
    /// Valid when `io_type == RSM_HANDLE_TYPE`.
    pub handle: rsm_localmemory_handle_t,
    /// Valid when `io_type == RSM_VA_TYPE`.
    pub vaddr: caddr_t,
}

impl fmt::Debug for rsm_iovec_local {
    /// Which member is valid depends on the enclosing `io_type`, so nothing is read here.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("rsm_iovec_local").finish_non_exhaustive()
    }
}

/// `rsm_iovec_t` (rsmapi_common.h): one scatter/gather element.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rsm_iovec_t {
    /// `RSM_HANDLE_TYPE` or `RSM_VA_TYPE`.
    pub io_type: c_int,
    /// Local memory: handle or virtual address, selected by `io_type`.
    pub local: rsm_iovec_local,
    /// Offset into the local handle or address.
    pub local_offset: usize,
    /// Offset into the imported segment.
    pub remote_offset: usize,
    /// Bytes to transfer.
    pub transfer_length: usize,
}

/// `rsm_scat_gath_t` (rsmapi_common.h): argument of `rsm_memseg_import_putv/getv`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rsm_scat_gath_t {
    /// Local node id (unused by the reference implementation).
    pub local_nodeid: rsm_node_id_t,
    /// Number of entries in `iovec`, 1..=`RSM_MAX_SGIOREQS`.
    pub io_request_count: ulong_t,
    /// Output: entries not completed or not started.
    pub io_residual_count: ulong_t,
    /// `RSM_IMPLICIT_SIGPOST`, optionally with `RSM_SIGPOST_NO_ACCUMULATE`.
    pub flags: uint_t,
    /// The imported segment.
    pub remote_handle: rsm_memseg_import_handle_t,
    /// `io_request_count` elements.
    pub iovec: *mut rsm_iovec_t,
}

/// `rsm_barrier_component_t` (rsm_common.h): 8-byte RSMPI barrier word, not used by any
/// RSMAPI function.
#[repr(C)]
#[derive(Clone, Copy)]
pub union rsm_barrier_component_t {
    /// As `uint64_t`.
    pub u64: u64,
    /// As `int64_t`.
    pub i64: i64,
    /// As `uint32_t[2]`.
    pub u32: [u32; 2],
    /// As `int32_t[2]`.
    pub i32: [i32; 2],
    /// As `uint16_t[4]`.
    pub u16: [u16; 4],
    /// As `int16_t[4]`.
    pub i16: [i16; 4],
    /// As `uint8_t[8]`.
    pub u8: [u8; 8],
    /// As `int8_t[8]`.
    pub i8: [i8; 8],
    /// As `uchar_t[8]`.
    pub uc: [uchar_t; 8],
    /// As `char[8]`.
    pub c: [c_char; 8],
    /// As `void *`.
    pub vp: *mut c_void,
}

impl fmt::Debug for rsm_barrier_component_t {
    /// The active member is not known, so nothing is read here.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("rsm_barrier_component_t")
            .finish_non_exhaustive()
    }
}

/// `rsm_barrier_t` (rsm_common.h): RSMPI barrier payload, not used by any RSMAPI function.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rsm_barrier_t {
    /// Four barrier words.
    pub comp: [rsm_barrier_component_t; 4],
}

/// `MAXNAMELEN` (Solaris `<sys/param.h>`; rsmapi.h defines it on Linux).
pub const MAXNAMELEN: usize = 256;

/// `rsm_topology_hdr_t` (rsmapi.h).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct rsm_topology_hdr_t {
    /// This node's id.
    pub local_nodeid: rsm_node_id_t,
    /// Number of entries in `rsm_topology_t::connections`.
    pub local_cntlr_count: uint_t,
}

/// `rsm_connections_hdr_t` (rsmapi.h).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct rsm_connections_hdr_t {
    /// `"<cntlr_type><unit>"`, NUL-terminated.
    pub cntlr_name: [c_char; MAXNAMELEN],
    /// Hardware address of the local controller.
    pub local_hwaddr: rsm_addr_t,
    /// Number of entries in `rsm_connections_t::remote_cntlr`.
    pub remote_cntlr_count: c_int,
}

/// `rsm_remote_cntlr_t` (rsmapi.h).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct rsm_remote_cntlr_t {
    /// Node at the far end.
    pub remote_nodeid: rsm_node_id_t,
    /// Its controller name, NUL-terminated.
    pub remote_cntlrname: [c_char; MAXNAMELEN],
    /// Its hardware address.
    pub remote_hwaddr: rsm_addr_t,
    /// Usable only when equal to `RSM_CONNECTION_ACTIVE`.
    pub connection_state: uint_t,
}

/// `rsm_connections_t` (typedef of `struct rsm_connection`, rsmapi.h). `remote_cntlr` really
/// has `hdr.remote_cntlr_count` entries.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rsm_connections_t {
    /// Controller description.
    pub hdr: rsm_connections_hdr_t,
    /// First remote connection (C flexible-array idiom `[1]`).
    pub remote_cntlr: [rsm_remote_cntlr_t; 1],
}

/// `rsm_topology_t` (rsmapi.h), returned by `rsm_get_interconnect_topology`.
/// `connections` really has `topology_hdr.local_cntlr_count` entries.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rsm_topology_t {
    /// Node id and controller count.
    pub topology_hdr: rsm_topology_hdr_t,
    /// First controller pointer (C flexible-array idiom `[1]`).
    pub connections: [*mut rsm_connections_t; 1],
}

// ---------------------------------------------------------------------------------------------
// Return codes (rsm_common.h; SPEC §3.1)
// ---------------------------------------------------------------------------------------------

/// Success.
pub const RSM_SUCCESS: c_int = 0;
/// Controller plug-in library version mismatch.
pub const RSMERR_BAD_LIBRARY_VERSION: c_int = 1;
/// Topology out-pointer is NULL or invalid.
pub const RSMERR_BAD_TOPOLOGY_PTR: c_int = 2;
/// Invalid controller handle.
pub const RSMERR_BAD_CTLR_HNDL: c_int = 3;
/// Controller does not exist or is unusable.
pub const RSMERR_CTLR_NOT_PRESENT: c_int = 4;
/// Invalid segment handle, or handle in the wrong state.
pub const RSMERR_BAD_SEG_HNDL: c_int = 5;
/// Segment already published.
pub const RSMERR_SEG_ALREADY_PUBLISHED: c_int = 6;
/// Segment not published.
pub const RSMERR_SEG_NOT_PUBLISHED: c_int = 7;
/// Importing node not in the segment's access list.
pub const RSMERR_SEG_NOT_PUBLISHED_TO_NODE: c_int = 8;
/// Import segment already mapped.
pub const RSMERR_SEG_ALREADY_MAPPED: c_int = 9;
/// Disconnect while explicitly mapped.
pub const RSMERR_SEG_STILL_MAPPED: c_int = 10;
/// Unmap of an unmapped segment.
pub const RSMERR_SEG_NOT_MAPPED: c_int = 11;
/// Caller is not the process that created the export segment.
pub const RSMERR_NOT_CREATOR: c_int = 12;
/// NULL or invalid barrier pointer.
pub const RSMERR_BAD_BARRIER_PTR: c_int = 13;
/// Bad scatter/gather descriptor or count.
pub const RSMERR_BAD_SGIO: c_int = 14;
/// Bad local memory handle.
pub const RSMERR_BAD_LOCALMEM_HNDL: c_int = 15;
/// Bad address argument.
pub const RSMERR_BAD_ADDR: c_int = 16;
/// Address, offset or length not properly aligned.
pub const RSMERR_BAD_MEM_ALIGNMENT: c_int = 17;
/// Offset outside the valid range.
pub const RSMERR_BAD_OFFSET: c_int = 18;
/// Misaligned offset (defined; Solaris never returned it).
pub const RSMERR_MISALIGNED_OFFSET: c_int = 19;
/// Zero, too large or out-of-range length.
pub const RSMERR_BAD_LENGTH: c_int = 20;
/// Invalid access-control list.
pub const RSMERR_BAD_ACL: c_int = 21;
/// Invalid segment id.
pub const RSMERR_BAD_SEGID: c_int = 22;
/// Segment id in a reserved range.
pub const RSMERR_RESERVED_SEGID: c_int = 23;
/// Segment id already published on this node.
pub const RSMERR_SEGID_IN_USE: c_int = 24;
/// Invalid barrier mode.
pub const RSMERR_BAD_MODE: c_int = 25;
/// Invalid permission value.
pub const RSMERR_BAD_PERMS: c_int = 26;
/// Access denied.
pub const RSMERR_PERM_DENIED: c_int = 27;
/// Lock operations not supported.
pub const RSMERR_LOCKS_NOT_SUPPORTED: c_int = 28;
/// Lock operations not enabled on the segment.
pub const RSMERR_LOCKS_NOT_ENABLED: c_int = 29;
/// Rebind on a segment created without `RSM_ALLOW_REBIND`.
pub const RSMERR_REBIND_NOT_ALLOWED: c_int = 30;
/// Resource shortage.
pub const RSMERR_INSUFFICIENT_RESOURCES: c_int = 31;
/// Memory shortage.
pub const RSMERR_INSUFFICIENT_MEM: c_int = 32;
/// Mapping failed.
pub const RSMERR_MAP_FAILED: c_int = 33;
/// A poll descriptor reference is still held.
pub const RSMERR_POLLFD_IN_USE: c_int = 34;
/// Barrier not initialized.
pub const RSMERR_BARRIER_UNINITIALIZED: c_int = 35;
/// Barrier open failed.
pub const RSMERR_BARRIER_OPEN_FAILED: c_int = 36;
/// Close/order without open.
pub const RSMERR_BARRIER_NOT_OPENED: c_int = 37;
/// Remote access error detected at close/order.
pub const RSMERR_BARRIER_FAILURE: c_int = 38;
/// No path to the remote node.
pub const RSMERR_REMOTE_NODE_UNREACHABLE: c_int = 39;
/// Connection forcibly aborted.
pub const RSMERR_CONN_ABORTED: c_int = 40;
/// Interrupted by a signal.
pub const RSMERR_INTERRUPTED: c_int = 41;
/// Timeout expired.
pub const RSMERR_TIMEOUT: c_int = 42;
/// Application id not in the segment-id configuration file.
pub const RSMERR_BAD_APPID: c_int = 43;
/// Configuration file missing, unreadable or malformed.
pub const RSMERR_BAD_CONF: c_int = 44;
/// Segment not connected.
pub const RSMERR_SEG_NOT_CONNECTED: c_int = 45;
/// (RSMPI) Kernel agent protocol version mismatch.
pub const RSMERR_BAD_DRIVER_VERSION: c_int = 101;
/// (RSMPI) Unsupported version.
pub const RSMERR_UNSUPPORTED_VERSION: c_int = 102;
/// (RSMPI) Driver name in use.
pub const RSMERR_DRIVER_NAME_IN_USE: c_int = 103;
/// (RSMPI) Driver not registered.
pub const RSMERR_DRIVER_NOT_REGISTERED: c_int = 104;
/// (RSMPI) Driver thread running.
pub const RSMERR_DRIVER_THREAD_RUNNING: c_int = 105;
/// (RSMPI) Thread initialization needed.
pub const RSMERR_NEED_THREAD_INIT: c_int = 106;
/// (RSMPI) Thread not initialized.
pub const RSMERR_THREAD_NOT_INITED: c_int = 107;
/// (RSMPI) Controllers registered.
pub const RSMERR_CTLRS_REGISTERED: c_int = 108;
/// (RSMPI) Controller not registered.
pub const RSMERR_CTLR_NOT_REGISTERED: c_int = 109;
/// (RSMPI) Controller already registered.
pub const RSMERR_CTLR_ALREADY_REGISTERED: c_int = 110;
/// (RSMPI) Controller in use.
pub const RSMERR_CTLR_IN_USE: c_int = 111;
/// (RSMPI) Name too long.
pub const RSMERR_NAME_TOO_LONG: c_int = 112;
/// (RSMPI) Segment published.
pub const RSMERR_SEG_PUBLISHED: c_int = 113;
/// (RSMPI) Segment not published to this RSM address.
pub const RSMERR_SEG_NOT_PUBLISHED_TO_RSM_ADDR: c_int = 114;
/// (RSMPI) Segment in use.
pub const RSMERR_SEG_IN_USE: c_int = 115;
/// (RSMPI) Bad send-queue handle.
pub const RSMERR_BAD_SENDQ_HNDL: c_int = 116;
/// Bad arguments (returned by `rsm_intr_signal_wait[_pollfd]` for poll errors).
pub const RSMERR_BAD_ARGS_ERRORS: c_int = 117;
/// (RSMPI) Bad memory-segment type.
pub const RSMERR_BAD_MSTYPE: c_int = 118;
/// (RSMPI) No backing memory.
pub const RSMERR_NO_BACKING_MEM: c_int = 119;
/// (RSMPI) Not memory.
pub const RSMERR_NOT_MEM: c_int = 120;
/// (RSMPI) Memory already bound.
pub const RSMERR_MEM_ALREADY_BOUND: c_int = 121;
/// (RSMPI) Memory not bound.
pub const RSMERR_MEM_NOT_BOUND: c_int = 122;
/// (RSMPI) Handler not registered.
pub const RSMERR_HANDLER_NOT_REGISTERED: c_int = 123;
/// (RSMPI) No handler.
pub const RSMERR_NO_HANDLER: c_int = 124;
/// (RSMPI) Unbind/rebind not allowed.
pub const RSMERR_UNBIND_REBIND_NOT_ALLOWED: c_int = 125;
/// (RSMPI) Callbacks not supported.
pub const RSMERR_CALLBACKS_NOT_SUPPORTED: c_int = 126;
/// (RSMPI) Unsupported operation.
pub const RSMERR_UNSUPPORTED_OPERATION: c_int = 127;
/// (RSMPI) RSM address unreachable.
pub const RSMERR_RSM_ADDR_UNREACHABLE: c_int = 128;
/// (RSMPI) Unknown RSM address.
pub const RSMERR_UNKNOWN_RSM_ADDR: c_int = 129;
/// (RSMPI) Bad barrier handle.
pub const RSMERR_BAD_BARRIER_HNDL: c_int = 130;
/// (RSMPI) Communication error, message may have been delivered.
pub const RSMERR_COMM_ERR_MAYBE_DELIVERED: c_int = 131;
/// (RSMPI) Communication error, message not delivered.
pub const RSMERR_COMM_ERR_NOT_DELIVERED: c_int = 132;
/// (RSMPI) Queue fence up.
pub const RSMERR_QUEUE_FENCE_UP: c_int = 133;
/// (RSMPI) Queue full.
pub const RSMERR_QUEUE_FULL: c_int = 134;
/// Internal error; also what an entry point returns if its body panicked.
pub const RSMERR_INTERNAL_ERROR: c_int = 100;

// ---------------------------------------------------------------------------------------------
// Versions and limits (SPEC §3.2)
// ---------------------------------------------------------------------------------------------

/// `RSM_VERSION` (rsm_common.h): kernel-agent protocol version of Solaris.
pub const RSM_VERSION: c_int = 5;
/// `RSM_MAX_SGIOREQS` (rsm_common.h): largest `io_request_count`.
pub const RSM_MAX_SGIOREQS: ulong_t = 16;
/// `RSM_CONNECTION_ACTIVE` (rsmapi.h): usable `connection_state`.
pub const RSM_CONNECTION_ACTIVE: uint_t = 3;

// ---------------------------------------------------------------------------------------------
// Permissions (rsm_common.h; SPEC §3.3)
// ---------------------------------------------------------------------------------------------

/// No access.
pub const RSM_PERM_NONE: rsm_permission_t = 0;
/// Read access (octal 0400).
pub const RSM_PERM_READ: rsm_permission_t = 0o400;
/// Write access (octal 0200).
pub const RSM_PERM_WRITE: rsm_permission_t = 0o200;
/// Read and write access (octal 0600).
pub const RSM_PERM_RDWR: rsm_permission_t = RSM_PERM_READ | RSM_PERM_WRITE;

// ---------------------------------------------------------------------------------------------
// Flags (rsmapi_common.h; SPEC §3.4)
// ---------------------------------------------------------------------------------------------

/// `rsm_iovec_t::io_type`: `local.handle` is valid.
pub const RSM_HANDLE_TYPE: c_int = 0x01;
/// `rsm_iovec_t::io_type`: `local.vaddr` is valid.
pub const RSM_VA_TYPE: c_int = 0x02;
/// `rsm_memseg_export_create` flag: rebind (and unbind) allowed.
pub const RSM_ALLOW_REBIND: uint_t = 0x01;
/// `rsm_memseg_export_create` flag: do not block for resources.
pub const RSM_CREATE_SEG_DONTWAIT: uint_t = 0x02;
/// `rsm_scat_gath_t::flags`: post a signal after a successful putv/getv.
pub const RSM_IMPLICIT_SIGPOST: uint_t = 0x01;
/// `rsm_intr_signal_post` flag (and `rsm_scat_gath_t::flags` bit): do not accumulate.
pub const RSM_SIGPOST_NO_ACCUMULATE: uint_t = 0x02;

// ---------------------------------------------------------------------------------------------
// Segment-id partition (rsm_common.h; SPEC §3.6)
// ---------------------------------------------------------------------------------------------

/// Interconnect drivers: first id.
pub const RSM_DRIVER_PRIVATE_ID_BASE: rsm_memseg_id_t = 0;
/// Interconnect drivers: last id.
pub const RSM_DRIVER_PRIVATE_ID_END: rsm_memseg_id_t = 0x0F_FFFF;
/// Cluster transport: first id.
pub const RSM_CLUSTER_TRANSPORT_ID_BASE: rsm_memseg_id_t = 0x10_0000;
/// Cluster transport: last id.
pub const RSM_CLUSTER_TRANSPORT_ID_END: rsm_memseg_id_t = 0x1F_FFFF;
/// RSM libraries: first id.
pub const RSM_RSMLIB_ID_BASE: rsm_memseg_id_t = 0x20_0000;
/// RSM libraries: last id.
pub const RSM_RSMLIB_ID_END: rsm_memseg_id_t = 0x2F_FFFF;
/// RSM DLPI driver: first id.
pub const RSM_DLPI_ID_BASE: rsm_memseg_id_t = 0x30_0000;
/// RSM DLPI driver: last id.
pub const RSM_DLPI_ID_END: rsm_memseg_id_t = 0x3F_FFFF;
/// HPC software: first id (accepted from applications).
pub const RSM_HPC_ID_BASE: rsm_memseg_id_t = 0x40_0000;
/// HPC software: last id.
pub const RSM_HPC_ID_END: rsm_memseg_id_t = 0x4F_FFFF;
/// OPS: first id (accepted from applications).
pub const RSM_OPS_ID_BASE: rsm_memseg_id_t = 0x50_0000;
/// OPS: last id.
pub const RSM_OPS_ID_END: rsm_memseg_id_t = 0x5F_FFFF;
/// System-assigned ids (publish with id 0): first id.
pub const RSM_USER_APP_ID_BASE: rsm_memseg_id_t = 0x8000_0000;
/// System-assigned ids: last id.
pub const RSM_USER_APP_ID_END: rsm_memseg_id_t = 0xFFFF_FFFF;

// ---------------------------------------------------------------------------------------------
// rsm extension (rsmapi_ext.h)
// ---------------------------------------------------------------------------------------------

/// `RSM_EXT_VERSION` (rsmapi_ext.h): version of the extension interface.
pub const RSM_EXT_VERSION: c_int = 1;
/// `RSM_LOCK_OPS` (rsmapi_ext.h): `rsm_memseg_export_create` flag enabling the atomic and
/// lock operations on the segment.
pub const RSM_LOCK_OPS: uint_t = 0x100;

// ---------------------------------------------------------------------------------------------
// LP64 layout of SPEC.md §2.4, checked at compile time
// ---------------------------------------------------------------------------------------------

const _: () = {
    // Scalars and handles.
    assert!(size_of::<uint_t>() == 4 && size_of::<ulong_t>() == 8);
    assert!(size_of::<offset_t>() == 8 && size_of::<caddr_t>() == 8);
    assert!(size_of::<rsm_addr_t>() == 8 && size_of::<rsm_node_id_t>() == 4);
    assert!(size_of::<rsm_memseg_id_t>() == 4 && size_of::<rsm_permission_t>() == 4);
    assert!(size_of::<rsm_memseg_import_handle_t>() == 8);
    assert!(size_of::<rsm_memseg_export_handle_t>() == 8);
    assert!(size_of::<rsm_localmemory_handle_t>() == 8);
    assert!(size_of::<rsmapi_controller_handle_t>() == 8);
    assert!(size_of::<rsm_attribute_t>() == 4 && size_of::<rsm_barrier_mode_t>() == 4);

    // rsmapi_controller_attr_t
    type A = rsmapi_controller_attr_t;
    assert!(offset_of!(A, attr_direct_access_sizes) == 0);
    assert!(offset_of!(A, attr_atomic_sizes) == 4);
    assert!(offset_of!(A, attr_page_size) == 8);
    assert!(offset_of!(A, attr_max_export_segment_size) == 16);
    assert!(offset_of!(A, attr_tot_export_segment_size) == 24);
    assert!(offset_of!(A, attr_max_export_segments) == 32);
    assert!(offset_of!(A, attr_max_import_map_size) == 40);
    assert!(offset_of!(A, attr_tot_import_map_size) == 48);
    assert!(offset_of!(A, attr_max_import_segments) == 56);
    assert!(size_of::<A>() == 64 && align_of::<A>() == 8);

    // rsmapi_access_entry_t
    assert!(offset_of!(rsmapi_access_entry_t, ae_node) == 0);
    assert!(offset_of!(rsmapi_access_entry_t, ae_permission) == 4);
    assert!(size_of::<rsmapi_access_entry_t>() == 8);
    assert!(align_of::<rsmapi_access_entry_t>() == 4);

    // rsmapi_barrier_t
    assert!(offset_of!(rsmapi_barrier_t, seg) == 0);
    assert!(offset_of!(rsmapi_barrier_t, gnum) == 8);
    assert!(offset_of!(rsmapi_barrier_t, privdata) == 16);
    assert!(size_of::<rsmapi_barrier_t>() == 24 && align_of::<rsmapi_barrier_t>() == 8);

    // rsm_iovec_t
    assert!(size_of::<rsm_iovec_local>() == 8);
    assert!(offset_of!(rsm_iovec_t, io_type) == 0);
    assert!(offset_of!(rsm_iovec_t, local) == 8);
    assert!(offset_of!(rsm_iovec_t, local_offset) == 16);
    assert!(offset_of!(rsm_iovec_t, remote_offset) == 24);
    assert!(offset_of!(rsm_iovec_t, transfer_length) == 32);
    assert!(size_of::<rsm_iovec_t>() == 40 && align_of::<rsm_iovec_t>() == 8);

    // rsm_scat_gath_t
    type S = rsm_scat_gath_t;
    assert!(offset_of!(S, local_nodeid) == 0);
    assert!(offset_of!(S, io_request_count) == 8);
    assert!(offset_of!(S, io_residual_count) == 16);
    assert!(offset_of!(S, flags) == 24);
    assert!(offset_of!(S, remote_handle) == 32);
    assert!(offset_of!(S, iovec) == 40);
    assert!(size_of::<S>() == 48 && align_of::<S>() == 8);

    // rsm_barrier_component_t / rsm_barrier_t
    assert!(size_of::<rsm_barrier_component_t>() == 8);
    assert!(align_of::<rsm_barrier_component_t>() == 8);
    assert!(size_of::<rsm_barrier_t>() == 32 && align_of::<rsm_barrier_t>() == 8);

    // Topology.
    assert!(offset_of!(rsm_topology_hdr_t, local_nodeid) == 0);
    assert!(offset_of!(rsm_topology_hdr_t, local_cntlr_count) == 4);
    assert!(size_of::<rsm_topology_hdr_t>() == 8);

    assert!(offset_of!(rsm_connections_hdr_t, cntlr_name) == 0);
    assert!(offset_of!(rsm_connections_hdr_t, local_hwaddr) == 256);
    assert!(offset_of!(rsm_connections_hdr_t, remote_cntlr_count) == 264);
    assert!(size_of::<rsm_connections_hdr_t>() == 272);

    assert!(offset_of!(rsm_remote_cntlr_t, remote_nodeid) == 0);
    assert!(offset_of!(rsm_remote_cntlr_t, remote_cntlrname) == 4);
    assert!(offset_of!(rsm_remote_cntlr_t, remote_hwaddr) == 264);
    assert!(offset_of!(rsm_remote_cntlr_t, connection_state) == 272);
    assert!(size_of::<rsm_remote_cntlr_t>() == 280);

    assert!(offset_of!(rsm_connections_t, hdr) == 0);
    assert!(offset_of!(rsm_connections_t, remote_cntlr) == 272);
    assert!(size_of::<rsm_connections_t>() == 552);

    assert!(offset_of!(rsm_topology_t, topology_hdr) == 0);
    assert!(offset_of!(rsm_topology_t, connections) == 8);
    assert!(size_of::<rsm_topology_t>() == 16);
};
