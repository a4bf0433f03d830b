//! Runs every example under rsmrun (this test binary acts as rsmrun) at several rank counts
//! and on both data paths, and checks what they print.

#[path = "../../collectives/tests/common/launch.rs"]
mod launch;

use std::path::PathBuf;

use launch::Job;

struct Case {
    name: &'static str,
    bin: &'static str,
    args: &'static [&'static str],
    expect: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "pi",
        bin: env!("CARGO_BIN_EXE_pi"),
        args: &[],
        expect: "identical on every rank: true -> OK",
    },
    Case {
        name: "dot",
        bin: env!("CARGO_BIN_EXE_dot"),
        args: &[],
        expect: "-> OK",
    },
    Case {
        name: "cg",
        bin: env!("CARGO_BIN_EXE_cg"),
        args: &["40"],
        expect: "-> OK",
    },
    Case {
        name: "coll_bench",
        bin: env!("CARGO_BIN_EXE_coll_bench"),
        args: &["allreduce", "-m", "1:4096", "-i", "20", "-x", "2"],
        expect: "4096 ",
    },
];

fn main() {
    launch::dispatch();
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut failed = Vec::new();
    let mut ran = 0;
    for c in CASES {
        for (ranks, put) in [(1, false), (3, false), (4, true)] {
            let name = format!("{}-{}-{ranks}", c.name, if put { "put" } else { "map" });
            if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
                continue;
            }
            ran += 1;
            let mut job = Job::new(ranks, 120, PathBuf::from(c.bin), c.args, c.name);
            if put {
                job = job.env("RSM_LOOPBACK_MAP", "0");
            }
            let o = launch::run(&job);
            let ok = o.ok() && o.leftovers.is_empty() && o.stdout.contains(c.expect);
            if ok {
                let first = o.stdout.lines().find(|l| !l.starts_with('#')).unwrap_or("");
                println!(
                    "test {name} ... ok ({:.1} s): {first}",
                    o.elapsed.as_secs_f64()
                );
            } else {
                println!("test {name} ... FAILED\n{}", o.describe());
                if !o.leftovers.is_empty() {
                    println!("left in the shm namespace: {:?}", o.leftovers);
                }
                failed.push(name);
            }
        }
    }
    println!(
        "\nexample runs: {ran} run, {} failed{}",
        failed.len(),
        if failed.is_empty() {
            String::new()
        } else {
            format!(": {}", failed.join(", "))
        }
    );
    std::process::exit(i32::from(!failed.is_empty()));
}
