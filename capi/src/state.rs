//! Process-wide state of the library: the handle tables, the address ranges librsm manages,
//! error reporting, and the clean-up that runs at process exit.
//!
//! Nothing here is exported to C; the entry points in the other modules use it.

use core::ffi::c_int;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, OnceLock};

use rsm_core::{
    Barrier, Controller, ErrorKind, ExportSegment, ImportSegment, LocalMemory, RsmError,
};

use crate::registry::{
    self, TAG_BARRIER, TAG_CONTROLLER, TAG_EXPORT, TAG_IMPORT, TAG_LOCALMEM, Table,
};
use crate::types::RSM_SUCCESS;

/// A controller handle's object.
#[derive(Debug)]
pub struct ControllerEntry {
    /// The rsm-core controller instance.
    pub ctrl: Controller,
}

/// An export handle's object.
#[derive(Debug)]
pub struct ExportEntry {
    /// The rsm-core segment.
    pub seg: ExportSegment,
}

/// An import handle's object.
#[derive(Debug)]
pub struct ImportEntry {
    /// The rsm-core connection.
    pub seg: ImportSegment,
}

/// A local memory handle's object.
#[derive(Debug)]
pub struct LocalEntry {
    /// The rsm-core handle.
    pub mem: LocalMemory,
    /// The controller it was created through.
    pub ctrl: Controller,
}

/// A barrier's object (found through `rsmapi_barrier_t::privdata`).
#[derive(Debug)]
pub struct BarrierEntry {
    /// The rsm-core barrier.
    pub bar: Barrier,
    /// Handle value of the import segment it belongs to (also stored in
    /// `rsmapi_barrier_t::seg`).
    pub seg_handle: usize,
}

/// Live controllers (one handle per rsm-core instance).
pub static CONTROLLERS: Table<ControllerEntry> = Table::new(TAG_CONTROLLER);
/// Live export segments.
pub static EXPORTS: Table<ExportEntry> = Table::new(TAG_EXPORT);
/// Live import segments.
pub static IMPORTS: Table<ImportEntry> = Table::new(TAG_IMPORT);
/// Live local memory handles.
pub static LOCALMEMS: Table<LocalEntry> = Table::new(TAG_LOCALMEM);
/// Live barriers.
pub static BARRIERS: Table<BarrierEntry> = Table::new(TAG_BARRIER);

/// Serialises `rsm_get_controller` and `rsm_release_controller`, so "find the handle of
/// this instance or add one" and "drop the last reference and remove the handle" never
/// interleave.
static CONTROLLER_LOCK: Mutex<()> = Mutex::new(());

/// Holds the lock that serialises controller get and release.
pub fn controller_lock() -> MutexGuard<'static, ()> {
    CONTROLLER_LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// An error raised by the C layer itself (NULL pointers, stale handles, ...).
pub fn fail(kind: ErrorKind, op: &'static str, context: impl Into<String>) -> RsmError {
    RsmError::new(kind, op, context)
}

/// Whether `RSM_CAPI_DEBUG` asks for a line on stderr per failing call.
fn debug_enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        std::env::var_os("RSM_CAPI_DEBUG").is_some_and(|v| !v.is_empty() && v != "0")
    })
}

/// The C return value of a failure (its `RSMERR_*` code); with `RSM_CAPI_DEBUG` set, the
/// error with its explanation is printed on stderr.
pub fn report(e: &RsmError) -> c_int {
    if debug_enabled() {
        // Nothing useful can be done if stderr is closed.
        let _ = writeln!(std::io::stderr(), "librsm: {e}");
    }
    e.code()
}

/// `RSM_SUCCESS` or the code of the error.
#[inline]
pub fn code(r: Result<(), RsmError>) -> c_int {
    match r {
        Ok(()) => RSM_SUCCESS,
        Err(e) => report(&e),
    }
}

// ---------------------------------------------------------------------------------------------
// Lookups
// ---------------------------------------------------------------------------------------------

fn describe(value: usize) -> String {
    if value == 0 {
        "NULL handle".to_owned()
    } else {
        format!("{value:#x} is not a live handle of this kind (stale or foreign)")
    }
}

/// The error for a value `h` that names no live object of the expected kind.
pub fn not_a_handle(kind: ErrorKind, op: &'static str, h: usize) -> RsmError {
    fail(kind, op, describe(h))
}

/// The controller `h` names, else `RSMERR_BAD_CTLR_HNDL`.
pub fn controller(op: &'static str, h: usize) -> Result<Arc<ControllerEntry>, RsmError> {
    CONTROLLERS
        .get(h)
        .ok_or_else(|| fail(ErrorKind::BadCtlrHndl, op, describe(h)))
}

/// The export segment `h` names, else `RSMERR_BAD_SEG_HNDL`.
#[inline]
pub fn export(op: &'static str, h: usize) -> Result<Arc<ExportEntry>, RsmError> {
    EXPORTS
        .get(h)
        .ok_or_else(|| fail(ErrorKind::BadSegHndl, op, describe(h)))
}

/// The import segment `h` names, else `RSMERR_BAD_SEG_HNDL`.
#[inline]
pub fn import(op: &'static str, h: usize) -> Result<Arc<ImportEntry>, RsmError> {
    IMPORTS
        .get(h)
        .ok_or_else(|| fail(ErrorKind::BadSegHndl, op, describe(h)))
}

/// The local memory handle `h` names, else `RSMERR_BAD_LOCALMEM_HNDL`.
pub fn localmem(op: &'static str, h: usize) -> Result<Arc<LocalEntry>, RsmError> {
    LOCALMEMS
        .get(h)
        .ok_or_else(|| fail(ErrorKind::BadLocalmemHndl, op, describe(h)))
}

/// A `void *` argument of the event functions: an export or an import handle.
#[derive(Debug)]
pub enum AnySegment {
    /// An export handle.
    Export(Arc<ExportEntry>),
    /// An import handle.
    Import(Arc<ImportEntry>),
}

/// Tells export and import handles apart by their tag; anything else (NULL, stale,
/// foreign, another kind of handle) is `RSMERR_BAD_SEG_HNDL`.
pub fn any_segment(op: &'static str, h: usize) -> Result<AnySegment, RsmError> {
    let found = match registry::tag_of(h) {
        TAG_EXPORT => EXPORTS.get(h).map(AnySegment::Export),
        TAG_IMPORT => IMPORTS.get(h).map(AnySegment::Import),
        _ => None,
    };
    found.ok_or_else(|| {
        fail(
            ErrorKind::BadSegHndl,
            op,
            if h == 0 {
                "NULL handle".to_owned()
            } else {
                format!("{h:#x} is neither a live export nor a live import handle")
            },
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Address ranges managed by the library
// ---------------------------------------------------------------------------------------------

/// A range of this process's address space librsm has replaced by a shared mapping: an
/// export segment's memory (in place) or an explicit import mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Range {
    start: usize,
    end: usize,
    owner: usize,
}

static RANGES: Mutex<Vec<Range>> = Mutex::new(Vec::new());

/// The ranges librsm manages, locked: claim a range with [`Ranges::claim`] while holding it
/// across the operation that maps it, so two claims of overlapping ranges cannot race.
#[derive(Debug)]
pub struct Ranges(MutexGuard<'static, Vec<Range>>);

/// Locks the range table.
pub fn ranges() -> Ranges {
    Ranges(RANGES.lock().unwrap_or_else(|p| p.into_inner()))
}

impl Ranges {
    /// The owner (handle value) of a range overlapping `start..start+len`, other than
    /// `except`.
    pub fn overlapping(&self, start: usize, len: usize, except: usize) -> Option<usize> {
        let end = start.saturating_add(len);
        self.0
            .iter()
            .find(|r| r.owner != except && r.start < end && start < r.end)
            .map(|r| r.owner)
    }

    /// Records `start..start+len` as managed by `owner` (replacing what `owner` had).
    pub fn claim(&mut self, owner: usize, start: usize, len: usize) {
        self.0.retain(|r| r.owner != owner);
        self.0.push(Range {
            start,
            end: start.saturating_add(len),
            owner,
        });
    }

    /// Forgets the range of `owner`.
    pub fn release(&mut self, owner: usize) {
        self.0.retain(|r| r.owner != owner);
    }
}

/// The system page size.
pub fn page_size() -> usize {
    static PS: AtomicUsize = AtomicUsize::new(0);
    let ps = PS.load(Ordering::Relaxed);
    if ps != 0 {
        return ps;
    }
    // SAFETY: sysconf has no memory-safety preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let ps = usize::try_from(v).ok().filter(|p| *p > 0).unwrap_or(4096);
    PS.store(ps, Ordering::Relaxed);
    ps
}

// ---------------------------------------------------------------------------------------------
// A freed local memory handle, for scatter/gather entries that name a dead handle
// ---------------------------------------------------------------------------------------------

static TOMBSTONE: OnceLock<LocalMemory> = OnceLock::new();

/// Makes sure [`tombstone`] exists; called with the first controller the process gets.
pub fn init_tombstone(ctrl: &Controller) {
    if TOMBSTONE.get().is_some() {
        return;
    }
    if let Ok(m) = LocalMemory::new(ctrl, 1)
        && m.free(ctrl).is_ok()
    {
        let _ = TOMBSTONE.set(m);
    }
}

/// A local memory handle that is already freed: a putv/getv entry naming a stale or NULL
/// handle is given this one, so rsm-core fails that very entry with
/// `RSMERR_BAD_LOCALMEM_HNDL` (and the right residual count) after doing the entries
/// before it.
pub fn tombstone() -> Option<&'static LocalMemory> {
    TOMBSTONE.get()
}

// ---------------------------------------------------------------------------------------------
// Process exit
// ---------------------------------------------------------------------------------------------

/// Registers [`cleanup_at_exit`] with `atexit` once.
pub fn register_exit_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: `on_exit` is an `extern "C"` function without arguments that never
        // unwinds (it catches panics). atexit only records it.
        let _ = unsafe { libc::atexit(on_exit) };
    });
}

extern "C" fn on_exit() {
    let _ = std::panic::catch_unwind(cleanup_at_exit);
}

/// What the Solaris kernel did when a process exits: its export segments are destroyed
/// (importers elsewhere are cut off and the segment names disappear) and its connections
/// are closed. Pending poll references and explicit mappings do not stop this.
pub fn cleanup_at_exit() {
    for b in BARRIERS.remove_where(|_| true) {
        let _ = b.bar.destroy();
    }
    for imp in IMPORTS.remove_where(|_| true) {
        force_disconnect(&imp.seg);
    }
    for exp in EXPORTS.remove_where(|_| true) {
        force_destroy(&exp.seg);
    }
    for m in LOCALMEMS.remove_where(|_| true) {
        let _ = m.mem.free(&m.ctrl);
    }
}

/// Disconnects whatever its state (unmaps, drops poll references).
fn force_disconnect(seg: &ImportSegment) {
    // Each round removes one obstacle (a mapping, or one poll reference); the loop ends
    // when disconnect succeeds or fails for any other reason.
    loop {
        match seg.disconnect() {
            Err(e) if e.kind() == ErrorKind::SegStillMapped => {
                if seg.unmap().is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == ErrorKind::PollfdInUse => {
                if seg.release_pollfd().is_err() {
                    return;
                }
            }
            _ => return,
        }
    }
}

/// Destroys whatever its poll references.
fn force_destroy(seg: &ExportSegment) {
    loop {
        match seg.destroy() {
            Err(e) if e.kind() == ErrorKind::PollfdInUse => {
                if seg.release_pollfd().is_err() {
                    return;
                }
            }
            _ => return,
        }
    }
}
