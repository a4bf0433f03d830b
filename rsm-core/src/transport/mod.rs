//! The backend boundary (DESIGN.md §2.1).
//!
//! Above this trait, written once in the crate root modules: argument validation and the
//! exact RSMERR code for each failure, the export/import state machines, barrier
//! bookkeeping, typed and vector transfers, segment-id rules, ACL rules, lock algorithms.
//! Below it, per backend: making memory reachable, moving bytes, delivering signals and
//! detecting a lost peer. A backend reports only what the core cannot anticipate (a lost
//! connection, a refused open, resource exhaustion); usage errors never reach it.
//!
//! `docs/backends.md` explains how each operation maps onto the shared-memory backend
//! (implemented here), TCP and RDMA verbs.

pub(crate) mod shm;

use std::fmt::Debug;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Duration;

use crate::controller::ControllerAttr;
use crate::error::Result;
use crate::segid::IdRequest;
use crate::sys::region::Region;
use crate::topology::LocalController;
use crate::types::{AccessEntry, ExportFlags, NodeId, Permission, SegmentId};

/// What a controller's backend can do. Code above the trait branches on these flags,
/// never on which backend it talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Caps {
    /// `map()` works (direct load/store access to imported memory).
    pub mappable: bool,
    /// put/get need a mapping, so the first put/get implicitly maps the segment
    /// (`rsm_ndlib_attr_t.rsm_putget_map_reqd`).
    pub putget_map_required: bool,
    /// putv/getv need a mapping (`rsm_scatgath_map_reqd`).
    pub scatgath_map_required: bool,
    /// Remote atomics and lock operations are available (extension).
    pub atomics: bool,
    /// Interrupt signals can be posted and waited for.
    pub signals: bool,
    /// Only the local node is reachable (loopback rules: connect to another node is
    /// `CtlrNotPresent`; an ACL holds at most one entry, naming the local node).
    pub node_local: bool,
    /// Most entries an access list may hold on this controller.
    pub max_acl_entries: usize,
    /// Page size: alignment unit of export create, map offsets and local memory handles.
    pub page_size: usize,
}

/// Where an export segment's memory comes from.
#[derive(Debug)]
pub(crate) enum ExportMem {
    /// rsm-core allocates it.
    Owned,
    /// The caller's page-aligned range, exported in place.
    InPlace(std::ptr::NonNull<u8>),
}

/// New backing memory for a rebind.
#[derive(Debug)]
pub(crate) enum RebindMem<'a> {
    /// Fresh contents for rsm-core-owned memory.
    Contents(&'a [u8]),
    /// The caller's new page-aligned range.
    InPlace(std::ptr::NonNull<u8>),
}

/// Result of a non-blocking attempt to consume one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Consumed {
    /// One pending event was consumed.
    Event,
    /// Nothing was pending (another waiter took it, or only a wake-up was there).
    Nothing,
    /// The connection is gone (revoked, or the peer died).
    Gone,
}

/// One word operation of the lock extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AtomicOp {
    FetchAdd(u64),
    CompareSwap { expected: u64, new: u64 },
    Swap(u64),
}

impl AtomicOp {
    /// Performs the operation on a word of local (or mapped) memory; returns the old value.
    pub(crate) fn apply(self, w: &std::sync::atomic::AtomicU64) -> u64 {
        use std::sync::atomic::Ordering::SeqCst;
        match self {
            AtomicOp::FetchAdd(v) => w.fetch_add(v, SeqCst),
            AtomicOp::Swap(v) => w.swap(v, SeqCst),
            AtomicOp::CompareSwap { expected, new } => {
                match w.compare_exchange(expected, new, SeqCst, SeqCst) {
                    Ok(v) | Err(v) => v,
                }
            }
        }
    }
}

/// Event delivery for one segment handle (export or import side).
pub(crate) trait Events: Send + Sync + Debug {
    /// Posts one event to the other side(s). `flags` may hold `SIGPOST_NO_ACCUMULATE`.
    fn post(&self, flags: u32) -> Result<()>;
    /// Blocks until one event is consumed, the timeout passes (`Timeout`) or the
    /// connection is lost (`ConnAborted`, import side).
    fn wait(&self, timeout: Option<Duration>) -> Result<()>;
    /// The descriptor that polls readable (`POLLRDNORM`) while events are pending.
    fn poll_fd(&self) -> RawFd;
    /// A descriptor that polls readable once the peer is gone, if the backend has one.
    fn peer_fd(&self) -> Option<RawFd>;
    /// Consumes one pending event without blocking.
    fn consume(&self) -> Consumed;
}

/// The interconnect adapters of every backend built in, for the topology. The loopback
/// pseudo-controller is not an adapter and contributes nothing (SPEC.md §2.4); network
/// backends list their adapters and the remote adapters they reach.
pub(crate) fn local_adapters(_cfg: &crate::config::Config) -> Vec<LocalController> {
    Vec::new()
}

/// A backend: one per controller instance.
pub(crate) trait Transport: Send + Sync + Debug {
    /// Capabilities.
    fn caps(&self) -> Caps;
    /// Attributes reported by `rsm_get_controller_attr`.
    fn attr(&self) -> ControllerAttr;
    /// Creates an export segment of `size` bytes (validated: non-zero, page multiple);
    /// `create_mode` is the creator's `0777 & !umask` (SPEC.md §5.4 `mode_E`).
    fn export(
        &self,
        size: usize,
        mem: ExportMem,
        flags: ExportFlags,
        create_mode: u32,
    ) -> Result<Arc<dyn Exported>>;
    /// Connects to segment `id` on `node` asking for `perm` (validated: ⊆ 0600).
    fn connect(&self, node: NodeId, id: SegmentId, perm: Permission) -> Result<Arc<dyn Remote>>;
}

/// An exported segment, as the backend sees it. The core calls these only in states
/// where they are legal (its state machine runs first).
pub(crate) trait Exported: Events {
    /// Makes the segment importable under `id` with access list `acl`; `mode` is the RSM
    /// permission `M` of SPEC.md §5.4 for the local node. Returns the id used.
    fn publish(&self, id: IdRequest, acl: &[AccessEntry], mode: u32) -> Result<SegmentId>;
    /// Replaces the access list (future connects only).
    fn republish(&self, acl: &[AccessEntry], mode: u32) -> Result<()>;
    /// Withdraws the segment; every importer is cut off (`ConnAborted`) and stale
    /// mappings no longer reach the exporter's memory.
    fn unpublish(&self) -> Result<()>;
    /// Replaces the backing memory (same size); importers stay connected.
    fn rebind(&self, mem: RebindMem<'_>) -> Result<()>;
    /// Releases everything. `owner` is false in a forked child, which must not touch the
    /// names the parent published.
    fn destroy(&self, owner: bool);
    /// The exporter's own memory.
    fn local(&self) -> Arc<Region>;
}

/// A connection to an exported segment.
pub(crate) trait Remote: Events {
    /// Segment size in bytes.
    fn size(&self) -> usize;
    /// Whether the exporter enabled lock operations (`LOCK_OPS`).
    fn locks_enabled(&self) -> bool;
    /// Copies `src` to segment offset `off` (range validated) in native `item`-byte units.
    fn put(&self, off: usize, src: &[u8], item: usize) -> Result<()>;
    /// Copies from segment offset `off` into `dst` (range validated).
    fn get(&self, off: usize, dst: &mut [u8], item: usize) -> Result<()>;
    /// Whether the connection still stands (`ConnAborted` if revoked or the exporter
    /// died). Cheap: the liveness of the exporter is re-checked at most every
    /// `RSM_LIVENESS_MS`.
    fn check(&self) -> Result<()>;
    /// Ends a barrier span: earlier transfers are complete and visible (`wrote`: puts
    /// were issued), then [`check`](Remote::check).
    fn span_close(&self, wrote: bool) -> Result<()>;
    /// Orders writes issued before against writes issued after.
    fn order(&self) -> Result<()>;
    /// Maps `len` bytes from segment offset `off` (page aligned) with `perm`, at `addr`
    /// (hint, or exact with `fixed`).
    fn map(
        &self,
        off: usize,
        len: usize,
        perm: Permission,
        addr: *mut u8,
        fixed: bool,
    ) -> Result<Arc<Region>>;
    /// One atomic operation on the 8-byte word at `off` (validated); returns the old value.
    fn atomic(&self, off: usize, op: AtomicOp) -> Result<u64>;
    /// Tears the connection down (resources that concurrent callers may still touch stay
    /// valid until drop).
    fn disconnect(&self, owner: bool);
}
