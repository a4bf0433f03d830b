//! Process-wide settings read from the environment (see `docs/architecture.md`).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `RSM_NODE_ID` | `0` | this process's node id |
//! | `RSM_SHM_DIR` | `/dev/shm` | directory (tmpfs) holding the per-node namespace |
//! | `RSM_SHM_NAMESPACE` | `default` | namespace tag; processes talk only within one namespace |
//! | `RSM_LOOPBACK_MAP` | `1` | `0`: the loopback controller cannot map (`map()` → `MapFailed`) |
//! | `RSM_LIVENESS_MS` | `200` | how often (at most) an importer re-checks that its exporter lives |
//! | `RSM_SEGMENTID_FILE` | `/etc/rsm/rsm.segmentid` | file read by [`get_segmentid_range`](crate::segid::get_segmentid_range) |

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{ErrorKind, Result, err};

/// Settings of one controller instance. [`Config::from_env`] reads the process
/// environment; tests and embedders may build one explicitly (for example to use a private
/// namespace) and open a controller with
/// [`Controller::get_with_config`](crate::Controller::get_with_config).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// This process's node id (`RSM_NODE_ID`).
    pub node_id: u32,
    /// Directory holding the shared-memory namespace (`RSM_SHM_DIR`).
    pub shm_dir: PathBuf,
    /// Namespace tag (`RSM_SHM_NAMESPACE`): 1–64 characters from `[A-Za-z0-9_-]`.
    pub namespace: String,
    /// Whether the loopback controller may map segments (`RSM_LOOPBACK_MAP`).
    pub loopback_map: bool,
    /// Longest interval between two liveness checks of an exporter (`RSM_LIVENESS_MS`).
    pub liveness: Duration,
    /// The segment-id reservation file (`RSM_SEGMENTID_FILE`).
    pub segmentid_file: PathBuf,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            node_id: 0,
            shm_dir: PathBuf::from("/dev/shm"),
            namespace: "default".to_owned(),
            loopback_map: true,
            liveness: Duration::from_millis(200),
            segmentid_file: PathBuf::from("/etc/rsm/rsm.segmentid"),
        }
    }
}

impl Config {
    /// Reads the `RSM_*` variables; unset variables take their defaults. A malformed value
    /// (for example `RSM_NODE_ID=abc`) is an error of kind [`ErrorKind::BadConf`] naming
    /// the variable, never silently replaced by the default.
    pub fn from_env() -> Result<Config> {
        Config::from_lookup(|k| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Like [`from_env`](Config::from_env) with an arbitrary variable lookup (used by tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config> {
        const OP: &str = "config";
        let mut c = Config::default();
        if let Some(v) = get("RSM_NODE_ID") {
            c.node_id = v.trim().parse().map_err(|_| {
                err(
                    ErrorKind::BadConf,
                    OP,
                    format!("RSM_NODE_ID={v:?} is not a node id (u32)"),
                )
            })?;
        }
        if let Some(v) = get("RSM_SHM_DIR").filter(|v| !v.is_empty()) {
            c.shm_dir = PathBuf::from(v);
        }
        if let Some(v) = get("RSM_SHM_NAMESPACE").filter(|v| !v.is_empty()) {
            c.namespace = v;
        }
        if let Some(v) = get("RSM_LOOPBACK_MAP") {
            c.loopback_map = match v.trim() {
                "1" | "" => true,
                "0" => false,
                _ => {
                    return Err(err(
                        ErrorKind::BadConf,
                        OP,
                        format!("RSM_LOOPBACK_MAP={v:?} must be 0 or 1"),
                    ));
                }
            };
        }
        if let Some(v) = get("RSM_LIVENESS_MS") {
            let ms: u64 = v.trim().parse().ok().filter(|ms| *ms > 0).ok_or_else(|| {
                err(
                    ErrorKind::BadConf,
                    OP,
                    format!("RSM_LIVENESS_MS={v:?} is not a positive number of milliseconds"),
                )
            })?;
            c.liveness = Duration::from_millis(ms);
        }
        if let Some(v) = get("RSM_SEGMENTID_FILE").filter(|v| !v.is_empty()) {
            c.segmentid_file = PathBuf::from(v);
        }
        c.validate()?;
        Ok(c)
    }

    /// The same settings with another namespace.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Config {
        self.namespace = namespace.into();
        self
    }

    /// Checks the namespace tag (it becomes part of file names).
    pub fn validate(&self) -> Result<()> {
        let ok = (1..=64).contains(&self.namespace.len())
            && self
                .namespace
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(())
        } else {
            Err(err(
                ErrorKind::BadConf,
                "config",
                format!(
                    "RSM_SHM_NAMESPACE={:?}: use 1-64 characters from [A-Za-z0-9_-]",
                    self.namespace
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.node_id, 0);
        assert_eq!(c.shm_dir, PathBuf::from("/dev/shm"));
        assert_eq!(c.namespace, "default");
        assert!(c.loopback_map);
        assert_eq!(c.liveness, Duration::from_millis(200));
    }

    #[test]
    fn values() {
        let c = cfg(&[
            ("RSM_NODE_ID", "7"),
            ("RSM_SHM_DIR", "/tmp/x"),
            ("RSM_SHM_NAMESPACE", "job_1-a"),
            ("RSM_LOOPBACK_MAP", "0"),
            ("RSM_LIVENESS_MS", "50"),
            ("RSM_SEGMENTID_FILE", "/tmp/segids"),
        ])
        .unwrap();
        assert_eq!(c.node_id, 7);
        assert_eq!(c.shm_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.namespace, "job_1-a");
        assert!(!c.loopback_map);
        assert_eq!(c.liveness, Duration::from_millis(50));
        assert_eq!(c.segmentid_file, PathBuf::from("/tmp/segids"));
    }

    #[test]
    fn malformed_values_are_bad_conf() {
        for vars in [
            [("RSM_NODE_ID", "abc")],
            [("RSM_NODE_ID", "-1")],
            [("RSM_LOOPBACK_MAP", "yes")],
            [("RSM_LIVENESS_MS", "0")],
            [("RSM_SHM_NAMESPACE", "a.b")],
            [("RSM_SHM_NAMESPACE", "a/b")],
        ] {
            let e = cfg(&vars).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BadConf, "{vars:?}");
            assert!(e.context().contains(vars[0].0), "{e}");
        }
        let long = "n".repeat(65);
        assert_eq!(
            cfg(&[("RSM_SHM_NAMESPACE", &long)]).unwrap_err().kind(),
            ErrorKind::BadConf
        );
    }
}
