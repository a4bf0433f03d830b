//! rsmrun end to end on this machine: real rsmrun, proxy and rank processes, every wait
//! bounded (rsmrun is SIGKILLed and the test fails if it overruns).

mod common;

use std::time::Duration;

use common::*;
use nix::sys::signal::Signal;

const LIMIT: Duration = Duration::from_secs(60);

fn assert_exchange(o: &Outcome, n: usize) {
    assert_eq!(
        o.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        o.stdout,
        o.stderr
    );
    for r in 0..n {
        let ok = format!("rank {r} exchange ok with {n} ranks");
        assert_eq!(
            o.stdout.lines().filter(|l| l.ends_with(&ok)).count(),
            1,
            "missing {ok:?} in\n{}",
            o.stdout
        );
    }
}

#[test]
fn one_to_eight_ranks_report_and_exchange() {
    for n in 1..=8usize {
        let ns = n.to_string();
        let o = run(&["-n", &ns, TESTRANK, "--report", "--exchange"], LIMIT);
        assert_exchange(&o, n);
        let reps = reports(&o);
        assert_eq!(reps.len(), n, "{}", o.stdout);
        for (r, m) in reps.iter().enumerate() {
            assert_eq!(m["rank"], r.to_string());
            assert_eq!(m["size"], ns);
            assert_eq!(m["local_rank"], r.to_string());
            assert_eq!(m["local_size"], ns);
            assert_eq!(m["node_id"], "0");
            assert_eq!(m["node_count"], "1");
            assert_eq!(m["singleton"], "false");
        }
        assert_eq!(o.stderr, "", "rsmrun printed errors for n={n}");
    }
}

#[test]
fn singleton_without_rsmrun() {
    let out = std::process::Command::new(TESTRANK)
        .args(["--report", "--exchange"])
        .env_remove("RSM_RANK")
        .env_remove("RSM_SIZE")
        .env_remove("RSM_KVS_ADDR")
        .env_remove("RSM_JOB_SECRET")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("rank=0 size=1 local_rank=0 local_size=1 node_id=0 node_count=1")
            && text.contains("singleton=true")
            && text.contains("rank 0 exchange ok with 1 ranks"),
        "{text}"
    );
}

#[test]
fn several_nodes_on_one_machine() {
    // --launcher local starts one proxy per host name here: each is its own node.
    let o = run(
        &[
            "--launcher",
            "local",
            "-H",
            "a:2,b:3",
            TESTRANK,
            "--report",
            "--exchange",
        ],
        LIMIT,
    );
    assert_exchange(&o, 5);
    let reps = reports(&o);
    let expect = [
        ("a", 0, 0, 2),
        ("a", 0, 1, 2),
        ("b", 1, 0, 3),
        ("b", 1, 1, 3),
        ("b", 1, 2, 3),
    ];
    for (m, (host, node, lr, ls)) in reps.iter().zip(expect) {
        assert_eq!(m["host"], host);
        assert_eq!(m["node_id"], node.to_string());
        assert_eq!(m["node_count"], "2");
        assert_eq!(m["local_rank"], lr.to_string());
        assert_eq!(m["local_size"], ls.to_string());
    }
    // Round robin placement.
    let o = run(
        &[
            "--launcher",
            "local",
            "-H",
            "a:2,b:3",
            "-n",
            "4",
            "--map-by",
            "node",
            TESTRANK,
            "--report",
        ],
        LIMIT,
    );
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let hosts: Vec<String> = reports(&o).iter().map(|m| m["host"].clone()).collect();
    assert_eq!(hosts, ["a", "b", "a", "b"]);
}

#[test]
fn failing_rank_sets_exit_code_and_stops_the_others() {
    let pids = PidDir::new();
    let o = run(
        &[
            "-n",
            "4",
            TESTRANK,
            "--pid-dir",
            &pids.arg(),
            "--fence",
            "--fail-rank",
            "2",
            "--exit-code",
            "3",
            "--sleep",
            "120",
        ],
        LIMIT,
    );
    assert_eq!(o.code, Some(3), "{}", o.stderr);
    assert!(
        o.stderr.contains("rank 2 (pid ")
            && o.stderr
                .contains(") on host localhost exited with code 3; terminating the job"),
        "{}",
        o.stderr
    );
    assert_eq!(pids.pids().len(), 4);
    // The others got SIGTERM at once; rsmrun returned only after they were gone.
    assert!(o.elapsed < Duration::from_secs(5), "took {:?}", o.elapsed);
    assert_eq!(pids.alive_after(Duration::ZERO), vec![]);
}

#[test]
fn rank_killed_by_a_signal() {
    let pids = PidDir::new();
    let o = run(
        &[
            "-n",
            "3",
            TESTRANK,
            "--pid-dir",
            &pids.arg(),
            "--fence",
            "--fail-rank",
            "1",
            "--kill-self",
            "9",
            "--sleep",
            "120",
        ],
        LIMIT,
    );
    assert_eq!(o.code, Some(128 + 9), "{}", o.stderr);
    assert!(
        o.stderr
            .contains("on host localhost was killed by signal 9 (SIGKILL)"),
        "{}",
        o.stderr
    );
    assert_eq!(pids.alive_after(Duration::from_secs(5)), vec![]);
}

#[test]
fn ranks_that_ignore_sigterm_are_killed_after_the_grace_period() {
    let pids = PidDir::new();
    // Ranks 0 and 2 ignore SIGTERM; rank 1 fails once they are up.
    let dir = tempfile::tempdir().unwrap();
    let stubborn = script(
        dir.path(),
        "stubborn.sh",
        &format!(
            "#!/bin/sh\ntrap '' TERM\nif [ \"$RSM_RANK\" = 1 ]; then\n  while [ $(ls {dir} | wc -l) -lt 2 ]; do sleep 0.05; done\n  exit 5\nfi\nexec {TESTRANK} --pid-dir {dir} --sleep 120\n",
            dir = pids.arg()
        ),
    );
    let o = run(
        &["-n", "3", "--grace", "1", stubborn.to_str().unwrap()],
        LIMIT,
    );
    assert_eq!(o.code, Some(5), "{}", o.stderr);
    // SIGTERM ignored (the exec'd testrank inherits SIG_IGN), SIGKILL after 1 s.
    assert!(o.elapsed >= Duration::from_millis(900), "{:?}", o.elapsed);
    assert!(o.elapsed < Duration::from_secs(10), "{:?}", o.elapsed);
    assert_eq!(pids.alive_after(Duration::ZERO), vec![]);
}

#[test]
fn ctrl_c_is_forwarded_to_every_rank() {
    // Ranks that catch the signal report it and exit 0; rsmrun exits 128+SIGINT.
    let pids = PidDir::new();
    let r = spawn(rsmrun_cmd(&[
        "-n",
        "3",
        TESTRANK,
        "--pid-dir",
        &pids.arg(),
        "--trap",
        "--sleep",
        "120",
    ]));
    // The ranks install their handlers before writing their pid files.
    pids.wait_for(3, Duration::from_secs(20));
    r.signal(Signal::SIGINT);
    let o = r.wait(LIMIT);
    assert_eq!(o.code, Some(130), "{}", o.stderr);
    for rank in 0..3 {
        assert!(
            o.stdout.contains(&format!("rank {rank} caught signal 2")),
            "{}",
            o.stdout
        );
    }
    assert!(
        o.stderr.contains("received SIGINT; forwarding it"),
        "{}",
        o.stderr
    );
    assert_eq!(pids.alive_after(Duration::ZERO), vec![]);

    // Ranks that do not catch it die of it.
    let pids = PidDir::new();
    let r = spawn(rsmrun_cmd(&[
        "-n",
        "2",
        TESTRANK,
        "--pid-dir",
        &pids.arg(),
        "--sleep",
        "120",
    ]));
    pids.wait_for(2, Duration::from_secs(20));
    r.signal(Signal::SIGTERM);
    let o = r.wait(LIMIT);
    assert_eq!(o.code, Some(128 + 15), "{}", o.stderr);
    assert_eq!(pids.alive_after(Duration::ZERO), vec![]);
}

#[test]
fn timeout_kills_the_job_and_says_so() {
    let pids = PidDir::new();
    let o = run(
        &[
            "-n",
            "3",
            "--timeout",
            "1.5",
            TESTRANK,
            "--pid-dir",
            &pids.arg(),
            "--sleep",
            "120",
        ],
        LIMIT,
    );
    assert_eq!(o.code, Some(124), "{}", o.stderr);
    assert!(
        o.stderr.contains(
            "rsmrun: the job timed out after 1.5 s (--timeout); killing its 3 running rank(s)"
        ),
        "{}",
        o.stderr
    );
    assert!(o.elapsed >= Duration::from_millis(1500), "{:?}", o.elapsed);
    assert!(o.elapsed < Duration::from_secs(10), "{:?}", o.elapsed);
    assert_eq!(pids.pids().len(), 3);
    assert_eq!(pids.alive_after(Duration::ZERO), vec![]);
}

#[test]
fn rsmrun_killed_outright_leaves_no_rank_behind() {
    let pids = PidDir::new();
    let r = spawn(rsmrun_cmd(&[
        "-n",
        "3",
        "--launcher",
        "local",
        "-H",
        "a:1,b:2",
        TESTRANK,
        "--pid-dir",
        &pids.arg(),
        "--sleep",
        "120",
    ]));
    pids.wait_for(3, Duration::from_secs(20));
    r.signal(Signal::SIGKILL);
    let o = r.wait(LIMIT);
    assert_eq!(o.signal, Some(9));
    // Each proxy sees its stdin end and stops its ranks (SIGTERM, then SIGKILL).
    assert_eq!(pids.alive_after(Duration::from_secs(5)), vec![]);
}

#[test]
fn a_proxy_killed_outright_is_a_lost_host() {
    let pids = PidDir::new();
    let r = spawn(rsmrun_cmd(&[
        "--launcher",
        "local",
        "-H",
        "a:1,b:2",
        TESTRANK,
        "--pid-dir",
        &pids.arg(),
        "--sleep",
        "120",
    ]));
    pids.wait_for(3, Duration::from_secs(20));
    // The parent of rank 2 is host b's proxy.
    let rank2 = pids.pids()[2].1;
    let stat = std::fs::read_to_string(format!("/proc/{rank2}/stat")).unwrap();
    let ppid: i32 = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let cmdline = std::fs::read(format!("/proc/{ppid}/cmdline")).unwrap();
    assert!(String::from_utf8_lossy(&cmdline).contains("--proxy"));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(ppid), Signal::SIGKILL).unwrap();
    let o = r.wait(LIMIT);
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    assert!(
        o.stderr.contains("lost the connection to host b")
            && o.stderr.contains("[1, 2] are considered dead"),
        "{}",
        o.stderr
    );
    assert_eq!(pids.alive_after(Duration::from_secs(5)), vec![]);
}

#[test]
fn tagged_output() {
    let o = run(
        &["-n", "3", "--tag-output", TESTRANK, "--lines", "4"],
        LIMIT,
    );
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let mut out: Vec<&str> = o.stdout.lines().collect();
    out.sort();
    let mut expect: Vec<String> = (0..3)
        .flat_map(|r| (0..4).map(move |i| format!("[{r}] rank {r} line {i}")))
        .collect();
    expect.sort();
    assert_eq!(out, expect);
    // Lines of one rank keep their order.
    for r in 0..3 {
        let mine: Vec<&str> = o
            .stdout
            .lines()
            .filter(|l| l.starts_with(&format!("[{r}]")))
            .collect();
        let want: Vec<String> = (0..4).map(|i| format!("[{r}] rank {r} line {i}")).collect();
        assert_eq!(mine, want);
    }
    let mut err: Vec<&str> = o.stderr.lines().collect();
    err.sort();
    let mut expect_err: Vec<String> = (0..3)
        .flat_map(|r| (0..4).map(move |i| format!("[{r}] rank {r} err {i}")))
        .collect();
    expect_err.sort();
    assert_eq!(err, expect_err);
}

#[test]
fn output_files_per_rank() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("logs");
    let o = run(
        &[
            "-n",
            "3",
            "--output-dir",
            out_dir.to_str().unwrap(),
            TESTRANK,
            "--lines",
            "2",
        ],
        LIMIT,
    );
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(o.stdout, "");
    for r in 0..3 {
        let text = std::fs::read_to_string(out_dir.join(format!("rank.{r}.log"))).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort();
        let mut want = vec![
            format!("rank {r} err 0"),
            format!("rank {r} err 1"),
            format!("rank {r} line 0"),
            format!("rank {r} line 1"),
        ];
        want.sort();
        assert_eq!(lines, want);
    }
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 3);
}

#[test]
fn wrong_secret_is_refused_and_logged() {
    let o = run(&["-n", "2", TESTRANK, "--bad-secret"], LIMIT);
    assert_eq!(o.code, Some(0), "{}\n{}", o.stdout, o.stderr);
    for r in 0..2 {
        assert!(
            o.stdout.contains(&format!(
                "rank {r} refused: authentication failed: wrong job secret (claimed rank {r}"
            )),
            "{}",
            o.stdout
        );
        assert!(
            o.stdout.contains(&format!(
                "rank {r} no-hello: {{\"status\":\"error\",\"kind\":\"auth\",\"message\":\"the first request must be a hello with the job secret\"}} closed=true"
            )),
            "{}",
            o.stdout
        );
    }
    assert_eq!(
        o.stderr
            .lines()
            .filter(|l| l.starts_with(
                "rsmrun: key-value service: host localhost: refused a connection: wrong job secret"
            ))
            .count(),
        2,
        "{}",
        o.stderr
    );
    assert_eq!(
        o.stderr
            .lines()
            .filter(|l| l.contains("refused a connection: the first request must be a hello"))
            .count(),
        2,
        "{}",
        o.stderr
    );
}

#[test]
fn abort_kills_the_job_with_its_code() {
    let pids = PidDir::new();
    let o = run(
        &[
            "-n",
            "3",
            TESTRANK,
            "--pid-dir",
            &pids.arg(),
            "--fence",
            "--fail-rank",
            "1",
            "--abort",
            "7",
            "--sleep",
            "120",
        ],
        LIMIT,
    );
    assert_eq!(o.code, Some(7), "{}", o.stderr);
    assert!(
        o.stderr.contains(
            "rsmrun: rank 1 on host localhost called abort with code 7: testrank 1 gives up"
        ),
        "{}",
        o.stderr
    );
    assert_eq!(pids.alive_after(Duration::from_secs(5)), vec![]);
}

#[test]
fn disable_auto_cleanup_lets_the_others_finish() {
    let o = run(
        &[
            "-n",
            "3",
            "--disable-auto-cleanup",
            TESTRANK,
            "--fence",
            "--fail-rank",
            "1",
            "--exit-code",
            "5",
            "--expect-fence-error",
        ],
        LIMIT,
    );
    // Ranks 0 and 2 ran on, saw the fence fail because rank 1 had exited, and exited 0.
    assert_eq!(o.code, Some(5), "{}\n{}", o.stdout, o.stderr);
    for r in [0, 2] {
        assert!(
            o.stdout.contains(&format!(
                "rank {r}: fence failed as expected: rank 1 exited with code 5 before joining fence #1"
            )),
            "{}",
            o.stdout
        );
    }
    assert!(
        o.stderr.contains("rank 1 (pid ") && !o.stderr.contains("terminating the job"),
        "{}",
        o.stderr
    );
}

#[test]
fn get_of_a_missing_key_times_out_with_an_error() {
    let o = spawn({
        let mut c = rsmrun_cmd(&["-n", "2", TESTRANK, "--expect-get-timeout"]);
        c.env("RSM_BOOTSTRAP_TIMEOUT", "0.5");
        c
    })
    .wait(LIMIT);
    assert_eq!(o.code, Some(0), "{}\n{}", o.stdout, o.stderr);
    assert_eq!(
        o.stdout
            .lines()
            .filter(|l| l.contains("get timed out after 0."))
            .count(),
        2,
        "{}",
        o.stdout
    );
}

#[test]
fn program_lookup_and_errors() {
    // PATH lookup, arguments with spaces and quotes, -x and RSM_* forwarding.
    let mut c = rsmrun_cmd(&[
        "-n",
        "2",
        "-x",
        "FOO=bar baz",
        "-x",
        "TEST_EXPORTED",
        "sh",
        "-c",
        "echo \"$RSM_RANK/$RSM_SIZE [$FOO] $TEST_EXPORTED $RSM_SHM_NAMESPACE $0\"",
        "it's",
    ]);
    c.env("TEST_EXPORTED", "exported")
        .env("RSM_SHM_NAMESPACE", "ns-from-rsmrun");
    let o = spawn(c).wait(LIMIT);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let mut lines = o.lines();
    lines.sort();
    assert_eq!(
        lines,
        [
            "0/2 [bar baz] exported ns-from-rsmrun it's",
            "1/2 [bar baz] exported ns-from-rsmrun it's"
        ]
    );

    let o = run(&["-n", "2", "no-such-program-xyz"], LIMIT);
    assert_eq!(o.code, Some(127), "{}", o.stderr);
    assert!(
        o.stderr
            .contains("could not be started: no-such-program-xyz: command not found"),
        "{}",
        o.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("not-executable");
    std::fs::write(&plain, "data").unwrap();
    let o = run(&["-n", "1", plain.to_str().unwrap()], LIMIT);
    assert_eq!(o.code, Some(126), "{}", o.stderr);
    assert!(o.stderr.contains("Permission denied"), "{}", o.stderr);
    // Relative path, resolved against --wdir.
    script(dir.path(), "hello.sh", "#!/bin/sh\necho hello $RSM_RANK\n");
    let o = run(
        &[
            "-n",
            "1",
            "--wdir",
            dir.path().to_str().unwrap(),
            "./hello.sh",
        ],
        LIMIT,
    );
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(o.stdout, "hello 0\n");
    // A working directory that does not exist: the proxy refuses to start anything.
    let missing = dir.path().join("missing");
    let o = run(
        &["-n", "2", "--wdir", missing.to_str().unwrap(), "true"],
        LIMIT,
    );
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    assert!(
        o.stderr.contains(&format!(
            "rsmrun: host localhost: working directory {} does not exist here",
            missing.display()
        )),
        "{}",
        o.stderr
    );
}

#[test]
fn leftovers_in_a_ranks_process_group_are_killed() {
    // Each rank starts a background testrank and exits at once; the background process is
    // in the rank's process group and must not outlive the job.
    let pids = PidDir::new();
    let o = run(
        &[
            "-n",
            "2",
            "sh",
            "-c",
            &format!(
                "{TESTRANK} --pid-dir {} --sleep 120 >/dev/null 2>&1 & \
                 while [ ! -e {}/rank.$RSM_RANK.pid ]; do sleep 0.05; done",
                pids.arg(),
                pids.arg()
            ),
        ],
        LIMIT,
    );
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(pids.pids().len(), 2);
    assert_eq!(pids.alive_after(Duration::from_secs(5)), vec![]);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["-H", "a:1", "-n", "2", "true"][..],
        &["-n", "0", "true"][..],
        &["--hostfile", "/nonexistent/hosts", "true"][..],
        &[][..],
    ] {
        let o = run(args, LIMIT);
        assert_eq!(o.code, Some(2), "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains("rsmrun: error: "), "{}", o.stderr);
    }
    let o = run(&["--map-by", "socket", "true"], LIMIT);
    assert_eq!(o.code, Some(2));
}

#[test]
fn version_help_and_info() {
    let o = run(&["--version"], LIMIT);
    assert_eq!(o.code, Some(0));
    assert_eq!(o.stdout, format!("rsmrun {}\n", env!("CARGO_PKG_VERSION")));
    let o = run(&["--help"], LIMIT);
    assert_eq!(o.code, Some(0));
    for needle in [
        "Examples:",
        "-np",
        "--host",
        "--hostfile",
        "--map-by",
        "--bind-to",
        "-x <VAR[=VALUE]>",
        "--tag-output",
        "--output-dir",
        "--timeout",
        "--launcher",
        "--launch-agent",
        "--disable-auto-cleanup",
        "Exit status:",
    ] {
        assert!(
            o.stdout.contains(needle),
            "--help lacks {needle:?}:\n{}",
            o.stdout
        );
    }
    let o = run(&["--info", "-H", "localhost:2,192.0.2.1:4"], LIMIT);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let cpus = rsm_launcher::bind::allowed_cpus().unwrap();
    assert!(o.stdout.starts_with(&format!(
        "rsmrun {} (key-value protocol 1, proxy protocol 1)\n",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(
        o.stdout.contains(&format!("cpus: {} usable", cpus.len())),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("  localhost slots=2 (this machine)"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("  192.0.2.1 slots=4 (remote)"),
        "{}",
        o.stdout
    );
}

#[test]
fn bind_to_core_gives_each_local_rank_its_own_core() {
    let allowed = rsm_launcher::bind::allowed_cpus().unwrap();
    let cores = rsm_launcher::bind::cores(&allowed);
    let n = cores.len().min(4);
    let ns = n.to_string();
    let parse = |o: &Outcome| -> Vec<Vec<usize>> {
        let mut v: Vec<(usize, Vec<usize>)> = o
            .lines()
            .iter()
            .map(|l| {
                let f = report_fields(l);
                let cpus = f["cpus"].split(',').map(|c| c.parse().unwrap()).collect();
                (f["rank"].parse().unwrap(), cpus)
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, c)| c).collect()
    };
    let o = run(
        &["-n", &ns, "--bind-to", "core", TESTRANK, "--affinity"],
        LIMIT,
    );
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(parse(&o), cores[..n].to_vec());
    let o = run(&["-n", &ns, TESTRANK, "--affinity"], LIMIT);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(parse(&o), vec![allowed.clone(); n]);
}

#[test]
fn ssh_path_through_a_stand_in_agent() {
    // A launch agent that behaves like ssh for this command line: drops the host and runs the
    // remote command string with sh. It exercises the remote-shell path (quoting, the env
    // prefix) without an sshd; the real sshd runs in tests/multihost.rs.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("agent.log");
    let agent = script(
        dir.path(),
        "fake-ssh",
        &format!(
            "#!/bin/sh\n# fake ssh: [options] host command\nwhile [ \"${{1#-}}\" != \"$1\" ]; do shift; done\nhost=$1; shift\necho \"$host $*\" >> {}\necho \"Welcome to $host\"\nexec sh -c \"$*\"\n",
            log.display()
        ),
    );
    let mut c = rsmrun_cmd(&[
        "--launcher",
        "ssh",
        "--launch-agent",
        agent.to_str().unwrap(),
        "-H",
        "alpha:2,beta:2",
        TESTRANK,
        "--report",
        "--exchange",
    ]);
    c.env("RSM_SHM_NAMESPACE", "it's ns");
    let o = spawn(c).wait(LIMIT);
    assert_exchange(&o, 4);
    let hosts: Vec<String> = reports(&o).iter().map(|m| m["host"].clone()).collect();
    assert_eq!(hosts, ["alpha", "alpha", "beta", "beta"]);
    // A login banner on stdout is reported, not mistaken for a frame.
    for host in ["alpha", "beta"] {
        assert!(
            o.stderr.contains(&format!(
                "rsmrun: host {host}: unexpected output from the remote shell: Welcome to {host}"
            )),
            "{}",
            o.stderr
        );
    }
    let log = std::fs::read_to_string(&log).unwrap();
    let mut lines: Vec<&str> = log.lines().collect();
    lines.sort();
    assert_eq!(lines.len(), 2, "{log}");
    for (line, host) in lines.iter().zip(["alpha", "beta"]) {
        assert_eq!(
            *line,
            format!("{host} env 'RSM_SHM_NAMESPACE=it'\\''s ns' {RSMRUN} --proxy")
        );
    }

    // An agent that cannot reach the host: clear error, exit 1.
    let o = run(
        &[
            "--launcher",
            "ssh",
            "--launch-agent",
            "sh -c 'echo no route to host $0 >&2; exit 255'",
            "-H",
            "nowhere:2",
            TESTRANK,
        ],
        LIMIT,
    );
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    assert!(
        o.stderr
            .contains("rsmrun: host nowhere: no route to host nowhere"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr
            .contains("could not start rsmrun on host nowhere: sh ended (exit status: 255)"),
        "{}",
        o.stderr
    );
}

#[test]
fn a_host_that_never_starts_is_given_up_after_the_launch_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("agent.pid");
    // The agent hangs (as ssh does on an unreachable host without a ConnectTimeout).
    let agent = script(
        dir.path(),
        "hang",
        &format!(
            "#!/bin/sh\necho $$ > {}\nexec sleep 120\n",
            marker.display()
        ),
    );
    let o = run(
        &[
            "--launcher",
            "ssh",
            "--launch-agent",
            agent.to_str().unwrap(),
            "--launch-timeout",
            "1",
            "-H",
            "slow:1",
            TESTRANK,
        ],
        LIMIT,
    );
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    assert!(
        o.stderr
            .contains("rsmrun: host slow: the proxy did not start within 1 s; giving up on it"),
        "{}",
        o.stderr
    );
    assert!(o.elapsed < Duration::from_secs(10), "{:?}", o.elapsed);
    let pid: i32 = std::fs::read_to_string(&marker)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false);
    assert!(!alive, "the launch agent {pid} was left running");
}

#[test]
fn slurm_allocation_uses_srun() {
    // There is no Slurm controller here: a stand-in srun on PATH does what the real one does
    // for this command line (run the command on the node named by --nodelist, here locally)
    // and logs its arguments.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("srun.log");
    script(
        dir.path(),
        "srun",
        &format!(
            "#!/bin/sh\necho \"$*\" >> {}\nnode=\nwhile [ $# -gt 0 ]; do\n  case \"$1\" in\n    --nodelist=*) node=${{1#--nodelist=}}; shift;;\n    -*) shift;;\n    *) break;;\n  esac\ndone\nSLURMD_NODENAME=$node exec \"$@\"\n",
            log.display()
        ),
    );
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = rsmrun_cmd(&[TESTRANK, "--report", "--exchange"]);
    c.env("PATH", &path)
        .env("SLURM_JOB_ID", "4242")
        .env("SLURM_JOB_NODELIST", "fake[1-2]")
        .env("SLURM_TASKS_PER_NODE", "2(x2)");
    let o = spawn(c).wait(LIMIT);
    assert_exchange(&o, 4);
    let reps = reports(&o);
    let got: Vec<(String, String)> = reps
        .iter()
        .map(|m| (m["host"].clone(), m["node_id"].clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("fake1".to_string(), "0".to_string()),
            ("fake1".into(), "0".into()),
            ("fake2".into(), "1".into()),
            ("fake2".into(), "1".into())
        ]
    );
    let log = std::fs::read_to_string(&log).unwrap();
    let mut lines: Vec<&str> = log.lines().collect();
    lines.sort();
    for (line, node) in lines.iter().zip(["fake1", "fake2"]) {
        assert_eq!(
            *line,
            format!(
                "--nodes=1 --ntasks=1 --nodelist={node} --cpus-per-task=2 --cpu-bind=none --kill-on-bad-exit=1 --overlap env {RSMRUN} --proxy"
            )
        );
    }
    assert_eq!(lines.len(), 2);

    // Without SLURM_JOB_ID the same PATH does not switch to srun.
    let mut c = rsmrun_cmd(&["-n", "1", TESTRANK, "--report"]);
    c.env("PATH", &path).env_remove("SLURM_JOB_ID");
    let o = spawn(c).wait(LIMIT);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(o.stdout.contains("host=localhost"));
}

/// Names of `namespace` in the shared-memory directory.
fn shm_names(namespace: &str) -> Vec<String> {
    let prefix = format!("rsm.{namespace}.");
    let mut v: Vec<String> = std::fs::read_dir("/dev/shm")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    v.sort();
    v
}

#[test]
fn segments_left_by_crashed_ranks_are_removed_after_the_job() {
    let ns = format!("jobleak{}", std::process::id());
    assert_eq!(shm_names(&ns), Vec::<String>::new());
    let pids = PidDir::new();
    let mut cmd = rsmrun_cmd(&[
        "-n",
        "2",
        TESTRANK,
        "--pid-dir",
        &pids.arg(),
        "--leak-segment",
        "--fence",
        "--fail-rank",
        "1",
        "--kill-self",
        "9",
        "--sleep",
        "120",
    ]);
    cmd.env("RSM_SHM_NAMESPACE", &ns);
    let o = spawn(cmd).wait(LIMIT);
    assert_eq!(o.code, Some(128 + 9), "{}", o.stderr);
    // Both ranks published a segment and died without destroying it (rank 1 by SIGKILL,
    // rank 0 stopped by rsmrun); each segment is a data file plus its event FIFO.
    for r in 0..2 {
        assert!(
            o.stdout.contains(&format!("rank {r} leaked segment 0x8")),
            "{}",
            o.stdout
        );
    }
    assert_eq!(pids.alive_after(Duration::from_secs(5)), vec![]);
    assert_eq!(
        shm_names(&ns),
        Vec::<String>::new(),
        "left behind after the job"
    );
}
