//! The nine rsm collective benchmarks (`osu_barrier` … `osu_reduce_scatter`) as real jobs of
//! the real `rsmrun`: each validates (`-c`) over a tiny size range at np 2 and 3 on both data
//! paths, with every element type and across the small/large and cell boundaries; injected
//! corruption makes each fail loudly (exit 1, `Fail`, the exact mismatch line); the output is
//! byte for byte the OSU layout of `rsm_benches::osu` and line for line what the C MPI
//! benchmark prints (when an MPI is installed); help, usage errors and the rank count are
//! checked; the algorithm lines appear on request; and `rsm-compare` runs the rsm collectives
//! next to an MPI.
//!
//! Launches (`common`) are serialised (2 shared cores), each in a namespace of its own and
//! bounded by a time limit: a stuck job is killed with its whole process tree and fails the
//! test.

mod common;

use common::{
    LIMIT, assert_layouts_match_mpi, bin_dir, binary, launch, options, ranks_stderr, rsmrun,
    serial, singleton,
};
use rsm_benches::collective;
use rsm_benches::compare::mpi::{self, Library};
use rsm_benches::compare::parse::{OsuOutput, parse_strict};
use rsm_benches::compare::report::RunResult;
use rsm_benches::compare::runner::{Outcome, Status};
use rsm_benches::osu::validate::{Elem, data_value, reduce_expected};
use rsm_benches::osu::{self, Benchmark, DType, Options, RowValues};

const WARMUP: usize = 2;

fn tiny_args(bench: Benchmark) -> &'static [&'static str] {
    if bench.has_size() {
        &["-m", "1:64", "-i", "10", "-x", "2", "-f", "-c"]
    } else {
        &["-i", "10", "-x", "2", "-f", "-c"]
    }
}

/// The `# Library:` line's text for a job of `np` unbound ranks (oversubscribed when they
/// outnumber this process's CPUs, as the communicator decides).
fn library(path: &str, np: usize) -> String {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    collective::library_name("loopback", path, np > cpus)
}

/// What rank 0 must have printed, given the figures it printed (and, with `algorithms`,
/// the `# Algorithm:` lines it printed).
fn expected_stdout(out: &OsuOutput, opts: &Options, algorithms: &[String]) -> String {
    let mut want = collective::title(opts.benchmark, out.library.as_deref().unwrap_or(""));
    let mut notes = algorithms.iter();
    for (section, &dtype) in out.sections.iter().zip(&opts.types) {
        want += &collective::section_header(opts, dtype);
        for r in &section.rows {
            let v = RowValues {
                value: r.value,
                min: r.min.unwrap_or(r.value),
                max: r.max.unwrap_or(r.value),
                iterations: r.iterations.unwrap_or(0) as usize,
            };
            want += &osu::row(opts, r.size.unwrap_or(0) as usize, &v, r.validation);
            if let Some(line) = notes.next() {
                want += line;
            }
        }
    }
    want
}

/// Requires success, every row `Pass`, the sizes the options give for every element type,
/// `-f` columns that make sense, the byte-exact layout and a silent stderr.
fn check_passed(o: &Outcome, np: usize, bench: Benchmark, args: &[&str], path: &str) -> OsuOutput {
    let what = format!("{bench} np={np} {path} {args:?}");
    assert!(
        o.status.success(),
        "{what}: {}\n{}{}",
        o.status,
        o.stdout,
        o.stderr
    );
    let out = parse_strict(&o.stdout).unwrap_or_else(|e| panic!("{what}: {e}\n{}", o.stdout));
    assert_eq!(
        out.title.as_deref(),
        Some(format!("{} v7.4", bench.title()).as_str())
    );
    assert_eq!(
        out.library.as_deref(),
        Some(library(path, np).as_str()),
        "{what}"
    );
    assert!(!out.validation_failed(), "{what}: {}", o.stdout);
    let opts = options(bench, args);
    assert_eq!(out.sections.len(), opts.types.len(), "{what}");
    for (section, &dtype) in out.sections.iter().zip(&opts.types) {
        let want: Vec<Option<u64>> = if bench.has_size() {
            opts.sizes(dtype, np)
                .into_iter()
                .map(|s| Some(s as u64))
                .collect()
        } else {
            vec![None]
        };
        let got: Vec<Option<u64>> = section.rows.iter().map(|r| r.size).collect();
        assert_eq!(got, want, "{what} {dtype}");
        for r in &section.rows {
            assert_eq!(r.validation, Some(opts.validate).filter(|&v| v), "{what}");
            assert!(r.value.is_finite() && r.value > 0.0, "{what}: {}", o.stdout);
            if opts.full {
                let size = r.size.unwrap_or(0) as usize;
                assert_eq!(r.iterations, Some(opts.iterations_for(size) as u64));
                let (min, max) = (r.min.unwrap(), r.max.unwrap());
                assert!(min <= r.value && r.value <= max, "{what}: {}", o.stdout);
            }
        }
    }
    assert_eq!(o.stdout, expected_stdout(&out, &opts, &[]), "{what}");
    assert_eq!(o.stderr, "", "{what}");
    out
}

#[test]
fn every_collective_validates_at_np2_and_np3_on_both_paths() {
    for (np, path) in [(2, "map"), (3, "map"), (2, "put"), (3, "put")] {
        let env: &[(&str, &str)] = if path == "put" {
            &[("RSM_LOOPBACK_MAP", "0")]
        } else {
            &[]
        };
        for bench in Benchmark::COLLECTIVES {
            let args = tiny_args(bench);
            let o = launch(np, bench, args, env);
            check_passed(&o, np, bench, args, path);
        }
    }
}

#[test]
fn element_types_and_larger_messages_validate() {
    // Every element type, across the 8 KiB small/large boundary (the iteration defaults
    // switch there), the 16 KiB one-shot limit, 64 KiB stream cells, and messages larger
    // than half the cell ring (credit-based streaming).
    let cases: [(usize, Benchmark, &[&str], &str); 10] = [
        (
            2,
            Benchmark::Allreduce,
            &["-T", "all", "-m", "4:32768", "-i", "3", "-x", "1", "-c"],
            "map",
        ),
        (
            3,
            Benchmark::ReduceScatter,
            &[
                "-T",
                "mpi_float",
                "-m",
                "4:1048576",
                "-i",
                "2",
                "-x",
                "1",
                "-c",
            ],
            "map",
        ),
        (
            3,
            Benchmark::Bcast,
            &["-m", "65536:4194304", "-i", "2", "-x", "1", "-c"],
            "map",
        ),
        (
            3,
            Benchmark::Alltoall,
            &[
                "-T",
                "mpi_int",
                "-m",
                "1024:262144",
                "-i",
                "2",
                "-x",
                "1",
                "-c",
            ],
            "map",
        ),
        (
            3,
            Benchmark::Gather,
            &[
                "-T",
                "mpi_int",
                "-m",
                "131072:1048576",
                "-i",
                "2",
                "-x",
                "1",
                "-c",
            ],
            "map",
        ),
        (
            3,
            Benchmark::Scatter,
            &[
                "-T",
                "mpi_float",
                "-m",
                "131072:1048576",
                "-i",
                "2",
                "-x",
                "1",
                "-c",
            ],
            "map",
        ),
        (
            2,
            Benchmark::Allgather,
            &["-m", "1048576", "-i", "2", "-x", "1", "-c", "-f"],
            "map",
        ),
        (
            3,
            Benchmark::Reduce,
            &[
                "-T",
                "mpi_float",
                "-m",
                "32768:1048576",
                "-i",
                "2",
                "-x",
                "1",
                "-c",
            ],
            "map",
        ),
        (
            2,
            Benchmark::Allreduce,
            &[
                "-T",
                "mpi_int",
                "-m",
                "65536:1048576",
                "-i",
                "2",
                "-x",
                "1",
                "-c",
            ],
            "put",
        ),
        (
            3,
            Benchmark::Bcast,
            &[
                "-T",
                "mpi_int",
                "-m",
                "8192:1048576",
                "-i",
                "2",
                "-x",
                "1",
                "-c",
            ],
            "put",
        ),
    ];
    for (np, bench, args, path) in cases {
        let env: &[(&str, &str)] = if path == "put" {
            &[("RSM_LOOPBACK_MAP", "0")]
        } else {
            &[]
        };
        let o = launch(np, bench, args, env);
        let out = check_passed(&o, np, bench, args, path);
        if bench == Benchmark::Allreduce && path == "map" {
            let types: Vec<Option<&str>> =
                out.sections.iter().map(|s| s.datatype.as_deref()).collect();
            assert_eq!(
                types,
                [Some("MPI_CHAR"), Some("MPI_INT"), Some("MPI_FLOAT")]
            );
        }
    }
}

/// The element rank 0 checks first, as the benchmark encodes it (`MPI_CHAR`).
fn first_element(bench: Benchmark, np: usize, iter: u64) -> i8 {
    let e = match bench {
        Benchmark::Reduce | Benchmark::Allreduce | Benchmark::ReduceScatter => {
            reduce_expected(DType::Char, np, iter, 0)
        }
        _ => Elem::encode(DType::Char, data_value(0, 0, iter, 0)),
    };
    match e {
        Elem::Char(c) => c,
        other => panic!("{other:?}"),
    }
}

#[test]
fn injected_corruption_fails_loudly() {
    for (np, path) in [(2, "map"), (3, "put")] {
        let mut env = vec![("RSM_BENCH_INJECT_ERROR", "1")];
        if path == "put" {
            env.push(("RSM_LOOPBACK_MAP", "0"));
        }
        for bench in Benchmark::COLLECTIVES {
            let args = tiny_args(bench);
            let what = format!("{bench} np={np} {path}");
            let o = launch(np, bench, args, &env);
            assert_eq!(
                o.status,
                Status::Exited(1),
                "{what}: {}\n{}",
                o.stdout,
                o.stderr
            );
            let out = parse_strict(&o.stdout).unwrap();
            assert!(out.validation_failed(), "{what}");
            // It stops at the first (failing) size.
            let first = options(bench, args).sizes(DType::Char, np)[0];
            assert_eq!(out.rows().len(), 1, "{what}: {}", o.stdout);
            assert_eq!(out.rows()[0].size, bench.has_size().then_some(first as u64));
            assert_eq!(out.rows()[0].validation, Some(false));
            let reported = if bench.has_size() { first } else { 0 };
            assert!(
                o.stdout.ends_with(&format!(
                    "DATA VALIDATION ERROR: {} exited with status 1 on message size {reported}.\n",
                    binary(bench).display()
                )),
                "{what}: {}",
                o.stdout
            );
            let stderr = ranks_stderr(&o.stderr);
            if bench == Benchmark::Barrier {
                // Rank 0 "left" the first timed barrier just before it entered.
                let prefix = format!(
                    "[rank 0] osu_barrier: validation failed: iteration {WARMUP}: rank 0 left the barrier before rank "
                );
                assert!(stderr.starts_with(&prefix), "{what}: {stderr:?}");
                let late: usize = stderr[prefix.len()..]
                    .strip_suffix(" entered it\n")
                    .and_then(|r| r.parse().ok())
                    .unwrap_or_else(|| panic!("{what}: {stderr:?}"));
                assert!(late < np, "{what}: {stderr:?}");
            } else {
                // Rank 0 saw element 0 of the first timed iteration with bit 6 flipped.
                let e = first_element(bench, np, WARMUP as u64);
                let block = match bench {
                    Benchmark::Gather | Benchmark::Allgather | Benchmark::Alltoall => "block 0, ",
                    _ => "",
                };
                assert_eq!(
                    stderr,
                    format!(
                        "[rank 0] {}: validation failed at size {first} (MPI_CHAR), iteration {WARMUP}: {block}element 0: expected {e}, got {}\n",
                        bench.name(),
                        e ^ 0x40
                    ),
                    "{what}"
                );
            }
        }
    }
}

#[test]
fn help_usage_errors_and_rank_count() {
    for bench in Benchmark::COLLECTIVES {
        let o = singleton(bench, &["-h"]);
        assert!(o.status.success(), "{bench}: {}", o.stderr);
        assert_eq!(o.stdout, osu::help_text(bench), "{bench}");
        assert_eq!(o.stderr, "", "{bench}");
    }
    let o = launch(3, Benchmark::Alltoall, &["--help"], &[]);
    assert!(o.status.success());
    assert_eq!(o.stdout, osu::help_text(Benchmark::Alltoall));
    for (bench, args) in [
        (Benchmark::Barrier, &["-m", "8"][..]),
        (Benchmark::Bcast, &["-W", "4"][..]),
        (Benchmark::Allreduce, &["-T", "mpi_double"][..]),
        (Benchmark::Gather, &["-i", "0"][..]),
        (Benchmark::ReduceScatter, &["-c", "stray"][..]),
    ] {
        let err = osu::parse_args(bench, args).unwrap_err();
        let o = launch(2, bench, args, &[]);
        assert_eq!(o.status, Status::Exited(1), "{bench} {args:?}");
        assert_eq!(
            ranks_stderr(&o.stderr),
            format!("{err}\n\n"),
            "{bench} {args:?}: {:?}",
            o.stderr
        );
        assert_eq!(o.stdout, osu::help_text(bench), "{bench} {args:?}");
    }
    // Without rsmrun: a singleton of one rank, like an MPI singleton.
    let o = singleton(Benchmark::Allreduce, &["-m", "8:8"]);
    assert_eq!(o.status, Status::Exited(1));
    assert_eq!(o.stderr, "This test requires at least two processes\n");
    assert_eq!(o.stdout, "");
}

#[test]
fn algorithm_lines_on_request() {
    let args = ["-m", "8:65536", "-i", "3", "-x", "1", "-c"];
    let sizes = options(Benchmark::Allreduce, &args).sizes(DType::Char, 2);
    for (env, forced) in [
        (vec![("RSM_BENCH_ALGORITHM", "1")], false),
        (
            vec![("RSM_BENCH_ALGORITHM", "1"), ("RSM_COLL_ALLREDUCE", "ring")],
            true,
        ),
    ] {
        let o = launch(2, Benchmark::Allreduce, &args, &env);
        assert!(o.status.success(), "{env:?}: {}", o.stderr);
        let out = parse_strict(&o.stdout).unwrap();
        let lines: Vec<String> = o
            .stdout
            .lines()
            .filter(|l| l.starts_with("# Algorithm: "))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(lines.len(), sizes.len(), "{}", o.stdout);
        for (line, size) in lines.iter().zip(&sizes) {
            let name = line
                .strip_prefix(&format!("# Algorithm: size {size}: "))
                .unwrap_or_else(|| panic!("{line:?}"));
            if forced {
                assert_eq!(name, "ring (forced by RSM_COLL_ALLREDUCE)\n");
            } else {
                // docs/collectives.md §6.1: one-shot up to RSM_COLL_ONESHOT_MAX (16 KiB).
                let algorithm = if *size <= 16384 { "oneshot" } else { "twoshot" };
                assert_eq!(name, format!("{algorithm} (default)\n"), "{size}");
            }
        }
        assert_eq!(
            o.stdout,
            expected_stdout(&out, &options(Benchmark::Allreduce, &args), &lines)
        );
        assert_eq!(o.stderr, "");
    }
    // RSM_COLL_VERBOSE=1 also turns them on; the collectives then name every call on stderr.
    let o = launch(
        2,
        Benchmark::Barrier,
        &["-i", "2", "-x", "0"],
        &[("RSM_COLL_VERBOSE", "1")],
    );
    assert!(o.status.success(), "{}", o.stderr);
    assert!(
        o.stdout
            .ends_with("\n# Algorithm: dissemination (default)\n"),
        "{}",
        o.stdout
    );
    assert!(
        o.stderr
            .lines()
            .filter(|l| l.contains(": barrier bytes=0 path=map -> dissemination (default)"))
            .count()
            >= 2,
        "{}",
        o.stderr
    );
}

#[test]
fn layout_matches_the_mpi_side_line_for_line() {
    assert_layouts_match_mpi("collective-parity", &Benchmark::COLLECTIVES, tiny_args);
}

#[test]
fn rsm_compare_runs_the_collectives_next_to_mpi() {
    let out = tempfile::tempdir().unwrap();
    let mut libraries = vec![Library::Rsm];
    libraries.extend(
        [Library::Mpich, Library::OpenMpi]
            .into_iter()
            .find(|&l| mpi::detect(l).is_ok()),
    );
    let benchmarks = vec![Benchmark::Barrier, Benchmark::Allreduce, Benchmark::Bcast];
    let config = rsm_benches::compare::Config {
        np: 2,
        benchmarks: benchmarks.clone(),
        sizes: vec![8, 1024],
        rounds: 1,
        libraries: libraries.clone(),
        oversubscribe: false,
        timeout: LIMIT,
        iterations: Some(20),
        warmup: Some(2),
        out_dir: out.path().to_path_buf(),
        build_dir: std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compare-mpi"),
        rsm_bin_dir: bin_dir(),
        rsmrun: Some(rsmrun()),
        command: "rsm-compare (test)".to_string(),
    };
    let results = {
        let _g = serial();
        rsm_benches::compare::run(&config, true).unwrap()
    };
    assert!(results.skipped.is_empty(), "{:?}", results.skipped);
    assert_eq!(results.records.len(), benchmarks.len() * libraries.len());
    for r in &results.records {
        let RunResult::Ok(o) = &r.result else {
            panic!("{} {}: {:?}", r.library, r.bench, r.result);
        };
        let sizes: &[Option<u64>] = if r.bench.has_size() {
            &[Some(8), Some(1024)]
        } else {
            &[None]
        };
        for &size in sizes {
            let row = o
                .row(size)
                .unwrap_or_else(|| panic!("{} {} {size:?}", r.library, r.bench));
            assert!(row.value.is_finite() && row.value > 0.0);
        }
    }
    let algorithms = results.algorithms();
    assert_eq!(algorithms[&(Benchmark::Barrier, None)], ["dissemination"]);
    assert_eq!(algorithms[&(Benchmark::Allreduce, Some(8))], ["oneshot"]);
    assert_eq!(algorithms[&(Benchmark::Bcast, Some(1024))], ["flat"]);
    let md = std::fs::read_to_string(out.path().join("comparison.md")).unwrap();
    assert!(md.contains(&library("map", 2)), "{md}");
    assert!(md.contains(" rsm algorithm |\n"), "{md}");
    assert!(
        md.lines()
            .any(|l| l.starts_with("| osu_allreduce | 8 B | µs | ") && l.ends_with(" | oneshot |")),
        "{md}"
    );
    if libraries.len() == 2 {
        let other = libraries[1].display_name();
        assert!(md.contains(&format!("| rsm/{other} |")), "{md}");
        let row = md
            .lines()
            .find(|l| l.starts_with("| osu_barrier | — | µs | "))
            .unwrap_or_else(|| panic!("{md}"));
        assert!(md.contains(&format!("| rsm/{other} by round |")), "{md}");
        // rsm, the MPI, the ratio of medians and the ratio by round (numbers), the algorithm.
        let cells: Vec<&str> = row.trim_matches('|').split(" | ").collect();
        assert_eq!(cells.len(), 8, "{row}");
        assert!(cells[5].trim().parse::<f64>().is_ok(), "{row}");
        assert!(cells[6].trim().parse::<f64>().is_ok(), "{row}");
    } else {
        eprintln!("no MPI installed: rsm alone");
    }
    for b in benchmarks.iter().filter(|b| b.has_size()) {
        let svg = out.path().join(format!("{}.svg", b.name()));
        assert!(
            std::fs::metadata(&svg)
                .map(|m| m.len() > 0)
                .unwrap_or(false),
            "{svg:?}"
        );
    }
}
