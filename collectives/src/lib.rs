//! MPI-style collectives built on rsm-core.
#![forbid(unsafe_code)]

pub mod ops;
pub mod pattern;
