//! Import side: connect, put/get and typed forms, map/unmap, modes, state errors.

use std::sync::atomic::Ordering;
use std::time::Duration;

use rsm_core::*;

use crate::harness::*;

const PS: usize = 4096;

/// A peer exporting `size` bytes under `id` (ACL: everyone), and a local controller.
fn exporter(ns: &Ns, size: usize, id: u32) -> (Peer, Controller) {
    let mut p = Peer::spawn(ns);
    p.ok(&format!("create {size} 0"));
    p.ok(&format!("publish 0 {id:#x}"));
    (p, ns.ctrl())
}

#[test]
fn connect_errors_in_order() {
    let ns = Ns::new("im_conn");
    let (mut p, c) = exporter(&ns, PS, 0x400100);
    for perm in [0o700, 0o1000, 0o100, 0o7] {
        assert_eq!(
            kind(ImportSegment::connect(&c, 0, 0x400100, perm)),
            ErrorKind::PermDenied,
            "{perm:o}"
        );
    }
    // Bad permission bits are checked before the node.
    assert_eq!(
        kind(ImportSegment::connect(&c, 5, 0x400100, 0o700)),
        ErrorKind::PermDenied
    );
    assert_eq!(
        kind(ImportSegment::connect(&c, 5, 0x400100, PERM_RDWR)),
        ErrorKind::CtlrNotPresent
    );
    // The node is checked before the segment id.
    assert_eq!(
        kind(ImportSegment::connect(&c, 5, 0x400999, PERM_RDWR)),
        ErrorKind::CtlrNotPresent
    );
    assert_eq!(
        kind(ImportSegment::connect(&c, 0, 0x400999, PERM_RDWR)),
        ErrorKind::SegNotPublished
    );
    let im = ImportSegment::connect(&c, 0, 0x400100, PERM_RDWR).unwrap();
    assert_eq!(im.size(), PS);
    assert_eq!(im.segment_id(), 0x400100);
    assert_eq!(im.permission(), PERM_RDWR);
    assert_eq!(im.get_mode().unwrap(), BarrierMode::Implicit);
    assert!(!im.is_mapped());
    // Permission 0: connected, can do nothing with data.
    let none = ImportSegment::connect(&c, 0, 0x400100, PERM_NONE).unwrap();
    let _b = none.init_barrier(BAR_DEFAULT).unwrap();
    assert_eq!(kind(none.put(0, &[1])), ErrorKind::PermDenied);
    assert_eq!(kind(none.get(0, &mut [0])), ErrorKind::PermDenied);
    none.disconnect().unwrap();
    im.disconnect().unwrap();
    p.ok("unpublish 0");
    assert_eq!(
        kind(ImportSegment::connect(&c, 0, 0x400100, PERM_RDWR)),
        ErrorKind::SegNotPublished
    );
    p.quit();
    ns.finish();
}

#[test]
fn put_get_between_processes() {
    let ns = Ns::new("im_putget");
    let (mut p, c) = exporter(&ns, 4 * PS, 0x400101);
    let im = ImportSegment::connect(&c, 0, 0x400101, PERM_RDWR).unwrap();
    // Implicit mode (default) needs a barrier.
    assert_eq!(kind(im.put(0, b"x")), ErrorKind::BarrierUninitialized);
    assert_eq!(kind(im.get(0, &mut [0])), ErrorKind::BarrierUninitialized);
    let bar = im.init_barrier(BarrierType::Segment).unwrap();
    im.put(100, b"hello rsm").unwrap();
    assert!(im.is_mapped(), "the first put maps implicitly");
    assert_eq!(p.ok("view_read 0 100 9"), vec![hex(b"hello rsm")]);
    p.ok(&format!("view_write 0 {} {}", 4 * PS - 4, hex(b"tail")));
    let mut b = [0u8; 4];
    im.get((4 * PS - 4) as u64, &mut b).unwrap();
    assert_eq!(&b, b"tail");
    // Typed forms with repeat counts.
    im.put16(200, &[0x1122, 0x3344]).unwrap();
    im.put32(208, &[0xdeadbeef]).unwrap();
    im.put64(216, &[0x0102030405060708, u64::MAX]).unwrap();
    im.put8(232, &[9, 8, 7]).unwrap();
    let mut h = [0u16; 2];
    let mut w = [0u32; 1];
    let mut d = [0u64; 2];
    let mut o = [0u8; 3];
    im.get16(200, &mut h).unwrap();
    im.get32(208, &mut w).unwrap();
    im.get64(216, &mut d).unwrap();
    im.get8(232, &mut o).unwrap();
    assert_eq!(
        (h, w, d, o),
        (
            [0x1122, 0x3344],
            [0xdeadbeef],
            [0x0102030405060708, u64::MAX],
            [9, 8, 7]
        )
    );
    assert_eq!(p.ok("view_read 0 200 4"), vec!["22114433"]);
    // Zero repeat count: validated, moves nothing.
    im.put64(0, &[]).unwrap();
    // Alignment of the offset.
    assert_eq!(kind(im.put16(201, &[1])), ErrorKind::BadMemAlignment);
    assert_eq!(kind(im.get32(202, &mut w)), ErrorKind::BadMemAlignment);
    assert_eq!(kind(im.put64(4, &[1])), ErrorKind::BadMemAlignment);
    // Ranges: beyond the segment, overflowing offsets; nothing is touched. The handle is
    // mapped (implicitly, by the first put), so the window is the whole segment and the
    // reference's code is BAD_OFFSET (BAD_LENGTH is for handles that are only connected,
    // see `mapping_disabled_by_environment`).
    assert_eq!(
        kind(im.put((4 * PS - 2) as u64, b"abc")),
        ErrorKind::BadOffset
    );
    assert_eq!(kind(im.get(u64::MAX, &mut b)), ErrorKind::BadOffset);
    assert_eq!(kind(im.put64(u64::MAX - 7, &[1])), ErrorKind::BadOffset);
    assert_eq!(
        kind(im.get64((4 * PS) as u64, &mut d)),
        ErrorKind::BadOffset
    );
    assert_eq!(
        p.ok(&format!("view_read 0 {} 2", 4 * PS - 2)),
        vec![hex(b"il")]
    );
    // Alignment is checked before the state: a disconnected handle with a misaligned
    // offset reports the alignment.
    bar.destroy().unwrap();
    im.disconnect().unwrap();
    assert_eq!(kind(im.put16(1, &[1])), ErrorKind::BadMemAlignment);
    assert_eq!(kind(im.put16(2, &[1])), ErrorKind::BadSegHndl);
    p.quit();
    ns.finish();
}

#[test]
fn raw_pointer_forms() {
    let ns = Ns::new("im_raw");
    let (mut p, c) = exporter(&ns, PS, 0x400102);
    let im = ImportSegment::connect(&c, 0, 0x400102, PERM_RDWR).unwrap();
    im.set_mode(BarrierMode::Explicit).unwrap();
    let src: [u64; 2] = [5, 6];
    let mut dst = [0u64; 3];
    // SAFETY: valid local buffers of the stated sizes, or refused before use.
    unsafe {
        assert_eq!(
            kind(im.put_raw(0, std::ptr::null(), 8, 1)),
            ErrorKind::BadAddr
        );
        assert_eq!(
            kind(im.get_raw(0, std::ptr::null_mut(), 1, 0)),
            ErrorKind::BadAddr
        );
        let mis = (src.as_ptr() as *const u8).add(1);
        assert_eq!(kind(im.put_raw(0, mis, 8, 1)), ErrorKind::BadMemAlignment);
        assert_eq!(kind(im.put_raw(0, mis, 2, 1)), ErrorKind::BadMemAlignment);
        // Local pointer alignment is checked before the offset's.
        assert_eq!(kind(im.put_raw(3, mis, 4, 1)), ErrorKind::BadMemAlignment);
        // A repeat count whose byte length overflows is a range error like any other
        // (the first transfer mapped the handle implicitly: BAD_OFFSET), found before the
        // local memory is touched.
        assert_eq!(
            kind(im.put_raw(0, src.as_ptr().cast(), 8, usize::MAX)),
            ErrorKind::BadOffset
        );
        assert_eq!(
            kind(im.get_raw(0, dst.as_mut_ptr().cast(), 1, usize::MAX)),
            ErrorKind::BadOffset
        );
        assert_eq!(
            kind(im.get_raw(0, dst.as_mut_ptr().cast(), 3, 1)),
            ErrorKind::BadArgsErrors
        );
        im.put_raw(64, src.as_ptr().cast(), 8, 2).unwrap();
        im.get_raw(64, dst.as_mut_ptr().cast(), 8, 2).unwrap();
        im.put_raw(80, b"xyz".as_ptr(), 1, 3).unwrap();
    }
    assert_eq!(dst, [5, 6, 0]);
    assert_eq!(p.ok("view_read 0 80 3"), vec![hex(b"xyz")]);
    im.disconnect().unwrap();
    p.quit();
    ns.finish();
}

#[test]
fn permissions_of_the_connection() {
    let ns = Ns::new("im_perm");
    let (mut p, c) = exporter(&ns, PS, 0x400103);
    p.ok("view_write 0 0 aabb");
    let ro = ImportSegment::connect(&c, 0, 0x400103, PERM_READ).unwrap();
    let wo = ImportSegment::connect(&c, 0, 0x400103, PERM_WRITE).unwrap();
    let _b1 = ro.init_barrier(BAR_DEFAULT).unwrap();
    let _b2 = wo.init_barrier(BAR_DEFAULT).unwrap();
    // A read-only import may get (SPEC.md §8 fix), not put.
    let mut b = [0u8; 2];
    ro.get(0, &mut b).unwrap();
    assert_eq!(b, [0xaa, 0xbb]);
    assert_eq!(kind(ro.put(0, b"z")), ErrorKind::PermDenied);
    // Permission is checked before the range.
    assert_eq!(kind(ro.put(u64::MAX, b"z")), ErrorKind::PermDenied);
    wo.put(0, b"zz").unwrap();
    assert_eq!(kind(wo.get(0, &mut b)), ErrorKind::PermDenied);
    assert_eq!(p.ok("view_read 0 0 2"), vec![hex(b"zz")]);
    // Mapping more than the connection grants; a read-only view refuses stores.
    ro.unmap().unwrap(); // drops the implicit mapping of the get
    assert_eq!(kind(ro.map(0, PS, PERM_RDWR)), ErrorKind::BadPerms);
    assert_eq!(kind(ro.map(0, PS, PERM_WRITE)), ErrorKind::BadPerms);
    let v = ro.map(0, PS, PERM_READ).unwrap();
    assert!(v.is_readable() && !v.is_writable());
    assert_eq!(kind(v.write(0, b"q")), ErrorKind::PermDenied);
    assert_eq!(
        kind(v.store_u64(0, 1, Ordering::SeqCst)),
        ErrorKind::PermDenied
    );
    assert_eq!(kind(v.atomic_u64(0)), ErrorKind::PermDenied);
    v.read(0, &mut b).unwrap();
    assert_eq!(&b, b"zz");
    ro.unmap().unwrap();
    ro.disconnect().unwrap();
    wo.disconnect().unwrap();
    p.quit();
    ns.finish();
}

#[test]
fn map_sees_the_exporters_writes() {
    let ns = Ns::new("im_map");
    let (mut p, c) = exporter(&ns, 4 * PS, 0x400104);
    let im = ImportSegment::connect(&c, 0, 0x400104, PERM_RDWR).unwrap();
    let v = im.map(PS as u64, 2 * PS, PERM_RDWR).unwrap();
    assert_eq!(v.len(), 2 * PS);
    p.ok(&format!("view_write 0 {} 0102030405060708", PS + 8));
    assert_eq!(
        v.load_u64(8, Ordering::Acquire).unwrap(),
        0x0807060504030201
    );
    v.store_u64(16, 0xfeed, Ordering::Release).unwrap();
    assert_eq!(p.ok(&format!("view_read 0 {} 2", PS + 16)), vec!["edfe"]);
    v.atomic_u64(24).unwrap().fetch_add(3, Ordering::SeqCst);
    assert_eq!(p.ok(&format!("view_read 0 {} 1", PS + 24)), vec!["03"]);
    assert_eq!(kind(v.read(2 * PS - 1, &mut [0; 2])), ErrorKind::BadLength);
    // One mapping per handle; put/get limited to the window.
    assert_eq!(kind(im.map(0, PS, PERM_RDWR)), ErrorKind::SegAlreadyMapped);
    let _b = im.init_barrier(BAR_DEFAULT).unwrap();
    im.put(PS as u64, b"in").unwrap();
    assert_eq!(kind(im.put(0, b"out")), ErrorKind::BadOffset);
    assert_eq!(
        kind(im.get((3 * PS - 1) as u64, &mut [0; 2])),
        ErrorKind::BadOffset
    );
    assert_eq!(kind(im.disconnect()), ErrorKind::SegStillMapped);
    im.unmap().unwrap();
    assert_eq!(kind(im.unmap()), ErrorKind::SegNotMapped);
    // The view outlives the unmap but no longer reaches the segment.
    v.write(0, b"stale").unwrap();
    assert_eq!(p.ok(&format!("view_read 0 {PS} 2")), vec![hex(b"in")]);
    // An implicit mapping (first put) also blocks an explicit map, until unmap.
    im.put(0, b"x").unwrap();
    assert_eq!(kind(im.map(0, PS, PERM_RDWR)), ErrorKind::SegAlreadyMapped);
    im.unmap().unwrap();
    let v2 = im.map(0, 100, PERM_READ).unwrap();
    assert_eq!(v2.len(), 100);
    let mut x = [0u8];
    v2.read(0, &mut x).unwrap();
    assert_eq!(x, *b"x");
    assert_eq!(kind(v2.read(100, &mut x)), ErrorKind::BadLength);
    im.unmap().unwrap();
    // An implicit mapping is dropped silently at disconnect.
    im.get(0, &mut x).unwrap();
    assert!(im.is_mapped());
    im.disconnect().unwrap();
    p.quit();
    ns.finish();
}

#[test]
fn map_errors_in_order() {
    let ns = Ns::new("im_maperr");
    let (mut p, c) = exporter(&ns, 2 * PS, 0x400105);
    let im = ImportSegment::connect(&c, 0, 0x400105, PERM_RDWR).unwrap();
    assert_eq!(kind(im.map(0, PS, 0o700)), ErrorKind::BadPerms);
    assert_eq!(kind(im.map(0, PS, 0o601)), ErrorKind::BadPerms);
    // Permission before length, length before alignment.
    assert_eq!(kind(im.map(1, 0, 0o700)), ErrorKind::BadPerms);
    assert_eq!(kind(im.map(1, 0, PERM_RDWR)), ErrorKind::BadLength);
    assert_eq!(
        kind(im.map(PS as u64, PS + 1, PERM_RDWR)),
        ErrorKind::BadLength
    );
    assert_eq!(kind(im.map(u64::MAX, 1, PERM_RDWR)), ErrorKind::BadLength);
    assert_eq!(kind(im.map(100, 10, PERM_RDWR)), ErrorKind::BadMemAlignment);
    // Raw (C) form: a fixed address must be page aligned; the mapping lands there.
    // SAFETY: the fixed address is a range we reserved; refused calls touch nothing.
    unsafe {
        let spot = libc::mmap(
            std::ptr::null_mut(),
            PS,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        ) as *mut u8;
        assert_eq!(
            kind(im.map_raw(spot.add(8), MapAttr::Fixed, PERM_RDWR, 0, PS)),
            ErrorKind::BadMemAlignment
        );
        let got = im
            .map_raw(spot, MapAttr::Fixed, PERM_RDWR, PS as u64, PS)
            .unwrap();
        assert_eq!(got, spot);
        p.ok(&format!("view_write 0 {} 42", PS + 5));
        assert_eq!(got.add(5).read_volatile(), 0x42);
        got.add(6).write_volatile(0x43);
        assert_eq!(p.ok(&format!("view_read 0 {} 1", PS + 6)), vec!["43"]);
        im.unmap().unwrap();
        let hint = im
            .map_raw(std::ptr::null_mut(), MapAttr::None, PERM_READ, 0, 10)
            .unwrap();
        assert!(!hint.is_null());
        im.unmap().unwrap();
    }
    im.disconnect().unwrap();
    // After disconnect: "not mapped" is checked first, then the handle.
    assert_eq!(kind(im.map(0, PS, PERM_RDWR)), ErrorKind::BadSegHndl);
    p.quit();
    ns.finish();
}

#[test]
fn mapping_disabled_by_environment() {
    let ns = Ns::new("im_nomap").with_cfg(|c| c.loopback_map = false);
    let (mut p, c) = exporter(&ns, PS, 0x400106);
    assert!(!c.caps().mappable);
    let im = ImportSegment::connect(&c, 0, 0x400106, PERM_RDWR).unwrap();
    assert_eq!(kind(im.map(0, PS, PERM_RDWR)), ErrorKind::MapFailed);
    let _b = im.init_barrier(BAR_DEFAULT).unwrap();
    im.put(0, b"ok").unwrap();
    assert!(
        !im.is_mapped(),
        "no implicit mapping without the capability"
    );
    // Only connected, not mapped: past the end is BAD_LENGTH (SPEC.md §4.5 step 8).
    assert_eq!(kind(im.put((PS - 1) as u64, b"ab")), ErrorKind::BadLength);
    assert_eq!(kind(im.get(u64::MAX, &mut [0])), ErrorKind::BadLength);
    assert_eq!(kind(im.unmap()), ErrorKind::SegNotMapped);
    assert_eq!(p.ok("view_read 0 0 2"), vec![hex(b"ok")]);
    im.disconnect().unwrap();
    p.quit();
    ns.finish();
}

#[test]
fn modes_and_disconnected_handle() {
    let ns = Ns::new("im_modes");
    let (p, c) = exporter(&ns, PS, 0x400107);
    let im = ImportSegment::connect(&c, 0, 0x400107, PERM_RDWR).unwrap();
    im.set_mode(BarrierMode::Explicit).unwrap();
    assert_eq!(im.get_mode().unwrap(), BarrierMode::Explicit);
    im.put(0, b"e").unwrap(); // explicit mode: no barrier needed
    im.set_mode(BarrierMode::Implicit).unwrap();
    assert_eq!(kind(im.put(0, b"i")), ErrorKind::BarrierUninitialized);
    assert_eq!(kind(BarrierMode::from_raw(2)), ErrorKind::BadMode);
    assert!(im.is_mapped(), "mapped implicitly by the put");
    let pfd = im.get_pollfd().unwrap();
    assert_eq!(kind(im.disconnect()), ErrorKind::PollfdInUse);
    // The reference drops the implicit mapping before it looks at the poll references.
    assert!(!im.is_mapped());
    im.release_pollfd().unwrap();
    let _ = pfd;
    im.disconnect().unwrap();
    assert!(im.is_disconnected());
    let b = ErrorKind::BadSegHndl;
    assert_eq!(kind(im.disconnect()), b);
    assert_eq!(kind(im.put(0, b"x")), b);
    assert_eq!(kind(im.get(0, &mut [0])), b);
    assert_eq!(kind(im.unmap()), b);
    assert_eq!(kind(im.set_mode(BarrierMode::Explicit)), b);
    assert_eq!(kind(im.get_mode()), b);
    assert_eq!(kind(im.init_barrier(BAR_DEFAULT)), b);
    assert_eq!(kind(im.signal_post(0)), b);
    assert_eq!(kind(im.signal_wait(Some(Duration::ZERO))), b);
    assert_eq!(kind(im.get_pollfd()), b);
    assert_eq!(kind(im.release_pollfd()), b);
    assert_eq!(kind(im.fetch_add64(0, 1)), b);
    assert_eq!(kind(im.check_connection()), b);
    assert_eq!(
        im.putv(
            &[PutIo {
                local: PutSource::Slice(b"x"),
                local_offset: 0,
                remote_offset: 0,
                len: 1
            }],
            0
        )
        .unwrap_err()
        .error
        .kind(),
        b
    );
    p.quit();
    ns.finish();
}

#[test]
fn many_importers_one_segment() {
    let ns = Ns::new("im_many");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    let id = s.publish(0, &[]).unwrap();
    let mut peers: Vec<Peer> = (0..3).map(|_| Peer::spawn(&ns)).collect();
    for (i, p) in peers.iter_mut().enumerate() {
        p.ok(&format!("connect {id:#x} 600"));
        p.ok("bar 0");
        p.ok(&format!("put 0 {} {:02x}", i * 8, i + 1));
    }
    let v = s.view().unwrap();
    for i in 0..3 {
        let mut b = [0u8];
        v.read(i * 8, &mut b).unwrap();
        assert_eq!(b[0] as usize, i + 1);
    }
    for p in peers {
        p.quit();
    }
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn connect_at_the_descriptor_limit_leaves_the_exporter_alone() {
    // An importer short of descriptors gets INSUFFICIENT_RESOURCES from every step of
    // connect that needs one (data file, pidfd, the look at the exporter in procfs, the
    // exporter's FIFO, its own FIFO) and never mistakes the live exporter for a dead one:
    // the exporter's names stay, and the next connect works.
    let ns = Ns::new("im_fdlim");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    let id = s.publish(0, &[]).unwrap();
    let names = ns.names();
    assert_eq!(names.len(), 2, "data file and event FIFO: {names:?}");
    let mut p = Peer::spawn(&ns);
    let reply = p.ok(&format!("connect_limits {id:#x} 600 12"));
    let codes: Vec<i32> = reply
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let (kk, code) = f.split_once(':').unwrap();
            assert_eq!(kk, k.to_string());
            code.parse().unwrap()
        })
        .collect();
    let first_ok = codes
        .iter()
        .position(|&c| c == 0)
        .unwrap_or_else(|| panic!("no connect succeeded: {reply:?}"));
    // Data file, the exporter's FIFO and our FIFO at least (and a pidfd where the kernel
    // has them).
    assert!(
        first_ok >= 3,
        "connected with {first_ok} descriptors: {reply:?}"
    );
    for (k, &code) in codes.iter().enumerate() {
        let want = if k < first_ok {
            ErrorKind::InsufficientResources.code()
        } else {
            0
        };
        assert_eq!(code, want, "{k} free descriptors: {reply:?}");
        assert_eq!(ns.names(), names, "names after {k} free descriptors");
    }
    // The exporter is whole: a normal connect works and events pass both ways.
    p.ok(&format!("connect {id:#x} 600"));
    p.ok("ipost 0 0");
    s.signal_wait(Some(Duration::from_secs(10))).unwrap();
    s.signal_post(0).unwrap();
    p.ok("iwait 0 10000");
    p.ok("disconnect 0");
    p.quit();
    s.destroy().unwrap();
    ns.finish();
}
