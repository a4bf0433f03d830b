//! Thin wrappers over the Linux calls rsm-core needs. Every `unsafe` block of the crate
//! outside `transport::shm` lives here (and in [`region`]), each with a `// SAFETY:` note.
#![allow(unsafe_code)]

pub(crate) mod region;

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))
}

/// The system page size.
pub(crate) fn page_size() -> usize {
    static PS: OnceLock<usize> = OnceLock::new();
    *PS.get_or_init(|| {
        // SAFETY: sysconf has no memory-safety preconditions.
        let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if v > 0 { v as usize } else { 4096 }
    })
}

/// Milliseconds of `CLOCK_MONOTONIC_COARSE` (a vDSO read, no system call).
#[inline]
pub(crate) fn coarse_millis() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    (ts.tv_sec as u64) * 1000 + (ts.tv_nsec as u64) / 1_000_000
}

/// Opens an unnamed regular file in `dir` (`O_TMPFILE`), mode `mode`.
pub(crate) fn open_tmpfile(dir: &Path, mode: u32) -> io::Result<OwnedFd> {
    let c = cstr(dir)?;
    // SAFETY: `c` is a valid NUL-terminated path; the returned descriptor is owned below.
    let fd = cvt(unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    })?;
    // SAFETY: `fd` is a freshly opened descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens `path` with `flags` (`O_CLOEXEC` added).
pub(crate) fn open(path: &Path, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
    let c = cstr(path)?;
    // SAFETY: `c` is a valid path; the returned descriptor is owned below.
    let fd = cvt(unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC, mode as libc::c_uint) })?;
    // SAFETY: `fd` is a freshly opened descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Gives the unnamed file `fd` the name `path` (fails with `EEXIST` if taken).
pub(crate) fn link_fd(fd: &OwnedFd, path: &Path) -> io::Result<()> {
    let proc_path = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).expect("no NUL");
    let target = cstr(path)?;
    // SAFETY: both paths are valid NUL-terminated strings.
    let r = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            proc_path.as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() != Some(libc::ENOENT) {
        return Err(e);
    }
    // Without /proc: AT_EMPTY_PATH (needs CAP_DAC_READ_SEARCH).
    // SAFETY: the empty path is a valid string; `fd` is open.
    cvt(unsafe {
        libc::linkat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    })
    .map(drop)
}

/// Reserves `len` bytes of backing store for `fd` (so later stores cannot `SIGBUS`).
pub(crate) fn fallocate(fd: &OwnedFd, len: usize) -> io::Result<()> {
    // SAFETY: plain system call on an open descriptor.
    let r = unsafe { libc::fallocate(fd.as_raw_fd(), 0, 0, len as libc::off_t) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `fchmod(fd, mode)`.
pub(crate) fn fchmod(fd: &OwnedFd, mode: u32) -> io::Result<()> {
    // SAFETY: plain system call on an open descriptor.
    cvt(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) }).map(drop)
}

/// Writes `len` bytes starting at the raw address `src` to `fd` at offset `off`.
/// Unmapped source memory makes the kernel return `EFAULT`, which is reported, not faulted.
///
/// # Safety
/// `src..src+len` must not be memory that Rust code holds a `&mut` reference to.
pub(crate) unsafe fn pwrite_raw(
    fd: &OwnedFd,
    src: *const u8,
    len: usize,
    off: u64,
) -> io::Result<()> {
    let mut done = 0usize;
    while done < len {
        // SAFETY: the kernel validates the user range itself (EFAULT), we only pass numbers.
        let n = unsafe {
            libc::pwrite(
                fd.as_raw_fd(),
                src.wrapping_add(done).cast(),
                len - done,
                (off + done as u64) as libc::off_t,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        done += n as usize;
    }
    Ok(())
}

/// Reads exactly `len` bytes of `fd` at offset `off` into the raw address `dst`.
/// Unmapped or read-only destination memory makes the kernel return `EFAULT`, which is
/// reported, not faulted.
///
/// # Safety
/// `dst..dst+len` must not be memory that Rust code holds a reference to.
pub(crate) unsafe fn pread_raw(fd: &OwnedFd, dst: *mut u8, len: usize, off: u64) -> io::Result<()> {
    let mut done = 0usize;
    while done < len {
        // SAFETY: the kernel validates the user range itself (EFAULT); no Rust reference
        // covers it (the caller's contract).
        let n = unsafe {
            libc::pread(
                fd.as_raw_fd(),
                dst.wrapping_add(done).cast(),
                len - done,
                (off + done as u64) as libc::off_t,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        done += n as usize;
    }
    Ok(())
}

/// What [`probe_range`] found wrong with a range.
#[derive(Debug)]
pub(crate) enum Probe {
    /// Part of the range cannot be read (not mapped, or no access): `EFAULT`.
    Unreadable(io::Error),
    /// The range can be read but part of it cannot be written (read-only): `EFAULT`.
    Unwritable(io::Error),
    /// The check itself could not run (no descriptor for its pipe, ...).
    Failed(io::Error),
}

/// Checks that `ptr..ptr+len` is readable, then that it is writable, without changing its
/// contents and without faulting: the kernel copies it through a pipe in chunks (`EFAULT`
/// instead of a fault) and the write check copies each chunk back onto itself.
///
/// # Safety
/// No Rust reference may point into the range (its bytes are rewritten in place with
/// their own values).
pub(crate) unsafe fn probe_range(ptr: *mut u8, len: usize) -> Result<(), Probe> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) })
        .map_err(Probe::Failed)?;
    // SAFETY: both descriptors are fresh and owned from here on.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    const CHUNK: usize = 64 * 1024;
    let mut scratch = vec![0u8; CHUNK.min(len)];
    // Moves up to `n` bytes from `src` into the pipe (the kernel reads `src`); returns how
    // many went in.
    let fill = |src: *const u8, n: usize| -> io::Result<usize> {
        loop {
            // SAFETY: the kernel validates the user range (EFAULT); we only pass numbers.
            let w = unsafe { libc::write(wr.as_raw_fd(), src.cast(), n) };
            if w >= 0 {
                return Ok(w as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    };
    // Takes exactly `n` bytes out of the pipe into `dst` (the kernel writes `dst`).
    let drain = |dst: *mut u8, n: usize| -> io::Result<()> {
        let mut done = 0;
        while done < n {
            // SAFETY: as above; `dst..dst+n` is the caller's range or our scratch buffer.
            let r = unsafe { libc::read(rd.as_raw_fd(), dst.wrapping_add(done).cast(), n - done) };
            if r > 0 {
                done += r as usize;
                continue;
            }
            let e = if r == 0 {
                io::ErrorKind::UnexpectedEof.into()
            } else {
                io::Error::last_os_error()
            };
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        Ok(())
    };
    let fault = |e: io::Error, bad: fn(io::Error) -> Probe| {
        if e.raw_os_error() == Some(libc::EFAULT) {
            bad(e)
        } else {
            Probe::Failed(e)
        }
    };
    // Pass 1: every byte readable (the whole range before any write check, so an unmapped
    // page anywhere is reported as such even behind a read-only one).
    let mut off = 0;
    while off < len {
        let n = fill(ptr.wrapping_add(off), (len - off).min(CHUNK))
            .map_err(|e| fault(e, Probe::Unreadable))?;
        drain(scratch.as_mut_ptr(), n).map_err(Probe::Failed)?;
        off += n;
    }
    // Pass 2: every byte writable: each chunk goes through the pipe and back onto itself.
    let mut off = 0;
    while off < len {
        let at = ptr.wrapping_add(off);
        let n = fill(at, (len - off).min(CHUNK)).map_err(|e| fault(e, Probe::Unreadable))?;
        drain(at, n).map_err(|e| fault(e, Probe::Unwritable))?;
        off += n;
    }
    Ok(())
}

/// Reads exactly `buf.len()` bytes at offset `off`.
pub(crate) fn pread_exact(fd: &OwnedFd, buf: &mut [u8], off: u64) -> io::Result<()> {
    // SAFETY: `buf` is a valid writable slice, borrowed exclusively for the call.
    unsafe { pread_raw(fd, buf.as_mut_ptr(), buf.len(), off) }
}

/// What `fstat` says about a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
}

fn file_id(st: &libc::stat) -> FileId {
    FileId {
        dev: st.st_dev,
        ino: st.st_ino,
        mode: st.st_mode,
        uid: st.st_uid,
        gid: st.st_gid,
        size: st.st_size as u64,
    }
}

/// `fstat(fd)`.
pub(crate) fn fstat(fd: RawFd) -> io::Result<FileId> {
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid and writable.
    cvt(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(file_id(&st))
}

/// `lstat(path)`.
pub(crate) fn lstat(path: &Path) -> io::Result<FileId> {
    let c = cstr(path)?;
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid path and `st` is writable.
    cvt(unsafe { libc::lstat(c.as_ptr(), &mut st) })?;
    Ok(file_id(&st))
}

/// Creates a FIFO at `path` (`EEXIST` if taken), opens it `O_RDWR|O_NONBLOCK` and sets its
/// mode to exactly `mode` (independent of the umask).
pub(crate) fn make_fifo(path: &Path, mode: u32) -> io::Result<OwnedFd> {
    let c = cstr(path)?;
    // SAFETY: `c` is a valid path.
    cvt(unsafe { libc::mkfifo(c.as_ptr(), 0o600) })?;
    let fd = match open_fifo(path) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = std::fs::remove_file(path);
            return Err(e);
        }
    };
    if let Err(e) = fchmod(&fd, mode) {
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    Ok(fd)
}

/// Opens an existing FIFO `O_RDWR|O_NONBLOCK`: never blocks, never raises `SIGPIPE`
/// (the opener is itself a reader), never reports `POLLHUP`.
pub(crate) fn open_fifo(path: &Path) -> io::Result<OwnedFd> {
    let fd = open(path, libc::O_RDWR | libc::O_NONBLOCK, 0)?;
    let id = fstat(fd.as_raw_fd())?;
    if id.mode & libc::S_IFMT != libc::S_IFIFO {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not a FIFO"));
    }
    Ok(fd)
}

/// Number of unread bytes in a pipe (`FIONREAD`).
pub(crate) fn fionread(fd: RawFd) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int to the valid pointer.
    cvt(unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) })?;
    Ok(n.max(0) as usize)
}

/// Reads one byte without blocking; `Ok(None)` when nothing is there.
pub(crate) fn read_byte(fd: RawFd) -> io::Result<Option<u8>> {
    let mut b = 0u8;
    loop {
        // SAFETY: reading one byte into a valid local.
        let n = unsafe { libc::read(fd, (&mut b as *mut u8).cast(), 1) };
        if n == 1 {
            return Ok(Some(b));
        }
        if n == 0 {
            return Ok(None);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => return Ok(None),
            _ => return Err(e),
        }
    }
}

/// Writes one byte without blocking; `Ok(false)` when the pipe is full.
pub(crate) fn write_byte(fd: RawFd, b: u8) -> io::Result<bool> {
    loop {
        // SAFETY: writing one byte from a valid local.
        let n = unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
        if n == 1 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => return Ok(false),
            _ => return Err(e),
        }
    }
}

/// `poll(2)`; `timeout_ms < 0` waits forever.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    // SAFETY: `fds` is a valid slice of pollfd structures.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Converts an optional timeout to poll milliseconds (rounded up, saturating).
pub(crate) fn timeout_ms(t: Option<Duration>) -> i32 {
    match t {
        None => -1,
        Some(d) => {
            let ms = d.as_nanos().div_ceil(1_000_000);
            ms.min(i32::MAX as u128) as i32
        }
    }
}

/// `dup2(old, new)`: makes descriptor number `new` refer to what `old` refers to.
pub(crate) fn dup2(old: RawFd, new: RawFd) -> io::Result<()> {
    loop {
        // SAFETY: dup2 on descriptor numbers; `new` is a descriptor this crate owns.
        let r = unsafe { libc::dup2(old, new) };
        if r >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) && e.raw_os_error() != Some(libc::EBUSY) {
            return Err(e);
        }
    }
}

/// `pidfd_open(pid)`.
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: plain system call with integer arguments.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0 as libc::c_uint) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `r` is a fresh descriptor owned by us.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// Whether the process behind `pidfd` has exited (readable pidfd).
pub(crate) fn pidfd_exited(pidfd: &OwnedFd) -> bool {
    let mut p = [libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    matches!(poll(&mut p, 0), Ok(1)) && p[0].revents != 0
}

/// Whether an error means the process ran out of descriptors (`EMFILE`, `ENFILE`).
pub(crate) fn out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE))
}

/// Start time (clock ticks since boot) and state letter of process `pid`, from
/// `/proc/<pid>/stat`. The error is the one of the open or read: `ENOENT`/`ESRCH` when
/// the entry does not exist (no such process, no procfs, or a hidden one), anything else
/// (`EMFILE`, `ENOMEM`, ...) when it could not be read; `InvalidData` if it cannot be
/// parsed.
pub(crate) fn proc_stat(pid: u32) -> io::Result<(u64, u8)> {
    let s = std::fs::read(format!("/proc/{pid}/stat"))?;
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc/<pid>/stat");
    let close = s.iter().rposition(|&b| b == b')').ok_or_else(bad)?;
    let rest = std::str::from_utf8(&s[close + 1..]).map_err(|_| bad())?;
    let mut it = rest.split_ascii_whitespace();
    let state = it
        .next()
        .and_then(|f| f.as_bytes().first().copied())
        .ok_or_else(bad)?;
    // Field 3 is the state; the start time is field 22, i.e. 19 fields further.
    let start = it.nth(18).and_then(|f| f.parse().ok()).ok_or_else(bad)?;
    Ok((start, state))
}

/// What is known about a process (see [`liveness`]).
#[derive(Debug)]
pub(crate) enum Liveness {
    /// It runs (or it exists and cannot be inspected further).
    Alive,
    /// Positive evidence that it is gone: no such process (`ESRCH`), a zombie, or another
    /// process under a reused pid (different start time).
    Dead,
    /// The check could not run (for example no descriptor left to read procfs with):
    /// callers treat the process as alive and never remove its names.
    Unknown(io::Error),
}

impl Liveness {
    /// Only positive evidence counts: `Unknown` is not dead.
    pub(crate) fn is_dead(&self) -> bool {
        matches!(self, Liveness::Dead)
    }
}

/// Whether process `pid` still runs. With `start` (a start time from [`proc_stat`], 0 if
/// it was unknown), a process under the same pid that started at another time is another
/// process: the one asked about is dead. Zombies are dead. Anything that prevents the
/// check (`EMFILE`, ...) gives [`Liveness::Unknown`], never `Dead`.
pub(crate) fn liveness(pid: u32, start: Option<u64>) -> Liveness {
    // No process can have these ids (and kill() would address process groups).
    if pid == 0 || pid > i32::MAX as u32 {
        return Liveness::Dead;
    }
    judge(pid, start, proc_stat(pid))
}

/// [`liveness`] given what reading `/proc/<pid>/stat` gave (`pid` is a valid pid).
fn judge(pid: u32, start: Option<u64>, stat: io::Result<(u64, u8)>) -> Liveness {
    match stat {
        Ok((_, b'Z' | b'X')) => Liveness::Dead,
        Ok((s, _)) if start.is_some_and(|t| t != 0 && t != s) => Liveness::Dead,
        Ok(_) => Liveness::Alive,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ESRCH)) => {
            // No entry: the process is gone, or procfs is missing or hides it. Ask the
            // kernel directly.
            // SAFETY: signal 0 only checks for existence; `pid` is a positive pid_t.
            if unsafe { libc::kill(pid as libc::pid_t, 0) } == 0 {
                return Liveness::Alive;
            }
            let k = io::Error::last_os_error();
            match k.raw_os_error() {
                Some(libc::ESRCH) => Liveness::Dead,
                Some(libc::EPERM) => Liveness::Alive,
                _ => Liveness::Unknown(k),
            }
        }
        Err(e) => Liveness::Unknown(e),
    }
}

/// This process's id.
pub(crate) fn getpid() -> u32 {
    std::process::id()
}

/// Start time of this process (see [`proc_stat`]); 0 if procfs is not there. An error
/// (for example `EMFILE`) is not cached: the next call tries again.
pub(crate) fn self_start_time() -> io::Result<u64> {
    // The value is fixed for a process but must be re-read after fork: key it by pid.
    static CACHE: std::sync::Mutex<(u32, u64)> = std::sync::Mutex::new((0, 0));
    let pid = getpid();
    let mut c = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if c.0 != pid {
        let start = match proc_stat(pid) {
            Ok((s, _)) => s,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => 0,
            Err(e) => return Err(e),
        };
        *c = (pid, start);
    }
    Ok(c.1)
}

/// Effective uid and gid (the credentials the kernel checks file access with).
pub(crate) fn effective_ids() -> (u32, u32) {
    // SAFETY: these calls cannot fail and have no preconditions.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

/// Supplementary groups plus the effective gid.
pub(crate) fn groups() -> Vec<u32> {
    // SAFETY: a zero-size query returns the count only.
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    let mut v = vec![0 as libc::gid_t; n.max(0) as usize];
    if n > 0 {
        // SAFETY: `v` has room for `n` entries.
        let m = unsafe { libc::getgroups(n, v.as_mut_ptr()) };
        v.truncate(m.max(0) as usize);
    }
    v.push(effective_ids().1);
    v
}

/// The process umask, from `/proc/self/status` (no racy `umask()` round trip).
pub(crate) fn umask() -> u32 {
    if let Ok(s) = std::fs::read_to_string("/proc/self/status") {
        for line in s.lines() {
            if let Some(v) = line.strip_prefix("Umask:")
                && let Ok(m) = u32::from_str_radix(v.trim(), 8)
            {
                return m;
            }
        }
    }
    0o022
}

/// Total size in bytes of the file system holding `path`.
pub(crate) fn fs_total_bytes(path: &Path) -> u64 {
    let Ok(c) = cstr(path) else { return 0 };
    // SAFETY: an all-zero statvfs is a valid value of this plain C struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid path and writable struct.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return 0;
    }
    st.f_blocks.saturating_mul(st.f_frsize)
}

/// Soft limit on open descriptors.
pub(crate) fn nofile_limit() -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is valid and writable.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return 1024;
    }
    r.rlim_cur
}

/// `sched_yield()`.
pub(crate) fn yield_now() {
    std::thread::yield_now();
}

/// Sleeps on a shared (not process-private) futex word while it holds `expected`.
/// Returns `Ok(true)` when woken (or the value already differed), `Ok(false)` on timeout.
pub(crate) fn futex_wait(
    word: &AtomicU32,
    expected: u32,
    timeout: Option<Duration>,
) -> io::Result<bool> {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let tsp = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a valid, aligned u32 for the duration of the call; FUTEX_WAIT only
    // reads it. The timespec pointer is null or points to a live local.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            tsp,
            std::ptr::null::<u32>(),
            0u32,
        )
    };
    if r == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EAGAIN) => Ok(true),
        Some(libc::ETIMEDOUT) => Ok(false),
        _ => Err(e),
    }
}

/// Wakes up to `n` waiters of a shared futex word; returns how many were woken.
pub(crate) fn futex_wake(word: &AtomicU32, n: u32) -> io::Result<usize> {
    // SAFETY: FUTEX_WAKE only uses the address as a key.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            n.min(i32::MAX as u32),
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// Lists the names in `dir` that start with `prefix`.
pub(crate) fn list_prefixed(dir: &Path, prefix: &str) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    for ent in std::fs::read_dir(dir)? {
        let Ok(ent) = ent else { continue };
        let name = ent.file_name();
        let b = OsStr::as_bytes(&name);
        if b.starts_with(prefix.as_bytes())
            && let Ok(s) = std::str::from_utf8(b)
        {
            out.push(s.to_owned());
        }
    }
    Ok(out)
}

/// Plain integer types: every byte pattern is a value and there is no padding.
pub(crate) trait Plain: Copy {}
impl Plain for u8 {}
impl Plain for u16 {}
impl Plain for u32 {}
impl Plain for u64 {}

/// The bytes of a slice of plain integers.
pub(crate) fn pod_bytes<T: Plain>(s: &[T]) -> &[u8] {
    // SAFETY: `T` has no padding and u8 has alignment 1; the length covers exactly the
    // slice's bytes and the borrow keeps them alive.
    unsafe { std::slice::from_raw_parts(s.as_ptr().cast(), std::mem::size_of_val(s)) }
}

/// The bytes of a mutable slice of plain integers (any byte pattern is a valid `T`).
pub(crate) fn pod_bytes_mut<T: Plain>(s: &mut [T]) -> &mut [u8] {
    // SAFETY: as `pod_bytes`; every byte pattern written through the result is a valid
    // `T`, and the exclusive borrow is carried over.
    unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast(), std::mem::size_of_val(s)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use region::Region;

    /// Sets the protection of pages `first..first+n` of `r`.
    fn protect(r: &Region, first: usize, n: usize, prot: libc::c_int) {
        let ps = page_size();
        // SAFETY: whole pages of our own test mapping, no reference into them.
        let rc = unsafe { libc::mprotect(r.as_ptr().add(first * ps).cast(), n * ps, prot) };
        assert_eq!(rc, 0);
    }

    #[test]
    fn probe_range_tells_unreadable_from_unwritable_and_changes_nothing() {
        let ps = page_size();
        // Larger than one pipe chunk, not a multiple of it.
        let pages = 40;
        let r = Region::anon(pages * ps).unwrap();
        let pattern: Vec<u8> = (0..pages * ps).map(|i| (i * 7 % 251) as u8).collect();
        assert!(r.write(0, &pattern));
        // SAFETY: our own mapping; no reference into it.
        unsafe { probe_range(r.as_ptr(), pages * ps) }.unwrap();
        let mut back = vec![0u8; pages * ps];
        assert!(r.read(0, &mut back));
        assert!(back == pattern, "the probe changed the contents");

        // A read-only page: readable but not writable.
        protect(&r, 30, 1, libc::PROT_READ);
        // SAFETY: as above.
        let p = unsafe { probe_range(r.as_ptr(), pages * ps) };
        assert!(matches!(p, Err(Probe::Unwritable(_))), "{p:?}");
        // ... and the pages before it are unchanged by the write pass.
        assert!(r.read(0, &mut back[..30 * ps]));
        assert!(back[..30 * ps] == pattern[..30 * ps]);
        // An inaccessible page anywhere wins over the read-only one, even behind it.
        protect(&r, 35, 1, libc::PROT_NONE);
        // SAFETY: as above.
        let p = unsafe { probe_range(r.as_ptr(), pages * ps) };
        assert!(matches!(p, Err(Probe::Unreadable(_))), "{p:?}");
        // The range up to the read-only page is fine.
        // SAFETY: as above.
        unsafe { probe_range(r.as_ptr(), 30 * ps) }.unwrap();
        protect(&r, 30, 6, libc::PROT_READ | libc::PROT_WRITE);
        assert!(r.read(0, &mut back));
        assert!(back == pattern);
    }

    fn os(errno: i32) -> io::Error {
        io::Error::from_raw_os_error(errno)
    }

    #[test]
    fn liveness_needs_positive_evidence_of_death() {
        let me = getpid();
        let start = self_start_time().unwrap();
        assert!(start > 0);
        assert!(matches!(liveness(me, Some(start)), Liveness::Alive));
        assert!(matches!(liveness(me, None), Liveness::Alive));
        assert!(
            matches!(liveness(me, Some(0)), Liveness::Alive),
            "0: start unknown"
        );
        // Another start time under our pid: the process asked about is gone.
        assert!(liveness(me, Some(start + 1)).is_dead());
        assert!(liveness(0, None).is_dead());
        assert!(liveness(u32::MAX, None).is_dead());
        // A child: alive, then a zombie, then reaped.
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        let (cstart, _) = proc_stat(pid).unwrap();
        assert!(matches!(liveness(pid, Some(cstart)), Liveness::Alive));
        // SAFETY: signalling our own child.
        assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }, 0);
        let t = std::time::Instant::now();
        while !liveness(pid, Some(cstart)).is_dead() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "zombie not seen as dead"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        child.wait().unwrap();
        assert!(liveness(pid, Some(cstart)).is_dead());
        assert!(liveness(pid, None).is_dead());

        // What procfs said, judged: failures to look are never death.
        for errno in [
            libc::EMFILE,
            libc::ENFILE,
            libc::ENOMEM,
            libc::EACCES,
            libc::EIO,
        ] {
            let l = judge(me, Some(start), Err(os(errno)));
            assert!(matches!(l, Liveness::Unknown(_)), "errno {errno}: {l:?}");
            let l = judge(pid, Some(cstart), Err(os(errno)));
            assert!(matches!(l, Liveness::Unknown(_)), "errno {errno}: {l:?}");
        }
        let garbled = io::Error::new(io::ErrorKind::InvalidData, "garbled");
        assert!(matches!(
            judge(me, None, Err(garbled)),
            Liveness::Unknown(_)
        ));
        // No entry: the kernel decides (a hidden or procfs-less live process is alive).
        assert!(matches!(
            judge(me, Some(start), Err(os(libc::ENOENT))),
            Liveness::Alive
        ));
        assert!(judge(pid, Some(cstart), Err(os(libc::ENOENT))).is_dead());
        assert!(judge(pid, None, Err(os(libc::ESRCH))).is_dead());
        assert!(judge(me, None, Ok((start, b'Z'))).is_dead());
        assert!(judge(me, None, Ok((start, b'X'))).is_dead());
        assert!(matches!(
            judge(me, None, Ok((start, b'S'))),
            Liveness::Alive
        ));
    }
}
