//! Segment-id rules (SPEC.md §3.6) and `rsm_get_segmentid_range` (SPEC.md §4.9).

use std::path::Path;

use crate::config::Config;
use crate::error::{ErrorKind, Result, err};
use crate::types::SegmentId;
use crate::types::segid_range::{DLPI_ID_END, USER_APP_ID_BASE};

/// What publish does with a requested id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdRequest {
    /// Id 0: the system picks the lowest free id from `RSM_USER_APP_ID_BASE` up.
    Auto,
    /// An application id in `0x400000..=0x7FFFFFFF`.
    Fixed(SegmentId),
}

/// Classifies an application-supplied id: 0 → automatic; `1..=0x3FFFFF` and
/// `≥ 0x80000000` → [`ErrorKind::ReservedSegid`]; `0x400000..=0x7FFFFFFF` → accepted.
pub(crate) fn classify(op: &'static str, id: SegmentId) -> Result<IdRequest> {
    match id {
        0 => Ok(IdRequest::Auto),
        1..=DLPI_ID_END => Err(err(
            ErrorKind::ReservedSegid,
            op,
            format!("segment id {id:#x} lies in a range reserved for the system (1..=0x3fffff)"),
        )),
        id if id >= USER_APP_ID_BASE => Err(err(
            ErrorKind::ReservedSegid,
            op,
            format!(
                "segment id {id:#x} lies in the range the system assigns (>= 0x80000000); publish with id 0 to get one"
            ),
        )),
        id => Ok(IdRequest::Fixed(id)),
    }
}

/// Looks up the id range reserved for `appid` in the file named by `RSM_SEGMENTID_FILE`
/// (default `/etc/rsm/rsm.segmentid`). Returns `(base, length)`: the application may use
/// ids `base ≤ id < base + length`.
pub fn get_segmentid_range(appid: &str) -> Result<(SegmentId, u32)> {
    let cfg = Config::from_env()?;
    get_segmentid_range_in(&cfg.segmentid_file, appid)
}

/// [`get_segmentid_range`] on an explicit file.
///
/// Format (the reference parser's rules): leading blanks are skipped; a line whose first
/// non-blank character is `#` is a comment; every other line has four blank/tab separated
/// fields `keyword appid baseid length`; a line with fewer fields (an empty line too) stops
/// the scan with [`ErrorKind::BadConf`]. The first line whose appid matches
/// (case-insensitively) decides: its keyword must be `reserved` (case-insensitive), its
/// base is hexadecimal (`0x` optional) and its length decimal, each fitting in 32 bits —
/// otherwise `BadConf`. No matching line → [`ErrorKind::BadAppid`]; a missing or unreadable
/// file → `BadConf`. Lines longer than 255 bytes are refused with `BadConf` (the reference
/// reads lines into a 256-byte buffer).
pub fn get_segmentid_range_in(path: &Path, appid: &str) -> Result<(SegmentId, u32)> {
    const OP: &str = "get_segmentid_range";
    let text = std::fs::read(path).map_err(|e| {
        crate::error::RsmError::os(
            ErrorKind::BadConf,
            OP,
            format!("cannot read {}", path.display()),
            &e,
        )
    })?;
    let text = String::from_utf8_lossy(&text);
    for (no, line) in text.lines().enumerate() {
        let no = no + 1;
        if line.len() > 255 {
            return Err(err(
                ErrorKind::BadConf,
                OP,
                format!("{}:{no}: line longer than 255 bytes", path.display()),
            ));
        }
        let l = line.trim_start_matches([' ', '\t']);
        if l.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = l.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
        if fields.len() < 4 {
            return Err(err(
                ErrorKind::BadConf,
                OP,
                format!(
                    "{}:{no}: expected `reserved <appid> <baseid> <length>`",
                    path.display()
                ),
            ));
        }
        if !fields[1].eq_ignore_ascii_case(appid) {
            continue;
        }
        if !fields[0].eq_ignore_ascii_case("reserved") {
            return Err(err(
                ErrorKind::BadConf,
                OP,
                format!(
                    "{}:{no}: keyword {:?} is not `reserved`",
                    path.display(),
                    fields[0]
                ),
            ));
        }
        let hex = fields[2]
            .strip_prefix("0x")
            .or_else(|| fields[2].strip_prefix("0X"))
            .unwrap_or(fields[2]);
        let base = u32::from_str_radix(hex, 16).map_err(|_| {
            err(
                ErrorKind::BadConf,
                OP,
                format!(
                    "{}:{no}: base {:?} is not a 32-bit hex number",
                    path.display(),
                    fields[2]
                ),
            )
        })?;
        let len: u32 = fields[3].parse().map_err(|_| {
            err(
                ErrorKind::BadConf,
                OP,
                format!(
                    "{}:{no}: length {:?} is not a 32-bit decimal number",
                    path.display(),
                    fields[3]
                ),
            )
        })?;
        return Ok((base, len));
    }
    Err(err(
        ErrorKind::BadAppid,
        OP,
        format!("no entry for {appid:?} in {}", path.display()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_ranges() {
        assert_eq!(classify("t", 0).unwrap(), IdRequest::Auto);
        for id in [
            1,
            0x10_0000,
            0x20_0000,
            0x3F_FFFF,
            0x8000_0000,
            0x8000_0001,
            0xFFFF_FFFF,
        ] {
            assert_eq!(
                classify("t", id).unwrap_err().kind(),
                ErrorKind::ReservedSegid,
                "{id:#x}"
            );
        }
        for id in [0x40_0000, 0x50_0000, 0x60_0000, 0x7FFF_FFFF] {
            assert_eq!(classify("t", id).unwrap(), IdRequest::Fixed(id));
        }
    }

    fn file(text: &str) -> std::path::PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "rsm-segid-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn parses_reference_example() {
        let p = file("# ranges\n  \treserved SUNWfoo 0x600000 1000\nRESERVED bar 700000 5\n");
        assert_eq!(
            get_segmentid_range_in(&p, "SUNWfoo").unwrap(),
            (0x600000, 1000)
        );
        assert_eq!(
            get_segmentid_range_in(&p, "sunwFOO").unwrap(),
            (0x600000, 1000)
        );
        assert_eq!(get_segmentid_range_in(&p, "bar").unwrap(), (0x700000, 5));
        assert_eq!(
            get_segmentid_range_in(&p, "baz").unwrap_err().kind(),
            ErrorKind::BadAppid
        );
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn bad_files() {
        let missing = std::path::Path::new("/nonexistent/rsm.segmentid");
        assert_eq!(
            get_segmentid_range_in(missing, "x").unwrap_err().kind(),
            ErrorKind::BadConf
        );
        for (text, app) in [
            ("reserve foo 0x600000 10\n", "foo"), // Guide's misspelling
            ("reserved foo 0x600000\n", "foo"),   // three fields
            ("reserved a 0x1 1\n\nreserved foo 0x2 2\n", "foo"), // blank line stops the scan
            ("reserved foo 0x1ffffffff 1\n", "foo"), // base overflow
            ("reserved foo 0x10 99999999999\n", "foo"), // length overflow
            ("reserved foo zz 1\n", "foo"),
        ] {
            let p = file(text);
            assert_eq!(
                get_segmentid_range_in(&p, app).unwrap_err().kind(),
                ErrorKind::BadConf,
                "{text:?}"
            );
            std::fs::remove_file(p).unwrap();
        }
        let p = file(&format!("# {}\n", "x".repeat(300)));
        assert_eq!(
            get_segmentid_range_in(&p, "foo").unwrap_err().kind(),
            ErrorKind::BadConf
        );
        std::fs::remove_file(p).unwrap();
        // A malformed number on a line for another appid does not matter.
        let p = file("reserved other zz yy\nreserved foo 400000 16\n");
        assert_eq!(get_segmentid_range_in(&p, "foo").unwrap(), (0x400000, 16));
        std::fs::remove_file(p).unwrap();
    }
}
