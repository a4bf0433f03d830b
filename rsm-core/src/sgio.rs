//! Scatter/gather (SPEC.md §4.6, §5.7): putv/getv with local memory handles or plain
//! buffers, `io_residual_count`, `RSM_IMPLICIT_SIGPOST`.

use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::controller::Controller;
use crate::error::{ErrorKind, Result, RsmError, err};
use crate::import::{CONNECTED, DISCONNECTED, ImportSegment, ImportShared, disconnected};
use crate::sys::region::Region;
use crate::types::{IMPLICIT_SIGPOST, MAX_SGIOREQS, PERM_READ, PERM_WRITE, SIGPOST_NO_ACCUMULATE};

/// A local memory handle (`rsm_localmemory_handle_t`): a local range used repeatedly in
/// scatter/gather entries.
pub struct LocalMemory {
    ctrl: Controller,
    mem: Region,
    len: usize,
    freed: AtomicBool,
}

impl fmt::Debug for LocalMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalMemory")
            .field("len", &self.len)
            .field("freed", &self.freed.load(Ordering::Relaxed))
            .finish()
    }
}

impl LocalMemory {
    /// `rsm_create_localmemory_handle` with memory rsm-core allocates (`len` bytes, zeroed,
    /// page aligned). Errors: [`ErrorKind::BadCtlrHndl`], [`ErrorKind::BadLength`] (0),
    /// [`ErrorKind::InsufficientMem`].
    pub fn new(ctrl: &Controller, len: usize) -> Result<LocalMemory> {
        const OP: &str = "create_localmemory_handle";
        ctrl.usable(OP)?;
        if len == 0 {
            return Err(err(ErrorKind::BadLength, OP, "length is 0"));
        }
        let ps = ctrl.caps().page_size;
        let rounded = len
            .div_ceil(ps)
            .checked_mul(ps)
            .filter(|r| *r <= isize::MAX as usize)
            .ok_or_else(|| {
                err(
                    ErrorKind::InsufficientMem,
                    OP,
                    format!("cannot allocate {len} bytes"),
                )
            })?;
        let mem = Region::anon(rounded).map_err(|e| {
            RsmError::os(
                ErrorKind::InsufficientMem,
                OP,
                format!("cannot allocate {len} bytes"),
                &e,
            )
        })?;
        Ok(LocalMemory {
            ctrl: ctrl.clone(),
            mem,
            len,
            freed: AtomicBool::new(false),
        })
    }

    /// `rsm_create_localmemory_handle` on the caller's range. Errors, in order:
    /// [`ErrorKind::BadAddr`] (`vaddr` null or not page aligned), [`ErrorKind::BadCtlrHndl`],
    /// [`ErrorKind::BadLength`] (0, or a range that cannot exist: longer than `isize::MAX`
    /// or wrapping around the address space).
    ///
    /// # Safety
    /// `vaddr..vaddr+len` must stay valid for reads and writes while the handle exists;
    /// nothing else may access it during a putv/getv that uses the handle, nor write it
    /// while a slice from [`as_slice`](Self::as_slice) is alive.
    #[allow(unsafe_code)]
    pub unsafe fn from_raw(ctrl: &Controller, vaddr: *mut u8, len: usize) -> Result<LocalMemory> {
        const OP: &str = "create_localmemory_handle";
        let ps = ctrl.caps().page_size;
        let ptr = NonNull::new(vaddr)
            .filter(|p| (p.as_ptr() as usize).is_multiple_of(ps))
            .ok_or_else(|| {
                err(
                    ErrorKind::BadAddr,
                    OP,
                    format!("address {vaddr:p} is null or not page aligned"),
                )
            })?;
        ctrl.usable(OP)?;
        if len == 0 {
            return Err(err(ErrorKind::BadLength, OP, "length is 0"));
        }
        if len > isize::MAX as usize || (vaddr as usize).checked_add(len).is_none() {
            return Err(err(
                ErrorKind::BadLength,
                OP,
                format!("{len} bytes at {vaddr:p} run past the end of the address space"),
            ));
        }
        Ok(LocalMemory {
            ctrl: ctrl.clone(),
            // SAFETY: the caller keeps the range mapped while the handle exists.
            mem: unsafe { Region::borrowed(ptr, len) },
            len,
            freed: AtomicBool::new(false),
        })
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the length is 0 (never: creation refuses it).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The memory.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the memory is private to this process; writers need `&mut self` (or the
        // unsafe raw entry points, whose contract excludes concurrent use).
        #[allow(unsafe_code)]
        let s = unsafe { self.mem.slice() };
        &s[..self.len]
    }

    /// The memory, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `&mut self` guarantees exclusivity.
        #[allow(unsafe_code)]
        let s = unsafe { self.mem.slice_mut() };
        &mut s[..self.len]
    }

    /// `rsm_free_localmemory_handle`. Errors: [`ErrorKind::BadCtlrHndl`] (controller
    /// released, or not the one the handle was created with), [`ErrorKind::BadLocalmemHndl`]
    /// (already freed). Entries naming a freed handle fail with `BadLocalmemHndl`.
    pub fn free(&self, ctrl: &Controller) -> Result<()> {
        const OP: &str = "free_localmemory_handle";
        ctrl.usable(OP)?;
        if !ctrl.same_instance(&self.ctrl) {
            return Err(err(
                ErrorKind::BadCtlrHndl,
                OP,
                "not the controller the handle was created with",
            ));
        }
        if self.freed.swap(true, Ordering::AcqRel) {
            return Err(err(ErrorKind::BadLocalmemHndl, OP, "handle already freed"));
        }
        Ok(())
    }

    /// Whether [`free`](Self::free) ran.
    pub fn is_freed(&self) -> bool {
        self.freed.load(Ordering::Acquire)
    }

    fn check(&self, op: &'static str, off: usize, len: usize) -> Result<()> {
        if self.is_freed() {
            return Err(err(
                ErrorKind::BadLocalmemHndl,
                op,
                "local memory handle was freed",
            ));
        }
        local_bounds(op, off, len, self.len)
    }
}

fn local_bounds(op: &'static str, off: usize, len: usize, have: usize) -> Result<()> {
    if off > have {
        return Err(err(
            ErrorKind::BadOffset,
            op,
            format!("local offset {off} is beyond the {have}-byte local buffer"),
        ));
    }
    if len > have - off {
        return Err(err(
            ErrorKind::BadLength,
            op,
            format!("{len} bytes at local offset {off} exceed the {have}-byte local buffer"),
        ));
    }
    Ok(())
}

/// The local start of a raw (`RSM_VA_TYPE`) entry: `p + off`, refusing a null address
/// and a range `p + off .. p + off + len` that wraps around the address space
/// ([`ErrorKind::BadAddr`]).
fn raw_local(op: &'static str, i: usize, p: *mut u8, off: usize, len: usize) -> Result<*mut u8> {
    if p.is_null() {
        return Err(err(
            ErrorKind::BadAddr,
            op,
            format!("entry {i}: local address is null"),
        ));
    }
    match (p as usize)
        .checked_add(off)
        .and_then(|start| start.checked_add(len))
    {
        Some(_) => Ok(p.wrapping_add(off)),
        None => Err(err(
            ErrorKind::BadAddr,
            op,
            format!("entry {i}: local range {p:p}+{off}+{len} wraps around the address space"),
        )),
    }
}

/// The local side of a putv entry.
#[derive(Debug)]
pub enum PutSource<'a> {
    /// A buffer.
    Slice(&'a [u8]),
    /// A local memory handle.
    Handle(&'a LocalMemory),
}

/// One putv entry (`rsm_iovec_t`): `len` bytes from `local[local_offset..]` to segment
/// offset `remote_offset`.
#[derive(Debug)]
pub struct PutIo<'a> {
    /// Local side.
    pub local: PutSource<'a>,
    /// Offset into the local side.
    pub local_offset: usize,
    /// Offset into the imported segment.
    pub remote_offset: u64,
    /// Bytes to move (`transfer_length`).
    pub len: usize,
}

/// The local side of a getv entry.
#[derive(Debug)]
pub enum GetDest<'a> {
    /// A buffer.
    Slice(&'a mut [u8]),
    /// A local memory handle.
    Handle(&'a mut LocalMemory),
}

/// One getv entry: `len` bytes from segment offset `remote_offset` to
/// `local[local_offset..]`.
#[derive(Debug)]
pub struct GetIo<'a> {
    /// Local side.
    pub local: GetDest<'a>,
    /// Offset into the local side.
    pub local_offset: usize,
    /// Offset into the imported segment.
    pub remote_offset: u64,
    /// Bytes to move.
    pub len: usize,
}

/// The local side of a C-style entry (`RSM_VA_TYPE` or `RSM_HANDLE_TYPE`).
#[derive(Clone, Copy, Debug)]
pub enum RawLocal<'a> {
    /// `local.vaddr`.
    Addr(*mut u8),
    /// `local.handle`.
    Handle(&'a LocalMemory),
}

/// A C-style entry (`rsm_iovec_t`) for [`ImportSegment::putv_raw`]/[`ImportSegment::getv_raw`].
#[derive(Clone, Copy, Debug)]
pub struct RawIo<'a> {
    /// Local side.
    pub local: RawLocal<'a>,
    /// Offset into the local side.
    pub local_offset: usize,
    /// Offset into the imported segment.
    pub remote_offset: u64,
    /// Bytes to move.
    pub len: usize,
}

/// A failed putv/getv: the error and `io_residual_count`, the number of entries not
/// completed or not started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SgioError {
    /// What went wrong.
    pub error: RsmError,
    /// Entries not completed or not started.
    pub residual: usize,
}

impl fmt::Display for SgioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} entries not done)", self.error, self.residual)
    }
}

impl std::error::Error for SgioError {}

impl From<SgioError> for RsmError {
    fn from(e: SgioError) -> RsmError {
        e.error
    }
}

impl ImportShared {
    /// Checks before the first entry (SPEC.md §4.6 steps 2–5 and permission); returns
    /// whether the barrier mode is implicit.
    fn sg_begin(&self, op: &'static str, n: usize, need: u32) -> Result<bool> {
        let st = self.state.load(Ordering::Acquire);
        if st == DISCONNECTED {
            return Err(disconnected(op));
        }
        if n == 0 || n > MAX_SGIOREQS {
            return Err(err(
                ErrorKind::BadSgio,
                op,
                format!("io_request_count {n} is not in 1..={MAX_SGIOREQS}"),
            ));
        }
        if st == CONNECTED && self.caps.scatgath_map_required {
            self.implicit_map(op)?;
        }
        self.need_perm(op, need)?;
        Ok(self.is_implicit())
    }

    fn remote_bounds(&self, op: &'static str, off: u64, len: usize) -> Result<usize> {
        if off > self.size as u64 {
            return Err(err(
                ErrorKind::BadOffset,
                op,
                format!(
                    "remote offset {off} is beyond the {}-byte segment",
                    self.size
                ),
            ));
        }
        if len as u64 > self.size as u64 - off {
            return Err(err(
                ErrorKind::BadLength,
                op,
                format!(
                    "{len} bytes at remote offset {off} exceed the {}-byte segment",
                    self.size
                ),
            ));
        }
        Ok(off as usize)
    }

    fn sg_put(&self, op: &'static str, implicit: bool, roff: u64, src: &[u8]) -> Result<()> {
        let o = self.remote_bounds(op, roff, src.len())?;
        self.transfer_put(op, implicit, o, src, 1)
    }

    fn sg_get(&self, op: &'static str, implicit: bool, roff: u64, dst: &mut [u8]) -> Result<()> {
        let o = self.remote_bounds(op, roff, dst.len())?;
        self.transfer_get(op, implicit, o, dst, 1)
    }

    /// Runs `n` entries, then the implicit signal post; maps failures to the residual count.
    fn sg_run(
        &self,
        op: &'static str,
        n: usize,
        flags: u32,
        need: u32,
        mut entry: impl FnMut(usize, bool) -> Result<()>,
    ) -> Result<(), SgioError> {
        let implicit = self
            .sg_begin(op, n, need)
            .map_err(|error| SgioError { error, residual: n })?;
        for i in 0..n {
            entry(i, implicit).map_err(|error| SgioError {
                error,
                residual: n - i,
            })?;
        }
        if flags & IMPLICIT_SIGPOST != 0 {
            self.remote
                .post(flags & SIGPOST_NO_ACCUMULATE)
                .map_err(|error| SgioError {
                    error: error.with_op(op),
                    residual: 0,
                })?;
        }
        Ok(())
    }
}

impl ImportSegment {
    /// `rsm_memseg_import_putv`: up to [`MAX_SGIOREQS`] transfers from local buffers or
    /// handles into the segment, in list order. With [`IMPLICIT_SIGPOST`] in `flags` one
    /// event is posted to the exporter after full success (as
    /// `signal_post(flags & SIGPOST_NO_ACCUMULATE)`).
    ///
    /// On failure the error carries the residual count: entries not completed or not
    /// started. Errors, in order: [`ErrorKind::BadSegHndl`], [`ErrorKind::BadSgio`] (0 or
    /// more than 16 entries), [`ErrorKind::ConnAborted`] (the implicit mapping of a handle
    /// not mapped yet fails on a lost connection), [`ErrorKind::PermDenied`], then per entry
    /// [`ErrorKind::BadLocalmemHndl`] (freed handle), [`ErrorKind::BadOffset`] /
    /// [`ErrorKind::BadLength`] (local, then remote range), [`ErrorKind::ConnAborted`]
    /// (implicit mode, connection lost); out-of-range entries never touch memory.
    pub fn putv(&self, iov: &[PutIo<'_>], flags: u32) -> Result<(), SgioError> {
        const OP: &str = "import_putv";
        let sh = &*self.sh;
        sh.sg_run(OP, iov.len(), flags, PERM_WRITE, |i, implicit| {
            let e = &iov[i];
            let src: &[u8] = match e.local {
                PutSource::Slice(s) => {
                    local_bounds(OP, e.local_offset, e.len, s.len())?;
                    &s[e.local_offset..e.local_offset + e.len]
                }
                PutSource::Handle(h) => {
                    h.check(OP, e.local_offset, e.len)?;
                    &h.as_slice()[e.local_offset..e.local_offset + e.len]
                }
            };
            sh.sg_put(OP, implicit, e.remote_offset, src)
        })
    }

    /// `rsm_memseg_import_getv`: the mirror of [`putv`](Self::putv), segment → local.
    pub fn getv(&self, iov: &mut [GetIo<'_>], flags: u32) -> Result<(), SgioError> {
        const OP: &str = "import_getv";
        let sh = &*self.sh;
        let n = iov.len();
        sh.sg_run(OP, n, flags, PERM_READ, |i, implicit| {
            let e = &mut iov[i];
            let (off, len, roff) = (e.local_offset, e.len, e.remote_offset);
            let dst: &mut [u8] = match &mut e.local {
                GetDest::Slice(s) => {
                    local_bounds(OP, off, len, s.len())?;
                    &mut s[off..off + len]
                }
                GetDest::Handle(h) => {
                    h.check(OP, off, len)?;
                    &mut h.as_mut_slice()[off..off + len]
                }
            };
            sh.sg_get(OP, implicit, roff, dst)
        })
    }

    /// `rsm_memseg_import_putv` with C-style entries (raw addresses or handles); see
    /// [`putv`](Self::putv). A null address, or one whose range would wrap around the
    /// address space, is [`ErrorKind::BadAddr`]; the remote range is checked before the
    /// local memory is touched.
    ///
    /// # Safety
    /// Every `Addr` entry must be valid for reading `local_offset + len` bytes.
    #[allow(unsafe_code)]
    pub unsafe fn putv_raw(&self, iov: &[RawIo<'_>], flags: u32) -> Result<(), SgioError> {
        const OP: &str = "import_putv";
        let sh = &*self.sh;
        sh.sg_run(OP, iov.len(), flags, PERM_WRITE, |i, implicit| {
            let e = iov[i];
            match e.local {
                RawLocal::Addr(p) => {
                    let p = raw_local(OP, i, p, e.local_offset, e.len)?;
                    // The remote range bounds `len` before a slice of that length exists.
                    let o = sh.remote_bounds(OP, e.remote_offset, e.len)?;
                    // SAFETY: non-null, no wrap-around, `len` ≤ the segment size (checked
                    // above); the caller guarantees the range is readable.
                    let src = unsafe { std::slice::from_raw_parts(p, e.len) };
                    sh.transfer_put(OP, implicit, o, src, 1)
                }
                RawLocal::Handle(h) => {
                    h.check(OP, e.local_offset, e.len)?;
                    let src = &h.as_slice()[e.local_offset..e.local_offset + e.len];
                    sh.sg_put(OP, implicit, e.remote_offset, src)
                }
            }
        })
    }

    /// `rsm_memseg_import_getv` with C-style entries; see [`getv`](Self::getv).
    ///
    /// # Safety
    /// Every `Addr` entry must be valid for writing `local_offset + len` bytes, and no
    /// memory written (through an address or a handle) may be accessed by anything else
    /// during the call.
    #[allow(unsafe_code)]
    pub unsafe fn getv_raw(&self, iov: &[RawIo<'_>], flags: u32) -> Result<(), SgioError> {
        const OP: &str = "import_getv";
        let sh = &*self.sh;
        sh.sg_run(OP, iov.len(), flags, PERM_READ, |i, implicit| {
            let e = iov[i];
            match e.local {
                RawLocal::Addr(p) => {
                    let p = raw_local(OP, i, p, e.local_offset, e.len)?;
                    // The remote range bounds `len` before a slice of that length exists.
                    let o = sh.remote_bounds(OP, e.remote_offset, e.len)?;
                    // SAFETY: non-null, no wrap-around, `len` ≤ the segment size (checked
                    // above); the caller guarantees the range is writable and unshared.
                    let dst = unsafe { std::slice::from_raw_parts_mut(p, e.len) };
                    sh.transfer_get(OP, implicit, o, dst, 1)
                }
                RawLocal::Handle(h) => {
                    h.check(OP, e.local_offset, e.len)?;
                    // SAFETY: the caller guarantees nothing else uses the handle's memory
                    // during the call; bounds were checked above.
                    let all = unsafe { h.mem.slice_mut() };
                    let dst = &mut all[e.local_offset..e.local_offset + e.len];
                    sh.sg_get(OP, implicit, e.remote_offset, dst)
                }
            }
        })
    }
}
