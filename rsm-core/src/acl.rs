//! Access-control rules of SPEC.md §5.4: ACL validation, the effective mode `M`, the
//! owner/group/other check, and the file mode that lets the kernel enforce the same rule.

use crate::error::{ErrorKind, Result, err};
use crate::types::{
    AccessEntry, MAX_ACL_ENTRIES, MAX_ACL_NODE, NodeId, PERM_READ, PERM_WRITE, Permission,
};

/// Validates an access list as publish/republish do, in the reference order: length
/// (> 64, or > `max_entries` for a single-node controller) → each entry's node (> 64, or
/// not the local node for a single-node controller) → each entry's permission (> 0666).
pub(crate) fn validate(
    op: &'static str,
    acl: &[AccessEntry],
    max_entries: usize,
    local_only: Option<NodeId>,
) -> Result<()> {
    let limit = max_entries.min(MAX_ACL_ENTRIES);
    if acl.len() > limit {
        return Err(err(
            ErrorKind::BadAcl,
            op,
            format!(
                "access list has {} entries; this controller accepts at most {limit}",
                acl.len()
            ),
        ));
    }
    for (i, e) in acl.iter().enumerate() {
        if e.ae_node > MAX_ACL_NODE {
            return Err(err(
                ErrorKind::BadAcl,
                op,
                format!(
                    "entry {i}: node {} is above the maximum node id {MAX_ACL_NODE}",
                    e.ae_node
                ),
            ));
        }
        if let Some(local) = local_only
            && e.ae_node != local
        {
            return Err(err(
                ErrorKind::BadAcl,
                op,
                format!(
                    "entry {i}: node {} is not the local node {local} (single-node controller)",
                    e.ae_node
                ),
            ));
        }
        if e.ae_permission > 0o666 {
            return Err(err(
                ErrorKind::BadAcl,
                op,
                format!("entry {i}: permission {:#o} exceeds 0666", e.ae_permission),
            ));
        }
    }
    Ok(())
}

/// The RSM permission `M` that node `node` gets: `0666 & ae_permission` of the first entry
/// naming it, `0666 & create_mode` for an empty list, `None` if the list excludes it.
pub(crate) fn effective_mode(acl: &[AccessEntry], node: NodeId, create_mode: u32) -> Option<u32> {
    if acl.is_empty() {
        return Some(0o666 & create_mode);
    }
    acl.iter()
        .find(|e| e.ae_node == node)
        .map(|e| 0o666 & e.ae_permission)
}

/// Who the importer is, relative to the exporter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Owner,
    Group,
    Other,
}

impl Class {
    pub(crate) fn of(exporter_uid: u32, exporter_gid: u32, uid: u32, groups: &[u32]) -> Class {
        if uid == exporter_uid {
            Class::Owner
        } else if groups.contains(&exporter_gid) {
            Class::Group
        } else {
            Class::Other
        }
    }
    fn shift(self) -> u32 {
        match self {
            Class::Owner => 0,
            Class::Group => 3,
            Class::Other => 6,
        }
    }
}

/// The access a requester of `class` gets from mode `m`, expressed in the owner digit
/// (`PERM_READ`/`PERM_WRITE` bits): step 2–4 of SPEC.md §5.4.
pub(crate) fn granted(m: u32, class: Class) -> Permission {
    (m << class.shift()) & (PERM_READ | PERM_WRITE)
}

/// Whether a connect asking for `requested` is allowed with mode `m`; `privileged`
/// processes (root) are always allowed, as the kernel's DAC override does.
pub(crate) fn allows(requested: Permission, m: u32, class: Class, privileged: bool) -> bool {
    requested & !granted(m, class) == 0 || privileged
}

/// The file mode carrying `m`: each digit as is, except that a write-only digit (2) is
/// widened to read+write (6), because a writer must read the control page and `mmap`
/// needs read access. rsm-core still refuses reads on such connections.
pub(crate) fn file_mode(m: u32) -> u32 {
    let mut mode = 0;
    for shift in [0, 3, 6] {
        let mut d = (m >> shift) & 0o6;
        if d & 0o2 != 0 {
            d |= 0o4;
        }
        mode |= d << shift;
    }
    mode
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_order_and_limits() {
        let ok = [AccessEntry::new(0, 0o666)];
        validate("t", &ok, 1, Some(0)).unwrap();
        let two = [AccessEntry::new(0, 0o600), AccessEntry::new(0, 0o600)];
        assert_eq!(
            validate("t", &two, 1, Some(0)).unwrap_err().kind(),
            ErrorKind::BadAcl
        );
        validate("t", &two, 64, None).unwrap();
        let many = vec![AccessEntry::new(1, 0o600); 65];
        assert_eq!(
            validate("t", &many, 64, None).unwrap_err().kind(),
            ErrorKind::BadAcl
        );
        for bad in [
            AccessEntry::new(65, 0o600),
            AccessEntry::new(3, 0o600),
            AccessEntry::new(0, 0o700),
            AccessEntry::new(0, 0o667),
            AccessEntry::new(0, 0o1000),
        ] {
            assert_eq!(
                validate("t", &[bad], 1, Some(0)).unwrap_err().kind(),
                ErrorKind::BadAcl
            );
        }
        // 0640 and 0624 are numerically ≤ 0666.
        validate("t", &[AccessEntry::new(0, 0o640)], 1, Some(0)).unwrap();
        validate("t", &[AccessEntry::new(64, 0o624)], 64, None).unwrap();
    }

    #[test]
    fn effective_mode_rules() {
        assert_eq!(effective_mode(&[], 5, 0o755), Some(0o644));
        let acl = [
            AccessEntry::new(1, 0o640),
            AccessEntry::new(2, 0o600),
            AccessEntry::new(1, 0o666),
        ];
        assert_eq!(effective_mode(&acl, 1, 0o777), Some(0o640));
        assert_eq!(effective_mode(&acl, 2, 0o777), Some(0o600));
        assert_eq!(effective_mode(&acl, 3, 0o777), None);
    }

    #[test]
    fn class_checks() {
        let m = 0o640;
        assert!(allows(PERM_READ | PERM_WRITE, m, Class::Owner, false));
        assert!(allows(PERM_READ, m, Class::Group, false));
        assert!(!allows(PERM_WRITE, m, Class::Group, false));
        assert!(!allows(PERM_READ, m, Class::Other, false));
        assert!(allows(PERM_READ, m, Class::Other, true));
        assert!(allows(0, 0, Class::Other, false));
        assert_eq!(granted(0o624, Class::Group), PERM_WRITE);
        assert_eq!(granted(0o624, Class::Other), PERM_READ);
        assert_eq!(Class::of(10, 20, 10, &[]), Class::Owner);
        assert_eq!(Class::of(10, 20, 11, &[5, 20]), Class::Group);
        assert_eq!(Class::of(10, 20, 11, &[5]), Class::Other);
    }

    #[test]
    fn file_modes() {
        assert_eq!(file_mode(0o600), 0o600);
        assert_eq!(file_mode(0o640), 0o640);
        assert_eq!(file_mode(0o200), 0o600);
        assert_eq!(file_mode(0o624), 0o664);
        assert_eq!(file_mode(0o222), 0o666);
        assert_eq!(file_mode(0o000), 0o000);
        assert_eq!(file_mode(0o444), 0o444);
    }
}
