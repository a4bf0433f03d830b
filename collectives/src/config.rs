//! The `RSM_COLL_*` environment variables, read once per communicator creation.
//!
//! | variable | values | default | meaning |
//! |---|---|---|---|
//! | `RSM_COLL_<OP>` (e.g. `RSM_COLL_ALLREDUCE`) | an algorithm name of that collective, or `auto` | `auto` | force the algorithm |
//! | `RSM_COLL_VERBOSE` | `0`, `1`, `2` | `0` | `1`: comm rank 0 prints each call's algorithm to stderr; `2`: every rank does |
//! | `RSM_COLL_CONTROLLER` | a controller name | `loopback` | controller the communicator's segments use |
//! | `RSM_COLL_PATH` | `auto`, `map`, `put` | `auto` | data path (`auto`: map where the controller can map) |
//! | `RSM_COLL_OVERSUBSCRIBED` | `auto`, `0`, `1` | `auto` | override oversubscription detection |
//! | `RSM_COLL_SPIN_US` | integer | 200 | spin budget (µs) when not oversubscribed |
//! | `RSM_COLL_SPIN_POLLS` | integer | 4 | spin budget (polls) when oversubscribed |
//! | `RSM_COLL_YIELD_US` | integer | 2000 / 5000 | yield phase (µs), dedicated / oversubscribed |
//! | `RSM_COLL_SLEEP_MAX_MS` | integer ≥ 1 | 20 | largest sleep slice |
//! | `RSM_COLL_PROBE_MS` | integer ≥ 1 | 50 | liveness probe period |
//! | `RSM_COLL_TIMEOUT_S` | integer, `0` = none | 300 | give up a wait after this long |
//! | `RSM_COLL_BLOCK` | `64`, `128`, `256` | 128 | flag block size |
//! | `RSM_COLL_LAND_BYTES` | size, multiple of 64, 1K ..= 1M | by size, 4K ..= 64K | landing slot payload |
//! | `RSM_COLL_NLAND` | 2 ..= 64 | 8 | landing slots per sender |
//! | `RSM_COLL_TREE_RADIX` | 2 ..= 64 | 4 | k-nomial radix |
//! | `RSM_COLL_DISSEM_RADIX` | 2 ..= 64 | auto | dissemination radix (auto: one round when oversubscribed and ≤ 16 ranks, else 2) |
//! | `RSM_COLL_ONESHOT_MAX` | size | 16K | one-shot allreduce limit (≤ 4 ranks) |
//!
//! Any other `RSM_COLL_*` name is refused (catches typos). Every rank must see the same values:
//! the communicator compares [`CollConfig::protocol_hash`] across ranks at creation.

use core::fmt;
use core::time::Duration;

use crate::algo::{Algorithm, Collective, Tuning};
use crate::layout::LayoutParams;
use crate::wait::{SpinBudget, WaitPolicy};

/// An environment variable with an invalid value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable.
    pub var: String,
    /// Its value.
    pub value: String,
    /// What would have been accepted.
    pub expected: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() && self.expected.starts_with("a known") {
            write!(
                f,
                "unknown environment variable {}: {}",
                self.var, self.expected
            )
        } else {
            write!(
                f,
                "environment variable {}={:?} is invalid: expected {}",
                self.var, self.value, self.expected
            )
        }
    }
}

impl std::error::Error for ConfigError {}

/// The data path requested by `RSM_COLL_PATH`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathChoice {
    /// Map where the controller can map, else put.
    Auto,
    /// Map (communicator creation fails if mapping is impossible).
    Map,
    /// Put, even where mapping is possible.
    Put,
}

/// Every `RSM_COLL_*` setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollConfig {
    /// 0, 1 or 2.
    pub verbose: u8,
    /// The controller name (`RSM_COLL_CONTROLLER`, default `loopback`).
    pub controller: String,
    /// The requested data path.
    pub path: PathChoice,
    /// Forced algorithm per collective (indexed like `Collective::ALL`).
    pub forced: Vec<Option<Algorithm>>,
    /// Oversubscription override.
    pub oversubscribed: Option<bool>,
    /// Spin budget when dedicated.
    pub spin: Duration,
    /// Spin budget (polls) when oversubscribed.
    pub spin_polls: u64,
    /// Yield phase override (both modes).
    pub yield_time: Option<Duration>,
    /// Largest sleep slice.
    pub sleep_max: Duration,
    /// Liveness probe period.
    pub probe: Duration,
    /// Wait timeout (`None`: none).
    pub timeout: Option<Duration>,
    /// Flag block size.
    pub block: usize,
    /// Landing slot payload override.
    pub land_bytes: Option<usize>,
    /// Landing slots per sender.
    pub nland: usize,
    /// Algorithm tuning.
    pub tuning: Tuning,
}

impl Default for CollConfig {
    fn default() -> Self {
        let d = LayoutParams::defaults_for(1);
        CollConfig {
            verbose: 0,
            controller: "loopback".to_owned(),
            path: PathChoice::Auto,
            forced: vec![None; Collective::ALL.len()],
            oversubscribed: None,
            spin: Duration::from_micros(200),
            spin_polls: 4,
            yield_time: None,
            sleep_max: Duration::from_millis(20),
            probe: crate::wait::DEFAULT_PROBE_INTERVAL,
            timeout: Some(crate::wait::DEFAULT_TIMEOUT),
            block: d.block,
            land_bytes: None,
            nland: d.nland,
            tuning: Tuning::default(),
        }
    }
}

/// Parses a size: bytes, or with a `K`/`M`/`G` suffix (binary units, case-insensitive, an
/// optional trailing `B`/`iB`).
pub fn parse_size(s: &str) -> Option<usize> {
    let t = s.trim().to_ascii_lowercase();
    let t = t
        .strip_suffix("ib")
        .or_else(|| t.strip_suffix('b'))
        .unwrap_or(&t);
    let (num, shift) = match t.chars().last()? {
        'k' => (&t[..t.len() - 1], 10),
        'm' => (&t[..t.len() - 1], 20),
        'g' => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    let n: usize = num.trim().parse().ok()?;
    n.checked_mul(1usize.checked_shl(shift)?)
}

fn err(var: &str, value: &str, expected: impl Into<String>) -> ConfigError {
    ConfigError {
        var: var.to_owned(),
        value: value.to_owned(),
        expected: expected.into(),
    }
}

fn int_in(var: &str, value: &str, lo: u64, hi: u64) -> Result<u64, ConfigError> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|v| (lo..=hi).contains(v))
        .ok_or_else(|| err(var, value, format!("an integer in {lo} ..= {hi}")))
}

fn size_in(var: &str, value: &str, lo: usize, hi: usize) -> Result<usize, ConfigError> {
    parse_size(value)
        .filter(|v| (lo..=hi).contains(v))
        .ok_or_else(|| {
            err(
                var,
                value,
                format!("a size (bytes, or with K/M suffix) in {lo} ..= {hi}"),
            )
        })
}

fn tri(var: &str, value: &str) -> Result<Option<bool>, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "auto" | "" => Ok(None),
        "0" | "no" | "false" | "off" => Ok(Some(false)),
        "1" | "yes" | "true" | "on" => Ok(Some(true)),
        _ => Err(err(var, value, "auto, 0 or 1")),
    }
}

impl CollConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars_os().filter_map(|(k, v)| {
            Some((k.into_string().ok()?, v.into_string().unwrap_or_default()))
        }))
    }

    /// Reads the given `(name, value)` pairs; names not starting with `RSM_COLL_` are ignored.
    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(
        vars: I,
    ) -> Result<Self, ConfigError> {
        let mut c = CollConfig::default();
        for (k, v) in vars {
            if !k.starts_with("RSM_COLL_") {
                continue;
            }
            if let Some(coll) = Collective::ALL.iter().find(|c| c.env_var() == k) {
                let idx = Collective::ALL
                    .iter()
                    .position(|x| x == coll)
                    .expect("coll is in ALL");
                c.forced[idx] = if v.trim().eq_ignore_ascii_case("auto") || v.trim().is_empty() {
                    None
                } else {
                    Some(coll.parse_algorithm(&v).map_err(|e| {
                        err(&k, &v, format!("auto or an algorithm of {coll} ({e})"))
                    })?)
                };
                continue;
            }
            match k.as_str() {
                "RSM_COLL_VERBOSE" => c.verbose = int_in(&k, &v, 0, 2)? as u8,
                "RSM_COLL_CONTROLLER" => {
                    let name = v.trim();
                    if name.is_empty() || name.len() > 255 || name.chars().any(char::is_whitespace)
                    {
                        return Err(err(&k, &v, "a controller name such as loopback or shm0"));
                    }
                    c.controller = name.to_owned();
                }
                "RSM_COLL_PATH" => {
                    c.path = match v.trim().to_ascii_lowercase().as_str() {
                        "auto" | "" => PathChoice::Auto,
                        "map" => PathChoice::Map,
                        "put" => PathChoice::Put,
                        _ => return Err(err(&k, &v, "auto, map or put")),
                    }
                }
                "RSM_COLL_OVERSUBSCRIBED" => c.oversubscribed = tri(&k, &v)?,
                "RSM_COLL_SPIN_US" => {
                    c.spin = Duration::from_micros(int_in(&k, &v, 0, 10_000_000)?)
                }
                "RSM_COLL_SPIN_POLLS" => c.spin_polls = int_in(&k, &v, 0, 1 << 40)?,
                "RSM_COLL_YIELD_US" => {
                    c.yield_time = Some(Duration::from_micros(int_in(&k, &v, 0, 10_000_000)?))
                }
                "RSM_COLL_SLEEP_MAX_MS" => {
                    c.sleep_max = Duration::from_millis(int_in(&k, &v, 1, 10_000)?)
                }
                "RSM_COLL_PROBE_MS" => c.probe = Duration::from_millis(int_in(&k, &v, 1, 60_000)?),
                "RSM_COLL_TIMEOUT_S" => {
                    let s = int_in(&k, &v, 0, 1 << 32)?;
                    c.timeout = (s > 0).then(|| Duration::from_secs(s));
                }
                "RSM_COLL_BLOCK" => {
                    c.block = match v.trim() {
                        "64" => 64,
                        "128" => 128,
                        "256" => 256,
                        _ => return Err(err(&k, &v, "64, 128 or 256")),
                    }
                }
                "RSM_COLL_LAND_BYTES" => {
                    let n = size_in(&k, &v, 1024, 1 << 20)?;
                    if !n.is_multiple_of(64) {
                        return Err(err(&k, &v, "a multiple of 64"));
                    }
                    c.land_bytes = Some(n);
                }
                "RSM_COLL_NLAND" => c.nland = int_in(&k, &v, 2, 64)? as usize,
                "RSM_COLL_TREE_RADIX" => c.tuning.tree_radix = int_in(&k, &v, 2, 64)? as usize,
                "RSM_COLL_DISSEM_RADIX" => c.tuning.dissem_radix = int_in(&k, &v, 2, 64)? as usize,
                "RSM_COLL_ONESHOT_MAX" => c.tuning.oneshot_max = size_in(&k, &v, 0, 1 << 30)?,
                _ => {
                    return Err(err(
                        &k,
                        "",
                        "a known RSM_COLL_* variable (see docs/collectives.md)",
                    ));
                }
            }
        }
        Ok(c)
    }

    /// The forced algorithm of a collective, if any.
    pub fn forced(&self, c: Collective) -> Option<Algorithm> {
        let idx = Collective::ALL.iter().position(|&x| x == c)?;
        self.forced.get(idx).copied().flatten()
    }

    /// The waiting policy for the given mode, with the overrides applied.
    pub fn wait_policy(&self, oversubscribed: bool) -> WaitPolicy {
        let mut p = WaitPolicy::for_mode(oversubscribed);
        if oversubscribed {
            p.spin = SpinBudget::Polls(self.spin_polls);
        } else {
            p.spin = SpinBudget::Time(self.spin);
        }
        if let Some(y) = self.yield_time {
            p.yield_time = y;
        }
        p.sleep_max = self.sleep_max;
        p.probe_interval = self.probe;
        p.timeout = self.timeout;
        p
    }

    /// The layout parameters for a communicator of `p` ranks.
    pub fn layout_params(&self, p: usize) -> LayoutParams {
        let d = LayoutParams::with_slots(p, self.nland);
        LayoutParams {
            block: self.block,
            land_chunk: self.land_bytes.unwrap_or(d.land_chunk),
            nland: self.nland,
        }
    }

    /// A hash (FNV-1a, stable across builds) of every setting that must agree between ranks:
    /// forced algorithms, path request, layout sizes and tuning. (Verbosity and waiting knobs may
    /// differ.)
    pub fn protocol_hash(&self) -> u64 {
        let text = format!(
            "{:?}|{}|{:?}|{}|{:?}|{}|{}|{}|{}",
            self.forced,
            self.controller,
            self.path,
            self.block,
            self.land_bytes,
            self.nland,
            self.tuning.tree_radix,
            self.tuning.dissem_radix,
            self.tuning.oneshot_max
        );
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("64K"), Some(65536));
        assert_eq!(parse_size("64kib"), Some(65536));
        assert_eq!(parse_size(" 2M "), Some(2 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("16KB"), Some(16384));
        assert_eq!(parse_size("k"), None);
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("99999999999999999999G"), None);
    }

    #[test]
    fn defaults_and_overrides() {
        let c =
            CollConfig::from_vars(vars(&[("PATH", "/bin"), ("RSM_LOOPBACK_MAP", "0")])).unwrap();
        assert_eq!(c, CollConfig::default());
        assert_eq!(c.forced(Collective::Allreduce), None);

        let c = CollConfig::from_vars(vars(&[
            ("RSM_COLL_ALLREDUCE", "Ring"),
            ("RSM_COLL_BARRIER", "auto"),
            ("RSM_COLL_REDUCE_SCATTER_BLOCK", "flat"),
            ("RSM_COLL_VERBOSE", "2"),
            ("RSM_COLL_CONTROLLER", "shm0"),
            ("RSM_COLL_PATH", "put"),
            ("RSM_COLL_OVERSUBSCRIBED", "1"),
            ("RSM_COLL_SPIN_US", "50"),
            ("RSM_COLL_SPIN_POLLS", "10"),
            ("RSM_COLL_YIELD_US", "0"),
            ("RSM_COLL_SLEEP_MAX_MS", "5"),
            ("RSM_COLL_PROBE_MS", "20"),
            ("RSM_COLL_TIMEOUT_S", "0"),
            ("RSM_COLL_BLOCK", "256"),
            ("RSM_COLL_LAND_BYTES", "8K"),
            ("RSM_COLL_NLAND", "6"),
            ("RSM_COLL_TREE_RADIX", "8"),
            ("RSM_COLL_DISSEM_RADIX", "3"),
            ("RSM_COLL_ONESHOT_MAX", "2K"),
        ]))
        .unwrap();
        assert_eq!(c.forced(Collective::Allreduce), Some(Algorithm::Ring));
        assert_eq!(c.forced(Collective::Barrier), None);
        assert_eq!(
            c.forced(Collective::ReduceScatterBlock),
            Some(Algorithm::Flat)
        );
        assert_eq!(c.forced(Collective::ReduceScatter), None);
        assert_eq!(c.verbose, 2);
        assert_eq!(c.controller, "shm0");
        assert_eq!(c.path, PathChoice::Put);
        assert_eq!(c.oversubscribed, Some(true));
        assert_eq!(c.timeout, None);
        let w = c.wait_policy(true);
        assert_eq!(w.spin, SpinBudget::Polls(10));
        assert_eq!(w.yield_time, Duration::ZERO);
        assert_eq!(w.sleep_max, Duration::from_millis(5));
        assert_eq!(w.probe_interval, Duration::from_millis(20));
        assert_eq!(w.timeout, None);
        assert_eq!(
            c.wait_policy(false).spin,
            SpinBudget::Time(Duration::from_micros(50))
        );
        let lp = c.layout_params(8);
        assert_eq!(
            lp,
            LayoutParams {
                block: 256,
                land_chunk: 8192,
                nland: 6
            }
        );
        assert_eq!(lp.validate(), Ok(()));
        assert_eq!(c.tuning.tree_radix, 8);
        assert_eq!(c.tuning.dissem_radix, 3);
        assert_eq!(c.tuning.oneshot_max, 2048);
        // Default wait policy and layout parameters.
        let d = CollConfig::default();
        assert_eq!(d.wait_policy(false), WaitPolicy::dedicated());
        assert_eq!(d.wait_policy(true), WaitPolicy::oversubscribed());
        assert_eq!(d.layout_params(64), LayoutParams::defaults_for(64));
    }

    #[test]
    fn bad_values_are_refused_with_the_variable_named() {
        let e = |k: &str, v: &str| CollConfig::from_vars(vars(&[(k, v)])).unwrap_err();
        let x = e("RSM_COLL_ALLREDUCE", "bruck");
        assert_eq!(x.var, "RSM_COLL_ALLREDUCE");
        assert!(
            x.to_string().contains("allreduce has no algorithm `bruck`"),
            "{x}"
        );
        assert!(
            e("RSM_COLL_BARRIER", "fast")
                .to_string()
                .contains("unknown algorithm")
        );
        assert_eq!(e("RSM_COLL_VERBOSE", "3").expected, "an integer in 0 ..= 2");
        assert_eq!(e("RSM_COLL_PATH", "rdma").expected, "auto, map or put");
        assert_eq!(e("RSM_COLL_CONTROLLER", " ").var, "RSM_COLL_CONTROLLER");
        assert_eq!(e("RSM_COLL_CONTROLLER", "a b").var, "RSM_COLL_CONTROLLER");
        assert_eq!(
            e("RSM_COLL_OVERSUBSCRIBED", "maybe").expected,
            "auto, 0 or 1"
        );
        assert_eq!(e("RSM_COLL_BLOCK", "100").expected, "64, 128 or 256");
        assert_eq!(
            e("RSM_COLL_LAND_BYTES", "5000").expected,
            "a multiple of 64"
        );
        assert!(
            e("RSM_COLL_LAND_BYTES", "512")
                .expected
                .contains("1024 ..=")
        );
        assert_eq!(e("RSM_COLL_LAND_BYTES", "1000").var, "RSM_COLL_LAND_BYTES");
        assert_eq!(e("RSM_COLL_NLAND", "1").expected, "an integer in 2 ..= 64");
        assert_eq!(
            e("RSM_COLL_SLEEP_MAX_MS", "0").expected,
            "an integer in 1 ..= 10000"
        );
        assert_eq!(e("RSM_COLL_TREE_RADIX", "x").var, "RSM_COLL_TREE_RADIX");
        let typo = e("RSM_COLL_ALLREDUC", "ring");
        assert_eq!(
            typo.to_string(),
            "unknown environment variable RSM_COLL_ALLREDUC: a known RSM_COLL_* variable (see docs/collectives.md)"
        );
        assert_eq!(
            e("RSM_COLL_NLAND", "1").to_string(),
            "environment variable RSM_COLL_NLAND=\"1\" is invalid: expected an integer in 2 ..= 64"
        );
    }

    #[test]
    fn protocol_hash_covers_protocol_settings_only() {
        let base = CollConfig::default().protocol_hash();
        assert_eq!(base, CollConfig::default().protocol_hash());
        let h = |k: &str, v: &str| {
            CollConfig::from_vars(vars(&[(k, v)]))
                .unwrap()
                .protocol_hash()
        };
        assert_ne!(h("RSM_COLL_ALLREDUCE", "ring"), base);
        assert_ne!(h("RSM_COLL_NLAND", "4"), base);
        assert_ne!(h("RSM_COLL_LAND_BYTES", "8K"), base);
        assert_ne!(h("RSM_COLL_PATH", "put"), base);
        assert_ne!(h("RSM_COLL_CONTROLLER", "shm0"), base);
        assert_ne!(h("RSM_COLL_TREE_RADIX", "2"), base);
        assert_eq!(h("RSM_COLL_VERBOSE", "1"), base);
        assert_eq!(h("RSM_COLL_SPIN_US", "1"), base);
        assert_eq!(h("RSM_COLL_ALLREDUCE", "auto"), base);
    }

    #[test]
    fn from_env_reads_the_process_environment() {
        // The test process normally has no RSM_COLL_* variables; if the harness sets some, they
        // must at least parse.
        let r = CollConfig::from_env();
        if std::env::vars().all(|(k, _)| !k.starts_with("RSM_COLL_")) {
            assert_eq!(r, Ok(CollConfig::default()));
        }
    }
}
