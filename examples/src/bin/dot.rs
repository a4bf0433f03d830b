//! A distributed dot product: each rank holds a block of `x` and `y`, computes its partial
//! dot product, and one `allreduce` adds them — in floating point (checked against a serial
//! loop within rounding) and in wrapping integers (checked exactly). `dot [N]` (default 10^6).

use rsm_collectives::ops::Sum;
use rsm_collectives::{CollError, Comm};
use rsm_examples::{dot_part, int_dot_part, share};

fn run() -> Result<bool, CollError> {
    let comm = Comm::world()?;
    let (me, p) = (comm.rank(), comm.size());
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mine = share(n, p, me);
    let mut d = [0.0f64];
    comm.allreduce(&[dot_part(mine.clone())], &mut d, &Sum)?;
    let mut di = [0u64];
    comm.allreduce(&[int_dot_part(mine)], &mut di, &Sum)?;
    let mut ok = true;
    if me == 0 {
        let serial = dot_part(0..n);
        let serial_int = int_dot_part(0..n);
        let rel = ((d[0] - serial) / serial).abs();
        ok = rel < 1e-12 && di[0] == serial_int;
        println!(
            "dot: n={n} on {p} ranks: {:.15} (serial {serial:.15}, relative difference {rel:.1e}); integer {} (serial {serial_int}) -> {}",
            d[0],
            di[0],
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
            eprintln!("dot: {e}");
            std::process::exit(2);
        }
    }
}
