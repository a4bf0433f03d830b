//! [`MemView`]: safe, bounds-checked access to mapped segment memory (an import mapping
//! or the exporter's own memory).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::error::{ErrorKind, Result, RsmError, err};
use crate::sys::{self, region::Region};

/// A window onto mapped segment memory that other processes read and write concurrently.
///
/// Every access is bounds checked ([`ErrorKind::BadOffset`] / [`ErrorKind::BadLength`]),
/// alignment checked ([`ErrorKind::BadMemAlignment`]) and permission checked
/// ([`ErrorKind::PermDenied`] for a write through a read-only mapping or a read through a
/// write-only one); nothing here can fault or touch memory outside the window.
///
/// The memory stays mapped as long as the view lives, even after `unmap`, `disconnect`,
/// `unpublish` or `destroy`: from then on the view reads and writes private memory that
/// reaches nobody.
///
/// Words used for synchronisation should be accessed atomically ([`load_u64`],
/// [`atomic_u64`], ...); [`read`]/[`write`] are plain copies.
///
/// [`load_u64`]: MemView::load_u64
/// [`atomic_u64`]: MemView::atomic_u64
/// [`read`]: MemView::read
/// [`write`]: MemView::write
#[derive(Clone, Debug)]
pub struct MemView {
    region: Arc<Region>,
    len: usize,
    readable: bool,
    writable: bool,
}

#[inline]
fn load_order(o: Ordering) -> Ordering {
    match o {
        Ordering::Release | Ordering::AcqRel => Ordering::SeqCst,
        o => o,
    }
}

#[inline]
fn store_order(o: Ordering) -> Ordering {
    match o {
        Ordering::Acquire | Ordering::AcqRel => Ordering::SeqCst,
        o => o,
    }
}

impl MemView {
    pub(crate) fn new(region: Arc<Region>, len: usize, readable: bool, writable: bool) -> MemView {
        let len = len.min(region.len());
        MemView {
            region,
            len,
            readable,
            writable,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the view is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether loads are allowed.
    pub fn is_readable(&self) -> bool {
        self.readable
    }

    /// Whether stores are allowed.
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// Checks a `size`-byte word access at `off` (alignment, bounds, permission).
    #[inline(always)]
    fn word(
        &self,
        op: &'static str,
        off: usize,
        size: usize,
        read: bool,
        write: bool,
    ) -> Result<()> {
        let ok = off.is_multiple_of(size) && self.fits(off, size) && self.permits(read, write);
        if ok {
            Ok(())
        } else {
            Err(self.word_error(op, off, size, read, write))
        }
    }

    #[cold]
    #[inline(never)]
    fn word_error(
        &self,
        op: &'static str,
        off: usize,
        size: usize,
        read: bool,
        write: bool,
    ) -> RsmError {
        if !off.is_multiple_of(size) {
            return err(
                ErrorKind::BadMemAlignment,
                op,
                format!("offset {off} is not a multiple of {size}"),
            );
        }
        if !self.fits(off, size) {
            return err(
                ErrorKind::BadOffset,
                op,
                format!(
                    "offset {off} + {size} is outside the {}-byte view",
                    self.len
                ),
            );
        }
        self.perm_error(op, read, write)
    }

    /// Whether `len` bytes at `off` lie inside the view.
    #[inline(always)]
    fn fits(&self, off: usize, len: usize) -> bool {
        off <= self.len && len <= self.len - off
    }

    /// Whether the view allows the access (`read`: loads, `write`: stores).
    #[inline(always)]
    fn permits(&self, read: bool, write: bool) -> bool {
        (!read || self.readable) && (!write || self.writable)
    }

    #[cold]
    #[inline(never)]
    fn perm_error(&self, op: &'static str, read: bool, write: bool) -> RsmError {
        if read && !self.readable {
            err(ErrorKind::PermDenied, op, "the view is not readable")
        } else if write && !self.writable {
            err(ErrorKind::PermDenied, op, "the view is not writable")
        } else {
            Self::internal(op)
        }
    }

    /// Checks a `len`-byte copy at `off` (bounds, then permission).
    #[inline(always)]
    fn span(
        &self,
        op: &'static str,
        off: usize,
        len: usize,
        read: bool,
        write: bool,
    ) -> Result<()> {
        let ok = self.fits(off, len) && self.permits(read, write);
        if ok {
            Ok(())
        } else {
            Err(self.span_error(op, off, len, read, write))
        }
    }

    #[cold]
    #[inline(never)]
    fn span_error(
        &self,
        op: &'static str,
        off: usize,
        len: usize,
        read: bool,
        write: bool,
    ) -> RsmError {
        if off > self.len {
            return err(
                ErrorKind::BadOffset,
                op,
                format!("offset {off} is beyond the {}-byte view", self.len),
            );
        }
        if len > self.len - off {
            return err(
                ErrorKind::BadLength,
                op,
                format!("{len} bytes at {off} exceed the {}-byte view", self.len),
            );
        }
        self.perm_error(op, read, write)
    }

    #[cold]
    #[inline(never)]
    fn internal(op: &'static str) -> RsmError {
        err(
            ErrorKind::InternalError,
            op,
            "view range check disagrees with the mapping",
        )
    }

    /// Loads the `u64` at `off` (8-aligned). A store-only ordering is strengthened to
    /// `SeqCst`.
    #[inline(always)]
    pub fn load_u64(&self, off: usize, order: Ordering) -> Result<u64> {
        self.word("view_load", off, 8, true, false)?;
        let w = self
            .region
            .atomic_u64(off)
            .ok_or_else(|| Self::internal("view_load"))?;
        Ok(w.load(load_order(order)))
    }

    /// Stores `v` into the `u64` at `off` (8-aligned). A load-only ordering is
    /// strengthened to `SeqCst`.
    #[inline(always)]
    pub fn store_u64(&self, off: usize, v: u64, order: Ordering) -> Result<()> {
        self.word("view_store", off, 8, false, true)?;
        let w = self
            .region
            .atomic_u64(off)
            .ok_or_else(|| Self::internal("view_store"))?;
        w.store(v, store_order(order));
        Ok(())
    }

    /// Loads the `u32` at `off` (4-aligned).
    #[inline]
    pub fn load_u32(&self, off: usize, order: Ordering) -> Result<u32> {
        self.word("view_load", off, 4, true, false)?;
        let w = self
            .region
            .atomic_u32(off)
            .ok_or_else(|| Self::internal("view_load"))?;
        Ok(w.load(load_order(order)))
    }

    /// Stores `v` into the `u32` at `off` (4-aligned).
    #[inline]
    pub fn store_u32(&self, off: usize, v: u32, order: Ordering) -> Result<()> {
        self.word("view_store", off, 4, false, true)?;
        let w = self
            .region
            .atomic_u32(off)
            .ok_or_else(|| Self::internal("view_store"))?;
        w.store(v, store_order(order));
        Ok(())
    }

    /// The `u64` at `off` (8-aligned) as an atomic, for `fetch_add`, `compare_exchange`,
    /// ... Needs a readable and writable view.
    #[inline]
    pub fn atomic_u64(&self, off: usize) -> Result<&AtomicU64> {
        self.word("view_atomic", off, 8, true, true)?;
        self.region
            .atomic_u64(off)
            .ok_or_else(|| Self::internal("view_atomic"))
    }

    /// The `u32` at `off` (4-aligned) as an atomic. Needs a readable and writable view.
    #[inline]
    pub fn atomic_u32(&self, off: usize) -> Result<&AtomicU32> {
        self.word("view_atomic", off, 4, true, true)?;
        self.region
            .atomic_u32(off)
            .ok_or_else(|| Self::internal("view_atomic"))
    }

    /// Copies `dst.len()` bytes from `off` into `dst`.
    #[inline(always)]
    pub fn read(&self, off: usize, dst: &mut [u8]) -> Result<()> {
        self.span("view_read", off, dst.len(), true, false)?;
        if self.region.read(off, dst) {
            Ok(())
        } else {
            Err(Self::internal("view_read"))
        }
    }

    /// Copies `src` to `off`.
    #[inline(always)]
    pub fn write(&self, off: usize, src: &[u8]) -> Result<()> {
        self.span("view_write", off, src.len(), false, true)?;
        if self.region.write(off, src) {
            Ok(())
        } else {
            Err(Self::internal("view_write"))
        }
    }

    /// Sleeps while the `u32` at `off` (4-aligned) holds `expected`, until
    /// [`futex_wake`](MemView::futex_wake) from any process sharing the memory, or the
    /// timeout. Returns `Ok(false)` on timeout, `Ok(true)` otherwise (including spurious
    /// wake-ups and a value that already differed). [`ErrorKind::Interrupted`] if a signal
    /// interrupted the sleep.
    pub fn futex_wait(&self, off: usize, expected: u32, timeout: Option<Duration>) -> Result<bool> {
        const OP: &str = "view_futex_wait";
        self.word(OP, off, 4, true, false)?;
        let w = self
            .region
            .atomic_u32(off)
            .ok_or_else(|| Self::internal(OP))?;
        sys::futex_wait(w, expected, timeout).map_err(|e| {
            let kind = if e.raw_os_error() == Some(libc::EINTR) {
                ErrorKind::Interrupted
            } else {
                ErrorKind::BadArgsErrors
            };
            RsmError::os(kind, OP, "futex", &e)
        })
    }

    /// Wakes up to `n` sleepers of [`futex_wait`](MemView::futex_wait) on the `u32` at
    /// `off`; returns how many were woken.
    pub fn futex_wake(&self, off: usize, n: u32) -> Result<usize> {
        const OP: &str = "view_futex_wake";
        self.word(OP, off, 4, false, false)?;
        let w = self
            .region
            .atomic_u32(off)
            .ok_or_else(|| Self::internal(OP))?;
        sys::futex_wake(w, n).map_err(|e| RsmError::os(ErrorKind::BadArgsErrors, OP, "futex", &e))
    }

    /// The start address of the view — the escape hatch for code that must use raw
    /// pointers (SIMD reductions, C interop).
    ///
    /// # Safety
    /// The pointer is valid for `self.len()` bytes only while this view (or a clone) is
    /// alive. The memory is shared with other processes: never create `&`/`&mut`
    /// references to it that assume nobody else writes; use raw or volatile accesses or
    /// atomics. Writes require [`is_writable`](MemView::is_writable), reads
    /// [`is_readable`](MemView::is_readable) (a violation can fault).
    #[allow(unsafe_code)]
    pub unsafe fn as_mut_ptr(&self) -> *mut u8 {
        self.region.as_ptr()
    }
}
