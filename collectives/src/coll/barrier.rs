//! barrier: `dissemination | flat | knomial`.

use crate::algo::Algorithm;
use crate::chan::{In, Out};
use crate::error::{CollError, Result};
use crate::pattern::{Dissemination, KnomialTree};

use super::Ctx;

pub(crate) fn barrier(cx: &Ctx<'_>) -> Result<()> {
    let (me, p) = (cx.me, cx.p);
    if p == 1 {
        return Ok(());
    }
    match cx.op.alg {
        Algorithm::Flat => {
            // Sequence words, no message: everybody signals rank 0, which waits for all and
            // then signals everybody. Rank 0 leaves first (docs/collectives.md §5.1).
            if me == 0 {
                for q in 1..p {
                    cx.ch.wait_signal(&cx.op, q)?;
                }
                for q in 1..p {
                    cx.ch.signal(&cx.op, q)?;
                }
                Ok(())
            } else {
                cx.ch.signal(&cx.op, 0)?;
                cx.ch.wait_signal(&cx.op, 0).map_err(|mut e| {
                    // Rank 0 waits for somebody: name the rank that has not arrived.
                    if let CollError::Timeout { waiting_for, .. } = &mut e {
                        let others = (1..p).filter(|&q| q != me);
                        if let Some(q) = cx.ch.first_unsignalled(&cx.op, 0, others) {
                            *waiting_for = q;
                        }
                    }
                    e
                })
            }
        }
        Algorithm::Knomial => {
            let node = KnomialTree::new(p, 0, cx.tuning.tree_radix)?.node(me)?;
            let ins = node.children.iter().map(|&c| In::new(c, &mut []));
            cx.exchange_iter(core::iter::empty(), ins)?;
            if let Some(parent) = node.parent {
                cx.send(parent, &[])?;
                cx.recv(parent, &mut [])?;
            }
            let outs = node.children.iter().map(|&c| Out::new(c, &[]));
            cx.exchange_iter(outs, core::iter::empty())
        }
        _ => {
            if p == 2 {
                // One round between two ranks: no message, a sequence word each way.
                let peer = 1 - me;
                cx.ch.signal(&cx.op, peer)?;
                return cx.ch.wait_signal(&cx.op, peer);
            }
            let radix = cx.tuning.dissemination_radix(p, cx.oversubscribed);
            if radix == 2 {
                // The classic form without allocation: round k signals r + 2^k, waits for
                // r - 2^k.
                let mut d = 1;
                while d < p {
                    cx.sendrecv((me + d) % p, &[], (me + p - d) % p, &mut [])?;
                    d *= 2;
                }
                return Ok(());
            }
            for round in Dissemination::new(p, radix)?.plan(me)? {
                let outs = round.send_to.iter().map(|&q| Out::new(q, &[]));
                let ins = round.recv_from.iter().map(|&q| In::new(q, &mut []));
                cx.exchange_iter(outs, ins)?;
            }
            Ok(())
        }
    }
}
