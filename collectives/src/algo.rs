//! The algorithm catalogue: every collective, every algorithm by name, which algorithms each
//! collective offers, the default choice by path, rank count and message size, forcing by
//! environment variable, and the reduction schedule of each algorithm.
//!
//! | collective | algorithms (`RSM_COLL_<OP>=<name>`) |
//! |---|---|
//! | barrier | `flat`, `knomial`, `dissemination` |
//! | bcast | `flat`, `knomial`, `scatter_allgather` |
//! | reduce | `flat`, `knomial`, `twoshot` |
//! | allreduce | `oneshot`, `twoshot`, `recursive_doubling`, `ring` |
//! | gather, scatter | `flat`, `binomial` |
//! | gatherv, scatterv | `flat` |
//! | allgather | `flat`, `ring`, `bruck` |
//! | allgatherv | `flat`, `ring` |
//! | alltoall, alltoallv | `flat`, `pairwise` |
//! | reduce_scatter_block, reduce_scatter | `flat`, `ring` |
//! | scan, exscan | `flat`, `linear`, `recursive_doubling` |
//!
//! docs/collectives.md describes each algorithm on both data paths.

use core::fmt;
use core::str::FromStr;

use crate::pattern::RecursiveDoubling as RdPattern;
use crate::pattern::{Combine, HillisSteele, KnomialTree, PatternError, Schedule};

/// The data path of a communicator (docs/collectives.md "Two data paths").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Path {
    /// Peers' segments are mapped: loads and stores (pull model).
    Map,
    /// No mapping: put + order barrier + flag put into the reader's segment (push model).
    Put,
}

impl Path {
    /// `"map"` or `"put"`.
    pub const fn name(self) -> &'static str {
        match self {
            Path::Map => "map",
            Path::Put => "put",
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

macro_rules! named_enum {
    (
        $(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),* $(,)? }
        what = $what:literal
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name { $($(#[$vm])* $v),* }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v),*];

            /// The name used in environment variables and messages.
            pub const fn name(self) -> &'static str {
                match self { $($name::$v => $s),* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $name {
            type Err = AlgoError;
            /// Case-insensitive; `-` is accepted for `_`.
            fn from_str(s: &str) -> Result<Self, AlgoError> {
                let norm = s.trim().to_ascii_lowercase().replace('-', "_");
                $name::ALL
                    .iter()
                    .copied()
                    .find(|x| x.name() == norm)
                    .ok_or_else(|| AlgoError::Unknown { what: $what, name: s.to_owned() })
            }
        }
    };
}

named_enum! {
    /// The collectives.
    pub enum Collective {
        /// `MPI_Barrier`.
        Barrier = "barrier",
        /// `MPI_Bcast`.
        Bcast = "bcast",
        /// `MPI_Reduce`.
        Reduce = "reduce",
        /// `MPI_Allreduce`.
        Allreduce = "allreduce",
        /// `MPI_Gather`.
        Gather = "gather",
        /// `MPI_Gatherv`.
        Gatherv = "gatherv",
        /// `MPI_Scatter`.
        Scatter = "scatter",
        /// `MPI_Scatterv`.
        Scatterv = "scatterv",
        /// `MPI_Allgather`.
        Allgather = "allgather",
        /// `MPI_Allgatherv`.
        Allgatherv = "allgatherv",
        /// `MPI_Alltoall`.
        Alltoall = "alltoall",
        /// `MPI_Alltoallv`.
        Alltoallv = "alltoallv",
        /// `MPI_Reduce_scatter_block`.
        ReduceScatterBlock = "reduce_scatter_block",
        /// `MPI_Reduce_scatter`.
        ReduceScatter = "reduce_scatter",
        /// `MPI_Scan`.
        Scan = "scan",
        /// `MPI_Exscan`.
        Exscan = "exscan",
    }
    what = "collective"
}

named_enum! {
    /// The algorithms (see the module table for which collective offers which).
    pub enum Algorithm {
        /// Every rank reads from / writes to every peer directly (one step).
        Flat = "flat",
        /// k-nomial tree (radix `RSM_COLL_TREE_RADIX`).
        Knomial = "knomial",
        /// Binomial tree with subtree aggregation (gather/scatter).
        Binomial = "binomial",
        /// k-ary dissemination (radix `RSM_COLL_DISSEM_RADIX`).
        Dissemination = "dissemination",
        /// Binomial scatter + ring allgather (large broadcasts).
        ScatterAllgather = "scatter_allgather",
        /// Every rank reads every input and reduces locally.
        Oneshot = "oneshot",
        /// Reduce-scatter by slice owners, then allgather of the slices.
        Twoshot = "twoshot",
        /// Recursive doubling (allreduce: with non-power-of-two folding; scan: Hillis–Steele).
        RecursiveDoubling = "recursive_doubling",
        /// Ring (reduce-scatter and/or allgather around the ring).
        Ring = "ring",
        /// Bruck's log-round allgather.
        Bruck = "bruck",
        /// Pairwise exchange, one peer per step.
        Pairwise = "pairwise",
        /// A chain through the ranks in order (scan).
        Linear = "linear",
    }
    what = "algorithm"
}

/// Errors of this module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlgoError {
    /// An unknown collective or algorithm name.
    Unknown {
        /// `"collective"` or `"algorithm"`.
        what: &'static str,
        /// The name given.
        name: String,
    },
    /// An algorithm the collective does not offer.
    NotOffered {
        /// The collective.
        collective: Collective,
        /// The algorithm.
        algorithm: Algorithm,
    },
    /// A pattern refused its parameters (schedule construction).
    Pattern(PatternError),
}

impl fmt::Display for AlgoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlgoError::Unknown { what, name } => write!(f, "unknown {what} {name:?}"),
            AlgoError::NotOffered {
                collective,
                algorithm,
            } => write!(
                f,
                "{collective} has no algorithm `{algorithm}` (it offers {})",
                names(collective.algorithms())
            ),
            AlgoError::Pattern(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AlgoError {}

impl From<PatternError> for AlgoError {
    fn from(e: PatternError) -> Self {
        AlgoError::Pattern(e)
    }
}

fn names(algs: &[Algorithm]) -> String {
    algs.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
}

impl Collective {
    /// The algorithms this collective offers.
    pub const fn algorithms(self) -> &'static [Algorithm] {
        use Algorithm::*;
        match self {
            Collective::Barrier => &[Flat, Knomial, Dissemination],
            Collective::Bcast => &[Flat, Knomial, ScatterAllgather],
            Collective::Reduce => &[Flat, Knomial, Twoshot],
            Collective::Allreduce => &[Oneshot, Twoshot, RecursiveDoubling, Ring],
            Collective::Gather | Collective::Scatter => &[Flat, Binomial],
            Collective::Gatherv | Collective::Scatterv => &[Flat],
            Collective::Allgather => &[Flat, Ring, Bruck],
            Collective::Allgatherv => &[Flat, Ring],
            Collective::Alltoall | Collective::Alltoallv => &[Flat, Pairwise],
            Collective::ReduceScatterBlock | Collective::ReduceScatter => &[Flat, Ring],
            Collective::Scan | Collective::Exscan => &[Flat, Linear, RecursiveDoubling],
        }
    }

    /// The environment variable that forces an algorithm: `RSM_COLL_` + upper-case name.
    pub fn env_var(self) -> String {
        format!("RSM_COLL_{}", self.name().to_ascii_uppercase())
    }

    /// Whether the collective reduces (takes an operator).
    pub const fn reduces(self) -> bool {
        matches!(
            self,
            Collective::Reduce
                | Collective::Allreduce
                | Collective::ReduceScatterBlock
                | Collective::ReduceScatter
                | Collective::Scan
                | Collective::Exscan
        )
    }

    /// Parses `name` as an algorithm of this collective.
    pub fn parse_algorithm(self, name: &str) -> Result<Algorithm, AlgoError> {
        let a: Algorithm = name.parse()?;
        if self.algorithms().contains(&a) {
            Ok(a)
        } else {
            Err(AlgoError::NotOffered {
                collective: self,
                algorithm: a,
            })
        }
    }

    /// Whether `alg`'s combination order is rank-ordered for every root and size, i.e. whether
    /// it may run a non-commutative operator. (Non-reducing collectives: always true.)
    pub const fn rank_ordered(self, alg: Algorithm) -> bool {
        if !self.reduces() {
            return true;
        }
        // Ring schedules are rotated; k-nomial reduce trees are rotated for roots other than 0.
        !matches!(alg, Algorithm::Ring | Algorithm::Knomial)
    }
}

/// Tunable algorithm parameters that change results or selection (identical on every rank).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// Radix of k-nomial trees (barrier, bcast, reduce).
    pub tree_radix: usize,
    /// Radix of the dissemination barrier; 0 = automatic: the communicator size (a single
    /// round) when the ranks are oversubscribed and at most 16, else 2.
    pub dissem_radix: usize,
    /// Largest per-rank message (bytes) for one-shot allreduce on the map path with ≤ 4 ranks;
    /// halved for ≤ 8 ranks, quartered above.
    pub oneshot_max: usize,
}

impl Tuning {
    /// The dissemination radix for `p` ranks (see [`Tuning::dissem_radix`]).
    pub fn dissemination_radix(&self, p: usize, oversubscribed: bool) -> usize {
        match self.dissem_radix {
            0 if oversubscribed && p <= 16 => p.max(2),
            0 => 2,
            k => k,
        }
    }
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            tree_radix: 4,
            dissem_radix: 0,
            oneshot_max: 16 * 1024,
        }
    }
}

/// What a collective call looks like, for selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallShape {
    /// The collective.
    pub collective: Collective,
    /// Communicator size.
    pub size: usize,
    /// Message size in bytes: the whole vector for bcast/reduce/allreduce/scan, one rank's
    /// block for gather/scatter/allgather/reduce_scatter_block, one peer's block for alltoall
    /// (the average for `v` variants, as every rank computes it from the same arguments — or
    /// 0 where ranks cannot know it, see docs/collectives.md).
    pub bytes: usize,
    /// The data path.
    pub path: Path,
    /// Whether the operator is commutative (true for non-reducing collectives).
    pub commutative: bool,
    /// Whether some node runs more ranks than it has cores (identical on every rank).
    pub oversubscribed: bool,
}

/// How an algorithm was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The default table.
    Default,
    /// Forced by the collective's environment variable.
    Forced,
    /// The forced algorithm cannot run this call (a non-commutative operator with a rotated
    /// schedule); the default ran instead.
    ForcedNotApplicable(Algorithm),
}

/// The algorithm that will run, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// Why.
    pub reason: Reason,
}

impl Selection {
    /// The `RSM_COLL_VERBOSE` line for this call (without a trailing newline), e.g.
    /// `rsm-coll: rank 0/4 comm 1 seq 17: allreduce bytes=8 path=map -> oneshot (default)`.
    pub fn describe(&self, shape: &CallShape, rank: usize, comm: u64, seq: u64) -> String {
        let why = match &self.reason {
            Reason::Default => "default".to_owned(),
            Reason::Forced => format!("forced by {}", shape.collective.env_var()),
            Reason::ForcedNotApplicable(a) => {
                format!("forced {a} cannot run a non-commutative operator; default")
            }
        };
        format!(
            "rsm-coll: rank {rank}/{} comm {comm} seq {seq}: {} bytes={} path={} -> {} ({why})",
            shape.size, shape.collective, shape.bytes, shape.path, self.algorithm
        )
    }
}

/// The default algorithm for a call (docs/collectives.md "Algorithm table"). Deterministic:
/// every rank computes the same choice from the same shape.
pub fn default_algorithm(shape: &CallShape, tuning: &Tuning) -> Algorithm {
    use Algorithm::*;
    let p = shape.size;
    let b = shape.bytes;
    let map = shape.path == Path::Map;
    match shape.collective {
        Collective::Barrier => {
            if shape.oversubscribed && (3..=16).contains(&p) {
                // Rank 0 leaves first, so a call rooted at rank 0 that follows finds rank 0
                // running (docs/collectives.md §5.1). Two ranks keep the signal pair, which
                // also catches a peer running another collective in both directions.
                Flat
            } else if !map || p <= 4 {
                Dissemination
            } else if p <= 32 {
                Flat
            } else {
                Knomial
            }
        }
        Collective::Bcast => {
            let flat_max = if map { 8 } else { 4 };
            if p <= flat_max {
                Flat
            } else if b < if map { 512 * 1024 } else { 256 * 1024 } {
                Knomial
            } else {
                ScatterAllgather
            }
        }
        Collective::Reduce => {
            let flat_max = if map { 8 } else { 4 };
            if p <= 2 || (b <= 32 * 1024 && p <= flat_max) {
                Flat
            } else if shape.oversubscribed && p <= flat_max {
                // Twoshot needs every rank twice per piece; with ranks sharing cores each of
                // those is a scheduler hand-off (np 4 on 2 cores, 1 MiB: 125 against 420 µs).
                Flat
            } else if b <= 32 * 1024 && shape.commutative {
                Knomial
            } else if b <= 32 * 1024 {
                Flat
            } else {
                Twoshot
            }
        }
        Collective::Allreduce => {
            let oneshot_max = if p <= 4 {
                tuning.oneshot_max
            } else if p <= 8 {
                tuning.oneshot_max / 2
            } else {
                tuning.oneshot_max / 4
            };
            if map {
                if b <= oneshot_max { Oneshot } else { Twoshot }
            } else if p <= 4 && b <= oneshot_max {
                Oneshot
            } else if b <= oneshot_max {
                RecursiveDoubling
            } else if p <= 8 || !shape.commutative {
                Twoshot
            } else {
                Ring
            }
        }
        Collective::Gather | Collective::Scatter => {
            let flat_max = if map { 64 } else { 8 };
            if p <= flat_max || b > 4096 {
                Flat
            } else {
                Binomial
            }
        }
        Collective::Gatherv | Collective::Scatterv => Flat,
        Collective::Allgather => {
            let flat_max = if map { 16 } else { 4 };
            if p <= flat_max {
                Flat
            } else if b <= 4096 {
                Bruck
            } else {
                Ring
            }
        }
        Collective::Allgatherv => {
            if p <= if map { 16 } else { 4 } {
                Flat
            } else {
                Ring
            }
        }
        Collective::Alltoall | Collective::Alltoallv => {
            if p <= if map { 16 } else { 8 } {
                Flat
            } else {
                Pairwise
            }
        }
        Collective::ReduceScatterBlock | Collective::ReduceScatter => {
            if p <= if map { 16 } else { 8 } || !shape.commutative {
                Flat
            } else {
                Ring
            }
        }
        Collective::Scan | Collective::Exscan => {
            if p <= if map { 8 } else { 4 } {
                Flat
            } else {
                RecursiveDoubling
            }
        }
    }
}

/// The algorithm to run: the forced one if the collective offers it and it can run this call,
/// else the default.
pub fn select(shape: &CallShape, forced: Option<Algorithm>, tuning: &Tuning) -> Selection {
    let default = default_algorithm(shape, tuning);
    match forced {
        Some(a) if shape.collective.algorithms().contains(&a) => {
            if shape.commutative || shape.collective.rank_ordered(a) {
                Selection {
                    algorithm: a,
                    reason: Reason::Forced,
                }
            } else {
                Selection {
                    algorithm: default,
                    reason: Reason::ForcedNotApplicable(a),
                }
            }
        }
        // Forced values are validated when the configuration is read; an algorithm the
        // collective does not offer cannot reach here from it.
        _ => Selection {
            algorithm: default,
            reason: Reason::Default,
        },
    }
}

/// The combination schedule of a reducing collective's algorithm over `count` elements (for
/// `reduce_scatter`, `count` is the total and `counts` the per-rank blocks; ignored
/// otherwise). Scan and exscan have per-rank trees: see [`scan_trees`].
pub fn reduction_schedule(
    collective: Collective,
    algorithm: Algorithm,
    size: usize,
    root: usize,
    count: usize,
    counts: Option<&[usize]>,
    tuning: &Tuning,
) -> Result<Schedule, AlgoError> {
    use Algorithm::*;
    if !collective.algorithms().contains(&algorithm) || !collective.reduces() {
        return Err(AlgoError::NotOffered {
            collective,
            algorithm,
        });
    }
    Ok(match (collective, algorithm) {
        (Collective::Reduce, Knomial) => {
            Schedule::Uniform(KnomialTree::new(size, root, tuning.tree_radix)?.reduce_tree())
        }
        (Collective::Allreduce, RecursiveDoubling) => {
            Schedule::Uniform(RdPattern::new(size)?.combine_tree())
        }
        (Collective::Allreduce, Ring) => Schedule::ring(size, count)?,
        (Collective::ReduceScatterBlock, Ring) => Schedule::ring(size, count)?,
        (Collective::ReduceScatter, Ring) => {
            let counts = counts.ok_or(PatternError::InvalidPartition {
                what: "reduce_scatter needs its counts",
            })?;
            let mut ranges = Vec::with_capacity(counts.len());
            let mut start = 0usize;
            for &c in counts {
                ranges.push(start..start + c);
                start += c;
            }
            Schedule::ring_ranges(ranges)?
        }
        _ => Schedule::rank_order(size)?,
    })
}

/// Per-rank combination trees of scan (inclusive) and exscan (exclusive, `None` for rank 0)
/// for an algorithm.
pub fn scan_trees(
    algorithm: Algorithm,
    size: usize,
) -> Result<(Vec<Combine>, Vec<Option<Combine>>), AlgoError> {
    if !Collective::Scan.algorithms().contains(&algorithm) {
        return Err(AlgoError::NotOffered {
            collective: Collective::Scan,
            algorithm,
        });
    }
    if algorithm == Algorithm::RecursiveDoubling {
        return Ok(HillisSteele::new(size)?.combine_trees());
    }
    if size == 0 {
        return Err(PatternError::EmptyCommunicator.into());
    }
    let incl = (0..size)
        .map(|r| Combine::rank_order(r + 1).expect("r + 1 >= 1"))
        .collect();
    let excl = (0..size).map(Combine::rank_order).collect();
    Ok((incl, excl))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(c: Collective, p: usize, bytes: usize, path: Path) -> CallShape {
        CallShape {
            collective: c,
            size: p,
            bytes,
            path,
            commutative: true,
            oversubscribed: false,
        }
    }

    #[test]
    fn dissemination_radix_is_automatic_unless_set() {
        let t = Tuning::default();
        assert_eq!(t.dissemination_radix(4, false), 2);
        assert_eq!(t.dissemination_radix(4, true), 4);
        assert_eq!(t.dissemination_radix(1, true), 2);
        assert_eq!(t.dissemination_radix(17, true), 2);
        let t = Tuning {
            dissem_radix: 3,
            ..Tuning::default()
        };
        assert_eq!(t.dissemination_radix(4, true), 3);
        assert_eq!(t.dissemination_radix(64, false), 3);
    }

    #[test]
    fn names_round_trip_and_env_vars() {
        for &c in Collective::ALL {
            assert_eq!(c.name().parse::<Collective>().unwrap(), c);
            assert!(!c.algorithms().is_empty());
            for &a in c.algorithms() {
                assert_eq!(c.parse_algorithm(a.name()).unwrap(), a);
            }
        }
        assert_eq!(Collective::ALL.len(), 16);
        assert_eq!(Algorithm::ALL.len(), 12);
        for &a in Algorithm::ALL {
            assert_eq!(a.to_string().parse::<Algorithm>().unwrap(), a);
            assert!(
                Collective::ALL.iter().any(|c| c.algorithms().contains(&a)),
                "{a} is offered by some collective"
            );
        }
        assert_eq!(
            "Scatter-Allgather".parse::<Algorithm>().unwrap(),
            Algorithm::ScatterAllgather
        );
        assert_eq!(
            Collective::ReduceScatterBlock.env_var(),
            "RSM_COLL_REDUCE_SCATTER_BLOCK"
        );
        assert_eq!(Collective::Allreduce.env_var(), "RSM_COLL_ALLREDUCE");
        assert_eq!(
            "tree".parse::<Algorithm>(),
            Err(AlgoError::Unknown {
                what: "algorithm",
                name: "tree".into()
            })
        );
        let e = Collective::Barrier.parse_algorithm("ring").unwrap_err();
        assert_eq!(
            e.to_string(),
            "barrier has no algorithm `ring` (it offers flat, knomial, dissemination)"
        );
        assert_eq!(Path::Put.to_string(), "put");
    }

    #[test]
    fn defaults_are_offered_and_follow_the_table() {
        let tuning = Tuning::default();
        for &c in Collective::ALL {
            for p in 1..=70 {
                for bytes in [0, 8, 4096, 65536, 1 << 22] {
                    for path in [Path::Map, Path::Put] {
                        for (commutative, oversubscribed) in
                            [(true, false), (false, false), (true, true), (false, true)]
                        {
                            let s = CallShape {
                                collective: c,
                                size: p,
                                bytes,
                                path,
                                commutative: commutative || !c.reduces(),
                                oversubscribed,
                            };
                            let a = default_algorithm(&s, &tuning);
                            assert!(c.algorithms().contains(&a), "{c} p={p}: {a}");
                            if !s.commutative {
                                assert!(c.rank_ordered(a), "{c} p={p} b={bytes}: {a}");
                            }
                        }
                    }
                }
            }
        }
        use Algorithm::*;
        let d = |c, p, b, path| default_algorithm(&shape(c, p, b, path), &tuning);
        assert_eq!(d(Collective::Barrier, 2, 0, Path::Map), Dissemination);
        assert_eq!(d(Collective::Barrier, 8, 0, Path::Map), Flat);
        assert_eq!(d(Collective::Barrier, 64, 0, Path::Map), Knomial);
        assert_eq!(d(Collective::Barrier, 8, 0, Path::Put), Dissemination);
        let over = |p, path| {
            let s = CallShape {
                oversubscribed: true,
                ..shape(Collective::Barrier, p, 0, path)
            };
            default_algorithm(&s, &tuning)
        };
        assert_eq!(over(2, Path::Map), Dissemination);
        assert_eq!(over(3, Path::Put), Flat);
        assert_eq!(over(4, Path::Map), Flat);
        assert_eq!(over(16, Path::Put), Flat);
        assert_eq!(over(17, Path::Map), Flat);
        assert_eq!(over(17, Path::Put), Dissemination);
        assert_eq!(over(64, Path::Map), Knomial);
        let reduce = |p, b, path, oversubscribed| {
            let s = CallShape {
                oversubscribed,
                ..shape(Collective::Reduce, p, b, path)
            };
            default_algorithm(&s, &tuning)
        };
        assert_eq!(reduce(4, 1 << 20, Path::Map, false), Twoshot);
        assert_eq!(reduce(4, 1 << 20, Path::Map, true), Flat);
        assert_eq!(reduce(8, 1 << 22, Path::Map, true), Flat);
        assert_eq!(reduce(5, 1 << 20, Path::Put, true), Twoshot);
        assert_eq!(reduce(9, 1 << 20, Path::Map, true), Twoshot);
        assert_eq!(d(Collective::Allreduce, 2, 8, Path::Map), Oneshot);
        assert_eq!(d(Collective::Allreduce, 2, 16384, Path::Map), Oneshot);
        assert_eq!(d(Collective::Allreduce, 2, 16385, Path::Map), Twoshot);
        assert_eq!(d(Collective::Allreduce, 8, 8192, Path::Map), Oneshot);
        assert_eq!(d(Collective::Allreduce, 8, 8193, Path::Map), Twoshot);
        assert_eq!(d(Collective::Allreduce, 8, 8, Path::Put), RecursiveDoubling);
        assert_eq!(d(Collective::Allreduce, 16, 1 << 20, Path::Put), Ring);
        assert_eq!(d(Collective::Bcast, 8, 1 << 22, Path::Map), Flat);
        assert_eq!(
            d(Collective::Bcast, 16, 1 << 22, Path::Map),
            ScatterAllgather
        );
        assert_eq!(d(Collective::Bcast, 16, 8, Path::Map), Knomial);
        assert_eq!(d(Collective::Scan, 5, 8, Path::Put), RecursiveDoubling);
    }

    #[test]
    fn forcing() {
        let t = Tuning::default();
        let s = shape(Collective::Allreduce, 4, 8, Path::Map);
        assert_eq!(
            select(&s, Some(Algorithm::Ring), &t),
            Selection {
                algorithm: Algorithm::Ring,
                reason: Reason::Forced
            }
        );
        assert_eq!(select(&s, None, &t).reason, Reason::Default);
        // Not offered: the default (cannot come from a validated configuration).
        assert_eq!(
            select(&s, Some(Algorithm::Bruck), &t).algorithm,
            Algorithm::Oneshot
        );
        // A rotated schedule with a non-commutative operator falls back.
        let nc = CallShape {
            commutative: false,
            ..s
        };
        let sel = select(&nc, Some(Algorithm::Ring), &t);
        assert_eq!(
            sel,
            Selection {
                algorithm: Algorithm::Oneshot,
                reason: Reason::ForcedNotApplicable(Algorithm::Ring)
            }
        );
        assert_eq!(
            sel.describe(&nc, 1, 7, 42),
            "rsm-coll: rank 1/4 comm 7 seq 42: allreduce bytes=8 path=map -> oneshot \
             (forced ring cannot run a non-commutative operator; default)"
        );
        assert_eq!(
            select(&nc, Some(Algorithm::RecursiveDoubling), &t).reason,
            Reason::Forced
        );
        assert_eq!(
            select(&s, Some(Algorithm::Twoshot), &t).describe(&s, 0, 1, 3),
            "rsm-coll: rank 0/4 comm 1 seq 3: allreduce bytes=8 path=map -> twoshot \
             (forced by RSM_COLL_ALLREDUCE)"
        );
    }

    #[test]
    fn schedules_per_algorithm() {
        let t = Tuning::default();
        let rs = |c, a, p, root, n| reduction_schedule(c, a, p, root, n, None, &t).unwrap();
        assert_eq!(
            rs(Collective::Allreduce, Algorithm::Oneshot, 3, 0, 5),
            Schedule::rank_order(3).unwrap()
        );
        assert_eq!(
            rs(Collective::Allreduce, Algorithm::RecursiveDoubling, 3, 0, 5),
            Schedule::Uniform(RdPattern::new(3).unwrap().combine_tree())
        );
        assert_eq!(
            rs(Collective::Allreduce, Algorithm::Ring, 3, 0, 5),
            Schedule::ring(3, 5).unwrap()
        );
        assert_eq!(
            rs(Collective::Reduce, Algorithm::Knomial, 5, 2, 5),
            Schedule::Uniform(KnomialTree::new(5, 2, 4).unwrap().reduce_tree())
        );
        assert_eq!(
            rs(Collective::Reduce, Algorithm::Twoshot, 5, 2, 5),
            Schedule::rank_order(5).unwrap()
        );
        assert_eq!(
            rs(Collective::ReduceScatterBlock, Algorithm::Ring, 3, 0, 6),
            Schedule::ring(3, 6).unwrap()
        );
        assert_eq!(
            reduction_schedule(
                Collective::ReduceScatter,
                Algorithm::Ring,
                3,
                0,
                6,
                Some(&[1, 0, 5]),
                &t
            )
            .unwrap(),
            Schedule::ring_ranges(vec![0..1, 1..1, 1..6]).unwrap()
        );
        assert!(
            reduction_schedule(
                Collective::ReduceScatter,
                Algorithm::Ring,
                3,
                0,
                6,
                None,
                &t
            )
            .is_err()
        );
        assert!(reduction_schedule(Collective::Bcast, Algorithm::Flat, 3, 0, 6, None, &t).is_err());
        assert!(
            reduction_schedule(Collective::Allreduce, Algorithm::Flat, 3, 0, 6, None, &t).is_err()
        );
        // Rank-ordered claims match the schedules.
        for &c in Collective::ALL.iter().filter(|c| c.reduces()) {
            for &a in c.algorithms() {
                for p in 1..=9 {
                    for root in [0, p - 1] {
                        let sched = if matches!(c, Collective::Scan | Collective::Exscan) {
                            let (i, e) = scan_trees(a, p).unwrap();
                            assert!(i.iter().all(Combine::is_rank_ordered));
                            assert!(e.iter().flatten().all(Combine::is_rank_ordered));
                            continue;
                        } else {
                            let counts = vec![2; p];
                            reduction_schedule(c, a, p, root, 2 * p, Some(&counts), &t).unwrap()
                        };
                        if c.rank_ordered(a) {
                            assert!(sched.is_rank_ordered(), "{c}:{a} p={p} root={root}");
                        }
                    }
                }
                if !c.rank_ordered(a) {
                    // Some size and root exhibits a rotated order.
                    let rotated = (2..=5).any(|p| {
                        let counts = vec![1; p];
                        !reduction_schedule(c, a, p, p - 1, p, Some(&counts), &t)
                            .unwrap()
                            .is_rank_ordered()
                    });
                    assert!(rotated, "{c}:{a} is claimed rotated");
                }
            }
        }
        assert!(scan_trees(Algorithm::Ring, 3).is_err());
        assert!(scan_trees(Algorithm::Flat, 0).is_err());
        let (i, e) = scan_trees(Algorithm::Linear, 3).unwrap();
        assert_eq!(i[2].render(), "((0+1)+2)");
        assert_eq!(e[0], None);
        assert_eq!(e[2].as_ref().unwrap().render(), "(0+1)");
    }
}
