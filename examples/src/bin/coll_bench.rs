//! OSU-style latency of one collective (the method of OSU 7.4: warm-up iterations, only the
//! collective timed, a barrier between iterations, the per-rank average averaged over
//! ranks). A tuning aid; the official OSU binaries live in `rsm-benches`.
//!
//! `coll_bench COLLECTIVE [-m [MIN:]MAX] [-i ITER] [-x WARMUP] [-f]` with COLLECTIVE one of
//! barrier, bcast, reduce, allreduce, gather, scatter, allgather, alltoall,
//! reduce_scatter_block, scan. Elements are bytes (`MPI_CHAR`, sum for reductions).

use std::time::Instant;

use rsm_collectives::ops::{Max, Min, Sum};
use rsm_collectives::{CollError, Comm};

struct Opts {
    what: String,
    min: usize,
    max: usize,
    iters: Option<usize>,
    warmup: Option<usize>,
    full: bool,
}

fn parse() -> Result<Opts, String> {
    let mut a = std::env::args().skip(1);
    let what = a
        .next()
        .ok_or("usage: coll_bench COLLECTIVE [-m [MIN:]MAX] [-i N] [-x N] [-f]")?;
    let mut o = Opts {
        what,
        min: 1,
        max: 1 << 20,
        iters: None,
        warmup: None,
        full: false,
    };
    while let Some(f) = a.next() {
        let mut val = || a.next().ok_or(format!("{f} needs a value"));
        match f.as_str() {
            "-m" => {
                let v = val()?;
                let (lo, hi) = match v.split_once(':') {
                    Some((lo, hi)) => (lo.to_string(), hi.to_string()),
                    None => (String::new(), v),
                };
                if !lo.is_empty() {
                    o.min = lo.parse().map_err(|_| format!("bad -m {lo}"))?;
                }
                if !hi.is_empty() {
                    o.max = hi.parse().map_err(|_| format!("bad -m {hi}"))?;
                }
            }
            "-i" => o.iters = Some(val()?.parse().map_err(|_| "bad -i")?),
            "-x" => o.warmup = Some(val()?.parse().map_err(|_| "bad -x")?),
            "-f" => o.full = true,
            _ => return Err(format!("unknown option {f}")),
        }
    }
    Ok(o)
}

fn run(o: &Opts) -> Result<(), CollError> {
    let comm = Comm::world()?;
    let (me, p) = (comm.rank(), comm.size());
    let barrier = o.what == "barrier";
    let mut sizes = Vec::new();
    if barrier {
        sizes.push(0);
    } else {
        let mut s = o.min.max(1);
        while s <= o.max {
            sizes.push(s);
            s *= 2;
        }
    }
    if me == 0 {
        println!(
            "# rsm coll_bench {} ({p} ranks, path {})",
            o.what,
            comm.path()
        );
        if barrier {
            println!("# Avg Latency(us)");
        } else if o.full {
            println!(
                "# Size       Avg Latency(us)   Min Latency(us)   Max Latency(us)  Iterations"
            );
        } else {
            println!("# Size       Avg Latency(us)");
        }
    }
    let maxb = o.max.max(1) * p;
    let send = vec![1u8; maxb];
    let mut recv = vec![0u8; maxb];
    for &n in &sizes {
        let iters = o.iters.unwrap_or(if n > 8192 { 100 } else { 1000 });
        let warm = o.warmup.unwrap_or(if n > 8192 { 10 } else { 100 });
        let mut total = 0.0f64;
        comm.barrier()?;
        for i in 0..warm + iters {
            let t0 = Instant::now();
            match o.what.as_str() {
                "barrier" => comm.barrier()?,
                "bcast" => comm.bcast(&mut recv[..n], 0)?,
                "reduce" => comm.reduce(&send[..n], &mut recv[..n], &Sum, 0)?,
                "allreduce" => comm.allreduce(&send[..n], &mut recv[..n], &Sum)?,
                "gather" => comm.gather(&send[..n], &mut recv[..n * p], 0)?,
                "scatter" => comm.scatter(&send[..n * p], &mut recv[..n], 0)?,
                "allgather" => comm.allgather(&send[..n], &mut recv[..n * p])?,
                "alltoall" => comm.alltoall(&send[..n * p], &mut recv[..n * p])?,
                "reduce_scatter_block" => {
                    comm.reduce_scatter_block(&send[..n * p], &mut recv[..n], &Sum)?
                }
                "scan" => comm.scan(&send[..n], &mut recv[..n], &Sum)?,
                other => {
                    if me == 0 {
                        eprintln!("coll_bench: unknown collective {other}");
                    }
                    std::process::exit(2);
                }
            }
            let dt = t0.elapsed().as_secs_f64() * 1e6;
            if i >= warm {
                total += dt;
            }
            if !barrier {
                comm.barrier()?;
            }
        }
        let lat = total / iters as f64;
        let (mut sum, mut min, mut max) = ([0.0], [0.0], [0.0]);
        comm.reduce(&[lat], &mut sum, &Sum, 0)?;
        comm.reduce(&[lat], &mut min, &Min, 0)?;
        comm.reduce(&[lat], &mut max, &Max, 0)?;
        if me == 0 {
            let avg = sum[0] / p as f64;
            if barrier {
                println!("{avg:>17.3}");
            } else if o.full {
                println!(
                    "{n:<10}{avg:>18.3}{:>18.3}{:>18.3}{iters:>12}",
                    min[0], max[0]
                );
            } else {
                println!("{n:<10}{avg:>18.3}");
            }
        }
    }
    Ok(())
}

fn main() {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("coll_bench: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&o) {
        eprintln!("coll_bench: {e}");
        std::process::exit(1);
    }
}
