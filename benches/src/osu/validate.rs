//! Validation (`-c`): OSU-style patterns derived from rank, iteration and element index, and
//! checkers that compare every received element with a locally computed expectation.
//!
//! The C side (`benches/mpi/osu_mpi.c`) implements exactly the same formulas; keep them in step.
//!
//! # Patterns
//! Integer values are computed in `u64` (wrapping) and stored as the element type:
//! * `data_value(src, dst, iter, idx) = (src+1)·1000003 + (dst+1)·10007 + (iter+1)·101 + idx`
//!   for everything that moves data unchanged (bcast, gather, scatter, allgather, alltoall and
//!   the one-sided benchmarks). `src` is the rank whose data it is, `dst` the rank it is meant
//!   for (0 when it is meant for everybody), `idx` the element index inside the block.
//! * `reduce_value(rank, iter, idx) = ((idx mod 100) + 1)·((iter mod 1000) + 1) + rank` for the
//!   reductions; the expected result is the sum over ranks. Unlike OSU's reduction pattern it
//!   depends on the rank, so a reduction that counts one rank twice fails.
//!
//! Element encoding for data (as OSU's `omb_assign_to_type` multipliers): `MPI_CHAR` =
//! `(7·v) mod 256`, `MPI_INT` = `(10·v) mod 2^32` as `i32`, `MPI_FLOAT` = `2·(v mod 2^20)` as
//! `f32`. Reduction inputs are encoded so that the sum over all ranks never overflows the type
//! (signed overflow is not defined by MPI, and Open MPI 4.1's vectorised `MPI_CHAR` sum
//! saturates where a scalar loop wraps — the `Fail` at 16 B in open-mpi/ompi#12717):
//! `MPI_CHAR` = `v mod (⌊127/np⌋ + 1)`, `MPI_INT` = `10·v`, `MPI_FLOAT` = `2·v` (values stay
//! below 2^20, sums exact in `f32` up to 16 ranks and within tolerance beyond). Integers compare
//! exactly; floats within `1e-5·max(1, |expected|)`.
//!
//! # Procedure per collective (rank 0 is the root)
//! | benchmark | send buffer (per rank `r`) | receive buffer checked |
//! |---|---|---|
//! | bcast | — (one buffer: root fills `data(0,0,i,k)`, others zero it) | all ranks: `data(0,0,i,k)` |
//! | reduce | `reduce(r,i,k)` | root: `Σ_s reduce(s,i,k)` |
//! | allreduce | `reduce(r,i,k)` | all ranks: `Σ_s reduce(s,i,k)` |
//! | gather | `data(r,0,i,k)` | root, block `s`: `data(s,0,i,k)` |
//! | scatter | root, block `d`: `data(0,d,i,k)` | rank `r`: `data(0,r,i,k)` |
//! | allgather | `data(r,0,i,k)` | block `s`: `data(s,0,i,k)` |
//! | alltoall | block `d`: `data(r,d,i,k)` | block `s`: `data(s,r,i,k)` |
//! | reduce_scatter | element `j` of `np·c`: `reduce(r,i,j)` | element `k` of `c`: `Σ_s reduce(s,i,r·c+k)` |
//!
//! Receive buffers are zeroed before every iteration, so an operation that does nothing fails.
//! Barrier (`-c`): every rank records a monotonic-clock timestamp just before entering and just
//! after leaving each barrier; rank `i mod np` busy-waits [`BARRIER_STAGGER_US`] before entering
//! iteration `i`; validation fails if in any iteration some rank left before another entered
//! (see [`check_barrier`]). It needs all ranks on one host (one clock).
//!
//! # One-sided (`MPI_CHAR` only; origin rank 0, target rank 1)
//! * put latency / bandwidth: before each iteration the origin fills its source buffer
//!   (`size·window` bytes) with `data(0,1,i,k)`; after the timed put(s) + flush it reads the
//!   target region back (get + flush into a zeroed buffer, not timed) and checks it; after the
//!   last iteration the target checks its own memory against the last iteration's pattern.
//! * get latency / bandwidth: the target fills its memory once per size with `data(1,0,0,k)`;
//!   the origin zeroes its destination before each iteration and checks it after the timed
//!   get(s) + flush.
//! * put bibw: each rank puts `data(me,peer,i,k)` and, after the epoch, checks its own memory
//!   against `data(peer,me,i,k)`.

use std::fmt;

use super::bench::Benchmark;

/// Element type (`-T`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// `MPI_CHAR` (1 byte, signed).
    Char,
    /// `MPI_INT` (4 bytes).
    Int,
    /// `MPI_FLOAT` (4 bytes).
    Float,
}

impl DType {
    /// All three, in OSU's `-T all` order.
    pub const ALL: [DType; 3] = [DType::Char, DType::Int, DType::Float];

    /// MPI name as printed in `# Datatype: MPI_CHAR.`
    pub fn mpi_name(self) -> &'static str {
        match self {
            DType::Char => "MPI_CHAR",
            DType::Int => "MPI_INT",
            DType::Float => "MPI_FLOAT",
        }
    }

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            DType::Char => 1,
            DType::Int | DType::Float => 4,
        }
    }

    /// Parses `-T` values: `mpi_char`/`char`, `mpi_int`/`int`, `mpi_float`/`float`
    /// (case-insensitive). `all` is handled by the option parser.
    pub fn parse(s: &str) -> Option<DType> {
        let l = s.to_ascii_lowercase();
        let l = l.strip_prefix("mpi_").unwrap_or(&l);
        match l {
            "char" => Some(DType::Char),
            "int" => Some(DType::Int),
            "float" => Some(DType::Float),
            _ => None,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mpi_name())
    }
}

/// Environment variable of the test hook: when set (and not `0`), with `-c`, rank 0 corrupts
/// one received element (its most significant byte `^= 0x40`) in the first timed iteration of
/// the first size, so tests can prove that failures are reported.
pub const INJECT_ERROR_ENV: &str = "RSM_BENCH_INJECT_ERROR";

/// True when [`INJECT_ERROR_ENV`] asks for an injected error.
pub fn inject_error_requested() -> bool {
    std::env::var(INJECT_ERROR_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// How long the staggered rank waits before entering a validated barrier (µs).
pub const BARRIER_STAGGER_US: u64 = 20;

/// Pattern value for data that moves unchanged.
pub fn data_value(src: usize, dst: usize, iter: u64, idx: u64) -> u64 {
    (src as u64 + 1)
        .wrapping_mul(1_000_003)
        .wrapping_add((dst as u64 + 1).wrapping_mul(10_007))
        .wrapping_add(iter.wrapping_add(1).wrapping_mul(101))
        .wrapping_add(idx)
}

/// Pattern value for reduction inputs.
pub fn reduce_value(rank: usize, iter: u64, idx: u64) -> u64 {
    ((idx % 100) + 1) * ((iter % 1000) + 1) + rank as u64
}

/// One element value in its type (for expectations and messages).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Elem {
    /// `MPI_CHAR` value.
    Char(i8),
    /// `MPI_INT` value.
    Int(i32),
    /// `MPI_FLOAT` value.
    Float(f32),
}

impl Elem {
    /// Encodes pattern value `v` as `dtype`.
    pub fn encode(dtype: DType, v: u64) -> Elem {
        match dtype {
            DType::Char => Elem::Char(v.wrapping_mul(7) as u8 as i8),
            DType::Int => Elem::Int(v.wrapping_mul(10) as u32 as i32),
            DType::Float => Elem::Float((v % (1 << 20)) as f32 * 2.0),
        }
    }

    /// Encodes reduction input `v` as `dtype` so that the sum over `nranks` ranks cannot
    /// overflow (see the module documentation).
    pub fn encode_reduce(dtype: DType, v: u64, nranks: usize) -> Elem {
        match dtype {
            DType::Char => {
                let cap = (127 / nranks.max(1)) as u64;
                Elem::Char((v % (cap + 1)) as i8)
            }
            DType::Int => Elem::Int(v.wrapping_mul(10) as u32 as i32),
            DType::Float => Elem::Float((v % (1 << 20)) as f32 * 2.0),
        }
    }

    /// Zero of `dtype`.
    pub fn zero(dtype: DType) -> Elem {
        match dtype {
            DType::Char => Elem::Char(0),
            DType::Int => Elem::Int(0),
            DType::Float => Elem::Float(0.0),
        }
    }

    /// Sum as `MPI_SUM` computes it (integers wrap).
    pub fn sum_with(self, other: Elem) -> Elem {
        match (self, other) {
            (Elem::Char(a), Elem::Char(b)) => Elem::Char(a.wrapping_add(b)),
            (Elem::Int(a), Elem::Int(b)) => Elem::Int(a.wrapping_add(b)),
            (Elem::Float(a), Elem::Float(b)) => Elem::Float(a + b),
            (a, b) => panic!("adding elements of different types: {a:?} + {b:?}"),
        }
    }

    /// Reads element `index` of `dtype` from `buf` (native byte order).
    pub fn read(dtype: DType, buf: &[u8], index: usize) -> Elem {
        let n = dtype.size();
        let b = &buf[index * n..index * n + n];
        match dtype {
            DType::Char => Elem::Char(b[0] as i8),
            DType::Int => Elem::Int(i32::from_ne_bytes([b[0], b[1], b[2], b[3]])),
            DType::Float => Elem::Float(f32::from_ne_bytes([b[0], b[1], b[2], b[3]])),
        }
    }

    /// Writes this element at `index` of `buf` (native byte order).
    pub fn write(self, buf: &mut [u8], index: usize) {
        match self {
            Elem::Char(v) => buf[index] = v as u8,
            Elem::Int(v) => buf[index * 4..index * 4 + 4].copy_from_slice(&v.to_ne_bytes()),
            Elem::Float(v) => buf[index * 4..index * 4 + 4].copy_from_slice(&v.to_ne_bytes()),
        }
    }

    /// True when `self` (received) matches `expected`: exact for integers, relative
    /// tolerance `1e-5` for floats.
    pub fn matches(self, expected: Elem) -> bool {
        match (self, expected) {
            (Elem::Float(a), Elem::Float(e)) => (a - e).abs() <= 1e-5 * e.abs().max(1.0),
            (a, e) => a == e,
        }
    }
}

impl fmt::Display for Elem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Elem::Char(v) => write!(f, "{v}"),
            Elem::Int(v) => write!(f, "{v}"),
            Elem::Float(v) => write!(f, "{v:.3}"),
        }
    }
}

/// The first element that did not match.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Element index inside the checked buffer.
    pub index: usize,
    /// What the pattern says.
    pub expected: Elem,
    /// What the buffer holds.
    pub actual: Elem,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "element {}: expected {}, got {}",
            self.index, self.expected, self.actual
        )
    }
}

impl std::error::Error for Mismatch {}

/// Number of whole `dtype` elements in `bytes`.
pub fn elements(bytes: usize, dtype: DType) -> usize {
    bytes / dtype.size()
}

/// Fills the whole elements of `buf` with `data_value(src, dst, iter, k)`.
pub fn fill_data(buf: &mut [u8], dtype: DType, src: usize, dst: usize, iter: u64) {
    for k in 0..elements(buf.len(), dtype) {
        Elem::encode(dtype, data_value(src, dst, iter, k as u64)).write(buf, k);
    }
}

/// Checks the whole elements of `buf` against `data_value(src, dst, iter, k)`.
pub fn check_data(
    buf: &[u8],
    dtype: DType,
    src: usize,
    dst: usize,
    iter: u64,
) -> Result<(), Mismatch> {
    for k in 0..elements(buf.len(), dtype) {
        let expected = Elem::encode(dtype, data_value(src, dst, iter, k as u64));
        let actual = Elem::read(dtype, buf, k);
        if !actual.matches(expected) {
            return Err(Mismatch {
                index: k,
                expected,
                actual,
            });
        }
    }
    Ok(())
}

/// Fills `buf` with rank `rank`'s reduction input `reduce_value(rank, iter, first + k)`, encoded
/// for a sum over `nranks` ranks.
pub fn fill_reduce(
    buf: &mut [u8],
    dtype: DType,
    rank: usize,
    nranks: usize,
    iter: u64,
    first: u64,
) {
    for k in 0..elements(buf.len(), dtype) {
        Elem::encode_reduce(dtype, reduce_value(rank, iter, first + k as u64), nranks)
            .write(buf, k);
    }
}

/// Expected reduction result for element `idx`: the sum over `nranks` ranks.
pub fn reduce_expected(dtype: DType, nranks: usize, iter: u64, idx: u64) -> Elem {
    (0..nranks).fold(Elem::zero(dtype), |acc, r| {
        acc.sum_with(Elem::encode_reduce(
            dtype,
            reduce_value(r, iter, idx),
            nranks,
        ))
    })
}

/// Checks `buf` against the sum over `nranks` of `reduce_value(rank, iter, first + k)`.
pub fn check_reduce(
    buf: &[u8],
    dtype: DType,
    nranks: usize,
    iter: u64,
    first: u64,
) -> Result<(), Mismatch> {
    for k in 0..elements(buf.len(), dtype) {
        let expected = reduce_expected(dtype, nranks, iter, first + k as u64);
        let actual = Elem::read(dtype, buf, k);
        if !actual.matches(expected) {
            return Err(Mismatch {
                index: k,
                expected,
                actual,
            });
        }
    }
    Ok(())
}

/// Buffer lengths in bytes for one rank of a collective at message size `size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectiveBuffers {
    /// Elements per MPI call argument (`count`): per rank/block; for reduce_scatter per block.
    pub count: usize,
    /// Send buffer length (0 for bcast and barrier).
    pub send: usize,
    /// Receive buffer length (the bcast buffer for bcast).
    pub recv: usize,
}

impl CollectiveBuffers {
    /// Sizes for `bench` at message size `size` with `nranks` ranks; `None` when the message
    /// holds no whole element (OSU skips such sizes) or `bench` is not a collective.
    pub fn new(
        bench: Benchmark,
        size: usize,
        dtype: DType,
        nranks: usize,
    ) -> Option<CollectiveBuffers> {
        let t = dtype.size();
        let n = size / t;
        let (count, send, recv) = match bench {
            Benchmark::Barrier => return Some(CollectiveBuffers::default_barrier()),
            Benchmark::Bcast => (n, 0, n * t),
            Benchmark::Reduce | Benchmark::Allreduce => (n, n * t, n * t),
            Benchmark::Gather | Benchmark::Allgather => (n, n * t, n * t * nranks),
            Benchmark::Scatter => (n, n * t * nranks, n * t),
            Benchmark::Alltoall => (n, n * t * nranks, n * t * nranks),
            Benchmark::ReduceScatter => {
                let c = n / nranks;
                (c, c * nranks * t, c * t)
            }
            _ => return None,
        };
        (count > 0).then_some(CollectiveBuffers { count, send, recv })
    }

    fn default_barrier() -> CollectiveBuffers {
        CollectiveBuffers {
            count: 0,
            send: 0,
            recv: 0,
        }
    }
}

/// One rank's view of a validated collective at one message size and element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collective {
    /// The collective.
    pub bench: Benchmark,
    /// Element type.
    pub dtype: DType,
    /// Buffer lengths and element count.
    pub bufs: CollectiveBuffers,
    /// This rank.
    pub rank: usize,
    /// Number of ranks.
    pub nranks: usize,
}

impl Collective {
    /// `None` when the message holds no whole element or `bench` is not a collective.
    pub fn new(
        bench: Benchmark,
        size: usize,
        dtype: DType,
        rank: usize,
        nranks: usize,
    ) -> Option<Collective> {
        Some(Collective {
            bench,
            dtype,
            bufs: CollectiveBuffers::new(bench, size, dtype, nranks)?,
            rank,
            nranks,
        })
    }

    fn block(&self) -> usize {
        self.bufs.count * self.dtype.size()
    }

    /// Prepares this rank's buffers for iteration `iter`: fills the send buffer with its
    /// pattern and zeroes the receive buffer (bcast: the root fills, the others zero).
    /// `send`/`recv` must be at least `bufs.send`/`bufs.recv` long.
    pub fn prepare(&self, iter: u64, send: &mut [u8], recv: &mut [u8]) {
        let (dtype, rank, block) = (self.dtype, self.rank, self.block());
        recv[..self.bufs.recv].fill(0);
        match self.bench {
            Benchmark::Bcast if rank == 0 => {
                fill_data(&mut recv[..self.bufs.recv], dtype, 0, 0, iter);
            }
            Benchmark::Reduce | Benchmark::Allreduce | Benchmark::ReduceScatter => {
                fill_reduce(
                    &mut send[..self.bufs.send],
                    dtype,
                    rank,
                    self.nranks,
                    iter,
                    0,
                );
            }
            Benchmark::Gather | Benchmark::Allgather => {
                fill_data(&mut send[..block], dtype, rank, 0, iter);
            }
            Benchmark::Scatter if rank == 0 => {
                for d in 0..self.nranks {
                    fill_data(&mut send[d * block..(d + 1) * block], dtype, 0, d, iter);
                }
            }
            Benchmark::Alltoall => {
                for d in 0..self.nranks {
                    fill_data(&mut send[d * block..(d + 1) * block], dtype, rank, d, iter);
                }
            }
            _ => {}
        }
    }

    /// Checks this rank's receive buffer after iteration `iter`.
    pub fn check(&self, iter: u64, recv: &[u8]) -> Result<(), CollectiveMismatch> {
        let (dtype, rank, nranks, block) = (self.dtype, self.rank, self.nranks, self.block());
        let recv = &recv[..self.bufs.recv];
        let whole = |r: Result<(), Mismatch>| {
            r.map_err(|m| CollectiveMismatch {
                block: None,
                mismatch: m,
            })
        };
        match self.bench {
            Benchmark::Bcast => whole(check_data(recv, dtype, 0, 0, iter)),
            Benchmark::Reduce | Benchmark::Gather if rank != 0 => Ok(()),
            Benchmark::Reduce | Benchmark::Allreduce => {
                whole(check_reduce(recv, dtype, nranks, iter, 0))
            }
            Benchmark::ReduceScatter => whole(check_reduce(
                recv,
                dtype,
                nranks,
                iter,
                (rank * self.bufs.count) as u64,
            )),
            Benchmark::Gather | Benchmark::Allgather | Benchmark::Alltoall => {
                let dst = if self.bench == Benchmark::Alltoall {
                    rank
                } else {
                    0
                };
                for s in 0..nranks {
                    check_data(&recv[s * block..(s + 1) * block], dtype, s, dst, iter).map_err(
                        |m| CollectiveMismatch {
                            block: Some(s),
                            mismatch: m,
                        },
                    )?;
                }
                Ok(())
            }
            Benchmark::Scatter => whole(check_data(recv, dtype, 0, rank, iter)),
            _ => Ok(()),
        }
    }
}

/// A failed collective check: which block (source rank) and element.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectiveMismatch {
    /// Block index in the receive buffer (source rank), when the buffer has blocks.
    pub block: Option<usize>,
    /// The element that differed (index inside the block).
    pub mismatch: Mismatch,
}

impl fmt::Display for CollectiveMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.block {
            Some(b) => write!(f, "block {b}, {}", self.mismatch),
            None => write!(f, "{}", self.mismatch),
        }
    }
}

impl std::error::Error for CollectiveMismatch {}

/// The rank that waits [`BARRIER_STAGGER_US`] before entering validated barrier `iter`.
pub fn barrier_stagger_rank(iter: u64, nranks: usize) -> usize {
    (iter % nranks as u64) as usize
}

/// Checks barrier timestamps: `enter[r][i]` / `exit[r][i]` are rank `r`'s monotonic-clock
/// readings (any unit) just before entering and just after leaving barrier `i`. Returns the
/// first iteration in which some rank left before another entered.
pub fn check_barrier(enter: &[Vec<i64>], exit: &[Vec<i64>]) -> Result<(), BarrierViolation> {
    let iters = enter.first().map_or(0, Vec::len);
    for i in 0..iters {
        let (late_rank, latest_enter) = enter
            .iter()
            .enumerate()
            .map(|(r, e)| (r, e[i]))
            .max_by_key(|&(_, t)| t)
            .unwrap_or((0, 0));
        let (early_rank, earliest_exit) = exit
            .iter()
            .enumerate()
            .map(|(r, e)| (r, e[i]))
            .min_by_key(|&(_, t)| t)
            .unwrap_or((0, 0));
        if earliest_exit < latest_enter {
            return Err(BarrierViolation {
                iteration: i,
                early_rank,
                late_rank,
            });
        }
    }
    Ok(())
}

/// A barrier that let a rank through too early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierViolation {
    /// Iteration (counting warm-up) in which it happened.
    pub iteration: usize,
    /// The rank that left before `late_rank` entered.
    pub early_rank: usize,
    /// The rank that entered last.
    pub late_rank: usize,
}

impl fmt::Display for BarrierViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "iteration {}: rank {} left the barrier before rank {} entered it",
            self.iteration, self.early_rank, self.late_rank
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_parse() {
        assert_eq!(DType::parse("MPI_CHAR"), Some(DType::Char));
        assert_eq!(DType::parse("mpi_int"), Some(DType::Int));
        assert_eq!(DType::parse("Float"), Some(DType::Float));
        assert_eq!(DType::parse("double"), None);
        assert_eq!(DType::parse("mpi_"), None);
        assert_eq!(DType::parse(""), None);
    }

    #[test]
    fn pattern_values_are_exact() {
        assert_eq!(data_value(0, 0, 0, 0), 1_000_003 + 10_007 + 101);
        assert_eq!(
            data_value(1, 2, 3, 4),
            2 * 1_000_003 + 3 * 10_007 + 4 * 101 + 4
        );
        assert_eq!(reduce_value(0, 0, 0), 1);
        assert_eq!(reduce_value(3, 9, 105), 6 * 10 + 3);
        assert_eq!(reduce_value(0, 1000, 0), 1);
        assert_eq!(Elem::encode(DType::Char, 40), Elem::Char(24)); // 280 mod 256
        assert_eq!(Elem::encode(DType::Char, 37), Elem::Char(3)); // 259 mod 256
        assert_eq!(Elem::encode(DType::Char, 20), Elem::Char(-116)); // 140 as i8
        assert_eq!(Elem::encode(DType::Int, 7), Elem::Int(70));
        assert_eq!(Elem::encode(DType::Int, 1 << 31), Elem::Int(0));
        assert_eq!(Elem::encode(DType::Float, 3), Elem::Float(6.0));
        assert_eq!(Elem::encode(DType::Float, (1 << 20) + 5), Elem::Float(10.0));
    }

    #[test]
    fn data_fill_then_check_passes_and_detects_one_flip() {
        for dtype in DType::ALL {
            let mut buf = vec![0u8; 1000 * dtype.size() + 3];
            fill_data(&mut buf, dtype, 2, 5, 17);
            assert_eq!(check_data(&buf, dtype, 2, 5, 17), Ok(()));
            // Wrong source, destination or iteration is noticed.
            assert!(check_data(&buf, dtype, 3, 5, 17).is_err());
            assert!(check_data(&buf, dtype, 2, 4, 17).is_err());
            assert!(check_data(&buf, dtype, 2, 5, 18).is_err());
            // One corrupted byte (the most significant one) in element 613 is found at
            // exactly that element.
            buf[613 * dtype.size() + dtype.size() - 1] ^= 0x40;
            let m = check_data(&buf, dtype, 2, 5, 17).unwrap_err();
            assert_eq!(m.index, 613);
            assert_eq!(m.expected, Elem::encode(dtype, data_value(2, 5, 17, 613)));
        }
    }

    #[test]
    fn zeroed_buffer_fails_data_check() {
        for dtype in DType::ALL {
            let buf = vec![0u8; 64 * dtype.size()];
            assert!(check_data(&buf, dtype, 0, 0, 0).is_err());
        }
    }

    #[test]
    fn reduce_expectation_is_sum_over_ranks() {
        // char: 3 ranks -> inputs mod 43; iter 99, idx 99 -> values 10000, 10001, 10002.
        let e = reduce_expected(DType::Char, 3, 99, 99);
        assert_eq!(e, Elem::Char((10000 % 43 + 10001 % 43 + 10002 % 43) as i8));
        assert_eq!(
            reduce_expected(DType::Int, 4, 0, 0),
            Elem::Int(10 * (1 + 2 + 3 + 4))
        );
        assert_eq!(
            reduce_expected(DType::Float, 2, 1, 1),
            Elem::Float(2.0 * ((2 * 2) + (2 * 2 + 1)) as f32)
        );
    }

    #[test]
    fn reduce_check_against_simulated_sum() {
        for dtype in DType::ALL {
            let n = 300;
            let np = 3;
            let mut inputs = vec![vec![0u8; n * dtype.size()]; np];
            for (r, b) in inputs.iter_mut().enumerate() {
                fill_reduce(b, dtype, r, np, 7, 0);
            }
            let mut sum = vec![0u8; n * dtype.size()];
            for k in 0..n {
                let s = inputs.iter().fold(Elem::zero(dtype), |a, b| {
                    a.sum_with(Elem::read(dtype, b, k))
                });
                s.write(&mut sum, k);
            }
            assert_eq!(check_reduce(&sum, dtype, np, 7, 0), Ok(()));
            // Counting rank 0 twice instead of rank 2 is caught.
            let mut wrong = vec![0u8; n * dtype.size()];
            for k in 0..n {
                let s = Elem::read(dtype, &inputs[0], k)
                    .sum_with(Elem::read(dtype, &inputs[0], k))
                    .sum_with(Elem::read(dtype, &inputs[1], k));
                s.write(&mut wrong, k);
            }
            assert_eq!(check_reduce(&wrong, dtype, np, 7, 0).unwrap_err().index, 0);
        }
    }

    #[test]
    fn reduction_inputs_never_overflow() {
        for np in [1, 2, 3, 7, 64, 127] {
            for iter in [0, 1, 500, 999, 12345] {
                for idx in 0..200u64 {
                    let mut sum = 0i64;
                    for r in 0..np {
                        let Elem::Char(c) =
                            Elem::encode_reduce(DType::Char, reduce_value(r, iter, idx), np)
                        else {
                            unreachable!()
                        };
                        assert!(c >= 0);
                        sum += i64::from(c);
                    }
                    assert!(sum <= 127, "np={np} iter={iter} idx={idx}: {sum}");
                    let mut isum = 0i64;
                    for r in 0..np {
                        let Elem::Int(v) =
                            Elem::encode_reduce(DType::Int, reduce_value(r, iter, idx), np)
                        else {
                            unreachable!()
                        };
                        isum += i64::from(v);
                    }
                    assert!(isum <= i64::from(i32::MAX));
                }
            }
        }
    }

    #[test]
    fn float_tolerance() {
        assert!(Elem::Float(100.0).matches(Elem::Float(100.0005)));
        assert!(!Elem::Float(100.0).matches(Elem::Float(100.01)));
        assert!(Elem::Float(0.0).matches(Elem::Float(0.000_001)));
        assert!(!Elem::Int(1).matches(Elem::Int(2)));
    }

    /// Runs a collective "by hand" over simulated ranks and checks every rank's result.
    fn simulate(
        bench: Benchmark,
        dtype: DType,
        size: usize,
        np: usize,
        corrupt: bool,
    ) -> Vec<Result<(), CollectiveMismatch>> {
        let views: Vec<Collective> = (0..np)
            .map(|r| Collective::new(bench, size, dtype, r, np).unwrap())
            .collect();
        let bufs = views[0].bufs;
        let iter = 3;
        let mut send = vec![vec![0xAAu8; bufs.send]; np];
        let mut recv = vec![vec![0xAAu8; bufs.recv]; np];
        for r in 0..np {
            views[r].prepare(iter, &mut send[r], &mut recv[r]);
        }
        let t = dtype.size();
        let block = bufs.count * t;
        match bench {
            Benchmark::Bcast => {
                let root = recv[0].clone();
                for r in recv.iter_mut().skip(1) {
                    r.copy_from_slice(&root);
                }
            }
            Benchmark::Reduce | Benchmark::Allreduce => {
                for k in 0..bufs.count {
                    let s = send.iter().fold(Elem::zero(dtype), |a, b| {
                        a.sum_with(Elem::read(dtype, b, k))
                    });
                    for (r, out) in recv.iter_mut().enumerate() {
                        if bench == Benchmark::Allreduce || r == 0 {
                            s.write(out, k);
                        }
                    }
                }
            }
            Benchmark::ReduceScatter => {
                for (r, out) in recv.iter_mut().enumerate() {
                    for k in 0..bufs.count {
                        let j = r * bufs.count + k;
                        let s = send.iter().fold(Elem::zero(dtype), |a, b| {
                            a.sum_with(Elem::read(dtype, b, j))
                        });
                        s.write(out, k);
                    }
                }
            }
            Benchmark::Gather | Benchmark::Allgather => {
                let gathered: Vec<u8> = send.iter().flat_map(|b| b[..block].to_vec()).collect();
                for (d, out) in recv.iter_mut().enumerate() {
                    if bench == Benchmark::Allgather || d == 0 {
                        out.copy_from_slice(&gathered);
                    }
                }
            }
            Benchmark::Scatter => {
                for d in 0..np {
                    let src = send[0][d * block..(d + 1) * block].to_vec();
                    recv[d][..block].copy_from_slice(&src);
                }
            }
            Benchmark::Alltoall => {
                for d in 0..np {
                    for s in 0..np {
                        let src = send[s][d * block..(d + 1) * block].to_vec();
                        recv[d][s * block..(s + 1) * block].copy_from_slice(&src);
                    }
                }
            }
            _ => unreachable!(),
        }
        if corrupt {
            let last = recv[np - 1].len() - 1;
            recv[np - 1][last] ^= 0x01;
        }
        (0..np).map(|r| views[r].check(iter, &recv[r])).collect()
    }

    #[test]
    fn collectives_validate_correct_results_and_catch_corruption() {
        let benches = [
            Benchmark::Bcast,
            Benchmark::Reduce,
            Benchmark::Allreduce,
            Benchmark::Gather,
            Benchmark::Scatter,
            Benchmark::Allgather,
            Benchmark::Alltoall,
            Benchmark::ReduceScatter,
        ];
        for bench in benches {
            for dtype in DType::ALL {
                for np in [2, 3, 5] {
                    let ok = simulate(bench, dtype, 40, np, false);
                    assert!(
                        ok.iter().all(Result::is_ok),
                        "{bench} {dtype} np={np}: {ok:?}"
                    );
                    let bad = simulate(bench, dtype, 40, np, true);
                    // Only the last rank's buffer was corrupted; reduce and gather do not check
                    // non-root ranks, so corrupting those must not be reported either.
                    let checked = !(matches!(bench, Benchmark::Reduce | Benchmark::Gather));
                    assert_eq!(bad[np - 1].is_err(), checked, "{bench} {dtype} np={np}");
                    assert!(bad[..np - 1].iter().all(Result::is_ok));
                }
            }
        }
    }

    #[test]
    fn corrupted_gather_root_reports_block() {
        let (bench, dtype, np) = (Benchmark::Gather, DType::Int, 3);
        let root = Collective::new(bench, 16, dtype, 0, np).unwrap();
        let mut recv = vec![0u8; root.bufs.recv];
        for s in 0..np {
            fill_data(&mut recv[s * 16..(s + 1) * 16], dtype, s, 0, 0);
        }
        assert_eq!(root.check(0, &recv), Ok(()));
        recv[2 * 16 + 4] ^= 1;
        let e = root.check(0, &recv).unwrap_err();
        assert_eq!(e.block, Some(2));
        assert_eq!(e.mismatch.index, 1);
    }

    #[test]
    fn buffer_sizes() {
        let b = |bench, size, dtype, np| CollectiveBuffers::new(bench, size, dtype, np);
        assert_eq!(
            b(Benchmark::Alltoall, 8, DType::Int, 3),
            Some(CollectiveBuffers {
                count: 2,
                send: 24,
                recv: 24
            })
        );
        assert_eq!(
            b(Benchmark::Gather, 5, DType::Char, 2),
            Some(CollectiveBuffers {
                count: 5,
                send: 5,
                recv: 10
            })
        );
        assert_eq!(
            b(Benchmark::ReduceScatter, 10, DType::Char, 3),
            Some(CollectiveBuffers {
                count: 3,
                send: 9,
                recv: 3
            })
        );
        assert_eq!(b(Benchmark::ReduceScatter, 2, DType::Char, 3), None);
        assert_eq!(b(Benchmark::Allreduce, 2, DType::Float, 2), None);
        assert_eq!(
            b(Benchmark::Bcast, 6, DType::Int, 2),
            Some(CollectiveBuffers {
                count: 1,
                send: 0,
                recv: 4
            })
        );
        assert_eq!(b(Benchmark::PutBw, 64, DType::Char, 2), None);
    }

    #[test]
    fn barrier_check() {
        // Two ranks, three iterations, correct: every exit after every enter.
        let enter = vec![vec![0, 100, 200], vec![10, 120, 205]];
        let exit = vec![vec![15, 125, 210], vec![12, 121, 206]];
        assert_eq!(check_barrier(&enter, &exit), Ok(()));
        // Rank 0 leaves iteration 1 at 110 although rank 1 only entered at 120.
        let exit_bad = vec![vec![15, 110, 210], vec![12, 121, 206]];
        assert_eq!(
            check_barrier(&enter, &exit_bad),
            Err(BarrierViolation {
                iteration: 1,
                early_rank: 0,
                late_rank: 1
            })
        );
        assert_eq!(barrier_stagger_rank(5, 2), 1);
        assert_eq!(barrier_stagger_rank(6, 3), 0);
    }
}
