//! Pure rank arithmetic for every algorithm of the collectives (no I/O, no memory access).
//!
//! Every pattern is built once for a communicator size (and root / radix where it has one)
//! and then asked for the *plan* of one rank: whom it receives from and sends to in which
//! round, which blocks it owns. Constructors check their arguments and every per-rank query
//! checks the rank, so bad input gives a [`PatternError`], never a panic.
//!
//! | pattern | used by |
//! |---|---|
//! | [`Dissemination`] (radix k) | `barrier: dissemination` |
//! | [`KnomialTree`] (any root, radix k; radix 2 = binomial) | `barrier: knomial`, `bcast: knomial`, `reduce: knomial`, `gather`/`scatter: binomial`, scatter phase of `bcast: scatter_allgather` |
//! | [`RecursiveDoubling`] (non-power-of-two folding) | `allreduce: recursive_doubling` |
//! | [`Ring`] | `allreduce: ring`, `reduce_scatter(_block): ring`, `allgather(v): ring`, allgather phase of `bcast: scatter_allgather` |
//! | [`Bruck`] | `allgather: bruck` |
//! | [`Pairwise`] | `alltoall(v): pairwise` |
//! | [`HillisSteele`] | `scan`/`exscan: recursive_doubling` |
//! | [`Blocks`], [`Chunks`] | two-shot slices, reduce-scatter blocks, scatter/allgather blocks, pipelining |
//! | [`flat_peers`] | every `flat` / `oneshot` algorithm |
//! | [`Hierarchy`] | node-leader (two-level) compositions |
//!
//! Reductions also need *which partial results meet in which order*: [`Combine`] describes the
//! combination tree of an algorithm (for one block of elements), and
//! [`crate::reference::reduce_by`] evaluates it, so tests can compare every algorithm bit for
//! bit with a serial computation even for floating point.

use core::fmt;
use core::ops::Range;

/// Errors of the pattern constructors and queries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatternError {
    /// A communicator (or group) of zero ranks.
    EmptyCommunicator,
    /// More ranks than patterns support ([`MAX_RANKS`]).
    TooManyRanks(usize),
    /// A rank (or root) outside `0..size`.
    RankOutOfRange {
        /// The rank given.
        rank: usize,
        /// The communicator size.
        size: usize,
    },
    /// A tree / dissemination radix below 2.
    InvalidRadix(usize),
    /// A partition into zero parts, or a granule of zero elements.
    InvalidPartition {
        /// What was wrong.
        what: &'static str,
    },
    /// A block, chunk, round or step index out of range.
    IndexOutOfRange {
        /// What kind of index.
        what: &'static str,
        /// The index given.
        index: usize,
        /// The number of valid indices.
        len: usize,
    },
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatternError::EmptyCommunicator => f.write_str("communicator of zero ranks"),
            PatternError::TooManyRanks(p) => {
                write!(f, "{p} ranks exceed the supported maximum of {MAX_RANKS}")
            }
            PatternError::RankOutOfRange { rank, size } => {
                write!(
                    f,
                    "rank {rank} out of range for a communicator of {size} ranks"
                )
            }
            PatternError::InvalidRadix(k) => write!(f, "radix {k} is invalid (must be >= 2)"),
            PatternError::InvalidPartition { what } => write!(f, "invalid partition: {what}"),
            PatternError::IndexOutOfRange { what, index, len } => {
                write!(f, "{what} index {index} out of range (0..{len})")
            }
        }
    }
}

impl std::error::Error for PatternError {}

/// The largest communicator size the patterns accept (keeps every `2·p` in range).
pub const MAX_RANKS: usize = 1 << 31;

fn check_size(p: usize) -> Result<(), PatternError> {
    if p == 0 {
        Err(PatternError::EmptyCommunicator)
    } else if p > MAX_RANKS {
        Err(PatternError::TooManyRanks(p))
    } else {
        Ok(())
    }
}

fn check_rank(r: usize, p: usize) -> Result<(), PatternError> {
    if r < p {
        Ok(())
    } else {
        Err(PatternError::RankOutOfRange { rank: r, size: p })
    }
}

fn check_radix(k: usize) -> Result<(), PatternError> {
    if k >= 2 {
        Ok(())
    } else {
        Err(PatternError::InvalidRadix(k))
    }
}

/// `ceil(log2(p))` for `p >= 1` (0 for `p == 1`).
pub fn ceil_log2(p: usize) -> u32 {
    if p <= 1 {
        0
    } else {
        usize::BITS - (p - 1).leading_zeros()
    }
}

/// The largest power of two `<= p` (`p >= 1`; 0 for `p == 0`).
pub fn pof2_floor(p: usize) -> usize {
    if p == 0 {
        0
    } else {
        1 << (usize::BITS - 1 - p.leading_zeros())
    }
}

/// The peers of rank `r` in a flat algorithm, in the order `r+1, r+2, …, r-1` (mod `p`), so
/// that simultaneous readers start on different ranks. (Reductions do not use this order for
/// combining: they always fold in rank order, see [`Combine::left_fold`].)
pub fn flat_peers(r: usize, p: usize) -> Result<Vec<usize>, PatternError> {
    check_size(p)?;
    check_rank(r, p)?;
    Ok((1..p).map(|i| (r + i) % p).collect())
}

// ---------------------------------------------------------------------------------------------
// Dissemination
// ---------------------------------------------------------------------------------------------

/// The k-ary dissemination pattern (Hensgen, Finkel & Manber; k-ary form as in MPICH's
/// `k_dissemination`): in round `i` (distance `d = k^i`), rank `r` signals `r + j·d` and waits
/// for `r - j·d` (mod `p`) for every `j` in `1..k` with `j·d < p`. After `ceil(log_k p)` rounds
/// every rank has (transitively) heard from every other rank; no release phase is needed.
///
/// The senders a rank waits for over all rounds are pairwise distinct (`j·k^i` are distinct
/// values in `1..p`), so one inbox slot per sender suffices for a whole barrier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dissemination {
    p: usize,
    radix: usize,
}

/// One round of a dissemination barrier, seen from one rank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisseminationRound {
    /// The distance `k^round`.
    pub distance: usize,
    /// Ranks to signal (`r + j·distance`), in order of `j`.
    pub send_to: Vec<usize>,
    /// Ranks to wait for (`r - j·distance`), in order of `j`.
    pub recv_from: Vec<usize>,
}

impl Dissemination {
    /// The pattern for `p` ranks and radix `radix >= 2` (2 = the classic barrier).
    pub fn new(p: usize, radix: usize) -> Result<Self, PatternError> {
        check_size(p)?;
        check_radix(radix)?;
        Ok(Dissemination { p, radix })
    }

    /// Number of rounds: the smallest `R` with `radix^R >= p`.
    pub fn rounds(&self) -> usize {
        let mut rounds = 0;
        let mut reach = 1usize;
        while reach < self.p {
            reach = reach.saturating_mul(self.radix);
            rounds += 1;
        }
        rounds
    }

    /// The plan of rank `r`: one entry per round.
    pub fn plan(&self, r: usize) -> Result<Vec<DisseminationRound>, PatternError> {
        check_rank(r, self.p)?;
        let p = self.p;
        let mut out = Vec::with_capacity(self.rounds());
        let mut d = 1usize;
        for _ in 0..self.rounds() {
            let mut send_to = Vec::new();
            let mut recv_from = Vec::new();
            for j in 1..self.radix {
                let Some(off) = j.checked_mul(d).filter(|&o| o < p) else {
                    break;
                };
                send_to.push((r + off) % p);
                recv_from.push((r + p - off) % p);
            }
            out.push(DisseminationRound {
                distance: d,
                send_to,
                recv_from,
            });
            d = d.saturating_mul(self.radix);
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------
// k-nomial tree
// ---------------------------------------------------------------------------------------------

/// A k-nomial tree over `p` ranks rooted at any rank (radix 2 = binomial tree).
///
/// Ranks are renumbered relative to the root, `v = (r - root) mod p`. The parent of `v > 0` is
/// `v` with its lowest non-zero base-k digit cleared; the children of `v` are `v + j·k^i` for
/// every `i` below `v`'s lowest non-zero digit (every `i` for the root) and `j` in `1..k`, as
/// long as they are `< p`. The subtree of `v` is the contiguous relative range
/// `v .. min(v + k^i, p)` where `k^i` is the weight of `v`'s lowest non-zero digit — which is
/// what lets gather/scatter move a subtree's blocks as one contiguous piece, and what makes the
/// reduction schedule [`KnomialTree::reduce_tree`] rank-ordered in relative ranks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnomialTree {
    p: usize,
    root: usize,
    radix: usize,
}

/// One rank's place in a [`KnomialTree`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeNode {
    /// The rank.
    pub rank: usize,
    /// Its rank relative to the root.
    pub relative: usize,
    /// Its parent (absolute rank), `None` for the root.
    pub parent: Option<usize>,
    /// Its children (absolute ranks) in ascending relative order, i.e. smallest subtree first.
    /// A broadcast sends to them in reverse (largest subtree first); a reduction combines them
    /// in this order.
    pub children: Vec<usize>,
    /// Its subtree as a range of *relative* ranks (starts with itself).
    pub subtree: Range<usize>,
    /// Its depth (root = 0).
    pub depth: usize,
}

impl KnomialTree {
    /// The tree for `p` ranks rooted at `root`, radix `radix >= 2`.
    pub fn new(p: usize, root: usize, radix: usize) -> Result<Self, PatternError> {
        check_size(p)?;
        check_rank(root, p)?;
        check_radix(radix)?;
        Ok(KnomialTree { p, root, radix })
    }

    /// A binomial tree (radix 2).
    pub fn binomial(p: usize, root: usize) -> Result<Self, PatternError> {
        Self::new(p, root, 2)
    }

    /// The root.
    pub fn root(&self) -> usize {
        self.root
    }

    /// The communicator size.
    pub fn size(&self) -> usize {
        self.p
    }

    /// Relative rank of absolute rank `r` (no range check).
    fn rel(&self, r: usize) -> usize {
        (r + self.p - self.root) % self.p
    }

    /// Absolute rank of relative rank `v` (no range check).
    pub fn absolute(&self, v: usize) -> usize {
        (v + self.root) % self.p
    }

    /// Weight `k^i` of the lowest non-zero base-k digit of `v > 0`; for the root, the first
    /// power of k that is `>= p` (so every `k^i < p` is below it).
    fn low_weight(&self, v: usize) -> usize {
        let mut w = 1usize;
        if v == 0 {
            while w < self.p {
                w = w.saturating_mul(self.radix);
            }
            return w;
        }
        while (v / w).is_multiple_of(self.radix) {
            w *= self.radix;
        }
        w
    }

    /// The node of rank `r`.
    pub fn node(&self, r: usize) -> Result<TreeNode, PatternError> {
        check_rank(r, self.p)?;
        let v = self.rel(r);
        let low = self.low_weight(v);
        let parent = (v != 0).then(|| self.absolute(v - ((v / low) % self.radix) * low));
        let mut children = Vec::new();
        let mut w = 1usize;
        while w < low && w < self.p {
            for j in 1..self.radix {
                match j.checked_mul(w).and_then(|o| o.checked_add(v)) {
                    Some(c) if c < self.p => children.push(self.absolute(c)),
                    _ => break,
                }
            }
            w = w.saturating_mul(self.radix);
        }
        let end = if v == 0 {
            self.p
        } else {
            v.saturating_add(low).min(self.p)
        };
        let mut depth = 0;
        let mut x = v;
        while x != 0 {
            let lw = self.low_weight(x);
            x -= ((x / lw) % self.radix) * lw;
            depth += 1;
        }
        Ok(TreeNode {
            rank: r,
            relative: v,
            parent,
            children,
            subtree: v..end,
            depth,
        })
    }

    /// The combination tree of a reduction along this tree: every node folds its own input
    /// with its children's partial results in ascending relative order,
    /// `x_v ⊕ sub(c_1) ⊕ sub(c_2) ⊕ …`. Its leaves are the relative ranks in order, so it is
    /// rank-ordered when the root is rank 0 (for other roots it is rank-ordered in relative
    /// ranks only and is used with commutative operators).
    pub fn reduce_tree(&self) -> Combine {
        self.subtree_combine(0)
    }

    fn subtree_combine(&self, v: usize) -> Combine {
        // Depth of recursion = tree depth (log_k p).
        let node = self
            .node(self.absolute(v))
            .expect("relative rank below p is valid");
        let mut acc = Combine::leaf(node.rank);
        for c in node.children {
            acc = Combine::join(acc, self.subtree_combine(self.rel(c)));
        }
        acc
    }
}

// ---------------------------------------------------------------------------------------------
// Recursive doubling with non-power-of-two folding
// ---------------------------------------------------------------------------------------------

/// Recursive doubling over `p` ranks, folding the ranks beyond the largest power of two
/// `p' <= p` first (as MPICH's allreduce): with `rem = p - p'`, each even rank `2i < 2·rem`
/// sends its input to `2i + 1` and waits for the result ("extra"); the `p'` remaining ranks get
/// new ranks (`2i + 1 → i`, `r >= 2·rem → r - rem`) and exchange with `new ^ 2^j` in round
/// `j`; finally every odd `2i + 1 < 2·rem` sends the result back to `2i`.
///
/// Operand order: new ranks map to contiguous, increasing rank ranges, so in round `j` the
/// rank whose new rank has bit `j` clear holds the lower ranks' partial result and computes
/// `mine ⊕ theirs`; its partner computes `theirs ⊕ mine` — the same value, bit for bit. The
/// fold step is `x_{2i} ⊕ x_{2i+1}`. See [`RecursiveDoubling::combine_tree`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecursiveDoubling {
    p: usize,
    pof2: usize,
    rem: usize,
}

/// What one rank does in [`RecursiveDoubling`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RdPlan {
    /// An even rank below `2·rem`: send the input to `partner`, then receive the result from it.
    Extra {
        /// The odd rank `r + 1`.
        partner: usize,
    },
    /// A rank that takes part in the exchange rounds.
    Active {
        /// Its rank among the `p'` active ranks.
        newrank: usize,
        /// `Some(r - 1)` for an odd rank below `2·rem`: receive that rank's input first and
        /// compute `x_{r-1} ⊕ x_r`, and send it the result at the end.
        folded: Option<usize>,
        /// The partner (absolute rank) of every round, and whether this rank holds the lower
        /// half (then it computes `mine ⊕ theirs`, else `theirs ⊕ mine`).
        rounds: Vec<RdRound>,
    },
}

/// One exchange round of [`RecursiveDoubling`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RdRound {
    /// The partner's absolute rank.
    pub partner: usize,
    /// True if this rank's partial result covers the lower ranks (left operand).
    pub mine_is_left: bool,
}

impl RecursiveDoubling {
    /// The pattern for `p` ranks.
    pub fn new(p: usize) -> Result<Self, PatternError> {
        check_size(p)?;
        let pof2 = pof2_floor(p);
        Ok(RecursiveDoubling {
            p,
            pof2,
            rem: p - pof2,
        })
    }

    /// The largest power of two `<= p`.
    pub fn pof2(&self) -> usize {
        self.pof2
    }

    /// Number of exchange rounds, `log2(pof2)`.
    pub fn rounds(&self) -> usize {
        self.pof2.trailing_zeros() as usize
    }

    /// Absolute rank of active rank `newrank`.
    fn real(&self, newrank: usize) -> usize {
        if newrank < self.rem {
            2 * newrank + 1
        } else {
            newrank + self.rem
        }
    }

    /// The plan of rank `r`.
    pub fn plan(&self, r: usize) -> Result<RdPlan, PatternError> {
        check_rank(r, self.p)?;
        if r < 2 * self.rem && r.is_multiple_of(2) {
            return Ok(RdPlan::Extra { partner: r + 1 });
        }
        let (newrank, folded) = if r < 2 * self.rem {
            (r / 2, Some(r - 1))
        } else {
            (r - self.rem, None)
        };
        let rounds = (0..self.rounds())
            .map(|j| {
                let partner_new = newrank ^ (1 << j);
                RdRound {
                    partner: self.real(partner_new),
                    mine_is_left: newrank & (1 << j) == 0,
                }
            })
            .collect();
        Ok(RdPlan::Active {
            newrank,
            folded,
            rounds,
        })
    }

    /// The combination tree every rank's result equals (rank-ordered).
    pub fn combine_tree(&self) -> Combine {
        let mut t: Vec<Combine> = (0..self.pof2)
            .map(|n| {
                if n < self.rem {
                    Combine::join(Combine::leaf(2 * n), Combine::leaf(2 * n + 1))
                } else {
                    Combine::leaf(n + self.rem)
                }
            })
            .collect();
        for j in 0..self.rounds() {
            let mask = 1 << j;
            t = (0..self.pof2)
                .map(|n| {
                    if n & mask == 0 {
                        Combine::join(t[n].clone(), t[n ^ mask].clone())
                    } else {
                        Combine::join(t[n ^ mask].clone(), t[n].clone())
                    }
                })
                .collect();
        }
        t.swap_remove(0)
    }
}

// ---------------------------------------------------------------------------------------------
// Ring
// ---------------------------------------------------------------------------------------------

/// A ring `r → r + 1 (mod p)`, with `p` blocks (block `b` is owned by rank `b` at the end of a
/// reduce-scatter and at the start of an allgather).
///
/// Reduce-scatter, steps `s = 0 .. p-1`: rank `r` sends its partial result of block
/// `r - s - 1` to the right and receives block `r - s - 2` from the left, computing
/// `received ⊕ own`. Block `b`'s partial result travels `b+1 → b+2 → … → b`, so rank `b` ends
/// with block `b` reduced in the order of [`Ring::reduce_block_chain`] (a rotated chain: not
/// rank-ordered except for the last block, so ring is used with commutative operators).
///
/// Allgather, steps `s = 0 .. p-1`: rank `r` sends block `r - s` to the right and receives
/// block `r - s - 1` from the left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ring {
    p: usize,
}

/// One step of a ring algorithm, seen from one rank (block indices).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingStep {
    /// Block sent to the right neighbour.
    pub send_block: usize,
    /// Block received from the left neighbour.
    pub recv_block: usize,
}

impl Ring {
    /// The ring of `p` ranks.
    pub fn new(p: usize) -> Result<Self, PatternError> {
        check_size(p)?;
        Ok(Ring { p })
    }

    /// Number of steps of each phase, `p - 1`.
    pub fn steps(&self) -> usize {
        self.p - 1
    }

    /// The left neighbour (sender to `r`).
    pub fn left(&self, r: usize) -> Result<usize, PatternError> {
        check_rank(r, self.p)?;
        Ok((r + self.p - 1) % self.p)
    }

    /// The right neighbour (receiver from `r`).
    pub fn right(&self, r: usize) -> Result<usize, PatternError> {
        check_rank(r, self.p)?;
        Ok((r + 1) % self.p)
    }

    fn check_step(&self, s: usize) -> Result<(), PatternError> {
        if s < self.steps() {
            Ok(())
        } else {
            Err(PatternError::IndexOutOfRange {
                what: "ring step",
                index: s,
                len: self.steps(),
            })
        }
    }

    /// Step `s` of the reduce-scatter phase for rank `r`.
    pub fn reduce_scatter_step(&self, r: usize, s: usize) -> Result<RingStep, PatternError> {
        check_rank(r, self.p)?;
        self.check_step(s)?;
        let p = self.p;
        Ok(RingStep {
            send_block: (r + 2 * p - s - 1) % p,
            recv_block: (r + 2 * p - s - 2) % p,
        })
    }

    /// Step `s` of the allgather phase for rank `r`.
    pub fn allgather_step(&self, r: usize, s: usize) -> Result<RingStep, PatternError> {
        check_rank(r, self.p)?;
        self.check_step(s)?;
        let p = self.p;
        Ok(RingStep {
            send_block: (r + p - s) % p,
            recv_block: (r + 2 * p - s - 1) % p,
        })
    }

    /// The combination order of block `b` in the reduce-scatter phase:
    /// `((x_{b+1} ⊕ x_{b+2}) ⊕ …) ⊕ x_b` (indices mod `p`).
    pub fn reduce_block_chain(&self, b: usize) -> Result<Combine, PatternError> {
        if b >= self.p {
            return Err(PatternError::IndexOutOfRange {
                what: "ring block",
                index: b,
                len: self.p,
            });
        }
        Ok(Combine::left_fold((1..=self.p).map(|i| (b + i) % self.p)).expect("p >= 1 leaves"))
    }
}

// ---------------------------------------------------------------------------------------------
// Bruck allgather
// ---------------------------------------------------------------------------------------------

/// Bruck's allgather: `ceil(log2 p)` rounds. Rank `r` keeps a local buffer whose position `i`
/// holds block `(r + i) mod p`, starting with its own block at position 0. In round `k`
/// (distance `d = 2^k`) it sends positions `0 .. n` to `r - d` and receives positions
/// `d .. d + n` from `r + d`, with `n = min(d, p - d)`. At the end, output block `j` is local
/// position `(j - r) mod p`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bruck {
    p: usize,
}

/// One round of [`Bruck`], seen from one rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BruckRound {
    /// The distance `2^k`; received blocks go to local positions `distance .. distance + count`.
    pub distance: usize,
    /// Destination rank `r - distance`.
    pub send_to: usize,
    /// Source rank `r + distance`.
    pub recv_from: usize,
    /// Number of blocks sent and received (local positions `0 .. count` are sent).
    pub count: usize,
}

impl Bruck {
    /// The pattern for `p` ranks.
    pub fn new(p: usize) -> Result<Self, PatternError> {
        check_size(p)?;
        Ok(Bruck { p })
    }

    /// Number of rounds, `ceil(log2 p)`.
    pub fn rounds(&self) -> usize {
        ceil_log2(self.p) as usize
    }

    /// The rounds of rank `r`.
    pub fn plan(&self, r: usize) -> Result<Vec<BruckRound>, PatternError> {
        check_rank(r, self.p)?;
        let p = self.p;
        Ok((0..self.rounds())
            .map(|k| {
                let d = 1usize << k;
                BruckRound {
                    distance: d,
                    send_to: (r + p - d) % p,
                    recv_from: (r + d) % p,
                    count: d.min(p - d),
                }
            })
            .collect())
    }

    /// The local buffer position of output block `j` on rank `r` (the final rotation).
    pub fn local_position(&self, r: usize, j: usize) -> Result<usize, PatternError> {
        check_rank(r, self.p)?;
        check_rank(j, self.p)?;
        Ok((j + self.p - r) % self.p)
    }
}

// ---------------------------------------------------------------------------------------------
// Pairwise exchange
// ---------------------------------------------------------------------------------------------

/// Pairwise exchange for alltoall: in step `s = 1 .. p`, rank `r` sends its block for
/// `r + s` and receives the block from `r - s` (mod `p`). Every ordered pair meets exactly once
/// and each step is a permutation, so no rank receives from two senders in one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pairwise {
    p: usize,
}

/// One step of [`Pairwise`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairwiseStep {
    /// Rank sent to (and whose block is sent).
    pub send_to: usize,
    /// Rank received from.
    pub recv_from: usize,
}

impl Pairwise {
    /// The pattern for `p` ranks.
    pub fn new(p: usize) -> Result<Self, PatternError> {
        check_size(p)?;
        Ok(Pairwise { p })
    }

    /// The steps of rank `r` (`p - 1` of them; the local block is copied separately).
    pub fn plan(&self, r: usize) -> Result<Vec<PairwiseStep>, PatternError> {
        check_rank(r, self.p)?;
        let p = self.p;
        Ok((1..p)
            .map(|s| PairwiseStep {
                send_to: (r + s) % p,
                recv_from: (r + p - s) % p,
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------------
// Hillis–Steele scan
// ---------------------------------------------------------------------------------------------

/// Recursive-doubling (Hillis–Steele) scan: in round `k` (distance `d = 2^k`) rank `r` sends
/// its inclusive partial result to `r + d` (if `< p`) and receives one from `r - d` (if `>= 0`),
/// then computes `inclusive = received ⊕ inclusive` and
/// `exclusive = received ⊕ exclusive` (or `= received` the first time). Received partial
/// results always cover the ranks just below the local ones, so both results are rank-ordered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HillisSteele {
    p: usize,
}

/// One round of [`HillisSteele`], seen from one rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanRound {
    /// The distance `2^k`.
    pub distance: usize,
    /// `r + d` if it exists.
    pub send_to: Option<usize>,
    /// `r - d` if it exists.
    pub recv_from: Option<usize>,
}

impl HillisSteele {
    /// The pattern for `p` ranks.
    pub fn new(p: usize) -> Result<Self, PatternError> {
        check_size(p)?;
        Ok(HillisSteele { p })
    }

    /// Number of rounds, `ceil(log2 p)`.
    pub fn rounds(&self) -> usize {
        ceil_log2(self.p) as usize
    }

    /// The rounds of rank `r`.
    pub fn plan(&self, r: usize) -> Result<Vec<ScanRound>, PatternError> {
        check_rank(r, self.p)?;
        Ok((0..self.rounds())
            .map(|k| {
                let d = 1usize << k;
                ScanRound {
                    distance: d,
                    send_to: (r + d < self.p).then_some(r + d),
                    recv_from: r.checked_sub(d),
                }
            })
            .collect())
    }

    /// The combination trees of every rank's inclusive and exclusive results (`None` for the
    /// exclusive result of rank 0), by simulating the rounds.
    pub fn combine_trees(&self) -> (Vec<Combine>, Vec<Option<Combine>>) {
        let p = self.p;
        let mut incl: Vec<Combine> = (0..p).map(Combine::leaf).collect();
        let mut excl: Vec<Option<Combine>> = vec![None; p];
        for k in 0..self.rounds() {
            let d = 1usize << k;
            let old = incl.clone();
            for r in d..p {
                let t = old[r - d].clone();
                excl[r] = Some(match excl[r].take() {
                    None => t.clone(),
                    Some(e) => Combine::join(t.clone(), e),
                });
                incl[r] = Combine::join(t, old[r].clone());
            }
        }
        (incl, excl)
    }
}

// ---------------------------------------------------------------------------------------------
// Block partitions and chunks
// ---------------------------------------------------------------------------------------------

/// A partition of `count` elements into `parts` contiguous, ascending blocks whose sizes differ
/// by at most one granule: the elements are cut into units of `granule` elements (the last
/// unit may be short) and the *last* `units % parts` blocks get one unit more (so the block
/// holding the short unit is a long one). With granule 1 this is an even split, sizes
/// differing by at most one element; two-shot slices use a granule of one cache line (or more)
/// so that no two slice owners write the same line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocks {
    count: usize,
    parts: usize,
    granule: usize,
    units: usize,
}

impl Blocks {
    /// `count` elements in `parts` blocks, sizes differing by at most one element.
    pub fn even(count: usize, parts: usize) -> Result<Self, PatternError> {
        Self::aligned(count, parts, 1)
    }

    /// `count` elements in `parts` blocks of whole `granule`-element units.
    pub fn aligned(count: usize, parts: usize, granule: usize) -> Result<Self, PatternError> {
        if parts == 0 {
            return Err(PatternError::InvalidPartition { what: "zero parts" });
        }
        if granule == 0 {
            return Err(PatternError::InvalidPartition {
                what: "zero-element granule",
            });
        }
        Ok(Blocks {
            count,
            parts,
            granule,
            units: count.div_ceil(granule),
        })
    }

    /// The number of blocks.
    pub fn parts(&self) -> usize {
        self.parts
    }

    /// The number of elements partitioned.
    pub fn count(&self) -> usize {
        self.count
    }

    fn unit_start(&self, i: usize) -> usize {
        let q = self.units / self.parts;
        let short = self.parts - self.units % self.parts; // blocks with q units come first
        i * q + i.saturating_sub(short)
    }

    /// Element range of block `i`.
    pub fn range(&self, i: usize) -> Result<Range<usize>, PatternError> {
        if i >= self.parts {
            return Err(PatternError::IndexOutOfRange {
                what: "block",
                index: i,
                len: self.parts,
            });
        }
        let start = self
            .unit_start(i)
            .saturating_mul(self.granule)
            .min(self.count);
        let end = self
            .unit_start(i + 1)
            .saturating_mul(self.granule)
            .min(self.count);
        Ok(start..end)
    }

    /// The block that owns element `e`.
    pub fn owner(&self, e: usize) -> Result<usize, PatternError> {
        if e >= self.count {
            return Err(PatternError::IndexOutOfRange {
                what: "element",
                index: e,
                len: self.count,
            });
        }
        let unit = e / self.granule;
        let q = self.units / self.parts;
        let short = self.parts - self.units % self.parts;
        // Blocks 0..short have q units, the others q + 1.
        let boundary = short * q;
        Ok(if unit < boundary {
            unit / q
        } else {
            short + (unit - boundary) / (q + 1)
        })
    }

    /// All block ranges in order.
    pub fn ranges(&self) -> Vec<Range<usize>> {
        (0..self.parts)
            .map(|i| self.range(i).expect("i < parts"))
            .collect()
    }
}

/// `total` elements cut into pipeline chunks of at most `chunk` elements (the last one short).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunks {
    total: usize,
    chunk: usize,
}

impl Chunks {
    /// Chunks of `chunk >= 1` elements over `total` elements.
    pub fn new(total: usize, chunk: usize) -> Result<Self, PatternError> {
        if chunk == 0 {
            return Err(PatternError::InvalidPartition {
                what: "zero-element chunk",
            });
        }
        Ok(Chunks { total, chunk })
    }

    /// Number of chunks (0 for an empty range).
    pub fn len(&self) -> usize {
        self.total.div_ceil(self.chunk)
    }

    /// Whether there is no chunk.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Element range of chunk `i`.
    pub fn range(&self, i: usize) -> Result<Range<usize>, PatternError> {
        if i >= self.len() {
            return Err(PatternError::IndexOutOfRange {
                what: "chunk",
                index: i,
                len: self.len(),
            });
        }
        Ok(i * self.chunk..(i + 1).saturating_mul(self.chunk).min(self.total))
    }
}

// ---------------------------------------------------------------------------------------------
// Scatter + allgather broadcast
// ---------------------------------------------------------------------------------------------

/// The van de Geijn broadcast for large messages: the root's data is cut into `p` blocks
/// ([`Blocks::even`]) indexed by *relative* rank; a binomial scatter gives relative rank `v`
/// the blocks of its subtree (`node.subtree`), then a ring allgather over relative ranks
/// (relative rank `v` owns block `v` and sends to `v + 1`) completes every rank's copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScatterAllgather {
    tree: KnomialTree,
    blocks: Blocks,
}

/// One rank's plan in [`ScatterAllgather`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScatterAllgatherPlan {
    /// The rank's binomial-tree node (parent, children, subtree as relative ranks).
    pub node: TreeNode,
    /// Element range the rank receives from its parent (its subtree's blocks; for the root,
    /// everything).
    pub scatter_recv: Range<usize>,
    /// For every child (same order as `node.children`), the element range sent to it.
    pub scatter_send: Vec<Range<usize>>,
    /// Left and right neighbours (absolute ranks) of the ring over relative ranks.
    pub ring_left: usize,
    /// See `ring_left`.
    pub ring_right: usize,
    /// For each ring step, (element range sent to the right, element range received).
    pub ring_steps: Vec<(Range<usize>, Range<usize>)>,
}

impl ScatterAllgather {
    /// The pattern for `count` elements over `p` ranks from `root`.
    pub fn new(p: usize, root: usize, count: usize) -> Result<Self, PatternError> {
        Ok(ScatterAllgather {
            tree: KnomialTree::binomial(p, root)?,
            blocks: Blocks::even(count, p)?,
        })
    }

    fn span(&self, rel: &Range<usize>) -> Range<usize> {
        if rel.is_empty() {
            return 0..0;
        }
        let first = self.blocks.range(rel.start).expect("block index < p");
        let last = self.blocks.range(rel.end - 1).expect("block index < p");
        first.start..last.end
    }

    /// The plan of rank `r`.
    pub fn plan(&self, r: usize) -> Result<ScatterAllgatherPlan, PatternError> {
        let node = self.tree.node(r)?;
        let p = self.tree.size();
        let v = node.relative;
        let scatter_recv = self.span(&node.subtree);
        let scatter_send = node
            .children
            .iter()
            .map(|&c| {
                let cn = self.tree.node(c).expect("child rank is valid");
                self.span(&cn.subtree)
            })
            .collect();
        let ring = Ring::new(p)?;
        let ring_steps = (0..ring.steps())
            .map(|s| {
                let st = ring.allgather_step(v, s).expect("v < p and s < steps");
                (
                    self.blocks.range(st.send_block).expect("block < p"),
                    self.blocks.range(st.recv_block).expect("block < p"),
                )
            })
            .collect();
        Ok(ScatterAllgatherPlan {
            scatter_recv,
            scatter_send,
            ring_left: self.tree.absolute((v + p - 1) % p),
            ring_right: self.tree.absolute((v + 1) % p),
            ring_steps,
            node,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Two-level hierarchy
// ---------------------------------------------------------------------------------------------

/// Groups of ranks sharing a key (a node id, a socket), for two-level compositions: groups are
/// ordered by their lowest rank, members ascend, and each group's leader is its lowest rank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hierarchy {
    groups: Vec<Vec<usize>>,
    group_of: Vec<usize>,
}

impl Hierarchy {
    /// Groups ranks `0..keys.len()` by equal `keys[r]`.
    pub fn from_keys<K: PartialEq>(keys: &[K]) -> Result<Self, PatternError> {
        check_size(keys.len())?;
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut group_of = Vec::with_capacity(keys.len());
        for (r, k) in keys.iter().enumerate() {
            match groups.iter().position(|g| keys[g[0]] == *k) {
                Some(g) => {
                    groups[g].push(r);
                    group_of.push(g);
                }
                None => {
                    group_of.push(groups.len());
                    groups.push(vec![r]);
                }
            }
        }
        Ok(Hierarchy { groups, group_of })
    }

    /// The groups (members ascending, groups ordered by first member).
    pub fn groups(&self) -> &[Vec<usize>] {
        &self.groups
    }

    /// Each group's leader (its lowest rank), in group order.
    pub fn leaders(&self) -> Vec<usize> {
        self.groups.iter().map(|g| g[0]).collect()
    }

    /// The group index of rank `r`, and `r`'s index inside it.
    pub fn position(&self, r: usize) -> Result<(usize, usize), PatternError> {
        check_rank(r, self.group_of.len())?;
        let g = self.group_of[r];
        let i = self.groups[g]
            .iter()
            .position(|&m| m == r)
            .expect("rank is in its group");
        Ok((g, i))
    }
}

// ---------------------------------------------------------------------------------------------
// Combination trees
// ---------------------------------------------------------------------------------------------

/// One node of a [`Combine`] tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CombineStep {
    /// The input of a rank.
    Leaf(usize),
    /// `steps[left] ⊕ steps[right]` (indices of earlier steps).
    Join {
        /// Index of the left operand's step.
        left: usize,
        /// Index of the right operand's step.
        right: usize,
    },
}

/// The combination tree of a reduction: which partial results are combined with `⊕`, in which
/// operand order. Stored flat (children before parents, the result last), so evaluation and
/// drop never recurse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Combine {
    steps: Vec<CombineStep>,
}

impl Combine {
    /// The input of rank `r`.
    pub fn leaf(r: usize) -> Self {
        Combine {
            steps: vec![CombineStep::Leaf(r)],
        }
    }

    /// `left ⊕ right`.
    pub fn join(left: Combine, right: Combine) -> Self {
        let mut steps = left.steps;
        let left_root = steps.len() - 1;
        let offset = steps.len();
        steps.extend(right.steps.into_iter().map(|s| match s {
            CombineStep::Leaf(r) => CombineStep::Leaf(r),
            CombineStep::Join { left, right } => CombineStep::Join {
                left: left + offset,
                right: right + offset,
            },
        }));
        let right_root = steps.len() - 1;
        steps.push(CombineStep::Join {
            left: left_root,
            right: right_root,
        });
        Combine { steps }
    }

    /// `((x_a ⊕ x_b) ⊕ x_c) ⊕ …` over the ranks in the order given; `None` if there are none.
    pub fn left_fold<I: IntoIterator<Item = usize>>(ranks: I) -> Option<Self> {
        let mut it = ranks.into_iter();
        let first = it.next()?;
        let mut steps = vec![CombineStep::Leaf(first)];
        for r in it {
            let acc = steps.len() - 1;
            steps.push(CombineStep::Leaf(r));
            steps.push(CombineStep::Join {
                left: acc,
                right: acc + 1,
            });
        }
        Some(Combine { steps })
    }

    /// The rank-order left fold over `0..p`, the schedule of every flat / one-shot / two-shot
    /// / linear algorithm; `None` for `p == 0`.
    pub fn rank_order(p: usize) -> Option<Self> {
        Self::left_fold(0..p)
    }

    /// The steps (children before parents; the last step is the result).
    pub fn steps(&self) -> &[CombineStep] {
        &self.steps
    }

    /// The leaves in in-order (left to right), i.e. the order in which the ranks' inputs appear
    /// in the expression.
    pub fn leaves(&self) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = vec![self.steps.len() - 1];
        while let Some(i) = stack.pop() {
            match self.steps[i] {
                CombineStep::Leaf(r) => out.push(r),
                CombineStep::Join { left, right } => {
                    stack.push(right);
                    stack.push(left);
                }
            }
        }
        out
    }

    /// Whether the in-order leaves strictly increase: then the expression equals the rank-order
    /// fold for any associative operator, commutative or not.
    pub fn is_rank_ordered(&self) -> bool {
        self.leaves().windows(2).all(|w| w[0] < w[1])
    }

    /// Number of `⊕` operations on the longest path (0 for a single leaf).
    pub fn depth(&self) -> usize {
        let mut depth = vec![0usize; self.steps.len()];
        for (i, s) in self.steps.iter().enumerate() {
            if let CombineStep::Join { left, right } = *s {
                depth[i] = 1 + depth[left].max(depth[right]);
            }
        }
        depth[self.steps.len() - 1]
    }

    /// Evaluates the tree: `leaf(r)` gives a rank's input, `join(a, b)` computes `a ⊕ b`. Each
    /// intermediate value is consumed exactly once.
    pub fn eval<V, L, J, E>(&self, mut leaf: L, mut join: J) -> Result<V, E>
    where
        L: FnMut(usize) -> Result<V, E>,
        J: FnMut(V, V) -> Result<V, E>,
    {
        let mut vals: Vec<Option<V>> = Vec::with_capacity(self.steps.len());
        for s in &self.steps {
            let v = match *s {
                CombineStep::Leaf(r) => leaf(r)?,
                CombineStep::Join { left, right } => {
                    let a = vals[left].take().expect("each step is used once");
                    let b = vals[right].take().expect("each step is used once");
                    join(a, b)?
                }
            };
            vals.push(Some(v));
        }
        Ok(vals.pop().flatten().expect("a tree has at least one step"))
    }

    /// Renders the expression, e.g. `((0+1)+2)`; for messages and test failures.
    pub fn render(&self) -> String {
        self.eval::<String, _, _, core::convert::Infallible>(
            |r| Ok(r.to_string()),
            |a, b| Ok(format!("({a}+{b})")),
        )
        .unwrap_or_else(|e| match e {})
    }
}

/// Which [`Combine`] tree each element of a reduction follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Every element uses the same tree (flat, one-shot, two-shot, linear, recursive
    /// doubling, k-nomial).
    Uniform(Combine),
    /// The elements are partitioned into contiguous ranges, each with its own tree (ring).
    PerBlock {
        /// Ascending, contiguous ranges covering `0..count`.
        ranges: Vec<Range<usize>>,
        /// One tree per range.
        trees: Vec<Combine>,
    },
}

impl Schedule {
    /// The rank-order left fold over `p` ranks, the schedule of every flat / one-shot /
    /// two-shot / linear algorithm.
    pub fn rank_order(p: usize) -> Result<Self, PatternError> {
        check_size(p)?;
        Ok(Schedule::Uniform(Combine::rank_order(p).expect("p >= 1")))
    }

    /// The ring reduce-scatter over `count` elements cut into `p` blocks with
    /// [`Blocks::even`] (ring allreduce).
    pub fn ring(p: usize, count: usize) -> Result<Self, PatternError> {
        let blocks = Blocks::even(count, p)?;
        Self::ring_ranges(blocks.ranges())
    }

    /// The ring reduce-scatter with the given block ranges, one per rank (reduce-scatter with
    /// per-rank counts).
    pub fn ring_ranges(ranges: Vec<Range<usize>>) -> Result<Self, PatternError> {
        let ring = Ring::new(ranges.len())?;
        let trees = (0..ranges.len())
            .map(|b| ring.reduce_block_chain(b))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Schedule::PerBlock { ranges, trees })
    }

    /// Whether every tree is rank-ordered (usable with non-commutative operators).
    pub fn is_rank_ordered(&self) -> bool {
        match self {
            Schedule::Uniform(c) => c.is_rank_ordered(),
            Schedule::PerBlock { trees, .. } => trees.iter().all(Combine::is_rank_ordered),
        }
    }
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)] // simulations index several per-rank tables by rank
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const SIZES: core::ops::RangeInclusive<usize> = 1..=17;

    #[test]
    fn helpers() {
        assert_eq!(
            (1..=17).map(ceil_log2).collect::<Vec<_>>(),
            [0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5]
        );
        assert_eq!(
            (0..=9).map(pof2_floor).collect::<Vec<_>>(),
            [0, 1, 2, 2, 4, 4, 4, 4, 8, 8]
        );
        assert_eq!(flat_peers(2, 5).unwrap(), [3, 4, 0, 1]);
        assert_eq!(flat_peers(0, 1).unwrap(), Vec::<usize>::new());
        assert_eq!(
            flat_peers(5, 5),
            Err(PatternError::RankOutOfRange { rank: 5, size: 5 })
        );
        assert_eq!(flat_peers(0, 0), Err(PatternError::EmptyCommunicator));
    }

    #[test]
    fn constructors_reject_bad_input() {
        assert_eq!(
            Dissemination::new(0, 2),
            Err(PatternError::EmptyCommunicator)
        );
        assert_eq!(Dissemination::new(4, 1), Err(PatternError::InvalidRadix(1)));
        assert_eq!(
            Ring::new(MAX_RANKS + 1),
            Err(PatternError::TooManyRanks(MAX_RANKS + 1))
        );
        assert!(
            PatternError::TooManyRanks(7)
                .to_string()
                .contains("7 ranks exceed")
        );
        // Extreme but valid parameters do not overflow.
        let ring = Ring::new(MAX_RANKS).unwrap();
        assert_eq!(
            ring.reduce_scatter_step(MAX_RANKS - 1, MAX_RANKS - 2)
                .unwrap(),
            RingStep {
                send_block: 0,
                recv_block: MAX_RANKS - 1
            }
        );
        let t = KnomialTree::new(10, 3, usize::MAX).unwrap();
        assert_eq!(t.node(3).unwrap().children.len(), 9);
        assert_eq!(Dissemination::new(10, usize::MAX).unwrap().rounds(), 1);
        let b = Blocks::aligned(usize::MAX, 3, 1 << 20).unwrap();
        assert_eq!(b.range(2).unwrap().end, usize::MAX);
        let c = Chunks::new(usize::MAX, usize::MAX / 2 + 1).unwrap();
        assert_eq!(c.range(1).unwrap().end, usize::MAX);
        assert_eq!(
            KnomialTree::new(4, 4, 2),
            Err(PatternError::RankOutOfRange { rank: 4, size: 4 })
        );
        assert_eq!(
            KnomialTree::new(4, 0, 0),
            Err(PatternError::InvalidRadix(0))
        );
        assert_eq!(
            RecursiveDoubling::new(0),
            Err(PatternError::EmptyCommunicator)
        );
        assert_eq!(Ring::new(0), Err(PatternError::EmptyCommunicator));
        assert_eq!(Bruck::new(0), Err(PatternError::EmptyCommunicator));
        assert_eq!(Pairwise::new(0), Err(PatternError::EmptyCommunicator));
        assert_eq!(HillisSteele::new(0), Err(PatternError::EmptyCommunicator));
        assert_eq!(
            Blocks::even(10, 0),
            Err(PatternError::InvalidPartition { what: "zero parts" })
        );
        assert!(Blocks::aligned(10, 2, 0).is_err());
        assert!(Chunks::new(10, 0).is_err());
        assert_eq!(
            Hierarchy::from_keys::<u32>(&[]),
            Err(PatternError::EmptyCommunicator)
        );
        assert_eq!(
            KnomialTree::binomial(3, 0).unwrap().node(3),
            Err(PatternError::RankOutOfRange { rank: 3, size: 3 })
        );
        assert!(Ring::new(3).unwrap().reduce_scatter_step(0, 2).is_err());
        assert!(Ring::new(3).unwrap().reduce_block_chain(3).is_err());
        assert!(Bruck::new(3).unwrap().local_position(0, 3).is_err());
        assert!(
            PatternError::RankOutOfRange { rank: 9, size: 4 }
                .to_string()
                .contains("rank 9 out of range")
        );
    }

    #[test]
    fn dissemination_informs_everyone() {
        for p in SIZES {
            for radix in 2..=5 {
                let d = Dissemination::new(p, radix).unwrap();
                let plans: Vec<_> = (0..p).map(|r| d.plan(r).unwrap()).collect();
                // Simulate: knows[r] = set of ranks r has heard from (transitively).
                let mut knows: Vec<BTreeSet<usize>> = (0..p).map(|r| BTreeSet::from([r])).collect();
                for round in 0..d.rounds() {
                    let old = knows.clone();
                    for r in 0..p {
                        let rd = &plans[r][round];
                        assert_eq!(rd.distance, radix.pow(round as u32));
                        assert_eq!(rd.send_to.len(), rd.recv_from.len());
                        assert!(!rd.send_to.is_empty(), "p={p} k={radix}: empty round");
                        for (j, &from) in rd.recv_from.iter().enumerate() {
                            // The sender's plan sends to r in the same round and slot.
                            assert_eq!(plans[from][round].send_to[j], r);
                            assert_ne!(from, r);
                            knows[r].extend(old[from].iter().copied());
                        }
                    }
                }
                for (r, k) in knows.iter().enumerate() {
                    assert_eq!(k.len(), p, "p={p} radix={radix} rank {r}");
                }
                // One inbox slot per sender: all senders of a rank over all rounds distinct.
                for (r, plan) in plans.iter().enumerate() {
                    let senders: Vec<usize> =
                        plan.iter().flat_map(|x| x.recv_from.clone()).collect();
                    let distinct: BTreeSet<_> = senders.iter().collect();
                    assert_eq!(distinct.len(), senders.len(), "p={p} k={radix} r={r}");
                }
                // Round count is minimal: radix^(R-1) < p <= radix^R.
                let r = d.rounds() as u32;
                assert!(radix.pow(r) >= p);
                if r > 0 {
                    assert!(radix.pow(r - 1) < p);
                }
            }
        }
        // Exact plan for a known case.
        let plan = Dissemination::new(5, 2).unwrap().plan(0).unwrap();
        assert_eq!(plan.len(), 3);
        assert_eq!(
            (plan[0].send_to.clone(), plan[0].recv_from.clone()),
            (vec![1], vec![4])
        );
        assert_eq!(
            (plan[1].send_to.clone(), plan[1].recv_from.clone()),
            (vec![2], vec![3])
        );
        assert_eq!(
            (plan[2].send_to.clone(), plan[2].recv_from.clone()),
            (vec![4], vec![1])
        );
        assert!(
            Dissemination::new(1, 2)
                .unwrap()
                .plan(0)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn knomial_trees_are_consistent_for_every_root() {
        for p in SIZES {
            for radix in 2..=5 {
                for root in 0..p {
                    let t = KnomialTree::new(p, root, radix).unwrap();
                    let nodes: Vec<TreeNode> = (0..p).map(|r| t.node(r).unwrap()).collect();
                    assert_eq!(nodes[root].parent, None);
                    assert_eq!(nodes[root].relative, 0);
                    assert_eq!(nodes[root].subtree, 0..p);
                    assert_eq!(nodes[root].depth, 0);
                    let mut child_count = 0;
                    for n in &nodes {
                        assert_eq!(t.absolute(n.relative), n.rank);
                        if n.rank != root {
                            let parent = n.parent.expect("non-root has a parent");
                            assert!(
                                nodes[parent].children.contains(&n.rank),
                                "p={p} k={radix} root={root}: {} not a child of {parent}",
                                n.rank
                            );
                            assert_eq!(n.depth, nodes[parent].depth + 1);
                        }
                        // Children ascend in relative rank; each lists n as its parent.
                        let rel: Vec<usize> =
                            n.children.iter().map(|&c| nodes[c].relative).collect();
                        assert!(rel.windows(2).all(|w| w[0] < w[1]));
                        for &c in &n.children {
                            assert_eq!(nodes[c].parent, Some(n.rank));
                        }
                        child_count += n.children.len();
                        // Subtree = itself + children's subtrees, contiguous and in order.
                        let mut next = n.relative + 1;
                        for &c in &n.children {
                            assert_eq!(nodes[c].subtree.start, next);
                            next = nodes[c].subtree.end;
                        }
                        assert_eq!(next, n.subtree.end, "p={p} k={radix} root={root}");
                        // Fan-out of one node is at most (radix-1) per digit position.
                        assert!(n.children.len() <= (radix - 1) * (ceil_log2(p) as usize + 1));
                    }
                    assert_eq!(child_count, p - 1, "every non-root is exactly one child");
                    // Depth bound: number of base-k digits.
                    let max_depth = nodes.iter().map(|n| n.depth).max().unwrap();
                    // Each level clears one non-zero base-k digit.
                    let digits = Dissemination::new(p, radix).unwrap().rounds();
                    assert!(max_depth <= digits, "p={p} k={radix}: depth {max_depth}");
                }
            }
        }
        // Exact binomial tree for p = 8, root 0 and a rotated one.
        let t = KnomialTree::binomial(8, 0).unwrap();
        assert_eq!(t.node(0).unwrap().children, [1, 2, 4]);
        assert_eq!(t.node(4).unwrap().children, [5, 6]);
        assert_eq!(t.node(6).unwrap().parent, Some(4));
        assert_eq!(t.node(6).unwrap().subtree, 6..8);
        let t = KnomialTree::binomial(5, 3).unwrap();
        assert_eq!(t.node(3).unwrap().children, [4, 0, 2]);
        assert_eq!(t.node(2).unwrap().subtree, 4..5);
        let t = KnomialTree::new(10, 0, 3).unwrap();
        assert_eq!(t.node(0).unwrap().children, [1, 2, 3, 6, 9]);
        assert_eq!(t.node(3).unwrap().children, [4, 5]);
        assert_eq!(t.node(6).unwrap().subtree, 6..9);
    }

    #[test]
    fn knomial_reduce_tree_covers_every_rank_once() {
        for p in SIZES {
            for radix in 2..=4 {
                for root in 0..p {
                    let t = KnomialTree::new(p, root, radix).unwrap();
                    let c = t.reduce_tree();
                    let rel: Vec<usize> = c.leaves().iter().map(|&r| (r + p - root) % p).collect();
                    assert_eq!(rel, (0..p).collect::<Vec<_>>());
                    assert_eq!(
                        c.is_rank_ordered(),
                        root == 0,
                        "p={p} k={radix} root={root}"
                    );
                }
            }
        }
        let c = KnomialTree::binomial(4, 0).unwrap().reduce_tree();
        assert_eq!(c.render(), "((0+1)+(2+3))");
        let c = KnomialTree::binomial(3, 1).unwrap().reduce_tree();
        assert_eq!(c.render(), "((1+2)+0)");
    }

    #[test]
    fn recursive_doubling_pairs_and_tree() {
        for p in SIZES {
            let rd = RecursiveDoubling::new(p).unwrap();
            let plans: Vec<RdPlan> = (0..p).map(|r| rd.plan(r).unwrap()).collect();
            let mut actives = 0;
            for (r, plan) in plans.iter().enumerate() {
                match plan {
                    RdPlan::Extra { partner } => {
                        assert_eq!(*partner, r + 1);
                        match &plans[*partner] {
                            RdPlan::Active { folded, .. } => assert_eq!(*folded, Some(r)),
                            other => panic!("partner of extra {r} is {other:?}"),
                        }
                    }
                    RdPlan::Active {
                        newrank, rounds, ..
                    } => {
                        actives += 1;
                        assert_eq!(rd.real(*newrank), r);
                        assert_eq!(rounds.len(), rd.rounds());
                        for (j, round) in rounds.iter().enumerate() {
                            // Symmetric pairing with opposite operand sides.
                            match &plans[round.partner] {
                                RdPlan::Active { rounds: theirs, .. } => {
                                    assert_eq!(theirs[j].partner, r);
                                    assert_ne!(theirs[j].mine_is_left, round.mine_is_left);
                                    assert_eq!(round.mine_is_left, r < round.partner);
                                }
                                other => panic!("partner is {other:?}"),
                            }
                        }
                        let partners: BTreeSet<_> = rounds.iter().map(|x| x.partner).collect();
                        assert_eq!(partners.len(), rounds.len());
                    }
                }
            }
            assert_eq!(actives, rd.pof2());
            // Simulate the data flow symbolically and compare with combine_tree().
            let mut val: Vec<Option<Combine>> = (0..p).map(|r| Some(Combine::leaf(r))).collect();
            for (r, plan) in plans.iter().enumerate() {
                if let RdPlan::Active {
                    folded: Some(e), ..
                } = plan
                {
                    let mine = val[r].take().unwrap();
                    val[r] = Some(Combine::join(Combine::leaf(*e), mine));
                }
            }
            for j in 0..rd.rounds() {
                let old = val.clone();
                for (r, plan) in plans.iter().enumerate() {
                    if let RdPlan::Active { rounds, .. } = plan {
                        let theirs = old[rounds[j].partner].clone().unwrap();
                        let mine = old[r].clone().unwrap();
                        val[r] = Some(if rounds[j].mine_is_left {
                            Combine::join(mine, theirs)
                        } else {
                            Combine::join(theirs, mine)
                        });
                    }
                }
            }
            let expected = rd.combine_tree();
            for (r, plan) in plans.iter().enumerate() {
                let got = match plan {
                    RdPlan::Extra { partner } => val[*partner].clone().unwrap(),
                    RdPlan::Active { .. } => val[r].clone().unwrap(),
                };
                assert_eq!(got, expected, "p={p} rank {r}");
            }
            assert!(expected.is_rank_ordered());
            assert_eq!(expected.leaves(), (0..p).collect::<Vec<_>>());
            assert_eq!(expected.depth(), rd.rounds() + usize::from(p != rd.pof2()));
        }
        assert_eq!(
            RecursiveDoubling::new(6).unwrap().combine_tree().render(),
            "(((0+1)+(2+3))+(4+5))"
        );
        assert_eq!(
            RecursiveDoubling::new(3).unwrap().combine_tree().render(),
            "((0+1)+2)"
        );
    }

    #[test]
    fn ring_reduce_scatter_and_allgather() {
        for p in SIZES {
            let ring = Ring::new(p).unwrap();
            for r in 0..p {
                assert_eq!(ring.right(ring.left(r).unwrap()).unwrap(), r);
            }
            // Symbolic reduce-scatter: part[r][b] = combination tree of rank r's block b.
            let mut part: Vec<Vec<Combine>> = (0..p)
                .map(|r| (0..p).map(|_| Combine::leaf(r)).collect())
                .collect();
            for s in 0..ring.steps() {
                let old = part.clone();
                for r in 0..p {
                    let st = ring.reduce_scatter_step(r, s).unwrap();
                    let left = ring.left(r).unwrap();
                    let lst = ring.reduce_scatter_step(left, s).unwrap();
                    assert_eq!(lst.send_block, st.recv_block, "left sends what r receives");
                    part[r][st.recv_block] = Combine::join(
                        old[left][st.recv_block].clone(),
                        old[r][st.recv_block].clone(),
                    );
                }
            }
            for (r, blocks) in part.iter().enumerate() {
                let chain = ring.reduce_block_chain(r).unwrap();
                assert_eq!(blocks[r], chain, "p={p}: rank {r} owns block {r}");
                let mut leaves = chain.leaves();
                leaves.sort_unstable();
                assert_eq!(leaves, (0..p).collect::<Vec<_>>());
                // Only the last block's chain is in rank order.
                assert_eq!(chain.is_rank_ordered(), r == p - 1);
            }
            // Symbolic allgather: has[r] = set of blocks; starts with own block.
            let mut has: Vec<BTreeSet<usize>> = (0..p).map(|r| BTreeSet::from([r])).collect();
            for s in 0..ring.steps() {
                let old = has.clone();
                for r in 0..p {
                    let st = ring.allgather_step(r, s).unwrap();
                    let left = ring.left(r).unwrap();
                    assert!(old[r].contains(&st.send_block), "sends a block it has");
                    assert!(!old[r].contains(&st.recv_block), "receives a new block");
                    assert!(old[left].contains(&st.recv_block));
                    assert_eq!(
                        ring.allgather_step(left, s).unwrap().send_block,
                        st.recv_block
                    );
                    has[r].insert(st.recv_block);
                }
            }
            assert!(has.iter().all(|h| h.len() == p));
        }
        assert_eq!(
            Ring::new(4)
                .unwrap()
                .reduce_block_chain(1)
                .unwrap()
                .render(),
            "(((2+3)+0)+1)"
        );
    }

    #[test]
    fn bruck_gathers_every_block() {
        for p in SIZES {
            let b = Bruck::new(p).unwrap();
            let plans: Vec<_> = (0..p).map(|r| b.plan(r).unwrap()).collect();
            // local[r][i] = Some(block at position i)
            let mut local: Vec<Vec<Option<usize>>> = (0..p)
                .map(|r| {
                    let mut v = vec![None; p];
                    v[0] = Some(r);
                    v
                })
                .collect();
            for k in 0..b.rounds() {
                let old = local.clone();
                for r in 0..p {
                    let rd = plans[r][k];
                    assert_eq!(plans[rd.recv_from][k].send_to, r);
                    for i in 0..rd.count {
                        let blk = old[rd.recv_from][i].expect("sender has positions 0..count");
                        assert!(local[r][rd.distance + i].is_none(), "position filled once");
                        local[r][rd.distance + i] = Some(blk);
                    }
                }
            }
            for r in 0..p {
                for j in 0..p {
                    let pos = b.local_position(r, j).unwrap();
                    assert_eq!(local[r][pos], Some(j), "p={p} r={r} block {j}");
                }
            }
        }
    }

    #[test]
    fn pairwise_meets_every_pair_once() {
        for p in SIZES {
            let pw = Pairwise::new(p).unwrap();
            let plans: Vec<_> = (0..p).map(|r| pw.plan(r).unwrap()).collect();
            let mut sent = BTreeSet::new();
            for s in 0..p.saturating_sub(1) {
                let mut receivers = BTreeSet::new();
                for r in 0..p {
                    let st = plans[r][s];
                    assert_ne!(st.send_to, r);
                    assert!(sent.insert((r, st.send_to)), "pair sent twice");
                    assert!(receivers.insert(st.send_to), "two senders to one rank");
                    assert_eq!(plans[st.recv_from][s].send_to, r);
                }
            }
            assert_eq!(sent.len(), p * (p - 1));
        }
    }

    #[test]
    fn hillis_steele_scan_trees() {
        for p in SIZES {
            let hs = HillisSteele::new(p).unwrap();
            let (incl, excl) = hs.combine_trees();
            for r in 0..p {
                assert_eq!(incl[r].leaves(), (0..=r).collect::<Vec<_>>(), "p={p} r={r}");
                assert!(incl[r].is_rank_ordered());
                match &excl[r] {
                    None => assert_eq!(r, 0),
                    Some(e) => {
                        assert_eq!(e.leaves(), (0..r).collect::<Vec<_>>());
                        assert!(e.is_rank_ordered());
                    }
                }
                let plan = hs.plan(r).unwrap();
                for (k, round) in plan.iter().enumerate() {
                    if let Some(from) = round.recv_from {
                        assert_eq!(hs.plan(from).unwrap()[k].send_to, Some(r));
                    }
                    if let Some(to) = round.send_to {
                        assert_eq!(hs.plan(to).unwrap()[k].recv_from, Some(r));
                    }
                }
                assert!(incl[r].depth() <= hs.rounds());
            }
        }
        let (incl, excl) = HillisSteele::new(4).unwrap().combine_trees();
        assert_eq!(incl[3].render(), "((0+1)+(2+3))");
        assert_eq!(excl[3].as_ref().unwrap().render(), "((0+1)+2)");
    }

    #[test]
    fn blocks_partition_exactly() {
        for count in [0usize, 1, 3, 7, 8, 17, 100, 4095, 65543] {
            for parts in SIZES {
                for granule in [1usize, 2, 8, 16] {
                    let b = Blocks::aligned(count, parts, granule).unwrap();
                    let ranges = b.ranges();
                    assert_eq!(ranges.len(), parts);
                    let mut next = 0;
                    for (i, r) in ranges.iter().enumerate() {
                        assert_eq!(r.start, next, "contiguous");
                        assert!(r.start <= r.end);
                        next = r.end;
                        if r.start < count && r.end < count {
                            assert_eq!(r.end % granule, 0, "interior cuts on granules");
                        }
                        for e in [r.start, r.end.saturating_sub(1)] {
                            if r.start < r.end {
                                assert_eq!(b.owner(e).unwrap(), i);
                            }
                        }
                    }
                    assert_eq!(next, count, "covers everything");
                    let lens: Vec<usize> = ranges.iter().map(|r| r.len()).collect();
                    let (min, max) = (lens.iter().min().unwrap(), lens.iter().max().unwrap());
                    assert!(
                        max - min <= granule,
                        "count={count} parts={parts} g={granule}"
                    );
                }
            }
        }
        // Every element owned exactly once (exhaustive for small counts).
        for count in 0..40 {
            for parts in 1..=9 {
                let b = Blocks::aligned(count, parts, 3).unwrap();
                for e in 0..count {
                    let o = b.owner(e).unwrap();
                    assert!(b.range(o).unwrap().contains(&e));
                }
            }
        }
        assert_eq!(
            Blocks::even(10, 4).unwrap().ranges(),
            [0..2, 2..4, 4..7, 7..10]
        );
        assert_eq!(
            Blocks::aligned(10, 4, 4).unwrap().ranges(),
            [0..0, 0..4, 4..8, 8..10]
        );
        assert_eq!(
            Blocks::aligned(7, 3, 2).unwrap().ranges(),
            [0..2, 2..4, 4..7]
        );
        assert!(Blocks::even(3, 2).unwrap().owner(3).is_err());
        assert!(Blocks::even(3, 2).unwrap().range(2).is_err());
    }

    #[test]
    fn chunks_cover_the_range() {
        let c = Chunks::new(10, 4).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(
            (0..3).map(|i| c.range(i).unwrap()).collect::<Vec<_>>(),
            [0..4, 4..8, 8..10]
        );
        assert!(c.range(3).is_err());
        let empty = Chunks::new(0, 4).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.len(), 0);
    }

    #[test]
    fn scatter_allgather_delivers_every_block() {
        for p in SIZES {
            for root in 0..p {
                for count in [0usize, 1, 5, 37] {
                    let sa = ScatterAllgather::new(p, root, count).unwrap();
                    let plans: Vec<_> = (0..p).map(|r| sa.plan(r).unwrap()).collect();
                    // Scatter: each child receives exactly what its parent sends it.
                    for pl in &plans {
                        for (c, range) in pl.node.children.iter().zip(&pl.scatter_send) {
                            assert_eq!(&plans[*c].scatter_recv, range);
                            assert!(pl.scatter_recv.start <= range.start);
                            assert!(range.end <= pl.scatter_recv.end);
                        }
                    }
                    assert_eq!(plans[root].scatter_recv, 0..count);
                    // After the scatter each rank owns its own block; the ring delivers the rest.
                    let blocks = Blocks::even(count, p).unwrap();
                    let mut has: Vec<Vec<bool>> = vec![vec![false; count]; p];
                    for (r, pl) in plans.iter().enumerate() {
                        let own = blocks.range(pl.node.relative).unwrap();
                        assert!(
                            pl.scatter_recv.start <= own.start && own.end <= pl.scatter_recv.end
                        );
                        for e in own {
                            has[r][e] = true;
                        }
                        assert_eq!(plans[pl.ring_right].ring_left, r);
                    }
                    for s in 0..p - 1 {
                        let old = has.clone();
                        for (r, pl) in plans.iter().enumerate() {
                            let (_, recv) = &pl.ring_steps[s];
                            let (sent, _) = &plans[pl.ring_left].ring_steps[s];
                            assert_eq!(sent, recv);
                            for e in recv.clone() {
                                assert!(old[pl.ring_left][e]);
                                has[r][e] = true;
                            }
                        }
                    }
                    assert!(
                        has.iter().all(|h| h.iter().all(|&x| x)),
                        "p={p} root={root}"
                    );
                }
            }
        }
    }

    #[test]
    fn hierarchy_groups_by_key() {
        let h = Hierarchy::from_keys(&[1u32, 0, 1, 2, 0]).unwrap();
        assert_eq!(h.groups(), [vec![0, 2], vec![1, 4], vec![3]]);
        assert_eq!(h.leaders(), [0, 1, 3]);
        assert_eq!(h.position(4).unwrap(), (1, 1));
        assert_eq!(h.position(3).unwrap(), (2, 0));
        assert!(h.position(5).is_err());
        for p in SIZES {
            let keys: Vec<usize> = (0..p).map(|r| r % 3).collect();
            let h = Hierarchy::from_keys(&keys).unwrap();
            let mut all: Vec<usize> = h.groups().concat();
            all.sort_unstable();
            assert_eq!(all, (0..p).collect::<Vec<_>>());
            for r in 0..p {
                let (g, i) = h.position(r).unwrap();
                assert_eq!(h.groups()[g][i], r);
                assert_eq!(keys[h.leaders()[g]], keys[r]);
            }
        }
    }

    #[test]
    fn schedules() {
        let s = Schedule::rank_order(3).unwrap();
        assert_eq!(s, Schedule::Uniform(Combine::left_fold([0, 1, 2]).unwrap()));
        assert!(s.is_rank_ordered());
        assert_eq!(
            Schedule::rank_order(0),
            Err(PatternError::EmptyCommunicator)
        );
        match Schedule::ring(3, 7).unwrap() {
            Schedule::PerBlock { ranges, trees } => {
                assert_eq!(ranges, [0..2, 2..4, 4..7]);
                assert_eq!(trees[0].render(), "((1+2)+0)");
                assert_eq!(trees[2].render(), "((0+1)+2)");
            }
            other => panic!("{other:?}"),
        }
        assert!(!Schedule::ring(3, 7).unwrap().is_rank_ordered());
        assert!(Schedule::ring(1, 7).unwrap().is_rank_ordered());
        assert!(Schedule::ring_ranges(vec![]).is_err());
    }

    #[test]
    fn combine_trees_basics() {
        let f = Combine::rank_order(4).unwrap();
        assert_eq!(f.render(), "(((0+1)+2)+3)");
        assert_eq!(f.depth(), 3);
        assert!(f.is_rank_ordered());
        assert_eq!(Combine::rank_order(0), None);
        let single = Combine::leaf(7);
        assert_eq!(single.render(), "7");
        assert_eq!(single.depth(), 0);
        assert!(single.is_rank_ordered());
        let j = Combine::join(Combine::leaf(2), Combine::left_fold([0, 1]).unwrap());
        assert_eq!(j.render(), "(2+(0+1))");
        assert_eq!(j.leaves(), [2, 0, 1]);
        assert!(!j.is_rank_ordered());
        // eval propagates errors
        let r: Result<i32, &str> = f.eval(
            |r| if r == 2 { Err("boom") } else { Ok(r as i32) },
            |a, b| Ok(a + b),
        );
        assert_eq!(r, Err("boom"));
        // A deep left fold evaluates and drops without recursion.
        let deep = Combine::rank_order(200_000).unwrap();
        let sum: Result<u64, ()> = deep.eval(|r| Ok(r as u64), |a, b| Ok(a + b));
        assert_eq!(sum, Ok(199_999 * 200_000 / 2));
        assert_eq!(deep.leaves().len(), 200_000);
    }
}
