//! SVG plots: one per benchmark with a message size, figure against size on log-log axes,
//! one line per library (medians of the rounds).

use std::path::Path;

use plotters::prelude::*;

use super::mpi::Library;
use super::report::{TableRow, fmt_size};
use crate::osu::Benchmark;

fn color(lib: Library) -> RGBColor {
    match lib {
        Library::Rsm => RGBColor(0xd6, 0x27, 0x28),
        Library::OpenMpi => RGBColor(0x1f, 0x77, 0xb4),
        Library::Mpich => RGBColor(0x2c, 0xa0, 0x2c),
    }
}

/// Label for x = log2(size): the size when x is a whole number.
fn axis_size(v: &f64) -> String {
    if (v - v.round()).abs() > 1e-6 || *v < 0.0 || *v > 62.0 {
        return String::new();
    }
    fmt_size(Some(1u64 << (v.round() as u32))).replace(' ', "")
}

fn axis_value(v: &f64) -> String {
    if *v >= 100.0 {
        format!("{v:.0}")
    } else if *v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The (size, median) points of each library for `bench`, from the summary table.
pub fn series(rows: &[TableRow], bench: Benchmark) -> Vec<(Library, Vec<(f64, f64)>)> {
    let mut out: Vec<(Library, Vec<(f64, f64)>)> = Vec::new();
    for row in rows.iter().filter(|r| r.bench == bench) {
        let Some(size) = row.size else { continue };
        for (lib, cell) in &row.cells {
            let Some(m) = cell.median() else { continue };
            if m <= 0.0 {
                continue;
            }
            match out.iter_mut().find(|(l, _)| l == lib) {
                Some((_, pts)) => pts.push((size as f64, m)),
                None => out.push((*lib, vec![(size as f64, m)])),
            }
        }
    }
    out
}

/// Draws `bench`'s plot into `path`. Returns `Ok(false)` (and writes nothing) when there is
/// nothing to draw (barrier, or no library produced a figure).
pub fn plot(
    path: &Path,
    bench: Benchmark,
    rows: &[TableRow],
    subtitle: &str,
) -> Result<bool, Box<dyn std::error::Error>> {
    let data = series(rows, bench);
    if !bench.has_size() || data.is_empty() {
        return Ok(false);
    }
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (_, pts) in &data {
        for &(x, y) in pts {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    // x is log2(size) on a linear axis so that ticks fall on powers of two.
    let (x0, x1) = (x0.log2().floor() - 0.5, x1.log2().ceil() + 0.5);
    let (y0, y1) = (y0 / 2.0, y1 * 2.0);
    let metric = bench.metric();

    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let caption = format!("{} — {subtitle}", bench.name());
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, (y0..y1).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("Message size")
        .y_desc(metric.axis_label())
        .x_labels(((x1 - x0) as usize).clamp(2, 24))
        .y_labels(20)
        .x_label_formatter(&axis_size)
        .y_label_formatter(&axis_value)
        .draw()?;
    for (lib, pts) in &data {
        let c = color(*lib);
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|&(x, y)| (x.log2(), y)),
                c.stroke_width(2),
            ))?
            .label(lib.display_name())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart.draw_series(
            pts.iter()
                .map(|&(x, y)| Circle::new((x.log2(), y), 3, c.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::report::tests::sample;

    #[test]
    fn plot_file_is_produced_and_non_empty() {
        let r = sample();
        let rows = r.table();
        let s = series(&rows, Benchmark::Allreduce);
        assert_eq!(s.len(), 2); // rsm was skipped: only Open MPI and MPICH have points
        assert_eq!(s[0].0, Library::OpenMpi);
        assert_eq!(s[0].1, vec![(8.0, 0.23), (1048576.0, 133.0)]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("osu_allreduce.svg");
        assert!(
            plot(
                &path,
                Benchmark::Allreduce,
                &rows,
                "np=2, median of 3 rounds"
            )
            .unwrap()
        );
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.len() > 1000, "{} bytes", svg.len());
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("osu_allreduce"));
        assert!(svg.contains("Open MPI") && svg.contains("MPICH"));
        assert!(!svg.contains(">rsm<"));
        // Per library: its data line and its legend mark, in its colour, 2 px wide.
        for colour in ["#1F77B4", "#2CA02C"] {
            let pat = format!("stroke=\"{colour}\" stroke-width=\"2\"");
            assert_eq!(svg.matches(&pat).count(), 2, "{colour}");
        }
        assert_eq!(svg.matches("#D62728").count(), 0);
        // Two data points per library.
        assert_eq!(svg.matches("<circle").count(), 4);
    }

    #[test]
    fn nothing_to_plot() {
        let r = sample();
        let rows = r.table();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("osu_barrier.svg");
        assert!(!plot(&path, Benchmark::Barrier, &rows, "").unwrap());
        assert!(!path.exists());
        assert!(!plot(&path, Benchmark::Bcast, &rows, "").unwrap());
    }

    #[test]
    fn axis_labels() {
        assert_eq!(axis_size(&10.0), "1KiB");
        assert_eq!(axis_size(&3.0), "8B");
        assert_eq!(axis_size(&3.5), "");
        assert_eq!(axis_value(&0.123), "0.12");
        assert_eq!(axis_value(&12.34), "12.3");
        assert_eq!(axis_value(&1234.0), "1234");
    }
}
