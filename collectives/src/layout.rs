//! The per-rank collective segment: region offsets, the flag-line format, sequence stamps
//! and the header — pure arithmetic, identical on every rank (so a rank computes offsets in a
//! peer's segment with its own [`Layout`]). docs/collectives.md "Segment layout" explains
//! who writes what and when.
//!
//! ```text
//! block 0                 HEADER        owner, at creation           magic, version, geometry
//! block 1                 STATE         owner                        DONE seq, FAILED word
//! block 2                 READY         owner                        stream bytes published
//! block 3                 REDUCED       owner                        stamp: two-shot results
//! blocks 4 ..             OUT[2][S]     owner                        ARRIVE / RELEASE lines
//!        ..               IN[P][S]      one named sender each        pushed lines
//!        ..               CREDIT[P]     one named peer each          stream bytes released /
//!                                                                    landing slots consumed
//!        ..               LANDSTAMP[P]  one named sender each        landing slots written
//!        ..               SLEEP[P]      one named peer each, packed  sleep announcements
//! page-aligned            CELLS[NC]     owner (map path)             staging cells
//! page-aligned            LAND[P][NL]   one named sender each (put)  landing slots
//! ```
//!
//! `S` = [`LINE_SLOTS`] rotating line slots (by `seq % S`), `B` = the block size (128 B by
//! default, one flag per block against adjacent-line prefetch).

use core::fmt;
use core::ops::Range;

use crate::algo::Path;

/// `b"RSMCOLL1"` as a little-endian word.
pub const MAGIC: u64 = u64::from_le_bytes(*b"RSMCOLL1");
/// Layout version; bump on any change of this module's arithmetic.
pub const LAYOUT_VERSION: u64 = 1;
/// Cache line size assumed for line formats.
pub const LINE: usize = 64;
/// Page size used for aligning bulk regions.
pub const PAGE: usize = 4096;
/// Inline payload bytes of one flag line (6 words).
pub const INLINE_MAX: usize = 48;
/// Words of inline payload in a line.
pub const INLINE_WORDS: usize = INLINE_MAX / 8;
/// Word index of the line header (`len | kind | alg | flags`).
pub const LINE_HEADER_WORD: usize = 6;
/// Word index of the line's sequence word (stored last, with Release).
pub const LINE_SEQ_WORD: usize = 7;
/// Rotating slots of every OUT and IN line.
pub const LINE_SLOTS: usize = 4;
/// Bytes of the header line at the start of every landing slot.
pub const LAND_HEADER: usize = LINE;
/// Words in the header block.
pub const HEADER_WORDS: usize = 16;
/// Bits of the step part of a stamp.
pub const STEP_BITS: u32 = 20;
/// Largest step; `stamp(seq, STEP_DONE)` means "all of op `seq`".
pub const STEP_DONE: u64 = (1 << STEP_BITS) - 1;
/// Largest sequence number a stamp can hold (2^44 - 1: no wrap in practice).
pub const SEQ_MAX: u64 = (1 << (64 - STEP_BITS)) - 1;
/// Largest communicator size a layout supports.
pub const MAX_RANKS: usize = 1 << 16;

/// Errors of this module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// A parameter out of its range.
    Param {
        /// Which parameter.
        what: &'static str,
        /// Its value.
        value: u64,
        /// What is allowed.
        allowed: &'static str,
    },
    /// An index (rank, slot, cell) out of range.
    Index {
        /// What kind of index.
        what: &'static str,
        /// The index.
        index: usize,
        /// The number of valid indices.
        len: usize,
    },
    /// The segment would exceed the address space.
    TooLarge,
    /// A peer's header does not match what this rank expects.
    Header {
        /// Which field.
        field: &'static str,
        /// The value found.
        found: u64,
        /// The value expected.
        expected: u64,
    },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::Param {
                what,
                value,
                allowed,
            } => write!(f, "{what} = {value} is invalid (allowed: {allowed})"),
            LayoutError::Index { what, index, len } => {
                write!(f, "{what} {index} out of range (0..{len})")
            }
            LayoutError::TooLarge => f.write_str("collective segment size overflows"),
            LayoutError::Header {
                field,
                found,
                expected,
            } => write!(
                f,
                "peer segment header: {field} is {found:#x}, expected {expected:#x}"
            ),
        }
    }
}

impl std::error::Error for LayoutError {}

/// `seq << STEP_BITS | step`: a monotonic 64-bit progress value (later op, or later step of the
/// same op, is larger). Flags are compared with `>=`, never reset.
pub fn stamp(seq: u64, step: u64) -> Result<u64, LayoutError> {
    if seq > SEQ_MAX {
        return Err(LayoutError::Param {
            what: "seq",
            value: seq,
            allowed: "0 ..= 2^44-1",
        });
    }
    if step > STEP_DONE {
        return Err(LayoutError::Param {
            what: "step",
            value: step,
            allowed: "0 ..= 2^20-1",
        });
    }
    Ok(seq << STEP_BITS | step)
}

/// The (seq, step) of a stamp.
pub fn stamp_parts(s: u64) -> (u64, u64) {
    (s >> STEP_BITS, s & STEP_DONE)
}

/// Packs up to [`INLINE_MAX`] bytes into the six payload words of a line (little-endian,
/// zero-padded).
pub fn pack_inline(bytes: &[u8]) -> Result<[u64; INLINE_WORDS], LayoutError> {
    if bytes.len() > INLINE_MAX {
        return Err(LayoutError::Param {
            what: "inline payload bytes",
            value: bytes.len() as u64,
            allowed: "0 ..= 48",
        });
    }
    let mut words = [0u64; INLINE_WORDS];
    for (w, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        *w = u64::from_le_bytes(b);
    }
    Ok(words)
}

/// Unpacks the first `out.len()` (≤ 48) bytes of a line's payload words.
pub fn unpack_inline(words: &[u64; INLINE_WORDS], out: &mut [u8]) -> Result<(), LayoutError> {
    if out.len() > INLINE_MAX {
        return Err(LayoutError::Param {
            what: "inline payload bytes",
            value: out.len() as u64,
            allowed: "0 ..= 48",
        });
    }
    for (chunk, w) in out.chunks_mut(8).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes()[..chunk.len()]);
    }
    Ok(())
}

/// Line flag: the payload is inline in the line.
pub const FLAG_INLINE: u16 = 1;
/// Line flag: the data is in the writer's cells / the reader's landing slots.
pub const FLAG_BULK: u16 = 2;
/// Line flag: the writer failed this op (its STATE.FAILED word says why).
pub const FLAG_FAILED: u16 = 4;

/// The header word of a line (word 6): what the line carries, so a reader can detect a peer
/// that runs a different collective, algorithm or count (a usage error) instead of
/// misreading data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineHeader {
    /// Payload bytes (inline) or message bytes (bulk).
    pub len: u32,
    /// `Collective` index (position in `Collective::ALL`).
    pub kind: u8,
    /// `Algorithm` index (position in `Algorithm::ALL`).
    pub alg: u8,
    /// `FLAG_*` bits.
    pub flags: u16,
}

impl LineHeader {
    /// The header as a word.
    pub fn encode(self) -> u64 {
        u64::from(self.len)
            | u64::from(self.kind) << 32
            | u64::from(self.alg) << 40
            | u64::from(self.flags) << 48
    }

    /// The header of a word.
    pub fn decode(w: u64) -> Self {
        LineHeader {
            len: w as u32,
            kind: (w >> 32) as u8,
            alg: (w >> 40) as u8,
            flags: (w >> 48) as u16,
        }
    }
}

/// The two classes of owner-written lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutClass {
    /// Fan-in / input lines (barrier arrival, one-shot inputs, small gathers).
    Arrive,
    /// Fan-out / result lines (barrier release, broadcast payloads).
    Release,
}

/// The sizes a layout is built from (identical on every rank of a communicator).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayoutParams {
    /// Block size: 64, 128 or 256 bytes.
    pub block: usize,
    /// Bytes per staging cell (map path): a multiple of 4096 in 4 KiB ..= 16 MiB.
    pub cell_bytes: usize,
    /// Number of staging cells (map path): 2 ..= 64.
    pub ncells: usize,
    /// Payload bytes per landing slot (put path): a multiple of 64 in 1 KiB ..= 1 MiB.
    pub land_chunk: usize,
    /// Landing slots per sender (put path): 2 ..= 64.
    pub nland: usize,
}

impl LayoutParams {
    /// Defaults for `p` ranks: 8 cells of 64 KiB (map path); 4 landing slots per sender of
    /// `1 MiB / (4·p)` bytes, clamped to 4 KiB ..= 16 KiB (put path).
    pub fn defaults_for(p: usize) -> Self {
        let per = (1 << 20) / (4 * p.max(1));
        LayoutParams {
            block: 128,
            cell_bytes: 64 * 1024,
            ncells: 8,
            land_chunk: (per / PAGE * PAGE).clamp(4096, 16 * 1024),
            nland: 4,
        }
    }

    /// Checks every parameter's range.
    pub fn validate(&self) -> Result<(), LayoutError> {
        let bad = |what, value: usize, allowed| {
            Err(LayoutError::Param {
                what,
                value: value as u64,
                allowed,
            })
        };
        if !matches!(self.block, 64 | 128 | 256) {
            return bad("block", self.block, "64, 128, 256");
        }
        if !(4096..=16 << 20).contains(&self.cell_bytes) || !self.cell_bytes.is_multiple_of(PAGE) {
            return bad(
                "cell_bytes",
                self.cell_bytes,
                "multiple of 4096 in 4 KiB ..= 16 MiB",
            );
        }
        if !(2..=64).contains(&self.ncells) {
            return bad("ncells", self.ncells, "2 ..= 64");
        }
        if !(1024..=1 << 20).contains(&self.land_chunk) || !self.land_chunk.is_multiple_of(LINE) {
            return bad(
                "land_chunk",
                self.land_chunk,
                "multiple of 64 in 1 KiB ..= 1 MiB",
            );
        }
        if !(2..=64).contains(&self.nland) {
            return bad("nland", self.nland, "2 ..= 64");
        }
        Ok(())
    }
}

/// Offsets of every region of one rank's segment for a communicator of `p` ranks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    p: usize,
    path: Path,
    params: LayoutParams,
    out: usize,
    inbox: usize,
    credit: usize,
    land_stamp: usize,
    sleep: usize,
    cells: usize,
    land: usize,
    total: usize,
}

fn add(a: usize, b: usize) -> Result<usize, LayoutError> {
    a.checked_add(b).ok_or(LayoutError::TooLarge)
}

fn mul(a: usize, b: usize) -> Result<usize, LayoutError> {
    a.checked_mul(b).ok_or(LayoutError::TooLarge)
}

fn round_up(x: usize, to: usize) -> Result<usize, LayoutError> {
    Ok(add(x, to - 1)? / to * to)
}

impl Layout {
    /// The layout for `p` ranks on `path`.
    pub fn new(p: usize, path: Path, params: LayoutParams) -> Result<Self, LayoutError> {
        if p == 0 || p > MAX_RANKS {
            return Err(LayoutError::Param {
                what: "ranks",
                value: p as u64,
                allowed: "1 ..= 65536",
            });
        }
        params.validate()?;
        let b = params.block;
        let out = 4 * b;
        let inbox = add(out, mul(2 * LINE_SLOTS, b)?)?;
        let credit = add(inbox, mul(mul(p, LINE_SLOTS)?, b)?)?;
        let land_stamp = add(credit, mul(p, b)?)?;
        let land_stamp_len = if path == Path::Put { mul(p, b)? } else { 0 };
        let sleep = add(land_stamp, land_stamp_len)?;
        let control_end = add(sleep, round_up(mul(p, 8)?, b)?)?;
        let cells = round_up(control_end, PAGE)?;
        let cells_len = if path == Path::Map {
            mul(params.ncells, params.cell_bytes)?
        } else {
            0
        };
        let land = round_up(add(cells, cells_len)?, PAGE)?;
        let land_len = if path == Path::Put {
            mul(mul(p, params.nland)?, add(LAND_HEADER, params.land_chunk)?)?
        } else {
            0
        };
        let total = round_up(add(land, land_len)?, PAGE)?;
        Ok(Layout {
            p,
            path,
            params,
            out,
            inbox,
            credit,
            land_stamp,
            sleep,
            cells,
            land,
            total,
        })
    }

    /// Communicator size.
    pub fn ranks(&self) -> usize {
        self.p
    }

    /// The data path.
    pub fn path(&self) -> Path {
        self.path
    }

    /// The parameters.
    pub fn params(&self) -> &LayoutParams {
        &self.params
    }

    /// Total segment bytes (a multiple of the page size).
    pub fn total(&self) -> usize {
        self.total
    }

    /// The header block (offset 0, [`HEADER_WORDS`] words).
    pub fn header(&self) -> usize {
        0
    }

    /// The DONE word: seq of the last op this rank completed.
    pub fn done(&self) -> usize {
        self.params.block
    }

    /// The FAILED word: 0, or see [`Failure`].
    pub fn failed(&self) -> usize {
        self.params.block + 8
    }

    /// The READY word (map path): how many bytes of its outgoing stream this rank has
    /// published in its cells since the communicator was created (monotonic; stream byte `x`
    /// lives in cell `(x / cell_bytes) % ncells` at offset `x % cell_bytes`).
    pub fn ready(&self) -> usize {
        2 * self.params.block
    }

    /// The REDUCED word: `stamp(seq, i + 1)` once this rank's two-shot result slice of chunk
    /// `i` is in its cell.
    pub fn reduced(&self) -> usize {
        3 * self.params.block
    }

    fn check(what: &'static str, index: usize, len: usize) -> Result<(), LayoutError> {
        if index < len {
            Ok(())
        } else {
            Err(LayoutError::Index { what, index, len })
        }
    }

    /// The owner-written line of `class` used by op `seq` (slot `seq % LINE_SLOTS`).
    pub fn out_line(&self, class: OutClass, seq: u64) -> usize {
        let c = match class {
            OutClass::Arrive => 0,
            OutClass::Release => 1,
        };
        let slot = (seq % LINE_SLOTS as u64) as usize;
        self.out + (c * LINE_SLOTS + slot) * self.params.block
    }

    /// The line `sender` pushes into this segment for op `seq`.
    pub fn in_line(&self, sender: usize, seq: u64) -> Result<usize, LayoutError> {
        Self::check("sender", sender, self.p)?;
        let slot = (seq % LINE_SLOTS as u64) as usize;
        Ok(self.inbox + (sender * LINE_SLOTS + slot) * self.params.block)
    }

    /// The CREDIT word written by `peer`: on the map path, the stream position below which
    /// `peer` no longer needs this rank's cells; on the put path, how many landing slots of
    /// this rank's messages `peer` has consumed.
    pub fn credit(&self, peer: usize) -> Result<usize, LayoutError> {
        Self::check("peer", peer, self.p)?;
        Ok(self.credit + peer * self.params.block)
    }

    /// The LANDSTAMP word written by `sender` (put path): how many landing slots it has
    /// filled in this segment (slot `m` lives at `land_slot(sender, m % nland)`).
    pub fn land_stamp(&self, sender: usize) -> Result<usize, LayoutError> {
        Self::check("sender", sender, self.p)?;
        if self.path != Path::Put {
            return Err(LayoutError::Index {
                what: "landing stamp (map path has none)",
                index: sender,
                len: 0,
            });
        }
        Ok(self.land_stamp + sender * self.params.block)
    }

    /// The SLEEP word written by `peer`: non-zero while `peer` sleeps waiting for something
    /// this rank publishes.
    pub fn sleep(&self, peer: usize) -> Result<usize, LayoutError> {
        Self::check("peer", peer, self.p)?;
        Ok(self.sleep + peer * 8)
    }

    /// Cell `i` (map path), `i < ncells`.
    pub fn cell(&self, i: usize) -> Result<Range<usize>, LayoutError> {
        if self.path != Path::Map {
            return Err(LayoutError::Index {
                what: "cell (put path has none)",
                index: i,
                len: 0,
            });
        }
        Self::check("cell", i, self.params.ncells)?;
        let start = self.cells + i * self.params.cell_bytes;
        Ok(start..start + self.params.cell_bytes)
    }

    /// Landing slot `i` of `sender` (put path): a [`LAND_HEADER`]-byte header line followed by
    /// `land_chunk` payload bytes.
    pub fn land_slot(&self, sender: usize, i: usize) -> Result<Range<usize>, LayoutError> {
        if self.path != Path::Put {
            return Err(LayoutError::Index {
                what: "landing slot (map path has none)",
                index: i,
                len: 0,
            });
        }
        Self::check("sender", sender, self.p)?;
        Self::check("landing slot", i, self.params.nland)?;
        let slot = LAND_HEADER + self.params.land_chunk;
        let start = self.land + (sender * self.params.nland + i) * slot;
        Ok(start..start + slot)
    }

    /// Rounds a stream position up to the start of the next message (messages start on a
    /// 64-byte line, so copies into and out of cells stay line-aligned).
    pub fn align_message(x: u64) -> u64 {
        x.div_ceil(LINE as u64) * LINE as u64
    }

    /// The segment ranges holding stream bytes `x .. x + len` (map path), split where the
    /// stream crosses from one cell to the next (the ring wraps after `ncells` cells).
    pub fn stream_pieces(&self, x: u64, len: usize) -> Result<Vec<Range<usize>>, LayoutError> {
        if self.path != Path::Map {
            return Err(LayoutError::Index {
                what: "stream (put path has none)",
                index: 0,
                len: 0,
            });
        }
        let cb = self.params.cell_bytes as u64;
        let mut out = Vec::new();
        let mut pos = x;
        let end = x.checked_add(len as u64).ok_or(LayoutError::TooLarge)?;
        while pos < end {
            let cell = ((pos / cb) % self.params.ncells as u64) as usize;
            let within = (pos % cb) as usize;
            let n = (cb as usize - within).min((end - pos) as usize);
            let start = self.cells + cell * self.params.cell_bytes + within;
            out.push(start..start + n);
            pos += n as u64;
        }
        Ok(out)
    }

    /// Landing slots a message of `bytes` payload bytes occupies (put path): at least one (an
    /// empty message is a header-only slot).
    pub fn land_slots_for(&self, bytes: usize) -> usize {
        bytes.div_ceil(self.params.land_chunk).max(1)
    }

    /// The regions as (name, range) pairs, for diagnostics and tests.
    pub fn regions(&self) -> Vec<(&'static str, Range<usize>)> {
        let b = self.params.block;
        let mut v = vec![
            ("header", 0..b),
            ("state", b..2 * b),
            ("ready", 2 * b..3 * b),
            ("reduced", 3 * b..4 * b),
            ("out", self.out..self.inbox),
            ("in", self.inbox..self.credit),
            ("credit", self.credit..self.land_stamp),
            ("land_stamp", self.land_stamp..self.sleep),
            ("sleep", self.sleep..self.sleep + self.p * 8),
        ];
        if self.path == Path::Map {
            v.push((
                "cells",
                self.cells..self.cells + self.params.ncells * self.params.cell_bytes,
            ));
        } else {
            let slot = LAND_HEADER + self.params.land_chunk;
            v.push((
                "land",
                self.land..self.land + self.p * self.params.nland * slot,
            ));
        }
        v
    }
}

/// Why a rank failed an op (its FAILED word: `rank + 1` in the low 32 bits, the reason in the
/// next 8), so that the ranks waiting for it report the rank that actually disappeared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The rank the failure is about (the dead one, or the failing rank itself).
    pub rank: u32,
    /// The reason.
    pub reason: FailReason,
}

/// The reason part of a [`Failure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailReason {
    /// `rank` disappeared (its segment is gone or its process died).
    RankDied = 1,
    /// `rank` timed out waiting.
    Timeout = 2,
    /// `rank` saw a usage mismatch (different collective, algorithm or count).
    Mismatch = 3,
    /// `rank` hit another rsm-core error.
    Error = 4,
}

impl Failure {
    /// The FAILED word.
    pub fn encode(self) -> u64 {
        (u64::from(self.rank) + 1) | (self.reason as u64) << 32
    }

    /// The failure in a FAILED word, `None` for 0 (no failure) or an unknown reason.
    pub fn decode(w: u64) -> Option<Self> {
        let rank = (w as u32).checked_sub(1)?;
        let reason = match (w >> 32) as u8 {
            1 => FailReason::RankDied,
            2 => FailReason::Timeout,
            3 => FailReason::Mismatch,
            4 => FailReason::Error,
            _ => return None,
        };
        Some(Failure { rank, reason })
    }
}

/// The header block of a rank's segment, written once before publishing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The owner's rank in the communicator.
    pub rank: u32,
    /// The communicator size.
    pub size: u32,
    /// The communicator id (agreed at creation).
    pub comm_id: u64,
    /// The data path.
    pub path: Path,
    /// The layout parameters.
    pub params: LayoutParams,
    /// Segment bytes.
    pub total: u64,
    /// Owner process id (diagnostics).
    pub pid: u32,
    /// Hash of the owner's collective configuration (all ranks must agree).
    pub config_hash: u64,
}

impl Header {
    /// The header of `layout` for `rank`.
    pub fn new(layout: &Layout, rank: u32, comm_id: u64, pid: u32, config_hash: u64) -> Self {
        Header {
            rank,
            size: layout.ranks() as u32,
            comm_id,
            path: layout.path(),
            params: *layout.params(),
            total: layout.total() as u64,
            pid,
            config_hash,
        }
    }

    /// The words of the header block.
    pub fn to_words(&self) -> [u64; HEADER_WORDS] {
        let mut w = [0u64; HEADER_WORDS];
        w[0] = MAGIC;
        w[1] = LAYOUT_VERSION | (self.params.block as u64) << 32;
        w[2] = u64::from(self.rank) | u64::from(self.size) << 32;
        w[3] = self.comm_id;
        w[4] = match self.path {
            Path::Map => 0,
            Path::Put => 1,
        };
        w[5] = self.params.cell_bytes as u64;
        w[6] = self.params.ncells as u64;
        w[7] = self.params.land_chunk as u64;
        w[8] = self.params.nland as u64;
        w[9] = self.total;
        w[10] = u64::from(self.pid);
        w[11] = self.config_hash;
        w
    }

    /// Reads a peer's header block and checks it against what this rank expects of `rank`:
    /// magic, version, size, rank, communicator, path, geometry and configuration must all
    /// match (every rank computes offsets in peers' segments with its own layout).
    pub fn check_peer(
        words: &[u64; HEADER_WORDS],
        expected: &Header,
    ) -> Result<Header, LayoutError> {
        let want = expected.to_words();
        let names = [
            "magic",
            "version/block",
            "rank/size",
            "comm id",
            "path",
            "cell bytes",
            "cells",
            "landing chunk",
            "landing slots",
            "segment size",
        ];
        for (i, field) in names.iter().enumerate() {
            if words[i] != want[i] {
                return Err(LayoutError::Header {
                    field,
                    found: words[i],
                    expected: want[i],
                });
            }
        }
        if words[11] != want[11] {
            return Err(LayoutError::Header {
                field: "configuration hash (RSM_COLL_* differ between ranks)",
                found: words[11],
                expected: want[11],
            });
        }
        Ok(Header {
            pid: words[10] as u32,
            ..expected.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_monotonic_and_checked() {
        assert_eq!(stamp(0, 0), Ok(0));
        assert_eq!(stamp(1, 0), Ok(1 << 20));
        assert_eq!(stamp(3, 5), Ok(3 << 20 | 5));
        assert!(stamp(1, STEP_DONE).unwrap() < stamp(2, 0).unwrap());
        assert!(stamp(2, 0).unwrap() < stamp(2, 1).unwrap());
        assert_eq!(stamp_parts(stamp(12345, 678).unwrap()), (12345, 678));
        assert_eq!(
            stamp_parts(stamp(SEQ_MAX, STEP_DONE).unwrap()),
            (SEQ_MAX, STEP_DONE)
        );
        assert!(stamp(SEQ_MAX + 1, 0).is_err());
        assert!(stamp(1, STEP_DONE + 1).is_err());
    }

    #[test]
    fn inline_payloads() {
        let bytes: Vec<u8> = (1..=13).collect();
        let w = pack_inline(&bytes).unwrap();
        assert_eq!(w[0], u64::from_le_bytes([1, 2, 3, 4, 5, 6, 7, 8]));
        assert_eq!(w[1], u64::from_le_bytes([9, 10, 11, 12, 13, 0, 0, 0]));
        assert_eq!(&w[2..], &[0; 4]);
        let mut out = [0u8; 13];
        unpack_inline(&w, &mut out).unwrap();
        assert_eq!(out.to_vec(), bytes);
        let full: Vec<u8> = (0..48).collect();
        let mut out = [0u8; 48];
        unpack_inline(&pack_inline(&full).unwrap(), &mut out).unwrap();
        assert_eq!(out.to_vec(), full);
        assert!(pack_inline(&[0; 49]).is_err());
        assert!(unpack_inline(&[0; 6], &mut [0; 49]).is_err());
        assert_eq!(pack_inline(&[]).unwrap(), [0; 6]);
    }

    #[test]
    fn line_headers_round_trip() {
        let h = LineHeader {
            len: 0xdead_beef,
            kind: 15,
            alg: 11,
            flags: FLAG_BULK | FLAG_FAILED,
        };
        assert_eq!(LineHeader::decode(h.encode()), h);
        assert_eq!(
            LineHeader::decode(0),
            LineHeader {
                len: 0,
                kind: 0,
                alg: 0,
                flags: 0
            }
        );
    }

    #[test]
    fn failures_round_trip() {
        for reason in [
            FailReason::RankDied,
            FailReason::Timeout,
            FailReason::Mismatch,
            FailReason::Error,
        ] {
            for rank in [0u32, 7, u32::MAX - 1] {
                let f = Failure { rank, reason };
                assert_ne!(f.encode(), 0);
                assert_eq!(Failure::decode(f.encode()), Some(f));
            }
        }
        assert_eq!(Failure::decode(0), None);
        assert_eq!(Failure::decode(1 | 9 << 32), None);
    }

    #[test]
    fn params_are_validated() {
        let ok = LayoutParams::defaults_for(8);
        assert_eq!(ok.validate(), Ok(()));
        assert_eq!(ok.land_chunk, 16 * 1024);
        assert_eq!(LayoutParams::defaults_for(64).land_chunk, 4096);
        assert_eq!(LayoutParams::defaults_for(1).land_chunk, 16 * 1024);
        for bad in [
            LayoutParams { block: 96, ..ok },
            LayoutParams {
                cell_bytes: 5000,
                ..ok
            },
            LayoutParams {
                cell_bytes: 32 << 20,
                ..ok
            },
            LayoutParams { ncells: 1, ..ok },
            LayoutParams {
                land_chunk: 1000,
                ..ok
            },
            LayoutParams { nland: 65, ..ok },
        ] {
            assert!(
                matches!(bad.validate(), Err(LayoutError::Param { .. })),
                "{bad:?}"
            );
        }
        assert!(Layout::new(0, Path::Map, ok).is_err());
        assert!(Layout::new(MAX_RANKS + 1, Path::Map, ok).is_err());
        assert!(
            LayoutError::Param {
                what: "block",
                value: 96,
                allowed: "64, 128, 256"
            }
            .to_string()
            .contains("block = 96 is invalid")
        );
    }

    fn check_layout(l: &Layout) {
        let b = l.params().block;
        let mut regions = l.regions();
        regions.sort_by_key(|(_, r)| r.start);
        for w in regions.windows(2) {
            assert!(
                w[0].1.end <= w[1].1.start,
                "{} {:?} overlaps {} {:?}",
                w[0].0,
                w[0].1,
                w[1].0,
                w[1].1
            );
        }
        assert!(regions.last().unwrap().1.end <= l.total());
        assert_eq!(l.total() % PAGE, 0);
        // Every flag word a peer writes or polls sits in a block of its own writer.
        let mut flags = vec![l.done(), l.ready(), l.reduced()];
        for seq in 0..LINE_SLOTS as u64 {
            flags.push(l.out_line(OutClass::Arrive, seq));
            flags.push(l.out_line(OutClass::Release, seq));
            for s in 0..l.ranks() {
                flags.push(l.in_line(s, seq).unwrap());
            }
        }
        for s in 0..l.ranks() {
            flags.push(l.credit(s).unwrap());
            if l.path() == Path::Put {
                flags.push(l.land_stamp(s).unwrap());
            }
        }
        for &f in &flags {
            assert_eq!(f % b, 0, "flag at {f} is block-aligned");
        }
        let mut sorted = flags.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), flags.len(), "distinct blocks");
        // Lines rotate with period LINE_SLOTS.
        assert_eq!(
            l.out_line(OutClass::Release, 3),
            l.out_line(OutClass::Release, 3 + LINE_SLOTS as u64)
        );
        assert_ne!(
            l.out_line(OutClass::Arrive, 0),
            l.out_line(OutClass::Arrive, 1)
        );
        // Sleep words are packed, 8 bytes each, inside the sleep region.
        for s in 0..l.ranks() {
            assert_eq!(l.sleep(s).unwrap() % 8, 0);
        }
        match l.path() {
            Path::Map => {
                let c = l.cell(l.params().ncells - 1).unwrap();
                assert!(c.end <= l.total());
                assert_eq!(l.cell(0).unwrap().start % PAGE, 0);
                assert!(l.cell(l.params().ncells).is_err());
                assert!(l.land_slot(0, 0).is_err());
                assert!(l.land_stamp(0).is_err());
            }
            Path::Put => {
                let last = l.land_slot(l.ranks() - 1, l.params().nland - 1).unwrap();
                assert!(last.end <= l.total());
                assert_eq!(last.len(), LAND_HEADER + l.params().land_chunk);
                assert!(l.land_slot(l.ranks(), 0).is_err());
                assert!(l.land_slot(0, l.params().nland).is_err());
                assert!(l.cell(0).is_err());
            }
        }
        assert!(l.in_line(l.ranks(), 0).is_err());
        assert!(l.credit(l.ranks()).is_err());
        assert!(l.sleep(l.ranks()).is_err());
    }

    #[test]
    fn layouts_have_disjoint_aligned_regions() {
        for p in 1..=17 {
            for path in [Path::Map, Path::Put] {
                for block in [64, 128, 256] {
                    let params = LayoutParams {
                        block,
                        ..LayoutParams::defaults_for(p)
                    };
                    check_layout(&Layout::new(p, path, params).unwrap());
                }
            }
        }
        // Concrete sizes for the defaults at 8 ranks.
        let l = Layout::new(8, Path::Map, LayoutParams::defaults_for(8)).unwrap();
        assert_eq!(l.out_line(OutClass::Arrive, 0), 512);
        assert_eq!(l.in_line(0, 0).unwrap(), 512 + 8 * 128);
        assert_eq!(l.cell(0).unwrap().start, 8192);
        assert_eq!(l.total(), 8192 + 8 * 65536);
        let l = Layout::new(8, Path::Put, LayoutParams::defaults_for(8)).unwrap();
        assert_eq!(l.total(), 8192 + 8 * 4 * (64 + 16384) + 2048);
        // Large communicators stay within reason.
        let l = Layout::new(1024, Path::Put, LayoutParams::defaults_for(1024)).unwrap();
        assert!(l.total() < 32 << 20, "{}", l.total());
        check_layout(
            &Layout::new(MAX_RANKS, Path::Map, LayoutParams::defaults_for(MAX_RANKS)).unwrap(),
        );
    }

    #[test]
    fn streams_and_landing_slots() {
        assert_eq!(Layout::align_message(0), 0);
        assert_eq!(Layout::align_message(1), 64);
        assert_eq!(Layout::align_message(64), 64);
        assert_eq!(Layout::align_message(65), 128);
        let params = LayoutParams {
            cell_bytes: 4096,
            ncells: 3,
            ..LayoutParams::defaults_for(2)
        };
        let l = Layout::new(2, Path::Map, params).unwrap();
        let c = |i: usize| l.cell(i).unwrap().start;
        assert_eq!(l.stream_pieces(10, 0).unwrap(), Vec::<Range<usize>>::new());
        assert_eq!(
            l.stream_pieces(10, 20).unwrap(),
            vec![Range {
                start: c(0) + 10,
                end: c(0) + 30
            }]
        );
        // Crossing cells 0 → 1 → 2 and wrapping to 0.
        assert_eq!(
            l.stream_pieces(4000, 8192 + 200).unwrap(),
            [
                c(0) + 4000..c(0) + 4096,
                c(1)..c(1) + 4096,
                c(2)..c(2) + 4096,
                c(0)..c(0) + 104
            ]
        );
        // Far into the stream: position modulo the ring.
        assert_eq!(
            l.stream_pieces(5 * 4096 + 7, 1).unwrap(),
            vec![Range {
                start: c(2) + 7,
                end: c(2) + 8
            }]
        );
        assert!(l.stream_pieces(u64::MAX, 2).is_err());
        let put = Layout::new(2, Path::Put, LayoutParams::defaults_for(2)).unwrap();
        assert!(put.stream_pieces(0, 1).is_err());
        assert_eq!(put.land_slots_for(0), 1);
        assert_eq!(put.land_slots_for(1), 1);
        assert_eq!(put.land_slots_for(16 * 1024), 1);
        assert_eq!(put.land_slots_for(16 * 1024 + 1), 2);
    }

    #[test]
    fn headers_round_trip_and_mismatches_are_named() {
        let l = Layout::new(4, Path::Map, LayoutParams::defaults_for(4)).unwrap();
        let h = Header::new(&l, 2, 77, 1234, 0xabc);
        let words = h.to_words();
        assert_eq!(words[0], MAGIC);
        assert_eq!(Header::check_peer(&words, &h), Ok(h.clone()));
        // A different pid is fine (it is informational).
        let mut w = words;
        w[10] = 999;
        assert_eq!(Header::check_peer(&w, &h).unwrap().pid, 999);
        let field = |i: usize, v: u64| {
            let mut w = words;
            w[i] = v;
            match Header::check_peer(&w, &h) {
                Err(LayoutError::Header { field, .. }) => field,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(field(0, 0), "magic");
        assert_eq!(field(2, 3 | 4 << 32), "rank/size");
        assert_eq!(field(3, 78), "comm id");
        assert_eq!(field(4, 1), "path");
        assert_eq!(
            field(11, 1),
            "configuration hash (RSM_COLL_* differ between ranks)"
        );
        let put = Layout::new(4, Path::Put, LayoutParams::defaults_for(4)).unwrap();
        assert_eq!(Header::new(&put, 0, 1, 1, 1).to_words()[4], 1);
    }
}
