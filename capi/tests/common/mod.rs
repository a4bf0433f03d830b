//! Shared helpers of the rsm-capi integration tests: locating and staging `librsm.so.2`,
//! compiling C programs against `capi/include`, and running processes with a timeout.
//!
//! Every child process runs in its own process group; when its time is up the whole group is
//! killed (a C test that forks cannot leave children behind) and the test fails with
//! everything the process printed.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::symlink;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Time limit for compiler and binutils invocations.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

/// Default time limit of a C test program (override with `rsm-test: timeout=<seconds>`).
pub const C_TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `capi/`.
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `capi/include`, the directory C programs are compiled against.
pub fn include_dir() -> PathBuf {
    manifest_dir().join("include")
}

/// A fresh, empty scratch directory `target/tmp/rsm-capi/<name>`.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("rsm-capi")
        .join(name);
    match fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => panic!("cannot clear {}: {e}", dir.display()),
    }
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// `target/<profile>`: the test executable lives in `target/<profile>/deps/`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test executable");
    exe.parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("unexpected test executable location {}", exe.display()))
        .to_path_buf()
}

/// The `librsm.so` cargo built for this test run (`target/<profile>/deps/librsm.so`; cargo
/// builds the library, cdylib included, before it runs integration tests).
pub fn built_library() -> PathBuf {
    let lib = profile_dir().join("deps").join("librsm.so");
    assert!(
        lib.is_file(),
        "{} is missing: the rsm-capi cdylib was not built",
        lib.display()
    );
    lib
}

/// Installs `library` into `lib_dir` the way `cc ... -lrsm` needs it: the file
/// `librsm.so.2` (the soname) and the development link `librsm.so -> librsm.so.2`. Both are
/// replaced atomically, so concurrent stagings never expose a half-written file.
pub fn stage_library(library: &Path, lib_dir: &Path) -> PathBuf {
    fs::create_dir_all(lib_dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", lib_dir.display()));
    let unique =
        format!("{}.{:?}", std::process::id(), thread::current().id()).replace(['(', ')'], "");

    let tmp_file = lib_dir.join(format!(".librsm.so.2.{unique}"));
    fs::copy(library, &tmp_file).unwrap_or_else(|e| {
        panic!(
            "cannot copy {} to {}: {e}",
            library.display(),
            tmp_file.display()
        )
    });
    fs::rename(&tmp_file, lib_dir.join("librsm.so.2"))
        .unwrap_or_else(|e| panic!("cannot install librsm.so.2 in {}: {e}", lib_dir.display()));

    let tmp_link = lib_dir.join(format!(".librsm.so.{unique}"));
    symlink("librsm.so.2", &tmp_link)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", tmp_link.display()));
    fs::rename(&tmp_link, lib_dir.join("librsm.so"))
        .unwrap_or_else(|e| panic!("cannot install librsm.so in {}: {e}", lib_dir.display()));
    lib_dir.to_path_buf()
}

/// `target/<profile>/capi/lib`, holding the staged library of this build (staged once per
/// test process).
pub fn staged_lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| stage_library(&built_library(), &profile_dir().join("capi").join("lib")))
}

/// What a finished (or killed) process left behind.
#[derive(Debug)]
pub struct Output {
    /// The command line, for reports.
    pub command: String,
    /// Exit status; `None` if it had to be killed at the time limit.
    pub status: Option<ExitStatus>,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
    /// Wall time.
    pub elapsed: Duration,
    /// The time limit it ran under.
    pub timeout: Duration,
    /// False if a process that left the process group kept the output pipes open.
    pub pipes_closed: bool,
}

impl Output {
    /// Exited normally with status 0 and left no process holding its output.
    pub fn success(&self) -> bool {
        self.pipes_closed && self.status.is_some_and(|s| s.success())
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.command)?;
        match self.status {
            None => writeln!(
                f,
                "-> killed after the time limit of {:?} (ran {:?})",
                self.timeout, self.elapsed
            )?,
            Some(s) => match (s.code(), s.signal()) {
                (Some(code), _) => writeln!(f, "-> exit status {code} after {:?}", self.elapsed)?,
                (None, Some(sig)) => {
                    writeln!(f, "-> killed by signal {sig} after {:?}", self.elapsed)?
                }
                (None, None) => writeln!(f, "-> {s} after {:?}", self.elapsed)?,
            },
        }
        if !self.pipes_closed {
            writeln!(
                f,
                "-> a process that left the process group still holds the output"
            )?;
        }
        writeln!(f, "--- stdout ---\n{}", self.stdout.trim_end())?;
        write!(f, "--- stderr ---\n{}", self.stderr.trim_end())
    }
}

fn describe(cmd: &Command) -> String {
    let mut words = vec![cmd.get_program().to_string_lossy().into_owned()];
    words.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

/// Reads `source` to the end on a thread; the result arrives on the returned channel.
fn drain<R: Read + Send + 'static>(source: Option<R>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut source) = source {
            // A read error only truncates what the report shows.
            let _ = source.read_to_end(&mut buf);
        }
        let _ = tx.send(buf);
    });
    rx
}

/// The drained output, or `None` if a process that left the group still holds the pipe.
fn collect(rx: &mpsc::Receiver<Vec<u8>>) -> Option<String> {
    rx.recv_timeout(Duration::from_secs(5))
        .ok()
        .map(|buf| String::from_utf8_lossy(&buf).into_owned())
}

fn kill_group(child: &Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // The group may already be gone (ESRCH); nothing else can fail here.
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// Runs `cmd` (stdin from /dev/null, output captured) in a new process group and waits at most
/// `timeout`; then the group is killed. Errors only if the program cannot be started.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    let command = describe(cmd);
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start `{command}`: {e}"))?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());

    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() >= timeout => break None,
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                kill_group(&child);
                let _ = child.wait();
                return Err(format!("waiting for `{command}` failed: {e}"));
            }
        }
    };
    // Also on success: a C test must not leave processes of its group running.
    kill_group(&child);
    if status.is_none() {
        let _ = child.wait();
    }
    let elapsed = start.elapsed();
    let stdout = collect(&out);
    let stderr = collect(&err);
    let pipes_closed = stdout.is_some() && stderr.is_some();
    let lost = || "(unavailable: a process that left the process group holds the pipe)".to_owned();
    let stdout = stdout.unwrap_or_else(lost);
    let stderr = stderr.unwrap_or_else(lost);
    Ok(Output {
        command,
        status,
        stdout,
        stderr,
        elapsed,
        timeout,
        pipes_closed,
    })
}

/// Runs `cmd` and panics with its whole output unless it exits with status 0.
pub fn run_ok(cmd: &mut Command, timeout: Duration) -> Output {
    let output = run(cmd, timeout).unwrap_or_else(|e| panic!("{e}"));
    assert!(output.success(), "command failed:\n{output}");
    output
}

/// The C compiler: `$CC`, else `cc`.
pub fn cc_program() -> String {
    std::env::var("CC")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "cc".to_owned())
}

/// A `cc` command with the include path, warnings as errors and `extra` arguments.
pub fn cc<I, S>(extra: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(cc_program());
    cmd.arg("-I").arg(include_dir());
    cmd.args(["-Wall", "-Wextra", "-Werror"]);
    cmd.args(extra);
    cmd
}

/// How a C test program wants to be built and run, from its `rsm-test:` comment line, e.g.
/// `/* rsm-test: link timeout=60 */`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// Link against the staged `librsm.so` and define `RSM_TEST_LINK`.
    pub link: bool,
    /// Time limit of the run.
    pub timeout: Duration,
}

/// Parses the `rsm-test:` line of a C source (at most one; missing means header-only, default
/// timeout).
pub fn parse_directives(source: &str) -> Result<Directives, String> {
    let mut found = None;
    for line in source.lines() {
        if let Some(pos) = line.find("rsm-test:") {
            if found.is_some() {
                return Err("more than one `rsm-test:` line".to_owned());
            }
            found = Some(line[pos + "rsm-test:".len()..].replace("*/", ""));
        }
    }
    let mut directives = Directives {
        link: false,
        timeout: C_TEST_TIMEOUT,
    };
    for word in found.unwrap_or_default().split_whitespace() {
        if word == "link" {
            directives.link = true;
        } else if let Some(secs) = word.strip_prefix("timeout=") {
            let secs: u64 = secs
                .parse()
                .map_err(|_| format!("bad timeout `{secs}` in `rsm-test:` line"))?;
            if secs == 0 {
                return Err("timeout=0 in `rsm-test:` line".to_owned());
            }
            directives.timeout = Duration::from_secs(secs);
        } else {
            return Err(format!("unknown word `{word}` in `rsm-test:` line"));
        }
    }
    Ok(directives)
}

/// Names under `/dev/shm` that belong to namespace `ns` (`rsm.<ns>.*`, docs/architecture.md).
pub fn shm_leftovers(ns: &str) -> Vec<String> {
    let prefix = format!("rsm.{ns}.");
    let Ok(entries) = fs::read_dir("/dev/shm") else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&prefix))
        .collect();
    names.sort();
    names
}

/// Compiles `source` into `out_dir` as directed and runs it. `Ok` carries the run's output;
/// `Err` a report with everything the compiler or the program printed.
pub fn build_and_run_c_test(source: &Path, out_dir: &Path) -> Result<Output, String> {
    let name = source
        .file_stem()
        .and_then(OsStr::to_str)
        .ok_or_else(|| format!("odd file name {}", source.display()))?
        .to_owned();
    let text = fs::read_to_string(source)
        .map_err(|e| format!("{name}: cannot read {}: {e}", source.display()))?;
    let directives = parse_directives(&text).map_err(|e| format!("{name}: {e}"))?;

    let exe = out_dir.join(&name);
    let mut compile = cc(["-std=gnu11", "-g", "-o"]);
    compile.arg(&exe).arg(source);
    if directives.link {
        let lib_dir = staged_lib_dir();
        compile.arg("-DRSM_TEST_LINK");
        compile.arg("-L").arg(lib_dir);
        compile.arg(format!("-Wl,-rpath,{}", lib_dir.display()));
        compile.arg("-lrsm");
    }
    let built = run(&mut compile, TOOL_TIMEOUT)?;
    if !built.success() {
        return Err(format!("{name}: compilation failed\n{built}"));
    }

    let namespace = format!("capi-{name}-{}", std::process::id());
    let mut program = Command::new(&exe);
    program
        .current_dir(out_dir)
        .env("RSM_SHM_NAMESPACE", &namespace)
        .env("RSM_NODE_ID", "0");
    let ran = run(&mut program, directives.timeout)?;
    let leftovers = shm_leftovers(&namespace);
    if !ran.success() {
        return Err(format!("{name}: failed\n{ran}"));
    }
    if !leftovers.is_empty() {
        return Err(format!(
            "{name}: left shared-memory names behind in /dev/shm: {leftovers:?}\n{ran}"
        ));
    }
    Ok(ran)
}

/// `capi/tests/c/*.c`, sorted.
pub fn c_test_sources() -> Vec<PathBuf> {
    let dir = manifest_dir().join("tests").join("c");
    let mut sources: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension() == Some(OsStr::new("c")))
        .collect();
    sources.sort();
    sources
}

/// `#define NAME VALUE` lines and `NAME = VALUE` enumerators of a header, in order, comments
/// removed. Defines without a value (include guards) are skipped.
pub fn header_constants(text: &str) -> Vec<(String, String)> {
    let text = strip_c_comments(text);
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("#define") {
            let rest = rest.trim_start();
            let name_end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let (name, value) = rest.split_at(name_end);
            let value = value.trim();
            if !name.is_empty() && !value.is_empty() {
                out.push((name.to_owned(), value.to_owned()));
            }
        } else if let Some((lhs, rhs)) = line.split_once('=') {
            let name = lhs.trim();
            let is_enumerator = name.starts_with(|c: char| c.is_ascii_uppercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if is_enumerator {
                out.push((
                    name.to_owned(),
                    rhs.trim().trim_end_matches(',').trim().to_owned(),
                ));
            }
        }
    }
    out
}

/// Evaluates a constant as written in our headers: a decimal, octal (`0400`) or hex literal,
/// a name already in `known`, or a parenthesized `|`-combination of those.
pub fn eval_constant(value: &str, known: &BTreeMap<String, i128>) -> Result<i128, String> {
    let value = value.trim();
    let inner = value
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .unwrap_or(value);
    let mut result = 0_i128;
    for term in inner.split('|') {
        let term = term.trim();
        let number = if let Some(hex) = term.strip_prefix("0x").or_else(|| term.strip_prefix("0X"))
        {
            i128::from_str_radix(hex, 16).ok()
        } else if term.len() > 1 && term.starts_with('0') {
            i128::from_str_radix(&term[1..], 8).ok()
        } else if term.chars().all(|c| c.is_ascii_digit()) && !term.is_empty() {
            term.parse().ok()
        } else {
            known.get(term).copied()
        };
        result |= number.ok_or_else(|| format!("cannot evaluate `{term}` in `{value}`"))?;
    }
    Ok(result)
}

/// Removes `/* */` and `//` comments, keeping line breaks (our headers have no string
/// literals containing comment markers).
pub fn strip_c_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = [rest.find("/*"), rest.find("//")]
            .into_iter()
            .flatten()
            .min();
        let Some(start) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..start]);
        let (comment, after) = if rest[start..].starts_with("/*") {
            match rest[start + 2..].find("*/") {
                Some(end) => rest[start..].split_at(2 + end + 2),
                None => (&rest[start..], ""),
            }
        } else {
            match rest[start..].find('\n') {
                Some(end) => rest[start..].split_at(end),
                None => (&rest[start..], ""),
            }
        };
        out.extend(comment.chars().filter(|&c| c == '\n'));
        rest = after;
        if rest.is_empty() {
            return out;
        }
    }
}
