//! `rsm-compare`: runs our benchmarks for rsm, Open MPI and MPICH side by side and reports.
//!
//! 1. finds the libraries ([`mpi::detect`], [`mpi::RsmInstall::detect`]); an unavailable one
//!    is skipped with the reason (and, when no MPI is installed, the `apt-get` line);
//! 2. builds `benches/mpi/osu_mpi.c` with each MPI's `mpicc` into `<build-dir>/<library>/`;
//! 3. runs, for each round, for each benchmark, each library once (A B C A B C …), every run
//!    bounded by a time limit (a stuck run is killed and reported as `timeout`);
//! 4. parses the OSU output ([`parse`]), and writes `comparison.md` (machine, date, command,
//!    table of medians, best rounds and ratios), `runs.csv`, one SVG per benchmark with sizes,
//!    and every raw output under `raw/`.

pub mod mpi;
pub mod parse;
pub mod plot;
pub mod report;
pub mod runner;
pub mod sysinfo;

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};

use crate::osu::Benchmark;
use mpi::{LaunchSettings, Library, MpiBuild, RsmInstall};
use report::{Results, RunRecord, RunResult};
use runner::Status;

/// Everything `rsm-compare` was asked to do.
#[derive(Debug, Clone)]
pub struct Config {
    /// Ranks per run.
    pub np: usize,
    /// Benchmarks, in order.
    pub benchmarks: Vec<Benchmark>,
    /// Message sizes (bytes).
    pub sizes: Vec<u64>,
    /// Rounds.
    pub rounds: usize,
    /// Libraries; the first is the subject of the ratios.
    pub libraries: Vec<Library>,
    /// Allow more ranks than cores.
    pub oversubscribe: bool,
    /// Limit per run.
    pub timeout: Duration,
    /// `-i` passed to every run.
    pub iterations: Option<usize>,
    /// `-x` passed to every run.
    pub warmup: Option<usize>,
    /// Where reports go.
    pub out_dir: PathBuf,
    /// Where the C benchmark is built (`<dir>/<library>/`).
    pub build_dir: PathBuf,
    /// Where rsm's `osu_*` binaries (and normally `rsmrun`) are.
    pub rsm_bin_dir: PathBuf,
    /// Explicit `rsmrun`.
    pub rsmrun: Option<PathBuf>,
    /// The command line, for the report.
    pub command: String,
}

/// The workspace root this crate was built in (`benches/..`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Pause before every run, so that the previous job has left the CPUs.
pub const SETTLE: Duration = Duration::from_millis(300);

/// The default sizes of the README table: 8 B, 1 KiB, 64 KiB, 1 MiB, 4 MiB.
pub const DEFAULT_SIZES: [u64; 5] = [8, 1024, 65536, 1 << 20, 4 << 20];

/// Groups sizes into runs of `-m lo:hi` whose OSU size sequence (`lo, 2·lo, …`) contains them
/// all: one launch per group instead of one per size.
pub fn size_groups(sizes: &[u64]) -> Vec<(u64, u64)> {
    let mut s: Vec<u64> = sizes.iter().copied().filter(|&x| x > 0).collect();
    s.sort_unstable();
    s.dedup();
    let mut groups: Vec<(u64, u64)> = Vec::new();
    for x in s {
        match groups.last_mut() {
            Some((lo, hi)) if x % *lo == 0 && (x / *lo).is_power_of_two() => *hi = x,
            _ => groups.push((x, x)),
        }
    }
    groups
}

/// Arguments for one launch of `bench` covering `group`.
pub fn bench_args(config: &Config, bench: Benchmark, group: Option<(u64, u64)>) -> Vec<String> {
    let mut a = Vec::new();
    if let (true, Some((lo, hi))) = (bench.has_size(), group) {
        a.push("-m".to_string());
        a.push(format!("{lo}:{hi}"));
    }
    if let Some(i) = config.iterations {
        a.push("-i".to_string());
        a.push(i.to_string());
    }
    if let Some(x) = config.warmup {
        a.push("-x".to_string());
        a.push(x.to_string());
    }
    a
}

/// Progress reporting: a bar on a terminal, plain lines otherwise.
#[derive(Debug)]
pub enum Progress {
    /// indicatif bar.
    Bar(ProgressBar),
    /// One line per run on stdout.
    Lines {
        /// Runs done.
        done: u64,
        /// Runs in total.
        total: u64,
    },
    /// Nothing (tests).
    Quiet,
}

impl Progress {
    /// A bar when stdout is a terminal, else plain lines.
    pub fn auto(total: u64) -> Progress {
        if io::stdout().is_terminal() {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            ) {
                bar.set_style(style);
            }
            // Keeps the clock and spinner moving during long runs.
            bar.enable_steady_tick(Duration::from_millis(250));
            Progress::Bar(bar)
        } else {
            Progress::Lines { done: 0, total }
        }
    }

    fn start(&mut self, what: &str) {
        if let Progress::Bar(b) = self {
            b.set_message(what.to_string());
        }
    }

    fn finish_one(&mut self, what: &str, how: &str) {
        match self {
            Progress::Bar(b) => {
                b.inc(1);
                if how != "ok" {
                    b.println(format!("{what}: {how}"));
                }
            }
            Progress::Lines { done, total } => {
                *done += 1;
                println!("[{done}/{total}] {what}: {how}");
                let _ = io::stdout().flush();
            }
            Progress::Quiet => {}
        }
    }

    fn note(&mut self, msg: &str) {
        match self {
            Progress::Bar(b) => b.println(msg),
            Progress::Lines { .. } => println!("{msg}"),
            Progress::Quiet => {}
        }
    }

    fn finish(&mut self) {
        if let Progress::Bar(b) = self {
            b.finish_and_clear();
        }
    }
}

enum Runner {
    Mpi(MpiBuild),
    Rsm(RsmInstall),
}

/// Prepares the libraries: detect, build. Returns the usable ones and skip notes.
fn prepare(
    config: &Config,
    results: &mut Results,
    say: &mut dyn FnMut(&str),
) -> Vec<(Library, Runner)> {
    let mut ready = Vec::new();
    for &lib in &config.libraries {
        if lib == Library::Rsm {
            match RsmInstall::detect(&config.rsm_bin_dir, config.rsmrun.as_deref()) {
                Ok(r) => ready.push((lib, Runner::Rsm(r))),
                Err(why) => {
                    say(&format!("skipping {lib}: {why}"));
                    results.skipped.push((Some(lib), None, why));
                }
            }
            continue;
        }
        let install = match mpi::detect(lib) {
            Ok(i) => i,
            Err(why) => {
                say(&format!("skipping {lib}: {why}"));
                results.skipped.push((Some(lib), None, why));
                continue;
            }
        };
        let dir = config.build_dir.join(lib.id());
        say(&format!(
            "building the C benchmark with {} in {}",
            install.mpicc.display(),
            dir.display()
        ));
        match mpi::build(&install, &dir) {
            Ok(b) => ready.push((lib, Runner::Mpi(b))),
            Err(e) => {
                let why = format!("build failed: {e}");
                say(&format!("skipping {lib}: {why}"));
                results.skipped.push((Some(lib), None, why));
            }
        }
    }
    ready
}

fn command_text(c: &Command) -> String {
    std::iter::once(c.get_program())
        .chain(c.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs the whole comparison and writes the reports. Fails only when nothing can run or the
/// output directory cannot be written.
pub fn run(config: &Config, quiet: bool) -> Result<Results> {
    let mut results = Results {
        np: config.np,
        rounds: config.rounds,
        oversubscribe: config.oversubscribe,
        benchmarks: config.benchmarks.clone(),
        libraries: config.libraries.clone(),
        sizes: config.sizes.clone(),
        machine: sysinfo::Machine::probe(),
        date: sysinfo::utc_now(),
        command: config.command.clone(),
        ..Results::default()
    };
    let mut say = |m: &str| {
        if !quiet {
            println!("{m}");
        }
    };
    if config.np < 2 {
        bail!("--np must be at least 2");
    }
    for &b in &config.benchmarks {
        if let Some(n) = b.required_ranks()
            && n != config.np
        {
            let why = format!("{b} needs exactly {n} ranks (--np {})", config.np);
            say(&format!("skipping {why}"));
            results.skipped.push((None, Some(b), why));
        }
    }
    let ready = prepare(config, &mut results, &mut say);
    if !ready.iter().any(|(l, _)| l.is_mpi()) && config.libraries.iter().any(|l| l.is_mpi()) {
        say(&format!(
            "No MPI implementation found. Install the references with:\n  {}",
            mpi::INSTALL_HINT
        ));
    }
    if ready.is_empty() {
        bail!(
            "none of the requested libraries can run (install MPI with `{}`, build rsm with `cargo build --release -p rsm-benches -p rsm-launcher`)",
            mpi::INSTALL_HINT
        );
    }
    let raw_dir = config.out_dir.join("raw");
    fs::create_dir_all(&raw_dir).with_context(|| format!("creating {}", raw_dir.display()))?;

    let benches: Vec<Benchmark> = config
        .benchmarks
        .iter()
        .copied()
        .filter(|b| b.required_ranks().is_none_or(|n| n == config.np))
        .collect();
    let groups = size_groups(&config.sizes);
    let launches_per_bench = |b: Benchmark| if b.has_size() { groups.len().max(1) } else { 1 };
    let total: u64 = (config.rounds
        * benches
            .iter()
            .map(|&b| launches_per_bench(b))
            .sum::<usize>()
        * ready.len()) as u64;
    let mut progress = if quiet {
        Progress::Quiet
    } else {
        Progress::auto(total)
    };
    let settings = LaunchSettings {
        np: config.np,
        oversubscribe: config.oversubscribe,
    };

    for round in 1..=config.rounds {
        for &bench in &benches {
            let bench_groups: Vec<Option<(u64, u64)>> = if bench.has_size() && !groups.is_empty() {
                groups.iter().copied().map(Some).collect()
            } else {
                vec![None]
            };
            for (lib, runner) in &ready {
                let mut merged: Option<parse::OsuOutput> = None;
                let mut bad: Option<RunResult> = None;
                let mut elapsed = Duration::ZERO;
                for group in &bench_groups {
                    let what = format!("round {round} {} {}", bench.name(), lib.id());
                    progress.start(&what);
                    let args = bench_args(config, bench, *group);
                    let mut cmd = match runner {
                        Runner::Mpi(b) => mpi::mpi_command(b, &settings, &b.binary(bench), &args),
                        Runner::Rsm(r) => match r.binary(bench) {
                            Ok(p) => r.command(&settings, &p, &args),
                            Err(why) => {
                                if !results
                                    .skipped
                                    .iter()
                                    .any(|(l, b, _)| *l == Some(*lib) && *b == Some(bench))
                                {
                                    progress.note(&format!("skipping {lib}: {why}"));
                                    results.skipped.push((Some(*lib), Some(bench), why));
                                }
                                progress.finish_one(&what, "skipped");
                                bad = Some(RunResult::Failed("binary missing".into()));
                                continue;
                            }
                        },
                    };
                    let cmdline = command_text(&cmd);
                    // The previous job's teardown (launcher daemons, a library's cleanup)
                    // must not overlap a run that lasts a tenth of a second.
                    std::thread::sleep(SETTLE);
                    let outcome = runner::run_with_limit(&mut cmd, config.timeout);
                    let (result, log, how) = match outcome {
                        Err(e) => (
                            RunResult::Failed(format!("could not start: {e}")),
                            format!("could not start: {e}\n"),
                            format!("could not start: {e}"),
                        ),
                        Ok(o) => {
                            elapsed += o.elapsed;
                            let log = format!(
                                "$ {cmdline}\n# {} after {:.1} s\n--- stdout ---\n{}--- stderr ---\n{}",
                                o.status,
                                o.elapsed.as_secs_f64(),
                                o.stdout,
                                o.stderr
                            );
                            match o.status {
                                Status::TimedOut => (
                                    RunResult::TimedOut(
                                        Some(parse::parse(&o.stdout))
                                            .filter(|p| !p.rows().is_empty()),
                                    ),
                                    log,
                                    format!("timeout after {:.0} s", o.elapsed.as_secs_f64()),
                                ),
                                s if !s.success() => {
                                    let first = o
                                        .stderr
                                        .lines()
                                        .find(|l| !l.trim().is_empty())
                                        .unwrap_or("")
                                        .to_string();
                                    (
                                        RunResult::Failed(format!("{s}: {first}")),
                                        log,
                                        format!("failed ({s}) {first}"),
                                    )
                                }
                                _ => match parse::parse_strict(&o.stdout) {
                                    Ok(out) => (RunResult::Ok(out), log, "ok".to_string()),
                                    Err(e) => (
                                        RunResult::Failed(format!("unreadable output: {e}")),
                                        log,
                                        format!("unreadable output: {e}"),
                                    ),
                                },
                            }
                        }
                    };
                    let tag = group.map_or_else(String::new, |(lo, hi)| format!("-{lo}-{hi}"));
                    let raw = raw_dir.join(format!(
                        "r{round}-{}-{}{tag}.txt",
                        bench.short_name(),
                        lib.id()
                    ));
                    fs::write(&raw, log).with_context(|| format!("writing {}", raw.display()))?;
                    progress.finish_one(&what, &how);
                    let (rows, problem) = match result {
                        RunResult::Ok(out) => (Some(out), None),
                        RunResult::TimedOut(partial) => (partial, Some(RunResult::TimedOut(None))),
                        failed => (None, Some(failed)),
                    };
                    if let Some(out) = rows {
                        if let Some(v) = &out.library {
                            results.versions.entry(*lib).or_insert_with(|| v.clone());
                        }
                        merged = Some(match merged.take() {
                            None => out,
                            Some(mut m) => {
                                if let (Some(ms), Some(os)) =
                                    (m.sections.first_mut(), out.sections.into_iter().next())
                                {
                                    ms.rows.extend(os.rows);
                                }
                                // Per-size notes (rsm's `# Algorithm:` lines) of every group.
                                m.notes.extend(out.notes);
                                m
                            }
                        });
                    }
                    // A timeout outranks a failure in what the record reports.
                    if let Some(p) = problem
                        && !matches!(bad, Some(RunResult::TimedOut(_)))
                    {
                        bad = Some(p);
                    }
                }
                let result = match (merged, bad) {
                    (m, Some(RunResult::TimedOut(_))) => RunResult::TimedOut(m),
                    // Some size groups ran, others failed: keep the rows we have; missing
                    // sizes count as failures in the table.
                    (Some(m), _) => RunResult::Ok(m),
                    (None, Some(b)) => b,
                    (None, None) => RunResult::Failed("no output".into()),
                };
                results.records.push(RunRecord {
                    round,
                    bench,
                    library: *lib,
                    result,
                    elapsed,
                });
            }
        }
    }
    progress.finish();
    write_reports(config, &results)?;
    Ok(results)
}

/// Writes `comparison.md`, `runs.csv` and the SVG plots into the output directory.
pub fn write_reports(config: &Config, results: &Results) -> Result<Vec<(Benchmark, String)>> {
    fs::create_dir_all(&config.out_dir)
        .with_context(|| format!("creating {}", config.out_dir.display()))?;
    let rows = results.table();
    let mut plots = Vec::new();
    let subtitle = format!("np={}, median of {} round(s)", results.np, results.rounds);
    for &b in &results.benchmarks {
        let file = format!("{}.svg", b.name());
        let path = config.out_dir.join(&file);
        match plot::plot(&path, b, &rows, &subtitle) {
            Ok(true) => plots.push((b, file)),
            Ok(false) => {}
            Err(e) => anyhow::bail!("plotting {}: {e}", path.display()),
        }
    }
    let md = config.out_dir.join("comparison.md");
    fs::write(&md, results.markdown(&plots))
        .with_context(|| format!("writing {}", md.display()))?;
    let csv = config.out_dir.join("runs.csv");
    fs::write(&csv, results.csv()).with_context(|| format!("writing {}", csv.display()))?;
    Ok(plots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_follow_osu_size_sequences() {
        assert_eq!(size_groups(&DEFAULT_SIZES), vec![(8, 4 << 20)]);
        assert_eq!(size_groups(&[1024, 8, 8, 0]), vec![(8, 1024)]);
        assert_eq!(
            size_groups(&[8, 1000, 4000, 16000]),
            vec![(8, 8), (1000, 16000)]
        );
        assert_eq!(size_groups(&[8, 24, 48]), vec![(8, 8), (24, 48)]);
        assert_eq!(size_groups(&[]), Vec::<(u64, u64)>::new());
    }

    fn config() -> Config {
        Config {
            np: 2,
            benchmarks: vec![Benchmark::Barrier, Benchmark::Allreduce],
            sizes: vec![8],
            rounds: 1,
            libraries: vec![Library::Rsm],
            oversubscribe: false,
            timeout: Duration::from_secs(10),
            iterations: Some(5),
            warmup: None,
            out_dir: PathBuf::from("/nonexistent"),
            build_dir: PathBuf::from("/nonexistent"),
            rsm_bin_dir: PathBuf::from("/nonexistent"),
            rsmrun: None,
            command: String::new(),
        }
    }

    #[test]
    fn args() {
        let c = config();
        assert_eq!(
            bench_args(&c, Benchmark::Barrier, Some((8, 8))),
            ["-i", "5"]
        );
        assert_eq!(
            bench_args(&c, Benchmark::Allreduce, Some((8, 64))),
            ["-m", "8:64", "-i", "5"]
        );
    }

    #[test]
    fn nothing_runnable_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config();
        c.out_dir = dir.path().to_path_buf();
        c.rsmrun = Some(dir.path().join("no-rsmrun"));
        let e = run(&c, true).unwrap_err().to_string();
        assert!(e.contains("none of the requested libraries can run"), "{e}");
        assert!(e.contains(mpi::INSTALL_HINT), "{e}");
    }

    #[test]
    fn np_below_two_is_rejected() {
        let mut c = config();
        c.np = 1;
        assert!(run(&c, true).unwrap_err().to_string().contains("--np"));
    }
}
