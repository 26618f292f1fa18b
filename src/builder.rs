//! [`TimerBuilder`]: every way to configure and start a [`Timer`], with typed errors.

use std::borrow::Cow;
use std::time::Duration;

use tokio::time::Instant;

use crate::jitter::Jitter;
use crate::label::Label;
use crate::policy::{MissedTickPolicy, Policy, SkipMissedAndResync, TriggerAllMissed};
use crate::schedule::{saturating_micros, Start};
use crate::trace::Trace;
use crate::wall_clock::{Alignment, SystemClock, WallClock};
use crate::{Error, Timer};

/// Builds a [`Timer`], returning an [`Error`] for bad input instead of panicking.
///
/// The defaults are those of [`Timer::periodic`]: [`TriggerAllMissed`], no start delay,
/// started at once.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use kadenz::Timer;
/// use kadenz::policy::SkipMissedAndDrift;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let timer = Timer::builder(Duration::from_secs(1))
///     .missed_tick_policy(SkipMissedAndDrift::new(Duration::from_millis(100)))
///     .start_delay(Duration::from_millis(500))
///     .build()
///     .unwrap();
/// assert!(timer.is_running());
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until built"]
pub struct TimerBuilder {
    pub(crate) interval: Duration,
    pub(crate) policy: Policy,
    start_delay: Duration,
    auto_start: bool,
    tick_at_start: bool,
    first_tick_at: Option<Instant>,
    align_offset: Option<Duration>,
    wall_clock: Option<Box<dyn WallClock>>,
    name: Option<Cow<'static, str>>,
    jitter: Duration,
    jitter_seed: Option<u64>,
    record_drift: bool,
    /// Set only with the `tracing` feature.
    warn_if_late: Option<Duration>,
    /// Set only with the `precise` feature.
    precise: bool,
}

impl TimerBuilder {
    pub(crate) fn new(interval: Duration) -> Self {
        TimerBuilder {
            interval,
            policy: Policy::TriggerAllMissed,
            start_delay: Duration::ZERO,
            auto_start: true,
            tick_at_start: false,
            first_tick_at: None,
            align_offset: None,
            wall_clock: None,
            name: None,
            jitter: Duration::ZERO,
            jitter_seed: None,
            record_drift: false,
            warn_if_late: None,
            precise: false,
        }
    }

    /// Sets the policy for missed ticks (default: [`TriggerAllMissed`]).
    ///
    /// The last of this and [`skip_missed_ticks`](Self::skip_missed_ticks) wins.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    /// use kadenz::policy::SkipMissedAndResync;
    ///
    /// let timer = Timer::builder(Duration::from_secs(1))
    ///     .missed_tick_policy(SkipMissedAndResync)
    ///     .auto_start(false)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(format!("{:?}", timer.missed_tick_policy()), "SkipMissedAndResync");
    /// ```
    pub fn missed_tick_policy(mut self, policy: impl MissedTickPolicy) -> Self {
        self.policy = Policy::new(policy);
        self
    }

    /// The periodic shortcut: `true` skips missed ticks ([`SkipMissedAndResync`]),
    /// `false` fires them all ([`TriggerAllMissed`]).
    ///
    /// The last of this and [`missed_tick_policy`](Self::missed_tick_policy) wins.
    ///
    /// # Short intervals
    ///
    /// Below a few milliseconds, `skip_missed_ticks(true)` loses ticks on a default timer:
    /// tokio's timer wheel wakes a timer 1 to 2 ms after its due time, so at such intervals
    /// nearly every wake finds the next tick due already, and the policy skips it. A 1 kHz
    /// loop built so delivered 62–69 % of its ticks on the project's machine (tokio's
    /// `MissedTickBehavior::Skip`, which skips only for a tick more than 5 ms late: 100 %).
    /// The remedies: a precise timer (feature `precise`, Linux: 2,488–2,492 of 2,500 ticks
    /// in the same run), [`TriggerAllMissed`] (every tick, a few at a time), or an interval
    /// of 10 ms or more. The [guide](crate::guide::policies#below-a-few-milliseconds-every-wake-is-a-missed-interval)
    /// has the figures.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// let timer = Timer::builder(Duration::from_secs(1))
    ///     .skip_missed_ticks(true)
    ///     .auto_start(false)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(format!("{:?}", timer.missed_tick_policy()), "SkipMissedAndResync");
    /// ```
    pub fn skip_missed_ticks(self, skip: bool) -> Self {
        if skip {
            self.missed_tick_policy(SkipMissedAndResync)
        } else {
            self.missed_tick_policy(TriggerAllMissed)
        }
    }

    /// Delays the first tick by `delay` (default: zero): it is due `delay + interval`
    /// after the start (`delay` after it with [`tick_at_start(true)`](Self::tick_at_start)).
    ///
    /// Kept in whole microseconds, like every time of the timer: a sub-microsecond part
    /// is dropped, so a delay under 1 µs is no delay. Only for timers that start at once:
    /// [`build`](Self::build) rejects a delay of 1 µs or more with `auto_start(false)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let mut timer = Timer::builder(Duration::from_secs(1))
    ///     .start_delay(Duration::from_secs(2))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(timer.tick().await.unwrap().scheduled(), start + Duration::from_secs(3));
    /// # }
    /// ```
    pub fn start_delay(mut self, delay: Duration) -> Self {
        self.start_delay = delay;
        self
    }

    /// Whether [`build`](Self::build) starts the timer (default: `true`).
    ///
    /// With `false`, the timer starts on its first [`reset`](Timer::reset) or poll, and it
    /// can be built outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::builder(Duration::from_secs(1)).auto_start(false).build().unwrap();
    /// tokio::time::advance(Duration::from_secs(5)).await; // not started: nothing is missed
    /// let start = tokio::time::Instant::now();
    /// assert_eq!(timer.tick().await.unwrap().scheduled(), start + Duration::from_secs(1));
    /// # }
    /// ```
    pub fn auto_start(mut self, auto_start: bool) -> Self {
        self.auto_start = auto_start;
        self
    }

    /// Whether the first tick is due at the start (plus the start delay) instead of one
    /// interval after it (default: `false`).
    ///
    /// With `true`, the timer ticks at once when it is built (or after the
    /// [`start_delay`](Self::start_delay)), then every interval: frequenz's
    /// `tick_at_start`, and what `tokio::time::interval` does by default. Only for timers
    /// that start at once: `build` rejects it with `auto_start(false)` (use
    /// [`Timer::reset_immediately`] to start such a timer with a tick).
    ///
    /// ```text
    /// start                                   (tick_at_start(false), the default)
    ///   |---- interval ----|---- interval ----|
    ///                    tick 1             tick 2
    ///
    /// start                                   (tick_at_start(true))
    ///   |---- interval ----|---- interval ----|
    /// tick 1             tick 2             tick 3
    /// ```
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let mut timer = Timer::builder(Duration::from_secs(1)).tick_at_start(true).build().unwrap();
    /// assert_eq!(timer.tick().await.unwrap().scheduled(), start);
    /// assert_eq!(timer.tick().await.unwrap().scheduled(), start + Duration::from_secs(1));
    /// # }
    /// ```
    pub fn tick_at_start(mut self, tick_at_start: bool) -> Self {
        self.tick_at_start = tick_at_start;
        self
    }

    /// Puts the first tick at `first_tick`, then every interval (tokio's `interval_at`).
    ///
    /// An instant in the past is a late tick like any other: it fires at once with the
    /// matching drift, and the policy decides what follows (under [`TriggerAllMissed`],
    /// every tick due since then). The policy's time line starts at `first_tick`. Cannot
    /// be combined with [`start_delay`](Self::start_delay),
    /// [`tick_at_start`](Self::tick_at_start), [`align_to_wall_clock`](Self::align_to_wall_clock)
    /// or `auto_start(false)`: [`build`](Self::build) says so with
    /// [`Error::ConflictingOptions`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let at = tokio::time::Instant::now() + Duration::from_millis(20);
    /// let mut timer = Timer::builder(Duration::from_millis(100)).first_tick_at(at).build().unwrap();
    /// assert_eq!(timer.tick().await.unwrap().scheduled(), at);
    /// assert_eq!(timer.tick().await.unwrap().scheduled(), at + Duration::from_millis(100));
    /// # }
    /// ```
    pub fn first_tick_at(mut self, first_tick: Instant) -> Self {
        self.first_tick_at = Some(first_tick);
        self
    }

    /// Puts the first tick on the wall clock's grid of the interval: the next whole
    /// multiple of the interval since the Unix epoch, plus `offset`. Then the timer runs
    /// on the monotonic clock, every interval.
    ///
    /// Every full second, every 15-minute metering period at :00, :15, :30 and :45 (UTC;
    /// an offset shifts the grid, and one of an interval or more is taken modulo the
    /// interval). The first tick is strictly after the start (plus the start delay, if
    /// any), unless [`tick_at_start(true)`](Self::tick_at_start), which lets a start
    /// exactly on the grid tick at once. The wall clock is [`SystemClock`] unless
    /// [`wall_clock`](Self::wall_clock) injects another.
    ///
    /// # When the wall clock jumps
    ///
    /// Only the first tick is placed on the wall clock; the ticks after it are counted on
    /// tokio's monotonic clock, which no clock change moves. So a step of the wall clock
    /// (an NTP correction, a manual change) neither fires nor skips a tick: the ticks go
    /// on at their monotonic times, now off the grid by the step. The two clocks also
    /// drift apart slowly (NTP slews the wall clock by up to 500 µs per second). Call
    /// [`Timer::realign`] to put the next tick back on the grid, for instance when a tick's
    /// wall-clock time is off by more than you accept, or once an hour.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// // A 15-minute metering period, at :00, :15, :30 and :45.
    /// let timer = Timer::builder(Duration::from_secs(15 * 60))
    ///     .align_to_wall_clock(Duration::ZERO)
    ///     .build()
    ///     .unwrap();
    /// assert!(timer.deadline().unwrap() <= tokio::time::Instant::now() + Duration::from_secs(15 * 60));
    /// # }
    /// ```
    pub fn align_to_wall_clock(mut self, offset: Duration) -> Self {
        self.align_offset = Some(offset);
        self
    }

    /// The wall clock that [`align_to_wall_clock`](Self::align_to_wall_clock) and
    /// [`Timer::realign`] read (default: [`SystemClock`]): inject one in tests, or a
    /// better time source.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    /// use kadenz::{Timer, WallClock};
    ///
    /// #[derive(Debug)]
    /// struct OneSecondAfterTheEpoch;
    ///
    /// impl WallClock for OneSecondAfterTheEpoch {
    ///     fn now(&self) -> SystemTime {
    ///         UNIX_EPOCH + Duration::from_millis(1_400)
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let timer = Timer::builder(Duration::from_secs(1))
    ///     .align_to_wall_clock(Duration::from_millis(100))
    ///     .wall_clock(OneSecondAfterTheEpoch)
    ///     .build()
    ///     .unwrap();
    /// // From 1.4 s to 2.1 s on the wall clock.
    /// assert_eq!(timer.deadline(), Some(tokio::time::Instant::now() + Duration::from_millis(700)));
    /// # }
    /// ```
    pub fn wall_clock(mut self, clock: impl WallClock) -> Self {
        self.wall_clock = Some(Box::new(clock));
        self
    }

    /// Whether the timer wakes with microsecond precision (default: `false`; cargo feature
    /// `precise`).
    ///
    /// tokio's timer wheel rounds every deadline up to the next millisecond, so a default
    /// timer fires 1 to 2 ms late on the real clock. A precise timer also asks an
    /// operating-system timer to wake it at its due time.
    ///
    /// # Precision
    ///
    /// | where | precise timers wake | what it costs |
    /// |---|---|---|
    /// | Linux, runtime with tokio's IO driver (`enable_all()`, `#[tokio::main]`, `#[tokio::test]`) | in the runtime's own reactor: one timerfd per worker (one on a current-thread runtime), made on the first precise wait of the runtime, registered in its epoll and drained by a task of the runtime; a timer joins one worker's timerfd (in turn), so no lock or queue is shared by all the timers of a runtime | no thread of kadenz's and no thread hop; per tick a lock of the timer's own shard and, when its deadline is the earliest, one `timerfd_settime`; one descriptor per worker, closed when the runtime is dropped |
    /// | Linux, runtime without the IO driver | on one timerfd for the whole process, read by one thread (`kadenz-precise`), which wakes the timers' tasks | a thread hop per wake-up, and one lock and queue for every such timer of the process |
    /// | others | on tokio's wheel, as a default timer (no OS timer is used yet) | nothing more |
    ///
    /// *Coalescing.* When a timerfd serves one deadline, it is armed for it exactly.
    /// When it serves several, the earliest is rounded up to a grid that scales with the
    /// time left, so that close deadlines share one wake-up: the largest power of two of
    /// microseconds no greater than an eighth of the time left, at most 128 µs (a 1 ms
    /// periodic timer lands on a 64 µs grid, a 10 ms one on 128 µs, one 100 µs away on
    /// 8 µs). On top of the OS's own lateness, a precise tick is thus at most
    /// `min(wait / 8, 128 µs)` late, `wait` being the time between the timer's poll and
    /// its due time.
    ///
    /// *How kadenz tells whether a runtime has the IO driver.* tokio offers no way to ask,
    /// and registering a descriptor on a runtime without it panics. So the first precise
    /// wait on a runtime tries, once, inside [`std::panic::catch_unwind`]: on a runtime
    /// without IO the panic is caught and the runtime's precise timers use the thread;
    /// the process's panic hook still sees that panic once per such runtime (the default
    /// hook prints tokio's message "IO is disabled"). Built with `panic = "abort"`, kadenz
    /// tries nothing and always uses the thread. Registering uses tokio's safe
    /// `tokio::net::unix::pipe::Receiver::from_owned_fd_unchecked` (tokio's `net`
    /// feature, enabled by `precise`): kadenz has no `unsafe` code.
    ///
    /// *No descriptor left.* Should no timerfd be made (or the thread not start), that
    /// wait falls back to the wheel, as a default timer's, and [`Timer::is_precise`]
    /// says `false`; the failure is not remembered: the next wait tries again.
    ///
    /// *The paused clock.* Under tokio's paused clock a precise timer delivers exactly
    /// the ticks a default one does, also when the clock is advanced by a fraction of a
    /// millisecond (the tick comes when the wheel's millisecond slot fires), and no OS
    /// timer wakes it: on a current-thread runtime it stays registered on the wheel,
    /// takes the wheel's word while the clock is paused, and asks the OS timer only while
    /// the clock runs.
    ///
    /// *Moves.* A timer polled on another runtime (or task on another runtime) leaves its
    /// former runtime's timerfd for one of the new runtime's at its next wait; a dropped
    /// runtime's timerfds are closed even while timers that waited on them live.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let mut control_loop = Timer::builder(Duration::from_millis(1)).precise(true).build().unwrap();
    /// let tick = control_loop.tick().await.unwrap();
    /// println!("{:?} late", tick.drift()); // tens of microseconds on Linux
    /// # }
    /// ```
    #[cfg(feature = "precise")]
    #[cfg_attr(docsrs, doc(cfg(feature = "precise")))]
    pub fn precise(mut self, precise: bool) -> Self {
        self.precise = precise;
        self
    }

    /// Spreads the ticks: each tick fires at its due time plus a pseudo-random offset in
    /// `[0, max)` (whole microseconds), so that many timers with the same interval (a
    /// fleet's heartbeats, devices polled by many processes) do not all fire in the same
    /// instant. Default: no jitter; a `max` of zero is no jitter.
    ///
    /// The jitter never accumulates: the due times stay on the timer's grid, and the
    /// [`MissedTickPolicy`] sees them as if each tick had fired at its due time plus its
    /// own lateness. What a tick reports:
    ///
    /// - [`Tick::scheduled`](crate::Tick::scheduled): the due time plus the offset, the
    ///   instant the tick was meant to fire;
    /// - [`Tick::drift`](crate::Tick::drift): how late it fired after that instant (zero
    ///   when on time), so drift statistics measure lateness, not the jitter;
    /// - [`missed`](crate::Tick::missed) and [`skipped`](crate::Tick::skipped), and the
    ///   policy's decision: counted from the drift, as without jitter.
    ///
    /// [`Timer::deadline`] reports the instant with the offset. The offsets are those of
    /// [`jitter_seed`](Self::jitter_seed): without one, the timer draws a seed of its own
    /// from the operating system's randomness (as `HashMap` does), so that timers in
    /// different processes spread differently; set one to get the same ticks on every run
    /// (tests under the paused clock). An offset depends on the seed and on the tick's due
    /// time since the timer's last start, nothing else.
    ///
    /// Offsets are whole microseconds. tokio's timer wheel fires on whole milliseconds, so
    /// a tick whose instant falls inside a millisecond is received at the end of it, with
    /// that part of a millisecond as its drift (as any timer's tick due there); a
    /// precise timer (`precise`, cargo feature `precise`) honours the microseconds.
    ///
    /// `max` is at most the interval ([`Error::JitterTooLong`] from
    /// [`build`](Self::build) otherwise): a tick then always fires before the next one is
    /// due, and the ticks' instants come in order. [`Timer::set_interval`] (and a
    /// handle's) keeps to it: an interval shorter than `max` is refused with the same
    /// error. An entry of a [`TimerSet`](crate::TimerSet) takes a jitter too, and fires
    /// at its due time plus the same offsets as a lone timer (its policy then has a slot
    /// of its own in the set's table: about 40 bytes more for the entry).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), kadenz::Error> {
    /// let start = tokio::time::Instant::now();
    /// let ms = Duration::from_millis;
    /// let mut heartbeat = Timer::builder(ms(1_000)).jitter(ms(100)).jitter_seed(7).build()?;
    /// for n in 1..=3u32 {
    ///     let tick = heartbeat.tick().await.unwrap();
    ///     let offset = tick.scheduled() - (start + ms(1_000) * n);
    ///     assert!(offset < ms(100)); // on the grid, plus less than 100 ms
    ///     assert!(tick.drift() < ms(1)); // the wheel fires on whole milliseconds
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn jitter(mut self, max: Duration) -> Self {
        self.jitter = max;
        self
    }

    /// The seed of the [jitter](Self::jitter)'s offsets: the same seed gives the same
    /// offsets on every run. Without a [`jitter`](Self::jitter), it does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), kadenz::Error> {
    /// let ms = Duration::from_millis;
    /// let builder = || Timer::builder(ms(1_000)).jitter(ms(500)).jitter_seed(2026);
    /// let (a, b) = (builder().build()?, builder().build()?);
    /// assert_eq!(a.deadline(), b.deadline()); // the same seed, the same offsets
    /// # Ok(())
    /// # }
    /// ```
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Keeps a [`DriftHistogram`](crate::DriftHistogram) of the drifts of the delivered
    /// ticks (default: `false`), for quantiles such as p50 and p99; read it with
    /// [`Timer::drift_histogram`]. About 4 KiB, allocated when the timer is built; a few
    /// instructions per tick, no allocation. A timer built without it pays nothing.
    /// A [`TimerSet`](crate::TimerSet) keeps one for all its entries instead
    /// ([`TimerSet::record_drift`](crate::TimerSet::record_drift)): an entry's builder
    /// with `record_drift(true)` is refused ([`Error::ConflictingOptions`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::builder(Duration::from_millis(10)).record_drift(true).build().unwrap();
    /// tokio::time::advance(Duration::from_millis(12)).await;
    /// timer.tick().await;
    /// assert_eq!(timer.drift_histogram().unwrap().max(), Duration::from_millis(2));
    /// assert!(Timer::periodic(Duration::from_millis(10)).drift_histogram().is_none());
    /// # }
    /// ```
    pub fn record_drift(mut self, record: bool) -> Self {
        self.record_drift = record;
        self
    }

    /// Names the timer (default: no name), for logs: [`Timer::name`] returns it, the
    /// timer's `Debug` output shows it, and with the `tracing` feature its events carry it
    /// as their `timer` field.
    ///
    /// A name costs the timers that have one an allocation (the box a timer keeps what only
    /// some timers use in, which a handle or a wall-clock alignment makes too) and nothing
    /// per tick; the timers without one, nothing. A [`TimerSet`](crate::TimerSet) entry
    /// keeps no name: its key names it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let device = 7;
    /// let timer = Timer::builder(Duration::from_secs(1))
    ///     .name(format!("poll device {device}"))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(timer.name(), Some("poll device 7"));
    /// assert!(format!("{timer:?}").starts_with(r#"Timer { name: "poll device 7", interval: 1s,"#));
    /// # }
    /// ```
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Reports every tick that fires more than `threshold` after it was due as a `WARN`
    /// event (cargo feature `tracing`; default: no threshold).
    ///
    /// A timer reports events once it has a name ([`name`](Self::name)) or a threshold;
    /// others report nothing. All events have the target `kadenz`, and each carries the
    /// timer's name as its `timer` field (absent for an unnamed timer):
    ///
    /// | event | level | message | fields |
    /// |---|---|---|---|
    /// | a tick's drift is over `threshold` | `WARN` | `tick later than its threshold` | `timer`, `drift_us`, `threshold_us`, `missed`, `skipped`, `interval_us` |
    /// | otherwise, the policy skipped due times after a tick ([`Tick::skipped`](crate::Tick::skipped) > 0) | `INFO` | `ticks skipped` | `timer`, `drift_us`, `missed`, `skipped`, `interval_us` |
    /// | a [`TimerHandle`](crate::TimerHandle) command, from the task that gives it | `DEBUG` | `command from a handle` | `timer`, `command` (`reset`, `reset_after`, `reset_at`, `reset_immediately`, `stop` or `set_interval`), `interval_us` |
    ///
    /// A tick gives at most one event (a late tick that skipped due times is one `WARN`
    /// with its `skipped` count). The timer's own resets and stops are not reported: the
    /// code that calls them can say so itself. Times are whole microseconds; `missed` and
    /// `skipped` are those of the [`Tick`](crate::Tick).
    ///
    /// The cost: nothing for a build without the feature; with it, a timer that reports
    /// nothing pays one branch per tick, a reporting timer a comparison or two per tick
    /// and the event's cost (tracing's level and interest checks, then the subscriber's)
    /// only when one is emitted. An event allocates nothing of its own. tracing's
    /// `max_level_*` features remove the events at compile time.
    ///
    /// Not for [`TimerSet`](crate::TimerSet) entries, which report no events:
    /// [`TimerSet::insert`](crate::TimerSet::insert) returns
    /// [`Error::ConflictingOptions`] for a builder with a threshold.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut control = Timer::builder(Duration::from_millis(10))
    ///     .name("control loop")
    ///     .warn_if_late(Duration::from_millis(2))
    ///     .build()
    ///     .unwrap();
    /// tokio::time::advance(Duration::from_millis(15)).await; // the loop was busy
    /// // WARN kadenz: tick later than its threshold timer="control loop" drift_us=5000 ...
    /// let tick = control.tick().await.unwrap();
    /// assert_eq!(tick.drift(), Duration::from_millis(5));
    /// # }
    /// ```
    #[cfg(feature = "tracing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
    pub fn warn_if_late(mut self, threshold: Duration) -> Self {
        self.warn_if_late = Some(threshold);
        self
    }

    /// Builds the timer, started unless `auto_start(false)` was set.
    ///
    /// # Errors
    ///
    /// - [`Error::IntervalTooShort`] / [`Error::IntervalTooLong`]: the interval is under
    ///   1 µs, or over `u64::MAX` µs (an interval of exactly `u64::MAX` µs is accepted: its
    ///   first tick is due at the end of the time line, which means never);
    /// - [`Error::StartDelayWithoutAutoStart`]: a start delay of 1 µs or more with
    ///   `auto_start(false)`;
    /// - [`Error::StartDelayTooLong`]: the start delay is over `u64::MAX` µs;
    /// - [`Error::ConflictingOptions`]: `tick_at_start(true)`, `first_tick_at` or
    ///   `align_to_wall_clock` with `auto_start(false)`, or `first_tick_at` with another
    ///   way of placing the first tick;
    /// - [`Error::NoRuntime`]: `auto_start(true)` outside a tokio runtime.
    ///
    /// A runtime without the time driver (built without `enable_time()`) is not an error
    /// here: tokio offers no way to tell. The timer panics with tokio's message when it
    /// first has to wait (see [`Timer::poll_tick`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Error, Timer};
    ///
    /// // Outside a runtime, a timer can only be built to start later.
    /// assert_eq!(Timer::builder(Duration::from_secs(1)).build().unwrap_err(), Error::NoRuntime);
    /// assert!(Timer::builder(Duration::from_secs(1)).auto_start(false).build().is_ok());
    /// ```
    pub fn build(self) -> Result<Timer, Error> {
        let plan = self.plan()?;
        let mut timer = Timer::from_parts(plan.interval_us, plan.policy, plan.alignment);
        if !plan.label.is_empty() {
            timer.set_label(plan.label);
        }
        if let Some(jitter) = plan.jitter {
            timer.set_jitter(jitter);
        }
        if plan.record_drift {
            timer.record_drift();
        }
        if plan.precise {
            timer.make_precise();
        }
        if let Some(start) = plan.start {
            timer.start(start);
        }
        Ok(timer)
    }

    /// Checks every option and works out the start, for a [`Timer`] or a timer set's
    /// entry: both start from the same plan, so they cannot disagree.
    pub(crate) fn plan(self) -> Result<Plan, Error> {
        let interval_us = interval_micros(self.interval)?;
        let delay_us = start_delay_micros(self.start_delay)?;
        if !self.auto_start {
            if delay_us != 0 {
                return Err(Error::StartDelayWithoutAutoStart(self.start_delay));
            }
            let needs_a_start = [
                (self.tick_at_start, "tick_at_start(true)"),
                (self.first_tick_at.is_some(), "first_tick_at"),
                (self.align_offset.is_some(), "align_to_wall_clock"),
            ];
            if let Some(&(_, option)) = needs_a_start.iter().find(|(set, _)| *set) {
                return Err(Error::ConflictingOptions {
                    option,
                    conflicts_with: "auto_start(false)",
                });
            }
        }
        if self.first_tick_at.is_some() {
            let placements = [
                (delay_us != 0, "start_delay"),
                (self.tick_at_start, "tick_at_start(true)"),
                (self.align_offset.is_some(), "align_to_wall_clock"),
            ];
            if let Some(&(_, other)) = placements.iter().find(|(set, _)| *set) {
                return Err(Error::ConflictingOptions {
                    option: "first_tick_at",
                    conflicts_with: other,
                });
            }
        }

        if self.auto_start {
            in_a_runtime()?;
        }
        let alignment = match (self.align_offset, self.wall_clock) {
            (None, None) => None,
            (offset, clock) => Some(Alignment {
                offset: offset.unwrap_or_default(),
                clock: clock.unwrap_or_else(|| Box::new(SystemClock)),
            }),
        };
        let trace = Trace::new(
            self.name.is_some(),
            self.warn_if_late.map(saturating_micros),
        );
        let label = Label {
            name: self.name,
            trace,
        };
        let jitter = match saturating_micros(self.jitter) {
            0 => None,
            max_us => Some(Jitter {
                max_us,
                seed: self.jitter_seed.unwrap_or_else(Jitter::random_seed),
            }),
        };
        if let Some(jitter) = jitter {
            Jitter::check(jitter.max_us, self.interval, interval_us)?;
        }
        let at = Instant::now();
        let start = match (self.first_tick_at, &alignment) {
            _ if !self.auto_start => None,
            (Some(first_tick), _) => Some(Start::At(first_tick)),
            (None, Some(alignment)) if self.align_offset.is_some() => Some(Start::Offset {
                at,
                delay_us: alignment
                    .delay_us(interval_us, delay_us, self.tick_at_start)
                    .unwrap_or(u64::MAX),
            }),
            _ if self.tick_at_start => Some(Start::Offset { at, delay_us }),
            _ => Some(Start::After { at, delay_us }),
        };
        Ok(Plan {
            interval_us,
            policy: self.policy,
            alignment,
            start,
            label,
            jitter,
            record_drift: self.record_drift,
            precise: self.precise,
        })
    }
}

/// A checked builder: what a timer, or a set's entry, is made of.
pub(crate) struct Plan {
    pub(crate) interval_us: u64,
    pub(crate) policy: Policy,
    pub(crate) alignment: Option<Alignment>,
    /// `None` for `auto_start(false)`.
    pub(crate) start: Option<Start>,
    pub(crate) label: Label,
    pub(crate) jitter: Option<Jitter>,
    pub(crate) record_drift: bool,
    /// `true` only with the `precise` feature.
    pub(crate) precise: bool,
}

/// A start delay in whole microseconds, or the error that names it.
pub(crate) fn start_delay_micros(delay: Duration) -> Result<u64, Error> {
    u64::try_from(delay.as_micros()).map_err(|_| Error::StartDelayTooLong(delay))
}

/// `Ok` inside a tokio runtime, where a timer may start.
pub(crate) fn in_a_runtime() -> Result<(), Error> {
    // A task runs on a runtime: its id (a thread-local read) spares the look-up of the
    // runtime (a reference count taken and dropped).
    if tokio::task::try_id().is_none() && tokio::runtime::Handle::try_current().is_err() {
        return Err(Error::NoRuntime);
    }
    Ok(())
}

/// An interval in whole microseconds, or the error that names it.
pub(crate) fn interval_micros(interval: Duration) -> Result<u64, Error> {
    match interval.as_micros() {
        0 => Err(Error::IntervalTooShort(interval)),
        us => u64::try_from(us).map_err(|_| Error::IntervalTooLong(interval)),
    }
}
