//! The node-local shared-memory backend (controller `loopback`, alias `shm0`).
//! See `docs/shm.md` and `docs/architecture.md`.
#![allow(unsafe_code)]

mod events;
mod export;
mod import;
pub(crate) mod layout;
pub(crate) mod names;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::config::Config;
use crate::controller::ControllerAttr;
use crate::error::{ErrorKind, Result, err};
use crate::sys;
use crate::transport::{Caps, ExportMem, Exported, Remote, Transport};
use crate::types::{DAS8, DAS16, DAS32, DAS64, ExportFlags, NodeId, Permission, SegmentId};

#[derive(Debug)]
pub(crate) struct ShmTransport {
    cfg: Arc<Config>,
}

impl ShmTransport {
    /// Opens the backend for `cfg`'s namespace; the first open per process and namespace
    /// sweeps names left behind by dead processes.
    pub(crate) fn new(cfg: Arc<Config>) -> Result<ShmTransport> {
        static SWEPT: Mutex<Option<HashSet<(PathBuf, String)>>> = Mutex::new(None);
        match std::fs::metadata(&cfg.shm_dir) {
            Ok(m) if m.is_dir() => {}
            _ => {
                return Err(err(
                    ErrorKind::CtlrNotPresent,
                    "get_controller",
                    format!("RSM_SHM_DIR {} is not a directory", cfg.shm_dir.display()),
                ));
            }
        }
        let key = (cfg.shm_dir.clone(), cfg.namespace.clone());
        let first = SWEPT
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(HashSet::new)
            .insert(key);
        if first {
            let _ = names::sweep(&cfg);
        }
        Ok(ShmTransport { cfg })
    }
}

impl Transport for ShmTransport {
    fn caps(&self) -> Caps {
        Caps {
            mappable: self.cfg.loopback_map,
            putget_map_required: self.cfg.loopback_map,
            scatgath_map_required: self.cfg.loopback_map,
            atomics: true,
            signals: true,
            node_local: true,
            max_acl_entries: 1,
            page_size: sys::page_size(),
        }
    }

    fn attr(&self) -> ControllerAttr {
        let fs = sys::fs_total_bytes(&self.cfg.shm_dir).min(usize::MAX as u64) as usize;
        let fds = sys::nofile_limit();
        let map = if self.cfg.loopback_map { fs } else { 0 };
        ControllerAttr {
            direct_access_sizes: DAS8 | DAS16 | DAS32 | DAS64,
            atomic_sizes: DAS64,
            page_size: sys::page_size(),
            max_export_segment_size: fs,
            tot_export_segment_size: fs,
            max_export_segments: fds / 2,
            max_import_map_size: map,
            tot_import_map_size: map,
            max_import_segments: fds / 4,
        }
    }

    fn export(
        &self,
        size: usize,
        mem: ExportMem,
        flags: ExportFlags,
        create_mode: u32,
    ) -> Result<Arc<dyn Exported>> {
        let mut ctl = 0;
        if flags.contains(ExportFlags::ALLOW_REBIND) {
            ctl |= layout::FLAG_ALLOW_REBIND;
        }
        if flags.contains(ExportFlags::LOCK_OPS) {
            ctl |= layout::FLAG_LOCKS;
        }
        Ok(Arc::new(export::ShmExport::create(
            self.cfg.clone(),
            size,
            mem,
            ctl,
            create_mode,
        )?))
    }

    fn connect(&self, _node: NodeId, id: SegmentId, perm: Permission) -> Result<Arc<dyn Remote>> {
        Ok(Arc::new(import::ShmRemote::connect(
            self.cfg.clone(),
            id,
            perm,
        )?))
    }
}
