//! rsmrun's side of a job: start one proxy per host, run the key-value service, route
//! output, watch the ranks, and tear everything down on failure, timeout or signal.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::{Duration, Instant};

use std::os::unix::process::CommandExt;

use nix::sys::signal::Signal;
use rsm_core::bootstrap::wire;

use crate::kvs::{ClientId, Kvs, Out};
use crate::output::{Mode, Sink};
use crate::proto::{
    self, BindTo, Down, Exit, LaunchSpec, MAX_FRAME_LINE, PROXY_PROTOCOL_VERSION, Up,
};

/// Exit status when rsmrun itself fails (a host could not be started or was lost).
pub const EXIT_LAUNCH_FAILED: i32 = 1;
/// Exit status after `--timeout`.
pub const EXIT_TIMEOUT: i32 = 124;
/// How long proxies get to clean up and say goodbye after the last rank ended.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);
/// After SIGKILL, how long rsmrun waits for exit reports before giving up on a host.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// How a host's proxy is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Spawned directly on this machine.
    Local,
    /// Through a remote shell: the agent's words, then the host, then the command string.
    Ssh(Vec<String>),
    /// Through srun: the agent's words, then node options, then the command.
    Slurm(Vec<String>),
}

/// One host of the job.
#[derive(Debug, Clone)]
pub struct HostPlan {
    /// Name as given (passed to ssh/srun).
    pub name: String,
    /// How its proxy is started.
    pub via: Via,
    /// Global ranks on it, in local-rank order.
    pub ranks: Vec<u32>,
}

/// Everything needed to run a job.
#[derive(Debug)]
pub struct JobPlan {
    /// Hosts with at least one rank, in node-id order.
    pub hosts: Vec<HostPlan>,
    /// Number of ranks.
    pub size: u32,
    /// Program and arguments.
    pub program: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Variables for every rank (forwarded `RSM_*` and `-x`).
    pub env: Vec<(String, String)>,
    /// The `RSM_*` subset, given to the proxies' own environment too.
    pub proxy_env: Vec<(String, String)>,
    /// Working directory of the ranks.
    pub cwd: String,
    /// CPU binding.
    pub bind: BindTo,
    /// Output handling.
    pub output: Mode,
    /// `--timeout`.
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// How long a proxy may take to report ready.
    pub launch_timeout: Duration,
    /// Kill the job when a rank fails.
    pub auto_cleanup: bool,
    /// Verbosity.
    pub verbose: u8,
    /// Path of rsmrun on the hosts (the proxy program).
    pub proxy_exe: String,
    /// Job id.
    pub job_id: String,
    /// Job secret.
    pub secret: String,
}

enum Ev {
    Up(usize, Up),
    Stray(usize, String),
    Stderr(usize, String),
    End(usize, Option<String>),
    Signal(i32),
}

#[derive(Debug, Clone)]
enum Cause {
    Rank(Exit),
    Timeout,
    Abort(i32),
    Signal(i32),
    Launch,
}

impl Cause {
    fn code(&self) -> i32 {
        match self {
            Cause::Rank(e) => e.status(),
            Cause::Timeout => EXIT_TIMEOUT,
            Cause::Abort(c) => *c,
            Cause::Signal(s) => 128 + s,
            Cause::Launch => EXIT_LAUNCH_FAILED,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Running,
    /// SIGTERM (or a forwarded signal) sent; SIGKILL at `kill_at`, give up at `hard_at`.
    Terminating {
        kill_at: Instant,
        hard_at: Option<Instant>,
    },
    /// Shutdown sent to the proxies; stop waiting at `deadline`.
    ShuttingDown {
        deadline: Instant,
    },
}

struct HostRun {
    plan: HostPlan,
    child: Option<Child>,
    down: Option<Sender<Down>>,
    ready: bool,
    ended: bool,
    done: bool,
    hostname: String,
    stderr_tail: VecDeque<String>,
}

struct RankRun {
    host: usize,
    pid: Option<u32>,
    exit: Option<Exit>,
    lost: bool,
}

impl RankRun {
    fn finished(&self) -> bool {
        self.exit.is_some() || self.lost
    }
}

struct Job<O: Write, E: Write> {
    plan: JobPlan,
    hosts: Vec<HostRun>,
    ranks: Vec<RankRun>,
    kvs: Kvs,
    sink: Sink<O, E>,
    cause: Option<Cause>,
    phase: Phase,
    start: Instant,
    signals_seen: u32,
    ev_tx: Sender<Ev>,
}

/// Runs the job and returns rsmrun's exit status.
pub fn run(mut plan: JobPlan) -> i32 {
    let output = std::mem::replace(&mut plan.output, Mode::Plain);
    let sink = match Sink::new(output, plan.size, io::stdout(), io::stderr()) {
        Ok(s) => s,
        Err(e) => {
            crate::say!("rsmrun: cannot create the output files: {e}");
            return 2;
        }
    };
    let (ev_tx, ev_rx) = mpsc::channel();
    // Signals: registering them here also stops SIGINT/SIGTERM from killing rsmrun outright.
    match signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGUSR1,
        signal_hook::consts::SIGUSR2,
    ]) {
        Ok(mut signals) => {
            let tx = ev_tx.clone();
            thread::spawn(move || {
                for s in signals.forever() {
                    if tx.send(Ev::Signal(s)).is_err() {
                        return;
                    }
                }
            });
        }
        Err(e) => crate::say!("rsmrun: cannot handle signals ({e}); Ctrl-C will not be forwarded"),
    }
    let mut rank_host = vec![0usize; plan.size as usize];
    for (h, host) in plan.hosts.iter().enumerate() {
        for &r in &host.ranks {
            rank_host[r as usize] = h;
        }
    }
    let kvs = Kvs::new(&plan.secret, &plan.job_id, rank_host.clone());
    let hosts = plan
        .hosts
        .iter()
        .map(|p| HostRun {
            plan: p.clone(),
            child: None,
            down: None,
            ready: false,
            ended: false,
            done: false,
            hostname: String::new(),
            stderr_tail: VecDeque::new(),
        })
        .collect();
    let ranks = rank_host
        .iter()
        .map(|&host| RankRun {
            host,
            pid: None,
            exit: None,
            lost: false,
        })
        .collect();
    let mut job = Job {
        plan,
        hosts,
        ranks,
        kvs,
        sink,
        cause: None,
        phase: Phase::Running,
        start: Instant::now(),
        signals_seen: 0,
        ev_tx,
    };
    job.start_all();
    job.event_loop(&ev_rx);
    job.sink.finish();
    job.reap();
    job.cause.map(|c| c.code()).unwrap_or(0)
}

impl<O: Write, E: Write> Job<O, E> {
    fn verbose(&self, msg: &str) {
        if self.plan.verbose > 0 {
            crate::say!(
                "rsmrun [{:8.3}s]: {msg}",
                self.start.elapsed().as_secs_f64()
            );
        }
    }

    fn set_cause(&mut self, c: Cause) {
        if self.cause.is_none() {
            self.cause = Some(c);
        }
    }

    fn send(&self, host: usize, d: Down) {
        if let Some(tx) = &self.hosts[host].down {
            let _ = tx.send(d);
        }
    }

    fn send_all(&self, d: &Down) {
        for h in 0..self.hosts.len() {
            if !self.hosts[h].ended {
                self.send(h, d.clone());
            }
        }
    }

    fn host_command(&self, h: usize) -> Command {
        let plan = &self.hosts[h].plan;
        match &plan.via {
            Via::Local => {
                let mut c = Command::new(&self.plan.proxy_exe);
                c.arg("--proxy");
                c.envs(self.plan.proxy_env.iter().map(|(k, v)| (k, v)));
                c
            }
            Via::Ssh(agent) => {
                let mut remote: Vec<String> = Vec::new();
                if !self.plan.proxy_env.is_empty() {
                    remote.push("env".to_string());
                    remote.extend(
                        self.plan
                            .proxy_env
                            .iter()
                            .map(|(k, v)| proto::shell_quote(&format!("{k}={v}"))),
                    );
                }
                remote.push(proto::shell_quote(&self.plan.proxy_exe));
                remote.push("--proxy".to_string());
                let mut c = Command::new(&agent[0]);
                c.args(&agent[1..]).arg(&plan.name).arg(remote.join(" "));
                c
            }
            Via::Slurm(agent) => {
                let mut c = Command::new(&agent[0]);
                c.args(&agent[1..]).args([
                    "--nodes=1".to_string(),
                    "--ntasks=1".to_string(),
                    format!("--nodelist={}", plan.name),
                    format!("--cpus-per-task={}", plan.ranks.len().max(1)),
                    "--cpu-bind=none".to_string(),
                    "--kill-on-bad-exit=1".to_string(),
                    "--overlap".to_string(),
                ]);
                c.arg("env");
                c.args(self.plan.proxy_env.iter().map(|(k, v)| format!("{k}={v}")));
                c.arg(&self.plan.proxy_exe).arg("--proxy");
                c
            }
        }
    }

    fn start_all(&mut self) {
        for h in 0..self.hosts.len() {
            if self.phase != Phase::Running {
                // An earlier host failed to start: do not start more.
                self.host_lost(h);
                continue;
            }
            let mut cmd = self.host_command(h);
            cmd.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                // Its own process group: a Ctrl-C on the terminal reaches rsmrun only, and
                // rsmrun decides what the ranks get.
                .process_group(0);
            self.verbose(&format!(
                "host {} (node {h}): starting proxy: {:?}",
                self.hosts[h].plan.name, cmd
            ));
            let mut child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) => {
                    crate::say!(
                        "rsmrun: cannot start the proxy for host {}: {}: {e}",
                        self.hosts[h].plan.name,
                        cmd.get_program().to_string_lossy()
                    );
                    self.set_cause(Cause::Launch);
                    self.hosts[h].ended = true;
                    for r in self.hosts[h].plan.ranks.clone() {
                        self.ranks[r as usize].lost = true;
                    }
                    self.terminate("the job could not be started");
                    continue;
                }
            };
            let (down_tx, down_rx) = mpsc::channel::<Down>();
            if let Some(stdin) = child.stdin.take() {
                thread::spawn(move || {
                    let mut stdin = stdin;
                    for d in down_rx.iter() {
                        let line = wire::encode_line(&d);
                        if stdin
                            .write_all(line.as_bytes())
                            .and_then(|()| stdin.flush())
                            .is_err()
                        {
                            return;
                        }
                    }
                    // Channel closed: dropping stdin tells the proxy rsmrun is done with it.
                });
            }
            // stderr first: the end of stdout is reported only after stderr has been read to
            // its end too (bounded), so an agent's last words come before "host ended".
            let stderr_reader = child.stderr.take().map(|stderr| {
                let tx = self.ev_tx.clone();
                thread::spawn(move || {
                    let r = BufReader::new(stderr);
                    for line in r.split(b'\n') {
                        let Ok(line) = line else { return };
                        let text = String::from_utf8_lossy(&line).into_owned();
                        if tx.send(Ev::Stderr(h, text)).is_err() {
                            return;
                        }
                    }
                })
            });
            if let Some(stdout) = child.stdout.take() {
                let tx = self.ev_tx.clone();
                thread::spawn(move || {
                    let mut r = BufReader::new(stdout);
                    let end = loop {
                        match wire::read_line_bounded(&mut r, MAX_FRAME_LINE) {
                            Ok(Some(line)) => {
                                let ev = match serde_json::from_str::<Up>(&line) {
                                    Ok(up) => Ev::Up(h, up),
                                    Err(_) => Ev::Stray(h, line),
                                };
                                if tx.send(ev).is_err() {
                                    return;
                                }
                            }
                            Ok(None) => break None,
                            Err(e) => break Some(e.to_string()),
                        }
                    };
                    if let Some(t) = stderr_reader {
                        let deadline = Instant::now() + Duration::from_secs(1);
                        while !t.is_finished() && Instant::now() < deadline {
                            thread::sleep(Duration::from_millis(5));
                        }
                    }
                    let _ = tx.send(Ev::End(h, end));
                });
            }
            let host = &self.hosts[h];
            let spec = LaunchSpec {
                version: PROXY_PROTOCOL_VERSION,
                host: host.plan.name.clone(),
                node_id: h as u32,
                node_count: self.hosts.len() as u32,
                size: self.plan.size,
                job_id: self.plan.job_id.clone(),
                secret: self.plan.secret.clone(),
                ranks: host.plan.ranks.clone(),
                program: self.plan.program.clone(),
                args: self.plan.args.clone(),
                env: self.plan.env.clone(),
                cwd: self.plan.cwd.clone(),
                bind: self.plan.bind,
                verbose: self.plan.verbose > 1,
            };
            let _ = down_tx.send(Down::Launch(Box::new(spec)));
            self.hosts[h].child = Some(child);
            self.hosts[h].down = Some(down_tx);
        }
    }

    fn all_finished(&self) -> bool {
        self.ranks.iter().all(RankRun::finished)
    }

    fn next_deadline(&self) -> Option<Instant> {
        let mut d: Vec<Instant> = Vec::new();
        if let Some(t) = self.plan.timeout
            && !matches!(self.phase, Phase::ShuttingDown { .. })
        {
            d.push(self.start + t);
        }
        if self.hosts.iter().any(|h| !h.ready && !h.ended) {
            d.push(self.start + self.plan.launch_timeout);
        }
        match self.phase {
            Phase::Running => {}
            Phase::Terminating { kill_at, hard_at } => d.push(hard_at.unwrap_or(kill_at)),
            Phase::ShuttingDown { deadline } => d.push(deadline),
        }
        d.into_iter().min()
    }

    fn event_loop(&mut self, ev_rx: &Receiver<Ev>) {
        loop {
            if self.all_finished() && !matches!(self.phase, Phase::ShuttingDown { .. }) {
                self.verbose("all ranks ended; shutting the proxies down");
                self.send_all(&Down::Shutdown);
                self.phase = Phase::ShuttingDown {
                    deadline: Instant::now() + SHUTDOWN_WAIT,
                };
            }
            if matches!(self.phase, Phase::ShuttingDown { .. })
                && self.hosts.iter().all(|h| h.ended)
            {
                return;
            }
            let ev = match self.next_deadline() {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    match ev_rx.recv_timeout(left) {
                        Ok(ev) => Some(ev),
                        Err(mpsc::RecvTimeoutError::Timeout) => None,
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
                None => match ev_rx.recv() {
                    Ok(ev) => Some(ev),
                    Err(_) => return,
                },
            };
            match ev {
                Some(ev) => self.handle(ev),
                None => self.timers(),
            }
        }
    }

    fn timers(&mut self) {
        let now = Instant::now();
        if let Phase::ShuttingDown { deadline } = self.phase {
            if now >= deadline {
                for h in 0..self.hosts.len() {
                    if !self.hosts[h].ended {
                        crate::say!(
                            "rsmrun: host {}: the proxy did not finish its cleanup; killing it",
                            self.hosts[h].plan.name
                        );
                        self.kill_proxy(h);
                        self.hosts[h].ended = true;
                    }
                }
            }
            return;
        }
        if let Some(t) = self.plan.timeout
            && now >= self.start + t
        {
            // Acted on once.
            self.plan.timeout = None;
            let running = self.ranks.iter().filter(|r| !r.finished()).count();
            crate::say!(
                "rsmrun: the job timed out after {} s (--timeout); killing its {running} running rank(s)",
                fmt_secs(t)
            );
            self.set_cause(Cause::Timeout);
            self.terminate("the job timed out");
        }
        if now >= self.start + self.plan.launch_timeout {
            for h in 0..self.hosts.len() {
                if !self.hosts[h].ready && !self.hosts[h].ended {
                    crate::say!(
                        "rsmrun: host {}: the proxy did not start within {} s; giving up on it",
                        self.hosts[h].plan.name,
                        fmt_secs(self.plan.launch_timeout)
                    );
                    self.set_cause(Cause::Launch);
                    self.kill_proxy(h);
                    self.host_lost(h);
                    self.terminate("a host could not be started");
                }
            }
        }
        if let Phase::Terminating { kill_at, hard_at } = self.phase {
            match hard_at {
                None if now >= kill_at => {
                    self.verbose("grace period over: sending SIGKILL to the remaining ranks");
                    self.send_all(&Down::Kill);
                    self.phase = Phase::Terminating {
                        kill_at,
                        hard_at: Some(now + KILL_WAIT),
                    };
                }
                Some(hard) if now >= hard => {
                    for h in 0..self.hosts.len() {
                        let stuck = self.hosts[h]
                            .plan
                            .ranks
                            .iter()
                            .any(|&r| !self.ranks[r as usize].finished());
                        if stuck && !self.hosts[h].ended {
                            crate::say!(
                                "rsmrun: host {}: ranks did not report their end after SIGKILL; \
                                 dropping the host",
                                self.hosts[h].plan.name
                            );
                            self.kill_proxy(h);
                            self.host_lost(h);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Starts tearing the job down: SIGTERM to every rank, SIGKILL after the grace period.
    fn terminate(&mut self, why: &str) {
        if self.phase != Phase::Running {
            return;
        }
        let outs = self.kvs.abort_all(why);
        self.route(outs);
        self.send_all(&Down::Signal {
            signal: Signal::SIGTERM as i32,
        });
        self.phase = Phase::Terminating {
            kill_at: Instant::now() + self.plan.grace,
            hard_at: None,
        };
    }

    fn kill_proxy(&mut self, h: usize) {
        if let Some(c) = self.hosts[h].child.as_mut() {
            kill_group(c);
        }
        // Closing its stdin also tells a remote proxy to stop its ranks.
        self.hosts[h].down = None;
    }

    /// Host `h`'s proxy is gone: ranks there that have not reported an end are lost. On
    /// this machine rsmrun kills them itself (a proxy that died abruptly could not).
    fn host_lost(&mut self, h: usize) {
        self.hosts[h].ended = true;
        self.hosts[h].down = None;
        self.kvs.host_gone(h);
        let local = self.hosts[h].plan.via == Via::Local;
        for r in self.hosts[h].plan.ranks.clone() {
            let rank = &mut self.ranks[r as usize];
            if !rank.finished() {
                rank.lost = true;
                if local && let Some(pid) = rank.pid {
                    kill_orphan(pid, &self.plan.job_id, r);
                }
                let outs = self.kvs.rank_exited(r, "was lost with its host's proxy");
                self.route(outs);
            }
        }
    }

    fn route(&mut self, outs: Vec<Out>) {
        for o in outs {
            match o {
                Out::Reply(ClientId { host, conn }, response) => {
                    self.send(host, Down::KvsReply { conn, response })
                }
                Out::Close(ClientId { host, conn }) => self.send(host, Down::KvsClose { conn }),
                Out::Log(ClientId { host, .. }, msg) => crate::say!(
                    "rsmrun: key-value service: host {}: {msg}",
                    self.hosts[host].plan.name
                ),
                Out::Abort {
                    rank,
                    code,
                    message,
                } => {
                    let host = &self.hosts[self.ranks[rank as usize].host].plan.name;
                    crate::say!(
                        "rsmrun: rank {rank} on host {host} called abort with code {code}: {message}"
                    );
                    self.set_cause(Cause::Abort(code));
                    self.terminate(&format!("rank {rank} aborted the job"));
                }
            }
        }
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Up(h, up) => self.handle_up(h, up),
            Ev::Stray(h, line) => crate::say!(
                "rsmrun: host {}: unexpected output from the remote shell: {line}",
                self.hosts[h].plan.name
            ),
            Ev::Stderr(h, line) => {
                crate::say!("rsmrun: host {}: {line}", self.hosts[h].plan.name);
                let tail = &mut self.hosts[h].stderr_tail;
                tail.push_back(line);
                if tail.len() > 5 {
                    tail.pop_front();
                }
            }
            Ev::End(h, err) => self.proxy_ended(h, err),
            Ev::Signal(sig) => self.signal(sig),
        }
    }

    fn signal(&mut self, sig: i32) {
        let name = proto::signal_name(sig);
        if sig == signal_hook::consts::SIGUSR1 || sig == signal_hook::consts::SIGUSR2 {
            self.verbose(&format!("forwarding {name} to all ranks"));
            self.send_all(&Down::Signal { signal: sig });
            return;
        }
        self.signals_seen += 1;
        if matches!(self.phase, Phase::ShuttingDown { .. }) {
            return;
        }
        if self.signals_seen == 1 && self.phase == Phase::Running {
            crate::say!(
                "rsmrun: received {name}; forwarding it to all ranks \
                 (SIGKILL follows after {} s; press Ctrl-C again to kill at once)",
                fmt_secs(self.plan.grace)
            );
            self.set_cause(Cause::Signal(sig));
            let outs = self.kvs.abort_all(&format!("rsmrun received {name}"));
            self.route(outs);
            self.send_all(&Down::Signal { signal: sig });
            self.phase = Phase::Terminating {
                kill_at: Instant::now() + self.plan.grace,
                hard_at: None,
            };
        } else {
            crate::say!("rsmrun: received {name}; killing all ranks now");
            self.set_cause(Cause::Signal(sig));
            self.send_all(&Down::Kill);
            let kill_at = Instant::now();
            self.phase = Phase::Terminating {
                kill_at,
                hard_at: Some(kill_at + KILL_WAIT),
            };
        }
    }

    fn proxy_ended(&mut self, h: usize, err: Option<String>) {
        if self.hosts[h].ended {
            return;
        }
        let unfinished: Vec<u32> = self.hosts[h]
            .plan
            .ranks
            .iter()
            .copied()
            .filter(|&r| !self.ranks[r as usize].finished())
            .collect();
        if unfinished.is_empty() {
            self.hosts[h].ended = true;
            self.hosts[h].down = None;
            self.kvs.host_gone(h);
            if !self.hosts[h].done && matches!(self.phase, Phase::ShuttingDown { .. }) {
                self.verbose(&format!(
                    "host {}: proxy ended without reporting its cleanup",
                    self.hosts[h].plan.name
                ));
            }
            return;
        }
        let name = self.hosts[h].plan.name.clone();
        // Give the process a moment so its exit status can be shown.
        let status = self.hosts[h].child.as_mut().and_then(|c| {
            let deadline = Instant::now() + Duration::from_millis(500);
            loop {
                match c.try_wait() {
                    Ok(Some(st)) => return Some(st),
                    Ok(None) if Instant::now() < deadline => {
                        thread::sleep(Duration::from_millis(10))
                    }
                    _ => return None,
                }
            }
        });
        let how = match status {
            Some(st) => format!(" ({st})"),
            None => String::new(),
        };
        let detail = err.map(|e| format!(": {e}")).unwrap_or_default();
        let agent = match &self.hosts[h].plan.via {
            Via::Local => "proxy",
            Via::Ssh(a) | Via::Slurm(a) => a.first().map(String::as_str).unwrap_or("proxy"),
        };
        if !self.hosts[h].ready {
            crate::say!(
                "rsmrun: could not start rsmrun on host {name}: {agent} ended{how}{detail} \
                 before the proxy was ready; see the messages above"
            );
        } else if self.phase == Phase::Running {
            crate::say!(
                "rsmrun: lost the connection to host {name}{how}{detail}; \
                 its rank(s) {unfinished:?} are considered dead"
            );
        } else {
            self.verbose(&format!("host {name}: proxy ended{how}"));
        }
        if self.phase == Phase::Running {
            self.set_cause(Cause::Launch);
        }
        self.host_lost(h);
        self.terminate("a host was lost");
    }

    fn handle_up(&mut self, h: usize, up: Up) {
        let name = self.hosts[h].plan.name.clone();
        match up {
            Up::Ready {
                version,
                hostname,
                pid,
                kvs_addr,
                cpus,
            } => {
                if version != PROXY_PROTOCOL_VERSION {
                    crate::say!(
                        "rsmrun: host {name}: the proxy speaks protocol {version}, \
                         this rsmrun speaks {PROXY_PROTOCOL_VERSION} (different rsmrun versions?)"
                    );
                    self.set_cause(Cause::Launch);
                    self.kill_proxy(h);
                    return;
                }
                self.hosts[h].ready = true;
                self.verbose(&format!(
                    "host {name}: proxy ready on {hostname} (pid {pid}, {cpus} cpus), \
                     key-value service at {kvs_addr}"
                ));
                self.hosts[h].hostname = hostname;
            }
            Up::Started { rank, pid } => {
                if let Some(r) = self.own_rank(h, rank) {
                    self.ranks[r].pid = Some(pid);
                    self.verbose(&format!("rank {rank} started on host {name} (pid {pid})"));
                }
            }
            Up::Output { rank, stream, data } => {
                if self.own_rank(h, rank).is_some() {
                    self.sink.write(rank, stream, &data.0);
                }
            }
            Up::Exited { rank, exit } => {
                let Some(r) = self.own_rank(h, rank) else {
                    return;
                };
                if self.ranks[r].finished() {
                    return;
                }
                self.sink.finish_rank(rank);
                self.ranks[r].exit = Some(exit.clone());
                let outs = self.kvs.rank_exited(rank, &exit.describe());
                self.route(outs);
                let pid = self.ranks[r]
                    .pid
                    .map(|p| format!(" (pid {p})"))
                    .unwrap_or_default();
                if !exit.failed() {
                    self.verbose(&format!(
                        "rank {rank}{pid} on host {name} exited with code 0"
                    ));
                    return;
                }
                let msg = format!("rank {rank}{pid} on host {name} {}", exit.describe());
                if self.phase == Phase::Running {
                    self.set_cause(Cause::Rank(exit));
                    if self.plan.auto_cleanup {
                        crate::say!("rsmrun: {msg}; terminating the job");
                        self.terminate(&format!("rank {rank} failed"));
                    } else {
                        crate::say!("rsmrun: {msg}");
                    }
                } else {
                    // A consequence of the teardown; say so only when asked.
                    self.verbose(&msg);
                }
            }
            Up::Kvs { conn, line } => {
                let outs = self.kvs.line(ClientId { host: h, conn }, &line);
                self.route(outs);
            }
            Up::KvsClosed { conn, reason } => {
                self.kvs.closed(ClientId { host: h, conn });
                if let Some(reason) = reason {
                    crate::say!(
                        "rsmrun: key-value service: host {name}: closed a connection: {reason}"
                    );
                }
            }
            Up::Warning { message } => crate::say!("rsmrun: host {name}: {message}"),
            Up::Fatal { message } => {
                crate::say!("rsmrun: host {name}: {message}");
                self.set_cause(Cause::Launch);
                self.terminate("a host could not start its ranks");
            }
            Up::Done { swept, error } => {
                self.hosts[h].done = true;
                if swept > 0 {
                    self.verbose(&format!(
                        "host {name}: removed {swept} stale shared-memory name(s)"
                    ));
                }
                if let Some(e) = error {
                    crate::say!("rsmrun: host {name}: shared-memory cleanup failed: {e}");
                }
                // Closing stdin lets the proxy exit.
                self.hosts[h].down = None;
            }
        }
    }

    /// `rank` as an index if it belongs to host `h` (a proxy cannot speak for other hosts).
    fn own_rank(&self, h: usize, rank: u32) -> Option<usize> {
        let r = rank as usize;
        (r < self.ranks.len() && self.ranks[r].host == h).then_some(r)
    }

    /// Waits (bounded) for the proxy processes, killing the ones that linger.
    fn reap(&mut self) {
        for h in 0..self.hosts.len() {
            self.hosts[h].down = None;
            let Some(mut child) = self.hosts[h].child.take() else {
                continue;
            };
            let deadline = Instant::now() + Duration::from_secs(2);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() < deadline => {
                        thread::sleep(Duration::from_millis(10))
                    }
                    Ok(None) => {
                        kill_group(&mut child);
                        let _ = child.wait();
                        break;
                    }
                }
            }
        }
    }
}

/// SIGKILLs a proxy, ssh or srun process and everything in its process group (ssh helpers,
/// a remote shell's children). `child` is not reaped yet, so its pid is still its own.
fn kill_group(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    if let Ok(raw) = i32::try_from(child.id()) {
        let pid = nix::unistd::Pid::from_raw(raw);
        if nix::sys::signal::killpg(pid, Signal::SIGKILL).is_err() {
            let _ = child.kill();
        }
    }
}

/// SIGKILLs the process group of rank `rank` of job `job_id` if process `pid` still is that
/// rank (checked in its environment, so a recycled pid is never hit).
fn kill_orphan(pid: u32, job_id: &str, rank: u32) {
    let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return;
    };
    let want_job = format!("{}={job_id}", rsm_core::bootstrap::ENV_JOB_ID);
    let want_rank = format!("{}={rank}", rsm_core::bootstrap::ENV_RANK);
    let mut vars = env.split(|&b| b == 0);
    let is_it = {
        let (mut job, mut rk) = (false, false);
        for v in &mut vars {
            job |= v == want_job.as_bytes();
            rk |= v == want_rank.as_bytes();
        }
        job && rk
    };
    if is_it && let Ok(raw) = i32::try_from(pid) {
        let pid = nix::unistd::Pid::from_raw(raw);
        if nix::sys::signal::killpg(pid, Signal::SIGKILL).is_err() {
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
        }
    }
}

fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}", s as u64)
    } else {
        format!("{s:.1}")
    }
}

/// Reads `n` random bytes from the kernel and returns them as hex.
pub fn random_hex(n: usize) -> io::Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}
