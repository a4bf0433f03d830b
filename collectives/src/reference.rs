//! Serial reference of every collective, for tests: given every rank's buffers *before* the
//! call, compute every rank's receive buffer *after* it.
//!
//! Conventions (they are also the semantics the communicator implements):
//!
//! * `send[r]` is rank `r`'s input: [`Input::Buf`] or [`Input::InPlace`] (MPI_IN_PLACE: the
//!   input is taken from the receive buffer, as each function says). `recv[r]` is rank `r`'s
//!   receive buffer before the call; the result is every rank's receive buffer after it.
//!   Buffers that a rank does not use (a non-root's receive buffer in `reduce`/`gather`) are
//!   returned unchanged.
//! * Buffer lengths are exact: a receive buffer for `p` blocks of `n` elements has `p·n`
//!   elements, never more. `v` variants check their layouts with
//!   [`crate::args::check_v_layout`]: receive blocks must not overlap, and elements of a
//!   receive buffer outside every block keep their values.
//! * Reductions combine in the order of a [`Schedule`]: the plain functions use the rank-order
//!   left fold `((x_0 ⊕ x_1) ⊕ x_2) ⊕ …` (the schedule of every flat, one-shot, two-shot and
//!   linear algorithm), the `_by` functions take the schedule of the algorithm under test
//!   (e.g. [`crate::pattern::RecursiveDoubling::combine_tree`], [`Schedule::ring`]), so
//!   floating-point results can be compared bit for bit.
//! * Zero-length messages are allowed everywhere.
//! * Barrier has no data: [`barrier`] checks its ordering contract on per-rank timestamps.

use core::fmt;
use core::ops::Range;

use bytemuck::Pod;

use crate::args::{self, ArgError};
use crate::ops::{OpError, ReduceOp};
use crate::pattern::{Combine, PatternError, Schedule};

/// A rank's input buffer, or MPI_IN_PLACE.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Input<'a, T> {
    /// A separate send buffer.
    Buf(&'a [T]),
    /// The input is in the receive buffer.
    InPlace,
}

/// Errors of the reference (invalid arguments, kernel errors, bad schedules).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefError {
    /// An invalid buffer, count, displacement, root or in-place use.
    Arg(ArgError),
    /// A reduction kernel refused its operands.
    Op(OpError),
    /// A pattern refused its parameters.
    Pattern(PatternError),
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefError::Arg(e) => e.fmt(f),
            RefError::Op(e) => e.fmt(f),
            RefError::Pattern(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RefError {}

impl From<ArgError> for RefError {
    fn from(e: ArgError) -> Self {
        RefError::Arg(e)
    }
}

impl From<OpError> for RefError {
    fn from(e: OpError) -> Self {
        RefError::Op(e)
    }
}

impl From<PatternError> for RefError {
    fn from(e: PatternError) -> Self {
        RefError::Pattern(e)
    }
}

/// Every rank's receive buffer after the call.
pub type Outputs<T> = Result<Vec<Vec<T>>, RefError>;

fn arg(a: &'static str, msg: impl Into<String>) -> RefError {
    RefError::Arg(ArgError::new(a, msg))
}

fn comm_size(send: usize, recv: usize) -> Result<usize, RefError> {
    if send != recv {
        return Err(arg(
            "recv",
            format!("{recv} receive buffers for {send} ranks"),
        ));
    }
    if send == 0 {
        return Err(arg("send", "a communicator of zero ranks"));
    }
    Ok(send)
}

fn rank_len(a: &'static str, r: usize, expected: usize, found: usize) -> Result<(), RefError> {
    if expected == found {
        Ok(())
    } else {
        Err(arg(
            a,
            format!("rank {r}: has {found} elements, expected {expected}"),
        ))
    }
}

fn in_place_only_at_root(r: usize) -> RefError {
    arg(
        "send",
        format!("rank {r}: in-place is only allowed at the root"),
    )
}

/// Checks that `c`'s leaves are exactly the ranks `expected` (in any order).
fn check_leaves(c: &Combine, expected: Range<usize>) -> Result<(), RefError> {
    let mut leaves = c.leaves();
    leaves.sort_unstable();
    if leaves.iter().copied().eq(expected.clone()) {
        Ok(())
    } else {
        Err(arg(
            "schedule",
            format!(
                "combination tree {} does not combine exactly the ranks {}..{}",
                c.render(),
                expected.start,
                expected.end
            ),
        ))
    }
}

/// Evaluates `c` on `range` of the inputs.
fn eval_tree<T: Pod, O: ReduceOp<T>>(
    c: &Combine,
    inputs: &[&[T]],
    range: Range<usize>,
    op: &O,
) -> Result<Vec<T>, RefError> {
    c.eval(
        |r| Ok(inputs[r][range.clone()].to_vec()),
        |mut a: Vec<T>, b: Vec<T>| {
            op.combine_left(&mut a, &b)?;
            Ok(a)
        },
    )
}

/// Reduces equal-length `inputs` (one per rank) along `schedule`.
pub fn reduce_by<T: Pod, O: ReduceOp<T>>(
    inputs: &[&[T]],
    op: &O,
    schedule: &Schedule,
) -> Result<Vec<T>, RefError> {
    let p = inputs.len();
    let Some(first) = inputs.first() else {
        return Err(arg("inputs", "a reduction over zero ranks"));
    };
    let n = first.len();
    for (r, x) in inputs.iter().enumerate() {
        rank_len("send", r, n, x.len())?;
    }
    match schedule {
        Schedule::Uniform(c) => {
            check_leaves(c, 0..p)?;
            eval_tree(c, inputs, 0..n, op)
        }
        Schedule::PerBlock { ranges, trees } => {
            if ranges.len() != trees.len() {
                return Err(arg("schedule", "one tree per block is required"));
            }
            let mut next = 0;
            for r in ranges {
                if r.start != next || r.end < r.start {
                    return Err(arg("schedule", "blocks must be contiguous and ascending"));
                }
                next = r.end;
            }
            if next != n {
                return Err(arg(
                    "schedule",
                    format!("blocks cover {next} elements, the inputs have {n}"),
                ));
            }
            let mut out = Vec::with_capacity(n);
            for (range, tree) in ranges.iter().zip(trees) {
                check_leaves(tree, 0..p)?;
                out.extend(eval_tree(tree, inputs, range.clone(), op)?);
            }
            Ok(out)
        }
    }
}

/// `MPI_Barrier` has no data; its contract is that no rank leaves before every rank has
/// entered. Given each rank's `CLOCK_MONOTONIC` reading (ns, one clock for all processes of a
/// node) taken just before the call (`enter_ns`) and just after it returned (`exit_ns`), checks
/// `max(enter) <= min(exit)` and names the first rank that left too early.
pub fn barrier(enter_ns: &[u64], exit_ns: &[u64]) -> Result<(), RefError> {
    comm_size(enter_ns.len(), exit_ns.len())?;
    let (last_in, &latest) = enter_ns
        .iter()
        .enumerate()
        .max_by_key(|&(_, t)| *t)
        .expect("at least one rank");
    for (r, (&e, &x)) in enter_ns.iter().zip(exit_ns).enumerate() {
        if x < e {
            return Err(arg(
                "exit_ns",
                format!("rank {r}: exit {x} precedes its entry {e}"),
            ));
        }
        if x < latest {
            return Err(arg(
                "exit_ns",
                format!("rank {r} left at {x}, before rank {last_in} entered at {latest}"),
            ));
        }
    }
    Ok(())
}

/// `MPI_Bcast`: every buffer becomes the root's. All buffers have the root's length.
pub fn bcast<T: Pod>(bufs: &[Vec<T>], root: usize) -> Outputs<T> {
    let p = comm_size(bufs.len(), bufs.len())?;
    args::check_rank("root", root, p)?;
    let n = bufs[root].len();
    for (r, b) in bufs.iter().enumerate() {
        rank_len("buf", r, n, b.len())?;
    }
    Ok(vec![bufs[root].clone(); p])
}

/// `MPI_Reduce` in rank order. In place (root only): the root's input is its receive buffer.
/// Non-root receive buffers are unused.
pub fn reduce<T: Pod, O: ReduceOp<T>>(
    send: &[Input<T>],
    recv: &[Vec<T>],
    root: usize,
    op: &O,
) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    reduce_with(send, recv, root, op, &Schedule::rank_order(p)?)
}

/// [`reduce`] along `schedule`.
pub fn reduce_with<T: Pod, O: ReduceOp<T>>(
    send: &[Input<T>],
    recv: &[Vec<T>],
    root: usize,
    op: &O,
    schedule: &Schedule,
) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    args::check_rank("root", root, p)?;
    let n = match send[root] {
        Input::Buf(b) => b.len(),
        Input::InPlace => recv[root].len(),
    };
    rank_len("recv", root, n, recv[root].len())?;
    let inputs = send
        .iter()
        .enumerate()
        .map(|(r, s)| match *s {
            Input::Buf(b) => rank_len("send", r, n, b.len()).map(|()| b),
            Input::InPlace if r == root => Ok(recv[root].as_slice()),
            Input::InPlace => Err(in_place_only_at_root(r)),
        })
        .collect::<Result<Vec<&[T]>, _>>()?;
    let result = reduce_by(&inputs, op, schedule)?;
    let mut out = recv.to_vec();
    out[root] = result;
    Ok(out)
}

fn all_inputs<'a, T: Pod>(
    send: &[Input<'a, T>],
    recv: &'a [Vec<T>],
    n: usize,
) -> Result<Vec<&'a [T]>, RefError> {
    send.iter()
        .enumerate()
        .map(|(r, s)| {
            let x = match *s {
                Input::Buf(b) => b,
                Input::InPlace => recv[r].as_slice(),
            };
            rank_len("send", r, n, x.len()).map(|()| x)
        })
        .collect()
}

/// `MPI_Allreduce` in rank order. In place: a rank's input is its receive buffer.
pub fn allreduce<T: Pod, O: ReduceOp<T>>(send: &[Input<T>], recv: &[Vec<T>], op: &O) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    allreduce_with(send, recv, op, &Schedule::rank_order(p)?)
}

/// [`allreduce`] along `schedule`.
pub fn allreduce_with<T: Pod, O: ReduceOp<T>>(
    send: &[Input<T>],
    recv: &[Vec<T>],
    op: &O,
    schedule: &Schedule,
) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    let n = recv[0].len();
    for (r, b) in recv.iter().enumerate() {
        rank_len("recv", r, n, b.len())?;
    }
    let inputs = all_inputs(send, recv, n)?;
    let result = reduce_by(&inputs, op, schedule)?;
    Ok(vec![result; p])
}

/// `MPI_Gather`: the root's receive buffer (`p·n` elements) gets rank `r`'s `n` elements at
/// `r·n`. In place (root only): the root's block is already in its receive buffer.
pub fn gather<T: Pod>(send: &[Input<T>], recv: &[Vec<T>], root: usize) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    args::check_rank("root", root, p)?;
    let n = match send[root] {
        Input::Buf(b) => b.len(),
        Input::InPlace => args::block_len("recv", recv[root].len(), p)?,
    };
    rank_len(
        "recv",
        root,
        args::checked_total("recv", n, p)?,
        recv[root].len(),
    )?;
    let mut out = recv.to_vec();
    for (r, s) in send.iter().enumerate() {
        match *s {
            Input::Buf(b) => {
                rank_len("send", r, n, b.len())?;
                out[root][r * n..(r + 1) * n].copy_from_slice(b);
            }
            Input::InPlace if r == root => {}
            Input::InPlace => return Err(in_place_only_at_root(r)),
        }
    }
    Ok(out)
}

/// `MPI_Gatherv`: rank `r`'s `counts[r]` elements land at `displs[r]` of the root's receive
/// buffer; other elements of that buffer keep their values. `counts`/`displs` are the root's
/// arguments. In place (root only): the root's block is already in place.
pub fn gatherv<T: Pod>(
    send: &[Input<T>],
    recv: &[Vec<T>],
    root: usize,
    counts: &[usize],
    displs: &[usize],
) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    args::check_rank("root", root, p)?;
    let blocks = args::check_v_layout("recv", counts, displs, p, recv[root].len(), false)?;
    let mut out = recv.to_vec();
    for (r, s) in send.iter().enumerate() {
        match *s {
            Input::Buf(b) => {
                rank_len("send", r, counts[r], b.len())?;
                out[root][blocks[r].clone()].copy_from_slice(b);
            }
            Input::InPlace if r == root => {}
            Input::InPlace => return Err(in_place_only_at_root(r)),
        }
    }
    Ok(out)
}

/// `MPI_Scatter`: rank `r` receives elements `r·n .. (r+1)·n` of the root's send buffer
/// (`p·n` elements). With `root_in_place` the root receives nothing and its receive buffer is
/// returned unchanged.
pub fn scatter<T: Pod>(
    root_send: &[T],
    recv: &[Vec<T>],
    root: usize,
    root_in_place: bool,
) -> Outputs<T> {
    let p = comm_size(recv.len(), recv.len())?;
    args::check_rank("root", root, p)?;
    let n = args::block_len("send", root_send.len(), p)?;
    let mut out = recv.to_vec();
    for (r, o) in out.iter_mut().enumerate() {
        if r == root && root_in_place {
            continue;
        }
        rank_len("recv", r, n, o.len())?;
        o.copy_from_slice(&root_send[r * n..(r + 1) * n]);
    }
    Ok(out)
}

/// `MPI_Scatterv`: rank `r` receives `counts[r]` elements from `displs[r]` of the root's send
/// buffer (blocks may overlap: they are only read). `root_in_place` as in [`scatter`].
pub fn scatterv<T: Pod>(
    root_send: &[T],
    counts: &[usize],
    displs: &[usize],
    recv: &[Vec<T>],
    root: usize,
    root_in_place: bool,
) -> Outputs<T> {
    let p = comm_size(recv.len(), recv.len())?;
    args::check_rank("root", root, p)?;
    let blocks = args::check_v_layout("send", counts, displs, p, root_send.len(), true)?;
    let mut out = recv.to_vec();
    for (r, o) in out.iter_mut().enumerate() {
        if r == root && root_in_place {
            continue;
        }
        rank_len("recv", r, counts[r], o.len())?;
        o.copy_from_slice(&root_send[blocks[r].clone()]);
    }
    Ok(out)
}

/// `MPI_Allgather`: every receive buffer (`p·n` elements) gets rank `j`'s `n` elements at
/// `j·n`. In place: rank `j`'s input is block `j` of its own receive buffer.
pub fn allgather<T: Pod>(send: &[Input<T>], recv: &[Vec<T>]) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    let total = recv[0].len();
    let n = args::block_len("recv", total, p)?;
    for (r, b) in recv.iter().enumerate() {
        rank_len("recv", r, total, b.len())?;
    }
    let mut full = Vec::with_capacity(total);
    for (j, s) in send.iter().enumerate() {
        match *s {
            Input::Buf(b) => {
                rank_len("send", j, n, b.len())?;
                full.extend_from_slice(b);
            }
            Input::InPlace => full.extend_from_slice(&recv[j][j * n..(j + 1) * n]),
        }
    }
    Ok(vec![full; p])
}

/// `MPI_Allgatherv`: rank `j`'s `counts[j]` elements land at `displs[j]` of every receive
/// buffer (same `counts`/`displs` on every rank); other elements keep their values. In place:
/// rank `j`'s input is its own block `displs[j] .. displs[j] + counts[j]`.
pub fn allgatherv<T: Pod>(
    send: &[Input<T>],
    recv: &[Vec<T>],
    counts: &[usize],
    displs: &[usize],
) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    let mut blocks = Vec::new();
    for b in recv {
        blocks = args::check_v_layout("recv", counts, displs, p, b.len(), false)?;
    }
    let inputs: Vec<&[T]> = send
        .iter()
        .enumerate()
        .map(|(j, s)| match *s {
            Input::Buf(b) => rank_len("send", j, counts[j], b.len()).map(|()| b),
            Input::InPlace => Ok(&recv[j][blocks[j].clone()]),
        })
        .collect::<Result<_, _>>()?;
    let mut out = recv.to_vec();
    for o in &mut out {
        for (j, x) in inputs.iter().enumerate() {
            o[blocks[j].clone()].copy_from_slice(x);
        }
    }
    Ok(out)
}

/// `MPI_Alltoall`: block `j` (of `n` elements) of rank `r`'s receive buffer is block `r` of
/// rank `j`'s input. In place: a rank's input is its receive buffer.
pub fn alltoall<T: Pod>(send: &[Input<T>], recv: &[Vec<T>]) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    let total = recv[0].len();
    let n = args::block_len("recv", total, p)?;
    for (r, b) in recv.iter().enumerate() {
        rank_len("recv", r, total, b.len())?;
    }
    let inputs = all_inputs(send, recv, total)?;
    let mut out = recv.to_vec();
    for (r, o) in out.iter_mut().enumerate() {
        for (j, x) in inputs.iter().enumerate() {
            o[j * n..(j + 1) * n].copy_from_slice(&x[r * n..(r + 1) * n]);
        }
    }
    Ok(out)
}

/// The per-rank arguments of [`alltoallv`] (MPI's sendcounts/sdispls/recvcounts/rdispls).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlltoallvArgs {
    /// `send_counts[r][j]`: elements rank `r` sends to rank `j` (ignored for in-place ranks).
    pub send_counts: Vec<Vec<usize>>,
    /// `send_displs[r][j]`: where in rank `r`'s send buffer they start.
    pub send_displs: Vec<Vec<usize>>,
    /// `recv_counts[r][j]`: elements rank `r` receives from rank `j`.
    pub recv_counts: Vec<Vec<usize>>,
    /// `recv_displs[r][j]`: where in rank `r`'s receive buffer they land.
    pub recv_displs: Vec<Vec<usize>>,
}

/// `MPI_Alltoallv`: rank `j`'s block for `r` lands at `recv_displs[r][j]` of rank `r`'s
/// receive buffer; elements outside every block keep their values. Counts must match pairwise
/// (`send_counts[j][r] == recv_counts[r][j]`). In place: a rank's input is its receive buffer
/// with its receive counts and displacements as send layout (MPI's rule), so the receive
/// counts must be symmetric for it.
pub fn alltoallv<T: Pod>(send: &[Input<T>], recv: &[Vec<T>], a: &AlltoallvArgs) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    for (name, v) in [
        ("send_counts", &a.send_counts),
        ("send_displs", &a.send_displs),
        ("recv_counts", &a.recv_counts),
        ("recv_displs", &a.recv_displs),
    ] {
        if v.len() != p {
            return Err(arg(name, format!("{} entries for {p} ranks", v.len())));
        }
    }
    let recv_blocks = recv
        .iter()
        .enumerate()
        .map(|(r, b)| {
            args::check_v_layout(
                "recv",
                &a.recv_counts[r],
                &a.recv_displs[r],
                p,
                b.len(),
                false,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    // The send layout (buffer, block ranges) of every rank.
    let mut sends: Vec<(&[T], Vec<Range<usize>>)> = Vec::with_capacity(p);
    for (r, s) in send.iter().enumerate() {
        sends.push(match *s {
            Input::Buf(b) => (
                b,
                args::check_v_layout(
                    "send",
                    &a.send_counts[r],
                    &a.send_displs[r],
                    p,
                    b.len(),
                    true,
                )?,
            ),
            Input::InPlace => (recv[r].as_slice(), recv_blocks[r].clone()),
        });
    }
    for (r, blocks) in recv_blocks.iter().enumerate() {
        for (j, (_, theirs)) in sends.iter().enumerate() {
            let sent = theirs[r].len();
            let expected = blocks[j].len();
            if sent != expected {
                return Err(arg(
                    "recv_counts",
                    format!("rank {j} sends {sent} elements to rank {r}, which expects {expected}"),
                ));
            }
        }
    }
    let mut out = recv.to_vec();
    for (r, o) in out.iter_mut().enumerate() {
        for (j, (buf, blocks)) in sends.iter().enumerate() {
            o[recv_blocks[r][j].clone()].copy_from_slice(&buf[blocks[r].clone()]);
        }
    }
    Ok(out)
}

/// `MPI_Reduce_scatter_block` in rank order: every input has `p·n` elements, rank `r`
/// receives block `r` of the reduction (`n` elements). In place: the input is the receive
/// buffer (`p·n` elements) and the result is its first `n` elements; the rest keep their
/// values.
pub fn reduce_scatter_block<T: Pod, O: ReduceOp<T>>(
    send: &[Input<T>],
    recv: &[Vec<T>],
    op: &O,
) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    reduce_scatter_block_with(send, recv, op, &Schedule::rank_order(p)?)
}

fn block_count<T>(send: &[Input<T>], recv: &[Vec<T>], p: usize) -> Result<usize, RefError> {
    Ok(match send[0] {
        Input::Buf(_) => recv[0].len(),
        Input::InPlace => args::block_len("recv", recv[0].len(), p)?,
    })
}

/// [`reduce_scatter_block`] along `schedule` (over the whole `p·n`-element vector).
pub fn reduce_scatter_block_with<T: Pod, O: ReduceOp<T>>(
    send: &[Input<T>],
    recv: &[Vec<T>],
    op: &O,
    schedule: &Schedule,
) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    let n = block_count(send, recv, p)?;
    reduce_scatter_with(send, recv, &vec![n; p], op, schedule)
}

/// `MPI_Reduce_scatter` in rank order: every input has `sum(counts)` elements, rank `r`
/// receives the `counts[r]` elements of the reduction starting at `counts[0] + … +
/// counts[r-1]`. In place: the input is the receive buffer (`sum(counts)` elements) and the
/// result is its first `counts[r]` elements; the rest keep their values.
pub fn reduce_scatter<T: Pod, O: ReduceOp<T>>(
    send: &[Input<T>],
    recv: &[Vec<T>],
    counts: &[usize],
    op: &O,
) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    reduce_scatter_with(send, recv, counts, op, &Schedule::rank_order(p)?)
}

/// [`reduce_scatter`] along `schedule` (over the whole `sum(counts)`-element vector).
pub fn reduce_scatter_with<T: Pod, O: ReduceOp<T>>(
    send: &[Input<T>],
    recv: &[Vec<T>],
    counts: &[usize],
    op: &O,
    schedule: &Schedule,
) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    if counts.len() != p {
        return Err(arg(
            "counts",
            format!("{} counts for {p} ranks", counts.len()),
        ));
    }
    let total = args::checked_sum("counts", counts)?;
    let mut inputs = Vec::with_capacity(p);
    let mut starts = Vec::with_capacity(p);
    let mut start = 0;
    for (r, s) in send.iter().enumerate() {
        starts.push(start);
        start += counts[r];
        let x = match *s {
            Input::Buf(b) => {
                rank_len("recv", r, counts[r], recv[r].len())?;
                b
            }
            Input::InPlace => recv[r].as_slice(),
        };
        rank_len("send", r, total, x.len())?;
        inputs.push(x);
    }
    let result = reduce_by(&inputs, op, schedule)?;
    let mut out = recv.to_vec();
    for (r, o) in out.iter_mut().enumerate() {
        o[..counts[r]].copy_from_slice(&result[starts[r]..starts[r] + counts[r]]);
    }
    Ok(out)
}

/// `MPI_Scan` in rank order: rank `r` receives `x_0 ⊕ … ⊕ x_r`. In place: the input is the
/// receive buffer.
pub fn scan<T: Pod, O: ReduceOp<T>>(send: &[Input<T>], recv: &[Vec<T>], op: &O) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    let trees: Vec<Combine> = (0..p)
        .map(|r| Combine::rank_order(r + 1).expect("r + 1 >= 1"))
        .collect();
    scan_with(send, recv, op, &trees)
}

/// [`scan`] where rank `r`'s result follows `trees[r]` (e.g.
/// [`crate::pattern::HillisSteele::combine_trees`]).
pub fn scan_with<T: Pod, O: ReduceOp<T>>(
    send: &[Input<T>],
    recv: &[Vec<T>],
    op: &O,
    trees: &[Combine],
) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    if trees.len() != p {
        return Err(arg("schedule", "one tree per rank is required"));
    }
    let n = recv[0].len();
    for (r, b) in recv.iter().enumerate() {
        rank_len("recv", r, n, b.len())?;
    }
    let inputs = all_inputs(send, recv, n)?;
    let mut out = Vec::with_capacity(p);
    for (r, t) in trees.iter().enumerate() {
        check_leaves(t, 0..r + 1)?;
        out.push(eval_tree(t, &inputs, 0..n, op)?);
    }
    Ok(out)
}

/// `MPI_Exscan` in rank order: rank `r > 0` receives `x_0 ⊕ … ⊕ x_{r-1}`; rank 0's receive
/// buffer keeps its values (MPI leaves it undefined; we leave it untouched). In place: the
/// input is the receive buffer.
pub fn exscan<T: Pod, O: ReduceOp<T>>(send: &[Input<T>], recv: &[Vec<T>], op: &O) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    let trees: Vec<Option<Combine>> = (0..p).map(Combine::rank_order).collect();
    exscan_with(send, recv, op, &trees)
}

/// [`exscan`] where rank `r`'s result follows `trees[r]` (`None` for rank 0).
pub fn exscan_with<T: Pod, O: ReduceOp<T>>(
    send: &[Input<T>],
    recv: &[Vec<T>],
    op: &O,
    trees: &[Option<Combine>],
) -> Outputs<T> {
    let p = comm_size(send.len(), recv.len())?;
    if trees.len() != p || trees[0].is_some() {
        return Err(arg(
            "schedule",
            "one tree per rank is required, none for rank 0",
        ));
    }
    let n = recv[0].len();
    for (r, b) in recv.iter().enumerate() {
        rank_len("recv", r, n, b.len())?;
    }
    let inputs = all_inputs(send, recv, n)?;
    let mut out = vec![recv[0].clone()];
    for (r, t) in trees.iter().enumerate().skip(1) {
        let t = t
            .as_ref()
            .ok_or_else(|| arg("schedule", format!("no tree for rank {r}")))?;
        check_leaves(t, 0..r)?;
        out.push(eval_tree(t, &inputs, 0..n, op)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{Max, Predefined, Sum, UserOp};
    use crate::pattern::{HillisSteele, KnomialTree, RecursiveDoubling};

    fn bufs<T: Clone>(v: &[&[T]]) -> Vec<Vec<T>> {
        v.iter().map(|x| x.to_vec()).collect()
    }

    fn inputs<T>(v: &[Vec<T>]) -> Vec<Input<'_, T>> {
        v.iter().map(|x| Input::Buf(x.as_slice())).collect()
    }

    fn arg_msg<T: fmt::Debug>(r: Result<T, RefError>) -> (&'static str, String) {
        match r {
            Err(RefError::Arg(e)) => (e.arg, e.msg),
            other => panic!("expected an argument error, got {other:?}"),
        }
    }

    #[test]
    fn barrier_ordering() {
        assert_eq!(barrier(&[10, 20, 15], &[20, 25, 30]), Ok(()));
        assert_eq!(barrier(&[5], &[5]), Ok(()));
        assert_eq!(
            arg_msg(barrier(&[10, 20, 15], &[19, 25, 30])),
            (
                "exit_ns",
                "rank 0 left at 19, before rank 1 entered at 20".into()
            )
        );
        assert_eq!(
            arg_msg(barrier(&[10, 20], &[30, 19])),
            ("exit_ns", "rank 1: exit 19 precedes its entry 20".into())
        );
        assert_eq!(arg_msg(barrier(&[1, 2], &[3])).0, "recv");
        assert_eq!(arg_msg(barrier(&[], &[])).0, "send");
    }

    #[test]
    fn bcast_copies_the_root() {
        let b = bufs(&[&[1, 2], &[3, 4], &[5, 6]]);
        assert_eq!(bcast(&b, 1).unwrap(), [[3, 4], [3, 4], [3, 4]]);
        assert_eq!(
            bcast(&bufs::<u8>(&[&[], &[]]), 0).unwrap(),
            [Vec::<u8>::new(), Vec::new()]
        );
        assert_eq!(arg_msg(bcast(&b, 3)).0, "root");
        assert_eq!(
            arg_msg(bcast(&bufs(&[&[1, 2], &[3]]), 0)),
            ("buf", "rank 1: has 1 elements, expected 2".into())
        );
        assert_eq!(arg_msg(bcast::<u8>(&[], 0)).0, "send");
    }

    #[test]
    fn reduce_any_root_and_in_place() {
        let x = bufs(&[&[1i32, -2], &[10, 20], &[100, 200]]);
        let recv = bufs(&[&[7, 7], &[8, 8], &[9, 9]]);
        let out = reduce(&inputs(&x), &recv, 2, &Sum).unwrap();
        assert_eq!(out, [[7, 7], [8, 8], [111, 218]]);
        // In place at the root: its input is its receive buffer.
        let send = [Input::Buf(&x[0][..]), Input::InPlace, Input::Buf(&x[2][..])];
        let recv2 = bufs(&[&[], &[10, 20], &[]]);
        let out = reduce(&send, &recv2, 1, &Max).unwrap();
        assert_eq!(out, [vec![], vec![100, 200], vec![]]);
        // In place elsewhere is refused.
        assert_eq!(
            arg_msg(reduce(&send, &recv2, 0, &Sum)),
            ("recv", "rank 0: has 0 elements, expected 2".into())
        );
        let send3 = [Input::Buf(&x[0][..]), Input::InPlace, Input::Buf(&x[2][..])];
        assert_eq!(
            arg_msg(reduce(&send3, &recv, 0, &Sum)),
            (
                "send",
                "rank 1: in-place is only allowed at the root".into()
            )
        );
        // Count mismatch.
        let bad = bufs(&[&[1i32, 2], &[1]]);
        assert_eq!(
            arg_msg(reduce(&inputs(&bad), &bufs(&[&[0, 0], &[]]), 0, &Sum)),
            ("send", "rank 1: has 1 elements, expected 2".into())
        );
        // Zero length.
        let z = bufs::<f64>(&[&[], &[]]);
        assert_eq!(reduce(&inputs(&z), &z, 0, &Sum).unwrap(), z);
    }

    #[test]
    fn allreduce_rank_order_and_schedules_for_floats() {
        // Values where the association order shows in the result.
        let v = [1e16f64, 0.0, 0.0, 1.0, 1.0];
        let x: Vec<Vec<f64>> = v.iter().map(|&a| vec![a, a * 0.5]).collect();
        let recv = vec![vec![0.0; 2]; 5];
        let out = allreduce(&inputs(&x), &recv, &Sum).unwrap();
        let fold = |e: usize| (((x[0][e] + x[1][e]) + x[2][e]) + x[3][e]) + x[4][e];
        assert_eq!(out[3], [fold(0), fold(1)]);
        assert!(out.iter().all(|o| o == &out[0]));
        // Recursive doubling, p = 5: ((x0 + x1) + x2) + x3 with x4 folded: see combine_tree.
        let rd = Schedule::Uniform(RecursiveDoubling::new(5).unwrap().combine_tree());
        let out = allreduce_with(&inputs(&x), &recv, &Sum, &rd).unwrap();
        let rdv = |e: usize| ((x[0][e] + x[1][e]) + x[2][e]) + (x[3][e] + x[4][e]);
        assert_eq!(
            RecursiveDoubling::new(5).unwrap().combine_tree().render(),
            "(((0+1)+2)+(3+4))"
        );
        assert_eq!(out[0], [rdv(0), rdv(1)]);
        assert_ne!(
            rdv(0),
            fold(0),
            "the test values must distinguish the orders"
        );
        // Ring over 2 elements and 5 ranks: blocks [0..0, 0..0, 0..0, 0..1, 1..2].
        let ring = Schedule::ring(5, 2).unwrap();
        let out = allreduce_with(&inputs(&x), &recv, &Sum, &ring).unwrap();
        let chain = |e: usize, b: usize| {
            let mut acc = x[(b + 1) % 5][e];
            for i in 2..=5 {
                acc += x[(b + i) % 5][e];
            }
            acc
        };
        assert_eq!(out[1], [chain(0, 3), chain(1, 4)]);
        // In place.
        let send = vec![Input::InPlace; 5];
        assert_eq!(allreduce(&send, &x, &Sum).unwrap()[0], [fold(0), fold(1)]);
    }

    #[test]
    fn reduce_with_knomial_schedule_and_rank_checks() {
        let x: Vec<Vec<i64>> = (0..6).map(|r| vec![r as i64 + 1]).collect();
        let op = UserOp::new(|a: i64, b: i64| 3 * a - b);
        let tree = KnomialTree::binomial(6, 4).unwrap().reduce_tree();
        assert_eq!(tree.render(), "(((4+5)+(0+1))+(2+3))");
        let recv = vec![vec![0]; 6];
        let out = reduce_with(&inputs(&x), &recv, 4, &op, &Schedule::Uniform(tree)).unwrap();
        let f = |a: i64, b: i64| 3 * a - b;
        let expected = f(f(f(5, 6), f(1, 2)), f(3, 4));
        assert_eq!(out[4], [expected]);
        // A schedule that leaves out a rank is refused.
        let bad = Schedule::Uniform(Combine::left_fold([0, 1, 2, 3, 4]).unwrap());
        assert_eq!(
            arg_msg(reduce_with(&inputs(&x), &recv, 4, &op, &bad)).0,
            "schedule"
        );
        let bad = Schedule::PerBlock {
            ranges: vec![Range { start: 0, end: 0 }],
            trees: vec![],
        };
        assert_eq!(
            arg_msg(reduce_with(&inputs(&x), &recv, 0, &op, &bad)).0,
            "schedule"
        );
        let bad = Schedule::PerBlock {
            ranges: vec![Range { start: 0, end: 0 }],
            trees: vec![Combine::rank_order(6).unwrap()],
        };
        assert_eq!(
            arg_msg(reduce_with(&inputs(&x), &recv, 0, &op, &bad)),
            (
                "schedule",
                "blocks cover 0 elements, the inputs have 1".into()
            )
        );
    }

    #[test]
    fn integer_schedules_agree_with_rank_order() {
        // For an associative operator every schedule gives the rank-order result.
        for p in 1..=9usize {
            let x: Vec<Vec<u32>> = (0..p)
                .map(|r| {
                    (0..13u32)
                        .map(|e| e.wrapping_mul(2654435761).rotate_left(r as u32))
                        .collect()
                })
                .collect();
            let recv = vec![vec![0u32; 13]; p];
            let base = allreduce(&inputs(&x), &recv, &Sum).unwrap();
            for sched in [
                Schedule::Uniform(RecursiveDoubling::new(p).unwrap().combine_tree()),
                Schedule::ring(p, 13).unwrap(),
                Schedule::Uniform(KnomialTree::new(p, p / 2, 3).unwrap().reduce_tree()),
            ] {
                assert_eq!(
                    allreduce_with(&inputs(&x), &recv, &Sum, &sched).unwrap(),
                    base
                );
            }
            let op = Predefined::<u32>::new(crate::ops::OpKind::Bxor).unwrap();
            let b = allreduce(&inputs(&x), &recv, &op).unwrap();
            let expected: Vec<u32> = (0..13).map(|e| x.iter().fold(0, |a, v| a ^ v[e])).collect();
            assert_eq!(b[0], expected);
        }
    }

    #[test]
    fn gather_and_gatherv() {
        let x = bufs(&[&[1u8, 2], &[3, 4], &[5, 6]]);
        let recv = bufs(&[&[], &[0; 6], &[9]]);
        assert_eq!(
            gather(&inputs(&x), &recv, 1).unwrap(),
            [vec![], vec![1, 2, 3, 4, 5, 6], vec![9]]
        );
        // In place at the root: its block stays as it is in the receive buffer.
        let send = [Input::Buf(&x[0][..]), Input::InPlace, Input::Buf(&x[2][..])];
        let recv = bufs(&[&[], &[0, 0, 7, 8, 0, 0], &[]]);
        assert_eq!(gather(&send, &recv, 1).unwrap()[1], [1, 2, 7, 8, 5, 6]);
        assert_eq!(
            arg_msg(gather(&send, &bufs(&[&[], &[0; 5], &[]]), 1)),
            (
                "recv",
                "has 5 elements, not a multiple of the 3 blocks it must hold".into()
            )
        );
        assert_eq!(
            arg_msg(gather(&inputs(&x), &bufs(&[&[0; 5], &[], &[]]), 0)),
            ("recv", "rank 0: has 5 elements, expected 6".into())
        );
        // gatherv with gaps, reordering and an empty block.
        let x = bufs(&[&[1u8], &[], &[5, 6, 7]]);
        let recv = bufs(&[&[9; 8], &[], &[]]);
        let out = gatherv(&inputs(&x), &recv, 0, &[1, 0, 3], &[6, 0, 1]).unwrap();
        assert_eq!(out[0], [9, 5, 6, 7, 9, 9, 1, 9]);
        // In place at the root.
        let send = [Input::InPlace, Input::Buf(&x[1][..]), Input::Buf(&x[2][..])];
        let out = gatherv(&send, &recv, 0, &[1, 0, 3], &[6, 0, 1]).unwrap();
        assert_eq!(out[0], [9, 5, 6, 7, 9, 9, 9, 9]);
        // Overlap and wrong send counts are refused.
        assert_eq!(
            arg_msg(gatherv(&inputs(&x), &recv, 0, &[1, 0, 3], &[2, 0, 1])).0,
            "recv"
        );
        assert_eq!(
            arg_msg(gatherv(&inputs(&x), &recv, 0, &[1, 0, 2], &[6, 0, 1])),
            ("send", "rank 2: has 3 elements, expected 2".into())
        );
    }

    #[test]
    fn scatter_and_scatterv() {
        let send = [1u16, 2, 3, 4, 5, 6];
        let recv = bufs(&[&[0, 0], &[0, 0], &[0, 0]]);
        assert_eq!(
            scatter(&send, &recv, 2, false).unwrap(),
            [[1, 2], [3, 4], [5, 6]]
        );
        let recv = bufs(&[&[0, 0], &[0, 0], &[]]);
        assert_eq!(
            scatter(&send, &recv, 2, true).unwrap(),
            [vec![1, 2], vec![3, 4], vec![]]
        );
        assert_eq!(arg_msg(scatter(&send[..5], &recv, 2, true)).0, "send");
        assert_eq!(
            arg_msg(scatter(&send, &recv, 2, false)),
            ("recv", "rank 2: has 0 elements, expected 2".into())
        );
        // scatterv: overlapping send blocks are fine (read only).
        let recv = bufs(&[&[0; 3], &[0], &[]]);
        let out = scatterv(&send, &[3, 1, 0], &[2, 3, 6], &recv, 0, false).unwrap();
        assert_eq!(out, [vec![3, 4, 5], vec![4], vec![]]);
        let out = scatterv(&send, &[3, 1, 0], &[2, 3, 6], &recv, 0, true).unwrap();
        assert_eq!(out[0], [0, 0, 0]);
        assert_eq!(
            arg_msg(scatterv(&send, &[3, 1, 1], &[2, 3, 6], &recv, 0, false)),
            (
                "send",
                "block 2 (displacement 6, count 1) exceeds the buffer of 6 elements".into()
            )
        );
    }

    #[test]
    fn allgather_and_allgatherv() {
        let x = bufs(&[&[1i8, 2], &[3, 4], &[5, 6]]);
        let recv = vec![vec![0i8; 6]; 3];
        assert_eq!(
            allgather(&inputs(&x), &recv).unwrap(),
            vec![vec![1, 2, 3, 4, 5, 6]; 3]
        );
        // In place (mixed with a separate buffer on rank 2).
        let recv = bufs(&[&[1, 2, 0, 0, 0, 0], &[0, 0, 3, 4, 0, 0], &[0; 6]]);
        let send = [Input::InPlace, Input::InPlace, Input::Buf(&x[2][..])];
        assert_eq!(
            allgather(&send, &recv).unwrap(),
            vec![vec![1, 2, 3, 4, 5, 6]; 3]
        );
        assert_eq!(
            arg_msg(allgather(&inputs(&x), &bufs(&[&[0; 6], &[0; 6], &[0; 3]]))),
            ("recv", "rank 2: has 3 elements, expected 6".into())
        );
        // allgatherv with gaps kept per rank.
        let x = bufs(&[&[1i8], &[2, 3], &[]]);
        let recv = bufs(&[&[-1; 5], &[-2; 5], &[-3; 5]]);
        let out = allgatherv(&inputs(&x), &recv, &[1, 2, 0], &[4, 0, 2]).unwrap();
        assert_eq!(
            out,
            [[2, 3, -1, -1, 1], [2, 3, -2, -2, 1], [2, 3, -3, -3, 1]]
        );
        let recv = bufs(&[&[0, 0, 0, 0, 1], &[2, 3, 0, 0, 0], &[0; 5]]);
        let send = [Input::InPlace, Input::InPlace, Input::InPlace];
        let out = allgatherv(&send, &recv, &[1, 2, 0], &[4, 0, 2]).unwrap();
        assert_eq!(out[2], [2, 3, 0, 0, 1]);
    }

    #[test]
    fn alltoall_and_alltoallv() {
        let x = bufs(&[&[0u32, 1, 2], &[10, 11, 12], &[20, 21, 22]]);
        let recv = vec![vec![0u32; 3]; 3];
        let expected = [[0, 10, 20], [1, 11, 21], [2, 12, 22]];
        assert_eq!(alltoall(&inputs(&x), &recv).unwrap(), expected);
        assert_eq!(alltoall(&[Input::InPlace; 3], &x).unwrap(), expected);
        // Two elements per block.
        let x = bufs(&[&[0u32, 1, 2, 3], &[10, 11, 12, 13]]);
        assert_eq!(
            alltoall(&inputs(&x), &vec![vec![0; 4]; 2]).unwrap(),
            [[0, 1, 10, 11], [2, 3, 12, 13]]
        );
        // alltoallv: rank r sends r+1 elements of value 10r+j to j.
        let p = 3;
        let send: Vec<Vec<u32>> = (0..p)
            .map(|r| {
                (0..p)
                    .flat_map(|j| vec![10 * r as u32 + j as u32; r + 1])
                    .collect()
            })
            .collect();
        let a = AlltoallvArgs {
            send_counts: (0..p).map(|r| vec![r + 1; p]).collect(),
            send_displs: (0..p)
                .map(|r| (0..p).map(|j| j * (r + 1)).collect())
                .collect(),
            recv_counts: (0..p).map(|_| (0..p).map(|j| j + 1).collect()).collect(),
            // Receive blocks in reverse order with a one-element gap at the front.
            recv_displs: (0..p).map(|_| vec![6, 4, 1]).collect(),
        };
        let recv = vec![vec![99u32; 7]; p];
        let out = alltoallv(&inputs(&send), &recv, &a).unwrap();
        assert_eq!(out[1], [99, 21, 21, 21, 11, 11, 1]);
        assert_eq!(out[2], [99, 22, 22, 22, 12, 12, 2]);
        // Mismatched counts are refused with the pair named.
        let mut bad = a.clone();
        bad.recv_counts[2][1] = 1;
        assert_eq!(
            arg_msg(alltoallv(&inputs(&send), &recv, &bad)),
            (
                "recv_counts",
                "rank 1 sends 2 elements to rank 2, which expects 1".into()
            )
        );
        // In place: symmetric counts, layout from the receive side.
        let sym = AlltoallvArgs {
            send_counts: vec![vec![]; 2],
            send_displs: vec![vec![]; 2],
            recv_counts: vec![vec![1, 2], vec![2, 1]],
            recv_displs: vec![vec![0, 1], vec![1, 0]],
        };
        let bufs2 = bufs(&[&[1u32, 2, 3], &[4, 5, 6]]);
        let out = alltoallv(&[Input::InPlace, Input::InPlace], &bufs2, &sym).unwrap();
        // Rank 0 keeps its own block [1] and gets rank 1's block for 0 (elements 1..3 of
        // rank 1's buffer = [5, 6]); rank 1 gets rank 0's block for 1 ([2, 3]) and keeps [4].
        assert_eq!(out, [[1, 5, 6], [4, 2, 3]]);
    }

    #[test]
    fn reduce_scatter_variants() {
        let x = bufs(&[&[1i64, 2, 3, 4, 5, 6], &[10, 20, 30, 40, 50, 60]]);
        let recv = vec![vec![0i64; 3]; 2];
        assert_eq!(
            reduce_scatter_block(&inputs(&x), &recv, &Sum).unwrap(),
            [[11, 22, 33], [44, 55, 66]]
        );
        // In place: result in the first n elements, the rest unchanged.
        assert_eq!(
            reduce_scatter_block(&[Input::InPlace, Input::InPlace], &x, &Sum).unwrap(),
            [[11, 22, 33, 4, 5, 6], [44, 55, 66, 40, 50, 60]]
        );
        // Uneven counts.
        let recv = bufs(&[&[0], &[], &[0; 5]]);
        let x3 = vec![vec![1i64, 2, 3, 4, 5, 6]; 3];
        assert_eq!(
            reduce_scatter(&inputs(&x3), &recv, &[1, 0, 5], &Sum).unwrap(),
            [vec![3], vec![], vec![6, 9, 12, 15, 18]]
        );
        assert_eq!(
            arg_msg(reduce_scatter(&inputs(&x3), &recv, &[1, 1, 4], &Sum)),
            ("recv", "rank 1: has 0 elements, expected 1".into())
        );
        // Ring schedule over the blocks with a non-commutative operator shows the rotation.
        let op = UserOp::new(|a: i64, b: i64| 2 * a + b);
        let x = bufs(&[&[1i64, 1], &[2, 2], &[3, 3]]);
        let recv = bufs(&[&[0], &[0], &[]]);
        let sched = Schedule::ring_ranges(vec![0..1, 1..2, 2..2]).unwrap();
        let out = reduce_scatter_with(&inputs(&x), &recv, &[1, 1, 0], &op, &sched).unwrap();
        let f = |a: i64, b: i64| 2 * a + b;
        assert_eq!(out[0], [f(f(2, 3), 1)]);
        assert_eq!(out[1], [f(f(3, 1), 2)]);
    }

    #[test]
    fn scan_and_exscan() {
        let x = bufs(&[&[1u64, 5], &[2, 6], &[3, 7], &[4, 8]]);
        let recv = vec![vec![0u64; 2]; 4];
        assert_eq!(
            scan(&inputs(&x), &recv, &Sum).unwrap(),
            [[1, 5], [3, 11], [6, 18], [10, 26]]
        );
        let recv0 = bufs(&[&[77, 77], &[0, 0], &[0, 0], &[0, 0]]);
        assert_eq!(
            exscan(&inputs(&x), &recv0, &Sum).unwrap(),
            [[77, 77], [1, 5], [3, 11], [6, 18]]
        );
        assert_eq!(
            scan(&[Input::InPlace; 4], &x, &Max).unwrap(),
            [[1, 5], [2, 6], [3, 7], [4, 8]]
        );
        assert_eq!(exscan(&[Input::InPlace; 4], &x, &Sum).unwrap()[0], [1, 5]);
        // Hillis–Steele trees with a non-associative operator.
        let op = UserOp::new(|a: u64, b: u64| 2 * a + b);
        let f = |a: u64, b: u64| 2 * a + b;
        let (incl, excl) = HillisSteele::new(4).unwrap().combine_trees();
        let out = scan_with(&inputs(&x), &recv, &op, &incl).unwrap();
        assert_eq!(out[3][0], f(f(1, 2), f(3, 4)));
        assert_eq!(out[2][0], f(1, f(2, 3)));
        let out = exscan_with(&inputs(&x), &recv0, &op, &excl).unwrap();
        assert_eq!(out[3][0], f(f(1, 2), 3));
        assert_eq!(out[0], [77, 77]);
        // Rank-order scan differs for this operator.
        assert_eq!(
            scan(&inputs(&x), &recv, &op).unwrap()[3][0],
            f(f(f(1, 2), 3), 4)
        );
        // Wrong trees are refused.
        assert_eq!(
            arg_msg(scan_with(&inputs(&x), &recv, &op, &incl[..3])).0,
            "schedule"
        );
        let mut bad = excl.clone();
        bad[0] = Some(Combine::leaf(0));
        assert_eq!(
            arg_msg(exscan_with(&inputs(&x), &recv, &op, &bad)).0,
            "schedule"
        );
    }

    #[test]
    fn single_rank_and_zero_length() {
        let one = bufs(&[&[4u8, 5]]);
        let in1 = inputs(&one);
        assert_eq!(bcast(&one, 0).unwrap(), one);
        assert_eq!(allreduce(&in1, &one, &Sum).unwrap(), one);
        assert_eq!(reduce(&in1, &one, 0, &Sum).unwrap(), one);
        assert_eq!(allgather(&in1, &bufs(&[&[0, 0]])).unwrap(), one);
        assert_eq!(alltoall(&in1, &bufs(&[&[0, 0]])).unwrap(), one);
        assert_eq!(gather(&in1, &bufs(&[&[0, 0]]), 0).unwrap(), one);
        assert_eq!(scatter(&one[0], &bufs(&[&[0, 0]]), 0, false).unwrap(), one);
        assert_eq!(scan(&in1, &bufs(&[&[0, 0]]), &Sum).unwrap(), one);
        assert_eq!(exscan(&in1, &bufs(&[&[7, 7]]), &Sum).unwrap(), [[7, 7]]);
        assert_eq!(
            reduce_scatter_block(&in1, &bufs(&[&[0, 0]]), &Sum).unwrap(),
            one
        );

        // Zero-length messages on three ranks: every collective accepts them.
        let e: Vec<Vec<f32>> = vec![vec![]; 3];
        let ein = inputs(&e);
        assert_eq!(bcast(&e, 2).unwrap(), e);
        assert_eq!(reduce(&ein, &e, 1, &Sum).unwrap(), e);
        assert_eq!(allreduce(&ein, &e, &Sum).unwrap(), e);
        assert_eq!(gather(&ein, &e, 0).unwrap(), e);
        assert_eq!(gatherv(&ein, &e, 0, &[0; 3], &[0; 3]).unwrap(), e);
        assert_eq!(scatter(&[], &e, 1, false).unwrap(), e);
        assert_eq!(scatterv(&[], &[0; 3], &[0; 3], &e, 1, true).unwrap(), e);
        assert_eq!(allgather(&ein, &e).unwrap(), e);
        assert_eq!(allgatherv(&ein, &e, &[0; 3], &[0; 3]).unwrap(), e);
        assert_eq!(alltoall(&ein, &e).unwrap(), e);
        let z = AlltoallvArgs {
            send_counts: vec![vec![0; 3]; 3],
            send_displs: vec![vec![0; 3]; 3],
            recv_counts: vec![vec![0; 3]; 3],
            recv_displs: vec![vec![0; 3]; 3],
        };
        assert_eq!(alltoallv(&ein, &e, &z).unwrap(), e);
        assert_eq!(reduce_scatter_block(&ein, &e, &Sum).unwrap(), e);
        assert_eq!(reduce_scatter(&ein, &e, &[0; 3], &Sum).unwrap(), e);
        assert_eq!(scan(&ein, &e, &Sum).unwrap(), e);
        assert_eq!(exscan(&ein, &e, &Sum).unwrap(), e);
    }

    #[test]
    fn mismatched_rank_counts_are_refused() {
        let x = bufs(&[&[1u8], &[2]]);
        assert_eq!(
            arg_msg(allreduce(&inputs(&x), &x[..1], &Sum)),
            ("recv", "1 receive buffers for 2 ranks".into())
        );
        assert_eq!(arg_msg(allreduce::<u8, _>(&[], &[], &Sum)).0, "send");
        assert!(
            RefError::Arg(ArgError::new("recv", "x"))
                .to_string()
                .contains("invalid argument `recv`")
        );
        assert!(matches!(
            reduce_by::<u8, _>(&[], &Sum, &Schedule::rank_order(1).unwrap()),
            Err(RefError::Arg(_))
        ));
    }
}
