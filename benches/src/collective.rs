//! The nine blocking collective OSU benchmarks over [`rsm_collectives::Comm`]: `osu_barrier`,
//! `osu_bcast`, `osu_reduce`, `osu_allreduce`, `osu_gather`, `osu_scatter`, `osu_allgather`,
//! `osu_alltoall`, `osu_reduce_scatter`, run under `rsmrun -n NP` (NP ≥ 2).
//!
//! # Method (OSU 7.4, as `benches/mpi/osu_mpi.c` does it with MPI)
//!
//! * One communicator, [`Comm::world`], for the whole run; rank 0 is the root of the rooted
//!   collectives; reductions are [`Sum`] over the element type of `-T` (`MPI_CHAR` = `i8`,
//!   `MPI_INT` = `i32`, `MPI_FLOAT` = `f32`). `osu_reduce_scatter` calls
//!   [`Comm::reduce_scatter_block`] (every rank receives `size / np` bytes, whole elements),
//!   as the MPI side calls `MPI_Reduce_scatter_block`.
//! * Per size: a [`Comm::barrier`], then warm-up and timed iterations. Each iteration times
//!   only the collective call (`CLOCK_MONOTONIC`, the C side's clock), then an untimed
//!   [`Comm::barrier`] separates iterations (barrier itself runs back to back). Per-rank
//!   latency = sum of the timed intervals / iterations; rank 0 prints the average over ranks
//!   (`-f`: minimum, maximum, iterations).
//! * `-c`: before each iteration every rank fills its buffers with the patterns of
//!   [`crate::osu::validate`] and a barrier follows (untimed); after the iteration's barrier it
//!   checks every element it received. Barrier `-c` staggers rank `i mod np` by 20 µs before
//!   iteration `i` and checks with monotonic-clock timestamps that no rank left before the
//!   last one entered. `RSM_BENCH_INJECT_ERROR=1` corrupts one received element on rank 0 in
//!   the first timed iteration (barrier: its exit time), so tests prove a failure is reported.
//! * Per-rank latencies, validation outcomes and barrier timestamps travel through the
//!   launcher's key-value service ([`Job`]), not through the collectives under test: a broken
//!   collective cannot hide its own failure.
//!
//! Output: the OSU 7.4 layout of [`crate::osu::format`]; the `# Library:` line names rsm,
//! the controller, the data path (`map`: loads and stores through mapped segments, `put`:
//! puts into the readers' segments) and `oversubscribed` when the communicator's ranks
//! outnumber their CPUs, e.g. `# Library: rsm 0.1.0 (loopback, map path)`.
//!
//! Since the algorithm rsm picks depends on the size (`docs/collectives.md` §6), rank 0 adds
//! after each row a line `# Algorithm: size 8: oneshot (default)` (barrier:
//! `# Algorithm: dissemination (default)`) when [`ALGORITHM_ENV`] is `1` or `RSM_COLL_VERBOSE`
//! is set (the latter also makes the collectives print one line per call on stderr, which
//! perturbs the timing; `rsm-compare` sets [`ALGORITHM_ENV`]).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use bytemuck::Pod;
use rsm_collectives::algo::{Reason, Selection};
use rsm_collectives::config::CollConfig;
use rsm_collectives::ops::{Arith, Sum};
use rsm_collectives::{CollError, Collective as CollKind, Comm};

use crate::job::{Job, PageBuf, start};
use crate::osu::format::{
    self, RowValues, barrier_failure_line, mismatch_line, validation_error_line,
};
use crate::osu::validate::{
    BARRIER_STAGGER_US, Collective, DType, barrier_stagger_rank, check_barrier,
    inject_error_requested,
};
use crate::osu::{Benchmark, Options, stats};

/// Environment variable: `1` makes rank 0 print the algorithm rsm ran after each row.
pub const ALGORITHM_ENV: &str = "RSM_BENCH_ALGORITHM";

/// Timestamps per bootstrap allgather when barrier validation gathers them (the service
/// takes values up to 64 KiB; two `i64` per iteration).
const STAMPS_PER_MESSAGE: usize = 2048;

/// Whether rank 0 prints the algorithm per size: [`ALGORITHM_ENV`] non-empty and not `0`, or
/// `RSM_COLL_VERBOSE` non-empty and not `0`.
pub fn show_algorithm() -> bool {
    show_algorithm_from(
        std::env::var(ALGORITHM_ENV).ok().as_deref(),
        std::env::var("RSM_COLL_VERBOSE").ok().as_deref(),
    )
}

/// [`show_algorithm`] on given values of the two variables (`None`: unset).
pub fn show_algorithm_from(algorithm: Option<&str>, verbose: Option<&str>) -> bool {
    let on = |v: Option<&str>| v.is_some_and(|v| !v.trim().is_empty() && v.trim() != "0");
    on(algorithm) || on(verbose)
}

/// `rsm <version> (<controller>, <path> path[, oversubscribed])`, for the `# Library:` line.
pub fn library_name(controller: &str, path: &str, oversubscribed: bool) -> String {
    format!(
        "rsm {} ({controller}, {path} path{})",
        env!("CARGO_PKG_VERSION"),
        if oversubscribed {
            ", oversubscribed"
        } else {
            ""
        }
    )
}

/// The `# Algorithm:` line printed after the row of `size` (`None`: barrier).
pub fn algorithm_line(size: Option<usize>, collective: CollKind, sel: &Selection) -> String {
    let why = match &sel.reason {
        Reason::Default => "default".to_string(),
        Reason::Forced => format!("forced by {}", collective.env_var()),
        Reason::ForcedNotApplicable(a) => {
            format!("forced {a} cannot run a non-commutative operator; default")
        }
    };
    match size {
        Some(s) => format!("# Algorithm: size {s}: {} ({why})\n", sel.algorithm),
        None => format!("# Algorithm: {} ({why})\n", sel.algorithm),
    }
}

/// The header lines rank 0 prints once, before the first element type.
pub fn title(bench: Benchmark, library: &str) -> String {
    format::title_lines(bench) + &format::library_line(library)
}

/// The header lines rank 0 prints before the rows of each element type.
pub fn section_header(opts: &Options, dtype: DType) -> String {
    let mut h = String::new();
    if opts.benchmark.has_size() {
        h += &format::datatype_line(dtype);
    }
    h + &format::column_header(opts)
}

/// How a run ended (errors aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every size ran (and validated, with `-c`).
    Done,
    /// Validation failed at this size (barrier: 0), or barrier `-c` could not run.
    Failed(usize),
}

/// The collective call of a benchmark (the nine collectives; nothing else can be built).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Barrier,
    Bcast,
    Reduce,
    Allreduce,
    Gather,
    Scatter,
    Allgather,
    Alltoall,
    ReduceScatterBlock,
}

impl Call {
    fn of(bench: Benchmark) -> Option<Call> {
        Some(match bench {
            Benchmark::Barrier => Call::Barrier,
            Benchmark::Bcast => Call::Bcast,
            Benchmark::Reduce => Call::Reduce,
            Benchmark::Allreduce => Call::Allreduce,
            Benchmark::Gather => Call::Gather,
            Benchmark::Scatter => Call::Scatter,
            Benchmark::Allgather => Call::Allgather,
            Benchmark::Alltoall => Call::Alltoall,
            Benchmark::ReduceScatter => Call::ReduceScatterBlock,
            _ => return None,
        })
    }

    /// The call itself; the root is rank 0. `send`/`recv` have the lengths of
    /// [`CollectiveBuffers`](crate::osu::validate::CollectiveBuffers) (bcast: `recv` is the
    /// buffer).
    #[inline]
    fn run<T: Arith>(self, comm: &Comm, send: &[T], recv: &mut [T]) -> Result<(), CollError> {
        match self {
            Call::Barrier => comm.barrier(),
            Call::Bcast => comm.bcast(recv, 0),
            Call::Reduce => comm.reduce(send, recv, &Sum, 0),
            Call::Allreduce => comm.allreduce(send, recv, &Sum),
            Call::Gather => comm.gather(send, recv, 0),
            Call::Scatter => comm.scatter(send, recv, 0),
            Call::Allgather => comm.allgather(send, recv),
            Call::Alltoall => comm.alltoall(send, recv),
            Call::ReduceScatterBlock => comm.reduce_scatter_block(send, recv, &Sum),
        }
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds (the clock of the C side's `now_ns` and of `Instant`).
fn now_ns() -> i64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map_or(0, |t| t.tv_sec() * 1_000_000_000 + t.tv_nsec())
}

/// Busy-waits `us` microseconds (the staggered rank of a validated barrier).
fn spin_us(us: u64) {
    let end = now_ns() + (us as i64) * 1000;
    while now_ns() < end {
        std::hint::spin_loop();
    }
}

/// Entry point of the collective `osu_*` binaries.
pub fn main(bench: Benchmark) -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let program = args
        .first()
        .cloned()
        .unwrap_or_else(|| bench.name().to_string());
    let Some(call) = Call::of(bench) else {
        eprintln!("{}: not a collective benchmark", bench.name());
        return ExitCode::FAILURE;
    };
    let (boot, opts) = match start(bench, args.iter().skip(1)) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let rank = boot.rank();
    if boot.size() < 2 {
        if rank == 0 {
            eprintln!("This test requires at least two processes");
        }
        return ExitCode::FAILURE;
    }
    if let Err(e) = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) {
        eprintln!("[rank {rank}] {}: CLOCK_MONOTONIC: {e}", bench.name());
        return ExitCode::FAILURE;
    }
    let job = match Job::new(boot, bench.name()) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("[rank {rank}] {}: {e:#}", bench.name());
            return ExitCode::FAILURE;
        }
    };
    let comm = match Comm::world() {
        Ok(c) => c,
        Err(e) => job.abort(&format!("creating the communicator: {e}")),
    };
    let outcome = match run(&job, &comm, call, &opts) {
        Ok(o) => o,
        Err(e) => job.abort(&format!("{e:#}")),
    };
    let mut out = std::io::stdout().lock();
    if let (Outcome::Failed(size), 0, true) = (outcome, rank, opts.validate) {
        let _ = out.write_all(validation_error_line(&program, size).as_bytes());
    }
    let _ = out.flush();
    drop(out);
    if let Err(e) = comm.free() {
        job.abort(&format!("freeing the communicator: {e}"));
    }
    // Rank 0's lines are out before any rank exits: rsmrun stops the job at the first
    // non-zero exit.
    if let Err(e) = job.fence() {
        eprintln!("[rank {rank}] {}: {e:#}", bench.name());
        return ExitCode::FAILURE;
    }
    match outcome {
        Outcome::Done => ExitCode::SUCCESS,
        Outcome::Failed(_) => ExitCode::FAILURE,
    }
}

/// What one rank measured at one size.
struct Measured {
    /// Sum of the timed intervals (ns).
    timed_ns: i64,
    /// This rank found a wrong element (and printed it).
    error: bool,
    /// Barrier `-c`: entry and exit time of every iteration (warm-up included).
    enter: Vec<i64>,
    leave: Vec<i64>,
    /// The selection of the measured call (rank 0 prints it on request).
    selection: Option<(CollKind, Selection)>,
}

/// Everything a size needs besides the communicator.
struct SizeRun<'a> {
    call: Call,
    opts: &'a Options,
    coll: Collective,
    size: usize,
    /// Corrupt the first timed iteration on rank 0.
    inject: bool,
}

fn typed<T: Pod>(b: &[u8]) -> Result<&[T]> {
    bytemuck::try_cast_slice(b).map_err(|e| anyhow!("buffer of {} bytes: {e:?}", b.len()))
}

fn typed_mut<T: Pod>(b: &mut [u8]) -> Result<&mut [T]> {
    let n = b.len();
    bytemuck::try_cast_slice_mut(b).map_err(|e| anyhow!("buffer of {n} bytes: {e:?}"))
}

impl SizeRun<'_> {
    /// Warm-up and timed iterations at this size with element type `T`.
    fn measure<T: Arith>(&self, comm: &Comm, send: &mut [u8], recv: &mut [u8]) -> Result<Measured> {
        let opts = self.opts;
        let coll = &self.coll;
        let (rank, np) = (coll.rank, coll.nranks);
        let (iters, warm) = (opts.iterations_for(self.size), opts.warmup_for(self.size));
        let total = iters + warm;
        let is_barrier = self.call == Call::Barrier;
        let validate_barrier = is_barrier && opts.validate;
        let (send, recv) = (&mut send[..coll.bufs.send], &mut recv[..coll.bufs.recv]);
        let mut m = Measured {
            timed_ns: 0,
            error: false,
            enter: Vec::new(),
            leave: Vec::new(),
            selection: None,
        };
        if validate_barrier {
            for v in [&mut m.enter, &mut m.leave] {
                v.try_reserve_exact(total)
                    .map_err(|e| anyhow!("timestamps of {total} iterations: {e}"))?;
            }
        }
        let err = |what: &'static str| move |e: CollError| anyhow!("{what}: {e}");
        comm.barrier().map_err(err("barrier"))?;
        for i in 0..total {
            if opts.validate {
                coll.prepare(i as u64, send, recv);
                comm.barrier().map_err(err("barrier"))?;
                if is_barrier && barrier_stagger_rank(i as u64, np) == rank {
                    spin_us(BARRIER_STAGGER_US);
                }
            }
            let (s, r) = (typed::<T>(send)?, typed_mut::<T>(recv)?);
            let t0 = now_ns();
            let done = self.call.run(comm, s, r);
            let t1 = now_ns();
            done.map_err(|e| anyhow!("{}: {e}", opts.benchmark.name()))?;
            if i + 1 == total {
                m.selection = comm.last_selection();
            }
            if !is_barrier || opts.validate {
                comm.barrier().map_err(err("barrier"))?;
            }
            if opts.validate {
                let corrupt = self.inject && rank == 0 && i == warm;
                if is_barrier {
                    m.enter.push(t0);
                    m.leave.push(if corrupt { t0 - 1 } else { t1 });
                } else if !m.error {
                    if corrupt {
                        let t = coll.dtype.size();
                        recv[t - 1] ^= 0x40;
                    }
                    if let Err(e) = coll.check(i as u64, recv) {
                        eprint!(
                            "{}",
                            mismatch_line(
                                rank,
                                opts.benchmark,
                                self.size,
                                coll.dtype,
                                i as u64,
                                &e
                            )
                        );
                        m.error = true;
                    }
                }
            }
            if i >= warm {
                m.timed_ns += t1 - t0;
            }
        }
        Ok(m)
    }
}

/// Every rank's `values`, in rank order (through the key-value service, in pieces).
fn gather_stamps(job: &Job, values: &[i64]) -> Result<Vec<Vec<i64>>> {
    let np = job.size();
    let mut all = vec![Vec::with_capacity(values.len()); np];
    // Every rank has the same count (same options), so every rank sends the same number of
    // pieces; an empty array still takes one round.
    let pieces = values.len().div_ceil(STAMPS_PER_MESSAGE).max(1);
    for p in 0..pieces {
        let lo = (p * STAMPS_PER_MESSAGE).min(values.len());
        let hi = (lo + STAMPS_PER_MESSAGE).min(values.len());
        let bytes: Vec<u8> = values[lo..hi]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let got = job
            .bootstrap()
            .allgather(&bytes)
            .context("bootstrap allgather (barrier timestamps)")?;
        for (r, b) in got.iter().enumerate() {
            if b.len() != bytes.len() {
                bail!(
                    "rank {r} sent {} bytes of timestamps instead of {}",
                    b.len(),
                    bytes.len()
                );
            }
            all[r].extend(
                b.chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))),
            );
        }
    }
    Ok(all)
}

/// Runs every element type and size of `opts` on this rank; rank 0 prints.
fn run(job: &Job, comm: &Comm, call: Call, opts: &Options) -> Result<Outcome> {
    let bench = opts.benchmark;
    let (rank, np) = (comm.rank(), comm.size());
    if np != job.size() {
        bail!("the communicator has {np} ranks, the job {}", job.size());
    }
    if bench == Benchmark::Barrier && opts.validate && job.bootstrap().node_count() > 1 {
        if rank == 0 {
            eprintln!("osu_barrier: -c compares clocks and needs all ranks on one host");
        }
        return Ok(Outcome::Failed(0));
    }
    let controller = CollConfig::from_env()
        .map(|c| c.controller)
        .unwrap_or_else(|_| crate::job::CONTROLLER.to_string());
    let library = library_name(&controller, comm.path().name(), comm.is_oversubscribed());
    let show = show_algorithm();
    let cap = if bench.has_size() {
        opts.max_size
            .checked_mul(np)
            .ok_or_else(|| anyhow!("{} bytes times {np} ranks is too large", opts.max_size))?
    } else {
        0
    };
    let mut send_buf = PageBuf::try_new(cap, 1)?;
    let mut recv_buf = PageBuf::try_new(cap, 0)?;
    let mut inject = opts.validate && inject_error_requested();
    let mut out = std::io::stdout();
    let mut say = |text: &str| {
        if rank == 0 {
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    };
    say(&title(bench, &library));
    for &dtype in &opts.types {
        say(&section_header(opts, dtype));
        for size in opts.sizes(dtype, np) {
            let Some(coll) = Collective::new(bench, size, dtype, rank, np) else {
                continue;
            };
            let sr = SizeRun {
                call,
                opts,
                coll,
                size,
                inject,
            };
            let (send, recv) = (send_buf.as_mut_slice(), recv_buf.as_mut_slice());
            let m = match dtype {
                DType::Char => sr.measure::<i8>(comm, send, recv)?,
                DType::Int => sr.measure::<i32>(comm, send, recv)?,
                DType::Float => sr.measure::<f32>(comm, send, recv)?,
            };
            let mut error = m.error;
            if bench == Benchmark::Barrier && opts.validate {
                let enter = gather_stamps(job, &m.enter)?;
                let leave = gather_stamps(job, &m.leave)?;
                if rank == 0
                    && let Err(v) = check_barrier(&enter, &leave)
                {
                    eprint!("{}", barrier_failure_line(&v));
                    error = true;
                }
            }
            let iters = opts.iterations_for(size);
            let lat_us = m.timed_ns as f64 / 1e3 / iters as f64;
            let lats: Vec<f64> = job
                .allgather_u64(lat_us.to_bits())?
                .into_iter()
                .map(f64::from_bits)
                .collect();
            let errors = opts.validate && job.any(error)?;
            let (avg, min, max) = stats::over_ranks(&lats)
                .ok_or_else(|| anyhow!("no latencies from {np} ranks: {lats:?}"))?;
            let row = format::row(
                opts,
                size,
                &RowValues {
                    value: avg,
                    min,
                    max,
                    iterations: iters,
                },
                opts.validate.then_some(!errors),
            );
            say(&row);
            if show && let Some((kind, sel)) = &m.selection {
                say(&algorithm_line(
                    bench.has_size().then_some(size),
                    *kind,
                    sel,
                ));
            }
            if errors {
                return Ok(Outcome::Failed(size));
            }
            inject = false;
        }
    }
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osu::{Parsed, parse_args};
    use rsm_collectives::Algorithm;

    fn opts(bench: Benchmark, args: &[&str]) -> Options {
        match parse_args(bench, args).unwrap() {
            Parsed::Run(o) => o,
            Parsed::Help => unreachable!(),
        }
    }

    #[test]
    fn headers() {
        let lib = library_name("loopback", "map", false);
        assert_eq!(
            lib,
            format!("rsm {} (loopback, map path)", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(
            library_name("loopback", "put", true),
            format!(
                "rsm {} (loopback, put path, oversubscribed)",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert_eq!(
            title(Benchmark::Allreduce, "rsm x"),
            "\n# OSU MPI Allreduce Latency Test v7.4\n# Library: rsm x\n"
        );
        assert_eq!(
            section_header(&opts(Benchmark::Allreduce, &["-c"]), DType::Int),
            "# Datatype: MPI_INT.\n# Size       Avg Latency(us)        Validation\n"
        );
        assert_eq!(
            section_header(&opts(Benchmark::Barrier, &["-f"]), DType::Char),
            "# Avg Latency(us)   Min Latency(us)   Max Latency(us)  Iterations\n"
        );
    }

    #[test]
    fn algorithm_lines() {
        let sel = Selection {
            algorithm: Algorithm::Oneshot,
            reason: Reason::Default,
        };
        assert_eq!(
            algorithm_line(Some(8), CollKind::Allreduce, &sel),
            "# Algorithm: size 8: oneshot (default)\n"
        );
        let forced = Selection {
            algorithm: Algorithm::Ring,
            reason: Reason::Forced,
        };
        assert_eq!(
            algorithm_line(Some(1 << 20), CollKind::Allreduce, &forced),
            "# Algorithm: size 1048576: ring (forced by RSM_COLL_ALLREDUCE)\n"
        );
        let barrier = Selection {
            algorithm: Algorithm::Dissemination,
            reason: Reason::Default,
        };
        assert_eq!(
            algorithm_line(None, CollKind::Barrier, &barrier),
            "# Algorithm: dissemination (default)\n"
        );
        // The comparison parser keeps it as a note.
        let parsed = crate::compare::parse::parse(
            "# Size       Avg Latency(us)\n8                       0.10\n# Algorithm: size 8: oneshot (default)\n",
        );
        assert_eq!(parsed.rows().len(), 1);
        assert_eq!(
            parsed.notes,
            [(
                "Algorithm".to_string(),
                "size 8: oneshot (default)".to_string()
            )]
        );
    }

    #[test]
    fn algorithm_switch() {
        assert!(!show_algorithm_from(None, None));
        assert!(show_algorithm_from(Some("1"), None));
        assert!(show_algorithm_from(None, Some("2")));
        assert!(!show_algorithm_from(Some("0"), Some(" ")));
        assert!(!show_algorithm_from(Some(""), Some("0")));
    }

    #[test]
    fn every_collective_has_a_call() {
        for b in Benchmark::COLLECTIVES {
            assert!(Call::of(b).is_some(), "{b}");
        }
        for b in Benchmark::ONE_SIDED {
            assert_eq!(Call::of(b), None, "{b}");
        }
        assert_eq!(
            Call::of(Benchmark::ReduceScatter),
            Some(Call::ReduceScatterBlock)
        );
    }

    #[test]
    fn stamps_are_page_aligned_casts() {
        let mut b = PageBuf::new(16, 0);
        assert_eq!(typed::<i32>(b.as_slice()).unwrap().len(), 4);
        assert_eq!(typed_mut::<f32>(b.as_mut_slice()).unwrap().len(), 4);
        assert!(typed::<i32>(&b.as_slice()[1..5]).is_err());
        assert!(typed::<i32>(&b.as_slice()[..3]).is_err());
    }
}
