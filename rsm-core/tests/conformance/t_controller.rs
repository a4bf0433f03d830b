//! Controllers, attributes, topology, segment-id ranges.

use rsm_core::*;

use crate::harness::*;

#[test]
fn get_same_instance_and_refcount() {
    let ns = Ns::new("ctl_ref");
    let a = Controller::get_with_config("loopback", &ns.cfg).unwrap();
    let b = Controller::get_with_config("shm0", &ns.cfg).unwrap();
    let c = Controller::get_with_config("LoopBack7", &ns.cfg).unwrap();
    let d = Controller::get_with_config("SHM", &ns.cfg).unwrap();
    assert!(a.same_instance(&b) && a.same_instance(&c) && a.same_instance(&d));
    assert_eq!(a.as_ptr(), b.as_ptr());
    assert_eq!(a.ref_count(), 4);
    assert_eq!(a.name(), "loopback");
    for _ in 0..3 {
        b.release().unwrap();
    }
    assert_eq!(a.ref_count(), 1);
    a.attr().unwrap();
    a.release().unwrap();
    assert_eq!(a.ref_count(), 0);
    // Released: every use reports the documented code.
    assert_eq!(kind(a.release()), ErrorKind::BadCtlrHndl);
    assert_eq!(kind(a.attr()), ErrorKind::CtlrNotPresent);
    assert_eq!(
        kind(ExportSegment::create(&a, 4096, ExportFlags::NONE)),
        ErrorKind::BadCtlrHndl
    );
    assert_eq!(
        kind(ImportSegment::connect(&a, 0, 0x400000, PERM_RDWR)),
        ErrorKind::BadCtlrHndl
    );
    assert_eq!(kind(LocalMemory::new(&a, 4096)), ErrorKind::BadCtlrHndl);
    // A new get makes a new instance.
    let e = Controller::get_with_config("loopback", &ns.cfg).unwrap();
    assert!(!e.same_instance(&a));
    assert_eq!(e.ref_count(), 1);
    e.release().unwrap();
    ns.finish();
}

#[test]
fn unknown_and_absent_controllers() {
    let ns = Ns::new("ctl_names");
    for (name, needle) in [
        ("tcp0", "TCP"),
        ("ibv0", "verbs"),
        ("mlx5_0", "verbs"),
        ("rxe0", "verbs"),
        ("sci0", "no controller"),
        ("wrsm1", "no controller"),
        ("shm1", "unit 0"),
        ("", "invalid"),
    ] {
        let e = Controller::get_with_config(name, &ns.cfg).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::CtlrNotPresent, "{name}");
        assert!(e.context().contains(needle), "{name}: {e}");
    }
    let long = "l".repeat(300);
    assert_eq!(
        kind(Controller::get_with_config(&long, &ns.cfg)),
        ErrorKind::CtlrNotPresent
    );
    let bad_ns = ns.cfg.clone().with_namespace("a/b");
    assert_eq!(
        kind(Controller::get_with_config("loopback", &bad_ns)),
        ErrorKind::CtlrNotPresent
    );
    let mut bad_dir = ns.cfg.clone();
    bad_dir.shm_dir = "/nonexistent/dir".into();
    assert_eq!(
        kind(Controller::get_with_config("loopback", &bad_dir)),
        ErrorKind::CtlrNotPresent
    );
    ns.finish();
}

#[test]
fn attributes_have_real_values() {
    let ns = Ns::new("ctl_attr");
    let c = ns.ctrl();
    let a = c.attr().unwrap();
    // SAFETY: sysconf has no preconditions.
    let ps = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    // SAFETY: an all-zero statvfs is a valid value of this plain C struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let dir = std::ffi::CString::new("/dev/shm").unwrap();
    // SAFETY: valid path and writable struct.
    let r = unsafe { libc::statvfs(dir.as_ptr(), &mut st) };
    assert_eq!(r, 0);
    let fs = (st.f_blocks * st.f_frsize) as usize;
    assert_eq!(a.page_size, ps);
    assert_eq!(a.direct_access_sizes, DAS8 | DAS16 | DAS32 | DAS64);
    assert_eq!(a.atomic_sizes, DAS64);
    assert_eq!(a.max_export_segment_size, fs);
    assert_eq!(a.tot_export_segment_size, fs);
    assert_eq!(a.max_import_map_size, fs);
    assert!(a.max_export_segments > 0 && a.max_import_segments > 0);
    let caps = c.caps();
    assert!(
        caps.mappable
            && caps.putget_map_required
            && caps.atomics
            && caps.signals
            && caps.node_local
    );
    assert_eq!(caps.max_acl_entries, 1);
    assert_eq!(caps.page_size, ps);

    let nomap = Ns::new("ctl_nomap").with_cfg(|c| c.loopback_map = false);
    let c2 = nomap.ctrl();
    assert!(!c2.caps().mappable && !c2.caps().putget_map_required);
    assert_eq!(c2.attr().unwrap().max_import_map_size, 0);
    assert!(!c.same_instance(&c2));
    nomap.finish();
    ns.finish();
}

#[test]
fn topology_reports_local_node() {
    let cfg = Config {
        node_id: 17,
        ..Config::default()
    };
    let t = topology::get_interconnect_topology_with(&cfg);
    assert_eq!(t.local_nodeid, 17);
    assert_eq!(t.controllers, Vec::<LocalController>::new());
}

#[test]
fn segmentid_range_from_env_file() {
    let ns = Ns::new("segid_file");
    let path = std::env::temp_dir().join(format!("rsm.segmentid.{}", ns.name));
    std::fs::write(
        &path,
        "# test\nreserved SUNWfoo 0x600000 1000\nreserved bar 0x700000 16\n",
    )
    .unwrap();
    let mut p = PeerOpts::new(&ns)
        .env("RSM_SEGMENTID_FILE", path.to_string_lossy())
        .spawn();
    assert_eq!(p.ok("segid_range sunwfoo"), vec!["0x600000", "1000"]);
    assert_eq!(p.ok("segid_range bar"), vec!["0x700000", "16"]);
    assert_eq!(p.fails("segid_range baz"), ErrorKind::BadAppid);
    std::fs::write(&path, "reserve SUNWfoo 0x600000 1000\n").unwrap();
    assert_eq!(p.fails("segid_range SUNWfoo"), ErrorKind::BadConf);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(p.fails("segid_range SUNWfoo"), ErrorKind::BadConf);
    p.quit();
    ns.finish();
}
