//! Conjugate gradient on the 2-D Poisson problem with the grid rows split across ranks: the
//! halo rows come from an `allgather` of every rank's first and last row, the dot products
//! from `allreduce`. Rank 0 gathers the solution (`gatherv`) and repeats the solve serially:
//! iteration count, residual history and solution must agree. `cg [M]` (grid M × M, default
//! 64).

use rsm_collectives::ops::Sum;
use rsm_collectives::{CollError, Comm};
use rsm_examples::cg::{Grid, exact, rhs, serial, solve};
use rsm_examples::share;

const TOL: f64 = 1e-10;
const MAX_IT: usize = 2000;

fn run() -> Result<bool, CollError> {
    let comm = Comm::world()?;
    let (me, p) = (comm.rank(), comm.size());
    let m: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(64);
    let g = Grid {
        m,
        rows: share(m, p, me),
    };
    let owner_of = |row: usize| (0..p).find(|&r| share(m, p, r).contains(&row));
    let b = rhs(&g);
    let mut edges = vec![0.0f64; 2 * m * p];
    let out = solve(
        &g,
        &b,
        TOL,
        MAX_IT,
        |v| {
            let mut s = [0.0];
            comm.allreduce(&[v], &mut s, &Sum).map(|()| s[0])
        },
        |x| {
            // Every rank contributes its first and last grid row (zeros if it has none).
            let mut mine = vec![0.0; 2 * m];
            if !g.is_empty() {
                mine[..m].copy_from_slice(&x[..m]);
                mine[m..].copy_from_slice(&x[x.len() - m..]);
            }
            comm.allgather(&mine, &mut edges)?;
            let row = |rank: Option<usize>, last: bool| match rank {
                Some(r) => {
                    let at = 2 * m * r + if last { m } else { 0 };
                    edges[at..at + m].to_vec()
                }
                None => vec![0.0; m],
            };
            let above = row(g.rows.start.checked_sub(1).and_then(owner_of), true);
            let below = row(owner_of(g.rows.end), false);
            Ok((above, below))
        },
    )?;
    // Gather the solution at rank 0.
    let counts: Vec<usize> = (0..p).map(|r| share(m, p, r).len() * m).collect();
    let displs: Vec<usize> = (0..p).map(|r| share(m, p, r).start * m).collect();
    let mut x = vec![0.0; if me == 0 { m * m } else { 0 }];
    comm.gatherv(&out.x, &mut x, &counts, &displs, 0)?;
    let mut ok = out.converged;
    if me == 0 {
        let s = serial(m, TOL, MAX_IT);
        let dx = x
            .iter()
            .zip(&s.x)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let err = (0..m * m)
            .map(|k| (x[k] - exact(m, k / m, k % m)).abs())
            .fold(0.0, f64::max);
        let hist = out
            .residuals
            .iter()
            .zip(&s.residuals)
            .map(|(a, b)| ((a - b) / b).abs())
            .fold(0.0, f64::max);
        let last = out.residuals.last().copied().unwrap_or(0.0);
        let slast = s.residuals.last().copied().unwrap_or(0.0);
        ok = ok
            && s.converged
            && out.iterations.abs_diff(s.iterations) <= 2
            && hist < 1e-6
            && dx < 1e-9
            && err < 1e-8;
        println!(
            "cg: {m}x{m} grid on {p} ranks: {} iterations (serial {}), residual {last:.3e} (serial {slast:.3e}), \
             residual histories within {hist:.1e}, max |x - x_serial| {dx:.1e}, max |x - x_exact| {err:.1e} -> {}",
            out.iterations,
            s.iterations,
            if ok { "OK" } else { "WRONG" }
        );
    }
    let mut verdict = [u8::from(ok)];
    comm.bcast(&mut verdict, 0)?;
    Ok(verdict[0] == 1)
}

fn main() {
    match run() {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("cg: {e}");
            std::process::exit(2);
        }
    }
}
