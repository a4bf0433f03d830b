//! Shared-memory cleanup after a job: the one call every proxy makes on its host when the
//! job's ranks are gone (normal end, failure, or rsmrun lost).

use std::io;

/// Removes the shared-memory names (`rsm.<ns>.*` in `$RSM_SHM_DIR`) whose owner process is
/// dead, on this host, for the namespace in this process's environment (the proxy runs with
/// the job's `RSM_*` variables). Returns how many names were removed. rsm-core owns the name
/// layout; this is [`rsm_core::shm::sweep_stale`].
pub fn sweep_shm() -> io::Result<usize> {
    rsm_core::shm::sweep_stale().map_err(io::Error::other)
}
