//! CPU topology and binding: which CPUs form a core, in which order cores are handed to
//! local ranks, and pinning a rank to its core.
//!
//! Without the `hwloc` feature the cores come from `/sys/devices/system/cpu/cpuN/topology`
//! (grouped by package, die and core id, ordered by package and first CPU); with it they come
//! from the hwloc topology in its logical order (package, then cache, then core).

use std::collections::BTreeMap;
use std::path::Path;

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;

/// The CPUs the calling thread may run on, ascending.
pub fn allowed_cpus() -> nix::Result<Vec<usize>> {
    let set = sched_getaffinity(Pid::from_raw(0))?;
    Ok((0..CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect())
}

/// Pins the calling thread to `cpus` (children started afterwards inherit it).
pub fn set_thread_affinity(cpus: &[usize]) -> nix::Result<()> {
    let mut set = CpuSet::new();
    for &c in cpus {
        set.set(c)?;
    }
    sched_setaffinity(Pid::from_raw(0), &set)
}

fn read_num(path: &Path) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Cores (each a list of CPU numbers) among `allowed`, read from a sysfs tree at `root`
/// (normally `/sys/devices/system/cpu`). A CPU whose topology cannot be read is its own core.
pub fn cores_from_sysfs(root: &Path, allowed: &[usize]) -> Vec<Vec<usize>> {
    // (package, die, core id) -> cpus; keys that cannot be read get a unique key.
    let mut groups: BTreeMap<(i64, i64, i64, usize), Vec<usize>> = BTreeMap::new();
    for &cpu in allowed {
        let topo = root.join(format!("cpu{cpu}/topology"));
        let key = match (
            read_num(&topo.join("physical_package_id")),
            read_num(&topo.join("core_id")),
        ) {
            (Some(p), Some(c)) => (p, read_num(&topo.join("die_id")).unwrap_or(0), c, 0),
            _ => (i64::MAX, i64::MAX, i64::MAX, cpu),
        };
        groups.entry(key).or_default().push(cpu);
    }
    let mut cores: Vec<((i64, usize), Vec<usize>)> = groups
        .into_iter()
        .map(|((pkg, _, _, _), mut cpus)| {
            cpus.sort_unstable();
            ((pkg, cpus[0]), cpus)
        })
        .collect();
    cores.sort();
    cores.into_iter().map(|(_, c)| c).collect()
}

/// Cores among `allowed` in the order local ranks receive them.
pub fn cores(allowed: &[usize]) -> Vec<Vec<usize>> {
    #[cfg(feature = "hwloc")]
    {
        match hwloc::cores(allowed) {
            Ok(c) if !c.is_empty() => return c,
            Ok(_) => {}
            Err(e) => crate::say!("rsmrun: hwloc topology unavailable ({e}); using sysfs"),
        }
    }
    cores_from_sysfs(Path::new("/sys/devices/system/cpu"), allowed)
}

/// The core each of `local_size` ranks is bound to (cycling when there are more ranks than
/// cores), and whether cores had to be shared.
pub fn assign(cores: &[Vec<usize>], local_size: usize) -> (Vec<Vec<usize>>, bool) {
    if cores.is_empty() {
        return (vec![Vec::new(); local_size], false);
    }
    let shared = local_size > cores.len();
    (
        (0..local_size)
            .map(|i| cores[i % cores.len()].clone())
            .collect(),
        shared,
    )
}

/// Formats CPU numbers as a list with ranges (`0-3,8`).
pub fn format_cpus(cpus: &[usize]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let mut j = i;
        while j + 1 < cpus.len() && cpus[j + 1] == cpus[j] + 1 {
            j += 1;
        }
        out.push(if j > i {
            format!("{}-{}", cpus[i], cpus[j])
        } else {
            cpus[i].to_string()
        });
        i = j + 1;
    }
    out.join(",")
}

#[cfg(feature = "hwloc")]
pub mod hwloc {
    //! The hwloc topology (feature `hwloc`).

    use hwlocality::Topology;
    use hwlocality::object::TopologyObject;
    use hwlocality::object::attributes::ObjectAttributes;
    use hwlocality::object::types::ObjectType;

    fn pus(obj: &TopologyObject) -> Vec<usize> {
        obj.cpuset()
            .map(|s| s.iter_set().map(usize::from).collect())
            .unwrap_or_default()
    }

    /// Cores among `allowed` in hwloc's logical order.
    pub fn cores(allowed: &[usize]) -> Result<Vec<Vec<usize>>, String> {
        let topo = Topology::new().map_err(|e| e.to_string())?;
        Ok(topo
            .objects_with_type(ObjectType::Core)
            .map(|core| {
                pus(core)
                    .into_iter()
                    .filter(|c| allowed.contains(c))
                    .collect::<Vec<_>>()
            })
            .filter(|c| !c.is_empty())
            .collect())
    }

    fn describe(obj: &TopologyObject) -> String {
        let mut s = format!("{} L#{}", obj.object_type(), obj.logical_index());
        match obj.attributes() {
            Some(ObjectAttributes::Cache(c)) => {
                if let Some(size) = c.size() {
                    s += &format!(" ({} KiB)", size.get() / 1024);
                }
            }
            Some(ObjectAttributes::NUMANode(n)) => {
                if let Some(mem) = n.local_memory() {
                    s += &format!(" ({} MiB)", mem.get() / (1024 * 1024));
                }
            }
            _ => {}
        }
        let cpus = pus(obj);
        if !cpus.is_empty() {
            s += &format!(" cpus {}", super::format_cpus(&cpus));
        }
        s
    }

    fn walk(obj: &TopologyObject, depth: usize, out: &mut String) {
        // Cores are the leaves we print; their PUs are in the cpus list.
        if obj.object_type() == ObjectType::PU {
            return;
        }
        out.push_str(&format!("{}{}\n", "  ".repeat(depth), describe(obj)));
        for mem in obj.memory_children() {
            out.push_str(&format!("{}{}\n", "  ".repeat(depth + 1), describe(mem)));
        }
        if obj.object_type() == ObjectType::Core {
            return;
        }
        for child in obj.normal_children() {
            walk(child, depth + 1, out);
        }
    }

    /// The topology as an indented tree.
    pub fn tree() -> Result<String, String> {
        let topo = Topology::new().map_err(|e| e.to_string())?;
        let mut out = String::new();
        walk(topo.root_object(), 0, &mut out);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_cpu(root: &Path, cpu: usize, pkg: i64, core: i64) {
        let d = root.join(format!("cpu{cpu}/topology"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("physical_package_id"), format!("{pkg}\n")).unwrap();
        std::fs::write(d.join("core_id"), format!("{core}\n")).unwrap();
    }

    #[test]
    fn sysfs_groups_hyperthreads_into_cores() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        // Two packages, two cores each, two threads per core; sibling numbering as on Intel
        // (cpu n and n+4 share a core).
        for (cpu, pkg, core) in [
            (0, 0, 0),
            (1, 0, 1),
            (2, 1, 0),
            (3, 1, 1),
            (4, 0, 0),
            (5, 0, 1),
            (6, 1, 0),
            (7, 1, 1),
        ] {
            fake_cpu(r, cpu, pkg, core);
        }
        let all: Vec<usize> = (0..8).collect();
        assert_eq!(
            cores_from_sysfs(r, &all),
            vec![vec![0, 4], vec![1, 5], vec![2, 6], vec![3, 7]]
        );
        // Restricted to some CPUs (as in a cpuset cgroup).
        assert_eq!(cores_from_sysfs(r, &[1, 2, 5]), vec![vec![1, 5], vec![2]]);
        // A CPU without topology files is a core of its own, after the known ones.
        assert_eq!(cores_from_sysfs(r, &[0, 9]), vec![vec![0], vec![9]]);
    }

    #[test]
    fn assignment_cycles_when_oversubscribed() {
        let cores = vec![vec![0, 4], vec![1, 5]];
        assert_eq!(assign(&cores, 2), (vec![vec![0, 4], vec![1, 5]], false));
        assert_eq!(
            assign(&cores, 3),
            (vec![vec![0, 4], vec![1, 5], vec![0, 4]], true)
        );
        assert_eq!(assign(&[], 2), (vec![vec![], vec![]], false));
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(format_cpus(&[0, 1, 2, 3, 8, 10, 11]), "0-3,8,10-11");
        assert_eq!(format_cpus(&[5]), "5");
        assert_eq!(format_cpus(&[]), "");
    }

    #[cfg(feature = "hwloc")]
    #[test]
    fn hwloc_and_sysfs_agree_on_core_groups() {
        let allowed = allowed_cpus().unwrap();
        let mut from_hwloc = hwloc::cores(&allowed).unwrap();
        let mut from_sysfs = cores_from_sysfs(Path::new("/sys/devices/system/cpu"), &allowed);
        from_hwloc.sort();
        from_sysfs.sort();
        assert_eq!(from_hwloc, from_sysfs);
        let tree = hwloc::tree().unwrap();
        assert!(tree.starts_with("Machine L#0"), "{tree}");
        assert_eq!(tree.matches("Core L#").count(), from_sysfs.len(), "{tree}");
    }

    #[test]
    fn this_machine_has_cores() {
        let allowed = allowed_cpus().unwrap();
        assert!(!allowed.is_empty());
        let cores = cores(&allowed);
        let mut flat: Vec<usize> = cores.concat();
        flat.sort_unstable();
        assert_eq!(flat, allowed, "every allowed CPU is in exactly one core");
    }
}
