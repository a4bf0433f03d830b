//! `rsmrun --info`: version, this machine's CPUs and cores, the hosts of the command line,
//! and (feature `hwloc`) the hwloc topology.

use rsm_core::bootstrap::wire::PROTOCOL_VERSION;

use crate::bind;
use crate::cli::{self, Cli};
use crate::proto::PROXY_PROTOCOL_VERSION;

/// `println!` that ignores a closed stdout (`rsmrun --info | head`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stdout(), $($arg)*);
    }};
}

/// Prints the report; returns the exit status.
pub fn print(cli: &Cli) -> i32 {
    out!(
        "rsmrun {} (key-value protocol {PROTOCOL_VERSION}, proxy protocol {PROXY_PROTOCOL_VERSION})",
        env!("CARGO_PKG_VERSION")
    );
    let hostname = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "?".to_string());
    out!("host: {hostname}");
    let allowed = match bind::allowed_cpus() {
        Ok(a) => a,
        Err(e) => {
            crate::say!("rsmrun: cannot read the CPU affinity: {e}");
            return 1;
        }
    };
    out!(
        "cpus: {} usable ({})",
        allowed.len(),
        bind::format_cpus(&allowed)
    );
    let cores = bind::cores(&allowed);
    out!("cores: {} (order used by --bind-to core)", cores.len());
    for (i, c) in cores.iter().enumerate() {
        out!("  core {i}: cpus {}", bind::format_cpus(c));
    }
    #[cfg(feature = "hwloc")]
    match bind::hwloc::tree() {
        Ok(t) => {
            out!("hwloc topology:");
            for line in t.lines() {
                out!("  {line}");
            }
        }
        Err(e) => out!("hwloc topology: unavailable ({e})"),
    }
    #[cfg(not(feature = "hwloc"))]
    out!("hwloc topology: not built in (build rsm-launcher with --features hwloc)");
    let slurm = cli::in_slurm();
    if slurm {
        out!(
            "slurm: inside allocation {} (srun found): --launcher auto uses srun",
            std::env::var("SLURM_JOB_ID").unwrap_or_default()
        );
    }
    if !cli.host.is_empty() || cli.hostfile.is_some() {
        match cli::collect_hosts(cli, false) {
            Ok(hosts) => {
                out!("hosts:");
                for h in hosts {
                    let local = crate::hosts::is_local_host(&h.name);
                    out!(
                        "  {} slots={} ({})",
                        h.name,
                        h.slots
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "unlimited".into()),
                        if local { "this machine" } else { "remote" }
                    );
                }
            }
            Err(cli::UsageError(e)) => {
                crate::say!("rsmrun: error: {e}");
                return 2;
            }
        }
    }
    0
}
