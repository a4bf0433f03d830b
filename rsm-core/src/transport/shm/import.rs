//! Import side of the shared-memory backend: a connection maps the exporter's data file
//! (opened with the access the RSM permission asks for, so the kernel enforces the ACL's
//! file mode), watches the file's `generation` word for revocation, and holds a pidfd of
//! the exporting process to notice its death.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::time::Duration;

use super::events;
use super::layout::{self, CtlPage};
use super::names;
use crate::acl;
use crate::config::Config;
use crate::error::{ErrorKind, Result, RsmError, err};
use crate::sys::{self, region::Region};
use crate::transport::{AtomicOp, Consumed, Events, Remote};
use crate::types::{PERM_READ, PERM_WRITE, Permission, SegmentId};

/// How long connect waits for an exporter's access-list rewrite to finish.
const ACL_PATIENCE: Duration = Duration::from_secs(1);

/// The exporting process, checked at most every `period_ms` on the fast path.
#[derive(Debug)]
struct Peer {
    pid: u32,
    start: u64,
    pidfd: Option<OwnedFd>,
    next_ms: AtomicU64,
    dead: AtomicBool,
    period_ms: u64,
}

impl Peer {
    #[inline]
    fn alive_gated(&self) -> bool {
        if self.dead.load(Ordering::Relaxed) {
            return false;
        }
        let now = sys::coarse_millis();
        if now < self.next_ms.load(Ordering::Relaxed) {
            return true;
        }
        self.next_ms.store(now + self.period_ms, Ordering::Relaxed);
        self.alive_now()
    }

    fn alive_now(&self) -> bool {
        if self.dead.load(Ordering::Relaxed) {
            return false;
        }
        let alive = match &self.pidfd {
            Some(fd) => !sys::pidfd_exited(fd),
            None => !sys::liveness(self.pid, Some(self.start)).is_dead(),
        };
        if !alive {
            self.dead.store(true, Ordering::Relaxed);
        }
        alive
    }
}

#[derive(Debug)]
pub(crate) struct ShmRemote {
    cfg: Arc<Config>,
    segid: SegmentId,
    size: usize,
    perm: Permission,
    locks: bool,
    data_off: u64,
    snap: u64,
    file: OwnedFd,
    ctl: Region,
    /// Whole-segment mapping used by put/get (none for a permission-0 connection).
    data: Option<Region>,
    fifo: OwnedFd,
    fifo_path: PathBuf,
    exp_fifo: OwnedFd,
    exp_fifo_name: String,
    peer: Peer,
    creator: u32,
    cleaned: AtomicBool,
    disconnected: AtomicBool,
    /// The connection is lost and its last events have been delivered (see `take`).
    drained: AtomicBool,
}

impl ShmRemote {
    pub(crate) fn connect(cfg: Arc<Config>, id: SegmentId, perm: Permission) -> Result<ShmRemote> {
        const OP: &str = "import_connect";
        let path = names::data_path(&cfg, id);
        let np_msg = format!(
            "segment id {id:#x} is not published in namespace {:?} ({})",
            cfg.namespace,
            cfg.shm_dir.display()
        );
        let not_published = || err(ErrorKind::SegNotPublished, OP, np_msg.clone());
        let flags = if perm & PERM_WRITE != 0 {
            libc::O_RDWR
        } else {
            libc::O_RDONLY
        };
        let file =
            sys::open(&path, flags | libc::O_NOFOLLOW, 0).map_err(|e| match e.raw_os_error() {
                Some(libc::ENOENT) | Some(libc::ELOOP) => not_published(),
                Some(libc::EACCES) | Some(libc::EPERM) => RsmError::os(
                    ErrorKind::PermDenied,
                    OP,
                    format!(
                        "the kernel refused to open {} for {}",
                        path.display(),
                        if flags == libc::O_RDWR {
                            "writing"
                        } else {
                            "reading"
                        }
                    ),
                    &e,
                ),
                Some(libc::EMFILE) | Some(libc::ENFILE) => {
                    RsmError::os(ErrorKind::InsufficientResources, OP, "open", &e)
                }
                _ => RsmError::os(
                    ErrorKind::SegNotPublished,
                    OP,
                    format!("open {}", path.display()),
                    &e,
                ),
            })?;
        let ps = sys::page_size();
        let st = sys::fstat(file.as_raw_fd())
            .map_err(|e| RsmError::os(ErrorKind::InternalError, OP, "fstat", &e))?;
        if st.mode & libc::S_IFMT != libc::S_IFREG || (st.size as usize) < ps {
            return Err(not_published());
        }
        let ctl = Region::map_shared(&file, 0, ps, false).map_err(|e| {
            RsmError::os(
                ErrorKind::InsufficientResources,
                OP,
                "cannot map the control page",
                &e,
            )
        })?;
        let c = CtlPage::of(&ctl);
        if c.magic.load(Ordering::Acquire) != layout::MAGIC
            || c.version.load(Ordering::Relaxed) != layout::LAYOUT_VERSION
        {
            return Err(err(
                ErrorKind::BadDriverVersion,
                OP,
                format!(
                    "{} has an unknown layout (magic/version mismatch)",
                    path.display()
                ),
            ));
        }
        let snap = c.generation();
        if snap != layout::GEN_PUBLISHED || c.segid.load(Ordering::Relaxed) != id {
            return Err(not_published());
        }
        let data_off = c.data_offset.load(Ordering::Relaxed);
        let size = c.data_size.load(Ordering::Relaxed) as usize;
        if data_off < ps as u64 || st.size < data_off.saturating_add(size as u64) {
            return Err(err(
                ErrorKind::InternalError,
                OP,
                format!("{} is truncated", path.display()),
            ));
        }
        let (pid, start) = (
            c.owner_pid.load(Ordering::Relaxed),
            c.owner_start.load(Ordering::Relaxed),
        );
        // Out of descriptors is INSUFFICIENT_RESOURCES wherever connect meets it; the
        // exporter counts as dead only on positive evidence, and only then are its names
        // removed.
        let no_fds = |e: &std::io::Error, what: String| {
            RsmError::os(ErrorKind::InsufficientResources, OP, what, e)
        };
        let (pidfd, gone) = match sys::pidfd_open(pid) {
            Ok(fd) => (Some(fd), false),
            Err(e) if sys::out_of_descriptors(&e) => {
                return Err(no_fds(
                    &e,
                    format!("cannot open a pidfd of the exporting process {pid}"),
                ));
            }
            // ESRCH: no such process. Anything else (no pidfd support, ...): procfs below.
            Err(e) => (None, e.raw_os_error() == Some(libc::ESRCH)),
        };
        let gone = gone
            || match sys::liveness(pid, Some(start)) {
                sys::Liveness::Dead => true,
                sys::Liveness::Unknown(e) if sys::out_of_descriptors(&e) => {
                    return Err(no_fds(
                        &e,
                        format!("cannot check whether the exporting process {pid} runs"),
                    ));
                }
                sys::Liveness::Unknown(_) | sys::Liveness::Alive => false,
            };
        if gone {
            names::remove_if_stale(&cfg, &format!("rsm.{}.{id:08x}", cfg.namespace));
            names::remove_if_stale(&cfg, &c.fifo_name());
            return Err(err(
                ErrorKind::SegNotPublished,
                OP,
                format!("segment id {id:#x} was left behind by process {pid}, which has exited"),
            ));
        }
        // The ACL check of SPEC.md §5.4 (the kernel already applied the file mode).
        let acl = c.read_acl(ACL_PATIENCE).ok_or_else(|| {
            if !sys::liveness(pid, Some(start)).is_dead() {
                err(
                    ErrorKind::InternalError,
                    OP,
                    format!(
                        "the access list of segment {id:#x} stayed in the middle of an update \
                         for {ACL_PATIENCE:?} (exporter process {pid} stopped?)"
                    ),
                )
            } else {
                err(
                    ErrorKind::SegNotPublished,
                    OP,
                    format!(
                        "segment id {id:#x} was left behind by process {pid}, which has exited"
                    ),
                )
            }
        })?;
        let m = acl::effective_mode(&acl, cfg.node_id, c.create_mode.load(Ordering::Relaxed))
            .ok_or_else(|| {
                err(
                    ErrorKind::SegNotPublishedToNode,
                    OP,
                    format!(
                        "segment id {id:#x} is not published to node {}",
                        cfg.node_id
                    ),
                )
            })?;
        let (euid, _) = sys::effective_ids();
        let class = acl::Class::of(
            c.owner_uid.load(Ordering::Relaxed),
            c.owner_gid.load(Ordering::Relaxed),
            euid,
            &sys::groups(),
        );
        if !acl::allows(perm, m, class, euid == 0) {
            return Err(err(
                ErrorKind::PermDenied,
                OP,
                format!(
                    "permission {perm:#o} exceeds what mode {m:#o} grants this process ({class:?})"
                ),
            ));
        }
        let data = if perm == 0 {
            None
        } else {
            Some(
                Region::map_shared(&file, data_off, size, perm & PERM_WRITE != 0).map_err(|e| {
                    RsmError::os(
                        ErrorKind::InsufficientResources,
                        OP,
                        "cannot map the segment",
                        &e,
                    )
                })?,
            )
        };
        let exp_fifo_name = c.fifo_name();
        let exp_fifo = sys::open_fifo(&cfg.shm_dir.join(&exp_fifo_name)).map_err(|e| {
            match e.raw_os_error() {
                Some(libc::ENOENT) => not_published(),
                Some(libc::EACCES) => {
                    RsmError::os(ErrorKind::PermDenied, OP, "the exporter's event FIFO", &e)
                }
                _ => no_fds(
                    &e,
                    format!("cannot open the exporter's event FIFO {exp_fifo_name}"),
                ),
            }
        })?;
        let fifo_name = names::import_fifo(&cfg, id);
        let fifo_path = cfg.shm_dir.join(&fifo_name);
        let fifo = sys::make_fifo(&fifo_path, 0o666)
            .map_err(|e| no_fds(&e, format!("cannot create event FIFO {fifo_name}")))?;
        let period_ms = cfg.liveness.as_millis().clamp(1, u64::MAX as u128) as u64;
        let r = ShmRemote {
            segid: id,
            size,
            perm,
            locks: c.flags.load(Ordering::Relaxed) & layout::FLAG_LOCKS != 0,
            data_off,
            snap,
            ctl,
            data,
            fifo,
            fifo_path,
            exp_fifo,
            exp_fifo_name,
            peer: Peer {
                pid,
                start,
                pidfd,
                next_ms: AtomicU64::new(sys::coarse_millis() + period_ms),
                dead: AtomicBool::new(false),
                period_ms,
            },
            creator: sys::getpid(),
            cleaned: AtomicBool::new(false),
            disconnected: AtomicBool::new(false),
            drained: AtomicBool::new(false),
            file,
            cfg,
        };
        // Unpublished while we connected? Then this connection never stood.
        if CtlPage::of(&r.ctl).generation() != snap {
            return Err(not_published());
        }
        Ok(r)
    }

    fn ctl(&self) -> &CtlPage {
        CtlPage::of(&self.ctl)
    }

    fn dead(&self, op: &'static str) -> RsmError {
        if !self.cleaned.swap(true, Ordering::Relaxed) {
            names::remove_if_stale(
                &self.cfg,
                &format!("rsm.{}.{:08x}", self.cfg.namespace, self.segid),
            );
            names::remove_if_stale(&self.cfg, &self.exp_fifo_name);
        }
        err(
            ErrorKind::ConnAborted,
            op,
            format!(
                "the exporting process {} of segment {:#x} has exited",
                self.peer.pid, self.segid
            ),
        )
    }

    fn revoked(&self, op: &'static str) -> RsmError {
        err(
            ErrorKind::ConnAborted,
            op,
            format!(
                "segment {:#x} was unpublished or destroyed by its exporter",
                self.segid
            ),
        )
    }

    /// The connection, checked without the liveness gate (slow paths).
    fn check_now(&self, op: &'static str) -> Result<()> {
        if self.ctl().generation() != self.snap {
            Err(self.revoked(op))
        } else if !self.peer.alive_now() {
            Err(self.dead(op))
        } else {
            Ok(())
        }
    }

    /// Consumes one pending event without blocking: `Ok(true)` one consumed, `Ok(false)`
    /// none pending on a standing connection, `Err` disconnected (`BAD_SEG_HNDL`) or lost
    /// with no event of the lost publication left (`CONN_ABORTED`).
    ///
    /// Events posted before the connection was lost are still delivered, one per call:
    /// they are the `EVENT` bytes ahead of the first wake-up byte (see `events`). Once a
    /// lost connection meets that byte or an empty pipe, it is drained for good.
    fn take(&self, op: &'static str) -> Result<bool> {
        let disconnected = || {
            self.disconnected
                .load(Ordering::Acquire)
                .then(|| err(ErrorKind::BadSegHndl, op, "import segment disconnected"))
        };
        if let Some(e) = disconnected() {
            return Err(e);
        }
        if self.drained.load(Ordering::Acquire) {
            return Err(self.check_now(op).err().unwrap_or_else(|| self.revoked(op)));
        }
        // Lost before we look: everything in the pipe up to the wake-up byte was posted
        // before the loss.
        let mut lost = self.check_now(op).err();
        loop {
            match events::read(self.fifo.as_raw_fd())? {
                Some(events::EVENT) => return Ok(true),
                Some(_) => {
                    if let Some(e) = disconnected() {
                        return Err(e);
                    }
                    // A wake-up. On a standing connection it is a stray one (skip it);
                    // otherwise it is the boundary of the lost publication's events.
                    if lost.is_none() {
                        lost = self.check_now(op).err();
                    }
                    if let Some(e) = lost {
                        self.drain();
                        return Err(e);
                    }
                }
                None => {
                    return match lost {
                        Some(e) => {
                            self.drain();
                            Err(e)
                        }
                        None => Ok(false),
                    };
                }
            }
        }
    }

    /// Marks the lost connection's events as used up, and keeps the FIFO readable (one
    /// wake-up byte) so that `poll` on the pollfd keeps reporting it and every wait
    /// returns at once.
    fn drain(&self) {
        if !self.drained.swap(true, Ordering::AcqRel) {
            let _ = sys::write_byte(self.fifo.as_raw_fd(), events::KICK);
        }
    }

    fn data(&self, op: &'static str) -> Result<&Region> {
        self.data
            .as_ref()
            .ok_or_else(|| err(ErrorKind::PermDenied, op, "connected with permission 0"))
    }
}

impl Events for ShmRemote {
    fn post(&self, flags: u32) -> Result<()> {
        self.check().map_err(|e| e.with_op("intr_signal_post"))?;
        events::post_fd(self.exp_fifo.as_raw_fd(), flags);
        Ok(())
    }

    fn wait(&self, timeout: Option<Duration>) -> Result<()> {
        let pidfd = self.peer.pidfd.as_ref().map(|f| f.as_raw_fd());
        events::wait(self.fifo.as_raw_fd(), pidfd, timeout, || {
            self.take("intr_signal_wait")
        })
    }

    fn poll_fd(&self) -> RawFd {
        self.fifo.as_raw_fd()
    }

    fn peer_fd(&self) -> Option<RawFd> {
        self.peer.pidfd.as_ref().map(|f| f.as_raw_fd())
    }

    fn consume(&self) -> Consumed {
        match self.take("intr_signal_wait_pollfd") {
            Ok(true) => Consumed::Event,
            Ok(false) => Consumed::Nothing,
            Err(_) => Consumed::Gone,
        }
    }
}

impl Remote for ShmRemote {
    fn size(&self) -> usize {
        self.size
    }

    fn locks_enabled(&self) -> bool {
        self.locks
    }

    #[inline]
    fn put(&self, off: usize, src: &[u8], item: usize) -> Result<()> {
        if self.data("put")?.write_items(off, src, item) {
            Ok(())
        } else {
            Err(err(
                ErrorKind::InternalError,
                "put",
                "range check failed below the core",
            ))
        }
    }

    #[inline]
    fn get(&self, off: usize, dst: &mut [u8], item: usize) -> Result<()> {
        if self.data("get")?.read_items(off, dst, item) {
            Ok(())
        } else {
            Err(err(
                ErrorKind::InternalError,
                "get",
                "range check failed below the core",
            ))
        }
    }

    #[inline]
    fn check(&self) -> Result<()> {
        if self.ctl().generation() != self.snap {
            return Err(self.revoked("import"));
        }
        if !self.peer.alive_gated() {
            return Err(self.dead("import"));
        }
        Ok(())
    }

    #[inline]
    fn span_close(&self, wrote: bool) -> Result<()> {
        if wrote {
            // Our stores become visible before we re-read the generation; pairs with the
            // exporter's fence between revoking and copying the data away.
            fence(Ordering::SeqCst);
        }
        self.check()
    }

    fn order(&self) -> Result<()> {
        fence(Ordering::SeqCst);
        Ok(())
    }

    fn map(
        &self,
        off: usize,
        len: usize,
        perm: Permission,
        addr: *mut u8,
        fixed: bool,
    ) -> Result<Arc<Region>> {
        const OP: &str = "import_map";
        if !self.cfg.loopback_map {
            return Err(err(
                ErrorKind::MapFailed,
                OP,
                "mapping is disabled on this controller (RSM_LOOPBACK_MAP=0)",
            ));
        }
        // Like the reference's mmap on a forcibly disconnected segment (ENODEV): a
        // revoked segment or a dead exporter cannot be mapped any more.
        self.check_now(OP)?;
        if perm & !self.perm != 0 {
            return Err(err(
                ErrorKind::BadPerms,
                OP,
                format!(
                    "mapping permission {perm:#o} exceeds the connection's {:#o}",
                    self.perm
                ),
            ));
        }
        let ps = sys::page_size();
        let rounded = len.div_ceil(ps) * ps;
        let prot = match (perm & PERM_READ != 0, perm & PERM_WRITE != 0) {
            (_, true) => libc::PROT_READ | libc::PROT_WRITE,
            (true, false) => libc::PROT_READ,
            (false, false) => libc::PROT_NONE,
        };
        // SAFETY: without `fixed` the kernel picks a free range; with `fixed`, the caller of
        // the public unsafe `map_raw` vouched that the range at `addr` is theirs to replace.
        let r = unsafe {
            Region::map_at(
                &self.file,
                self.data_off + off as u64,
                rounded,
                prot,
                addr,
                fixed,
            )
        };
        r.map(Arc::new).map_err(|e| {
            let kind = match e.raw_os_error() {
                Some(libc::EACCES) | Some(libc::EPERM) => ErrorKind::BadPerms,
                Some(libc::ENOMEM) | Some(libc::EOVERFLOW) | Some(libc::ENXIO) => {
                    ErrorKind::BadLength
                }
                Some(libc::EAGAIN) => ErrorKind::InsufficientResources,
                _ => ErrorKind::MapFailed,
            };
            RsmError::os(kind, OP, "mmap", &e)
        })
    }

    fn atomic(&self, off: usize, op: AtomicOp) -> Result<u64> {
        let w = self.data("atomic")?.atomic_u64(off).ok_or_else(|| {
            err(
                ErrorKind::InternalError,
                "atomic",
                "word check failed below the core",
            )
        })?;
        Ok(op.apply(w))
    }

    fn disconnect(&self, owner: bool) {
        if self.disconnected.swap(true, Ordering::AcqRel) {
            return;
        }
        // A forked child's copy of the handle touches nothing the parent still uses.
        let mine = owner && self.creator == sys::getpid();
        if mine {
            let _ = std::fs::remove_file(&self.fifo_path);
            if !self.peer.alive_now() {
                let _ = self.dead("import_disconnect");
            }
        }
        // Release the exporter's file now; the address ranges stay valid (anonymous) for
        // any racing caller until drop.
        if let Some(d) = &self.data {
            let _ = d.detach(false);
        }
        let _ = self.ctl.detach(false);
        // Wake a thread of ours blocked in signal_wait: it finds the handle disconnected.
        if mine {
            let _ = sys::write_byte(self.fifo.as_raw_fd(), events::KICK);
        }
    }
}

impl Drop for ShmRemote {
    fn drop(&mut self) {
        self.disconnect(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Controller, ExportFlags, ExportSegment, ImportSegment, PERM_RDWR};
    use std::time::Instant;

    #[test]
    fn connect_gives_up_on_an_acl_left_mid_update() {
        let cfg = Config::default().with_namespace(format!("u{}_aclstuck", std::process::id()));
        let ctrl = Controller::get_with_config("loopback", &cfg).unwrap();
        let seg = ExportSegment::create(&ctrl, 4096, ExportFlags::NONE).unwrap();
        let id = seg.publish(0, &[]).unwrap();
        let file = sys::open(&names::data_path(&cfg, id), libc::O_RDWR, 0).unwrap();
        let ctl = Region::map_shared(&file, 0, sys::page_size(), true).unwrap();
        let c = CtlPage::of(&ctl);
        // As if the exporter had stopped inside `write_acl` (odd sequence number).
        let seq = c.acl_seq.load(Ordering::SeqCst);
        c.acl_seq.store(seq + 1, Ordering::SeqCst);
        let t = Instant::now();
        let e = ImportSegment::connect(&ctrl, 0, id, PERM_RDWR).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InternalError, "{e}");
        assert!(
            t.elapsed() >= ACL_PATIENCE,
            "gave up after {:?}",
            t.elapsed()
        );
        // The update completes: connects work again.
        c.acl_seq.store(seq + 2, Ordering::SeqCst);
        let im = ImportSegment::connect(&ctrl, 0, id, PERM_RDWR).unwrap();
        im.disconnect().unwrap();
        seg.destroy().unwrap();
        assert_eq!(crate::shm::list_names(&cfg), Vec::<String>::new());
    }
}
