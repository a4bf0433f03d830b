//! MPI-style collectives built on rsm-core's public API.
//!
//! A [`Comm`] is a group of ranks — every rank of an `rsmrun` job ([`Comm::world`]), or a
//! subset ([`Comm::split`], [`Comm::dup`]) — that runs the blocking collectives of MPI on
//! any `bytemuck::Pod` element type: barrier, bcast, reduce, allreduce, gather(v),
//! scatter(v), allgather(v), alltoall(v), reduce_scatter(_block), scan, exscan — any root,
//! in-place forms, zero-length messages. Reductions take the predefined operators of [`ops`]
//! or closures, and combine in a fixed order, so the same inputs give bit-identical results
//! on every run and every rank. A rank that dies makes the others' calls fail naming it.
//!
//! ```no_run
//! use rsm_collectives::Comm;
//! use rsm_collectives::ops::Sum;
//!
//! let world = Comm::world()?; // run under `rsmrun -n 4`; a singleton without it
//! let mut x = vec![world.rank() as f64; 1000];
//! world.allreduce_in_place(&mut x, &Sum)?;
//! assert_eq!(x[0], (0..world.size()).sum::<usize>() as f64);
//! # Ok::<(), rsm_collectives::CollError>(())
//! ```
//!
//! The design — segment layout, the message layer on both data paths (stores through
//! `map()`, or put + order barrier + flag), every algorithm, waiting, failure handling and
//! the communicator life cycle — is in `docs/collectives.md`. Modules:
//!
//! * [`ops`] — element types, the predefined reduction operators (sum, prod, min, max, band,
//!   bor, bxor, land, lor), user-defined operators from closures, and the vectorised
//!   reduction kernels with their fixed combination order;
//! * [`pattern`] — pure rank arithmetic of every algorithm (dissemination, k-nomial trees
//!   rooted anywhere, recursive doubling with folding, ring, Bruck, pairwise, Hillis–Steele,
//!   block partitions, scatter-allgather, two-level groups) and the combination trees
//!   ([`pattern::Combine`], [`pattern::Schedule`]) that make float reductions reproducible and
//!   checkable;
//! * [`reference`](mod@reference) (hidden) — the serial reference of every collective that tests compare
//!   against, including `v` layouts and in-place forms;
//! * [`args`] — argument validation shared by the reference and the communicator;
//! * [`wait`] — the spin → yield → sleep policy as a state machine, and oversubscription
//!   detection;
//! * [`algo`] — the algorithm catalogue: names, `RSM_COLL_<OP>` forcing, the default
//!   selection table and each algorithm's reduction schedule;
//! * [`layout`] — offsets of the per-rank collective segment, the landing-slot line format
//!   and the segment header;
//! * [`config`] — the `RSM_COLL_*` environment variables;
//! * [`error`] — [`CollError`].
//!
//! The serial reference on its own:
//!
//! ```
//! use rsm_collectives::ops::{ReduceOp, Sum};
//! use rsm_collectives::pattern::RecursiveDoubling;
//! use rsm_collectives::reference::{self, Input};
//! use rsm_collectives::pattern::Schedule;
//!
//! // Three ranks' inputs; what must allreduce(sum) give with recursive doubling?
//! let x = [vec![1.0f64, 2.0], vec![10.0, 20.0], vec![100.0, 200.0]];
//! let send: Vec<Input<f64>> = x.iter().map(|v| Input::Buf(v.as_slice())).collect();
//! let recv = vec![vec![0.0; 2]; 3];
//! let rd = Schedule::Uniform(RecursiveDoubling::new(3).unwrap().combine_tree());
//! let out = reference::allreduce_with(&send, &recv, &Sum, &rd).unwrap();
//! assert_eq!(out[2], [111.0, 222.0]);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod algo;
pub mod args;
mod chan;
mod coll;
mod comm;
pub mod config;
pub mod error;
pub mod layout;
pub mod ops;
pub mod pattern;
#[doc(hidden)]
pub mod reference;
pub mod wait;

pub use algo::{Algorithm, Collective, Path};
pub use comm::Comm;
pub use error::{CollError, Result};
