//! Argument checks shared by the serial reference and the communicator: every collective
//! validates its buffers, counts and displacements with these before any byte moves, so bad
//! input is refused with a message naming the argument instead of corrupting memory.

use core::fmt;
use core::ops::Range;

/// An invalid argument to a collective.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgError {
    /// The argument (`"root"`, `"recv"`, `"displs"`, …).
    pub arg: &'static str,
    /// What is wrong with it.
    pub msg: String,
}

impl ArgError {
    /// An error about argument `arg`.
    pub fn new(arg: &'static str, msg: impl Into<String>) -> Self {
        ArgError {
            arg,
            msg: msg.into(),
        }
    }
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid argument `{}`: {}", self.arg, self.msg)
    }
}

impl std::error::Error for ArgError {}

/// `rank < size`.
pub fn check_rank(arg: &'static str, rank: usize, size: usize) -> Result<(), ArgError> {
    if rank < size {
        Ok(())
    } else {
        Err(ArgError::new(
            arg,
            format!("rank {rank} is out of range for a communicator of {size} ranks"),
        ))
    }
}

/// `found == expected` elements.
pub fn check_len(arg: &'static str, expected: usize, found: usize) -> Result<(), ArgError> {
    if found == expected {
        Ok(())
    } else {
        Err(ArgError::new(
            arg,
            format!("has {found} elements, expected {expected}"),
        ))
    }
}

/// A buffer of `len` elements holding `parts` equal blocks: returns the block length.
pub fn block_len(arg: &'static str, len: usize, parts: usize) -> Result<usize, ArgError> {
    if parts == 0 {
        return Err(ArgError::new(arg, "zero blocks"));
    }
    if !len.is_multiple_of(parts) {
        return Err(ArgError::new(
            arg,
            format!("has {len} elements, not a multiple of the {parts} blocks it must hold"),
        ));
    }
    Ok(len / parts)
}

/// `n * p` without overflow.
pub fn checked_total(arg: &'static str, n: usize, p: usize) -> Result<usize, ArgError> {
    n.checked_mul(p)
        .ok_or_else(|| ArgError::new(arg, format!("{n} × {p} elements overflows")))
}

/// Validates a `v` layout (gatherv/scatterv/allgatherv/alltoallv): `counts` and `displs` have
/// one entry per rank, every block `displs[i] .. displs[i] + counts[i]` lies inside a buffer of
/// `buf_len` elements, and — unless `allow_overlap` (a buffer that is only read) — no two
/// non-empty blocks overlap (MPI calls overlapping receive blocks erroneous; we refuse them).
/// Empty blocks are ignored whatever their displacement. Returns the block ranges (`0..0` for
/// empty blocks), safe to slice the buffer with.
pub fn check_v_layout(
    arg: &'static str,
    counts: &[usize],
    displs: &[usize],
    size: usize,
    buf_len: usize,
    allow_overlap: bool,
) -> Result<Vec<Range<usize>>, ArgError> {
    if counts.len() != size {
        return Err(ArgError::new(
            arg,
            format!("{} counts for {size} ranks", counts.len()),
        ));
    }
    if displs.len() != size {
        return Err(ArgError::new(
            arg,
            format!("{} displacements for {size} ranks", displs.len()),
        ));
    }
    let mut ranges = Vec::with_capacity(size);
    for (i, (&c, &d)) in counts.iter().zip(displs).enumerate() {
        if c == 0 {
            // An empty block moves nothing: its displacement is not significant.
            ranges.push(0..0);
            continue;
        }
        let end = d.checked_add(c).filter(|&e| e <= buf_len).ok_or_else(|| {
            ArgError::new(
                arg,
                format!(
                    "block {i} (displacement {d}, count {c}) exceeds the buffer of {buf_len} elements"
                ),
            )
        })?;
        ranges.push(d..end);
    }
    if !allow_overlap {
        let mut order: Vec<usize> = (0..size).filter(|&i| !ranges[i].is_empty()).collect();
        order.sort_by_key(|&i| ranges[i].start);
        for w in order.windows(2) {
            let (a, b) = (&ranges[w[0]], &ranges[w[1]]);
            if b.start < a.end {
                return Err(ArgError::new(
                    arg,
                    format!(
                        "blocks {} ({}..{}) and {} ({}..{}) overlap",
                        w[0], a.start, a.end, w[1], b.start, b.end
                    ),
                ));
            }
        }
    }
    Ok(ranges)
}

/// The sum of `counts` without overflow.
pub fn checked_sum(arg: &'static str, counts: &[usize]) -> Result<usize, ArgError> {
    counts.iter().try_fold(0usize, |acc, &c| {
        acc.checked_add(c)
            .ok_or_else(|| ArgError::new(arg, "sum of counts overflows"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_checks() {
        assert_eq!(check_rank("root", 3, 4), Ok(()));
        let e = check_rank("root", 4, 4).unwrap_err();
        assert_eq!(e.arg, "root");
        assert_eq!(
            e.to_string(),
            "invalid argument `root`: rank 4 is out of range for a communicator of 4 ranks"
        );
        assert_eq!(check_len("recv", 3, 3), Ok(()));
        assert_eq!(
            check_len("recv", 3, 2).unwrap_err().msg,
            "has 2 elements, expected 3"
        );
        assert_eq!(block_len("recv", 12, 4), Ok(3));
        assert_eq!(block_len("recv", 0, 4), Ok(0));
        assert!(block_len("recv", 13, 4).is_err());
        assert!(block_len("recv", 0, 0).is_err());
        assert_eq!(checked_total("send", 3, 4), Ok(12));
        assert!(checked_total("send", usize::MAX, 2).is_err());
        assert_eq!(checked_sum("counts", &[1, 2, 3]), Ok(6));
        assert!(checked_sum("counts", &[usize::MAX, 1]).is_err());
    }

    #[test]
    fn v_layouts() {
        // Gaps, out-of-order displacements and empty blocks are fine.
        assert_eq!(
            check_v_layout("recv", &[2, 0, 3], &[5, 100, 0], 3, 7, false),
            Ok(vec![5..7, 0..0, 0..3])
        );
        // An empty block's displacement does not matter.
        assert_eq!(
            check_v_layout("recv", &[0], &[usize::MAX], 1, 7, false),
            Ok(vec![Range { start: 0, end: 0 }])
        );
        // Out of bounds.
        let e = check_v_layout("recv", &[2, 3], &[0, 5], 2, 7, false).unwrap_err();
        assert_eq!(
            e.msg,
            "block 1 (displacement 5, count 3) exceeds the buffer of 7 elements"
        );
        // Overflowing displacement.
        assert!(check_v_layout("recv", &[2], &[usize::MAX], 1, 7, false).is_err());
        // Overlap refused for receive buffers, allowed for send buffers.
        let e = check_v_layout("recv", &[3, 2], &[0, 2], 2, 7, false).unwrap_err();
        assert_eq!(e.msg, "blocks 0 (0..3) and 1 (2..4) overlap");
        assert!(check_v_layout("send", &[3, 2], &[0, 2], 2, 7, true).is_ok());
        // Wrong number of entries.
        assert_eq!(
            check_v_layout("recv", &[1, 1], &[0, 1], 3, 7, false)
                .unwrap_err()
                .msg,
            "2 counts for 3 ranks"
        );
        assert_eq!(
            check_v_layout("recv", &[1, 1, 1], &[0, 1], 3, 7, false)
                .unwrap_err()
                .msg,
            "2 displacements for 3 ranks"
        );
    }
}
