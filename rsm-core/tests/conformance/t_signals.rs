//! Interrupt signals and poll descriptors between processes.

use std::time::{Duration, Instant};

use rsm_core::*;

use crate::harness::*;

const PS: usize = 4096;
const SHORT: Option<Duration> = Some(Duration::from_millis(50));

#[test]
fn importer_to_exporter_events_accumulate() {
    let ns = Ns::new("sg_acc");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    let id = s.publish(0, &[]).unwrap();
    let mut p = Peer::spawn(&ns);
    p.ok(&format!("connect {id:#x} 600"));
    for _ in 0..5 {
        p.ok("ipost 0 0");
    }
    for i in 0..5 {
        s.signal_wait(Some(Duration::from_secs(10)))
            .unwrap_or_else(|e| panic!("wait {i}: {e}"));
    }
    assert_eq!(kind(s.signal_wait(SHORT)), ErrorKind::Timeout);
    assert_eq!(
        kind(s.signal_wait(Some(Duration::ZERO))),
        ErrorKind::Timeout
    );
    // NO_ACCUMULATE: dropped while one is pending.
    for _ in 0..3 {
        p.ok(&format!("ipost 0 {SIGPOST_NO_ACCUMULATE}"));
    }
    s.signal_wait(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(kind(s.signal_wait(SHORT)), ErrorKind::Timeout);
    p.ok("disconnect 0");
    p.quit();
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn exporter_to_all_importers() {
    let ns = Ns::new("sg_bcast");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    // Nobody connected: a post is a no-op success.
    s.signal_post(0).unwrap();
    let id = s.publish(0, &[]).unwrap();
    let mut a = Peer::spawn(&ns);
    let mut b = Peer::spawn(&ns);
    a.ok(&format!("connect {id:#x} 400"));
    b.ok(&format!("connect {id:#x} 400"));
    b.ok(&format!("connect {id:#x} 400"));
    s.signal_post(0).unwrap();
    s.signal_post(0).unwrap();
    for (p, i) in [(&mut a, 0), (&mut b, 0)] {
        p.ok(&format!("iwait {i} 10000"));
        p.ok(&format!("iwait {i} 10000"));
        assert_eq!(p.fails(&format!("iwait {i} 50")), ErrorKind::Timeout);
    }
    b.ok("iwait 1 10000");
    b.ok("iwait 1 10000");
    assert_eq!(b.fails("iwait 1 50"), ErrorKind::Timeout);
    a.quit();
    b.quit();
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn wait_timeout_is_bounded() {
    let ns = Ns::new("sg_timeout");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    let t = Instant::now();
    assert_eq!(
        kind(s.signal_wait(Some(Duration::from_millis(200)))),
        ErrorKind::Timeout
    );
    assert!(t.elapsed() >= Duration::from_millis(190));
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn pollfd_with_plain_poll_and_wait_pollfd() {
    let ns = Ns::new("sg_poll");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    let id = s.publish(0, &[]).unwrap();
    let mut p = Peer::spawn(&ns);
    p.ok(&format!("connect {id:#x} 600"));
    let pfd = s.get_pollfd().unwrap();
    let poll1 = |fd: libc::pollfd| {
        let mut a = [libc::pollfd { revents: 0, ..fd }];
        // SAFETY: a valid one-element pollfd array.
        let n = unsafe { libc::poll(a.as_mut_ptr(), 1, 0) };
        (n, a[0].revents)
    };
    assert_eq!(poll1(pfd), (0, 0));
    p.ok("ipost 0 0");
    p.ok("ipost 0 0");
    // Plain poll sees readiness and consumes nothing.
    assert_eq!(poll1(pfd), (1, libc::POLLRDNORM));
    assert_eq!(poll1(pfd), (1, libc::POLLRDNORM));
    // wait_pollfd consumes one per call, mixed with an ordinary descriptor.
    let mut fds = [0; 2];
    // SAFETY: valid array for two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let plain = libc::pollfd {
        fd: fds[0],
        events: libc::POLLIN,
        revents: 0,
    };
    let mut set = [pfd, plain];
    assert_eq!(
        wait_pollfd(&mut set, Some(Duration::from_secs(5))).unwrap(),
        1
    );
    assert_eq!(set[0].revents, libc::POLLRDNORM);
    assert_eq!(set[1].revents, 0);
    assert_eq!(
        wait_pollfd(&mut set, Some(Duration::from_secs(5))).unwrap(),
        1
    );
    assert_eq!(kind(wait_pollfd(&mut set, SHORT)), ErrorKind::Timeout);
    assert_eq!(poll1(pfd), (0, 0));
    // Only the ordinary descriptor is ready.
    // SAFETY: writing one byte to our pipe.
    assert_eq!(unsafe { libc::write(fds[1], b"x".as_ptr().cast(), 1) }, 1);
    assert_eq!(wait_pollfd(&mut set, SHORT).unwrap(), 1);
    assert_eq!((set[0].revents, set[1].revents), (0, libc::POLLIN));
    // SAFETY: closing our pipe.
    unsafe {
        libc::close(fds[0]);
        libc::close(fds[1]);
    }
    // signal_wait and the pollfd share the same events.
    p.ok("ipost 0 0");
    s.signal_wait(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(poll1(pfd), (0, 0));
    s.release_pollfd().unwrap();
    p.quit();
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn importer_pollfd_and_lost_connection() {
    let ns = Ns::new("sg_ipoll");
    let c = ns.ctrl();
    let mut p = Peer::spawn(&ns);
    p.ok("create 4096 0");
    let id = p.num("publish 0 0") as u32;
    let im = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    let pfd = im.get_pollfd().unwrap();
    p.ok("epost 0 0");
    let mut set = [pfd];
    assert_eq!(
        wait_pollfd(&mut set, Some(Duration::from_secs(5))).unwrap(),
        1
    );
    assert_eq!(set[0].revents, libc::POLLRDNORM);
    // The exporter unpublishes: a waiter is woken and told.
    p.ok("unpublish 0");
    assert_eq!(
        kind(im.signal_wait(Some(Duration::from_secs(5)))),
        ErrorKind::ConnAborted
    );
    assert_eq!(kind(im.signal_post(0)), ErrorKind::ConnAborted);
    im.release_pollfd().unwrap();
    im.disconnect().unwrap();
    // Exporter death shows up as POLLHUP on the importer's descriptor, at once.
    let id = p.num("publish 0 0") as u32;
    let im = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    let pfd = im.get_pollfd().unwrap();
    p.kill9();
    let mut set = [pfd];
    let t = Instant::now();
    assert_eq!(
        wait_pollfd(&mut set, Some(Duration::from_secs(20))).unwrap(),
        1
    );
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(set[0].revents & libc::POLLHUP, libc::POLLHUP);
    im.release_pollfd().unwrap();
    im.disconnect().unwrap();
    ns.finish();
}

#[test]
fn events_to_an_unpublished_exporter_are_refused() {
    let ns = Ns::new("sg_unpub");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    let id = s.publish(0, &[]).unwrap();
    let mut p = Peer::spawn(&ns);
    p.ok(&format!("connect {id:#x} 600"));
    p.ok("ipost 0 0");
    s.unpublish().unwrap();
    // The event posted before the unpublish is still there; later posts are refused.
    assert_eq!(p.fails("ipost 0 0"), ErrorKind::ConnAborted);
    s.signal_wait(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(kind(s.signal_wait(SHORT)), ErrorKind::Timeout);
    p.quit();
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn waits_are_interruptible() {
    let ns = Ns::new("sg_intr");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    let id = s.publish(0, &[]).unwrap();
    let mut p = Peer::spawn(&ns);
    let tid = p.num("sigusr1");
    p.ok(&format!("connect {id:#x} 600"));
    p.ok("create 4096 0");
    for line in ["iwait 0 20000", "ewait 0 20000", "waitpollfd 1 20000"] {
        p.send(line);
        // The peer may not be blocked yet when a signal arrives (a loaded machine): a
        // signal outside the wait interrupts nothing, so keep signalling until it answers.
        let deadline = Instant::now() + Duration::from_secs(15);
        let reply = loop {
            p.signal(tid, libc::SIGUSR1);
            if let Some(r) = p.try_reply(Duration::from_millis(100)) {
                break r;
            }
            assert!(Instant::now() < deadline, "{line}: no reply to SIGUSR1");
        };
        let code = reply.unwrap_err().0;
        assert_eq!(
            ErrorKind::from_code(code),
            Some(ErrorKind::Interrupted),
            "{line}"
        );
    }
    p.quit();
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn wait_pollfd_maps_poll_errors() {
    let ns = Ns::new("sg_einval");
    let mut p = Peer::spawn(&ns);
    assert_eq!(p.fails("waitpollfd 20 0"), ErrorKind::Timeout);
    p.ok("create 4096 0");
    let id = p.num("publish 0 0");
    p.ok(&format!("connect {id:#x} 600"));
    assert_eq!(p.fails("iwait 0 0"), ErrorKind::Timeout);
    assert_eq!(p.fails("ewait 0 0"), ErrorKind::Timeout);
    p.ok("nofile 16");
    // More descriptors than RLIMIT_NOFILE: poll(2) says EINVAL.
    assert_eq!(p.fails("waitpollfd 20 0"), ErrorKind::BadArgsErrors);
    // rsm_intr_signal_wait maps it the same way: an import wait polls two descriptors
    // (its FIFO and the exporter's pidfd), an export wait one.
    p.ok("nofile 1");
    assert_eq!(p.fails("iwait 0 0"), ErrorKind::BadArgsErrors);
    p.ok("nofile 0");
    assert_eq!(p.fails("ewait 0 0"), ErrorKind::BadArgsErrors);
    p.ok("nofile 1024");
    assert_eq!(p.fails("iwait 0 0"), ErrorKind::Timeout);
    p.ok("disconnect 0");
    p.ok("destroy 0");
    p.quit();
    ns.finish();
}

#[test]
fn destroy_and_disconnect_wake_their_own_waiters() {
    let ns = Ns::new("sg_selfwake");
    let c = ns.ctrl();
    let s = std::sync::Arc::new(ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap());
    let id = s.publish(0, &[]).unwrap();
    let im = std::sync::Arc::new(ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap());
    let ew = {
        let s = s.clone();
        std::thread::spawn(move || s.signal_wait(None).map_err(|e| e.kind()))
    };
    let iw = {
        let im = im.clone();
        std::thread::spawn(move || im.signal_wait(None).map_err(|e| e.kind()))
    };
    std::thread::sleep(Duration::from_millis(100));
    im.disconnect().unwrap();
    s.destroy().unwrap();
    let (e, i) = within(Duration::from_secs(10), move || {
        (ew.join().unwrap(), iw.join().unwrap())
    });
    assert_eq!(e, Err(ErrorKind::BadSegHndl));
    assert_eq!(i, Err(ErrorKind::BadSegHndl));
    ns.finish();
}

const LONG: Option<Duration> = Some(Duration::from_secs(10));

/// `revents` of a plain `poll(2)` (timeout 0) on a pollfd.
fn poll_now(fd: libc::pollfd) -> i16 {
    let mut a = [libc::pollfd { revents: 0, ..fd }];
    // SAFETY: a valid one-element pollfd array.
    let n = unsafe { libc::poll(a.as_mut_ptr(), 1, 0) };
    assert!(n >= 0);
    a[0].revents
}

#[test]
fn events_posted_before_a_loss_are_delivered_first() {
    let ns = Ns::new("sg_pending");
    let c = ns.ctrl();
    let mut p = Peer::spawn(&ns);
    p.ok("create 4096 0");

    // Unpublish: two events posted before it are received, then the loss is reported.
    let id = p.num("publish 0 0") as u32;
    let im = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    p.ok("epost 0 0");
    p.ok("epost 0 0");
    p.ok("unpublish 0");
    im.signal_wait(LONG).unwrap();
    im.signal_wait(Some(Duration::ZERO)).unwrap();
    assert_eq!(kind(im.signal_wait(LONG)), ErrorKind::ConnAborted);
    // The same id published again: its events never reach the old connection, whose
    // descriptor stays ready and reports the loss.
    assert_eq!(p.num("publish 0 0") as u32, id, "automatic ids are reused");
    let fresh = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    p.ok("epost 0 0");
    fresh.signal_wait(LONG).unwrap();
    let t = Instant::now();
    assert_eq!(kind(im.signal_wait(None)), ErrorKind::ConnAborted);
    assert_eq!(kind(im.signal_wait(LONG)), ErrorKind::ConnAborted);
    assert!(t.elapsed() < Duration::from_secs(5));
    let pfd = im.get_pollfd().unwrap();
    assert_eq!(poll_now(pfd), libc::POLLRDNORM);
    let mut set = [pfd];
    assert_eq!(wait_pollfd(&mut set, LONG).unwrap(), 1);
    assert_eq!(set[0].revents, libc::POLLHUP);
    im.release_pollfd().unwrap();
    im.disconnect().unwrap();
    let im = fresh;

    // The same through the pollfd: POLLRDNORM for the pending event, then POLLHUP.
    let pfd = im.get_pollfd().unwrap();
    p.ok("epost 0 0");
    p.ok("unpublish 0");
    let mut set = [pfd];
    assert_eq!(wait_pollfd(&mut set, LONG).unwrap(), 1);
    assert_eq!(set[0].revents, libc::POLLRDNORM);
    assert_eq!(wait_pollfd(&mut set, LONG).unwrap(), 1);
    assert_eq!(set[0].revents, libc::POLLHUP);
    assert_eq!(kind(im.signal_wait(LONG)), ErrorKind::ConnAborted);
    im.release_pollfd().unwrap();
    im.disconnect().unwrap();

    // Destroy.
    let id = p.num("publish 0 0") as u32;
    let im = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    p.ok("epost 0 0");
    p.ok("destroy 0");
    im.signal_wait(LONG).unwrap();
    assert_eq!(kind(im.signal_wait(LONG)), ErrorKind::ConnAborted);
    im.disconnect().unwrap();

    // Exporter death, then a new exporter under the same id: the dead one's event is
    // delivered, the new one's never reaches the old connection.
    p.ok("create 4096 0");
    p.ok("publish 1 0x400700");
    let im = ImportSegment::connect(&c, 0, 0x400700, PERM_RDWR).unwrap();
    let pfd = im.get_pollfd().unwrap();
    p.ok("epost 1 0");
    p.kill9();
    let mut q = Peer::spawn(&ns);
    q.ok("create 4096 0");
    q.ok("publish 0 0x400700");
    let fresh = ImportSegment::connect(&c, 0, 0x400700, PERM_RDWR).unwrap();
    q.ok("epost 0 0");
    fresh.signal_wait(LONG).unwrap();
    let mut set = [pfd];
    assert_eq!(wait_pollfd(&mut set, LONG).unwrap(), 1);
    assert_eq!(set[0].revents, libc::POLLRDNORM);
    assert_eq!(wait_pollfd(&mut set, LONG).unwrap(), 1);
    assert_eq!(set[0].revents & libc::POLLHUP, libc::POLLHUP);
    assert_eq!(kind(im.signal_wait(LONG)), ErrorKind::ConnAborted);
    im.release_pollfd().unwrap();
    im.disconnect().unwrap();

    // Death with signal_wait, nobody re-publishing.
    q.ok("epost 0 0");
    q.ok("epost 0 0");
    q.kill9();
    fresh.signal_wait(LONG).unwrap();
    fresh.signal_wait(LONG).unwrap();
    assert_eq!(kind(fresh.signal_wait(LONG)), ErrorKind::ConnAborted);
    fresh.disconnect().unwrap();
    ns.finish();
}
