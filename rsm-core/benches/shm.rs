//! Shared-memory backend, process to process: put/get of 8 B, 1 MiB and 16 MiB into a
//! segment exported by **another process**, next to a plain `memcpy` of the same sizes
//! measured in the same run.
//!
//! Run: `cargo bench -p rsm-core --bench shm` (add e.g.
//! `-- --warm-up-time 1 --measurement-time 3` for a shorter run).
//!
//! The put/get figures include everything the API does per call in its default
//! (implicit barrier) mode: state, permission and range checks, the barrier check, the
//! connection check (revocation word, exporter liveness gated by a coarse clock), the
//! copy, and the completion fence + re-check of a put.

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use criterion::{BenchmarkId, Criterion, Throughput};
use rsm_core::{
    BarrierType, Config, Controller, ExportFlags, ExportSegment, ImportSegment, PERM_RDWR,
};

const SEG: usize = 32 << 20;

/// The exporting process: creates and publishes the segment, prints its id, and keeps it
/// until stdin closes.
fn exporter() {
    let ctrl = Controller::get("loopback").expect("controller");
    let seg = ExportSegment::create(&ctrl, SEG, ExportFlags::NONE).expect("create");
    let id = seg.publish(0, &[]).expect("publish");
    println!("{id}");
    std::io::stdout().flush().ok();
    let mut line = String::new();
    while std::io::stdin()
        .read_line(&mut line)
        .map(|n| n > 0)
        .unwrap_or(false)
    {}
    seg.destroy().expect("destroy");
}

fn benches(c: &mut Criterion) {
    let ns = format!("bench{}", std::process::id());
    let mut child = Command::new(std::env::current_exe().expect("bench binary"))
        .env("RSM_BENCH_EXPORTER", "1")
        .env("RSM_SHM_NAMESPACE", &ns)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn exporter");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("segment id");
    let id: u32 = line.trim().parse().expect("segment id");

    let cfg = Config::from_env().expect("config").with_namespace(ns);
    let ctrl = Controller::get_with_config("loopback", &cfg).expect("controller");
    let im = ImportSegment::connect(&ctrl, ctrl.node_id(), id, PERM_RDWR).expect("connect");
    let _bar = im.init_barrier(BarrierType::Segment).expect("barrier");

    let mut g = c.benchmark_group("small");
    let v = [7u8; 8];
    g.bench_function("put_8B", |b| {
        b.iter(|| im.put(black_box(64), black_box(&v)).unwrap())
    });
    let mut d = [0u8; 8];
    g.bench_function("get_8B", |b| {
        b.iter(|| im.get(black_box(64), black_box(&mut d)).unwrap())
    });
    g.finish();

    for size in [1usize << 20, 16 << 20] {
        let name = if size == 1 << 20 { "1MiB" } else { "16MiB" };
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(size as u64));
        if size > 1 << 20 {
            g.sample_size(20);
        }
        let src = vec![0x5au8; size];
        let mut dst = vec![0u8; size];
        g.bench_function(BenchmarkId::new("memcpy", size), |b| {
            b.iter(|| black_box(&mut dst[..]).copy_from_slice(black_box(&src[..])))
        });
        g.bench_function(BenchmarkId::new("put", size), |b| {
            b.iter(|| im.put(0, black_box(&src)).unwrap())
        });
        g.bench_function(BenchmarkId::new("get", size), |b| {
            b.iter(|| im.get(0, black_box(&mut dst)).unwrap())
        });
        g.finish();
    }

    im.disconnect().expect("disconnect");
    drop(child.stdin.take());
    child.wait().expect("exporter exit");
}

fn main() {
    if std::env::var_os("RSM_BENCH_EXPORTER").is_some() {
        exporter();
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
