//! The `rsmrun` command line and turning it into a [`JobPlan`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};
use rsm_core::bootstrap::LAUNCHER_VARS;

use crate::hosts::{self, Host, HostEntry, MapBy};
use crate::job::{self, HostPlan, JobPlan, Via};
use crate::output::Mode;
use crate::proto::{self, BindTo};

/// Default remote shell for `--launcher ssh`.
pub const DEFAULT_SSH: &str = "ssh -x -T -o BatchMode=yes";
/// Default agent for `--launcher slurm`.
pub const DEFAULT_SRUN: &str = "srun";

const EXAMPLES: &str = "\
Examples:
  rsmrun -n 4 ./app arg1               4 ranks of ./app on this machine
  rsmrun -n 8 --tag-output hostname    every output line prefixed with [rank]
  rsmrun -H node1:4,node2:4 ./app      8 ranks on two hosts (ssh), 4 per host
  rsmrun --hostfile hosts -n 16 --map-by node ./app
                                       hostfile lines: `node1 slots=8`
  rsmrun -H n1,n2 --launch-agent \"ssh -p 2222 -i ~/.ssh/cluster\" ./app
  rsmrun -n 4 --bind-to core -x OMP_NUM_THREADS=1 -x LD_LIBRARY_PATH ./app
  rsmrun -n 2 --timeout 60 --output-dir logs ./app
                                       logs/rank.0.log, logs/rank.1.log
  rsmrun --info                        version, CPUs and cores (hwloc topology
                                       when built with the hwloc feature)

Ranks find their place in the job in RSM_RANK, RSM_SIZE, RSM_LOCAL_RANK,
RSM_LOCAL_SIZE, RSM_NODE_ID, RSM_NODE_COUNT, RSM_KVS_ADDR, RSM_JOB_SECRET and
RSM_JOB_ID (see docs/bootstrap.md); rsm_core::bootstrap::Bootstrap reads them.
Every RSM_* variable of rsmrun's environment is passed on to all ranks.

Exit status: 0 when every rank exits 0; otherwise the first failing rank's code
(128+N for a rank killed by signal N); 124 after --timeout; 128+N when rsmrun
itself got signal N; the abort code after Bootstrap::abort; 127/126 when the
program is not found / not executable; 1 when a host could not be started or
was lost; 2 for usage errors.";

/// Which mechanism starts the per-host proxies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Launcher {
    /// srun inside a Slurm allocation (SLURM_JOB_ID set and srun in PATH); otherwise this
    /// machine's hosts directly and other hosts over ssh.
    Auto,
    /// Start every host's proxy on this machine (host names are only labels).
    Local,
    /// Start every host's proxy over ssh (or --launch-agent), this machine included.
    Ssh,
    /// Start every host's proxy with srun.
    Slurm,
}

/// Command line of `rsmrun`.
#[derive(Debug, Parser)]
#[command(
    name = "rsmrun",
    version,
    about = "Run a program as a job of N ranks on one or more hosts (an mpirun for rsm).",
    override_usage = "rsmrun [OPTIONS] PROGRAM [ARGS]...\n       rsmrun --info [-H HOSTS]",
    after_help = EXAMPLES,
)]
pub struct Cli {
    /// Number of ranks (default: the hosts' slots, or this machine's CPUs). `-np` works too.
    #[arg(short = 'n', long = "np", value_name = "N")]
    pub np: Option<usize>,

    /// Hosts, each with an optional slot count: host[:slots],... (repeatable).
    #[arg(short = 'H', long = "host", value_name = "HOST[:SLOTS],...", action = ArgAction::Append)]
    pub host: Vec<String>,

    /// File with one host per line, optionally followed by `slots=N`; `#` comments.
    #[arg(long, visible_alias = "machinefile", value_name = "FILE")]
    pub hostfile: Option<PathBuf>,

    /// Place ranks filling each host's slots first (slot) or round robin over hosts (node).
    #[arg(long, value_enum, default_value_t = MapBy::Slot, value_name = "POLICY")]
    pub map_by: MapBy,

    /// Pin each local rank to its own core (core) or not at all (none).
    #[arg(long, value_enum, default_value_t = BindTo::None, value_name = "POLICY")]
    pub bind_to: BindTo,

    /// Allow more ranks than slots.
    #[arg(long)]
    pub oversubscribe: bool,

    /// Export VAR (from rsmrun's environment) or set VAR=value for every rank (repeatable).
    #[arg(short = 'x', value_name = "VAR[=VALUE]", action = ArgAction::Append)]
    pub export: Vec<String>,

    /// Prefix every output line with `[rank] `.
    #[arg(long)]
    pub tag_output: bool,

    /// Write each rank's stdout and stderr to DIR/rank.N.log instead of the terminal.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// Kill the job after this many seconds (exit status 124).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,

    /// Seconds between SIGTERM and SIGKILL when the job is stopped.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    pub grace: f64,

    /// Seconds a host may take to start its proxy.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub launch_timeout: f64,

    /// When a rank fails, let the others run on (rsmrun still exits with the first failure's
    /// code, and --timeout still applies).
    #[arg(long)]
    pub disable_auto_cleanup: bool,

    /// How to start the per-host proxies.
    #[arg(long, value_enum, default_value_t = Launcher::Auto, value_name = "HOW")]
    pub launcher: Launcher,

    /// Command used to reach a host, e.g. "ssh -p 2222 -i KEY" (default: "ssh -x -T -o
    /// BatchMode=yes"; with --launcher slurm: "srun").
    #[arg(long, value_name = "COMMAND")]
    pub launch_agent: Option<String>,

    /// Path of rsmrun on the other hosts (default: this rsmrun's absolute path).
    #[arg(long, value_name = "PATH")]
    pub proxy_path: Option<String>,

    /// Working directory of the ranks (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub wdir: Option<PathBuf>,

    /// Print version, CPUs, cores and (with hwloc) the topology, then exit.
    #[arg(long)]
    pub info: bool,

    /// More messages (-vv: also from the proxies).
    #[arg(short = 'v', long, action = ArgAction::Count)]
    pub verbose: u8,

    /// The program (found in PATH like a shell does, or a path) and its arguments.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PROGRAM"
    )]
    pub command: Vec<String>,
}

/// Options that take a value, to find where the program starts.
const VALUE_OPTIONS: &[&str] = &[
    "-n",
    "--np",
    "-H",
    "--host",
    "--hostfile",
    "--machinefile",
    "--map-by",
    "--bind-to",
    "-x",
    "--output-dir",
    "--timeout",
    "--grace",
    "--launch-timeout",
    "--launcher",
    "--launch-agent",
    "--proxy-path",
    "--wdir",
];

/// Rewrites mpirun's single-dash `-np` into `--np` (only among rsmrun's own options, never
/// in the program's arguments).
pub fn normalize_args(args: Vec<OsString>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.into_iter();
    if let Some(a0) = iter.next() {
        out.push(a0);
    }
    let mut expect_value = false;
    let mut in_program = false;
    for a in iter {
        if in_program {
            out.push(a);
            continue;
        }
        if expect_value {
            expect_value = false;
            out.push(a);
            continue;
        }
        let s = a.to_string_lossy();
        if s == "--" || !s.starts_with('-') || s == "-" {
            in_program = true;
            out.push(a);
            continue;
        }
        if s == "-np" {
            out.push(OsString::from("--np"));
            expect_value = true;
            continue;
        }
        if let Some(v) = s.strip_prefix("-np=") {
            out.push(OsString::from(format!("--np={v}")));
            continue;
        }
        if VALUE_OPTIONS.contains(&s.as_ref()) {
            expect_value = true;
        }
        out.push(a);
    }
    out
}

/// A usage error: message for the user, exit status 2.
#[derive(Debug)]
pub struct UsageError(pub String);

fn secs(v: f64, what: &str) -> Result<Duration, UsageError> {
    if v.is_finite() && v > 0.0 && v < 1e9 {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(UsageError(format!(
            "{what} must be a positive number of seconds, not {v}"
        )))
    }
}

/// Whether `prog` is an executable file in `PATH`.
pub fn in_path(prog: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").ok()?;
    path.split(':')
        .map(|d| Path::new(if d.is_empty() { "." } else { d }).join(prog))
        .find(|p| {
            p.is_file() && nix::unistd::access(p.as_path(), nix::unistd::AccessFlags::X_OK).is_ok()
        })
}

/// Whether we run inside a Slurm allocation where srun can start the proxies.
pub fn in_slurm() -> bool {
    std::env::var_os("SLURM_JOB_ID").is_some() && in_path("srun").is_some()
}

/// The hosts from -H / --hostfile (or the Slurm allocation, or this machine).
pub fn collect_hosts(cli: &Cli, use_slurm: bool) -> Result<Vec<Host>, UsageError> {
    let mut entries: Vec<HostEntry> = Vec::new();
    for h in &cli.host {
        entries.extend(hosts::parse_host_list(h).map_err(UsageError)?);
    }
    if let Some(f) = &cli.hostfile {
        let text = std::fs::read_to_string(f)
            .map_err(|e| UsageError(format!("cannot read hostfile {}: {e}", f.display())))?;
        entries.extend(hosts::parse_hostfile(&text, &f.display().to_string()).map_err(UsageError)?);
    }
    if !entries.is_empty() {
        return Ok(hosts::merge_hosts(&entries));
    }
    if use_slurm {
        return hosts::slurm_hosts(|k| std::env::var(k).ok())
            .map_err(|e| UsageError(format!("Slurm allocation: {e}")));
    }
    Ok(vec![Host {
        name: "localhost".to_string(),
        slots: None,
    }])
}

/// Builds the job from the command line.
pub fn plan(cli: &Cli) -> Result<JobPlan, UsageError> {
    let Some((program, args)) = cli.command.split_first() else {
        return Err(UsageError(
            "no program given (try `rsmrun --help`)".to_string(),
        ));
    };
    let use_slurm = match cli.launcher {
        Launcher::Slurm => {
            if in_path(DEFAULT_SRUN).is_none() && cli.launch_agent.is_none() {
                return Err(UsageError(
                    "--launcher slurm: srun is not in PATH".to_string(),
                ));
            }
            true
        }
        Launcher::Auto => in_slurm(),
        _ => false,
    };
    let hosts = collect_hosts(cli, use_slurm)?;
    let n = match cli.np {
        Some(0) => return Err(UsageError("-n must be at least 1".to_string())),
        Some(n) => n,
        None => {
            let total: Option<usize> = hosts.iter().map(|h| h.slots).sum();
            match total {
                Some(t) => t,
                None => crate::bind::allowed_cpus()
                    .map(|c| c.len())
                    .unwrap_or(1)
                    .max(1),
            }
        }
    };
    if n > u32::MAX as usize / 2 {
        return Err(UsageError(format!("-n {n} is too large")));
    }
    let placement =
        hosts::map_ranks(&hosts, n, cli.map_by, cli.oversubscribe).map_err(UsageError)?;

    let agent_words = |default: &str| -> Result<Vec<String>, UsageError> {
        let text = cli.launch_agent.as_deref().unwrap_or(default);
        let w = proto::split_words(text).map_err(|e| UsageError(format!("--launch-agent: {e}")))?;
        if w.is_empty() {
            return Err(UsageError("--launch-agent is empty".to_string()));
        }
        Ok(w)
    };
    let mut plans: Vec<HostPlan> = Vec::new();
    for (hi, host) in hosts.iter().enumerate() {
        let ranks: Vec<u32> = placement
            .iter()
            .enumerate()
            .filter(|(_, h)| **h == hi)
            .map(|(r, _)| r as u32)
            .collect();
        if ranks.is_empty() {
            continue;
        }
        let via = match cli.launcher {
            Launcher::Local => Via::Local,
            Launcher::Ssh => Via::Ssh(agent_words(DEFAULT_SSH)?),
            Launcher::Slurm => Via::Slurm(agent_words(DEFAULT_SRUN)?),
            Launcher::Auto if use_slurm => Via::Slurm(agent_words(DEFAULT_SRUN)?),
            Launcher::Auto if hosts::is_local_host(&host.name) => Via::Local,
            Launcher::Auto => Via::Ssh(agent_words(DEFAULT_SSH)?),
        };
        plans.push(HostPlan {
            name: host.name.clone(),
            via,
            ranks,
        });
    }

    // Environment: every RSM_* variable of ours (except the bootstrap ones we set), then -x.
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("RSM_") && !LAUNCHER_VARS.contains(&k.as_str()))
        .collect();
    env.sort();
    for x in &cli.export {
        let (k, v) = match x.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => match std::env::var(x) {
                Ok(v) => (x.clone(), v),
                Err(_) => {
                    crate::say!(
                        "rsmrun: warning: -x {x}: {x} is not set in rsmrun's environment; not exported"
                    );
                    continue;
                }
            },
        };
        if k.is_empty() || k.contains('\0') || v.contains('\0') {
            return Err(UsageError(format!("-x {x}: invalid variable")));
        }
        if LAUNCHER_VARS.contains(&k.as_str()) {
            return Err(UsageError(format!(
                "-x {k}: rsmrun sets {k} itself for every rank"
            )));
        }
        env.retain(|(ek, _)| *ek != k);
        env.push((k, v));
    }
    let proxy_env: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| k.starts_with("RSM_"))
        .cloned()
        .collect();

    let cwd = match &cli.wdir {
        Some(d) => std::path::absolute(d),
        None => std::env::current_dir(),
    }
    .map_err(|e| UsageError(format!("working directory: {e}")))?
    .to_string_lossy()
    .into_owned();

    let output = match (&cli.output_dir, cli.tag_output) {
        (Some(_), true) => {
            return Err(UsageError(
                "--output-dir and --tag-output do not go together".to_string(),
            ));
        }
        (Some(d), false) => Mode::Files(d.clone()),
        (None, true) => Mode::Tagged,
        (None, false) => Mode::Plain,
    };
    let proxy_exe = match &cli.proxy_path {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .map_err(|e| UsageError(format!("cannot find rsmrun's own path: {e}")))?
            .to_string_lossy()
            .into_owned(),
    };
    let secret = job::random_hex(32)
        .map_err(|e| UsageError(format!("cannot read /dev/urandom for the job secret: {e}")))?;
    let job_id =
        job::random_hex(6).map_err(|e| UsageError(format!("cannot read /dev/urandom: {e}")))?;
    Ok(JobPlan {
        hosts: plans,
        size: n as u32,
        program: program.clone(),
        args: args.to_vec(),
        env,
        proxy_env,
        cwd,
        bind: cli.bind_to,
        output,
        timeout: cli.timeout.map(|t| secs(t, "--timeout")).transpose()?,
        grace: if cli.grace == 0.0 {
            Duration::ZERO
        } else {
            secs(cli.grace, "--grace")?
        },
        launch_timeout: secs(cli.launch_timeout, "--launch-timeout")?,
        auto_cleanup: !cli.disable_auto_cleanup,
        verbose: cli.verbose,
        proxy_exe,
        job_id,
        secret,
    })
}

/// `rsmrun` proper. Returns the exit status.
pub fn main() -> i32 {
    let args = normalize_args(std::env::args_os().collect());
    if args.get(1).map(|a| a == "--proxy").unwrap_or(false) {
        return crate::proxy::run();
    }
    let cli = Cli::parse_from(args);
    if cli.info {
        return crate::info::print(&cli);
    }
    match plan(&cli) {
        Ok(p) => {
            if cli.verbose > 0 {
                for (i, h) in p.hosts.iter().enumerate() {
                    crate::say!(
                        "rsmrun: node {i} = host {} ({:?}): ranks {:?}",
                        h.name,
                        h.via,
                        h.ranks
                    );
                }
            }
            job::run(p)
        }
        Err(UsageError(msg)) => {
            crate::say!("rsmrun: error: {msg}");
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn np_is_rewritten_only_before_the_program() {
        assert_eq!(
            normalize_args(os(&["rsmrun", "-np", "4", "prog", "-np", "5"])),
            os(&["rsmrun", "--np", "4", "prog", "-np", "5"])
        );
        assert_eq!(
            normalize_args(os(&["rsmrun", "-x", "-np", "-np=2", "p"])),
            os(&["rsmrun", "-x", "-np", "--np=2", "p"])
        );
        assert_eq!(
            normalize_args(os(&["rsmrun", "--", "-np"])),
            os(&["rsmrun", "--", "-np"])
        );
    }

    #[test]
    fn cli_parses_like_mpirun() {
        let cli = Cli::parse_from(normalize_args(os(&[
            "rsmrun",
            "-np",
            "3",
            "-H",
            "a:2,b",
            "-H",
            "c",
            "-x",
            "A=1",
            "-x",
            "B",
            "--map-by",
            "node",
            "--bind-to",
            "core",
            "--tag-output",
            "--timeout",
            "2.5",
            "prog",
            "--flag",
            "-n",
            "7",
        ])));
        assert_eq!(cli.np, Some(3));
        assert_eq!(cli.host, ["a:2,b", "c"]);
        assert_eq!(cli.export, ["A=1", "B"]);
        assert_eq!(cli.map_by, MapBy::Node);
        assert_eq!(cli.bind_to, BindTo::Core);
        assert!(cli.tag_output);
        assert_eq!(cli.timeout, Some(2.5));
        assert_eq!(cli.command, ["prog", "--flag", "-n", "7"]);
        let hosts = collect_hosts(&cli, false).unwrap();
        assert_eq!(
            hosts,
            vec![
                Host {
                    name: "a".into(),
                    slots: Some(2)
                },
                Host {
                    name: "b".into(),
                    slots: Some(1)
                },
                Host {
                    name: "c".into(),
                    slots: Some(1)
                }
            ]
        );
    }

    #[test]
    fn plans_hosts_ranks_and_env() {
        let cli = Cli::parse_from(os(&[
            "rsmrun",
            "--launcher",
            "local",
            "-H",
            "a:2,b:2",
            "-n",
            "3",
            "-x",
            "FOO=bar",
            "-x",
            "RSM_SHM_NAMESPACE=t1",
            "prog",
            "x",
        ]));
        let p = plan(&cli).unwrap();
        assert_eq!(p.size, 3);
        assert_eq!(p.hosts.len(), 2);
        assert_eq!(
            (p.hosts[0].name.as_str(), &p.hosts[0].ranks[..]),
            ("a", &[0, 1][..])
        );
        assert_eq!(
            (p.hosts[1].name.as_str(), &p.hosts[1].ranks[..]),
            ("b", &[2][..])
        );
        assert!(p.hosts.iter().all(|h| h.via == Via::Local));
        assert!(p.env.contains(&("FOO".into(), "bar".into())));
        assert!(
            p.proxy_env
                .contains(&("RSM_SHM_NAMESPACE".into(), "t1".into()))
        );
        assert!(!p.proxy_env.iter().any(|(k, _)| k == "FOO"));
        assert_eq!(p.program, "prog");
        assert_eq!(p.args, ["x"]);
        assert_eq!(p.secret.len(), 64);
        assert!(p.auto_cleanup);

        // Hosts without ranks get no proxy (and no node id).
        let cli = Cli::parse_from(os(&[
            "rsmrun",
            "-H",
            "a:2,b:2",
            "-n",
            "2",
            "--launcher",
            "ssh",
            "p",
        ]));
        let p = plan(&cli).unwrap();
        assert_eq!(p.hosts.len(), 1);
        assert_eq!(
            p.hosts[0].via,
            Via::Ssh(vec![
                "ssh".into(),
                "-x".into(),
                "-T".into(),
                "-o".into(),
                "BatchMode=yes".into()
            ])
        );
    }

    #[test]
    fn usage_errors() {
        let err = |v: &[&str]| plan(&Cli::parse_from(os(v))).unwrap_err().0;
        assert!(err(&["rsmrun", "-n", "2"]).contains("no program"));
        assert!(err(&["rsmrun", "-n", "0", "p"]).contains("at least 1"));
        assert!(err(&["rsmrun", "-H", "a:1", "-n", "2", "p"]).contains("only 1 slots"));
        assert!(err(&["rsmrun", "-H", "a:x", "p"]).contains("not a slot count"));
        assert!(err(&["rsmrun", "--timeout", "-1", "p"]).contains("positive"));
        assert!(err(&["rsmrun", "-x", "RSM_RANK=3", "p"]).contains("sets RSM_RANK itself"));
        assert!(
            err(&[
                "rsmrun",
                "--launch-agent",
                "'ssh",
                "-H",
                "far:1",
                "--launcher",
                "ssh",
                "p"
            ])
            .contains("--launch-agent")
        );
        assert!(err(&["rsmrun", "--tag-output", "--output-dir", "d", "p"]).contains("together"));
        assert!(err(&["rsmrun", "--hostfile", "/nonexistent/hf", "p"]).contains("hostfile"));
    }
}
