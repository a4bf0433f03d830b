//! What machine a comparison ran on, and when (for the report header).

use std::fs;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// Facts about the machine, each `None` when it could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Machine {
    /// `lscpu` "Model name".
    pub cpu_model: Option<String>,
    /// `lscpu` "CPU(s)".
    pub cpus: Option<String>,
    /// `lscpu` "Hypervisor vendor" (virtual machines).
    pub hypervisor: Option<String>,
    /// Total memory in GiB.
    pub memory_gib: Option<f64>,
    /// `/etc/os-release` PRETTY_NAME.
    pub os: Option<String>,
    /// Kernel release.
    pub kernel: Option<String>,
    /// 1/5/15-minute load averages when the run started.
    pub load: Option<String>,
}

/// Value of `key:` in `lscpu`-style text.
pub fn field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

impl Machine {
    /// Reads `lscpu`, `/proc/meminfo`, `/etc/os-release`, the kernel release and the load.
    pub fn probe() -> Machine {
        let lscpu = Command::new("lscpu")
            .env("LC_ALL", "C")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_gib = field(&meminfo, "MemTotal")
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map(|kib| kib / (1024.0 * 1024.0));
        let os = fs::read_to_string("/etc/os-release").ok().and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        });
        let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|s| s.trim().to_string());
        let load = fs::read_to_string("/proc/loadavg")
            .ok()
            .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
        Machine {
            cpu_model: field(&lscpu, "Model name"),
            cpus: field(&lscpu, "CPU(s)"),
            hypervisor: field(&lscpu, "Hypervisor vendor"),
            memory_gib,
            os,
            kernel,
            load,
        }
    }

    /// One line: `AMD EPYC, 2 CPUs (KVM guest), 23.4 GiB, Debian GNU/Linux 12 (bookworm), Linux 6.1.0`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        let mut cpu = self
            .cpu_model
            .clone()
            .unwrap_or_else(|| "unknown CPU".to_string());
        if let Some(n) = &self.cpus {
            cpu += &format!(", {n} CPUs");
        }
        if let Some(h) = &self.hypervisor {
            cpu += &format!(" ({h} guest)");
        }
        parts.push(cpu);
        if let Some(m) = self.memory_gib {
            parts.push(format!("{m:.1} GiB"));
        }
        if let Some(os) = &self.os {
            parts.push(os.clone());
        }
        if let Some(k) = &self.kernel {
            parts.push(format!("Linux {k}"));
        }
        parts.join(", ")
    }
}

/// Current UTC time as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_utc(secs)
}

/// Formats seconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_utc(4_102_444_799), "2099-12-31 23:59:59 UTC");
    }

    #[test]
    fn lscpu_fields_and_summary() {
        let text = "Architecture:  x86_64\nCPU(s):        2\nModel name:    AMD EPYC\nHypervisor vendor: KVM\n";
        assert_eq!(field(text, "CPU(s)").as_deref(), Some("2"));
        assert_eq!(field(text, "Model name").as_deref(), Some("AMD EPYC"));
        assert_eq!(field(text, "Flags"), None);
        let m = Machine {
            cpu_model: field(text, "Model name"),
            cpus: field(text, "CPU(s)"),
            hypervisor: field(text, "Hypervisor vendor"),
            memory_gib: Some(23.44),
            os: Some("Debian GNU/Linux 12 (bookworm)".into()),
            kernel: Some("6.1.0".into()),
            load: None,
        };
        assert_eq!(
            m.summary(),
            "AMD EPYC, 2 CPUs (KVM guest), 23.4 GiB, Debian GNU/Linux 12 (bookworm), Linux 6.1.0"
        );
        assert_eq!(Machine::default().summary(), "unknown CPU");
    }

    #[test]
    fn probe_reads_this_machine() {
        let m = Machine::probe();
        assert!(m.kernel.is_some());
        assert!(m.memory_gib.unwrap_or(0.0) > 0.0);
    }
}
