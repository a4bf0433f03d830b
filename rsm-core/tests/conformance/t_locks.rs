//! Lock segments (extension): remote atomics and word locks between processes.

use std::time::{Duration, Instant};

use rsm_core::*;

use crate::harness::*;

const PS: usize = 4096;

#[test]
fn locks_need_the_flag() {
    let ns = Ns::new("lk_flag");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    let id = s.publish(0, &[]).unwrap();
    let im = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    let e = ErrorKind::LocksNotEnabled;
    assert_eq!(kind(im.fetch_add64(0, 1)), e);
    assert_eq!(kind(im.compare_swap64(0, 0, 1)), e);
    assert_eq!(kind(im.swap64(0, 1)), e);
    assert_eq!(kind(im.lock(0, None)), e);
    assert_eq!(kind(im.try_lock(0)), e);
    assert_eq!(kind(im.unlock(0)), e);
    // Not enabled is reported before alignment.
    assert_eq!(kind(im.fetch_add64(3, 1)), e);
    assert_eq!(kind(s.fetch_add64(0, 1)), e);
    assert_eq!(kind(s.lock_word(0, None)), e);
    im.disconnect().unwrap();
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn atomics_between_processes() {
    let ns = Ns::new("lk_atomic");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::LOCK_OPS).unwrap();
    let id = s.publish(0, &[]).unwrap();
    let im = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    assert_eq!(im.fetch_add64(8, 5).unwrap(), 0);
    assert_eq!(
        im.compare_swap64(8, 4, 9).unwrap(),
        5,
        "failed CAS returns the current value"
    );
    assert_eq!(im.compare_swap64(8, 5, 9).unwrap(), 5);
    assert_eq!(im.swap64(8, 100).unwrap(), 9);
    assert_eq!(s.fetch_add64(8, 1).unwrap(), 100);
    assert_eq!(kind(im.fetch_add64(4, 1)), ErrorKind::BadMemAlignment);
    assert_eq!(kind(im.fetch_add64(PS as u64, 1)), ErrorKind::BadOffset);
    assert_eq!(kind(im.fetch_add64(u64::MAX - 7, 1)), ErrorKind::BadOffset);
    assert_eq!(kind(s.swap64(PS as u64 - 4, 1)), ErrorKind::BadMemAlignment);
    assert_eq!(kind(s.fetch_add64(PS as u64, 1)), ErrorKind::BadOffset);
    assert_eq!(kind(s.lock_word(u64::MAX - 7, None)), ErrorKind::BadOffset);
    assert_eq!(s.compare_swap64(8, 101, 7).unwrap(), 101);
    assert_eq!(s.swap64(8, 0).unwrap(), 7);
    let ro = ImportSegment::connect(&c, 0, id, PERM_READ).unwrap();
    assert_eq!(kind(ro.fetch_add64(8, 1)), ErrorKind::PermDenied);
    assert_eq!(kind(ro.lock(0, None)), ErrorKind::PermDenied);
    ro.disconnect().unwrap();
    // Two processes adding concurrently.
    let mut peers: Vec<Peer> = (0..2).map(|_| Peer::spawn(&ns)).collect();
    for p in &mut peers {
        p.ok(&format!("connect {id:#x} 600"));
    }
    let n = 2000;
    let w: Vec<_> = peers
        .into_iter()
        .map(|mut p| {
            std::thread::spawn(move || {
                p.ok(&format!("faddloop 0 16 {n}"));
                p.quit();
            })
        })
        .collect();
    for _ in 0..n {
        im.fetch_add64(16, 1).unwrap();
    }
    for t in w {
        t.join().unwrap();
    }
    let v = s.view().unwrap();
    assert_eq!(
        v.load_u64(16, std::sync::atomic::Ordering::SeqCst).unwrap(),
        3 * n
    );
    im.disconnect().unwrap();
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn lock_excludes_between_processes() {
    let ns = Ns::new("lk_mutex");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::LOCK_OPS).unwrap();
    let id = s.publish(0, &[]).unwrap();
    let peers: Vec<Peer> = (0..3)
        .map(|_| {
            let mut p = Peer::spawn(&ns);
            p.ok(&format!("connect {id:#x} 600"));
            p.ok("mode 0 explicit");
            p
        })
        .collect();
    let n = 300;
    let w: Vec<_> = peers
        .into_iter()
        .map(|mut p| {
            std::thread::spawn(move || {
                p.ok(&format!("lockloop 0 0 64 {n}"));
                p.quit();
            })
        })
        .collect();
    for t in w {
        t.join().unwrap();
    }
    let v = s.view().unwrap();
    assert_eq!(
        v.load_u64(64, std::sync::atomic::Ordering::SeqCst).unwrap(),
        3 * n
    );
    assert_eq!(
        v.load_u64(0, std::sync::atomic::Ordering::SeqCst).unwrap(),
        0,
        "lock word free at the end"
    );
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn lock_timeout_trylock_and_dead_holder() {
    let ns = Ns::new("lk_dead");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::LOCK_OPS).unwrap();
    let id = s.publish(0, &[]).unwrap();
    let im = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    let mut p = Peer::spawn(&ns);
    p.ok(&format!("connect {id:#x} 600"));
    p.ok("lock 0 8 1000");
    assert_eq!(p.ok("trylock 0 8"), vec!["0"], "held by this very thread");
    let holder = s
        .view()
        .unwrap()
        .load_u64(8, std::sync::atomic::Ordering::SeqCst)
        .unwrap();
    assert_eq!(holder >> 32, p.pid as u64);
    assert!(!im.try_lock(8).unwrap());
    let t = Instant::now();
    assert_eq!(
        kind(im.lock(8, Some(Duration::from_millis(150)))),
        ErrorKind::Timeout
    );
    assert!(t.elapsed() >= Duration::from_millis(140));
    assert_eq!(kind(im.unlock(8)), ErrorKind::PermDenied);
    // The exporter's side sees the same lock.
    assert!(!s.try_lock_word(8).unwrap());
    assert_eq!(
        kind(s.lock_word(8, Some(Duration::from_millis(50)))),
        ErrorKind::Timeout
    );
    // The holder dies: the lock is broken by the next taker.
    p.kill9();
    within(Duration::from_secs(10), {
        let im = std::sync::Arc::new(im);
        move || {
            im.lock(8, Some(Duration::from_secs(5))).unwrap();
            assert_eq!(
                kind(im.lock(8, Some(Duration::ZERO))),
                ErrorKind::PermDenied,
                "no self-deadlock"
            );
            im.unlock(8).unwrap();
            assert!(im.try_lock(8).unwrap());
            im.unlock(8).unwrap();
            im.disconnect().unwrap();
        }
    });
    s.lock_word(16, Some(Duration::from_secs(1))).unwrap();
    s.unlock_word(16).unwrap();
    assert_eq!(kind(s.unlock_word(16)), ErrorKind::PermDenied);
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn lock_wait_ends_when_the_exporter_dies() {
    let ns = Ns::new("lk_expdie");
    let c = ns.ctrl();
    let mut p = Peer::spawn(&ns);
    p.ok("create 4096 256");
    let id = p.num("publish 0 0") as u32;
    let a = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    let b = std::sync::Arc::new(ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap());
    a.lock(0, Some(Duration::from_secs(1))).unwrap();
    let waiter = {
        let b = b.clone();
        std::thread::spawn(move || b.lock(0, None).map_err(|e| e.kind()))
    };
    std::thread::sleep(Duration::from_millis(100));
    p.kill9();
    let r = within(Duration::from_secs(10), move || waiter.join().unwrap());
    assert_eq!(r, Err(ErrorKind::ConnAborted));
    assert_eq!(kind(a.unlock(0)), ErrorKind::ConnAborted);
    a.disconnect().unwrap();
    b.disconnect().unwrap();
    ns.finish();
}

#[test]
fn a_holder_that_cannot_be_checked_keeps_its_lock() {
    // A waiter without a free descriptor cannot look at the holder in procfs: that is no
    // evidence of the holder's death, so it waits (and times out) instead of breaking the
    // lock.
    let ns = Ns::new("lk_fdlim");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::LOCK_OPS).unwrap();
    let id = s.publish(0, &[]).unwrap();
    s.lock_word(8, Some(Duration::from_secs(10))).unwrap();
    let mut p = Peer::spawn(&ns);
    p.ok(&format!("connect {id:#x} 600"));
    p.ok("fdlimit 0");
    assert_eq!(p.fails("lock 0 8 300"), ErrorKind::Timeout);
    assert_eq!(p.ok("trylock 0 8"), vec!["0"]);
    p.ok("nofile 1024");
    assert_eq!(p.fails("lock 0 8 100"), ErrorKind::Timeout);
    s.unlock_word(8).unwrap();
    p.ok("lock 0 8 10000");
    p.ok("unlock 0 8");
    p.quit();
    s.destroy().unwrap();
    ns.finish();
}
