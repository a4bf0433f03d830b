//! Parser for OSU-format output (OSU 7.x itself, our C MPI benchmark, our rsm binaries).
//!
//! Lines starting with `#` are headers: the title (`# OSU MPI Allreduce Latency Test v7.4`),
//! `# Library: …`, `# Datatype: MPI_CHAR.`, other `# Key: value` notes, and the column header
//! (`# Size       Avg Latency(us)   Min Latency(us) …`). Column names are separated by two or
//! more spaces. Every other non-empty line inside a section is a data row with one
//! whitespace-separated token per column; lines that do not fit (launcher warnings and the
//! like) are kept in [`OsuOutput::unparsed`]. `DATA VALIDATION ERROR: …` is recorded.

use std::fmt;

use crate::osu::Metric;

/// A recognised column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// `Size` (bytes).
    Size,
    /// The main figure: `Avg Latency(us)`, `Latency (us)` or `Bandwidth (MB/s)`.
    Value(Metric),
    /// `Min Latency(us)`.
    Min,
    /// `Max Latency(us)`.
    Max,
    /// `Iterations`.
    Iterations,
    /// `Validation` (`Pass`/`Fail`).
    Validation,
    /// Anything else (kept by name, parsed as a number).
    Other(String),
}

impl Column {
    fn from_name(name: &str) -> Column {
        match name {
            "Size" => Column::Size,
            "Avg Latency(us)" | "Latency (us)" | "Latency(us)" => Column::Value(Metric::LatencyUs),
            "Bandwidth (MB/s)" | "Bandwidth(MB/s)" => Column::Value(Metric::BandwidthMBs),
            "Min Latency(us)" => Column::Min,
            "Max Latency(us)" => Column::Max,
            "Iterations" => Column::Iterations,
            "Validation" => Column::Validation,
            other => Column::Other(other.to_string()),
        }
    }
}

/// One data row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Message size in bytes (`None` for barrier).
    pub size: Option<u64>,
    /// The main figure (µs or MB/s).
    pub value: f64,
    /// `-f`: minimum over ranks.
    pub min: Option<f64>,
    /// `-f`: maximum over ranks.
    pub max: Option<f64>,
    /// `-f`: iterations.
    pub iterations: Option<u64>,
    /// `-c`: `Some(true)` for `Pass`.
    pub validation: Option<bool>,
    /// Unrecognised numeric columns, by name.
    pub other: Vec<(String, f64)>,
}

/// Rows under one column header (one per element type with `-T all`).
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// From the preceding `# Datatype: X.` line.
    pub datatype: Option<String>,
    /// Column layout.
    pub columns: Vec<Column>,
    /// What the main figure is.
    pub metric: Metric,
    /// Data rows in order.
    pub rows: Vec<Row>,
}

/// A whole parsed output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OsuOutput {
    /// Title without `# ` (e.g. `OSU MPI Allreduce Latency Test v7.4`).
    pub title: Option<String>,
    /// From `# Library: …`.
    pub library: Option<String>,
    /// Other `# Key: value` lines (window creation, synchronization, …).
    pub notes: Vec<(String, String)>,
    /// Sections in order.
    pub sections: Vec<Section>,
    /// The `DATA VALIDATION ERROR: …` line, if any.
    pub validation_error: Option<String>,
    /// Non-header lines that are not rows.
    pub unparsed: Vec<String>,
}

/// Why a row could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl OsuOutput {
    /// All rows of the first section (the first element type).
    pub fn rows(&self) -> &[Row] {
        self.sections.first().map_or(&[], |s| &s.rows)
    }

    /// The first section's row for `size` (`None` selects the size-less barrier row).
    pub fn row(&self, size: Option<u64>) -> Option<&Row> {
        self.rows().iter().find(|r| r.size == size)
    }

    /// The first section's metric.
    pub fn metric(&self) -> Option<Metric> {
        self.sections.first().map(|s| s.metric)
    }

    /// True when `-c` found a failure (a `Fail` row or the error line).
    pub fn validation_failed(&self) -> bool {
        self.validation_error.is_some()
            || self
                .sections
                .iter()
                .flat_map(|s| &s.rows)
                .any(|r| r.validation == Some(false))
    }
}

fn split_columns(header: &str) -> Vec<String> {
    header
        .split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn is_column_header(body: &str) -> bool {
    let cols = split_columns(body);
    cols.iter()
        .any(|c| matches!(Column::from_name(c), Column::Value(_)))
}

fn parse_row(columns: &[Column], line: &str, n: usize) -> Result<Row, RowError> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let err = |reason: String| RowError { line: n, reason };
    if tokens.len() != columns.len() {
        return Err(err(format!(
            "{} fields for {} columns",
            tokens.len(),
            columns.len()
        )));
    }
    let mut row = Row {
        size: None,
        value: f64::NAN,
        min: None,
        max: None,
        iterations: None,
        validation: None,
        other: Vec::new(),
    };
    let num = |t: &str| -> Result<f64, RowError> {
        t.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| err(format!("not a number: {t:?}")))
    };
    let int = |t: &str| -> Result<u64, RowError> {
        t.parse::<u64>()
            .map_err(|_| err(format!("not an integer: {t:?}")))
    };
    for (col, tok) in columns.iter().zip(tokens) {
        match col {
            Column::Size => row.size = Some(int(tok)?),
            Column::Value(_) => row.value = num(tok)?,
            Column::Min => row.min = Some(num(tok)?),
            Column::Max => row.max = Some(num(tok)?),
            Column::Iterations => row.iterations = Some(int(tok)?),
            Column::Validation => {
                row.validation = Some(match tok {
                    "Pass" => true,
                    "Fail" => false,
                    other => return Err(err(format!("validation is {other:?}"))),
                })
            }
            Column::Other(name) => row.other.push((name.clone(), num(tok)?)),
        }
    }
    Ok(row)
}

/// Parses OSU-format text. Never fails: lines that are neither headers nor rows end up in
/// [`OsuOutput::unparsed`]; check [`OsuOutput::rows`] for what was found.
pub fn parse(text: &str) -> OsuOutput {
    let mut out = OsuOutput::default();
    let mut pending_datatype: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.trim_start().strip_prefix("DATA VALIDATION ERROR:") {
            out.validation_error = Some(rest.trim().to_string());
            continue;
        }
        if let Some(body) = line.strip_prefix('#') {
            let body = body.trim();
            if is_column_header(body) {
                let columns: Vec<Column> = split_columns(body)
                    .iter()
                    .map(|c| Column::from_name(c))
                    .collect();
                let metric = columns
                    .iter()
                    .find_map(|c| match c {
                        Column::Value(m) => Some(*m),
                        _ => None,
                    })
                    .unwrap_or(Metric::LatencyUs);
                out.sections.push(Section {
                    datatype: pending_datatype.take(),
                    columns,
                    metric,
                    rows: Vec::new(),
                });
            } else if let Some(dt) = body.strip_prefix("Datatype:") {
                pending_datatype = Some(dt.trim().trim_end_matches('.').to_string());
            } else if let Some(lib) = body.strip_prefix("Library:") {
                out.library = Some(lib.trim().to_string());
            } else if body.starts_with("OSU ") && out.title.is_none() {
                out.title = Some(body.to_string());
            } else if let Some((k, v)) = body.split_once(':') {
                out.notes.push((k.trim().to_string(), v.trim().to_string()));
            } else {
                out.unparsed.push(line.to_string());
            }
            continue;
        }
        match out.sections.last_mut() {
            Some(section) => match parse_row(&section.columns, line, i + 1) {
                Ok(row) => section.rows.push(row),
                Err(_) => out.unparsed.push(line.to_string()),
            },
            None => out.unparsed.push(line.to_string()),
        }
    }
    out
}

/// Like [`parse`], but fails when no row was found or a line inside a section looked like a
/// row (starts with a digit) and could not be read.
pub fn parse_strict(text: &str) -> Result<OsuOutput, RowError> {
    let out = parse(text);
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with(|c: char| c.is_ascii_digit())
            && out.unparsed.iter().any(|u| u.trim() == line)
        {
            let section = out.sections.last();
            let reason = match section {
                Some(s) => parse_row(&s.columns, line, i + 1)
                    .err()
                    .map_or_else(|| "unreadable row".to_string(), |e| e.reason),
                None => "row before any column header".to_string(),
            };
            return Err(RowError {
                line: i + 1,
                reason,
            });
        }
    }
    if out.sections.iter().all(|s| s.rows.is_empty()) {
        return Err(RowError {
            line: 0,
            reason: "no data rows".to_string(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real OSU 7.4 output, from open-mpi/ompi#12717.
    const REAL_OSU: &str = "
# OSU MPI Allreduce Latency Test v7.4
# Datatype: MPI_CHAR.
# Size       Avg Latency(us)        Validation
1                       1.53              Pass
2                       2.58              Pass
4                       2.57              Pass
8                       1.51              Pass
16                      1.51              Fail
DATA VALIDATION ERROR: /home/x/osu_allreduce exited with status 1 on message size 16.
--------------------------------------------------------------------------
    This help section is empty because PRRTE was built without Sphinx.
";

    #[test]
    fn real_osu_output_with_validation() {
        let o = parse(REAL_OSU);
        assert_eq!(
            o.title.as_deref(),
            Some("OSU MPI Allreduce Latency Test v7.4")
        );
        assert_eq!(o.library, None);
        assert_eq!(o.sections.len(), 1);
        let s = &o.sections[0];
        assert_eq!(s.datatype.as_deref(), Some("MPI_CHAR"));
        assert_eq!(
            s.columns,
            vec![
                Column::Size,
                Column::Value(Metric::LatencyUs),
                Column::Validation
            ]
        );
        assert_eq!(s.rows.len(), 5);
        assert_eq!(s.rows[0].size, Some(1));
        assert_eq!(s.rows[0].value, 1.53);
        assert_eq!(s.rows[0].validation, Some(true));
        assert_eq!(s.rows[4].validation, Some(false));
        assert!(o.validation_failed());
        assert_eq!(
            o.validation_error.as_deref(),
            Some("/home/x/osu_allreduce exited with status 1 on message size 16.")
        );
        assert_eq!(o.unparsed.len(), 2);
        assert_eq!(o.row(Some(8)).map(|r| r.value), Some(1.51));
        assert_eq!(o.row(Some(32)), None);
    }

    #[test]
    fn full_columns_and_barrier() {
        let text = "
# OSU MPI Barrier Latency Test v7.4
# Library: MPICH 4.0.2 (ch4:ucx)
# Avg Latency(us)   Min Latency(us)   Max Latency(us)  Iterations
             0.42              0.40              0.44        1000
";
        let o = parse_strict(text).unwrap();
        assert_eq!(o.library.as_deref(), Some("MPICH 4.0.2 (ch4:ucx)"));
        let r = o.row(None).unwrap();
        assert_eq!(
            (r.value, r.min, r.max, r.iterations),
            (0.42, Some(0.40), Some(0.44), Some(1000))
        );
        assert_eq!(r.size, None);
        assert!(!o.validation_failed());
    }

    #[test]
    fn one_sided_notes_and_bandwidth() {
        let text = "# OSU MPI_Put Bandwidth Test v7.4
# Library: Open MPI 4.1.4
# Window creation: MPI_Win_allocate
# Synchronization: MPI_Win_flush
# Datatype: MPI_CHAR.
# Size      Bandwidth (MB/s)
65536               43210.50
4194304             16700.00
";
        let o = parse_strict(text).unwrap();
        assert_eq!(o.metric(), Some(Metric::BandwidthMBs));
        assert_eq!(
            o.notes,
            vec![
                (
                    "Window creation".to_string(),
                    "MPI_Win_allocate".to_string()
                ),
                ("Synchronization".to_string(), "MPI_Win_flush".to_string()),
            ]
        );
        assert_eq!(o.row(Some(4194304)).unwrap().value, 16700.0);
    }

    #[test]
    fn several_datatypes() {
        let text = "
# OSU MPI Allreduce Latency Test v7.4
# Datatype: MPI_CHAR.
# Size       Avg Latency(us)
4                       1.00
# Datatype: MPI_INT.
# Size       Avg Latency(us)
4                       2.00
";
        let o = parse(text);
        assert_eq!(o.sections.len(), 2);
        assert_eq!(o.sections[1].datatype.as_deref(), Some("MPI_INT"));
        assert_eq!(o.sections[1].rows[0].value, 2.0);
        assert_eq!(o.row(Some(4)).unwrap().value, 1.0);
    }

    #[test]
    fn noise_and_errors() {
        let text = "
# OSU MPI Bcast Latency Test v7.4
# Size       Avg Latency(us)
[vm:1234] some launcher warning
8                       abc
16                      1.00
";
        let o = parse(text);
        assert_eq!(o.rows().len(), 1);
        assert_eq!(o.unparsed.len(), 2);
        let e = parse_strict(text).unwrap_err();
        assert_eq!(e.line, 5);
        assert!(e.reason.contains("not a number"), "{e}");
        assert_eq!(parse_strict("").unwrap_err().reason, "no data rows");
        assert_eq!(
            parse_strict("# Size  Avg Latency(us)\n")
                .unwrap_err()
                .reason,
            "no data rows"
        );
        let bad_validation = "# Size   Avg Latency(us)   Validation\n8   1.0   Maybe\n";
        assert!(
            parse_strict(bad_validation)
                .unwrap_err()
                .reason
                .contains("validation")
        );
        // Infinite or NaN values are rejected.
        assert!(parse_strict("# Size   Avg Latency(us)\n8   inf\n").is_err());
    }
}
