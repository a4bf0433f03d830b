//! The RSMAPI vocabulary: ids, permissions, flags and modes with their exact numeric
//! values (SPEC.md §2–§3).

use std::ops::{BitOr, BitOrAssign};

use crate::error::{ErrorKind, Result, err};

/// A cluster node id (`rsm_node_id_t`).
pub type NodeId = u32;
/// A segment id, unique per exporting node (`rsm_memseg_id_t`).
pub type SegmentId = u32;
/// Octal permission bits, three digits owner/group/other (`rsm_permission_t`).
pub type Permission = u32;
/// An interconnect hardware address (`rsm_addr_t`).
pub type HwAddr = u64;

/// `RSM_PERM_NONE`.
pub const PERM_NONE: Permission = 0;
/// `RSM_PERM_READ` (0400).
pub const PERM_READ: Permission = 0o400;
/// `RSM_PERM_WRITE` (0200).
pub const PERM_WRITE: Permission = 0o200;
/// `RSM_PERM_RDWR` (0600).
pub const PERM_RDWR: Permission = PERM_READ | PERM_WRITE;

/// `RSM_MAX_SGIOREQS`: most entries in one putv/getv.
pub const MAX_SGIOREQS: usize = 16;
/// `RSM_CONNECTION_ACTIVE`: topology `connection_state` meaning "usable".
pub const CONNECTION_ACTIVE: u32 = 3;
/// `RSM_VERSION`: inter-node protocol version.
pub const RSM_VERSION: u32 = 5;
/// `MAXNAMELEN`: size of controller-name buffers.
pub const MAXNAMELEN: usize = 256;
/// Most entries in an access list.
pub const MAX_ACL_ENTRIES: usize = 64;
/// Highest node id an access list may name.
pub const MAX_ACL_NODE: NodeId = 64;

/// `RSM_DAS8`.
pub const DAS8: u32 = 1;
/// `RSM_DAS16`.
pub const DAS16: u32 = 2;
/// `RSM_DAS32`.
pub const DAS32: u32 = 4;
/// `RSM_DAS64`.
pub const DAS64: u32 = 8;

/// `RSM_IMPLICIT_SIGPOST`: post a signal after a successful putv/getv.
pub const IMPLICIT_SIGPOST: u32 = 0x01;
/// `RSM_SIGPOST_NO_ACCUMULATE`: drop this post if an event is already pending.
pub const SIGPOST_NO_ACCUMULATE: u32 = 0x02;

/// One access-list entry (`rsmapi_access_entry_t`): a node and the permission it gets.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AccessEntry {
    /// The node allowed to import.
    pub ae_node: NodeId,
    /// Three octal digits owner/group/other, each ≤ 6; the value must be ≤ 0666.
    pub ae_permission: Permission,
}

impl AccessEntry {
    /// An entry for `node` with permission `perm`.
    pub const fn new(node: NodeId, perm: Permission) -> AccessEntry {
        AccessEntry {
            ae_node: node,
            ae_permission: perm,
        }
    }
}

/// Flags of [`ExportSegment::create`](crate::ExportSegment::create).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ExportFlags(u32);

impl ExportFlags {
    /// No flags.
    pub const NONE: ExportFlags = ExportFlags(0);
    /// `RSM_ALLOW_REBIND` (0x01): the segment may be rebound.
    pub const ALLOW_REBIND: ExportFlags = ExportFlags(0x01);
    /// `RSM_CREATE_SEG_DONTWAIT` (0x02): never block for resources.
    pub const CREATE_SEG_DONTWAIT: ExportFlags = ExportFlags(0x02);
    /// `RSM_LOCK_OPS` (0x100, extension, `rsmapi_ext.h`): the segment accepts remote
    /// atomics and lock operations.
    pub const LOCK_OPS: ExportFlags = ExportFlags(0x100);

    /// From raw bits; unknown bits are kept and ignored (as the reference library does).
    pub const fn from_bits(bits: u32) -> ExportFlags {
        ExportFlags(bits)
    }
    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: ExportFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for ExportFlags {
    type Output = ExportFlags;
    fn bitor(self, rhs: ExportFlags) -> ExportFlags {
        ExportFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for ExportFlags {
    fn bitor_assign(&mut self, rhs: ExportFlags) {
        self.0 |= rhs.0;
    }
}

/// Barrier scoping of the put/get family (`rsm_barrier_mode_t`).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BarrierMode {
    /// `RSM_BARRIER_MODE_EXPLICIT` (0): the caller brackets transfers with open/close.
    Explicit = 0,
    /// `RSM_BARRIER_MODE_IMPLICIT` (1, default): every transfer is its own barrier span.
    Implicit = 1,
}

impl BarrierMode {
    /// From the C value; anything but 0 or 1 is [`ErrorKind::BadMode`].
    pub fn from_raw(v: i32) -> Result<BarrierMode> {
        match v {
            0 => Ok(BarrierMode::Explicit),
            1 => Ok(BarrierMode::Implicit),
            _ => Err(err(
                ErrorKind::BadMode,
                "import_set_mode",
                format!("barrier mode {v} is neither EXPLICIT (0) nor IMPLICIT (1)"),
            )),
        }
    }
}

/// Barrier type (`rsm_barrier_type_t`); accepted and recorded, with no effect on behaviour
/// (as in the reference implementation).
#[repr(i32)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BarrierType {
    /// `RSM_BARRIER_SEGMENT` (0x01); also what `RSM_BAR_DEFAULT` means.
    #[default]
    Segment = 0x01,
    /// `RSM_BARRIER_NODE` (0x02).
    Node = 0x02,
    /// `RSM_BARRIER_SEGMENT_THREAD` (0x11).
    SegmentThread = 0x11,
    /// `RSM_BARRIER_NODE_THREAD` (0x12).
    NodeThread = 0x12,
}

impl BarrierType {
    /// From the C value; `None` for values the header does not define (the reference
    /// ignores the type altogether, so the C ABI may treat those as `Segment`).
    pub const fn from_raw(v: i32) -> Option<BarrierType> {
        Some(match v {
            0x01 => BarrierType::Segment,
            0x02 => BarrierType::Node,
            0x11 => BarrierType::SegmentThread,
            0x12 => BarrierType::NodeThread,
            _ => return None,
        })
    }
}

/// `RSM_BAR_DEFAULT`: an alias of [`BarrierType::Segment`].
pub const BAR_DEFAULT: BarrierType = BarrierType::Segment;

/// Mapping attribute of [`ImportSegment::map_raw`](crate::ImportSegment::map_raw)
/// (`rsm_attribute_t`).
#[repr(i32)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MapAttr {
    /// `RSM_MAP_NONE` (0): the system picks the address (the given one is a hint).
    #[default]
    None = 0,
    /// `RSM_MAP_FIXED` (1): map exactly at the given address.
    Fixed = 1,
    /// `RSM_MAP_RESERVED` (2): declared by the header; treated like `None`.
    Reserved = 2,
}

impl MapAttr {
    /// From the C value; `None` for values the header does not define.
    pub const fn from_raw(v: i32) -> Option<MapAttr> {
        Some(match v {
            0 => MapAttr::None,
            1 => MapAttr::Fixed,
            2 => MapAttr::Reserved,
            _ => return None,
        })
    }
}

/// Segment-id partition of `rsm_common.h` (SPEC.md §3.6).
pub mod segid_range {
    use super::SegmentId;
    /// `RSM_DRIVER_PRIVATE_ID_BASE`.
    pub const DRIVER_PRIVATE_ID_BASE: SegmentId = 0;
    /// `RSM_DRIVER_PRIVATE_ID_END`.
    pub const DRIVER_PRIVATE_ID_END: SegmentId = 0x0F_FFFF;
    /// `RSM_CLUSTER_TRANSPORT_ID_BASE`.
    pub const CLUSTER_TRANSPORT_ID_BASE: SegmentId = 0x10_0000;
    /// `RSM_CLUSTER_TRANSPORT_ID_END`.
    pub const CLUSTER_TRANSPORT_ID_END: SegmentId = 0x1F_FFFF;
    /// `RSM_RSMLIB_ID_BASE`.
    pub const RSMLIB_ID_BASE: SegmentId = 0x20_0000;
    /// `RSM_RSMLIB_ID_END`.
    pub const RSMLIB_ID_END: SegmentId = 0x2F_FFFF;
    /// `RSM_DLPI_ID_BASE`.
    pub const DLPI_ID_BASE: SegmentId = 0x30_0000;
    /// `RSM_DLPI_ID_END`.
    pub const DLPI_ID_END: SegmentId = 0x3F_FFFF;
    /// `RSM_HPC_ID_BASE`.
    pub const HPC_ID_BASE: SegmentId = 0x40_0000;
    /// `RSM_HPC_ID_END`.
    pub const HPC_ID_END: SegmentId = 0x4F_FFFF;
    /// `RSM_OPS_ID_BASE`.
    pub const OPS_ID_BASE: SegmentId = 0x50_0000;
    /// `RSM_OPS_ID_END`.
    pub const OPS_ID_END: SegmentId = 0x5F_FFFF;
    /// `RSM_USER_APP_ID_BASE`: first id given out by publish with id 0.
    pub const USER_APP_ID_BASE: SegmentId = 0x8000_0000;
    /// `RSM_USER_APP_ID_END`.
    pub const USER_APP_ID_END: SegmentId = 0xFFFF_FFFF;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(PERM_READ, 256);
        assert_eq!(PERM_WRITE, 128);
        assert_eq!(PERM_RDWR, 384);
        assert_eq!(ExportFlags::ALLOW_REBIND.bits(), 1);
        assert_eq!(ExportFlags::CREATE_SEG_DONTWAIT.bits(), 2);
        assert_eq!(ExportFlags::LOCK_OPS.bits(), 0x100);
        assert_eq!(BarrierMode::Explicit as i32, 0);
        assert_eq!(BarrierMode::Implicit as i32, 1);
        assert_eq!(BarrierType::NodeThread as i32, 0x12);
        assert_eq!(MapAttr::Fixed as i32, 1);
        assert_eq!(std::mem::size_of::<AccessEntry>(), 8);
        assert_eq!(IMPLICIT_SIGPOST, 1);
        assert_eq!(SIGPOST_NO_ACCUMULATE, 2);
        assert_eq!((DAS8, DAS16, DAS32, DAS64), (1, 2, 4, 8));
    }

    #[test]
    fn raw_conversions() {
        assert_eq!(
            BarrierType::from_raw(0x11),
            Some(BarrierType::SegmentThread)
        );
        assert_eq!(BarrierType::from_raw(3), None);
        assert_eq!(MapAttr::from_raw(1), Some(MapAttr::Fixed));
        assert_eq!(MapAttr::from_raw(-1), None);
        assert_eq!(BAR_DEFAULT, BarrierType::Segment);
    }

    #[test]
    fn handles_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<crate::Controller>();
        check::<crate::ExportSegment>();
        check::<crate::ImportSegment>();
        check::<crate::Barrier>();
        check::<crate::LocalMemory>();
        check::<crate::MemView>();
        check::<crate::RsmError>();
    }

    #[test]
    fn barrier_mode_from_raw() {
        assert_eq!(BarrierMode::from_raw(0).unwrap(), BarrierMode::Explicit);
        assert_eq!(BarrierMode::from_raw(1).unwrap(), BarrierMode::Implicit);
        for v in [-1, 2, 100] {
            assert_eq!(
                BarrierMode::from_raw(v).unwrap_err().kind(),
                ErrorKind::BadMode
            );
        }
    }
}
