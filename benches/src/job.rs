//! What an rsm benchmark rank needs around the measured calls: its place in the job (through
//! rsm-core's bootstrap client, `rsmrun`'s key-value service), the controller, untimed
//! synchronisation and agreement, and a pair of segments to a peer.
//!
//! Nothing here is timed: ids travel through [`Bootstrap::allgather`], fences through
//! [`Bootstrap::fence`]; only the operations a benchmark measures touch rsm segments.

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use rsm_core::bootstrap::Bootstrap;
use rsm_core::{Controller, ExportFlags, ExportSegment, ImportSegment, MemView, PERM_RDWR};

use crate::osu::{Benchmark, Options, Parsed, help_text, parse_args};

/// The controller every benchmark uses: node-local shared memory.
pub const CONTROLLER: &str = "loopback";

/// Environment variable: longest time (seconds) a benchmark waits for a flag its peer
/// writes (default [`DEFAULT_WAIT_TIMEOUT`]); past it the job is aborted.
pub const WAIT_TIMEOUT_ENV: &str = "RSM_BENCH_WAIT_TIMEOUT";

/// Default of [`WAIT_TIMEOUT_ENV`].
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(120);

/// Spins before a flag wait starts yielding the CPU between checks (keeps an oversubscribed
/// core usable; spinning is what MPI's shared-memory synchronisation does too).
pub const SPINS_BEFORE_YIELD: u32 = 1 << 14;

/// One rank of a benchmark job.
#[derive(Debug)]
pub struct Job {
    boot: Bootstrap,
    ctrl: Controller,
    name: String,
}

impl Job {
    /// Opens the controller for a rank whose place in the job is `boot`; `name` prefixes
    /// error messages (e.g. `osu_put_latency`).
    pub fn new(boot: Bootstrap, name: &str) -> Result<Job> {
        let ctrl = Controller::get(CONTROLLER)
            .with_context(|| format!("opening the rsm controller {CONTROLLER}"))?;
        Ok(Job {
            boot,
            ctrl,
            name: name.to_string(),
        })
    }

    /// This rank.
    pub fn rank(&self) -> usize {
        self.boot.rank()
    }

    /// Ranks in the job.
    pub fn size(&self) -> usize {
        self.boot.size()
    }

    /// The bootstrap client.
    pub fn bootstrap(&self) -> &Bootstrap {
        &self.boot
    }

    /// The controller.
    pub fn controller(&self) -> &Controller {
        &self.ctrl
    }

    /// `rsm <version> (<controller>)`, for the `# Library:` line.
    pub fn library(&self) -> String {
        format!("rsm {} ({})", env!("CARGO_PKG_VERSION"), self.ctrl.name())
    }

    /// Waits until every rank got here (untimed; through the key-value service).
    pub fn fence(&self) -> Result<()> {
        self.boot.fence().context("bootstrap fence")
    }

    /// True on every rank when `flag` is true on any rank.
    pub fn any(&self, flag: bool) -> Result<bool> {
        let all = self
            .boot
            .allgather(&[u8::from(flag)])
            .context("bootstrap allgather")?;
        Ok(all.iter().any(|v| v.first().copied().unwrap_or(0) != 0))
    }

    /// Every rank's `value`, in rank order.
    pub fn allgather_u64(&self, value: u64) -> Result<Vec<u64>> {
        let all = self
            .boot
            .allgather(&value.to_le_bytes())
            .context("bootstrap allgather")?;
        all.iter()
            .enumerate()
            .map(|(r, v)| {
                <[u8; 8]>::try_from(v.as_slice())
                    .map(u64::from_le_bytes)
                    .map_err(|_| anyhow!("rank {r} sent {} bytes instead of 8", v.len()))
            })
            .collect()
    }

    /// Prints `message` on stderr and stops the whole job with status 1 (as `MPI_Abort`).
    pub fn abort(&self, message: &str) -> ! {
        eprintln!("[rank {}] {}: {message}", self.rank(), self.name);
        self.boot.abort(1, message)
    }
}

/// Before a rank leaves with a non-zero status outside a run (a usage error, a wrong rank
/// count): waits until every rank got here, so rank 0 has written its message before
/// `rsmrun` — which stops a job at the first non-zero exit — can cut it short. Errors are
/// ignored (the process is leaving anyway).
pub fn exit_after_rank0(boot: &Bootstrap) {
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let _ = std::io::Write::flush(&mut std::io::stderr());
    let _ = boot.fence();
}

/// The common start of every rsm `osu_*` binary: the job's bootstrap and the options parsed
/// from `args` (without the program name). `-h` prints the help on rank 0; a usage error is
/// printed on rank 0 with the help, after which every rank waits for rank 0
/// ([`exit_after_rank0`]). `Err` carries the exit code the binary returns.
pub fn start<'a>(
    bench: Benchmark,
    args: impl Iterator<Item = &'a String>,
) -> std::result::Result<(Bootstrap, Options), ExitCode> {
    let boot = match Bootstrap::from_env() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{}: {e}", bench.name());
            return Err(ExitCode::FAILURE);
        }
    };
    let rank0 = boot.rank() == 0;
    match parse_args(bench, args) {
        Ok(Parsed::Run(o)) => Ok((boot, o)),
        Ok(Parsed::Help) => {
            if rank0 {
                print!("{}", help_text(bench));
            }
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            if rank0 {
                eprint!("{e}\n\n");
                print!("{}", help_text(bench));
            }
            exit_after_rank0(&boot);
            Err(ExitCode::FAILURE)
        }
    }
}

/// Rounds `n` up to a multiple of `to` (a power of two or any non-zero value).
pub fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// A page-aligned byte buffer (as the C benchmark's `posix_memalign` buffers: copies between
/// it and a segment see the same relative alignment on both sides of the comparison).
#[derive(Debug, Clone)]
pub struct PageBuf {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl PageBuf {
    /// `len` bytes, each `fill`, starting on a page boundary.
    pub fn new(len: usize, fill: u8) -> PageBuf {
        let page = page_size();
        let storage = vec![fill; len + page];
        let start = storage.as_ptr().align_offset(page).min(page);
        PageBuf {
            storage,
            start,
            len,
        }
    }

    /// Like [`PageBuf::new`], but an allocation the system refuses is an error (a large
    /// `-m` times the rank count), not an abort.
    pub fn try_new(len: usize, fill: u8) -> Result<PageBuf> {
        let page = page_size();
        let total = len
            .checked_add(page)
            .ok_or_else(|| anyhow!("a buffer of {len} bytes is too large"))?;
        let mut storage = Vec::new();
        storage
            .try_reserve_exact(total)
            .map_err(|e| anyhow!("allocating a buffer of {len} bytes: {e}"))?;
        storage.resize(total, fill);
        let start = storage.as_ptr().align_offset(page).min(page);
        Ok(PageBuf {
            storage,
            start,
            len,
        })
    }

    /// The buffer.
    pub fn as_slice(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    /// The buffer, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

/// The system page size (4096 when it cannot be read).
pub fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|v| usize::try_from(v).ok())
        .filter(|&v| v.is_power_of_two())
        .unwrap_or(4096)
}

/// A pair of segments between this rank and one peer: the segment this rank exports (and its
/// own view of it) and a connection to the segment the peer exports. Creating and closing
/// are collective over the job.
#[derive(Debug)]
pub struct Link {
    /// The segment this rank exports.
    pub seg: ExportSegment,
    /// This rank's view of its own segment (where the peer's puts land).
    pub view: MemView,
    /// Connection to the peer's segment (read-write).
    pub peer: ImportSegment,
    /// The peer's rank.
    pub peer_rank: usize,
}

impl Link {
    /// Every rank exports `len` bytes (rounded up to the page size), publishes it with an
    /// automatic id, the ids go around with [`Bootstrap::allgather`], and this rank connects
    /// to `peer_rank`'s segment. Collective: every rank calls it.
    pub fn create(job: &Job, peer_rank: usize, len: usize) -> Result<Link> {
        if peer_rank >= job.size() {
            bail!("peer rank {peer_rank} is not in a job of {}", job.size());
        }
        let page = job.ctrl.caps().page_size;
        let seg = ExportSegment::create(&job.ctrl, round_up(len.max(1), page), ExportFlags::NONE)
            .with_context(|| format!("exporting {len} bytes"))?;
        let id = seg.publish(0, &[]).context("publishing the segment")?;
        let ids = job.allgather_u64(u64::from(id))?;
        let peer_id = u32::try_from(ids[peer_rank])
            .map_err(|_| anyhow!("rank {peer_rank} sent segment id {}", ids[peer_rank]))?;
        let peer = ImportSegment::connect(&job.ctrl, job.ctrl.node_id(), peer_id, PERM_RDWR)
            .with_context(|| format!("connecting to rank {peer_rank}'s segment {peer_id:#x}"))?;
        let view = seg.view().context("viewing the own segment")?;
        Ok(Link {
            seg,
            view,
            peer,
            peer_rank,
        })
    }

    /// Disconnects, waits until every rank did, and destroys the own segment. Collective.
    pub fn close(self, job: &Job) -> Result<()> {
        let Link {
            seg, view, peer, ..
        } = self;
        peer.disconnect().context("disconnecting from the peer")?;
        drop(view);
        job.fence()?;
        seg.destroy().context("destroying the segment")?;
        Ok(())
    }

    /// Waits until the 8-byte word at `off` of the own segment (written by the peer) is at
    /// least `target`: spins, then yields between checks; gives up with an error when the
    /// peer's connection is lost or after `timeout`.
    pub fn wait_word(&self, off: usize, target: u64, timeout: Duration) -> Result<()> {
        let word = self.view.atomic_u64(off).context("flag word")?;
        if word.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        let start = Instant::now();
        let mut spins: u32 = 0;
        loop {
            for _ in 0..64 {
                if word.load(Ordering::Acquire) >= target {
                    return Ok(());
                }
                std::hint::spin_loop();
            }
            spins = spins.saturating_add(64);
            if spins >= SPINS_BEFORE_YIELD {
                std::thread::yield_now();
            }
            if spins.is_multiple_of(4096) || spins >= SPINS_BEFORE_YIELD {
                if start.elapsed() > timeout {
                    bail!(
                        "rank {} did not write {target} to the flag at offset {off} within {:.0} s (it holds {})",
                        self.peer_rank,
                        timeout.as_secs_f64(),
                        word.load(Ordering::Acquire)
                    );
                }
                self.peer
                    .check_connection()
                    .with_context(|| format!("waiting for rank {}", self.peer_rank))?;
            }
        }
    }
}

/// [`WAIT_TIMEOUT_ENV`] or its default; a malformed value is an error.
pub fn wait_timeout() -> Result<Duration> {
    parse_wait_timeout(std::env::var(WAIT_TIMEOUT_ENV).ok().as_deref())
}

/// Parses a [`WAIT_TIMEOUT_ENV`] value (`None`: unset, the default).
pub fn parse_wait_timeout(value: Option<&str>) -> Result<Duration> {
    let Some(v) = value else {
        return Ok(DEFAULT_WAIT_TIMEOUT);
    };
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| anyhow!("{WAIT_TIMEOUT_ENV}={v:?} is not a positive number of seconds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding() {
        assert_eq!(round_up(1, 4096), 4096);
        assert_eq!(round_up(4096, 4096), 4096);
        assert_eq!(round_up(4097, 4096), 8192);
        assert_eq!(round_up(0, 64), 0);
        assert_eq!(round_up(65, 64), 128);
    }

    #[test]
    fn page_buffers_are_aligned() {
        for len in [0, 1, 100, 4096, 70000] {
            let mut b = PageBuf::new(len, 7);
            assert_eq!(b.as_slice().len(), len);
            assert!(b.as_slice().iter().all(|&x| x == 7));
            assert_eq!(b.as_slice().as_ptr() as usize % page_size(), 0);
            b.as_mut_slice().fill(1);
            assert!(b.as_slice().iter().all(|&x| x == 1));
            let t = PageBuf::try_new(len, 9).unwrap();
            assert_eq!(t.as_slice().len(), len);
            assert!(t.as_slice().iter().all(|&x| x == 9));
            assert_eq!(t.as_slice().as_ptr() as usize % page_size(), 0);
        }
        assert_eq!(
            PageBuf::try_new(usize::MAX, 0).unwrap_err().to_string(),
            format!("a buffer of {} bytes is too large", usize::MAX)
        );
        let huge = isize::MAX as usize - page_size();
        assert!(
            PageBuf::try_new(huge, 0)
                .unwrap_err()
                .to_string()
                .starts_with(&format!("allocating a buffer of {huge} bytes: "))
        );
    }

    #[test]
    fn wait_timeouts() {
        assert_eq!(parse_wait_timeout(None).unwrap(), DEFAULT_WAIT_TIMEOUT);
        assert_eq!(
            parse_wait_timeout(Some(" 2.5 ")).unwrap(),
            Duration::from_millis(2500)
        );
        for bad in ["", "0", "-1", "x", "inf", "NaN", "1e10"] {
            assert_eq!(
                parse_wait_timeout(Some(bad)).unwrap_err().to_string(),
                format!("RSM_BENCH_WAIT_TIMEOUT={bad:?} is not a positive number of seconds")
            );
        }
    }
}
