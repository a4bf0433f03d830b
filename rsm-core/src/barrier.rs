//! Barriers (SPEC.md §4.7, §5.8): error-detection spans around transfers.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::{ErrorKind, Result, err};
use crate::import::ImportShared;
use crate::types::BarrierType;

/// A barrier (`rsmapi_barrier_t`) of one import segment.
///
/// Created by [`ImportSegment::init_barrier`](crate::ImportSegment::init_barrier), which
/// also makes it the segment's current barrier (needed by implicit-mode transfers).
/// Explicit use: [`open`](Barrier::open) → transfers or stores through the mapping →
/// optional [`order`](Barrier::order) → [`close`](Barrier::close); if close fails, redo
/// everything since the open (after reconnecting, for `ConnAborted`).
///
/// The object has a stable address for its whole life (box it for C). After
/// [`destroy`](Barrier::destroy) every call returns [`ErrorKind::BarrierUninitialized`];
/// dropping it destroys it.
pub struct Barrier {
    seg: Arc<ImportShared>,
    id: u64,
    ty: BarrierType,
    live: AtomicBool,
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("id", &self.id)
            .field("type", &self.ty)
            .field("live", &self.live.load(Ordering::Relaxed))
            .finish()
    }
}

impl Barrier {
    pub(crate) fn init(seg: &Arc<ImportShared>, ty: BarrierType) -> Result<Barrier> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        seg.connected("import_init_barrier")?;
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        seg.barrier.store(id, Ordering::Release);
        Ok(Barrier {
            seg: seg.clone(),
            id,
            ty,
            live: AtomicBool::new(true),
        })
    }

    fn usable(&self, op: &'static str) -> Result<()> {
        if !self.live.load(Ordering::Acquire) {
            return Err(err(
                ErrorKind::BarrierUninitialized,
                op,
                "barrier destroyed",
            ));
        }
        self.seg.connected(op)
    }

    /// The barrier type given at init (informational).
    pub fn barrier_type(&self) -> BarrierType {
        self.ty
    }

    /// Whether this is its segment's current barrier.
    pub fn is_current(&self) -> bool {
        self.live.load(Ordering::Acquire) && self.seg.barrier.load(Ordering::Acquire) == self.id
    }

    /// `rsm_memseg_import_open_barrier`: starts a span. Errors:
    /// [`ErrorKind::BarrierUninitialized`], [`ErrorKind::BadSegHndl`] (segment
    /// disconnected). On the loopback controller an open always succeeds (a lost
    /// connection is reported by close).
    pub fn open(&self) -> Result<()> {
        self.usable("import_open_barrier")?;
        *self
            .seg
            .span_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }

    /// `rsm_memseg_import_order_barrier`: writes before complete before writes after.
    /// Errors: [`ErrorKind::BarrierUninitialized`], [`ErrorKind::BadSegHndl`],
    /// [`ErrorKind::BarrierFailure`].
    pub fn order(&self) -> Result<()> {
        const OP: &str = "import_order_barrier";
        self.usable(OP)?;
        self.seg
            .remote
            .order()
            .map_err(|e| err(ErrorKind::BarrierFailure, OP, e.to_string()))
    }

    /// `rsm_memseg_import_close_barrier`: ends the span; success means every transfer since
    /// the open completed. Errors, in order: [`ErrorKind::BarrierUninitialized`],
    /// [`ErrorKind::BadSegHndl`], [`ErrorKind::ConnAborted`] (the exporter unpublished or
    /// destroyed the segment, or died — sticky until reconnect),
    /// [`ErrorKind::BarrierFailure`] (a transfer in the span failed; the context names it).
    pub fn close(&self) -> Result<()> {
        const OP: &str = "import_close_barrier";
        self.usable(OP)?;
        self.seg
            .remote
            .span_close(true)
            .map_err(|e| e.with_op(OP))?;
        if let Some(e) = self
            .seg
            .span_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            return Err(err(
                ErrorKind::BarrierFailure,
                OP,
                format!("a transfer in the span failed: {e}"),
            ));
        }
        Ok(())
    }

    /// `rsm_memseg_import_destroy_barrier`: detaches the barrier (implicit-mode transfers
    /// then fail with [`ErrorKind::BarrierUninitialized`] until a new init). Errors:
    /// [`ErrorKind::BarrierUninitialized`] (already destroyed).
    pub fn destroy(&self) -> Result<()> {
        if !self.live.swap(false, Ordering::AcqRel) {
            return Err(err(
                ErrorKind::BarrierUninitialized,
                "import_destroy_barrier",
                "barrier already destroyed",
            ));
        }
        let _ = self
            .seg
            .barrier
            .compare_exchange(self.id, 0, Ordering::AcqRel, Ordering::Acquire);
        Ok(())
    }
}

impl Drop for Barrier {
    fn drop(&mut self) {
        let _ = self.destroy();
    }
}
