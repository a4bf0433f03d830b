//! The comparison tool's parser, report and plot on real captured output: our C benchmark
//! under Open MPI 4.1.4 and MPICH 4.0.2 (Debian 12), and genuine OSU 7.4 output
//! (open-mpi/ompi#12717).

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use rsm_benches::compare::mpi::Library;
use rsm_benches::compare::parse::{Column, parse, parse_strict};
use rsm_benches::compare::report::{Results, RunRecord, RunResult};
use rsm_benches::compare::{Config, write_reports};
use rsm_benches::osu::{Benchmark, Metric};

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn open_mpi_allreduce_full_validated_two_types() {
    let o = parse_strict(&fixture("openmpi_allreduce_f_c.txt")).unwrap();
    assert_eq!(
        o.title.as_deref(),
        Some("OSU MPI Allreduce Latency Test v7.4")
    );
    assert_eq!(o.library.as_deref(), Some("Open MPI 4.1.4"));
    assert_eq!(o.sections.len(), 2);
    assert_eq!(o.sections[0].datatype.as_deref(), Some("MPI_CHAR"));
    assert_eq!(o.sections[1].datatype.as_deref(), Some("MPI_FLOAT"));
    assert_eq!(
        o.sections[0].columns,
        vec![
            Column::Size,
            Column::Value(Metric::LatencyUs),
            Column::Min,
            Column::Max,
            Column::Iterations,
            Column::Validation
        ]
    );
    let sizes: Vec<u64> = o.rows().iter().filter_map(|r| r.size).collect();
    assert_eq!(sizes, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]);
    let r8 = o.row(Some(8)).unwrap();
    assert_eq!(
        (r8.value, r8.min, r8.max, r8.iterations, r8.validation),
        (0.22, Some(0.20), Some(0.24), Some(1000), Some(true))
    );
    // The float section starts at 4 bytes (one element).
    assert_eq!(o.sections[1].rows[0].size, Some(4));
    assert_eq!(o.sections[1].rows[0].value, 0.26);
    assert_eq!(o.sections[1].rows.len(), 9);
    assert!(!o.validation_failed());
    assert!(o.unparsed.is_empty());
}

#[test]
fn mpich_allreduce_and_barrier() {
    let o = parse_strict(&fixture("mpich_allreduce_f_c.txt")).unwrap();
    assert_eq!(o.library.as_deref(), Some("MPICH 4.0.2 (ch4:ucx)"));
    assert_eq!(o.row(Some(1024)).unwrap().value, 1.42);
    assert_eq!(
        o.sections[1]
            .rows
            .iter()
            .find(|r| r.size == Some(8))
            .unwrap()
            .value,
        0.54
    );

    let b = parse_strict(&fixture("mpich_barrier_c.txt")).unwrap();
    let row = b.row(None).unwrap();
    assert_eq!((row.value, row.validation), (12.56, Some(true)));
    assert_eq!(b.sections[0].datatype, None);

    let f = parse_strict(&fixture("openmpi_barrier_f.txt")).unwrap();
    let row = f.row(None).unwrap();
    assert_eq!(
        (row.value, row.min, row.max, row.iterations),
        (0.18, Some(0.18), Some(0.18), Some(1000))
    );
}

#[test]
fn one_sided_outputs() {
    let bw = parse_strict(&fixture("openmpi_put_bw.txt")).unwrap();
    assert_eq!(bw.metric(), Some(Metric::BandwidthMBs));
    assert_eq!(bw.rows().len(), 23);
    assert_eq!(bw.row(Some(1)).unwrap().value, 39.22);
    assert_eq!(bw.row(Some(4194304)).unwrap().value, 12820.22);
    assert!(
        bw.notes
            .contains(&("Synchronization".to_string(), "MPI_Win_flush".to_string()))
    );

    let lat = parse_strict(&fixture("mpich_get_latency_c.txt")).unwrap();
    assert_eq!(lat.metric(), Some(Metric::LatencyUs));
    assert_eq!(lat.row(Some(65536)).unwrap().value, 3.52);
    assert!(lat.rows().iter().all(|r| r.validation == Some(true)));
}

#[test]
fn failures_are_seen() {
    let g = parse_strict(&fixture("mpich_gather_c_injected.txt")).unwrap();
    assert!(g.validation_failed());
    assert_eq!(g.row(Some(4)).unwrap().validation, Some(false));
    assert_eq!(
        g.validation_error.as_deref(),
        Some("build/mpich/osu_gather exited with status 1 on message size 4.")
    );
    let real = parse(&fixture("osu74_allreduce_c_ompi12717.txt"));
    assert!(real.validation_failed());
    assert_eq!(real.rows().len(), 5);
    assert_eq!(real.row(Some(2)).unwrap().value, 2.58);
}

fn record(library: Library, bench: Benchmark, text: &str) -> RunRecord {
    RunRecord {
        round: 1,
        bench,
        library,
        result: RunResult::Ok(parse_strict(text).unwrap()),
        elapsed: Duration::from_millis(500),
    }
}

#[test]
fn report_and_plots_from_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let mut results = Results {
        np: 2,
        rounds: 1,
        benchmarks: vec![Benchmark::Barrier, Benchmark::Allreduce],
        libraries: vec![Library::OpenMpi, Library::Mpich],
        sizes: vec![8, 1024],
        date: "2026-01-01 00:00:00 UTC".into(),
        command: "rsm-compare --libraries openmpi,mpich".into(),
        ..Results::default()
    };
    results.records = vec![
        record(
            Library::OpenMpi,
            Benchmark::Barrier,
            &fixture("openmpi_barrier_f.txt"),
        ),
        record(
            Library::Mpich,
            Benchmark::Barrier,
            &fixture("mpich_barrier_c.txt"),
        ),
        record(
            Library::OpenMpi,
            Benchmark::Allreduce,
            &fixture("openmpi_allreduce_f_c.txt"),
        ),
        record(
            Library::Mpich,
            Benchmark::Allreduce,
            &fixture("mpich_allreduce_f_c.txt"),
        ),
    ];
    let config = Config {
        np: 2,
        benchmarks: results.benchmarks.clone(),
        sizes: results.sizes.clone(),
        rounds: 1,
        libraries: results.libraries.clone(),
        oversubscribe: false,
        timeout: Duration::from_secs(1),
        iterations: None,
        warmup: None,
        out_dir: dir.path().to_path_buf(),
        build_dir: dir.path().join("build"),
        rsm_bin_dir: dir.path().join("release"),
        rsmrun: None,
        command: results.command.clone(),
    };
    let plots = write_reports(&config, &results).unwrap();
    assert_eq!(
        plots,
        vec![(Benchmark::Allreduce, "osu_allreduce.svg".to_string())]
    );
    let svg = fs::read_to_string(dir.path().join("osu_allreduce.svg")).unwrap();
    assert!(
        svg.len() > 1000 && svg.starts_with("<svg"),
        "{} bytes",
        svg.len()
    );
    assert!(svg.contains("Open MPI") && svg.contains("MPICH"));
    assert!(!dir.path().join("osu_barrier.svg").exists());
    let md = fs::read_to_string(dir.path().join("comparison.md")).unwrap();
    assert!(
        md.contains("| osu_barrier | — | µs | 0.18 (0.18) | 12.6 (12.6) | 0.01 |"),
        "{md}"
    );
    assert!(
        md.contains("| osu_allreduce | 8 B | µs | 0.22 (0.22) | 0.56 (0.56) | 0.39 |"),
        "{md}"
    );
    assert!(
        md.contains("| osu_allreduce | 1 KiB | µs | 0.56 (0.56) | 1.42 (1.42) | 0.39 |"),
        "{md}"
    );
    assert!(md.contains("![osu_allreduce](osu_allreduce.svg)"));
    let csv = fs::read_to_string(dir.path().join("runs.csv")).unwrap();
    assert!(
        csv.contains("1,osu_allreduce,mpich,1024,1.42,µs,ok\n"),
        "{csv}"
    );
}
