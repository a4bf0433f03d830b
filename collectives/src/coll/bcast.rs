//! bcast: `flat | knomial | scatter_allgather` (on bytes).

use crate::algo::Algorithm;
use crate::chan::Out;
use crate::error::Result;
use crate::pattern::{KnomialTree, ScatterAllgather};

use super::{Ctx, pieces, split_two};

pub(crate) fn bcast(cx: &Ctx<'_>, buf: &mut [u8], root: usize) -> Result<()> {
    let (me, p) = (cx.me, cx.p);
    if p == 1 {
        return Ok(());
    }
    match cx.op.alg {
        Algorithm::Knomial => {
            let node = KnomialTree::new(p, root, cx.tuning.tree_radix)?.node(me)?;
            // Pipelined: a node forwards each piece as soon as it has it.
            let chunk = cx.ch.slot_capacity() * 2;
            for r in pieces(buf.len(), chunk) {
                if let Some(parent) = node.parent {
                    cx.recv(parent, &mut buf[r.clone()])?;
                }
                if !node.children.is_empty() {
                    let piece = &buf[r];
                    let outs = node.children.iter().rev().map(|&c| Out::new(c, piece));
                    cx.exchange_iter(outs, core::iter::empty())?;
                }
            }
            Ok(())
        }
        Algorithm::ScatterAllgather => {
            let plan = ScatterAllgather::new(p, root, buf.len())?.plan(me)?;
            if let Some(parent) = plan.node.parent {
                cx.recv(parent, &mut buf[plan.scatter_recv.clone()])?;
            }
            {
                let data = &*buf;
                let outs = plan
                    .node
                    .children
                    .iter()
                    .zip(&plan.scatter_send)
                    .map(|(&c, r)| Out::new(c, &data[r.clone()]));
                cx.exchange_iter(outs, core::iter::empty())?;
            }
            for (send, recv) in &plan.ring_steps {
                let (s, r) = split_two(buf, send.clone(), recv.clone())?;
                cx.sendrecv(plan.ring_right, s, plan.ring_left, r)?;
            }
            Ok(())
        }
        _ => {
            if me == root {
                let data = &*buf;
                let outs = (1..p).map(|i| Out::new((root + i) % p, data));
                cx.exchange_iter(outs, core::iter::empty())
            } else {
                cx.recv(root, buf)
            }
        }
    }
}
