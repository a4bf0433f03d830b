//! OSU 7.4 output layout: header lines and rows, byte for byte.
//!
//! A collective prints (rank 0 only):
//! ```text
//!
//! # OSU MPI Allreduce Latency Test v7.4
//! # Library: Open MPI 4.1.4
//! # Datatype: MPI_CHAR.
//! # Size       Avg Latency(us)
//! 1                       1.53
//! ```
//! `-f` adds `Min Latency(us)`, `Max Latency(us)` (18 wide) and `Iterations` (12 wide); `-c`
//! adds `Validation` (`Pass`/`Fail`, 18 wide). Barrier has no size column
//! (`# Avg Latency(us)`, values 17 wide) and no datatype line. One-sided benchmarks print no
//! leading blank line, then the title, the library, the library's window/synchronization lines,
//! the datatype and `# Size          Latency (us)` (or `Bandwidth (MB/s)`).

use super::bench::{Benchmark, Class};
use super::options::Options;
use super::validate::DType;

/// OSU release whose layout and method we follow.
pub const OSU_VERSION: &str = "7.4";
/// Width of the size column.
pub const SIZE_WIDTH: usize = 10;
/// Width of every value column.
pub const FIELD_WIDTH: usize = 18;
/// Width of the `Iterations` column.
pub const ITER_WIDTH: usize = 12;
/// Width of the latency value when there is no size column (barrier).
pub const NO_SIZE_WIDTH: usize = 17;
/// Digits after the decimal point.
pub const PRECISION: usize = 2;

/// `# <title> v7.4` with a trailing newline; collectives get the leading blank line OSU prints.
pub fn title_lines(bench: Benchmark) -> String {
    let lead = if bench.is_collective() { "\n" } else { "" };
    format!("{lead}# {} v{OSU_VERSION}\n", bench.title())
}

/// `# Library: <name>` line.
pub fn library_line(library: &str) -> String {
    format!("# Library: {library}\n")
}

/// `# Datatype: MPI_CHAR.` line (not printed by barrier).
pub fn datatype_line(dtype: DType) -> String {
    format!("# Datatype: {}.\n", dtype.mpi_name())
}

/// The column header line for `opts`.
pub fn column_header(opts: &Options) -> String {
    let mut h = String::new();
    match opts.benchmark.class() {
        Class::Collective => {
            if opts.benchmark.has_size() {
                h += &format!(
                    "{:<SIZE_WIDTH$}{:>FIELD_WIDTH$}",
                    "# Size", "Avg Latency(us)"
                );
            } else {
                h += "# Avg Latency(us)";
            }
            if opts.full {
                h += &format!(
                    "{:>FIELD_WIDTH$}{:>FIELD_WIDTH$}{:>ITER_WIDTH$}",
                    "Min Latency(us)", "Max Latency(us)", "Iterations"
                );
            }
        }
        Class::OneSidedLatency => {
            h += &format!("{:<SIZE_WIDTH$}{:>FIELD_WIDTH$}", "# Size", "Latency (us)");
        }
        Class::OneSidedBandwidth => {
            h += &format!(
                "{:<SIZE_WIDTH$}{:>FIELD_WIDTH$}",
                "# Size", "Bandwidth (MB/s)"
            );
        }
    }
    if opts.validate {
        h += &format!("{:>FIELD_WIDTH$}", "Validation");
    }
    h.push('\n');
    h
}

/// Numbers of one row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowValues {
    /// Average over ranks (collectives) or the origin's value (one-sided): µs or MB/s.
    pub value: f64,
    /// Minimum over ranks (printed with `-f`).
    pub min: f64,
    /// Maximum over ranks (printed with `-f`).
    pub max: f64,
    /// Timed iterations at this size (printed with `-f`).
    pub iterations: usize,
}

impl RowValues {
    /// A one-sided row (no min/max).
    pub fn single(value: f64, iterations: usize) -> RowValues {
        RowValues {
            value,
            min: value,
            max: value,
            iterations,
        }
    }
}

/// `Pass`/`Fail`, as OSU's `VALIDATION_STATUS`.
pub fn validation_word(passed: bool) -> &'static str {
    if passed { "Pass" } else { "Fail" }
}

/// One data row for `opts`; `validation` is `Some(passed)` when `-c` is on.
pub fn row(opts: &Options, size: usize, v: &RowValues, validation: Option<bool>) -> String {
    let mut r = String::new();
    if opts.benchmark.has_size() {
        r += &format!("{size:<SIZE_WIDTH$}{:>FIELD_WIDTH$.PRECISION$}", v.value);
    } else {
        r += &format!("{:>NO_SIZE_WIDTH$.PRECISION$}", v.value);
    }
    if opts.full && opts.benchmark.accepts_full() {
        r += &format!(
            "{:>FIELD_WIDTH$.PRECISION$}{:>FIELD_WIDTH$.PRECISION$}{:>ITER_WIDTH$}",
            v.min, v.max, v.iterations
        );
    }
    if let Some(passed) = validation {
        r += &format!("{:>FIELD_WIDTH$}", validation_word(passed));
    }
    r.push('\n');
    r
}

/// The line OSU prints (to stdout, after the table) when validation failed.
pub fn validation_error_line(program: &str, size: usize) -> String {
    format!("DATA VALIDATION ERROR: {program} exited with status 1 on message size {size}.\n")
}

/// The stderr line a rank prints for its first mismatch (`detail` is a
/// [`Mismatch`](super::validate::Mismatch) or
/// [`CollectiveMismatch`](super::validate::CollectiveMismatch)), as the C side prints it.
pub fn mismatch_line(
    rank: usize,
    bench: Benchmark,
    size: usize,
    dtype: DType,
    iter: u64,
    detail: &dyn std::fmt::Display,
) -> String {
    format!(
        "[rank {rank}] {}: validation failed at size {size} ({}), iteration {iter}: {detail}\n",
        bench.name(),
        dtype.mpi_name()
    )
}

/// The stderr line rank 0 prints when barrier validation fails.
pub fn barrier_failure_line(v: &super::validate::BarrierViolation) -> String {
    format!("[rank 0] osu_barrier: validation failed: {v}\n")
}

/// Bandwidth in MB/s (10^6 bytes/s) as OSU computes it.
pub fn bandwidth_mbs(bytes_per_iteration: usize, iterations: usize, seconds: f64) -> f64 {
    bytes_per_iteration as f64 / 1e6 * iterations as f64 / seconds
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osu::options::{Parsed, parse_args};

    fn opts(bench: Benchmark, args: &[&str]) -> Options {
        match parse_args(bench, args).unwrap() {
            Parsed::Run(o) => o,
            Parsed::Help => unreachable!(),
        }
    }

    #[test]
    fn matches_real_osu_7_4_output() {
        // From open-mpi/ompi#12717: `osu_allreduce -c` with OSU 7.4.
        let o = opts(Benchmark::Allreduce, &["-c"]);
        assert_eq!(
            title_lines(Benchmark::Allreduce),
            "\n# OSU MPI Allreduce Latency Test v7.4\n"
        );
        assert_eq!(datatype_line(DType::Char), "# Datatype: MPI_CHAR.\n");
        assert_eq!(
            column_header(&o),
            "# Size       Avg Latency(us)        Validation\n"
        );
        assert_eq!(
            row(&o, 1, &RowValues::single(1.53, 1000), Some(true)),
            "1                       1.53              Pass\n"
        );
        assert_eq!(
            row(&o, 16, &RowValues::single(1.51, 1000), Some(false)),
            "16                      1.51              Fail\n"
        );
    }

    #[test]
    fn full_columns() {
        let o = opts(Benchmark::Bcast, &["-f"]);
        assert_eq!(
            column_header(&o),
            "# Size       Avg Latency(us)   Min Latency(us)   Max Latency(us)  Iterations\n"
        );
        let v = RowValues {
            value: 12.345,
            min: 1.0,
            max: 123456.789,
            iterations: 100,
        };
        assert_eq!(
            row(&o, 1048576, &v, None),
            "1048576                12.35              1.00         123456.79         100\n"
        );
    }

    #[test]
    fn barrier_layout() {
        let o = opts(Benchmark::Barrier, &["-f", "-c"]);
        assert_eq!(
            column_header(&o),
            "# Avg Latency(us)   Min Latency(us)   Max Latency(us)  Iterations        Validation\n"
        );
        let v = RowValues {
            value: 0.96,
            min: 0.95,
            max: 0.97,
            iterations: 1000,
        };
        assert_eq!(
            row(&o, 0, &v, Some(true)),
            "             0.96              0.95              0.97        1000              Pass\n"
        );
        assert_eq!(
            title_lines(Benchmark::Barrier),
            "\n# OSU MPI Barrier Latency Test v7.4\n"
        );
    }

    #[test]
    fn one_sided_layout() {
        let o = opts(Benchmark::PutLatency, &[]);
        assert_eq!(
            title_lines(Benchmark::PutLatency),
            "# OSU MPI_Put Latency Test v7.4\n"
        );
        assert_eq!(column_header(&o), "# Size          Latency (us)\n");
        assert_eq!(
            row(&o, 4096, &RowValues::single(0.094, 10000), None),
            "4096                    0.09\n"
        );
        let b = opts(Benchmark::PutBibw, &["-c"]);
        assert_eq!(
            column_header(&b),
            "# Size      Bandwidth (MB/s)        Validation\n"
        );
        assert_eq!(
            row(&b, 65536, &RowValues::single(43210.5, 100), Some(true)),
            "65536               43210.50              Pass\n"
        );
    }

    #[test]
    fn rounding_like_printf() {
        let o = opts(Benchmark::PutLatency, &[]);
        // Values whose binary representation is below/above the decimal tie.
        assert_eq!(
            row(&o, 1, &RowValues::single(0.125, 1), None),
            "1                       0.12\n"
        );
        assert_eq!(
            row(&o, 1, &RowValues::single(0.375, 1), None),
            "1                       0.38\n"
        );
        assert_eq!(
            row(&o, 1, &RowValues::single(2.675, 1), None),
            "1                       2.67\n"
        );
        assert_eq!(
            row(&o, 1, &RowValues::single(1e9, 1), None),
            "1              1000000000.00\n"
        );
    }

    #[test]
    fn failure_lines() {
        use crate::osu::validate::{BarrierViolation, CollectiveMismatch, Elem, Mismatch};
        let m = Mismatch {
            index: 3,
            expected: Elem::Int(70),
            actual: Elem::Int(0),
        };
        assert_eq!(
            mismatch_line(
                1,
                Benchmark::Alltoall,
                64,
                DType::Int,
                5,
                &CollectiveMismatch {
                    block: Some(2),
                    mismatch: m.clone()
                }
            ),
            "[rank 1] osu_alltoall: validation failed at size 64 (MPI_INT), iteration 5: block 2, element 3: expected 70, got 0\n"
        );
        assert_eq!(
            mismatch_line(0, Benchmark::PutLatency, 8, DType::Char, 0, &m),
            "[rank 0] osu_put_latency: validation failed at size 8 (MPI_CHAR), iteration 0: element 3: expected 70, got 0\n"
        );
        assert_eq!(
            barrier_failure_line(&BarrierViolation {
                iteration: 4,
                early_rank: 1,
                late_rank: 0
            }),
            "[rank 0] osu_barrier: validation failed: iteration 4: rank 1 left the barrier before rank 0 entered it\n"
        );
    }

    #[test]
    fn misc_lines() {
        assert_eq!(library_line("rsm 0.1.0"), "# Library: rsm 0.1.0\n");
        assert_eq!(
            validation_error_line("./osu_bcast", 64),
            "DATA VALIDATION ERROR: ./osu_bcast exited with status 1 on message size 64.\n"
        );
        assert!((bandwidth_mbs(1 << 20, 100, 0.5) - 209.7152).abs() < 1e-9);
    }
}
