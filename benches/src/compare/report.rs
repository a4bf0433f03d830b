//! Results of a comparison: per-run records, the per-size summary (median of rounds, best
//! round, ratios), and the Markdown and CSV files.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::mpi::Library;
use super::parse::OsuOutput;
use super::sysinfo::Machine;
use crate::osu::{Benchmark, Metric, stats};

/// What one launch produced.
#[derive(Debug, Clone)]
pub enum RunResult {
    /// It ran and printed OSU output (validation failures are visible in the output).
    Ok(OsuOutput),
    /// It ran past the time limit and was killed; the rows it printed before (if any).
    TimedOut(Option<OsuOutput>),
    /// It exited non-zero, or its output could not be read.
    Failed(String),
}

/// One launch of one benchmark for one library in one round.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// Round number, from 1.
    pub round: usize,
    /// The benchmark.
    pub bench: Benchmark,
    /// The library.
    pub library: Library,
    /// What happened.
    pub result: RunResult,
    /// Wall time of the launch.
    pub elapsed: Duration,
}

/// Everything a comparison produced.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// Ranks per run.
    pub np: usize,
    /// Rounds asked for.
    pub rounds: usize,
    /// More ranks than cores were allowed (`--oversubscribe`).
    pub oversubscribe: bool,
    /// Benchmarks, in order.
    pub benchmarks: Vec<Benchmark>,
    /// Libraries asked for, in order (the first is the subject of the ratios).
    pub libraries: Vec<Library>,
    /// Message sizes asked for (bytes).
    pub sizes: Vec<u64>,
    /// Libraries or benchmarks that could not run, with the reason.
    pub skipped: Vec<(Option<Library>, Option<Benchmark>, String)>,
    /// Every launch.
    pub records: Vec<RunRecord>,
    /// `# Library:` line seen per library.
    pub versions: BTreeMap<Library, String>,
    /// The machine.
    pub machine: Machine,
    /// When the comparison started (UTC).
    pub date: String,
    /// The command line, as typed.
    pub command: String,
}

/// One library's figures for one benchmark and size.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    /// The figure of every round that produced one.
    pub values: Vec<f64>,
    /// The round of each figure in `values`.
    pub rounds: Vec<usize>,
    /// Launches counted for this cell.
    pub runs: usize,
    /// Launches that timed out.
    pub timeouts: usize,
    /// Launches that failed or did not report this size.
    pub failures: usize,
    /// Why the library did not run at all, if so.
    pub skipped: Option<String>,
}

impl Cell {
    /// Records the figure of round `round`.
    fn push(&mut self, round: usize, value: f64) {
        self.values.push(value);
        self.rounds.push(round);
    }

    /// Median over rounds.
    pub fn median(&self) -> Option<f64> {
        stats::median(&self.values)
    }

    /// Best round: lowest latency or highest bandwidth.
    pub fn best(&self, metric: Metric) -> Option<f64> {
        if metric.lower_is_better() {
            stats::min(&self.values)
        } else {
            stats::max(&self.values)
        }
    }

    /// Table text: `0.23 (0.20)`, with `k/n` when some rounds failed, or why it is empty.
    pub fn text(&self, metric: Metric) -> String {
        match (self.median(), self.best(metric)) {
            (Some(m), Some(b)) => {
                let mut s = format!("{} ({})", fmt_value(m), fmt_value(b));
                if self.values.len() < self.runs {
                    s += &format!(" {}/{}", self.values.len(), self.runs);
                }
                s
            }
            _ if self.skipped.is_some() => "skipped".to_string(),
            _ if self.timeouts > 0 && self.timeouts == self.runs => "timeout".to_string(),
            _ if self.runs > 0 => "failed".to_string(),
            _ => "—".to_string(),
        }
    }
}

/// One row of the summary table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// The benchmark.
    pub bench: Benchmark,
    /// Message size (`None` for barrier).
    pub size: Option<u64>,
    /// Unit of the figures.
    pub metric: Metric,
    /// One cell per library, in [`Results::libraries`] order.
    pub cells: Vec<(Library, Cell)>,
}

impl TableRow {
    fn cell(&self, library: Library) -> Option<&Cell> {
        self.cells.iter().find(|(x, _)| *x == library).map(|c| &c.1)
    }

    /// Median of `subject` divided by the median of `other`.
    pub fn ratio(&self, subject: Library, other: Library) -> Option<f64> {
        let (s, o) = (self.cell(subject)?.median()?, self.cell(other)?.median()?);
        (o > 0.0).then(|| s / o)
    }

    /// Median over the rounds in which both produced a figure of `subject / other` in that
    /// round: the two ran one after the other, so on a machine that switches between fast and
    /// slow phases this compares like with like more often than the ratio of medians.
    pub fn paired_ratio(&self, subject: Library, other: Library) -> Option<f64> {
        let (s, o) = (self.cell(subject)?, self.cell(other)?);
        let ratios: Vec<f64> = s
            .rounds
            .iter()
            .zip(&s.values)
            .filter_map(|(round, &sv)| {
                let i = o.rounds.iter().position(|x| x == round)?;
                let ov = o.values[i];
                (ov > 0.0).then(|| sv / ov)
            })
            .collect();
        stats::median(&ratios)
    }
}

/// A size at which the subject library is behind the best other one ([`Results::behind`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Behind {
    /// The benchmark.
    pub bench: Benchmark,
    /// Message size (`None` for barrier).
    pub size: Option<u64>,
    /// Unit of the figures.
    pub metric: Metric,
    /// The subject's median.
    pub subject: f64,
    /// The best other library.
    pub library: Library,
    /// Its median.
    pub best: f64,
    /// How far behind (above 1).
    pub factor: f64,
}

/// Figures: 2 decimals below 10, 1 below 100, none above.
pub fn fmt_value(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// Reads the value of an `# Algorithm:` line: `size 8: oneshot (default)` → `(Some(8),
/// "oneshot")`, `dissemination (default)` → `(None, "dissemination")`, a forced one →
/// `"ring (forced)"`. `None` when it does not have that form.
pub fn parse_algorithm_note(value: &str) -> Option<(Option<u64>, String)> {
    let value = value.trim();
    let (size, rest) = match value.strip_prefix("size ") {
        Some(r) => {
            let (n, rest) = r.split_once(':')?;
            (Some(n.trim().parse::<u64>().ok()?), rest.trim())
        }
        None => (None, value),
    };
    let (name, why) = match rest.split_once(" (") {
        Some((n, w)) => (n.trim(), w.trim_end_matches(')')),
        None => (rest, ""),
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    let name = if why.starts_with("forced by") {
        format!("{name} (forced)")
    } else {
        name.to_string()
    };
    Some((size, name))
}

/// `8 B`, `1 KiB`, `64 KiB`, `1 MiB`, `1000 B`.
pub fn fmt_size(size: Option<u64>) -> String {
    match size {
        None => "—".to_string(),
        Some(s) if s >= 1 << 20 && s % (1 << 20) == 0 => format!("{} MiB", s >> 20),
        Some(s) if s >= 1 << 10 && s % (1 << 10) == 0 => format!("{} KiB", s >> 10),
        Some(s) => format!("{s} B"),
    }
}

impl Results {
    /// Sizes reported for `bench` (barrier: one size-less row).
    pub fn sizes_for(&self, bench: Benchmark) -> Vec<Option<u64>> {
        if bench.has_size() {
            self.sizes.iter().map(|&s| Some(s)).collect()
        } else {
            vec![None]
        }
    }

    fn skip_reason(&self, lib: Library, bench: Benchmark) -> Option<String> {
        self.skipped.iter().find_map(|(l, b, why)| {
            let lib_ok = l.is_none_or(|x| x == lib);
            let bench_ok = b.is_none_or(|x| x == bench);
            (lib_ok && bench_ok).then(|| why.clone())
        })
    }

    /// The summary table.
    pub fn table(&self) -> Vec<TableRow> {
        let mut rows = Vec::new();
        for &bench in &self.benchmarks {
            for size in self.sizes_for(bench) {
                let mut cells = Vec::new();
                for &lib in &self.libraries {
                    let mut cell = Cell {
                        skipped: self.skip_reason(lib, bench),
                        ..Cell::default()
                    };
                    for r in self
                        .records
                        .iter()
                        .filter(|r| r.bench == bench && r.library == lib)
                    {
                        cell.runs += 1;
                        match &r.result {
                            RunResult::Ok(out) => match out.row(size) {
                                Some(row) if !out.validation_failed() => {
                                    cell.push(r.round, row.value)
                                }
                                _ => cell.failures += 1,
                            },
                            RunResult::TimedOut(partial) => {
                                match partial.as_ref().and_then(|o| o.row(size)) {
                                    Some(row) => cell.push(r.round, row.value),
                                    None => cell.timeouts += 1,
                                }
                            }
                            RunResult::Failed(_) => cell.failures += 1,
                        }
                    }
                    cells.push((lib, cell));
                }
                rows.push(TableRow {
                    bench,
                    size,
                    metric: bench.metric(),
                    cells,
                });
            }
        }
        rows
    }

    /// The sizes at which the first library (the subject of the ratios) is behind the best of
    /// the others, by medians: slower (latency) or slower to move data (bandwidth). Each entry
    /// names the best other library and by how much (`subject / best` for latency, `best /
    /// subject` for bandwidth: above 1).
    pub fn behind(&self) -> Vec<Behind> {
        let Some((&subject, others)) = self.libraries.split_first() else {
            return Vec::new();
        };
        let mut v = Vec::new();
        for row in self.table() {
            let median = |l: Library| row.cell(l)?.median();
            let Some(mine) = median(subject) else {
                continue;
            };
            let lower = row.metric.lower_is_better();
            let best = others
                .iter()
                .filter_map(|&l| Some((l, median(l)?)))
                .reduce(|a, b| {
                    let b_better = if lower { b.1 < a.1 } else { b.1 > a.1 };
                    if b_better { b } else { a }
                });
            let Some((library, theirs)) = best else {
                continue;
            };
            let factor = if lower { mine / theirs } else { theirs / mine };
            if factor > 1.0 && factor.is_finite() {
                v.push(Behind {
                    bench: row.bench,
                    size: row.size,
                    metric: row.metric,
                    subject: mine,
                    library,
                    best: theirs,
                    factor,
                });
            }
        }
        v
    }

    /// The paragraph under the table naming every size at which the first library is behind
    /// the best of the others (`None` with fewer than two libraries or no figures).
    pub fn behind_text(&self) -> Option<String> {
        let (&subject, others) = self.libraries.split_first()?;
        // Only when some size has figures of the subject and of another library.
        let compared = self
            .table()
            .iter()
            .any(|r| others.iter().any(|&o| r.ratio(subject, o).is_some()));
        if !compared {
            return None;
        }
        let behind = self.behind();
        let name = subject.display_name();
        if behind.is_empty() {
            return Some(format!(
                "{name} is at least as fast as the fastest of the others at every size (medians).\n"
            ));
        }
        let items: Vec<String> = behind
            .iter()
            .map(|b| {
                let size = if b.size.is_some() {
                    format!(" {}", fmt_size(b.size))
                } else {
                    String::new()
                };
                format!(
                    "`{}`{size} ({} vs {} {} {}, {:.2}×)",
                    b.bench.name(),
                    fmt_value(b.subject),
                    b.library.display_name(),
                    fmt_value(b.best),
                    b.metric.unit(),
                    b.factor
                )
            })
            .collect();
        Some(format!(
            "Where {name} is behind the fastest of the others (medians): {}.\n",
            items.join("; ")
        ))
    }

    /// The first library (subject of the ratios) and the others.
    pub fn ratio_pairs(&self) -> Vec<(Library, Library)> {
        match self.libraries.split_first() {
            Some((&subject, others)) => others.iter().map(|&o| (subject, o)).collect(),
            None => Vec::new(),
        }
    }

    /// The algorithm rsm ran, per benchmark and size (`None`: barrier), from the
    /// `# Algorithm:` lines of rsm's outputs (`rsm-compare` asks for them with
    /// `RSM_BENCH_ALGORITHM=1`): the distinct names seen over the rounds, in order; a forced
    /// algorithm is marked `(forced)`.
    pub fn algorithms(&self) -> BTreeMap<(Benchmark, Option<u64>), Vec<String>> {
        let mut m: BTreeMap<(Benchmark, Option<u64>), Vec<String>> = BTreeMap::new();
        for r in self.records.iter().filter(|r| r.library == Library::Rsm) {
            let out = match &r.result {
                RunResult::Ok(o) | RunResult::TimedOut(Some(o)) => o,
                _ => continue,
            };
            for (k, v) in &out.notes {
                if k != "Algorithm" {
                    continue;
                }
                let Some((size, name)) = parse_algorithm_note(v) else {
                    continue;
                };
                let names = m.entry((r.bench, size)).or_default();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        m
    }

    /// The Markdown table alone. When rsm's outputs named their algorithms, a last column
    /// `rsm algorithm` shows them.
    pub fn markdown_table(&self) -> String {
        let pairs = self.ratio_pairs();
        let algorithms = self.algorithms();
        let with_algorithms = !algorithms.is_empty();
        let mut t = String::from("| benchmark | size | unit |");
        for l in &self.libraries {
            let _ = write!(t, " {} |", l.display_name());
        }
        for (s, o) in &pairs {
            let _ = write!(t, " {}/{} |", s.display_name(), o.display_name());
        }
        for (s, o) in &pairs {
            let _ = write!(t, " {}/{} by round |", s.display_name(), o.display_name());
        }
        if with_algorithms {
            t += " rsm algorithm |";
        }
        t += "\n|---|---:|---|";
        t += &"---:|".repeat(self.libraries.len() + 2 * pairs.len());
        if with_algorithms {
            t += "---|";
        }
        t.push('\n');
        for row in self.table() {
            let _ = write!(
                t,
                "| {} | {} | {} |",
                row.bench.name(),
                fmt_size(row.size),
                row.metric.unit()
            );
            for (_, cell) in &row.cells {
                let _ = write!(t, " {} |", cell.text(row.metric));
            }
            let ratios = pairs.iter().map(|&(s, o)| row.ratio(s, o));
            let by_round = pairs.iter().map(|&(s, o)| row.paired_ratio(s, o));
            for r in ratios.chain(by_round) {
                match r {
                    Some(r) => {
                        let _ = write!(t, " {r:.2} |");
                    }
                    None => t += " — |",
                }
            }
            if with_algorithms {
                match algorithms.get(&(row.bench, row.size)) {
                    Some(names) => {
                        let _ = write!(t, " {} |", names.join(" / "));
                    }
                    None => t += " — |",
                }
            }
            t.push('\n');
        }
        t
    }

    /// The whole report: header facts, method, table, plot links.
    pub fn markdown(&self, plots: &[(Benchmark, String)]) -> String {
        let mut m = String::from("# rsm-compare: OSU-style latency and bandwidth\n\n");
        let _ = writeln!(m, "- Machine: {}", self.machine.summary());
        if let Some(load) = &self.machine.load {
            let _ = writeln!(m, "- Load average at start: {load}");
        }
        let _ = writeln!(m, "- Date: {}", self.date);
        let _ = writeln!(m, "- Command: `{}`", self.command);
        let mut libs = Vec::new();
        for &l in &self.libraries {
            match self.versions.get(&l) {
                Some(v) => libs.push(format!("{}: {v}", l.display_name())),
                None => match self.skip_reason_any(l) {
                    Some(why) => libs.push(format!("{}: not run ({why})", l.display_name())),
                    None => libs.push(format!("{}: no output", l.display_name())),
                },
            }
        }
        let _ = writeln!(m, "- Libraries: {}", libs.join("; "));
        for (l, b, why) in &self.skipped {
            if l.is_none() || b.is_some() {
                let _ = writeln!(m, "- Skipped: {why}");
            }
        }
        if let Some(sync) = self.synchronization() {
            let _ = writeln!(m, "- One-sided synchronization: {sync}");
        }
        let binding = if self.oversubscribe {
            "ranks bound to cores, more ranks than cores allowed (Open MPI `--oversubscribe \
             --bind-to core:overload-allowed`, MPICH `-bind-to core`, `rsmrun --bind-to core \
             --oversubscribe`: cores are shared)"
        } else {
            "one rank per core"
        };
        let _ = writeln!(
            m,
            "- Method: OSU 7.4 method (`benches/mpi/osu_mpi.c` for the MPIs, the `osu_*` binaries \
             for rsm), np={}, {binding}, {} round(s) run alternately (each round runs every \
             library once per benchmark, each run after a 0.3 s pause). A cell is the median \
             of the rounds, the best round in brackets (lowest latency, highest bandwidth); \
             `k/n` marks cells where only k of n runs produced the size. Ratios divide \
             medians (latency: below 1 means the first library is faster; bandwidth: above 1 \
             means it moves more); the `by round` ratios are the median of the ratios of runs \
             in the same round (run one after the other, so more often in the same phase of \
             a noisy machine).\n",
            self.np, self.rounds
        );
        m += &self.markdown_table();
        if let Some(text) = self.behind_text() {
            m += "\n";
            m += &text;
        }
        if !plots.is_empty() {
            m += "\n";
            for (b, file) in plots {
                let _ = writeln!(m, "![{}]({file})", b.name());
            }
        }
        m
    }

    /// What completes the one-sided operations of each library, from the
    /// `# Synchronization:` lines of the outputs: `rsm: A (osu_put_latency, …), B
    /// (osu_put_bibw); Open MPI: …`. `None` when no output had such a line.
    pub fn synchronization(&self) -> Option<String> {
        let mut parts = Vec::new();
        for &lib in &self.libraries {
            // Each distinct synchronization text with the benchmarks that printed it.
            let mut seen: Vec<(String, Vec<Benchmark>)> = Vec::new();
            for r in self.records.iter().filter(|r| r.library == lib) {
                let out = match &r.result {
                    RunResult::Ok(o) | RunResult::TimedOut(Some(o)) => o,
                    _ => continue,
                };
                for (k, v) in &out.notes {
                    if k != "Synchronization" {
                        continue;
                    }
                    match seen.iter_mut().find(|(t, _)| t == v) {
                        Some((_, bs)) if !bs.contains(&r.bench) => bs.push(r.bench),
                        Some(_) => {}
                        None => seen.push((v.clone(), vec![r.bench])),
                    }
                }
            }
            if seen.is_empty() {
                continue;
            }
            let texts: Vec<String> = seen
                .iter()
                .map(|(t, bs)| {
                    let names: Vec<&str> = bs.iter().map(|b| b.name()).collect();
                    format!("{t} ({})", names.join(", "))
                })
                .collect();
            parts.push(format!("{}: {}", lib.display_name(), texts.join("; ")));
        }
        (!parts.is_empty()).then(|| parts.join(". "))
    }

    fn skip_reason_any(&self, lib: Library) -> Option<String> {
        self.skipped
            .iter()
            .find_map(|(l, b, why)| (*l == Some(lib) && b.is_none()).then(|| why.clone()))
    }

    /// Every figure of every run: `round,benchmark,library,size,value,unit,status`.
    pub fn csv(&self) -> String {
        let mut c = String::from("round,benchmark,library,size,value,unit,status\n");
        for r in &self.records {
            let unit = r.bench.metric().unit();
            match &r.result {
                RunResult::Ok(out) => {
                    let status = if out.validation_failed() {
                        "validation-failed"
                    } else {
                        "ok"
                    };
                    for row in out.rows() {
                        let size = row.size.map(|s| s.to_string()).unwrap_or_default();
                        let _ = writeln!(
                            c,
                            "{},{},{},{},{},{},{}",
                            r.round,
                            r.bench.name(),
                            r.library.id(),
                            size,
                            row.value,
                            unit,
                            status
                        );
                    }
                }
                RunResult::TimedOut(partial) => {
                    for row in partial.iter().flat_map(|o| o.rows()) {
                        let size = row.size.map(|s| s.to_string()).unwrap_or_default();
                        let _ = writeln!(
                            c,
                            "{},{},{},{},{},{},ok",
                            r.round,
                            r.bench.name(),
                            r.library.id(),
                            size,
                            row.value,
                            unit
                        );
                    }
                    let _ = writeln!(
                        c,
                        "{},{},{},,,{},timeout",
                        r.round,
                        r.bench.name(),
                        r.library.id(),
                        unit
                    );
                }
                RunResult::Failed(_) => {
                    let _ = writeln!(
                        c,
                        "{},{},{},,,{},failed",
                        r.round,
                        r.bench.name(),
                        r.library.id(),
                        unit
                    );
                }
            }
        }
        c
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::compare::parse::parse;

    pub(crate) fn out(lines: &[(u64, f64)]) -> OsuOutput {
        let mut t =
            String::from("# OSU MPI Allreduce Latency Test v7.4\n# Size       Avg Latency(us)\n");
        for (s, v) in lines {
            t += &format!("{s:<10}{v:>18.2}\n");
        }
        parse(&t)
    }

    fn record(round: usize, library: Library, result: RunResult) -> RunRecord {
        RunRecord {
            round,
            bench: Benchmark::Allreduce,
            library,
            result,
            elapsed: Duration::from_secs(1),
        }
    }

    pub(crate) fn sample() -> Results {
        let mut r = Results {
            np: 2,
            rounds: 3,
            benchmarks: vec![Benchmark::Allreduce],
            libraries: vec![Library::Rsm, Library::OpenMpi, Library::Mpich],
            sizes: vec![8, 1 << 20],
            skipped: vec![(Some(Library::Rsm), None, "rsmrun not found".into())],
            date: "2025-01-01 00:00:00 UTC".into(),
            command: "rsm-compare --np 2".into(),
            ..Results::default()
        };
        r.versions.insert(Library::OpenMpi, "Open MPI 4.1.4".into());
        for (round, o8, o1m, m8, m1m) in [
            (1, 0.25, 140.0, 0.60, 300.0),
            (2, 0.21, 130.0, 0.55, 280.0),
            (3, 0.23, 133.0, 0.57, 284.0),
        ] {
            r.records.push(record(
                round,
                Library::OpenMpi,
                RunResult::Ok(out(&[(8, o8), (1 << 20, o1m)])),
            ));
            let m = if round == 2 {
                RunResult::TimedOut(None)
            } else {
                RunResult::Ok(out(&[(8, m8), (1 << 20, m1m)]))
            };
            r.records.push(record(round, Library::Mpich, m));
        }
        r
    }

    #[test]
    fn table_medians_best_and_ratios() {
        let r = sample();
        let t = r.table();
        assert_eq!(t.len(), 2);
        let small = &t[0];
        assert_eq!(small.size, Some(8));
        let ompi = &small.cells[1].1;
        assert_eq!(ompi.values, vec![0.25, 0.21, 0.23]);
        assert_eq!(ompi.median(), Some(0.23));
        assert_eq!(ompi.best(Metric::LatencyUs), Some(0.21));
        assert_eq!(ompi.text(Metric::LatencyUs), "0.23 (0.21)");
        let mpich = &small.cells[2].1;
        assert_eq!((mpich.runs, mpich.timeouts, mpich.values.len()), (3, 1, 2));
        assert_eq!(mpich.text(Metric::LatencyUs), "0.58 (0.57) 2/3");
        assert_eq!(small.cells[0].1.text(Metric::LatencyUs), "skipped");
        let per_mille = |x: Option<f64>| x.map(|x| (x * 1000.0).round());
        assert_eq!(
            per_mille(small.ratio(Library::OpenMpi, Library::Mpich)),
            Some(393.0)
        );
        assert_eq!(small.ratio(Library::Rsm, Library::Mpich), None);
        // By round: rounds 1 and 3 (MPICH timed out in round 2): 0.25/0.60 and 0.23/0.57.
        assert_eq!(ompi.rounds, vec![1, 2, 3]);
        assert_eq!(small.cells[2].1.rounds, vec![1, 3]);
        assert_eq!(
            per_mille(small.paired_ratio(Library::OpenMpi, Library::Mpich)),
            Some(410.0)
        );
        assert_eq!(small.paired_ratio(Library::Rsm, Library::Mpich), None);
        assert_eq!(t[1].cells[1].1.text(Metric::LatencyUs), "133 (130)");
    }

    #[test]
    fn markdown_and_csv() {
        let mut r = sample();
        assert!(
            r.markdown(&[])
                .contains(", np=2, one rank per core, 3 round(s) run")
        );
        r.oversubscribe = true;
        assert!(r.markdown(&[]).contains(
            ", np=2, ranks bound to cores, more ranks than cores allowed (Open MPI \
             `--oversubscribe --bind-to core:overload-allowed`, MPICH `-bind-to core`, \
             `rsmrun --bind-to core --oversubscribe`: cores are shared), 3 round(s) run"
        ));
        let md = r.markdown(&[(Benchmark::Allreduce, "osu_allreduce.svg".into())]);
        assert!(
            md.contains(
                "| benchmark | size | unit | rsm | Open MPI | MPICH | rsm/Open MPI | rsm/MPICH \
                 | rsm/Open MPI by round | rsm/MPICH by round |"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "| osu_allreduce | 8 B | µs | skipped | 0.23 (0.21) | 0.58 (0.57) 2/3 | — | — | — \
                 | — |"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "| osu_allreduce | 1 MiB | µs | skipped | 133 (130) | 292 (284) 2/3 | — | — |"
            ),
            "{md}"
        );
        assert!(md.contains("- Libraries: rsm: not run (rsmrun not found); Open MPI: Open MPI 4.1.4; MPICH: no output"));
        assert!(md.contains("- Command: `rsm-compare --np 2`"));
        assert!(md.contains("![osu_allreduce](osu_allreduce.svg)"));
        let csv = r.csv();
        assert!(csv.starts_with("round,benchmark,library,size,value,unit,status\n"));
        assert!(csv.contains("1,osu_allreduce,openmpi,8,0.25,µs,ok\n"));
        assert!(csv.contains("2,osu_allreduce,mpich,,,µs,timeout\n"));
        assert_eq!(csv.lines().count(), 1 + 3 * 2 + 2 * 2 + 1);
    }

    #[test]
    fn rows_printed_before_a_timeout_count() {
        let mut r = sample();
        // Round 2 of MPICH printed 8 B, then was killed before 1 MiB.
        for rec in &mut r.records {
            if rec.library == Library::Mpich && rec.round == 2 {
                rec.result = RunResult::TimedOut(Some(out(&[(8, 0.52)])));
            }
        }
        let t = r.table();
        assert_eq!(t[0].cells[2].1.values, vec![0.60, 0.52, 0.57]);
        assert_eq!(t[0].cells[2].1.text(Metric::LatencyUs), "0.57 (0.52)");
        assert_eq!(
            (t[1].cells[2].1.timeouts, t[1].cells[2].1.values.len()),
            (1, 2)
        );
        let csv = r.csv();
        assert!(
            csv.contains(
                "2,osu_allreduce,mpich,8,0.52,µs,ok\n2,osu_allreduce,mpich,,,µs,timeout\n"
            ),
            "{csv}"
        );
    }

    #[test]
    fn subject_ratio_when_present() {
        let mut r = sample();
        r.libraries = vec![Library::OpenMpi, Library::Mpich];
        let md = r.markdown_table();
        assert!(md.contains("| Open MPI/MPICH |"));
        assert!(
            md.contains("| osu_allreduce | 8 B | µs | 0.23 (0.21) | 0.58 (0.57) 2/3 | 0.39 |"),
            "{md}"
        );
    }

    #[test]
    fn synchronization_line_per_library() {
        let one_sided = |bench: Benchmark, library: Library, sync: &str| RunRecord {
            round: 1,
            bench,
            library,
            result: RunResult::Ok(parse(&format!(
                "# {} v7.4\n# Library: x\n# Window creation: w\n# Synchronization: {sync}\n\
                 # Datatype: MPI_CHAR.\n# Size          Latency (us)\n1                       0.05\n",
                bench.title()
            ))),
            elapsed: Duration::from_secs(1),
        };
        let mut r = sample();
        assert_eq!(r.synchronization(), None);
        r.libraries = vec![Library::Rsm, Library::OpenMpi];
        r.records = vec![
            one_sided(Benchmark::PutLatency, Library::Rsm, "span A"),
            one_sided(Benchmark::PutLatency, Library::OpenMpi, "MPI_Win_flush"),
            one_sided(Benchmark::PutBibw, Library::Rsm, "flags B"),
            one_sided(Benchmark::GetLatency, Library::Rsm, "span A"),
            one_sided(Benchmark::GetLatency, Library::Rsm, "span A"),
            one_sided(Benchmark::GetLatency, Library::OpenMpi, "MPI_Win_flush"),
        ];
        assert_eq!(
            r.synchronization().as_deref(),
            Some(
                "rsm: span A (osu_put_latency, osu_get_latency); flags B (osu_put_bibw). \
                 Open MPI: MPI_Win_flush (osu_put_latency, osu_get_latency)"
            )
        );
        assert!(r.markdown(&[]).contains(
            "- One-sided synchronization: rsm: span A (osu_put_latency, osu_get_latency); flags B"
        ));
    }

    #[test]
    fn algorithm_notes() {
        assert_eq!(
            parse_algorithm_note("size 8: oneshot (default)"),
            Some((Some(8), "oneshot".to_string()))
        );
        assert_eq!(
            parse_algorithm_note("size 1048576: ring (forced by RSM_COLL_ALLREDUCE)"),
            Some((Some(1 << 20), "ring (forced)".to_string()))
        );
        assert_eq!(
            parse_algorithm_note("dissemination (default)"),
            Some((None, "dissemination".to_string()))
        );
        assert_eq!(
            parse_algorithm_note(
                "size 64: flat (forced ring cannot run a non-commutative operator; default)"
            ),
            Some((Some(64), "flat".to_string()))
        );
        assert_eq!(parse_algorithm_note("size x: flat (default)"), None);
        assert_eq!(parse_algorithm_note("size 8 flat"), None);
        assert_eq!(parse_algorithm_note("two words (default)"), None);
        assert_eq!(parse_algorithm_note(""), None);

        let rsm = |round: usize, body: &str| RunRecord {
            round,
            bench: Benchmark::Allreduce,
            library: Library::Rsm,
            result: RunResult::Ok(parse(&format!(
                "# OSU MPI Allreduce Latency Test v7.4\n# Library: rsm\n# Datatype: MPI_CHAR.\n\
                 # Size       Avg Latency(us)\n{body}"
            ))),
            elapsed: Duration::from_secs(1),
        };
        let mut r = sample();
        r.skipped.clear();
        // Without `# Algorithm:` lines the table has no algorithm column.
        assert!(!r.markdown_table().contains("rsm algorithm"));
        r.records.push(rsm(
            1,
            "8                       0.30\n# Algorithm: size 8: oneshot (default)\n\
             1048576               120.00\n# Algorithm: size 1048576: twoshot (default)\n",
        ));
        r.records.push(rsm(
            2,
            "8                       0.32\n# Algorithm: size 8: oneshot (default)\n\
             1048576               125.00\n# Algorithm: size 1048576: ring (forced by RSM_COLL_ALLREDUCE)\n",
        ));
        let a = r.algorithms();
        assert_eq!(a[&(Benchmark::Allreduce, Some(8))], ["oneshot"]);
        assert_eq!(
            a[&(Benchmark::Allreduce, Some(1 << 20))],
            ["twoshot", "ring (forced)"]
        );
        let md = r.markdown_table();
        assert!(
            md.starts_with(
                "| benchmark | size | unit | rsm | Open MPI | MPICH | rsm/Open MPI | rsm/MPICH \
                 | rsm/Open MPI by round | rsm/MPICH by round | rsm algorithm |\n\
                 |---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|\n"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "| osu_allreduce | 8 B | µs | 0.31 (0.30) | 0.23 (0.21) | 0.58 (0.57) 2/3 | 1.35 | 0.53 | 1.36 | 0.50 | oneshot |\n"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "| osu_allreduce | 1 MiB | µs | 122 (120) | 133 (130) | 292 (284) 2/3 | 0.92 | 0.42 | 0.91 | 0.40 \
                 | twoshot / ring (forced) |\n"
            ),
            "{md}"
        );
    }

    #[test]
    fn sizes_where_the_subject_is_behind() {
        let mut r = sample();
        // Without rsm figures there is nothing to say about rsm.
        assert_eq!(r.behind(), []);
        assert_eq!(r.behind_text(), None);
        r.skipped.clear();
        r.records.push(record(
            1,
            Library::Rsm,
            RunResult::Ok(out(&[(8, 0.30), (1 << 20, 120.0)])),
        ));
        // 8 B: 0.30 against Open MPI 0.23 (MPICH 0.585): behind by 1.30; 1 MiB: ahead.
        let b = r.behind();
        assert_eq!(b.len(), 1, "{b:?}");
        assert_eq!(
            (b[0].bench, b[0].size, b[0].library, b[0].best),
            (Benchmark::Allreduce, Some(8), Library::OpenMpi, 0.23)
        );
        assert!((b[0].factor - 0.30 / 0.23).abs() < 1e-12);
        assert_eq!(
            r.behind_text().as_deref(),
            Some(
                "Where rsm is behind the fastest of the others (medians): `osu_allreduce` 8 B \
                 (0.30 vs Open MPI 0.23 µs, 1.30×).\n"
            )
        );
        assert!(r.markdown(&[]).contains("\n\nWhere rsm is behind"));
        // Bandwidth: higher is better.
        let mut bw = r.clone();
        bw.benchmarks = vec![Benchmark::PutBw];
        for rec in &mut bw.records {
            rec.bench = Benchmark::PutBw;
        }
        // 0.30 and 120 MB/s against MPICH's 0.585 and 292: behind at both sizes.
        let b = bw.behind();
        assert_eq!(b.len(), 2, "{b:?}");
        assert_eq!(
            (b[1].size, b[1].library, b[1].best),
            (Some(1 << 20), Library::Mpich, 292.0)
        );
        assert!((b[1].factor - 292.0 / 120.0).abs() < 1e-12);
        assert!(
            bw.behind_text()
                .unwrap()
                .contains("`osu_put_bw` 1 MiB (120 vs MPICH 292 MB/s, 2.43×)")
        );
        // Faster everywhere.
        r.records.retain(|x| x.library != Library::Rsm);
        r.records.push(record(
            1,
            Library::Rsm,
            RunResult::Ok(out(&[(8, 0.10), (1 << 20, 100.0)])),
        ));
        assert_eq!(r.behind(), []);
        assert_eq!(
            r.behind_text().as_deref(),
            Some("rsm is at least as fast as the fastest of the others at every size (medians).\n")
        );
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_size(Some(8)), "8 B");
        assert_eq!(fmt_size(Some(1024)), "1 KiB");
        assert_eq!(fmt_size(Some(65536)), "64 KiB");
        assert_eq!(fmt_size(Some(4 << 20)), "4 MiB");
        assert_eq!(fmt_size(Some(1000)), "1000 B");
        assert_eq!(fmt_size(Some(1536)), "1536 B");
        assert_eq!(fmt_size(None), "—");
        assert_eq!(fmt_value(0.174), "0.17");
        assert_eq!(fmt_value(11.64), "11.6");
        assert_eq!(fmt_value(563.4), "563");
        let empty = Cell::default();
        assert_eq!(empty.text(Metric::LatencyUs), "—");
        let to = Cell {
            runs: 2,
            timeouts: 2,
            ..Cell::default()
        };
        assert_eq!(to.text(Metric::LatencyUs), "timeout");
        let f = Cell {
            runs: 2,
            failures: 1,
            timeouts: 1,
            ..Cell::default()
        };
        assert_eq!(f.text(Metric::LatencyUs), "failed");
        let bw = Cell {
            values: vec![10.0, 30.0, 20.0],
            runs: 3,
            ..Cell::default()
        };
        assert_eq!(bw.text(Metric::BandwidthMBs), "20.0 (30.0)");
    }
}
