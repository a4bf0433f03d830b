//! Finding the `rsmrun` launcher for tests and benches.
//!
//! Cargo gives `env!("CARGO_BIN_EXE_rsmrun")` only to the launcher's own tests, so the
//! benchmark tests and the criterion benches find it the way a user would: in the profile
//! directory their own executable was built into (`target/debug/` for `cargo test`,
//! `target/release/` for `cargo bench`). When the executable runs under cargo (`$CARGO` is
//! set, as for `cargo test` and `cargo bench`), [`rsmrun`] first runs
//! `cargo build [--release] -p rsm-launcher --bin rsmrun` for that profile — a no-op when it
//! is up to date, a build when it is missing or stale (cargo does not hold the build lock
//! while tests run). `$RSM_BENCH_RSMRUN` overrides all of this.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::compare::runner::{Status, run_with_limit};
use crate::compare::workspace_root;

/// Environment variable naming the `rsmrun` to use (skips the search and the build).
pub const RSMRUN_ENV: &str = "RSM_BENCH_RSMRUN";

/// Longest time the build of `rsmrun` may take.
pub const BUILD_LIMIT: Duration = Duration::from_secs(900);

/// The cargo profile directory of an executable: `<target>/<profile>/` for one in
/// `<target>/<profile>/deps/` (tests, benches) or in `<target>/<profile>/` itself (binaries).
pub fn profile_dir(exe: &Path) -> Option<PathBuf> {
    let dir = exe.parent()?;
    if dir.file_name()? == "deps" {
        dir.parent().map(Path::to_path_buf)
    } else {
        Some(dir.to_path_buf())
    }
}

/// The cargo arguments that build into the profile directory named `dir_name`
/// (`debug` → dev, `release`, or a custom profile).
pub fn profile_args(dir_name: &str) -> Vec<String> {
    match dir_name {
        "debug" => Vec::new(),
        "release" => vec!["--release".to_string()],
        other => vec!["--profile".to_string(), other.to_string()],
    }
}

fn build(cargo: &Path, profile: &Path) -> Result<(), String> {
    let name = profile
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{} has no usable name", profile.display()))?;
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "rsm-launcher", "--bin", "rsmrun"])
        .args(profile_args(name))
        .current_dir(workspace_root());
    let text = format!(
        "{} build -p rsm-launcher --bin rsmrun {}",
        cargo.display(),
        profile_args(name).join(" ")
    );
    let out = run_with_limit(&mut cmd, BUILD_LIMIT).map_err(|e| format!("{text}: {e}"))?;
    match out.status {
        Status::Exited(0) => Ok(()),
        Status::TimedOut => Err(format!(
            "{text} did not finish within {} s",
            BUILD_LIMIT.as_secs()
        )),
        s => Err(format!("{text} failed ({s}):\n{}", out.stderr)),
    }
}

/// Finds `rsmrun` for the running executable (see the module documentation).
pub fn find_for(exe: &Path, cargo: Option<&Path>) -> Result<PathBuf, String> {
    let profile = profile_dir(exe)
        .ok_or_else(|| format!("cannot tell the profile directory of {}", exe.display()))?;
    if let Some(cargo) = cargo {
        build(cargo, &profile)?;
    }
    let p = profile.join("rsmrun");
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "{} not found: build it with `cargo build {}-p rsm-launcher` or set {RSMRUN_ENV}",
            p.display(),
            profile_args(
                profile
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("debug")
            )
            .iter()
            .map(|a| format!("{a} "))
            .collect::<String>()
        ))
    }
}

/// `rsmrun` for this process: `$RSM_BENCH_RSMRUN`, else built (under cargo) and found next
/// to the current executable. The answer is computed once per process.
pub fn rsmrun() -> Result<PathBuf, String> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            if let Some(p) = std::env::var_os(RSMRUN_ENV) {
                let p = PathBuf::from(p);
                return if p.is_file() {
                    Ok(p)
                } else {
                    Err(format!("{RSMRUN_ENV}={} is not a file", p.display()))
                };
            }
            let exe = std::env::current_exe().map_err(|e| format!("current executable: {e}"))?;
            let cargo = std::env::var_os("CARGO").map(PathBuf::from);
            find_for(&exe, cargo.as_deref())
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_directories() {
        assert_eq!(
            profile_dir(Path::new("/w/target/debug/deps/one_sided-0123abcd")),
            Some(PathBuf::from("/w/target/debug"))
        );
        assert_eq!(
            profile_dir(Path::new("/w/target/release/osu_put_bw")),
            Some(PathBuf::from("/w/target/release"))
        );
        assert_eq!(profile_args("debug"), Vec::<String>::new());
        assert_eq!(profile_args("release"), ["--release"]);
        assert_eq!(profile_args("bench"), ["--profile", "bench"]);
    }

    #[test]
    fn missing_launcher_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let deps = dir.path().join("release").join("deps");
        std::fs::create_dir_all(&deps).unwrap();
        let e = find_for(&deps.join("core_paths-1234"), None).unwrap_err();
        assert!(e.contains("rsmrun not found"), "{e}");
        assert!(e.contains("cargo build --release -p rsm-launcher"), "{e}");
        std::fs::write(dir.path().join("release").join("rsmrun"), b"").unwrap();
        assert_eq!(
            find_for(&deps.join("core_paths-1234"), None).unwrap(),
            dir.path().join("release").join("rsmrun")
        );
    }
}
