//! Import segments (SPEC.md §4.4–§4.5, §4.7 modes): connect, disconnect, map, unmap,
//! put/get and their 8/16/32/64-bit forms, barrier mode, signals, lock operations.

use std::fmt;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::controller::Controller;
use crate::error::{ErrorKind, Result, RsmError, err};
use crate::lock::Held;
use crate::signal::PollRefs;
use crate::sys::{self, region::Region};
use crate::transport::{AtomicOp, Caps, Remote};
use crate::types::{
    BarrierMode, MapAttr, NodeId, PERM_RDWR, PERM_READ, PERM_WRITE, Permission, SegmentId,
};
use crate::view::MemView;

pub(crate) const CONNECTED: u8 = 0;
pub(crate) const IMPLICIT_MAP: u8 = 1;
pub(crate) const EXPLICIT_MAP: u8 = 2;
pub(crate) const DISCONNECTED: u8 = 3;

/// State shared by an import handle and its barriers.
pub(crate) struct ImportShared {
    pub(crate) ctrl: Controller,
    pub(crate) remote: Arc<dyn Remote>,
    pub(crate) caps: Caps,
    pub(crate) size: usize,
    pub(crate) perm: Permission,
    node: NodeId,
    segid: SegmentId,
    creator: u32,
    /// `CONNECTED`, `IMPLICIT_MAP`, `EXPLICIT_MAP` or `DISCONNECTED`.
    pub(crate) state: AtomicU8,
    /// `BarrierMode as u8`.
    mode: AtomicU8,
    /// Id of the segment's current barrier (0 = none).
    pub(crate) barrier: AtomicU64,
    win_off: AtomicUsize,
    win_len: AtomicUsize,
    /// First transfer error of the current explicit barrier span.
    pub(crate) span_error: Mutex<Option<RsmError>>,
    /// Explicit mapping (slow path; serialises map/unmap/disconnect).
    explicit: Mutex<Option<Arc<Region>>>,
    pub(crate) polls: PollRefs,
    held: Held,
}

impl ImportShared {
    fn slow(&self) -> MutexGuard<'_, Option<Arc<Region>>> {
        self.explicit.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn connected(&self, op: &'static str) -> Result<()> {
        if self.state.load(Ordering::Acquire) == DISCONNECTED {
            Err(disconnected(op))
        } else {
            Ok(())
        }
    }

    /// Records a transfer failure for the barrier close (explicit mode).
    pub(crate) fn record(&self, e: &RsmError) {
        let mut s = self.span_error.lock().unwrap_or_else(|p| p.into_inner());
        if s.is_none() {
            *s = Some(e.clone());
        }
    }

    /// Steps 4–9 of SPEC.md §4.5 for a transfer of `len` bytes at `off` in `item`-byte
    /// units needing `need`; returns the offset and whether the barrier mode is implicit.
    ///
    /// Range errors follow the reference: a mapped handle (explicitly, or implicitly by
    /// the first transfer when the controller needs a mapping for put/get) is limited to
    /// its window, `BadOffset` outside; a handle that is only connected (a controller that
    /// transfers without mapping) reports `BadLength` past the end of the segment.
    ///
    /// `len` is a `u128` so that a C caller's `rep_cnt × item size` cannot overflow
    /// before the range check refuses it.
    #[inline]
    fn begin(
        &self,
        op: &'static str,
        off: u64,
        len: u128,
        item: usize,
        need: Permission,
    ) -> Result<(usize, bool)> {
        if !off.is_multiple_of(item as u64) {
            return Err(err(
                ErrorKind::BadMemAlignment,
                op,
                format!("offset {off} is not a multiple of {item}"),
            ));
        }
        let mut st = self.state.load(Ordering::Acquire);
        if st == DISCONNECTED {
            return Err(disconnected(op));
        }
        if st == CONNECTED && self.caps.putget_map_required {
            st = self.implicit_map(op)?;
        }
        self.need_perm(op, need)?;
        let end = off as u128 + len;
        if st == CONNECTED {
            if end > self.size as u128 {
                return Err(err(
                    ErrorKind::BadLength,
                    op,
                    format!("{len} bytes at {off} exceed the {}-byte segment", self.size),
                ));
            }
        } else {
            let (wo, wl) = if st == EXPLICIT_MAP {
                (
                    self.win_off.load(Ordering::Relaxed) as u128,
                    self.win_len.load(Ordering::Relaxed) as u128,
                )
            } else {
                (0, self.size as u128)
            };
            if (off as u128) < wo || end > wo + wl {
                return Err(err(
                    ErrorKind::BadOffset,
                    op,
                    format!("{len} bytes at {off} are outside the mapped window {wo}+{wl}"),
                ));
            }
        }
        let implicit = self.is_implicit();
        if implicit && self.barrier.load(Ordering::Relaxed) == 0 {
            return Err(err(
                ErrorKind::BarrierUninitialized,
                op,
                "implicit barrier mode needs init_barrier first",
            ));
        }
        Ok((off as usize, implicit))
    }

    /// Whether the barrier mode is implicit.
    pub(crate) fn is_implicit(&self) -> bool {
        self.mode.load(Ordering::Relaxed) == BarrierMode::Implicit as u8
    }

    /// One validated put in the current barrier mode: implicit mode brackets it with a
    /// connection check and a span close (SPEC.md §4.5 step 10); explicit mode records a
    /// failure for the barrier close.
    #[inline]
    pub(crate) fn transfer_put(
        &self,
        op: &'static str,
        implicit: bool,
        off: usize,
        bytes: &[u8],
        item: usize,
    ) -> Result<()> {
        if implicit {
            self.remote.check().map_err(|e| e.with_op(op))?;
            self.remote
                .put(off, bytes, item)
                .map_err(|e| e.with_op(op))?;
            self.remote.span_close(true).map_err(|e| e.with_op(op))
        } else {
            self.remote.put(off, bytes, item).map_err(|e| {
                self.record(&e);
                e.with_op(op)
            })
        }
    }

    /// The get counterpart of [`transfer_put`](Self::transfer_put).
    #[inline]
    pub(crate) fn transfer_get(
        &self,
        op: &'static str,
        implicit: bool,
        off: usize,
        bytes: &mut [u8],
        item: usize,
    ) -> Result<()> {
        if implicit {
            self.remote.check().map_err(|e| e.with_op(op))?;
            self.remote
                .get(off, bytes, item)
                .map_err(|e| e.with_op(op))?;
            self.remote.span_close(false).map_err(|e| e.with_op(op))
        } else {
            self.remote.get(off, bytes, item).map_err(|e| {
                self.record(&e);
                e.with_op(op)
            })
        }
    }

    /// `PermDenied` unless the connection grants `need`.
    #[inline]
    pub(crate) fn need_perm(&self, op: &'static str, need: Permission) -> Result<()> {
        if self.perm & need == 0 {
            return Err(err(
                ErrorKind::PermDenied,
                op,
                format!(
                    "connected with permission {:#o}; this needs {need:#o}",
                    self.perm
                ),
            ));
        }
        Ok(())
    }

    /// Connected → implicitly mapped (the whole segment; SPEC.md §4.5 step 6, §4.6 step
    /// 5). As the reference's implicit `mmap`, this fails with `ConnAborted` on a lost
    /// connection (the handle stays connected-only). Returns the new state (another
    /// thread may have mapped meanwhile).
    #[cold]
    pub(crate) fn implicit_map(&self, op: &'static str) -> Result<u8> {
        self.remote.check().map_err(|e| e.with_op(op))?;
        match self.state.compare_exchange(
            CONNECTED,
            IMPLICIT_MAP,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Ok(IMPLICIT_MAP),
            Err(DISCONNECTED) => Err(disconnected(op)),
            Err(now) => Ok(now),
        }
    }

    fn force_disconnect(&self) {
        let mut ex = self.slow();
        self.disconnect_locked(&mut ex);
    }

    fn disconnect_locked(&self, ex: &mut Option<Arc<Region>>) {
        if self.state.swap(DISCONNECTED, Ordering::AcqRel) == DISCONNECTED {
            return;
        }
        if let Some(r) = ex.take()
            && Arc::strong_count(&r) > 1
        {
            let _ = r.detach(false);
        }
        self.polls.clear(self.remote.poll_fd());
        self.remote.disconnect(sys::getpid() == self.creator);
    }

    fn word(&self, op: &'static str, off: u64) -> Result<usize> {
        self.connected(op)?;
        if !self.caps.atomics {
            return Err(err(
                ErrorKind::LocksNotSupported,
                op,
                "this controller has no remote atomics",
            ));
        }
        if !self.remote.locks_enabled() {
            return Err(err(
                ErrorKind::LocksNotEnabled,
                op,
                "the segment was exported without LOCK_OPS",
            ));
        }
        if !off.is_multiple_of(8) {
            return Err(err(
                ErrorKind::BadMemAlignment,
                op,
                format!("offset {off} is not 8-byte aligned"),
            ));
        }
        if self.perm != PERM_RDWR {
            return Err(err(
                ErrorKind::PermDenied,
                op,
                "lock operations need a read-write connection",
            ));
        }
        if off >= self.size as u64 || self.size as u64 - off < 8 {
            return Err(err(
                ErrorKind::BadOffset,
                op,
                format!("word at {off} is outside the {}-byte segment", self.size),
            ));
        }
        self.remote.check().map_err(|e| e.with_op(op))?;
        Ok(off as usize)
    }
}

/// An import segment (`rsm_memseg_import_handle_t`): a connection to a segment another
/// process exported.
///
/// All operations take `&self`; after [`disconnect`](ImportSegment::disconnect) every call
/// returns [`ErrorKind::BadSegHndl`]. Dropping a connected handle disconnects it silently.
/// New connections are in implicit barrier mode: put/get need a barrier from
/// [`init_barrier`](ImportSegment::init_barrier) (or explicit mode).
pub struct ImportSegment {
    pub(crate) sh: Arc<ImportShared>,
}

impl fmt::Debug for ImportSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportSegment")
            .field("node", &self.sh.node)
            .field("segment_id", &format_args!("{:#x}", self.sh.segid))
            .field("size", &self.sh.size)
            .field("perm", &format_args!("{:#o}", self.sh.perm))
            .field("state", &self.sh.state.load(Ordering::Relaxed))
            .finish()
    }
}

impl fmt::Debug for ImportShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportShared")
            .field("segment_id", &self.segid)
            .finish()
    }
}

fn as_bytes<T: sys::Plain>(s: &[T]) -> &[u8] {
    sys::pod_bytes(s)
}

impl ImportSegment {
    /// `rsm_memseg_import_connect`: connects to segment `id` on `node` with permission
    /// `perm` (`PERM_READ`, `PERM_WRITE`, `PERM_RDWR`, or 0 for a connection that can do
    /// nothing but signal).
    ///
    /// Errors, in order: [`ErrorKind::BadCtlrHndl`] (released controller),
    /// [`ErrorKind::PermDenied`] (bits outside 0600), [`ErrorKind::CtlrNotPresent`]
    /// (loopback and `node` is not the local node), [`ErrorKind::SegNotPublished`],
    /// [`ErrorKind::SegNotPublishedToNode`], [`ErrorKind::PermDenied`] (the access list /
    /// file mode refuses this process), [`ErrorKind::BadDriverVersion`] (foreign layout),
    /// [`ErrorKind::InsufficientResources`].
    pub fn connect(
        ctrl: &Controller,
        node: NodeId,
        id: SegmentId,
        perm: Permission,
    ) -> Result<ImportSegment> {
        const OP: &str = "import_connect";
        ctrl.usable(OP)?;
        if perm & !PERM_RDWR != 0 {
            return Err(err(
                ErrorKind::PermDenied,
                OP,
                format!("permission {perm:#o} has bits outside 0600"),
            ));
        }
        let caps = ctrl.caps();
        if caps.node_local && node != ctrl.node_id() {
            return Err(err(
                ErrorKind::CtlrNotPresent,
                OP,
                format!(
                    "the loopback controller reaches only the local node {}, not node {node}",
                    ctrl.node_id()
                ),
            ));
        }
        let remote = ctrl
            .transport()
            .connect(node, id, perm)
            .map_err(|e| e.with_op(OP))?;
        Ok(ImportSegment {
            sh: Arc::new(ImportShared {
                ctrl: ctrl.clone(),
                size: remote.size(),
                remote,
                caps,
                perm,
                node,
                segid: id,
                creator: sys::getpid(),
                state: AtomicU8::new(CONNECTED),
                mode: AtomicU8::new(BarrierMode::Implicit as u8),
                barrier: AtomicU64::new(0),
                win_off: AtomicUsize::new(0),
                win_len: AtomicUsize::new(0),
                span_error: Mutex::new(None),
                explicit: Mutex::new(None),
                polls: PollRefs::default(),
                held: Held::default(),
            }),
        })
    }

    /// Segment size in bytes (learned from the exporter).
    pub fn size(&self) -> usize {
        self.sh.size
    }

    /// The permission asked for at connect.
    pub fn permission(&self) -> Permission {
        self.sh.perm
    }

    /// The exporting node.
    pub fn node(&self) -> NodeId {
        self.sh.node
    }

    /// The segment id.
    pub fn segment_id(&self) -> SegmentId {
        self.sh.segid
    }

    /// The controller the connection was made through.
    pub fn controller(&self) -> &Controller {
        &self.sh.ctrl
    }

    /// Whether the handle is mapped, explicitly or implicitly (by a first put/get).
    pub fn is_mapped(&self) -> bool {
        matches!(
            self.sh.state.load(Ordering::Acquire),
            IMPLICIT_MAP | EXPLICIT_MAP
        )
    }

    /// Whether [`disconnect`](Self::disconnect) ran.
    pub fn is_disconnected(&self) -> bool {
        self.sh.state.load(Ordering::Acquire) == DISCONNECTED
    }

    /// Whether the connection still stands: `Err(ConnAborted)` once the exporter
    /// unpublished or destroyed the segment or died (`BadSegHndl` after disconnect).
    pub fn check_connection(&self) -> Result<()> {
        self.sh.connected("import_check")?;
        self.sh.remote.check()
    }

    /// `rsm_memseg_import_disconnect`. Errors, in order: [`ErrorKind::BadSegHndl`],
    /// [`ErrorKind::SegStillMapped`] (explicitly mapped; an implicit mapping is dropped
    /// silently — also when the next check fails), [`ErrorKind::PollfdInUse`].
    pub fn disconnect(&self) -> Result<()> {
        const OP: &str = "import_disconnect";
        let mut ex = self.sh.slow();
        match self.sh.state.load(Ordering::Acquire) {
            DISCONNECTED => return Err(err(ErrorKind::BadSegHndl, OP, "already disconnected")),
            EXPLICIT_MAP => {
                return Err(err(
                    ErrorKind::SegStillMapped,
                    OP,
                    "the segment is mapped explicitly (map); unmap it first",
                ));
            }
            // As the reference: the implicit mapping goes first, whatever happens next
            // (a refusal below leaves the handle connected and unmapped).
            IMPLICIT_MAP => self.sh.state.store(CONNECTED, Ordering::Release),
            _ => {}
        }
        if self.sh.polls.count() > 0 {
            return Err(err(
                ErrorKind::PollfdInUse,
                OP,
                format!(
                    "{} poll descriptor reference(s) held",
                    self.sh.polls.count()
                ),
            ));
        }
        self.sh.disconnect_locked(&mut ex);
        Ok(())
    }

    fn map_checks(
        &self,
        op: &'static str,
        perm: Permission,
        offset: u64,
        len: usize,
        addr: Option<*mut u8>,
    ) -> Result<usize> {
        match self.sh.state.load(Ordering::Acquire) {
            IMPLICIT_MAP | EXPLICIT_MAP => {
                return Err(err(
                    ErrorKind::SegAlreadyMapped,
                    op,
                    "already mapped (explicitly or by an earlier put/get); unmap first",
                ));
            }
            DISCONNECTED => return Err(disconnected(op)),
            _ => {}
        }
        if perm > PERM_RDWR {
            return Err(err(
                ErrorKind::BadPerms,
                op,
                format!("mapping permission {perm:#o} exceeds 0600"),
            ));
        }
        if len == 0 {
            return Err(err(ErrorKind::BadLength, op, "length is 0"));
        }
        if offset as u128 + len as u128 > self.sh.size as u128 {
            return Err(err(
                ErrorKind::BadLength,
                op,
                format!(
                    "{len} bytes at {offset} exceed the {}-byte segment",
                    self.sh.size
                ),
            ));
        }
        let ps = self.sh.caps.page_size;
        if !offset.is_multiple_of(ps as u64) {
            return Err(err(
                ErrorKind::BadMemAlignment,
                op,
                format!("offset {offset} is not page aligned"),
            ));
        }
        if let Some(a) = addr
            && !(a as usize).is_multiple_of(ps)
        {
            return Err(err(
                ErrorKind::BadMemAlignment,
                op,
                format!("address {a:p} is not page aligned"),
            ));
        }
        Ok(offset as usize)
    }

    /// Records the explicit mapping `r` of `len` bytes at `off` (under the slow lock).
    fn finish_map(&self, ex: &mut Option<Arc<Region>>, r: Arc<Region>, off: usize, len: usize) {
        *ex = Some(r);
        self.sh.win_off.store(off, Ordering::Relaxed);
        self.sh.win_len.store(len, Ordering::Relaxed);
        self.sh.state.store(EXPLICIT_MAP, Ordering::Release);
    }

    /// `rsm_memseg_import_map`: maps `len` bytes from `offset` (page aligned) with `perm`
    /// and returns a [`MemView`] of them. One mapping per handle; while mapped, put/get are
    /// limited to the window ([`ErrorKind::BadOffset`] outside).
    ///
    /// Errors, in order: [`ErrorKind::SegAlreadyMapped`] (explicitly or implicitly mapped),
    /// [`ErrorKind::BadSegHndl`] (disconnected), [`ErrorKind::BadPerms`] (`perm` > 0600),
    /// [`ErrorKind::BadLength`] (0, or beyond the segment), [`ErrorKind::BadMemAlignment`]
    /// (offset), then [`ErrorKind::MapFailed`] (controller cannot map:
    /// `RSM_LOOPBACK_MAP=0`), [`ErrorKind::ConnAborted`] (revoked), [`ErrorKind::BadPerms`]
    /// (more than the connection grants).
    pub fn map(&self, offset: u64, len: usize, perm: Permission) -> Result<MemView> {
        const OP: &str = "import_map";
        let mut ex = self.sh.slow();
        let off = self.map_checks(OP, perm, offset, len, None)?;
        let r = self
            .sh
            .remote
            .map(off, len, perm, std::ptr::null_mut(), false)?;
        self.finish_map(&mut ex, r.clone(), off, len);
        Ok(MemView::new(
            r,
            len,
            perm & PERM_READ != 0,
            perm & PERM_WRITE != 0,
        ))
    }

    /// `rsm_memseg_import_map` for the C ABI: like [`map`](Self::map), at `addr` (a hint
    /// with [`MapAttr::None`]/[`MapAttr::Reserved`], the exact address with
    /// [`MapAttr::Fixed`], which must then be page aligned —
    /// [`ErrorKind::BadMemAlignment`]). Returns the mapped address; the mapping lives until
    /// [`unmap`](Self::unmap) or disconnect.
    ///
    /// # Safety
    /// With [`MapAttr::Fixed`], whatever is mapped at `addr..addr+len` (rounded up to
    /// pages) is replaced: it must be memory the caller owns and no Rust reference may
    /// point into it. The returned address must not be used after `unmap`/disconnect.
    #[allow(unsafe_code)]
    pub unsafe fn map_raw(
        &self,
        addr: *mut u8,
        attr: MapAttr,
        perm: Permission,
        offset: u64,
        len: usize,
    ) -> Result<*mut u8> {
        const OP: &str = "import_map";
        let fixed = attr == MapAttr::Fixed;
        let mut ex = self.sh.slow();
        let off = self.map_checks(OP, perm, offset, len, fixed.then_some(addr))?;
        let r = self.sh.remote.map(off, len, perm, addr, fixed)?;
        let p = r.as_ptr();
        self.finish_map(&mut ex, r, off, len);
        Ok(p)
    }

    /// `rsm_memseg_import_unmap`: removes the mapping (explicit or implicit). Views still
    /// held keep valid memory that no longer reaches the segment. Errors:
    /// [`ErrorKind::BadSegHndl`], [`ErrorKind::SegNotMapped`].
    pub fn unmap(&self) -> Result<()> {
        const OP: &str = "import_unmap";
        let mut ex = self.sh.slow();
        match self.sh.state.load(Ordering::Acquire) {
            DISCONNECTED => Err(disconnected(OP)),
            CONNECTED => Err(err(
                ErrorKind::SegNotMapped,
                OP,
                "the segment is not mapped (neither by map nor by a transfer)",
            )),
            IMPLICIT_MAP => {
                self.sh.state.store(CONNECTED, Ordering::Release);
                Ok(())
            }
            _ => {
                self.sh.state.store(CONNECTED, Ordering::Release);
                if let Some(r) = ex.take()
                    && Arc::strong_count(&r) > 1
                {
                    let _ = r.detach(false);
                }
                Ok(())
            }
        }
    }

    /// `rsm_memseg_import_set_mode`. Errors: [`ErrorKind::BadSegHndl`]. (An invalid C value
    /// is [`ErrorKind::BadMode`] from [`BarrierMode::from_raw`].)
    pub fn set_mode(&self, mode: BarrierMode) -> Result<()> {
        self.sh.connected("import_set_mode")?;
        self.sh.mode.store(mode as u8, Ordering::Relaxed);
        Ok(())
    }

    /// `rsm_memseg_import_get_mode`.
    pub fn get_mode(&self) -> Result<BarrierMode> {
        self.sh.connected("import_get_mode")?;
        Ok(
            if self.sh.mode.load(Ordering::Relaxed) == BarrierMode::Explicit as u8 {
                BarrierMode::Explicit
            } else {
                BarrierMode::Implicit
            },
        )
    }

    #[inline]
    fn put_items(&self, op: &'static str, off: u64, bytes: &[u8], item: usize) -> Result<()> {
        let (o, implicit) = self
            .sh
            .begin(op, off, bytes.len() as u128, item, PERM_WRITE)?;
        self.sh.transfer_put(op, implicit, o, bytes, item)
    }

    #[inline]
    fn get_items(&self, op: &'static str, off: u64, bytes: &mut [u8], item: usize) -> Result<()> {
        let (o, implicit) = self
            .sh
            .begin(op, off, bytes.len() as u128, item, PERM_READ)?;
        self.sh.transfer_get(op, implicit, o, bytes, item)
    }

    /// `rsm_memseg_import_put`: copies `src` to segment offset `off`.
    ///
    /// Errors, in order (SPEC.md §4.5): [`ErrorKind::BadSegHndl`] (disconnected),
    /// [`ErrorKind::ConnAborted`] (the first transfer of a handle that is not mapped yet
    /// maps it implicitly, which fails on a lost connection),
    /// [`ErrorKind::PermDenied`] (connected without write permission),
    /// [`ErrorKind::BadOffset`] (outside the mapped window: the explicit mapping, or the
    /// whole segment once mapped implicitly), [`ErrorKind::BadLength`] (beyond the
    /// segment, on a controller that does not map for put/get: `RSM_LOOPBACK_MAP=0`),
    /// [`ErrorKind::BarrierUninitialized`] (implicit mode without a barrier),
    /// [`ErrorKind::ConnAborted`] (implicit mode: the exporter unpublished/destroyed the
    /// segment or died; nothing reaches its memory). Out-of-range requests never touch
    /// memory.
    #[inline]
    pub fn put(&self, off: u64, src: &[u8]) -> Result<()> {
        self.put_items("import_put", off, src, 1)
    }

    /// `rsm_memseg_import_get`: copies from segment offset `off` into `dst`. Errors as
    /// [`put`](Self::put) with read permission; `dst` is not written on error.
    #[inline]
    pub fn get(&self, off: u64, dst: &mut [u8]) -> Result<()> {
        self.get_items("import_get", off, dst, 1)
    }

    /// `rsm_memseg_import_put8`: `data.len()` bytes (the repeat count) to `off`.
    pub fn put8(&self, off: u64, data: &[u8]) -> Result<()> {
        self.put_items("import_put8", off, data, 1)
    }

    /// `rsm_memseg_import_put16`: `data.len()` 16-bit items with 16-bit stores; `off` must
    /// be 2-aligned ([`ErrorKind::BadMemAlignment`]).
    pub fn put16(&self, off: u64, data: &[u16]) -> Result<()> {
        self.put_items("import_put16", off, as_bytes(data), 2)
    }

    /// `rsm_memseg_import_put32` (4-aligned `off`).
    pub fn put32(&self, off: u64, data: &[u32]) -> Result<()> {
        self.put_items("import_put32", off, as_bytes(data), 4)
    }

    /// `rsm_memseg_import_put64` (8-aligned `off`).
    pub fn put64(&self, off: u64, data: &[u64]) -> Result<()> {
        self.put_items("import_put64", off, as_bytes(data), 8)
    }

    /// `rsm_memseg_import_get8`.
    pub fn get8(&self, off: u64, data: &mut [u8]) -> Result<()> {
        self.get_items("import_get8", off, data, 1)
    }

    /// `rsm_memseg_import_get16` (2-aligned `off`, 16-bit loads).
    pub fn get16(&self, off: u64, data: &mut [u16]) -> Result<()> {
        self.get_items("import_get16", off, sys::pod_bytes_mut(data), 2)
    }

    /// `rsm_memseg_import_get32` (4-aligned `off`).
    pub fn get32(&self, off: u64, data: &mut [u32]) -> Result<()> {
        self.get_items("import_get32", off, sys::pod_bytes_mut(data), 4)
    }

    /// `rsm_memseg_import_get64` (8-aligned `off`).
    pub fn get64(&self, off: u64, data: &mut [u64]) -> Result<()> {
        self.get_items("import_get64", off, sys::pod_bytes_mut(data), 8)
    }

    /// The C forms of put/get: `item` bytes per element (1, 2, 4 or 8), `rep` elements,
    /// from/to a raw local pointer. Checks NULL ([`ErrorKind::BadAddr`]) and the pointer's
    /// alignment to `item` ([`ErrorKind::BadMemAlignment`]) before the checks of
    /// [`put`](Self::put) (which include the range: `item × rep` bytes, whatever their
    /// number, are refused before the local memory is touched). For the byte forms
    /// (`put`/`put8`) `item` is 1 and `rep` is the length. An `item` other than 1, 2, 4
    /// or 8 is [`ErrorKind::BadArgsErrors`].
    ///
    /// # Safety
    /// `src` must be valid for reading `item * rep` bytes for the duration of the call.
    #[allow(unsafe_code)]
    pub unsafe fn put_raw(&self, off: u64, src: *const u8, item: usize, rep: usize) -> Result<()> {
        let op = raw_op(true, item);
        raw_checks(op, src as usize, item)?;
        let (o, implicit) = self
            .sh
            .begin(op, off, rep as u128 * item as u128, item, PERM_WRITE)?;
        // SAFETY: non-null (checked); `item * rep` fits in the segment (checked by `begin`),
        // so it neither overflows nor exceeds `isize::MAX`; the caller vouches that `src`
        // is readable for that many bytes.
        let s = unsafe { std::slice::from_raw_parts(src, item * rep) };
        self.sh.transfer_put(op, implicit, o, s, item)
    }

    /// The C forms of get; see [`put_raw`](Self::put_raw).
    ///
    /// # Safety
    /// `dst` must be valid for writing `item * rep` bytes for the duration of the call and
    /// not be referenced by anything else meanwhile.
    #[allow(unsafe_code)]
    pub unsafe fn get_raw(&self, off: u64, dst: *mut u8, item: usize, rep: usize) -> Result<()> {
        let op = raw_op(false, item);
        raw_checks(op, dst as usize, item)?;
        let (o, implicit) = self
            .sh
            .begin(op, off, rep as u128 * item as u128, item, PERM_READ)?;
        // SAFETY: as in `put_raw`; the caller vouches that `dst` is writable and exclusive
        // for `item * rep` bytes.
        let d = unsafe { std::slice::from_raw_parts_mut(dst, item * rep) };
        self.sh.transfer_get(op, implicit, o, d, item)
    }

    /// `rsm_memseg_import_init_barrier`: creates a barrier and makes it the segment's
    /// barrier (the one implicit-mode transfers need). A later init replaces it. `ty` is
    /// recorded only. Errors: [`ErrorKind::BadSegHndl`].
    pub fn init_barrier(&self, ty: crate::types::BarrierType) -> Result<crate::barrier::Barrier> {
        crate::barrier::Barrier::init(&self.sh, ty)
    }

    /// `rsm_intr_signal_post` on the import handle: one event to the exporter. `flags`
    /// may hold [`SIGPOST_NO_ACCUMULATE`](crate::types::SIGPOST_NO_ACCUMULATE). Errors:
    /// [`ErrorKind::BadSegHndl`], [`ErrorKind::ConnAborted`].
    pub fn signal_post(&self, flags: u32) -> Result<()> {
        self.sh.connected("intr_signal_post")?;
        self.sh.remote.post(flags)
    }

    /// `rsm_intr_signal_wait`: waits for and consumes one event posted by the exporter
    /// (`None` = forever). On a lost connection (unpublished, destroyed, or the exporter
    /// died) the events the exporter posted before the loss are still delivered, one per
    /// call; then [`ErrorKind::ConnAborted`] at once (a blocked wait is woken immediately
    /// when the exporter dies). Errors also [`ErrorKind::BadSegHndl`],
    /// [`ErrorKind::Timeout`], [`ErrorKind::Interrupted`].
    pub fn signal_wait(&self, timeout: Option<Duration>) -> Result<()> {
        self.sh.connected("intr_signal_wait")?;
        self.sh.remote.wait(timeout)
    }

    /// `rsm_memseg_get_pollfd` (see
    /// [`ExportSegment::get_pollfd`](crate::ExportSegment::get_pollfd)); blocks
    /// [`disconnect`](Self::disconnect) until released.
    pub fn get_pollfd(&self) -> Result<libc::pollfd> {
        self.sh.connected("memseg_get_pollfd")?;
        Ok(self.sh.polls.get(self.sh.remote.clone()))
    }

    /// `rsm_memseg_release_pollfd`.
    pub fn release_pollfd(&self) -> Result<()> {
        self.sh.connected("memseg_release_pollfd")?;
        self.sh.polls.release(self.sh.remote.poll_fd());
        Ok(())
    }

    fn atomic(&self, op: &'static str, off: u64, a: AtomicOp) -> Result<u64> {
        let o = self.sh.word(op, off)?;
        self.sh.remote.atomic(o, a).map_err(|e| e.with_op(op))
    }

    /// Remote atomic fetch-and-add on the 8-byte word at `off` (lock extension,
    /// `rsm_memseg_import_atomic_fadd64`); returns the old value.
    ///
    /// Errors, in order: [`ErrorKind::BadSegHndl`], [`ErrorKind::LocksNotSupported`]
    /// (controller without atomics), [`ErrorKind::LocksNotEnabled`] (exported without
    /// `LOCK_OPS`), [`ErrorKind::BadMemAlignment`], [`ErrorKind::PermDenied`] (not
    /// read-write), [`ErrorKind::BadOffset`], [`ErrorKind::ConnAborted`].
    pub fn fetch_add64(&self, off: u64, v: u64) -> Result<u64> {
        self.atomic("import_atomic_fadd64", off, AtomicOp::FetchAdd(v))
    }

    /// Remote compare-and-swap (`rsm_memseg_import_atomic_cas64`); returns the old value
    /// (equal to `expected` when the swap happened). Errors as
    /// [`fetch_add64`](Self::fetch_add64).
    pub fn compare_swap64(&self, off: u64, expected: u64, new: u64) -> Result<u64> {
        self.atomic(
            "import_atomic_cas64",
            off,
            AtomicOp::CompareSwap { expected, new },
        )
    }

    /// Remote swap (`rsm_memseg_import_atomic_swap64`); returns the old value.
    pub fn swap64(&self, off: u64, v: u64) -> Result<u64> {
        self.atomic("import_atomic_swap64", off, AtomicOp::Swap(v))
    }

    /// `rsm_memseg_import_lock`: takes the lock word at `off`, waiting up to `timeout`
    /// (`None` = forever) → [`ErrorKind::Timeout`]. A lock whose holder process died is
    /// broken. The lock belongs to the calling thread. Errors as
    /// [`fetch_add64`](Self::fetch_add64), plus [`ErrorKind::ConnAborted`] while waiting.
    pub fn lock(&self, off: u64, timeout: Option<Duration>) -> Result<()> {
        const OP: &str = "import_lock";
        let o = self.sh.word(OP, off)?;
        let sh = &self.sh;
        sh.held.lock(
            o,
            timeout,
            sh.caps.node_local,
            &|a| sh.remote.atomic(o, a),
            &|| sh.remote.check().map_err(|e| e.with_op(OP)),
        )
    }

    /// `rsm_memseg_import_trylock`: one attempt; `Ok(false)` if the lock is held (the C
    /// ABI reports that as `RSMERR_TIMEOUT`).
    pub fn try_lock(&self, off: u64) -> Result<bool> {
        const OP: &str = "import_trylock";
        let o = self.sh.word(OP, off)?;
        let sh = &self.sh;
        sh.held
            .try_lock(o, sh.caps.node_local, &|a| sh.remote.atomic(o, a))
    }

    /// `rsm_memseg_import_unlock`: releases a lock this thread took through this handle
    /// ([`ErrorKind::PermDenied`] otherwise).
    pub fn unlock(&self, off: u64) -> Result<()> {
        const OP: &str = "import_unlock";
        let o = self.sh.word(OP, off)?;
        let sh = &self.sh;
        sh.held.unlock(o, &|a| sh.remote.atomic(o, a))
    }
}

/// `BadSegHndl` for a handle used after `disconnect`.
pub(crate) fn disconnected(op: &'static str) -> RsmError {
    err(ErrorKind::BadSegHndl, op, "import segment disconnected")
}

fn raw_op(put: bool, item: usize) -> &'static str {
    match (put, item) {
        (true, 2) => "import_put16",
        (true, 4) => "import_put32",
        (true, 8) => "import_put64",
        (true, _) => "import_put",
        (false, 2) => "import_get16",
        (false, 4) => "import_get32",
        (false, 8) => "import_get64",
        (false, _) => "import_get",
    }
}

/// Checks of a raw local pointer (SPEC.md §4.5 steps 2–3).
fn raw_checks(op: &'static str, addr: usize, item: usize) -> Result<()> {
    if addr == 0 {
        return Err(err(ErrorKind::BadAddr, op, "local buffer pointer is null"));
    }
    if !matches!(item, 1 | 2 | 4 | 8) {
        return Err(err(
            ErrorKind::BadArgsErrors,
            op,
            format!("item size {item} is not 1, 2, 4 or 8"),
        ));
    }
    if !addr.is_multiple_of(item) {
        return Err(err(
            ErrorKind::BadMemAlignment,
            op,
            format!("local buffer {addr:#x} is not {item}-byte aligned"),
        ));
    }
    Ok(())
}

impl Drop for ImportSegment {
    fn drop(&mut self) {
        self.sh.force_disconnect();
    }
}
