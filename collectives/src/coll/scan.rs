//! scan / exscan: `flat | linear | recursive_doubling`.

use std::borrow::Cow;

use bytemuck::Pod;

use crate::algo::Algorithm;
use crate::chan::{In, Out};
use crate::error::Result;
use crate::ops::ReduceOp;
use crate::pattern::HillisSteele;

use super::reduce::fold_piece;
use super::{Ctx, Scratch, bytes, bytes_mut, pieces};

/// Inclusive (`exclusive = false`) or exclusive prefix reduction; `send` is `None` in place.
/// Rank 0's buffer is left untouched by an exclusive scan.
pub(crate) fn scan<T: Pod, O: ReduceOp<T>>(
    cx: &Ctx<'_>,
    send: Option<&[T]>,
    recv: &mut [T],
    op: &O,
    exclusive: bool,
) -> Result<()> {
    let (me, p) = (cx.me, cx.p);
    let n = recv.len();
    if p == 1 {
        if let (Some(s), false) = (send, exclusive) {
            recv.copy_from_slice(s);
        }
        return Ok(());
    }
    let input: Cow<'_, [T]> = match send {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(recv.to_vec()),
    };
    let k = cx.piece::<T>();
    match cx.op.alg {
        Algorithm::Linear => {
            let stride = k.min(n);
            let mut prefix = vec![T::zeroed(); stride];
            let mut incl = vec![T::zeroed(); stride];
            for r in pieces(n, k) {
                let len = r.len();
                let x = &input[r.clone()];
                if me > 0 {
                    cx.recv(me - 1, bytes_mut(&mut prefix[..len]))?;
                    op.combine_into(&mut incl[..len], &prefix[..len], x)?;
                    if exclusive {
                        recv[r.clone()].copy_from_slice(&prefix[..len]);
                    } else {
                        recv[r.clone()].copy_from_slice(&incl[..len]);
                    }
                } else {
                    incl[..len].copy_from_slice(x);
                    if !exclusive {
                        recv[r.clone()].copy_from_slice(x);
                    }
                }
                if me + 1 < p {
                    cx.send(me + 1, bytes(&incl[..len]))?;
                }
            }
            Ok(())
        }
        Algorithm::RecursiveDoubling => {
            let mut incl = input.to_vec();
            let mut excl: Option<Vec<T>> = None;
            let mut tmp = vec![T::zeroed(); n];
            for round in HillisSteele::new(p)?.plan(me)? {
                let mut outs: Vec<Out<'_>> = round
                    .send_to
                    .iter()
                    .map(|&q| Out::new(q, bytes(&incl)))
                    .collect();
                let mut ins: Vec<In<'_>> = match round.recv_from {
                    Some(q) => vec![In::new(q, bytes_mut(&mut tmp))],
                    None => Vec::new(),
                };
                cx.exchange(&mut outs, &mut ins)?;
                drop(ins);
                if round.recv_from.is_some() {
                    excl = Some(match excl.take() {
                        None => tmp.clone(),
                        Some(mut e) => {
                            op.combine_right(&tmp, &mut e)?;
                            e
                        }
                    });
                    op.combine_right(&tmp, &mut incl)?;
                }
            }
            if exclusive {
                if let Some(e) = excl {
                    recv.copy_from_slice(&e);
                }
            } else {
                recv.copy_from_slice(&incl);
            }
            Ok(())
        }
        _ => {
            // flat: every rank sends its input to every higher rank and folds 0..=me
            // (0..me for exscan) in rank order.
            let stride = k.min(n);
            let mut scratch = Scratch::<T>::new(p * stride);
            let scratch = scratch.get();
            let from = if exclusive { 0..me } else { 0..me + 1 };
            for r in pieces(n, k) {
                let x = &input[r.clone()];
                let outs = (me + 1..p).map(|q| Out::new(q, bytes(x)));
                fold_piece(cx, outs, from.clone(), scratch, x, &mut recv[r], op)?;
            }
            Ok(())
        }
    }
}
