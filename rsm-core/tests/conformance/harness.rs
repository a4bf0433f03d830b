//! Test harness: private namespaces, peer processes with timeouts, a watchdog.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use rsm_core::{Config, Controller, ErrorKind};

/// How long one peer command may take before the test fails (and kills the peer).
pub const PEER_TIMEOUT: Duration = Duration::from_secs(30);

/// A private namespace: `rsm.<ns>.*` names in /dev/shm belong to one test only.
pub struct Ns {
    pub name: String,
    pub cfg: Config,
    finished: bool,
}

impl Ns {
    pub fn new(tag: &str) -> Ns {
        let name = format!("c{}_{}", std::process::id(), tag);
        assert!(name.len() <= 64, "namespace too long: {name}");
        let cfg = Config::default().with_namespace(name.clone());
        Ns {
            name,
            cfg,
            finished: false,
        }
    }

    pub fn with_cfg(mut self, f: impl FnOnce(&mut Config)) -> Ns {
        f(&mut self.cfg);
        self
    }

    pub fn ctrl(&self) -> Controller {
        Controller::get_with_config("loopback", &self.cfg).expect("loopback controller")
    }

    pub fn names(&self) -> Vec<String> {
        rsm_core::shm::list_names(&self.cfg)
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.cfg.shm_dir.join(name)
    }

    pub fn data_name(&self, id: u32) -> String {
        format!("rsm.{}.{id:08x}", self.name)
    }

    /// Asserts that nothing of this namespace is left in the directory.
    pub fn finish(mut self) {
        self.finished = true;
        let left = self.names();
        assert!(
            left.is_empty(),
            "names left behind in {}: {left:?}",
            self.cfg.shm_dir.display()
        );
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        // Failed tests must not pollute /dev/shm either.
        for n in self.names() {
            let _ = std::fs::remove_file(self.cfg.shm_dir.join(n));
        }
        if !self.finished && !std::thread::panicking() {
            panic!("test did not call Ns::finish()");
        }
    }
}

/// A peer process: this test binary re-executed as `peer_main`, driven by commands on
/// stdin (see `peer.rs`). Killed on drop.
pub struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<String>,
    pub pid: u32,
}

pub struct PeerOpts<'a> {
    pub ns: &'a Ns,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub env: Vec<(&'static str, String)>,
}

impl<'a> PeerOpts<'a> {
    pub fn new(ns: &'a Ns) -> PeerOpts<'a> {
        PeerOpts {
            ns,
            uid: None,
            gid: None,
            env: Vec::new(),
        }
    }
    /// Runs the peer as `uid` (and, unless [`gid`](Self::gid) says otherwise, as group
    /// `uid`), without supplementary groups.
    pub fn uid(mut self, uid: u32) -> Self {
        self.uid = Some(uid);
        self
    }
    pub fn gid(mut self, gid: u32) -> Self {
        self.gid = Some(gid);
        self
    }
    pub fn env(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.env.push((k, v.into()));
        self
    }
    pub fn spawn(self) -> Peer {
        let exe = std::env::current_exe().expect("test binary path");
        let mut cmd = Command::new(exe);
        cmd.args([
            "--ignored",
            "--exact",
            "peer_main",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env("RSM_TEST_PEER", "1")
        .env("RSM_SHM_NAMESPACE", &self.ns.name)
        .env("RSM_SHM_DIR", &self.ns.cfg.shm_dir)
        .env("RSM_NODE_ID", self.ns.cfg.node_id.to_string())
        .env(
            "RSM_LIVENESS_MS",
            self.ns.cfg.liveness.as_millis().to_string(),
        )
        .env(
            "RSM_LOOPBACK_MAP",
            if self.ns.cfg.loopback_map { "1" } else { "0" },
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(uid) = self.uid {
            cmd.uid(uid).gid(self.gid.unwrap_or(uid));
        }
        let mut child = cmd.spawn().expect("spawn peer");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(reply) = line.strip_prefix("@@ ")
                    && tx.send(reply.to_owned()).is_err()
                {
                    break;
                }
            }
        });
        let pid = child.id();
        let stdin = child.stdin.take();
        let mut p = Peer {
            child,
            stdin,
            rx,
            pid,
        };
        p.ok("hello");
        p
    }
}

/// A peer reply: `Ok(fields)` or `Err((code, message))`.
pub type Reply = Result<Vec<String>, (i32, String)>;

impl Peer {
    pub fn spawn(ns: &Ns) -> Peer {
        PeerOpts::new(ns).spawn()
    }

    /// Sends one command and waits (bounded) for its reply.
    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send(line);
        self.reply(line)
    }

    /// Sends one command without waiting for the reply (see [`Peer::reply`]).
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("peer stdin");
        writeln!(stdin, "{line}")
            .unwrap_or_else(|e| panic!("peer {} gone ({e}) sending {line:?}", self.pid));
        stdin.flush().ok();
    }

    /// Waits (bounded) for the reply to the command `line` sent last.
    pub fn reply(&mut self, line: &str) -> Reply {
        match self.try_reply(PEER_TIMEOUT) {
            Some(r) => r,
            None => {
                let _ = self.child.kill();
                panic!(
                    "peer {} did not answer {line:?} within {PEER_TIMEOUT:?}",
                    self.pid
                );
            }
        }
    }

    /// The reply to the command sent last, if it arrives within `wait`.
    pub fn try_reply(&mut self, wait: Duration) -> Option<Reply> {
        let reply = self.rx.recv_timeout(wait).ok()?;
        Some(parse_reply(&reply))
    }

    /// A command that must succeed.
    pub fn ok(&mut self, line: &str) -> Vec<String> {
        match self.cmd(line) {
            Ok(v) => v,
            Err((c, m)) => panic!("peer {line:?} failed: code {c}: {m}"),
        }
    }

    /// A command that must fail; returns the error kind.
    pub fn fails(&mut self, line: &str) -> ErrorKind {
        match self.cmd(line) {
            Ok(v) => panic!("peer {line:?} unexpectedly succeeded: {v:?}"),
            Err((c, m)) => {
                ErrorKind::from_code(c).unwrap_or_else(|| panic!("unknown code {c}: {m}"))
            }
        }
    }

    /// First field of a successful reply, as a number (hex with 0x, else decimal).
    pub fn num(&mut self, line: &str) -> u64 {
        let v = self.ok(line);
        parse_num(&v[0])
    }

    /// Sends a signal to thread `tid` of the peer.
    pub fn signal(&self, tid: u64, sig: i32) {
        // SAFETY: tgkill with our own child's pid and one of its threads.
        let r = unsafe { libc::syscall(libc::SYS_tgkill, self.pid as i64, tid as i64, sig as i64) };
        assert_eq!(r, 0);
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Closes stdin and waits for a clean exit (bounded).
    pub fn quit(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + PEER_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(st)) => {
                    assert!(st.success(), "peer exited with {st}");
                    return;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                _ => panic!("peer {} did not exit", self.pid),
            }
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_reply(reply: &str) -> Reply {
    let mut f = reply.split(' ');
    match f.next() {
        Some("ok") => Ok(f.map(str::to_owned).collect()),
        Some("err") => {
            let code = f.next().and_then(|c| c.parse().ok()).unwrap_or(-1);
            Err((code, f.collect::<Vec<_>>().join(" ")))
        }
        _ => panic!("bad peer reply {reply:?}"),
    }
}

pub fn parse_num(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap_or_else(|_| panic!("bad number {s}")),
        None => s.parse().unwrap_or_else(|_| panic!("bad number {s}")),
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Runs `f` and fails the test if it takes longer than `limit`.
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(_) => panic!("operation did not finish within {limit:?}"),
    }
}

/// The kind of an error result (panics on success).
#[track_caller]
pub fn kind<T: std::fmt::Debug>(r: rsm_core::Result<T>) -> ErrorKind {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e.kind(),
    }
}
