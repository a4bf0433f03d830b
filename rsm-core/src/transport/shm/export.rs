//! Export side of the shared-memory backend.
//!
//! The exporter's memory *is* the data part of an unnamed tmpfs file (`O_TMPFILE`), mapped
//! shared over the exporter's range. Publish gives the file its name; unpublish takes the
//! name away, marks the file revoked and moves the exporter onto a fresh file, so stale
//! importer mappings keep pointing at the old file and never reach the exporter again.

use std::collections::HashSet;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::events;
use super::layout::{self, CtlPage};
use super::names;
use crate::acl;
use crate::config::Config;
use crate::error::{ErrorKind, Result, RsmError, err};
use crate::segid::IdRequest;
use crate::sys::{self, region::Region};
use crate::transport::{Consumed, Events, Exported, RebindMem};
use crate::types::segid_range::USER_APP_ID_BASE;
use crate::types::{AccessEntry, SegmentId};

/// One backing file: the unnamed (or published) tmpfs file and its control page mapping.
#[derive(Debug)]
struct Backing {
    file: OwnedFd,
    ctl: Region,
}

#[derive(Debug)]
struct State {
    /// `None` once destroyed.
    backing: Option<Backing>,
    /// The exporter's range, mapped onto `backing`'s data part.
    mem: Arc<Region>,
    published: Option<SegmentId>,
    fifo_name: String,
}

#[derive(Debug)]
pub(crate) struct ShmExport {
    cfg: Arc<Config>,
    size: usize,
    ctl_flags: u32,
    create_mode: u32,
    /// This process's start time, recorded in every control page.
    start: u64,
    /// Event FIFO, opened `O_RDWR|O_NONBLOCK`. Its descriptor number never changes (a
    /// rotation `dup2`s the new FIFO onto it), so a pollfd handed out stays valid.
    fifo: OwnedFd,
    st: Mutex<State>,
    destroyed: AtomicBool,
}

/// Why a live segment can lack its file (destroy is caught by the core before this).
const NO_BACKING: &str = "the segment lost its file when an earlier unpublish ran out of memory";

fn mem_kind(e: &std::io::Error) -> ErrorKind {
    match e.raw_os_error() {
        Some(libc::EMFILE) | Some(libc::ENFILE) => ErrorKind::InsufficientResources,
        _ => ErrorKind::InsufficientMem,
    }
}

impl ShmExport {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh unnamed backing file with an initialised control page (generation 0);
    /// `start` is this process's start time ([`sys::self_start_time`]).
    fn new_backing(
        cfg: &Config,
        size: usize,
        ctl_flags: u32,
        create_mode: u32,
        start: u64,
        fifo: &str,
    ) -> Result<Backing> {
        const OP: &str = "export_create";
        let ps = sys::page_size();
        let file = sys::open_tmpfile(&cfg.shm_dir, 0o600).map_err(|e| {
            RsmError::os(
                mem_kind(&e),
                OP,
                format!("cannot create a file in {}", cfg.shm_dir.display()),
                &e,
            )
        })?;
        let total = size
            .checked_add(ps)
            .ok_or_else(|| err(ErrorKind::BadLength, OP, "segment size overflows"))?;
        sys::fallocate(&file, total).map_err(|e| {
            RsmError::os(
                ErrorKind::InsufficientMem,
                OP,
                format!("cannot reserve {total} bytes in {}", cfg.shm_dir.display()),
                &e,
            )
        })?;
        let ctl = Region::map_shared(&file, 0, ps, true)
            .map_err(|e| RsmError::os(mem_kind(&e), OP, "cannot map the control page", &e))?;
        let (euid, egid) = sys::effective_ids();
        let c = CtlPage::of(&ctl);
        c.version.store(layout::LAYOUT_VERSION, Ordering::Relaxed);
        c.flags.store(ctl_flags, Ordering::Relaxed);
        c.node_id.store(cfg.node_id, Ordering::Relaxed);
        c.data_offset.store(ps as u64, Ordering::Relaxed);
        c.data_size.store(size as u64, Ordering::Relaxed);
        c.owner_pid.store(sys::getpid(), Ordering::Relaxed);
        c.owner_uid.store(euid, Ordering::Relaxed);
        c.owner_gid.store(egid, Ordering::Relaxed);
        c.create_mode.store(create_mode, Ordering::Relaxed);
        c.owner_start.store(start, Ordering::Relaxed);
        c.write_fifo_name(fifo);
        c.generation.store(layout::GEN_FRESH, Ordering::Relaxed);
        c.magic.store(layout::MAGIC, Ordering::Release);
        Ok(Backing { file, ctl })
    }

    pub(crate) fn create(
        cfg: Arc<Config>,
        size: usize,
        mem: crate::transport::ExportMem,
        ctl_flags: u32,
        create_mode: u32,
    ) -> Result<ShmExport> {
        const OP: &str = "export_create";
        // Importers tell this process from a later one under the same pid by its start
        // time: it must be known (a wrong one would make us look dead to everyone).
        let start = sys::self_start_time().map_err(|e| {
            RsmError::os(
                mem_kind(&e),
                OP,
                "cannot read this process's start time from /proc/self/stat",
                &e,
            )
        })?;
        let fifo_name = names::export_fifo(&cfg);
        let fifo = sys::make_fifo(&cfg.shm_dir.join(&fifo_name), 0o600).map_err(|e| {
            RsmError::os(
                mem_kind(&e),
                OP,
                format!("cannot create event FIFO {fifo_name}"),
                &e,
            )
        })?;
        let fifo_path = cfg.shm_dir.join(&fifo_name);
        let result = (|| {
            let b = Self::new_backing(&cfg, size, ctl_flags, create_mode, start, &fifo_name)?;
            let ps = sys::page_size() as u64;
            let mem = match mem {
                crate::transport::ExportMem::Owned => {
                    Region::map_shared(&b.file, ps, size, true)
                        .map_err(|e| RsmError::os(mem_kind(&e), OP, "cannot map the segment", &e))?
                }
                crate::transport::ExportMem::InPlace(ptr) => {
                    Self::bind_in_place(OP, &b.file, ptr, size)?
                }
            };
            Ok((b, mem))
        })();
        let (b, mem) = match result {
            Ok(v) => v,
            Err(e) => {
                let _ = std::fs::remove_file(&fifo_path);
                return Err(e);
            }
        };
        Ok(ShmExport {
            cfg,
            size,
            ctl_flags,
            create_mode,
            start,
            fifo,
            destroyed: AtomicBool::new(false),
            st: Mutex::new(State {
                backing: Some(b),
                mem: Arc::new(mem),
                published: None,
                fifo_name,
            }),
        })
    }

    /// Copies the caller's range into `file` and maps the file over it.
    fn bind_in_place(
        op: &'static str,
        file: &OwnedFd,
        ptr: NonNull<u8>,
        size: usize,
    ) -> Result<Region> {
        let ps = sys::page_size() as u64;
        // SAFETY: the caller of the public unsafe constructor vouched that the range is its
        // own memory; pwrite only reads it, and the kernel reports an unmapped range as
        // EFAULT instead of faulting.
        unsafe { sys::pwrite_raw(file, ptr.as_ptr(), size, ps) }.map_err(|e| {
            let kind = if e.raw_os_error() == Some(libc::EFAULT) {
                ErrorKind::BadAddr
            } else {
                ErrorKind::InsufficientMem
            };
            RsmError::os(kind, op, format!("cannot read the range at {:p}", ptr), &e)
        })?;
        // The range must be writable too (importers will write it): the reference's page
        // locking refuses read-only memory with PERM_DENIED. Reading the same bytes back
        // into it tests that without changing it (and without faulting).
        // SAFETY: as above; the kernel reports a read-only range as EFAULT.
        unsafe { sys::pread_raw(file, ptr.as_ptr(), size, ps) }.map_err(|e| {
            let kind = if e.raw_os_error() == Some(libc::EFAULT) {
                ErrorKind::PermDenied
            } else {
                ErrorKind::InsufficientMem
            };
            RsmError::os(
                kind,
                op,
                format!("the range at {:p} is not writable", ptr),
                &e,
            )
        })?;
        // SAFETY: same contract: the range stays mapped by the caller while exported.
        let r = unsafe { Region::borrowed(ptr, size) };
        r.map_fixed(file, ps, true).map_err(|e| {
            RsmError::os(
                mem_kind(&e),
                op,
                "cannot map the segment over the caller's range",
                &e,
            )
        })?;
        Ok(r)
    }

    /// Moves the segment from the range `old` (mapped onto `file`) to the caller's range at
    /// `ptr`: afterwards `file` holds the new range's contents and is mapped over it, and
    /// `old` is private memory holding exactly what it held before. On error nothing has
    /// changed: the new range is checked as a whole before anything is touched.
    fn rebind_in_place(
        op: &'static str,
        file: &OwnedFd,
        old: &Region,
        ptr: NonNull<u8>,
        size: usize,
    ) -> Result<Region> {
        let ps = sys::page_size() as u64;
        // 1. The whole new range must be readable and writable.
        // SAFETY: the caller of the public unsafe rebind vouched that the range is its own
        // memory with no Rust reference into it; the probe rewrites each byte with itself
        // and the kernel reports bad pages as EFAULT instead of faulting.
        unsafe { sys::probe_range(ptr.as_ptr(), size) }.map_err(|p| match p {
            sys::Probe::Unreadable(e) => RsmError::os(
                ErrorKind::BadAddr,
                op,
                format!("the range at {:p} is not entirely mapped", ptr),
                &e,
            ),
            sys::Probe::Unwritable(e) => RsmError::os(
                ErrorKind::PermDenied,
                op,
                format!("the range at {:p} is not writable", ptr),
                &e,
            ),
            sys::Probe::Failed(e) => RsmError::os(
                mem_kind(&e),
                op,
                format!("cannot check the range at {:p}", ptr),
                &e,
            ),
        })?;
        // 2. The old range leaves the file first, keeping its own contents.
        old.detach(true).map_err(|e| {
            RsmError::os(
                ErrorKind::InsufficientMem,
                op,
                "cannot keep the old range's contents",
                &e,
            )
        })?;
        // 3. The new contents go into the file, which is then mapped over the new range.
        // SAFETY: checked readable above (and still the caller's, by contract); pwrite only
        // reads it.
        let moved = unsafe { sys::pwrite_raw(file, ptr.as_ptr(), size, ps) }.and_then(|()| {
            // SAFETY: the same contract: the range stays mapped by the caller while it is
            // exported.
            let r = unsafe { Region::borrowed(ptr, size) };
            r.map_fixed(file, ps, true).map(|()| r)
        });
        match moved {
            Ok(r) => Ok(r),
            Err(e) => {
                // Only a broken contract (the range unmapped meanwhile) or a mapping limit
                // gets here: put the old range back as the segment, contents included.
                // SAFETY: `old` is our own mapped Region (private since step 2).
                let back = unsafe { sys::pwrite_raw(file, old.as_ptr(), size, ps) }
                    .and_then(|()| old.map_fixed(file, ps, true));
                let kind = if e.raw_os_error() == Some(libc::EFAULT) {
                    ErrorKind::BadAddr
                } else {
                    mem_kind(&e)
                };
                Err(RsmError::os(
                    kind,
                    op,
                    match back {
                        Ok(()) => {
                            "cannot map the segment over the new range; it stays on the old one"
                                .to_owned()
                        }
                        Err(b) => format!(
                            "cannot map the segment over the new range, nor back over the old one ({b})"
                        ),
                    },
                    &e,
                ))
            }
        }
    }

    fn importer_fifos(&self, id: SegmentId) -> Vec<PathBuf> {
        sys::list_prefixed(&self.cfg.shm_dir, &names::import_fifo_prefix(&self.cfg, id))
            .unwrap_or_default()
            .into_iter()
            .map(|n| self.cfg.shm_dir.join(n))
            .collect()
    }

    /// Marks the file revoked, wakes the importers so blocked waits notice, and takes the
    /// name away — in that order: the wake-up byte lands in every importer FIFO before the
    /// id can be published again, so it separates the events of this publication (which
    /// importers still receive) from anything a later publication under the same id posts.
    fn revoke(&self, st: &mut State) {
        let Some(id) = st.published.take() else {
            return;
        };
        if let Some(b) = &st.backing {
            CtlPage::of(&b.ctl)
                .generation
                .store(layout::GEN_REVOKED, Ordering::SeqCst);
        }
        // Pairs with the importer's fence between its stores and its generation re-check:
        // a put that then sees the old generation landed before the copy below.
        fence(Ordering::SeqCst);
        for p in self.importer_fifos(id) {
            if !self.remove_if_stale(&p) {
                events::kick(&p);
            }
        }
        if let Some(b) = &st.backing {
            let path = names::data_path(&self.cfg, id);
            if let (Ok(ours), Ok(named)) = (sys::fstat(b.file.as_raw_fd()), sys::lstat(&path))
                && ours.ino == named.ino
                && ours.dev == named.dev
            {
                let _ = std::fs::remove_file(&path);
            }
        }
    }

    /// Consumes one pending event without blocking (`Ok(false)`: none); wake-up bytes
    /// (destroy, FIFO rotation) are skipped. A destroyed segment is `BAD_SEG_HNDL`.
    fn take(&self) -> Result<bool> {
        loop {
            if self.destroyed.load(Ordering::Acquire) {
                return Err(err(
                    ErrorKind::BadSegHndl,
                    "intr_signal_wait",
                    "segment destroyed",
                ));
            }
            match events::read(self.fifo.as_raw_fd())? {
                Some(events::EVENT) => return Ok(true),
                Some(_) => {}
                None => return Ok(false),
            }
        }
    }

    /// Removes the FIFO of an importer that died (its name carries the pid).
    fn remove_if_stale(&self, path: &std::path::Path) -> bool {
        path.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| names::remove_if_stale(&self.cfg, n))
    }

    /// Replaces the event FIFO by a fresh one (same descriptor number), carrying over the
    /// pending events: importers cut off by unpublish keep the old FIFO, which nobody
    /// reads any more.
    fn rotate_fifo(&self, st: &mut State) {
        let name = names::export_fifo(&self.cfg);
        let path = self.cfg.shm_dir.join(&name);
        let Ok(fresh) = sys::make_fifo(&path, 0o600) else {
            return;
        };
        let pending = sys::fionread(self.fifo.as_raw_fd()).unwrap_or(0);
        for _ in 0..pending {
            if !matches!(sys::write_byte(fresh.as_raw_fd(), events::EVENT), Ok(true)) {
                break;
            }
        }
        // Keep the old pipe open long enough to wake a thread blocked in poll on it.
        let old = self.fifo.try_clone();
        if sys::dup2(fresh.as_raw_fd(), self.fifo.as_raw_fd()).is_err() {
            let _ = std::fs::remove_file(&path);
            return;
        }
        if let Ok(old) = old {
            let _ = sys::write_byte(old.as_raw_fd(), events::KICK);
        }
        let _ = std::fs::remove_file(self.cfg.shm_dir.join(&st.fifo_name));
        st.fifo_name = name;
    }

    /// Records the ACL in the control page and gives the file and the event FIFO the modes
    /// that let the kernel enforce it.
    fn set_acl(&self, op: &'static str, b: &Backing, acl: &[AccessEntry], mode: u32) -> Result<()> {
        CtlPage::of(&b.ctl).write_acl(acl);
        sys::fchmod(&b.file, acl::file_mode(mode))
            .map_err(|e| RsmError::os(ErrorKind::InsufficientResources, op, "fchmod", &e))?;
        sys::fchmod(&self.fifo, events::fifo_mode(mode)).map_err(|e| {
            RsmError::os(
                ErrorKind::InsufficientResources,
                op,
                "fchmod of the event FIFO",
                &e,
            )
        })
    }

    fn link(&self, b: &Backing, id: SegmentId) -> std::io::Result<()> {
        CtlPage::of(&b.ctl).segid.store(id, Ordering::Release);
        let path = names::data_path(&self.cfg, id);
        match sys::link_fd(&b.file, &path) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                // A name left behind by a dead process does not block the id.
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if names::remove_if_stale(&self.cfg, &name) {
                    sys::link_fd(&b.file, &path)
                } else {
                    Err(e)
                }
            }
            r => r,
        }
    }
}

impl Events for ShmExport {
    fn post(&self, flags: u32) -> Result<()> {
        let id = self.lock().published;
        if let Some(id) = id {
            for p in self.importer_fifos(id) {
                if !self.remove_if_stale(&p) {
                    events::post_to(&p, flags);
                }
            }
        }
        Ok(())
    }

    fn wait(&self, timeout: Option<Duration>) -> Result<()> {
        events::wait(self.fifo.as_raw_fd(), None, timeout, || self.take())
    }

    fn poll_fd(&self) -> std::os::fd::RawFd {
        self.fifo.as_raw_fd()
    }

    fn peer_fd(&self) -> Option<std::os::fd::RawFd> {
        None
    }

    fn consume(&self) -> Consumed {
        match self.take() {
            Ok(true) => Consumed::Event,
            Ok(false) => Consumed::Nothing,
            Err(_) => Consumed::Gone,
        }
    }
}

impl Exported for ShmExport {
    fn publish(&self, id: IdRequest, acl: &[AccessEntry], mode: u32) -> Result<SegmentId> {
        const OP: &str = "export_publish";
        let mut st = self.lock();
        let st = &mut *st;
        let Some(b) = &st.backing else {
            return Err(err(ErrorKind::BadSegHndl, OP, NO_BACKING));
        };
        let c = CtlPage::of(&b.ctl);
        self.set_acl(OP, b, acl, mode)?;
        c.generation.store(layout::GEN_PUBLISHED, Ordering::Release);
        let linked = match id {
            IdRequest::Fixed(id) => match self.link(b, id) {
                Ok(()) => Ok(id),
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Err(err(
                    ErrorKind::SegidInUse,
                    OP,
                    format!(
                        "segment id {id:#x} is already published in namespace {:?}",
                        self.cfg.namespace
                    ),
                )),
                Err(e) => Err(RsmError::os(
                    ErrorKind::InsufficientResources,
                    OP,
                    "link",
                    &e,
                )),
            },
            IdRequest::Auto => {
                let used: HashSet<SegmentId> =
                    sys::list_prefixed(&self.cfg.shm_dir, &names::prefix(&self.cfg))
                        .unwrap_or_default()
                        .iter()
                        .filter_map(
                            |n| match names::parse(&n[names::prefix(&self.cfg).len()..]) {
                                Some(names::Name::Data(id)) => Some(id),
                                _ => None,
                            },
                        )
                        .collect();
                let mut got = Err(err(
                    ErrorKind::InsufficientResources,
                    OP,
                    "no automatic segment id left (0x80000000..=0xffffffff all in use)",
                ));
                for cand in USER_APP_ID_BASE..=u32::MAX {
                    if used.contains(&cand) {
                        continue;
                    }
                    match self.link(b, cand) {
                        Ok(()) => {
                            got = Ok(cand);
                            break;
                        }
                        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
                        Err(e) => {
                            got = Err(RsmError::os(
                                ErrorKind::InsufficientResources,
                                OP,
                                "link",
                                &e,
                            ));
                            break;
                        }
                    }
                }
                got
            }
        };
        match linked {
            Ok(id) => {
                st.published = Some(id);
                Ok(id)
            }
            Err(e) => {
                c.generation.store(layout::GEN_FRESH, Ordering::Release);
                Err(e)
            }
        }
    }

    fn republish(&self, acl: &[AccessEntry], mode: u32) -> Result<()> {
        const OP: &str = "export_republish";
        let st = self.lock();
        let Some(b) = &st.backing else {
            return Err(err(ErrorKind::BadSegHndl, OP, NO_BACKING));
        };
        self.set_acl(OP, b, acl, mode)
    }

    fn unpublish(&self) -> Result<()> {
        const OP: &str = "export_unpublish";
        let mut st = self.lock();
        // Importers are cut off first, whatever happens next.
        self.revoke(&mut st);
        let ps = sys::page_size() as u64;
        let moved = Self::new_backing(
            &self.cfg,
            self.size,
            self.ctl_flags,
            self.create_mode,
            self.start,
            &st.fifo_name,
        )
        .and_then(|fresh| {
            // SAFETY: `mem` is mapped for `size` bytes (our own Region); pwrite only reads it.
            unsafe { sys::pwrite_raw(&fresh.file, st.mem.as_ptr(), self.size, ps) }
                .and_then(|()| st.mem.map_fixed(&fresh.file, ps, true))
                .map(|()| fresh)
                .map_err(|e| {
                    RsmError::os(ErrorKind::InsufficientMem, OP, "copy to a fresh file", &e)
                })
        });
        match moved {
            Ok(fresh) => st.backing = Some(fresh),
            Err(e) => {
                // Never leave the exporter on the revoked file: its memory becomes private
                // (keeping its contents) and the segment cannot be published again.
                let _ = st.mem.detach(true);
                st.backing = None;
                return Err(err(
                    ErrorKind::InsufficientMem,
                    OP,
                    format!("segment withdrawn, but it cannot be published again: {e}"),
                ));
            }
        }
        self.rotate_fifo(&mut st);
        if let Some(b) = &st.backing {
            CtlPage::of(&b.ctl).write_fifo_name(&st.fifo_name);
        }
        Ok(())
    }

    fn rebind(&self, mem: RebindMem<'_>) -> Result<()> {
        const OP: &str = "export_rebind";
        let mut st = self.lock();
        match mem {
            RebindMem::Contents(src) => {
                if !st.mem.write(0, src) {
                    return Err(err(
                        ErrorKind::BadLength,
                        OP,
                        "contents do not match the segment size",
                    ));
                }
                Ok(())
            }
            RebindMem::InPlace(ptr) => {
                if ptr.as_ptr() == st.mem.as_ptr() {
                    return Ok(());
                }
                let Some(b) = &st.backing else {
                    return Err(err(ErrorKind::BadSegHndl, OP, NO_BACKING));
                };
                let r = Self::rebind_in_place(OP, &b.file, &st.mem, ptr, self.size)?;
                st.mem = Arc::new(r);
                Ok(())
            }
        }
    }

    fn destroy(&self, owner: bool) {
        let mut st = self.lock();
        if owner {
            self.revoke(&mut st);
            let _ = std::fs::remove_file(self.cfg.shm_dir.join(&st.fifo_name));
        }
        st.backing = None;
        // Someone else (a view, or the caller's in-place range) still holds the memory:
        // cut it loose from the file. Otherwise dropping the last Arc unmaps it.
        if Arc::strong_count(&st.mem) > 1 || !st.mem.is_owned() {
            let _ = st.mem.detach(true);
        }
        // Wake a thread of ours blocked in signal_wait: it finds the segment destroyed.
        // (Not from a forked child: the FIFO is the parent's, whose waiters must not be
        // disturbed.)
        self.destroyed.store(true, Ordering::Release);
        if owner {
            let _ = sys::write_byte(self.fifo.as_raw_fd(), events::KICK);
        }
    }

    fn local(&self) -> Arc<Region> {
        self.lock().mem.clone()
    }
}
