//! A mapped address range and the only code that dereferences it.
//!
//! A [`Region`] is either a mapping rsm-core made (unmapped when the `Region` drops) or a
//! caller's range exported in place (never unmapped by us). Every access method checks
//! its bounds and returns `false`/`None` instead of touching memory outside the range, so
//! a validation bug elsewhere cannot become memory corruption.
//!
//! The memory is shared with other processes that write it concurrently. Bulk copies use
//! `memmove`; typed items use volatile native-size loads/stores; words used for
//! synchronisation are exposed as atomics. None of this memory is ever handed out as a
//! Rust reference to plain data.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32, AtomicU64};

/// A mapped range of `len` bytes at `ptr`.
#[derive(Debug)]
pub(crate) struct Region {
    ptr: NonNull<u8>,
    len: usize,
    /// `true`: rsm-core created the mapping and unmaps it on drop.
    owned: bool,
}

// SAFETY: the region is process memory reachable from any thread; all access goes through
// raw copies, volatile item accesses or atomics, never through Rust references to plain
// data, so sharing the pointer between threads cannot create a data race in Rust's sense
// beyond what the concurrent writers of shared memory do anyway.
unsafe impl Send for Region {}
// SAFETY: see `Send`.
unsafe impl Sync for Region {}

/// Protection for a readable (and, with `writable`, writable) mapping.
pub(crate) fn prot(writable: bool) -> libc::c_int {
    if writable {
        libc::PROT_READ | libc::PROT_WRITE
    } else {
        libc::PROT_READ
    }
}

impl Region {
    /// Maps `len` bytes of `fd` from file offset `off`, shared. `addr` is a hint, or with
    /// `fixed` the exact address (the caller guarantees replacing what is there is fine —
    /// see [`Region::map_fixed`]).
    pub(crate) fn map_shared(
        fd: &OwnedFd,
        off: u64,
        len: usize,
        writable: bool,
    ) -> io::Result<Region> {
        // SAFETY: a null address lets the kernel choose a free range; nothing is replaced.
        unsafe { Region::map_at(fd, off, len, prot(writable), ptr::null_mut(), false) }
    }

    /// Maps `len` bytes of `fd` at `addr` with protection `prot` (`PROT_*` bits): `addr` is a
    /// hint, or with `fixed` the exact address.
    ///
    /// # Safety
    /// With `fixed`, the range `addr..addr+len` must be memory the caller owns and no Rust
    /// reference may point into it (its old contents are replaced).
    pub(crate) unsafe fn map_at(
        fd: &OwnedFd,
        off: u64,
        len: usize,
        prot: libc::c_int,
        addr: *mut u8,
        fixed: bool,
    ) -> io::Result<Region> {
        let mut flags = libc::MAP_SHARED;
        if fixed {
            flags |= libc::MAP_FIXED;
        }
        // SAFETY: mapping a file range; the caller vouches for `addr` when `fixed`.
        let p = unsafe {
            libc::mmap(
                addr.cast(),
                len,
                prot,
                flags,
                fd.as_raw_fd(),
                off as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Region {
            ptr: NonNull::new(p.cast()).ok_or_else(|| io::Error::other("mmap returned null"))?,
            len,
            owned: true,
        })
    }

    /// Fresh private zeroed memory of `len` bytes (page aligned).
    pub(crate) fn anon(len: usize) -> io::Result<Region> {
        // SAFETY: a fresh anonymous mapping where the kernel chooses; nothing is replaced.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Region {
            ptr: NonNull::new(p.cast()).ok_or_else(|| io::Error::other("mmap returned null"))?,
            len,
            owned: true,
        })
    }

    /// The whole range as a byte slice.
    ///
    /// # Safety
    /// Only for private memory (never shared with another process): nobody may write the
    /// range while the slice lives.
    pub(crate) unsafe fn slice(&self) -> &[u8] {
        // SAFETY: mapped for `len` bytes while `self` lives; exclusivity is the caller's.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The whole range as a mutable byte slice.
    ///
    /// # Safety
    /// Only for private memory: no other reference to the range may exist while the slice
    /// lives.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn slice_mut(&self) -> &mut [u8] {
        // SAFETY: mapped for `len` bytes while `self` lives; exclusivity is the caller's.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Wraps a caller's range that rsm-core must never unmap.
    ///
    /// # Safety
    /// `ptr..ptr+len` must stay mapped (by the caller) for as long as this `Region` and
    /// every clone of an `Arc` holding it exist.
    pub(crate) unsafe fn borrowed(ptr: NonNull<u8>, len: usize) -> Region {
        Region {
            ptr,
            len,
            owned: false,
        }
    }

    /// Maps `fd` (from file offset `off`) over this very range, shared (`MAP_FIXED`).
    pub(crate) fn map_fixed(&self, fd: &OwnedFd, off: u64, writable: bool) -> io::Result<()> {
        // SAFETY: the range is ours (a Region); replacing its pages with another shared
        // mapping keeps every address valid, so concurrent accessors see old or new pages.
        let p = unsafe {
            libc::mmap(
                self.ptr.as_ptr().cast(),
                self.len,
                prot(writable),
                libc::MAP_SHARED | libc::MAP_FIXED,
                fd.as_raw_fd(),
                off as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Cuts this range loose from whatever file backs it: afterwards it is private
    /// anonymous memory at the same address (so stale users neither fault nor reach the
    /// file). With `preserve`, the current contents are kept (one copy); otherwise the
    /// range reads as zeros.
    pub(crate) fn detach(&self, preserve: bool) -> io::Result<()> {
        let anon = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        if !preserve {
            // SAFETY: the range is ours; MAP_FIXED swaps the pages atomically with respect
            // to other threads, which keep seeing mapped memory.
            let p = unsafe {
                libc::mmap(
                    self.ptr.as_ptr().cast(),
                    self.len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    anon | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            return if p == libc::MAP_FAILED {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            };
        }
        // SAFETY: a fresh anonymous mapping somewhere the kernel chooses.
        let tmp = unsafe {
            libc::mmap(
                ptr::null_mut(),
                self.len,
                libc::PROT_READ | libc::PROT_WRITE,
                anon,
                -1,
                0,
            )
        };
        if tmp == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both ranges are mapped, `len` bytes long, and distinct mappings.
        unsafe { ptr::copy_nonoverlapping(self.ptr.as_ptr(), tmp.cast::<u8>(), self.len) };
        // SAFETY: moves the private copy onto our range (atomically replacing it).
        let p = unsafe {
            libc::mremap(
                tmp,
                self.len,
                self.len,
                libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
                self.ptr.as_ptr().cast::<libc::c_void>(),
            )
        };
        if p == libc::MAP_FAILED {
            let e = io::Error::last_os_error();
            // SAFETY: `tmp` is our own temporary mapping.
            unsafe { libc::munmap(tmp, self.len) };
            return Err(e);
        }
        Ok(())
    }

    /// Whether rsm-core made this mapping (and unmaps it on drop).
    pub(crate) fn is_owned(&self) -> bool {
        self.owned
    }

    /// Start address.
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    fn fits(&self, off: usize, len: usize) -> bool {
        off <= self.len && len <= self.len - off
    }

    /// Copies `src` to `off`. `false` (nothing written) if out of range.
    #[inline(always)]
    pub(crate) fn write(&self, off: usize, src: &[u8]) -> bool {
        if !self.fits(off, src.len()) {
            return false;
        }
        // SAFETY: `off..off+len` lies inside the mapped range (checked above); `src` is a
        // valid slice; `ptr::copy` tolerates overlap.
        unsafe { ptr::copy(src.as_ptr(), self.ptr.as_ptr().add(off), src.len()) };
        true
    }

    /// Copies from `off` into `dst`. `false` (nothing read) if out of range.
    #[inline(always)]
    pub(crate) fn read(&self, off: usize, dst: &mut [u8]) -> bool {
        if !self.fits(off, dst.len()) {
            return false;
        }
        // SAFETY: in range (checked above); `dst` is a valid writable slice.
        unsafe { ptr::copy(self.ptr.as_ptr().add(off), dst.as_mut_ptr(), dst.len()) };
        true
    }

    /// Stores the items of `src` (native-endian, `item` = 2, 4 or 8 bytes each) one by one
    /// with native-size stores. `off` must be `item`-aligned. `false` if out of range or
    /// misaligned.
    pub(crate) fn write_items(&self, off: usize, src: &[u8], item: usize) -> bool {
        if item == 1 {
            return self.write(off, src);
        }
        if !self.fits(off, src.len())
            || !off.is_multiple_of(item)
            || !src.len().is_multiple_of(item)
        {
            return false;
        }
        let base = self.ptr.as_ptr().wrapping_add(off);
        for (i, c) in src.chunks_exact(item).enumerate() {
            let at = base.wrapping_add(i * item);
            // SAFETY: `at` is inside the range and `item`-aligned (the mapping is page
            // aligned and `off` is a multiple of `item`).
            unsafe {
                match item {
                    2 => ptr::write_volatile(at.cast::<u16>(), u16::from_ne_bytes([c[0], c[1]])),
                    4 => ptr::write_volatile(
                        at.cast::<u32>(),
                        u32::from_ne_bytes(c.try_into().unwrap_or_default()),
                    ),
                    _ => ptr::write_volatile(
                        at.cast::<u64>(),
                        u64::from_ne_bytes(c.try_into().unwrap_or_default()),
                    ),
                }
            }
        }
        true
    }

    /// Loads items into `dst` one by one with native-size loads (see [`write_items`]).
    ///
    /// [`write_items`]: Region::write_items
    pub(crate) fn read_items(&self, off: usize, dst: &mut [u8], item: usize) -> bool {
        if item == 1 {
            return self.read(off, dst);
        }
        if !self.fits(off, dst.len())
            || !off.is_multiple_of(item)
            || !dst.len().is_multiple_of(item)
        {
            return false;
        }
        let base = self.ptr.as_ptr().wrapping_add(off);
        for (i, c) in dst.chunks_exact_mut(item).enumerate() {
            let at = base.wrapping_add(i * item);
            // SAFETY: `at` is inside the range and `item`-aligned (see write_items).
            unsafe {
                match item {
                    2 => c.copy_from_slice(&ptr::read_volatile(at.cast::<u16>()).to_ne_bytes()),
                    4 => c.copy_from_slice(&ptr::read_volatile(at.cast::<u32>()).to_ne_bytes()),
                    _ => c.copy_from_slice(&ptr::read_volatile(at.cast::<u64>()).to_ne_bytes()),
                }
            }
        }
        true
    }

    /// The 8-byte word at `off` as an atomic; `None` if misaligned or out of range.
    #[inline(always)]
    pub(crate) fn atomic_u64(&self, off: usize) -> Option<&AtomicU64> {
        if !off.is_multiple_of(8) || !self.fits(off, 8) {
            return None;
        }
        // SAFETY: in range, 8-aligned (page-aligned base), and the mapping lives as long
        // as `&self`; other processes access the word only atomically or by plain stores,
        // which the hardware makes atomic at this size and alignment.
        Some(unsafe { AtomicU64::from_ptr(self.ptr.as_ptr().add(off).cast()) })
    }

    /// The 4-byte word at `off` as an atomic; `None` if misaligned or out of range.
    #[inline]
    pub(crate) fn atomic_u32(&self, off: usize) -> Option<&AtomicU32> {
        if !off.is_multiple_of(4) || !self.fits(off, 4) {
            return None;
        }
        // SAFETY: as for `atomic_u64`, with 4-byte size and alignment.
        Some(unsafe { AtomicU32::from_ptr(self.ptr.as_ptr().add(off).cast()) })
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: we created this mapping and nobody can use it any more (`&mut self`).
            unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(len: usize) -> Region {
        Region::anon(len).unwrap()
    }

    #[test]
    fn bounds_are_enforced() {
        let r = anon(4096);
        assert!(r.write(4088, &[1; 8]));
        assert!(!r.write(4089, &[1; 8]));
        assert!(!r.write(usize::MAX, &[1]));
        let mut b = [0u8; 8];
        assert!(r.read(4088, &mut b));
        assert_eq!(b, [1; 8]);
        assert!(!r.read(4090, &mut b));
        assert!(r.atomic_u64(4088).is_some());
        assert!(r.atomic_u64(4092).is_none());
        assert!(r.atomic_u64(4).is_none());
        assert!(r.atomic_u32(4092).is_some());
        assert!(r.atomic_u32(4094).is_none());
    }

    #[test]
    fn items_round_trip() {
        let r = anon(4096);
        let src: Vec<u8> = (0..32u8).collect();
        for item in [1, 2, 4, 8] {
            assert!(r.write_items(64, &src, item));
            let mut dst = vec![0u8; 32];
            assert!(r.read_items(64, &mut dst, item));
            assert_eq!(dst, src);
        }
        assert!(!r.write_items(66, &src, 4));
        assert!(!r.write_items(4080, &src, 8));
    }

    #[test]
    fn detach_preserves_or_zeroes() {
        let r = anon(8192);
        assert!(r.write(100, b"hello"));
        r.detach(true).unwrap();
        let mut b = [0u8; 5];
        assert!(r.read(100, &mut b));
        assert_eq!(&b, b"hello");
        r.detach(false).unwrap();
        assert!(r.read(100, &mut b));
        assert_eq!(b, [0; 5]);
    }
}
