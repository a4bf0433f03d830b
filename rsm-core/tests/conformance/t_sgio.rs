//! putv/getv, local memory handles, residual counts, implicit signal post.

use std::time::Duration;

use rsm_core::*;

use crate::harness::*;

const PS: usize = 4096;

fn put<'a>(local: PutSource<'a>, local_offset: usize, remote_offset: u64, len: usize) -> PutIo<'a> {
    PutIo {
        local,
        local_offset,
        remote_offset,
        len,
    }
}

#[test]
fn putv_getv_round_trip_with_handles() {
    let ns = Ns::new("sv_rt");
    let mut p = Peer::spawn(&ns);
    p.ok("create 8192 0");
    let id = p.num("publish 0 0") as u32;
    let c = ns.ctrl();
    let im = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    let mut h = LocalMemory::new(&c, 100).unwrap();
    assert_eq!(h.len(), 100);
    h.as_mut_slice()[10..14].copy_from_slice(b"hndl");
    let a = b"first".to_vec();
    let z = b"__third__".to_vec();
    im.putv(
        &[
            put(PutSource::Slice(&a), 0, 0, 5),
            put(PutSource::Handle(&h), 10, 100, 4),
            put(PutSource::Slice(&z), 2, 8190, 2),
        ],
        0,
    )
    .unwrap();
    assert!(im.is_mapped(), "loopback scatter/gather maps implicitly");
    assert_eq!(p.ok("view_read 0 0 5"), vec![hex(b"first")]);
    assert_eq!(p.ok("view_read 0 100 4"), vec![hex(b"hndl")]);
    assert_eq!(p.ok("view_read 0 8190 2"), vec![hex(b"th")]);
    let mut x = [0u8; 8];
    let mut h2 = LocalMemory::new(&c, 4096).unwrap();
    im.getv(
        &mut [
            GetIo {
                local: GetDest::Slice(&mut x),
                local_offset: 3,
                remote_offset: 0,
                len: 5,
            },
            GetIo {
                local: GetDest::Handle(&mut h2),
                local_offset: 4000,
                remote_offset: 100,
                len: 4,
            },
        ],
        0,
    )
    .unwrap();
    assert_eq!(&x, b"\0\0\0first");
    assert_eq!(&h2.as_slice()[4000..4004], b"hndl");
    // Raw (C) entries: addresses and handles.
    let mut raw = [0u8; 4];
    // SAFETY: the addresses are valid local buffers of the stated lengths.
    unsafe {
        im.putv_raw(
            &[RawIo {
                local: RawLocal::Addr(b"RAWX".as_ptr() as *mut u8),
                local_offset: 1,
                remote_offset: 200,
                len: 3,
            }],
            0,
        )
        .unwrap();
        im.getv_raw(
            &[
                RawIo {
                    local: RawLocal::Addr(raw.as_mut_ptr()),
                    local_offset: 0,
                    remote_offset: 200,
                    len: 3,
                },
                RawIo {
                    local: RawLocal::Handle(&h),
                    local_offset: 0,
                    remote_offset: 0,
                    len: 5,
                },
            ],
            0,
        )
        .unwrap();
        let e = im
            .putv_raw(
                &[RawIo {
                    local: RawLocal::Addr(std::ptr::null_mut()),
                    local_offset: 0,
                    remote_offset: 0,
                    len: 1,
                }],
                0,
            )
            .unwrap_err();
        assert_eq!((e.error.kind(), e.residual), (ErrorKind::BadAddr, 1));
    }
    assert_eq!(&raw[..3], b"AWX");
    assert_eq!(&h.as_slice()[..5], b"first");
    h.free(&c).unwrap();
    h2.free(&c).unwrap();
    im.disconnect().unwrap();
    p.quit();
    ns.finish();
}

#[test]
fn putv_errors_and_residual_counts() {
    let ns = Ns::new("sv_err");
    let mut p = Peer::spawn(&ns);
    p.ok("create 4096 0");
    let id = p.num("publish 0 0") as u32;
    let c = ns.ctrl();
    let im = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    let d = [7u8; 64];
    let e = |r: Result<(), SgioError>| {
        let e = r.unwrap_err();
        (e.error.kind(), e.residual)
    };
    assert_eq!(e(im.putv(&[], 0)), (ErrorKind::BadSgio, 0));
    let many: Vec<PutIo> = (0..17)
        .map(|i| put(PutSource::Slice(&d), 0, i * 8, 8))
        .collect();
    assert_eq!(e(im.putv(&many, 0)), (ErrorKind::BadSgio, 17));
    im.putv(&many[..16], 0).unwrap();
    // Entry 1 of 3 is out of range: entry 0 is done, 2 are not.
    assert_eq!(
        e(im.putv(
            &[
                put(PutSource::Slice(&d), 0, 512, 4),
                put(PutSource::Slice(&d), 0, 4094, 4),
                put(PutSource::Slice(&d), 0, 0, 4)
            ],
            0
        )),
        (ErrorKind::BadLength, 2)
    );
    assert_eq!(p.ok("view_read 0 512 1"), vec!["07"]);
    assert_eq!(
        p.ok("view_read 0 4094 2"),
        vec!["0000"],
        "nothing written out of range"
    );
    assert_eq!(
        e(im.putv(&[put(PutSource::Slice(&d), 0, 5000, 1)], 0)),
        (ErrorKind::BadOffset, 1)
    );
    assert_eq!(
        e(im.putv(&[put(PutSource::Slice(&d), 0, u64::MAX, 1)], 0)),
        (ErrorKind::BadOffset, 1)
    );
    // Local ranges.
    assert_eq!(
        e(im.putv(&[put(PutSource::Slice(&d), 60, 0, 8)], 0)),
        (ErrorKind::BadLength, 1)
    );
    assert_eq!(
        e(im.putv(&[put(PutSource::Slice(&d), 65, 0, 0)], 0)),
        (ErrorKind::BadOffset, 1)
    );
    let h = LocalMemory::new(&c, 16).unwrap();
    assert_eq!(
        e(im.putv(&[put(PutSource::Handle(&h), 8, 0, 9)], 0)),
        (ErrorKind::BadLength, 1)
    );
    h.free(&c).unwrap();
    assert_eq!(
        e(im.putv(&[put(PutSource::Handle(&h), 0, 0, 1)], 0)),
        (ErrorKind::BadLocalmemHndl, 1)
    );
    // Permissions.
    let ro = ImportSegment::connect(&c, 0, id, PERM_READ).unwrap();
    assert_eq!(
        e(ro.putv(&[put(PutSource::Slice(&d), 0, 0, 1)], 0)),
        (ErrorKind::PermDenied, 1)
    );
    let mut buf = [0u8; 4];
    ro.getv(
        &mut [GetIo {
            local: GetDest::Slice(&mut buf),
            local_offset: 0,
            remote_offset: 512,
            len: 4,
        }],
        0,
    )
    .unwrap();
    assert_eq!(buf, [7; 4]);
    // After unpublish (implicit mode): ConnAborted, nothing done.
    p.ok("unpublish 0");
    assert_eq!(
        e(im.putv(
            &[
                put(PutSource::Slice(&d), 0, 0, 1),
                put(PutSource::Slice(&d), 0, 8, 1)
            ],
            0
        )),
        (ErrorKind::ConnAborted, 2)
    );
    ro.disconnect().unwrap();
    im.disconnect().unwrap();
    p.quit();
    ns.finish();
}

#[test]
fn raw_entries_with_absurd_ranges_are_refused() {
    // A C caller can pass any number: nothing may panic or touch memory.
    let ns = Ns::new("sv_rawbad");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    let id = s.publish(0, &[]).unwrap();
    let im = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    let mut buf = [0u8; 16];
    let p = buf.as_mut_ptr();
    let e = |r: Result<(), SgioError>| {
        let e = r.unwrap_err();
        (e.error.kind(), e.residual)
    };
    let io = |local_offset: usize, remote_offset: u64, len: usize| RawIo {
        local: RawLocal::Addr(p),
        local_offset,
        remote_offset,
        len,
    };
    // SAFETY: every entry below is refused before its local memory is used.
    unsafe {
        for (entry, want) in [
            (io(0, 0, usize::MAX), ErrorKind::BadAddr), // wraps around
            (io(0, 0, isize::MAX as usize + 1), ErrorKind::BadLength),
            (io(0, 0, PS + 1), ErrorKind::BadLength),
            (io(0, PS as u64 + 1, 1), ErrorKind::BadOffset),
            (io(usize::MAX - (p as usize) + 1, 0, 1), ErrorKind::BadAddr), // p + off wraps to 0
            (io(usize::MAX, 0, 0), ErrorKind::BadAddr),
        ] {
            let what = format!("{entry:?}");
            assert_eq!(e(im.getv_raw(&[entry], 0)), (want, 1), "getv {what}");
            assert_eq!(e(im.putv_raw(&[entry], 0)), (want, 1), "putv {what}");
        }
    }
    assert_eq!(buf, [0; 16]);
    im.disconnect().unwrap();
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn implicit_sigpost() {
    let ns = Ns::new("sv_sig");
    let c = ns.ctrl();
    let s = ExportSegment::create(&c, PS, ExportFlags::NONE).unwrap();
    let id = s.publish(0, &[]).unwrap();
    let im = ImportSegment::connect(&c, 0, id, PERM_RDWR).unwrap();
    im.putv(&[put(PutSource::Slice(b"a"), 0, 0, 1)], IMPLICIT_SIGPOST)
        .unwrap();
    s.signal_wait(Some(Duration::from_secs(5))).unwrap();
    im.putv(&[put(PutSource::Slice(b"b"), 0, 0, 1)], 0).unwrap();
    assert_eq!(
        kind(s.signal_wait(Some(Duration::from_millis(20)))),
        ErrorKind::Timeout
    );
    let mut b = [0u8];
    im.getv(
        &mut [GetIo {
            local: GetDest::Slice(&mut b),
            local_offset: 0,
            remote_offset: 0,
            len: 1,
        }],
        IMPLICIT_SIGPOST | SIGPOST_NO_ACCUMULATE,
    )
    .unwrap();
    assert_eq!(b, *b"b");
    s.signal_wait(Some(Duration::from_secs(5))).unwrap();
    im.disconnect().unwrap();
    s.destroy().unwrap();
    ns.finish();
}

#[test]
fn local_memory_handle_checks() {
    let ns = Ns::new("sv_lmh");
    let c = ns.ctrl();
    assert_eq!(kind(LocalMemory::new(&c, 0)), ErrorKind::BadLength);
    // Lengths no allocation can satisfy (the page round-up itself would overflow).
    for len in [usize::MAX, usize::MAX - PS, 1 << 62] {
        assert_eq!(
            kind(LocalMemory::new(&c, len)),
            ErrorKind::InsufficientMem,
            "{len:#x}"
        );
    }
    let mut page = vec![0u8; 3 * PS];
    let base = page.as_mut_ptr();
    let aligned = ((base as usize + PS - 1) & !(PS - 1)) as *mut u8;
    // SAFETY: refused calls touch nothing; the accepted one covers our own buffer.
    unsafe {
        assert_eq!(
            kind(LocalMemory::from_raw(&c, std::ptr::null_mut(), 10)),
            ErrorKind::BadAddr
        );
        assert_eq!(
            kind(LocalMemory::from_raw(&c, aligned.add(1), 10)),
            ErrorKind::BadAddr
        );
        // Address before length.
        assert_eq!(
            kind(LocalMemory::from_raw(&c, aligned.add(1), 0)),
            ErrorKind::BadAddr
        );
        assert_eq!(
            kind(LocalMemory::from_raw(&c, aligned, 0)),
            ErrorKind::BadLength
        );
        // Ranges that cannot exist.
        for len in [
            usize::MAX,
            isize::MAX as usize + 1,
            usize::MAX - aligned as usize + 1,
        ] {
            assert_eq!(
                kind(LocalMemory::from_raw(&c, aligned, len)),
                ErrorKind::BadLength,
                "{len:#x}"
            );
        }
        let h = LocalMemory::from_raw(&c, aligned, PS).unwrap();
        let other = Ns::new("sv_lmh2");
        let c2 = other.ctrl();
        assert_eq!(kind(h.free(&c2)), ErrorKind::BadCtlrHndl);
        h.free(&c).unwrap();
        assert_eq!(kind(h.free(&c)), ErrorKind::BadLocalmemHndl);
        other.finish();
    }
    let h = LocalMemory::new(&c, 10).unwrap();
    c.release().unwrap();
    assert_eq!(kind(h.free(&c)), ErrorKind::BadCtlrHndl);
    // Address is checked before the (released) controller.
    // SAFETY: refused before use.
    let r = unsafe { LocalMemory::from_raw(&c, aligned.add(1), 10) };
    assert_eq!(kind(r), ErrorKind::BadAddr);
    // SAFETY: refused before use.
    let r = unsafe { LocalMemory::from_raw(&c, aligned, 10) };
    assert_eq!(kind(r), ErrorKind::BadCtlrHndl);
    drop(page);
    ns.finish();
}
