//! The benchmarks we implement, with the properties OSU 7.4 gives each of them.

use std::fmt;

/// One OSU-compatible benchmark.
///
/// The same table drives the Rust side (`osu_*` binaries under `rsmrun`) and the C MPI side
/// (`benches/mpi/osu_mpi.c`); keep the two in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Benchmark {
    /// `osu_barrier`: `MPI_Barrier`; no message size.
    Barrier,
    /// `osu_bcast`: broadcast from rank 0.
    Bcast,
    /// `osu_reduce`: sum to rank 0.
    Reduce,
    /// `osu_allreduce`: sum to every rank.
    Allreduce,
    /// `osu_gather`: every rank's block to rank 0.
    Gather,
    /// `osu_scatter`: rank 0's blocks to every rank.
    Scatter,
    /// `osu_allgather`: every rank's block to every rank.
    Allgather,
    /// `osu_alltoall`: personalized exchange, one block per pair.
    Alltoall,
    /// `osu_reduce_scatter`: sum, then rank `r` keeps block `r`. The MPI side calls
    /// `MPI_Reduce_scatter_block`: every rank receives `size / np` bytes (rounded down to whole
    /// elements); the message size is the per-rank send buffer, as in OSU.
    ReduceScatter,
    /// `osu_put_latency`: put + flush, passive target (np = 2).
    PutLatency,
    /// `osu_get_latency`: get + flush, passive target (np = 2).
    GetLatency,
    /// `osu_put_bw`: a window of puts, then flush (np = 2).
    PutBw,
    /// `osu_get_bw`: a window of gets, then flush (np = 2).
    GetBw,
    /// `osu_put_bibw`: both ranks put a window to each other per epoch (np = 2).
    PutBibw,
}

/// How a benchmark measures and prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Blocking collective: average/min/max latency over ranks, `-f` available.
    Collective,
    /// One-sided latency, timed at the origin only (`# Size  Latency (us)`).
    OneSidedLatency,
    /// One-sided bandwidth, timed at the origin only (`# Size  Bandwidth (MB/s)`).
    OneSidedBandwidth,
}

/// What the main number of a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Microseconds, lower is better.
    LatencyUs,
    /// MB/s (10^6 bytes per second), higher is better.
    BandwidthMBs,
}

impl Metric {
    /// Unit as printed in tables.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::LatencyUs => "µs",
            Metric::BandwidthMBs => "MB/s",
        }
    }

    /// Axis label for plots.
    pub fn axis_label(self) -> &'static str {
        match self {
            Metric::LatencyUs => "Latency (µs)",
            Metric::BandwidthMBs => "Bandwidth (MB/s)",
        }
    }

    /// True when a smaller value is better.
    pub fn lower_is_better(self) -> bool {
        matches!(self, Metric::LatencyUs)
    }
}

impl Benchmark {
    /// Every benchmark, collectives first.
    pub const ALL: [Benchmark; 14] = [
        Benchmark::Barrier,
        Benchmark::Bcast,
        Benchmark::Reduce,
        Benchmark::Allreduce,
        Benchmark::Gather,
        Benchmark::Scatter,
        Benchmark::Allgather,
        Benchmark::Alltoall,
        Benchmark::ReduceScatter,
        Benchmark::PutLatency,
        Benchmark::GetLatency,
        Benchmark::PutBw,
        Benchmark::GetBw,
        Benchmark::PutBibw,
    ];

    /// The nine blocking collectives.
    pub const COLLECTIVES: [Benchmark; 9] = [
        Benchmark::Barrier,
        Benchmark::Bcast,
        Benchmark::Reduce,
        Benchmark::Allreduce,
        Benchmark::Gather,
        Benchmark::Scatter,
        Benchmark::Allgather,
        Benchmark::Alltoall,
        Benchmark::ReduceScatter,
    ];

    /// The five one-sided benchmarks.
    pub const ONE_SIDED: [Benchmark; 5] = [
        Benchmark::PutLatency,
        Benchmark::GetLatency,
        Benchmark::PutBw,
        Benchmark::GetBw,
        Benchmark::PutBibw,
    ];

    /// Binary name, e.g. `osu_allreduce`.
    pub fn name(self) -> &'static str {
        match self {
            Benchmark::Barrier => "osu_barrier",
            Benchmark::Bcast => "osu_bcast",
            Benchmark::Reduce => "osu_reduce",
            Benchmark::Allreduce => "osu_allreduce",
            Benchmark::Gather => "osu_gather",
            Benchmark::Scatter => "osu_scatter",
            Benchmark::Allgather => "osu_allgather",
            Benchmark::Alltoall => "osu_alltoall",
            Benchmark::ReduceScatter => "osu_reduce_scatter",
            Benchmark::PutLatency => "osu_put_latency",
            Benchmark::GetLatency => "osu_get_latency",
            Benchmark::PutBw => "osu_put_bw",
            Benchmark::GetBw => "osu_get_bw",
            Benchmark::PutBibw => "osu_put_bibw",
        }
    }

    /// Name without the `osu_` prefix, e.g. `allreduce`.
    pub fn short_name(self) -> &'static str {
        &self.name()[4..]
    }

    /// Looks a benchmark up by `osu_allreduce` or `allreduce`.
    pub fn from_name(name: &str) -> Option<Benchmark> {
        let short = name.strip_prefix("osu_").unwrap_or(name);
        Benchmark::ALL.into_iter().find(|b| b.short_name() == short)
    }

    /// OSU 7.4's title (first header line without `# ` and the version).
    pub fn title(self) -> &'static str {
        match self {
            Benchmark::Barrier => "OSU MPI Barrier Latency Test",
            Benchmark::Bcast => "OSU MPI Broadcast Latency Test",
            Benchmark::Reduce => "OSU MPI Reduce Latency Test",
            Benchmark::Allreduce => "OSU MPI Allreduce Latency Test",
            Benchmark::Gather => "OSU MPI Gather Latency Test",
            Benchmark::Scatter => "OSU MPI Scatter Latency Test",
            Benchmark::Allgather => "OSU MPI Allgather Latency Test",
            Benchmark::Alltoall => "OSU MPI All-to-All Personalized Exchange Latency Test",
            Benchmark::ReduceScatter => "OSU MPI Reduce_scatter Latency Test",
            Benchmark::PutLatency => "OSU MPI_Put Latency Test",
            Benchmark::GetLatency => "OSU MPI_Get latency Test",
            Benchmark::PutBw => "OSU MPI_Put Bandwidth Test",
            Benchmark::GetBw => "OSU MPI_Get Bandwidth Test",
            Benchmark::PutBibw => "OSU MPI_Put Bi-directional Bandwidth Test",
        }
    }

    /// Measurement class.
    pub fn class(self) -> Class {
        match self {
            Benchmark::PutLatency | Benchmark::GetLatency => Class::OneSidedLatency,
            Benchmark::PutBw | Benchmark::GetBw | Benchmark::PutBibw => Class::OneSidedBandwidth,
            _ => Class::Collective,
        }
    }

    /// What the row's main number is.
    pub fn metric(self) -> Metric {
        match self.class() {
            Class::OneSidedBandwidth => Metric::BandwidthMBs,
            _ => Metric::LatencyUs,
        }
    }

    /// True for the collectives.
    pub fn is_collective(self) -> bool {
        self.class() == Class::Collective
    }

    /// True for the one-sided benchmarks.
    pub fn is_one_sided(self) -> bool {
        !self.is_collective()
    }

    /// True when rows have a message size (all but barrier).
    pub fn has_size(self) -> bool {
        self != Benchmark::Barrier
    }

    /// True for the reductions (`MPI_SUM` over the element type).
    pub fn is_reduction(self) -> bool {
        matches!(
            self,
            Benchmark::Reduce | Benchmark::Allreduce | Benchmark::ReduceScatter
        )
    }

    /// True when `-T` is accepted (all but barrier; one-sided accept `mpi_char` only).
    pub fn accepts_type(self) -> bool {
        self.has_size()
    }

    /// True when `-f` is accepted (collectives, as in OSU).
    pub fn accepts_full(self) -> bool {
        self.is_collective()
    }

    /// True when `-W` is accepted (bandwidth benchmarks).
    pub fn accepts_window(self) -> bool {
        self.class() == Class::OneSidedBandwidth
    }

    /// Number of ranks required, if fixed (one-sided: exactly 2).
    pub fn required_ranks(self) -> Option<usize> {
        self.is_one_sided().then_some(2)
    }

    /// Default largest message size: 1 MiB for collectives, 4 MiB for one-sided (OSU 7.4).
    pub fn default_max_size(self) -> usize {
        if self.is_collective() {
            1 << 20
        } else {
            1 << 22
        }
    }

    /// Default (iterations, warm-up) for messages up to [`LARGE_MESSAGE_SIZE`].
    pub fn default_small_loop(self) -> (usize, usize) {
        match self.class() {
            Class::Collective => (1000, 100),
            Class::OneSidedLatency => (10000, 100),
            Class::OneSidedBandwidth => (100, 10),
        }
    }

    /// Default (iterations, warm-up) for messages above [`LARGE_MESSAGE_SIZE`].
    pub fn default_large_loop(self) -> (usize, usize) {
        match self.class() {
            Class::Collective => (100, 10),
            Class::OneSidedLatency => (1000, 10),
            Class::OneSidedBandwidth => (20, 2),
        }
    }
}

impl fmt::Display for Benchmark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Messages larger than this use the "large" iteration counts (OSU: 8 KiB).
pub const LARGE_MESSAGE_SIZE: usize = 8192;

/// Default number of operations per bandwidth iteration (OSU `-W`, 64).
pub const DEFAULT_WINDOW: usize = 64;

/// Smallest default message size (1 byte).
pub const DEFAULT_MIN_SIZE: usize = 1;

/// Largest message size any option may ask for (1 GiB): keeps buffers sane.
pub const MAX_SIZE_LIMIT: usize = 1 << 30;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for b in Benchmark::ALL {
            assert_eq!(Benchmark::from_name(b.name()), Some(b));
            assert_eq!(Benchmark::from_name(b.short_name()), Some(b));
        }
        assert_eq!(Benchmark::from_name("osu_latency"), None);
        assert_eq!(Benchmark::from_name(""), None);
        assert_eq!(Benchmark::ReduceScatter.short_name(), "reduce_scatter");
    }

    #[test]
    fn classes_and_defaults_match_osu() {
        assert_eq!(Benchmark::Allreduce.default_small_loop(), (1000, 100));
        assert_eq!(Benchmark::Allreduce.default_large_loop(), (100, 10));
        assert_eq!(Benchmark::Barrier.default_small_loop(), (1000, 100));
        assert_eq!(Benchmark::PutLatency.default_small_loop(), (10000, 100));
        assert_eq!(Benchmark::GetLatency.default_large_loop(), (1000, 10));
        assert_eq!(Benchmark::PutBw.default_small_loop(), (100, 10));
        assert_eq!(Benchmark::PutBibw.default_large_loop(), (20, 2));
        assert_eq!(Benchmark::Bcast.default_max_size(), 1 << 20);
        assert_eq!(Benchmark::GetBw.default_max_size(), 1 << 22);
        assert_eq!(Benchmark::PutBw.metric(), Metric::BandwidthMBs);
        assert_eq!(Benchmark::Gather.metric(), Metric::LatencyUs);
        assert_eq!(Benchmark::PutLatency.required_ranks(), Some(2));
        assert_eq!(Benchmark::Alltoall.required_ranks(), None);
        assert!(!Benchmark::Barrier.has_size());
        assert!(!Benchmark::Barrier.accepts_type());
        assert!(Benchmark::PutBw.accepts_window());
        assert!(!Benchmark::PutLatency.accepts_window());
        assert!(!Benchmark::PutLatency.accepts_full());
        assert_eq!(
            Benchmark::COLLECTIVES.len() + Benchmark::ONE_SIDED.len(),
            Benchmark::ALL.len()
        );
    }
}
