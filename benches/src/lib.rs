//! rsm-benches: OSU-compatible benchmarks for rsm and the tools that compare them with
//! Open MPI and MPICH.
//!
//! * [`osu`] — the OSU 7.4 conventions every benchmark binary shares (options, layout,
//!   validation patterns, statistics).
//! * [`compare`] — `rsm-compare`: builds our C MPI benchmark with each installed MPI, runs it
//!   and the rsm binaries side by side, and writes a Markdown table and SVG plots.

#![forbid(unsafe_code)]

pub mod compare;
pub mod osu;
