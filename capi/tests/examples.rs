//! Builds the C examples of `examples/c/` with the system C compiler against `capi/include`
//! and the staged `librsm.so.2`, and runs them as separate processes:
//!
//! * `exporter` and `importer` (the program flow of SPEC.md §6): the exporter publishes and
//!   waits, the importer writes a line read from its standard input and signals; the exporter
//!   must print that line. Once with the default segment id, once with an id on the command
//!   line.
//! * `put_latency`: runs a short timing loop (its figures are printed, not judged).
//!
//! Every process runs in its own process group and is killed (with its group) at its time
//! limit or when the test fails; each run uses its own `RSM_SHM_NAMESPACE` and must leave
//! nothing in `/dev/shm`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

const LIMIT: Duration = Duration::from_secs(30);

fn examples_dir() -> PathBuf {
    manifest_dir().join("..").join("examples").join("c")
}

/// Compiles `examples/c/<name>.c` into `out`, linked with `-lrsm` from the staging directory.
fn build(name: &str, out: &Path) -> PathBuf {
    let lib = staged_lib_dir();
    let exe = out.join(name);
    let mut cmd = cc(["-std=gnu11", "-O2", "-o"]);
    cmd.arg(&exe)
        .arg(examples_dir().join(format!("{name}.c")))
        .arg("-L")
        .arg(lib)
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-lrsm");
    run_ok(&mut cmd, TOOL_TIMEOUT);
    exe
}

/// A child in its own process group, killed with the group when dropped.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

fn spawn(exe: &Path, args: &[&str], ns: &str) -> Group {
    let child = Command::new(exe)
        .args(args)
        .env("RSM_SHM_NAMESPACE", ns)
        .env("RSM_NODE_ID", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
    Group(child)
}

/// Lines of a child's standard output as they come.
fn lines(child: &mut Group) -> mpsc::Receiver<String> {
    let out = child.0.stdout.take().expect("stdout piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn stderr_of(child: &mut Group) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.0.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut s);
    }
    s
}

/// Waits for the child's exit; panics at the deadline.
fn wait_exit(child: &mut Group, what: &str, deadline: Instant) -> i32 {
    loop {
        if let Some(status) = child.0.try_wait().expect("try_wait") {
            return status.code().unwrap_or(-1);
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not finish in time: {}",
            stderr_of(child)
        );
        thread::sleep(Duration::from_millis(5));
    }
}

fn exporter_and_importer(exporter: &Path, importer: &Path, id_arg: Option<&str>, tag: &str) {
    let ns = format!("capi-example-{tag}-{}", std::process::id());
    let args: Vec<&str> = id_arg.into_iter().collect();
    let deadline = Instant::now() + LIMIT;

    let mut exp = spawn(exporter, &args, &ns);
    let exp_lines = lines(&mut exp);
    let first = exp_lines
        .recv_timeout(LIMIT)
        .unwrap_or_else(|_| panic!("exporter printed nothing: {}", stderr_of(&mut exp)));
    let id = id_arg.unwrap_or("0x400000");
    assert_eq!(
        first,
        format!("exporter: segment {id} (8192 bytes) published on node 0, waiting"),
        "exporter's first line"
    );

    let mut imp = spawn(importer, &args, &ns);
    let imp_lines = lines(&mut imp);
    {
        let mut stdin = imp.0.stdin.take().expect("stdin piped");
        stdin
            .write_all(b"hello from the importer\n")
            .expect("write the importer's input");
    }
    let imp_status = wait_exit(&mut imp, "importer", deadline);
    let imp_err = stderr_of(&mut imp);
    let imp_out: Vec<String> = imp_lines.try_iter().collect();
    assert_eq!(imp_status, 0, "importer failed: {imp_out:?} {imp_err}");
    assert_eq!(
        imp_out,
        [format!(
            "importer: wrote 24 bytes to segment {id} on node 0"
        )]
    );

    let exp_status = wait_exit(&mut exp, "exporter", deadline);
    let exp_err = stderr_of(&mut exp);
    let exp_out: Vec<String> = exp_lines.try_iter().collect();
    assert_eq!(exp_status, 0, "exporter failed: {exp_out:?} {exp_err}");
    assert_eq!(exp_out, ["exporter: received: hello from the importer"]);

    assert_eq!(
        shm_leftovers(&ns),
        Vec::<String>::new(),
        "names left behind"
    );
}

#[test]
fn exporter_and_importer_examples_talk_across_processes() {
    let out = scratch_dir("examples");
    let exporter = build("exporter", &out);
    let importer = build("importer", &out);
    exporter_and_importer(&exporter, &importer, None, "default");
    exporter_and_importer(&exporter, &importer, Some("0x400123"), "id");
}

#[test]
fn put_latency_example_runs() {
    let out = scratch_dir("examples-latency");
    let exe = build("put_latency", &out);
    let ns = format!("capi-example-latency-{}", std::process::id());
    let mut cmd = Command::new(&exe);
    cmd.args(["2000", "8"])
        .env("RSM_SHM_NAMESPACE", &ns)
        .env("RSM_NODE_ID", "0");
    let output = run_ok(&mut cmd, LIMIT);
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{output}");
    for (line, what) in lines.iter().zip([
        "put 8 B, implicit barrier mode: ",
        "get 8 B, implicit barrier mode: ",
        "put 8 B, explicit barrier mode: ",
    ]) {
        let figure = line
            .strip_prefix(what)
            .and_then(|rest| rest.strip_suffix(" ns per call"))
            .unwrap_or_else(|| panic!("unexpected line {line:?}\n{output}"));
        let ns: f64 = figure.parse().unwrap_or_else(|_| panic!("{line:?}"));
        assert!(ns.is_finite() && ns > 0.0, "{line:?}");
    }
    assert_eq!(shm_leftovers(&ns), Vec::<String>::new());
}
