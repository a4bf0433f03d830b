//! The other driver modes: reproducibility, rank death, argument errors, mismatched calls,
//! forcing through the environment, split/dup. Each prints lines the orchestrator checks and
//! returns the process exit code.

use std::io::Write;
use std::time::{Duration, Instant};

use rsm_collectives::algo::{self, Algorithm, Collective, Reason};
use rsm_collectives::config::CollConfig;
use rsm_collectives::layout::FailReason;
use rsm_collectives::ops::{ReduceOp, Sum, UserOp};
use rsm_collectives::reference::{self, Input};
use rsm_collectives::{CollError, Comm};

use super::data::{Affine, Gen, compose, hash, mix};

fn now_ns() -> u64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).expect("clock");
    t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
}

fn say(s: String) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{s}");
    let _ = o.flush();
}

fn fnv(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= u64::from(x);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Random f64 of widely varying magnitude, so that the combination order shows in the bits.
fn noisy(seed: u64, rank: usize, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let h = hash(seed, rank, i, 77);
            let m = (h >> 12) as f64 / (1u64 << 52) as f64;
            let e = ((h >> 4) % 61) as i32 - 30;
            (if h & 1 == 1 { -m } else { m }) * 2f64.powi(e)
        })
        .collect()
}

/// Bit reproducibility of float sums: every reduction algorithm, repeated with a different
/// rank late each time, gives bit-identical results across repetitions and ranks, equal to
/// the reference evaluated on the algorithm's schedule.
pub fn repro(comm: &Comm) -> i32 {
    let (me, p) = (comm.rank(), comm.size());
    let tuning = CollConfig::from_env().map(|c| c.tuning).unwrap_or_default();
    let n = 20011; // several landing slots, uneven blocks
    let mut failures = 0;
    let mut sensitive = 0;
    let inputs: Vec<Vec<f64>> = (0..p).map(|r| noisy(4242, r, n)).collect();
    let ins: Vec<Input<'_, f64>> = inputs.iter().map(|v| Input::Buf(v.as_slice())).collect();
    let colls = [
        Collective::Allreduce,
        Collective::Reduce,
        Collective::ReduceScatterBlock,
        Collective::Scan,
    ];
    for coll in colls {
        for &alg in coll.algorithms() {
            comm.set_algorithm(coll, Some(alg)).expect("algorithm");
            let mut first: Option<Vec<f64>> = None;
            for rep in 0..4 {
                if me == rep % p {
                    std::thread::sleep(Duration::from_millis(3));
                }
                let root = p - 1;
                let out: Vec<f64> = match coll {
                    Collective::Allreduce => {
                        let mut o = vec![0.0; n];
                        comm.allreduce(&inputs[me], &mut o, &Sum).map(|()| o)
                    }
                    Collective::Reduce => {
                        let mut o = vec![0.0; if me == root { n } else { 0 }];
                        comm.reduce(&inputs[me], &mut o, &Sum, root).map(|()| o)
                    }
                    Collective::ReduceScatterBlock => {
                        let blk = n / p;
                        let mut o = vec![0.0; blk];
                        comm.reduce_scatter_block(&inputs[me][..blk * p], &mut o, &Sum)
                            .map(|()| o)
                    }
                    _ => {
                        let mut o = vec![0.0; n];
                        comm.scan(&inputs[me], &mut o, &Sum).map(|()| o)
                    }
                }
                .unwrap_or_else(|e| panic!("{coll}/{alg}: {e}"));
                match &first {
                    None => first = Some(out),
                    Some(f) => {
                        if bytemuck::cast_slice::<f64, u8>(f)
                            != bytemuck::cast_slice::<f64, u8>(&out)
                        {
                            failures += 1;
                            say(format!(
                                "FAIL rank {me}: {coll}/{alg}: repetition {rep} differs from the first"
                            ));
                        }
                    }
                }
            }
            let out = first.expect("four repetitions");
            // Against the reference on the schedule of the algorithm that ran.
            let ran = comm.last_selection().expect("selection").1.algorithm;
            let want: Vec<f64> = match coll {
                Collective::Allreduce | Collective::Reduce => {
                    let sched =
                        algo::reduction_schedule(coll, ran, p, p - 1, n, None, &tuning).unwrap();
                    let all: Vec<&[f64]> = inputs.iter().map(|v| v.as_slice()).collect();
                    if coll == Collective::Reduce && me != p - 1 {
                        Vec::new()
                    } else {
                        reference::reduce_by(&all, &Sum, &sched).unwrap()
                    }
                }
                Collective::ReduceScatterBlock => {
                    let blk = n / p;
                    let sched =
                        algo::reduction_schedule(coll, ran, p, 0, blk * p, None, &tuning).unwrap();
                    let cut: Vec<Vec<f64>> = inputs.iter().map(|v| v[..blk * p].to_vec()).collect();
                    let ins: Vec<Input<'_, f64>> =
                        cut.iter().map(|v| Input::Buf(v.as_slice())).collect();
                    let recvs = vec![vec![0.0; blk]; p];
                    reference::reduce_scatter_block_with(&ins, &recvs, &Sum, &sched).unwrap()[me]
                        .clone()
                }
                _ => {
                    let (incl, _) = algo::scan_trees(ran, p).unwrap();
                    let recvs = vec![vec![0.0; n]; p];
                    reference::scan_with(&ins, &recvs, &Sum, &incl).unwrap()[me].clone()
                }
            };
            if bytemuck::cast_slice::<f64, u8>(&want) != bytemuck::cast_slice::<f64, u8>(&out) {
                failures += 1;
                say(format!(
                    "FAIL rank {me}: {coll}/{alg}: differs from the reference schedule"
                ));
            }
            // The test must be able to see a different order: the reversed fold differs.
            if coll == Collective::Allreduce && p >= 3 {
                let mut rev = inputs[p - 1].clone();
                for r in (0..p - 1).rev() {
                    Sum.combine_left(&mut rev, &inputs[r]).unwrap();
                }
                if bytemuck::cast_slice::<f64, u8>(&rev) != bytemuck::cast_slice::<f64, u8>(&out) {
                    sensitive += 1;
                }
            }
            // Across ranks (allreduce: every rank holds the same result).
            if coll == Collective::Allreduce {
                let h = fnv(bytemuck::cast_slice(&out));
                let mut all = vec![0u64; p];
                comm.allgather(&[h], &mut all).expect("allgather");
                if all.iter().any(|&x| x != h) {
                    failures += 1;
                    say(format!(
                        "FAIL rank {me}: {coll}/{alg}: ranks hold different bits"
                    ));
                }
            }
        }
        comm.set_algorithm(coll, None).expect("algorithm");
    }
    if p >= 3 && sensitive == 0 {
        failures += 1;
        say(format!(
            "FAIL rank {me}: the inputs do not expose the combination order"
        ));
    }
    say(format!("rank {me}: repro done, {failures} failures"));
    i32::from(failures > 0)
}

/// Rank death: `args` = [victim, mid|sleep]. The victim SIGKILLs itself (mid: from a timer
/// thread while the ranks loop over collectives; sleep: right after a barrier, while the others
/// compute for 1.5 s before their next call). Survivors print when and how their call failed.
pub fn death(comm: Comm, args: &[String]) -> i32 {
    let (me, p) = (comm.rank(), comm.size());
    let victim: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(p - 1);
    let mode = args.get(1).map(String::as_str).unwrap_or("mid");
    let die = move || -> ! {
        say(format!("DEATH_AT {} rank {me}", now_ns()));
        let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGKILL);
        std::process::abort()
    };
    if me == victim && mode == "mid" {
        let delay = 300 + hash(now_ns(), me, 0, 5) % 700;
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(delay));
            die()
        });
    }
    let big = vec![1.0f64; 1 << 17];
    let mut out = vec![0.0f64; 1 << 17];
    let mut bc = vec![0u8; 64 << 10];
    let start = Instant::now();
    let mut it = 0usize;
    let err = loop {
        if start.elapsed() > Duration::from_secs(60) {
            say(format!("FAIL rank {me}: no error after 60 s"));
            return 1;
        }
        if mode == "sleep" && it == 3 {
            if me == victim {
                die();
            }
            std::thread::sleep(Duration::from_millis(1500));
        }
        let t0 = now_ns();
        let r = comm
            .allreduce(&[it as u64], &mut [0u64], &Sum)
            .and_then(|()| comm.bcast(&mut bc, it % p))
            .and_then(|()| comm.allreduce(&big, &mut out, &Sum))
            .and_then(|()| comm.barrier());
        if let Err(e) = r {
            break (e, t0);
        }
        it += 1;
    };
    let (e, t0) = err;
    let at = now_ns();
    say(format!(
        "ERROR_AT {at} rank {me} culprit {} iteration {it} call_started {t0} reason {:?}: {e}",
        e.failed_rank()
            .map_or("none".to_string(), |r| r.to_string()),
        match e.root_cause() {
            CollError::RankFailed { reason, .. } => Some(*reason),
            _ => None,
        }
    ));
    // Every later call fails at once with Broken.
    let t = Instant::now();
    match comm.barrier() {
        Err(CollError::Broken(_)) if t.elapsed() < Duration::from_millis(100) => {}
        other => {
            say(format!(
                "FAIL rank {me}: after the failure, barrier gave {other:?}"
            ));
            return 1;
        }
    }
    drop(comm);
    0
}

/// Argument errors: rank 1 passes a receive buffer of the wrong length. It must get
/// `InvalidArgument`; every other rank `RankFailed { rank: 1, reason: Error }`, quickly.
pub fn bad_args(comm: &Comm) -> i32 {
    let (me, p) = (comm.rank(), comm.size());
    let bad = 1 % p;
    comm.barrier().expect("barrier");
    let t = Instant::now();
    let send = [1u32; 8];
    let mut recv = vec![0u32; if me == bad { 7 } else { 8 }];
    let r = comm.allreduce(&send, &mut recv, &Sum);
    let took = t.elapsed();
    let ok = match (&r, me == bad) {
        (Err(CollError::InvalidArgument(a)), true) => a.arg == "recv",
        (
            Err(CollError::RankFailed {
                rank,
                reason: FailReason::Error,
                ..
            }),
            false,
        ) => *rank == bad,
        _ => false,
    };
    let fast = took < Duration::from_secs(10);
    say(format!(
        "rank {me}: {} in {:.3} s: {}",
        if ok && fast { "ARGS_OK" } else { "FAIL" },
        took.as_secs_f64(),
        r.map_or_else(|e| e.to_string(), |()| "succeeded".into())
    ));
    i32::from(!(ok && fast))
}

/// Mismatched calls: counts that differ, then different collectives on a fresh communicator,
/// then on two-rank communicators (ranks 0 and 1), where the barrier signals without
/// messages: a barrier against a bcast that waits for a message, and against an allreduce
/// that sends one. Every rank must fail (Mismatch or RankFailed), none may hang.
pub fn mismatch(comm: &Comm) -> i32 {
    let (me, p) = (comm.rank(), comm.size());
    // Creation ends with a synchronisation: everybody has connected to the new communicator
    // before anyone fails on the old one and leaves.
    let dup = comm.dup().expect("dup");
    let pair = || comm.split((me < 2).then_some(0), 0).expect("split");
    let (pair_recv, pair_send) = (pair(), pair());
    let n = if me == 1 % p { 16 } else { 8 };
    let send = vec![1u64; n];
    let mut recv = vec![0u64; n];
    let t = Instant::now();
    let r1 = comm.allreduce(&send, &mut recv, &Sum);
    let r2 = if me == 0 {
        dup.allgather(&[0u8], &mut vec![0u8; p])
    } else {
        dup.allreduce(&[1u8], &mut [0u8], &Sum)
    };
    let good = |r: &Result<(), CollError>| {
        matches!(
            r,
            Err(CollError::Mismatch { .. }) | Err(CollError::RankFailed { .. })
        )
    };
    let pair_case = |c: Option<Comm>, peer_sends: bool| -> Result<(), CollError> {
        let Some(c) = c else {
            // Not in the pair: nothing to run, counts as failed as expected.
            return Err(CollError::Mismatch {
                rank: me,
                collective: "none",
                seq: 0,
                detail: "not in the pair".into(),
            });
        };
        if c.rank() == 0 {
            c.barrier()
        } else if peer_sends {
            c.allreduce(&[1u8], &mut [0u8], &Sum)
        } else {
            c.bcast(&mut [0u8], 0)
        }
    };
    let r3 = pair_case(pair_recv, false);
    let r4 = pair_case(pair_send, true);
    let ok =
        good(&r1) && good(&r2) && good(&r3) && good(&r4) && t.elapsed() < Duration::from_secs(10);
    let text = |r: Result<(), CollError>| r.map_or_else(|e| e.to_string(), |()| "succeeded".into());
    say(format!(
        "rank {me}: {} counts: {} / collectives: {} / pair barrier-bcast: {} / pair barrier-allreduce: {}",
        if ok { "MISMATCH_OK" } else { "FAIL" },
        text(r1),
        text(r2),
        text(r3),
        text(r4)
    ));
    i32::from(!ok)
}

/// Forcing through the environment (`RSM_COLL_ALLREDUCE=ring`, `RSM_COLL_BCAST=knomial`,
/// `RSM_COLL_VERBOSE=1` set by the orchestrator) and through `set_algorithm`.
pub fn env_forcing(comm: &Comm) -> i32 {
    let (me, p) = (comm.rank(), comm.size());
    let failures = std::cell::Cell::new(0);
    let fail = |s: String| {
        failures.set(failures.get() + 1);
        say(format!("FAIL rank {me}: {s}"));
    };
    let expect =
        |what: &str, c: Collective, a: Algorithm, reason: Reason| match comm.last_selection() {
            Some((cc, sel)) if cc == c && sel.algorithm == a && sel.reason == reason => {}
            other => fail(format!("{what}: selection {other:?}")),
        };
    let send: Vec<i64> = (0..100).map(|i| i * (me as i64 + 1)).collect();
    let mut out = vec![0i64; 100];
    comm.allreduce(&send, &mut out, &Sum).expect("allreduce");
    expect(
        "allreduce",
        Collective::Allreduce,
        Algorithm::Ring,
        Reason::Forced,
    );
    let tri = (p * (p + 1) / 2) as i64;
    if out.iter().enumerate().any(|(i, &v)| v != i as i64 * tri) {
        fail("allreduce result".into());
    }
    let mut b = vec![me as u8; 1000];
    comm.bcast(&mut b, p - 1).expect("bcast");
    expect(
        "bcast",
        Collective::Bcast,
        Algorithm::Knomial,
        Reason::Forced,
    );
    if b.iter().any(|&x| x != (p - 1) as u8) {
        fail("bcast result".into());
    }
    // A non-commutative operator cannot run the forced ring: the default runs instead.
    let aff = [Affine::make(mix(me as u64))];
    let mut aout = [Affine { m: 0, c: 0 }];
    comm.allreduce(&aff, &mut aout, &UserOp::new(compose))
        .expect("allreduce user");
    expect(
        "allreduce non-commutative",
        Collective::Allreduce,
        Algorithm::Oneshot,
        Reason::ForcedNotApplicable(Algorithm::Ring),
    );
    // Programmatic forcing wins over the environment; unknown pairs are refused.
    comm.set_algorithm(Collective::Allreduce, Some(Algorithm::Twoshot))
        .expect("set");
    comm.allreduce(&send, &mut out, &Sum).expect("allreduce");
    expect(
        "allreduce set_algorithm",
        Collective::Allreduce,
        Algorithm::Twoshot,
        Reason::Forced,
    );
    comm.set_algorithm(Collective::Allreduce, None)
        .expect("set");
    comm.allreduce(&send, &mut out, &Sum).expect("allreduce");
    expect(
        "allreduce back to env",
        Collective::Allreduce,
        Algorithm::Ring,
        Reason::Forced,
    );
    match comm.set_algorithm(Collective::Barrier, Some(Algorithm::Ring)) {
        Err(CollError::Config(c)) if c.var == "RSM_COLL_BARRIER" => {}
        other => fail(format!("set_algorithm(barrier, ring) gave {other:?}")),
    }
    comm.barrier().expect("barrier");
    // Oversubscribed, 3..=16 ranks: the flat barrier lets rank 0 leave first.
    let barrier_default = if comm.is_oversubscribed() && (3..=16).contains(&p) {
        Algorithm::Flat
    } else {
        Algorithm::Dissemination
    };
    expect(
        "barrier",
        Collective::Barrier,
        barrier_default,
        Reason::Default,
    );
    let failures = failures.get();
    say(format!(
        "rank {me}: env done, {failures} failures; barrier default {barrier_default}"
    ));
    i32::from(failures > 0)
}

/// split and dup: colors, keys, MPI_UNDEFINED, nesting, interleaved use, free.
pub fn split(comm: &Comm) -> i32 {
    let (me, p) = (comm.rank(), comm.size());
    let mut failures = 0;
    let mut check = |what: &str, ok: bool| {
        if !ok {
            failures += 1;
            say(format!("FAIL rank {me}: {what}"));
        }
    };
    // Even and odd ranks, ordered by descending parent rank (key = -rank).
    let color = (me % 2) as u32;
    let half = comm
        .split(Some(color), -(me as i64))
        .expect("split")
        .expect("colored");
    let members: Vec<usize> = (0..p).filter(|r| r % 2 == me % 2).rev().collect();
    check("half size", half.size() == members.len());
    check("half rank", members.get(half.rank()) == Some(&me));
    check("half id differs", half.id() != comm.id());
    let mut s = [0u64];
    half.allreduce(&[me as u64], &mut s, &Sum)
        .expect("half allreduce");
    check(
        "half sum",
        s[0] == members.iter().map(|&r| r as u64).sum::<u64>(),
    );
    let mut b = [me as u32; 5];
    half.bcast(&mut b, 0).expect("half bcast");
    check("half bcast", b == [members[0] as u32; 5]);
    // MPI_UNDEFINED on rank 0.
    let rest = comm
        .split(if me == 0 { None } else { Some(7) }, 0)
        .expect("split undefined");
    check("undefined", rest.is_some() == (me != 0));
    if let Some(r) = &rest {
        check("rest size", r.size() == p - 1);
        check("rest rank", r.rank() == me - 1);
        let mut g = vec![0u64; p - 1];
        r.allgather(&[me as u64], &mut g).expect("rest allgather");
        check("rest allgather", g == (1..p as u64).collect::<Vec<_>>());
    }
    // dup, used interleaved with its parent.
    let dup = comm.dup().expect("dup");
    check("dup rank", dup.rank() == me && dup.size() == p);
    check("dup id", dup.id() != comm.id() && dup.id() != half.id());
    for i in 0..3u64 {
        let mut a = [0u64];
        let mut c = [0u64];
        comm.allreduce(&[i], &mut a, &Sum).expect("world");
        dup.allreduce(&[i + 1], &mut c, &Sum).expect("dup");
        check(
            "interleaved",
            a[0] == i * p as u64 && c[0] == (i + 1) * p as u64,
        );
    }
    // Nested split of the half.
    let quarter = half
        .split(Some((half.rank() % 2) as u32), half.rank() as i64)
        .expect("nested")
        .expect("colored");
    quarter.barrier().expect("quarter barrier");
    let mut q = [0u64];
    quarter
        .allreduce(&[1], &mut q, &Sum)
        .expect("quarter allreduce");
    check("quarter", q[0] == quarter.size() as u64);
    quarter.free().expect("free quarter");
    half.free().expect("free half");
    if let Some(r) = rest {
        r.free().expect("free rest");
    }
    dup.free().expect("free dup");
    comm.barrier().expect("world barrier after frees");
    say(format!("rank {me}: split done, {failures} failures"));
    i32::from(failures > 0)
}

/// A live rank that does not take part: with `RSM_COLL_TIMEOUT_S=2`, the others' barrier
/// ends in `Timeout { waiting_for: 1 }`. Rank 1, arriving late, may still complete that
/// barrier (if everything it needs was sent before the others gave up), but its next call
/// fails naming itself as the culprit.
pub fn timeout(comm: &Comm) -> i32 {
    let me = comm.rank();
    let late = 1 % comm.size();
    if me == late {
        std::thread::sleep(Duration::from_secs(4));
    }
    let t = Instant::now();
    let mut r = comm.barrier();
    if me == late && r.is_ok() {
        r = comm.barrier();
    }
    let took = t.elapsed();
    let ok = match &r {
        // With the flat barrier (oversubscribed, 3+ ranks) rank 0 may time out first and
        // report the late rank, which the others then read at their next probe.
        Err(
            CollError::Timeout {
                waiting_for: rank, ..
            }
            | CollError::RankFailed {
                rank,
                reason: FailReason::Timeout,
                ..
            },
        ) if me != late => {
            *rank == late && took < Duration::from_secs(4) && took >= Duration::from_secs(2)
        }
        Err(CollError::RankFailed {
            rank,
            reason: FailReason::Timeout,
            ..
        }) if me == late => *rank == late && took < Duration::from_secs(2),
        _ => false,
    };
    say(format!(
        "rank {me}: {} after {:.2} s: {}",
        if ok { "TIMEOUT_OK" } else { "FAIL" },
        took.as_secs_f64(),
        r.map_or_else(|e| e.to_string(), |()| "succeeded".into())
    ));
    i32::from(!ok)
}
