//! Controllers (SPEC.md §4.1): get by name, attributes, release.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::Config;
use crate::error::{ErrorKind, Result, err};
use crate::transport::shm::ShmTransport;
use crate::transport::{Caps, Transport};
use crate::types::{MAXNAMELEN, NodeId};

/// Controller attributes (`rsmapi_controller_attr_t`).
///
/// Loopback (shared-memory) values: `direct_access_sizes` = DAS8|16|32|64,
/// `atomic_sizes` = DAS64 (the lock extension's word size), `page_size` = the system page
/// size, the segment size limits = the size of the `RSM_SHM_DIR` file system, segment
/// counts = descriptor limit / 2 (export: data file + FIFO) and / 4 (import: data file,
/// two FIFOs, pidfd), import map sizes 0 when mapping is disabled (`RSM_LOOPBACK_MAP=0`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ControllerAttr {
    /// Bitmask of `RSM_DAS*`: access sizes of put/get.
    pub direct_access_sizes: u32,
    /// Bitmask of `RSM_DAS*`: sizes with atomic operations.
    pub atomic_sizes: u32,
    /// Page size.
    pub page_size: usize,
    /// Largest export segment.
    pub max_export_segment_size: usize,
    /// Total exportable memory.
    pub tot_export_segment_size: usize,
    /// Most export segments.
    pub max_export_segments: u64,
    /// Largest import mapping.
    pub max_import_map_size: usize,
    /// Total import mappings.
    pub tot_import_map_size: usize,
    /// Most import segments.
    pub max_import_segments: u64,
}

struct CtrlInner {
    /// Canonical controller name (`"loopback"`).
    name: String,
    unit: u32,
    cfg: Arc<Config>,
    transport: Box<dyn Transport>,
    /// RSMAPI reference count; changed under `REGISTRY`.
    refs: AtomicUsize,
}

static REGISTRY: Mutex<Vec<Arc<CtrlInner>>> = Mutex::new(Vec::new());

/// A controller handle (`rsmapi_controller_handle_t`).
///
/// [`Controller::get`] of the same controller (same type and unit, same configuration)
/// returns handles to the same instance ([`same_instance`](Controller::same_instance)) and
/// bumps its reference count; [`release`](Controller::release) drops one reference. Cloning
/// a `Controller` or dropping one does not change the count: Rust code may simply forget
/// about `release`. Once the count reaches zero the instance is unusable
/// ([`ErrorKind::BadCtlrHndl`] for new segments, [`ErrorKind::CtlrNotPresent`] for
/// [`attr`](Controller::attr)); segments created through it keep working.
#[derive(Clone)]
pub struct Controller {
    inner: Arc<CtrlInner>,
}

impl fmt::Debug for Controller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Controller")
            .field("name", &self.inner.name)
            .field("unit", &self.inner.unit)
            .field("namespace", &self.inner.cfg.namespace)
            .field("refs", &self.ref_count())
            .finish()
    }
}

/// Known-but-absent controller families (named, so the error says what is missing).
const VERBS_PREFIXES: [&str; 14] = [
    "ibv",
    "mlx4_",
    "mlx5_",
    "rxe",
    "siw",
    "irdma",
    "bnxt_re",
    "qedr",
    "efa_",
    "hfi1_",
    "cxgb4_",
    "ocrdma",
    "vmw_pvrdma",
    "hns_",
];

/// Splits `"<type><unit>"`: trailing decimal digits are the unit (none → 0); the type is
/// compared case-insensitively.
fn parse_name(name: &str) -> Result<(String, Option<u32>)> {
    const OP: &str = "get_controller";
    if name.len() >= MAXNAMELEN {
        return Err(err(
            ErrorKind::CtlrNotPresent,
            OP,
            format!(
                "controller name is {} bytes long; at most {} allowed",
                name.len(),
                MAXNAMELEN - 1
            ),
        ));
    }
    if name.is_empty() || name.contains('\0') {
        return Err(err(
            ErrorKind::CtlrNotPresent,
            OP,
            format!("invalid controller name {name:?}"),
        ));
    }
    let digits = name
        .bytes()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let (ty, unit) = name.split_at(name.len() - digits);
    let unit = if unit.is_empty() {
        Some(0)
    } else {
        unit.parse().ok()
    };
    Ok((ty.to_ascii_lowercase(), unit))
}

impl Controller {
    /// `rsm_get_controller`: opens controller `name` with the settings of the process
    /// environment ([`Config::from_env`]).
    ///
    /// Names: `loopback` (any unit digits, ignored) and `shm0` (alias; `shm` = `shm0`)
    /// select the node-local shared-memory backend; type names compare case-insensitively.
    /// Anything else is [`ErrorKind::CtlrNotPresent`] with a message saying what is
    /// missing (for example the TCP or RDMA verbs backend for `tcp0`, `ibv0`, `mlx5_0`).
    pub fn get(name: &str) -> Result<Controller> {
        let cfg = Config::from_env().map_err(|e| {
            err(
                ErrorKind::CtlrNotPresent,
                "get_controller",
                format!("bad environment: {}", e.context()),
            )
        })?;
        Controller::get_with_config(name, &cfg)
    }

    /// Like [`get`](Controller::get) with explicit settings (for example a private
    /// namespace). Instances are shared per (type, unit, settings).
    pub fn get_with_config(name: &str, cfg: &Config) -> Result<Controller> {
        const OP: &str = "get_controller";
        cfg.validate()
            .map_err(|e| err(ErrorKind::CtlrNotPresent, OP, e.context().to_owned()))?;
        let (ty, unit) = parse_name(name)?;
        let canonical = match (ty.as_str(), unit) {
            ("loopback", _) => "loopback",
            ("shm", Some(0)) => "loopback",
            ("shm", _) => {
                return Err(err(
                    ErrorKind::CtlrNotPresent,
                    OP,
                    format!("{name}: the shared-memory controller has only unit 0 (shm0)"),
                ));
            }
            ("tcp", _) => {
                return Err(err(
                    ErrorKind::CtlrNotPresent,
                    OP,
                    format!("{name}: the TCP backend is not part of this build of rsm-core"),
                ));
            }
            (t, _) if VERBS_PREFIXES.iter().any(|p| t == *p || t.starts_with(p)) => {
                return Err(err(
                    ErrorKind::CtlrNotPresent,
                    OP,
                    format!(
                        "{name}: the RDMA verbs backend is not compiled in (rsm-core cargo feature `verbs`)"
                    ),
                ));
            }
            _ => {
                return Err(err(
                    ErrorKind::CtlrNotPresent,
                    OP,
                    format!("no controller named {name:?} (available: loopback, shm0)"),
                ));
            }
        };
        let mut reg = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(inner) = reg
            .iter()
            .find(|i| i.name == canonical && i.unit == 0 && *i.cfg == *cfg)
        {
            inner.refs.fetch_add(1, Ordering::Relaxed);
            return Ok(Controller {
                inner: inner.clone(),
            });
        }
        let cfg = Arc::new(cfg.clone());
        let transport = Box::new(ShmTransport::new(cfg.clone())?);
        let inner = Arc::new(CtrlInner {
            name: canonical.to_owned(),
            unit: 0,
            cfg,
            transport,
            refs: AtomicUsize::new(1),
        });
        reg.push(inner.clone());
        Ok(Controller { inner })
    }

    /// `rsm_release_controller`: drops one reference. [`ErrorKind::BadCtlrHndl`] if none
    /// is left.
    pub fn release(&self) -> Result<()> {
        let mut reg = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
        let n = self.inner.refs.load(Ordering::Relaxed);
        if n == 0 {
            return Err(err(
                ErrorKind::BadCtlrHndl,
                "release_controller",
                "controller already released",
            ));
        }
        self.inner.refs.store(n - 1, Ordering::Relaxed);
        if n == 1 {
            reg.retain(|i| !Arc::ptr_eq(i, &self.inner));
        }
        Ok(())
    }

    /// `rsm_get_controller_attr`. [`ErrorKind::CtlrNotPresent`] once released.
    pub fn attr(&self) -> Result<ControllerAttr> {
        if self.ref_count() == 0 {
            return Err(err(
                ErrorKind::CtlrNotPresent,
                "get_controller_attr",
                "controller released",
            ));
        }
        Ok(self.inner.transport.attr())
    }

    /// What the backend can do.
    pub fn caps(&self) -> Caps {
        self.inner.transport.caps()
    }

    /// Canonical name of the controller type (`"loopback"`).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Unit number.
    pub fn unit(&self) -> u32 {
        self.inner.unit
    }

    /// This process's node id on this controller.
    pub fn node_id(&self) -> NodeId {
        self.inner.cfg.node_id
    }

    /// The settings the controller was opened with.
    pub fn config(&self) -> &Config {
        &self.inner.cfg
    }

    /// Current RSMAPI reference count (0 = released).
    pub fn ref_count(&self) -> usize {
        self.inner.refs.load(Ordering::Relaxed)
    }

    /// Whether two handles name the same controller instance.
    pub fn same_instance(&self, other: &Controller) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// A stable address identifying the instance (for handle tables).
    pub fn as_ptr(&self) -> *const () {
        Arc::as_ptr(&self.inner).cast()
    }

    /// `BadCtlrHndl` once released.
    pub(crate) fn usable(&self, op: &'static str) -> Result<()> {
        if self.ref_count() == 0 {
            Err(err(ErrorKind::BadCtlrHndl, op, "controller released"))
        } else {
            Ok(())
        }
    }

    pub(crate) fn transport(&self) -> &dyn Transport {
        &*self.inner.transport
    }
}

impl fmt::Debug for CtrlInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CtrlInner")
            .field("name", &self.name)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_parsing() {
        assert_eq!(
            parse_name("loopback").unwrap(),
            ("loopback".into(), Some(0))
        );
        assert_eq!(
            parse_name("LoopBack3").unwrap(),
            ("loopback".into(), Some(3))
        );
        assert_eq!(parse_name("shm0").unwrap(), ("shm".into(), Some(0)));
        assert_eq!(parse_name("mlx5_1").unwrap(), ("mlx5_".into(), Some(1)));
        assert_eq!(parse_name("sci99999999999").unwrap(), ("sci".into(), None));
        assert_eq!(
            parse_name("").unwrap_err().kind(),
            ErrorKind::CtlrNotPresent
        );
        assert_eq!(
            parse_name(&"a".repeat(256)).unwrap_err().kind(),
            ErrorKind::CtlrNotPresent
        );
    }
}
