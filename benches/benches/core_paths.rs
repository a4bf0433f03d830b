//! criterion benches of rsm-core's core paths between two processes (ranks of an `rsmrun`
//! job, see `harness`): rank 0 measures, rank 1 exports the segment it works on.
//!
//! | group | what one iteration is |
//! |---|---|
//! | `put_get_64KiB` | `put` / `get` of 64 KiB in implicit barrier mode (each call completes itself) |
//! | `explicit_span` | `open_barrier + put + close_barrier` (and get) of 8 B and 64 KiB: explicit-mode completion of one transfer (the `osu_*_bw` binaries pay one span per window of 64) |
//! | `putv_getv_16` | `putv` / `getv` with 16 entries (`MAX_SGIOREQS`) of 8 B and of 4 KiB, strided in the segment, implicit mode |
//! | `signal` | `round_trip`: post to rank 1, rank 1 waits and posts back, wait (both are separate processes) |
//!
//! put/get of 8 B, 1 MiB and 16 MiB in implicit mode next to `memcpy` live in rsm-core
//! (`cargo bench -p rsm-core --bench shm`); they are not repeated here. The collective benches
//! (barrier, small and large allreduce) go into `benches/collectives.rs` with the same
//! harness (see `harness/mod.rs`).
//!
//! Run: `cargo bench -p rsm-benches --bench core_paths` (add criterion options after `--`,
//! e.g. `-- --warm-up-time 1 --measurement-time 3 signal`).

mod harness;

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use harness::{Command, Leader, SIGNAL_TIMEOUT};
use rsm_core::{
    BarrierMode, BarrierType, GetDest, GetIo, ImportSegment, MAX_SGIOREQS, PERM_RDWR, PutIo,
    PutSource,
};

/// Segment each rank exports: room for 16 strided 4 KiB entries.
const SEGMENT: usize = 256 << 10;
const SMALL: usize = 8;
const LARGE: usize = 64 << 10;

fn or_abort<T, E: std::fmt::Display>(l: &Leader, what: &str, r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| l.job.abort(&format!("{what}: {e}")))
}

/// Implicit mode put/get of 64 KiB (8 B: rsm-core's `shm` bench).
fn implicit(c: &mut Criterion, l: &Leader) {
    let im = &l.link.peer;
    let _bar = or_abort(l, "init_barrier", im.init_barrier(BarrierType::Segment));
    let mut g = c.benchmark_group("put_get_64KiB");
    g.throughput(Throughput::Bytes(LARGE as u64));
    let src = vec![0x5au8; LARGE];
    let mut dst = vec![0u8; LARGE];
    g.bench_function("put", |b| {
        b.iter(|| im.put(black_box(0), black_box(&src)).unwrap())
    });
    g.bench_function("get", |b| {
        b.iter(|| im.get(black_box(0), black_box(&mut dst)).unwrap())
    });
    g.finish();
}

/// Explicit mode: one barrier span per transfer (implicit mode: rsm-core's `shm` bench).
fn explicit(c: &mut Criterion, l: &Leader) {
    // A second connection to rank 1's segment, in explicit mode.
    let im = or_abort(
        l,
        "connect",
        ImportSegment::connect(
            l.job.controller(),
            l.link.peer.node(),
            l.link.peer.segment_id(),
            PERM_RDWR,
        ),
    );
    or_abort(l, "set_mode", im.set_mode(BarrierMode::Explicit));
    let bar = or_abort(l, "init_barrier", im.init_barrier(BarrierType::Segment));
    let mut g = c.benchmark_group("explicit_span");
    for len in [SMALL, LARGE] {
        g.throughput(Throughput::Bytes(len as u64));
        let src = vec![0xa5u8; len];
        let mut dst = vec![0u8; len];
        g.bench_function(BenchmarkId::new("open_put_close", len), |b| {
            b.iter(|| {
                bar.open().unwrap();
                im.put(black_box(0), black_box(&src)).unwrap();
                bar.close().unwrap();
            })
        });
        g.bench_function(BenchmarkId::new("open_get_close", len), |b| {
            b.iter(|| {
                bar.open().unwrap();
                im.get(black_box(0), black_box(&mut dst)).unwrap();
                bar.close().unwrap();
            })
        });
    }
    g.finish();
    or_abort(l, "destroy_barrier", bar.destroy());
    or_abort(l, "disconnect", im.disconnect());
}

/// putv/getv with 16 entries, every other `len`-sized slot of the segment.
fn vectored(c: &mut Criterion, l: &Leader) {
    let im = &l.link.peer;
    let _bar = or_abort(l, "init_barrier", im.init_barrier(BarrierType::Segment));
    let mut g = c.benchmark_group("putv_getv_16");
    for len in [SMALL, 4096] {
        let n = MAX_SGIOREQS;
        g.throughput(Throughput::Bytes((n * len) as u64));
        let src = vec![0x3cu8; n * len];
        let mut dst = vec![0u8; n * len];
        g.bench_function(BenchmarkId::new("putv", len), |b| {
            b.iter(|| {
                let iov: [PutIo<'_>; MAX_SGIOREQS] = std::array::from_fn(|j| PutIo {
                    local: PutSource::Slice(&src),
                    local_offset: j * len,
                    remote_offset: (2 * j * len) as u64,
                    len,
                });
                im.putv(black_box(&iov), 0).unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("getv", len), |b| {
            b.iter(|| {
                let mut chunks = dst.chunks_mut(len);
                let mut iov: [GetIo<'_>; MAX_SGIOREQS] = std::array::from_fn(|j| GetIo {
                    local: GetDest::Slice(chunks.next().unwrap_or_default()),
                    local_offset: 0,
                    remote_offset: (2 * j * len) as u64,
                    len,
                });
                im.getv(black_box(&mut iov), 0).unwrap()
            })
        });
    }
    g.finish();
}

/// Interrupt signal round trip between the two processes.
fn signals(c: &mut Criterion, l: &Leader) {
    let mut g = c.benchmark_group("signal");
    g.bench_function("round_trip", |b| {
        b.iter_custom(|iters| {
            l.send(Command::EchoSignals { iters });
            let t0 = Instant::now();
            for _ in 0..iters {
                if let Err(e) = l.link.peer.signal_post(0) {
                    l.job.abort(&format!("signal_post: {e}"));
                }
                if let Err(e) = l.link.seg.signal_wait(Some(SIGNAL_TIMEOUT)) {
                    l.job.abort(&format!("signal_wait: {e}"));
                }
            }
            t0.elapsed()
        })
    });
    g.finish();
}

fn main() -> ExitCode {
    harness::main(2, SEGMENT, |l| {
        let mut c = Criterion::default()
            .warm_up_time(Duration::from_secs(1))
            .configure_from_args();
        implicit(&mut c, l);
        explicit(&mut c, l);
        vectored(&mut c, l);
        signals(&mut c, l);
        c.final_summary();
    })
}
