//! reduce (`flat | knomial | twoshot`), allreduce (`oneshot | twoshot | recursive_doubling |
//! ring`) and reduce_scatter(_block) (`flat | ring`).
//!
//! Every algorithm combines in the order of its schedule (`algo::reduction_schedule`): the
//! left operand is always the lower ranks' partial result, and which partial results meet
//! depends only on the communicator size, root and count — never on timing.

use std::borrow::Cow;
use std::ops::Range;

use bytemuck::Pod;

use crate::algo::Algorithm;
use crate::chan::{In, Out};
use crate::error::Result;
use crate::layout::INLINE_MAX;
use crate::ops::ReduceOp;
use crate::pattern::{Blocks, KnomialTree, RdPlan, RecursiveDoubling, Ring};

use super::{
    Ctx, Scratch, bytes, bytes_mut, piece_count, piece_range, pieces, split_ranges, split_two,
};

fn zeroed<T: Pod>(n: usize) -> Vec<T> {
    vec![T::zeroed(); n]
}

/// Receives one piece from every rank of `from` but `me` into `scratch` (rank `q`'s at
/// `q·len`) while sending `outs`, then folds the pieces of `from` in rank order into `out`
/// (this rank's piece is `own`). `scratch` holds at least `p·len` elements.
pub(crate) fn fold_piece<'o, T: Pod, O: ReduceOp<T>>(
    cx: &Ctx<'_>,
    outs: impl Iterator<Item = Out<'o>>,
    from: Range<usize>,
    scratch: &mut [T],
    own: &[T],
    out: &mut [T],
    op: &O,
) -> Result<()> {
    let me = cx.me;
    let len = own.len();
    if len == 0 {
        let ins = from
            .clone()
            .filter(|&q| q != me)
            .map(|q| In::new(q, &mut []));
        return cx.exchange_iter(outs, ins);
    }
    let ins = scratch[..cx.p * len]
        .chunks_mut(len)
        .enumerate()
        .filter(|(q, _)| from.contains(q) && *q != me)
        .map(|(q, s)| In::new(q, bytes_mut(s)));
    cx.exchange_iter(outs, ins)?;
    let piece = |q: usize| -> &[T] {
        if q == me {
            own
        } else {
            &scratch[q * len..(q + 1) * len]
        }
    };
    let mut ranks = from;
    if let Some(first) = ranks.next() {
        out.copy_from_slice(piece(first));
        for q in ranks {
            op.combine_left(out, piece(q))?;
        }
    }
    Ok(())
}

/// Reduce-scatter over `blocks` (one per rank): rank `me` folds block `me` of every rank's
/// `input` in rank order into `out`, piece by piece (one landing slot per message).
fn reduce_scatter_flat<T: Pod, O: ReduceOp<T>>(
    cx: &Ctx<'_>,
    input: &[T],
    blocks: &[Range<usize>],
    op: &O,
    out: &mut [T],
) -> Result<()> {
    let (me, p) = (cx.me, cx.p);
    let k = cx.piece::<T>();
    let mine = blocks[me].clone();
    let rounds = blocks
        .iter()
        .map(|b| piece_count(b.len(), k))
        .max()
        .unwrap_or(1);
    let stride = k.min(mine.len());
    let mut scratch = Scratch::<T>::new(p * stride);
    let scratch = scratch.get();
    for i in 0..rounds {
        let outs = (1..p)
            .map(|d| (me + d) % p)
            .filter(|&j| i < piece_count(blocks[j].len(), k))
            .map(|j| {
                let r = piece_range(blocks[j].len(), k, i);
                let b = blocks[j].start;
                Out::new(j, bytes(&input[b + r.start..b + r.end]))
            });
        if i < piece_count(mine.len(), k) {
            let r = piece_range(mine.len(), k, i);
            let own = &input[mine.start + r.start..mine.start + r.end];
            fold_piece(cx, outs, 0..p, scratch, own, &mut out[r], op)?;
        } else {
            cx.exchange_iter(outs, core::iter::empty())?;
        }
    }
    Ok(())
}

/// The result slices of a reduce-scatter: every rank sends its own to every other.
fn allgather_slices(cx: &Ctx<'_>, buf: &mut [u8], blocks: &[Range<usize>]) -> Result<()> {
    let (me, p) = (cx.me, cx.p);
    let mut parts = split_ranges(buf, blocks)?;
    let own: &[u8] = core::mem::take::<&mut [u8]>(&mut parts[me]);
    let outs = (1..p).map(|d| Out::new((me + d) % p, own));
    let ins = parts
        .into_iter()
        .enumerate()
        .filter(|(q, _)| *q != me)
        .map(|(q, s)| In::new(q, s));
    cx.exchange_iter(outs, ins)
}

fn byte_blocks<T>(blocks: &[Range<usize>]) -> Vec<Range<usize>> {
    let sz = size_of::<T>();
    blocks.iter().map(|b| b.start * sz..b.end * sz).collect()
}

fn twoshot_blocks<T>(n: usize, p: usize) -> Result<Vec<Range<usize>>> {
    let granule = match size_of::<T>() {
        0 => 1,
        sz => (64 / sz).max(1),
    };
    Ok(Blocks::aligned(n, p, granule)?.ranges())
}

pub(crate) fn reduce<T: Pod, O: ReduceOp<T>>(
    cx: &Ctx<'_>,
    send: Option<&[T]>,
    recv: &mut [T],
    op: &O,
    root: usize,
) -> Result<()> {
    let (me, p) = (cx.me, cx.p);
    if p == 1 {
        if let Some(s) = send {
            recv.copy_from_slice(s);
        }
        return Ok(());
    }
    let input: Cow<'_, [T]> = match send {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(recv.to_vec()),
    };
    let n = input.len();
    let k = cx.piece::<T>();
    match cx.op.alg {
        Algorithm::Knomial => {
            let node = KnomialTree::new(p, root, cx.tuning.tree_radix)?.node(me)?;
            let mut own_acc;
            let acc: &mut [T] = if me == root {
                recv.copy_from_slice(&input);
                recv
            } else {
                own_acc = input.to_vec();
                &mut own_acc
            };
            let nc = node.children.len();
            let stride = k.min(n);
            let mut scratch = Scratch::<T>::new(nc * stride);
            let scratch = scratch.get();
            for r in pieces(n, k) {
                let len = r.len();
                if len == 0 {
                    cx.exchange_iter(
                        core::iter::empty(),
                        node.children.iter().map(|&c| In::new(c, &mut [])),
                    )?;
                } else {
                    let ins = node
                        .children
                        .iter()
                        .zip(scratch.chunks_mut(len))
                        .map(|(&c, s)| In::new(c, bytes_mut(s)));
                    cx.exchange_iter(core::iter::empty(), ins)?;
                    for s in scratch[..nc * len].chunks(len) {
                        op.combine_left(&mut acc[r.clone()], s)?;
                    }
                }
                if let Some(parent) = node.parent {
                    cx.send(parent, bytes(&acc[r]))?;
                }
            }
            Ok(())
        }
        Algorithm::Twoshot => {
            let blocks = twoshot_blocks::<T>(n, p)?;
            let mut res = zeroed::<T>(blocks[me].len());
            reduce_scatter_flat(cx, &input, &blocks, op, &mut res)?;
            if me == root {
                let bb = byte_blocks::<T>(&blocks);
                let mut parts = split_ranges(bytes_mut(recv), &bb)?;
                parts[root].copy_from_slice(bytes(&res));
                let mut ins: Vec<In<'_>> = parts
                    .into_iter()
                    .enumerate()
                    .filter(|(q, _)| *q != root)
                    .map(|(q, s)| In::new(q, s))
                    .collect();
                cx.exchange(&mut [], &mut ins)
            } else {
                cx.send(root, bytes(&res))
            }
        }
        _ => {
            if me != root {
                let mut outs: Vec<Out<'_>> = pieces(n, k)
                    .map(|r| Out::new(root, bytes(&input[r])))
                    .collect();
                return cx.exchange(&mut outs, &mut []);
            }
            let stride = k.min(n);
            let mut scratch = Scratch::<T>::new(p * stride);
            let scratch = scratch.get();
            for r in pieces(n, k) {
                fold_piece(
                    cx,
                    core::iter::empty(),
                    0..p,
                    scratch,
                    &input[r.clone()],
                    &mut recv[r],
                    op,
                )?;
            }
            Ok(())
        }
    }
}

pub(crate) fn allreduce<T: Pod, O: ReduceOp<T>>(
    cx: &Ctx<'_>,
    send: Option<&[T]>,
    recv: &mut [T],
    op: &O,
) -> Result<()> {
    let (me, p) = (cx.me, cx.p);
    let n = recv.len();
    if p == 1 {
        if let Some(s) = send {
            recv.copy_from_slice(s);
        }
        return Ok(());
    }
    match cx.op.alg {
        Algorithm::Twoshot => {
            let input: Cow<'_, [T]> = match send {
                Some(s) => Cow::Borrowed(s),
                None => Cow::Owned(recv.to_vec()),
            };
            let blocks = twoshot_blocks::<T>(n, p)?;
            reduce_scatter_flat(cx, &input, &blocks, op, &mut recv[blocks[me].clone()])?;
            allgather_slices(cx, bytes_mut(recv), &byte_blocks::<T>(&blocks))
        }
        Algorithm::RecursiveDoubling => {
            if let Some(s) = send {
                recv.copy_from_slice(s);
            }
            match RecursiveDoubling::new(p)?.plan(me)? {
                RdPlan::Extra { partner } => {
                    cx.send(partner, bytes(recv))?;
                    cx.recv(partner, bytes_mut(recv))
                }
                RdPlan::Active { folded, rounds, .. } => {
                    let mut tmp = zeroed::<T>(n);
                    if let Some(f) = folded {
                        cx.recv(f, bytes_mut(&mut tmp))?;
                        op.combine_right(&tmp, recv)?;
                    }
                    for round in rounds {
                        cx.sendrecv(
                            round.partner,
                            bytes(recv),
                            round.partner,
                            bytes_mut(&mut tmp),
                        )?;
                        if round.mine_is_left {
                            op.combine_left(recv, &tmp)?;
                        } else {
                            op.combine_right(&tmp, recv)?;
                        }
                    }
                    if let Some(f) = folded {
                        cx.send(f, bytes(recv))?;
                    }
                    Ok(())
                }
            }
        }
        Algorithm::Ring => {
            if let Some(s) = send {
                recv.copy_from_slice(s);
            }
            let blocks = Blocks::even(n, p)?.ranges();
            ring_reduce_scatter(cx, recv, &blocks, op)?;
            let ring = Ring::new(p)?;
            let (left, right) = (ring.left(me)?, ring.right(me)?);
            let bb = byte_blocks::<T>(&blocks);
            let buf = bytes_mut(recv);
            for s in 0..ring.steps() {
                let st = ring.allgather_step(me, s)?;
                let (out, inp) =
                    split_two(buf, bb[st.send_block].clone(), bb[st.recv_block].clone())?;
                cx.sendrecv(right, out, left, inp)?;
            }
            Ok(())
        }
        _ if p == 2
            && size_of::<T>() > 0
            && size_of_val(recv) <= INLINE_MAX
            && align_of::<T>() <= 16 =>
        {
            // oneshot between two ranks, one line each way, nothing allocated.
            let peer = 1 - me;
            let mut lines = [0u128; 6];
            let (a, b) = lines.split_at_mut(3);
            let nb = size_of_val(recv);
            let theirs: &mut [T] =
                bytemuck::cast_slice_mut(&mut bytemuck::cast_slice_mut::<u128, u8>(a)[..nb]);
            let own: &[T] = match send {
                Some(s) => s,
                None => {
                    let c: &mut [T] = bytemuck::cast_slice_mut(
                        &mut bytemuck::cast_slice_mut::<u128, u8>(b)[..nb],
                    );
                    c.copy_from_slice(recv);
                    c
                }
            };
            cx.sendrecv(peer, bytes(own), peer, bytes_mut(theirs))?;
            if me == 0 {
                op.combine_into(recv, own, theirs)?;
            } else {
                op.combine_into(recv, theirs, own)?;
            }
            Ok(())
        }
        _ => {
            // oneshot: every rank sends its input to all and folds all inputs in rank order.
            let k = cx.piece::<T>();
            let stride = k.min(n);
            let mut scratch = Scratch::<T>::new((p + 1) * stride);
            let (scratch, own_copy) = scratch.get().split_at_mut(p * stride);
            for r in pieces(n, k) {
                let own: &[T] = match send {
                    Some(s) => &s[r.clone()],
                    None => {
                        own_copy[..r.len()].copy_from_slice(&recv[r.clone()]);
                        &own_copy[..r.len()]
                    }
                };
                let outs = (1..p).map(|d| Out::new((me + d) % p, bytes(own)));
                fold_piece(cx, outs, 0..p, scratch, own, &mut recv[r], op)?;
            }
            Ok(())
        }
    }
}

/// The ring reduce-scatter in place in `acc` (every rank's full vector): afterwards block
/// `me` of `acc` holds the reduction along `Ring::reduce_block_chain(me)`.
fn ring_reduce_scatter<T: Pod, O: ReduceOp<T>>(
    cx: &Ctx<'_>,
    acc: &mut [T],
    blocks: &[Range<usize>],
    op: &O,
) -> Result<()> {
    let me = cx.me;
    let ring = Ring::new(cx.p)?;
    let (left, right) = (ring.left(me)?, ring.right(me)?);
    let maxb = blocks.iter().map(|b| b.len()).max().unwrap_or(0);
    let mut tmp = zeroed::<T>(maxb);
    for s in 0..ring.steps() {
        let st = ring.reduce_scatter_step(me, s)?;
        let rb = blocks[st.recv_block].clone();
        let t = &mut tmp[..rb.len()];
        cx.sendrecv(
            right,
            bytes(&acc[blocks[st.send_block].clone()]),
            left,
            bytes_mut(t),
        )?;
        op.combine_right(t, &mut acc[rb])?;
    }
    Ok(())
}

/// reduce_scatter with per-rank `counts`; in place (`send` = `None`) the input is `recv`
/// (`sum(counts)` elements) and the result its first `counts[me]` elements.
pub(crate) fn reduce_scatter<T: Pod, O: ReduceOp<T>>(
    cx: &Ctx<'_>,
    send: Option<&[T]>,
    recv: &mut [T],
    counts: &[usize],
    op: &O,
) -> Result<()> {
    let (me, p) = (cx.me, cx.p);
    let mut blocks = Vec::with_capacity(p);
    let mut start = 0;
    for &c in counts {
        blocks.push(start..start + c);
        start += c;
    }
    let mine = counts[me];
    if p == 1 {
        if let Some(s) = send {
            recv.copy_from_slice(s);
        }
        return Ok(());
    }
    match cx.op.alg {
        Algorithm::Ring => {
            let mut acc: Vec<T> = match send {
                Some(s) => s.to_vec(),
                None => recv.to_vec(),
            };
            ring_reduce_scatter(cx, &mut acc, &blocks, op)?;
            recv[..mine].copy_from_slice(&acc[blocks[me].clone()]);
            Ok(())
        }
        _ => {
            let input: Cow<'_, [T]> = match send {
                Some(s) => Cow::Borrowed(s),
                None => Cow::Owned(recv.to_vec()),
            };
            reduce_scatter_flat(cx, &input, &blocks, op, &mut recv[..mine])
        }
    }
}
