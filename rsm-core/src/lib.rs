//! # rsm-core — the Remote Shared Memory API in safe Rust
//!
//! rsm-core implements the whole RSMAPI (Sun's `librsm`, SPEC.md §4) as a Rust API:
//! controllers, export segments (create, publish with an access list, republish,
//! unpublish, rebind, destroy), import segments (connect, map, put/get in 8/16/32/64-bit
//! forms, putv/getv with local memory handles), barriers and barrier modes, interrupt
//! signals and poll descriptors, segment-id ranges — plus lock segments (remote atomics
//! and word locks), an extension the original documented but never shipped.
//!
//! The backend built in is node-local shared memory (controller `loopback`, alias
//! `shm0`): segments are tmpfs files named by segment id in a per-node namespace, whose
//! file modes carry the access list so the kernel refuses excluded processes; importers
//! map them and put/get are plain memory copies with no lock and no system call.
//!
//! ## Quick start
//!
//! ```
//! use rsm_core::{BarrierType, Config, Controller, ExportFlags, ExportSegment, ImportSegment, PERM_RDWR};
//!
//! // A private namespace keeps this example apart from anything else on the machine.
//! let cfg = Config::from_env()?.with_namespace(format!("doc{}", std::process::id()));
//! let ctrl = Controller::get_with_config("loopback", &cfg)?;
//!
//! // Exporter: 64 KiB of shared memory, published with an automatic id.
//! let seg = ExportSegment::create(&ctrl, 64 * 1024, ExportFlags::NONE)?;
//! let id = seg.publish(0, &[])?;
//! assert!(id >= 0x8000_0000);
//!
//! // Importer (normally another process): connect, then put and get.
//! let imp = ImportSegment::connect(&ctrl, ctrl.node_id(), id, PERM_RDWR)?;
//! let bar = imp.init_barrier(BarrierType::Segment)?; // implicit mode needs a barrier
//! imp.put(128, b"hello")?;
//! let mut back = [0u8; 5];
//! imp.get(128, &mut back)?;
//! assert_eq!(&back, b"hello");
//!
//! // The exporter sees the bytes in its own memory.
//! let mut mine = [0u8; 5];
//! seg.view()?.read(128, &mut mine)?;
//! assert_eq!(&mine, b"hello");
//!
//! bar.destroy()?;
//! imp.disconnect()?;
//! seg.destroy()?;
//! assert!(rsm_core::shm::list_names(&cfg).is_empty());
//! # Ok::<(), rsm_core::RsmError>(())
//! ```
//!
//! ## Shape
//!
//! * Every fallible call returns [`Result`]; [`RsmError::kind`] is an [`ErrorKind`] whose
//!   numeric value is the C `RSMERR_*` code. Bad input returns the documented code in the
//!   documented order; nothing panics and out-of-range requests never touch memory.
//! * Handles ([`ExportSegment`], [`ImportSegment`], [`Barrier`], [`LocalMemory`]) take
//!   `&self` everywhere and are `Send + Sync`; an internal state machine decides (after
//!   `destroy`/`disconnect` calls return `BadSegHndl`). Wrap them in `Arc` to share.
//! * Mapped memory is reached through [`MemView`]: bounds-checked loads, stores,
//!   atomics, copies and futex waits; the memory stays valid as long as the view lives.
//! * `unsafe fn`s exist only for the C ABI: exporting a caller's range in place, raw
//!   pointer transfers, fixed-address mappings. Each documents its contract.
//! * Backends sit below a small internal trait ([`Caps`] describes what one can do);
//!   see `docs/backends.md`.
//!
//! ## Runtime parameters
//!
//! See [`config`]: `RSM_NODE_ID`, `RSM_SHM_DIR`, `RSM_SHM_NAMESPACE`, `RSM_LOOPBACK_MAP`,
//! `RSM_LIVENESS_MS`, `RSM_SEGMENTID_FILE`.
//!
//! ## Cleanup
//!
//! Destroying/disconnecting (or dropping) handles removes every name they created. Names
//! of processes that died are removed by [`shm::sweep_stale`], by the first controller
//! open of a process, and by importers that notice their exporter died.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod acl;
pub mod barrier;
pub mod bootstrap;
pub mod config;
pub mod controller;
pub mod error;
pub mod export;
pub mod import;
pub mod lock;
pub mod segid;
pub mod sgio;
pub mod shm;
pub mod signal;
mod sys;
pub mod topology;
mod transport;
pub mod types;
pub mod view;

pub use barrier::Barrier;
pub use config::Config;
pub use controller::{Controller, ControllerAttr};
pub use error::{ErrorKind, RSM_SUCCESS, Result, RsmError};
pub use export::ExportSegment;
pub use import::ImportSegment;
pub use segid::{get_segmentid_range, get_segmentid_range_in};
pub use sgio::{GetDest, GetIo, LocalMemory, PutIo, PutSource, RawIo, RawLocal, SgioError};
pub use signal::wait_pollfd;
pub use topology::{LocalController, RemoteController, Topology, get_interconnect_topology};
pub use transport::Caps;
pub use types::*;
pub use view::MemView;
