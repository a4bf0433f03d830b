//! The control page (page 0 of every data file). Written only by the exporter; importers
//! map it read-only. Every field is an atomic so both sides access it without data races.

use std::mem::offset_of;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::sys::region::Region;
use crate::types::AccessEntry;

/// "RSMSHM" + NUL + layout generation byte.
pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"RSMSHM\0\x01");
/// Layout version; an importer refuses any other (`BadDriverVersion`).
pub(crate) const LAYOUT_VERSION: u32 = 1;

/// Control flag: created with `RSM_ALLOW_REBIND`.
pub(crate) const FLAG_ALLOW_REBIND: u32 = 0x1;
/// Control flag: created with `RSM_LOCK_OPS`.
pub(crate) const FLAG_LOCKS: u32 = 0x2;

/// `generation` of a file that was never published.
pub(crate) const GEN_FRESH: u64 = 0;
/// `generation` while the file is the published segment.
pub(crate) const GEN_PUBLISHED: u64 = 1;
/// `generation` once unpublished or destroyed: importers get `ConnAborted`.
pub(crate) const GEN_REVOKED: u64 = 2;

const FIFO_NAME_MAX: usize = 120;

#[repr(C)]
pub(crate) struct CtlPage {
    pub magic: AtomicU64,
    pub version: AtomicU32,
    pub flags: AtomicU32,
    pub segid: AtomicU32,
    pub node_id: AtomicU32,
    pub data_offset: AtomicU64,
    pub data_size: AtomicU64,
    pub owner_pid: AtomicU32,
    pub owner_uid: AtomicU32,
    pub owner_gid: AtomicU32,
    pub create_mode: AtomicU32,
    pub owner_start: AtomicU64,
    /// Own cache line: read by importers on every transfer, written twice per file.
    pub generation: AtomicU64,
    _pad1: [u64; 7],
    /// Seqlock over `acl_len`/`acl` (odd while the exporter rewrites them).
    pub acl_seq: AtomicU32,
    pub acl_len: AtomicU32,
    pub acl: [AtomicU32; 128],
    pub fifo_len: AtomicU32,
    pub fifo: [AtomicU8; FIFO_NAME_MAX],
}

const _: () = assert!(std::mem::size_of::<CtlPage>() <= 4096);
const _: () = assert!(offset_of!(CtlPage, generation) == 64);

/// Byte offsets for readers that `pread` the page instead of mapping it (the sweep).
pub(crate) const OFF_MAGIC: usize = offset_of!(CtlPage, magic);
pub(crate) const OFF_VERSION: usize = offset_of!(CtlPage, version);
pub(crate) const OFF_PID: usize = offset_of!(CtlPage, owner_pid);
pub(crate) const OFF_START: usize = offset_of!(CtlPage, owner_start);
pub(crate) const HEADER_LEN: usize = offset_of!(CtlPage, generation) + 8;

impl CtlPage {
    /// The control page at the start of `r` (which must be at least a page long).
    pub(crate) fn of(r: &Region) -> &CtlPage {
        debug_assert!(r.len() >= std::mem::size_of::<CtlPage>());
        // SAFETY: every caller passes its mapping of page 0 of a data file: page aligned,
        // one page long (≥ 4096 ≥ the struct size, asserted at compile time above; the
        // debug assertion re-checks the length), and alive as long as the returned
        // reference (it borrows the region). Every field is an
        // atomic, so shared access from several processes is sound, and atomic loads of
        // these sizes are plain loads that also work on a read-only mapping.
        unsafe { &*(r.as_ptr() as *const CtlPage) }
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn write_acl(&self, acl: &[AccessEntry]) {
        let s = self.acl_seq.load(Ordering::Relaxed);
        self.acl_seq.store(s.wrapping_add(1), Ordering::Relaxed);
        std::sync::atomic::fence(Ordering::Release);
        self.acl_len.store(acl.len() as u32, Ordering::Relaxed);
        for (i, e) in acl.iter().take(64).enumerate() {
            self.acl[2 * i].store(e.ae_node, Ordering::Relaxed);
            self.acl[2 * i + 1].store(e.ae_permission, Ordering::Relaxed);
        }
        self.acl_seq.store(s.wrapping_add(2), Ordering::Release);
    }

    /// A consistent copy of the access list, or `None` if the exporter's rewrite did not
    /// finish within `patience` (an exporter stopped or killed in the middle of a
    /// republish must not make importers spin forever).
    pub(crate) fn read_acl(&self, patience: Duration) -> Option<Vec<AccessEntry>> {
        let start = Instant::now();
        let mut round = 0u32;
        loop {
            let s1 = self.acl_seq.load(Ordering::Acquire);
            if s1.is_multiple_of(2) {
                let n = (self.acl_len.load(Ordering::Relaxed) as usize).min(64);
                let v: Vec<AccessEntry> = (0..n)
                    .map(|i| {
                        AccessEntry::new(
                            self.acl[2 * i].load(Ordering::Relaxed),
                            self.acl[2 * i + 1].load(Ordering::Relaxed),
                        )
                    })
                    .collect();
                std::sync::atomic::fence(Ordering::Acquire);
                if self.acl_seq.load(Ordering::Relaxed) == s1 {
                    return Some(v);
                }
            }
            // A rewrite takes nanoseconds unless its writer was descheduled: spin a
            // little, then yield, then sleep, until `patience` is used up.
            round = round.saturating_add(1);
            if round < 64 {
                std::hint::spin_loop();
            } else if round < 128 {
                std::thread::yield_now();
            } else {
                if start.elapsed() >= patience {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    pub(crate) fn write_fifo_name(&self, name: &str) {
        let b = name.as_bytes();
        let n = b.len().min(FIFO_NAME_MAX);
        for (i, c) in b[..n].iter().enumerate() {
            self.fifo[i].store(*c, Ordering::Relaxed);
        }
        self.fifo_len.store(n as u32, Ordering::Release);
    }

    pub(crate) fn fifo_name(&self) -> String {
        let n = (self.fifo_len.load(Ordering::Acquire) as usize).min(FIFO_NAME_MAX);
        let b: Vec<u8> = (0..n)
            .map(|i| self.fifo[i].load(Ordering::Relaxed))
            .collect();
        String::from_utf8_lossy(&b).into_owned()
    }
}

/// Longest FIFO name the page can hold.
#[cfg(test)]
pub(crate) const fn fifo_name_max() -> usize {
    FIFO_NAME_MAX
}
