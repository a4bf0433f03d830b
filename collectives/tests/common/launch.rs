//! Runs one `rsmrun` job from a test with a deadline of its own, and checks the job's
//! shared-memory namespace afterwards.
//!
//! The test binary is its own `rsmrun`: [`dispatch`] (called first in `main`) turns the
//! process into rsmrun (`RSM_TEST_ROLE=rsmrun`, or rsmrun's `--proxy` re-execution of
//! itself), so the launcher that runs the job is always built from this tree.
#![allow(dead_code)]

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Environment variable that makes the test binary act as rsmrun.
pub const ROLE: &str = "RSM_TEST_ROLE";

/// If this process was started as rsmrun (or as rsmrun's proxy), runs it and exits.
pub fn dispatch() {
    let proxy = std::env::args_os().nth(1).is_some_and(|a| a == "--proxy");
    let role = std::env::var_os(ROLE).is_some_and(|v| v == "rsmrun");
    if proxy || role {
        // The launcher's entry point reads this process's own arguments.
        std::process::exit(rsm_launcher::cli::main());
    }
}

/// A fresh, unique shared-memory namespace for one job.
pub fn namespace(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "t{}-{}-{}",
        std::process::id(),
        tag,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Names of `namespace` left in the shared-memory directory.
pub fn shm_names(namespace: &str) -> Vec<String> {
    let dir = std::env::var("RSM_SHM_DIR").unwrap_or_else(|_| "/dev/shm".into());
    let prefix = format!("rsm.{namespace}.");
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// One job to run.
#[derive(Clone, Debug)]
pub struct Job {
    pub ranks: usize,
    /// rsmrun's own `--timeout` (seconds).
    pub timeout_s: u64,
    pub rsmrun_args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub namespace: String,
}

impl Job {
    pub fn new(ranks: usize, timeout_s: u64, program: PathBuf, args: &[&str], tag: &str) -> Job {
        Job {
            ranks,
            timeout_s,
            rsmrun_args: Vec::new(),
            env: Vec::new(),
            program,
            args: args.iter().map(|s| s.to_string()).collect(),
            namespace: namespace(tag),
        }
    }

    pub fn env(mut self, k: &str, v: &str) -> Job {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn rsmrun_arg(mut self, a: &str) -> Job {
        self.rsmrun_args.push(a.into());
        self
    }
}

/// What a finished job did.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// Our own deadline expired and we killed the job.
    pub killed: bool,
    /// Names left in the job's namespace after it ended.
    pub leftovers: Vec<String>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.code == Some(0) && !self.killed
    }

    pub fn describe(&self) -> String {
        format!(
            "exit {:?} signal {:?} after {:.1} s{}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code,
            self.signal,
            self.elapsed.as_secs_f64(),
            if self.killed {
                " (killed at the test's deadline)"
            } else {
                ""
            },
            tail(&self.stdout, 60),
            tail(&self.stderr, 60)
        )
    }
}

fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    let skip = v.len().saturating_sub(lines);
    let mut out = String::new();
    if skip > 0 {
        out.push_str(&format!("[{skip} earlier lines]\n"));
    }
    for l in &v[skip..] {
        out.push_str(l);
        out.push('\n');
    }
    out
}

fn reader<R: Read + Send + 'static>(mut r: R) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Runs `job` under rsmrun (this test binary acting as rsmrun), waits at most `timeout_s`
/// plus 30 s (then kills rsmrun's whole process group), and reports what happened.
pub fn run(job: &Job) -> Outcome {
    let me = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(&me);
    cmd.env(ROLE, "rsmrun");
    cmd.env("RSM_SHM_NAMESPACE", &job.namespace);
    for (k, v) in &job.env {
        cmd.env(k, v);
    }
    let n = job.ranks.to_string();
    let t = job.timeout_s.to_string();
    let mut args: Vec<OsString> = vec![
        "-n".into(),
        n.into(),
        "--oversubscribe".into(),
        "--timeout".into(),
        t.into(),
    ];
    args.extend(job.rsmrun_args.iter().map(OsString::from));
    args.push("--".into());
    args.push(job.program.clone().into());
    args.extend(job.args.iter().map(OsString::from));
    cmd.args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn rsmrun");
    let out = child.stdout.take().map(reader);
    let err = child.stderr.take().map(reader);
    let deadline = start + Duration::from_secs(job.timeout_s + 30);
    let mut killed = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if Instant::now() >= deadline {
            killed = true;
            let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            break child.wait().expect("wait after kill");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    let stdout = out
        .map(|h| h.join().unwrap_or_default())
        .unwrap_or_default();
    let stderr = err
        .map(|h| h.join().unwrap_or_default())
        .unwrap_or_default();
    // rsmrun sweeps the namespace after the job; give a killed job's leftovers a moment.
    let mut leftovers = shm_names(&job.namespace);
    let until = Instant::now() + Duration::from_secs(2);
    while !leftovers.is_empty() && Instant::now() < until {
        thread::sleep(Duration::from_millis(50));
        leftovers = shm_names(&job.namespace);
    }
    Outcome {
        code: status.code(),
        signal: status.signal(),
        stdout,
        stderr,
        elapsed,
        killed,
        leftovers,
    }
}
