//! The waiting policy (research/algorithms.md §9.6): spin, then yield, then sleep — as a small
//! state machine that knows nothing about what is being polled, plus oversubscription
//! detection.
//!
//! A collective that waits for a flag builds one [`Waiter`] per waiting phase and, after every
//! poll that found the flag not yet set, asks it what to do next ([`Action`]):
//!
//! 1. **Spin** (`core::hint::spin_loop()` and poll again) for a budget: a time budget when the
//!    ranks have a CPU each (default 200 µs), a poll budget when they are oversubscribed
//!    (default 4 polls) — a spinning rank would only steal the CPU from the rank it waits for.
//! 2. **Yield** (`std::thread::yield_now()` and poll again) until a further time budget is used
//!    up (default 2 ms dedicated, 5 ms oversubscribed): on an oversubscribed core this hands
//!    the CPU to the peer that has work (about 1.2 µs per hand-off here).
//! 3. **Sleep** for a slice (announce the sleep, re-check, then wait on the rank's own rsm
//!    signal with the slice as timeout, see docs/collectives.md "Waking sleepers"); slices
//!    double from 1 ms up to 20 ms, so a lost wake-up costs at most one slice.
//!
//! Across all phases the waiter also asks for a **probe** every `probe_interval` (default
//! 50 ms): the caller checks that the peer it waits for is alive and has not failed (a
//! checked rsm-core access to its segment). A dead peer is therefore noticed within
//! `probe_interval` + rsm-core's liveness gate. An optional overall **timeout** ends the wait.
//!
//! The clock is read only every `clock_every` polls while spinning (and at every step once
//! spinning is over), so the spin loop costs one compare per poll.

use core::fmt;
use core::hint;
use core::time::Duration;
use std::time::Instant;

/// A monotonic clock, as a trait so tests can drive the state machine with a fake one.
pub trait Clock {
    /// Time since an arbitrary fixed origin.
    fn now(&self) -> Duration;
}

/// The real clock: `Instant` (CLOCK_MONOTONIC, a vDSO call).
#[derive(Clone, Copy, Debug)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        MonotonicClock {
            origin: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

/// How long the spin phase lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpinBudget {
    /// Spin until this much time has passed since the wait began (measured at clock reads).
    Time(Duration),
    /// Spin for this many polls.
    Polls(u64),
}

/// The parameters of the waiting policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitPolicy {
    /// The spin phase.
    pub spin: SpinBudget,
    /// How long to yield after spinning (zero: go straight to sleeping).
    pub yield_time: Duration,
    /// First sleep slice.
    pub sleep_min: Duration,
    /// Largest sleep slice (slices double from `sleep_min`).
    pub sleep_max: Duration,
    /// Period of liveness probes.
    pub probe_interval: Duration,
    /// Give up after this long (`None`: never; probes still end waits on dead peers).
    pub timeout: Option<Duration>,
    /// Polls between clock reads while spinning (at least 1).
    pub clock_every: u32,
}

/// Default probe period.
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// Default overall timeout of one wait.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

impl WaitPolicy {
    /// The policy when every local rank has a CPU of its own.
    pub fn dedicated() -> Self {
        WaitPolicy {
            spin: SpinBudget::Time(Duration::from_micros(200)),
            yield_time: Duration::from_millis(2),
            sleep_min: Duration::from_millis(1),
            sleep_max: Duration::from_millis(20),
            probe_interval: DEFAULT_PROBE_INTERVAL,
            timeout: Some(DEFAULT_TIMEOUT),
            clock_every: 256,
        }
    }

    /// The policy when local ranks outnumber CPUs.
    pub fn oversubscribed() -> Self {
        WaitPolicy {
            spin: SpinBudget::Polls(4),
            yield_time: Duration::from_millis(5),
            sleep_min: Duration::from_millis(1),
            sleep_max: Duration::from_millis(20),
            probe_interval: DEFAULT_PROBE_INTERVAL,
            timeout: Some(DEFAULT_TIMEOUT),
            clock_every: 16,
        }
    }

    /// The default policy for the given mode.
    pub fn for_mode(oversubscribed: bool) -> Self {
        if oversubscribed {
            Self::oversubscribed()
        } else {
            Self::dedicated()
        }
    }
}

/// What to do after a poll that found the condition false.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `core::hint::spin_loop()`, then poll again.
    Spin,
    /// `std::thread::yield_now()`, then poll again.
    Yield,
    /// Sleep (announce, re-check, wait for a wake-up) for at most this long, then poll again.
    Sleep(Duration),
    /// Check the peer's liveness and failure state, then poll again.
    Probe,
    /// The timeout has passed: give up. (Every later call says the same.)
    TimedOut,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Spin,
    Yield { until: Duration },
    Sleep { slice: Duration },
    TimedOut,
}

/// The state machine of one wait. Build it when the first poll fails; it reads the clock
/// lazily.
#[derive(Debug)]
pub struct Waiter<C: Clock> {
    policy: WaitPolicy,
    clock: C,
    /// Clock value of the first clock read (the start of the wait, within `clock_every`
    /// polls).
    start: Option<Duration>,
    polls: u64,
    phase: Phase,
    next_probe: Duration,
}

impl<C: Clock> Waiter<C> {
    /// A waiter following `policy`.
    pub fn new(policy: &WaitPolicy, clock: C) -> Self {
        let mut policy = policy.clone();
        policy.clock_every = policy.clock_every.max(1);
        policy.sleep_min = policy.sleep_min.max(Duration::from_micros(1));
        policy.sleep_max = policy.sleep_max.max(policy.sleep_min);
        Waiter {
            policy,
            clock,
            start: None,
            polls: 0,
            phase: Phase::Spin,
            next_probe: Duration::ZERO,
        }
    }

    /// Number of failed polls so far.
    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// Time waited so far (zero before the first clock read).
    pub fn elapsed(&self) -> Duration {
        match self.start {
            Some(s) => self.clock.now().saturating_sub(s),
            None => Duration::ZERO,
        }
    }

    /// Reads the clock; returns (now, time since start).
    fn read_clock(&mut self) -> (Duration, Duration) {
        let now = self.clock.now();
        let start = *self.start.get_or_insert_with(|| {
            self.next_probe = now.saturating_add(self.policy.probe_interval);
            now
        });
        (now, now.saturating_sub(start))
    }

    /// Timeout first, then a due probe.
    fn deadline_or_probe(&mut self, now: Duration, elapsed: Duration) -> Option<Action> {
        if let Some(t) = self.policy.timeout
            && elapsed >= t
        {
            self.phase = Phase::TimedOut;
            return Some(Action::TimedOut);
        }
        if now >= self.next_probe {
            self.next_probe = now.saturating_add(self.policy.probe_interval);
            return Some(Action::Probe);
        }
        None
    }

    fn sleep_action(&mut self, now: Duration, elapsed: Duration, slice: Duration) -> Action {
        let mut d = slice.min(self.next_probe.saturating_sub(now));
        if let Some(t) = self.policy.timeout {
            d = d.min(t.saturating_sub(elapsed));
        }
        self.phase = Phase::Sleep {
            slice: slice.saturating_mul(2).min(self.policy.sleep_max),
        };
        Action::Sleep(d.max(Duration::from_micros(1)))
    }

    fn leave_spin(&mut self, now: Duration, elapsed: Duration) -> Action {
        if self.policy.yield_time.is_zero() {
            let slice = self.policy.sleep_min;
            self.sleep_action(now, elapsed, slice)
        } else {
            self.phase = Phase::Yield {
                until: elapsed.saturating_add(self.policy.yield_time),
            };
            Action::Yield
        }
    }

    /// Call after every poll that found the condition false.
    pub fn next_action(&mut self) -> Action {
        self.polls += 1;
        match self.phase {
            Phase::TimedOut => Action::TimedOut,
            Phase::Spin => {
                let budget_polls = match self.policy.spin {
                    SpinBudget::Polls(n) => self.polls >= n,
                    SpinBudget::Time(_) => false,
                };
                if !budget_polls
                    && !self
                        .polls
                        .is_multiple_of(u64::from(self.policy.clock_every))
                {
                    return Action::Spin;
                }
                let (now, elapsed) = self.read_clock();
                if let Some(a) = self.deadline_or_probe(now, elapsed) {
                    return a;
                }
                let done =
                    budget_polls || matches!(self.policy.spin, SpinBudget::Time(t) if elapsed >= t);
                if done {
                    self.leave_spin(now, elapsed)
                } else {
                    Action::Spin
                }
            }
            Phase::Yield { until } => {
                let (now, elapsed) = self.read_clock();
                if let Some(a) = self.deadline_or_probe(now, elapsed) {
                    return a;
                }
                if elapsed >= until {
                    let slice = self.policy.sleep_min;
                    self.sleep_action(now, elapsed, slice)
                } else {
                    Action::Yield
                }
            }
            Phase::Sleep { slice } => {
                let (now, elapsed) = self.read_clock();
                if let Some(a) = self.deadline_or_probe(now, elapsed) {
                    return a;
                }
                self.sleep_action(now, elapsed, slice)
            }
        }
    }
}

/// Why [`wait_until`] stopped without the condition becoming true.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitError<E> {
    /// A poll, probe or sleep returned an error (a dead or failed peer, an rsm-core error).
    Failed(E),
    /// The policy's timeout passed.
    TimedOut {
        /// How long the wait lasted.
        waited: Duration,
    },
}

impl<E: fmt::Display> fmt::Display for WaitError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::Failed(e) => e.fmt(f),
            WaitError::TimedOut { waited } => write!(f, "timed out after {waited:?}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for WaitError<E> {}

/// Drives `waiter` until `poll` returns `Ok(true)`: spins, yields with
/// `std::thread::yield_now`, calls `probe` when a probe is due and `sleep(d)` to sleep for at
/// most `d` (the caller announces the sleep, re-checks and waits for a wake-up). Any error of
/// the three callbacks ends the wait.
pub fn wait_until<C, E, P, Q, S>(
    waiter: &mut Waiter<C>,
    mut poll: P,
    mut probe: Q,
    mut sleep: S,
) -> Result<(), WaitError<E>>
where
    C: Clock,
    P: FnMut() -> Result<bool, E>,
    Q: FnMut() -> Result<(), E>,
    S: FnMut(Duration) -> Result<(), E>,
{
    loop {
        if poll().map_err(WaitError::Failed)? {
            return Ok(());
        }
        match waiter.next_action() {
            Action::Spin => hint::spin_loop(),
            Action::Yield => std::thread::yield_now(),
            Action::Sleep(d) => sleep(d).map_err(WaitError::Failed)?,
            Action::Probe => probe().map_err(WaitError::Failed)?,
            Action::TimedOut => {
                return Err(WaitError::TimedOut {
                    waited: waiter.elapsed(),
                });
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Oversubscription detection
// ---------------------------------------------------------------------------------------------

/// Parses a Linux CPU list (`"0-3,8,10-11"`, as in `/proc/self/status` `Cpus_allowed_list`)
/// into ascending, distinct CPU numbers. `None` if it is malformed.
pub fn parse_cpu_list(s: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    let s = s.trim();
    if s.is_empty() {
        return Some(cpus);
    }
    for part in s.split(',') {
        let part = part.trim();
        match part.split_once('-') {
            Some((a, b)) => {
                let a: usize = a.trim().parse().ok()?;
                let b: usize = b.trim().parse().ok()?;
                if b < a || b - a > 1 << 20 {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    Some(cpus)
}

/// The `Cpus_allowed_list` of a `/proc/<pid>/status` text.
pub fn allowed_cpus_from_status(status: &str) -> Option<Vec<usize>> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .and_then(parse_cpu_list)
}

/// The CPU limit of a cgroup v2 `cpu.max` text (`"max 100000"` → `None`,
/// `"150000 100000"` → `Some(1.5)`).
pub fn parse_cpu_max(s: &str) -> Option<f64> {
    let mut it = s.split_whitespace();
    let quota = it.next()?;
    let period: f64 = it.next()?.parse().ok()?;
    if quota == "max" || period <= 0.0 {
        return None;
    }
    let quota: f64 = quota.parse().ok()?;
    (quota > 0.0).then_some(quota / period)
}

/// The effective cgroup v2 CPU limit of this process: the smallest `cpu.max` limit of its
/// cgroup and every ancestor. `read(path)` returns a file's contents (tests pass a fake).
pub fn cgroup_cpu_limit_with(read: impl Fn(&str) -> Option<String>) -> Option<f64> {
    let cgroup = read("/proc/self/cgroup")?;
    // cgroup v2: a single line "0::/path".
    let path = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?.trim();
    let mut limit: Option<f64> = None;
    let mut dir = path.trim_end_matches('/').to_owned();
    loop {
        if let Some(l) =
            read(&format!("/sys/fs/cgroup{dir}/cpu.max")).and_then(|s| parse_cpu_max(&s))
        {
            limit = Some(limit.map_or(l, |x: f64| x.min(l)));
        }
        match dir.rfind('/') {
            Some(i) => dir.truncate(i),
            None => break,
        }
    }
    limit
}

/// [`cgroup_cpu_limit_with`] on the real files.
pub fn cgroup_cpu_limit() -> Option<f64> {
    cgroup_cpu_limit_with(|p| std::fs::read_to_string(p).ok())
}

/// The CPUs this process may run on (its affinity mask), from `/proc/self/status`; `None` if
/// it cannot be read.
pub fn own_allowed_cpus() -> Option<Vec<usize>> {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| allowed_cpus_from_status(&s))
}

/// Decides whether the local ranks are oversubscribed: more local ranks than CPUs, where the
/// CPUs are the union of the local ranks' affinity masks (`masks`, one per local rank, as
/// exchanged at communicator creation; ranks bound to distinct cores are therefore not
/// oversubscribed), capped by the cgroup CPU limit (rounded up). `forced` (from
/// `RSM_COLL_OVERSUBSCRIBED`) overrides the decision. With no mask information at all it falls
/// back to `fallback_cpus` (`std::thread::available_parallelism`).
pub fn decide_oversubscribed(
    local_ranks: usize,
    masks: &[Vec<usize>],
    cgroup_limit: Option<f64>,
    fallback_cpus: usize,
    forced: Option<bool>,
) -> bool {
    if let Some(f) = forced {
        return f;
    }
    let mut union: Vec<usize> = masks.iter().flatten().copied().collect();
    union.sort_unstable();
    union.dedup();
    let mut cpus = if union.is_empty() {
        fallback_cpus
    } else {
        union.len()
    };
    if let Some(limit) = cgroup_limit {
        // `as` saturates; a limit is positive and small.
        cpus = cpus.min((limit.ceil() as usize).max(1));
    }
    local_ranks > cpus.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A clock that advances by `step` at every read.
    struct StepClock {
        now: Cell<Duration>,
        step: Duration,
        reads: Cell<u64>,
    }

    impl StepClock {
        fn new(step: Duration) -> Self {
            StepClock {
                now: Cell::new(Duration::from_secs(1000)),
                step,
                reads: Cell::new(0),
            }
        }
    }

    impl Clock for StepClock {
        fn now(&self) -> Duration {
            let t = self.now.get() + self.step;
            self.now.set(t);
            self.reads.set(self.reads.get() + 1);
            t
        }
    }

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn policy() -> WaitPolicy {
        WaitPolicy {
            spin: SpinBudget::Time(us(100)),
            yield_time: us(300),
            sleep_min: ms(1),
            sleep_max: ms(4),
            probe_interval: ms(10),
            timeout: Some(ms(40)),
            clock_every: 8,
        }
    }

    #[test]
    fn spin_then_yield_then_sleep_with_doubling_slices() {
        let clock = StepClock::new(us(10));
        let mut w = Waiter::new(&policy(), &clock);
        let mut spins = 0;
        let mut yields = 0;
        let mut sleeps = Vec::new();
        let mut probes = 0;
        loop {
            match w.next_action() {
                Action::Spin => {
                    assert!(yields == 0 && sleeps.is_empty(), "spinning comes first");
                    spins += 1;
                }
                Action::Yield => {
                    assert!(sleeps.is_empty(), "yielding comes before sleeping");
                    yields += 1;
                }
                Action::Sleep(d) => {
                    // The fake clock does not move while "sleeping": advance it.
                    clock.now.set(clock.now.get() + d);
                    sleeps.push(d);
                }
                Action::Probe => probes += 1,
                Action::TimedOut => break,
            }
        }
        // Clock read every 8 polls, 10 µs per read: the first read starts the wait, the
        // 11th read is 100 µs later → 11 × 8 polls, minus the one that leaves the phase.
        assert_eq!(spins, 11 * 8 - 1);
        // Yield phase: 300 µs at 10 µs per read.
        assert_eq!(yields, 30);
        // Sleep slices double from 1 ms to the 4 ms cap, and are cut at probe time.
        assert_eq!(&sleeps[..3], &[ms(1), ms(2), ms(4)]);
        assert!(sleeps.iter().all(|&d| d <= ms(4)));
        // 40 ms timeout, a probe every 10 ms: probes at 10, 20, 30 ms.
        assert_eq!(probes, 3);
        assert!(w.elapsed() >= ms(40));
        // Timed out for good.
        assert_eq!(w.next_action(), Action::TimedOut);
        assert!(w.polls() > 0);
    }

    #[test]
    fn clock_is_read_only_every_clock_every_polls_while_spinning() {
        let clock = StepClock::new(Duration::ZERO);
        let mut w = Waiter::new(&policy(), &clock);
        for _ in 0..7 {
            assert_eq!(w.next_action(), Action::Spin);
        }
        assert_eq!(clock.reads.get(), 0, "no clock read before the 8th poll");
        assert_eq!(w.elapsed(), Duration::ZERO);
        assert_eq!(w.next_action(), Action::Spin);
        assert_eq!(clock.reads.get(), 1);
        for _ in 0..1000 {
            assert_eq!(
                w.next_action(),
                Action::Spin,
                "time does not pass: keep spinning"
            );
        }
        assert_eq!(clock.reads.get(), 1 + 1000 / 8);
    }

    #[test]
    fn oversubscribed_spins_a_poll_budget() {
        let p = WaitPolicy {
            spin: SpinBudget::Polls(5),
            clock_every: 1000,
            ..policy()
        };
        let clock = StepClock::new(Duration::ZERO);
        let mut w = Waiter::new(&p, &clock);
        for _ in 0..4 {
            assert_eq!(w.next_action(), Action::Spin);
        }
        assert_eq!(
            w.next_action(),
            Action::Yield,
            "the 5th poll ends the spin phase"
        );
        assert_eq!(clock.reads.get(), 1);
        // Default policies have the documented shape.
        assert_eq!(WaitPolicy::for_mode(true).spin, SpinBudget::Polls(4));
        assert_eq!(
            WaitPolicy::for_mode(false).spin,
            SpinBudget::Time(Duration::from_micros(200))
        );
        assert_eq!(WaitPolicy::oversubscribed().timeout, Some(DEFAULT_TIMEOUT));
    }

    #[test]
    fn zero_yield_time_goes_straight_to_sleep_and_no_timeout_never_times_out() {
        let p = WaitPolicy {
            spin: SpinBudget::Polls(1),
            yield_time: Duration::ZERO,
            timeout: None,
            ..policy()
        };
        let clock = StepClock::new(Duration::ZERO);
        let mut w = Waiter::new(&p, &clock);
        assert_eq!(w.next_action(), Action::Sleep(ms(1)));
        let mut probes = 0;
        for _ in 0..10_000 {
            match w.next_action() {
                Action::Sleep(d) => {
                    assert!(d <= ms(4));
                    clock.now.set(clock.now.get() + d);
                }
                Action::Probe => probes += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(probes > 100, "probes keep coming: {probes}");
    }

    #[test]
    fn sleep_is_cut_at_the_deadline() {
        let p = WaitPolicy {
            spin: SpinBudget::Polls(1),
            yield_time: Duration::ZERO,
            sleep_min: ms(8),
            sleep_max: ms(8),
            probe_interval: ms(1000),
            timeout: Some(ms(5)),
            ..policy()
        };
        let clock = StepClock::new(Duration::ZERO);
        let mut w = Waiter::new(&p, &clock);
        assert_eq!(w.next_action(), Action::Sleep(ms(5)));
        clock.now.set(clock.now.get() + ms(5));
        assert_eq!(w.next_action(), Action::TimedOut);
    }

    #[test]
    fn extreme_durations_do_not_overflow() {
        let p = WaitPolicy {
            spin: SpinBudget::Polls(1),
            yield_time: Duration::MAX,
            sleep_min: Duration::MAX,
            sleep_max: Duration::MAX,
            probe_interval: Duration::MAX,
            timeout: Some(Duration::MAX),
            clock_every: 1,
        };
        let clock = StepClock::new(us(1));
        let mut w = Waiter::new(&p, &clock);
        assert_eq!(w.next_action(), Action::Yield);
        assert_eq!(w.next_action(), Action::Yield);
        let p = WaitPolicy {
            yield_time: Duration::ZERO,
            ..p
        };
        let mut w = Waiter::new(&p, &clock);
        assert!(matches!(w.next_action(), Action::Sleep(_)));
        assert!(matches!(w.next_action(), Action::Sleep(_)));
    }

    #[test]
    fn degenerate_policies_are_clamped() {
        let p = WaitPolicy {
            spin: SpinBudget::Polls(0),
            yield_time: Duration::ZERO,
            sleep_min: Duration::ZERO,
            sleep_max: Duration::ZERO,
            probe_interval: ms(1000),
            timeout: None,
            clock_every: 0,
        };
        let clock = StepClock::new(Duration::ZERO);
        let mut w = Waiter::new(&p, &clock);
        assert_eq!(w.next_action(), Action::Sleep(us(1)));
        assert_eq!(w.next_action(), Action::Sleep(us(1)));
    }

    #[test]
    fn wait_until_drives_the_callbacks() {
        let clock = StepClock::new(us(10));
        // Condition true after 500 polls: spins, yields, then a sleep or two.
        let mut w = Waiter::new(&policy(), &clock);
        let mut n = 0;
        let mut slept = 0;
        let r: Result<(), WaitError<String>> = wait_until(
            &mut w,
            || {
                n += 1;
                Ok(n > 130)
            },
            || Ok(()),
            |d| {
                slept += 1;
                clock.now.set(clock.now.get() + d);
                Ok(())
            },
        );
        assert_eq!(r, Ok(()));
        assert_eq!(n, 131);
        assert!(slept >= 1);
        // A failing probe ends the wait with its error.
        let mut w = Waiter::new(&policy(), &clock);
        let r: Result<(), WaitError<String>> = wait_until(
            &mut w,
            || Ok(false),
            || Err("rank 3 died".to_owned()),
            |d| {
                clock.now.set(clock.now.get() + d);
                Ok(())
            },
        );
        assert_eq!(r, Err(WaitError::Failed("rank 3 died".into())));
        assert_eq!(r.unwrap_err().to_string(), "rank 3 died");
        // A timeout.
        let mut w = Waiter::new(&policy(), &clock);
        let r: Result<(), WaitError<String>> = wait_until(
            &mut w,
            || Ok(false),
            || Ok(()),
            |d| {
                clock.now.set(clock.now.get() + d);
                Ok(())
            },
        );
        match r {
            Err(WaitError::TimedOut { waited }) => assert!(waited >= ms(40)),
            other => panic!("{other:?}"),
        }
        // An already-true condition never consults the waiter.
        let mut w = Waiter::new(&policy(), &clock);
        let r: Result<(), WaitError<()>> = wait_until(&mut w, || Ok(true), || Ok(()), |_| Ok(()));
        assert_eq!(r, Ok(()));
        assert_eq!(w.polls(), 0);
    }

    #[test]
    fn wait_until_with_the_real_clock() {
        // Condition set by this thread after some polls; the real clock and the real yield.
        let p = WaitPolicy {
            spin: SpinBudget::Polls(10),
            ..WaitPolicy::oversubscribed()
        };
        let mut w = Waiter::new(&p, MonotonicClock::new());
        let mut n = 0u32;
        let r: Result<(), WaitError<()>> = wait_until(
            &mut w,
            || {
                n += 1;
                Ok(n == 50)
            },
            || Ok(()),
            |_| Ok(()),
        );
        assert_eq!(r, Ok(()));
        assert_eq!(w.polls(), 49);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(
            parse_cpu_list("0-3,8,10-11"),
            Some(vec![0, 1, 2, 3, 8, 10, 11])
        );
        assert_eq!(parse_cpu_list(" 1 "), Some(vec![1]));
        assert_eq!(parse_cpu_list("3,1,1-2"), Some(vec![1, 2, 3]));
        assert_eq!(parse_cpu_list(""), Some(vec![]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("a"), None);
        assert_eq!(parse_cpu_list("0-99999999"), None);
        let status = "Name:\tx\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\nMems_allowed:\t1\n";
        assert_eq!(allowed_cpus_from_status(status), Some(vec![0, 1]));
        assert_eq!(allowed_cpus_from_status("Name: x\n"), None);
        // This process can read its own mask, and it is not empty.
        let own = own_allowed_cpus().expect("/proc/self/status is readable on Linux");
        assert!(!own.is_empty());
    }

    #[test]
    fn cgroup_limits() {
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max("150000 100000\n"), Some(1.5));
        assert_eq!(parse_cpu_max("garbage"), None);
        assert_eq!(parse_cpu_max("0 100000"), None);
        let files = |p: &str| -> Option<String> {
            match p {
                "/proc/self/cgroup" => Some("0::/user.slice/job.scope\n".into()),
                "/sys/fs/cgroup/user.slice/job.scope/cpu.max" => Some("max 100000".into()),
                "/sys/fs/cgroup/user.slice/cpu.max" => Some("200000 100000".into()),
                "/sys/fs/cgroup/cpu.max" => Some("400000 100000".into()),
                _ => None,
            }
        };
        assert_eq!(cgroup_cpu_limit_with(files), Some(2.0));
        assert_eq!(cgroup_cpu_limit_with(|_| None), None);
        // cgroup v1 (no "0::" line): no limit found.
        assert_eq!(
            cgroup_cpu_limit_with(
                |p| (p == "/proc/self/cgroup").then(|| "4:cpu,cpuacct:/x\n".to_owned())
            ),
            None
        );
        // The real call does not fail.
        let _ = cgroup_cpu_limit();
    }

    #[test]
    fn oversubscription_decision() {
        // Four unbound ranks on two CPUs.
        let two = vec![vec![0, 1]; 4];
        assert!(decide_oversubscribed(4, &two, None, 2, None));
        // Two unbound ranks on two CPUs.
        assert!(!decide_oversubscribed(2, &two[..2], None, 2, None));
        // Two ranks bound to distinct cores: each mask has one CPU, the union two.
        assert!(!decide_oversubscribed(
            2,
            &[vec![0], vec![1]],
            None,
            1,
            None
        ));
        // Two ranks bound to the same core.
        assert!(decide_oversubscribed(2, &[vec![1], vec![1]], None, 1, None));
        // A cgroup limit of 1.5 CPUs caps 8 visible CPUs at 2.
        let eight = vec![(0..8).collect::<Vec<_>>(); 3];
        assert!(decide_oversubscribed(3, &eight, Some(1.5), 8, None));
        assert!(!decide_oversubscribed(2, &eight[..2], Some(1.5), 8, None));
        // No masks: the fallback count.
        assert!(decide_oversubscribed(3, &[], None, 2, None));
        assert!(!decide_oversubscribed(2, &[], None, 2, None));
        // Forced either way.
        assert!(!decide_oversubscribed(64, &two, None, 2, Some(false)));
        assert!(decide_oversubscribed(1, &two, None, 2, Some(true)));
        // A single rank is never oversubscribed, even with a tiny quota.
        assert!(!decide_oversubscribed(1, &[], Some(0.1), 0, None));
    }
}
