//! π by midpoint integration of `4 / (1 + x²)` on [0, 1]: each rank sums its share of the
//! intervals, one `allreduce` adds the parts. `pi [INTERVALS]` (default 2^22).

use rsm_collectives::ops::Sum;
use rsm_collectives::{CollError, Comm};
use rsm_examples::{pi_part, share};

fn run() -> Result<bool, CollError> {
    let comm = Comm::world()?;
    let (me, p) = (comm.rank(), comm.size());
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1 << 22);
    let mine = pi_part(n, share(n, p, me));
    let mut pi = [0.0f64];
    comm.allreduce(&[mine], &mut pi, &Sum)?;
    // The sum is combined in a fixed order: every rank holds the same bits.
    let mut all = vec![0.0f64; p];
    comm.allgather(&pi, &mut all)?;
    let same = all.iter().all(|v| v.to_bits() == pi[0].to_bits());
    let err = (pi[0] - std::f64::consts::PI).abs();
    let ok = same && err < 1e-9;
    if me == 0 {
        println!(
            "pi = {:.15} with {n} intervals on {p} ranks: error {err:.2e}, identical on every rank: {same} -> {}",
            pi[0],
            if ok { "OK" } else { "WRONG" }
        );
    }
    Ok(ok)
}

fn main() {
    match run() {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("pi: {e}");
            std::process::exit(2);
        }
    }
}
