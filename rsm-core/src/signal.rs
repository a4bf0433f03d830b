//! Interrupt signals and poll descriptors (SPEC.md §4.8, §5.9): the pollfd reference
//! counts and [`wait_pollfd`], which waits on RSM descriptors and ordinary ones together.
//!
//! Posting and waiting on one segment are methods of the handles:
//! [`ExportSegment::signal_post`](crate::ExportSegment::signal_post),
//! [`ImportSegment::signal_wait`](crate::ImportSegment::signal_wait), ...

use std::collections::HashMap;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::error::{ErrorKind, Result, RsmError, err};
use crate::sys;
use crate::transport::{Consumed, Events};

type Registry = HashMap<RawFd, Weak<dyn Events>>;

/// Descriptors handed out by `get_pollfd` and still referenced, so [`wait_pollfd`] can tell
/// RSM descriptors from ordinary ones.
static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

fn registry() -> std::sync::MutexGuard<'static, Option<Registry>> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

fn lookup(fd: RawFd) -> Option<Arc<dyn Events>> {
    registry().as_ref()?.get(&fd)?.upgrade()
}

/// The pollfd references of one segment handle.
#[derive(Debug, Default)]
pub(crate) struct PollRefs(Mutex<u32>);

impl PollRefs {
    fn n(&self) -> std::sync::MutexGuard<'_, u32> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn count(&self) -> u32 {
        *self.n()
    }

    /// Takes a reference and returns the descriptor (`events = POLLRDNORM`).
    pub(crate) fn get(&self, ev: Arc<dyn Events>) -> libc::pollfd {
        let fd = ev.poll_fd();
        let mut n = self.n();
        if *n == 0 {
            registry()
                .get_or_insert_with(HashMap::new)
                .insert(fd, Arc::downgrade(&ev));
        }
        *n = n.saturating_add(1);
        libc::pollfd {
            fd,
            events: libc::POLLRDNORM,
            revents: 0,
        }
    }

    /// Drops one reference (never below zero).
    pub(crate) fn release(&self, fd: RawFd) {
        let mut n = self.n();
        if *n > 0 {
            *n -= 1;
            if *n == 0 {
                unregister(fd);
            }
        }
    }

    /// Drops every reference (the handle goes away).
    pub(crate) fn clear(&self, fd: RawFd) {
        let mut n = self.n();
        if *n > 0 {
            *n = 0;
            unregister(fd);
        }
    }
}

fn unregister(fd: RawFd) {
    if let Some(m) = registry().as_mut() {
        m.remove(&fd);
    }
}

/// Maps a failed `poll` to the codes of `rsm_intr_signal_wait` (SPEC.md §4.8).
pub(crate) fn poll_error(op: &'static str, e: &std::io::Error) -> RsmError {
    let kind = match e.raw_os_error() {
        Some(libc::EINTR) => ErrorKind::Interrupted,
        Some(libc::EAGAIN) | Some(libc::ENOMEM) => ErrorKind::InsufficientResources,
        Some(libc::EFAULT) => ErrorKind::BadAddr,
        _ => ErrorKind::BadArgsErrors,
    };
    RsmError::os(kind, op, "poll", e)
}

/// `rsm_intr_signal_wait_pollfd`: `poll(2)` over RSM descriptors (from `get_pollfd`) and
/// ordinary ones. Returns the number of entries with events.
///
/// For every RSM entry whose `revents` came back exactly `POLLRDNORM`, one event is
/// consumed; its `revents` stays `POLLRDNORM` if that worked and is cleared otherwise (the
/// event was taken by someone else). Ordinary entries behave as with `poll`.
/// Extension: an RSM import entry whose connection is lost (exporter unpublished,
/// destroyed or died) reports `POLLHUP` — immediately on the exporter's death — instead of
/// never becoming ready, once the events the exporter posted before the loss have been
/// consumed (each call takes one of them first and reports `POLLRDNORM`).
///
/// Errors: [`ErrorKind::Timeout`] (nothing happened, or every RSM event evaporated),
/// [`ErrorKind::Interrupted`], [`ErrorKind::InsufficientResources`],
/// [`ErrorKind::BadAddr`], [`ErrorKind::BadArgsErrors`] (other `poll` failures).
pub fn wait_pollfd(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> Result<usize> {
    const OP: &str = "intr_signal_wait_pollfd";
    let rsm: Vec<Option<Arc<dyn Events>>> = fds.iter().map(|p| lookup(p.fd)).collect();
    let mut all: Vec<libc::pollfd> = fds
        .iter()
        .map(|p| libc::pollfd { revents: 0, ..*p })
        .collect();
    let mut peers: Vec<usize> = Vec::new();
    for (i, ev) in rsm.iter().enumerate() {
        if let Some(pfd) = ev.as_ref().and_then(|e| e.peer_fd()) {
            all.push(libc::pollfd {
                fd: pfd,
                events: libc::POLLIN,
                revents: 0,
            });
            peers.push(i);
        }
    }
    let ms = sys::timeout_ms(timeout);
    let n = sys::poll(&mut all, ms).map_err(|e| poll_error(OP, &e))?;
    if n == 0 {
        for p in fds.iter_mut() {
            p.revents = 0;
        }
        return Err(err(
            ErrorKind::Timeout,
            OP,
            format!("no event within {ms} ms"),
        ));
    }
    let mut hup = vec![false; fds.len()];
    for (k, &i) in peers.iter().enumerate() {
        hup[i] = all[fds.len() + k].revents != 0;
    }
    for (i, (p, ev)) in fds.iter_mut().zip(&rsm).enumerate() {
        let own = all[i].revents;
        p.revents = own;
        if hup[i] {
            p.revents |= libc::POLLHUP;
        }
        let Some(ev) = ev else { continue };
        // An RSM entry with an event to take, or whose peer died: an event still pending
        // (posted before the connection was lost) is delivered first; POLLHUP only once
        // none is left.
        if own == libc::POLLRDNORM || (own == 0 && hup[i]) {
            p.revents = match ev.consume() {
                Consumed::Event => libc::POLLRDNORM,
                Consumed::Nothing if hup[i] => libc::POLLHUP,
                Consumed::Nothing => 0,
                Consumed::Gone => libc::POLLHUP,
            };
        }
    }
    let count = fds.iter().filter(|p| p.revents != 0).count();
    if count == 0 {
        return Err(err(
            ErrorKind::Timeout,
            OP,
            "every pending event was taken by someone else",
        ));
    }
    Ok(count)
}
