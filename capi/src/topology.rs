//! Interconnect topology (SPEC.md §4.2): `rsm_get_interconnect_topology` lays rsm-core's
//! [`Topology`] out in the single-buffer format of SPEC.md §2.4;
//! `rsm_free_interconnect_topology` frees buffers it handed out and ignores anything else.

use core::ffi::{c_char, c_int};
use core::mem::{align_of, size_of};
use std::sync::Mutex;

use rsm_core::{ErrorKind, RsmError, Topology};

use crate::state::{code, fail};
use crate::types::{
    MAXNAMELEN, rsm_connections_hdr_t, rsm_connections_t, rsm_remote_cntlr_t, rsm_topology_hdr_t,
    rsm_topology_t,
};

/// Addresses of the buffers handed out and not yet freed.
static LIVE: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<usize>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Offsets of the pieces of a topology buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Layout {
    /// Offset of each `rsm_connections_t` (one per local controller).
    pub connections: Vec<usize>,
    /// Total size; at least `sizeof(rsm_topology_t)`, so `connections[0]` is always
    /// readable (NULL when there is no controller).
    pub size: usize,
}

/// Size of the connection block of a controller with `remote` remote controllers.
fn connection_size(remote: usize) -> Option<usize> {
    size_of::<rsm_connections_hdr_t>()
        .checked_add(remote.checked_mul(size_of::<rsm_remote_cntlr_t>())?)
}

/// Layout of SPEC.md §2.4: header, `N` pointers, then per controller its
/// `rsm_connections_hdr_t` followed by its `rsm_remote_cntlr_t`s (all 8-byte aligned).
pub fn layout(t: &Topology) -> Option<Layout> {
    let n = t.controllers.len();
    let mut off =
        size_of::<rsm_topology_hdr_t>().checked_add(n.checked_mul(size_of::<usize>())?)?;
    let mut connections = Vec::with_capacity(n);
    for c in &t.controllers {
        connections.push(off);
        off = off.checked_add(connection_size(c.remote.len())?)?;
    }
    Some(Layout {
        connections,
        size: off.max(size_of::<rsm_topology_t>()),
    })
}

/// Copies `s` into a `MAXNAMELEN` buffer, truncated to `MAXNAMELEN - 1` bytes and
/// NUL-terminated.
fn name_field(s: &str) -> [c_char; MAXNAMELEN] {
    let mut out = [0 as c_char; MAXNAMELEN];
    for (d, b) in out.iter_mut().zip(s.bytes().take(MAXNAMELEN - 1)) {
        *d = b as c_char;
    }
    out
}

/// Writes `t` into `buf` (zeroed, `layout.size` bytes, 8-byte aligned).
///
/// # Safety
/// `buf` is valid for writing `lay.size` bytes and aligned to 8.
unsafe fn fill(buf: *mut u8, t: &Topology, lay: &Layout) {
    let hdr = rsm_topology_hdr_t {
        local_nodeid: t.local_nodeid,
        local_cntlr_count: t.controllers.len() as u32,
    };
    // SAFETY: offset 0 of an 8-aligned buffer of at least sizeof(rsm_topology_t) bytes.
    unsafe { buf.cast::<rsm_topology_hdr_t>().write(hdr) };
    let ptrs = size_of::<rsm_topology_hdr_t>();
    for (i, (c, &coff)) in t.controllers.iter().zip(&lay.connections).enumerate() {
        // SAFETY: every offset comes from `layout`, within the buffer and 8-aligned (all
        // sizes involved are multiples of 8).
        unsafe {
            buf.add(ptrs + i * size_of::<usize>())
                .cast::<*mut rsm_connections_t>()
                .write(buf.add(coff).cast());
            buf.add(coff)
                .cast::<rsm_connections_hdr_t>()
                .write(rsm_connections_hdr_t {
                    cntlr_name: name_field(&c.name),
                    local_hwaddr: c.local_hwaddr,
                    remote_cntlr_count: c.remote.len().min(i32::MAX as usize) as c_int,
                });
        }
        let first = coff + size_of::<rsm_connections_hdr_t>();
        for (j, r) in c.remote.iter().enumerate() {
            // SAFETY: as above; the remote entries follow the header inside the block.
            unsafe {
                buf.add(first + j * size_of::<rsm_remote_cntlr_t>())
                    .cast::<rsm_remote_cntlr_t>()
                    .write(rsm_remote_cntlr_t {
                        remote_nodeid: r.remote_nodeid,
                        remote_cntlrname: name_field(&r.remote_cntlrname),
                        remote_hwaddr: r.remote_hwaddr,
                        connection_state: r.connection_state,
                    });
            }
        }
    }
}

/// Allocates (with `calloc`) and fills a topology buffer.
pub fn build(t: &Topology) -> Result<*mut rsm_topology_t, RsmError> {
    const OP: &str = "get_interconnect_topology";
    let lay =
        layout(t).ok_or_else(|| fail(ErrorKind::InsufficientMem, OP, "topology too large"))?;
    // SAFETY: calloc has no preconditions; the result is checked for NULL.
    let buf = unsafe { libc::calloc(1, lay.size) }.cast::<u8>();
    if buf.is_null() {
        return Err(fail(
            ErrorKind::InsufficientMem,
            OP,
            format!("cannot allocate {} bytes", lay.size),
        ));
    }
    debug_assert!((buf as usize).is_multiple_of(align_of::<rsm_connections_hdr_t>()));
    // SAFETY: calloc returned `lay.size` zeroed bytes aligned for any fundamental type.
    unsafe { fill(buf, t, &lay) };
    live().push(buf as usize);
    Ok(buf.cast())
}

/// Frees a buffer from [`build`]; other values are ignored. Returns whether it freed.
pub fn free(p: *mut rsm_topology_t) -> bool {
    let mut l = live();
    let Some(i) = l.iter().position(|&a| a == p as usize) else {
        return false;
    };
    l.swap_remove(i);
    // SAFETY: `p` came from calloc in `build` and was not freed yet (it was still listed).
    unsafe { libc::free(p.cast()) };
    true
}

crate::entry_points! {
    version "SUNWprivate_1.1";

    /// Stores in `*topology_data` a newly allocated snapshot of the interconnect: the
    /// local node id (`RSM_NODE_ID`) and the local adapters (none on a node with only the
    /// shared-memory controller, which is not an adapter). Free it with
    /// `rsm_free_interconnect_topology`.
    ///
    /// Errors: `RSMERR_BAD_TOPOLOGY_PTR` (`topology_data` NULL), `RSMERR_INSUFFICIENT_MEM`,
    /// `RSMERR_BAD_CONF` (malformed `RSM_*` environment). `*topology_data` is NULL on
    /// every error after the first.
    ///
    /// # Safety
    /// `topology_data` is NULL or valid for writing one pointer.
    pub unsafe extern "C" fn rsm_get_interconnect_topology(
        topology_data: *mut *mut rsm_topology_t,
    ) -> c_int {
        code((|| {
            if topology_data.is_null() {
                return Err(fail(
                    ErrorKind::BadTopologyPtr,
                    "get_interconnect_topology",
                    "topology_data is NULL",
                ));
            }
            // SAFETY: non-NULL and writable (contract).
            unsafe { topology_data.write_unaligned(std::ptr::null_mut()) };
            let t = rsm_core::get_interconnect_topology()?;
            let buf = build(&t)?;
            // SAFETY: as above.
            unsafe { topology_data.write_unaligned(buf) };
            Ok(())
        })())
    }

    /// Frees a snapshot from `rsm_get_interconnect_topology`. NULL, and any pointer that
    /// is not such a snapshot (or was already freed), is ignored.
    ///
    /// # Safety
    /// Any value may be passed; only pointers the library handed out are freed.
    pub unsafe extern "C" fn rsm_free_interconnect_topology(topology_data: *mut rsm_topology_t) {
        free(topology_data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsm_core::{LocalController, RemoteController};

    fn sample() -> Topology {
        Topology {
            local_nodeid: 7,
            controllers: vec![
                LocalController {
                    name: "sci0".into(),
                    local_hwaddr: 0x11,
                    remote: vec![
                        RemoteController {
                            remote_nodeid: 1,
                            remote_cntlrname: "sci1".into(),
                            remote_hwaddr: 0x21,
                            connection_state: 3,
                        },
                        RemoteController {
                            remote_nodeid: 2,
                            remote_cntlrname: "x".repeat(300),
                            remote_hwaddr: 0x22,
                            connection_state: 1,
                        },
                    ],
                },
                LocalController {
                    name: "ibv0".into(),
                    local_hwaddr: 0x12,
                    remote: vec![],
                },
            ],
        }
    }

    #[test]
    fn layout_follows_spec_2_4() {
        // 8 + 2 pointers, then 272 + 2 * 280, then 272.
        let l = layout(&sample()).unwrap();
        assert_eq!(l.connections, [24, 24 + 272 + 560]);
        assert_eq!(l.size, 24 + 272 + 560 + 272);
        let empty = layout(&Topology::default()).unwrap();
        assert_eq!(empty.connections, Vec::<usize>::new());
        assert_eq!(empty.size, 16);
    }

    #[test]
    fn build_writes_every_field_and_free_accepts_only_its_buffers() {
        let t = sample();
        let p = build(&t).unwrap();
        // SAFETY: `p` is a buffer from `build`, laid out as SPEC.md §2.4 says.
        unsafe {
            assert_eq!((*p).topology_hdr.local_nodeid, 7);
            assert_eq!((*p).topology_hdr.local_cntlr_count, 2);
            let c0 = *(*p).connections.as_ptr();
            let c1 = *(*p).connections.as_ptr().add(1);
            assert_eq!(c0 as usize - p as usize, 24);
            assert_eq!(c1 as usize - p as usize, 24 + 272 + 560);
            let name = std::ffi::CStr::from_ptr((*c0).hdr.cntlr_name.as_ptr());
            assert_eq!(name.to_str().unwrap(), "sci0");
            assert_eq!((*c0).hdr.local_hwaddr, 0x11);
            assert_eq!((*c0).hdr.remote_cntlr_count, 2);
            let r0 = &*(*c0).remote_cntlr.as_ptr();
            let r1 = &*(*c0).remote_cntlr.as_ptr().add(1);
            assert_eq!(r0.remote_nodeid, 1);
            assert_eq!(
                std::ffi::CStr::from_ptr(r0.remote_cntlrname.as_ptr()).to_bytes(),
                b"sci1"
            );
            assert_eq!(r0.remote_hwaddr, 0x21);
            assert_eq!(r0.connection_state, 3);
            let long = std::ffi::CStr::from_ptr(r1.remote_cntlrname.as_ptr());
            assert_eq!(long.to_bytes().len(), 255, "truncated and terminated");
            assert_eq!(r1.connection_state, 1);
            assert_eq!((*c1).hdr.remote_cntlr_count, 0);
        }
        let foreign = Box::into_raw(Box::new(0u64));
        assert!(!free(foreign.cast()), "foreign pointers are ignored");
        // SAFETY: allocated just above by Box.
        drop(unsafe { Box::from_raw(foreign) });
        assert!(!free(std::ptr::null_mut()));
        assert!(free(p));
        assert!(!free(p), "a second free is ignored");
    }
}
