//! The job's key-value service: a state machine fed with request lines from rank connections
//! (which reach rsmrun through the per-host proxies) and rank exits; it answers with
//! [`Out`] actions. No I/O here, so every rule is unit-tested directly.

use std::collections::{BTreeMap, HashMap};

use rsm_core::bootstrap::wire::{self, Bytes, ErrorKind, Request, Response};

/// A rank connection: the host (proxy) it came through and the proxy's connection number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId {
    /// Host index.
    pub host: usize,
    /// Connection number on that host.
    pub conn: u64,
}

/// What the service wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// Send this answer on the connection.
    Reply(ClientId, Response),
    /// Close the connection (after the answers before this).
    Close(ClientId),
    /// Log a refused connection or protocol violation (rsmrun prints it with the host).
    Log(ClientId, String),
    /// A rank asked to abort the job.
    Abort {
        /// Who asked.
        rank: u32,
        /// Requested exit code.
        code: i32,
        /// Its message.
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fence,
    Allgather,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Fence => "fence",
            Kind::Allgather => "allgather",
        }
    }
}

#[derive(Debug)]
struct Collective {
    kind: Kind,
    /// First rank that arrived, for mismatch messages.
    first_rank: u32,
    arrived: BTreeMap<u32, (ClientId, Vec<u8>)>,
    failed: Option<(ErrorKind, String)>,
}

/// The service state for one job.
#[derive(Debug)]
pub struct Kvs {
    secret: String,
    job_id: String,
    size: u32,
    /// Host index of each rank.
    rank_host: Vec<usize>,
    /// Connections; `Some(rank)` once the hello was accepted.
    clients: HashMap<ClientId, Option<u32>>,
    store: HashMap<String, Vec<u8>>,
    waiting: HashMap<String, Vec<ClientId>>,
    /// Per rank: index of the next collective it will join.
    next_coll: Vec<u64>,
    colls: BTreeMap<u64, Collective>,
    /// Ranks that exited: (index of the first collective they never joined, description).
    exited: BTreeMap<u32, (u64, String)>,
    /// Set when the job is being torn down: waits fail at once.
    aborted: Option<String>,
}

fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
    Response::Error {
        kind,
        message: message.into(),
    }
}

/// Compares two secrets in time independent of where they differ.
fn secrets_equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

impl Kvs {
    /// A service for a job whose rank `r` runs on host `rank_host[r]`.
    pub fn new(secret: &str, job_id: &str, rank_host: Vec<usize>) -> Kvs {
        let size = rank_host.len();
        Kvs {
            secret: secret.to_string(),
            job_id: job_id.to_string(),
            size: size as u32,
            rank_host,
            clients: HashMap::new(),
            store: HashMap::new(),
            waiting: HashMap::new(),
            next_coll: vec![0; size],
            colls: BTreeMap::new(),
            exited: BTreeMap::new(),
            aborted: None,
        }
    }

    /// Number of keys stored.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether no key is stored.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// Handles one request line from `client`.
    pub fn line(&mut self, client: ClientId, line: &str) -> Vec<Out> {
        let mut out = Vec::new();
        let authed = self.clients.get(&client).copied().flatten();
        let req: Request = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(e) => {
                let msg = format!("malformed request: {e}");
                out.push(Out::Reply(client, error(ErrorKind::BadRequest, &msg)));
                if authed.is_none() {
                    out.push(Out::Log(
                        client,
                        format!("refused a connection: {msg} (expected a hello)"),
                    ));
                    out.push(Out::Close(client));
                    self.clients.remove(&client);
                }
                return out;
            }
        };
        let Some(rank) = authed else {
            self.hello(client, req, &mut out);
            return out;
        };
        match req {
            Request::Hello { .. } => out.push(Out::Reply(
                client,
                error(ErrorKind::BadRequest, "hello sent twice on one connection"),
            )),
            Request::Put { key, value } => {
                if let Err(resp) = check_key(&key).and_then(|()| check_value(&value)) {
                    out.push(Out::Reply(client, resp));
                } else {
                    if let Some(waiters) = self.waiting.remove(&key) {
                        for w in waiters {
                            out.push(Out::Reply(
                                w,
                                Response::Value {
                                    value: value.clone(),
                                },
                            ));
                        }
                    }
                    self.store.insert(key, value.0);
                    out.push(Out::Reply(client, Response::Ok));
                }
            }
            Request::Get { key } => {
                if let Err(resp) = check_key(&key) {
                    out.push(Out::Reply(client, resp));
                } else if let Some(v) = self.store.get(&key) {
                    out.push(Out::Reply(
                        client,
                        Response::Value {
                            value: Bytes(v.clone()),
                        },
                    ));
                } else if let Some(why) = &self.aborted {
                    out.push(Out::Reply(client, error(ErrorKind::Aborted, why.clone())));
                } else {
                    self.waiting.entry(key).or_default().push(client);
                }
            }
            Request::Fence => self.join(client, rank, Kind::Fence, Vec::new(), &mut out),
            Request::Allgather { value } => {
                if let Err(resp) = check_value(&value) {
                    out.push(Out::Reply(client, resp));
                } else {
                    self.join(client, rank, Kind::Allgather, value.0, &mut out);
                }
            }
            Request::Abort { code, message } => {
                let mut message = message;
                if message.len() > wire::MAX_MESSAGE_LEN {
                    let mut cut = wire::MAX_MESSAGE_LEN;
                    while !message.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    message.truncate(cut);
                }
                out.push(Out::Reply(client, Response::Ok));
                out.push(Out::Abort {
                    rank,
                    code,
                    message,
                });
            }
        }
        out
    }

    fn hello(&mut self, client: ClientId, req: Request, out: &mut Vec<Out>) {
        let refuse = |out: &mut Vec<Out>, kind: ErrorKind, msg: String| {
            out.push(Out::Reply(client, error(kind, msg.clone())));
            out.push(Out::Log(client, format!("refused a connection: {msg}")));
            out.push(Out::Close(client));
        };
        let Request::Hello {
            version,
            secret,
            rank,
            pid,
        } = req
        else {
            self.clients.remove(&client);
            return refuse(
                out,
                ErrorKind::Auth,
                "the first request must be a hello with the job secret".to_string(),
            );
        };
        if version != wire::PROTOCOL_VERSION {
            self.clients.remove(&client);
            return refuse(
                out,
                ErrorKind::Version,
                format!(
                    "client speaks protocol version {version}, this rsmrun speaks {}",
                    wire::PROTOCOL_VERSION
                ),
            );
        }
        if !secrets_equal(&secret, &self.secret) {
            self.clients.remove(&client);
            return refuse(
                out,
                ErrorKind::Auth,
                format!("wrong job secret (claimed rank {rank}, pid {pid})"),
            );
        }
        if rank >= self.size {
            self.clients.remove(&client);
            return refuse(
                out,
                ErrorKind::BadRequest,
                format!("rank {rank} out of range (job size {})", self.size),
            );
        }
        if self.rank_host[rank as usize] != client.host {
            self.clients.remove(&client);
            return refuse(
                out,
                ErrorKind::BadRequest,
                format!("rank {rank} does not run on this host"),
            );
        }
        self.clients.insert(client, Some(rank));
        out.push(Out::Reply(
            client,
            Response::Welcome {
                version: wire::PROTOCOL_VERSION,
                size: self.size,
                job_id: self.job_id.clone(),
            },
        ));
    }

    /// First collective index that can never complete because of an exited rank, if any.
    fn doomed_from(&self) -> Option<(u64, u32, &str)> {
        self.exited
            .iter()
            .map(|(r, (k, how))| (*k, *r, how.as_str()))
            .min()
    }

    fn join(
        &mut self,
        client: ClientId,
        rank: u32,
        kind: Kind,
        value: Vec<u8>,
        out: &mut Vec<Out>,
    ) {
        let k = self.next_coll[rank as usize];
        self.next_coll[rank as usize] += 1;
        let doomed = self
            .doomed_from()
            .filter(|(from, _, _)| *from <= k)
            .map(|(_, r, how)| {
                format!(
                    "rank {r} {how} before joining {} #{k}; it can never complete",
                    kind.name()
                )
            });
        let aborted = self.aborted.clone();
        let coll = self.colls.entry(k).or_insert_with(|| Collective {
            kind,
            first_rank: rank,
            arrived: BTreeMap::new(),
            failed: None,
        });
        if coll.failed.is_none() {
            if let Some(why) = aborted {
                coll.failed = Some((ErrorKind::Aborted, why));
            } else if coll.kind != kind {
                coll.failed = Some((
                    ErrorKind::Mismatch,
                    format!(
                        "collective #{k}: rank {} called {} but rank {rank} called {}",
                        coll.first_rank,
                        coll.kind.name(),
                        kind.name()
                    ),
                ));
            } else if let Some(msg) = doomed {
                coll.failed = Some((ErrorKind::RankExited, msg));
            }
            if let Some((ekind, msg)) = &coll.failed {
                for (c, _) in std::mem::take(&mut coll.arrived).into_values() {
                    out.push(Out::Reply(c, error(*ekind, msg.clone())));
                }
            }
        }
        if let Some((ekind, msg)) = &coll.failed {
            out.push(Out::Reply(client, error(*ekind, msg.clone())));
            return;
        }
        coll.arrived.insert(rank, (client, value));
        if coll.arrived.len() < self.size as usize {
            return;
        }
        let Some(coll) = self.colls.remove(&k) else {
            return;
        };
        match coll.kind {
            Kind::Fence => {
                for (c, _) in coll.arrived.into_values() {
                    out.push(Out::Reply(c, Response::Ok));
                }
            }
            Kind::Allgather => {
                let total: usize = coll.arrived.values().map(|(_, v)| v.len()).sum();
                let clients: Vec<ClientId> = coll.arrived.values().map(|(c, _)| *c).collect();
                if total > wire::MAX_GATHER_TOTAL {
                    let msg = format!(
                        "allgather #{k} gathers {total} bytes (at most {})",
                        wire::MAX_GATHER_TOTAL
                    );
                    for c in clients {
                        out.push(Out::Reply(c, error(ErrorKind::TooLarge, msg.clone())));
                    }
                } else {
                    let values: Vec<Bytes> =
                        coll.arrived.into_values().map(|(_, v)| Bytes(v)).collect();
                    for c in clients {
                        out.push(Out::Reply(
                            c,
                            Response::Gathered {
                                values: values.clone(),
                            },
                        ));
                    }
                }
            }
        }
    }

    /// A connection closed: forget it and its waits.
    pub fn closed(&mut self, client: ClientId) {
        self.clients.remove(&client);
        for waiters in self.waiting.values_mut() {
            waiters.retain(|c| *c != client);
        }
        self.waiting.retain(|_, w| !w.is_empty());
    }

    /// All connections of host `host` are gone (its proxy ended).
    pub fn host_gone(&mut self, host: usize) {
        let gone: Vec<ClientId> = self
            .clients
            .keys()
            .filter(|c| c.host == host)
            .copied()
            .collect();
        for c in gone {
            self.closed(c);
        }
    }

    /// Rank `rank` ended (`how`: e.g. "exited with code 0"). Every collective it has not
    /// joined can never complete: the ranks waiting in them get an error now, later arrivals
    /// get it at once.
    pub fn rank_exited(&mut self, rank: u32, how: &str) -> Vec<Out> {
        let mut out = Vec::new();
        let Some(&from) = self.next_coll.get(rank as usize) else {
            return out;
        };
        self.exited
            .entry(rank)
            .or_insert_with(|| (from, how.to_string()));
        for (k, coll) in self.colls.range_mut(from..) {
            if coll.failed.is_some() || coll.arrived.contains_key(&rank) {
                continue;
            }
            let msg = format!(
                "rank {rank} {how} before joining {} #{k}; it can never complete",
                coll.kind.name()
            );
            for (c, _) in std::mem::take(&mut coll.arrived).into_values() {
                out.push(Out::Reply(c, error(ErrorKind::RankExited, msg.clone())));
            }
            coll.failed = Some((ErrorKind::RankExited, msg));
        }
        out
    }

    /// The job is being torn down: every pending and future wait fails with `why`.
    pub fn abort_all(&mut self, why: &str) -> Vec<Out> {
        let mut out = Vec::new();
        self.aborted.get_or_insert_with(|| why.to_string());
        for (_, waiters) in self.waiting.drain() {
            for w in waiters {
                out.push(Out::Reply(w, error(ErrorKind::Aborted, why)));
            }
        }
        for coll in self.colls.values_mut() {
            if coll.failed.is_none() {
                for (c, _) in std::mem::take(&mut coll.arrived).into_values() {
                    out.push(Out::Reply(c, error(ErrorKind::Aborted, why)));
                }
                coll.failed = Some((ErrorKind::Aborted, why.to_string()));
            }
        }
        out
    }
}

fn check_key(key: &str) -> Result<(), Response> {
    if key.is_empty() {
        return Err(error(ErrorKind::BadRequest, "empty key"));
    }
    if key.len() > wire::MAX_KEY_LEN {
        return Err(error(
            ErrorKind::TooLarge,
            format!("key of {} bytes (at most {})", key.len(), wire::MAX_KEY_LEN),
        ));
    }
    Ok(())
}

fn check_value(value: &Bytes) -> Result<(), Response> {
    if value.0.len() > wire::MAX_VALUE_LEN {
        return Err(error(
            ErrorKind::TooLarge,
            format!(
                "value of {} bytes (at most {})",
                value.0.len(),
                wire::MAX_VALUE_LEN
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123abcd";

    fn cid(host: usize, conn: u64) -> ClientId {
        ClientId { host, conn }
    }

    fn line(req: &Request) -> String {
        wire::encode_line(req).trim_end().to_string()
    }

    fn hello(kvs: &mut Kvs, c: ClientId, rank: u32) {
        let out = kvs.line(
            c,
            &line(&Request::Hello {
                version: wire::PROTOCOL_VERSION,
                secret: SECRET.into(),
                rank,
                pid: 100 + rank,
            }),
        );
        assert_eq!(
            out,
            vec![Out::Reply(
                c,
                Response::Welcome {
                    version: wire::PROTOCOL_VERSION,
                    size: kvs.size,
                    job_id: "job".into()
                }
            )]
        );
    }

    /// Three ranks: 0 and 1 on host 0, 2 on host 1; connection `r` belongs to rank `r`.
    fn job3() -> (Kvs, [ClientId; 3]) {
        let mut kvs = Kvs::new(SECRET, "job", vec![0, 0, 1]);
        let cs = [cid(0, 0), cid(0, 1), cid(1, 2)];
        for (r, c) in cs.iter().enumerate() {
            hello(&mut kvs, *c, r as u32);
        }
        (kvs, cs)
    }

    fn put(key: &str, v: &[u8]) -> String {
        line(&Request::Put {
            key: key.into(),
            value: Bytes(v.to_vec()),
        })
    }
    fn get(key: &str) -> String {
        line(&Request::Get { key: key.into() })
    }
    fn gather(v: &[u8]) -> String {
        line(&Request::Allgather {
            value: Bytes(v.to_vec()),
        })
    }
    fn fence() -> String {
        line(&Request::Fence)
    }
    fn err_kind(o: &Out) -> Option<ErrorKind> {
        match o {
            Out::Reply(_, Response::Error { kind, .. }) => Some(*kind),
            _ => None,
        }
    }

    #[test]
    fn refuses_wrong_secret_version_rank_host_and_non_hello() {
        let mut kvs = Kvs::new(SECRET, "job", vec![0, 1]);
        let c = cid(0, 9);
        let bad = |secret: &str, version: u32, rank: u32| {
            line(&Request::Hello {
                version,
                secret: secret.into(),
                rank,
                pid: 1,
            })
        };
        for (l, kind, text) in [
            (
                bad("nope", wire::PROTOCOL_VERSION, 0),
                ErrorKind::Auth,
                "wrong job secret",
            ),
            (bad(SECRET, 99, 0), ErrorKind::Version, "version 99"),
            (
                bad(SECRET, wire::PROTOCOL_VERSION, 2),
                ErrorKind::BadRequest,
                "out of range",
            ),
            (
                bad(SECRET, wire::PROTOCOL_VERSION, 1),
                ErrorKind::BadRequest,
                "does not run on this host",
            ),
            (get("k"), ErrorKind::Auth, "first request must be a hello"),
            ("{not json".to_string(), ErrorKind::BadRequest, "malformed"),
        ] {
            let out = kvs.line(c, &l);
            assert_eq!(out.len(), 3, "{out:?}");
            assert_eq!(err_kind(&out[0]), Some(kind), "{out:?}");
            match &out[1] {
                Out::Log(cc, m) => {
                    assert_eq!(*cc, c);
                    assert!(m.contains(text), "{m}");
                }
                o => panic!("{o:?}"),
            }
            assert_eq!(out[2], Out::Close(c));
        }
        // A refused connection stays unauthenticated.
        let out = kvs.line(c, &put("k", b"v"));
        assert_eq!(err_kind(&out[0]), Some(ErrorKind::Auth));
        assert!(kvs.is_empty());
    }

    #[test]
    fn secret_comparison() {
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("abc", "abcd"));
        assert!(!secrets_equal("", "a"));
    }

    #[test]
    fn put_get_and_blocking_get() {
        let (mut kvs, [a, b, c]) = job3();
        assert_eq!(
            kvs.line(a, &put("x", b"1")),
            vec![Out::Reply(a, Response::Ok)]
        );
        assert_eq!(
            kvs.line(b, &get("x")),
            vec![Out::Reply(
                b,
                Response::Value {
                    value: Bytes(b"1".to_vec())
                }
            )]
        );
        // Get before put waits; the put answers both the waiter and the putter.
        assert_eq!(kvs.line(b, &get("y")), vec![]);
        assert_eq!(kvs.line(c, &get("y")), vec![]);
        let out = kvs.line(a, &put("y", b"22"));
        let v = Response::Value {
            value: Bytes(b"22".to_vec()),
        };
        assert_eq!(
            out,
            vec![
                Out::Reply(b, v.clone()),
                Out::Reply(c, v),
                Out::Reply(a, Response::Ok)
            ]
        );
        // Overwrite.
        kvs.line(a, &put("x", b"3"));
        assert_eq!(
            kvs.line(c, &get("x")),
            vec![Out::Reply(
                c,
                Response::Value {
                    value: Bytes(b"3".to_vec())
                }
            )]
        );
        assert_eq!(kvs.len(), 2);
        // A closed waiter is forgotten.
        assert_eq!(kvs.line(b, &get("z")), vec![]);
        kvs.closed(b);
        assert_eq!(
            kvs.line(a, &put("z", b"")),
            vec![Out::Reply(a, Response::Ok)]
        );
    }

    #[test]
    fn limits() {
        let (mut kvs, [a, ..]) = job3();
        let long = "k".repeat(wire::MAX_KEY_LEN + 1);
        assert_eq!(
            err_kind(&kvs.line(a, &get(&long))[0]),
            Some(ErrorKind::TooLarge)
        );
        assert_eq!(
            err_kind(&kvs.line(a, &get(""))[0]),
            Some(ErrorKind::BadRequest)
        );
        let big = vec![1u8; wire::MAX_VALUE_LEN + 1];
        assert_eq!(
            err_kind(&kvs.line(a, &put("k", &big))[0]),
            Some(ErrorKind::TooLarge)
        );
        assert_eq!(
            err_kind(&kvs.line(a, &gather(&big))[0]),
            Some(ErrorKind::TooLarge)
        );
        // An authenticated client sending junk gets an error but keeps its connection.
        assert_eq!(
            kvs.line(a, "{\"op\":\"frobnicate\"}").len(),
            1,
            "no close for an authenticated client"
        );
        assert_eq!(
            err_kind(
                &kvs.line(
                    a,
                    &line(&Request::Hello {
                        version: 1,
                        secret: SECRET.into(),
                        rank: 0,
                        pid: 0
                    })
                )[0]
            ),
            Some(ErrorKind::BadRequest)
        );
    }

    #[test]
    fn fence_and_allgather_complete_in_rank_order() {
        let (mut kvs, [a, b, c]) = job3();
        assert_eq!(kvs.line(c, &fence()), vec![]);
        assert_eq!(kvs.line(a, &fence()), vec![]);
        let out = kvs.line(b, &fence());
        assert_eq!(
            out,
            vec![
                Out::Reply(a, Response::Ok),
                Out::Reply(b, Response::Ok),
                Out::Reply(c, Response::Ok)
            ]
        );
        assert_eq!(kvs.line(b, &gather(b"bb")), vec![]);
        assert_eq!(kvs.line(c, &gather(b"")), vec![]);
        let out = kvs.line(a, &gather(b"a"));
        let g = Response::Gathered {
            values: vec![Bytes(b"a".to_vec()), Bytes(b"bb".to_vec()), Bytes(vec![])],
        };
        assert_eq!(
            out,
            vec![
                Out::Reply(a, g.clone()),
                Out::Reply(b, g.clone()),
                Out::Reply(c, g)
            ]
        );
        assert!(kvs.colls.is_empty());
    }

    #[test]
    fn a_rank_may_use_another_connection_for_the_next_collective() {
        let (mut kvs, [a, b, c]) = job3();
        let a2 = cid(0, 50);
        hello(&mut kvs, a2, 0);
        kvs.line(a, &fence());
        kvs.line(b, &fence());
        assert_eq!(kvs.line(c, &fence()).len(), 3);
        // Rank 0 joins collective #1 through its second connection.
        kvs.line(a2, &fence());
        kvs.line(b, &fence());
        let out = kvs.line(c, &fence());
        assert!(out.contains(&Out::Reply(a2, Response::Ok)), "{out:?}");
    }

    #[test]
    fn mismatched_collectives_fail_everyone() {
        let (mut kvs, [a, b, c]) = job3();
        assert_eq!(kvs.line(a, &fence()), vec![]);
        let out = kvs.line(b, &gather(b"x"));
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|o| err_kind(o) == Some(ErrorKind::Mismatch)));
        match &out[1] {
            Out::Reply(cc, Response::Error { message, .. }) => {
                assert_eq!(*cc, b);
                assert_eq!(
                    message,
                    "collective #0: rank 0 called fence but rank 1 called allgather"
                );
            }
            o => panic!("{o:?}"),
        }
        // The late rank gets the same error.
        let out = kvs.line(c, &fence());
        assert_eq!(err_kind(&out[0]), Some(ErrorKind::Mismatch));
    }

    #[test]
    fn exited_rank_fails_pending_and_future_collectives() {
        let (mut kvs, [a, b, c]) = job3();
        // Collective #0 completes with everyone.
        kvs.line(a, &fence());
        kvs.line(b, &fence());
        assert_eq!(kvs.line(c, &fence()).len(), 3);
        // Rank 0 waits in #1; rank 2 exits without joining it.
        assert_eq!(kvs.line(a, &fence()), vec![]);
        let out = kvs.rank_exited(2, "exited with code 3");
        assert_eq!(out.len(), 1);
        match &out[0] {
            Out::Reply(cc, Response::Error { kind, message }) => {
                assert_eq!((*cc, *kind), (a, ErrorKind::RankExited));
                assert_eq!(
                    message,
                    "rank 2 exited with code 3 before joining fence #1; it can never complete"
                );
            }
            o => panic!("{o:?}"),
        }
        // Rank 1 arriving later at #1, and anyone at #2, fails at once.
        assert_eq!(
            err_kind(&kvs.line(b, &fence())[0]),
            Some(ErrorKind::RankExited)
        );
        assert_eq!(
            err_kind(&kvs.line(a, &gather(b"x"))[0]),
            Some(ErrorKind::RankExited)
        );
        // Gets and puts still work.
        assert_eq!(
            kvs.line(a, &put("k", b"v")),
            vec![Out::Reply(a, Response::Ok)]
        );
    }

    #[test]
    fn rank_exiting_after_its_last_collective_blocks_nothing_already_complete() {
        let (mut kvs, [a, b, c]) = job3();
        kvs.line(a, &fence());
        kvs.line(b, &fence());
        // Rank 2 has not reached #0 yet; rank 0 exits after having joined #0.
        assert_eq!(kvs.rank_exited(0, "exited with code 0"), vec![]);
        // #0 still completes; #1 is doomed for rank 1.
        assert_eq!(kvs.line(c, &fence()).len(), 3);
        assert_eq!(
            err_kind(&kvs.line(b, &fence())[0]),
            Some(ErrorKind::RankExited)
        );
    }

    #[test]
    fn abort_request_and_teardown() {
        let (mut kvs, [a, b, c]) = job3();
        let out = kvs.line(
            b,
            &line(&Request::Abort {
                code: 7,
                message: "bad input".into(),
            }),
        );
        assert_eq!(
            out,
            vec![
                Out::Reply(b, Response::Ok),
                Out::Abort {
                    rank: 1,
                    code: 7,
                    message: "bad input".into()
                }
            ]
        );
        assert_eq!(kvs.line(a, &get("never")), vec![]);
        assert_eq!(kvs.line(c, &fence()), vec![]);
        let out = kvs.abort_all("job aborted by rank 1");
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|o| err_kind(o) == Some(ErrorKind::Aborted)));
        assert_eq!(
            err_kind(&kvs.line(a, &get("never2"))[0]),
            Some(ErrorKind::Aborted)
        );
        assert_eq!(
            err_kind(&kvs.line(a, &fence())[0]),
            Some(ErrorKind::Aborted)
        );
    }

    #[test]
    fn host_gone_drops_its_clients() {
        let (mut kvs, [a, _b, c]) = job3();
        kvs.line(c, &get("k"));
        kvs.host_gone(1);
        assert_eq!(
            kvs.line(a, &put("k", b"v")),
            vec![Out::Reply(a, Response::Ok)]
        );
        // Host 1's client must say hello again.
        assert_eq!(err_kind(&kvs.line(c, &get("k"))[0]), Some(ErrorKind::Auth));
    }
}
