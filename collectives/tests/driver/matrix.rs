//! The matrix: every collective × every algorithm (forced with `Comm::set_algorithm`) ×
//! element types × operators × sizes × roots × in place or not, each compared element by
//! element (bit for bit) with the serial reference evaluated on the algorithm's schedule.

use std::time::Instant;

use rsm_collectives::algo::{self, Algorithm, Collective, Reason, Tuning};
use rsm_collectives::config::CollConfig;
use rsm_collectives::ops::{
    Band, Bor, Bxor, Land, Lor, Max, Min, OpKind, Predefined, Prod, ReduceOp, Sum, UserOp,
};
use rsm_collectives::reference::{self, AlltoallvArgs, Input};
use rsm_collectives::{CollError, Comm};

use super::data::{Affine, Gen, INPUT, SENTINEL, Triple, compose, hash, vals};

/// Bytes of the largest case.
pub const BIG_BYTES: usize = 4 << 20;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Tier {
    /// 0, 1, 3, 8.
    Small,
    /// 1, 8, 4095.
    Medium,
    /// 0, 1, 3, 8, 4095, 65543 and 4 MiB.
    Big,
}

pub struct Driver {
    pub me: usize,
    pub p: usize,
    pub case: u64,
    pub cases: u64,
    pub failures: u64,
    pub tuning: Tuning,
    pub filter: Vec<String>,
    pub started: Instant,
}

type R = Result<(), CollError>;

impl Driver {
    pub fn new(comm: &Comm, filter: Vec<String>) -> Driver {
        Driver {
            me: comm.rank(),
            p: comm.size(),
            case: 0,
            cases: 0,
            failures: 0,
            tuning: CollConfig::from_env().map(|c| c.tuning).unwrap_or_default(),
            filter,
            started: Instant::now(),
        }
    }

    fn wanted(&self, coll: Collective) -> bool {
        self.filter.is_empty() || self.filter.iter().any(|f| f == coll.name())
    }

    fn next(&mut self) -> u64 {
        self.case += 1;
        self.cases += 1;
        self.case
    }

    pub fn fail(&mut self, what: &str, detail: &str) {
        self.failures += 1;
        println!("FAIL rank {}: {what}: {detail}", self.me);
    }

    /// Bit-exact comparison.
    pub fn check<T: Gen>(&mut self, what: &str, got: &[T], want: &[T]) {
        if got.len() != want.len() {
            self.fail(
                what,
                &format!("{} elements, expected {}", got.len(), want.len()),
            );
            return;
        }
        let gb: &[u8] = bytemuck::cast_slice(got);
        let wb: &[u8] = bytemuck::cast_slice(want);
        if gb != wb {
            let i = got
                .iter()
                .zip(want)
                .position(|(a, b)| bytemuck::bytes_of(a) != bytemuck::bytes_of(b))
                .unwrap_or(0);
            let bad = got
                .iter()
                .zip(want)
                .filter(|(a, b)| bytemuck::bytes_of(*a) != bytemuck::bytes_of(*b))
                .count();
            self.fail(
                what,
                &format!(
                    "{bad} of {} elements differ; first at {i}: got {:?}, expected {:?}",
                    got.len(),
                    got[i],
                    want[i]
                ),
            );
        }
    }

    fn sizes(&self, tier: Tier, big: usize) -> Vec<usize> {
        match tier {
            Tier::Small => vec![0, 1, 3, 8],
            Tier::Medium => vec![1, 8, 4095],
            Tier::Big => vec![0, 1, 3, 8, 4095, 65543, big],
        }
    }

    /// Roots of a rooted case: every root for the small sizes of the main types (tiers
    /// Medium and Big), three for the other small cases, fewer for large sizes.
    fn roots(&self, n: usize, tier: Tier) -> Vec<usize> {
        let p = self.p;
        let mut v: Vec<usize> = if n > 65543 {
            vec![p - 1]
        } else if n <= 8 && tier != Tier::Small {
            (0..p).collect()
        } else if n <= 4095 {
            vec![0, p / 2, p - 1]
        } else {
            vec![0, p - 1]
        };
        v.dedup();
        v
    }

    fn in_place(&self, n: usize) -> &'static [bool] {
        if n > 65543 { &[false] } else { &[false, true] }
    }

    /// The algorithm that actually ran (forced, or the default for a non-commutative
    /// operator), after checking the selection reason.
    fn ran(&mut self, comm: &Comm, what: &str, forced: Algorithm) -> Algorithm {
        match comm.last_selection() {
            Some((_, sel)) => {
                match &sel.reason {
                    Reason::Forced if sel.algorithm == forced => {}
                    Reason::ForcedNotApplicable(a) if *a == forced => {}
                    r => self.fail(
                        what,
                        &format!("selection {:?} ({r:?}), forced {forced}", sel.algorithm),
                    ),
                }
                sel.algorithm
            }
            None => {
                self.fail(what, "no selection recorded");
                forced
            }
        }
    }
}

fn big_elems<T>() -> usize {
    BIG_BYTES / size_of::<T>().max(1)
}

/// For collectives whose buffers hold one block per rank, the two large sizes are per-rank
/// totals: the block is `n / p` (made odd), so a case moves about `n` elements per rank.
fn block_of(n: usize, p: usize) -> usize {
    if n >= 65543 { (n / p).max(1) | 1 } else { n }
}

/// Per-rank counts of a `v` collective of nominal size `n`: `n - 1`, `n`, `n + 1` by rank.
fn v_counts(p: usize, n: usize, salt: usize) -> Vec<usize> {
    (0..p)
        .map(|r| (n + (r + salt) % 3).saturating_sub(1))
        .collect()
}

/// The counts, displacements and total length of one case: `v_counts` laid out by
/// `v_layout` for a v-variant, else `n` elements per rank in rank order.
fn blocks_for(v: bool, p: usize, n: usize, case: u64) -> (Vec<usize>, Vec<usize>, usize) {
    if v {
        let counts = v_counts(p, n, case as usize);
        let (displs, len) = v_layout(&counts);
        (counts, displs, len)
    } else {
        (vec![n; p], (0..p).map(|r| r * n).collect(), p * n)
    }
}

/// A layout of `counts` with the blocks in reverse rank order and a one-element gap before
/// each; returns (displacements, buffer length).
fn v_layout(counts: &[usize]) -> (Vec<usize>, usize) {
    let mut displs = vec![0; counts.len()];
    let mut at = 0;
    for r in (0..counts.len()).rev() {
        at += 1;
        displs[r] = at;
        at += counts[r];
    }
    (displs, at)
}

fn inputs<T>(sends: &[Vec<T>], in_place: bool, only: Option<usize>) -> Vec<Input<'_, T>> {
    sends
        .iter()
        .enumerate()
        .map(|(r, s)| {
            if in_place && only.is_none_or(|o| o == r) {
                Input::InPlace
            } else {
                Input::Buf(s.as_slice())
            }
        })
        .collect()
}

macro_rules! try_call {
    ($d:expr, $what:expr, $e:expr) => {
        if let Err(e) = $e {
            $d.fail(&$what, &format!("call failed: {e}"));
            return Err(e);
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Reductions
// ---------------------------------------------------------------------------------------------

fn run_reduce<T: Gen, O: ReduceOp<T>>(
    d: &mut Driver,
    comm: &Comm,
    alg: Algorithm,
    opname: &str,
    op: &O,
    tier: Tier,
) -> R {
    let (me, p) = (d.me, d.p);
    let big = big_elems::<T>();
    for n in d.sizes(tier, big) {
        for root in d.roots(n, tier) {
            for &ip in d.in_place(n) {
                let case = d.next();
                let what = format!(
                    "reduce/{alg} type={} op={opname} n={n} root={root} in_place={ip}",
                    T::NAME
                );
                let mine_in: Vec<T> = vals(case, me, n, INPUT);
                let mut buf: Vec<T>;
                if ip {
                    buf = mine_in.clone();
                    try_call!(d, what, comm.reduce_in_place(&mut buf, op, root));
                } else {
                    buf = if me == root {
                        vals(case, me, n, SENTINEL)
                    } else {
                        Vec::new()
                    };
                    try_call!(d, what, comm.reduce(&mine_in, &mut buf, op, root));
                }
                let ran = d.ran(comm, &what, alg);
                if me != root {
                    if ip {
                        d.check(&format!("{what} (non-root input kept)"), &buf, &mine_in);
                    }
                    continue;
                }
                let sends: Vec<Vec<T>> = (0..p).map(|r| vals(case, r, n, INPUT)).collect();
                let mut recvs: Vec<Vec<T>> = vec![Vec::new(); p];
                recvs[root] = if ip {
                    sends[root].clone()
                } else {
                    vals(case, root, n, SENTINEL)
                };
                let sched =
                    algo::reduction_schedule(Collective::Reduce, ran, p, root, n, None, &d.tuning)
                        .expect("schedule");
                let want = reference::reduce_with(
                    &inputs(&sends, ip, Some(root)),
                    &recvs,
                    root,
                    op,
                    &sched,
                )
                .expect("reference");
                d.check(&what, &buf, &want[root]);
            }
        }
    }
    Ok(())
}

fn run_allreduce<T: Gen, O: ReduceOp<T>>(
    d: &mut Driver,
    comm: &Comm,
    alg: Algorithm,
    opname: &str,
    op: &O,
    tier: Tier,
) -> R {
    let (me, p) = (d.me, d.p);
    for n in d.sizes(tier, big_elems::<T>()) {
        for &ip in d.in_place(n) {
            let case = d.next();
            let what = format!(
                "allreduce/{alg} type={} op={opname} n={n} in_place={ip}",
                T::NAME
            );
            let sends: Vec<Vec<T>> = (0..p).map(|r| vals(case, r, n, INPUT)).collect();
            let mut buf: Vec<T>;
            if ip {
                buf = sends[me].clone();
                try_call!(d, what, comm.allreduce_in_place(&mut buf, op));
            } else {
                buf = vals(case, me, n, SENTINEL);
                try_call!(d, what, comm.allreduce(&sends[me], &mut buf, op));
            }
            let ran = d.ran(comm, &what, alg);
            let sched =
                algo::reduction_schedule(Collective::Allreduce, ran, p, 0, n, None, &d.tuning)
                    .expect("schedule");
            let recvs: Vec<Vec<T>> = if ip {
                sends.clone()
            } else {
                vec![vec![T::zeroed(); n]; p]
            };
            let mut ins = inputs(&sends, false, None);
            if ip {
                ins = inputs(&sends, true, None);
            }
            let want = reference::allreduce_with(&ins, &recvs, op, &sched).expect("reference");
            d.check(&what, &buf, &want[me]);
        }
    }
    Ok(())
}

fn run_reduce_scatter<T: Gen, O: ReduceOp<T>>(
    d: &mut Driver,
    comm: &Comm,
    coll: Collective,
    alg: Algorithm,
    opname: &str,
    op: &O,
    tier: Tier,
) -> R {
    let (me, p) = (d.me, d.p);
    let big = big_elems::<T>();
    for n in d.sizes(tier, big).into_iter().map(|n| block_of(n, p)) {
        for &ip in d.in_place(n) {
            let case = d.next();
            let what = format!(
                "{coll}/{alg} type={} op={opname} n={n} in_place={ip}",
                T::NAME
            );
            let counts = if coll == Collective::ReduceScatterBlock {
                vec![n; p]
            } else {
                v_counts(p, n, case as usize)
            };
            let total: usize = counts.iter().sum();
            let sends: Vec<Vec<T>> = (0..p).map(|r| vals(case, r, total, INPUT)).collect();
            let mut buf: Vec<T>;
            let block = coll == Collective::ReduceScatterBlock;
            if ip {
                buf = sends[me].clone();
                let r = if block {
                    comm.reduce_scatter_block_in_place(&mut buf, op)
                } else {
                    comm.reduce_scatter_in_place(&mut buf, &counts, op)
                };
                try_call!(d, what, r);
            } else {
                buf = vals(case, me, counts[me], SENTINEL);
                let r = if block {
                    comm.reduce_scatter_block(&sends[me], &mut buf, op)
                } else {
                    comm.reduce_scatter(&sends[me], &mut buf, &counts, op)
                };
                try_call!(d, what, r);
            }
            let ran = d.ran(comm, &what, alg);
            let sched = algo::reduction_schedule(coll, ran, p, 0, total, Some(&counts), &d.tuning)
                .expect("schedule");
            let recvs: Vec<Vec<T>> = if ip {
                sends.clone()
            } else {
                (0..p).map(|r| vals(case, r, counts[r], SENTINEL)).collect()
            };
            let want = if block {
                reference::reduce_scatter_block_with(&inputs(&sends, ip, None), &recvs, op, &sched)
            } else {
                reference::reduce_scatter_with(
                    &inputs(&sends, ip, None),
                    &recvs,
                    &counts,
                    op,
                    &sched,
                )
            }
            .expect("reference");
            d.check(&what, &buf, &want[me]);
        }
    }
    Ok(())
}

fn run_scan<T: Gen, O: ReduceOp<T>>(
    d: &mut Driver,
    comm: &Comm,
    coll: Collective,
    alg: Algorithm,
    opname: &str,
    op: &O,
    tier: Tier,
) -> R {
    let (me, p) = (d.me, d.p);
    let ex = coll == Collective::Exscan;
    for n in d.sizes(tier, big_elems::<T>()) {
        for &ip in d.in_place(n) {
            let case = d.next();
            let what = format!(
                "{coll}/{alg} type={} op={opname} n={n} in_place={ip}",
                T::NAME
            );
            let sends: Vec<Vec<T>> = (0..p).map(|r| vals(case, r, n, INPUT)).collect();
            let mut buf: Vec<T>;
            if ip {
                buf = sends[me].clone();
                let r = if ex {
                    comm.exscan_in_place(&mut buf, op)
                } else {
                    comm.scan_in_place(&mut buf, op)
                };
                try_call!(d, what, r);
            } else {
                buf = vals(case, me, n, SENTINEL);
                let r = if ex {
                    comm.exscan(&sends[me], &mut buf, op)
                } else {
                    comm.scan(&sends[me], &mut buf, op)
                };
                try_call!(d, what, r);
            }
            let ran = d.ran(comm, &what, alg);
            // Rank `me`'s result depends on ranks 0..=me only: evaluate the reference on them.
            let (incl, excl) = algo::scan_trees(ran, p).expect("trees");
            let k = me + 1;
            let recvs: Vec<Vec<T>> = if ip {
                sends[..k].to_vec()
            } else {
                (0..k).map(|r| vals(case, r, n, SENTINEL)).collect()
            };
            let want = if ex {
                reference::exscan_with(&inputs(&sends[..k], ip, None), &recvs, op, &excl[..k])
            } else {
                reference::scan_with(&inputs(&sends[..k], ip, None), &recvs, op, &incl[..k])
            }
            .expect("reference");
            d.check(&what, &buf, &want[me]);
        }
    }
    Ok(())
}

fn reduction<T: Gen, O: ReduceOp<T>>(
    d: &mut Driver,
    comm: &Comm,
    coll: Collective,
    alg: Algorithm,
    opname: &str,
    op: &O,
    tier: Tier,
) -> R {
    match coll {
        Collective::Reduce => run_reduce(d, comm, alg, opname, op, tier),
        Collective::Allreduce => run_allreduce(d, comm, alg, opname, op, tier),
        Collective::ReduceScatter | Collective::ReduceScatterBlock => {
            run_reduce_scatter(d, comm, coll, alg, opname, op, tier)
        }
        _ => run_scan(d, comm, coll, alg, opname, op, tier),
    }
}

fn reductions(d: &mut Driver, comm: &Comm) -> R {
    use Tier::*;
    let affine = UserOp::new(compose);
    let wrapping_add = UserOp::commutative(|a: i64, b: i64| a.wrapping_add(b));
    let runtime_max = Predefined::<i32>::new(OpKind::Max).expect("max on i32");
    for &coll in &[
        Collective::Reduce,
        Collective::Allreduce,
        Collective::ReduceScatterBlock,
        Collective::ReduceScatter,
        Collective::Scan,
        Collective::Exscan,
    ] {
        if !d.wanted(coll) {
            continue;
        }
        for &alg in coll.algorithms() {
            comm.set_algorithm(coll, Some(alg))?;
            let t0 = Instant::now();
            let c0 = d.cases;
            reduction::<f64, _>(d, comm, coll, alg, "sum", &Sum, Big)?;
            reduction::<f64, _>(d, comm, coll, alg, "prod", &Prod, Small)?;
            reduction::<f64, _>(d, comm, coll, alg, "min", &Min, Small)?;
            reduction::<f64, _>(d, comm, coll, alg, "max", &Max, Small)?;
            reduction::<f32, _>(d, comm, coll, alg, "sum", &Sum, Medium)?;
            reduction::<f32, _>(d, comm, coll, alg, "max", &Max, Small)?;
            reduction::<i32, _>(d, comm, coll, alg, "sum", &Sum, Medium)?;
            reduction::<i32, _>(d, comm, coll, alg, "prod", &Prod, Small)?;
            reduction::<i32, _>(d, comm, coll, alg, "min", &Min, Small)?;
            reduction::<i32, _>(d, comm, coll, alg, "band", &Band, Small)?;
            reduction::<i32, _>(d, comm, coll, alg, "bor", &Bor, Small)?;
            reduction::<i32, _>(d, comm, coll, alg, "bxor", &Bxor, Small)?;
            reduction::<i32, _>(d, comm, coll, alg, "land", &Land, Small)?;
            reduction::<i32, _>(d, comm, coll, alg, "lor", &Lor, Small)?;
            reduction::<i32, _>(d, comm, coll, alg, "max(runtime)", &runtime_max, Small)?;
            reduction::<i64, _>(d, comm, coll, alg, "prod", &Prod, Small)?;
            reduction::<i64, _>(d, comm, coll, alg, "user+", &wrapping_add, Small)?;
            reduction::<u8, _>(d, comm, coll, alg, "sum", &Sum, Medium)?;
            reduction::<u8, _>(d, comm, coll, alg, "min", &Min, Small)?;
            reduction::<u8, _>(d, comm, coll, alg, "lor", &Lor, Small)?;
            reduction::<Affine, _>(d, comm, coll, alg, "compose", &affine, Medium)?;
            progress(d, coll, alg, c0, t0);
        }
        comm.set_algorithm(coll, None)?;
    }
    Ok(())
}

fn progress(d: &Driver, coll: Collective, alg: Algorithm, c0: u64, t0: Instant) {
    if d.me == 0 {
        println!(
            "  {coll}/{alg}: {} cases in {:.2} s",
            d.cases - c0,
            t0.elapsed().as_secs_f64()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Data movement
// ---------------------------------------------------------------------------------------------

fn run_bcast<T: Gen>(d: &mut Driver, comm: &Comm, alg: Algorithm, tier: Tier) -> R {
    let me = d.me;
    let big = big_elems::<T>();
    for n in d.sizes(tier, big) {
        for root in d.roots(n, tier) {
            let case = d.next();
            let what = format!("bcast/{alg} type={} n={n} root={root}", T::NAME);
            let salt = if me == root { INPUT } else { SENTINEL };
            let mut buf: Vec<T> = vals(case, me, n, salt);
            try_call!(d, what, comm.bcast(&mut buf, root));
            d.ran(comm, &what, alg);
            let want: Vec<T> = vals(case, root, n, INPUT);
            d.check(&what, &buf, &want);
        }
    }
    Ok(())
}

fn run_gather<T: Gen>(
    d: &mut Driver,
    comm: &Comm,
    coll: Collective,
    alg: Algorithm,
    tier: Tier,
) -> R {
    let (me, p) = (d.me, d.p);
    let v = coll == Collective::Gatherv;
    let big = big_elems::<T>();
    for n in d.sizes(tier, big).into_iter().map(|n| block_of(n, p)) {
        for root in d.roots(n, tier) {
            for &ip in d.in_place(n) {
                let case = d.next();
                let what = format!(
                    "{coll}/{alg} type={} n={n} root={root} in_place={ip}",
                    T::NAME
                );
                let (counts, displs, len) = blocks_for(v, p, n, case);
                let sends: Vec<Vec<T>> = (0..p).map(|r| vals(case, r, counts[r], INPUT)).collect();
                let root_recv = |ip: bool| {
                    let mut b: Vec<T> = vals(case, root, len, SENTINEL);
                    if ip {
                        b[displs[root]..displs[root] + counts[root]].copy_from_slice(&sends[root]);
                    }
                    b
                };
                let mut buf: Vec<T> = if me == root {
                    root_recv(ip)
                } else {
                    Vec::new()
                };
                let r = match (v, ip && me == root) {
                    (false, false) => comm.gather(&sends[me], &mut buf, root),
                    (false, true) => comm.gather_in_place(&mut buf, root),
                    (true, false) => comm.gatherv(&sends[me], &mut buf, &counts, &displs, root),
                    (true, true) => comm.gatherv_in_place(&mut buf, &counts, &displs, root),
                };
                try_call!(d, what, r);
                d.ran(comm, &what, alg);
                if me != root {
                    continue;
                }
                let mut recvs: Vec<Vec<T>> = vec![Vec::new(); p];
                recvs[root] = root_recv(ip);
                let ins = inputs(&sends, ip, Some(root));
                let want = if v {
                    reference::gatherv(&ins, &recvs, root, &counts, &displs)
                } else {
                    reference::gather(&ins, &recvs, root)
                }
                .expect("reference");
                d.check(&what, &buf, &want[root]);
            }
        }
    }
    Ok(())
}

fn run_scatter<T: Gen>(
    d: &mut Driver,
    comm: &Comm,
    coll: Collective,
    alg: Algorithm,
    tier: Tier,
) -> R {
    let (me, p) = (d.me, d.p);
    let v = coll == Collective::Scatterv;
    let big = big_elems::<T>();
    for n in d.sizes(tier, big).into_iter().map(|n| block_of(n, p)) {
        for root in d.roots(n, tier) {
            for &ip in d.in_place(n) {
                let case = d.next();
                let what = format!(
                    "{coll}/{alg} type={} n={n} root={root} in_place={ip}",
                    T::NAME
                );
                let (counts, displs, len) = blocks_for(v, p, n, case);
                let root_send: Vec<T> = vals(case, root, len, INPUT);
                let send: &[T] = if me == root { &root_send } else { &[] };
                let mut buf: Vec<T> = vals(case, me, counts[me], SENTINEL);
                let r = match (v, ip && me == root) {
                    (false, false) => comm.scatter(send, &mut buf, root),
                    (false, true) => comm.scatter_in_place(send, root),
                    (true, false) => comm.scatterv(send, &counts, &displs, &mut buf, root),
                    (true, true) => comm.scatterv_in_place(send, &counts, &displs, root),
                };
                try_call!(d, what, r);
                d.ran(comm, &what, alg);
                let recvs: Vec<Vec<T>> =
                    (0..p).map(|r| vals(case, r, counts[r], SENTINEL)).collect();
                let want = if v {
                    reference::scatterv(&root_send, &counts, &displs, &recvs, root, ip)
                } else {
                    reference::scatter(&root_send, &recvs, root, ip)
                }
                .expect("reference");
                d.check(&what, &buf, &want[me]);
            }
        }
    }
    Ok(())
}

fn run_allgather<T: Gen>(
    d: &mut Driver,
    comm: &Comm,
    coll: Collective,
    alg: Algorithm,
    tier: Tier,
) -> R {
    let (me, p) = (d.me, d.p);
    let v = coll == Collective::Allgatherv;
    let big = big_elems::<T>();
    for n in d.sizes(tier, big).into_iter().map(|n| block_of(n, p)) {
        for &ip in d.in_place(n) {
            let case = d.next();
            let what = format!("{coll}/{alg} type={} n={n} in_place={ip}", T::NAME);
            let (counts, displs, len) = blocks_for(v, p, n, case);
            let sends: Vec<Vec<T>> = (0..p).map(|r| vals(case, r, counts[r], INPUT)).collect();
            let recv0 = |r: usize| {
                let mut b: Vec<T> = vals(case, r, len, SENTINEL);
                if ip {
                    b[displs[r]..displs[r] + counts[r]].copy_from_slice(&sends[r]);
                }
                b
            };
            let mut buf = recv0(me);
            let r = match (v, ip) {
                (false, false) => comm.allgather(&sends[me], &mut buf),
                (false, true) => comm.allgather_in_place(&mut buf),
                (true, false) => comm.allgatherv(&sends[me], &mut buf, &counts, &displs),
                (true, true) => comm.allgatherv_in_place(&mut buf, &counts, &displs),
            };
            try_call!(d, what, r);
            d.ran(comm, &what, alg);
            let recvs: Vec<Vec<T>> = (0..p).map(recv0).collect();
            let ins = inputs(&sends, ip, None);
            let want = if v {
                reference::allgatherv(&ins, &recvs, &counts, &displs)
            } else {
                reference::allgather(&ins, &recvs)
            }
            .expect("reference");
            d.check(&what, &buf, &want[me]);
        }
    }
    Ok(())
}

fn run_alltoall<T: Gen>(
    d: &mut Driver,
    comm: &Comm,
    coll: Collective,
    alg: Algorithm,
    tier: Tier,
) -> R {
    let (me, p) = (d.me, d.p);
    let v = coll == Collective::Alltoallv;
    let big = big_elems::<T>();
    for n in d.sizes(tier, big).into_iter().map(|n| block_of(n, p)) {
        for &ip in d.in_place(n) {
            let case = d.next();
            let what = format!("{coll}/{alg} type={} n={n} in_place={ip}", T::NAME);
            // counts[r][j]: what r sends to j; symmetric when in place (MPI's rule).
            let cnt = |r: usize, j: usize| -> usize {
                if !v {
                    n
                } else if ip {
                    (n + (r + j) % 3).saturating_sub(1)
                } else {
                    (n + (r + 2 * j) % 3).saturating_sub(1)
                }
            };
            let send_counts: Vec<Vec<usize>> = (0..p)
                .map(|r| (0..p).map(|j| cnt(r, j)).collect())
                .collect();
            let recv_counts: Vec<Vec<usize>> = (0..p)
                .map(|r| (0..p).map(|j| cnt(j, r)).collect())
                .collect();
            let lay = |c: &[usize]| -> (Vec<usize>, usize) {
                if v {
                    v_layout(c)
                } else {
                    ((0..p).map(|j| j * n).collect(), p * n)
                }
            };
            let send_lay: Vec<(Vec<usize>, usize)> = send_counts.iter().map(|c| lay(c)).collect();
            let recv_lay: Vec<(Vec<usize>, usize)> = recv_counts.iter().map(|c| lay(c)).collect();
            let sends: Vec<Vec<T>> = (0..p)
                .map(|r| {
                    if ip {
                        vals(case, r, recv_lay[r].1, INPUT)
                    } else {
                        vals(case, r, send_lay[r].1, INPUT)
                    }
                })
                .collect();
            let recv0 = |r: usize| -> Vec<T> {
                if ip {
                    sends[r].clone()
                } else {
                    vals(case, r, recv_lay[r].1, SENTINEL)
                }
            };
            let mut buf = recv0(me);
            let r = match (v, ip) {
                (false, false) => comm.alltoall(&sends[me], &mut buf),
                (false, true) => comm.alltoall_in_place(&mut buf),
                (true, false) => comm.alltoallv(
                    &sends[me],
                    &send_counts[me],
                    &send_lay[me].0,
                    &mut buf,
                    &recv_counts[me],
                    &recv_lay[me].0,
                ),
                (true, true) => {
                    comm.alltoallv_in_place(&mut buf, &recv_counts[me], &recv_lay[me].0)
                }
            };
            try_call!(d, what, r);
            d.ran(comm, &what, alg);
            let recvs: Vec<Vec<T>> = (0..p).map(recv0).collect();
            let ins = inputs(&sends, ip, None);
            let want = if v {
                let a = AlltoallvArgs {
                    send_counts: send_counts.clone(),
                    send_displs: send_lay.iter().map(|l| l.0.clone()).collect(),
                    recv_counts: recv_counts.clone(),
                    recv_displs: recv_lay.iter().map(|l| l.0.clone()).collect(),
                };
                reference::alltoallv(&ins, &recvs, &a)
            } else {
                reference::alltoall(&ins, &recvs)
            }
            .expect("reference");
            d.check(&what, &buf, &want[me]);
        }
    }
    Ok(())
}

fn movement<T: Gen>(
    d: &mut Driver,
    comm: &Comm,
    coll: Collective,
    alg: Algorithm,
    tier: Tier,
) -> R {
    match coll {
        Collective::Bcast => run_bcast::<T>(d, comm, alg, tier),
        Collective::Gather | Collective::Gatherv => run_gather::<T>(d, comm, coll, alg, tier),
        Collective::Scatter | Collective::Scatterv => run_scatter::<T>(d, comm, coll, alg, tier),
        Collective::Allgather | Collective::Allgatherv => {
            run_allgather::<T>(d, comm, coll, alg, tier)
        }
        _ => run_alltoall::<T>(d, comm, coll, alg, tier),
    }
}

fn movements(d: &mut Driver, comm: &Comm) -> R {
    use Tier::*;
    for &coll in &[
        Collective::Bcast,
        Collective::Gather,
        Collective::Gatherv,
        Collective::Scatter,
        Collective::Scatterv,
        Collective::Allgather,
        Collective::Allgatherv,
        Collective::Alltoall,
        Collective::Alltoallv,
    ] {
        if !d.wanted(coll) {
            continue;
        }
        for &alg in coll.algorithms() {
            comm.set_algorithm(coll, Some(alg))?;
            let t0 = Instant::now();
            let c0 = d.cases;
            movement::<u8>(d, comm, coll, alg, Big)?;
            movement::<i32>(d, comm, coll, alg, Medium)?;
            movement::<f64>(d, comm, coll, alg, Small)?;
            movement::<Triple>(d, comm, coll, alg, Medium)?;
            movement::<Affine>(d, comm, coll, alg, Small)?;
            progress(d, coll, alg, c0, t0);
        }
        comm.set_algorithm(coll, None)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Barrier
// ---------------------------------------------------------------------------------------------

fn now_ns() -> u64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).expect("clock");
    t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
}

fn barriers(d: &mut Driver, comm: &Comm) -> R {
    if !d.wanted(Collective::Barrier) {
        return Ok(());
    }
    let p = d.p;
    for &alg in Collective::Barrier.algorithms() {
        comm.set_algorithm(Collective::Barrier, Some(alg))?;
        let t0 = Instant::now();
        let c0 = d.cases;
        for round in 0..12 {
            let case = d.next();
            let what = format!("barrier/{alg} round={round}");
            // A different rank is late each round.
            let late = (round as usize) % p;
            if d.me == late {
                std::thread::sleep(std::time::Duration::from_micros(
                    200 + hash(case, d.me, 0, 9) % 1500,
                ));
            }
            let enter = now_ns();
            try_call!(d, what, comm.barrier());
            let exit = now_ns();
            d.ran(comm, &what, alg);
            let mut all = vec![0u64; 2 * p];
            comm.allgather(&[enter, exit], &mut all)?;
            let enters: Vec<u64> = all.iter().step_by(2).copied().collect();
            let exits: Vec<u64> = all.iter().skip(1).step_by(2).copied().collect();
            if let Err(e) = reference::barrier(&enters, &exits) {
                d.fail(&what, &e.to_string());
            }
        }
        progress(d, Collective::Barrier, alg, c0, t0);
    }
    comm.set_algorithm(Collective::Barrier, None)?;
    Ok(())
}

/// Runs the whole matrix; returns the process exit code.
pub fn run(comm: &Comm, filter: Vec<String>) -> i32 {
    let mut d = Driver::new(comm, filter);
    let r = barriers(&mut d, comm)
        .and_then(|()| movements(&mut d, comm))
        .and_then(|()| reductions(&mut d, comm));
    if let Err(e) = &r {
        println!("FAIL rank {}: matrix aborted: {e}", d.me);
        d.failures += 1;
    }
    // Everybody reports; a final allreduce of the failure count makes every rank's verdict
    // the job's (when the communicator still works).
    let mut total = [0u64];
    let summed = r.is_ok()
        && match comm.allreduce(&[d.failures], &mut total, &Sum) {
            Ok(()) => true,
            Err(e) => {
                println!("FAIL rank {}: the final allreduce failed: {e}", d.me);
                false
            }
        };
    println!(
        "rank {}/{} path={} oversubscribed={}: {} cases, {} failures here{} in {:.1} s",
        d.me,
        d.p,
        comm.path(),
        comm.is_oversubscribed(),
        d.cases,
        d.failures,
        if summed {
            format!(", {} in the job", total[0])
        } else {
            String::new()
        },
        d.started.elapsed().as_secs_f64()
    );
    if d.failures == 0 && summed && total[0] == 0 {
        0
    } else {
        1
    }
}
