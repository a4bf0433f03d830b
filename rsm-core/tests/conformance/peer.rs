//! The peer program: runs in a child process (this test binary re-executed as
//! `peer_main`), executes one command per stdin line and answers `@@ ok ...` or
//! `@@ err <code> <message>` on stdout. Handles live in tables indexed by number.

use std::io::{BufRead, Write};
use std::time::Duration;

use rsm_core::{
    AccessEntry, Barrier, BarrierMode, BarrierType, Controller, ErrorKind, ExportFlags,
    ExportSegment, IMPLICIT_SIGPOST, ImportSegment, LocalMemory, MemView, PERM_RDWR, PutIo,
    PutSource, Result, RsmError,
};

use crate::harness::{hex, parse_num, unhex};

#[derive(Default)]
struct State {
    ctrl: Option<Controller>,
    ex: Vec<Option<ExportSegment>>,
    im: Vec<Option<ImportSegment>>,
    bars: Vec<Barrier>,
    views: Vec<MemView>,
    bufs: Vec<(usize, usize)>,
}

fn bad(msg: &str) -> RsmError {
    RsmError::new(ErrorKind::BadArgsErrors, "peer", msg.to_owned())
}

fn push<T>(v: &mut Vec<Option<T>>, x: T) -> String {
    v.push(Some(x));
    (v.len() - 1).to_string()
}

fn acl(args: &[&str]) -> Vec<AccessEntry> {
    args.iter()
        .map(|a| {
            let (n, p) = a.split_once(':').expect("node:perm");
            AccessEntry::new(n.parse().unwrap(), u32::from_str_radix(p, 8).unwrap())
        })
        .collect()
}

fn ms(s: &str) -> Option<Duration> {
    match s {
        "inf" => None,
        s => Some(Duration::from_millis(s.parse().unwrap())),
    }
}

impl State {
    fn ctrl(&self) -> Result<&Controller> {
        self.ctrl.as_ref().ok_or_else(|| bad("no controller"))
    }
    fn ex(&self, s: &str) -> &ExportSegment {
        self.ex[s.parse::<usize>().unwrap()]
            .as_ref()
            .expect("export handle")
    }
    fn im(&self, s: &str) -> &ImportSegment {
        self.im[s.parse::<usize>().unwrap()]
            .as_ref()
            .expect("import handle")
    }

    fn exec(&mut self, line: &str) -> Result<String> {
        let a: Vec<&str> = line.split_whitespace().collect();
        let n = |i: usize| parse_num(a[i]);
        Ok(match a[0] {
            "hello" => {
                self.ctrl = Some(Controller::get("loopback")?);
                std::process::id().to_string()
            }
            "create" => {
                let seg = ExportSegment::create(
                    self.ctrl()?,
                    n(1) as usize,
                    ExportFlags::from_bits(n(2) as u32),
                )?;
                push(&mut self.ex, seg)
            }
            "publish" => format!("{:#x}", self.ex(a[1]).publish(n(2) as u32, &acl(&a[3..]))?),
            "unpublish" => {
                self.ex(a[1]).unpublish()?;
                String::new()
            }
            "republish" => {
                self.ex(a[1]).republish(&acl(&a[2..]))?;
                String::new()
            }
            "destroy" => {
                self.ex(a[1]).destroy()?;
                String::new()
            }
            "view_write" => {
                self.ex(a[1]).view()?.write(n(2) as usize, &unhex(a[3]))?;
                String::new()
            }
            "view_read" => {
                let mut b = vec![0u8; n(3) as usize];
                self.ex(a[1]).view()?.read(n(2) as usize, &mut b)?;
                hex(&b)
            }
            "view_fill" => {
                let v = self.ex(a[1]).view()?;
                v.write(0, &vec![n(2) as u8; v.len()])?;
                String::new()
            }
            "epost" => {
                self.ex(a[1]).signal_post(n(2) as u32)?;
                String::new()
            }
            "ewait" => {
                self.ex(a[1]).signal_wait(ms(a[2]))?;
                String::new()
            }
            "elock" => {
                self.ex(a[1]).lock_word(n(2), ms(a[3]))?;
                String::new()
            }
            "eunlock" => {
                self.ex(a[1]).unlock_word(n(2))?;
                String::new()
            }
            "connect" => {
                let node = if a.len() > 3 {
                    n(3) as u32
                } else {
                    self.ctrl()?.node_id()
                };
                let seg = ImportSegment::connect(
                    self.ctrl()?,
                    node,
                    n(1) as u32,
                    u32::from_str_radix(a[2], 8).unwrap(),
                )?;
                push(&mut self.im, seg)
            }
            "bar" => {
                let b = self.im(a[1]).init_barrier(BarrierType::Segment)?;
                self.bars.push(b);
                (self.bars.len() - 1).to_string()
            }
            "bopen" => {
                self.bars[n(1) as usize].open()?;
                String::new()
            }
            "bclose" => {
                self.bars[n(1) as usize].close()?;
                String::new()
            }
            "mode" => {
                let m = if a[2] == "explicit" {
                    BarrierMode::Explicit
                } else {
                    BarrierMode::Implicit
                };
                self.im(a[1]).set_mode(m)?;
                String::new()
            }
            "put" => {
                self.im(a[1]).put(n(2), &unhex(a[3]))?;
                String::new()
            }
            "get" => {
                let mut b = vec![0u8; n(3) as usize];
                self.im(a[1]).get(n(2), &mut b)?;
                hex(&b)
            }
            "ipost" => {
                self.im(a[1]).signal_post(n(2) as u32)?;
                String::new()
            }
            "iwait" => {
                self.im(a[1]).signal_wait(ms(a[2]))?;
                String::new()
            }
            "mapped" => (self.im(a[1]).is_mapped() as u8).to_string(),
            "disconnect" => {
                self.im(a[1]).disconnect()?;
                String::new()
            }
            "map" => {
                let v = self.im(a[1]).map(
                    n(2),
                    n(3) as usize,
                    u32::from_str_radix(a[4], 8).unwrap(),
                )?;
                self.views.push(v);
                (self.views.len() - 1).to_string()
            }
            "unmap" => {
                self.im(a[1]).unmap()?;
                String::new()
            }
            "vread" => {
                let mut b = vec![0u8; n(3) as usize];
                self.views[n(1) as usize].read(n(2) as usize, &mut b)?;
                hex(&b)
            }
            "vwrite" => {
                self.views[n(1) as usize].write(n(2) as usize, &unhex(a[3]))?;
                String::new()
            }
            "vwake" => {
                let v = &self.views[n(1) as usize];
                v.store_u32(
                    n(2) as usize,
                    n(3) as u32,
                    std::sync::atomic::Ordering::SeqCst,
                )?;
                v.futex_wake(n(2) as usize, u32::MAX)?.to_string()
            }
            "fadd" => self.im(a[1]).fetch_add64(n(2), n(3))?.to_string(),
            "lock" => {
                self.im(a[1]).lock(n(2), ms(a[3]))?;
                String::new()
            }
            "trylock" => (self.im(a[1]).try_lock(n(2))? as u8).to_string(),
            "unlock" => {
                self.im(a[1]).unlock(n(2))?;
                String::new()
            }
            "faddloop" => {
                let im = self.im(a[1]);
                for _ in 0..n(3) {
                    im.fetch_add64(n(2), 1)?;
                }
                String::new()
            }
            "lockloop" => {
                // Mutual exclusion check: a non-atomic read-modify-write of a counter,
                // protected by the lock word.
                let im = self.im(a[1]);
                let (lk, ctr) = (n(2), n(3));
                for _ in 0..n(4) {
                    im.lock(lk, Some(Duration::from_secs(20)))?;
                    let mut v = [0u64];
                    im.get64(ctr, &mut v)?;
                    // Widen the window between read and write (two processes inside it
                    // at once would lose an update). A spin, not a yield: on a starved
                    // machine every yield can cost a whole scheduling period, which turned
                    // this loop into minutes.
                    for _ in 0..500 {
                        std::hint::spin_loop();
                    }
                    im.put64(ctr, &[v[0] + 1])?;
                    im.unlock(lk)?;
                }
                String::new()
            }
            "fork" => fork_op(self.ex(a[1]), a[2]).to_string(),
            "forkdrop" => {
                // A forked child drops (destroys/disconnects by Drop) every handle it
                // inherited, then exits; returns its exit code.
                // SAFETY: the peer runs its commands on one thread; the child only drops
                // its copies of the handles and `_exit`s.
                let pid = unsafe { libc::fork() };
                assert!(pid >= 0);
                if pid == 0 {
                    drop(std::mem::take(self));
                    // SAFETY: leaving the child without running anything else.
                    unsafe { libc::_exit(0) };
                }
                let mut st = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(pid, &mut st, 0) };
                libc::WEXITSTATUS(st).to_string()
            }
            "pollready" => {
                // revents of a plain poll(2), timeout 0, on a handle's pollfd.
                let mut pfd = if a[1] == "e" {
                    self.ex(a[2]).get_pollfd()?
                } else {
                    self.im(a[2]).get_pollfd()?
                };
                // SAFETY: a valid one-element pollfd array.
                unsafe { libc::poll(&mut pfd, 1, 0) };
                if a[1] == "e" {
                    self.ex(a[2]).release_pollfd()?;
                } else {
                    self.im(a[2]).release_pollfd()?;
                }
                pfd.revents.to_string()
            }
            "rawopen" => {
                let path =
                    std::path::Path::new(&std::env::var("RSM_SHM_DIR").unwrap()).join(format!(
                        "rsm.{}.{:08x}",
                        std::env::var("RSM_SHM_NAMESPACE").unwrap(),
                        n(1)
                    ));
                let r = std::fs::OpenOptions::new()
                    .read(true)
                    .write(a[2] == "rw")
                    .open(path);
                match r {
                    Ok(_) => "0".to_owned(),
                    Err(e) => e.raw_os_error().unwrap_or(-1).to_string(),
                }
            }
            "buf" => {
                let len = n(1) as usize;
                // SAFETY: fresh anonymous private mapping owned by the peer.
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
                // SAFETY: `p` is mapped for `len` bytes.
                unsafe { std::ptr::write_bytes(p.cast::<u8>(), n(2) as u8, len) };
                self.bufs.push((p as usize, len));
                (self.bufs.len() - 1).to_string()
            }
            "bufwrite" => {
                let (p, len) = self.bufs[n(1) as usize];
                let d = unhex(a[3]);
                let off = n(2) as usize;
                assert!(off + d.len() <= len);
                // SAFETY: in bounds of the peer's own buffer.
                unsafe { std::ptr::copy_nonoverlapping(d.as_ptr(), (p + off) as *mut u8, d.len()) };
                String::new()
            }
            "bufread" => {
                let (p, len) = self.bufs[n(1) as usize];
                let (off, cnt) = (n(2) as usize, n(3) as usize);
                assert!(off + cnt <= len);
                let mut b = vec![0u8; cnt];
                // SAFETY: in bounds of the peer's own buffer (the test reads only pages it
                // left accessible).
                unsafe {
                    std::ptr::copy_nonoverlapping((p + off) as *const u8, b.as_mut_ptr(), cnt)
                };
                hex(&b)
            }
            "bufprot" => {
                // Changes the protection of part of a buffer: none, r or rw.
                let (p, len) = self.bufs[n(1) as usize];
                let (off, cnt) = (n(2) as usize, n(3) as usize);
                assert!(off + cnt <= len);
                let prot = match a[4] {
                    "none" => libc::PROT_NONE,
                    "r" => libc::PROT_READ,
                    _ => libc::PROT_READ | libc::PROT_WRITE,
                };
                // SAFETY: page-aligned part of the peer's own mapping.
                assert_eq!(unsafe { libc::mprotect((p + off) as *mut _, cnt, prot) }, 0);
                String::new()
            }
            "bufunmap" => {
                // Unmaps part of a buffer (the peer runs its commands on one thread, so no
                // other mapping can appear there meanwhile).
                let (p, len) = self.bufs[n(1) as usize];
                let (off, cnt) = (n(2) as usize, n(3) as usize);
                assert!(off + cnt <= len);
                // SAFETY: page-aligned part of the peer's own mapping, never used again.
                assert_eq!(unsafe { libc::munmap((p + off) as *mut _, cnt) }, 0);
                String::new()
            }
            "create_in_place" => {
                let (p, len) = self.bufs[n(1) as usize];
                // SAFETY: the buffer is the peer's own mapping, kept for the process life.
                let seg = unsafe {
                    ExportSegment::create_in_place(
                        self.ctrl()?,
                        p as *mut u8,
                        len,
                        ExportFlags::from_bits(n(2) as u32),
                    )?
                };
                push(&mut self.ex, seg)
            }
            "rebind_in_place" => {
                let (p, len) = self.bufs[n(2) as usize];
                // SAFETY: as above.
                unsafe { self.ex(a[1]).rebind_in_place(p as *mut u8, len)? };
                String::new()
            }
            "segid_range" => {
                let (b, l) = rsm_core::get_segmentid_range(a[1])?;
                format!("{b:#x} {l}")
            }
            "nofile" => {
                set_nofile(n(1));
                String::new()
            }
            "fdlimit" => {
                // RLIMIT_NOFILE = the lowest free descriptor number + n: exactly n more
                // descriptors can be opened.
                let lowest = lowest_free_fd();
                set_nofile(lowest + n(1));
                lowest.to_string()
            }
            "connect_limits" => {
                // connect <id> <perm> with RLIMIT_NOFILE = the lowest free descriptor
                // number + k, for k = 0..=n: "k:code" each (0 = connected; the handle is
                // dropped with the limit restored).
                let lowest = lowest_free_fd();
                let saved = nofile();
                let mut out = Vec::new();
                for k in 0..=n(3) {
                    set_nofile(lowest + k);
                    let r = ImportSegment::connect(
                        self.ctrl()?,
                        self.ctrl()?.node_id(),
                        n(1) as u32,
                        u32::from_str_radix(a[2], 8).unwrap(),
                    );
                    set_nofile(saved);
                    out.push(format!("{k}:{}", r.map_or_else(|e| e.code(), |_| 0)));
                }
                out.join(" ")
            }
            "create_limits" => {
                // create <size> with RLIMIT_NOFILE = the lowest free descriptor number + k,
                // for k = 0..=n: "k:code" each, "k:0:<id>" when created (then published
                // with an automatic id and kept).
                let lowest = lowest_free_fd();
                let saved = nofile();
                let mut out = Vec::new();
                for k in 0..=n(2) {
                    set_nofile(lowest + k);
                    let r = ExportSegment::create(self.ctrl()?, n(1) as usize, ExportFlags::NONE);
                    set_nofile(saved);
                    match r {
                        Ok(seg) => {
                            let id = seg.publish(0, &[])?;
                            self.ex.push(Some(seg));
                            out.push(format!("{k}:0:{id:#x}"));
                        }
                        Err(e) => out.push(format!("{k}:{}", e.code())),
                    }
                }
                out.join(" ")
            }
            "sigusr1" => {
                extern "C" fn on_usr1(_: libc::c_int) {}
                // SAFETY: installing a handler that does nothing; no SA_RESTART, so
                // blocking calls return EINTR.
                unsafe {
                    let mut sa: libc::sigaction = std::mem::zeroed();
                    sa.sa_sigaction = on_usr1 as *const () as usize;
                    sa.sa_flags = 0;
                    libc::sigemptyset(&mut sa.sa_mask);
                    assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
                }
                // The thread that runs the commands: signals go to it with tgkill.
                // SAFETY: gettid has no preconditions.
                unsafe { libc::gettid() }.to_string()
            }
            "waitpollfd" => {
                let mut fds = vec![
                    libc::pollfd {
                        fd: -1,
                        events: libc::POLLIN,
                        revents: 0
                    };
                    n(1) as usize
                ];
                rsm_core::wait_pollfd(&mut fds, ms(a[2]))?.to_string()
            }
            "sleep" => {
                std::thread::sleep(Duration::from_millis(n(1)));
                String::new()
            }
            "leakcheck" => {
                let ctrl = self.ctrl()?.clone();
                // One round first: lazily initialised state (registries, caches) is not a
                // leak.
                life_cycles(&ctrl)?;
                let before = (count("/proc/self/fd"), count_maps());
                for _ in 0..n(1) {
                    life_cycles(&ctrl)?;
                }
                let after = (count("/proc/self/fd"), count_maps());
                format!("{} {} {} {}", before.0, after.0, before.1, after.1)
            }
            "exit" => std::process::exit(0),
            other => return Err(bad(&format!("unknown command {other}"))),
        })
    }
}

/// The lowest descriptor number not in use.
fn lowest_free_fd() -> u64 {
    // SAFETY: dup of standard input returns the lowest free number (or -1), closed at once.
    let fd = unsafe { libc::dup(0) };
    assert!(fd >= 0, "no descriptor free");
    // SAFETY: our own fresh descriptor.
    unsafe { libc::close(fd) };
    fd as u64
}

/// The soft RLIMIT_NOFILE.
fn nofile() -> u64 {
    let mut cur = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid rlimit structure.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut cur) }, 0);
    cur.rlim_cur
}

/// Sets the soft RLIMIT_NOFILE (the hard limit stays).
fn set_nofile(n: u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid rlimit structures.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut r), 0);
        r.rlim_cur = n;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &r), 0);
    }
}

/// Entries in a directory.
fn count(dir: &str) -> usize {
    std::fs::read_dir(dir)
        .map(|d| d.count())
        .unwrap_or(usize::MAX)
}

/// Lines of `/proc/self/maps`.
fn count_maps() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .map(|s| s.lines().count())
        .unwrap_or(usize::MAX)
}

/// Every resource-owning path of the API once, ending with everything released: explicit
/// calls, revocation under a live mapping, and the `Drop` paths.
fn life_cycles(ctrl: &Controller) -> Result<()> {
    const T: Option<Duration> = Some(Duration::from_secs(10));
    let node = ctrl.node_id();
    // 1. Explicit life cycle of everything.
    let seg = ExportSegment::create(ctrl, 2 * 4096, ExportFlags::LOCK_OPS)?;
    let id = seg.publish(0, &[])?;
    seg.get_pollfd()?;
    seg.release_pollfd()?;
    let im = ImportSegment::connect(ctrl, node, id, PERM_RDWR)?;
    let bar = im.init_barrier(BarrierType::Segment)?;
    im.put(0, b"leak")?;
    im.signal_post(0)?;
    seg.signal_wait(T)?;
    seg.signal_post(0)?;
    im.signal_wait(T)?;
    im.get_pollfd()?;
    im.release_pollfd()?;
    im.fetch_add64(8, 1)?;
    im.lock(16, T)?;
    im.unlock(16)?;
    let mut h = LocalMemory::new(ctrl, 100)?;
    h.as_mut_slice()[..2].copy_from_slice(b"hi");
    let io = PutIo {
        local: PutSource::Handle(&h),
        local_offset: 0,
        remote_offset: 32,
        len: 2,
    };
    im.putv(&[io], IMPLICIT_SIGPOST)?;
    seg.signal_wait(T)?;
    h.free(ctrl)?;
    drop(h);
    im.unmap()?;
    let v = im.map(0, 4096, PERM_RDWR)?;
    v.write(0, b"x")?;
    drop(v);
    im.unmap()?;
    bar.destroy()?;
    im.disconnect()?;
    // Unpublish (fresh file, fresh FIFO) and publish again, then destroy.
    seg.unpublish()?;
    seg.publish(0, &[])?;
    seg.destroy()?;
    drop((im, bar, seg));

    // 2. Revocation while the importer holds a mapping and a view; then Drop everything.
    let seg = ExportSegment::create(ctrl, 4096, ExportFlags::NONE)?;
    let id = seg.publish(0, &[])?;
    let im = ImportSegment::connect(ctrl, node, id, PERM_RDWR)?;
    let v = im.map(0, 4096, PERM_RDWR)?;
    let ev = seg.view()?;
    seg.unpublish()?;
    v.write(0, b"stale")?;
    im.unmap()?;
    drop(v);
    drop(im); // disconnect by Drop
    drop(seg); // destroy by Drop
    drop(ev);

    // 3. Caller memory exported in place, then destroyed.
    // SAFETY: a fresh private anonymous mapping owned by this function.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    // SAFETY: the range is ours and stays mapped until after destroy.
    let seg =
        unsafe { ExportSegment::create_in_place(ctrl, p.cast(), 4096, ExportFlags::ALLOW_REBIND)? };
    seg.publish(0, &[])?;
    seg.destroy()?;
    drop(seg);
    // SAFETY: our own mapping, no longer exported.
    unsafe { libc::munmap(p, 4096) };
    Ok(())
}

/// Forks; the child runs `op` on the export segment and exits with the result code
/// (0 = success). Returns that code.
fn fork_op(seg: &ExportSegment, op: &str) -> i32 {
    // SAFETY: the peer is single-threaded apart from no other thread touching rsm state;
    // the child only runs the one rsm call and `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let r = match op {
            "publish" => seg.publish(0x7000_0001, &[]).map(drop),
            "unpublish" => seg.unpublish(),
            "republish" => seg.republish(&[]),
            "rebind" => seg.rebind(&vec![0u8; seg.size()]),
            _ => Ok(()),
        };
        let code = r.err().map_or(0, |e| e.code());
        // SAFETY: leaving the child without running destructors (they belong to the parent).
        unsafe { libc::_exit(code) };
    }
    let mut st = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut st, 0) };
    libc::WEXITSTATUS(st)
}

pub fn run() {
    // Die with the test process.
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let mut st = State::default();
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let reply = match st.exec(&line) {
            Ok(s) => format!("ok {s}"),
            Err(e) => format!("err {} {}", e.code(), e.to_string().replace('\n', " ")),
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "@@ {}", reply.trim_end());
        let _ = out.flush();
    }
    // stdin closed: clean up handles (destroy/disconnect through Drop).
    drop(st);
}
