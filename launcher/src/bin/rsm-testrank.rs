//! A rank program for rsmrun's tests: reports its place in the job, exchanges values through
//! the key-value service, and can be told to fail in various ways. Each option is one step;
//! the steps run in the order listed in `--help`.
#![forbid(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use rsm_core::bootstrap::wire::ErrorKind;
use rsm_core::bootstrap::{Bootstrap, BootstrapError, ENV_HOSTNAME, ENV_JOB_SECRET};

#[derive(Debug, Parser)]
#[command(name = "rsm-testrank", about = "Test rank program for rsmrun")]
struct Args {
    /// Write the pid to DIR/rank.R.pid.
    #[arg(long, value_name = "DIR")]
    pid_dir: Option<PathBuf>,
    /// Print rank, size, local rank/size, node id/count and host.
    #[arg(long)]
    report: bool,
    /// Print this process's CPU affinity.
    #[arg(long)]
    affinity: bool,
    /// Connect with a wrong secret and with a non-hello first message; print the refusals.
    #[arg(long)]
    bad_secret: bool,
    /// Exchange values with every rank (put/get/fence/allgather) and check them.
    #[arg(long)]
    exchange: bool,
    /// Print N lines to stdout and N to stderr.
    #[arg(long, value_name = "N")]
    lines: Option<usize>,
    /// Call fence (all ranks are up after this).
    #[arg(long)]
    fence: bool,
    /// Catch SIGINT/SIGTERM/SIGHUP (from the start); while sleeping, print it and exit 0.
    #[arg(long)]
    trap: bool,
    /// Rank that performs --exit-code/--kill-self/--abort (default: every rank).
    #[arg(long, value_name = "R")]
    fail_rank: Option<usize>,
    /// Exit with this code.
    #[arg(long, value_name = "CODE")]
    exit_code: Option<i32>,
    /// Export and publish a 64 KiB shared-memory segment that is never destroyed (as a
    /// crashing program would leave it); prints `rank R leaked segment 0x...`.
    #[arg(long)]
    leak_segment: bool,
    /// Kill itself with this signal number.
    #[arg(long, value_name = "SIG")]
    kill_self: Option<i32>,
    /// Call Bootstrap::abort with this code.
    #[arg(long, value_name = "CODE")]
    abort: Option<i32>,
    /// After the failing rank acted: the others call fence and expect a rank-exited error.
    #[arg(long)]
    expect_fence_error: bool,
    /// Get a key nobody puts and expect a timeout (set RSM_BOOTSTRAP_TIMEOUT low).
    #[arg(long)]
    expect_get_timeout: bool,
    /// Sleep this many seconds (the failing rank does not sleep).
    #[arg(long, value_name = "SECONDS")]
    sleep: Option<f64>,
}

fn fail(msg: String) -> ! {
    eprintln!("testrank: {msg}");
    std::process::exit(99)
}

fn check<T>(r: Result<T, BootstrapError>, what: &str) -> T {
    r.unwrap_or_else(|e| fail(format!("{what}: {e}")))
}

fn main() {
    let args = Args::parse();
    // Handlers first, so a signal that arrives once the pid file exists is always caught.
    let trapped = Arc::new(AtomicUsize::new(0));
    if args.trap {
        for sig in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            let t = trapped.clone();
            signal_hook::flag::register_usize(sig, t, sig as usize)
                .unwrap_or_else(|e| fail(format!("signal handler: {e}")));
        }
    }
    let boot = check(Bootstrap::from_env(), "Bootstrap::from_env");
    let (rank, size) = (boot.rank(), boot.size());
    let out = std::io::stdout();

    if let Some(dir) = &args.pid_dir {
        let path = dir.join(format!("rank.{rank}.pid"));
        let tmp = dir.join(format!(".rank.{rank}.pid.tmp"));
        std::fs::write(&tmp, std::process::id().to_string())
            .and_then(|()| std::fs::rename(&tmp, &path))
            .unwrap_or_else(|e| fail(format!("pid file {}: {e}", path.display())));
    }
    if args.report {
        println!(
            "rank={rank} size={size} local_rank={} local_size={} node_id={} node_count={} host={} singleton={}",
            boot.local_rank(),
            boot.local_size(),
            boot.node_id(),
            boot.node_count(),
            std::env::var(ENV_HOSTNAME).unwrap_or_default(),
            boot.is_singleton()
        );
    }
    if args.affinity {
        let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
            .unwrap_or_else(|e| fail(format!("sched_getaffinity: {e}")));
        let cpus: Vec<String> = (0..nix::sched::CpuSet::count())
            .filter(|&c| set.is_set(c).unwrap_or(false))
            .map(|c| c.to_string())
            .collect();
        println!(
            "rank={rank} local_rank={} cpus={}",
            boot.local_rank(),
            cpus.join(",")
        );
    }
    if args.leak_segment {
        leak_segment(rank);
    }
    if args.bad_secret {
        bad_secret(rank);
    }
    if args.exchange {
        exchange(&boot);
    }
    if let Some(n) = args.lines {
        for i in 0..n {
            println!("rank {rank} line {i}");
            eprintln!("rank {rank} err {i}");
        }
    }
    let _ = out.lock().flush();
    if args.fence {
        check(boot.fence(), "fence");
    }
    let is_failer = args.fail_rank.is_none_or(|r| r == rank);
    if is_failer {
        if let Some(code) = args.exit_code {
            eprintln!("rank {rank} exiting with code {code}");
            std::process::exit(code);
        }
        if let Some(sig) = args.kill_self {
            let sig = nix::sys::signal::Signal::try_from(sig)
                .unwrap_or_else(|e| fail(format!("signal {sig}: {e}")));
            let _ = nix::sys::signal::raise(sig);
            std::thread::sleep(Duration::from_secs(5));
            fail("still alive after raising the signal".to_string());
        }
        if let Some(code) = args.abort {
            boot.abort(code, &format!("testrank {rank} gives up"));
        }
    } else if args.expect_fence_error {
        match boot.fence() {
            Err(BootstrapError::Server {
                kind: ErrorKind::RankExited,
                message,
            }) => println!("rank {rank}: fence failed as expected: {message}"),
            other => fail(format!("expected a rank-exited error, got {other:?}")),
        }
    }
    if args.expect_get_timeout {
        let t0 = Instant::now();
        match boot.get("nobody-puts-this") {
            Err(BootstrapError::Timeout { .. }) => println!(
                "rank {rank}: get timed out after {:.1} s as expected",
                t0.elapsed().as_secs_f64()
            ),
            other => fail(format!("expected a timeout, got {other:?}")),
        }
    }
    if let Some(secs) = args.sleep {
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        while Instant::now() < deadline {
            let sig = trapped.load(Ordering::Relaxed);
            if sig != 0 {
                println!("rank {rank} caught signal {sig}");
                std::process::exit(0);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Wrong secret and a non-hello first message must both be refused.
fn bad_secret(rank: usize) {
    let wrong = |k: &str| {
        if k == ENV_JOB_SECRET {
            Some("not-the-secret".to_string())
        } else {
            std::env::var(k).ok()
        }
    };
    match Bootstrap::from_lookup(wrong) {
        Err(BootstrapError::Refused(m)) => println!("rank {rank} refused: {m}"),
        other => fail(format!("a wrong secret was not refused: {other:?}")),
    }
    // Raw connection that skips the hello.
    let addr = std::env::var("RSM_KVS_ADDR").unwrap_or_else(|e| fail(format!("RSM_KVS_ADDR: {e}")));
    let mut s =
        std::net::TcpStream::connect(&addr).unwrap_or_else(|e| fail(format!("connect: {e}")));
    s.set_read_timeout(Some(Duration::from_secs(20))).ok();
    s.write_all(b"{\"op\":\"get\",\"key\":\"x\"}\n")
        .unwrap_or_else(|e| fail(format!("write: {e}")));
    let mut reply = String::new();
    let mut r = std::io::BufReader::new(s);
    std::io::BufRead::read_line(&mut r, &mut reply).unwrap_or_else(|e| fail(format!("read: {e}")));
    let mut rest = String::new();
    let closed = matches!(std::io::BufRead::read_line(&mut r, &mut rest), Ok(0));
    println!("rank {rank} no-hello: {} closed={closed}", reply.trim_end());
}

fn exchange(boot: &Bootstrap) {
    let (rank, size) = (boot.rank(), boot.size());
    let value = |r: usize| format!("value-of-{r}-{}", "x".repeat(r));
    check(
        boot.put(&format!("val/{rank}"), value(rank).as_bytes()),
        "put",
    );
    // A get issued before the matching put must wait for it: rank r+1 puts its "late" key
    // only after a delay.
    let next = (rank + 1) % size;
    let waiter = {
        let key = format!("late/{next}");
        std::thread::scope(|s| {
            let h = s.spawn(|| boot.get(&key));
            std::thread::sleep(Duration::from_millis(50 * (rank as u64 % 3)));
            check(
                boot.put(&format!("late/{rank}"), &(rank as u64).to_le_bytes()),
                "put late",
            );
            h.join()
                .unwrap_or_else(|_| fail("get thread panicked".to_string()))
        })
    };
    let late = check(waiter, "get late");
    if late != (next as u64).to_le_bytes() {
        fail(format!("late/{next} = {late:?}"));
    }
    check(boot.fence(), "fence");
    for r in 0..size {
        let v = check(boot.get(&format!("val/{r}")), "get");
        if v != value(r).as_bytes() {
            fail(format!("val/{r} = {:?}", String::from_utf8_lossy(&v)));
        }
    }
    let mine = (rank as u32 * 7 + 1).to_le_bytes();
    let all = check(boot.allgather(&mine), "allgather");
    for (r, v) in all.iter().enumerate() {
        if v[..] != (r as u32 * 7 + 1).to_le_bytes() {
            fail(format!("allgather[{r}] = {v:?}"));
        }
    }
    // Values of different lengths, including empty.
    let all = check(boot.allgather(&vec![rank as u8; rank]), "allgather 2");
    for (r, v) in all.iter().enumerate() {
        if *v != vec![r as u8; r] {
            fail(format!("allgather2[{r}] = {v:?}"));
        }
    }
    check(boot.barrier(), "barrier");
    println!("rank {rank} exchange ok with {size} ranks");
}

fn leak_segment(rank: usize) {
    use rsm_core::{Controller, ExportFlags, ExportSegment};
    let ctrl = Controller::get("loopback").unwrap_or_else(|e| fail(format!("controller: {e}")));
    let seg = ExportSegment::create(&ctrl, 64 * 1024, ExportFlags::NONE)
        .unwrap_or_else(|e| fail(format!("export create: {e}")));
    let id = seg
        .publish(0, &[])
        .unwrap_or_else(|e| fail(format!("publish: {e}")));
    println!("rank {rank} leaked segment {id:#x}");
    // Never destroyed: the process dies with the segment published.
    std::mem::forget(seg);
    std::mem::forget(ctrl);
}
