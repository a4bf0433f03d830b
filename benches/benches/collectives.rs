//! criterion benches of the rsm collectives between two processes (ranks of an `rsmrun` job
//! bound to one core each, see `harness`): rank 0 measures, rank 1 runs the same calls.
//!
//! | group | what one iteration is |
//! |---|---|
//! | `barrier/np2` | one `Comm::barrier` |
//! | `allreduce/i8_sum/8`, `allreduce/i8_sum/1048576` | one `Comm::allreduce` of 8 B / 1 MiB (`i8`, sum: OSU's default `MPI_CHAR`) |
//!
//! Calls run back to back on both ranks (criterion's `iter_custom`: the leader tells the
//! follower how many, through the launcher's key-value service, untimed, then times its own
//! calls), so a figure is the leader's time per call in a steady stream of calls — a
//! regression guard, not the OSU figure (`osu_barrier`/`osu_allreduce` time single calls
//! separated by barriers; `rsm-compare` puts those next to MPI).
//!
//! Run: `cargo bench -p rsm-benches --bench collectives` (add criterion options after `--`,
//! e.g. `-- --warm-up-time 1 --measurement-time 3 allreduce`).

mod harness;

use std::cell::Cell;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use harness::{Command, Leader};
use rsm_collectives::ops::Sum;

/// Segment of the harness's (unused here) segment pair.
const SEGMENT: usize = 4096;

fn barrier(c: &mut Criterion, l: &Leader) {
    let mut g = c.benchmark_group("barrier");
    g.bench_function("np2", |b| {
        b.iter_custom(|iters| {
            l.send(Command::Barrier { iters });
            let t0 = Instant::now();
            for _ in 0..iters {
                if let Err(e) = l.comm.barrier() {
                    l.job.abort(&format!("barrier: {e}"));
                }
            }
            t0.elapsed()
        })
    });
    g.finish();
}

fn allreduce(c: &mut Criterion, l: &Leader) {
    let mut g = c.benchmark_group("allreduce");
    for bytes in [8usize, 1 << 20] {
        g.throughput(Throughput::Bytes(bytes as u64));
        let send = vec![1i8; bytes];
        let mut recv = vec![0i8; bytes];
        let ran = Cell::new(false);
        g.bench_function(BenchmarkId::new("i8_sum", bytes), |b| {
            b.iter_custom(|iters| {
                ran.set(true);
                l.send(Command::Allreduce {
                    bytes: bytes as u64,
                    iters,
                });
                let t0 = Instant::now();
                for _ in 0..iters {
                    if let Err(e) = l.comm.allreduce(black_box(&send), &mut recv, &Sum) {
                        l.job.abort(&format!("allreduce: {e}"));
                    }
                }
                t0.elapsed()
            })
        });
        // Two ranks of ones: every element is 2 (when criterion ran it: not with `--list` or
        // a filter that excludes it).
        if let Some(bad) = recv.iter().position(|&x| x != 2).filter(|_| ran.get()) {
            l.job.abort(&format!(
                "allreduce of {bytes} B: element {bad} is {}",
                recv[bad]
            ));
        }
    }
    g.finish();
}

fn main() -> ExitCode {
    harness::main(2, SEGMENT, |l| {
        let mut c = Criterion::default()
            .warm_up_time(Duration::from_secs(1))
            .configure_from_args();
        barrier(&mut c, l);
        allreduce(&mut c, l);
        c.final_summary();
    })
}
