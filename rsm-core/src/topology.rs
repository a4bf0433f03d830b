//! Interconnect topology (`rsm_get_interconnect_topology`, SPEC.md §4.2, §5.10) as plain
//! Rust data; the C ABI lays it out in the `rsm_topology_t` buffer format.

use crate::config::Config;
use crate::error::Result;
use crate::types::{HwAddr, NodeId};

/// A snapshot of this node's interconnect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Topology {
    /// This node's id (`topology_hdr.local_nodeid`).
    pub local_nodeid: NodeId,
    /// The local interconnect adapters (`local_cntlr_count` = `controllers.len()`).
    pub controllers: Vec<LocalController>,
}

/// One local adapter and the remote adapters it reaches (`rsm_connections_t`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalController {
    /// `"<type><unit>"`, at most 255 bytes.
    pub name: String,
    /// The adapter's hardware address.
    pub local_hwaddr: HwAddr,
    /// Remote adapters reachable from this one.
    pub remote: Vec<RemoteController>,
}

/// One remote adapter (`rsm_remote_cntlr_t`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteController {
    /// The remote node.
    pub remote_nodeid: NodeId,
    /// The remote adapter's name.
    pub remote_cntlrname: String,
    /// The remote adapter's hardware address.
    pub remote_hwaddr: HwAddr,
    /// Path state: 1 down, 2 up, 3 active ([`CONNECTION_ACTIVE`](crate::types::CONNECTION_ACTIVE)), 4 going down.
    pub connection_state: u32,
}

/// The topology as seen with the process environment (`RSM_NODE_ID`).
pub fn get_interconnect_topology() -> Result<Topology> {
    Ok(get_interconnect_topology_with(&Config::from_env()?))
}

/// The topology for an explicit configuration.
///
/// The loopback pseudo-controller is not an adapter and is not listed (as in the
/// reference implementation), so with only the shared-memory backend built in the list of
/// controllers is empty and only the local node id is reported.
pub fn get_interconnect_topology_with(cfg: &Config) -> Topology {
    Topology {
        local_nodeid: cfg.node_id,
        controllers: crate::transport::local_adapters(cfg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_node_only() {
        let cfg = Config {
            node_id: 9,
            ..Config::default()
        };
        let t = get_interconnect_topology_with(&cfg);
        assert_eq!(t.local_nodeid, 9);
        assert!(t.controllers.is_empty());
    }
}
