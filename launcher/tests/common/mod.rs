//! Helpers for the rsmrun integration tests: run rsmrun as a real process with a deadline,
//! collect its output, and check that rank processes are gone.
#![allow(dead_code)]

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

pub const RSMRUN: &str = env!("CARGO_BIN_EXE_rsmrun");
pub const TESTRANK: &str = env!("CARGO_BIN_EXE_rsm-testrank");

/// What a finished rsmrun did.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

/// A running rsmrun.
pub struct Running {
    pub child: Child,
    out: Option<JoinHandle<String>>,
    err: Option<JoinHandle<String>>,
    start: Instant,
}

fn reader<R: Read + Send + 'static>(mut r: R) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// A command for rsmrun with `args`. rsmrun forwards every `RSM_*` variable to its ranks
/// and remote proxies, so the ones in the test's own environment (CI sets some) are removed:
/// a test sees exactly the variables it sets.
pub fn rsmrun_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(RSMRUN);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("RSM_") {
            c.env_remove(k);
        }
    }
    c.args(args);
    c
}

/// Starts `cmd` (in its own process group, as a shell would run a foreground job).
pub fn spawn(mut cmd: Command) -> Running {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().expect("spawn rsmrun");
    let out = child.stdout.take().map(reader);
    let err = child.stderr.take().map(reader);
    Running {
        child,
        out,
        err,
        start: Instant::now(),
    }
}

impl Running {
    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    pub fn signal(&self, sig: Signal) {
        kill(self.pid(), sig).expect("signal rsmrun");
    }

    /// Waits at most `limit`; on timeout SIGKILLs rsmrun and panics with its output.
    pub fn wait(mut self, limit: Duration) -> Outcome {
        let deadline = self.start + limit;
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                break Some(st);
            }
            if Instant::now() >= deadline {
                break None;
            }
            thread::sleep(Duration::from_millis(10));
        };
        let elapsed = self.start.elapsed();
        let timed_out = status.is_none();
        let status = match status {
            Some(st) => st,
            None => {
                let _ = self.child.kill();
                self.child.wait().expect("wait after kill")
            }
        };
        let stdout = self
            .out
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default();
        let stderr = self
            .err
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default();
        if timed_out {
            panic!(
                "rsmrun did not finish within {limit:?}; killed it.\nstdout:\n{stdout}\nstderr:\n{stderr}"
            );
        }
        Outcome {
            code: status.code(),
            signal: status.signal(),
            stdout,
            stderr,
            elapsed,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A test that panicked before waiting must not leave rsmrun behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs rsmrun with `args` and waits at most `limit`.
pub fn run(args: &[&str], limit: Duration) -> Outcome {
    spawn(rsmrun_cmd(args)).wait(limit)
}

/// A directory for pid files whose processes are SIGKILLed when it is dropped (so a failing
/// test leaves nothing behind).
pub struct PidDir {
    pub dir: tempfile::TempDir,
}

impl PidDir {
    pub fn new() -> PidDir {
        PidDir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn arg(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// Pids written so far, by rank.
    pub fn pids(&self) -> Vec<(u32, i32)> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(r) = name
                .strip_prefix("rank.")
                .and_then(|s| s.strip_suffix(".pid"))
            {
                let pid: i32 = std::fs::read_to_string(e.path())
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap();
                v.push((r.parse().unwrap(), pid));
            }
        }
        v.sort();
        v
    }

    /// Waits until `n` ranks have written their pid.
    pub fn wait_for(&self, n: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.pids().len() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} ranks started within {limit:?}",
                self.pids().len()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ranks whose process still exists (and is still a testrank) after waiting up to
    /// `limit` for them to go.
    pub fn alive_after(&self, limit: Duration) -> Vec<(u32, i32)> {
        let deadline = Instant::now() + limit;
        loop {
            let alive: Vec<(u32, i32)> = self
                .pids()
                .into_iter()
                .filter(|(_, pid)| is_testrank(*pid))
                .collect();
            if alive.is_empty() || Instant::now() >= deadline {
                return alive;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PidDir {
    fn drop(&mut self) {
        for (_, pid) in self.pids() {
            if is_testrank(pid) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
}

/// Whether `pid` is a live (not zombie) rsm-testrank process.
pub fn is_testrank(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // Field 3 (after the parenthesized command) is the state.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("");
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    state != "Z" && String::from_utf8_lossy(&cmd).contains("rsm-testrank")
}

/// Writes an executable script.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// Parses `key=value` words of a `--report` line.
pub fn report_fields(line: &str) -> std::collections::HashMap<String, String> {
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The `--report` lines of an outcome, sorted by rank, as field maps.
pub fn reports(o: &Outcome) -> Vec<std::collections::HashMap<String, String>> {
    let mut v: Vec<_> = o
        .stdout
        .lines()
        .map(|l| l.trim_start_matches(|c| c != 'r').to_string())
        .filter(|l| l.starts_with("rank=") && l.contains("size="))
        .map(|l| report_fields(&l))
        .collect();
    v.sort_by_key(|m| m["rank"].parse::<u32>().unwrap());
    v
}
