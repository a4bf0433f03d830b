//! Names in `$RSM_SHM_DIR` (all beginning with `rsm.<ns>.`) and the sweep of stale ones.
//!
//! | name | what |
//! |---|---|
//! | `rsm.<ns>.<segid:08x>` | data file (control page + data) of a published segment |
//! | `rsm.<ns>.x<pid>.<n>` | event FIFO of one export segment |
//! | `rsm.<ns>.<segid:08x>.i<pid>.<n>` | event FIFO of one import handle |

use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::layout;
use crate::config::Config;
use crate::sys;
use crate::types::SegmentId;

/// A parsed name (the part after `rsm.<ns>.`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Name {
    Data(SegmentId),
    ExportFifo { pid: u32 },
    ImportFifo { segid: SegmentId, pid: u32 },
}

pub(crate) fn prefix(cfg: &Config) -> String {
    format!("rsm.{}.", cfg.namespace)
}

pub(crate) fn data_path(cfg: &Config, id: SegmentId) -> PathBuf {
    cfg.shm_dir.join(format!("rsm.{}.{id:08x}", cfg.namespace))
}

/// A fresh export FIFO name for this process.
pub(crate) fn export_fifo(cfg: &Config) -> String {
    format!("rsm.{}.x{}.{}", cfg.namespace, sys::getpid(), next_n())
}

/// The prefix shared by every importer FIFO of segment `id`.
pub(crate) fn import_fifo_prefix(cfg: &Config, id: SegmentId) -> String {
    format!("rsm.{}.{id:08x}.i", cfg.namespace)
}

/// A fresh import FIFO name for this process and segment `id`.
pub(crate) fn import_fifo(cfg: &Config, id: SegmentId) -> String {
    format!(
        "{}{}.{}",
        import_fifo_prefix(cfg, id),
        sys::getpid(),
        next_n()
    )
}

fn next_n() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn hex8(s: &str) -> Option<u32> {
    (s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u32::from_str_radix(s, 16).ok())
        .flatten()
}

fn pid_n(s: &str) -> Option<u32> {
    let (pid, n) = s.split_once('.')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Parses the part of a name after `rsm.<ns>.`.
pub(crate) fn parse(rest: &str) -> Option<Name> {
    if let Some(x) = rest.strip_prefix('x') {
        return pid_n(x).map(|pid| Name::ExportFifo { pid });
    }
    match rest.split_once('.') {
        None => hex8(rest).map(Name::Data),
        Some((id, tail)) => {
            let segid = hex8(id)?;
            let pid = pid_n(tail.strip_prefix('i')?)?;
            Some(Name::ImportFifo { segid, pid })
        }
    }
}

/// Owner pid and start time recorded in a data file, if it is one of ours.
fn data_owner(path: &Path) -> Option<(u32, u64, sys::FileId)> {
    let fd = sys::open(
        path,
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
        0,
    )
    .ok()?;
    let id = sys::fstat(fd.as_raw_fd()).ok()?;
    if id.mode & libc::S_IFMT != libc::S_IFREG {
        return None;
    }
    let mut h = [0u8; layout::HEADER_LEN];
    sys::pread_exact(&fd, &mut h, 0).ok()?;
    let u64_at = |o: usize| u64::from_ne_bytes(h[o..o + 8].try_into().unwrap_or_default());
    let u32_at = |o: usize| u32::from_ne_bytes(h[o..o + 4].try_into().unwrap_or_default());
    if u64_at(layout::OFF_MAGIC) != layout::MAGIC
        || u32_at(layout::OFF_VERSION) != layout::LAYOUT_VERSION
    {
        return None;
    }
    Some((u32_at(layout::OFF_PID), u64_at(layout::OFF_START), id))
}

/// Removes `name` (in `cfg.shm_dir`) if its owner process is gone. Returns whether it did.
///
/// Only positive evidence of death counts ([`sys::Liveness::Dead`]): a name whose owner
/// cannot be checked (no descriptor left, a file that cannot be read, ...) stays.
pub(crate) fn remove_if_stale(cfg: &Config, name: &str) -> bool {
    let Some(rest) = name.strip_prefix(&prefix(cfg)) else {
        return false;
    };
    let path = cfg.shm_dir.join(name);
    let stale = match parse(rest) {
        Some(Name::Data(segid)) => match data_owner(&path) {
            Some((pid, start, id)) if sys::liveness(pid, Some(start)).is_dead() => {
                // Like a revocation: the importers' FIFOs get the wake-up byte before the
                // id can be published again, so the dead exporter's last events stay
                // ahead of anything a new publication posts (see `events`).
                for f in sys::list_prefixed(&cfg.shm_dir, &import_fifo_prefix(cfg, segid))
                    .unwrap_or_default()
                {
                    super::events::kick(&cfg.shm_dir.join(f));
                }
                // Remove exactly the file we inspected, not a successor of the same name.
                sys::lstat(&path)
                    .map(|now| now.ino == id.ino && now.dev == id.dev)
                    .unwrap_or(false)
            }
            _ => false,
        },
        // FIFO names carry only the pid (no start time).
        Some(Name::ExportFifo { pid }) | Some(Name::ImportFifo { pid, .. }) => {
            sys::liveness(pid, None).is_dead()
        }
        None => false,
    };
    stale && std::fs::remove_file(&path).is_ok()
}

/// Removes every `rsm.<ns>.*` name in `cfg.shm_dir` whose owner process is gone.
pub(crate) fn sweep(cfg: &Config) -> io::Result<usize> {
    let mut removed = 0;
    for name in sys::list_prefixed(&cfg.shm_dir, &prefix(cfg))? {
        if remove_if_stale(cfg, &name) {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names() {
        assert_eq!(parse("00400000"), Some(Name::Data(0x400000)));
        assert_eq!(parse("8000000a"), Some(Name::Data(0x8000000a)));
        assert_eq!(parse("x123.4"), Some(Name::ExportFifo { pid: 123 }));
        assert_eq!(
            parse("00400000.i77.0"),
            Some(Name::ImportFifo {
                segid: 0x400000,
                pid: 77
            })
        );
        for bad in [
            "",
            "0040000",
            "004000000",
            "zz400000",
            "x",
            "x12",
            "x12.",
            "x1a.2",
            "00400000.x1.2",
            "00400000.i1",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn generated_names_parse_back() {
        let cfg = Config::default().with_namespace("t");
        let p = prefix(&cfg);
        let e = export_fifo(&cfg);
        assert_eq!(
            parse(e.strip_prefix(&p).unwrap()),
            Some(Name::ExportFifo {
                pid: std::process::id()
            })
        );
        let i = import_fifo(&cfg, 0x400001);
        assert_eq!(
            parse(i.strip_prefix(&p).unwrap()),
            Some(Name::ImportFifo {
                segid: 0x400001,
                pid: std::process::id()
            })
        );
        assert!(i.starts_with(&import_fifo_prefix(&cfg, 0x400001)));
        assert_eq!(
            data_path(&cfg, 0x400001),
            cfg.shm_dir.join("rsm.t.00400001")
        );
        assert!(e.len() <= layout::fifo_name_max());
    }
}
