//! Conjugate gradient on the 2-D Poisson problem (5-point stencil, zero Dirichlet boundary)
//! on an `m × m` grid, with the grid rows split across ranks. The solver is written once;
//! the caller supplies the two communication steps — a global sum and the halo rows — so
//! the same code runs distributed (collectives) and serially (the check).

use std::ops::Range;

/// This rank's part of the grid: rows `rows` of an `m × m` grid (row-major unknowns).
#[derive(Clone, Debug)]
pub struct Grid {
    /// Grid points per side.
    pub m: usize,
    /// The grid rows this rank owns.
    pub rows: Range<usize>,
}

impl Grid {
    /// Unknowns on this rank.
    pub fn len(&self) -> usize {
        self.rows.len() * self.m
    }

    /// Whether this rank owns no unknowns.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The exact solution used to build the right-hand side (a smooth bump plus a wiggle, so
/// that it is not an eigenvector of the operator and CG needs many iterations).
pub fn exact(m: usize, i: usize, j: usize) -> f64 {
    let (x, y) = ((i + 1) as f64, (j + 1) as f64);
    let s = (m + 1) as f64;
    16.0 * x * (s - x) * y * (s - y) / (s * s * s * s) + 0.1 * (0.3 * x + 0.7 * y).sin()
}

/// `b = A x_exact` on this rank's rows.
pub fn rhs(g: &Grid) -> Vec<f64> {
    let m = g.m;
    let row = |i: isize| -> Vec<f64> {
        if i < 0 || i as usize >= m {
            vec![0.0; m]
        } else {
            (0..m).map(|j| exact(m, i as usize, j)).collect()
        }
    };
    let local: Vec<f64> = g
        .rows
        .clone()
        .flat_map(|i| (0..m).map(move |j| exact(m, i, j)))
        .collect();
    let mut b = vec![0.0; g.len()];
    apply(
        g,
        &local,
        &row(g.rows.start as isize - 1),
        &row(g.rows.end as isize),
        &mut b,
    );
    b
}

/// `y = A x` on this rank's rows; `above` / `below` are the grid rows just outside them
/// (zeros at the boundary).
pub fn apply(g: &Grid, x: &[f64], above: &[f64], below: &[f64], y: &mut [f64]) {
    let m = g.m;
    let n = g.rows.len();
    for li in 0..n {
        for j in 0..m {
            let k = li * m + j;
            let up = if li == 0 { above[j] } else { x[k - m] };
            let down = if li + 1 == n { below[j] } else { x[k + m] };
            let left = if j == 0 { 0.0 } else { x[k - 1] };
            let right = if j + 1 == m { 0.0 } else { x[k + 1] };
            y[k] = 4.0 * x[k] - up - down - left - right;
        }
    }
}

/// What a solve did.
#[derive(Clone, Debug)]
pub struct Solve {
    /// Iterations run.
    pub iterations: usize,
    /// `‖r_k‖₂` after every iteration.
    pub residuals: Vec<f64>,
    /// This rank's part of the solution.
    pub x: Vec<f64>,
    /// Whether `‖r‖ ≤ tol · ‖b‖` was reached.
    pub converged: bool,
}

fn local_dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Unpreconditioned CG from `x = 0` until `‖r‖ ≤ tol · ‖b‖` or `max_it` iterations. `sum`
/// adds a value over all ranks; `halo` returns the grid rows above and below this rank's
/// part of a vector.
pub fn solve<E>(
    g: &Grid,
    b: &[f64],
    tol: f64,
    max_it: usize,
    mut sum: impl FnMut(f64) -> Result<f64, E>,
    mut halo: impl FnMut(&[f64]) -> Result<(Vec<f64>, Vec<f64>), E>,
) -> Result<Solve, E> {
    let n = g.len();
    let mut x = vec![0.0; n];
    let mut r = b.to_vec();
    let mut p = r.clone();
    let mut q = vec![0.0; n];
    let bnorm = sum(local_dot(b, b))?.sqrt();
    let mut rr = bnorm * bnorm;
    let mut residuals = Vec::new();
    let mut converged = rr.sqrt() <= tol * bnorm;
    let mut it = 0;
    while !converged && it < max_it {
        let (above, below) = halo(&p)?;
        apply(g, &p, &above, &below, &mut q);
        let alpha = rr / sum(local_dot(&p, &q))?;
        for k in 0..n {
            x[k] += alpha * p[k];
            r[k] -= alpha * q[k];
        }
        let rr_new = sum(local_dot(&r, &r))?;
        residuals.push(rr_new.sqrt());
        it += 1;
        converged = rr_new.sqrt() <= tol * bnorm;
        let beta = rr_new / rr;
        for k in 0..n {
            p[k] = r[k] + beta * p[k];
        }
        rr = rr_new;
    }
    Ok(Solve {
        iterations: it,
        residuals,
        x,
        converged,
    })
}

/// The serial solve of the whole grid.
pub fn serial(m: usize, tol: f64, max_it: usize) -> Solve {
    let g = Grid { m, rows: 0..m };
    let b = rhs(&g);
    let zeros = vec![0.0; m];
    let r: Result<Solve, ()> = solve(&g, &b, tol, max_it, Ok, |_| {
        Ok((zeros.clone(), zeros.clone()))
    });
    r.unwrap_or_else(|()| unreachable!("the serial solve has no communication"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_cg_converges_to_the_exact_solution() {
        let m = 24;
        let s = serial(m, 1e-10, 500);
        assert!(s.converged, "{} iterations", s.iterations);
        assert!(s.iterations < 200);
        let err = (0..m * m)
            .map(|k| (s.x[k] - exact(m, k / m, k % m)).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-8, "{err}");
        // The residual history ends below the tolerance and starts above it.
        assert!(s.residuals[0] > *s.residuals.last().unwrap());
    }

    #[test]
    fn split_rows_match_the_whole() {
        // rhs over two halves equals rhs of the whole grid.
        let m = 10;
        let whole = rhs(&Grid { m, rows: 0..m });
        let a = rhs(&Grid { m, rows: 0..4 });
        let b = rhs(&Grid { m, rows: 4..m });
        assert_eq!([a, b].concat(), whole);
    }
}
