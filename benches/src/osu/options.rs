//! Command-line options, parsed exactly as the C side (`benches/mpi/osu_mpi.c`) parses them.
//!
//! Grammar (getopt-like): short options may be clustered (`-fc`), a short option's argument
//! may be attached (`-m128`) or separate (`-m 128`); long options take `--name=value` or
//! `--name value`; `--` ends the options. Positional arguments are rejected.
//!
//! | option | meaning |
//! |---|---|
//! | `-m, --message-size [MIN:]MAX` | sizes `MIN, 2·MIN, 4·MIN, … ≤ MAX` (`128`, `2:128`, `2:`, `:128`) |
//! | `-i, --iterations ITER` | timed iterations per size (small and large), ≥ 1 |
//! | `-x, --warmup ITER` | untimed warm-up iterations per size (small and large), ≥ 0 |
//! | `-W, --window-size SIZE` | operations per bandwidth iteration (bandwidth only), ≥ 1 |
//! | `-f, --full` | add min, max and iterations columns (collectives only) |
//! | `-c, --validation` | check every result; a failure prints `Fail` and exits 1 |
//! | `-T, --type TYPE` | `mpi_char`, `mpi_int`, `mpi_float` or `all`, repeatable (not barrier; one-sided: `mpi_char` only) |
//! | `-h, --help` | print the help |

use std::fmt;

use super::bench::{
    Benchmark, DEFAULT_MIN_SIZE, DEFAULT_WINDOW, LARGE_MESSAGE_SIZE, MAX_SIZE_LIMIT,
};
use super::validate::DType;

/// Largest `-i`/`-x`/`-W` value accepted.
pub const MAX_COUNT: usize = 1_000_000_000;

/// Parsed options of one benchmark run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The benchmark these options belong to.
    pub benchmark: Benchmark,
    /// Smallest message size in bytes.
    pub min_size: usize,
    /// Largest message size in bytes.
    pub max_size: usize,
    /// Timed iterations for sizes up to [`LARGE_MESSAGE_SIZE`].
    pub iterations: usize,
    /// Timed iterations for larger sizes.
    pub iterations_large: usize,
    /// Warm-up iterations for sizes up to [`LARGE_MESSAGE_SIZE`].
    pub warmup: usize,
    /// Warm-up iterations for larger sizes.
    pub warmup_large: usize,
    /// `-f`: print min, max and iterations.
    pub full: bool,
    /// `-c`: validate every result.
    pub validate: bool,
    /// Element types, in order (default `[MPI_CHAR]`).
    pub types: Vec<DType>,
    /// Operations per bandwidth iteration.
    pub window: usize,
}

impl Options {
    /// Defaults of `bench` (OSU 7.4's).
    pub fn defaults(bench: Benchmark) -> Options {
        let (iterations, warmup) = bench.default_small_loop();
        let (iterations_large, warmup_large) = bench.default_large_loop();
        Options {
            benchmark: bench,
            min_size: DEFAULT_MIN_SIZE,
            max_size: bench.default_max_size(),
            iterations,
            iterations_large,
            warmup,
            warmup_large,
            full: false,
            validate: false,
            types: vec![DType::Char],
            window: DEFAULT_WINDOW,
        }
    }

    /// True when `size` counts as large (above 8 KiB).
    pub fn is_large(&self, size: usize) -> bool {
        size > LARGE_MESSAGE_SIZE
    }

    /// Timed iterations at `size`.
    pub fn iterations_for(&self, size: usize) -> usize {
        if self.is_large(size) {
            self.iterations_large
        } else {
            self.iterations
        }
    }

    /// Warm-up iterations at `size`.
    pub fn warmup_for(&self, size: usize) -> usize {
        if self.is_large(size) {
            self.warmup_large
        } else {
            self.warmup
        }
    }

    /// The size sequence `min, 2·min, … ≤ max` (barrier: `[0]`, one row without size).
    pub fn size_sequence(&self) -> Vec<usize> {
        if !self.benchmark.has_size() {
            return vec![0];
        }
        let mut v = Vec::new();
        let mut s = self.min_size;
        while s <= self.max_size {
            v.push(s);
            match s.checked_mul(2) {
                Some(n) => s = n,
                None => break,
            }
        }
        v
    }

    /// The sizes actually run for `dtype` with `nranks` ranks: [`Options::size_sequence`]
    /// without the sizes that hold no whole element (per block for reduce_scatter), as OSU
    /// skips them.
    pub fn sizes(&self, dtype: DType, nranks: usize) -> Vec<usize> {
        let per = match self.benchmark {
            Benchmark::ReduceScatter => dtype.size() * nranks.max(1),
            _ => dtype.size(),
        };
        self.size_sequence()
            .into_iter()
            .filter(|&s| !self.benchmark.has_size() || s / per > 0)
            .collect()
    }
}

/// Result of parsing: run, or print the help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Run with these options.
    Run(Options),
    /// `-h`: print [`help_text`] and exit 0.
    Help,
}

/// A usage error: print [`UsageError`] (its `Display`), a blank line and the help; exit 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    /// What is wrong, e.g. `Invalid Message Size`.
    pub message: &'static str,
    /// The option as written by the user (`-m`, `--foo`) or the stray argument.
    pub option: String,
    /// The offending value, if any.
    pub value: Option<String>,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{} [{} {}]", self.message, self.option, v),
            None => write!(f, "{} [{}]", self.message, self.option),
        }
    }
}

impl std::error::Error for UsageError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    MessageSize,
    Iterations,
    Warmup,
    Window,
    Full,
    Validation,
    Type,
    Help,
}

const TABLE: [(Opt, char, &str, bool); 8] = [
    (Opt::MessageSize, 'm', "message-size", true),
    (Opt::Iterations, 'i', "iterations", true),
    (Opt::Warmup, 'x', "warmup", true),
    (Opt::Window, 'W', "window-size", true),
    (Opt::Full, 'f', "full", false),
    (Opt::Validation, 'c', "validation", false),
    (Opt::Type, 'T', "type", true),
    (Opt::Help, 'h', "help", false),
];

fn accepted(bench: Benchmark, opt: Opt) -> bool {
    match opt {
        Opt::MessageSize | Opt::Type => bench.has_size(),
        Opt::Window => bench.accepts_window(),
        Opt::Full => bench.accepts_full(),
        Opt::Iterations | Opt::Warmup | Opt::Validation | Opt::Help => true,
    }
}

/// Parses a count: decimal digits only, at most `max`.
fn parse_count(s: &str, max: usize) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<usize>().ok().filter(|&v| v <= max)
}

/// Applies `-m` to `opts`: `MAX`, `MIN:MAX`, `MIN:` or `:MAX`; MIN ≥ 1, MIN ≤ MAX ≤ 1 GiB.
fn apply_message_size(opts: &mut Options, arg: &str) -> bool {
    let (min, max) = match arg.split_once(':') {
        None => (None, Some(arg)),
        Some((a, b)) => {
            if b.contains(':') {
                return false;
            }
            ((!a.is_empty()).then_some(a), (!b.is_empty()).then_some(b))
        }
    };
    if min.is_none() && max.is_none() {
        return false;
    }
    let mut lo = opts.min_size;
    let mut hi = opts.max_size;
    if let Some(m) = min {
        match parse_count(m, MAX_SIZE_LIMIT) {
            Some(v) if v >= 1 => lo = v,
            _ => return false,
        }
    }
    if let Some(m) = max {
        match parse_count(m, MAX_SIZE_LIMIT) {
            Some(v) if v >= 1 => hi = v,
            _ => return false,
        }
    }
    if lo > hi {
        return false;
    }
    opts.min_size = lo;
    opts.max_size = hi;
    true
}

fn apply(
    opts: &mut Options,
    opt: Opt,
    written: &str,
    value: Option<&str>,
) -> Result<bool, UsageError> {
    let bad = |message: &'static str| UsageError {
        message,
        option: written.to_string(),
        value: value.map(str::to_string),
    };
    let v = value.unwrap_or("");
    match opt {
        Opt::Help => return Ok(true),
        Opt::Full => opts.full = true,
        Opt::Validation => opts.validate = true,
        Opt::MessageSize => {
            if !apply_message_size(opts, v) {
                return Err(bad("Invalid Message Size"));
            }
        }
        Opt::Iterations => match parse_count(v, MAX_COUNT) {
            Some(n) if n >= 1 => {
                opts.iterations = n;
                opts.iterations_large = n;
            }
            _ => return Err(bad("Invalid Number of Iterations")),
        },
        Opt::Warmup => match parse_count(v, MAX_COUNT) {
            Some(n) => {
                opts.warmup = n;
                opts.warmup_large = n;
            }
            None => return Err(bad("Invalid Number of Warmup Iterations")),
        },
        Opt::Window => match parse_count(v, MAX_COUNT) {
            Some(n) if n >= 1 => opts.window = n,
            _ => return Err(bad("Invalid Window Size")),
        },
        Opt::Type => {
            let new: Vec<DType> = if v.eq_ignore_ascii_case("all") {
                DType::ALL.to_vec()
            } else {
                match DType::parse(v) {
                    Some(t) => vec![t],
                    None => return Err(bad("Invalid Datatype")),
                }
            };
            if opts.benchmark.is_one_sided() && new.iter().any(|&t| t != DType::Char) {
                return Err(bad("Benchmark Supports Only MPI_CHAR"));
            }
            for t in new {
                if !opts.types.contains(&t) {
                    opts.types.push(t);
                }
            }
        }
    }
    Ok(false)
}

/// The first `-T` replaces the default type list; later ones add to it.
fn reset_types_once(opts: &mut Options, given: &mut bool) {
    if !*given {
        opts.types.clear();
        *given = true;
    }
}

/// Parses the arguments after the program name.
pub fn parse_args<I, S>(bench: Benchmark, args: I) -> Result<Parsed, UsageError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let args: Vec<String> = args.into_iter().map(|s| s.as_ref().to_string()).collect();
    let mut opts = Options::defaults(bench);
    // `-T` replaces the default type list on first use.
    let mut types_given = false;
    let mut help = false;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            if let Some(stray) = args.get(i) {
                return Err(UsageError {
                    message: "Unexpected Argument",
                    option: stray.clone(),
                    value: None,
                });
            }
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let written = format!("--{name}");
            let Some(&(opt, _, _, takes)) = TABLE
                .iter()
                .find(|(o, _, n, _)| *n == name && accepted(bench, *o))
            else {
                return Err(UsageError {
                    message: "Invalid Option",
                    option: written,
                    value: None,
                });
            };
            let value = if takes {
                match inline {
                    Some(v) => Some(v),
                    None => match args.get(i) {
                        Some(v) => {
                            i += 1;
                            Some(v.clone())
                        }
                        None => {
                            return Err(UsageError {
                                message: "Option Missing Required Argument",
                                option: written,
                                value: None,
                            });
                        }
                    },
                }
            } else {
                if inline.is_some() {
                    return Err(UsageError {
                        message: "Option Takes No Argument",
                        option: written,
                        value: inline,
                    });
                }
                None
            };
            if opt == Opt::Type {
                reset_types_once(&mut opts, &mut types_given);
            }
            help |= apply(&mut opts, opt, &written, value.as_deref())?;
            continue;
        }
        let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.is_empty()) else {
            return Err(UsageError {
                message: "Unexpected Argument",
                option: arg.clone(),
                value: None,
            });
        };
        let chars: Vec<char> = cluster.chars().collect();
        let mut j = 0;
        while j < chars.len() {
            let c = chars[j];
            j += 1;
            let written = format!("-{c}");
            let Some(&(opt, _, _, takes)) = TABLE
                .iter()
                .find(|(o, s, _, _)| *s == c && accepted(bench, *o))
            else {
                return Err(UsageError {
                    message: "Invalid Option",
                    option: written,
                    value: None,
                });
            };
            let value = if takes {
                if j < chars.len() {
                    let v: String = chars[j..].iter().collect();
                    j = chars.len();
                    Some(v)
                } else {
                    match args.get(i) {
                        Some(v) => {
                            i += 1;
                            Some(v.clone())
                        }
                        None => {
                            return Err(UsageError {
                                message: "Option Missing Required Argument",
                                option: written,
                                value: None,
                            });
                        }
                    }
                }
            } else {
                None
            };
            if opt == Opt::Type {
                reset_types_once(&mut opts, &mut types_given);
            }
            help |= apply(&mut opts, opt, &written, value.as_deref())?;
        }
    }
    if help {
        return Ok(Parsed::Help);
    }
    Ok(Parsed::Run(opts))
}

/// The help text for `bench` (byte-for-byte what the C side prints for `-h`).
pub fn help_text(bench: Benchmark) -> String {
    let pad = |s: &str| format!("  {s:<26}  ");
    let cont = " ".repeat(30);
    let mut h = format!("Usage: {} [options]\nOptions:\n", bench.name());
    if bench.has_size() {
        let d = Options::defaults(bench);
        h += &format!(
            "{}set the minimum and/or the maximum message size to MIN and/or MAX\n",
            pad("-m, --message-size [MIN:]MAX")
        );
        h += &format!(
            "{cont}bytes respectively (default {}:{}). Examples:\n",
            d.min_size, d.max_size
        );
        h += &format!("{cont}-m 128      // min = default, max = 128\n");
        h += &format!("{cont}-m 2:128    // min = 2, max = 128\n");
        h += &format!("{cont}-m 2:       // min = 2, max = default\n");
    }
    let (is, ws) = bench.default_small_loop();
    let (il, wl) = bench.default_large_loop();
    if bench.has_size() {
        h += &format!(
            "{}set iterations per message size to ITER (default {is} for small\n",
            pad("-i, --iterations ITER")
        );
        h += &format!("{cont}messages, {il} for large messages)\n");
        h += &format!(
            "{}set number of warmup iterations to skip before timing (default {ws}\n",
            pad("-x, --warmup ITER")
        );
        h += &format!("{cont}for small messages, {wl} for large messages)\n");
    } else {
        h += &format!(
            "{}set number of iterations to ITER (default {is})\n",
            pad("-i, --iterations ITER")
        );
        h += &format!(
            "{}set number of warmup iterations to skip before timing (default {ws})\n",
            pad("-x, --warmup ITER")
        );
    }
    if bench.accepts_window() {
        h += &format!(
            "{}set number of messages to send before synchronization (default {DEFAULT_WINDOW})\n",
            pad("-W, --window-size SIZE")
        );
    }
    if bench.accepts_full() {
        h += &format!(
            "{}print full format listing (MIN/MAX latency and ITERATIONS\n",
            pad("-f, --full")
        );
        h += &format!("{cont}displayed in addition to AVERAGE latency)\n");
    }
    h += &format!(
        "{}validate every result; a failure prints Fail and exits with status 1\n",
        pad("-c, --validation")
    );
    if bench.accepts_type() {
        if bench.is_one_sided() {
            h += &format!(
                "{}element type: mpi_char only (default mpi_char)\n",
                pad("-T, --type TYPE")
            );
        } else {
            h += &format!(
                "{}element type: mpi_char, mpi_int, mpi_float or all (default mpi_char)\n",
                pad("-T, --type TYPE")
            );
        }
    }
    h += &format!("{}print this help\n", pad("-h, --help"));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bench: Benchmark, args: &[&str]) -> Options {
        match parse_args(bench, args) {
            Ok(Parsed::Run(o)) => o,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn err(bench: Benchmark, args: &[&str]) -> String {
        match parse_args(bench, args) {
            Err(e) => e.to_string(),
            other => panic!("{args:?} should fail: {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let o = run(Benchmark::Allreduce, &[]);
        assert_eq!(o, Options::defaults(Benchmark::Allreduce));
        assert_eq!((o.min_size, o.max_size), (1, 1 << 20));
        assert_eq!(o.types, vec![DType::Char]);
        assert_eq!(o.size_sequence().len(), 21);
        assert_eq!(o.iterations_for(8192), 1000);
        assert_eq!(o.iterations_for(8193), 100);
        assert_eq!(o.warmup_for(8192), 100);
        assert_eq!(o.warmup_for(16384), 10);
        let p = run(Benchmark::PutLatency, &[]);
        assert_eq!((p.min_size, p.max_size), (1, 1 << 22));
        assert_eq!(p.iterations_for(1), 10000);
        assert_eq!(p.iterations_for(1 << 20), 1000);
        assert_eq!(run(Benchmark::PutBw, &[]).window, 64);
    }

    #[test]
    fn message_size_forms() {
        let b = Benchmark::Bcast;
        let r = |a: &str| {
            let o = run(b, &["-m", a]);
            (o.min_size, o.max_size)
        };
        assert_eq!(r("128"), (1, 128));
        assert_eq!(r("2:128"), (2, 128));
        assert_eq!(r("2:"), (2, 1 << 20));
        assert_eq!(r(":64"), (1, 64));
        assert_eq!(r("8:8"), (8, 8));
        let o = run(b, &["-m8:4194304"]);
        assert_eq!((o.min_size, o.max_size), (8, 4 << 20));
        let o = run(b, &["--message-size=4:16"]);
        assert_eq!(o.size_sequence(), vec![4, 8, 16]);
        let o = run(b, &["--message-size", "3:20"]);
        assert_eq!(o.size_sequence(), vec![3, 6, 12]);
        for bad in [
            "",
            ":",
            "0",
            "0:8",
            "8:4",
            "a",
            "1:2:3",
            "-5",
            "4:x",
            "2048:1024",
            "1073741825",
        ] {
            assert_eq!(
                err(b, &["-m", bad]),
                format!("Invalid Message Size [-m {bad}]"),
                "{bad:?}"
            );
        }
        // The upper bound from -m is kept when a later -m only sets MIN.
        let o = run(b, &["-m", "64", "-m", "16:"]);
        assert_eq!((o.min_size, o.max_size), (16, 64));
        assert_eq!(
            err(b, &["-m", "64", "-m", "128:"]),
            "Invalid Message Size [-m 128:]"
        );
    }

    #[test]
    fn counts_flags_and_clusters() {
        let o = run(Benchmark::Allreduce, &["-i", "5", "-x0", "-fc"]);
        assert_eq!(
            (o.iterations, o.iterations_large, o.warmup, o.warmup_large),
            (5, 5, 0, 0)
        );
        assert!(o.full && o.validate);
        let o = run(
            Benchmark::Allreduce,
            &["-cm", "16", "--iterations=7", "--warmup", "3"],
        );
        assert!(o.validate);
        assert_eq!(o.max_size, 16);
        assert_eq!((o.iterations, o.warmup), (7, 3));
        let o = run(Benchmark::PutBw, &["-W", "8", "--window-size=16"]);
        assert_eq!(o.window, 16);
        assert_eq!(
            err(Benchmark::Allreduce, &["-i", "0"]),
            "Invalid Number of Iterations [-i 0]"
        );
        assert_eq!(
            err(Benchmark::Allreduce, &["-i", "1e3"]),
            "Invalid Number of Iterations [-i 1e3]"
        );
        assert_eq!(
            err(Benchmark::Allreduce, &["-x", "-1"]),
            "Invalid Number of Warmup Iterations [-x -1]"
        );
        assert_eq!(
            err(Benchmark::PutBw, &["-W0"]),
            "Invalid Window Size [-W 0]"
        );
        assert_eq!(
            err(Benchmark::Allreduce, &["-i"]),
            "Option Missing Required Argument [-i]"
        );
        assert_eq!(
            err(Benchmark::Allreduce, &["--type"]),
            "Option Missing Required Argument [--type]"
        );
        assert_eq!(
            err(Benchmark::Allreduce, &["--full=1"]),
            "Option Takes No Argument [--full 1]"
        );
    }

    #[test]
    fn options_not_offered_are_rejected() {
        assert_eq!(
            err(Benchmark::Allreduce, &["-W", "4"]),
            "Invalid Option [-W]"
        );
        assert_eq!(err(Benchmark::PutLatency, &["-f"]), "Invalid Option [-f]");
        assert_eq!(err(Benchmark::Barrier, &["-m", "4"]), "Invalid Option [-m]");
        assert_eq!(
            err(Benchmark::Barrier, &["-T", "mpi_int"]),
            "Invalid Option [-T]"
        );
        assert_eq!(err(Benchmark::Allreduce, &["-q"]), "Invalid Option [-q]");
        assert_eq!(
            err(Benchmark::Allreduce, &["--bogus"]),
            "Invalid Option [--bogus]"
        );
        assert_eq!(
            err(Benchmark::Allreduce, &["extra"]),
            "Unexpected Argument [extra]"
        );
        assert_eq!(err(Benchmark::Allreduce, &["-"]), "Unexpected Argument [-]");
        assert_eq!(
            err(Benchmark::Allreduce, &["--", "x"]),
            "Unexpected Argument [x]"
        );
        assert!(run(Benchmark::Allreduce, &["-c", "--"]).validate);
    }

    #[test]
    fn types() {
        assert_eq!(
            run(Benchmark::Allreduce, &["-T", "mpi_int"]).types,
            vec![DType::Int]
        );
        assert_eq!(
            run(
                Benchmark::Allreduce,
                &["-T", "float", "-T", "MPI_CHAR", "-T", "float"]
            )
            .types,
            vec![DType::Float, DType::Char]
        );
        assert_eq!(
            run(Benchmark::Gather, &["-Tall"]).types,
            DType::ALL.to_vec()
        );
        assert_eq!(
            err(Benchmark::Allreduce, &["-T", "double"]),
            "Invalid Datatype [-T double]"
        );
        assert_eq!(
            run(Benchmark::PutLatency, &["-T", "mpi_char"]).types,
            vec![DType::Char]
        );
        assert_eq!(
            err(Benchmark::GetBw, &["--type=all"]),
            "Benchmark Supports Only MPI_CHAR [--type all]"
        );
    }

    #[test]
    fn help_wins_but_errors_still_reported() {
        assert_eq!(parse_args(Benchmark::Allreduce, ["-h"]), Ok(Parsed::Help));
        assert_eq!(
            parse_args(Benchmark::Allreduce, ["-c", "--help"]),
            Ok(Parsed::Help)
        );
        assert!(parse_args(Benchmark::Allreduce, ["-h", "-i", "0"]).is_err());
    }

    #[test]
    fn sizes_skip_empty_messages() {
        let o = run(Benchmark::Allreduce, &["-m", "1:16", "-T", "all"]);
        assert_eq!(o.sizes(DType::Char, 2), vec![1, 2, 4, 8, 16]);
        assert_eq!(o.sizes(DType::Int, 2), vec![4, 8, 16]);
        let rs = run(Benchmark::ReduceScatter, &["-m", "1:32"]);
        assert_eq!(rs.sizes(DType::Char, 3), vec![4, 8, 16, 32]);
        assert_eq!(rs.sizes(DType::Int, 2), vec![8, 16, 32]);
        assert_eq!(run(Benchmark::Barrier, &[]).sizes(DType::Char, 2), vec![0]);
    }

    #[test]
    fn help_text_shape() {
        let h = help_text(Benchmark::Allreduce);
        assert!(h.starts_with("Usage: osu_allreduce [options]\nOptions:\n"));
        assert!(h.contains("  -m, --message-size [MIN:]MAX  set the minimum"));
        assert!(h.contains("bytes respectively (default 1:1048576). Examples:\n"));
        assert!(h.contains("  -f, --full                  print full format listing"));
        assert!(!h.contains("-W, --window-size"));
        let b = help_text(Benchmark::Barrier);
        assert!(!b.contains("--message-size") && !b.contains("--type"));
        assert!(b.contains("set number of iterations to ITER (default 1000)\n"));
        let w = help_text(Benchmark::PutBw);
        assert!(w.contains("  -W, --window-size SIZE      set number of messages"));
        assert!(w.contains("(default 1:4194304)"));
        assert!(w.contains("element type: mpi_char only"));
        assert!(h.ends_with("  -h, --help                  print this help\n"));
    }
}
