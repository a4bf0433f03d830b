//! The per-rank collective segment: region offsets, the landing-slot line format and the
//! segment header — pure arithmetic, identical on every rank (so a rank computes offsets in a
//! peer's segment with its own [`Layout`]). docs/collectives.md "Segment layout" explains who
//! writes what and when.
//!
//! ```text
//! block 0          HEADER          owner, before publish        magic, version, geometry
//! block 1          STATE           owner                        DONE seq, FAILED word
//! blocks 2 ..      CREDIT[P]       one named peer each          slots of the owner's messages
//!                                                               that peer has consumed
//!        ..        SLEEP[P]        one named peer each, packed  sleep announcements
//! page-aligned     LAND[P][NL]     one named sender each        landing slots: a 64-byte
//!                                                               header line + payload
//! ```
//!
//! Every message a rank sends to another is *pushed* into the receiver's segment (a store
//! through the mapping on the map path, `put` on the put path), into the ring of `NL` landing
//! slots reserved for that sender; the receiver polls its own memory. A slot's header line
//! carries up to [`INLINE_MAX`] bytes of payload itself, so a small message is one cache line
//! with its flag. Every slot also carries the sender's count of slots it consumed from the
//! receiver (the reverse direction's credit), so symmetric patterns need no separate credit
//! writes.

use core::fmt;
use core::ops::Range;

use crate::algo::Path;

/// `b"RSMCOLL2"` as a little-endian word.
pub const MAGIC: u64 = u64::from_le_bytes(*b"RSMCOLL2");
/// Layout version; bump on any change of this module's arithmetic or line format.
pub const LAYOUT_VERSION: u64 = 3;
/// Cache line size assumed for line formats.
pub const LINE: usize = 64;
/// Page size used for aligning the landing region and the segment size.
pub const PAGE: usize = 4096;
/// Inline payload bytes of one slot header line (5 words).
pub const INLINE_MAX: usize = 40;
/// Words of inline payload in a line.
pub const INLINE_WORDS: usize = INLINE_MAX / 8;
/// Byte offset (in a slot) of the piggybacked credit: how many of the *receiver's* slots
/// the sender had consumed when it wrote this one (saves most explicit credit writes).
pub const SLOT_CREDIT_OFF: usize = 40;
/// Byte offset (in a slot) of the slot header word ([`SlotHeader`]).
pub const SLOT_HEADER_OFF: usize = 48;
/// Byte offset (in a slot) of the slot's stamp word, stored last (Release).
pub const SLOT_STAMP_OFF: usize = 56;
/// Bytes of the header line at the start of every landing slot; the payload follows.
pub const LAND_HEADER: usize = LINE;
/// Words in the segment header block.
pub const HEADER_WORDS: usize = 16;
/// Largest communicator size a layout supports.
pub const MAX_RANKS: usize = 1 << 16;

/// Errors of this module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// A layout parameter is out of its allowed range.
    Param {
        /// Which parameter.
        what: &'static str,
        /// The value given.
        value: u64,
        /// The allowed values, for the message.
        allowed: &'static str,
    },
    /// An index (rank, slot) is out of range.
    Index {
        /// What was indexed.
        what: &'static str,
        /// The index given.
        index: usize,
        /// The number of valid indices.
        len: usize,
    },
    /// The segment size overflows `usize`.
    TooLarge,
    /// A peer's header disagrees with ours.
    Header {
        /// The field that differs.
        field: &'static str,
        /// The peer's value.
        found: u64,
        /// Ours.
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

/// Packs up to [`INLINE_MAX`] bytes into the payload words of a line (little-endian,
/// zero-padded). Word by word, without a call to `memcpy`: this is on the path of every
/// small message.
#[inline(always)]
pub fn pack_inline(bytes: &[u8]) -> Result<[u64; INLINE_WORDS], LayoutError> {
    if bytes.len() > INLINE_MAX {
        return Err(inline_len_error(bytes.len()));
    }
    let mut words = [0u64; INLINE_WORDS];
    for (w, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
        *w = match <[u8; 8]>::try_from(chunk) {
            Ok(b) => u64::from_le_bytes(b),
            Err(_) => chunk.iter().rev().fold(0, |v, &b| (v << 8) | u64::from(b)),
        };
    }
    Ok(words)
}

/// The inverse of [`pack_inline`]: fills `out` (at most [`INLINE_MAX`] bytes) from the words.
#[inline(always)]
pub fn unpack_inline(words: &[u64; INLINE_WORDS], out: &mut [u8]) -> Result<(), LayoutError> {
    if out.len() > INLINE_MAX {
        return Err(inline_len_error(out.len()));
    }
    for (chunk, w) in out.chunks_mut(8).zip(words) {
        match <&mut [u8; 8]>::try_from(&mut *chunk) {
            Ok(b) => *b = w.to_le_bytes(),
            Err(_) => {
                for (i, d) in chunk.iter_mut().enumerate() {
                    *d = (w >> (8 * i)) as u8;
                }
            }
        }
    }
    Ok(())
}

#[cold]
fn inline_len_error(len: usize) -> LayoutError {
    LayoutError::Param {
        what: "inline payload bytes",
        value: len as u64,
        allowed: "0 ..= 40",
    }
}

/// The header word of a landing slot (word 6 of its header line): what the slot holds, so a
/// receiver can check it against its own call and report a mismatch instead of reading
/// garbage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotHeader {
    /// Payload bytes in this slot (inline when `<= INLINE_MAX`, else in the payload area).
    pub len: u32,
    /// The collective (`algo::Collective` index), or an internal kind.
    pub kind: u8,
    /// The algorithm (`algo::Algorithm` index, 4 bits).
    pub alg: u8,
    /// The last slot of a message.
    pub last: bool,
    /// The low 16 bits of the sender's op sequence number.
    pub seq: u16,
}

impl SlotHeader {
    /// `len | kind << 32 | (alg & 15) << 40 | last << 44 | seq << 48`.
    pub fn encode(self) -> u64 {
        u64::from(self.len)
            | u64::from(self.kind) << 32
            | u64::from(self.alg & 15) << 40
            | u64::from(self.last) << 44
            | u64::from(self.seq) << 48
    }

    /// The inverse of [`encode`](Self::encode).
    pub fn decode(w: u64) -> Self {
        SlotHeader {
            len: w as u32,
            kind: (w >> 32) as u8,
            alg: ((w >> 40) & 15) as u8,
            last: (w >> 44) & 1 == 1,
            seq: (w >> 48) as u16,
        }
    }
}

/// Tunable geometry of a layout (must be equal on all ranks; part of the header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayoutParams {
    /// Block size for per-writer words (64, 128 or 256 bytes).
    pub block: usize,
    /// Payload bytes of one landing slot.
    pub land_chunk: usize,
    /// Landing slots per sender.
    pub nland: usize,
}

/// Default landing slots per sender.
pub const DEFAULT_NLAND: usize = 8;

impl LayoutParams {
    /// The defaults for a communicator of `p` ranks: 128-byte blocks, 8 landing slots per
    /// sender, payload `2 MiB / (8 p)` rounded down to pages and clamped to 4 ..= 64 KiB (so
    /// one rank's landing region stays near 2 MiB).
    pub fn defaults_for(p: usize) -> Self {
        Self::with_slots(p, DEFAULT_NLAND)
    }

    /// The defaults for `p` ranks with `nland` slots per sender.
    pub fn with_slots(p: usize, nland: usize) -> Self {
        let per = (2 << 20) / (nland.max(1) * p.max(1));
        LayoutParams {
            block: 128,
            land_chunk: (per / PAGE * PAGE).clamp(4096, 64 * 1024),
            nland,
        }
    }

    /// Checks every parameter.
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

/// Offsets of one rank's collective segment for a communicator of `p` ranks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    p: usize,
    params: LayoutParams,
    credit: usize,
    sleep: usize,
    land: usize,
    stride: usize,
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
    /// The layout for `p` ranks (1 ..= [`MAX_RANKS`]).
    pub fn new(p: usize, params: LayoutParams) -> Result<Self, LayoutError> {
        if p == 0 || p > MAX_RANKS {
            return Err(LayoutError::Param {
                what: "ranks",
                value: p as u64,
                allowed: "1 ..= 65536",
            });
        }
        params.validate()?;
        let b = params.block;
        let credit = 2 * b;
        let sleep = add(credit, mul(p, b)?)?;
        let control_end = add(sleep, round_up(mul(p, 8)?, b)?)?;
        let land = round_up(control_end, PAGE)?;
        let stride = add(LAND_HEADER, params.land_chunk)?;
        let total = round_up(add(land, mul(mul(p, params.nland)?, stride)?)?, PAGE)?;
        Ok(Layout {
            p,
            params,
            credit,
            sleep,
            land,
            stride,
            total,
        })
    }

    /// Communicator size.
    pub fn ranks(&self) -> usize {
        self.p
    }

    /// The parameters.
    pub fn params(&self) -> &LayoutParams {
        &self.params
    }

    /// Segment size in bytes (a page multiple).
    pub fn total(&self) -> usize {
        self.total
    }

    /// Offset of the header block.
    pub fn header(&self) -> usize {
        0
    }

    /// Offset of the DONE word (seq of the last op this rank completed).
    pub fn done(&self) -> usize {
        self.params.block
    }

    /// Offset of the FAILED word ([`Failure::encode`], 0 = none).
    pub fn failed(&self) -> usize {
        self.params.block + 8
    }

    fn check(what: &'static str, index: usize, len: usize) -> Result<(), LayoutError> {
        if index < len {
            Ok(())
        } else {
            Err(LayoutError::Index { what, index, len })
        }
    }

    /// Offset of `CREDIT[peer]`: written by `peer` only, the number of landing slots of the
    /// owner's messages `peer` has consumed (monotonic).
    pub fn credit(&self, peer: usize) -> Result<usize, LayoutError> {
        Self::check("peer", peer, self.p)?;
        Ok(self.credit + peer * self.params.block)
    }

    /// Offset of `SEQ[peer]` (the word after `CREDIT[peer]`, written by `peer` only): the
    /// sequence number of the last op in which `peer` signalled the owner without a message
    /// (the two-rank barrier).
    pub fn seq_word(&self, peer: usize) -> Result<usize, LayoutError> {
        Ok(self.credit(peer)? + 8)
    }

    /// Offset of `SLEEP[peer]`: non-zero while `peer` sleeps waiting for something the owner
    /// writes into `peer`'s segment (a message or a credit).
    pub fn sleep(&self, peer: usize) -> Result<usize, LayoutError> {
        Self::check("peer", peer, self.p)?;
        Ok(self.sleep + peer * 8)
    }

    /// Distance between consecutive landing slots (header line + payload).
    pub fn slot_stride(&self) -> usize {
        self.stride
    }

    /// Landing slot `i` of `sender` (header line + payload), written by `sender` only.
    pub fn land_slot(&self, sender: usize, i: usize) -> Result<Range<usize>, LayoutError> {
        Self::check("sender", sender, self.p)?;
        Self::check("landing slot", i, self.params.nland)?;
        let start = self.land + (sender * self.params.nland + i) * self.stride;
        Ok(start..start + self.stride)
    }

    /// Slots a message of `bytes` bytes takes (at least one: an empty message is one slot).
    pub fn land_slots_for(&self, bytes: usize) -> usize {
        bytes.div_ceil(self.params.land_chunk).max(1)
    }

    /// Every region with its name (for tests and diagnostics).
    pub fn regions(&self) -> Vec<(&'static str, Range<usize>)> {
        let b = self.params.block;
        vec![
            ("header", 0..b),
            ("state", b..2 * b),
            ("credit", self.credit..self.sleep),
            ("sleep", self.sleep..self.sleep + self.p * 8),
            (
                "land",
                self.land..self.land + self.p * self.params.nland * self.stride,
            ),
        ]
    }
}

/// A failure record (the FAILED word): which rank caused it, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The rank that disappeared or failed.
    pub rank: u32,
    /// What happened.
    pub reason: FailReason,
}

/// Why a communicator failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailReason {
    /// The rank's process died (or revoked its segment).
    RankDied = 1,
    /// A wait for the rank exceeded the timeout.
    Timeout = 2,
    /// The rank ran a different collective, algorithm or count.
    Mismatch = 3,
    /// The rank failed an op itself (bad arguments, an rsm-core error).
    Error = 4,
    /// The rank freed the communicator while others still used it.
    Departed = 5,
}

impl FailReason {
    /// A short description for messages.
    pub fn describe(self) -> &'static str {
        match self {
            FailReason::RankDied => "disappeared",
            FailReason::Timeout => "did not answer in time",
            FailReason::Mismatch => "ran a different collective or count",
            FailReason::Error => "failed",
            FailReason::Departed => "freed the communicator",
        }
    }
}

impl Failure {
    /// `rank + 1 | reason << 32` (never 0).
    pub fn encode(self) -> u64 {
        (u64::from(self.rank) + 1) | (self.reason as u64) << 32
    }

    /// The inverse of [`encode`](Self::encode); `None` for 0 or garbage.
    pub fn decode(w: u64) -> Option<Self> {
        let rank = (w as u32).checked_sub(1)?;
        let reason = match (w >> 32) as u8 {
            1 => FailReason::RankDied,
            2 => FailReason::Timeout,
            3 => FailReason::Mismatch,
            4 => FailReason::Error,
            5 => FailReason::Departed,
            _ => return None,
        };
        Some(Failure { rank, reason })
    }
}

/// The segment header every rank writes before publishing and every peer checks at connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The owner's rank.
    pub rank: u32,
    /// Communicator size.
    pub size: u32,
    /// Communicator id.
    pub comm_id: u64,
    /// Data path.
    pub path: Path,
    /// Geometry.
    pub params: LayoutParams,
    /// Segment size.
    pub total: u64,
    /// Owner's pid (informational).
    pub pid: u32,
    /// [`crate::config::CollConfig::protocol_hash`].
    pub config_hash: u64,
}

impl Header {
    /// The header of `rank`'s segment.
    pub fn new(
        layout: &Layout,
        path: Path,
        rank: u32,
        comm_id: u64,
        pid: u32,
        config_hash: u64,
    ) -> Self {
        Header {
            rank,
            size: layout.ranks() as u32,
            comm_id,
            path,
            params: *layout.params(),
            total: layout.total() as u64,
            pid,
            config_hash,
        }
    }

    /// The header as words (word 0 = [`MAGIC`]).
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
        w[5] = self.params.land_chunk as u64;
        w[6] = self.params.nland as u64;
        w[7] = self.total;
        w[8] = u64::from(self.pid);
        w[9] = self.config_hash;
        w
    }

    /// Checks a peer's header words against `expected` (built for that peer's rank); the pid
    /// may differ. Returns the peer's header.
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
        if words[9] != want[9] {
            return Err(LayoutError::Header {
                field: "configuration hash (RSM_COLL_* differ between ranks)",
                found: words[9],
                expected: want[9],
            });
        }
        Ok(Header {
            pid: words[8] as u32,
            ..expected.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_payloads() {
        let bytes: Vec<u8> = (1..=13).collect();
        let w = pack_inline(&bytes).unwrap();
        assert_eq!(w[0], u64::from_le_bytes([1, 2, 3, 4, 5, 6, 7, 8]));
        assert_eq!(w[1], u64::from_le_bytes([9, 10, 11, 12, 13, 0, 0, 0]));
        assert_eq!(&w[2..], &[0; 3]);
        let mut out = [0u8; 13];
        unpack_inline(&w, &mut out).unwrap();
        assert_eq!(out.to_vec(), bytes);
        let full: Vec<u8> = (0..40).collect();
        let mut out = [0u8; 40];
        unpack_inline(&pack_inline(&full).unwrap(), &mut out).unwrap();
        assert_eq!(out.to_vec(), full);
        let too_long = LayoutError::Param {
            what: "inline payload bytes",
            value: 41,
            allowed: "0 ..= 40",
        };
        assert_eq!(pack_inline(&[0; 41]), Err(too_long.clone()));
        assert_eq!(unpack_inline(&[0; 5], &mut [0; 41]), Err(too_long));
        assert_eq!(pack_inline(&[]).unwrap(), [0; 5]);
        // Every length round-trips, and unpacking writes exactly `out.len()` bytes.
        for n in 0..=INLINE_MAX {
            let src: Vec<u8> = (0..n as u8).map(|i| 0xA0 ^ i).collect();
            let w = pack_inline(&src).unwrap();
            let mut out = [0x55u8; INLINE_MAX + 1];
            unpack_inline(&w, &mut out[..n]).unwrap();
            assert_eq!(&out[..n], &src[..], "length {n}");
            assert!(out[n..].iter().all(|&b| b == 0x55), "length {n}");
            let mut padded = [0u8; INLINE_MAX];
            padded[..n].copy_from_slice(&src);
            for (i, word) in w.iter().enumerate() {
                let b: [u8; 8] = padded[8 * i..8 * i + 8].try_into().unwrap();
                assert_eq!(*word, u64::from_le_bytes(b), "length {n}, word {i}");
            }
        }
        assert_eq!(SLOT_CREDIT_OFF + 8, SLOT_HEADER_OFF);
        assert_eq!(SLOT_HEADER_OFF + 8, SLOT_STAMP_OFF);
        assert_eq!(SLOT_STAMP_OFF + 8, LINE);
    }

    #[test]
    fn slot_headers_round_trip() {
        let h = SlotHeader {
            len: 0xdead_beef,
            kind: 15,
            alg: 11,
            last: true,
            seq: 0xfedc,
        };
        assert_eq!(h.encode(), 0xfedc_1b0f_dead_beef);
        assert_eq!(SlotHeader::decode(h.encode()), h);
        assert_eq!(
            SlotHeader::decode(0),
            SlotHeader {
                len: 0,
                kind: 0,
                alg: 0,
                last: false,
                seq: 0
            }
        );
        // The algorithm index is 4 bits.
        let wide = SlotHeader { alg: 0x1f, ..h };
        assert_eq!(SlotHeader::decode(wide.encode()).alg, 0xf);
    }

    #[test]
    fn failures_round_trip() {
        for reason in [
            FailReason::RankDied,
            FailReason::Timeout,
            FailReason::Mismatch,
            FailReason::Error,
            FailReason::Departed,
        ] {
            for rank in [0u32, 7, u32::MAX - 1] {
                let f = Failure { rank, reason };
                assert_ne!(f.encode(), 0);
                assert_eq!(Failure::decode(f.encode()), Some(f));
            }
            assert!(!reason.describe().is_empty());
        }
        assert_eq!(
            Failure {
                rank: 2,
                reason: FailReason::RankDied
            }
            .encode(),
            3 | 1 << 32
        );
        assert_eq!(Failure::decode(0), None);
        assert_eq!(Failure::decode(1 | 9 << 32), None);
    }

    #[test]
    fn params_are_validated() {
        let ok = LayoutParams::defaults_for(8);
        assert_eq!(ok.validate(), Ok(()));
        assert_eq!(ok.land_chunk, 32 * 1024);
        assert_eq!(ok.nland, 8);
        assert_eq!(LayoutParams::defaults_for(1).land_chunk, 64 * 1024);
        assert_eq!(LayoutParams::defaults_for(2).land_chunk, 64 * 1024);
        assert_eq!(LayoutParams::defaults_for(5).land_chunk, 49152);
        assert_eq!(LayoutParams::defaults_for(64).land_chunk, 4096);
        assert_eq!(LayoutParams::defaults_for(10_000).land_chunk, 4096);
        assert_eq!(LayoutParams::with_slots(2, 4).land_chunk, 64 * 1024);
        assert_eq!(LayoutParams::with_slots(16, 4).land_chunk, 32 * 1024);
        for bad in [
            LayoutParams { block: 96, ..ok },
            LayoutParams {
                land_chunk: 1000,
                ..ok
            },
            LayoutParams {
                land_chunk: 2 << 20,
                ..ok
            },
            LayoutParams { nland: 1, ..ok },
            LayoutParams { nland: 65, ..ok },
        ] {
            assert!(
                matches!(bad.validate(), Err(LayoutError::Param { .. })),
                "{bad:?}"
            );
        }
        assert!(Layout::new(0, ok).is_err());
        assert!(Layout::new(MAX_RANKS + 1, ok).is_err());
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
        // Words with one writer each sit in blocks of their own.
        let mut blocks = vec![l.done()];
        for s in 0..l.ranks() {
            blocks.push(l.credit(s).unwrap());
        }
        for &f in &blocks {
            assert_eq!(f % b, 0, "word at {f} is block-aligned");
        }
        let mut sorted = blocks.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), blocks.len(), "distinct blocks");
        assert_eq!(l.failed(), l.done() + 8);
        // Sleep words are packed, 8 bytes each.
        for s in 0..l.ranks() {
            assert_eq!(l.sleep(s).unwrap() % 8, 0);
        }
        // Landing slots: page-aligned region, line-aligned slots, disjoint, in range.
        let first = l.land_slot(0, 0).unwrap();
        assert_eq!(first.start % PAGE, 0);
        let last = l.land_slot(l.ranks() - 1, l.params().nland - 1).unwrap();
        assert!(last.end <= l.total());
        assert_eq!(last.len(), LAND_HEADER + l.params().land_chunk);
        assert_eq!(l.slot_stride(), last.len());
        if l.ranks() <= 17 {
            let mut prev_end = 0;
            for s in 0..l.ranks() {
                for i in 0..l.params().nland {
                    let r = l.land_slot(s, i).unwrap();
                    assert_eq!(r.start % LINE, 0);
                    assert!(r.start >= prev_end);
                    prev_end = r.end;
                }
            }
        }
        assert!(l.land_slot(l.ranks(), 0).is_err());
        assert!(l.land_slot(0, l.params().nland).is_err());
        assert!(l.credit(l.ranks()).is_err());
        assert!(l.seq_word(l.ranks()).is_err());
        assert!(l.sleep(l.ranks()).is_err());
    }

    #[test]
    fn layouts_have_disjoint_aligned_regions() {
        for p in 1..=17 {
            for block in [64, 128, 256] {
                for nland in [2, 8] {
                    let params = LayoutParams {
                        block,
                        ..LayoutParams::with_slots(p, nland)
                    };
                    check_layout(&Layout::new(p, params).unwrap());
                }
            }
        }
        // Concrete sizes for the defaults at 8 ranks: header, state, 8 credit blocks and the
        // sleep words fit in the first page; 8 senders × 8 slots × (64 + 32 KiB) follow.
        let l = Layout::new(8, LayoutParams::defaults_for(8)).unwrap();
        assert_eq!(l.credit(0).unwrap(), 256);
        assert_eq!(l.credit(7).unwrap(), 256 + 7 * 128);
        assert_eq!(l.seq_word(0).unwrap(), 256 + 8);
        assert_eq!(l.seq_word(7).unwrap(), 256 + 7 * 128 + 8);
        assert_eq!(l.sleep(0).unwrap(), 256 + 8 * 128);
        assert_eq!(l.land_slot(0, 0).unwrap().start, 4096);
        assert_eq!(l.land_slot(1, 0).unwrap().start, 4096 + 8 * (64 + 32768));
        assert_eq!(l.total(), 4096 + 64 * (64 + 32768));
        assert_eq!(l.land_slots_for(0), 1);
        assert_eq!(l.land_slots_for(1), 1);
        assert_eq!(l.land_slots_for(32768), 1);
        assert_eq!(l.land_slots_for(32769), 2);
        // Large communicators stay within reason.
        let l = Layout::new(1024, LayoutParams::defaults_for(1024)).unwrap();
        assert!(l.total() < 40 << 20, "{}", l.total());
        check_layout(&Layout::new(MAX_RANKS, LayoutParams::with_slots(MAX_RANKS, 2)).unwrap());
    }

    #[test]
    fn headers_round_trip_and_mismatches_are_named() {
        let l = Layout::new(4, LayoutParams::defaults_for(4)).unwrap();
        let h = Header::new(&l, Path::Map, 2, 77, 1234, 0xabc);
        let words = h.to_words();
        assert_eq!(words[0], MAGIC);
        assert_eq!(Header::check_peer(&words, &h), Ok(h.clone()));
        // A different pid is fine (it is informational).
        let mut w = words;
        w[8] = 999;
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
        assert_eq!(field(1, 1 | 128 << 32), "version/block");
        assert_eq!(field(2, 3 | 4 << 32), "rank/size");
        assert_eq!(field(3, 78), "comm id");
        assert_eq!(field(4, 1), "path");
        assert_eq!(field(6, 4), "landing slots");
        assert_eq!(
            field(9, 1),
            "configuration hash (RSM_COLL_* differ between ranks)"
        );
        assert_eq!(Header::new(&l, Path::Put, 0, 1, 1, 1).to_words()[4], 1);
    }
}
