//! Hosts and slots (`-H`, `--hostfile`, Slurm's node list) and the mapping of ranks to hosts.

use std::fmt;
use std::net::{IpAddr, ToSocketAddrs, UdpSocket};

/// One host of the job and how many ranks it takes before it is full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Name as the user wrote it (passed to ssh/srun as is).
    pub name: String,
    /// Slots; `None` = unlimited (the implicit local host when no hosts are given).
    pub slots: Option<usize>,
}

/// A host entry before merging: `slots` is `None` when the entry did not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    /// Host name or address.
    pub name: String,
    /// Slots given with the entry.
    pub slots: Option<usize>,
}

/// How ranks are placed on hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MapBy {
    /// Fill each host's slots before moving to the next host.
    Slot,
    /// One rank per host in turn (round robin).
    Node,
}

impl fmt::Display for MapBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MapBy::Slot => "slot",
            MapBy::Node => "node",
        })
    }
}

fn parse_slots(s: &str, what: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err(format!("{what}: slots must be at least 1")),
        Ok(n) if n <= 1 << 20 => Ok(n),
        _ => Err(format!("{what}: {s:?} is not a slot count")),
    }
}

fn check_name(name: &str, what: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("{what}: empty host name"));
    }
    if name.starts_with('-') {
        return Err(format!("{what}: host name {name:?} may not start with '-'"));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "'\"`$;&|<>\\".contains(c))
    {
        return Err(format!("{what}: invalid character in host name {name:?}"));
    }
    Ok(())
}

/// Parses one `host[:slots]` item. IPv6 addresses are written `[addr]` or `[addr]:slots`
/// (a bare address with several colons is taken whole).
pub fn parse_host_item(item: &str, what: &str) -> Result<HostEntry, String> {
    let item = item.trim();
    let (name, slots) = if let Some(rest) = item.strip_prefix('[') {
        let (addr, tail) = rest
            .split_once(']')
            .ok_or_else(|| format!("{what}: missing ']' in {item:?}"))?;
        let slots = match tail {
            "" => None,
            t => Some(parse_slots(
                t.strip_prefix(':')
                    .ok_or_else(|| format!("{what}: junk after ']' in {item:?}"))?,
                what,
            )?),
        };
        (addr.to_string(), slots)
    } else if item.matches(':').count() > 1 {
        (item.to_string(), None)
    } else if let Some((h, s)) = item.split_once(':') {
        (h.to_string(), Some(parse_slots(s, what)?))
    } else {
        (item.to_string(), None)
    };
    check_name(&name, what)?;
    Ok(HostEntry { name, slots })
}

/// Parses a `-H` value: `host[:slots],host[:slots],...`.
pub fn parse_host_list(list: &str) -> Result<Vec<HostEntry>, String> {
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_host_item(s, "--host"))
        .collect()
}

/// Parses a hostfile: one host per line, optionally followed by `slots=N`
/// (`host:N` is accepted too); `#` starts a comment.
pub fn parse_hostfile(text: &str, file: &str) -> Result<Vec<HostEntry>, String> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let what = format!("{file}:{}", i + 1);
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let mut entry = parse_host_item(words.next().unwrap_or(""), &what)?;
        for w in words {
            match w.split_once('=') {
                Some(("slots", v)) => {
                    if entry.slots.is_some() {
                        return Err(format!("{what}: slots given twice"));
                    }
                    entry.slots = Some(parse_slots(v, &what)?);
                }
                _ => {
                    return Err(format!(
                        "{what}: unknown word {w:?} (expected `host [slots=N]`)"
                    ));
                }
            }
        }
        out.push(entry);
    }
    if out.is_empty() {
        return Err(format!("{file}: no hosts"));
    }
    Ok(out)
}

/// Merges repeated host names (their slots add up, as with Open MPI) keeping first-seen
/// order; an entry without a slot count counts as one slot.
pub fn merge_hosts(entries: &[HostEntry]) -> Vec<Host> {
    let mut out: Vec<Host> = Vec::new();
    for e in entries {
        let add = e.slots.unwrap_or(1);
        match out.iter_mut().find(|h| h.name == e.name) {
            Some(h) => h.slots = h.slots.map(|s| s + add),
            None => out.push(Host {
                name: e.name.clone(),
                slots: Some(add),
            }),
        }
    }
    out
}

/// Assigns each of `n` ranks to a host index. Returns `rank -> host index`.
///
/// `slot`: fill host 0's slots, then host 1's, ...; `node`: one rank per host in turn,
/// skipping full hosts. With more ranks than slots the job is refused unless `oversubscribe`;
/// then the placement continues in further passes over the hosts, as if every host had its
/// slots again.
pub fn map_ranks(
    hosts: &[Host],
    n: usize,
    by: MapBy,
    oversubscribe: bool,
) -> Result<Vec<usize>, String> {
    if hosts.is_empty() {
        return Err("no hosts".to_string());
    }
    if n == 0 {
        return Err("the number of ranks must be at least 1".to_string());
    }
    // Unlimited hosts make the job fit in one pass.
    let unlimited = hosts.iter().any(|h| h.slots.is_none());
    let total: usize = hosts.iter().map(|h| h.slots.unwrap_or(0)).sum();
    if !unlimited && n > total && !oversubscribe {
        return Err(format!(
            "{n} ranks requested but the hosts have only {total} slots \
             ({}); give more slots or use --oversubscribe",
            hosts
                .iter()
                .map(|h| format!("{}:{}", h.name, h.slots.unwrap_or(0)))
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    let cap = |h: &Host| h.slots.unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(n);
    match by {
        MapBy::Slot => {
            while out.len() < n {
                for (i, h) in hosts.iter().enumerate() {
                    let take = cap(h).min(n - out.len());
                    out.extend(std::iter::repeat_n(i, take));
                    if out.len() == n {
                        break;
                    }
                }
            }
        }
        MapBy::Node => {
            let mut used = vec![0usize; hosts.len()];
            while out.len() < n {
                let mut placed = false;
                for (i, h) in hosts.iter().enumerate() {
                    if out.len() == n {
                        break;
                    }
                    if used[i] < cap(h) {
                        used[i] += 1;
                        out.push(i);
                        placed = true;
                    }
                }
                if !placed {
                    // Every host is full: start another pass (oversubscription).
                    used.iter_mut().for_each(|u| *u = 0);
                }
            }
        }
    }
    Ok(out)
}

/// Expands a Slurm host list such as `node[01-03,07],gpu5` into names.
pub fn expand_slurm_nodelist(list: &str) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut cur = String::new();
    for c in list.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("unbalanced ']' in {list:?}"))?;
                cur.push(c);
            }
            ',' if depth == 0 => items.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced '[' in {list:?}"));
    }
    items.push(cur);
    let mut out = Vec::new();
    for item in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        expand_one(item, &mut out)?;
    }
    if out.is_empty() {
        return Err(format!("empty node list {list:?}"));
    }
    Ok(out)
}

fn expand_one(item: &str, out: &mut Vec<String>) -> Result<(), String> {
    let Some(open) = item.find('[') else {
        out.push(item.to_string());
        return Ok(());
    };
    let close = item[open..]
        .find(']')
        .map(|c| open + c)
        .ok_or_else(|| format!("unbalanced '[' in {item:?}"))?;
    let prefix = &item[..open];
    let suffix = &item[close + 1..];
    for range in item[open + 1..close].split(',') {
        let range = range.trim();
        let (lo, hi) = range.split_once('-').unwrap_or((range, range));
        let width = lo.len();
        let parse = |s: &str| {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                Err(format!("bad range {range:?} in {item:?}"))
            } else {
                s.parse::<u64>()
                    .map_err(|_| format!("bad range {range:?} in {item:?}"))
            }
        };
        let (a, b) = (parse(lo)?, parse(hi)?);
        if b < a || b - a > 100_000 {
            return Err(format!("bad range {range:?} in {item:?}"));
        }
        for v in a..=b {
            // The rest of the item may hold further brackets (`a[1-2]b[3-4]`).
            expand_one(&format!("{prefix}{v:0width$}{suffix}"), out)?;
        }
    }
    Ok(())
}

/// Expands Slurm's per-node counts such as `2(x3),1` (`SLURM_TASKS_PER_NODE`).
pub fn expand_slurm_counts(s: &str) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (count, rep) = match part.split_once("(x") {
            Some((c, r)) => (
                c,
                r.strip_suffix(')')
                    .ok_or_else(|| format!("bad count {part:?} in {s:?}"))?,
            ),
            None => (part, "1"),
        };
        let count: usize = count
            .parse()
            .map_err(|_| format!("bad count {part:?} in {s:?}"))?;
        let rep: usize = rep
            .parse()
            .map_err(|_| format!("bad count {part:?} in {s:?}"))?;
        if rep > 100_000 {
            return Err(format!("bad count {part:?} in {s:?}"));
        }
        out.extend(std::iter::repeat_n(count, rep));
    }
    Ok(out)
}

/// Hosts of the Slurm allocation described by `lookup` (`SLURM_JOB_NODELIST` and
/// `SLURM_TASKS_PER_NODE`, falling back to `SLURM_JOB_CPUS_PER_NODE`).
pub fn slurm_hosts<F: Fn(&str) -> Option<String>>(lookup: F) -> Result<Vec<Host>, String> {
    let list = lookup("SLURM_JOB_NODELIST")
        .or_else(|| lookup("SLURM_NODELIST"))
        .ok_or("SLURM_JOB_NODELIST is not set")?;
    let names = expand_slurm_nodelist(&list)?;
    let counts = match lookup("SLURM_TASKS_PER_NODE").or_else(|| lookup("SLURM_JOB_CPUS_PER_NODE"))
    {
        Some(c) => expand_slurm_counts(&c)?,
        None => vec![1; names.len()],
    };
    if counts.len() != names.len() {
        return Err(format!(
            "Slurm lists {} nodes but {} per-node counts",
            names.len(),
            counts.len()
        ));
    }
    Ok(names
        .into_iter()
        .zip(counts)
        .map(|(name, c)| Host {
            name,
            slots: Some(c.max(1)),
        })
        .collect())
}

/// Whether `name` is this machine: `localhost`, a loopback address, this host's name, or a
/// name that resolves to an address of one of this machine's interfaces.
pub fn is_local_host(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower == "localhost" || lower.ends_with(".localhost") {
        return true;
    }
    if let Ok(h) = nix::unistd::gethostname() {
        let h = h.to_string_lossy().to_ascii_lowercase();
        let short = h.split('.').next().unwrap_or("");
        if lower == h || lower == short {
            return true;
        }
    }
    let addrs: Vec<IpAddr> = match (name, 0u16).to_socket_addrs() {
        Ok(a) => a.map(|s| s.ip()).collect(),
        Err(_) => return false,
    };
    // An address is local exactly when a socket can be bound to it.
    addrs
        .iter()
        .any(|ip| ip.is_loopback() || UdpSocket::bind((*ip, 0)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(name: &str, slots: Option<usize>) -> HostEntry {
        HostEntry {
            name: name.into(),
            slots,
        }
    }
    fn h(name: &str, slots: usize) -> Host {
        Host {
            name: name.into(),
            slots: Some(slots),
        }
    }

    #[test]
    fn host_lists() {
        assert_eq!(
            parse_host_list("a:2,b, c:1,,[::1]:3,[fe80::1],::1").unwrap(),
            vec![
                e("a", Some(2)),
                e("b", None),
                e("c", Some(1)),
                e("::1", Some(3)),
                e("fe80::1", None),
                e("::1", None)
            ]
        );
        assert!(parse_host_list("a:0").is_err());
        assert!(parse_host_list("a:x").is_err());
        assert!(parse_host_list("-oProxyCommand=x").is_err());
        assert!(parse_host_list("a;rm").is_err());
        assert!(parse_host_list("[::1").is_err());
    }

    #[test]
    fn hostfiles() {
        let text = "# cluster\nnode1 slots=4\n\nnode2   # one slot\nnode3:2\nnode1 slots=2\n";
        let entries = parse_hostfile(text, "hf").unwrap();
        assert_eq!(
            entries,
            vec![
                e("node1", Some(4)),
                e("node2", None),
                e("node3", Some(2)),
                e("node1", Some(2))
            ]
        );
        assert_eq!(
            merge_hosts(&entries),
            vec![h("node1", 6), h("node2", 1), h("node3", 2)]
        );
        assert_eq!(
            parse_hostfile("a slots=2\nb cpus=3\n", "hf").unwrap_err(),
            "hf:2: unknown word \"cpus=3\" (expected `host [slots=N]`)"
        );
        assert!(parse_hostfile("a:2 slots=2", "hf").is_err());
        assert!(parse_hostfile("# nothing\n", "hf").is_err());
    }

    #[test]
    fn mapping_by_slot_and_node() {
        let hosts = [h("a", 2), h("b", 3)];
        assert_eq!(
            map_ranks(&hosts, 5, MapBy::Slot, false).unwrap(),
            [0, 0, 1, 1, 1]
        );
        assert_eq!(map_ranks(&hosts, 3, MapBy::Slot, false).unwrap(), [0, 0, 1]);
        assert_eq!(
            map_ranks(&hosts, 5, MapBy::Node, false).unwrap(),
            [0, 1, 0, 1, 1]
        );
        let err = map_ranks(&hosts, 6, MapBy::Slot, false).unwrap_err();
        assert!(err.contains("only 5 slots"), "{err}");
        assert_eq!(
            map_ranks(&hosts, 7, MapBy::Slot, true).unwrap(),
            [0, 0, 1, 1, 1, 0, 0]
        );
        assert_eq!(
            map_ranks(&hosts, 7, MapBy::Node, true).unwrap(),
            [0, 1, 0, 1, 1, 0, 1]
        );
        let local = [Host {
            name: "localhost".into(),
            slots: None,
        }];
        assert_eq!(map_ranks(&local, 4, MapBy::Slot, false).unwrap(), [0; 4]);
        assert_eq!(map_ranks(&local, 3, MapBy::Node, false).unwrap(), [0; 3]);
        assert!(map_ranks(&local, 0, MapBy::Slot, false).is_err());
    }

    #[test]
    fn slurm_lists() {
        assert_eq!(
            expand_slurm_nodelist("node[01-03,07],gpu5,x[8-9]y").unwrap(),
            ["node01", "node02", "node03", "node07", "gpu5", "x8y", "x9y"]
        );
        assert_eq!(
            expand_slurm_nodelist("r[1-2]n[1-2]").unwrap(),
            ["r1n1", "r1n2", "r2n1", "r2n2"]
        );
        assert!(expand_slurm_nodelist("a[1-").is_err());
        assert!(expand_slurm_nodelist("a[3-1]").is_err());
        assert!(expand_slurm_nodelist("a]").is_err());
        assert_eq!(expand_slurm_counts("2(x3),1").unwrap(), [2, 2, 2, 1]);
        assert_eq!(expand_slurm_counts("4").unwrap(), [4]);
        assert!(expand_slurm_counts("2(x3").is_err());
        let env = |k: &str| match k {
            "SLURM_JOB_NODELIST" => Some("fake[1-2]".to_string()),
            "SLURM_TASKS_PER_NODE" => Some("2(x2)".to_string()),
            _ => None,
        };
        assert_eq!(
            slurm_hosts(env).unwrap(),
            vec![h("fake1", 2), h("fake2", 2)]
        );
        let bad = |k: &str| match k {
            "SLURM_JOB_NODELIST" => Some("a,b".to_string()),
            "SLURM_TASKS_PER_NODE" => Some("1".to_string()),
            _ => None,
        };
        assert!(slurm_hosts(bad).is_err());
    }

    #[test]
    fn local_host_detection() {
        assert!(is_local_host("localhost"));
        assert!(is_local_host("127.0.0.1"));
        assert!(is_local_host("::1"));
        let me = nix::unistd::gethostname().unwrap();
        assert!(is_local_host(&me.to_string_lossy()));
        // TEST-NET-1 (RFC 5737) is never assigned to a local interface.
        assert!(!is_local_host("192.0.2.77"));
        assert!(!is_local_host("no-such-host.invalid"));
    }
}
