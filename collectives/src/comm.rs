//! [`Comm`]: the communicator — creation from the launcher's bootstrap, `split`, `dup`,
//! teardown, algorithm selection, failure handling, and every collective's entry point.

use core::cell::{Cell, RefCell};
use core::ops::Range;

use bytemuck::Pod;
use rsm_core::bootstrap::Bootstrap;
use rsm_core::{
    AccessEntry, BAR_DEFAULT, BarrierMode, Controller, ExportFlags, ExportSegment, ImportSegment,
    NodeId, PERM_RDWR, SegmentId,
};

use crate::algo::{self, Algorithm, CallShape, Collective, Path, Selection};
use crate::args::{self, ArgError};
use crate::chan::{self, Chan, Link, LockLink, Op};
use crate::coll::{self, Ctx, bytes, bytes_mut};
use crate::config::{CollConfig, ConfigError, PathChoice};
use crate::error::{CollError, Result};
use crate::layout::{FailReason, Failure, HEADER_WORDS, Header, Layout};
use crate::ops::ReduceOp;
use crate::wait;

/// A communicator: a group of ranks that run collectives together.
///
/// Made with [`Comm::world`] (every rank of an `rsmrun` job, or a singleton) and
/// [`split`](Comm::split)/[`dup`](Comm::dup). Every collective must be called by every rank
/// of the communicator, in the same order, with matching arguments (as in MPI); a rank that
/// disappears, fails or calls something else makes the others' calls fail with an error that
/// names it, never hang.
///
/// `Comm` is `Send` but not `Sync`: one thread at a time drives it (every method takes `&self`;
/// the state lives in `Cell`s).
#[derive(Debug)]
pub struct Comm {
    ch: Chan,
    rank: usize,
    size: usize,
    id: u64,
    cfg: CollConfig,
    oversubscribed: bool,
    /// Whether any rank's node is oversubscribed (identical on all ranks: it may change an
    /// algorithm's shape, unlike `oversubscribed`, which only sets this rank's waiting).
    any_oversubscribed: bool,
    ctrl: Controller,
    nodes: Vec<NodeId>,
    seq: Cell<u64>,
    splits: Cell<u64>,
    forced: RefCell<Vec<Option<Algorithm>>>,
    last: RefCell<Option<(Collective, Selection)>>,
    broken: RefCell<Option<CollError>>,
    freed: Cell<bool>,
    _bootstrap: Option<Bootstrap>,
}

fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn rsm(rank: Option<usize>, op: &'static str) -> impl FnOnce(rsm_core::RsmError) -> CollError {
    move |e| CollError::rsm(rank, op, e)
}

fn setup_mismatch(rank: usize, detail: String) -> CollError {
    CollError::Mismatch {
        rank,
        collective: "communicator creation",
        seq: 0,
        detail,
    }
}

/// What each rank tells the others first (bootstrap allgather #1).
struct Hello {
    can_map: bool,
    node: NodeId,
    hash: u64,
    cpus: Vec<usize>,
}

impl Hello {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(24 + 4 * self.cpus.len());
        v.push(u8::from(self.can_map));
        v.extend_from_slice(&[0; 3]);
        v.extend_from_slice(&self.node.to_le_bytes());
        v.extend_from_slice(&self.hash.to_le_bytes());
        for &c in &self.cpus {
            v.extend_from_slice(&(c as u32).to_le_bytes());
        }
        v
    }

    fn decode(rank: usize, b: &[u8]) -> Result<Hello> {
        if b.len() < 16 || !(b.len() - 16).is_multiple_of(4) {
            return Err(setup_mismatch(
                rank,
                format!("malformed hello of {} bytes", b.len()),
            ));
        }
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut h = [0u8; 8];
        h.copy_from_slice(&b[8..16]);
        Ok(Hello {
            can_map: b[0] != 0,
            node: u32_at(4),
            hash: u64::from_le_bytes(h),
            cpus: (16..b.len())
                .step_by(4)
                .map(|i| u32_at(i) as usize)
                .collect(),
        })
    }
}

/// A segment created and published, waiting for the peers' ids.
struct Pending {
    layout: Layout,
    path: Path,
    me: usize,
    comm_id: u64,
    hash: u64,
    seg: ExportSegment,
    segid: SegmentId,
    lock: Option<(ExportSegment, SegmentId)>,
}

impl Pending {
    fn create(
        ctrl: &Controller,
        cfg: &CollConfig,
        me: usize,
        p: usize,
        path: Path,
        comm_id: u64,
    ) -> Result<Pending> {
        let layout = Layout::new(p, cfg.layout_params(p))
            .map_err(|e| CollError::layout("communicator creation", e))?;
        let hash = cfg.protocol_hash();
        let seg = ExportSegment::create(ctrl, layout.total(), ExportFlags::NONE)
            .map_err(rsm(None, "export_create"))?;
        let own = seg.view().map_err(rsm(None, "export_view"))?;
        let header = Header::new(&layout, path, me as u32, comm_id, std::process::id(), hash);
        for (i, w) in header.to_words().iter().enumerate() {
            own.store_u64(8 * i, *w, std::sync::atomic::Ordering::Relaxed)
                .map_err(rsm(None, "export_view"))?;
        }
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        let node = ctrl.node_id();
        let acl = [AccessEntry::new(node, PERM_RDWR)];
        let segid = seg.publish(0, &acl).map_err(rsm(None, "export_publish"))?;
        let lock = if me == 0 {
            let size = chan::lock_segment_size(p, ctrl.caps().page_size);
            let l = ExportSegment::create(ctrl, size, ExportFlags::LOCK_OPS)
                .map_err(rsm(None, "export_create (lock segment)"))?;
            let id = l
                .publish(0, &acl)
                .map_err(rsm(None, "export_publish (lock segment)"))?;
            Some((l, id))
        } else {
            None
        };
        Ok(Pending {
            layout,
            path,
            me,
            comm_id,
            hash,
            seg,
            segid,
            lock,
        })
    }

    fn ids(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&self.segid.to_le_bytes());
        let lid = self.lock.as_ref().map_or(0, |l| l.1);
        b[4..].copy_from_slice(&lid.to_le_bytes());
        b
    }

    fn decode_ids(b: &[u8]) -> Option<(SegmentId, SegmentId)> {
        if b.len() < 8 {
            return None;
        }
        Some((
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        ))
    }

    /// Connects to every peer (`ids[q]` = (segment id, lock segment id), `nodes[q]` its node).
    fn connect(
        self,
        ctrl: &Controller,
        ids: &[(SegmentId, SegmentId)],
        nodes: &[NodeId],
        policy: wait::WaitPolicy,
    ) -> Result<Chan> {
        let p = self.layout.ranks();
        let mut links = Vec::with_capacity(p);
        for q in 0..p {
            if q == self.me {
                links.push(None);
                continue;
            }
            let imp = ImportSegment::connect(ctrl, nodes[q], ids[q].0, PERM_RDWR)
                .map_err(rsm(Some(q), "import_connect"))?;
            let link = match self.path {
                Path::Map => {
                    let view = imp
                        .map(0, self.layout.total(), PERM_RDWR)
                        .map_err(rsm(Some(q), "import_map"))?;
                    Link::Map { imp, view }
                }
                Path::Put => {
                    imp.set_mode(BarrierMode::Explicit)
                        .map_err(rsm(Some(q), "import_set_mode"))?;
                    let bar = imp
                        .init_barrier(BAR_DEFAULT)
                        .map_err(rsm(Some(q), "import_init_barrier"))?;
                    bar.open().map_err(rsm(Some(q), "import_open_barrier"))?;
                    Link::Put { imp, bar }
                }
            };
            let mut words = [0u64; HEADER_WORDS];
            for (i, w) in words.iter_mut().enumerate() {
                *w = link
                    .load_word(8 * i)
                    .map_err(rsm(Some(q), "reading a peer's header"))?;
            }
            let expected = Header::new(
                &self.layout,
                self.path,
                q as u32,
                self.comm_id,
                0,
                self.hash,
            );
            Header::check_peer(&words, &expected).map_err(|e| setup_mismatch(q, e.to_string()))?;
            links.push(Some(link));
        }
        let lock = match self.lock {
            Some((l, _)) => LockLink::Own(l),
            None => LockLink::Remote(
                ImportSegment::connect(ctrl, nodes[0], ids[0].1, PERM_RDWR)
                    .map_err(rsm(Some(0), "import_connect (lock segment)"))?,
            ),
        };
        let joined = lock
            .fetch_add(chan::LOCK_JOINED, 1)
            .map_err(rsm(Some(0), "lock fetch_add"))?;
        if joined as usize >= p {
            return Err(setup_mismatch(
                0,
                format!(
                    "{} ranks joined a communicator of {p} (a stale or duplicate rank)",
                    joined + 1
                ),
            ));
        }
        let own = self.seg.view().map_err(rsm(None, "export_view"))?;
        let ch = Chan::new(
            self.me,
            self.layout,
            self.path,
            self.seg,
            own,
            links,
            Some(lock),
            policy,
        );
        ch.sync()?;
        Ok(ch)
    }
}

/// The context of one call before its algorithm is chosen.
pub(crate) struct Call<'a> {
    comm: &'a Comm,
    coll: Collective,
    seq: u64,
}

impl<'a> Call<'a> {
    /// Chooses the algorithm for a call of `bytes` bytes (`commutative` operator).
    pub(crate) fn select(&self, bytes: usize, commutative: bool) -> Ctx<'a> {
        let c = self.comm;
        let shape = CallShape {
            collective: self.coll,
            size: c.size,
            bytes,
            path: c.ch.path,
            commutative,
            oversubscribed: c.any_oversubscribed,
        };
        let forced = c.forced.borrow()[self.coll as usize];
        let sel = algo::select(&shape, forced, &c.cfg.tuning);
        if c.cfg.verbose >= 2 || (c.cfg.verbose == 1 && c.rank == 0) {
            eprintln!("{}", sel.describe(&shape, c.rank, c.id, self.seq));
        }
        let alg = sel.algorithm;
        *c.last.borrow_mut() = Some((self.coll, sel));
        Ctx {
            ch: &c.ch,
            op: Op {
                seq: self.seq,
                coll: self.coll,
                alg,
            },
            tuning: &c.cfg.tuning,
            me: c.rank,
            p: c.size,
            oversubscribed: c.any_oversubscribed,
        }
    }

    fn rank(&self) -> usize {
        self.comm.rank
    }

    fn size(&self) -> usize {
        self.comm.size
    }
}

fn v_ranges(r: Vec<Range<usize>>, sz: usize) -> Vec<Range<usize>> {
    r.into_iter().map(|x| x.start * sz..x.end * sz).collect()
}

impl Comm {
    /// Every rank of the job: [`Bootstrap::from_env`] (a singleton of size 1 without
    /// `rsmrun`) and the controller named by `RSM_COLL_CONTROLLER` (default `loopback`).
    pub fn world() -> Result<Comm> {
        let cfg = CollConfig::from_env()?;
        let boot = Bootstrap::from_env()?;
        Self::create_world(boot, cfg)
    }

    /// [`Comm::world`] with an explicit bootstrap and controller name.
    pub fn world_with(bootstrap: Bootstrap, controller: &str) -> Result<Comm> {
        let mut cfg = CollConfig::from_env()?;
        cfg.controller = controller.to_owned();
        Self::create_world(bootstrap, cfg)
    }

    fn create_world(boot: Bootstrap, cfg: CollConfig) -> Result<Comm> {
        let ctrl = Controller::get(&cfg.controller).map_err(rsm(None, "get_controller"))?;
        let caps = ctrl.caps();
        let (me, p) = (boot.rank(), boot.size());
        if caps.node_local && boot.node_count() > 1 {
            return Err(CollError::Config(ConfigError {
                var: "RSM_COLL_CONTROLLER".into(),
                value: cfg.controller.clone(),
                expected: format!(
                    "a controller that reaches other nodes (the job spans {} nodes)",
                    boot.node_count()
                ),
            }));
        }
        let hello = Hello {
            can_map: caps.mappable,
            node: ctrl.node_id(),
            hash: cfg.protocol_hash(),
            cpus: wait::own_allowed_cpus().unwrap_or_default(),
        };
        let all = boot.allgather(&hello.encode())?;
        let hellos = all
            .iter()
            .enumerate()
            .map(|(r, b)| Hello::decode(r, b))
            .collect::<Result<Vec<_>>>()?;
        if let Some(r) = hellos.iter().position(|h| h.hash != hello.hash) {
            return Err(setup_mismatch(
                r,
                "its RSM_COLL_* settings differ from this rank's (configuration hash)".into(),
            ));
        }
        let all_map = hellos.iter().all(|h| h.can_map);
        let path = match cfg.path {
            PathChoice::Put => Path::Put,
            PathChoice::Auto if !all_map => Path::Put,
            PathChoice::Auto => Path::Map,
            PathChoice::Map if all_map => Path::Map,
            PathChoice::Map => {
                let r = hellos.iter().position(|h| !h.can_map).unwrap_or(0);
                return Err(CollError::Config(ConfigError {
                    var: "RSM_COLL_PATH".into(),
                    value: "map".into(),
                    expected: format!("auto or put: rank {r}'s controller cannot map"),
                }));
            }
        };
        let my_node = hellos[me].node;
        let local: Vec<Vec<usize>> = hellos
            .iter()
            .filter(|h| h.node == my_node)
            .map(|h| h.cpus.clone())
            .collect();
        let oversubscribed = wait::decide_oversubscribed(
            local.len(),
            &local,
            wait::cgroup_cpu_limit(),
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            cfg.oversubscribed,
        );
        let nodes: Vec<NodeId> = hellos.iter().map(|h| h.node).collect();
        let comm_id = fnv(&[b"world", boot.job_id().as_bytes()]);
        let pending = Pending::create(&ctrl, &cfg, me, p, path, comm_id)?;
        // The ids, and this node's oversubscription (so that every rank knows whether any
        // node is oversubscribed).
        let mut msg = pending.ids().to_vec();
        msg.push(u8::from(oversubscribed));
        let all = boot.allgather(&msg)?;
        let any_oversubscribed = all.iter().any(|b| b.get(8) == Some(&1));
        let ids = all
            .iter()
            .enumerate()
            .map(|(r, b)| {
                Pending::decode_ids(b)
                    .ok_or_else(|| setup_mismatch(r, "malformed segment ids".into()))
            })
            .collect::<Result<Vec<_>>>()?;
        let ch = pending.connect(&ctrl, &ids, &nodes, cfg.wait_policy(oversubscribed))?;
        Ok(Comm::assemble(
            ch,
            me,
            p,
            comm_id,
            cfg,
            (oversubscribed, any_oversubscribed),
            ctrl,
            nodes,
            Some(boot),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        ch: Chan,
        rank: usize,
        size: usize,
        id: u64,
        cfg: CollConfig,
        (oversubscribed, any_oversubscribed): (bool, bool),
        ctrl: Controller,
        nodes: Vec<NodeId>,
        bootstrap: Option<Bootstrap>,
    ) -> Comm {
        let forced = Collective::ALL.iter().map(|&c| cfg.forced(c)).collect();
        Comm {
            ch,
            rank,
            size,
            id,
            cfg,
            oversubscribed,
            any_oversubscribed,
            ctrl,
            nodes,
            seq: Cell::new(0),
            splits: Cell::new(0),
            forced: RefCell::new(forced),
            last: RefCell::new(None),
            broken: RefCell::new(None),
            freed: Cell::new(false),
            _bootstrap: bootstrap,
        }
    }

    /// This rank, `0..size()`.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Number of ranks.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The communicator id (equal on all its ranks; for messages).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The data path: [`Path::Map`] (loads and stores through mappings) or [`Path::Put`].
    pub fn path(&self) -> Path {
        self.ch.path
    }

    /// Whether this node's ranks outnumber its CPUs (the waiting policy yields early).
    pub fn is_oversubscribed(&self) -> bool {
        self.oversubscribed
    }

    /// Forces `algorithm` for `collective` on this communicator (`None`: back to the
    /// environment's choice or the default). Must be called identically on every rank.
    /// Refused ([`CollError::Config`]) if the collective does not offer the algorithm.
    pub fn set_algorithm(
        &self,
        collective: Collective,
        algorithm: Option<Algorithm>,
    ) -> Result<()> {
        if let Some(a) = algorithm
            && !collective.algorithms().contains(&a)
        {
            return Err(CollError::Config(ConfigError {
                var: collective.env_var(),
                value: a.name().into(),
                expected: format!(
                    "an algorithm of {collective}: {}",
                    collective
                        .algorithms()
                        .iter()
                        .map(|a| a.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }));
        }
        self.forced.borrow_mut()[collective as usize] =
            algorithm.or_else(|| self.cfg.forced(collective));
        Ok(())
    }

    /// The collective and algorithm selection of the last call (tests, diagnostics).
    pub fn last_selection(&self) -> Option<(Collective, Selection)> {
        self.last.borrow().clone()
    }

    /// The error that broke this communicator, if any.
    pub fn failure(&self) -> Option<CollError> {
        self.broken.borrow().clone()
    }

    fn run<R>(&self, coll: Collective, f: impl FnOnce(&Call<'_>) -> Result<R>) -> Result<R> {
        if let Some(e) = self.broken.borrow().as_ref() {
            return Err(CollError::Broken(Box::new(e.clone())));
        }
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        let call = Call {
            comm: self,
            coll,
            seq,
        };
        match f(&call) {
            Ok(r) => {
                self.ch.set_done(seq);
                Ok(r)
            }
            Err(e) => {
                self.fail_with(&e);
                Err(e)
            }
        }
    }

    fn fail_with(&self, e: &CollError) {
        let me = self.rank as u32;
        let f = match e {
            CollError::RankFailed { rank, reason, .. } => Failure {
                rank: *rank as u32,
                reason: *reason,
            },
            CollError::Timeout { waiting_for, .. } => Failure {
                rank: *waiting_for as u32,
                reason: FailReason::Timeout,
            },
            CollError::Mismatch { rank, .. } if *rank < self.size => Failure {
                rank: *rank as u32,
                reason: FailReason::Mismatch,
            },
            _ => Failure {
                rank: me,
                reason: FailReason::Error,
            },
        };
        self.ch.fail(f);
        *self.broken.borrow_mut() = Some(e.clone());
    }

    // ---------------------------------------------------------------------------------------
    // split / dup / free
    // ---------------------------------------------------------------------------------------

    /// Splits the communicator (collective): ranks with the same `color` form a new
    /// communicator, ordered by `(key, rank in this one)`. `None` (MPI_UNDEFINED) takes part
    /// but gets `Ok(None)`. The new communicator inherits the data path, the waiting policy
    /// and the forced algorithms of the environment.
    pub fn split(&self, color: Option<u32>, key: i64) -> Result<Option<Comm>> {
        let p = self.size;
        if color == Some(u32::MAX) {
            let e = CollError::InvalidArgument(ArgError::new(
                "color",
                "u32::MAX is reserved (use None for MPI_UNDEFINED)",
            ));
            if self.broken.borrow().is_none() {
                self.fail_with(&e);
            }
            return Err(e);
        }
        let c = u64::from(color.unwrap_or(u32::MAX));
        let mine = [c, key as u64, self.rank as u64];
        let mut all = vec![0u64; 3 * p];
        self.allgather(&mine, &mut all)?;
        let n = self.splits.get();
        self.splits.set(n + 1);
        let Some(color) = color else {
            let mut ids = vec![0u64; p];
            self.allgather(&[0u64], &mut ids)?;
            return Ok(None);
        };
        let mut members: Vec<(i64, usize)> = (0..p)
            .filter(|&r| all[3 * r] == c)
            .map(|r| (all[3 * r + 1] as i64, r))
            .collect();
        members.sort_unstable();
        let me = members
            .iter()
            .position(|&(_, r)| r == self.rank)
            .unwrap_or(0);
        let np = members.len();
        let id = fnv(&[
            &self.id.to_le_bytes(),
            &n.to_le_bytes(),
            &color.to_le_bytes(),
        ]);
        let created = Pending::create(&self.ctrl, &self.cfg, me, np, self.ch.path, id);
        // Everyone takes part in the id exchange, even a rank whose creation failed (it
        // contributes zeros and reports its error afterwards).
        let mine = match &created {
            Ok(pd) => u64::from_le_bytes(pd.ids()),
            Err(_) => 0,
        };
        let mut ids = vec![0u64; p];
        self.allgather(&[mine], &mut ids)?;
        let pending = created?;
        let mut member_ids = Vec::with_capacity(np);
        for &(_, r) in &members {
            let b = ids[r].to_le_bytes();
            let v = Pending::decode_ids(&b)
                .filter(|v| v.0 != 0)
                .ok_or_else(|| setup_mismatch(r, "failed to create its segment".into()))?;
            member_ids.push(v);
        }
        let nodes: Vec<NodeId> = members.iter().map(|&(_, r)| self.nodes[r]).collect();
        let ch = pending.connect(
            &self.ctrl,
            &member_ids,
            &nodes,
            self.cfg.wait_policy(self.oversubscribed),
        )?;
        let comm = Comm::assemble(
            ch,
            me,
            np,
            id,
            self.cfg.clone(),
            (self.oversubscribed, self.any_oversubscribed),
            self.ctrl.clone(),
            nodes,
            None,
        );
        *comm.forced.borrow_mut() = self.forced.borrow().clone();
        Ok(Some(comm))
    }

    /// A new communicator with the same ranks in the same order (collective).
    pub fn dup(&self) -> Result<Comm> {
        self.split(Some(0), self.rank as i64)?.ok_or_else(|| {
            CollError::InvalidArgument(ArgError::new("color", "dup produced no communicator"))
        })
    }

    /// Releases the communicator. Collective in the sense that comm rank 0 waits (bounded)
    /// until every rank has freed it before removing the shared lock segment; other ranks
    /// return at once. Returns the error that broke the communicator, if one did (the
    /// resources are released in any case). Dropping a `Comm` does the same, silently.
    pub fn free(self) -> Result<()> {
        let broken = self.broken.borrow().clone();
        let mut this = self;
        this.teardown();
        match broken {
            Some(e) => Err(CollError::Broken(Box::new(e))),
            None => Ok(()),
        }
    }

    fn teardown(&mut self) {
        if self.freed.replace(true) {
            return;
        }
        let healthy = self.broken.borrow().is_none();
        if let Some(lock) = &self.ch.lock {
            let _ = lock.depart(self.rank);
            if self.rank == 0 && healthy {
                let p = self.size as u64;
                self.ch.wait_quietly(|| {
                    lock.fetch_add(chan::LOCK_DEPARTED, 0)
                        .map_or(true, |d| d >= p)
                });
            }
        }
        self.ch.close();
        if let Some(l) = self.ch.lock.take() {
            l.release();
        }
    }

    // ---------------------------------------------------------------------------------------
    // Collectives
    // ---------------------------------------------------------------------------------------

    /// Blocks until every rank has entered the barrier.
    pub fn barrier(&self) -> Result<()> {
        self.run(Collective::Barrier, |c| {
            let cx = c.select(0, true);
            coll::barrier::barrier(&cx)
        })
    }

    /// Every rank's `buf` becomes the root's (same length everywhere).
    pub fn bcast<T: Pod>(&self, buf: &mut [T], root: usize) -> Result<()> {
        self.run(Collective::Bcast, |c| {
            args::check_rank("root", root, c.size())?;
            let cx = c.select(size_of_val(buf), true);
            coll::bcast::bcast(&cx, bytes_mut(buf), root)
        })
    }

    /// Reduces every rank's `send` with `op` into the root's `recv` (same length as `send`);
    /// `recv` is not used on other ranks (pass `&mut []`).
    pub fn reduce<T: Pod, O: ReduceOp<T>>(
        &self,
        send: &[T],
        recv: &mut [T],
        op: &O,
        root: usize,
    ) -> Result<()> {
        self.run(Collective::Reduce, |c| {
            args::check_rank("root", root, c.size())?;
            if c.rank() == root {
                args::check_len("recv", send.len(), recv.len())?;
            }
            let cx = c.select(size_of_val(send), op.is_commutative());
            coll::reduce::reduce(&cx, Some(send), recv, op, root)
        })
    }

    /// In-place reduce: at the root `buf` is input and output; on other ranks it is the input
    /// and is not modified.
    pub fn reduce_in_place<T: Pod, O: ReduceOp<T>>(
        &self,
        buf: &mut [T],
        op: &O,
        root: usize,
    ) -> Result<()> {
        self.run(Collective::Reduce, |c| {
            args::check_rank("root", root, c.size())?;
            let cx = c.select(size_of_val(buf), op.is_commutative());
            if c.rank() == root {
                coll::reduce::reduce(&cx, None, buf, op, root)
            } else {
                coll::reduce::reduce(&cx, Some(buf), &mut [], op, root)
            }
        })
    }

    /// Reduces every rank's `send` with `op`; every rank receives the result in `recv`.
    pub fn allreduce<T: Pod, O: ReduceOp<T>>(
        &self,
        send: &[T],
        recv: &mut [T],
        op: &O,
    ) -> Result<()> {
        self.run(Collective::Allreduce, |c| {
            args::check_len("recv", send.len(), recv.len())?;
            let cx = c.select(size_of_val(send), op.is_commutative());
            coll::reduce::allreduce(&cx, Some(send), recv, op)
        })
    }

    /// In-place allreduce: `buf` is input and output.
    pub fn allreduce_in_place<T: Pod, O: ReduceOp<T>>(&self, buf: &mut [T], op: &O) -> Result<()> {
        self.run(Collective::Allreduce, |c| {
            let cx = c.select(size_of_val(buf), op.is_commutative());
            coll::reduce::allreduce(&cx, None, buf, op)
        })
    }

    /// Gathers every rank's `send` (`n` elements each) into the root's `recv` (`size·n`
    /// elements, rank `r`'s block at `r·n`); `recv` is not used on other ranks.
    pub fn gather<T: Pod>(&self, send: &[T], recv: &mut [T], root: usize) -> Result<()> {
        self.run(Collective::Gather, |c| {
            args::check_rank("root", root, c.size())?;
            if c.rank() == root {
                let total = args::checked_total("recv", send.len(), c.size())?;
                args::check_len("recv", total, recv.len())?;
            }
            let cx = c.select(size_of_val(send), true);
            coll::gather::gather(
                &cx,
                Some(bytes(send)),
                bytes_mut(recv),
                size_of_val(send),
                root,
            )
        })
    }

    /// In-place gather at the root: its own block is already in `recv`. Only the root may
    /// call this; the other ranks call [`gather`](Self::gather).
    pub fn gather_in_place<T: Pod>(&self, recv: &mut [T], root: usize) -> Result<()> {
        self.run(Collective::Gather, |c| {
            args::check_rank("root", root, c.size())?;
            root_only(c.rank(), root, "gather")?;
            let n = args::block_len("recv", recv.len(), c.size())?;
            let cx = c.select(n * size_of::<T>(), true);
            coll::gather::gather(&cx, None, bytes_mut(recv), n * size_of::<T>(), root)
        })
    }

    /// Gathers rank `r`'s `send` (`counts[r]` elements) to `displs[r]` of the root's `recv`;
    /// `counts`, `displs` and `recv` are significant at the root only. Elements of `recv`
    /// outside every block keep their values.
    pub fn gatherv<T: Pod>(
        &self,
        send: &[T],
        recv: &mut [T],
        counts: &[usize],
        displs: &[usize],
        root: usize,
    ) -> Result<()> {
        self.run(Collective::Gatherv, |c| {
            args::check_rank("root", root, c.size())?;
            let ranges = if c.rank() == root {
                let r = args::check_v_layout("recv", counts, displs, c.size(), recv.len(), false)?;
                args::check_len("send", counts[root], send.len())?;
                v_ranges(r, size_of::<T>())
            } else {
                Vec::new()
            };
            let cx = c.select(size_of_val(send), true);
            coll::gather::gatherv(&cx, Some(bytes(send)), bytes_mut(recv), &ranges, root)
        })
    }

    /// In-place gatherv at the root (its block is already in place); root only.
    pub fn gatherv_in_place<T: Pod>(
        &self,
        recv: &mut [T],
        counts: &[usize],
        displs: &[usize],
        root: usize,
    ) -> Result<()> {
        self.run(Collective::Gatherv, |c| {
            args::check_rank("root", root, c.size())?;
            root_only(c.rank(), root, "gatherv")?;
            let r = args::check_v_layout("recv", counts, displs, c.size(), recv.len(), false)?;
            let ranges = v_ranges(r, size_of::<T>());
            let cx = c.select(ranges[root].len(), true);
            coll::gather::gatherv(&cx, None, bytes_mut(recv), &ranges, root)
        })
    }

    /// Scatters the root's `send` (`size·n` elements): rank `r` receives elements
    /// `r·n .. (r+1)·n` into `recv` (`n` elements). `send` is not used on other ranks.
    pub fn scatter<T: Pod>(&self, send: &[T], recv: &mut [T], root: usize) -> Result<()> {
        self.run(Collective::Scatter, |c| {
            args::check_rank("root", root, c.size())?;
            if c.rank() == root {
                let total = args::checked_total("send", recv.len(), c.size())?;
                args::check_len("send", total, send.len())?;
            }
            let cx = c.select(size_of_val(recv), true);
            let n = size_of_val(recv);
            coll::gather::scatter(&cx, bytes(send), Some(bytes_mut(recv)), n, root)
        })
    }

    /// In-place scatter at the root (it receives nothing); root only.
    pub fn scatter_in_place<T: Pod>(&self, send: &[T], root: usize) -> Result<()> {
        self.run(Collective::Scatter, |c| {
            args::check_rank("root", root, c.size())?;
            root_only(c.rank(), root, "scatter")?;
            let n = args::block_len("send", send.len(), c.size())? * size_of::<T>();
            let cx = c.select(n, true);
            coll::gather::scatter(&cx, bytes(send), None, n, root)
        })
    }

    /// Scatters `counts[r]` elements from `displs[r]` of the root's `send` to rank `r`'s
    /// `recv` (blocks may overlap); `send`, `counts`, `displs` are significant at the root.
    pub fn scatterv<T: Pod>(
        &self,
        send: &[T],
        counts: &[usize],
        displs: &[usize],
        recv: &mut [T],
        root: usize,
    ) -> Result<()> {
        self.run(Collective::Scatterv, |c| {
            args::check_rank("root", root, c.size())?;
            let ranges = if c.rank() == root {
                let r = args::check_v_layout("send", counts, displs, c.size(), send.len(), true)?;
                args::check_len("recv", counts[root], recv.len())?;
                v_ranges(r, size_of::<T>())
            } else {
                Vec::new()
            };
            let cx = c.select(size_of_val(recv), true);
            coll::gather::scatterv(&cx, bytes(send), &ranges, Some(bytes_mut(recv)), root)
        })
    }

    /// In-place scatterv at the root (it receives nothing); root only.
    pub fn scatterv_in_place<T: Pod>(
        &self,
        send: &[T],
        counts: &[usize],
        displs: &[usize],
        root: usize,
    ) -> Result<()> {
        self.run(Collective::Scatterv, |c| {
            args::check_rank("root", root, c.size())?;
            root_only(c.rank(), root, "scatterv")?;
            let r = args::check_v_layout("send", counts, displs, c.size(), send.len(), true)?;
            let ranges = v_ranges(r, size_of::<T>());
            let cx = c.select(ranges[root].len(), true);
            coll::gather::scatterv(&cx, bytes(send), &ranges, None, root)
        })
    }

    /// Every rank receives every rank's `send` (`n` elements): rank `j`'s at `j·n` of `recv`
    /// (`size·n` elements).
    pub fn allgather<T: Pod>(&self, send: &[T], recv: &mut [T]) -> Result<()> {
        self.run(Collective::Allgather, |c| {
            let total = args::checked_total("recv", send.len(), c.size())?;
            args::check_len("recv", total, recv.len())?;
            let n = size_of_val(send);
            let cx = c.select(n, true);
            coll::gather::allgather(&cx, Some(bytes(send)), bytes_mut(recv), n)
        })
    }

    /// In-place allgather: each rank's block is already at `rank·n` of `recv`.
    pub fn allgather_in_place<T: Pod>(&self, recv: &mut [T]) -> Result<()> {
        self.run(Collective::Allgather, |c| {
            let n = args::block_len("recv", recv.len(), c.size())? * size_of::<T>();
            let cx = c.select(n, true);
            coll::gather::allgather(&cx, None, bytes_mut(recv), n)
        })
    }

    /// Every rank receives rank `j`'s `send` (`counts[j]` elements) at `displs[j]` of `recv`
    /// (same `counts`/`displs` everywhere); other elements keep their values.
    pub fn allgatherv<T: Pod>(
        &self,
        send: &[T],
        recv: &mut [T],
        counts: &[usize],
        displs: &[usize],
    ) -> Result<()> {
        self.run(Collective::Allgatherv, |c| {
            let r = args::check_v_layout("recv", counts, displs, c.size(), recv.len(), false)?;
            args::check_len("send", counts[c.rank()], send.len())?;
            let avg = args::checked_sum("counts", counts)? / c.size() * size_of::<T>();
            let cx = c.select(avg, true);
            coll::gather::allgatherv(
                &cx,
                Some(bytes(send)),
                bytes_mut(recv),
                &v_ranges(r, size_of::<T>()),
            )
        })
    }

    /// In-place allgatherv: each rank's block is already at `displs[rank]` of `recv`.
    pub fn allgatherv_in_place<T: Pod>(
        &self,
        recv: &mut [T],
        counts: &[usize],
        displs: &[usize],
    ) -> Result<()> {
        self.run(Collective::Allgatherv, |c| {
            let r = args::check_v_layout("recv", counts, displs, c.size(), recv.len(), false)?;
            let avg = args::checked_sum("counts", counts)? / c.size() * size_of::<T>();
            let cx = c.select(avg, true);
            coll::gather::allgatherv(&cx, None, bytes_mut(recv), &v_ranges(r, size_of::<T>()))
        })
    }

    /// Block `j` (`n` elements) of rank `r`'s `recv` is block `r` of rank `j`'s `send`
    /// (both `size·n` elements).
    pub fn alltoall<T: Pod>(&self, send: &[T], recv: &mut [T]) -> Result<()> {
        self.run(Collective::Alltoall, |c| {
            args::check_len("recv", send.len(), recv.len())?;
            let n = args::block_len("send", send.len(), c.size())? * size_of::<T>();
            let cx = c.select(n, true);
            coll::gather::alltoall(&cx, Some(bytes(send)), bytes_mut(recv), n)
        })
    }

    /// In-place alltoall: `buf` is input and output.
    pub fn alltoall_in_place<T: Pod>(&self, buf: &mut [T]) -> Result<()> {
        self.run(Collective::Alltoall, |c| {
            let n = args::block_len("buf", buf.len(), c.size())? * size_of::<T>();
            let cx = c.select(n, true);
            coll::gather::alltoall(&cx, None, bytes_mut(buf), n)
        })
    }

    /// Rank `j`'s block for this rank (`send_counts[r]` elements at `send_displs[r]` of its
    /// `send`) lands at `recv_displs[j]` of this rank's `recv` (`recv_counts[j]` elements);
    /// counts must match pairwise. Elements outside every block keep their values.
    #[allow(clippy::too_many_arguments)]
    pub fn alltoallv<T: Pod>(
        &self,
        send: &[T],
        send_counts: &[usize],
        send_displs: &[usize],
        recv: &mut [T],
        recv_counts: &[usize],
        recv_displs: &[usize],
    ) -> Result<()> {
        self.run(Collective::Alltoallv, |c| {
            let p = c.size();
            let s = args::check_v_layout("send", send_counts, send_displs, p, send.len(), true)?;
            let r = args::check_v_layout("recv", recv_counts, recv_displs, p, recv.len(), false)?;
            let me = c.rank();
            if send_counts[me] != recv_counts[me] {
                return Err(ArgError::new(
                    "recv_counts",
                    format!(
                        "this rank sends itself {} elements but expects {}",
                        send_counts[me], recv_counts[me]
                    ),
                )
                .into());
            }
            let avg = args::checked_sum("send_counts", send_counts)? / p * size_of::<T>();
            let cx = c.select(avg, true);
            let sz = size_of::<T>();
            coll::gather::alltoallv(
                &cx,
                Some((bytes(send), &v_ranges(s, sz))),
                bytes_mut(recv),
                &v_ranges(r, sz),
            )
        })
    }

    /// In-place alltoallv: `buf` is input and output, with `counts`/`displs` as both the send
    /// and the receive layout (MPI's rule); counts must be symmetric across ranks.
    pub fn alltoallv_in_place<T: Pod>(
        &self,
        buf: &mut [T],
        counts: &[usize],
        displs: &[usize],
    ) -> Result<()> {
        self.run(Collective::Alltoallv, |c| {
            let p = c.size();
            let r = args::check_v_layout("buf", counts, displs, p, buf.len(), false)?;
            let avg = args::checked_sum("counts", counts)? / p * size_of::<T>();
            let cx = c.select(avg, true);
            coll::gather::alltoallv(&cx, None, bytes_mut(buf), &v_ranges(r, size_of::<T>()))
        })
    }

    /// Reduces every rank's `send` (`size·n` elements); rank `r` receives block `r` of the
    /// result in `recv` (`n` elements).
    pub fn reduce_scatter_block<T: Pod, O: ReduceOp<T>>(
        &self,
        send: &[T],
        recv: &mut [T],
        op: &O,
    ) -> Result<()> {
        self.run(Collective::ReduceScatterBlock, |c| {
            let total = args::checked_total("send", recv.len(), c.size())?;
            args::check_len("send", total, send.len())?;
            let cx = c.select(size_of_val(recv), op.is_commutative());
            let counts = vec![recv.len(); c.size()];
            coll::reduce::reduce_scatter(&cx, Some(send), recv, &counts, op)
        })
    }

    /// In-place reduce_scatter_block: `buf` (`size·n` elements) is the input; the result is
    /// its first `n` elements, the rest keep their values.
    pub fn reduce_scatter_block_in_place<T: Pod, O: ReduceOp<T>>(
        &self,
        buf: &mut [T],
        op: &O,
    ) -> Result<()> {
        self.run(Collective::ReduceScatterBlock, |c| {
            let n = args::block_len("buf", buf.len(), c.size())?;
            let cx = c.select(n * size_of::<T>(), op.is_commutative());
            let counts = vec![n; c.size()];
            coll::reduce::reduce_scatter(&cx, None, buf, &counts, op)
        })
    }

    /// Reduces every rank's `send` (`sum(counts)` elements); rank `r` receives the
    /// `counts[r]` elements starting at `counts[0] + … + counts[r-1]` in `recv`.
    pub fn reduce_scatter<T: Pod, O: ReduceOp<T>>(
        &self,
        send: &[T],
        recv: &mut [T],
        counts: &[usize],
        op: &O,
    ) -> Result<()> {
        self.run(Collective::ReduceScatter, |c| {
            check_counts(counts, c.size())?;
            let total = args::checked_sum("counts", counts)?;
            args::check_len("send", total, send.len())?;
            args::check_len("recv", counts[c.rank()], recv.len())?;
            let cx = c.select(total / c.size() * size_of::<T>(), op.is_commutative());
            coll::reduce::reduce_scatter(&cx, Some(send), recv, counts, op)
        })
    }

    /// In-place reduce_scatter: `buf` (`sum(counts)` elements) is the input; the result is
    /// its first `counts[rank]` elements, the rest keep their values.
    pub fn reduce_scatter_in_place<T: Pod, O: ReduceOp<T>>(
        &self,
        buf: &mut [T],
        counts: &[usize],
        op: &O,
    ) -> Result<()> {
        self.run(Collective::ReduceScatter, |c| {
            check_counts(counts, c.size())?;
            let total = args::checked_sum("counts", counts)?;
            args::check_len("buf", total, buf.len())?;
            let cx = c.select(total / c.size() * size_of::<T>(), op.is_commutative());
            coll::reduce::reduce_scatter(&cx, None, buf, counts, op)
        })
    }

    /// Inclusive prefix reduction: rank `r` receives `x_0 ⊕ … ⊕ x_r` in `recv`.
    pub fn scan<T: Pod, O: ReduceOp<T>>(&self, send: &[T], recv: &mut [T], op: &O) -> Result<()> {
        self.run(Collective::Scan, |c| {
            args::check_len("recv", send.len(), recv.len())?;
            let cx = c.select(size_of_val(send), op.is_commutative());
            coll::scan::scan(&cx, Some(send), recv, op, false)
        })
    }

    /// In-place scan.
    pub fn scan_in_place<T: Pod, O: ReduceOp<T>>(&self, buf: &mut [T], op: &O) -> Result<()> {
        self.run(Collective::Scan, |c| {
            let cx = c.select(size_of_val(buf), op.is_commutative());
            coll::scan::scan(&cx, None, buf, op, false)
        })
    }

    /// Exclusive prefix reduction: rank `r > 0` receives `x_0 ⊕ … ⊕ x_{r-1}`; rank 0's
    /// `recv` is left untouched.
    pub fn exscan<T: Pod, O: ReduceOp<T>>(&self, send: &[T], recv: &mut [T], op: &O) -> Result<()> {
        self.run(Collective::Exscan, |c| {
            args::check_len("recv", send.len(), recv.len())?;
            let cx = c.select(size_of_val(send), op.is_commutative());
            coll::scan::scan(&cx, Some(send), recv, op, true)
        })
    }

    /// In-place exscan (rank 0's `buf` is left untouched).
    pub fn exscan_in_place<T: Pod, O: ReduceOp<T>>(&self, buf: &mut [T], op: &O) -> Result<()> {
        self.run(Collective::Exscan, |c| {
            let cx = c.select(size_of_val(buf), op.is_commutative());
            coll::scan::scan(&cx, None, buf, op, true)
        })
    }
}

fn root_only(rank: usize, root: usize, what: &str) -> Result<()> {
    if rank == root {
        Ok(())
    } else {
        Err(ArgError::new(
            "root",
            format!("in-place {what} is only allowed at the root (rank {rank} is not root {root})"),
        )
        .into())
    }
}

fn check_counts(counts: &[usize], p: usize) -> Result<()> {
    if counts.len() == p {
        Ok(())
    } else {
        Err(ArgError::new("counts", format!("{} counts for {p} ranks", counts.len())).into())
    }
}

impl Drop for Comm {
    fn drop(&mut self) {
        self.teardown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_is_send() {
        fn send<T: Send>() {}
        send::<Comm>();
    }

    #[test]
    fn hello_round_trips_and_rejects_garbage() {
        let h = Hello {
            can_map: true,
            node: 3,
            hash: 0x1234_5678_9abc_def0,
            cpus: vec![0, 5, 63],
        };
        let d = Hello::decode(0, &h.encode()).unwrap();
        assert!(d.can_map);
        assert_eq!(d.node, 3);
        assert_eq!(d.hash, h.hash);
        assert_eq!(d.cpus, h.cpus);
        assert!(Hello::decode(2, &[1, 2, 3]).is_err());
        assert!(Hello::decode(2, &[0; 17]).is_err());
        assert_eq!(
            Pending::decode_ids(&[1, 0, 0, 0, 2, 0, 0, 0, 1]),
            Some((1, 2))
        );
        assert_eq!(Pending::decode_ids(&[1, 0, 0]), None);
        assert_ne!(fnv(&[b"a", b"bc"]), fnv(&[b"ab", b"c"]));
    }
}
