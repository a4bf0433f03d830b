//! Multi-process harness for criterion benches: every peer is a separate process of a real
//! `rsmrun` job.
//!
//! `cargo bench` starts the bench binary as a plain process. [`main`] sees that it is not part
//! of a job (no `RSM_RANK`, so the bootstrap is a singleton) and runs itself again as
//! `rsmrun -n NP --bind-to core <this binary> <the same arguments>` — `rsmrun` is found, or
//! built, by `rsm_benches::locate::rsmrun` (set `RSM_BENCH_RSMRUN` to choose one). Inside the
//! job, rank 0 is the **leader**: it runs criterion (with the command-line arguments, so
//! filters, `--test`, `--list`, `--warm-up-time` work as usual). The other ranks are
//! **followers**: they execute [`Command`]s the leader sends through
//! `Bootstrap::allgather` (untimed) until [`Command::Quit`].
//!
//! Every rank also holds the job's world communicator ([`rsm_collectives::Comm::world`],
//! freed at the end). Passive peers (the target of put/get) need no command. A bench that
//! needs its peers to act per iteration (the signal round trip, barrier, allreduce) sends a
//! command with the iteration count criterion asked for (`iter_custom`), then times its own
//! part; [`Follower::serve`] executes it on every follower.

use std::path::Path;
use std::process::{Command as Process, ExitCode};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use rsm_benches::job::{Job, Link};
use rsm_collectives::Comm;
use rsm_collectives::ops::Sum;
use rsm_core::bootstrap::Bootstrap;

/// How long a signal wait of a bench may take before the job is aborted.
pub const SIGNAL_TIMEOUT: Duration = Duration::from_secs(30);

/// What the leader asks the followers to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Leave the command loop (the job ends).
    Quit,
    /// `iters` times: wait for one interrupt signal on the own export segment, post one back
    /// through the connection to the leader.
    EchoSignals {
        /// Round trips.
        iters: u64,
    },
    /// `iters` barriers on the world communicator, back to back.
    Barrier {
        /// Barriers.
        iters: u64,
    },
    /// `iters` allreduce (sum of `i8`, `MPI_CHAR` as OSU's default) of `bytes` bytes on the
    /// world communicator, back to back.
    Allreduce {
        /// Vector length in bytes.
        bytes: u64,
        /// Calls.
        iters: u64,
    },
}

impl Command {
    /// Wire form: an opcode byte and two little-endian `u64` arguments.
    pub fn encode(self) -> Vec<u8> {
        let (op, a, b) = match self {
            Command::Quit => (0u8, 0u64, 0u64),
            Command::EchoSignals { iters } => (1, iters, 0),
            Command::Barrier { iters } => (2, iters, 0),
            Command::Allreduce { bytes, iters } => (3, bytes, iters),
        };
        let mut v = vec![op];
        v.extend_from_slice(&a.to_le_bytes());
        v.extend_from_slice(&b.to_le_bytes());
        v
    }

    /// Inverse of [`encode`](Self::encode).
    pub fn decode(b: &[u8]) -> Result<Command> {
        let (&op, rest) = b.split_first().context("empty command")?;
        if rest.len() != 16 {
            bail!("command {op} with {} argument bytes", rest.len());
        }
        let word = |i: usize| {
            <[u8; 8]>::try_from(&rest[8 * i..8 * i + 8])
                .map(u64::from_le_bytes)
                .map_err(|_| anyhow!("command {op}: argument {i}"))
        };
        let (a, b) = (word(0)?, word(1)?);
        match op {
            0 => Ok(Command::Quit),
            1 => Ok(Command::EchoSignals { iters: a }),
            2 => Ok(Command::Barrier { iters: a }),
            3 => Ok(Command::Allreduce { bytes: a, iters: b }),
            _ => bail!("unknown command {op}"),
        }
    }
}

/// The leader's side: its job, a segment pair with rank 1 and the world communicator.
#[derive(Debug)]
pub struct Leader {
    /// This rank's job.
    pub job: Job,
    /// Segments shared with rank 1.
    pub link: Link,
    /// Every rank of the job.
    pub comm: Comm,
}

impl Leader {
    /// Sends `cmd` to every follower (returns once all of them received it).
    pub fn send(&self, cmd: Command) {
        if let Err(e) = self.job.bootstrap().allgather(&cmd.encode()) {
            self.job.abort(&format!("sending {cmd:?}: {e}"));
        }
    }
}

/// A follower's side.
struct Follower {
    job: Job,
    link: Link,
    comm: Comm,
}

impl Follower {
    /// Executes commands until [`Command::Quit`].
    fn serve(&self) -> Result<()> {
        // Between two commands the leader may benchmark for minutes: no request timeout (the
        // wait still ends when the leader exits or rsmrun stops the job).
        self.job.bootstrap().set_timeout(None);
        loop {
            let all = self
                .job
                .bootstrap()
                .allgather(&[])
                .context("waiting for a command")?;
            match Command::decode(&all[0])? {
                Command::Quit => return Ok(()),
                Command::EchoSignals { iters } => {
                    for _ in 0..iters {
                        self.link
                            .seg
                            .signal_wait(Some(SIGNAL_TIMEOUT))
                            .context("signal_wait")?;
                        self.link.peer.signal_post(0).context("signal_post")?;
                    }
                }
                Command::Barrier { iters } => {
                    for _ in 0..iters {
                        self.comm.barrier().context("barrier")?;
                    }
                }
                Command::Allreduce { bytes, iters } => {
                    let n = usize::try_from(bytes).context("allreduce length")?;
                    let send = vec![1i8; n];
                    let mut recv = vec![0i8; n];
                    for _ in 0..iters {
                        self.comm
                            .allreduce(&send, &mut recv, &Sum)
                            .context("allreduce")?;
                    }
                }
            }
        }
    }
}

fn relaunch(np: usize) -> ExitCode {
    let rsmrun = match rsm_benches::locate::rsmrun() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("criterion bench: cannot start the peers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("criterion bench: current executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    run_job(&rsmrun, np, &exe)
}

fn run_job(rsmrun: &Path, np: usize, exe: &Path) -> ExitCode {
    let status = Process::new(rsmrun)
        .args(["-n", &np.to_string(), "--bind-to", "core"])
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .status();
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => {
            eprintln!("criterion bench: {} ended with {s}", rsmrun.display());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("criterion bench: starting {}: {e}", rsmrun.display());
            ExitCode::FAILURE
        }
    }
}

/// Runs `leader` on rank 0 of an `np`-rank rsmrun job (started here when needed; see the
/// module documentation). Every rank exports a segment of `segment_len` bytes; rank 0 is
/// linked to rank 1 and every follower to rank 0.
pub fn main(np: usize, segment_len: usize, leader: impl FnOnce(&Leader)) -> ExitCode {
    let boot = match Bootstrap::from_env() {
        Ok(b) if b.is_singleton() => return relaunch(np),
        Ok(b) => b,
        Err(e) => {
            eprintln!("criterion bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rank = boot.rank();
    if boot.size() != np {
        eprintln!(
            "criterion bench: needs {np} ranks, the job has {}",
            boot.size()
        );
        return ExitCode::FAILURE;
    }
    let job = match Job::new(boot, "criterion bench") {
        Ok(j) => j,
        Err(e) => {
            eprintln!("[rank {rank}] criterion bench: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let peer = if rank == 0 { 1 } else { 0 };
    let link = match Link::create(&job, peer, segment_len) {
        Ok(l) => l,
        Err(e) => job.abort(&format!("{e:#}")),
    };
    let comm = match Comm::world() {
        Ok(c) => c,
        Err(e) => job.abort(&format!("creating the communicator: {e}")),
    };
    let (job, link, comm) = if rank == 0 {
        let l = Leader { job, link, comm };
        leader(&l);
        l.send(Command::Quit);
        (l.job, l.link, l.comm)
    } else {
        let f = Follower { job, link, comm };
        if let Err(e) = f.serve() {
            f.job.abort(&format!("{e:#}"));
        }
        (f.job, f.link, f.comm)
    };
    if let Err(e) = comm.free() {
        job.abort(&format!("freeing the communicator: {e}"));
    }
    if let Err(e) = link.close(&job) {
        job.abort(&format!("{e:#}"));
    }
    ExitCode::SUCCESS
}
