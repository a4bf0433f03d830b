//! What importers see after unpublish, destroy or the exporter's death (SPEC.md §5.2):
//! `ConnAborted`, nothing reaching the exporter's memory, stale mappings that neither
//! fault nor reach it, prompt failure instead of hangs, no names left behind.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rsm_core::*;

use crate::harness::*;

const PS: usize = 4096;

fn zeros(v: &MemView, off: usize, n: usize) -> bool {
    let mut b = vec![1u8; n];
    v.read(off, &mut b).unwrap();
    b.iter().all(|&x| x == 0)
}

/// Exporter here, importer in a peer: after `revoke` the importer is cut off.
fn cut_off(tag: &str, destroy: bool) {
    let ns = Ns::new(tag);
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, 2 * PS, ExportFlags::NONE).unwrap();
    let id = s.publish(0x400200, &[]).unwrap();
    let v = s.view().unwrap();
    let mut p = Peer::spawn(&ns);
    p.ok(&format!("connect {id:#x} 600")); // import 0: implicit mode
    p.ok("bar 0");
    p.ok(&format!("connect {id:#x} 600")); // import 1: explicit mode + barrier
    p.ok("bar 1");
    p.ok("mode 1 explicit");
    p.ok("put 1 16 00"); // mapped (implicitly) while the connection stands
    p.ok(&format!("connect {id:#x} 600")); // import 2: mapped
    p.ok("map 2 0 4096 600");
    p.ok(&format!("connect {id:#x} 600")); // import 3: connected, never used
    p.ok("put 0 0 aa");
    let mut b = [0u8];
    v.read(0, &mut b).unwrap();
    assert_eq!(b, [0xaa]);
    if destroy {
        s.destroy().unwrap();
    } else {
        s.unpublish().unwrap();
    }
    assert!(!ns.path(&ns.data_name(id)).exists());
    // Implicit mode: ConnAborted, and nothing reaches the exporter.
    assert_eq!(p.fails("put 0 8 bb"), ErrorKind::ConnAborted);
    assert_eq!(p.fails("get 0 0 1"), ErrorKind::ConnAborted);
    assert!(zeros(&v, 8, 1));
    // Explicit mode, handle already mapped: the put "succeeds" into the dead
    // connection; close reports it, sticky until reconnect.
    p.ok("bopen 1");
    p.ok("put 1 16 cc");
    assert_eq!(p.fails("bclose 1"), ErrorKind::ConnAborted);
    assert_eq!(p.fails("bclose 1"), ErrorKind::ConnAborted);
    assert!(zeros(&v, 16, 1));
    // The stale mapping neither faults nor reaches the exporter, in either direction.
    p.ok("vwrite 0 24 dd");
    assert!(zeros(&v, 24, 1));
    v.write(32, &[0xee]).unwrap();
    assert_eq!(p.ok("vread 0 32 1"), vec!["00"]);
    assert_eq!(
        p.ok("vread 0 0 1"),
        vec!["aa"],
        "the stale mapping keeps the old contents"
    );
    // A new mapping is refused.
    p.ok("unmap 2");
    assert_eq!(p.fails("map 2 0 4096 600"), ErrorKind::ConnAborted);
    assert_eq!(p.fails("ipost 0 0"), ErrorKind::ConnAborted);
    // A handle not mapped yet: its first transfer maps implicitly, and that fails first
    // (before the range and barrier checks, in either barrier mode); it stays unmapped.
    assert_eq!(p.fails("put 3 0 00"), ErrorKind::ConnAborted);
    assert_eq!(p.fails("get 3 99999 1"), ErrorKind::ConnAborted);
    p.ok("mode 3 explicit");
    assert_eq!(p.fails("put 3 0 00"), ErrorKind::ConnAborted);
    assert_eq!(p.ok("mapped 3"), vec!["0"]);
    if !destroy {
        // Published again: new connections work, old ones stay aborted.
        s.publish(id, &[]).unwrap();
        p.ok(&format!("connect {id:#x} 600")); // import 4
        p.ok("bar 4");
        p.ok("put 4 40 ff");
        v.read(40, &mut b).unwrap();
        assert_eq!(b, [0xff]);
        assert_eq!(p.fails("put 0 40 11"), ErrorKind::ConnAborted);
        p.ok("disconnect 4");
        s.destroy().unwrap();
    }
    for i in 0..4 {
        p.ok(&format!("disconnect {i}"));
    }
    p.quit();
    ns.finish();
}

#[test]
fn unpublish_cuts_off_importers() {
    cut_off("rv_unpub", false);
}

#[test]
fn destroy_cuts_off_importers() {
    cut_off("rv_destroy", true);
}

#[test]
fn exporter_killed() {
    let ns = Ns::new("rv_kill");
    let mut p = Peer::spawn(&ns);
    p.ok("create 8192 0");
    let id = p.num("publish 0 0") as u32;
    p.ok("view_write 0 0 5a");
    let c = ns.ctrl();
    let im = Arc::new(ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap());
    let _bar = im.init_barrier(BAR_DEFAULT).unwrap();
    // A mapping that is still in place when the exporter dies.
    let view = im.map(0, 2 * PS, PERM_RDWR).unwrap();
    im.put(PS as u64, b"x").unwrap();
    let late = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    // A thread blocked in signal_wait must return promptly when the exporter dies.
    let waiter = {
        let im = im.clone();
        std::thread::spawn(move || {
            let r = im.signal_wait(Some(Duration::from_secs(30)));
            (r.map_err(|e| e.kind()), Instant::now())
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let killed = Instant::now();
    p.kill9();
    let (r, when) = within(Duration::from_secs(10), move || waiter.join().unwrap());
    assert_eq!(r, Err(ErrorKind::ConnAborted));
    assert!(
        when.duration_since(killed) < Duration::from_secs(5),
        "wait returned after {:?}",
        when - killed
    );
    // put/get fail within a few seconds (liveness is re-checked every RSM_LIVENESS_MS).
    let deadline = Instant::now() + Duration::from_secs(5);
    let e = loop {
        match im.put(PS as u64, b"y") {
            Err(e) => break e,
            Ok(()) => {
                assert!(
                    Instant::now() < deadline,
                    "put still succeeds 5 s after the exporter died"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    };
    assert_eq!(e.kind(), ErrorKind::ConnAborted);
    assert_eq!(kind(im.get(PS as u64, &mut [0])), ErrorKind::ConnAborted);
    assert_eq!(kind(im.check_connection()), ErrorKind::ConnAborted);
    // A second import handle, connected but never mapped: a new mapping is refused at
    // once (no liveness gate on this slow path), and so is the implicit one.
    let fresh = ImportSegment::connect(&c, 0, id, PERM_RDWR);
    assert_eq!(kind(fresh), ErrorKind::SegNotPublished);
    assert_eq!(kind(late.map(0, PS, PERM_RDWR)), ErrorKind::ConnAborted);
    // (That check also marked the exporter dead for `late`'s gated fast-path checks.)
    let _late_bar = late.init_barrier(BAR_DEFAULT).unwrap();
    assert_eq!(kind(late.put(0, b"z")), ErrorKind::ConnAborted);
    assert!(!late.is_mapped());
    late.disconnect().unwrap();
    // Stale mappings do not fault.
    let mut b = [0u8];
    view.read(0, &mut b).unwrap();
    assert_eq!(b, [0x5a]);
    view.write(1, b"z").unwrap();
    // The importer removed the dead exporter's names; ours go with disconnect.
    im.unmap().unwrap();
    im.disconnect().unwrap();
    ns.finish();
}

#[test]
fn sweep_removes_names_of_dead_processes_only() {
    let ns = Ns::new("rv_sweep");
    // Opening the controller sweeps once per process and namespace: do it before anyone dies.
    let c = ns.ctrl();
    let mut dead = Peer::spawn(&ns);
    dead.ok("create 4096 0");
    let id = dead.num("publish 0 0x400300") as u32;
    dead.ok(&format!("connect {id:#x} 600"));
    let mut live = Peer::spawn(&ns);
    live.ok("create 4096 0");
    live.ok("publish 0 0x400301");
    let before = ns.names();
    assert_eq!(before.len(), 5, "{before:?}"); // 2 data files, 2 export FIFOs, 1 import FIFO
    dead.kill9();
    // Nothing is removed while its owner lives.
    assert_eq!(shm::sweep_stale_in(&ns.cfg).unwrap(), 3);
    let after = ns.names();
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(after.contains(&ns.data_name(0x400301)));
    assert_eq!(shm::sweep_stale_in(&ns.cfg).unwrap(), 0);
    // A stale id does not block a new publish of it.
    live.ok("create 4096 0");
    live.kill9();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    assert_eq!(s.publish(0x400301, &[]).unwrap(), 0x400301);
    s.destroy().unwrap();
    assert_eq!(shm::sweep_stale_in(&ns.cfg).unwrap(), 2);
    ns.finish();
}

#[test]
fn connect_to_a_dead_exporters_name() {
    let ns = Ns::new("rv_deadconn");
    let c = ns.ctrl();
    let mut p = Peer::spawn(&ns);
    p.ok("create 4096 0");
    p.ok("publish 0 0x400310");
    p.kill9();
    assert_eq!(ns.names().len(), 2);
    assert_eq!(
        kind(ImportSegment::connect(&c, 0, 0x400310, PERM_RDWR)),
        ErrorKind::SegNotPublished
    );
    // The connect attempt cleaned up the dead exporter's names.
    ns.finish();
}
