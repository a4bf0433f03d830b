//! MPI-style collectives built on rsm-core.
#![forbid(unsafe_code)]

pub mod algo;
pub mod args;
pub mod config;
pub mod layout;
pub mod ops;
pub mod pattern;
#[doc(hidden)]
pub mod reference;
pub mod wait;
