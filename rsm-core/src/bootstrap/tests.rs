//! Client tests against a scripted in-process server. They check how the client handles
//! every kind of answer (and silence); the real server is exercised across processes by the
//! launcher's integration tests.

use super::*;
use std::io::BufRead;
use std::net::TcpListener;
use std::thread;
use std::time::Instant;

/// What the scripted server does with one request.
enum Act {
    Reply(Response),
    /// Close the connection without answering.
    Close,
    /// Never answer (keep the connection open until the test ends).
    Stall,
    /// Send this raw line.
    Raw(String),
}

/// Serves connections on a fresh port; `script` maps each request to an action. Returns the
/// address. The server thread ends with the test process.
fn serve<F>(script: F) -> String
where
    F: Fn(&Request) -> Act + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let script = std::sync::Arc::new(script);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let script = script.clone();
            thread::spawn(move || {
                let mut w = stream.try_clone().unwrap();
                let mut r = std::io::BufReader::new(stream);
                let mut held = Vec::new();
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let req: Request = serde_json::from_str(line.trim_end()).unwrap();
                    match script(&req) {
                        Act::Reply(resp) => {
                            w.write_all(wire::encode_line(&resp).as_bytes()).unwrap();
                        }
                        Act::Raw(s) => w.write_all(s.as_bytes()).unwrap(),
                        Act::Close => return,
                        Act::Stall => {
                            held.push(w.try_clone().unwrap());
                            thread::sleep(Duration::from_secs(3600));
                        }
                    }
                }
            });
        }
    });
    addr
}

fn welcome(size: u32) -> Act {
    Act::Reply(Response::Welcome {
        version: wire::PROTOCOL_VERSION,
        size,
        job_id: "job1".into(),
    })
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn job_env<'a>(addr: &'a str, rank: &'a str, size: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        (ENV_RANK, rank),
        (ENV_SIZE, size),
        (ENV_KVS_ADDR, addr),
        (ENV_JOB_SECRET, "s3cret"),
        (ENV_LOCAL_RANK, "0"),
        (ENV_LOCAL_SIZE, "1"),
        (ENV_NODE_ID, "1"),
        (ENV_NODE_COUNT, "2"),
        (ENV_JOB_ID, "job1"),
    ]
}

#[test]
fn singleton_without_variables() {
    let b = Bootstrap::from_lookup(env(&[])).unwrap();
    assert!(b.is_singleton());
    assert_eq!(
        (b.rank(), b.size(), b.local_rank(), b.local_size()),
        (0, 1, 0, 1)
    );
    assert_eq!((b.node_id(), b.node_count()), (0, 1));
    b.put("a", b"1").unwrap();
    b.put("a", b"22").unwrap();
    assert_eq!(b.get("a").unwrap(), b"22");
    assert!(matches!(b.get("b"), Err(BootstrapError::NotFound(k)) if k == "b"));
    b.fence().unwrap();
    b.barrier().unwrap();
    assert_eq!(b.allgather(b"xyz").unwrap(), vec![b"xyz".to_vec()]);
    assert_eq!(b.timeout(), Some(DEFAULT_TIMEOUT));
}

#[test]
fn singleton_keeps_node_id_and_timeout() {
    let b = Bootstrap::from_lookup(env(&[(ENV_NODE_ID, "3"), (ENV_TIMEOUT, "0")])).unwrap();
    assert!(b.is_singleton());
    assert_eq!((b.node_id(), b.node_count()), (3, 4));
    assert_eq!(b.timeout(), None);
    let b = Bootstrap::from_lookup(env(&[(ENV_TIMEOUT, "1.5")])).unwrap();
    assert_eq!(b.timeout(), Some(Duration::from_millis(1500)));
}

#[test]
fn incomplete_or_bad_environment_is_an_error() {
    match Bootstrap::from_lookup(env(&[(ENV_RANK, "0")])) {
        Err(BootstrapError::Env { var, message }) => {
            assert_eq!(var, ENV_SIZE);
            assert!(message.contains("RSM_RANK"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let cases: [(&[(&str, &str)], &str); 6] = [
        (
            &[
                (ENV_RANK, "x"),
                (ENV_SIZE, "2"),
                (ENV_KVS_ADDR, "127.0.0.1:1"),
                (ENV_JOB_SECRET, "s"),
            ],
            ENV_RANK,
        ),
        (
            &[
                (ENV_RANK, "2"),
                (ENV_SIZE, "2"),
                (ENV_KVS_ADDR, "127.0.0.1:1"),
                (ENV_JOB_SECRET, "s"),
            ],
            ENV_RANK,
        ),
        (
            &[
                (ENV_RANK, "0"),
                (ENV_SIZE, "0"),
                (ENV_KVS_ADDR, "127.0.0.1:1"),
                (ENV_JOB_SECRET, "s"),
            ],
            ENV_SIZE,
        ),
        (
            &[
                (ENV_RANK, "0"),
                (ENV_SIZE, "2"),
                (ENV_KVS_ADDR, "nonsense"),
                (ENV_JOB_SECRET, "s"),
            ],
            ENV_KVS_ADDR,
        ),
        (
            &[
                (ENV_RANK, "0"),
                (ENV_SIZE, "2"),
                (ENV_KVS_ADDR, "127.0.0.1:1"),
                (ENV_JOB_SECRET, "s"),
                (ENV_NODE_ID, "2"),
                (ENV_NODE_COUNT, "2"),
            ],
            ENV_NODE_ID,
        ),
        (&[(ENV_TIMEOUT, "-1")], ENV_TIMEOUT),
    ];
    for (vars, expect) in cases {
        match Bootstrap::from_lookup(env(vars)) {
            Err(BootstrapError::Env { var, .. }) => assert_eq!(var, expect, "{vars:?}"),
            other => panic!("{vars:?}: {other:?}"),
        }
    }
}

#[test]
fn connect_failure_is_reported() {
    // Bind and drop to get a port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    match Bootstrap::from_lookup(env(&job_env(&addr, "0", "2"))) {
        Err(BootstrapError::Connect { addr: a, source }) => {
            assert_eq!(a, addr);
            assert_eq!(source.kind(), io::ErrorKind::ConnectionRefused);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn full_exchange_against_a_scripted_server() {
    let addr = serve(|req| match req {
        Request::Hello {
            version,
            secret,
            rank,
            pid,
        } => {
            assert_eq!(*version, wire::PROTOCOL_VERSION);
            assert_eq!(secret, "s3cret");
            assert_eq!(*rank, 1);
            assert_eq!(*pid, std::process::id());
            welcome(2)
        }
        Request::Put { key, value } => {
            assert_eq!(key, "k");
            assert_eq!(value.0, vec![0u8, 255, 7]);
            Act::Reply(Response::Ok)
        }
        Request::Get { key } => Act::Reply(Response::Value {
            value: Bytes(format!("value of {key}").into_bytes()),
        }),
        Request::Fence => Act::Reply(Response::Ok),
        Request::Allgather { value } => Act::Reply(Response::Gathered {
            values: vec![Bytes(b"zero".to_vec()), value.clone()],
        }),
        Request::Abort { .. } => Act::Close,
    });
    let b = Bootstrap::from_lookup(env(&job_env(&addr, "1", "2"))).unwrap();
    assert!(!b.is_singleton());
    assert_eq!(
        (b.rank(), b.size(), b.node_id(), b.node_count()),
        (1, 2, 1, 2)
    );
    assert_eq!(b.job_id(), "job1");
    b.put("k", &[0, 255, 7]).unwrap();
    assert_eq!(b.get("seg").unwrap(), b"value of seg");
    b.fence().unwrap();
    assert_eq!(
        b.allgather(b"one").unwrap(),
        vec![b"zero".to_vec(), b"one".to_vec()]
    );
    // Concurrent use from several threads (each takes its own connection).
    let b = std::sync::Arc::new(b);
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let b = b.clone();
            thread::spawn(move || b.get(&format!("t{i}")).unwrap())
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), format!("value of t{i}").into_bytes());
    }
}

#[test]
fn wrong_secret_is_refused() {
    let addr = serve(|req| match req {
        Request::Hello { .. } => Act::Reply(Response::Error {
            kind: ErrorKind::Auth,
            message: "wrong job secret".into(),
        }),
        _ => Act::Close,
    });
    match Bootstrap::from_lookup(env(&job_env(&addr, "0", "2"))) {
        Err(BootstrapError::Refused(m)) => assert!(m.contains("wrong job secret"), "{m}"),
        other => panic!("{other:?}"),
    }
    // A server that hangs up on the hello also counts as a refusal.
    let addr = serve(|_| Act::Close);
    assert!(matches!(
        Bootstrap::from_lookup(env(&job_env(&addr, "0", "2"))),
        Err(BootstrapError::Refused(_))
    ));
}

#[test]
fn size_or_job_mismatch_is_a_protocol_error() {
    let addr = serve(|_| welcome(3));
    match Bootstrap::from_lookup(env(&job_env(&addr, "0", "2"))) {
        Err(BootstrapError::Protocol(m)) => assert!(m.contains("3 ranks"), "{m}"),
        other => panic!("{other:?}"),
    }
    let addr = serve(|_| {
        Act::Reply(Response::Welcome {
            version: wire::PROTOCOL_VERSION,
            size: 2,
            job_id: "other".into(),
        })
    });
    assert!(matches!(
        Bootstrap::from_lookup(env(&job_env(&addr, "0", "2"))),
        Err(BootstrapError::Protocol(_))
    ));
}

#[test]
fn silence_times_out_within_the_bound() {
    let addr = serve(|req| match req {
        Request::Hello { .. } => welcome(2),
        _ => Act::Stall,
    });
    let mut vars = job_env(&addr, "0", "2");
    vars.push((ENV_TIMEOUT, "0.3"));
    let b = Bootstrap::from_lookup(env(&vars)).unwrap();
    let t0 = Instant::now();
    match b.get("never") {
        Err(BootstrapError::Timeout { op, after }) => {
            assert_eq!(op, "get(\"never\")");
            assert_eq!(after, Duration::from_millis(300));
        }
        other => panic!("{other:?}"),
    }
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    // The timed-out connection was dropped; the next request opens a fresh one (which
    // stalls the same way).
    b.set_timeout(Some(Duration::from_millis(100)));
    assert!(matches!(b.fence(), Err(BootstrapError::Timeout { .. })));
}

#[test]
fn service_going_away_is_an_error_not_a_hang() {
    let addr = serve(|req| match req {
        Request::Hello { .. } => welcome(2),
        _ => Act::Close,
    });
    let b = Bootstrap::from_lookup(env(&job_env(&addr, "0", "2"))).unwrap();
    b.set_timeout(None);
    assert!(matches!(b.get("k"), Err(BootstrapError::Disconnected(_))));
    assert!(matches!(b.fence(), Err(BootstrapError::Disconnected(_))));
}

#[test]
fn server_errors_and_garbage_are_reported() {
    let addr = serve(|req| match req {
        Request::Hello { .. } => welcome(2),
        Request::Fence => Act::Reply(Response::Error {
            kind: ErrorKind::RankExited,
            message: "rank 1 exited with code 3 before joining fence #0".into(),
        }),
        Request::Get { .. } => Act::Raw("not json\n".into()),
        Request::Allgather { .. } => Act::Reply(Response::Gathered { values: vec![] }),
        Request::Put { .. } => Act::Reply(Response::Value {
            value: Bytes(vec![]),
        }),
        Request::Abort { .. } => Act::Close,
    });
    let b = Bootstrap::from_lookup(env(&job_env(&addr, "0", "2"))).unwrap();
    match b.fence() {
        Err(BootstrapError::Server { kind, message }) => {
            assert_eq!(kind, ErrorKind::RankExited);
            assert!(message.contains("rank 1"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(b.get("k"), Err(BootstrapError::Protocol(_))));
    assert!(matches!(b.allgather(b""), Err(BootstrapError::Protocol(_))));
    assert!(matches!(b.put("k", b""), Err(BootstrapError::Protocol(_))));
}

#[test]
fn bad_keys_and_values_are_rejected_locally() {
    let b = Bootstrap::singleton();
    assert!(matches!(
        b.put("", b"x"),
        Err(BootstrapError::InvalidArgument(_))
    ));
    let long = "k".repeat(wire::MAX_KEY_LEN + 1);
    assert!(matches!(
        b.get(&long),
        Err(BootstrapError::InvalidArgument(_))
    ));
    let big = vec![0u8; wire::MAX_VALUE_LEN + 1];
    assert!(matches!(
        b.put("k", &big),
        Err(BootstrapError::InvalidArgument(_))
    ));
    assert!(matches!(
        b.allgather(&big),
        Err(BootstrapError::InvalidArgument(_))
    ));
    let max = vec![9u8; wire::MAX_VALUE_LEN];
    b.put(&"k".repeat(wire::MAX_KEY_LEN), &max).unwrap();
    assert_eq!(b.get(&"k".repeat(wire::MAX_KEY_LEN)).unwrap(), max);
}

#[test]
fn bootstrap_is_send_and_sync_and_debug_hides_the_secret() {
    fn check<T: Send + Sync>() {}
    check::<Bootstrap>();
    let addr = serve(|_| welcome(2));
    let b = Bootstrap::from_lookup(env(&job_env(&addr, "0", "2"))).unwrap();
    let dbg = format!("{b:?}");
    assert!(!dbg.contains("s3cret"), "{dbg}");
    assert!(dbg.contains("rank: 0"), "{dbg}");
}
