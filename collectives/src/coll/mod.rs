//! The algorithms, written once on the message layer ([`crate::chan`]) for both data paths.
//! docs/collectives.md §5 describes each one.

pub(crate) mod barrier;
pub(crate) mod bcast;
pub(crate) mod gather;
pub(crate) mod reduce;
pub(crate) mod scan;

use core::ops::Range;

use bytemuck::Pod;

use crate::algo::Tuning;
use crate::args::ArgError;
use crate::chan::{Chan, In, Op, Out};
use crate::error::{CollError, Result};
use crate::pattern::PatternError;

/// Everything an algorithm needs for one call.
pub(crate) struct Ctx<'a> {
    pub(crate) ch: &'a Chan,
    pub(crate) op: Op,
    pub(crate) tuning: &'a Tuning,
    pub(crate) me: usize,
    pub(crate) p: usize,
    /// Some node of the communicator runs more ranks than it has CPUs (equal on all ranks).
    pub(crate) oversubscribed: bool,
}

impl Ctx<'_> {
    pub(crate) fn exchange(&self, outs: &mut [Out<'_>], ins: &mut [In<'_>]) -> Result<()> {
        self.ch.exchange(&self.op, outs, ins)
    }

    pub(crate) fn exchange_iter<'a, 'b>(
        &self,
        outs: impl Iterator<Item = Out<'a>>,
        ins: impl Iterator<Item = In<'b>>,
    ) -> Result<()> {
        self.ch.exchange_iter(&self.op, outs, ins)
    }

    pub(crate) fn send(&self, to: usize, data: &[u8]) -> Result<()> {
        self.ch.send(&self.op, to, data)
    }

    pub(crate) fn recv(&self, from: usize, buf: &mut [u8]) -> Result<()> {
        self.ch.recv(&self.op, from, buf)
    }

    pub(crate) fn sendrecv(
        &self,
        to: usize,
        data: &[u8],
        from: usize,
        buf: &mut [u8],
    ) -> Result<()> {
        self.ch.sendrecv(&self.op, to, data, from, buf)
    }

    /// Elements of `T` per reduction piece: one landing slot's worth (at least one element).
    pub(crate) fn piece<T>(&self) -> usize {
        match size_of::<T>() {
            0 => usize::MAX,
            sz => (self.ch.slot_capacity() / sz).max(1),
        }
    }
}

impl From<PatternError> for CollError {
    fn from(e: PatternError) -> Self {
        CollError::InvalidArgument(ArgError::new("communicator", e.to_string()))
    }
}

/// A scratch buffer of `len` elements: on the stack up to 512 bytes (and alignment 16),
/// else on the heap — small collectives allocate nothing.
pub(crate) struct Scratch<T> {
    stack: [u128; 32],
    heap: Vec<T>,
    len: usize,
    on_stack: bool,
}

impl<T: Pod> Scratch<T> {
    pub(crate) fn new(len: usize) -> Self {
        let sz = size_of::<T>();
        let on_stack =
            sz > 0 && align_of::<T>() <= 16 && len.checked_mul(sz).is_some_and(|b| b <= 512);
        Scratch {
            stack: [0; 32],
            heap: if on_stack {
                Vec::new()
            } else {
                vec![T::zeroed(); len]
            },
            len,
            on_stack,
        }
    }

    pub(crate) fn get(&mut self) -> &mut [T] {
        if self.on_stack {
            let b: &mut [u8] = bytemuck::cast_slice_mut(&mut self.stack);
            bytemuck::cast_slice_mut(&mut b[..self.len * size_of::<T>()])
        } else {
            &mut self.heap
        }
    }
}

/// The bytes of a `Pod` slice (empty for zero-sized types).
pub(crate) fn bytes<T: Pod>(x: &[T]) -> &[u8] {
    if size_of::<T>() == 0 {
        &[]
    } else {
        bytemuck::cast_slice(x)
    }
}

/// The bytes of a mutable `Pod` slice (empty for zero-sized types).
pub(crate) fn bytes_mut<T: Pod>(x: &mut [T]) -> &mut [u8] {
    if size_of::<T>() == 0 {
        &mut []
    } else {
        bytemuck::cast_slice_mut(x)
    }
}

/// The pieces of `n` elements, `k` at a time: at least one (empty) piece, so that a
/// zero-length call still exchanges one message per pair and stays in step.
pub(crate) fn pieces(n: usize, k: usize) -> impl Iterator<Item = Range<usize>> {
    let k = k.max(1);
    let count = n.div_ceil(k).max(1);
    (0..count).map(move |i| (i * k).min(n)..((i + 1).saturating_mul(k)).min(n))
}

/// Number of pieces of `n` elements, `k` at a time (at least one).
pub(crate) fn piece_count(n: usize, k: usize) -> usize {
    n.div_ceil(k.max(1)).max(1)
}

/// Piece `i` of `n` elements, `k` at a time.
pub(crate) fn piece_range(n: usize, k: usize, i: usize) -> Range<usize> {
    let k = k.max(1);
    (i.saturating_mul(k)).min(n)..((i + 1).saturating_mul(k)).min(n)
}

/// Disjoint mutable sub-slices of `buf` for `ranges`, returned in the order given. Empty
/// ranges give empty slices; overlapping or out-of-range ranges are refused.
pub(crate) fn split_ranges<'a, T>(
    buf: &'a mut [T],
    ranges: &[Range<usize>],
) -> Result<Vec<&'a mut [T]>> {
    let mut order: Vec<usize> = (0..ranges.len()).collect();
    order.sort_by_key(|&i| (ranges[i].start, ranges[i].end));
    let mut out: Vec<Option<&'a mut [T]>> = (0..ranges.len()).map(|_| None).collect();
    let mut rest = buf;
    let mut base = 0usize;
    for i in order {
        let r = &ranges[i];
        if r.is_empty() {
            out[i] = Some(&mut []);
            continue;
        }
        if r.start < base || r.end > base + rest.len() {
            return Err(CollError::InvalidArgument(ArgError::new(
                "blocks",
                format!(
                    "block {}..{} overlaps another or exceeds the buffer",
                    r.start, r.end
                ),
            )));
        }
        let (_, tail) = core::mem::take(&mut rest).split_at_mut(r.start - base);
        let (mine, tail) = tail.split_at_mut(r.len());
        out[i] = Some(mine);
        rest = tail;
        base = r.end;
    }
    Ok(out.into_iter().map(|s| s.unwrap_or(&mut [])).collect())
}

/// A shared block and a mutable block of one buffer (disjoint ranges).
pub(crate) fn split_two<T>(
    buf: &mut [T],
    shared: Range<usize>,
    mutable: Range<usize>,
) -> Result<(&[T], &mut [T])> {
    let mut v = split_ranges(buf, &[shared, mutable])?;
    let m = v.pop().unwrap_or(&mut []);
    let s = v.pop().unwrap_or(&mut []);
    Ok((s, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_everything_once() {
        assert_eq!(pieces(0, 4).collect::<Vec<_>>(), vec![0..0]);
        assert_eq!(pieces(3, 4).collect::<Vec<_>>(), vec![0..3]);
        assert_eq!(pieces(8, 4).collect::<Vec<_>>(), vec![0..4, 4..8]);
        assert_eq!(pieces(9, 4).collect::<Vec<_>>(), vec![0..4, 4..8, 8..9]);
        assert_eq!(piece_count(0, 4), 1);
        assert_eq!(piece_count(9, 4), 3);
        assert_eq!(piece_range(9, 4, 2), 8..9);
        assert_eq!(piece_range(9, 4, 5), 9..9);
        assert_eq!(pieces(5, usize::MAX).collect::<Vec<_>>(), vec![0..5]);
    }

    #[test]
    fn scratch_on_stack_and_heap() {
        let mut s = Scratch::<f64>::new(64);
        assert!(s.on_stack);
        assert_eq!(s.get().len(), 64);
        s.get()[63] = 1.5;
        assert_eq!(s.get()[63], 1.5);
        let mut h = Scratch::<f64>::new(65);
        assert!(!h.on_stack);
        assert_eq!(h.get().len(), 65);
        let mut z = Scratch::<()>::new(3);
        assert_eq!(z.get().len(), 3);
        let mut b = Scratch::<[u8; 3]>::new(170);
        assert_eq!(b.get().len(), 170);
    }

    #[test]
    fn split_ranges_is_disjoint_and_ordered() {
        let mut b: Vec<u32> = (0..10).collect();
        let v = split_ranges(&mut b, &[6..8, 0..2, 3..3, 2..5]).unwrap();
        assert_eq!(v.len(), 4);
        assert_eq!(&*v[0], &[6, 7]);
        assert_eq!(&*v[1], &[0, 1]);
        assert!(v[2].is_empty());
        assert_eq!(&*v[3], &[2, 3, 4]);
        assert!(split_ranges(&mut b, &[0..3, 2..4]).is_err());
        assert!(split_ranges(&mut b, &[8..11, 0..0]).is_err());
        let (s, m) = split_two(&mut b, 4..6, 0..2).unwrap();
        assert_eq!(s, &[4, 5]);
        m[0] = 99;
        assert_eq!(b[0], 99);
    }
}
