//! The message layer: per-pair FIFO channels of landing slots, pushed into the receiver's
//! segment, and the progress engine every algorithm is written on.
//!
//! Rank `s` owns a ring of `NL` landing slots in every peer's segment. A message is a byte
//! string cut into slots of at most `land_chunk` bytes (an empty message is one empty slot).
//! To send a slot the sender
//!
//! 1. waits for credit: it may have at most `NL` slots the receiver has not consumed (the
//!    receiver reports consumption in the sender's `CREDIT[receiver]` word every `NL/4` slots);
//! 2. writes the payload (inline in the header line when it is at most 48 bytes, else after
//!    it) and the [`SlotHeader`] word;
//! 3. publishes the slot by storing its stamp (`slots sent so far`, i.e. `m + 1` for the
//!    `m`-th slot) — map path: a Release store through the mapping; put path:
//!    `Barrier::order()` then `put64`;
//! 4. wakes the receiver if it announced that it sleeps (its `SLEEP` word in our segment).
//!
//! The receiver polls its own memory (Acquire load of the stamp), checks the header against
//! its own call (collective, algorithm, op sequence, length, last piece: a difference is
//! [`CollError::Mismatch`]), copies the payload out and counts the slot consumed.
//!
//! Map and put path differ only in how the sender's stores reach the receiver ([`Link`]).
//!
//! [`Chan::exchange`] moves a set of outgoing and incoming messages of one algorithm phase
//! at once, interleaving them slot by slot and waiting (spin → yield → sleep, with liveness
//! probes) only when nothing can move. Because every rank posts all sends and receives of a
//! phase together, bounded rings cannot deadlock: a rank stalls only when each of its sends
//! lacks credit and none of its receives has data, and a receiver consumes whatever arrives.

use core::cell::Cell;
use core::hint;
use core::time::Duration;
use std::sync::atomic::{Ordering, fence};

use rsm_core::{
    Barrier, ErrorKind, ExportSegment, ImportSegment, MemView, RsmError, SIGPOST_NO_ACCUMULATE,
};

use crate::algo::{Algorithm, Collective, Path};
use crate::error::{CollError, Result};
use crate::layout::{
    FailReason, Failure, INLINE_MAX, INLINE_WORDS, LAND_HEADER, Layout, SLOT_CREDIT_OFF,
    SLOT_HEADER_OFF, SLOT_STAMP_OFF, SlotHeader, pack_inline, unpack_inline,
};
use crate::wait::{Action, MonotonicClock, SpinBudget, WaitPolicy, Waiter};

/// How this rank's stores reach one peer's segment.
#[derive(Debug)]
pub(crate) enum Link {
    /// The peer's segment is mapped: stores and copies through the mapping.
    Map {
        /// The connection (liveness, signals).
        imp: ImportSegment,
        /// The whole segment, read-write.
        view: MemView,
    },
    /// No mapping: `put`/`put64` in explicit barrier mode, ordered by the barrier.
    Put {
        /// The connection.
        imp: ImportSegment,
        /// Its barrier (open for the communicator's lifetime), for `order()`.
        bar: Barrier,
    },
}

impl Link {
    pub(crate) fn imp(&self) -> &ImportSegment {
        match self {
            Link::Map { imp, .. } | Link::Put { imp, .. } => imp,
        }
    }

    /// Copies `bytes` to `off` of the peer's segment (no ordering).
    #[inline(always)]
    fn write(&self, off: usize, bytes: &[u8]) -> rsm_core::Result<()> {
        match self {
            Link::Map { view, .. } => view.write(off, bytes),
            Link::Put { imp, .. } => imp.put(off as u64, bytes),
        }
    }

    /// Stores the word `v` at `off` after everything written before (the stamp of a slot).
    #[inline(always)]
    fn publish(&self, off: usize, v: u64) -> rsm_core::Result<()> {
        match self {
            Link::Map { view, .. } => view.store_u64(off, v, Ordering::Release),
            Link::Put { imp, bar } => {
                bar.order()?;
                imp.put64(off as u64, &[v])
            }
        }
    }

    /// Stores a single word (a credit, a sleep announcement) after everything read and
    /// written before: one 8-byte store, Release — not SeqCst, whose fence would stall the
    /// caller for a whole cache-line transfer (a receiver reporting credit on every fourth
    /// message of a one-way stream). The sleep announcement orders its store before its
    /// re-check with an explicit fence ([`Chan::sleep`]).
    #[inline(always)]
    fn store_word(&self, off: usize, v: u64) -> rsm_core::Result<()> {
        match self {
            Link::Map { view, .. } => view.store_u64(off, v, Ordering::Release),
            Link::Put { imp, .. } => imp.put64(off as u64, &[v]),
        }
    }

    /// Loads a word of the peer's segment (slow paths only: probes, connect).
    pub(crate) fn load_word(&self, off: usize) -> rsm_core::Result<u64> {
        match self {
            Link::Map { view, .. } => view.load_u64(off, Ordering::Acquire),
            Link::Put { imp, .. } => {
                let mut w = [0u64];
                imp.get64(off as u64, &mut w)?;
                Ok(w[0])
            }
        }
    }

    /// Releases the connection (best effort).
    fn close(self) {
        match self {
            Link::Map { imp, view } => {
                drop(view);
                let _ = imp.unmap();
                let _ = imp.disconnect();
            }
            Link::Put { imp, bar } => {
                let _ = bar.close();
                let _ = bar.destroy();
                let _ = imp.disconnect();
            }
        }
    }
}

/// The communicator's lock segment (created by comm rank 0): `JOINED`, `DEPARTED` and one
/// departed bit per rank.
#[derive(Debug)]
pub(crate) enum LockLink {
    /// Rank 0's own lock segment.
    Own(ExportSegment),
    /// Another rank's connection to it.
    Remote(ImportSegment),
}

/// `JOINED`: each rank adds 1 at creation.
pub(crate) const LOCK_JOINED: u64 = 0;
/// `DEPARTED`: each rank adds 1 at teardown.
pub(crate) const LOCK_DEPARTED: u64 = 8;
/// First word of the departed bits (bit `r % 64` of word `r / 64`).
pub(crate) const LOCK_BITS: u64 = 16;

/// Bytes of the lock segment for `p` ranks (a page multiple).
pub(crate) fn lock_segment_size(p: usize, page: usize) -> usize {
    (LOCK_BITS as usize + 8 * p.div_ceil(64)).div_ceil(page) * page
}

impl LockLink {
    pub(crate) fn fetch_add(&self, off: u64, v: u64) -> rsm_core::Result<u64> {
        match self {
            LockLink::Own(s) => s.fetch_add64(off, v),
            LockLink::Remote(i) => i.fetch_add64(off, v),
        }
    }

    /// Whether `rank` set its departed bit.
    pub(crate) fn departed(&self, rank: usize) -> bool {
        let word = LOCK_BITS + 8 * (rank / 64) as u64;
        self.fetch_add(word, 0)
            .map(|w| w & (1 << (rank % 64)) != 0)
            .unwrap_or(false)
    }

    /// Sets `rank`'s departed bit and counts it.
    pub(crate) fn depart(&self, rank: usize) -> rsm_core::Result<()> {
        let word = LOCK_BITS + 8 * (rank / 64) as u64;
        self.fetch_add(word, 1 << (rank % 64))?;
        self.fetch_add(LOCK_DEPARTED, 1)?;
        Ok(())
    }

    pub(crate) fn release(self) {
        match self {
            LockLink::Own(s) => {
                let _ = s.destroy();
            }
            LockLink::Remote(i) => {
                let _ = i.disconnect();
            }
        }
    }
}

/// The op a message belongs to, checked by every receiver.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Op {
    /// Sequence number on the communicator.
    pub(crate) seq: u64,
    /// The collective.
    pub(crate) coll: Collective,
    /// The algorithm.
    pub(crate) alg: Algorithm,
}

impl Op {
    fn header(&self, len: usize, last: bool) -> SlotHeader {
        SlotHeader {
            len: len as u32,
            kind: self.coll as u8,
            alg: self.alg as u8,
            last,
            seq: self.seq as u16,
        }
    }
}

/// An outgoing message of an [`exchange`](Chan::exchange).
#[derive(Debug)]
pub(crate) struct Out<'a> {
    to: usize,
    data: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Out<'a> {
    pub(crate) fn new(to: usize, data: &'a [u8]) -> Self {
        Out {
            to,
            data,
            pos: 0,
            done: false,
        }
    }

    /// A finished placeholder (fills unused entries of a fixed-size array).
    fn none() -> Out<'static> {
        Out {
            to: 0,
            data: &[],
            pos: 0,
            done: true,
        }
    }
}

/// An incoming message of an [`exchange`](Chan::exchange): exactly `buf.len()` bytes.
#[derive(Debug)]
pub(crate) struct In<'a> {
    from: usize,
    buf: &'a mut [u8],
    pos: usize,
    done: bool,
}

impl<'a> In<'a> {
    pub(crate) fn new(from: usize, buf: &'a mut [u8]) -> Self {
        In {
            from,
            buf,
            pos: 0,
            done: false,
        }
    }

    /// A finished placeholder.
    fn none() -> In<'static> {
        In {
            from: 0,
            buf: &mut [],
            pos: 0,
            done: true,
        }
    }
}

/// Messages per direction an [`exchange_iter`](Chan::exchange_iter) keeps on the stack.
const SMALL: usize = 8;

/// One rank's channels to every peer of a communicator.
#[derive(Debug)]
pub(crate) struct Chan {
    pub(crate) me: usize,
    pub(crate) p: usize,
    pub(crate) layout: Layout,
    pub(crate) path: Path,
    pub(crate) seg: Option<ExportSegment>,
    own: MemView,
    links: Vec<Option<Link>>,
    pub(crate) lock: Option<LockLink>,
    policy: WaitPolicy,
    /// Slots of payload capacity.
    cap: usize,
    nl: u64,
    /// `nl - 1` when `nl` is a power of two (slot index by mask instead of division).
    nl_mask: Option<u64>,
    stride: usize,
    /// Offsets of `SLEEP[0]` and of the first landing slot (rank 0's ring).
    sleep_base: usize,
    land_base: usize,
    /// Offset of `SEQ[0]` and the distance between two peers' `SEQ` words.
    seq_base: usize,
    seq_stride: usize,
    report_every: u64,
    /// Offset of this rank's ring (in every peer's segment).
    out_base: usize,
    /// `sent[q]`: slots sent to `q`; `credit[q]`: slots `q` reported consumed.
    sent: Vec<Cell<u64>>,
    credit: Vec<Cell<u64>>,
    /// `recvd[s]`: slots consumed from `s`; `reported[s]`: the count `s` has been told
    /// (piggybacked on a slot to `s`, or written into its `CREDIT[me]`).
    recvd: Vec<Cell<u64>>,
    reported: Vec<Cell<u64>>,
}

fn link_err(rank: usize, op: &'static str, e: RsmError) -> CollError {
    CollError::rsm(Some(rank), op, e)
}

impl Chan {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        me: usize,
        layout: Layout,
        path: Path,
        seg: ExportSegment,
        own: MemView,
        links: Vec<Option<Link>>,
        lock: Option<LockLink>,
        policy: WaitPolicy,
    ) -> Self {
        let p = layout.ranks();
        let params = *layout.params();
        let nl = params.nland as u64;
        let out_base = layout.land_slot(me, 0).map(|r| r.start).unwrap_or(0);
        let land_base = layout.land_slot(0, 0).map(|r| r.start).unwrap_or(0);
        let sleep_base = layout.sleep(0).unwrap_or(0);
        let seq_base = layout.seq_word(0).unwrap_or(0);
        Chan {
            me,
            p,
            cap: params.land_chunk,
            nl,
            nl_mask: nl.is_power_of_two().then(|| nl - 1),
            stride: layout.slot_stride(),
            sleep_base,
            land_base,
            seq_base,
            seq_stride: params.block,
            report_every: (nl / 2).max(1),
            out_base,
            layout,
            path,
            seg: Some(seg),
            own,
            links,
            lock,
            policy,
            sent: (0..p).map(|_| Cell::new(0)).collect(),
            credit: (0..p).map(|_| Cell::new(0)).collect(),
            recvd: (0..p).map(|_| Cell::new(0)).collect(),
            reported: (0..p).map(|_| Cell::new(0)).collect(),
        }
    }

    /// Polls before a wait builds its [`Waiter`] (and reads the clock): most small-message
    /// waits end within a cache-line transfer or two. None when oversubscribed.
    fn pre_spin(&self) -> u32 {
        match self.policy.spin {
            SpinBudget::Time(_) => 128,
            SpinBudget::Polls(_) => 0,
        }
    }

    /// Offset of writer `q`'s `SEQ` word in any rank's segment.
    #[inline(always)]
    fn seq_word(&self, q: usize) -> usize {
        self.seq_base + q * self.seq_stride
    }

    /// `s`'s `SEQ` word in our segment: the op it last signalled us in.
    #[inline(always)]
    fn peer_seq(&self, s: usize) -> Result<u64> {
        self.own
            .load_u64(self.seq_word(s), Ordering::Acquire)
            .map_err(|e| CollError::rsm(None, "wait", e))
    }

    /// A message from `s` whose header `h` names another op than `op`.
    fn other_op(&self, op: &Op, s: usize, h: SlotHeader) -> CollError {
        self.mismatch(
            op,
            s,
            format!(
                "sent {} ({}) #{} while this rank runs {} ({}) #{}",
                kind_name(h.kind),
                alg_name(h.alg),
                h.seq,
                op.coll.name(),
                op.alg.name(),
                op.seq as u16
            ),
        )
    }

    /// Ring position of the `m`-th slot.
    #[inline(always)]
    fn ring_index(&self, m: u64) -> usize {
        match self.nl_mask {
            Some(mask) => (m & mask) as usize,
            None => (m % self.nl) as usize,
        }
    }

    /// Payload bytes of one slot.
    pub(crate) fn slot_capacity(&self) -> usize {
        self.cap
    }

    fn link(&self, q: usize) -> Result<&Link> {
        self.links
            .get(q)
            .and_then(Option::as_ref)
            .ok_or_else(|| CollError::Mismatch {
                rank: q,
                collective: "channel",
                seq: 0,
                detail: format!("rank {} has no channel to rank {q}", self.me),
            })
    }

    /// Stores this op's sequence number as completed (DONE, diagnostics).
    pub(crate) fn set_done(&self, seq: u64) {
        let _ = self
            .own
            .store_u64(self.layout.done(), seq, Ordering::Release);
    }

    /// Records a failure in the FAILED word and wakes every peer so that sleepers probe.
    pub(crate) fn fail(&self, f: Failure) {
        let _ = self
            .own
            .store_u64(self.layout.failed(), f.encode(), Ordering::SeqCst);
        for l in self.links.iter().flatten() {
            let _ = l.imp().signal_post(SIGPOST_NO_ACCUMULATE);
        }
    }

    fn rank_failed(&self, op: &Op, rank: usize, reason: FailReason) -> CollError {
        CollError::RankFailed {
            rank,
            reason,
            collective: op.coll.name(),
            seq: op.seq,
            detected_by: self.me,
        }
    }

    /// An rsm-core error on `q`'s segment: a lost connection is `q`'s failure.
    fn peer_error(&self, op: &Op, q: usize, what: &'static str, e: RsmError) -> CollError {
        if e.kind() == ErrorKind::ConnAborted {
            self.gone(op, q)
        } else {
            link_err(q, what, e)
        }
    }

    /// `q`'s segment is gone: it freed the communicator (departed bit) or died.
    fn gone(&self, op: &Op, q: usize) -> CollError {
        let departed = self.lock.as_ref().is_some_and(|l| l.departed(q));
        let reason = if departed {
            FailReason::Departed
        } else {
            FailReason::RankDied
        };
        self.rank_failed(op, q, reason)
    }

    /// Checks that `q` is alive and has not failed; adopts the culprit `q` recorded.
    pub(crate) fn probe(&self, op: &Op, q: usize) -> Result<()> {
        let link = self.link(q)?;
        match link.load_word(self.layout.failed()) {
            Ok(w) => {
                if let Some(f) = Failure::decode(w) {
                    return Err(self.rank_failed(op, f.rank as usize, f.reason));
                }
            }
            Err(e) => return Err(self.peer_error(op, q, "probe", e)),
        }
        link.imp()
            .check_connection()
            .map_err(|e| self.peer_error(op, q, "probe", e))
    }

    /// Wakes `q` if it announced a sleep waiting for us.
    ///
    /// No fence between our store into `q`'s segment and this load (it would stall the
    /// sender for a whole cache-line transfer on every message): in the rare race where `q`
    /// announces its sleep and re-checks while our store is still in the store buffer, `q`
    /// sleeps until the end of its slice (at most `RSM_COLL_SLEEP_MAX_MS`), never longer.
    #[inline(always)]
    fn wake(&self, q: usize) -> Result<()> {
        // `q < p` (it has a link), so the offset lies in the SLEEP region.
        let off = self.sleep_base + 8 * q;
        let w = self
            .own
            .load_u64(off, Ordering::Relaxed)
            .map_err(|e| CollError::rsm(None, "wake", e))?;
        if w != 0 {
            let _ = self.link(q)?.imp().signal_post(SIGPOST_NO_ACCUMULATE);
        }
        Ok(())
    }

    #[inline(always)]
    fn has_credit(&self, q: usize) -> Result<bool> {
        let m = self.sent[q].get();
        if m - self.credit[q].get() < self.nl {
            return Ok(true);
        }
        let off = self
            .layout
            .credit(q)
            .map_err(|e| CollError::layout("credit", e))?;
        let c = self
            .own
            .load_u64(off, Ordering::Acquire)
            .map_err(|e| CollError::rsm(None, "credit", e))?
            .max(self.credit[q].get());
        self.credit[q].set(c);
        Ok(m - c < self.nl)
    }

    /// Sends the next slot of `out` if `out.to` has credit; `Ok(false)` otherwise.
    fn try_send(&self, op: &Op, out: &mut Out<'_>) -> Result<bool> {
        let q = out.to;
        if !self.has_credit(q)? {
            return Ok(false);
        }
        let m = self.sent[q].get();
        let end = out.data.len().min(out.pos + self.cap);
        let piece = &out.data[out.pos..end];
        let last = end == out.data.len();
        let hdr = op.header(piece.len(), last).encode();
        let consumed = self.recvd[q].get();
        let slot = self.out_base + self.ring_index(m) * self.stride;
        let link = self.link(q)?;
        let res = if piece.len() <= INLINE_MAX {
            // The header line up to the stamp, as words: one fixed-size copy.
            let mut line = [0u64; SLOT_STAMP_OFF / 8];
            let words = pack_inline(piece).map_err(|e| CollError::layout("send", e))?;
            line[..INLINE_WORDS].copy_from_slice(&words);
            line[SLOT_CREDIT_OFF / 8] = consumed;
            line[SLOT_HEADER_OFF / 8] = hdr;
            link.write(slot, bytemuck::cast_slice(&line))
        } else {
            let mut tail = [0u8; 16];
            tail[..8].copy_from_slice(&consumed.to_ne_bytes());
            tail[8..].copy_from_slice(&hdr.to_ne_bytes());
            link.write(slot + LAND_HEADER, piece)
                .and_then(|()| link.write(slot + SLOT_CREDIT_OFF, &tail))
        }
        .and_then(|()| link.publish(slot + SLOT_STAMP_OFF, m + 1));
        res.map_err(|e| self.peer_error(op, q, "send", e))?;
        self.sent[q].set(m + 1);
        self.reported[q].set(consumed);
        out.pos = end;
        out.done = last;
        self.wake(q)?;
        Ok(true)
    }

    fn mismatch(&self, op: &Op, from: usize, detail: String) -> CollError {
        CollError::Mismatch {
            rank: from,
            collective: op.coll.name(),
            seq: op.seq,
            detail,
        }
    }

    /// Whether the next slot from `s` has arrived.
    #[inline(always)]
    fn arrived(&self, s: usize) -> Result<Option<usize>> {
        let m = self.recvd[s].get();
        let slot = self.out_base_of(s) + self.ring_index(m) * self.stride;
        let st = self
            .own
            .load_u64(slot + SLOT_STAMP_OFF, Ordering::Acquire)
            .map_err(|e| CollError::rsm(None, "receive", e))?;
        if st == m + 1 {
            Ok(Some(slot))
        } else if st > m + 1 && st <= m + self.nl {
            Err(CollError::Mismatch {
                rank: s,
                collective: "channel",
                seq: 0,
                detail: format!("slot stamp {st} while expecting {}", m + 1),
            })
        } else {
            Ok(None)
        }
    }

    #[inline]
    fn out_base_of(&self, s: usize) -> usize {
        self.land_base + s * self.nl as usize * self.stride
    }

    /// Receives the next slot of `inp` if it has arrived; `Ok(false)` otherwise.
    fn try_recv(&self, op: &Op, inp: &mut In<'_>) -> Result<bool> {
        let s = inp.from;
        let Some(slot) = self.arrived(s)? else {
            return Ok(false);
        };
        let h = SlotHeader::decode(
            self.own
                .load_u64(slot + SLOT_HEADER_OFF, Ordering::Relaxed)
                .map_err(|e| CollError::rsm(None, "receive", e))?,
        );
        let end = inp.buf.len().min(inp.pos + self.cap);
        let want = end - inp.pos;
        let last = end == inp.buf.len();
        let expect = op.header(want, last);
        if h != expect {
            if (h.kind, h.alg, h.seq) != (expect.kind, expect.alg, expect.seq) {
                return Err(self.other_op(op, s, h));
            }
            let detail = if h.len != expect.len {
                format!(
                    "sent a piece of {} bytes, expected {} (message of {} bytes; counts differ)",
                    h.len,
                    expect.len,
                    inp.buf.len()
                )
            } else {
                format!(
                    "message length differs (this rank expects {} bytes; counts differ)",
                    inp.buf.len()
                )
            };
            return Err(self.mismatch(op, s, detail));
        }
        let dst = &mut inp.buf[inp.pos..end];
        let rx = |e| CollError::rsm(None, "receive", e);
        if want <= INLINE_MAX {
            // Word loads from the line we already hold: no `memcpy` call on the small path.
            let mut words = [0u64; INLINE_WORDS];
            for (i, w) in words.iter_mut().take(want.div_ceil(8)).enumerate() {
                *w = self
                    .own
                    .load_u64(slot + 8 * i, Ordering::Relaxed)
                    .map_err(rx)?;
            }
            unpack_inline(&words, dst).map_err(|e| CollError::layout("receive", e))?;
        } else if !dst.is_empty() {
            self.own.read(slot + LAND_HEADER, dst).map_err(rx)?;
        }
        let piggy = self
            .own
            .load_u64(slot + SLOT_CREDIT_OFF, Ordering::Relaxed)
            .map_err(|e| CollError::rsm(None, "receive", e))?;
        if piggy > self.credit[s].get() && piggy <= self.sent[s].get() {
            self.credit[s].set(piggy);
        }
        let m = self.recvd[s].get() + 1;
        self.recvd[s].set(m);
        if m - self.reported[s].get() >= self.report_every {
            let off = self
                .layout
                .credit(self.me)
                .map_err(|e| CollError::layout("credit", e))?;
            // A peer that already left needs no credit: ignore a failed store.
            let _ = self.link(s)?.store_word(off, m);
            self.reported[s].set(m);
            self.wake(s)?;
        }
        inp.pos = end;
        inp.done = last;
        Ok(true)
    }

    /// Moves every message of `outs` and `ins` (one algorithm phase). Messages to (from) the
    /// same peer go in list order; everything else interleaves slot by slot.
    pub(crate) fn exchange(&self, op: &Op, outs: &mut [Out<'_>], ins: &mut [In<'_>]) -> Result<()> {
        let dup_out = has_dups(outs.iter().map(|o| o.to));
        let dup_in = has_dups(ins.iter().map(|i| i.from));
        let mut waiter: Option<Waiter<MonotonicClock>> = None;
        let pre_spin = self.pre_spin();
        let mut idle = 0u32;
        loop {
            let mut progressed = false;
            let mut pending = false;
            for i in 0..outs.len() {
                if outs[i].done {
                    continue;
                }
                pending = true;
                if dup_out && outs[..i].iter().any(|o| !o.done && o.to == outs[i].to) {
                    continue;
                }
                while !outs[i].done && self.try_send(op, &mut outs[i])? {
                    progressed = true;
                }
            }
            for i in 0..ins.len() {
                if ins[i].done {
                    continue;
                }
                pending = true;
                if dup_in && ins[..i].iter().any(|x| !x.done && x.from == ins[i].from) {
                    continue;
                }
                while !ins[i].done && self.try_recv(op, &mut ins[i])? {
                    progressed = true;
                }
            }
            if !pending {
                return Ok(());
            }
            if progressed {
                waiter = None;
                idle = 0;
                continue;
            }
            if idle < pre_spin {
                idle += 1;
                continue;
            }
            let w = waiter.get_or_insert_with(|| Waiter::new(&self.policy, MonotonicClock::new()));
            match w.next_action() {
                Action::Spin => hint::spin_loop(),
                Action::Yield => std::thread::yield_now(),
                Action::Sleep(d) => {
                    let peers = blocked(outs, ins);
                    self.sleep(op, d, &peers, || self.any_ready(outs, ins))?;
                    self.probe_blocked(op, outs, ins)?;
                }
                Action::Probe => self.probe_blocked(op, outs, ins)?,
                Action::TimedOut => {
                    let waited = w.elapsed();
                    let peers = blocked(outs, ins);
                    return Err(CollError::Timeout {
                        waiting_for: peers.first().copied().unwrap_or(self.me),
                        collective: op.coll.name(),
                        seq: op.seq,
                        waited,
                    });
                }
            }
        }
    }

    /// Probes every peer the exchange waits for. A peer found gone may have written what we
    /// wait for just before it left (and completed its part): then the exchange goes on,
    /// and fails only when it needs more from that peer.
    ///
    /// A peer we wait for a message from that has *signalled* this op or a later one (the
    /// two-rank barrier, [`signal`](Self::signal)) runs something else: it stores a signal
    /// only after every message of its earlier ops, so the message would be here.
    fn probe_blocked(&self, op: &Op, outs: &[Out<'_>], ins: &[In<'_>]) -> Result<()> {
        for i in ins.iter().filter(|i| !i.done) {
            let s = i.from;
            let w = self.peer_seq(s)?;
            if op.seq > 0 && w >= op.seq && self.arrived(s)?.is_none() {
                return Err(self.mismatch(
                    op,
                    s,
                    format!(
                        "signalled op #{w} without a message while this rank runs {} ({}) #{}",
                        op.coll.name(),
                        op.alg.name(),
                        op.seq
                    ),
                ));
            }
        }
        for q in blocked(outs, ins) {
            if let Err(e) = self.probe(op, q) {
                if self.any_ready(outs, ins)? {
                    return Ok(());
                }
                return Err(e);
            }
        }
        Ok(())
    }

    fn any_ready(&self, outs: &[Out<'_>], ins: &[In<'_>]) -> Result<bool> {
        for o in outs.iter().filter(|o| !o.done) {
            if self.has_credit(o.to)? {
                return Ok(true);
            }
        }
        for i in ins.iter().filter(|i| !i.done) {
            if self.arrived(i.from)?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Sleeps up to `d` on this rank's own signal after announcing the sleep to `peers`
    /// (docs/collectives.md "Waking sleepers"); returns early on a post.
    fn sleep(
        &self,
        op: &Op,
        d: Duration,
        peers: &[usize],
        ready: impl Fn() -> Result<bool>,
    ) -> Result<()> {
        let off = self
            .layout
            .sleep(self.me)
            .map_err(|e| CollError::layout("sleep", e))?;
        for &q in peers {
            self.link(q)?
                .store_word(off, 1)
                .map_err(|e| self.peer_error(op, q, "sleep", e))?;
        }
        fence(Ordering::SeqCst);
        let r = if ready()? {
            Ok(())
        } else {
            match self.seg.as_ref().map(|s| s.signal_wait(Some(d))) {
                Some(Err(e))
                    if !matches!(e.kind(), ErrorKind::Timeout | ErrorKind::Interrupted) =>
                {
                    Err(CollError::rsm(None, "signal_wait", e))
                }
                _ => Ok(()),
            }
        };
        for &q in peers {
            self.link(q)?
                .store_word(off, 0)
                .map_err(|e| self.peer_error(op, q, "sleep", e))?;
        }
        r
    }

    /// [`exchange`](Self::exchange) of messages produced by iterators; up to 8 in each
    /// direction without allocating.
    pub(crate) fn exchange_iter<'a, 'b>(
        &self,
        op: &Op,
        outs: impl Iterator<Item = Out<'a>>,
        ins: impl Iterator<Item = In<'b>>,
    ) -> Result<()> {
        let at_most = |h: (usize, Option<usize>), k: usize| h.1.is_some_and(|n| n <= k);
        if at_most(outs.size_hint(), 1) && at_most(ins.size_hint(), 1) {
            let mut o: Vec<Out<'a>> = Vec::new();
            let mut i: Vec<In<'b>> = Vec::new();
            return match (outs.last(), ins.last()) {
                (Some(a), Some(b)) => self.exchange(op, &mut [a], &mut [b]),
                (Some(a), None) => self.exchange(op, &mut [a], &mut i),
                (None, Some(b)) => self.exchange(op, &mut o, &mut [b]),
                (None, None) => self.exchange(op, &mut o, &mut i),
            };
        }
        if at_most(outs.size_hint(), SMALL) && at_most(ins.size_hint(), SMALL) {
            let mut oa: [Out<'a>; SMALL] = core::array::from_fn(|_| Out::none());
            let mut ia: [In<'b>; SMALL] = core::array::from_fn(|_| In::none());
            let mut no = 0;
            for (slot, o) in oa.iter_mut().zip(outs) {
                *slot = o;
                no += 1;
            }
            let mut ni = 0;
            for (slot, i) in ia.iter_mut().zip(ins) {
                *slot = i;
                ni += 1;
            }
            self.exchange(op, &mut oa[..no], &mut ia[..ni])
        } else {
            let mut ov: Vec<Out<'a>> = outs.collect();
            let mut iv: Vec<In<'b>> = ins.collect();
            self.exchange(op, &mut ov, &mut iv)
        }
    }

    /// Sends one message (see [`exchange`](Self::exchange)).
    pub(crate) fn send(&self, op: &Op, to: usize, data: &[u8]) -> Result<()> {
        self.exchange(op, &mut [Out::new(to, data)], &mut [])
    }

    /// Receives one message of exactly `buf.len()` bytes.
    pub(crate) fn recv(&self, op: &Op, from: usize, buf: &mut [u8]) -> Result<()> {
        self.exchange(op, &mut [], &mut [In::new(from, buf)])
    }

    /// Sends one message and receives one, interleaved.
    ///
    /// Two one-line messages (the two-rank allreduce of a few bytes, dissemination rounds)
    /// take a short way: the line goes out first, then the reply is polled for the pre-spin;
    /// only a message that is not there by then goes through [`exchange`](Self::exchange)
    /// (waiting policy, probes, timeout), which skips what is already done.
    pub(crate) fn sendrecv(
        &self,
        op: &Op,
        to: usize,
        data: &[u8],
        from: usize,
        buf: &mut [u8],
    ) -> Result<()> {
        let mut out = [Out::new(to, data)];
        let mut inp = [In::new(from, buf)];
        if data.len() <= INLINE_MAX
            && inp[0].buf.len() <= INLINE_MAX
            && self.try_send(op, &mut out[0])?
        {
            for _ in 0..self.pre_spin() {
                if self.try_recv(op, &mut inp[0])? {
                    return Ok(());
                }
                hint::spin_loop();
            }
        }
        self.exchange(op, &mut out, &mut inp)
    }

    /// Signals `q` without a message: stores this op's sequence number into our `SEQ` word
    /// in `q`'s segment (and wakes `q` if it sleeps). The receiver waits with
    /// [`wait_signal`](Self::wait_signal).
    pub(crate) fn signal(&self, op: &Op, q: usize) -> Result<()> {
        let off = self.seq_word(self.me);
        // Ordered after every earlier message to `q` (the mismatch checks rely on it).
        self.link(q)?
            .publish(off, op.seq)
            .map_err(|e| self.peer_error(op, q, "signal", e))?;
        self.wake(q)
    }

    /// Whether `s` has signalled this op (or a later one: after seeing our signal, `s` may
    /// have left and signalled its next op already).
    ///
    /// `s` stores its signal before any message of a later op and completes no other op
    /// without sending us a message, so a message from `s` that belongs to this op means
    /// `s` runs something else: [`CollError::Mismatch`].
    #[inline]
    fn signalled(&self, op: &Op, s: usize) -> Result<bool> {
        let w = self.peer_seq(s)?;
        if w == op.seq {
            return Ok(true);
        }
        let Some(slot) = self.arrived(s)? else {
            return Ok(w > op.seq);
        };
        let h = SlotHeader::decode(
            self.own
                .load_u64(slot + SLOT_HEADER_OFF, Ordering::Relaxed)
                .map_err(|e| CollError::rsm(None, "wait", e))?,
        );
        // Re-read: a signal stored before the message we just saw is visible now.
        if self.peer_seq(s)? >= op.seq && h.seq != op.seq as u16 {
            return Ok(true);
        }
        Err(self.other_op(op, s, h))
    }

    /// Waits (with the communicator's policy, probes and timeout) until `s` has signalled
    /// this op.
    pub(crate) fn wait_signal(&self, op: &Op, s: usize) -> Result<()> {
        // The pre-spin polls the SEQ word alone (one load per poll); a message from `s` is
        // looked at once the wait goes on (`signalled` below), so a mismatch is still found.
        let pre_spin = self.pre_spin();
        for _ in 0..pre_spin {
            if self.peer_seq(s)? >= op.seq && self.signalled(op, s)? {
                return Ok(());
            }
            hint::spin_loop();
        }
        let mut w = Waiter::new(&self.policy, MonotonicClock::new());
        loop {
            if self.signalled(op, s)? {
                return Ok(());
            }
            match w.next_action() {
                Action::Spin => hint::spin_loop(),
                Action::Yield => std::thread::yield_now(),
                Action::Sleep(d) => {
                    self.sleep(op, d, &[s], || self.signalled(op, s))?;
                    self.probe_signal(op, s)?;
                }
                Action::Probe => self.probe_signal(op, s)?,
                Action::TimedOut => {
                    return Err(CollError::Timeout {
                        waiting_for: s,
                        collective: op.coll.name(),
                        seq: op.seq,
                        waited: w.elapsed(),
                    });
                }
            }
        }
    }

    /// The first of `ranks` whose signal of this op has not reached `at`'s segment, if any
    /// (a slow path: it reads `at`'s segment). A rank that waits for `at`, which itself waits
    /// for others, names the one that is late instead of `at`.
    pub(crate) fn first_unsignalled(
        &self,
        op: &Op,
        at: usize,
        mut ranks: impl Iterator<Item = usize>,
    ) -> Option<usize> {
        let link = self.link(at).ok()?;
        ranks.find(|&q| link.load_word(self.seq_word(q)).is_ok_and(|w| w < op.seq))
    }

    /// Probes `s`; a peer found gone may have signalled just before it left.
    fn probe_signal(&self, op: &Op, s: usize) -> Result<()> {
        match self.probe(op, s) {
            Err(e) if !self.signalled(op, s)? => Err(e),
            _ => Ok(()),
        }
    }

    /// A dissemination barrier outside the op sequence (op seq 0): the last step of creating a
    /// communicator, so that no rank uses or leaves it before every rank has connected.
    pub(crate) fn sync(&self) -> Result<()> {
        let op = Op {
            seq: 0,
            coll: Collective::Barrier,
            alg: Algorithm::Dissemination,
        };
        let (me, p) = (self.me, self.p);
        let mut d = 1;
        while d < p {
            self.sendrecv(&op, (me + d) % p, &[], (me + p - d) % p, &mut [])?;
            d *= 2;
        }
        Ok(())
    }

    /// Waits (with the communicator's policy and probes of every peer not yet departed)
    /// until `done()`; used by teardown. Gives up quietly on a failure or the timeout.
    pub(crate) fn wait_quietly(&self, mut done: impl FnMut() -> bool) {
        let op = Op {
            seq: 0,
            coll: Collective::Barrier,
            alg: Algorithm::Flat,
        };
        let mut w = Waiter::new(&self.policy, MonotonicClock::new());
        while !done() {
            match w.next_action() {
                Action::Spin => hint::spin_loop(),
                Action::Yield => std::thread::yield_now(),
                Action::Sleep(d) => std::thread::sleep(d),
                Action::Probe => {
                    for q in (0..self.p).filter(|&q| q != self.me) {
                        let gone = self.lock.as_ref().is_some_and(|l| l.departed(q));
                        if !gone && self.probe(&op, q).is_err() {
                            return;
                        }
                    }
                }
                Action::TimedOut => return,
            }
        }
    }

    /// Releases every connection and the segment (best effort).
    pub(crate) fn close(&mut self) {
        for l in self.links.drain(..).flatten() {
            l.close();
        }
        if let Some(s) = self.seg.take() {
            let _ = s.destroy();
        }
    }
}

impl Drop for Chan {
    fn drop(&mut self) {
        self.close();
        if let Some(l) = self.lock.take() {
            l.release();
        }
    }
}

/// The collective a slot header's `kind` names.
fn kind_name(k: u8) -> &'static str {
    Collective::ALL
        .get(k as usize)
        .map_or("an internal message", |c| c.name())
}

/// The algorithm a slot header's `alg` names.
fn alg_name(a: u8) -> &'static str {
    Algorithm::ALL.get(a as usize).map_or("?", |a| a.name())
}

fn has_dups(mut it: impl Iterator<Item = usize> + Clone) -> bool {
    let mut i = 0;
    while let Some(x) = it.next() {
        if it.clone().any(|y| y == x) {
            return true;
        }
        i += 1;
        if i > 4096 {
            // Long lists always take the careful path.
            return true;
        }
    }
    false
}

fn blocked(outs: &[Out<'_>], ins: &[In<'_>]) -> Vec<usize> {
    let mut v: Vec<usize> = outs
        .iter()
        .filter(|o| !o.done)
        .map(|o| o.to)
        .chain(ins.iter().filter(|i| !i.done).map(|i| i.from))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_detection() {
        assert!(!has_dups([1usize, 2, 3].into_iter()));
        assert!(has_dups([1usize, 2, 1].into_iter()));
        assert!(!has_dups(core::iter::empty::<usize>()));
        assert_eq!(lock_segment_size(8, 4096), 4096);
        assert_eq!(lock_segment_size(64 * 510, 4096), 4096);
        assert_eq!(lock_segment_size(64 * 511, 4096), 8192);
    }
}
