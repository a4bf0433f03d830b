//! The shared-memory namespace: housekeeping that the launcher and tests need.

use crate::config::Config;
use crate::error::{ErrorKind, Result, RsmError};
use crate::transport::shm::names;

/// Removes every `rsm.<ns>.*` name in `$RSM_SHM_DIR` (namespace `$RSM_SHM_NAMESPACE`)
/// whose owner process is gone: data files whose control page names a dead process, FIFOs
/// whose name carries a dead pid. Returns how many names were removed. Names of live
/// processes are never touched. `rsmrun` calls this after every job on every host;
/// opening the loopback controller does it once per process and namespace.
pub fn sweep_stale() -> Result<usize> {
    sweep_stale_in(&Config::from_env()?)
}

/// [`sweep_stale`] for an explicit configuration.
pub fn sweep_stale_in(cfg: &Config) -> Result<usize> {
    cfg.validate()?;
    names::sweep(cfg).map_err(|e| {
        RsmError::os(
            ErrorKind::InsufficientResources,
            "sweep_stale",
            format!("cannot list {}", cfg.shm_dir.display()),
            &e,
        )
    })
}

/// The names (file names, not paths) currently in `cfg`'s namespace, sorted — for
/// diagnostics and for tests asserting that nothing was left behind.
pub fn list_names(cfg: &Config) -> Vec<String> {
    let mut v = crate::sys::list_prefixed(&cfg.shm_dir, &names::prefix(cfg)).unwrap_or_default();
    v.sort();
    v
}
