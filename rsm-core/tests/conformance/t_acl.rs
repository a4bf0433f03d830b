//! Access control enforced by the kernel: file modes from the ACL, a process of another
//! uid refused by `open(2)` itself, and the RSM node/permission checks.

use std::os::unix::fs::PermissionsExt;

use rsm_core::*;

use crate::harness::*;

const PS: usize = 4096;
const NOBODY: u32 = 65534;

fn mode(ns: &Ns, id: u32) -> u32 {
    std::fs::metadata(ns.path(&ns.data_name(id)))
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn file_mode_follows_the_acl() {
    let ns = Ns::new("acl_mode");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    s.publish(0x400400, &[AccessEntry::new(0, 0o640)]).unwrap();
    assert_eq!(mode(&ns, 0x400400), 0o640);
    s.republish(&[AccessEntry::new(0, 0o604)]).unwrap();
    assert_eq!(mode(&ns, 0x400400), 0o604);
    // Write-only grants are widened to read+write in the file (the control page must be
    // readable); rsm-core still refuses reads.
    s.republish(&[AccessEntry::new(0, 0o602)]).unwrap();
    assert_eq!(mode(&ns, 0x400400), 0o606);
    // Empty ACL: the creator's default mode 0666 & (0777 & !umask).
    // SAFETY: umask read-and-restore (no other thread of this test creates files with
    // mode-sensitive expectations in this namespace).
    let um = unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m
    };
    s.republish(&[]).unwrap();
    assert_eq!(mode(&ns, 0x400400), 0o666 & !um);
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn other_uid_is_refused_by_the_kernel() {
    let ns = Ns::new("acl_uid");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    s.publish(0x400401, &[AccessEntry::new(0, 0o600)]).unwrap();
    s.view().unwrap().write(0, b"secret").unwrap();
    let mut p = PeerOpts::new(&ns).uid(NOBODY).spawn();
    // The kernel itself refuses: open(2) fails with EACCES for read and for write.
    assert_eq!(p.num("rawopen 0x400401 r"), libc::EACCES as u64);
    assert_eq!(p.num("rawopen 0x400401 rw"), libc::EACCES as u64);
    assert_eq!(p.fails("connect 0x400401 400"), ErrorKind::PermDenied);
    assert_eq!(p.fails("connect 0x400401 600"), ErrorKind::PermDenied);
    // Other may read: reading works, writing is refused by the kernel.
    s.republish(&[AccessEntry::new(0, 0o604)]).unwrap();
    assert_eq!(p.num("rawopen 0x400401 r"), 0);
    assert_eq!(p.num("rawopen 0x400401 rw"), libc::EACCES as u64);
    assert_eq!(p.fails("connect 0x400401 600"), ErrorKind::PermDenied);
    p.ok("connect 0x400401 400");
    p.ok("bar 0");
    assert_eq!(p.ok("get 0 0 6"), vec![hex(b"secret")]);
    assert_eq!(p.fails("put 0 0 00"), ErrorKind::PermDenied);
    // Other may only write: connect for write works, reading is refused by rsm-core.
    s.republish(&[AccessEntry::new(0, 0o602)]).unwrap();
    assert_eq!(p.fails("connect 0x400401 400"), ErrorKind::PermDenied);
    p.ok("connect 0x400401 200");
    p.ok("bar 1");
    p.ok("put 1 0 4f4b");
    assert_eq!(p.fails("get 1 0 2"), ErrorKind::PermDenied);
    let mut b = [0u8; 2];
    s.view().unwrap().read(0, &mut b).unwrap();
    assert_eq!(&b, b"OK");
    // Existing connections are unaffected by a republish that takes access away.
    s.republish(&[AccessEntry::new(0, 0o600)]).unwrap();
    p.ok("put 1 2 21");
    assert_eq!(p.fails("connect 0x400401 200"), ErrorKind::PermDenied);
    p.ok("disconnect 0");
    p.ok("disconnect 1");
    p.quit();
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn group_digit_applies_to_the_exporters_group() {
    // The peer runs as another user but in the exporter's group (gid 0, as this test):
    // the group digit decides, for the kernel (file mode) and for RSM (SPEC.md §5.4
    // shift 3) alike — even where the "other" digit would grant more.
    let ns = Ns::new("acl_group");
    let c = ns.ctrl();
    // SAFETY: getegid has no preconditions.
    let gid = unsafe { libc::getegid() };
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    s.publish(0x400403, &[AccessEntry::new(0, 0o640)]).unwrap();
    s.view().unwrap().write(0, b"grp").unwrap();
    let mut p = PeerOpts::new(&ns).uid(NOBODY).gid(gid).spawn();
    // 0640: the group may read, not write.
    assert_eq!(p.num("rawopen 0x400403 r"), 0);
    assert_eq!(p.num("rawopen 0x400403 rw"), libc::EACCES as u64);
    assert_eq!(p.fails("connect 0x400403 600"), ErrorKind::PermDenied);
    assert_eq!(p.fails("connect 0x400403 200"), ErrorKind::PermDenied);
    p.ok("connect 0x400403 400");
    p.ok("bar 0");
    assert_eq!(p.ok("get 0 0 3"), vec![hex(b"grp")]);
    assert_eq!(p.fails("put 0 0 00"), ErrorKind::PermDenied);
    // Events reach the exporter (the event FIFO is open to the group too).
    p.ok("ipost 0 0");
    s.signal_wait(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    // 0604: other may read, but the group digit (0) is the one that applies.
    s.republish(&[AccessEntry::new(0, 0o604)]).unwrap();
    assert_eq!(mode(&ns, 0x400403), 0o604);
    assert_eq!(p.num("rawopen 0x400403 r"), libc::EACCES as u64);
    assert_eq!(p.fails("connect 0x400403 400"), ErrorKind::PermDenied);
    // 0620: the group may write only.
    s.republish(&[AccessEntry::new(0, 0o620)]).unwrap();
    assert_eq!(p.fails("connect 0x400403 400"), ErrorKind::PermDenied);
    assert_eq!(p.fails("connect 0x400403 600"), ErrorKind::PermDenied);
    p.ok("connect 0x400403 200");
    p.ok("bar 1");
    p.ok("put 1 0 4f4b");
    assert_eq!(p.fails("get 1 0 2"), ErrorKind::PermDenied);
    let mut b = [0u8; 2];
    s.view().unwrap().read(0, &mut b).unwrap();
    assert_eq!(&b, b"OK");
    // An empty ACL: the creator's default mode (0666 & !umask; the usual 022 leaves the
    // group read-only).
    s.republish(&[]).unwrap();
    let m = mode(&ns, 0x400403);
    let group_may_write = m & 0o020 != 0;
    match p.cmd("connect 0x400403 600") {
        Ok(_) => assert!(group_may_write, "mode {m:o}"),
        Err((code, _)) => {
            assert!(!group_may_write, "mode {m:o}");
            assert_eq!(ErrorKind::from_code(code), Some(ErrorKind::PermDenied));
        }
    }
    p.quit();
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn acl_naming_another_node() {
    // A process that believes it is node 1 connects to "its" node; the ACL names node 0.
    let ns = Ns::new("acl_node");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    s.publish(0x400402, &[AccessEntry::new(0, 0o666)]).unwrap();
    let mut p = PeerOpts::new(&ns).env("RSM_NODE_ID", "1").spawn();
    assert_eq!(
        p.fails("connect 0x400402 600 1"),
        ErrorKind::SegNotPublishedToNode
    );
    assert_eq!(p.fails("connect 0x400402 600 0"), ErrorKind::CtlrNotPresent);
    // An empty ACL admits every node.
    s.republish(&[]).unwrap();
    p.ok("connect 0x400402 600 1");
    p.quit();
    s.destroy().unwrap();
    ns.finish();
}
