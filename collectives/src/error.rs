//! [`CollError`]: every way a communicator call can fail.

use core::fmt;
use core::time::Duration;

use rsm_core::RsmError;
use rsm_core::bootstrap::BootstrapError;

use crate::args::ArgError;
use crate::config::ConfigError;
use crate::layout::{FailReason, LayoutError};
use crate::ops::OpError;

/// The error of every [`Comm`](crate::Comm) call.
#[derive(Clone, Debug, PartialEq)]
pub enum CollError {
    /// A local argument check failed (buffer lengths, counts, displacements, root). The
    /// communicator is broken afterwards: this rank has left the common call sequence, and its
    /// peers see [`CollError::RankFailed`] naming it with [`FailReason::Error`].
    InvalidArgument(ArgError),
    /// A reduction kernel refused its operands (cannot happen after the argument checks).
    Operator(OpError),
    /// A bad `RSM_COLL_*` value (at creation).
    Config(ConfigError),
    /// The launcher's key-value service failed (creation, split).
    Bootstrap(String),
    /// An rsm-core call failed; `rank` is the peer whose segment it concerned.
    Rsm {
        /// The peer concerned, if any.
        rank: Option<usize>,
        /// What this crate was doing.
        op: &'static str,
        /// rsm-core's error.
        source: RsmError,
    },
    /// A rank disappeared (or failed, timed out, ran something else): the rank named is the
    /// one that caused the failure, whichever rank noticed it first.
    RankFailed {
        /// The rank that caused the failure.
        rank: usize,
        /// What happened to it.
        reason: FailReason,
        /// The collective this rank was running.
        collective: &'static str,
        /// Its sequence number on this communicator.
        seq: u64,
        /// This rank.
        detected_by: usize,
    },
    /// A wait for `waiting_for` exceeded `RSM_COLL_TIMEOUT_S` (it is alive but never took
    /// part).
    Timeout {
        /// The rank waited for.
        waiting_for: usize,
        /// The collective.
        collective: &'static str,
        /// Its sequence number.
        seq: u64,
        /// How long this rank waited.
        waited: Duration,
    },
    /// A peer runs a different collective, algorithm or count (a usage error).
    Mismatch {
        /// The peer.
        rank: usize,
        /// The collective this rank was running.
        collective: &'static str,
        /// Its sequence number.
        seq: u64,
        /// What differs.
        detail: String,
    },
    /// The communicator failed earlier; every later call returns this at once.
    Broken(Box<CollError>),
}

impl CollError {
    /// The rank that caused a [`RankFailed`](CollError::RankFailed) (also inside
    /// [`Broken`](CollError::Broken)).
    pub fn failed_rank(&self) -> Option<usize> {
        match self {
            CollError::RankFailed { rank, .. } => Some(*rank),
            CollError::Broken(inner) => inner.failed_rank(),
            _ => None,
        }
    }

    /// The error itself, or the original one for [`Broken`](CollError::Broken).
    pub fn root_cause(&self) -> &CollError {
        match self {
            CollError::Broken(inner) => inner.root_cause(),
            e => e,
        }
    }

    pub(crate) fn rsm(rank: Option<usize>, op: &'static str, source: RsmError) -> Self {
        CollError::Rsm { rank, op, source }
    }

    pub(crate) fn layout(op: &'static str, e: LayoutError) -> Self {
        CollError::Mismatch {
            rank: usize::MAX,
            collective: op,
            seq: 0,
            detail: e.to_string(),
        }
    }
}

impl fmt::Display for CollError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CollError::InvalidArgument(e) => e.fmt(f),
            CollError::Operator(e) => e.fmt(f),
            CollError::Config(e) => e.fmt(f),
            CollError::Bootstrap(m) => write!(f, "bootstrap: {m}"),
            CollError::Rsm {
                rank: Some(r),
                op,
                source,
            } => write!(f, "{op} (segment of rank {r}): {source}"),
            CollError::Rsm {
                rank: None,
                op,
                source,
            } => write!(f, "{op}: {source}"),
            CollError::RankFailed {
                rank,
                reason,
                collective,
                seq,
                detected_by,
            } => write!(
                f,
                "rank {rank} {} (noticed by rank {detected_by} in {collective} #{seq})",
                reason.describe()
            ),
            CollError::Timeout {
                waiting_for,
                collective,
                seq,
                waited,
            } => write!(
                f,
                "{collective} #{seq}: rank {waiting_for} did not take part within {:.1} s",
                waited.as_secs_f64()
            ),
            CollError::Mismatch {
                rank,
                collective,
                seq,
                detail,
            } => {
                if *rank == usize::MAX {
                    write!(f, "{collective} #{seq}: {detail}")
                } else {
                    write!(f, "{collective} #{seq}: rank {rank}: {detail}")
                }
            }
            CollError::Broken(e) => write!(f, "the communicator failed earlier: {e}"),
        }
    }
}

impl std::error::Error for CollError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CollError::InvalidArgument(e) => Some(e),
            CollError::Operator(e) => Some(e),
            CollError::Config(e) => Some(e),
            CollError::Rsm { source, .. } => Some(source),
            CollError::Broken(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

impl From<ArgError> for CollError {
    fn from(e: ArgError) -> Self {
        CollError::InvalidArgument(e)
    }
}

impl From<OpError> for CollError {
    fn from(e: OpError) -> Self {
        CollError::Operator(e)
    }
}

impl From<ConfigError> for CollError {
    fn from(e: ConfigError) -> Self {
        CollError::Config(e)
    }
}

impl From<BootstrapError> for CollError {
    fn from(e: BootstrapError) -> Self {
        CollError::Bootstrap(e.to_string())
    }
}

/// Result of every communicator call.
pub type Result<T, E = CollError> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_rank() {
        let e = CollError::RankFailed {
            rank: 3,
            reason: FailReason::RankDied,
            collective: "allreduce",
            seq: 42,
            detected_by: 1,
        };
        assert_eq!(
            e.to_string(),
            "rank 3 disappeared (noticed by rank 1 in allreduce #42)"
        );
        assert_eq!(e.failed_rank(), Some(3));
        let b = CollError::Broken(Box::new(e.clone()));
        assert_eq!(b.failed_rank(), Some(3));
        assert_eq!(b.root_cause(), &e);
        assert_eq!(
            b.to_string(),
            "the communicator failed earlier: rank 3 disappeared (noticed by rank 1 in allreduce #42)"
        );
        let t = CollError::Timeout {
            waiting_for: 2,
            collective: "barrier",
            seq: 7,
            waited: Duration::from_millis(1500),
        };
        assert_eq!(
            t.to_string(),
            "barrier #7: rank 2 did not take part within 1.5 s"
        );
        assert_eq!(t.failed_rank(), None);
        let m = CollError::Mismatch {
            rank: 4,
            collective: "bcast",
            seq: 1,
            detail: "sent 8 bytes, expected 16".into(),
        };
        assert_eq!(m.to_string(), "bcast #1: rank 4: sent 8 bytes, expected 16");
        let a: CollError = ArgError::new("recv", "has 2 elements, expected 3").into();
        assert_eq!(
            a.to_string(),
            "invalid argument `recv`: has 2 elements, expected 3"
        );
    }
}
