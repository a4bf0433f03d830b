//! rsm-benches: OSU-compatible benchmarks for rsm and the tools that compare them with
//! Open MPI and MPICH.
//!
//! * [`osu`] — the OSU 7.4 conventions every benchmark binary shares (options, layout,
//!   validation patterns, statistics).
//! * [`one_sided`] — the rsm side of the one-sided benchmarks (`osu_put_latency`,
//!   `osu_get_latency`, `osu_put_bw`, `osu_get_bw`, `osu_put_bibw`), run under `rsmrun -n 2`.
//! * [`collective`] — the rsm side of the nine collective benchmarks (`osu_barrier` …
//!   `osu_reduce_scatter`) over `rsm_collectives::Comm`, run under `rsmrun -n NP`.
//! * [`job`] — a benchmark rank's job: bootstrap, controller, untimed agreement, segment pairs.
//! * [`compare`] — `rsm-compare`: builds our C MPI benchmark with each installed MPI, runs it
//!   and the rsm binaries side by side, and writes a Markdown table and SVG plots.
//! * [`locate`] — finding (building) `rsmrun` for tests and benches.

#![forbid(unsafe_code)]

pub mod collective;
pub mod compare;
pub mod job;
pub mod locate;
pub mod one_sided;
pub mod osu;
