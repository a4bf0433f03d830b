//! What the tests of the rsm binaries share: launching them as real `rsmrun` jobs (one at a
//! time, each in a shared-memory namespace of its own, bounded by a time limit that kills the
//! whole process tree), their paths, and comparing output layouts with the C MPI side.
//!
//! `rsmrun` comes from `rsm_benches::locate::rsmrun()`: `cargo build -p rsm-launcher --bin
//! rsmrun` for this test's profile (a no-op when up to date), found next to this test
//! executable; `RSM_BENCH_RSMRUN` overrides it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rsm_benches::compare::mpi::{self, Library, MpiBuild};
use rsm_benches::compare::runner::{Outcome, Status, run_with_limit};
use rsm_benches::osu::{self, Benchmark, Options, Parsed};

/// Limit of one launch.
pub const LIMIT: Duration = Duration::from_secs(120);

/// Serialises launches (2 shared cores).
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The `rsmrun` of this profile.
pub fn rsmrun() -> PathBuf {
    rsm_benches::locate::rsmrun().unwrap_or_else(|e| panic!("{e}"))
}

/// The rsm binary of `bench`.
pub fn binary(bench: Benchmark) -> PathBuf {
    PathBuf::from(match bench {
        Benchmark::Barrier => env!("CARGO_BIN_EXE_osu_barrier"),
        Benchmark::Bcast => env!("CARGO_BIN_EXE_osu_bcast"),
        Benchmark::Reduce => env!("CARGO_BIN_EXE_osu_reduce"),
        Benchmark::Allreduce => env!("CARGO_BIN_EXE_osu_allreduce"),
        Benchmark::Gather => env!("CARGO_BIN_EXE_osu_gather"),
        Benchmark::Scatter => env!("CARGO_BIN_EXE_osu_scatter"),
        Benchmark::Allgather => env!("CARGO_BIN_EXE_osu_allgather"),
        Benchmark::Alltoall => env!("CARGO_BIN_EXE_osu_alltoall"),
        Benchmark::ReduceScatter => env!("CARGO_BIN_EXE_osu_reduce_scatter"),
        Benchmark::PutLatency => env!("CARGO_BIN_EXE_osu_put_latency"),
        Benchmark::GetLatency => env!("CARGO_BIN_EXE_osu_get_latency"),
        Benchmark::PutBw => env!("CARGO_BIN_EXE_osu_put_bw"),
        Benchmark::GetBw => env!("CARGO_BIN_EXE_osu_get_bw"),
        Benchmark::PutBibw => env!("CARGO_BIN_EXE_osu_put_bibw"),
    })
}

/// Where the rsm binaries are (`rsm-compare --rsm-bin-dir`).
pub fn bin_dir() -> PathBuf {
    binary(Benchmark::Barrier)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A namespace of its own for each launch.
fn namespace() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "obt{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `cmd` in a namespace of its own; a launch past [`LIMIT`] fails the test.
pub fn run(mut cmd: Command, what: &str) -> Outcome {
    let _g = serial();
    cmd.env("RSM_SHM_NAMESPACE", namespace());
    let o = run_with_limit(&mut cmd, LIMIT).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_ne!(
        o.status,
        Status::TimedOut,
        "{what} timed out\n{}{}",
        o.stdout,
        o.stderr
    );
    o
}

/// `rsmrun -n NP --timeout 100 <bench binary> args…` with `env` (the test hooks and the
/// collectives' variables off unless `env` sets them).
pub fn launch(np: usize, bench: Benchmark, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut c = Command::new(rsmrun());
    c.args(["-n", &np.to_string(), "--timeout", "100"])
        .arg(binary(bench))
        .args(args);
    for (k, _) in std::env::vars() {
        if k == "RSM_BENCH_INJECT_ERROR"
            || k == "RSM_BENCH_ALGORITHM"
            || k == "RSM_LOOPBACK_MAP"
            || k.starts_with("RSM_COLL_")
        {
            c.env_remove(k);
        }
    }
    for (k, v) in env {
        c.env(k, v);
    }
    run(c, &format!("rsmrun -n {np} {bench} {args:?} {env:?}"))
}

/// `bench` run without `rsmrun`: a singleton job of one rank.
pub fn singleton(bench: Benchmark, args: &[&str]) -> Outcome {
    let mut c = Command::new(binary(bench));
    c.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("RSM_") && k != "RSM_SHM_NAMESPACE" {
            c.env_remove(k);
        }
    }
    run(c, &format!("singleton {bench} {args:?}"))
}

/// `stderr` without rsmrun's own lines (`rsmrun: rank 1 … exited with code 1; terminating
/// the job` may come before or after a rank's message).
pub fn ranks_stderr(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.starts_with("rsmrun: "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Parsed options (must be valid).
pub fn options(bench: Benchmark, args: &[&str]) -> Options {
    match osu::parse_args(bench, args).unwrap() {
        Parsed::Run(o) => o,
        Parsed::Help => unreachable!(),
    }
}

/// Replaces a row by its size (if any), field count and last field, and a
/// library-specific header line by its key, so that outputs of two libraries compare by
/// layout only.
pub fn shape(line: &str) -> String {
    if line.starts_with('#') || line.is_empty() {
        return match line.split_once(':') {
            Some((k, _))
                if ["# Library", "# Window creation", "# Synchronization"].contains(&k) =>
            {
                format!("{k}:")
            }
            _ => line.to_string(),
        };
    }
    let f: Vec<&str> = line.split_whitespace().collect();
    // The size, when the row has one (barrier rows start with the latency).
    let first = if f[0].parse::<u64>().is_ok() {
        f[0]
    } else {
        "#"
    };
    format!("{first} {} {:?}", f.len(), f.last())
}

/// The C benchmark built into `<tmp>/<what>/<library>` with MPICH (its launcher starts a job
/// in about 0.1 s, Open MPI's in 0.4 s), else Open MPI, or `None` (with the reason printed)
/// when no MPI is installed.
pub fn first_mpi(what: &str) -> Option<(Library, MpiBuild)> {
    let Some((lib, install)) = [Library::Mpich, Library::OpenMpi]
        .into_iter()
        .find_map(|l| mpi::detect(l).ok().map(|i| (l, i)))
    else {
        eprintln!(
            "skipping: no MPI installed (install with `{}`)",
            mpi::INSTALL_HINT
        );
        return None;
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(what)
        .join(lib.id());
    let build = mpi::build(&install, &dir).unwrap_or_else(|e| panic!("building with {lib}: {e}"));
    Some((lib, build))
}

/// Asserts that two outputs have the same layout line for line, and rows the same width.
pub fn assert_same_layout(theirs: &str, ours: &str, what: &str) {
    let a: Vec<String> = theirs.lines().map(shape).collect();
    let b: Vec<String> = ours.lines().map(shape).collect();
    assert_eq!(a, b, "{what}");
    for (x, y) in theirs.lines().zip(ours.lines()) {
        if !x.starts_with('#') {
            assert_eq!(x.len(), y.len(), "{what}: {x:?} vs {y:?}");
        }
    }
}

/// Runs each of `benches` with `args(bench)` at np=2 under the first installed MPI (the C
/// benchmark built into `<tmp>/<what>`) and under rsmrun, and asserts the outputs have the
/// same layout line for line. Does nothing (with the reason printed) without an MPI.
pub fn assert_layouts_match_mpi(
    what: &str,
    benches: &[Benchmark],
    args: fn(Benchmark) -> &'static [&'static str],
) {
    let Some((lib, build)) = first_mpi(what) else {
        return;
    };
    let settings = mpi::LaunchSettings {
        np: 2,
        oversubscribe: false,
    };
    for &bench in benches {
        let owned: Vec<String> = args(bench).iter().map(|s| s.to_string()).collect();
        let cmd = mpi::mpi_command(&build, &settings, &build.binary(bench), &owned);
        let theirs = run(cmd, &format!("{lib} {bench}"));
        assert!(theirs.status.success(), "{lib} {bench}: {}", theirs.stderr);
        let ours = launch(2, bench, args(bench), &[]);
        assert!(ours.status.success(), "{bench}: {}", ours.stderr);
        assert_same_layout(
            &theirs.stdout,
            &ours.stdout,
            &format!("{lib} vs rsm, {bench}"),
        );
    }
}
