//! The C MPI benchmark (`benches/mpi/osu_mpi.c`) under every installed MPI: each benchmark
//! runs with a tiny size range and `-c` and must pass; injected corruption must fail loudly;
//! its output layout, help and usage errors must be byte-for-byte what the Rust `osu` module
//! produces. An MPI that is not installed is skipped with the reason printed (CI installs
//! both: `apt-get install -y openmpi-bin libopenmpi-dev mpich libmpich-dev`).
//!
//! Launches are serialised (2 shared cores) and each is bounded by a time limit; a stuck run
//! is killed with its whole process tree and fails the test.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use rsm_benches::compare::mpi::{self, LaunchSettings, Library, MpiBuild};
use rsm_benches::compare::parse::{OsuOutput, parse_strict};
use rsm_benches::compare::runner::{Outcome, Status, run_with_limit};
use rsm_benches::osu::{self, Benchmark, DType, Options, Parsed, RowValues};

const LIMIT: Duration = Duration::from_secs(120);

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Builds the C benchmark once per installed MPI; prints why an MPI is skipped.
fn builds() -> &'static HashMap<Library, MpiBuild> {
    static BUILDS: OnceLock<HashMap<Library, MpiBuild>> = OnceLock::new();
    BUILDS.get_or_init(|| {
        let mut m = HashMap::new();
        for lib in [Library::OpenMpi, Library::Mpich] {
            match mpi::detect(lib) {
                Ok(install) => {
                    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                        .join("mpi-bench")
                        .join(lib.id());
                    let b = mpi::build(&install, &dir)
                        .unwrap_or_else(|e| panic!("building with {lib}: {e}"));
                    m.insert(lib, b);
                }
                Err(why) => eprintln!(
                    "skipping {lib}: {why}; install with `{}`",
                    mpi::INSTALL_HINT
                ),
            }
        }
        m
    })
}

/// Whether `lib` gets every case of the slow tests: MPICH does (its launcher starts and stops
/// jobs in about 0.1 s), Open MPI only when MPICH is missing — `mpirun` takes about 2.4 s to
/// end a job in which a rank exited non-zero, so with both installed Open MPI gets a sample.
fn thorough(lib: Library) -> bool {
    lib == Library::Mpich || !builds().contains_key(&Library::Mpich)
}

fn each_mpi() -> Vec<(Library, &'static MpiBuild)> {
    let b = builds();
    [Library::OpenMpi, Library::Mpich]
        .into_iter()
        .filter_map(|l| b.get(&l).map(|x| (l, x)))
        .collect()
}

fn launch(
    build: &MpiBuild,
    np: usize,
    bench: Benchmark,
    args: &[&str],
    env: &[(&str, &str)],
) -> Outcome {
    let _g = serial();
    let settings = LaunchSettings {
        np,
        oversubscribe: np > 2,
    };
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let mut cmd = mpi::mpi_command(build, &settings, &build.binary(bench), &args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = run_with_limit(&mut cmd, LIMIT).expect("launch");
    assert_ne!(
        o.status,
        Status::TimedOut,
        "{bench} {args:?} timed out\n{}{}",
        o.stdout,
        o.stderr
    );
    o
}

fn options(bench: Benchmark, args: &[&str]) -> Options {
    match osu::parse_args(bench, args).unwrap() {
        Parsed::Run(o) => o,
        Parsed::Help => unreachable!(),
    }
}

fn library_prefix(lib: Library) -> &'static str {
    match lib {
        Library::OpenMpi => "Open MPI ",
        _ => "MPICH ",
    }
}

/// Runs `bench args` with np ranks, requires success, every row `Pass` and exactly the sizes
/// the Rust side would run, per element type.
fn run_validated(
    lib: Library,
    build: &MpiBuild,
    np: usize,
    bench: Benchmark,
    args: &[&str],
) -> OsuOutput {
    let o = launch(build, np, bench, args, &[]);
    assert!(
        o.status.success(),
        "{lib} {bench} {args:?}: {}\n{}{}",
        o.status,
        o.stdout,
        o.stderr
    );
    let out =
        parse_strict(&o.stdout).unwrap_or_else(|e| panic!("{lib} {bench}: {e}\n{}", o.stdout));
    assert_eq!(
        out.title.as_deref(),
        Some(format!("{} v7.4", bench.title()).as_str())
    );
    let library = out.library.clone().unwrap_or_default();
    assert!(library.starts_with(library_prefix(lib)), "{library}");
    assert!(
        !out.validation_failed(),
        "{lib} {bench}:\n{}{}",
        o.stdout,
        o.stderr
    );
    let opts = options(bench, args);
    assert_eq!(out.sections.len(), opts.types.len());
    for (section, dtype) in out.sections.iter().zip(&opts.types) {
        if bench.has_size() {
            assert_eq!(section.datatype.as_deref(), Some(dtype.mpi_name()));
        }
        let want: Vec<Option<u64>> = opts
            .sizes(*dtype, np)
            .into_iter()
            .map(|s| bench.has_size().then_some(s as u64))
            .collect();
        let got: Vec<Option<u64>> = section.rows.iter().map(|r| r.size).collect();
        assert_eq!(got, want, "{lib} {bench} {dtype}");
        assert!(section.rows.iter().all(|r| r.validation == Some(true)));
        assert!(
            section
                .rows
                .iter()
                .all(|r| r.value.is_finite() && r.value >= 0.0)
        );
    }
    out
}

#[test]
fn every_benchmark_validates_with_each_mpi() {
    for (lib, build) in each_mpi() {
        for bench in Benchmark::ALL {
            let args: &[&str] = match bench {
                Benchmark::Barrier => &["-i", "20", "-x", "2", "-c"],
                Benchmark::Allreduce | Benchmark::ReduceScatter | Benchmark::Alltoall => {
                    &["-m", "1:64", "-i", "5", "-x", "2", "-c", "-T", "all"]
                }
                Benchmark::PutBw | Benchmark::GetBw | Benchmark::PutBibw => {
                    &["-m", "1:64", "-i", "5", "-x", "2", "-W", "3", "-c"]
                }
                _ => &["-m", "1:64", "-i", "5", "-x", "2", "-c"],
            };
            run_validated(lib, build, 2, bench, args);
        }
    }
}

#[test]
fn collectives_validate_with_three_ranks_open_mpi() {
    let Some(build) = builds().get(&Library::OpenMpi) else {
        eprintln!("skipping: Open MPI not installed");
        return;
    };
    for bench in Benchmark::COLLECTIVES {
        let args: &[&str] = if bench.has_size() {
            &["-m", "1:128", "-i", "4", "-x", "1", "-c", "-T", "all"]
        } else {
            &["-i", "10", "-x", "1", "-c"]
        };
        run_validated(Library::OpenMpi, build, 3, bench, args);
    }
}

#[test]
fn injected_corruption_fails_loudly() {
    for (lib, build) in each_mpi() {
        let benches: &[Benchmark] = if thorough(lib) {
            &[
                Benchmark::Barrier,
                Benchmark::Bcast,
                Benchmark::Reduce,
                Benchmark::Scatter,
                Benchmark::ReduceScatter,
                Benchmark::PutLatency,
                Benchmark::GetBw,
                Benchmark::PutBibw,
            ]
        } else {
            &[Benchmark::Reduce, Benchmark::PutLatency]
        };
        for &bench in benches {
            let args: &[&str] = if bench.has_size() {
                &["-m", "8:32", "-i", "4", "-x", "1", "-c"]
            } else {
                &["-i", "4", "-x", "1", "-c"]
            };
            let o = launch(build, 2, bench, args, &[("RSM_BENCH_INJECT_ERROR", "1")]);
            assert_eq!(
                o.status,
                Status::Exited(1),
                "{lib} {bench}: {}\n{}",
                o.stdout,
                o.stderr
            );
            let out = parse_strict(&o.stdout).unwrap();
            assert!(out.validation_failed());
            // It stops at the first (failing) size.
            assert_eq!(out.rows().len(), 1, "{}", o.stdout);
            assert_eq!(out.rows()[0].validation, Some(false));
            let size = if bench.has_size() { 8 } else { 0 };
            let line = format!(
                "DATA VALIDATION ERROR: {} exited with status 1 on message size {size}.",
                build.binary(bench).display()
            );
            assert!(o.stdout.contains(&line), "{lib} {bench}: {}", o.stdout);
            assert!(
                o.stderr.contains("validation failed"),
                "{lib} {bench}: {}",
                o.stderr
            );
        }
    }
}

#[test]
fn layout_is_what_the_rust_side_prints() {
    for (lib, build) in each_mpi() {
        for (bench, args) in [
            (
                Benchmark::Allreduce,
                &[
                    "-m", "2:16", "-i", "3", "-x", "1", "-f", "-c", "-T", "mpi_int", "-T", "char",
                ][..],
            ),
            (Benchmark::Barrier, &["-i", "3", "-f"][..]),
            (
                Benchmark::PutBw,
                &["-m", "1:4", "-i", "2", "-x", "0", "-W", "2", "-c"][..],
            ),
            (Benchmark::GetLatency, &["-m", "4:8", "-i", "3"][..]),
        ] {
            let o = launch(build, 2, bench, args, &[]);
            assert!(o.status.success(), "{lib} {bench}: {}", o.stderr);
            let out = parse_strict(&o.stdout).unwrap();
            let opts = options(bench, args);
            let library = out.library.clone().unwrap();
            let mut want = osu::title_lines(bench) + &osu::library_line(&library);
            if bench.is_one_sided() {
                let sync = if bench == Benchmark::PutBibw {
                    "MPI_Win_post/start/complete/wait"
                } else {
                    "MPI_Win_flush"
                };
                want +=
                    &format!("# Window creation: MPI_Win_allocate\n# Synchronization: {sync}\n");
            }
            for (section, dtype) in out.sections.iter().zip(&opts.types) {
                if bench.has_size() {
                    want += &osu::datatype_line(*dtype);
                }
                want += &osu::column_header(&opts);
                for r in &section.rows {
                    let v = RowValues {
                        value: r.value,
                        min: r.min.unwrap_or(r.value),
                        max: r.max.unwrap_or(r.value),
                        iterations: r.iterations.unwrap_or(0) as usize,
                    };
                    want += &osu::row(&opts, r.size.unwrap_or(0) as usize, &v, r.validation);
                }
            }
            assert_eq!(o.stdout, want, "{lib} {bench} {args:?}");
        }
        assert_eq!(DType::Int.mpi_name(), "MPI_INT");
    }
}

#[test]
fn help_and_usage_errors_are_what_the_rust_side_prints() {
    let all = each_mpi();
    // Help for every benchmark with the fastest launcher; both MPIs for a few.
    for (lib, build) in &all {
        let benches: &[Benchmark] = if thorough(*lib) {
            &Benchmark::ALL
        } else {
            &[Benchmark::Barrier, Benchmark::PutBw]
        };
        for &bench in benches {
            let o = launch(build, 1, bench, &["-h"], &[]);
            assert!(o.status.success(), "{lib} {bench}: {}", o.stderr);
            assert_eq!(o.stdout, osu::help_text(bench), "{lib} {bench}");
        }
        let cases = [
            (Benchmark::Allreduce, &["-m", "0"][..]),
            (Benchmark::Allreduce, &["-W", "4"][..]),
            (Benchmark::Gather, &["-T", "double"][..]),
            (Benchmark::Bcast, &["-fcm", "8:4"][..]),
            (Benchmark::Bcast, &["-i"][..]),
            (Benchmark::Barrier, &["--message-size=8"][..]),
            (Benchmark::PutLatency, &["--type=mpi_float"][..]),
            (Benchmark::Scatter, &["--full=yes"][..]),
            (Benchmark::Reduce, &["stray"][..]),
        ];
        let n = if thorough(*lib) { cases.len() } else { 2 };
        for &(bench, args) in &cases[..n] {
            let err = osu::parse_args(bench, args).unwrap_err();
            let o = launch(build, 1, bench, args, &[]);
            assert_eq!(o.status, Status::Exited(1), "{lib} {bench} {args:?}");
            assert!(
                o.stderr.starts_with(&format!("{err}\n\n")),
                "{lib} {bench} {args:?}: {:?}",
                o.stderr
            );
            assert_eq!(o.stdout, osu::help_text(bench), "{lib} {bench} {args:?}");
        }
    }
}

#[test]
fn dispatcher_and_rank_checks() {
    for (lib, build) in each_mpi() {
        let _g = serial();
        let settings = LaunchSettings {
            np: 1,
            oversubscribe: false,
        };
        let osu_mpi = build.dir.join("osu_mpi");
        let mut c = mpi::mpi_command(
            build,
            &settings,
            &osu_mpi,
            &["allgather".into(), "-h".into()],
        );
        let o = run_with_limit(&mut c, LIMIT).unwrap();
        assert!(o.status.success(), "{lib}: {}", o.stderr);
        assert_eq!(o.stdout, osu::help_text(Benchmark::Allgather));
        let mut c = mpi::mpi_command(build, &settings, &osu_mpi, &["nosuch".into()]);
        let o = run_with_limit(&mut c, LIMIT).unwrap();
        assert_eq!(o.status, Status::Exited(1), "{lib}");
        assert!(
            o.stderr.contains("usage: osu_mpi BENCHMARK"),
            "{}",
            o.stderr
        );
        drop(_g);
        // Collectives need two ranks; one-sided exactly two.
        let o = launch(build, 1, Benchmark::Bcast, &["-m", "8:8"], &[]);
        assert_eq!(o.status, Status::Exited(1));
        assert!(
            o.stderr
                .contains("This test requires at least two processes"),
            "{}",
            o.stderr
        );
        let o = launch(build, 3, Benchmark::PutLatency, &["-m", "8:8"], &[]);
        assert_eq!(o.status, Status::Exited(1));
        assert!(
            o.stderr
                .contains("This test requires exactly two processes"),
            "{}",
            o.stderr
        );
    }
}

fn compare_config(
    dir: &std::path::Path,
    benchmarks: Vec<Benchmark>,
) -> rsm_benches::compare::Config {
    rsm_benches::compare::Config {
        np: 2,
        benchmarks,
        sizes: vec![8, 1024],
        rounds: 2,
        libraries: vec![Library::Rsm, Library::OpenMpi, Library::Mpich],
        oversubscribe: false,
        timeout: LIMIT,
        iterations: Some(20),
        warmup: Some(2),
        out_dir: dir.join("out"),
        build_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mpi-bench"),
        rsm_bin_dir: dir.join("no-rsm"),
        rsmrun: None,
        command: "rsm-compare (test)".into(),
    }
}

#[test]
fn comparison_end_to_end() {
    let available: Vec<Library> = each_mpi().into_iter().map(|(l, _)| l).collect();
    if available.is_empty() {
        eprintln!("skipping: no MPI installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let benches = vec![
        Benchmark::Barrier,
        Benchmark::Allreduce,
        Benchmark::PutLatency,
    ];
    let config = compare_config(dir.path(), benches.clone());
    let results = {
        let _g = serial();
        rsm_benches::compare::run(&config, true).unwrap()
    };
    // rsm is not built in this phase: skipped with the reason, never run.
    assert!(
        results
            .skipped
            .iter()
            .any(|(l, _, why)| *l == Some(Library::Rsm) && why.contains("rsmrun"))
    );
    // Alternating: round by round, benchmark by benchmark, each library once.
    let order: Vec<(usize, Benchmark, Library)> = results
        .records
        .iter()
        .map(|r| (r.round, r.bench, r.library))
        .collect();
    let mut want = Vec::new();
    for round in 1..=2 {
        for &b in &benches {
            for &l in &available {
                want.push((round, b, l));
            }
        }
    }
    assert_eq!(order, want);
    for r in &results.records {
        assert!(
            matches!(r.result, rsm_benches::compare::report::RunResult::Ok(_)),
            "{r:?}"
        );
    }
    let table = results.table();
    assert_eq!(table.len(), 1 + 2 + 2);
    for row in &table {
        for (lib, cell) in &row.cells {
            if *lib == Library::Rsm {
                assert_eq!(cell.text(row.metric), "skipped");
            } else {
                assert_eq!(cell.values.len(), 2, "{} {:?} {lib}", row.bench, row.size);
            }
        }
    }
    let out = dir.path().join("out");
    let md = std::fs::read_to_string(out.join("comparison.md")).unwrap();
    assert!(
        md.contains("| osu_allreduce | 1 KiB | µs | skipped |"),
        "{md}"
    );
    assert!(md.contains("- Command: `rsm-compare (test)`"));
    for svg in ["osu_allreduce.svg", "osu_put_latency.svg"] {
        let text = std::fs::read_to_string(out.join(svg)).unwrap();
        assert!(text.len() > 1000 && text.starts_with("<svg"), "{svg}");
    }
    let raws = std::fs::read_dir(out.join("raw")).unwrap().count();
    assert_eq!(raws, results.records.len());
}

#[test]
fn stuck_runs_are_killed_and_reported_as_timeout() {
    let available: Vec<Library> = each_mpi().into_iter().map(|(l, _)| l).collect();
    if available.is_empty() {
        eprintln!("skipping: no MPI installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = compare_config(dir.path(), vec![Benchmark::Barrier]);
    config.rounds = 1;
    config.libraries = available.clone();
    config.iterations = Some(100_000_000);
    config.timeout = Duration::from_secs(3);
    let t0 = std::time::Instant::now();
    let (results, left) = {
        let _g = serial();
        let r = rsm_benches::compare::run(&config, true).unwrap();
        // Nothing we started is left running (checked before other tests may launch).
        (
            r,
            rsm_benches::compare::runner::descendants(std::process::id() as i32),
        )
    };
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(t0.elapsed() < Duration::from_secs(60), "{:?}", t0.elapsed());
    assert_eq!(results.records.len(), available.len());
    for r in &results.records {
        assert!(
            matches!(
                r.result,
                rsm_benches::compare::report::RunResult::TimedOut(None)
            ),
            "{r:?}"
        );
    }
    let row = &results.table()[0];
    assert!(
        row.cells
            .iter()
            .all(|(_, c)| c.text(row.metric) == "timeout")
    );
}
