//! Statistics over repeated runs. The average over ranks inside one run is done by the
//! benchmark itself (sum over ranks / ranks, as OSU); these helpers summarise several runs.

/// Median (mean of the two middle values for an even count); `None` when empty or when any
/// value is NaN.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Smallest value; `None` when empty or any value is NaN.
pub fn min(values: &[f64]) -> Option<f64> {
    if values.iter().any(|v| v.is_nan()) {
        return None;
    }
    values.iter().copied().reduce(f64::min)
}

/// Largest value; `None` when empty or any value is NaN.
pub fn max(values: &[f64]) -> Option<f64> {
    if values.iter().any(|v| v.is_nan()) {
        return None;
    }
    values.iter().copied().reduce(f64::max)
}

/// Arithmetic mean; `None` when empty.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Per-rank latencies (µs) summarised as OSU prints them: (average, min, max).
pub fn over_ranks(per_rank: &[f64]) -> Option<(f64, f64, f64)> {
    Some((mean(per_rank)?, min(per_rank)?, max(per_rank)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.5]), Some(7.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn min_max_mean() {
        let v = [0.23, 0.20, 0.31];
        assert_eq!(min(&v), Some(0.20));
        assert_eq!(max(&v), Some(0.31));
        assert!((mean(&v).unwrap() - 0.246_666_666).abs() < 1e-6);
        assert_eq!(min(&[]), None);
        assert_eq!(max(&[f64::NAN]), None);
        assert_eq!(mean(&[]), None);
        assert_eq!(over_ranks(&[1.0, 3.0]), Some((2.0, 1.0, 3.0)));
    }
}
