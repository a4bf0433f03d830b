//! The libraries we compare, how to find them, build the C benchmark with them and launch it.
//!
//! Debian 12 names (packages `openmpi-bin libopenmpi-dev mpich libmpich-dev`):
//! * Open MPI 4.1.4: compiler `mpicc.openmpi`, launcher `mpirun.openmpi`; as root it needs
//!   `--allow-run-as-root`; more ranks than cores need `--oversubscribe` (we then bind with
//!   `--bind-to core:overload-allowed`). Shared memory goes through the `vader` BTL (pml ob1)
//!   and `osc sm` by default.
//! * MPICH 4.0.2 (device ch4:ucx): compiler `mpicc.mpich`, launcher `mpiexec.mpich` (Hydra,
//!   also `mpiexec.hydra`, `mpirun.mpich`); binding `-bind-to core`; runs as root without a
//!   flag; oversubscribed ranks spin (barrier ≈ 12 ms at np 4 on 2 cores).
//! * rsm: `rsmrun -n NP --bind-to core target/release/osu_<name>` (`cargo build --release -p
//!   rsm-benches -p rsm-launcher` builds them), with `RSM_BENCH_ALGORITHM=1`.

use std::env;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::osu::Benchmark;

/// A library we can benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Library {
    /// rsm through `rsmrun` and our `osu_*` binaries.
    Rsm,
    /// Open MPI through our C benchmark.
    OpenMpi,
    /// MPICH through our C benchmark.
    Mpich,
}

impl Library {
    /// All libraries, in table order.
    pub const ALL: [Library; 3] = [Library::Rsm, Library::OpenMpi, Library::Mpich];

    /// Identifier used on the command line and in paths (`rsm`, `openmpi`, `mpich`).
    pub fn id(self) -> &'static str {
        match self {
            Library::Rsm => "rsm",
            Library::OpenMpi => "openmpi",
            Library::Mpich => "mpich",
        }
    }

    /// Name for tables and plots.
    pub fn display_name(self) -> &'static str {
        match self {
            Library::Rsm => "rsm",
            Library::OpenMpi => "Open MPI",
            Library::Mpich => "MPICH",
        }
    }

    /// Parses `rsm`, `openmpi`/`ompi`/`open-mpi`, `mpich`.
    pub fn from_id(s: &str) -> Option<Library> {
        match s.to_ascii_lowercase().as_str() {
            "rsm" => Some(Library::Rsm),
            "openmpi" | "ompi" | "open-mpi" => Some(Library::OpenMpi),
            "mpich" => Some(Library::Mpich),
            _ => None,
        }
    }

    /// True for the MPI implementations.
    pub fn is_mpi(self) -> bool {
        self != Library::Rsm
    }
}

impl fmt::Display for Library {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// The line that installs both references on Debian/Ubuntu.
pub const INSTALL_HINT: &str =
    "sudo apt-get install -y openmpi-bin libopenmpi-dev mpich libmpich-dev";

/// The C benchmark source, embedded so the tool works from any directory.
pub const C_SOURCE: &str = include_str!("../../mpi/osu_mpi.c");

/// Finds an executable named `name` on `PATH` (or `name` itself when it contains a `/`).
pub fn which(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_executable(&p).then_some(p);
    }
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// An installed MPI: where its compiler wrapper and launcher are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpiInstall {
    /// Which implementation.
    pub library: Library,
    /// `mpicc.openmpi` / `mpicc.mpich`.
    pub mpicc: PathBuf,
    /// `mpirun.openmpi` / `mpiexec.mpich`.
    pub launcher: PathBuf,
}

/// Finds `library`'s compiler wrapper and launcher, or says what is missing.
pub fn detect(library: Library) -> Result<MpiInstall, String> {
    let (ccs, launchers): (&[&str], &[&str]) = match library {
        Library::OpenMpi => (&["mpicc.openmpi"], &["mpirun.openmpi", "mpiexec.openmpi"]),
        Library::Mpich => (
            &["mpicc.mpich"],
            &["mpiexec.mpich", "mpiexec.hydra", "mpirun.mpich"],
        ),
        Library::Rsm => return Err("rsm is not an MPI".to_string()),
    };
    let mpicc = ccs.iter().find_map(|c| which(c));
    let launcher = launchers.iter().find_map(|c| which(c));
    match (mpicc, launcher) {
        (Some(mpicc), Some(launcher)) => Ok(MpiInstall {
            library,
            mpicc,
            launcher,
        }),
        (cc, l) => {
            let mut missing = Vec::new();
            if cc.is_none() {
                missing.push(ccs.join(" or "));
            }
            if l.is_none() {
                missing.push(launchers.join(" or "));
            }
            Err(format!(
                "{} not found ({} not on PATH)",
                library.display_name(),
                missing.join(", ")
            ))
        }
    }
}

/// A built C benchmark: `dir/osu_mpi` plus one `osu_<name>` link per benchmark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpiBuild {
    /// The installation it was built with.
    pub install: MpiInstall,
    /// Directory holding the binaries.
    pub dir: PathBuf,
}

impl MpiBuild {
    /// Path of `bench`'s binary.
    pub fn binary(&self, bench: Benchmark) -> PathBuf {
        self.dir.join(bench.name())
    }
}

/// Compiles [`C_SOURCE`] with `install.mpicc` into `dir` (reusing an up-to-date build) and
/// creates the `osu_<name>` links.
pub fn build(install: &MpiInstall, dir: &Path) -> io::Result<MpiBuild> {
    fs::create_dir_all(dir)?;
    let src = dir.join("osu_mpi.c");
    let bin = dir.join("osu_mpi");
    let stamp = dir.join("osu_mpi.stamp");
    let want_stamp = format!(
        "{}\n{}\n",
        install.mpicc.display(),
        fnv1a(C_SOURCE.as_bytes())
    );
    let fresh = bin.exists() && fs::read_to_string(&stamp).ok().as_deref() == Some(&want_stamp);
    if !fresh {
        fs::write(&src, C_SOURCE)?;
        let out = Command::new(&install.mpicc)
            .args(["-O2", "-std=c11", "-Wall", "-Wextra", "-o"])
            .arg(&bin)
            .arg(&src)
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "{} failed ({}):\n{}{}",
                install.mpicc.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        fs::write(&stamp, want_stamp)?;
    }
    for b in Benchmark::ALL {
        let link = dir.join(b.name());
        if fs::read_link(&link).ok().as_deref() != Some(Path::new("osu_mpi")) {
            let _ = fs::remove_file(&link);
            std::os::unix::fs::symlink("osu_mpi", &link)?;
        }
    }
    Ok(MpiBuild {
        install: install.clone(),
        dir: dir.to_path_buf(),
    })
}

fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Launch settings shared by every library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchSettings {
    /// Number of ranks.
    pub np: usize,
    /// Allow more ranks than cores.
    pub oversubscribe: bool,
}

fn running_as_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The command that runs `binary args…` with `np` ranks under `build`'s launcher.
pub fn mpi_command(
    build: &MpiBuild,
    s: &LaunchSettings,
    binary: &Path,
    args: &[String],
) -> Command {
    let mut c = Command::new(&build.install.launcher);
    match build.install.library {
        Library::OpenMpi => {
            if running_as_root() {
                c.arg("--allow-run-as-root");
            }
            c.args(["-np", &s.np.to_string()]);
            if s.oversubscribe {
                c.args(["--oversubscribe", "--bind-to", "core:overload-allowed"]);
            } else {
                c.args(["--bind-to", "core"]);
            }
        }
        Library::Mpich | Library::Rsm => {
            c.args(["-n", &s.np.to_string(), "-bind-to", "core"]);
        }
    }
    c.arg(binary).args(args);
    c
}

/// Where the rsm side lives: `rsmrun` and the `osu_*` binaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsmInstall {
    /// The launcher.
    pub rsmrun: PathBuf,
    /// Directory with `osu_<name>` binaries (normally `target/release`).
    pub bin_dir: PathBuf,
}

impl RsmInstall {
    /// Finds `rsmrun` (in `bin_dir`, else on `PATH`) and checks that `bench`'s binary exists.
    pub fn detect(bin_dir: &Path, rsmrun: Option<&Path>) -> Result<RsmInstall, String> {
        let rsmrun = match rsmrun {
            Some(p) => is_executable(p).then(|| p.to_path_buf()),
            None => {
                let local = bin_dir.join("rsmrun");
                if is_executable(&local) {
                    Some(local)
                } else {
                    which("rsmrun")
                }
            }
        };
        let Some(rsmrun) = rsmrun else {
            return Err(format!(
                "rsmrun not found in {} or on PATH (build it with `cargo build --release -p rsm-launcher`)",
                bin_dir.display()
            ));
        };
        Ok(RsmInstall {
            rsmrun,
            bin_dir: bin_dir.to_path_buf(),
        })
    }

    /// Path of `bench`'s binary, or why it is unavailable.
    pub fn binary(&self, bench: Benchmark) -> Result<PathBuf, String> {
        let p = self.bin_dir.join(bench.name());
        if is_executable(&p) {
            Ok(p)
        } else {
            Err(format!(
                "{} not found (build it with `cargo build --release -p rsm-benches`)",
                p.display()
            ))
        }
    }

    /// `rsmrun -n NP --bind-to core [--oversubscribe] binary args…`, with
    /// `RSM_BENCH_ALGORITHM=1` (the collective binaries then name the algorithm of each size
    /// in an `# Algorithm:` line after its row; rsmrun passes `RSM_*` variables to the ranks).
    pub fn command(&self, s: &LaunchSettings, binary: &Path, args: &[String]) -> Command {
        let mut c = Command::new(&self.rsmrun);
        c.env(crate::collective::ALGORITHM_ENV, "1");
        c.args(["-n", &s.np.to_string(), "--bind-to", "core"]);
        if s.oversubscribe {
            c.arg("--oversubscribe");
        }
        c.arg(binary).args(args);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_ids() {
        for l in Library::ALL {
            assert_eq!(Library::from_id(l.id()), Some(l));
        }
        assert_eq!(Library::from_id("OMPI"), Some(Library::OpenMpi));
        assert_eq!(Library::from_id("intelmpi"), None);
        assert_eq!(Library::OpenMpi.to_string(), "Open MPI");
        assert!(!Library::Rsm.is_mpi());
    }

    #[test]
    fn which_finds_sh_and_rejects_missing() {
        assert!(which("sh").is_some());
        assert_eq!(which("rsm-definitely-not-a-program"), None);
        assert_eq!(which("/nonexistent/x"), None);
    }

    #[test]
    fn commands() {
        let b = MpiBuild {
            install: MpiInstall {
                library: Library::Mpich,
                mpicc: "mpicc.mpich".into(),
                launcher: "/usr/bin/mpiexec.mpich".into(),
            },
            dir: "/t".into(),
        };
        let s = LaunchSettings {
            np: 4,
            oversubscribe: true,
        };
        let c = mpi_command(
            &b,
            &s,
            &b.binary(Benchmark::Bcast),
            &["-m".into(), "8:8".into()],
        );
        let args: Vec<_> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(c.get_program(), "/usr/bin/mpiexec.mpich");
        assert_eq!(
            args,
            ["-n", "4", "-bind-to", "core", "/t/osu_bcast", "-m", "8:8"]
        );

        let o = MpiBuild {
            install: MpiInstall {
                library: Library::OpenMpi,
                ..b.install.clone()
            },
            dir: "/t".into(),
        };
        let c = mpi_command(&o, &s, Path::new("/t/osu_barrier"), &[]);
        let args: Vec<_> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let tail: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .skip_while(|a| *a == "--allow-run-as-root")
            .collect();
        assert_eq!(
            tail,
            [
                "-np",
                "4",
                "--oversubscribe",
                "--bind-to",
                "core:overload-allowed",
                "/t/osu_barrier"
            ]
        );
        assert_eq!(
            args.first().map(String::as_str) == Some("--allow-run-as-root"),
            running_as_root()
        );

        let r = RsmInstall {
            rsmrun: "/x/rsmrun".into(),
            bin_dir: "/x".into(),
        };
        let c = r.command(
            &LaunchSettings {
                np: 2,
                oversubscribe: false,
            },
            Path::new("/x/osu_gather"),
            &[],
        );
        let args: Vec<_> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args, ["-n", "2", "--bind-to", "core", "/x/osu_gather"]);
        assert_eq!(
            c.get_envs()
                .map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned())))
                .collect::<Vec<_>>(),
            [("RSM_BENCH_ALGORITHM".into(), Some("1".into()))]
        );
        assert!(
            r.binary(Benchmark::Gather)
                .unwrap_err()
                .contains("cargo build --release -p rsm-benches")
        );
    }

    #[test]
    fn rsm_detection_reports_missing_launcher() {
        let dir = tempfile::tempdir().unwrap();
        let e = RsmInstall::detect(dir.path(), Some(&dir.path().join("rsmrun"))).unwrap_err();
        assert!(e.contains("rsmrun not found"), "{e}");
    }

    #[test]
    fn embedded_source_is_the_file() {
        assert!(C_SOURCE.contains("int main(int argc, char **argv)"));
        assert_eq!(fnv1a(b""), "cbf29ce484222325");
    }
}
