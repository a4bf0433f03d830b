//! The rsm one-sided benchmarks (`osu_put_latency`, `osu_get_latency`, `osu_put_bw`,
//! `osu_get_bw`, `osu_put_bibw`) as real jobs of the real `rsmrun`: each validates (`-c`) over
//! a tiny size range, injected corruption makes it fail loudly, the output is byte for byte
//! the OSU layout of `rsm_benches::osu` (and line for line what the C MPI benchmark prints,
//! when an MPI is installed), help and usage errors match, the rank count is enforced, and
//! `rsm-compare` runs the rsm library end to end.
//!
//! Launches (`common`) are serialised (2 shared cores), each in a namespace of its own and
//! bounded by a time limit: a stuck job is killed with its whole process tree and fails the
//! test.

mod common;

use common::{
    LIMIT, assert_layouts_match_mpi, bin_dir, binary, launch, options, ranks_stderr, rsmrun,
    serial, singleton,
};
use rsm_benches::compare::mpi::Library;
use rsm_benches::compare::parse::{OsuOutput, parse_strict};
use rsm_benches::compare::runner::Status;
use rsm_benches::one_sided;
use rsm_benches::osu::validate::{Elem, data_value};
use rsm_benches::osu::{self, Benchmark, DType, Metric, Options, RowValues};

fn tiny_args(bench: Benchmark) -> &'static [&'static str] {
    if bench.accepts_window() {
        &["-m", "1:64", "-i", "20", "-x", "3", "-W", "4", "-c"]
    } else {
        &["-m", "1:64", "-i", "20", "-x", "3", "-c"]
    }
}

/// What rank 0 must have printed, given the figures it printed.
fn expected_stdout(out: &OsuOutput, opts: &Options) -> String {
    let library = out.library.clone().unwrap_or_default();
    let mut want = one_sided::header(opts, &library);
    for r in out.rows() {
        let v = RowValues::single(r.value, 0);
        want += &osu::row(opts, r.size.unwrap_or(0) as usize, &v, r.validation);
    }
    want
}

#[test]
fn every_benchmark_validates_under_rsmrun() {
    for bench in Benchmark::ONE_SIDED {
        let args = tiny_args(bench);
        let o = launch(2, bench, args, &[]);
        assert!(
            o.status.success(),
            "{bench}: {}\n{}{}",
            o.status,
            o.stdout,
            o.stderr
        );
        let out = parse_strict(&o.stdout).unwrap_or_else(|e| panic!("{bench}: {e}\n{}", o.stdout));
        assert_eq!(
            out.title.as_deref(),
            Some(format!("{} v7.4", bench.title()).as_str())
        );
        assert_eq!(
            out.library.as_deref(),
            Some(format!("rsm {} (loopback)", env!("CARGO_PKG_VERSION")).as_str())
        );
        assert!(!out.validation_failed(), "{bench}: {}", o.stdout);
        let sizes: Vec<Option<u64>> = out.rows().iter().map(|r| r.size).collect();
        assert_eq!(
            sizes,
            [1, 2, 4, 8, 16, 32, 64].map(Some).to_vec(),
            "{bench}"
        );
        assert!(out.rows().iter().all(|r| r.validation == Some(true)));
        // Positive figures (a loaded machine can make 1-byte bandwidths print as 0.00).
        assert!(
            out.rows().iter().all(|r| r.value.is_finite()
                && (r.value > 0.0 || bench.metric() == Metric::BandwidthMBs && r.value == 0.0)),
            "{bench}: {}",
            o.stdout
        );
        // Byte for byte the OSU layout of the osu module (header lines included).
        assert_eq!(
            o.stdout,
            expected_stdout(&out, &options(bench, args)),
            "{bench}"
        );
        assert_eq!(o.stderr, "", "{bench}");
    }
}

#[test]
fn larger_sizes_and_windows_validate() {
    // Crosses the 8 KiB small/large boundary (iteration defaults switch there) and uses
    // regions that are not page multiples.
    for (bench, args) in [
        (
            Benchmark::PutBw,
            &["-m", "4096:32768", "-i", "3", "-x", "1", "-W", "3", "-c"][..],
        ),
        (
            Benchmark::PutBibw,
            &["-m", "3000:12000", "-i", "4", "-x", "1", "-W", "5", "-c"][..],
        ),
        (
            Benchmark::GetLatency,
            &["-m", "65536:131072", "-i", "5", "-x", "0", "-c"][..],
        ),
    ] {
        let o = launch(2, bench, args, &[]);
        assert!(o.status.success(), "{bench}: {}\n{}", o.stdout, o.stderr);
        let out = parse_strict(&o.stdout).unwrap();
        let want: Vec<Option<u64>> = options(bench, args)
            .sizes(DType::Char, 2)
            .into_iter()
            .map(|s| Some(s as u64))
            .collect();
        assert_eq!(out.rows().iter().map(|r| r.size).collect::<Vec<_>>(), want);
        assert!(out.rows().iter().all(|r| r.validation == Some(true)));
    }
}

#[test]
fn injected_corruption_fails_loudly() {
    let warm = 3u64;
    for bench in Benchmark::ONE_SIDED {
        let args = tiny_args(bench);
        let o = launch(2, bench, args, &[("RSM_BENCH_INJECT_ERROR", "1")]);
        assert_eq!(
            o.status,
            Status::Exited(1),
            "{bench}: {}\n{}",
            o.stdout,
            o.stderr
        );
        let out = parse_strict(&o.stdout).unwrap();
        assert!(out.validation_failed());
        // It stops at the first (failing) size.
        assert_eq!(out.rows().len(), 1, "{}", o.stdout);
        assert_eq!(out.rows()[0].size, Some(1));
        assert_eq!(out.rows()[0].validation, Some(false));
        assert!(
            o.stdout.ends_with(&format!(
                "DATA VALIDATION ERROR: {} exited with status 1 on message size 1.\n",
                binary(bench).display()
            )),
            "{bench}: {}",
            o.stdout
        );
        // Rank 0 saw element 0 of the first timed iteration with its top bit pair flipped.
        let pattern = match bench {
            Benchmark::PutLatency | Benchmark::PutBw => data_value(0, 1, warm, 0),
            Benchmark::GetLatency | Benchmark::GetBw => data_value(1, 0, 0, 0),
            _ => data_value(1, 0, warm, 0),
        };
        let expected = Elem::encode(DType::Char, pattern);
        let Elem::Char(e) = expected else {
            unreachable!()
        };
        let line = format!(
            "[rank 0] {}: validation failed at size 1 (MPI_CHAR), iteration {warm}: element 0: expected {e}, got {}\n",
            bench.name(),
            e ^ 0x40
        );
        assert!(o.stderr.starts_with(&line), "{bench}: {:?}", o.stderr);
        assert_eq!(o.stderr.matches("validation failed").count(), 1);
    }
}

#[test]
fn help_and_usage_errors_match_the_osu_module() {
    for bench in Benchmark::ONE_SIDED {
        let o = launch(2, bench, &["-h"], &[]);
        assert!(o.status.success(), "{bench}: {}", o.stderr);
        assert_eq!(o.stdout, osu::help_text(bench), "{bench}");
    }
    for (bench, args) in [
        (Benchmark::PutLatency, &["-m", "0"][..]),
        (Benchmark::PutLatency, &["-W", "4"][..]),
        (Benchmark::GetLatency, &["-f"][..]),
        (Benchmark::PutBw, &["-W0"][..]),
        (Benchmark::GetBw, &["--type=mpi_float"][..]),
        (Benchmark::PutBibw, &["-i"][..]),
        (Benchmark::PutBibw, &["stray"][..]),
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
}

#[test]
fn exactly_two_ranks() {
    // Without rsmrun: a singleton of one rank, like an MPI singleton.
    let o = singleton(Benchmark::PutLatency, &["-m", "1:1"]);
    assert_eq!(o.status, Status::Exited(1));
    assert_eq!(o.stderr, "This test requires exactly two processes\n");
    assert_eq!(o.stdout, "");

    let o = singleton(Benchmark::GetBw, &["-h"]);
    assert!(o.status.success());
    assert_eq!(o.stdout, osu::help_text(Benchmark::GetBw));

    let o = launch(3, Benchmark::PutBw, &["-m", "1:1"], &[]);
    assert_eq!(o.status, Status::Exited(1));
    assert_eq!(
        ranks_stderr(&o.stderr),
        "This test requires exactly two processes\n",
        "{:?}",
        o.stderr
    );
    assert_eq!(o.stdout, "");
}

#[test]
fn layout_matches_the_mpi_side_line_for_line() {
    assert_layouts_match_mpi("one-sided-parity", &Benchmark::ONE_SIDED, tiny_args);
}

#[test]
fn rsm_compare_runs_the_rsm_library() {
    let out = tempfile::tempdir().unwrap();
    let config = rsm_benches::compare::Config {
        np: 2,
        benchmarks: Benchmark::ONE_SIDED.to_vec(),
        sizes: vec![1, 8, 1024],
        rounds: 1,
        libraries: vec![Library::Rsm],
        oversubscribe: false,
        timeout: LIMIT,
        iterations: Some(20),
        warmup: Some(2),
        out_dir: out.path().to_path_buf(),
        build_dir: out.path().join("mpi"),
        rsm_bin_dir: bin_dir(),
        rsmrun: Some(rsmrun()),
        command: "rsm-compare (test)".to_string(),
    };
    let results = {
        let _g = serial();
        rsm_benches::compare::run(&config, true).unwrap()
    };
    assert!(results.skipped.is_empty(), "{:?}", results.skipped);
    assert_eq!(results.records.len(), 5);
    for r in &results.records {
        let rsm_benches::compare::report::RunResult::Ok(o) = &r.result else {
            panic!("{}: {:?}", r.bench, r.result);
        };
        for size in [1, 8, 1024] {
            let row = o
                .row(Some(size))
                .unwrap_or_else(|| panic!("{} {size}", r.bench));
            assert!(
                row.value.is_finite() && row.value >= 0.0,
                "{} {size}",
                r.bench
            );
        }
    }
    let md = std::fs::read_to_string(out.path().join("comparison.md")).unwrap();
    assert!(md.contains("rsm 0.1.0 (loopback)"), "{md}");
    assert!(
        md.contains(
            "- One-sided synchronization: rsm: implicit barrier mode (every put/get returns \
             completed) (osu_put_latency, osu_get_latency); barrier open/close per window \
             (explicit barrier mode) (osu_put_bw, osu_get_bw); post/start/complete/wait as flag \
             puts + spin, barrier open/order/close (osu_put_bibw)\n"
        ),
        "{md}"
    );
    for b in Benchmark::ONE_SIDED {
        assert!(md.contains(b.name()), "{b}: {md}");
    }
    assert!(out.path().join("osu_put_latency.svg").is_file());
}
