//! gather(v), scatter(v), allgather(v) and alltoall(v) — on bytes (`T` is erased by the
//! caller; every range here is in bytes).

use std::borrow::Cow;
use std::ops::Range;

use crate::algo::Algorithm;
use crate::chan::{In, Out};
use crate::error::Result;
use crate::pattern::{Bruck, KnomialTree, Pairwise, Ring};

use super::{Ctx, split_ranges};

fn blocks(p: usize, n: usize) -> Vec<Range<usize>> {
    (0..p).map(|j| j * n..(j + 1) * n).collect()
}

/// Receives every rank's block but `skip`'s into `parts` (one per rank).
fn recv_parts<'o>(
    cx: &Ctx<'_>,
    outs: impl Iterator<Item = Out<'o>>,
    parts: Vec<&mut [u8]>,
    skip: usize,
) -> Result<()> {
    let ins = parts
        .into_iter()
        .enumerate()
        .filter(|(q, _)| *q != skip)
        .map(|(q, s)| In::new(q, s));
    cx.exchange_iter(outs, ins)
}

/// gather: `n` bytes per rank; `send` is `None` for an in-place root.
pub(crate) fn gather(
    cx: &Ctx<'_>,
    send: Option<&[u8]>,
    recv: &mut [u8],
    n: usize,
    root: usize,
) -> Result<()> {
    let (me, p) = (cx.me, cx.p);
    if cx.op.alg == Algorithm::Binomial && p > 1 {
        let tree = KnomialTree::binomial(p, root)?;
        let node = tree.node(me)?;
        let v = node.relative;
        let mut stage = vec![0u8; node.subtree.len() * n];
        match send {
            Some(s) => stage[..n].copy_from_slice(s),
            None => stage[..n].copy_from_slice(&recv[root * n..(root + 1) * n]),
        }
        let mut ranges = Vec::with_capacity(node.children.len());
        for &c in &node.children {
            let sub = tree.node(c)?.subtree;
            ranges.push((sub.start - v) * n..(sub.end - v) * n);
        }
        {
            let parts = split_ranges(&mut stage, &ranges)?;
            let mut ins: Vec<In<'_>> = node
                .children
                .iter()
                .zip(parts)
                .map(|(&c, s)| In::new(c, s))
                .collect();
            cx.exchange(&mut [], &mut ins)?;
        }
        return match node.parent {
            Some(parent) => cx.send(parent, &stage),
            None => {
                for t in 0..p {
                    let abs = tree.absolute(t);
                    recv[abs * n..(abs + 1) * n].copy_from_slice(&stage[t * n..(t + 1) * n]);
                }
                Ok(())
            }
        };
    }
    gatherv(cx, send, recv, &blocks(p, n), root)
}

/// gatherv: `ranges` (the root's receive blocks) are significant at the root only.
pub(crate) fn gatherv(
    cx: &Ctx<'_>,
    send: Option<&[u8]>,
    recv: &mut [u8],
    ranges: &[Range<usize>],
    root: usize,
) -> Result<()> {
    if cx.me != root {
        return cx.send(root, send.unwrap_or(&[]));
    }
    let mut parts = split_ranges(recv, ranges)?;
    if let Some(s) = send {
        parts[root].copy_from_slice(s);
    }
    recv_parts(cx, core::iter::empty(), parts, root)
}

/// scatter: `n` bytes per rank; `recv` is `None` for an in-place root.
pub(crate) fn scatter(
    cx: &Ctx<'_>,
    send: &[u8],
    recv: Option<&mut [u8]>,
    n: usize,
    root: usize,
) -> Result<()> {
    let (me, p) = (cx.me, cx.p);
    if cx.op.alg == Algorithm::Binomial && p > 1 {
        let tree = KnomialTree::binomial(p, root)?;
        let node = tree.node(me)?;
        let v = node.relative;
        let stage: Vec<u8> = match node.parent {
            None => {
                let mut s = vec![0u8; p * n];
                for t in 0..p {
                    let abs = tree.absolute(t);
                    s[t * n..(t + 1) * n].copy_from_slice(&send[abs * n..(abs + 1) * n]);
                }
                s
            }
            Some(parent) => {
                let mut s = vec![0u8; node.subtree.len() * n];
                cx.recv(parent, &mut s)?;
                s
            }
        };
        let mut outs = Vec::with_capacity(node.children.len());
        for &c in node.children.iter().rev() {
            let sub = tree.node(c)?.subtree;
            outs.push(Out::new(c, &stage[(sub.start - v) * n..(sub.end - v) * n]));
        }
        cx.exchange(&mut outs, &mut [])?;
        if let Some(r) = recv {
            r.copy_from_slice(&stage[..n]);
        }
        return Ok(());
    }
    let ranges = if me == root { blocks(p, n) } else { Vec::new() };
    scatterv(cx, send, &ranges, recv, root)
}

/// scatterv: `ranges` (blocks of the root's `send`) are significant at the root only.
pub(crate) fn scatterv(
    cx: &Ctx<'_>,
    send: &[u8],
    ranges: &[Range<usize>],
    recv: Option<&mut [u8]>,
    root: usize,
) -> Result<()> {
    let (me, p) = (cx.me, cx.p);
    if me != root {
        return cx.recv(root, recv.unwrap_or(&mut []));
    }
    let outs = (1..p)
        .map(|d| (root + d) % p)
        .map(|q| Out::new(q, &send[ranges[q].clone()]));
    cx.exchange_iter(outs, core::iter::empty())?;
    if let Some(r) = recv {
        r.copy_from_slice(&send[ranges[root].clone()]);
    }
    Ok(())
}

/// allgather(v): rank `j`'s block lands at `ranges[j]` of every `recv`; `send` is `None`
/// in place (the block is already there).
pub(crate) fn allgatherv(
    cx: &Ctx<'_>,
    send: Option<&[u8]>,
    recv: &mut [u8],
    ranges: &[Range<usize>],
) -> Result<()> {
    let (me, p) = (cx.me, cx.p);
    let mut parts = split_ranges(recv, ranges)?;
    if let Some(s) = send {
        parts[me].copy_from_slice(s);
    }
    if p == 1 {
        return Ok(());
    }
    match cx.op.alg {
        Algorithm::Ring => {
            let ring = Ring::new(p)?;
            let (left, right) = (ring.left(me)?, ring.right(me)?);
            for s in 0..ring.steps() {
                let st = ring.allgather_step(me, s)?;
                // A block is sent once (the step after it arrived): take it out for good;
                // the received block goes back, it is sent next step.
                let out: &[u8] = core::mem::take::<&mut [u8]>(&mut parts[st.send_block]);
                let inp: &mut [u8] = core::mem::take(&mut parts[st.recv_block]);
                cx.sendrecv(right, out, left, &mut *inp)?;
                parts[st.recv_block] = inp;
            }
            Ok(())
        }
        Algorithm::Bruck => {
            let n = ranges[me].len();
            let mut local = vec![0u8; p * n];
            local[..n].copy_from_slice(parts[me]);
            for round in Bruck::new(p)?.plan(me)? {
                let (a, b) = local.split_at_mut(round.distance * n);
                let c = round.count * n;
                cx.sendrecv(round.send_to, &a[..c], round.recv_from, &mut b[..c])?;
            }
            let bruck = Bruck::new(p)?;
            for (j, part) in parts.iter_mut().enumerate() {
                if j != me {
                    let pos = bruck.local_position(me, j)?;
                    part.copy_from_slice(&local[pos * n..(pos + 1) * n]);
                }
            }
            Ok(())
        }
        _ => {
            let own: &[u8] = core::mem::take::<&mut [u8]>(&mut parts[me]);
            let outs = (1..p).map(|d| Out::new((me + d) % p, own));
            recv_parts(cx, outs, parts, me)
        }
    }
}

/// The blocks of `recv` (`n > 0` bytes each) other than `me`'s, as receptions, and `me`'s own
/// block — without allocating (the small-message path of allgather and alltoall).
fn split_uniform(
    recv: &mut [u8],
    n: usize,
    me: usize,
) -> (&mut [u8], impl Iterator<Item = In<'_>>) {
    let (before, rest) = recv.split_at_mut(me * n);
    let (mine, after) = rest.split_at_mut(n);
    let ins = before
        .chunks_mut(n)
        .enumerate()
        .map(|(q, c)| In::new(q, c))
        .chain(
            after
                .chunks_mut(n)
                .enumerate()
                .map(move |(i, c)| In::new(me + 1 + i, c)),
        );
    (mine, ins)
}

/// allgather with `n` bytes per rank (`recv` holds `p·n`); `send` is `None` in place.
pub(crate) fn allgather(
    cx: &Ctx<'_>,
    send: Option<&[u8]>,
    recv: &mut [u8],
    n: usize,
) -> Result<()> {
    let (me, p) = (cx.me, cx.p);
    if n == 0 || p == 1 || matches!(cx.op.alg, Algorithm::Ring | Algorithm::Bruck) {
        return allgatherv(cx, send, recv, &blocks(p, n));
    }
    // Flat, as in allgatherv, with the blocks cut in place.
    let (mine, ins) = split_uniform(recv, n, me);
    if let Some(s) = send {
        mine.copy_from_slice(s);
    }
    let own: &[u8] = mine;
    let outs = (1..p).map(|d| Out::new((me + d) % p, own));
    cx.exchange_iter(outs, ins)
}

/// alltoall with `n` bytes per rank pair (`send` and `recv` hold `p·n`); `send` is `None` in
/// place.
pub(crate) fn alltoall(cx: &Ctx<'_>, send: Option<&[u8]>, recv: &mut [u8], n: usize) -> Result<()> {
    let (me, p) = (cx.me, cx.p);
    let send = match send {
        Some(s) if n > 0 && p > 1 && cx.op.alg != Algorithm::Pairwise => s,
        other => {
            let r = blocks(p, n);
            return alltoallv(cx, other.map(|s| (s, &r[..])), recv, &r);
        }
    };
    // Flat, as in alltoallv, with the blocks cut in place.
    let (mine, ins) = split_uniform(recv, n, me);
    mine.copy_from_slice(&send[me * n..(me + 1) * n]);
    let outs = (1..p)
        .map(|d| (me + d) % p)
        .map(|q| Out::new(q, &send[q * n..(q + 1) * n]));
    cx.exchange_iter(outs, ins)
}

/// alltoall(v): `send` = (buffer, blocks by destination), or `None` in place (the input is
/// `recv` with `rranges` as its layout).
pub(crate) fn alltoallv(
    cx: &Ctx<'_>,
    send: Option<(&[u8], &[Range<usize>])>,
    recv: &mut [u8],
    rranges: &[Range<usize>],
) -> Result<()> {
    let (me, p) = (cx.me, cx.p);
    let (input, sranges): (Cow<'_, [u8]>, &[Range<usize>]) = match send {
        Some((s, r)) => (Cow::Borrowed(s), r),
        None => (Cow::Owned(recv.to_vec()), rranges),
    };
    let mut parts = split_ranges(recv, rranges)?;
    parts[me].copy_from_slice(&input[sranges[me].clone()]);
    if p == 1 {
        return Ok(());
    }
    match cx.op.alg {
        Algorithm::Pairwise => {
            for st in Pairwise::new(p)?.plan(me)? {
                let inp: &mut [u8] = core::mem::take(&mut parts[st.recv_from]);
                cx.sendrecv(
                    st.send_to,
                    &input[sranges[st.send_to].clone()],
                    st.recv_from,
                    inp,
                )?;
            }
            Ok(())
        }
        _ => {
            let outs = (1..p)
                .map(|d| (me + d) % p)
                .map(|q| Out::new(q, &input[sranges[q].clone()]));
            recv_parts(cx, outs, parts, me)
        }
    }
}
