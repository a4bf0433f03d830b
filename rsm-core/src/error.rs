//! Errors: [`ErrorKind`] carries the exact numeric `RSMERR_*` code of SPEC.md §3.1;
//! [`RsmError`] adds the operation that failed and a human-readable context.

use std::fmt;
use std::io;

/// `RSM_SUCCESS`: the value every RSMAPI function returns on success.
pub const RSM_SUCCESS: i32 = 0;

/// The result type of every fallible rsm-core operation.
pub type Result<T, E = RsmError> = std::result::Result<T, E>;

/// An RSMAPI error: a [`ErrorKind`] (whose [`code`](ErrorKind::code) is the C return
/// value), the operation that failed (`"import_connect"`, `"put"`, ...) and a message
/// explaining the particular failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsmError {
    kind: ErrorKind,
    op: &'static str,
    context: String,
}

impl RsmError {
    /// A new error of `kind` raised by `op`, with a free-form `context` message.
    pub fn new(kind: ErrorKind, op: &'static str, context: impl Into<String>) -> RsmError {
        RsmError {
            kind,
            op,
            context: context.into(),
        }
    }

    /// An error built from an OS error: `kind` is chosen by the caller (each call site
    /// knows which RSMERR code its failure means); the OS message goes into the context.
    pub(crate) fn os(
        kind: ErrorKind,
        op: &'static str,
        what: impl fmt::Display,
        err: &io::Error,
    ) -> RsmError {
        RsmError::new(kind, op, format!("{what}: {err}"))
    }

    /// The error kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The numeric `RSMERR_*` code (`self.kind().code()`).
    pub fn code(&self) -> i32 {
        self.kind.code()
    }

    /// The operation that failed, e.g. `"export_publish"`.
    pub fn op(&self) -> &'static str {
        self.op
    }

    /// The message describing this particular failure.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// The same error reported under another operation name.
    pub(crate) fn with_op(mut self, op: &'static str) -> RsmError {
        self.op = op;
        self
    }
}

impl fmt::Display for RsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({})",
            self.op,
            self.kind.message(),
            self.kind.name()
        )?;
        if !self.context.is_empty() {
            write!(f, ": {}", self.context)?;
        }
        Ok(())
    }
}

impl std::error::Error for RsmError {}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message(), self.name())
    }
}

/// Shorthand used throughout the crate: `Err(err(kind, op, context))`.
pub(crate) fn err(kind: ErrorKind, op: &'static str, context: impl Into<String>) -> RsmError {
    RsmError::new(kind, op, context)
}

// ---- generated tables (values from SPEC.md §3.1) ----

/// The RSMAPI error kinds. The discriminant of each variant is the numeric `RSMERR_*`
/// value of `rsm_common.h` (SPEC.md §3.1); `RSM_SUCCESS` (0) is `Ok(())`, not a kind.
///
/// Codes 1–45 are the RSMAPI codes; 100–134 are RSMPI codes that share the header. The
/// numbering is fixed: never renumber or reuse a value.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// `RSMERR_BAD_LIBRARY_VERSION` (1): controller library version mismatch.
    BadLibraryVersion = 1,
    /// `RSMERR_BAD_TOPOLOGY_PTR` (2): bad topology pointer.
    BadTopologyPtr = 2,
    /// `RSMERR_BAD_CTLR_HNDL` (3): invalid controller handle.
    BadCtlrHndl = 3,
    /// `RSMERR_CTLR_NOT_PRESENT` (4): controller not present.
    CtlrNotPresent = 4,
    /// `RSMERR_BAD_SEG_HNDL` (5): invalid segment handle.
    BadSegHndl = 5,
    /// `RSMERR_SEG_ALREADY_PUBLISHED` (6): segment already published.
    SegAlreadyPublished = 6,
    /// `RSMERR_SEG_NOT_PUBLISHED` (7): segment not published.
    SegNotPublished = 7,
    /// `RSMERR_SEG_NOT_PUBLISHED_TO_NODE` (8): segment not published to this node.
    SegNotPublishedToNode = 8,
    /// `RSMERR_SEG_ALREADY_MAPPED` (9): segment already mapped.
    SegAlreadyMapped = 9,
    /// `RSMERR_SEG_STILL_MAPPED` (10): segment still mapped.
    SegStillMapped = 10,
    /// `RSMERR_SEG_NOT_MAPPED` (11): segment not mapped.
    SegNotMapped = 11,
    /// `RSMERR_NOT_CREATOR` (12): caller is not the creator of the segment.
    NotCreator = 12,
    /// `RSMERR_BAD_BARRIER_PTR` (13): bad barrier pointer.
    BadBarrierPtr = 13,
    /// `RSMERR_BAD_SGIO` (14): bad scatter/gather request.
    BadSgio = 14,
    /// `RSMERR_BAD_LOCALMEM_HNDL` (15): invalid local memory handle.
    BadLocalmemHndl = 15,
    /// `RSMERR_BAD_ADDR` (16): bad address.
    BadAddr = 16,
    /// `RSMERR_BAD_MEM_ALIGNMENT` (17): bad memory alignment.
    BadMemAlignment = 17,
    /// `RSMERR_BAD_OFFSET` (18): offset out of range.
    BadOffset = 18,
    /// `RSMERR_MISALIGNED_OFFSET` (19): misaligned offset.
    MisalignedOffset = 19,
    /// `RSMERR_BAD_LENGTH` (20): bad length.
    BadLength = 20,
    /// `RSMERR_BAD_ACL` (21): invalid access control list.
    BadAcl = 21,
    /// `RSMERR_BAD_SEGID` (22): invalid segment id.
    BadSegid = 22,
    /// `RSMERR_RESERVED_SEGID` (23): segment id is reserved.
    ReservedSegid = 23,
    /// `RSMERR_SEGID_IN_USE` (24): segment id already in use.
    SegidInUse = 24,
    /// `RSMERR_BAD_MODE` (25): invalid barrier mode.
    BadMode = 25,
    /// `RSMERR_BAD_PERMS` (26): invalid permissions.
    BadPerms = 26,
    /// `RSMERR_PERM_DENIED` (27): permission denied.
    PermDenied = 27,
    /// `RSMERR_LOCKS_NOT_SUPPORTED` (28): lock operations not supported.
    LocksNotSupported = 28,
    /// `RSMERR_LOCKS_NOT_ENABLED` (29): lock operations not enabled on this segment.
    LocksNotEnabled = 29,
    /// `RSMERR_REBIND_NOT_ALLOWED` (30): rebind not allowed.
    RebindNotAllowed = 30,
    /// `RSMERR_INSUFFICIENT_RESOURCES` (31): insufficient resources.
    InsufficientResources = 31,
    /// `RSMERR_INSUFFICIENT_MEM` (32): insufficient memory.
    InsufficientMem = 32,
    /// `RSMERR_MAP_FAILED` (33): map failed.
    MapFailed = 33,
    /// `RSMERR_POLLFD_IN_USE` (34): poll descriptor still in use.
    PollfdInUse = 34,
    /// `RSMERR_BARRIER_UNINITIALIZED` (35): barrier not initialized.
    BarrierUninitialized = 35,
    /// `RSMERR_BARRIER_OPEN_FAILED` (36): barrier open failed.
    BarrierOpenFailed = 36,
    /// `RSMERR_BARRIER_NOT_OPENED` (37): barrier not opened.
    BarrierNotOpened = 37,
    /// `RSMERR_BARRIER_FAILURE` (38): barrier failure.
    BarrierFailure = 38,
    /// `RSMERR_REMOTE_NODE_UNREACHABLE` (39): remote node unreachable.
    RemoteNodeUnreachable = 39,
    /// `RSMERR_CONN_ABORTED` (40): connection aborted.
    ConnAborted = 40,
    /// `RSMERR_INTERRUPTED` (41): interrupted.
    Interrupted = 41,
    /// `RSMERR_TIMEOUT` (42): timeout.
    Timeout = 42,
    /// `RSMERR_BAD_APPID` (43): application id not found.
    BadAppid = 43,
    /// `RSMERR_BAD_CONF` (44): bad configuration file.
    BadConf = 44,
    /// `RSMERR_SEG_NOT_CONNECTED` (45): segment not connected.
    SegNotConnected = 45,
    /// `RSMERR_INTERNAL_ERROR` (100): internal error.
    InternalError = 100,
    /// `RSMERR_BAD_DRIVER_VERSION` (101): driver version mismatch.
    BadDriverVersion = 101,
    /// `RSMERR_UNSUPPORTED_VERSION` (102): unsupported version.
    UnsupportedVersion = 102,
    /// `RSMERR_DRIVER_NAME_IN_USE` (103): driver name in use.
    DriverNameInUse = 103,
    /// `RSMERR_DRIVER_NOT_REGISTERED` (104): driver not registered.
    DriverNotRegistered = 104,
    /// `RSMERR_DRIVER_THREAD_RUNNING` (105): driver thread running.
    DriverThreadRunning = 105,
    /// `RSMERR_NEED_THREAD_INIT` (106): thread initialization needed.
    NeedThreadInit = 106,
    /// `RSMERR_THREAD_NOT_INITED` (107): thread not initialized.
    ThreadNotInited = 107,
    /// `RSMERR_CTLRS_REGISTERED` (108): controllers registered.
    CtlrsRegistered = 108,
    /// `RSMERR_CTLR_NOT_REGISTERED` (109): controller not registered.
    CtlrNotRegistered = 109,
    /// `RSMERR_CTLR_ALREADY_REGISTERED` (110): controller already registered.
    CtlrAlreadyRegistered = 110,
    /// `RSMERR_CTLR_IN_USE` (111): controller in use.
    CtlrInUse = 111,
    /// `RSMERR_NAME_TOO_LONG` (112): name too long.
    NameTooLong = 112,
    /// `RSMERR_SEG_PUBLISHED` (113): segment published.
    SegPublished = 113,
    /// `RSMERR_SEG_NOT_PUBLISHED_TO_RSM_ADDR` (114): segment not published to this address.
    SegNotPublishedToRsmAddr = 114,
    /// `RSMERR_SEG_IN_USE` (115): segment in use.
    SegInUse = 115,
    /// `RSMERR_BAD_SENDQ_HNDL` (116): invalid send queue handle.
    BadSendqHndl = 116,
    /// `RSMERR_BAD_ARGS_ERRORS` (117): bad arguments.
    BadArgsErrors = 117,
    /// `RSMERR_BAD_MSTYPE` (118): bad memory type.
    BadMstype = 118,
    /// `RSMERR_NO_BACKING_MEM` (119): no backing memory.
    NoBackingMem = 119,
    /// `RSMERR_NOT_MEM` (120): not memory.
    NotMem = 120,
    /// `RSMERR_MEM_ALREADY_BOUND` (121): memory already bound.
    MemAlreadyBound = 121,
    /// `RSMERR_MEM_NOT_BOUND` (122): memory not bound.
    MemNotBound = 122,
    /// `RSMERR_HANDLER_NOT_REGISTERED` (123): handler not registered.
    HandlerNotRegistered = 123,
    /// `RSMERR_NO_HANDLER` (124): no handler.
    NoHandler = 124,
    /// `RSMERR_UNBIND_REBIND_NOT_ALLOWED` (125): unbind/rebind not allowed.
    UnbindRebindNotAllowed = 125,
    /// `RSMERR_CALLBACKS_NOT_SUPPORTED` (126): callbacks not supported.
    CallbacksNotSupported = 126,
    /// `RSMERR_UNSUPPORTED_OPERATION` (127): unsupported operation.
    UnsupportedOperation = 127,
    /// `RSMERR_RSM_ADDR_UNREACHABLE` (128): RSM address unreachable.
    RsmAddrUnreachable = 128,
    /// `RSMERR_UNKNOWN_RSM_ADDR` (129): unknown RSM address.
    UnknownRsmAddr = 129,
    /// `RSMERR_BAD_BARRIER_HNDL` (130): invalid barrier handle.
    BadBarrierHndl = 130,
    /// `RSMERR_COMM_ERR_MAYBE_DELIVERED` (131): communication error, maybe delivered.
    CommErrMaybeDelivered = 131,
    /// `RSMERR_COMM_ERR_NOT_DELIVERED` (132): communication error, not delivered.
    CommErrNotDelivered = 132,
    /// `RSMERR_QUEUE_FENCE_UP` (133): queue fence up.
    QueueFenceUp = 133,
    /// `RSMERR_QUEUE_FULL` (134): queue full.
    QueueFull = 134,
}

impl ErrorKind {
    /// Every kind, in numeric order.
    pub const ALL: [ErrorKind; 80] = [
        ErrorKind::BadLibraryVersion,
        ErrorKind::BadTopologyPtr,
        ErrorKind::BadCtlrHndl,
        ErrorKind::CtlrNotPresent,
        ErrorKind::BadSegHndl,
        ErrorKind::SegAlreadyPublished,
        ErrorKind::SegNotPublished,
        ErrorKind::SegNotPublishedToNode,
        ErrorKind::SegAlreadyMapped,
        ErrorKind::SegStillMapped,
        ErrorKind::SegNotMapped,
        ErrorKind::NotCreator,
        ErrorKind::BadBarrierPtr,
        ErrorKind::BadSgio,
        ErrorKind::BadLocalmemHndl,
        ErrorKind::BadAddr,
        ErrorKind::BadMemAlignment,
        ErrorKind::BadOffset,
        ErrorKind::MisalignedOffset,
        ErrorKind::BadLength,
        ErrorKind::BadAcl,
        ErrorKind::BadSegid,
        ErrorKind::ReservedSegid,
        ErrorKind::SegidInUse,
        ErrorKind::BadMode,
        ErrorKind::BadPerms,
        ErrorKind::PermDenied,
        ErrorKind::LocksNotSupported,
        ErrorKind::LocksNotEnabled,
        ErrorKind::RebindNotAllowed,
        ErrorKind::InsufficientResources,
        ErrorKind::InsufficientMem,
        ErrorKind::MapFailed,
        ErrorKind::PollfdInUse,
        ErrorKind::BarrierUninitialized,
        ErrorKind::BarrierOpenFailed,
        ErrorKind::BarrierNotOpened,
        ErrorKind::BarrierFailure,
        ErrorKind::RemoteNodeUnreachable,
        ErrorKind::ConnAborted,
        ErrorKind::Interrupted,
        ErrorKind::Timeout,
        ErrorKind::BadAppid,
        ErrorKind::BadConf,
        ErrorKind::SegNotConnected,
        ErrorKind::InternalError,
        ErrorKind::BadDriverVersion,
        ErrorKind::UnsupportedVersion,
        ErrorKind::DriverNameInUse,
        ErrorKind::DriverNotRegistered,
        ErrorKind::DriverThreadRunning,
        ErrorKind::NeedThreadInit,
        ErrorKind::ThreadNotInited,
        ErrorKind::CtlrsRegistered,
        ErrorKind::CtlrNotRegistered,
        ErrorKind::CtlrAlreadyRegistered,
        ErrorKind::CtlrInUse,
        ErrorKind::NameTooLong,
        ErrorKind::SegPublished,
        ErrorKind::SegNotPublishedToRsmAddr,
        ErrorKind::SegInUse,
        ErrorKind::BadSendqHndl,
        ErrorKind::BadArgsErrors,
        ErrorKind::BadMstype,
        ErrorKind::NoBackingMem,
        ErrorKind::NotMem,
        ErrorKind::MemAlreadyBound,
        ErrorKind::MemNotBound,
        ErrorKind::HandlerNotRegistered,
        ErrorKind::NoHandler,
        ErrorKind::UnbindRebindNotAllowed,
        ErrorKind::CallbacksNotSupported,
        ErrorKind::UnsupportedOperation,
        ErrorKind::RsmAddrUnreachable,
        ErrorKind::UnknownRsmAddr,
        ErrorKind::BadBarrierHndl,
        ErrorKind::CommErrMaybeDelivered,
        ErrorKind::CommErrNotDelivered,
        ErrorKind::QueueFenceUp,
        ErrorKind::QueueFull,
    ];

    /// The numeric `RSMERR_*` code.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The kind for a numeric code; `None` for 0 (success) and for unknown values.
    pub const fn from_code(code: i32) -> Option<ErrorKind> {
        Some(match code {
            1 => ErrorKind::BadLibraryVersion,
            2 => ErrorKind::BadTopologyPtr,
            3 => ErrorKind::BadCtlrHndl,
            4 => ErrorKind::CtlrNotPresent,
            5 => ErrorKind::BadSegHndl,
            6 => ErrorKind::SegAlreadyPublished,
            7 => ErrorKind::SegNotPublished,
            8 => ErrorKind::SegNotPublishedToNode,
            9 => ErrorKind::SegAlreadyMapped,
            10 => ErrorKind::SegStillMapped,
            11 => ErrorKind::SegNotMapped,
            12 => ErrorKind::NotCreator,
            13 => ErrorKind::BadBarrierPtr,
            14 => ErrorKind::BadSgio,
            15 => ErrorKind::BadLocalmemHndl,
            16 => ErrorKind::BadAddr,
            17 => ErrorKind::BadMemAlignment,
            18 => ErrorKind::BadOffset,
            19 => ErrorKind::MisalignedOffset,
            20 => ErrorKind::BadLength,
            21 => ErrorKind::BadAcl,
            22 => ErrorKind::BadSegid,
            23 => ErrorKind::ReservedSegid,
            24 => ErrorKind::SegidInUse,
            25 => ErrorKind::BadMode,
            26 => ErrorKind::BadPerms,
            27 => ErrorKind::PermDenied,
            28 => ErrorKind::LocksNotSupported,
            29 => ErrorKind::LocksNotEnabled,
            30 => ErrorKind::RebindNotAllowed,
            31 => ErrorKind::InsufficientResources,
            32 => ErrorKind::InsufficientMem,
            33 => ErrorKind::MapFailed,
            34 => ErrorKind::PollfdInUse,
            35 => ErrorKind::BarrierUninitialized,
            36 => ErrorKind::BarrierOpenFailed,
            37 => ErrorKind::BarrierNotOpened,
            38 => ErrorKind::BarrierFailure,
            39 => ErrorKind::RemoteNodeUnreachable,
            40 => ErrorKind::ConnAborted,
            41 => ErrorKind::Interrupted,
            42 => ErrorKind::Timeout,
            43 => ErrorKind::BadAppid,
            44 => ErrorKind::BadConf,
            45 => ErrorKind::SegNotConnected,
            100 => ErrorKind::InternalError,
            101 => ErrorKind::BadDriverVersion,
            102 => ErrorKind::UnsupportedVersion,
            103 => ErrorKind::DriverNameInUse,
            104 => ErrorKind::DriverNotRegistered,
            105 => ErrorKind::DriverThreadRunning,
            106 => ErrorKind::NeedThreadInit,
            107 => ErrorKind::ThreadNotInited,
            108 => ErrorKind::CtlrsRegistered,
            109 => ErrorKind::CtlrNotRegistered,
            110 => ErrorKind::CtlrAlreadyRegistered,
            111 => ErrorKind::CtlrInUse,
            112 => ErrorKind::NameTooLong,
            113 => ErrorKind::SegPublished,
            114 => ErrorKind::SegNotPublishedToRsmAddr,
            115 => ErrorKind::SegInUse,
            116 => ErrorKind::BadSendqHndl,
            117 => ErrorKind::BadArgsErrors,
            118 => ErrorKind::BadMstype,
            119 => ErrorKind::NoBackingMem,
            120 => ErrorKind::NotMem,
            121 => ErrorKind::MemAlreadyBound,
            122 => ErrorKind::MemNotBound,
            123 => ErrorKind::HandlerNotRegistered,
            124 => ErrorKind::NoHandler,
            125 => ErrorKind::UnbindRebindNotAllowed,
            126 => ErrorKind::CallbacksNotSupported,
            127 => ErrorKind::UnsupportedOperation,
            128 => ErrorKind::RsmAddrUnreachable,
            129 => ErrorKind::UnknownRsmAddr,
            130 => ErrorKind::BadBarrierHndl,
            131 => ErrorKind::CommErrMaybeDelivered,
            132 => ErrorKind::CommErrNotDelivered,
            133 => ErrorKind::QueueFenceUp,
            134 => ErrorKind::QueueFull,
            _ => return None,
        })
    }

    /// The C macro name, e.g. `"RSMERR_BAD_SEG_HNDL"`.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorKind::BadLibraryVersion => "RSMERR_BAD_LIBRARY_VERSION",
            ErrorKind::BadTopologyPtr => "RSMERR_BAD_TOPOLOGY_PTR",
            ErrorKind::BadCtlrHndl => "RSMERR_BAD_CTLR_HNDL",
            ErrorKind::CtlrNotPresent => "RSMERR_CTLR_NOT_PRESENT",
            ErrorKind::BadSegHndl => "RSMERR_BAD_SEG_HNDL",
            ErrorKind::SegAlreadyPublished => "RSMERR_SEG_ALREADY_PUBLISHED",
            ErrorKind::SegNotPublished => "RSMERR_SEG_NOT_PUBLISHED",
            ErrorKind::SegNotPublishedToNode => "RSMERR_SEG_NOT_PUBLISHED_TO_NODE",
            ErrorKind::SegAlreadyMapped => "RSMERR_SEG_ALREADY_MAPPED",
            ErrorKind::SegStillMapped => "RSMERR_SEG_STILL_MAPPED",
            ErrorKind::SegNotMapped => "RSMERR_SEG_NOT_MAPPED",
            ErrorKind::NotCreator => "RSMERR_NOT_CREATOR",
            ErrorKind::BadBarrierPtr => "RSMERR_BAD_BARRIER_PTR",
            ErrorKind::BadSgio => "RSMERR_BAD_SGIO",
            ErrorKind::BadLocalmemHndl => "RSMERR_BAD_LOCALMEM_HNDL",
            ErrorKind::BadAddr => "RSMERR_BAD_ADDR",
            ErrorKind::BadMemAlignment => "RSMERR_BAD_MEM_ALIGNMENT",
            ErrorKind::BadOffset => "RSMERR_BAD_OFFSET",
            ErrorKind::MisalignedOffset => "RSMERR_MISALIGNED_OFFSET",
            ErrorKind::BadLength => "RSMERR_BAD_LENGTH",
            ErrorKind::BadAcl => "RSMERR_BAD_ACL",
            ErrorKind::BadSegid => "RSMERR_BAD_SEGID",
            ErrorKind::ReservedSegid => "RSMERR_RESERVED_SEGID",
            ErrorKind::SegidInUse => "RSMERR_SEGID_IN_USE",
            ErrorKind::BadMode => "RSMERR_BAD_MODE",
            ErrorKind::BadPerms => "RSMERR_BAD_PERMS",
            ErrorKind::PermDenied => "RSMERR_PERM_DENIED",
            ErrorKind::LocksNotSupported => "RSMERR_LOCKS_NOT_SUPPORTED",
            ErrorKind::LocksNotEnabled => "RSMERR_LOCKS_NOT_ENABLED",
            ErrorKind::RebindNotAllowed => "RSMERR_REBIND_NOT_ALLOWED",
            ErrorKind::InsufficientResources => "RSMERR_INSUFFICIENT_RESOURCES",
            ErrorKind::InsufficientMem => "RSMERR_INSUFFICIENT_MEM",
            ErrorKind::MapFailed => "RSMERR_MAP_FAILED",
            ErrorKind::PollfdInUse => "RSMERR_POLLFD_IN_USE",
            ErrorKind::BarrierUninitialized => "RSMERR_BARRIER_UNINITIALIZED",
            ErrorKind::BarrierOpenFailed => "RSMERR_BARRIER_OPEN_FAILED",
            ErrorKind::BarrierNotOpened => "RSMERR_BARRIER_NOT_OPENED",
            ErrorKind::BarrierFailure => "RSMERR_BARRIER_FAILURE",
            ErrorKind::RemoteNodeUnreachable => "RSMERR_REMOTE_NODE_UNREACHABLE",
            ErrorKind::ConnAborted => "RSMERR_CONN_ABORTED",
            ErrorKind::Interrupted => "RSMERR_INTERRUPTED",
            ErrorKind::Timeout => "RSMERR_TIMEOUT",
            ErrorKind::BadAppid => "RSMERR_BAD_APPID",
            ErrorKind::BadConf => "RSMERR_BAD_CONF",
            ErrorKind::SegNotConnected => "RSMERR_SEG_NOT_CONNECTED",
            ErrorKind::InternalError => "RSMERR_INTERNAL_ERROR",
            ErrorKind::BadDriverVersion => "RSMERR_BAD_DRIVER_VERSION",
            ErrorKind::UnsupportedVersion => "RSMERR_UNSUPPORTED_VERSION",
            ErrorKind::DriverNameInUse => "RSMERR_DRIVER_NAME_IN_USE",
            ErrorKind::DriverNotRegistered => "RSMERR_DRIVER_NOT_REGISTERED",
            ErrorKind::DriverThreadRunning => "RSMERR_DRIVER_THREAD_RUNNING",
            ErrorKind::NeedThreadInit => "RSMERR_NEED_THREAD_INIT",
            ErrorKind::ThreadNotInited => "RSMERR_THREAD_NOT_INITED",
            ErrorKind::CtlrsRegistered => "RSMERR_CTLRS_REGISTERED",
            ErrorKind::CtlrNotRegistered => "RSMERR_CTLR_NOT_REGISTERED",
            ErrorKind::CtlrAlreadyRegistered => "RSMERR_CTLR_ALREADY_REGISTERED",
            ErrorKind::CtlrInUse => "RSMERR_CTLR_IN_USE",
            ErrorKind::NameTooLong => "RSMERR_NAME_TOO_LONG",
            ErrorKind::SegPublished => "RSMERR_SEG_PUBLISHED",
            ErrorKind::SegNotPublishedToRsmAddr => "RSMERR_SEG_NOT_PUBLISHED_TO_RSM_ADDR",
            ErrorKind::SegInUse => "RSMERR_SEG_IN_USE",
            ErrorKind::BadSendqHndl => "RSMERR_BAD_SENDQ_HNDL",
            ErrorKind::BadArgsErrors => "RSMERR_BAD_ARGS_ERRORS",
            ErrorKind::BadMstype => "RSMERR_BAD_MSTYPE",
            ErrorKind::NoBackingMem => "RSMERR_NO_BACKING_MEM",
            ErrorKind::NotMem => "RSMERR_NOT_MEM",
            ErrorKind::MemAlreadyBound => "RSMERR_MEM_ALREADY_BOUND",
            ErrorKind::MemNotBound => "RSMERR_MEM_NOT_BOUND",
            ErrorKind::HandlerNotRegistered => "RSMERR_HANDLER_NOT_REGISTERED",
            ErrorKind::NoHandler => "RSMERR_NO_HANDLER",
            ErrorKind::UnbindRebindNotAllowed => "RSMERR_UNBIND_REBIND_NOT_ALLOWED",
            ErrorKind::CallbacksNotSupported => "RSMERR_CALLBACKS_NOT_SUPPORTED",
            ErrorKind::UnsupportedOperation => "RSMERR_UNSUPPORTED_OPERATION",
            ErrorKind::RsmAddrUnreachable => "RSMERR_RSM_ADDR_UNREACHABLE",
            ErrorKind::UnknownRsmAddr => "RSMERR_UNKNOWN_RSM_ADDR",
            ErrorKind::BadBarrierHndl => "RSMERR_BAD_BARRIER_HNDL",
            ErrorKind::CommErrMaybeDelivered => "RSMERR_COMM_ERR_MAYBE_DELIVERED",
            ErrorKind::CommErrNotDelivered => "RSMERR_COMM_ERR_NOT_DELIVERED",
            ErrorKind::QueueFenceUp => "RSMERR_QUEUE_FENCE_UP",
            ErrorKind::QueueFull => "RSMERR_QUEUE_FULL",
        }
    }

    /// A short human-readable description.
    pub const fn message(self) -> &'static str {
        match self {
            ErrorKind::BadLibraryVersion => "controller library version mismatch",
            ErrorKind::BadTopologyPtr => "bad topology pointer",
            ErrorKind::BadCtlrHndl => "invalid controller handle",
            ErrorKind::CtlrNotPresent => "controller not present",
            ErrorKind::BadSegHndl => "invalid segment handle",
            ErrorKind::SegAlreadyPublished => "segment already published",
            ErrorKind::SegNotPublished => "segment not published",
            ErrorKind::SegNotPublishedToNode => "segment not published to this node",
            ErrorKind::SegAlreadyMapped => "segment already mapped",
            ErrorKind::SegStillMapped => "segment still mapped",
            ErrorKind::SegNotMapped => "segment not mapped",
            ErrorKind::NotCreator => "caller is not the creator of the segment",
            ErrorKind::BadBarrierPtr => "bad barrier pointer",
            ErrorKind::BadSgio => "bad scatter/gather request",
            ErrorKind::BadLocalmemHndl => "invalid local memory handle",
            ErrorKind::BadAddr => "bad address",
            ErrorKind::BadMemAlignment => "bad memory alignment",
            ErrorKind::BadOffset => "offset out of range",
            ErrorKind::MisalignedOffset => "misaligned offset",
            ErrorKind::BadLength => "bad length",
            ErrorKind::BadAcl => "invalid access control list",
            ErrorKind::BadSegid => "invalid segment id",
            ErrorKind::ReservedSegid => "segment id is reserved",
            ErrorKind::SegidInUse => "segment id already in use",
            ErrorKind::BadMode => "invalid barrier mode",
            ErrorKind::BadPerms => "invalid permissions",
            ErrorKind::PermDenied => "permission denied",
            ErrorKind::LocksNotSupported => "lock operations not supported",
            ErrorKind::LocksNotEnabled => "lock operations not enabled on this segment",
            ErrorKind::RebindNotAllowed => "rebind not allowed",
            ErrorKind::InsufficientResources => "insufficient resources",
            ErrorKind::InsufficientMem => "insufficient memory",
            ErrorKind::MapFailed => "map failed",
            ErrorKind::PollfdInUse => "poll descriptor still in use",
            ErrorKind::BarrierUninitialized => "barrier not initialized",
            ErrorKind::BarrierOpenFailed => "barrier open failed",
            ErrorKind::BarrierNotOpened => "barrier not opened",
            ErrorKind::BarrierFailure => "barrier failure",
            ErrorKind::RemoteNodeUnreachable => "remote node unreachable",
            ErrorKind::ConnAborted => "connection aborted",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Timeout => "timeout",
            ErrorKind::BadAppid => "application id not found",
            ErrorKind::BadConf => "bad configuration file",
            ErrorKind::SegNotConnected => "segment not connected",
            ErrorKind::InternalError => "internal error",
            ErrorKind::BadDriverVersion => "driver version mismatch",
            ErrorKind::UnsupportedVersion => "unsupported version",
            ErrorKind::DriverNameInUse => "driver name in use",
            ErrorKind::DriverNotRegistered => "driver not registered",
            ErrorKind::DriverThreadRunning => "driver thread running",
            ErrorKind::NeedThreadInit => "thread initialization needed",
            ErrorKind::ThreadNotInited => "thread not initialized",
            ErrorKind::CtlrsRegistered => "controllers registered",
            ErrorKind::CtlrNotRegistered => "controller not registered",
            ErrorKind::CtlrAlreadyRegistered => "controller already registered",
            ErrorKind::CtlrInUse => "controller in use",
            ErrorKind::NameTooLong => "name too long",
            ErrorKind::SegPublished => "segment published",
            ErrorKind::SegNotPublishedToRsmAddr => "segment not published to this address",
            ErrorKind::SegInUse => "segment in use",
            ErrorKind::BadSendqHndl => "invalid send queue handle",
            ErrorKind::BadArgsErrors => "bad arguments",
            ErrorKind::BadMstype => "bad memory type",
            ErrorKind::NoBackingMem => "no backing memory",
            ErrorKind::NotMem => "not memory",
            ErrorKind::MemAlreadyBound => "memory already bound",
            ErrorKind::MemNotBound => "memory not bound",
            ErrorKind::HandlerNotRegistered => "handler not registered",
            ErrorKind::NoHandler => "no handler",
            ErrorKind::UnbindRebindNotAllowed => "unbind/rebind not allowed",
            ErrorKind::CallbacksNotSupported => "callbacks not supported",
            ErrorKind::UnsupportedOperation => "unsupported operation",
            ErrorKind::RsmAddrUnreachable => "RSM address unreachable",
            ErrorKind::UnknownRsmAddr => "unknown RSM address",
            ErrorKind::BadBarrierHndl => "invalid barrier handle",
            ErrorKind::CommErrMaybeDelivered => "communication error, maybe delivered",
            ErrorKind::CommErrNotDelivered => "communication error, not delivered",
            ErrorKind::QueueFenceUp => "queue fence up",
            ErrorKind::QueueFull => "queue full",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every numeric value of SPEC.md §3.1, checked one by one against the enum.
    #[test]
    fn codes_match_spec() {
        let expected: &[(i32, &str)] = &[
            (1, "RSMERR_BAD_LIBRARY_VERSION"),
            (2, "RSMERR_BAD_TOPOLOGY_PTR"),
            (3, "RSMERR_BAD_CTLR_HNDL"),
            (4, "RSMERR_CTLR_NOT_PRESENT"),
            (5, "RSMERR_BAD_SEG_HNDL"),
            (6, "RSMERR_SEG_ALREADY_PUBLISHED"),
            (7, "RSMERR_SEG_NOT_PUBLISHED"),
            (8, "RSMERR_SEG_NOT_PUBLISHED_TO_NODE"),
            (9, "RSMERR_SEG_ALREADY_MAPPED"),
            (10, "RSMERR_SEG_STILL_MAPPED"),
            (11, "RSMERR_SEG_NOT_MAPPED"),
            (12, "RSMERR_NOT_CREATOR"),
            (13, "RSMERR_BAD_BARRIER_PTR"),
            (14, "RSMERR_BAD_SGIO"),
            (15, "RSMERR_BAD_LOCALMEM_HNDL"),
            (16, "RSMERR_BAD_ADDR"),
            (17, "RSMERR_BAD_MEM_ALIGNMENT"),
            (18, "RSMERR_BAD_OFFSET"),
            (19, "RSMERR_MISALIGNED_OFFSET"),
            (20, "RSMERR_BAD_LENGTH"),
            (21, "RSMERR_BAD_ACL"),
            (22, "RSMERR_BAD_SEGID"),
            (23, "RSMERR_RESERVED_SEGID"),
            (24, "RSMERR_SEGID_IN_USE"),
            (25, "RSMERR_BAD_MODE"),
            (26, "RSMERR_BAD_PERMS"),
            (27, "RSMERR_PERM_DENIED"),
            (28, "RSMERR_LOCKS_NOT_SUPPORTED"),
            (29, "RSMERR_LOCKS_NOT_ENABLED"),
            (30, "RSMERR_REBIND_NOT_ALLOWED"),
            (31, "RSMERR_INSUFFICIENT_RESOURCES"),
            (32, "RSMERR_INSUFFICIENT_MEM"),
            (33, "RSMERR_MAP_FAILED"),
            (34, "RSMERR_POLLFD_IN_USE"),
            (35, "RSMERR_BARRIER_UNINITIALIZED"),
            (36, "RSMERR_BARRIER_OPEN_FAILED"),
            (37, "RSMERR_BARRIER_NOT_OPENED"),
            (38, "RSMERR_BARRIER_FAILURE"),
            (39, "RSMERR_REMOTE_NODE_UNREACHABLE"),
            (40, "RSMERR_CONN_ABORTED"),
            (41, "RSMERR_INTERRUPTED"),
            (42, "RSMERR_TIMEOUT"),
            (43, "RSMERR_BAD_APPID"),
            (44, "RSMERR_BAD_CONF"),
            (45, "RSMERR_SEG_NOT_CONNECTED"),
            (100, "RSMERR_INTERNAL_ERROR"),
            (101, "RSMERR_BAD_DRIVER_VERSION"),
            (102, "RSMERR_UNSUPPORTED_VERSION"),
            (103, "RSMERR_DRIVER_NAME_IN_USE"),
            (104, "RSMERR_DRIVER_NOT_REGISTERED"),
            (105, "RSMERR_DRIVER_THREAD_RUNNING"),
            (106, "RSMERR_NEED_THREAD_INIT"),
            (107, "RSMERR_THREAD_NOT_INITED"),
            (108, "RSMERR_CTLRS_REGISTERED"),
            (109, "RSMERR_CTLR_NOT_REGISTERED"),
            (110, "RSMERR_CTLR_ALREADY_REGISTERED"),
            (111, "RSMERR_CTLR_IN_USE"),
            (112, "RSMERR_NAME_TOO_LONG"),
            (113, "RSMERR_SEG_PUBLISHED"),
            (114, "RSMERR_SEG_NOT_PUBLISHED_TO_RSM_ADDR"),
            (115, "RSMERR_SEG_IN_USE"),
            (116, "RSMERR_BAD_SENDQ_HNDL"),
            (117, "RSMERR_BAD_ARGS_ERRORS"),
            (118, "RSMERR_BAD_MSTYPE"),
            (119, "RSMERR_NO_BACKING_MEM"),
            (120, "RSMERR_NOT_MEM"),
            (121, "RSMERR_MEM_ALREADY_BOUND"),
            (122, "RSMERR_MEM_NOT_BOUND"),
            (123, "RSMERR_HANDLER_NOT_REGISTERED"),
            (124, "RSMERR_NO_HANDLER"),
            (125, "RSMERR_UNBIND_REBIND_NOT_ALLOWED"),
            (126, "RSMERR_CALLBACKS_NOT_SUPPORTED"),
            (127, "RSMERR_UNSUPPORTED_OPERATION"),
            (128, "RSMERR_RSM_ADDR_UNREACHABLE"),
            (129, "RSMERR_UNKNOWN_RSM_ADDR"),
            (130, "RSMERR_BAD_BARRIER_HNDL"),
            (131, "RSMERR_COMM_ERR_MAYBE_DELIVERED"),
            (132, "RSMERR_COMM_ERR_NOT_DELIVERED"),
            (133, "RSMERR_QUEUE_FENCE_UP"),
            (134, "RSMERR_QUEUE_FULL"),
        ];
        assert_eq!(expected.len(), ErrorKind::ALL.len());
        for (kind, &(code, name)) in ErrorKind::ALL.iter().zip(expected) {
            assert_eq!(kind.code(), code, "{name}");
            assert_eq!(kind.name(), name);
            assert_eq!(ErrorKind::from_code(code), Some(*kind));
        }
    }

    #[test]
    fn spot_values() {
        assert_eq!(ErrorKind::BadSegHndl as i32, 5);
        assert_eq!(ErrorKind::ConnAborted.code(), 40);
        assert_eq!(ErrorKind::SegNotConnected.code(), 45);
        assert_eq!(ErrorKind::InternalError.code(), 100);
        assert_eq!(ErrorKind::BadArgsErrors.code(), 117);
        assert_eq!(ErrorKind::QueueFull.code(), 134);
        assert_eq!(RSM_SUCCESS, 0);
    }

    #[test]
    fn unknown_codes() {
        for code in [i32::MIN, -1, 0, 46, 99, 135, 1000, i32::MAX] {
            assert_eq!(ErrorKind::from_code(code), None, "{code}");
        }
    }

    #[test]
    fn display_names_op_kind_and_context() {
        let e = RsmError::new(ErrorKind::SegidInUse, "export_publish", "id 0x400000");
        assert_eq!(e.code(), 24);
        assert_eq!(e.op(), "export_publish");
        assert_eq!(
            e.to_string(),
            "export_publish: segment id already in use (RSMERR_SEGID_IN_USE): id 0x400000"
        );
    }
}
