//! Export side: create, publish (ids, ACL), republish, unpublish, rebind, destroy.

use std::time::Duration;

use rsm_core::*;

use crate::harness::*;

const PS: usize = 4096;

fn anon(len: usize) -> *mut u8 {
    // SAFETY: fresh anonymous private mapping, owned by the test.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    p.cast()
}

/// Makes our own mapping inaccessible (`PROT_NONE`) without giving the addresses back:
/// a test must never pass unmapped addresses around, because another test thread's
/// `mmap` may be placed there meanwhile.
fn no_access(p: *mut u8, len: usize) {
    // SAFETY: `p..p+len` is a range of one of this test's own anonymous mappings, and no
    // reference points into it.
    assert_eq!(unsafe { libc::mprotect(p.cast(), len, libc::PROT_NONE) }, 0);
}

#[test]
fn create_errors() {
    let ns = Ns::new("ex_create");
    let c = ns.ctrl();
    assert_eq!(
        kind(ExportSegment::create(&c, 0, ExportFlags::NONE)),
        ErrorKind::BadLength
    );
    assert_eq!(
        kind(ExportSegment::create(&c, 100, ExportFlags::NONE)),
        ErrorKind::BadMemAlignment
    );
    assert_eq!(
        kind(ExportSegment::create(&c, PS + 1, ExportFlags::NONE)),
        ErrorKind::BadMemAlignment
    );
    let buf = anon(4 * PS);
    // SAFETY: every call below is refused before the range is touched, or gets a valid
    // range of our own mapping.
    unsafe {
        assert_eq!(
            kind(ExportSegment::create_in_place(
                &c,
                std::ptr::null_mut(),
                PS,
                ExportFlags::NONE
            )),
            ErrorKind::BadAddr
        );
        assert_eq!(
            kind(ExportSegment::create_in_place(
                &c,
                buf,
                0,
                ExportFlags::NONE
            )),
            ErrorKind::BadLength
        );
        // Null beats length, length beats alignment.
        assert_eq!(
            kind(ExportSegment::create_in_place(
                &c,
                std::ptr::null_mut(),
                0,
                ExportFlags::NONE
            )),
            ErrorKind::BadAddr
        );
        assert_eq!(
            kind(ExportSegment::create_in_place(
                &c,
                buf.add(8),
                0,
                ExportFlags::NONE
            )),
            ErrorKind::BadLength
        );
        assert_eq!(
            kind(ExportSegment::create_in_place(
                &c,
                buf.add(8),
                PS,
                ExportFlags::NONE
            )),
            ErrorKind::BadMemAlignment
        );
        assert_eq!(
            kind(ExportSegment::create_in_place(
                &c,
                buf,
                PS + 8,
                ExportFlags::NONE
            )),
            ErrorKind::BadMemAlignment
        );
        // An inaccessible range: the kernel reports it, nothing faults. (The range stays
        // reserved: unmapping it would let a concurrent test's mapping land there.)
        no_access(buf.add(2 * PS), 2 * PS);
        assert_eq!(
            kind(ExportSegment::create_in_place(
                &c,
                buf.add(2 * PS),
                2 * PS,
                ExportFlags::NONE
            )),
            ErrorKind::BadAddr
        );
        // Read-only memory cannot be exported (importers would write it): PERM_DENIED,
        // and the range is left as it was.
        buf.write(7);
        assert_eq!(libc::mprotect(buf.cast(), 2 * PS, libc::PROT_READ), 0);
        assert_eq!(
            kind(ExportSegment::create_in_place(
                &c,
                buf,
                2 * PS,
                ExportFlags::NONE
            )),
            ErrorKind::PermDenied
        );
        assert_eq!(buf.read_volatile(), 7);
        assert!(ns.names().is_empty());
        libc::munmap(buf.cast(), 4 * PS);
    }
    c.release().unwrap();
    ns.finish();
}

#[test]
fn in_place_export_keeps_the_callers_pointer() {
    let ns = Ns::new("ex_inplace");
    let c = ns.ctrl();
    let buf = anon(2 * PS);
    // SAFETY: our own mapping, written before export and kept until the end.
    unsafe { buf.add(10).write(0x5a) };
    // SAFETY: `buf` stays mapped for the whole test; no references point into it.
    let seg =
        unsafe { ExportSegment::create_in_place(&c, buf, 2 * PS, ExportFlags::NONE) }.unwrap();
    let id = seg.publish(0x400010, &[]).unwrap();
    let mut p = Peer::spawn(&ns);
    p.ok(&format!("connect {id:#x} 600"));
    p.ok("bar 0");
    // The contents were carried over; the importer's writes reach the caller's pointer.
    assert_eq!(p.ok("get 0 10 1"), vec!["5a"]);
    p.ok("put 0 100 c0ffee");
    // SAFETY: reading our own mapped buffer (volatile: another process wrote it).
    let got: Vec<u8> = (0..3)
        .map(|i| unsafe { buf.add(100 + i).read_volatile() })
        .collect();
    assert_eq!(got, vec![0xc0, 0xff, 0xee]);
    // SAFETY: as above.
    unsafe { buf.add(200).write_volatile(0x77) };
    assert_eq!(p.ok("get 0 200 1"), vec!["77"]);
    seg.destroy().unwrap();
    // After destroy the range is private memory again, with the last contents.
    // SAFETY: the range is still ours and mapped.
    unsafe {
        assert_eq!(buf.add(100).read_volatile(), 0xc0);
        buf.add(300).write_volatile(1);
        libc::munmap(buf.cast(), 2 * PS);
    }
    assert_eq!(p.fails("get 0 0 1"), ErrorKind::ConnAborted);
    p.ok("disconnect 0");
    p.quit();
    ns.finish();
}

#[test]
fn publish_ids_and_order_of_checks() {
    let ns = Ns::new("ex_pub");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    for id in [
        1,
        0xff,
        0x10_0000,
        0x3F_FFFF,
        0x8000_0000,
        0x8000_0001,
        0xFFFF_FFFF,
    ] {
        assert_eq!(
            kind(s.publish(id, &[])),
            ErrorKind::ReservedSegid,
            "{id:#x}"
        );
    }
    // Reserved id wins over a bad ACL (it is checked first).
    assert_eq!(
        kind(s.publish(5, &[AccessEntry::new(99, 0o777)])),
        ErrorKind::ReservedSegid
    );
    for acl in [
        vec![AccessEntry::new(0, 0o600), AccessEntry::new(0, 0o600)], // loopback: one entry
        vec![AccessEntry::new(65, 0o600)],                            // node > 64
        vec![AccessEntry::new(1, 0o600)],                             // not the local node
        vec![AccessEntry::new(0, 0o700)],                             // > 0666
        vec![AccessEntry::new(0, 0o667)],
    ] {
        assert_eq!(
            kind(s.publish(0x400000, &acl)),
            ErrorKind::BadAcl,
            "{acl:?}"
        );
    }
    assert_eq!(s.segment_id(), None);
    assert_eq!(
        s.publish(0x400000, &[AccessEntry::new(0, 0o640)]).unwrap(),
        0x400000
    );
    assert_eq!(s.segment_id(), Some(0x400000));
    // Already published wins over everything after it.
    assert_eq!(
        kind(s.publish(0x400000, &[])),
        ErrorKind::SegAlreadyPublished
    );
    assert_eq!(
        kind(s.publish(1, &[AccessEntry::new(99, 0o777)])),
        ErrorKind::SegAlreadyPublished
    );
    // Another process publishing the same id.
    let mut p = Peer::spawn(&ns);
    p.ok("create 4096 0");
    assert_eq!(p.fails("publish 0 0x400000"), ErrorKind::SegidInUse);
    assert_eq!(p.ok("publish 0 0x400001"), vec!["0x400001"]);
    // And in this process.
    let t = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    assert_eq!(kind(t.publish(0x400001, &[])), ErrorKind::SegidInUse);
    t.destroy().unwrap();
    s.unpublish().unwrap();
    // Unpublished ids are free again.
    p.ok("create 4096 0");
    assert_eq!(p.ok("publish 1 0x400000"), vec!["0x400000"]);
    assert_eq!(kind(s.publish(0x400000, &[])), ErrorKind::SegidInUse);
    s.destroy().unwrap();
    p.ok("destroy 0");
    p.ok("destroy 1");
    p.quit();
    ns.finish();
}

#[test]
fn automatic_ids_start_at_user_app_base() {
    let ns = Ns::new("ex_auto");
    let c = ns.ctrl();
    let a = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    let b = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    assert_eq!(a.publish(0, &[]).unwrap(), 0x8000_0000);
    let mut p = Peer::spawn(&ns);
    p.ok("create 4096 0");
    assert_eq!(p.ok("publish 0 0"), vec!["0x80000001"]);
    assert_eq!(b.publish(0, &[]).unwrap(), 0x8000_0002);
    assert!(ns.path(&ns.data_name(0x8000_0002)).exists());
    // The lowest free id is reused.
    a.unpublish().unwrap();
    assert_eq!(p.ok("unpublish 0"), Vec::<String>::new());
    assert_eq!(p.ok("publish 0 0"), vec!["0x80000000"]);
    assert_eq!(a.publish(0, &[]).unwrap(), 0x8000_0001);
    p.quit();
    a.destroy().unwrap();
    b.destroy().unwrap();
    ns.finish();
}

#[test]
fn unpublish_republish_states() {
    let ns = Ns::new("ex_states");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    assert_eq!(kind(s.unpublish()), ErrorKind::SegNotPublished);
    assert_eq!(kind(s.republish(&[])), ErrorKind::SegNotPublished);
    s.publish(0x400020, &[]).unwrap();
    assert_eq!(
        kind(s.republish(&[AccessEntry::new(3, 0o600)])),
        ErrorKind::BadAcl
    );
    assert_eq!(
        kind(s.republish(&[AccessEntry::new(0, 0o1000)])),
        ErrorKind::BadAcl
    );
    s.republish(&[AccessEntry::new(0, 0o600)]).unwrap();
    s.unpublish().unwrap();
    assert_eq!(kind(s.unpublish()), ErrorKind::SegNotPublished);
    assert!(!ns.path(&ns.data_name(0x400020)).exists());
    // Published again under another id.
    assert_eq!(s.publish(0x400021, &[]).unwrap(), 0x400021);
    s.destroy().unwrap();
    assert!(!ns.path(&ns.data_name(0x400021)).exists());
    ns.finish();
}

#[test]
fn destroyed_handle_is_refused_everywhere() {
    let ns = Ns::new("ex_destroyed");
    let c = ns.ctrl();
    let s =
        ExportSegment::create(&c, PS, ExportFlags::ALLOW_REBIND | ExportFlags::LOCK_OPS).unwrap();
    s.publish(0x400030, &[]).unwrap();
    s.destroy().unwrap();
    assert!(s.is_destroyed());
    let b = ErrorKind::BadSegHndl;
    assert_eq!(kind(s.destroy()), b);
    assert_eq!(kind(s.publish(0x400031, &[])), b);
    assert_eq!(kind(s.publish(1, &[])), b);
    assert_eq!(kind(s.unpublish()), b);
    assert_eq!(kind(s.republish(&[])), b);
    assert_eq!(kind(s.rebind(&[0; PS])), b);
    assert_eq!(kind(s.view()), b);
    assert_eq!(kind(s.signal_post(0)), b);
    assert_eq!(kind(s.signal_wait(Some(Duration::ZERO))), b);
    assert_eq!(kind(s.get_pollfd()), b);
    assert_eq!(kind(s.release_pollfd()), b);
    assert_eq!(kind(s.fetch_add64(0, 1)), b);
    assert_eq!(kind(s.lock_word(0, None)), b);
    // SAFETY: refused before the pointer is used.
    let r = unsafe { s.rebind_in_place(std::ptr::null_mut(), PS) };
    assert_eq!(kind(r), b);
    ns.finish();
}

#[test]
fn destroy_with_pollfd_reference_is_refused() {
    let ns = Ns::new("ex_pollref");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    let pfd = s.get_pollfd().unwrap();
    assert_eq!(pfd.events, libc::POLLRDNORM);
    assert_eq!(s.get_pollfd().unwrap().fd, pfd.fd);
    assert_eq!(kind(s.destroy()), ErrorKind::PollfdInUse);
    s.release_pollfd().unwrap();
    assert_eq!(kind(s.destroy()), ErrorKind::PollfdInUse);
    s.release_pollfd().unwrap();
    s.release_pollfd().unwrap(); // no reference left: a no-op
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn not_creator_after_fork() {
    let ns = Ns::new("ex_fork");
    let mut p = Peer::spawn(&ns);
    p.ok("create 4096 1");
    let code = |p: &mut Peer, op: &str| ErrorKind::from_code(p.num(&format!("fork 0 {op}")) as i32);
    assert_eq!(code(&mut p, "publish"), Some(ErrorKind::NotCreator));
    assert_eq!(code(&mut p, "rebind"), Some(ErrorKind::NotCreator));
    p.ok("publish 0 0x400040");
    assert_eq!(code(&mut p, "unpublish"), Some(ErrorKind::NotCreator));
    assert_eq!(code(&mut p, "republish"), Some(ErrorKind::NotCreator));
    // The child's exit (dropping its copy of the handle) did not unpublish the parent's.
    assert!(ns.path(&ns.data_name(0x400040)).exists());
    p.ok("unpublish 0");
    p.ok("destroy 0");
    p.quit();
    ns.finish();
}

#[test]
fn a_forked_child_dropping_its_handles_leaves_the_parents_alone() {
    let ns = Ns::new("ex_forkdrop");
    let mut p = Peer::spawn(&ns);
    p.ok("create 4096 0");
    let id = p.num("publish 0 0");
    p.ok(&format!("connect {id:#x} 600"));
    p.ok("bar 0");
    assert_eq!(p.ok("forkdrop"), vec!["0"]);
    // No spurious readiness on the parent's event FIFOs, nothing unpublished or removed.
    assert_eq!(p.ok("pollready e 0"), vec!["0"]);
    assert_eq!(p.ok("pollready i 0"), vec!["0"]);
    p.ok("put 0 0 2a");
    assert_eq!(p.ok("view_read 0 0 1"), vec!["2a"]);
    p.ok("ipost 0 0");
    p.ok("ewait 0 5000");
    p.ok("epost 0 0");
    p.ok("iwait 0 5000");
    assert_eq!(ns.names().len(), 3, "{:?}", ns.names());
    p.ok("disconnect 0");
    p.ok("destroy 0");
    p.quit();
    ns.finish();
}

#[test]
fn rebind_checks_and_contents() {
    let ns = Ns::new("ex_rebind");
    let c = ns.ctrl();
    let fixed = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    // Not allowed wins over a bad length.
    assert_eq!(kind(fixed.rebind(&[0; 10])), ErrorKind::RebindNotAllowed);
    let s = ExportSegment::create(&c, 2 * PS, ExportFlags::ALLOW_REBIND).unwrap();
    assert_eq!(kind(s.rebind(&[0; PS])), ErrorKind::BadLength);
    // SAFETY: refused before any use of the pointers.
    unsafe {
        assert_eq!(
            kind(s.rebind_in_place(std::ptr::null_mut(), 2 * PS)),
            ErrorKind::BadAddr
        );
        let b = anon(2 * PS);
        assert_eq!(kind(s.rebind_in_place(b, PS)), ErrorKind::BadLength);
        assert_eq!(
            kind(s.rebind_in_place(b.add(1), 2 * PS)),
            ErrorKind::BadAddr
        );
        assert_eq!(libc::mprotect(b.cast(), 2 * PS, libc::PROT_READ), 0);
        assert_eq!(kind(s.rebind_in_place(b, 2 * PS)), ErrorKind::PermDenied);
        no_access(b, 2 * PS);
        assert_eq!(kind(s.rebind_in_place(b, 2 * PS)), ErrorKind::BadAddr);
        libc::munmap(b.cast(), 2 * PS);
        assert_eq!(
            kind(fixed.rebind_in_place(std::ptr::null_mut(), PS)),
            ErrorKind::BadAddr
        );
    }
    let id = s.publish(0, &[]).unwrap();
    let mut p = Peer::spawn(&ns);
    p.ok(&format!("connect {id:#x} 400"));
    p.ok("bar 0");
    s.rebind(&vec![0xabu8; 2 * PS]).unwrap();
    assert_eq!(p.ok(&format!("get 0 {} 2", 2 * PS - 2)), vec!["abab"]);
    fixed.destroy().unwrap();
    s.destroy().unwrap();
    p.ok("disconnect 0");
    p.quit();
    ns.finish();
}

#[test]
fn rebind_in_place_moves_the_segment() {
    // The exporter is a peer using caller memory (C style); the importer is this process.
    let ns = Ns::new("ex_rebind_ip");
    let mut p = Peer::spawn(&ns);
    p.ok("buf 8192 0x11");
    p.ok("buf 8192 0x22");
    p.ok("create_in_place 0 1");
    let id = p.num("publish 0 0") as u32;
    let c = ns.ctrl();
    let im = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    let _b = im.init_barrier(BarrierType::Segment).unwrap();
    let mut x = [0u8; 2];
    im.get(8190, &mut x).unwrap();
    assert_eq!(x, [0x11, 0x11]);
    p.ok("rebind_in_place 0 1");
    im.get(8190, &mut x).unwrap();
    assert_eq!(x, [0x22, 0x22], "importer sees the new memory");
    // The old buffer no longer reaches importers; the new one does.
    p.ok("bufwrite 0 0 99");
    p.ok("bufwrite 1 4 88");
    im.get(0, &mut x).unwrap();
    assert_eq!(x, [0x22, 0x22]);
    im.get(4, &mut x[..1]).unwrap();
    assert_eq!(x[0], 0x88);
    // Importer writes land in the new buffer (the exporter reads its view = new memory).
    im.put(16, &[0x44]).unwrap();
    assert_eq!(p.ok("view_read 0 16 1"), vec!["44"]);
    // Rebinding to the current address is a no-op.
    p.ok("rebind_in_place 0 1");
    im.disconnect().unwrap();
    p.ok("destroy 0");
    p.quit();
    ns.finish();
}

/// The importer's view of the whole 2-page segment.
fn segment_bytes(im: &ImportSegment) -> Vec<u8> {
    let mut b = vec![0u8; 2 * PS];
    im.get(0, &mut b).unwrap();
    b
}

/// Asserts equal byte strings, reporting the first difference (not kilobytes of numbers).
#[track_caller]
fn same_bytes(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if let Some(i) = got.iter().zip(want).position(|(g, w)| g != w) {
        let n = got.iter().zip(want).filter(|(g, w)| g != w).count();
        panic!(
            "{what}: {n} bytes differ, the first at offset {i}: {:#04x}, expected {:#04x}",
            got[i], want[i]
        );
    }
}

/// The peer's buffer `buf` (its first `len` bytes).
fn peer_buf(p: &mut Peer, buf: usize, off: usize, len: usize) -> Vec<u8> {
    unhex(&p.ok(&format!("bufread {buf} {off} {len}"))[0])
}

#[test]
fn rebind_in_place_keeps_the_old_contents_and_fails_without_a_trace() {
    // The exporter is a peer using caller memory; the importer (this process) checks what
    // it sees after every step.
    let ns = Ns::new("ex_rebind_keep");
    let mut p = Peer::spawn(&ns);
    for (i, fill) in [0x11, 0x22, 0x33, 0x44, 0x55].iter().enumerate() {
        assert_eq!(
            p.ok(&format!("buf {} {fill:#x}", 2 * PS)),
            vec![i.to_string()]
        );
    }
    p.ok("create_in_place 0 1");
    let id = p.num("publish 0 0") as u32;
    let c = ns.ctrl();
    let im = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    let _b = im.init_barrier(BarrierType::Segment).unwrap();
    // The segment's contents: A's own bytes, an importer put and an exporter store.
    let mut a = vec![0x11u8; 2 * PS];
    im.put(100, &[0xa0, 0xa1]).unwrap();
    a[100..102].copy_from_slice(&[0xa0, 0xa1]);
    p.ok("bufwrite 0 5000 bbbb");
    a[5000..5002].copy_from_slice(&[0xbb, 0xbb]);
    same_bytes(&segment_bytes(&im), &a, "importer before the rebinds");

    // Failed rebinds: the second page of the new range unreadable, read-only, unmapped.
    p.ok(&format!("bufprot 2 {PS} {PS} none"));
    p.ok(&format!("bufprot 3 {PS} {PS} r"));
    p.ok(&format!("bufunmap 4 {PS} {PS}"));
    for (buf, code, fill) in [
        (2, ErrorKind::BadAddr, 0x33u8),
        (3, ErrorKind::PermDenied, 0x44),
        (4, ErrorKind::BadAddr, 0x55),
    ] {
        assert_eq!(
            p.fails(&format!("rebind_in_place 0 {buf}")),
            code,
            "buffer {buf}"
        );
        // Importers see the segment unchanged, A is still the segment (both ways), and
        // the refused range is untouched.
        let what = format!("after the rebind to buffer {buf}");
        same_bytes(&segment_bytes(&im), &a, &format!("importer {what}"));
        same_bytes(
            &peer_buf(&mut p, buf, 0, PS),
            &[fill; PS],
            &format!("refused range {what}"),
        );
        p.ok(&format!("bufwrite 0 {} 0c", 6000 + buf));
        a[6000 + buf] = 0x0c;
        im.put(200 + buf as u64, &[buf as u8]).unwrap();
        a[200 + buf] = buf as u8;
        same_bytes(&segment_bytes(&im), &a, &format!("importer {what}"));
        same_bytes(
            &peer_buf(&mut p, 0, 0, 2 * PS),
            &a,
            &format!("old range {what}"),
        );
    }
    same_bytes(&peer_buf(&mut p, 3, PS, PS), &[0x44; PS], "read-only page");

    // A successful rebind: importers see B's contents, A keeps exactly its own.
    p.ok("rebind_in_place 0 1");
    same_bytes(
        &segment_bytes(&im),
        &[0x22; 2 * PS],
        "importer after the rebind",
    );
    same_bytes(
        &peer_buf(&mut p, 0, 0, 2 * PS),
        &a,
        "old range after the rebind",
    );
    // From now on A and the segment are independent; B is the segment.
    p.ok("bufwrite 0 0 ee");
    im.put(8, &[0x77]).unwrap();
    p.ok("bufwrite 1 9 99");
    let mut b = vec![0x22u8; 2 * PS];
    b[8] = 0x77;
    b[9] = 0x99;
    same_bytes(&segment_bytes(&im), &b, "importer after writes");
    same_bytes(
        &peer_buf(&mut p, 1, 0, 2 * PS),
        &b,
        "new range after writes",
    );
    a[0] = 0xee;
    same_bytes(
        &peer_buf(&mut p, 0, 0, 2 * PS),
        &a,
        "old range after writes",
    );
    im.disconnect().unwrap();
    p.ok("destroy 0");
    p.quit();
    ns.finish();
}

#[test]
fn view_checks() {
    let ns = Ns::new("ex_view");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    let v = s.view().unwrap();
    assert_eq!(v.len(), PS);
    use std::sync::atomic::Ordering::*;
    v.store_u64(8, 42, Release).unwrap();
    assert_eq!(v.load_u64(8, Acquire).unwrap(), 42);
    assert_eq!(v.atomic_u64(8).unwrap().fetch_add(1, SeqCst), 42);
    assert_eq!(v.atomic_u32(12).unwrap().load(SeqCst), 0);
    // Orderings that would panic on a plain atomic are strengthened instead.
    assert_eq!(v.load_u64(8, Release).unwrap(), 43);
    v.store_u64(8, 1, Acquire).unwrap();
    assert_eq!(kind(v.load_u64(4, SeqCst)), ErrorKind::BadMemAlignment);
    assert_eq!(kind(v.load_u64(PS, SeqCst)), ErrorKind::BadOffset);
    assert_eq!(kind(v.atomic_u32(2)), ErrorKind::BadMemAlignment);
    assert_eq!(kind(v.atomic_u64(usize::MAX - 7)), ErrorKind::BadOffset);
    let mut b = [0u8; 16];
    assert_eq!(kind(v.read(PS - 8, &mut b)), ErrorKind::BadLength);
    assert_eq!(kind(v.read(PS + 1, &mut b)), ErrorKind::BadOffset);
    assert_eq!(kind(v.write(usize::MAX, &b)), ErrorKind::BadOffset);
    v.write(PS - 16, &[7; 16]).unwrap();
    v.read(PS - 16, &mut b).unwrap();
    assert_eq!(b, [7; 16]);
    // A view outlives destroy: it keeps valid memory, detached from everything.
    s.destroy().unwrap();
    v.write(0, &[1]).unwrap();
    assert_eq!(v.load_u64(8, SeqCst).unwrap(), 1);
    ns.finish();
}

#[test]
fn resource_exhaustion() {
    let ns = Ns::new("ex_res");
    let c = ns.ctrl();
    // Larger than the whole tmpfs: refused up front, nothing left behind.
    assert_eq!(
        kind(ExportSegment::create(&c, 1 << 46, ExportFlags::NONE)),
        ErrorKind::InsufficientMem
    );
    assert!(ns.names().is_empty());
    // Out of descriptors (in a peer with a tiny limit).
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    s.publish(0x400500, &[]).unwrap();
    let mut p = Peer::spawn(&ns);
    p.ok("nofile 3");
    assert_eq!(p.fails("create 4096 0"), ErrorKind::InsufficientResources);
    assert_eq!(
        p.fails("connect 0x400500 600"),
        ErrorKind::InsufficientResources
    );
    p.ok("nofile 1024");
    p.ok("connect 0x400500 600");
    p.quit();
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn foreign_file_under_a_segment_name() {
    let ns = Ns::new("ex_foreign");
    let path = ns.path(&ns.data_name(0x400600));
    std::fs::write(&path, vec![0xeeu8; 2 * PS]).unwrap();
    let c = ns.ctrl();
    assert_eq!(
        kind(ImportSegment::connect(&c, 0, 0x400600, PERM_RDWR)),
        ErrorKind::BadDriverVersion
    );
    // Not ours: neither the sweep nor a publish removes it.
    assert_eq!(shm::sweep_stale_in(&ns.cfg).unwrap(), 0);
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    assert_eq!(kind(s.publish(0x400600, &[])), ErrorKind::SegidInUse);
    s.destroy().unwrap();
    std::fs::remove_file(&path).unwrap();
    ns.finish();
}

#[test]
fn no_descriptor_or_mapping_leaks() {
    // Counted in a peer: this test process runs other tests on other threads.
    let ns = Ns::new("ex_leak");
    let mut p = Peer::spawn(&ns);
    let v: Vec<usize> = p
        .ok("leakcheck 20")
        .iter()
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(
        (v[1], v[3]),
        (v[0], v[2]),
        "fds before/after, maps before/after"
    );
    p.quit();
    ns.finish();
}

#[test]
fn view_futex_across_processes() {
    let ns = Ns::new("ex_futex");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    let id = s.publish(0, &[]).unwrap();
    let v = s.view().unwrap();
    use std::sync::atomic::Ordering::SeqCst;
    assert!(
        !v.futex_wait(64, 0, Some(Duration::from_millis(30)))
            .unwrap(),
        "times out"
    );
    assert!(
        v.futex_wait(64, 1, Some(Duration::from_secs(5))).unwrap(),
        "value differs: no sleep"
    );
    assert_eq!(kind(v.futex_wait(66, 0, None)), ErrorKind::BadMemAlignment);
    assert_eq!(kind(v.futex_wake(PS, 1)), ErrorKind::BadOffset);
    // A sleeper here is woken by a store + wake through another process's mapping (a
    // shared futex keyed by the file, not by the address).
    let mut p = Peer::spawn(&ns);
    p.ok(&format!("connect {id:#x} 600"));
    p.ok("map 0 0 4096 600");
    let sleeper = {
        let v = v.clone();
        std::thread::spawn(move || {
            while v.load_u32(64, SeqCst).unwrap() == 0 {
                v.futex_wait(64, 0, Some(Duration::from_secs(20))).unwrap();
            }
            v.load_u32(64, SeqCst).unwrap()
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    p.ok("vwake 0 64 0x2a");
    assert_eq!(
        within(Duration::from_secs(10), move || sleeper.join().unwrap()),
        0x2a
    );
    p.quit();
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn create_at_the_descriptor_limit() {
    // An exporter short of descriptors gets INSUFFICIENT_RESOURCES; every segment it does
    // create records who it is correctly (importers must not take it for a dead process).
    let ns = Ns::new("ex_fdlim");
    let mut p = Peer::spawn(&ns);
    let reply = p.ok("create_limits 4096 6");
    let c = ns.ctrl();
    let mut created = 0;
    for (k, f) in reply.iter().enumerate() {
        let parts: Vec<&str> = f.split(':').collect();
        assert_eq!(parts[0], k.to_string());
        match parts[1..] {
            ["0", id] => {
                created += 1;
                let id = parse_num(id) as u32;
                let im = ImportSegment::connect(&c, 0, id, PERM_RDWR)
                    .unwrap_or_else(|e| panic!("segment made with {k} free descriptors: {e}"));
                let b = im.init_barrier(BarrierType::Segment).unwrap();
                im.put(0, &[1]).unwrap();
                b.destroy().unwrap();
                im.disconnect().unwrap();
            }
            [code] => assert_eq!(
                code,
                ErrorKind::InsufficientResources.code().to_string(),
                "{k} free descriptors: {reply:?}"
            ),
            _ => panic!("bad reply {reply:?}"),
        }
    }
    assert!(created > 0, "nothing created: {reply:?}");
    assert_eq!(ns.names().len(), 2 * created, "{:?}", ns.names());
    p.quit();
    ns.finish();
}
