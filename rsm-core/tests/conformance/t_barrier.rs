//! Barriers and barrier modes.

use rsm_core::*;

use crate::harness::*;

const PS: usize = 4096;

#[test]
fn barrier_life_cycle() {
    let ns = Ns::new("br_life");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    let id = s.publish(0, &[]).unwrap();
    let im = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    let b = im.init_barrier(BarrierType::NodeThread).unwrap();
    assert_eq!(b.barrier_type(), BarrierType::NodeThread);
    assert!(b.is_current());
    b.open().unwrap();
    im.put(0, b"a").unwrap();
    b.order().unwrap();
    im.put(1, b"b").unwrap();
    b.close().unwrap();
    // Close without open is accepted (the reference never reports NOT_OPENED).
    b.close().unwrap();
    // A second init replaces the segment's barrier; destroying the old one keeps it.
    let b2 = im.init_barrier(BAR_DEFAULT).unwrap();
    assert!(!b.is_current() && b2.is_current());
    b.destroy().unwrap();
    im.put(2, b"c").unwrap();
    for r in [b.open(), b.order(), b.close(), b.destroy()] {
        assert_eq!(kind(r), ErrorKind::BarrierUninitialized);
    }
    // Destroying the current barrier: implicit transfers need a new one.
    b2.destroy().unwrap();
    assert_eq!(kind(im.put(0, b"x")), ErrorKind::BarrierUninitialized);
    assert_eq!(kind(im.get(0, &mut [0])), ErrorKind::BarrierUninitialized);
    im.set_mode(BarrierMode::Explicit).unwrap();
    im.put(3, b"d").unwrap();
    let mut v = [0u8; 4];
    s.view().unwrap().read(0, &mut v).unwrap();
    assert_eq!(&v, b"abcd");
    // Barrier operations on a disconnected segment.
    let b3 = im.init_barrier(BAR_DEFAULT).unwrap();
    im.disconnect().unwrap();
    assert_eq!(kind(b3.open()), ErrorKind::BadSegHndl);
    assert_eq!(kind(b3.close()), ErrorKind::BadSegHndl);
    assert_eq!(kind(b3.order()), ErrorKind::BadSegHndl);
    b3.destroy().unwrap();
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn close_reports_lost_connection_sticky() {
    let ns = Ns::new("br_sticky");
    let mut p = Peer::spawn(&ns);
    p.ok("create 4096 0");
    let id = p.num("publish 0 0") as u32;
    let c = ns.ctrl();
    let im = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    im.set_mode(BarrierMode::Explicit).unwrap();
    let b = im.init_barrier(BAR_DEFAULT).unwrap();
    b.open().unwrap();
    im.put(0, b"1").unwrap();
    b.close().unwrap();
    p.ok("unpublish 0");
    // Open still succeeds on loopback; the loss shows at close, every time.
    b.open().unwrap();
    im.put(0, b"2").unwrap();
    assert_eq!(kind(b.close()), ErrorKind::ConnAborted);
    b.open().unwrap();
    assert_eq!(kind(b.close()), ErrorKind::ConnAborted);
    assert_eq!(p.ok("view_read 0 0 1"), vec![hex(b"1")]);
    // Reconnecting after a new publish clears it.
    let id = p.num("publish 0 0") as u32;
    let im2 = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    let b2 = im2.init_barrier(BAR_DEFAULT).unwrap();
    b2.open().unwrap();
    b2.close().unwrap();
    b.destroy().unwrap();
    b2.destroy().unwrap();
    im.disconnect().unwrap();
    im2.disconnect().unwrap();
    p.quit();
    ns.finish();
}
