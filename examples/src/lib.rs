//! Example programs of the rsm collectives, each run under `rsmrun`:
//!
//! | binary | what |
//! |---|---|
//! | `pi` | π by midpoint integration of `4 / (1 + x²)`, intervals split across ranks, one `allreduce` |
//! | `dot` | a distributed dot product (floating point and exact integer), checked against a serial one |
//! | `cg` | conjugate gradient on the 2-D Poisson problem, rows of the grid split across ranks (halo rows by `allgather`, dot products by `allreduce`); residuals and solution checked against a serial run |
//! | `coll_bench` | OSU-style latency of one collective over a range of sizes (tuning aid) |
//!
//! ```sh
//! cargo build --release -p rsm-launcher -p rsm-examples
//! target/release/rsmrun -n 4 target/release/cg
//! ```
//!
//! The numerical kernels live in this library so that the binaries and the tests share them.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cg;

use std::ops::Range;

/// Rank `r`'s share of `n` items split as evenly as possible over `p` ranks (the first
/// `n % p` ranks get one more).
pub fn share(n: usize, p: usize, r: usize) -> Range<usize> {
    let q = n / p;
    let rem = n % p;
    let start = r * q + r.min(rem);
    start..start + q + usize::from(r < rem)
}

/// The midpoint rule for `∫₀¹ 4/(1+x²) dx = π` over intervals `range` of `n`.
pub fn pi_part(n: usize, range: Range<usize>) -> f64 {
    let h = 1.0 / n as f64;
    let mut s = 0.0;
    for i in range {
        let x = h * (i as f64 + 0.5);
        s += 4.0 / (1.0 + x * x);
    }
    s * h
}

/// `x[i] = 1 / (i + 1)` and `y[i] = (-1)^i`: their dot product is the alternating harmonic
/// series (→ ln 2).
pub fn dot_part(range: Range<usize>) -> f64 {
    range
        .map(|i| {
            let x = 1.0 / (i as f64 + 1.0);
            let y = if i % 2 == 0 { 1.0 } else { -1.0 };
            x * y
        })
        .sum()
}

/// The exact integer dot product `Σ i·(i+1)` over `range`, wrapping.
pub fn int_dot_part(range: Range<usize>) -> u64 {
    range.fold(0u64, |acc, i| {
        acc.wrapping_add((i as u64).wrapping_mul(i as u64 + 1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_everything_once() {
        for n in [0, 1, 7, 100] {
            for p in 1..=9 {
                let mut next = 0;
                for r in 0..p {
                    let s = share(n, p, r);
                    assert_eq!(s.start, next);
                    next = s.end;
                }
                assert_eq!(next, n);
            }
        }
        assert_eq!(share(10, 3, 0), 0..4);
        assert_eq!(share(10, 3, 2), 7..10);
    }

    #[test]
    fn kernels() {
        let n = 100_000;
        assert!((pi_part(n, 0..n) - std::f64::consts::PI).abs() < 1e-9);
        assert!((dot_part(0..1_000_000) - std::f64::consts::LN_2).abs() < 1e-6);
        // Σ_{i<n} i(i+1) = (n-1)n(n+1)/3
        assert_eq!(int_dot_part(0..1000), 999 * 1000 * 1001 / 3);
    }
}
