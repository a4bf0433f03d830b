//! Bootstrap: who am I in the job, and a small key-value service to exchange values (segment
//! ids) with the other ranks.
//!
//! A process started by `rsmrun` finds its place in the job in `RSM_*` environment variables
//! (the contract is written down in `docs/bootstrap.md`) and talks to the job's key-value
//! service through [`Bootstrap`]. A process started any other way, with none of those
//! variables set, is a *singleton*: a job of size 1 whose key-value store lives in the process,
//! as in MPI.
//!
//! ```no_run
//! use rsm_core::bootstrap::Bootstrap;
//! let boot = Bootstrap::from_env()?;
//! boot.put(&format!("segid/{}", boot.rank()), &42u32.to_le_bytes())?;
//! boot.fence()?;
//! let all = boot.allgather(&(boot.rank() as u32).to_le_bytes())?;
//! assert_eq!(all.len(), boot.size());
//! # Ok::<(), rsm_core::bootstrap::BootstrapError>(())
//! ```
//!
//! Every wait is bounded: a request fails with [`BootstrapError::Timeout`] after
//! [`Bootstrap::timeout`] (`RSM_BOOTSTRAP_TIMEOUT` seconds, default 300), with
//! [`BootstrapError::Disconnected`] as soon as the service goes away (rsmrun exited), and a
//! fence or allgather fails with [`wire::ErrorKind::RankExited`] as soon as some rank exits
//! without joining it.

pub mod wire;

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use wire::{Bytes, ErrorKind, LineError, Request, Response};

/// `RSM_RANK`: this process's rank, `0..size`.
pub const ENV_RANK: &str = "RSM_RANK";
/// `RSM_SIZE`: number of ranks in the job.
pub const ENV_SIZE: &str = "RSM_SIZE";
/// `RSM_LOCAL_RANK`: rank among the job's ranks on this host, `0..local_size`.
pub const ENV_LOCAL_RANK: &str = "RSM_LOCAL_RANK";
/// `RSM_LOCAL_SIZE`: number of the job's ranks on this host.
pub const ENV_LOCAL_SIZE: &str = "RSM_LOCAL_SIZE";
/// `RSM_NODE_ID`: this host's node id, `0..node_count` (also read by rsm-core as the RSMAPI
/// node id).
pub const ENV_NODE_ID: &str = "RSM_NODE_ID";
/// `RSM_NODE_COUNT`: number of hosts in the job.
pub const ENV_NODE_COUNT: &str = "RSM_NODE_COUNT";
/// `RSM_KVS_ADDR`: `ip:port` of the key-value service for this host.
pub const ENV_KVS_ADDR: &str = "RSM_KVS_ADDR";
/// `RSM_JOB_SECRET`: the per-job secret every connection must present.
pub const ENV_JOB_SECRET: &str = "RSM_JOB_SECRET";
/// `RSM_JOB_ID`: an identifier of the job (for logs and names).
pub const ENV_JOB_ID: &str = "RSM_JOB_ID";
/// `RSM_HOSTNAME`: the host's name as the launcher knows it (`-H` entry).
pub const ENV_HOSTNAME: &str = "RSM_HOSTNAME";
/// `RSM_BOOTSTRAP_TIMEOUT`: seconds a request may wait (default 300; `0` = no limit).
pub const ENV_TIMEOUT: &str = "RSM_BOOTSTRAP_TIMEOUT";

/// The variables the launcher sets for every rank (and that it does not forward from its own
/// environment).
pub const LAUNCHER_VARS: [&str; 10] = [
    ENV_RANK,
    ENV_SIZE,
    ENV_LOCAL_RANK,
    ENV_LOCAL_SIZE,
    ENV_NODE_ID,
    ENV_NODE_COUNT,
    ENV_KVS_ADDR,
    ENV_JOB_SECRET,
    ENV_JOB_ID,
    ENV_HOSTNAME,
];

/// Default for [`Bootstrap::timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
const ABORT_ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a bootstrap call failed.
#[derive(Debug)]
pub enum BootstrapError {
    /// An `RSM_*` variable is missing, malformed or inconsistent.
    Env {
        /// The variable.
        var: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A key or value the caller passed is invalid (empty or too long key, value too large).
    InvalidArgument(String),
    /// Could not connect to the key-value service.
    Connect {
        /// The address from `RSM_KVS_ADDR`.
        addr: String,
        /// The connect error.
        source: io::Error,
    },
    /// The service refused the connection (wrong secret, wrong protocol version, ...).
    Refused(String),
    /// The service closed the connection or the connection broke: rsmrun (or its proxy on this
    /// host) has gone away.
    Disconnected(String),
    /// No answer within the timeout.
    Timeout {
        /// The request that timed out.
        op: String,
        /// How long it waited.
        after: Duration,
    },
    /// The service answered with an error.
    Server {
        /// Failure class.
        kind: ErrorKind,
        /// The service's explanation.
        message: String,
    },
    /// A singleton `get` of a key that was never put (no other rank can ever put it).
    NotFound(String),
    /// The service sent something this client does not understand.
    Protocol(String),
}

impl fmt::Display for BootstrapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootstrapError::Env { var, message } => write!(f, "bootstrap: {var}: {message}"),
            BootstrapError::InvalidArgument(m) => write!(f, "bootstrap: invalid argument: {m}"),
            BootstrapError::Connect { addr, source } => write!(
                f,
                "bootstrap: cannot connect to the key-value service at {addr}: {source}"
            ),
            BootstrapError::Refused(m) => {
                write!(f, "bootstrap: the key-value service refused us: {m}")
            }
            BootstrapError::Disconnected(m) => write!(
                f,
                "bootstrap: lost the key-value service ({m}); rsmrun has probably exited"
            ),
            BootstrapError::Timeout { op, after } => write!(
                f,
                "bootstrap: {op} got no answer within {:.1} s (set {ENV_TIMEOUT} to wait longer)",
                after.as_secs_f64()
            ),
            BootstrapError::Server { kind, message } => {
                write!(f, "bootstrap: {kind}: {message}")
            }
            BootstrapError::NotFound(k) => write!(
                f,
                "bootstrap: key {k:?} was never put (singleton job: no other rank can put it)"
            ),
            BootstrapError::Protocol(m) => write!(f, "bootstrap: protocol error: {m}"),
        }
    }
}

impl std::error::Error for BootstrapError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BootstrapError::Connect { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// One connection to the service, after a successful hello.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(service: &Service, rank: u32) -> Result<(Conn, u32, String), BootstrapError> {
        let stream = TcpStream::connect_timeout(&service.addr, CONNECT_TIMEOUT).map_err(|e| {
            BootstrapError::Connect {
                addr: service.addr.to_string(),
                source: e,
            }
        })?;
        let _ = stream.set_nodelay(true);
        stream
            .set_write_timeout(Some(WRITE_TIMEOUT))
            .map_err(|e| BootstrapError::Disconnected(e.to_string()))?;
        let writer = stream
            .try_clone()
            .map_err(|e| BootstrapError::Disconnected(e.to_string()))?;
        let mut conn = Conn {
            reader: BufReader::new(stream),
            writer,
        };
        let hello = Request::Hello {
            version: wire::PROTOCOL_VERSION,
            secret: service.secret.clone(),
            rank,
            pid: std::process::id(),
        };
        match conn.call(&hello, "hello", Some(CONNECT_TIMEOUT)) {
            Ok(Response::Welcome {
                version,
                size,
                job_id,
            }) => {
                if version != wire::PROTOCOL_VERSION {
                    return Err(BootstrapError::Protocol(format!(
                        "server speaks protocol version {version}, we speak {}",
                        wire::PROTOCOL_VERSION
                    )));
                }
                Ok((conn, size, job_id))
            }
            Ok(Response::Error { kind, message }) => {
                Err(BootstrapError::Refused(format!("{kind}: {message}")))
            }
            Ok(other) => Err(BootstrapError::Protocol(format!(
                "unexpected answer to hello: {other:?}"
            ))),
            // A server that closes the connection right after the hello refused it without
            // saying why.
            Err(BootstrapError::Disconnected(m)) => Err(BootstrapError::Refused(format!(
                "connection closed during the hello ({m})"
            ))),
            Err(e) => Err(e),
        }
    }

    /// Sends `req` and reads its answer, waiting at most `timeout` (`None` = no limit).
    fn call(
        &mut self,
        req: &Request,
        op: &str,
        timeout: Option<Duration>,
    ) -> Result<Response, BootstrapError> {
        let line = wire::encode_line(req);
        if let Err(e) = self.writer.write_all(line.as_bytes()) {
            return Err(match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => BootstrapError::Timeout {
                    op: op.to_string(),
                    after: WRITE_TIMEOUT,
                },
                _ => BootstrapError::Disconnected(format!("sending {op}: {e}")),
            });
        }
        self.reader
            .get_ref()
            .set_read_timeout(timeout)
            .map_err(|e| BootstrapError::Disconnected(e.to_string()))?;
        match wire::read_line_bounded(&mut self.reader, wire::MAX_RESPONSE_LINE) {
            Ok(Some(line)) => serde_json::from_str::<Response>(&line).map_err(|e| {
                BootstrapError::Protocol(format!("cannot parse the answer to {op}: {e}"))
            }),
            Ok(None) | Err(LineError::Truncated) => Err(BootstrapError::Disconnected(format!(
                "the service closed the connection during {op}"
            ))),
            Err(LineError::Io(e)) => Err(match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => BootstrapError::Timeout {
                    op: op.to_string(),
                    after: timeout.unwrap_or_default(),
                },
                _ => BootstrapError::Disconnected(format!("during {op}: {e}")),
            }),
            Err(e) => Err(BootstrapError::Protocol(format!("answer to {op}: {e}"))),
        }
    }
}

struct Service {
    addr: SocketAddr,
    secret: String,
    /// Idle connections. A request takes one (or opens a new one), so a thread blocked in
    /// `get` never stops another thread's `put`.
    idle: Mutex<Vec<Conn>>,
}

enum Backend {
    Singleton(Mutex<HashMap<String, Vec<u8>>>),
    Service(Service),
}

/// A rank's view of the job: its place in it and the key-value service.
///
/// `Bootstrap` is `Send + Sync`. `fence`, `barrier` and `allgather` are collective: every rank
/// must call them in the same order (from one thread at a time), as with MPI.
pub struct Bootstrap {
    rank: usize,
    size: usize,
    local_rank: usize,
    local_size: usize,
    node_id: u32,
    node_count: u32,
    job_id: String,
    /// Request timeout in milliseconds; 0 = no limit.
    timeout_ms: AtomicU64,
    backend: Backend,
}

impl fmt::Debug for Bootstrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Bootstrap");
        d.field("rank", &self.rank)
            .field("size", &self.size)
            .field("local_rank", &self.local_rank)
            .field("local_size", &self.local_size)
            .field("node_id", &self.node_id)
            .field("node_count", &self.node_count)
            .field("job_id", &self.job_id);
        match &self.backend {
            Backend::Singleton(_) => d.field("backend", &"singleton"),
            Backend::Service(s) => d.field("kvs_addr", &s.addr),
        };
        d.finish_non_exhaustive()
    }
}

fn parse_num<T: std::str::FromStr>(var: &'static str, v: &str) -> Result<T, BootstrapError> {
    v.trim().parse::<T>().map_err(|_| BootstrapError::Env {
        var,
        message: format!("{v:?} is not a valid non-negative integer"),
    })
}

fn check_key(key: &str) -> Result<(), BootstrapError> {
    if key.is_empty() {
        return Err(BootstrapError::InvalidArgument("empty key".to_string()));
    }
    if key.len() > wire::MAX_KEY_LEN {
        return Err(BootstrapError::InvalidArgument(format!(
            "key of {} bytes (at most {})",
            key.len(),
            wire::MAX_KEY_LEN
        )));
    }
    Ok(())
}

fn check_value(value: &[u8]) -> Result<(), BootstrapError> {
    if value.len() > wire::MAX_VALUE_LEN {
        return Err(BootstrapError::InvalidArgument(format!(
            "value of {} bytes (at most {})",
            value.len(),
            wire::MAX_VALUE_LEN
        )));
    }
    Ok(())
}

impl Bootstrap {
    /// Reads the `RSM_*` variables of this process. With none of `RSM_RANK`, `RSM_SIZE`,
    /// `RSM_KVS_ADDR` and `RSM_JOB_SECRET` set, returns a singleton (size 1). Otherwise
    /// connects to the service and says hello, so a wrong secret or an unreachable service is
    /// reported here.
    pub fn from_env() -> Result<Bootstrap, BootstrapError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Bootstrap::from_env`] with the variables looked up through `lookup` instead of the
    /// process environment.
    pub fn from_lookup<F: Fn(&str) -> Option<String>>(
        lookup: F,
    ) -> Result<Bootstrap, BootstrapError> {
        let timeout = match lookup(ENV_TIMEOUT) {
            None => Some(DEFAULT_TIMEOUT),
            Some(v) => {
                let secs: f64 = v.trim().parse().map_err(|_| BootstrapError::Env {
                    var: ENV_TIMEOUT,
                    message: format!("{v:?} is not a number of seconds"),
                })?;
                if !(0.0..1e9).contains(&secs) {
                    return Err(BootstrapError::Env {
                        var: ENV_TIMEOUT,
                        message: format!("{v:?} is not a number of seconds in 0..1e9"),
                    });
                }
                (secs > 0.0).then(|| Duration::from_secs_f64(secs))
            }
        };
        let node_id: u32 = match lookup(ENV_NODE_ID) {
            Some(v) => parse_num(ENV_NODE_ID, &v)?,
            None => 0,
        };
        let core = [ENV_RANK, ENV_SIZE, ENV_KVS_ADDR, ENV_JOB_SECRET];
        if core.iter().all(|v| lookup(v).is_none()) {
            let mut b = Bootstrap::singleton();
            b.node_id = node_id;
            b.node_count = node_id.saturating_add(1);
            b.set_timeout(timeout);
            return Ok(b);
        }
        let need = |var: &'static str| {
            lookup(var).ok_or_else(|| BootstrapError::Env {
                var,
                message: format!(
                    "not set, but other bootstrap variables are ({}); \
                     start the program with rsmrun or set all of {}",
                    core.iter()
                        .filter(|v| lookup(v).is_some())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", "),
                    core.join(", ")
                ),
            })
        };
        let rank: usize = parse_num(ENV_RANK, &need(ENV_RANK)?)?;
        let size: usize = parse_num(ENV_SIZE, &need(ENV_SIZE)?)?;
        let addr_text = need(ENV_KVS_ADDR)?;
        let secret = need(ENV_JOB_SECRET)?;
        if size == 0 || size > u32::MAX as usize {
            return Err(BootstrapError::Env {
                var: ENV_SIZE,
                message: format!("size {size} out of range"),
            });
        }
        if rank >= size {
            return Err(BootstrapError::Env {
                var: ENV_RANK,
                message: format!("rank {rank} is not below the size {size}"),
            });
        }
        let local_rank: usize = match lookup(ENV_LOCAL_RANK) {
            Some(v) => parse_num(ENV_LOCAL_RANK, &v)?,
            None => rank,
        };
        let local_size: usize = match lookup(ENV_LOCAL_SIZE) {
            Some(v) => parse_num(ENV_LOCAL_SIZE, &v)?,
            None => size,
        };
        if local_size == 0 || local_size > size || local_rank >= local_size {
            return Err(BootstrapError::Env {
                var: ENV_LOCAL_RANK,
                message: format!(
                    "local rank {local_rank} / local size {local_size} inconsistent with size {size}"
                ),
            });
        }
        let node_count: u32 = match lookup(ENV_NODE_COUNT) {
            Some(v) => parse_num(ENV_NODE_COUNT, &v)?,
            None => node_id.saturating_add(1),
        };
        if node_id >= node_count {
            return Err(BootstrapError::Env {
                var: ENV_NODE_ID,
                message: format!("node id {node_id} is not below the node count {node_count}"),
            });
        }
        let addr = addr_text
            .trim()
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| BootstrapError::Env {
                var: ENV_KVS_ADDR,
                message: format!("{addr_text:?} is not a host:port address"),
            })?;
        if secret.is_empty() {
            return Err(BootstrapError::Env {
                var: ENV_JOB_SECRET,
                message: "empty".to_string(),
            });
        }
        let service = Service {
            addr,
            secret,
            idle: Mutex::new(Vec::new()),
        };
        let (conn, server_size, job_id) = Conn::open(&service, rank as u32)?;
        if server_size as usize != size {
            return Err(BootstrapError::Protocol(format!(
                "{ENV_SIZE} is {size} but the service runs a job of {server_size} ranks"
            )));
        }
        if let Some(env_job) = lookup(ENV_JOB_ID)
            && env_job != job_id
        {
            return Err(BootstrapError::Protocol(format!(
                "{ENV_JOB_ID} is {env_job:?} but the service runs job {job_id:?}"
            )));
        }
        if let Ok(mut idle) = service.idle.lock() {
            idle.push(conn);
        }
        Ok(Bootstrap {
            rank,
            size,
            local_rank,
            local_size,
            node_id,
            node_count,
            job_id,
            timeout_ms: AtomicU64::new(duration_ms(timeout)),
            backend: Backend::Service(service),
        })
    }

    /// A job of one rank whose key-value store lives in this process.
    pub fn singleton() -> Bootstrap {
        Bootstrap {
            rank: 0,
            size: 1,
            local_rank: 0,
            local_size: 1,
            node_id: 0,
            node_count: 1,
            job_id: format!("singleton.{}", std::process::id()),
            timeout_ms: AtomicU64::new(duration_ms(Some(DEFAULT_TIMEOUT))),
            backend: Backend::Singleton(Mutex::new(HashMap::new())),
        }
    }

    /// This process's rank, `0..size()`.
    pub fn rank(&self) -> usize {
        self.rank
    }
    /// Number of ranks in the job.
    pub fn size(&self) -> usize {
        self.size
    }
    /// Rank among the job's ranks on this host, `0..local_size()`.
    pub fn local_rank(&self) -> usize {
        self.local_rank
    }
    /// Number of the job's ranks on this host.
    pub fn local_size(&self) -> usize {
        self.local_size
    }
    /// This host's node id, `0..node_count()` (the RSMAPI node id, `RSM_NODE_ID`).
    pub fn node_id(&self) -> u32 {
        self.node_id
    }
    /// Number of hosts in the job.
    pub fn node_count(&self) -> u32 {
        self.node_count
    }
    /// The job id (`RSM_JOB_ID`; `singleton.<pid>` for a singleton).
    pub fn job_id(&self) -> &str {
        &self.job_id
    }
    /// Whether this is a singleton (no launcher).
    pub fn is_singleton(&self) -> bool {
        matches!(self.backend, Backend::Singleton(_))
    }
    /// How long one request may wait for its answer (`None` = no limit).
    pub fn timeout(&self) -> Option<Duration> {
        match self.timeout_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }
    /// Changes [`Bootstrap::timeout`].
    pub fn set_timeout(&self, timeout: Option<Duration>) {
        self.timeout_ms
            .store(duration_ms(timeout), Ordering::Relaxed);
    }

    fn call(&self, req: &Request, op: &str) -> Result<Response, BootstrapError> {
        let Backend::Service(service) = &self.backend else {
            return Err(BootstrapError::Protocol(
                "singleton has no service".to_string(),
            ));
        };
        let pooled = service.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut conn = match pooled {
            Some(c) => c,
            None => Conn::open(service, self.rank as u32)?.0,
        };
        let resp = conn.call(req, op, self.timeout())?;
        // Only a connection that completed its exchange goes back to the pool.
        if let Ok(mut idle) = service.idle.lock() {
            idle.push(conn);
        }
        match resp {
            Response::Error { kind, message } => Err(BootstrapError::Server { kind, message }),
            other => Ok(other),
        }
    }

    /// Stores `value` under `key` for the whole job (an existing value is replaced).
    pub fn put(&self, key: &str, value: &[u8]) -> Result<(), BootstrapError> {
        check_key(key)?;
        check_value(value)?;
        match &self.backend {
            Backend::Singleton(store) => {
                if let Ok(mut s) = store.lock() {
                    s.insert(key.to_string(), value.to_vec());
                }
                Ok(())
            }
            Backend::Service(_) => {
                let req = Request::Put {
                    key: key.to_string(),
                    value: Bytes::from(value),
                };
                match self.call(&req, "put")? {
                    Response::Ok => Ok(()),
                    other => Err(unexpected("put", &other)),
                }
            }
        }
    }

    /// Returns the value some rank put under `key`, waiting until one does (at most
    /// [`Bootstrap::timeout`]).
    pub fn get(&self, key: &str) -> Result<Vec<u8>, BootstrapError> {
        check_key(key)?;
        match &self.backend {
            Backend::Singleton(store) => store
                .lock()
                .ok()
                .and_then(|s| s.get(key).cloned())
                .ok_or_else(|| BootstrapError::NotFound(key.to_string())),
            Backend::Service(_) => {
                let req = Request::Get {
                    key: key.to_string(),
                };
                match self.call(&req, &format!("get({key:?})"))? {
                    Response::Value { value } => Ok(value.0),
                    other => Err(unexpected("get", &other)),
                }
            }
        }
    }

    /// Barrier across the job. Puts that completed before any rank's fence are visible to
    /// every rank's gets after the fence.
    pub fn fence(&self) -> Result<(), BootstrapError> {
        match &self.backend {
            Backend::Singleton(_) => Ok(()),
            Backend::Service(_) => match self.call(&Request::Fence, "fence")? {
                Response::Ok => Ok(()),
                other => Err(unexpected("fence", &other)),
            },
        }
    }

    /// Same as [`Bootstrap::fence`].
    pub fn barrier(&self) -> Result<(), BootstrapError> {
        self.fence()
    }

    /// Every rank contributes `value`; returns all contributions in rank order.
    pub fn allgather(&self, value: &[u8]) -> Result<Vec<Vec<u8>>, BootstrapError> {
        check_value(value)?;
        match &self.backend {
            Backend::Singleton(_) => Ok(vec![value.to_vec()]),
            Backend::Service(_) => {
                let req = Request::Allgather {
                    value: Bytes::from(value),
                };
                match self.call(&req, "allgather")? {
                    Response::Gathered { values } if values.len() == self.size => {
                        Ok(values.into_iter().map(|b| b.0).collect())
                    }
                    Response::Gathered { values } => Err(BootstrapError::Protocol(format!(
                        "allgather returned {} values for {} ranks",
                        values.len(),
                        self.size
                    ))),
                    other => Err(unexpected("allgather", &other)),
                }
            }
        }
    }

    /// Asks the launcher to kill every rank of the job and exit with `code`, then exits this
    /// process with `code` (a singleton just prints `message` and exits). Like `MPI_Abort`,
    /// this does not return.
    pub fn abort(&self, code: i32, message: &str) -> ! {
        let mut msg = message.to_string();
        if msg.len() > wire::MAX_MESSAGE_LEN {
            let mut cut = wire::MAX_MESSAGE_LEN;
            while !msg.is_char_boundary(cut) {
                cut -= 1;
            }
            msg.truncate(cut);
        }
        match &self.backend {
            Backend::Singleton(_) => {
                eprintln!("rank 0 aborted the job (code {code}): {msg}");
            }
            Backend::Service(_) => {
                self.set_timeout(Some(ABORT_ACK_TIMEOUT));
                let req = Request::Abort {
                    code,
                    message: msg.clone(),
                };
                if let Err(e) = self.call(&req, "abort") {
                    eprintln!(
                        "rank {} aborting (code {code}): {msg} (could not tell the launcher: {e})",
                        self.rank
                    );
                }
            }
        }
        std::process::exit(code)
    }
}

fn duration_ms(d: Option<Duration>) -> u64 {
    match d {
        None => 0,
        Some(d) => u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1),
    }
}

fn unexpected(op: &str, resp: &Response) -> BootstrapError {
    BootstrapError::Protocol(format!("unexpected answer to {op}: {resp:?}"))
}

#[cfg(test)]
mod tests;
