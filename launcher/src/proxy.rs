//! The per-host proxy (`rsmrun --proxy`): started by rsmrun directly (local host) or over
//! ssh/srun, it reads a [`LaunchSpec`] on stdin, listens for its ranks' key-value connections
//! on the loopback interface, starts the ranks, forwards their output and exit status and
//! their key-value requests, and kills them when rsmrun goes away (stdin end of file).

use std::collections::HashMap;
use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::{AccessFlags, Pid, access};
use rsm_core::bootstrap::wire::{self, Bytes, ErrorKind, LineError, Response};
use rsm_core::bootstrap::{
    ENV_HOSTNAME, ENV_JOB_ID, ENV_JOB_SECRET, ENV_KVS_ADDR, ENV_LOCAL_RANK, ENV_LOCAL_SIZE,
    ENV_NODE_COUNT, ENV_NODE_ID, ENV_RANK, ENV_SIZE,
};

use crate::bind;
use crate::cleanup;
use crate::proto::{
    BindTo, Down, Exit, MAX_FRAME_LINE, OUTPUT_CHUNK, PROXY_PROTOCOL_VERSION, Stream, Up,
};

/// At most this many key-value connections at once per host.
const MAX_CONNS: usize = 4096;
/// How long a rank that lost rsmrun gets between SIGTERM and SIGKILL.
const ORPHAN_GRACE: Duration = Duration::from_secs(2);
/// How long the proxy waits for ranks after SIGKILL before giving up on them.
const KILL_WAIT: Duration = Duration::from_secs(5);
/// How long a rank's output may keep flowing after it exited (children holding the pipe).
const OUTPUT_DRAIN: Duration = Duration::from_secs(1);

enum Ev {
    Down(Down),
    /// rsmrun is gone (stdin ended or failed, or stdout broke).
    Upstream(String),
    RankDone,
    Signal(i32),
}

struct Slot {
    pid: Pid,
    reaped: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sends `sig` to the process group of every rank not yet reaped. A rank is only reaped
/// under the same lock, so its process group id cannot have been reused.
fn signal_all(slots: &Mutex<Vec<Slot>>, sig: Signal) {
    for s in lock(slots).iter().filter(|s| !s.reaped) {
        if killpg(s.pid, sig).is_err() {
            let _ = kill(s.pid, sig);
        }
    }
}

/// Finds `program` as a shell would: a name with a slash is a path (relative to `cwd`),
/// anything else is looked up in `path`. Errors carry the shell's status (127/126).
pub fn resolve_program(
    program: &str,
    path: Option<&str>,
    cwd: &Path,
) -> Result<PathBuf, (i32, String)> {
    let check = |p: &Path| -> Result<(), (i32, String)> {
        let meta = std::fs::metadata(p).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                (127, format!("{program}: No such file or directory"))
            } else {
                (126, format!("{program}: {e}"))
            }
        })?;
        if meta.is_dir() {
            return Err((126, format!("{program}: Is a directory")));
        }
        access(p, AccessFlags::X_OK).map_err(|_| (126, format!("{program}: Permission denied")))
    };
    if program.is_empty() {
        return Err((127, "empty program name".to_string()));
    }
    if program.contains('/') {
        let p = cwd.join(program);
        check(&p)?;
        return Ok(p);
    }
    let path = path.unwrap_or("/usr/local/bin:/usr/bin:/bin");
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let p = cwd.join(dir).join(program);
        if let Ok(m) = std::fs::metadata(&p)
            && m.is_file()
            && access(&p, AccessFlags::X_OK).is_ok()
        {
            return Ok(p);
        }
    }
    Err((
        127,
        format!("{program}: command not found (searched PATH={path})"),
    ))
}

/// Entry point of `rsmrun --proxy`. Returns the process exit code.
pub fn run() -> i32 {
    let (up_tx, up_rx) = mpsc::sync_channel::<Up>(1024);
    let (ev_tx, ev_rx) = mpsc::channel::<Ev>();
    let writer = spawn_writer(up_rx, ev_tx.clone());

    let mut stdin = BufReader::new(io::stdin());
    let spec = match wire::read_line_bounded(&mut stdin, MAX_FRAME_LINE) {
        Ok(Some(line)) => match serde_json::from_str::<Down>(&line) {
            Ok(Down::Launch(spec)) => spec,
            Ok(other) => {
                return fatal(
                    up_tx,
                    writer,
                    format!("expected a launch frame, got {other:?}"),
                );
            }
            Err(e) => return fatal(up_tx, writer, format!("cannot parse the launch frame: {e}")),
        },
        Ok(None) => return 1,
        Err(e) => return fatal(up_tx, writer, format!("reading the launch frame: {e}")),
    };
    if spec.version != PROXY_PROTOCOL_VERSION {
        return fatal(
            up_tx,
            writer,
            format!(
                "rsmrun speaks proxy protocol {}, this rsmrun --proxy ({}) speaks {}",
                spec.version,
                std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                PROXY_PROTOCOL_VERSION
            ),
        );
    }
    let host_tag = spec.host.clone();
    let log = move |msg: &str| crate::say!("rsmrun proxy [{host_tag}]: {msg}");

    // stdin: the rest of the frames.
    {
        let ev_tx = ev_tx.clone();
        thread::spawn(move || {
            loop {
                match wire::read_line_bounded(&mut stdin, MAX_FRAME_LINE) {
                    Ok(Some(line)) => match serde_json::from_str::<Down>(&line) {
                        Ok(d) => {
                            if ev_tx.send(Ev::Down(d)).is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            let _ = ev_tx.send(Ev::Upstream(format!("unreadable frame: {e}")));
                            return;
                        }
                    },
                    Ok(None) => {
                        let _ = ev_tx.send(Ev::Upstream("connection closed".to_string()));
                        return;
                    }
                    Err(e) => {
                        let _ = ev_tx.send(Ev::Upstream(format!("connection failed: {e}")));
                        return;
                    }
                }
            }
        });
    }
    // Signals to the proxy itself (srun cancelling the step, a user killing it).
    if let Ok(mut signals) = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ]) {
        let ev_tx = ev_tx.clone();
        thread::spawn(move || {
            for s in signals.forever() {
                if ev_tx.send(Ev::Signal(s)).is_err() {
                    return;
                }
            }
        });
    }

    let cwd = PathBuf::from(&spec.cwd);
    if !cwd.is_dir() {
        return fatal(
            up_tx,
            writer,
            format!("working directory {} does not exist here", spec.cwd),
        );
    }
    let listener = match TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => {
            return fatal(
                up_tx,
                writer,
                format!(
                    "cannot listen on 127.0.0.1 for the key-value service: {e} (is the loopback interface up?)"
                ),
            );
        }
    };
    let kvs_addr = match listener.local_addr() {
        Ok(a) => a.to_string(),
        Err(e) => return fatal(up_tx, writer, format!("listener address: {e}")),
    };
    let allowed = bind::allowed_cpus().unwrap_or_default();
    let local_size = spec.ranks.len();
    let (binding, shared) = match spec.bind {
        BindTo::Core => bind::assign(&bind::cores(&allowed), local_size),
        BindTo::None => (vec![Vec::new(); local_size], false),
    };
    let _ = up_tx.send(Up::Ready {
        version: PROXY_PROTOCOL_VERSION,
        hostname: nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default(),
        pid: std::process::id(),
        kvs_addr: kvs_addr.clone(),
        cpus: allowed.len(),
    });
    if shared {
        let _ = up_tx.send(Up::Warning {
            message: format!(
                "--bind-to core: {local_size} ranks but only {} cores here; cores are shared",
                bind::cores(&allowed).len()
            ),
        });
    }

    let conns: Arc<Mutex<HashMap<u64, TcpStream>>> = Arc::new(Mutex::new(HashMap::new()));
    spawn_acceptor(listener, conns.clone(), up_tx.clone());

    // Start the ranks.
    let slots: Arc<Mutex<Vec<Slot>>> = Arc::new(Mutex::new(Vec::new()));
    let path_var = spec
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var("PATH").ok());
    let program = resolve_program(&spec.program, path_var.as_deref(), &cwd);
    let mut running = 0usize;
    for (local_rank, &rank) in spec.ranks.iter().enumerate() {
        let resolved = match &program {
            Ok(p) => p,
            Err((code, message)) => {
                let _ = up_tx.send(Up::Exited {
                    rank,
                    exit: Exit::NotStarted {
                        code: *code,
                        message: message.clone(),
                    },
                });
                continue;
            }
        };
        let mut cmd = Command::new(resolved);
        cmd.arg0(&spec.program)
            .args(&spec.args)
            .current_dir(&cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        cmd.env(ENV_RANK, rank.to_string())
            .env(ENV_SIZE, spec.size.to_string())
            .env(ENV_LOCAL_RANK, local_rank.to_string())
            .env(ENV_LOCAL_SIZE, local_size.to_string())
            .env(ENV_NODE_ID, spec.node_id.to_string())
            .env(ENV_NODE_COUNT, spec.node_count.to_string())
            .env(ENV_KVS_ADDR, &kvs_addr)
            .env(ENV_JOB_SECRET, &spec.secret)
            .env(ENV_JOB_ID, &spec.job_id)
            .env(ENV_HOSTNAME, &spec.host);
        let cpus = &binding[local_rank];
        let spawned = spawn_bound(&mut cmd, cpus, &allowed);
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                let code = match e.kind() {
                    io::ErrorKind::NotFound => 127,
                    _ => 126,
                };
                let _ = up_tx.send(Up::Exited {
                    rank,
                    exit: Exit::NotStarted {
                        code,
                        message: format!("{}: {e}", spec.program),
                    },
                });
                continue;
            }
        };
        let pid = Pid::from_raw(child.id() as i32);
        lock(&slots).push(Slot { pid, reaped: false });
        let slot_index = lock(&slots).len() - 1;
        running += 1;
        if spec.verbose {
            log(&format!(
                "started rank {rank} (pid {pid}){}",
                if cpus.is_empty() {
                    String::new()
                } else {
                    format!(" on cpus {}", bind::format_cpus(cpus))
                }
            ));
        }
        let _ = up_tx.send(Up::Started {
            rank,
            pid: pid.as_raw() as u32,
        });
        let readers = [
            child
                .stdout
                .take()
                .map(|s| spawn_reader(s, rank, Stream::Stdout, up_tx.clone())),
            child
                .stderr
                .take()
                .map(|s| spawn_reader(s, rank, Stream::Stderr, up_tx.clone())),
        ];
        spawn_waiter(
            child,
            rank,
            slot_index,
            slots.clone(),
            readers,
            up_tx.clone(),
            ev_tx.clone(),
        );
    }
    drop(ev_tx);

    // Main loop.
    loop {
        let Ok(ev) = ev_rx.recv() else {
            // Every sender is gone: cannot happen while the stdin thread lives.
            return finish(&slots, &ev_rx, &mut running, up_tx, writer, 1, &log);
        };
        match ev {
            Ev::Down(Down::KvsReply { conn, response }) => {
                let line = wire::encode_line(&response);
                let stream = lock(&conns).get(&conn).and_then(|s| s.try_clone().ok());
                if let Some(mut s) = stream
                    && s.write_all(line.as_bytes()).is_err()
                {
                    let _ = s.shutdown(Shutdown::Both);
                }
            }
            Ev::Down(Down::KvsClose { conn }) => {
                if let Some(s) = lock(&conns).remove(&conn) {
                    let _ = s.shutdown(Shutdown::Both);
                }
            }
            Ev::Down(Down::Signal { signal }) => match Signal::try_from(signal) {
                Ok(sig) => signal_all(&slots, sig),
                Err(_) => log(&format!("ignoring unknown signal {signal}")),
            },
            Ev::Down(Down::Kill) => signal_all(&slots, Signal::SIGKILL),
            Ev::Down(Down::Shutdown) => {
                if running > 0 {
                    signal_all(&slots, Signal::SIGKILL);
                    wait_ranks(&ev_rx, &mut running, KILL_WAIT);
                }
                let (swept, error) = match cleanup::sweep_shm() {
                    Ok(n) => (n, None),
                    Err(e) => (0, Some(e.to_string())),
                };
                let _ = up_tx.send(Up::Done { swept, error });
                join_writer(writer);
                return 0;
            }
            Ev::Down(Down::Launch(_)) => {
                let _ = up_tx.send(Up::Warning {
                    message: "ignoring a second launch frame".to_string(),
                });
            }
            Ev::RankDone => running = running.saturating_sub(1),
            Ev::Upstream(why) => {
                if running > 0 {
                    log(&format!("lost rsmrun ({why}); stopping {running} rank(s)"));
                }
                return finish(&slots, &ev_rx, &mut running, up_tx, writer, 1, &log);
            }
            Ev::Signal(sig) => {
                log(&format!(
                    "received {}; stopping {running} rank(s)",
                    crate::proto::signal_name(sig)
                ));
                return finish(&slots, &ev_rx, &mut running, up_tx, writer, 128 + sig, &log);
            }
        }
    }
}

/// Stops every rank (SIGTERM, SIGKILL after a grace period), sweeps, exits with `code`.
#[allow(clippy::too_many_arguments)]
fn finish(
    slots: &Mutex<Vec<Slot>>,
    ev_rx: &Receiver<Ev>,
    running: &mut usize,
    up_tx: SyncSender<Up>,
    writer: JoinHandle<()>,
    code: i32,
    log: &dyn Fn(&str),
) -> i32 {
    if *running > 0 {
        signal_all(slots, Signal::SIGTERM);
        wait_ranks(ev_rx, running, ORPHAN_GRACE);
    }
    if *running > 0 {
        signal_all(slots, Signal::SIGKILL);
        wait_ranks(ev_rx, running, KILL_WAIT);
    }
    if *running > 0 {
        log(&format!("{running} rank(s) did not die after SIGKILL"));
    }
    let (swept, error) = match cleanup::sweep_shm() {
        Ok(n) => (n, None),
        Err(e) => {
            log(&format!("shared-memory cleanup failed: {e}"));
            (0, Some(e.to_string()))
        }
    };
    // If rsmrun is still listening (we were signalled), it learns what happened.
    let _ = up_tx.try_send(Up::Done { swept, error });
    join_writer(writer);
    code
}

/// Waits for the writer to write its last frame, but not for long: its pipe may be dead
/// or full.
fn join_writer(writer: JoinHandle<()>) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !writer.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    if writer.is_finished() {
        let _ = writer.join();
    }
}

/// Waits up to `limit` for `running` to reach zero, counting rank exits.
fn wait_ranks(ev_rx: &Receiver<Ev>, running: &mut usize, limit: Duration) {
    let deadline = Instant::now() + limit;
    while *running > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        match ev_rx.recv_timeout(left) {
            Ok(Ev::RankDone) => *running -= 1,
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

fn fatal(up_tx: SyncSender<Up>, writer: JoinHandle<()>, message: String) -> i32 {
    crate::say!("rsmrun proxy: {message}");
    let _ = up_tx.send(Up::Fatal { message });
    join_writer(writer);
    1
}

/// Writes frames to stdout. If rsmrun's end breaks, it reports that and keeps draining the
/// channel so that no sender ever blocks on a dead connection.
fn spawn_writer(rx: Receiver<Up>, ev_tx: Sender<Ev>) -> JoinHandle<()> {
    thread::spawn(move || {
        let stdout = io::stdout();
        let mut broken = false;
        for frame in rx.iter() {
            if broken {
                continue;
            }
            let line = wire::encode_line(&frame);
            let mut out = stdout.lock();
            if let Err(e) = out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
                broken = true;
                let _ = ev_tx.send(Ev::Upstream(format!("writing to rsmrun failed: {e}")));
            }
            // Done and Fatal are the last frames: stop here so the caller can join us.
            if matches!(frame, Up::Done { .. } | Up::Fatal { .. }) {
                return;
            }
        }
    })
}

fn spawn_reader<R: Read + Send + 'static>(
    mut src: R,
    rank: u32,
    stream: Stream,
    up_tx: SyncSender<Up>,
) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = vec![0u8; OUTPUT_CHUNK];
        loop {
            match src.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    let frame = Up::Output {
                        rank,
                        stream,
                        data: Bytes(buf[..n].to_vec()),
                    };
                    if up_tx.send(frame).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    })
}

fn spawn_waiter(
    mut child: Child,
    rank: u32,
    slot_index: usize,
    slots: Arc<Mutex<Vec<Slot>>>,
    readers: [Option<JoinHandle<()>>; 2],
    up_tx: SyncSender<Up>,
    ev_tx: Sender<Ev>,
) {
    thread::spawn(move || {
        let pid = Pid::from_raw(child.id() as i32);
        // Wait without reaping: until we reap it, the pid (and process group id) stays ours,
        // so signal_all can never hit a recycled pid.
        while let Err(nix::errno::Errno::EINTR) =
            waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT)
        {}
        // The rank is gone; whatever it left running in its process group goes too (the
        // zombie still holds the group id, so this cannot reach anybody else).
        let _ = killpg(pid, Signal::SIGKILL);
        let status = {
            let mut s = lock(&slots);
            let st = child.wait();
            if let Some(slot) = s.get_mut(slot_index) {
                slot.reaped = true;
            }
            st
        };
        let deadline = Instant::now() + OUTPUT_DRAIN;
        for r in readers.iter().flatten() {
            while !r.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(5));
            }
        }
        let exit = match status {
            Ok(st) => match (st.code(), st.signal()) {
                (Some(code), _) => Exit::Code { code },
                (None, Some(signal)) => Exit::Signal {
                    signal,
                    core_dumped: st.core_dumped(),
                },
                (None, None) => Exit::Code { code: 255 },
            },
            Err(e) => Exit::NotStarted {
                code: 255,
                message: format!("lost track of the process: {e}"),
            },
        };
        let _ = up_tx.send(Up::Exited { rank, exit });
        let _ = ev_tx.send(Ev::RankDone);
    });
}

/// Spawns `cmd` pinned to `cpus` (when not empty): the spawning thread takes that affinity for
/// the moment of the fork, so the child has it from its first instruction, then goes back.
fn spawn_bound(cmd: &mut Command, cpus: &[usize], allowed: &[usize]) -> io::Result<Child> {
    if cpus.is_empty() {
        return cmd.spawn();
    }
    if let Err(e) = bind::set_thread_affinity(cpus) {
        crate::say!("rsmrun proxy: cannot bind to cpus {cpus:?}: {e}; starting unbound");
        return cmd.spawn();
    }
    let result = cmd.spawn();
    if let Err(e) = bind::set_thread_affinity(allowed) {
        crate::say!("rsmrun proxy: cannot restore the cpu affinity: {e}");
    }
    result
}

fn spawn_acceptor(
    listener: TcpListener,
    conns: Arc<Mutex<HashMap<u64, TcpStream>>>,
    up_tx: SyncSender<Up>,
) {
    let next = Arc::new(AtomicU64::new(0));
    let active = Arc::new(AtomicUsize::new(0));
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let conn = next.fetch_add(1, Ordering::Relaxed);
            if active.load(Ordering::Relaxed) >= MAX_CONNS {
                let mut s = stream;
                let busy = Response::Error {
                    kind: ErrorKind::TooLarge,
                    message: format!("more than {MAX_CONNS} connections on this host"),
                };
                let _ = s.write_all(wire::encode_line(&busy).as_bytes());
                continue;
            }
            let _ = stream.set_nodelay(true);
            let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
            let Ok(writer) = stream.try_clone() else {
                continue;
            };
            lock(&conns).insert(conn, writer);
            active.fetch_add(1, Ordering::Relaxed);
            let conns = conns.clone();
            let up_tx = up_tx.clone();
            let active = active.clone();
            thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let reason = loop {
                    match wire::read_line_bounded(&mut reader, wire::MAX_REQUEST_LINE) {
                        Ok(Some(line)) => {
                            if up_tx.send(Up::Kvs { conn, line }).is_err() {
                                break None;
                            }
                        }
                        Ok(None) => break None,
                        Err(e @ (LineError::TooLong { .. } | LineError::NotUtf8)) => {
                            let resp = Response::Error {
                                kind: if matches!(e, LineError::TooLong { .. }) {
                                    ErrorKind::TooLarge
                                } else {
                                    ErrorKind::BadRequest
                                },
                                message: format!("request {e}"),
                            };
                            let mut w = reader.get_ref();
                            let _ = w.write_all(wire::encode_line(&resp).as_bytes());
                            break Some(format!("request {e}"));
                        }
                        Err(LineError::Truncated) | Err(LineError::Io(_)) => break None,
                    }
                };
                if let Some(s) = lock(&conns).remove(&conn) {
                    let _ = s.shutdown(Shutdown::Both);
                }
                active.fetch_sub(1, Ordering::Relaxed);
                let _ = up_tx.send(Up::KvsClosed { conn, reason });
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn program_resolution() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let exe = d.join("prog");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let noexec = d.join("data");
        std::fs::write(&noexec, "x").unwrap();
        std::fs::set_permissions(&noexec, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        let path = format!("/nonexistent:{}", d.display());

        assert_eq!(resolve_program("prog", Some(&path), d).unwrap(), exe);
        assert_eq!(
            resolve_program("./prog", None, d).unwrap(),
            d.join("./prog")
        );
        assert_eq!(
            resolve_program(exe.to_str().unwrap(), None, Path::new("/")).unwrap(),
            exe
        );
        // Empty PATH element = current directory.
        assert_eq!(
            resolve_program("prog", Some("/nonexistent:"), d).unwrap(),
            d.join(".").join("prog")
        );
        let (code, msg) = resolve_program("prog", Some("/nonexistent"), d).unwrap_err();
        assert_eq!(code, 127);
        assert!(msg.contains("command not found"), "{msg}");
        assert_eq!(resolve_program("./missing", None, d).unwrap_err().0, 127);
        assert_eq!(resolve_program("./sub", None, d).unwrap_err().0, 126);
        // Root may execute anything with an x bit; a file without any x bit is refused for
        // everybody.
        assert_eq!(resolve_program("./data", None, d).unwrap_err().0, 126);
        // A non-executable file in PATH is skipped.
        assert_eq!(resolve_program("data", Some(&path), d).unwrap_err().0, 127);
        assert_eq!(resolve_program("", None, d).unwrap_err().0, 127);
    }
}
