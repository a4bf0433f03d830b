//! Two "hosts" on one machine: two network namespaces joined by a veth pair
//! (10.77.0.1/24 and 10.77.0.2/24), each with its own sshd on port 2222 (key-based root login
//! with keys generated for the test in a temporary directory; `~/.ssh` is never touched).
//! rsmrun runs inside the first namespace with `--host 10.77.0.1:2,10.77.0.2:2` and reaches
//! the second host over ssh.
//!
//! Needs root, `ip` (iproute2), `sshd` (openssh-server) and `ssh`/`ssh-keygen`
//! (openssh-client). Without them the test prints why and passes as skipped, unless
//! `RSM_TEST_REQUIRE_NETNS=1` (set it in CI), which turns a skip into a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::Signal;

const LIMIT: Duration = Duration::from_secs(90);
const ADDR: [&str; 2] = ["10.77.0.1", "10.77.0.2"];

/// The two namespaces and their sshds; dropping it tears everything down (also when the
/// test panics).
struct TwoHosts {
    ns: Vec<String>,
    sshd: Vec<Child>,
    dir: tempfile::TempDir,
}

impl Drop for TwoHosts {
    fn drop(&mut self) {
        for c in &mut self.sshd {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Deleting a namespace also deletes the veth end inside it (and so its peer).
        for ns in &self.ns {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl TwoHosts {
    fn key(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    fn agent(&self) -> String {
        format!(
            "ssh -F /dev/null -p 2222 -i {} -o BatchMode=yes -o StrictHostKeyChecking=no \
             -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10",
            self.key().display()
        )
    }

    /// `rsmrun ARGS` run inside the first namespace.
    fn rsmrun(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns[0], RSMRUN]).args(args);
        c
    }
}

fn which(prog: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join(prog))
        .find(|p| p.is_file())
}

fn sh(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    sh(Command::new("ip").args(args))
}

/// Builds the two hosts, or says why it cannot (a reason to skip).
fn setup() -> Result<TwoHosts, String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("not running as root (network namespaces need CAP_SYS_ADMIN)".into());
    }
    for prog in ["ip", "ssh", "ssh-keygen"] {
        which(prog)
            .ok_or_else(|| format!("{prog} not found (apt-get install iproute2 openssh-client)"))?;
    }
    let sshd = which("sshd").ok_or("sshd not found (apt-get install openssh-server)")?;
    let id = std::process::id();
    let mut hosts = TwoHosts {
        ns: Vec::new(),
        sshd: Vec::new(),
        dir: tempfile::tempdir().map_err(|e| e.to_string())?,
    };
    for side in ["a", "b"] {
        let ns = format!("rsmtest{id}{side}");
        ip(&["netns", "add", &ns])
            .map_err(|e| format!("cannot create a network namespace: {e}"))?;
        hosts.ns.push(ns);
    }
    let veth = [format!("rsmv{id}a"), format!("rsmv{id}b")];
    ip(&[
        "link", "add", &veth[0], "type", "veth", "peer", "name", &veth[1],
    ])?;
    for i in 0..2 {
        if let Err(e) = ip(&["link", "set", &veth[i], "netns", &hosts.ns[i]]) {
            let _ = ip(&["link", "del", &veth[i]]);
            return Err(e);
        }
        ip(&[
            "-n",
            &hosts.ns[i],
            "addr",
            "add",
            &format!("{}/24", ADDR[i]),
            "dev",
            &veth[i],
        ])?;
        ip(&["-n", &hosts.ns[i], "link", "set", &veth[i], "up"])?;
        // The proxies' key-value listeners are on 127.0.0.1.
        ip(&["-n", &hosts.ns[i], "link", "set", "lo", "up"])?;
    }
    let d = hosts.dir.path().to_path_buf();
    for key in ["host_key", "client_key"] {
        sh(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(d.join(key)))?;
    }
    std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys"))
        .map_err(|e| e.to_string())?;
    // sshd's privilege separation directory.
    std::fs::create_dir_all("/run/sshd").map_err(|e| format!("/run/sshd: {e}"))?;
    for (i, addr) in ADDR.iter().enumerate() {
        let conf = d.join(format!("sshd_{i}.conf"));
        std::fs::write(
            &conf,
            format!(
                "ListenAddress {addr}\nPort 2222\nHostKey {d}/host_key\nPidFile {d}/sshd_{i}.pid\n\
                 AuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                 StrictModes no\n",
                d = d.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        let child = Command::new("ip")
            .args(["netns", "exec", &hosts.ns[i]])
            .arg(&sshd)
            .arg("-D")
            .arg("-f")
            .arg(&conf)
            .arg("-E")
            .arg(d.join(format!("sshd_{i}.log")))
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("sshd: {e}"))?;
        hosts.sshd.push(child);
    }
    // Wait until both sshds take logins (from the first namespace).
    let deadline = Instant::now() + Duration::from_secs(20);
    for addr in ADDR {
        loop {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", &hosts.ns[0]]);
            c.args(hosts_agent_words(&hosts)).arg(addr).arg("true");
            match sh(&mut c) {
                Ok(()) => break,
                Err(e) if Instant::now() >= deadline => {
                    let log = std::fs::read_to_string(d.join("sshd_1.log")).unwrap_or_default();
                    return Err(format!(
                        "sshd on {addr} does not take logins: {e}\nsshd log:\n{log}"
                    ));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
    Ok(hosts)
}

fn hosts_agent_words(h: &TwoHosts) -> Vec<String> {
    h.agent().split_whitespace().map(String::from).collect()
}

fn assert_two_host_exchange(o: &Outcome) {
    assert_eq!(
        o.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        o.stdout,
        o.stderr
    );
    let reps = reports(o);
    assert_eq!(reps.len(), 4, "{}", o.stdout);
    for (r, m) in reps.iter().enumerate() {
        let node = r / 2;
        assert_eq!(m["rank"], r.to_string());
        assert_eq!(m["size"], "4");
        assert_eq!(m["host"], ADDR[node]);
        assert_eq!(m["node_id"], node.to_string());
        assert_eq!(m["node_count"], "2");
        assert_eq!(m["local_rank"], (r % 2).to_string());
        assert_eq!(m["local_size"], "2");
    }
    for r in 0..4 {
        assert!(
            o.stdout
                .contains(&format!("rank {r} exchange ok with 4 ranks")),
            "{}",
            o.stdout
        );
    }
}

#[test]
fn four_ranks_on_two_hosts_over_ssh() {
    let hosts = match setup() {
        Ok(h) => h,
        Err(why) => {
            if std::env::var("RSM_TEST_REQUIRE_NETNS").as_deref() == Ok("1") {
                panic!("multi-host test cannot run: {why}");
            }
            println!("SKIPPED four_ranks_on_two_hosts_over_ssh: {why}");
            eprintln!("SKIPPED four_ranks_on_two_hosts_over_ssh: {why}");
            return;
        }
    };
    let agent = hosts.agent();
    let host_list = format!("{}:2,{}:2", ADDR[0], ADDR[1]);

    // 1. --launcher auto: 10.77.0.1 is this namespace (started directly), 10.77.0.2 is
    //    reached over ssh.
    let o = spawn(hosts.rsmrun(&[
        "--host",
        &host_list,
        "--launch-agent",
        &agent,
        TESTRANK,
        "--report",
        "--exchange",
    ]))
    .wait(LIMIT);
    assert_two_host_exchange(&o);

    // 2. --launcher ssh: both hosts over ssh, with -n and --map-by node.
    let o = spawn(hosts.rsmrun(&[
        "--launcher",
        "ssh",
        "-H",
        &host_list,
        "--launch-agent",
        &agent,
        "-n",
        "4",
        "--map-by",
        "node",
        "--tag-output",
        TESTRANK,
        "--report",
        "--exchange",
    ]))
    .wait(LIMIT);
    assert_eq!(o.code, Some(0), "{}\n{}", o.stdout, o.stderr);
    let got: Vec<String> = reports(&o).iter().map(|m| m["host"].clone()).collect();
    assert_eq!(got, [ADDR[0], ADDR[1], ADDR[0], ADDR[1]]);
    for r in 0..4 {
        assert!(
            o.stdout
                .contains(&format!("[{r}] rank {r} exchange ok with 4 ranks"))
        );
    }

    // 3. A remote rank exits 3: rsmrun exits 3, names the host, and every rank is gone.
    let pids = PidDir::new();
    let o = spawn(hosts.rsmrun(&[
        "--host",
        &host_list,
        "--launch-agent",
        &agent,
        TESTRANK,
        "--pid-dir",
        &pids.arg(),
        "--fence",
        "--fail-rank",
        "3",
        "--exit-code",
        "3",
        "--sleep",
        "120",
    ]))
    .wait(LIMIT);
    assert_eq!(o.code, Some(3), "{}", o.stderr);
    assert!(
        o.stderr
            .contains(&format!("on host {} exited with code 3", ADDR[1])),
        "{}",
        o.stderr
    );
    assert_eq!(pids.pids().len(), 4);
    assert_eq!(pids.alive_after(Duration::from_secs(5)), vec![]);

    // 4. rsmrun dies outright: the remote proxy sees its ssh channel close and stops its
    //    ranks; the local proxy sees its stdin close.
    let pids = PidDir::new();
    let r = spawn(hosts.rsmrun(&[
        "--host",
        &host_list,
        "--launch-agent",
        &agent,
        TESTRANK,
        "--pid-dir",
        &pids.arg(),
        "--sleep",
        "120",
    ]));
    pids.wait_for(4, Duration::from_secs(30));
    r.signal(Signal::SIGKILL);
    let o = r.wait(LIMIT);
    assert_eq!(o.signal, Some(9));
    assert_eq!(pids.alive_after(Duration::from_secs(8)), vec![]);
}
