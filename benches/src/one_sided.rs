//! The five one-sided OSU benchmarks over rsm: `osu_put_latency`, `osu_get_latency`,
//! `osu_put_bw`, `osu_get_bw`, `osu_put_bibw`, run under `rsmrun -n 2`.
//!
//! # Method (the OSU method of `BENCHMARKS.md`, mapped onto RSMAPI)
//!
//! * **Window** — per message size every rank exports a segment of `size × window` bytes
//!   (plus two flag words, rounded up to a page), publishes it with an automatic id, the ids go
//!   around with [`Bootstrap::allgather`](rsm_core::bootstrap::Bootstrap::allgather), and each
//!   rank connects read-write to its peer's segment (`MPI_Win_allocate`). The connection gets
//!   its barrier mode and one barrier (`init_barrier`) once per size — taking the "lock" once
//!   per size (`MPI_Win_lock(MPI_LOCK_SHARED)`).
//! * **What completes a put or get at the origin** — each benchmark uses the cheapest way
//!   RSMAPI offers to complete what it times, as a program would:
//!   - latency (one transfer per iteration): **implicit barrier mode**, rsm-core's default: a
//!     put returns only when its data is in the target's memory (or with the error), a get
//!     when the data is in the destination and the connection was still good. Rank 0 times
//!     one `put` (or `get`) per iteration — the transfer and its completion, as put +
//!     `MPI_Win_flush`.
//!   - bandwidth (a window of `-W` transfers, 64 by default): **explicit barrier mode**, one
//!     span per window: `open_barrier`, the puts/gets, `close_barrier` (success means every
//!     transfer since the open completed: `MPI_Win_flush` after the window).
//!
//!   Rank 1 does nothing until the end of the size. The criterion bench `core_paths` measures
//!   a single transfer both ways (`explicit_span` here, rsm-core's `shm` bench for implicit).
//! * **Bi-directional bandwidth** (`MPI_Win_post/start/complete/wait`) — per iteration each
//!   rank: *post* = put the iteration number into the peer's `start` flag (its own span);
//!   *start* = spin on its own `start` flag until the peer posted; then `open`, the window of
//!   puts into the peer, `order_barrier`, *complete* = put the iteration number into the peer's
//!   `done` flag, `close`; *wait* = spin on its own `done` flag. Both ranks time the epoch;
//!   rank 0's figure, times two, is printed (as OSU and the C side). Flags are words of the
//!   segments (puts and loads through the exporter's [`MemView`](rsm_core::MemView)), as
//!   shared-memory MPIs implement these calls; an rsm interrupt signal would put a sleeping
//!   wake-up (tens of µs on a VM) into every epoch.
//! * **Validation (`-c`)** — as `benches/src/osu/validate.rs` says for one-sided: put data is
//!   read back with an untimed, completed get and checked every iteration, and the
//!   target checks its own memory (through its view) after a bootstrap fence at the end of the
//!   size; gets are checked in a zeroed buffer against the pattern the target wrote into its
//!   segment; bibw ranks check their own memory after each epoch. Failures are agreed on with
//!   an allgather; `RSM_BENCH_INJECT_ERROR=1` corrupts rank 0's first timed check.
//!
//! Output is the OSU 7.4 layout of [`crate::osu::format`], with these header lines after
//! `# Library:` (in place of the MPI side's `MPI_Win_allocate` / `MPI_Win_flush`):
//! [`WINDOW_LINE`] and [`sync_line`].

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rsm_core::{Barrier, BarrierMode, BarrierType};

use crate::job::{Job, Link, PageBuf, exit_after_rank0, round_up, start, wait_timeout};
use crate::osu::bench::MAX_SIZE_LIMIT;
use crate::osu::format::{self, RowValues, bandwidth_mbs, mismatch_line, validation_error_line};
use crate::osu::validate::{DType, check_data, fill_data, inject_error_requested};
use crate::osu::{Benchmark, Class, Options};

/// The `# Window creation:` line of every rsm one-sided benchmark.
pub const WINDOW_LINE: &str =
    "# Window creation: rsm export segment per size (create, publish, connect)\n";

/// The `# Synchronization:` line of `bench`.
pub fn sync_line(bench: Benchmark) -> &'static str {
    match bench {
        Benchmark::PutBibw => {
            "# Synchronization: post/start/complete/wait as flag puts + spin, barrier open/order/close\n"
        }
        b if b.class() == Class::OneSidedLatency => {
            "# Synchronization: implicit barrier mode (every put/get returns completed)\n"
        }
        _ => "# Synchronization: barrier open/close per window (explicit barrier mode)\n",
    }
}

/// Whether `bench` runs its connection in explicit barrier mode (one span per window);
/// the latency benchmarks use implicit mode (every transfer completes itself).
pub fn explicit_mode(bench: Benchmark) -> bool {
    bench.class() != Class::OneSidedLatency
}

/// Every header line rank 0 prints before the first row, in order.
pub fn header(opts: &Options, library: &str) -> String {
    let b = opts.benchmark;
    let mut h = format::title_lines(b);
    h += &format::library_line(library);
    h += WINDOW_LINE;
    h += sync_line(b);
    h += &format::datatype_line(DType::Char);
    h += &format::column_header(opts);
    h
}

/// Offset of the `start` flag (written by the peer's *post*) in a segment whose data part is
/// `region` bytes; the `done` flag follows one cache line later.
pub fn start_flag(region: usize) -> usize {
    round_up(region, 64)
}

/// Offset of the `done` flag (written by the peer's *complete*).
pub fn done_flag(region: usize) -> usize {
    start_flag(region) + 64
}

/// Bytes each rank exports for a data part of `region` bytes (before page rounding).
pub fn segment_len(region: usize) -> usize {
    done_flag(region) + 64
}

/// How a run ended (errors aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every size ran (and validated, with `-c`).
    Done,
    /// Stopped at this size: validation failed, or `size × window` is too large.
    Failed(usize),
}

/// Entry point of the `osu_*` one-sided binaries.
pub fn main(bench: Benchmark) -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let program = args
        .first()
        .cloned()
        .unwrap_or_else(|| bench.name().to_string());
    let (boot, opts) = match start(bench, args.iter().skip(1)) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let rank = boot.rank();
    if boot.size() != 2 {
        if rank == 0 {
            eprintln!("This test requires exactly two processes");
        }
        exit_after_rank0(&boot);
        return ExitCode::FAILURE;
    }
    let job = match Job::new(boot, bench.name()) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("[rank {rank}] {}: {e:#}", bench.name());
            return ExitCode::FAILURE;
        }
    };
    let outcome = match run(&job, &opts) {
        Ok(o) => o,
        Err(e) => job.abort(&format!("{e:#}")),
    };
    let mut out = std::io::stdout().lock();
    if let (Outcome::Failed(size), 0, true) = (outcome, rank, opts.validate) {
        let _ = out.write_all(validation_error_line(&program, size).as_bytes());
    }
    let _ = out.flush();
    drop(out);
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

/// One open segment pair for one message size, with its barrier.
struct Window {
    link: Link,
    bar: Barrier,
    explicit: bool,
    size: usize,
    count: usize,
}

impl Window {
    fn create(job: &Job, size: usize, count: usize, explicit: bool) -> Result<Window> {
        let region = size * count;
        let link = Link::create(job, 1 - job.rank(), segment_len(region))?;
        let mode = if explicit {
            BarrierMode::Explicit
        } else {
            BarrierMode::Implicit
        };
        link.peer
            .set_mode(mode)
            .with_context(|| format!("set_mode({mode:?})"))?;
        let bar = link
            .peer
            .init_barrier(BarrierType::Segment)
            .context("init_barrier")?;
        Ok(Window {
            link,
            bar,
            explicit,
            size,
            count,
        })
    }

    fn region(&self) -> usize {
        self.size * self.count
    }

    /// `count` puts of `size` bytes from `src` to the same offsets in the peer (no span).
    fn puts(&self, src: &[u8]) -> Result<()> {
        for j in 0..self.count {
            let off = j * self.size;
            self.link
                .peer
                .put(off as u64, &src[off..off + self.size])
                .context("put")?;
        }
        Ok(())
    }

    /// `count` gets of `size` bytes into `dst` from the same offsets in the peer (no span).
    fn gets(&self, dst: &mut [u8]) -> Result<()> {
        for j in 0..self.count {
            let off = j * self.size;
            self.link
                .peer
                .get(off as u64, &mut dst[off..off + self.size])
                .context("get")?;
        }
        Ok(())
    }

    fn open(&self) -> Result<()> {
        self.bar.open().context("open_barrier")
    }

    fn close(&self) -> Result<()> {
        self.bar.close().context("close_barrier")
    }

    /// Starts what completes the transfers of one iteration: a span in explicit mode,
    /// nothing in implicit mode (every transfer completes itself).
    fn begin(&self) -> Result<()> {
        if self.explicit { self.open() } else { Ok(()) }
    }

    /// Completes the transfers since [`begin`](Self::begin).
    fn end(&self) -> Result<()> {
        if self.explicit { self.close() } else { Ok(()) }
    }

    /// Reads the peer's whole data part, completed (untimed).
    fn read_back(&self, dst: &mut [u8]) -> Result<()> {
        dst.fill(0);
        self.begin()?;
        self.link.peer.get(0, dst).context("get (validation)")?;
        self.end()
    }

    /// Puts `value` into the peer's flag word at `off` (inside the current span).
    fn put_flag(&self, off: usize, value: u64) -> Result<()> {
        self.link
            .peer
            .put64(off as u64, &[value])
            .context("put64 (flag)")
    }

    fn free(self, job: &Job) -> Result<()> {
        let Window { link, bar, .. } = self;
        bar.destroy().context("destroy_barrier")?;
        link.close(job)
    }
}

/// A rank's first mismatch, printed once.
fn report(rank: usize, bench: Benchmark, size: usize, iter: u64, m: &dyn std::fmt::Display) {
    eprint!("{}", mismatch_line(rank, bench, size, DType::Char, iter, m));
}

/// Runs every size of `opts` on this rank; rank 0 prints the header and the rows.
pub fn run(job: &Job, opts: &Options) -> Result<Outcome> {
    let bench = opts.benchmark;
    let rank = job.rank();
    let peer = 1 - rank;
    let is_put = matches!(
        bench,
        Benchmark::PutLatency | Benchmark::PutBw | Benchmark::PutBibw
    );
    let window = if bench.accepts_window() {
        opts.window
    } else {
        1
    };
    let flag_timeout = wait_timeout()?;
    let mut inject = opts.validate && inject_error_requested();
    if rank == 0 {
        print!("{}", header(opts, &job.library()));
        std::io::stdout().flush().ok();
    }
    for size in opts.sizes(DType::Char, 2) {
        if window > MAX_SIZE_LIMIT / size {
            if rank == 0 {
                eprintln!(
                    "{}: size {size} x window {window} is too large",
                    bench.name()
                );
            }
            return Ok(Outcome::Failed(size));
        }
        let iters = opts.iterations_for(size);
        let warm = opts.warmup_for(size);
        let total = (iters + warm) as u64;
        let w = Window::create(job, size, window, explicit_mode(bench))?;
        let region = w.region();
        let mut local_buf = PageBuf::new(region, b'a');
        let local = local_buf.as_mut_slice();
        let mut check_buf = PageBuf::new(if opts.validate { region } else { 0 }, 0);
        let check = check_buf.as_mut_slice();
        if !is_put && opts.validate && rank == 1 {
            fill_data(check, DType::Char, 1, 0, 0);
            w.link.view.write(0, check).context("filling the segment")?;
        }
        job.fence()?;

        let mut timed = Duration::ZERO;
        let mut failed = false;
        if bench == Benchmark::PutBibw {
            let (start, done) = (start_flag(region), done_flag(region));
            for i in 0..total {
                if opts.validate {
                    fill_data(local, DType::Char, rank, peer, i);
                }
                let t0 = Instant::now();
                // post: the peer may write into this rank's segment.
                w.open()?;
                w.put_flag(start, i + 1)?;
                w.close()?;
                // start: wait until the peer may be written.
                w.link.wait_word(start, i + 1, flag_timeout)?;
                w.open()?;
                w.puts(local)?;
                w.bar.order().context("order_barrier")?;
                // complete: the puts above are ordered before this flag.
                w.put_flag(done, i + 1)?;
                w.close()?;
                // wait: the peer's puts into this rank's segment are complete.
                w.link.wait_word(done, i + 1, flag_timeout)?;
                let t1 = Instant::now();
                if opts.validate && !failed {
                    w.link.view.read(0, check).context("reading own segment")?;
                    if inject && rank == 0 && i == warm as u64 {
                        check[0] ^= 0x40;
                    }
                    if let Err(m) = check_data(check, DType::Char, peer, rank, i) {
                        report(rank, bench, size, i, &m);
                        failed = true;
                    }
                }
                if i >= warm as u64 {
                    timed += t1 - t0;
                }
            }
        } else if rank == 0 {
            for i in 0..total {
                if opts.validate {
                    if is_put {
                        fill_data(local, DType::Char, 0, 1, i);
                    } else {
                        local.fill(0);
                    }
                }
                let t0 = Instant::now();
                w.begin()?;
                if is_put {
                    w.puts(local)?;
                } else {
                    w.gets(local)?;
                }
                w.end()?;
                let t1 = Instant::now();
                if opts.validate && !failed {
                    let seen: &mut [u8] = if is_put {
                        w.read_back(check)?;
                        check
                    } else {
                        local
                    };
                    if inject && i == warm as u64 {
                        seen[0] ^= 0x40;
                    }
                    let r = if is_put {
                        check_data(seen, DType::Char, 0, 1, i)
                    } else {
                        check_data(seen, DType::Char, 1, 0, 0)
                    };
                    if let Err(m) = r {
                        report(rank, bench, size, i, &m);
                        failed = true;
                    }
                }
                if i >= warm as u64 {
                    timed += t1 - t0;
                }
            }
        }
        job.fence()?;
        if is_put && bench != Benchmark::PutBibw && opts.validate && rank == 1 {
            w.link.view.read(0, check).context("reading own segment")?;
            if let Err(m) = check_data(check, DType::Char, 0, 1, total - 1) {
                report(rank, bench, size, total - 1, &m);
                failed = true;
            }
        }
        let errors = opts.validate && job.any(failed)?;
        if rank == 0 {
            let secs = timed.as_secs_f64();
            let value = match bench.class() {
                Class::OneSidedLatency => secs * 1e6 / iters as f64,
                _ => {
                    let bw = bandwidth_mbs(region, iters, secs);
                    if bench == Benchmark::PutBibw {
                        bw * 2.0
                    } else {
                        bw
                    }
                }
            };
            let line = format::row(
                opts,
                size,
                &RowValues::single(value, iters),
                opts.validate.then_some(!errors),
            );
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
        w.free(job)?;
        inject = false;
        if errors {
            return Ok(Outcome::Failed(size));
        }
    }
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osu::{Parsed, parse_args};

    fn opts(bench: Benchmark, args: &[&str]) -> Options {
        match parse_args(bench, args).unwrap() {
            Parsed::Run(o) => o,
            Parsed::Help => unreachable!(),
        }
    }

    #[test]
    fn headers() {
        assert_eq!(
            header(&opts(Benchmark::PutLatency, &[]), "rsm 0.1.0 (loopback)"),
            "# OSU MPI_Put Latency Test v7.4\n\
             # Library: rsm 0.1.0 (loopback)\n\
             # Window creation: rsm export segment per size (create, publish, connect)\n\
             # Synchronization: implicit barrier mode (every put/get returns completed)\n\
             # Datatype: MPI_CHAR.\n\
             # Size          Latency (us)\n"
        );
        assert_eq!(
            header(&opts(Benchmark::PutBibw, &["-c"]), "rsm"),
            "# OSU MPI_Put Bi-directional Bandwidth Test v7.4\n\
             # Library: rsm\n\
             # Window creation: rsm export segment per size (create, publish, connect)\n\
             # Synchronization: post/start/complete/wait as flag puts + spin, barrier open/order/close\n\
             # Datatype: MPI_CHAR.\n\
             # Size      Bandwidth (MB/s)        Validation\n"
        );
    }

    #[test]
    fn completion_per_class() {
        assert!(!explicit_mode(Benchmark::PutLatency));
        assert!(!explicit_mode(Benchmark::GetLatency));
        assert!(explicit_mode(Benchmark::PutBw));
        assert!(explicit_mode(Benchmark::GetBw));
        assert!(explicit_mode(Benchmark::PutBibw));
        assert_eq!(
            sync_line(Benchmark::GetBw),
            "# Synchronization: barrier open/close per window (explicit barrier mode)\n"
        );
        assert_eq!(
            sync_line(Benchmark::GetLatency),
            sync_line(Benchmark::PutLatency)
        );
    }

    #[test]
    fn flag_layout() {
        assert_eq!(start_flag(1), 64);
        assert_eq!(done_flag(1), 128);
        assert_eq!(segment_len(1), 192);
        assert_eq!(start_flag(64), 64);
        assert_eq!(start_flag(65), 128);
        assert_eq!(segment_len(1 << 20), (1 << 20) + 128);
    }
}
