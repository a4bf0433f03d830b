//! The OSU-compatible side shared by every benchmark binary: benchmark table, option parsing
//! (identical to the C side in `benches/mpi/osu_mpi.c`), size lists and iteration defaults,
//! header and row formatting (OSU 7.4 layout, byte for byte), validation patterns and
//! checkers, and statistics helpers.
//!
//! A benchmark binary does, per element type and size (see `BENCHMARKS.md` for the method):
//! 1. `osu::options::parse_args` → on `Help` print `help_text`, on error print the error, a
//!    blank line and the help, exit 1;
//! 2. rank 0 prints `title_lines`, `library_line`, (one-sided: its window/sync lines),
//!    `datatype_line` (not barrier) and `column_header`;
//! 3. for each size in `Options::sizes`: warm-up + timed iterations, each timing only the
//!    operation, a barrier between iterations, with `-c` `Collective::prepare` before and
//!    `Collective::check` after (untimed); per-rank latency = sum of timed intervals /
//!    iterations; rank 0 prints `row` with average/min/max over ranks;
//! 4. on a validation failure: the failing rank prints `format::mismatch_line` (barrier:
//!    `format::barrier_failure_line`) on stderr; rank 0 prints the row with `Fail`, stops,
//!    prints `format::validation_error_line` and every rank exits 1.
//!
//! The test hook `validate::INJECT_ERROR_ENV` (`RSM_BENCH_INJECT_ERROR=1`) must be honoured as
//! in the C side, so the test suite can prove that a wrong result is reported.

pub mod bench;
pub mod format;
pub mod options;
pub mod stats;
pub mod validate;

pub use bench::{Benchmark, Class, LARGE_MESSAGE_SIZE, Metric};
pub use format::{RowValues, column_header, datatype_line, library_line, row, title_lines};
pub use options::{Options, Parsed, UsageError, help_text, parse_args};
pub use validate::{Collective, CollectiveBuffers, DType};
