//! Work in progress.

pub mod bootstrap;
