//! `rsm-compare`: rsm against Open MPI and MPICH with the same OSU-method benchmarks,
//! alternating, several rounds; prints a table and writes Markdown, CSV and SVG plots.
//!
//! ```text
//! cargo run --release -p rsm-benches --bin rsm-compare -- \
//!     --np 2 --benchmarks barrier,allreduce,bcast --sizes 8,1048576 --rounds 3
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use rsm_benches::compare::{self, Config, DEFAULT_SIZES, mpi::Library, workspace_root};
use rsm_benches::osu::Benchmark;

/// Compare rsm with Open MPI and MPICH using the same OSU 7.4-method benchmarks.
#[derive(Debug, Parser)]
#[command(name = "rsm-compare", version)]
struct Cli {
    /// Ranks per run (one-sided benchmarks need exactly 2).
    #[arg(long, default_value_t = 2)]
    np: usize,

    /// Benchmarks, comma-separated (`allreduce` or `osu_allreduce`), or `all`,
    /// `collectives`, `one-sided`.
    #[arg(long, default_value = "collectives", value_delimiter = ',')]
    benchmarks: Vec<String>,

    /// Message sizes in bytes, comma-separated (K/M suffixes allowed: 8,1K,64K,1M,4M).
    #[arg(long, value_delimiter = ',')]
    sizes: Option<Vec<String>>,

    /// Rounds; each round runs every library once per benchmark.
    #[arg(long, default_value_t = 3)]
    rounds: usize,

    /// Libraries, comma-separated; the first is the subject of the ratios.
    #[arg(long, default_value = "rsm,openmpi,mpich", value_delimiter = ',')]
    libraries: Vec<String>,

    /// Allow more ranks than cores.
    #[arg(long)]
    oversubscribe: bool,

    /// Time limit per run in seconds; a run past it is killed and reported as timeout.
    #[arg(long, default_value_t = 300)]
    timeout: u64,

    /// `-i` for every run (default: the benchmark's own).
    #[arg(long)]
    iterations: Option<usize>,

    /// `-x` for every run (default: the benchmark's own).
    #[arg(long)]
    warmup: Option<usize>,

    /// Output directory for comparison.md, runs.csv, *.svg and raw/ (default
    /// <workspace>/target/rsm-compare).
    #[arg(long)]
    out: Option<PathBuf>,

    /// Where the C benchmark is built (default <workspace>/target/mpi-bench).
    #[arg(long)]
    build_dir: Option<PathBuf>,

    /// Directory with rsm's osu_* binaries and rsmrun (default <workspace>/target/release).
    #[arg(long)]
    rsm_bin_dir: Option<PathBuf>,

    /// The rsmrun launcher (default: <rsm-bin-dir>/rsmrun, else PATH).
    #[arg(long)]
    rsmrun: Option<PathBuf>,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], 1u64 << 10),
        Some((i, 'M' | 'm')) => (&t[..i], 1 << 20),
        Some((i, 'G' | 'g')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|&n| (1..=1 << 30).contains(&n))
        .ok_or_else(|| format!("invalid size {s:?} (expected 1 B to 1 GiB, e.g. 8, 64K, 1M)"))
}

fn parse_benchmarks(items: &[String]) -> Result<Vec<Benchmark>, String> {
    let mut out = Vec::new();
    for item in items {
        let group: Vec<Benchmark> = match item.trim() {
            "all" => Benchmark::ALL.to_vec(),
            "collectives" => Benchmark::COLLECTIVES.to_vec(),
            "one-sided" => Benchmark::ONE_SIDED.to_vec(),
            name => vec![Benchmark::from_name(name).ok_or_else(|| {
                let known: Vec<&str> = Benchmark::ALL.iter().map(|b| b.short_name()).collect();
                format!("unknown benchmark {name:?}; known: {}", known.join(", "))
            })?],
        };
        for b in group {
            if !out.contains(&b) {
                out.push(b);
            }
        }
    }
    Ok(out)
}

fn build_config(cli: Cli) -> Result<Config, String> {
    if cli.rounds == 0 {
        return Err("--rounds must be at least 1".into());
    }
    if cli.timeout == 0 {
        return Err("--timeout must be at least 1 second".into());
    }
    let benchmarks = parse_benchmarks(&cli.benchmarks)?;
    let sizes = match &cli.sizes {
        Some(v) => v
            .iter()
            .map(|s| parse_size(s))
            .collect::<Result<Vec<_>, _>>()?,
        None => DEFAULT_SIZES.to_vec(),
    };
    let mut libraries = Vec::new();
    for l in &cli.libraries {
        let lib = Library::from_id(l.trim())
            .ok_or_else(|| format!("unknown library {l:?}; known: rsm, openmpi, mpich"))?;
        if !libraries.contains(&lib) {
            libraries.push(lib);
        }
    }
    let root = workspace_root();
    Ok(Config {
        np: cli.np,
        benchmarks,
        sizes,
        rounds: cli.rounds,
        libraries,
        oversubscribe: cli.oversubscribe,
        timeout: Duration::from_secs(cli.timeout),
        iterations: cli.iterations,
        warmup: cli.warmup,
        out_dir: cli.out.unwrap_or_else(|| root.join("target/rsm-compare")),
        build_dir: cli
            .build_dir
            .unwrap_or_else(|| root.join("target/mpi-bench")),
        rsm_bin_dir: cli
            .rsm_bin_dir
            .unwrap_or_else(|| root.join("target/release")),
        rsmrun: cli.rsmrun,
        command: std::env::args()
            .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
            .collect::<Vec<_>>()
            .join(" "),
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match build_config(cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rsm-compare: {e}");
            return ExitCode::from(2);
        }
    };
    match compare::run(&config, false) {
        Ok(results) => {
            println!();
            println!("{}", results.markdown_table());
            if let Some(text) = results.behind_text() {
                println!("{text}");
            }
            println!("Report: {}", config.out_dir.join("comparison.md").display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rsm-compare: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("8"), Ok(8));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("4M"), Ok(4 << 20));
        assert!(parse_size("0").is_err());
        assert!(parse_size("2G").is_err());
        assert!(parse_size("x").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn benchmark_lists() {
        assert_eq!(
            parse_benchmarks(&["barrier".into(), "osu_allreduce".into(), "barrier".into()]),
            Ok(vec![Benchmark::Barrier, Benchmark::Allreduce])
        );
        assert_eq!(parse_benchmarks(&["one-sided".into()]).unwrap().len(), 5);
        assert!(
            parse_benchmarks(&["latency".into()])
                .unwrap_err()
                .contains("known:")
        );
    }

    #[test]
    fn cli_to_config() {
        let cli = Cli::parse_from([
            "rsm-compare",
            "--np",
            "2",
            "--benchmarks",
            "barrier,bcast",
            "--sizes",
            "8,1M",
            "--libraries",
            "mpich,openmpi",
            "--rounds",
            "2",
        ]);
        let c = build_config(cli).unwrap();
        assert_eq!(c.sizes, vec![8, 1 << 20]);
        assert_eq!(c.libraries, vec![Library::Mpich, Library::OpenMpi]);
        assert_eq!(c.benchmarks, vec![Benchmark::Barrier, Benchmark::Bcast]);
        assert!(c.out_dir.ends_with("target/rsm-compare"));
        let bad = Cli::parse_from(["rsm-compare", "--libraries", "intel"]);
        assert!(build_config(bad).unwrap_err().contains("unknown library"));
        let zero = Cli::parse_from(["rsm-compare", "--rounds", "0"]);
        assert!(build_config(zero).is_err());
    }
}
