//! Export segments (SPEC.md §4.3): create, publish, republish, unpublish, rebind, destroy.

use std::fmt;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::acl;
use crate::controller::Controller;
use crate::error::{ErrorKind, Result, err};
use crate::lock::Held;
use crate::segid;
use crate::signal::PollRefs;
use crate::sys;
use crate::transport::{AtomicOp, ExportMem, Exported, RebindMem};
use crate::types::{AccessEntry, ExportFlags, SegmentId};
use crate::view::MemView;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Created,
    Published(SegmentId),
    Destroyed,
}

/// An export segment (`rsm_memseg_export_handle_t`): memory this process makes
/// importable by other processes.
///
/// All operations take `&self`; a state machine (created → published → unpublished →
/// destroyed) decides what is legal: after [`destroy`](ExportSegment::destroy) every call
/// returns [`ErrorKind::BadSegHndl`]. Dropping a segment that was not destroyed destroys it
/// silently. Only the creating process may publish, republish, unpublish or rebind
/// ([`ErrorKind::NotCreator`] in a forked child).
pub struct ExportSegment {
    ctrl: Controller,
    ex: Arc<dyn Exported>,
    size: usize,
    flags: ExportFlags,
    creator: u32,
    create_mode: u32,
    st: Mutex<Phase>,
    polls: PollRefs,
    held: Held,
}

impl fmt::Debug for ExportSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportSegment")
            .field("size", &self.size)
            .field("flags", &self.flags)
            .field("state", &*self.lock())
            .finish()
    }
}

impl ExportSegment {
    fn lock(&self) -> MutexGuard<'_, Phase> {
        self.st.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_size(op: &'static str, ctrl: &Controller, size: usize) -> Result<()> {
        if size == 0 {
            return Err(err(ErrorKind::BadLength, op, "segment size is 0"));
        }
        let ps = ctrl.caps().page_size;
        if !size.is_multiple_of(ps) {
            return Err(err(
                ErrorKind::BadMemAlignment,
                op,
                format!("size {size} is not a multiple of the page size {ps}"),
            ));
        }
        Ok(())
    }

    fn new(
        ctrl: &Controller,
        size: usize,
        mem: ExportMem,
        flags: ExportFlags,
    ) -> Result<ExportSegment> {
        // Read once: the control page (importers' view) and the file mode (the kernel's)
        // must agree even if another thread changes the umask meanwhile.
        let create_mode = 0o777 & !sys::umask();
        let ex = ctrl.transport().export(size, mem, flags, create_mode)?;
        Ok(ExportSegment {
            ctrl: ctrl.clone(),
            ex,
            size,
            flags,
            creator: sys::getpid(),
            create_mode,
            st: Mutex::new(Phase::Created),
            polls: PollRefs::default(),
            held: Held::default(),
        })
    }

    /// `rsm_memseg_export_create` with memory rsm-core allocates: `size` bytes (a non-zero
    /// multiple of the page size), zero-filled, reachable through [`view`](Self::view).
    ///
    /// Errors, in order: [`ErrorKind::BadCtlrHndl`] (controller released),
    /// [`ErrorKind::BadLength`] (size 0), [`ErrorKind::BadMemAlignment`] (size not a page
    /// multiple), [`ErrorKind::InsufficientMem`] / [`ErrorKind::InsufficientResources`].
    pub fn create(ctrl: &Controller, size: usize, flags: ExportFlags) -> Result<ExportSegment> {
        const OP: &str = "export_create";
        ctrl.usable(OP)?;
        Self::check_size(OP, ctrl, size)?;
        Self::new(ctrl, size, ExportMem::Owned, flags).map_err(|e| e.with_op(OP))
    }

    /// `rsm_memseg_export_create` on the caller's memory, exported in place: the pages of
    /// `vaddr..vaddr+size` are copied into a shared file that is then mapped over the same
    /// range, so the caller's pointer keeps working and now reaches importers.
    ///
    /// Errors, in order: [`ErrorKind::BadCtlrHndl`], [`ErrorKind::BadAddr`] (null),
    /// [`ErrorKind::BadLength`] (0), [`ErrorKind::BadMemAlignment`] (`vaddr` or `size` not
    /// page aligned), [`ErrorKind::BadAddr`] (range not mapped), [`ErrorKind::PermDenied`]
    /// (range not writable), then resource errors.
    ///
    /// # Safety
    /// `vaddr..vaddr+size` must be readable and writable memory of this process (for
    /// example from `mmap(MAP_PRIVATE|MAP_ANONYMOUS)` or `valloc`) that stays mapped until
    /// the segment is destroyed (or rebound elsewhere) **and** every [`MemView`] obtained
    /// from it is dropped. Its pages are replaced by a shared mapping with the same
    /// contents; on destroy (or rebind away) they become private anonymous memory holding
    /// the segment's last contents. No Rust reference may point into the range while it is
    /// exported.
    #[allow(unsafe_code)]
    pub unsafe fn create_in_place(
        ctrl: &Controller,
        vaddr: *mut u8,
        size: usize,
        flags: ExportFlags,
    ) -> Result<ExportSegment> {
        const OP: &str = "export_create";
        ctrl.usable(OP)?;
        let Some(ptr) = NonNull::new(vaddr) else {
            return Err(err(ErrorKind::BadAddr, OP, "vaddr is null"));
        };
        if size == 0 {
            return Err(err(ErrorKind::BadLength, OP, "segment size is 0"));
        }
        let ps = ctrl.caps().page_size;
        if !(vaddr as usize).is_multiple_of(ps) || !size.is_multiple_of(ps) {
            return Err(err(
                ErrorKind::BadMemAlignment,
                OP,
                format!("vaddr {vaddr:p} and size {size} must be multiples of the page size {ps}"),
            ));
        }
        Self::new(ctrl, size, ExportMem::InPlace(ptr), flags).map_err(|e| e.with_op(OP))
    }

    /// Segment size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The flags given at creation.
    pub fn flags(&self) -> ExportFlags {
        self.flags
    }

    /// The controller the segment was created through.
    pub fn controller(&self) -> &Controller {
        &self.ctrl
    }

    /// The id while published.
    pub fn segment_id(&self) -> Option<SegmentId> {
        match *self.lock() {
            Phase::Published(id) => Some(id),
            _ => None,
        }
    }

    /// Whether [`destroy`](Self::destroy) ran.
    pub fn is_destroyed(&self) -> bool {
        *self.lock() == Phase::Destroyed
    }

    fn alive(&self, op: &'static str, st: &Phase) -> Result<()> {
        if *st == Phase::Destroyed {
            Err(err(ErrorKind::BadSegHndl, op, "segment destroyed"))
        } else {
            Ok(())
        }
    }

    fn published(&self, op: &'static str, st: &Phase) -> Result<()> {
        self.alive(op, st)?;
        if matches!(*st, Phase::Published(_)) {
            Ok(())
        } else {
            Err(err(
                ErrorKind::SegNotPublished,
                op,
                "segment is not published",
            ))
        }
    }

    fn creator(&self, op: &'static str) -> Result<()> {
        if sys::getpid() == self.creator {
            Ok(())
        } else {
            Err(err(
                ErrorKind::NotCreator,
                op,
                format!(
                    "segment created by process {}, not this one ({})",
                    self.creator,
                    sys::getpid()
                ),
            ))
        }
    }

    /// The RSM permission `M` for the local node (SPEC.md §5.4).
    fn local_mode(&self, acl: &[AccessEntry]) -> u32 {
        acl::effective_mode(acl, self.ctrl.node_id(), self.create_mode).unwrap_or(0)
    }

    fn check_acl(&self, op: &'static str, acl: &[AccessEntry]) -> Result<()> {
        let caps = self.ctrl.caps();
        acl::validate(
            op,
            acl,
            caps.max_acl_entries,
            caps.node_local.then(|| self.ctrl.node_id()),
        )
    }

    /// `rsm_memseg_export_publish`: makes the segment importable under `id` with access
    /// list `acl` and returns the id. `id == 0` asks for an automatic id (the lowest free
    /// one from `0x80000000` up); applications may choose ids in `0x400000..=0x7fffffff`.
    /// An empty `acl` lets every node import with the creator's default mode
    /// (`0666 & 0777 & !umask`).
    ///
    /// Errors, in order: [`ErrorKind::BadSegHndl`] (destroyed),
    /// [`ErrorKind::SegAlreadyPublished`], [`ErrorKind::ReservedSegid`],
    /// [`ErrorKind::NotCreator`], [`ErrorKind::BadAcl`] (too long — at most one entry on
    /// the loopback controller —, a node above 64 or not the local node, a permission
    /// above 0666), [`ErrorKind::InsufficientResources`] (no automatic id left),
    /// [`ErrorKind::SegidInUse`].
    pub fn publish(&self, id: SegmentId, acl: &[AccessEntry]) -> Result<SegmentId> {
        const OP: &str = "export_publish";
        let mut st = self.lock();
        self.alive(OP, &st)?;
        if let Phase::Published(cur) = *st {
            return Err(err(
                ErrorKind::SegAlreadyPublished,
                OP,
                format!("already published as {cur:#x}"),
            ));
        }
        let req = segid::classify(OP, id)?;
        self.creator(OP)?;
        self.check_acl(OP, acl)?;
        let id = self.ex.publish(req, acl, self.local_mode(acl))?;
        *st = Phase::Published(id);
        Ok(id)
    }

    /// `rsm_memseg_export_republish`: replaces the access list; existing connections are
    /// unaffected. Errors: [`ErrorKind::BadSegHndl`], [`ErrorKind::SegNotPublished`],
    /// [`ErrorKind::NotCreator`], [`ErrorKind::BadAcl`].
    pub fn republish(&self, acl: &[AccessEntry]) -> Result<()> {
        const OP: &str = "export_republish";
        let st = self.lock();
        self.published(OP, &st)?;
        self.creator(OP)?;
        self.check_acl(OP, acl)?;
        self.ex.republish(acl, self.local_mode(acl))
    }

    /// `rsm_memseg_export_unpublish`: withdraws the segment. Every importer is cut off
    /// (their transfers fail with [`ErrorKind::ConnAborted`]; their mappings no longer
    /// reach this memory); the segment may be published again. Errors:
    /// [`ErrorKind::BadSegHndl`], [`ErrorKind::SegNotPublished`], [`ErrorKind::NotCreator`].
    ///
    /// The exporter must not write its memory while this runs (the contents are moved to
    /// a fresh file).
    pub fn unpublish(&self) -> Result<()> {
        const OP: &str = "export_unpublish";
        let mut st = self.lock();
        self.published(OP, &st)?;
        self.creator(OP)?;
        let r = self.ex.unpublish();
        // Revocation happened even if moving to a fresh file failed.
        *st = Phase::Created;
        r
    }

    fn rebind_checks(&self, op: &'static str, len: usize) -> Result<()> {
        if !self.flags.contains(ExportFlags::ALLOW_REBIND) {
            return Err(err(
                ErrorKind::RebindNotAllowed,
                op,
                "segment created without ALLOW_REBIND",
            ));
        }
        self.creator(op)?;
        if len != self.size {
            return Err(err(
                ErrorKind::BadLength,
                op,
                format!("length {len} differs from the segment size {}", self.size),
            ));
        }
        Ok(())
    }

    /// `rsm_memseg_export_rebind` for rsm-core-owned memory: the segment's contents are
    /// replaced by `contents` (exactly [`size`](Self::size) bytes); importers stay
    /// connected and see the new contents. Errors, in order: [`ErrorKind::BadSegHndl`],
    /// [`ErrorKind::RebindNotAllowed`], [`ErrorKind::NotCreator`], [`ErrorKind::BadLength`].
    pub fn rebind(&self, contents: &[u8]) -> Result<()> {
        const OP: &str = "export_rebind";
        let st = self.lock();
        self.alive(OP, &st)?;
        self.rebind_checks(OP, contents.len())?;
        self.ex.rebind(RebindMem::Contents(contents))
    }

    /// `rsm_memseg_export_rebind` in place: the segment's memory becomes the caller's range
    /// `vaddr..vaddr+len` (its contents are what importers now see); the previous range is
    /// detached first and keeps exactly its own contents (private memory). Rebinding to the
    /// current address is a no-op. The whole new range is checked before anything changes:
    /// a rebind that fails leaves the segment, its importers and both ranges as they were.
    /// Errors, in order: [`ErrorKind::BadSegHndl`], [`ErrorKind::BadAddr`] (null),
    /// [`ErrorKind::RebindNotAllowed`], [`ErrorKind::NotCreator`], [`ErrorKind::BadLength`]
    /// (≠ size), [`ErrorKind::BadAddr`] (not page aligned, or any page not mapped or not
    /// readable), [`ErrorKind::PermDenied`] (any page not writable),
    /// [`ErrorKind::InsufficientMem`] / [`ErrorKind::InsufficientResources`].
    ///
    /// # Safety
    /// As for [`create_in_place`](Self::create_in_place), for the new range.
    #[allow(unsafe_code)]
    pub unsafe fn rebind_in_place(&self, vaddr: *mut u8, len: usize) -> Result<()> {
        const OP: &str = "export_rebind";
        let st = self.lock();
        self.alive(OP, &st)?;
        let Some(ptr) = NonNull::new(vaddr) else {
            return Err(err(ErrorKind::BadAddr, OP, "vaddr is null"));
        };
        self.rebind_checks(OP, len)?;
        let ps = self.ctrl.caps().page_size;
        if !(vaddr as usize).is_multiple_of(ps) {
            return Err(err(
                ErrorKind::BadAddr,
                OP,
                format!("vaddr {vaddr:p} is not page aligned"),
            ));
        }
        self.ex.rebind(RebindMem::InPlace(ptr))
    }

    /// `rsm_memseg_export_destroy`: implicitly unpublishes (importers are cut off) and
    /// releases the segment; later calls return [`ErrorKind::BadSegHndl`]. Errors:
    /// [`ErrorKind::BadSegHndl`], [`ErrorKind::PollfdInUse`] (a
    /// [`get_pollfd`](Self::get_pollfd) reference is still held).
    pub fn destroy(&self) -> Result<()> {
        const OP: &str = "export_destroy";
        let mut st = self.lock();
        self.alive(OP, &st)?;
        if self.polls.count() > 0 {
            return Err(err(
                ErrorKind::PollfdInUse,
                OP,
                format!("{} poll descriptor reference(s) held", self.polls.count()),
            ));
        }
        *st = Phase::Destroyed;
        self.ex.destroy(sys::getpid() == self.creator);
        Ok(())
    }

    /// The segment's memory as seen by the exporter (readable and writable).
    pub fn view(&self) -> Result<MemView> {
        let st = self.lock();
        self.alive("export_view", &st)?;
        Ok(MemView::new(self.ex.local(), self.size, true, true))
    }

    /// `rsm_intr_signal_post` on the export handle: one event to every importer connected
    /// to the published segment (delivery problems of single importers are ignored).
    /// `flags` may hold [`SIGPOST_NO_ACCUMULATE`](crate::types::SIGPOST_NO_ACCUMULATE).
    pub fn signal_post(&self, flags: u32) -> Result<()> {
        self.alive("intr_signal_post", &self.lock())?;
        self.ex.post(flags)
    }

    /// `rsm_intr_signal_wait`: waits for and consumes one event posted by an importer.
    /// `None` waits forever. Errors: [`ErrorKind::BadSegHndl`], [`ErrorKind::Timeout`],
    /// [`ErrorKind::Interrupted`].
    pub fn signal_wait(&self, timeout: Option<Duration>) -> Result<()> {
        self.alive("intr_signal_wait", &self.lock())?;
        self.ex.wait(timeout)
    }

    /// `rsm_memseg_get_pollfd`: a descriptor (`events` = `POLLRDNORM`) that polls readable
    /// while events are pending; takes a reference that blocks
    /// [`destroy`](Self::destroy) until [`release_pollfd`](Self::release_pollfd). Consume
    /// events with [`wait_pollfd`](crate::signal::wait_pollfd) or
    /// [`signal_wait`](Self::signal_wait); do not close the descriptor.
    pub fn get_pollfd(&self) -> Result<libc::pollfd> {
        self.alive("memseg_get_pollfd", &self.lock())?;
        Ok(self.polls.get(self.ex.clone()))
    }

    /// `rsm_memseg_release_pollfd`: drops one reference (no-op when none is held).
    pub fn release_pollfd(&self) -> Result<()> {
        self.alive("memseg_release_pollfd", &self.lock())?;
        self.polls.release(self.ex.poll_fd());
        Ok(())
    }

    fn word(&self, op: &'static str, off: u64) -> Result<usize> {
        self.alive(op, &self.lock())?;
        if !self.flags.contains(ExportFlags::LOCK_OPS) {
            return Err(err(
                ErrorKind::LocksNotEnabled,
                op,
                "segment created without LOCK_OPS",
            ));
        }
        if !off.is_multiple_of(8) {
            return Err(err(
                ErrorKind::BadMemAlignment,
                op,
                format!("offset {off} is not 8-byte aligned"),
            ));
        }
        if off >= self.size as u64 || self.size as u64 - off < 8 {
            return Err(err(
                ErrorKind::BadOffset,
                op,
                format!("word at {off} is outside the {}-byte segment", self.size),
            ));
        }
        Ok(off as usize)
    }

    fn local_atomic(&self, op: &'static str, off: usize, a: AtomicOp) -> Result<u64> {
        let r = self.ex.local();
        let w = r
            .atomic_u64(off)
            .ok_or_else(|| err(ErrorKind::InternalError, op, "word check failed"))?;
        Ok(a.apply(w))
    }

    /// Atomic fetch-and-add on the exporter's own word at `off` (lock extension; needs
    /// [`ExportFlags::LOCK_OPS`]). Returns the old value.
    pub fn fetch_add64(&self, off: u64, v: u64) -> Result<u64> {
        let o = self.word("export_atomic_fadd64", off)?;
        self.local_atomic("export_atomic_fadd64", o, AtomicOp::FetchAdd(v))
    }

    /// Atomic compare-and-swap on the exporter's own word; returns the old value (equal to
    /// `expected` on success).
    pub fn compare_swap64(&self, off: u64, expected: u64, new: u64) -> Result<u64> {
        let o = self.word("export_atomic_cas64", off)?;
        self.local_atomic(
            "export_atomic_cas64",
            o,
            AtomicOp::CompareSwap { expected, new },
        )
    }

    /// Atomic swap on the exporter's own word; returns the old value.
    pub fn swap64(&self, off: u64, v: u64) -> Result<u64> {
        let o = self.word("export_atomic_swap64", off)?;
        self.local_atomic("export_atomic_swap64", o, AtomicOp::Swap(v))
    }

    /// Takes the lock word at `off` (see [`crate::lock`]); waits up to `timeout`
    /// (`None` = forever), then [`ErrorKind::Timeout`].
    pub fn lock_word(&self, off: u64, timeout: Option<Duration>) -> Result<()> {
        let o = self.word("export_lock", off)?;
        self.held.lock(
            o,
            timeout,
            true,
            &|a| self.local_atomic("export_lock", o, a),
            &|| Ok(()),
        )
    }

    /// One attempt to take the lock word at `off`; `Ok(false)` if it is held.
    pub fn try_lock_word(&self, off: u64) -> Result<bool> {
        let o = self.word("export_trylock", off)?;
        self.held
            .try_lock(o, true, &|a| self.local_atomic("export_trylock", o, a))
    }

    /// Releases the lock word at `off` taken by this thread through this handle.
    pub fn unlock_word(&self, off: u64) -> Result<()> {
        let o = self.word("export_unlock", off)?;
        self.held
            .unlock(o, &|a| self.local_atomic("export_unlock", o, a))
    }
}

impl Drop for ExportSegment {
    fn drop(&mut self) {
        let st = self.st.get_mut().unwrap_or_else(|p| p.into_inner());
        if *st != Phase::Destroyed {
            *st = Phase::Destroyed;
            self.polls.clear(self.ex.poll_fd());
            self.ex.destroy(sys::getpid() == self.creator);
        }
    }
}
