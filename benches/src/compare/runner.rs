//! Runs a launcher command with a time limit, capturing its output, and kills the whole
//! process tree it started when the limit passes (MPICH ranks oversubscribed on too few cores
//! can spin for minutes; a comparison must report "timeout" instead of hanging).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Exited with this code.
    Exited(i32),
    /// Killed by this signal (not by us).
    Signaled(i32),
    /// Ran past its limit; we killed it.
    TimedOut,
}

impl Status {
    /// True for exit code 0.
    pub fn success(self) -> bool {
        self == Status::Exited(0)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Exited(c) => write!(f, "exit status {c}"),
            Status::Signaled(s) => write!(f, "killed by signal {s}"),
            Status::TimedOut => f.write_str("timeout"),
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// How it ended.
    pub status: Status,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
    /// Wall time until it ended (or was killed).
    pub elapsed: Duration,
}

fn reader<R: Read + Send + 'static>(mut src: R) -> (Arc<Mutex<Vec<u8>>>, thread::JoinHandle<()>) {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&buf);
    let handle = thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match src.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => match sink.lock() {
                    Ok(mut b) => b.extend_from_slice(&chunk[..n]),
                    Err(_) => break,
                },
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
    });
    (buf, handle)
}

fn take(buf: &Arc<Mutex<Vec<u8>>>) -> String {
    let bytes = buf.lock().map(|b| b.clone()).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Parent pid of `pid` from `/proc/<pid>/stat`.
fn parent_of(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may contain spaces and parentheses: the fields after the last ')' are fixed.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Every live descendant of `root` (children, grandchildren, …).
pub fn descendants(root: i32) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for e in entries.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok())
                && let Some(ppid) = parent_of(pid)
            {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![root];
    while let Some(p) = stack.pop() {
        for &c in children.get(&p).map(Vec::as_slice).unwrap_or(&[]) {
            if seen.insert(c) {
                out.push(c);
                stack.push(c);
            }
        }
    }
    out
}

/// Sends `sig` to the child's process group and to every descendant found in `/proc` (ranks
/// that moved to their own group included). Only processes started by `child` are touched.
fn signal_tree(child: &Child, sig: Signal) {
    let pid = child.id() as i32;
    let doomed = descendants(pid);
    // The child is the leader of its own group (spawned with process_group(0)) and has not
    // been reaped yet, so the group id cannot belong to anyone else.
    let _ = killpg(Pid::from_raw(pid), sig);
    for d in doomed {
        let _ = kill(Pid::from_raw(d), sig);
    }
}

fn to_status(s: ExitStatus) -> Status {
    match (s.code(), s.signal()) {
        (Some(c), _) => Status::Exited(c),
        (None, Some(sig)) => Status::Signaled(sig),
        (None, None) => Status::Exited(-1),
    }
}

/// Runs `cmd` (stdin closed, stdout/stderr captured, in a new process group) for at most
/// `limit`. On timeout the tree gets SIGTERM, then SIGKILL after `grace`.
pub fn run_with_limit(cmd: &mut Command, limit: Duration) -> io::Result<Outcome> {
    let grace = Duration::from_secs(3);
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let out_pipe = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("no stdout pipe"))?;
    let err_pipe = child
        .stderr
        .take()
        .ok_or_else(|| io::Error::other("no stderr pipe"))?;
    let (out_buf, out_thread) = reader(out_pipe);
    let (err_buf, err_thread) = reader(err_pipe);

    let mut pause = Duration::from_millis(1);
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break to_status(s);
        }
        if start.elapsed() >= limit {
            signal_tree(&child, Signal::SIGTERM);
            let deadline = Instant::now() + grace;
            let mut exited = None;
            while Instant::now() < deadline {
                if let Some(s) = child.try_wait()? {
                    exited = Some(s);
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
            if exited.is_none() {
                signal_tree(&child, Signal::SIGKILL);
                child.wait()?;
            }
            break Status::TimedOut;
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    // The pipes close when the last writer is gone; do not wait forever for a stray one.
    let join_deadline = Instant::now() + Duration::from_secs(5);
    for t in [out_thread, err_thread] {
        while !t.is_finished() && Instant::now() < join_deadline {
            thread::sleep(Duration::from_millis(10));
        }
        if t.is_finished() {
            let _ = t.join();
        }
    }
    Ok(Outcome {
        status,
        stdout: take(&out_buf),
        stderr: take(&err_buf),
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_status() {
        let o = run_with_limit(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(20),
        )
        .unwrap();
        assert_eq!(o.status, Status::Exited(3));
        assert_eq!(o.stdout, "out\n");
        assert_eq!(o.stderr, "err\n");
        assert!(!o.status.success());
    }

    #[test]
    fn timeout_kills_the_whole_tree() {
        // A parent that starts a grandchild in its own process group, like a launcher whose
        // ranks call setsid/setpgid. Both must be gone after the timeout.
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("grandchild.pid");
        let script = format!(
            "setsid sh -c 'echo $$ > {p}; exec sleep 300' & sleep 300",
            p = pidfile.display()
        );
        let t0 = Instant::now();
        let o = run_with_limit(
            Command::new("sh").args(["-c", &script]),
            Duration::from_millis(500),
        )
        .unwrap();
        assert_eq!(o.status, Status::TimedOut);
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "took {:?}",
            t0.elapsed()
        );
        let gc: i32 = fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The grandchild is reparented and reaped by init shortly after SIGTERM/SIGKILL.
        let gone = (0..200).any(|_| {
            let alive = fs::read_to_string(format!("/proc/{gc}/stat"))
                .map(|s| !s.contains(") Z "))
                .unwrap_or(false);
            if alive {
                thread::sleep(Duration::from_millis(10));
            }
            !alive
        });
        assert!(gone, "grandchild {gc} survived the timeout");
    }

    #[test]
    fn missing_program_is_an_error() {
        assert!(
            run_with_limit(
                &mut Command::new("/nonexistent/rsm-nothing"),
                Duration::from_secs(1)
            )
            .is_err()
        );
    }

    #[test]
    fn descendants_of_self_include_a_child() {
        let mut c = Command::new("sleep").arg("5").spawn().unwrap();
        let me = std::process::id() as i32;
        assert!(descendants(me).contains(&(c.id() as i32)));
        c.kill().unwrap();
        c.wait().unwrap();
    }
}
