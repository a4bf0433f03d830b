//! barrier: `dissemination | flat | knomial`.

use crate::algo::Algorithm;
use crate::chan::{In, Out};
use crate::error::Result;
use crate::pattern::{Dissemination, KnomialTree};

use super::Ctx;

pub(crate) fn barrier(cx: &Ctx<'_>) -> Result<()> {
    let (me, p) = (cx.me, cx.p);
    if p == 1 {
        return Ok(());
    }
    match cx.op.alg {
        Algorithm::Flat => {
            if me == 0 {
                let mut ins: Vec<In<'_>> = (1..p).map(|q| In::new(q, &mut [])).collect();
                cx.exchange(&mut [], &mut ins)?;
                let mut outs: Vec<Out<'_>> = (1..p).map(|q| Out::new(q, &[])).collect();
                cx.exchange(&mut outs, &mut [])
            } else {
                cx.send(0, &[])?;
                cx.recv(0, &mut [])
            }
        }
        Algorithm::Knomial => {
            let node = KnomialTree::new(p, 0, cx.tuning.tree_radix)?.node(me)?;
            let mut ins: Vec<In<'_>> = node.children.iter().map(|&c| In::new(c, &mut [])).collect();
            cx.exchange(&mut [], &mut ins)?;
            if let Some(parent) = node.parent {
                cx.send(parent, &[])?;
                cx.recv(parent, &mut [])?;
            }
            let mut outs: Vec<Out<'_>> = node.children.iter().map(|&c| Out::new(c, &[])).collect();
            cx.exchange(&mut outs, &mut [])
        }
        _ => {
            let radix = cx.tuning.dissem_radix;
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
                let mut outs: Vec<Out<'_>> =
                    round.send_to.iter().map(|&q| Out::new(q, &[])).collect();
                let mut ins: Vec<In<'_>> = round
                    .recv_from
                    .iter()
                    .map(|&q| In::new(q, &mut []))
                    .collect();
                cx.exchange(&mut outs, &mut ins)?;
            }
            Ok(())
        }
    }
}
