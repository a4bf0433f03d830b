//! Shared-memory cleanup after a job: the one call every proxy makes on its host when the
//! job's ranks are gone (normal end, failure, or rsmrun lost).

use std::io;

/// Removes the shared-memory names (`rsm.<ns>.*` in `$RSM_SHM_DIR`) whose owner process is
/// dead, on this host, for the namespace in this process's environment (the proxy runs with
/// the job's `RSM_*` variables). Returns how many names were removed.
///
/// Integration point: this becomes `rsm_core::shm::sweep_stale()` once rsm-core's shm
/// module lands (it owns the name layout; the launcher must not re-implement it). Until
/// then nothing is removed and 0 is reported.
pub fn sweep_shm() -> io::Result<usize> {
    Ok(0)
}
