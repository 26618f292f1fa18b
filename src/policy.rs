//! What a [`Timer`](crate::Timer) does about ticks it could not deliver on time.
//!
//! A tick is *missed* when the task that receives it is busy (or the runtime is blocked)
//! past the tick's scheduled time. When the late tick is finally received, the timer asks
//! its [`MissedTickPolicy`] when the next tick is due. Four policies are built in:
//!
//! | policy                  | after a late tick                                   | use it for |
//! |-------------------------|-----------------------------------------------------|------------|
//! | [`TriggerAllMissed`]    | every missed tick fires at once, then the original phase | counters, resampling: "n ticks means n intervals" |
//! | [`SkipMissedAndResync`] | missed ticks are dropped, the original phase is kept | polling loops that must stay on the grid |
//! | [`SkipMissedAndDrift`]  | missed ticks are dropped, the phase moves to the late tick | timeouts, watchdogs, "at least this long between ticks" |
//! | [`TriggerMissedUpTo`]   | at most `max` missed ticks fire at once (the latest ones), then the original phase | requests to devices, rate limits, relays: catch up a little, never hammer |
//!
//! [`BuiltinPolicy`] is any one of these, chosen at run time: it parses from and prints
//! as `"trigger-all-missed"`, `"skip-missed-and-resync"`,
//! `"skip-missed-and-drift:5ms"` and `"trigger-missed-up-to:3"`, for configuration files
//! and command lines.
//!
//! Every policy is a pure function of three integers, all in microseconds on the timer's
//! own monotonic time line: the `interval`, the `scheduled_tick_time` of the tick being
//! delivered and `now`. The timer guarantees `now >= scheduled_tick_time` and
//! `interval >= 1`. Arithmetic saturates at `u64::MAX`: it never wraps or panics.
//!
//! Which one a job wants, what goes wrong with skipping policies at intervals of a few
//! milliseconds, and when to bound a catch-up burst with [`TriggerMissedUpTo`]: the
//! guide's [choosing a policy](crate::guide::policies).
//!
//! # Writing a policy
//!
//! A policy is any `Send + Sync + Debug + 'static` type that implements
//! [`MissedTickPolicy`]. This one is the example of the frequenz-channels documentation:
//! every tick is due one second more than an interval after the previous one was due.
//!
//! ```
//! use kadenz::policy::MissedTickPolicy;
//!
//! #[derive(Debug, Clone, Copy, Default)]
//! struct WaitOneMoreSecond;
//!
//! impl MissedTickPolicy for WaitOneMoreSecond {
//!     fn calculate_next_tick_time(&self, interval: u64, scheduled_tick_time: u64, _now: u64) -> u64 {
//!         scheduled_tick_time.saturating_add(interval).saturating_add(1_000_000)
//!     }
//! }
//!
//! assert_eq!(WaitOneMoreSecond.calculate_next_tick_time(1_000_000, 5_000_000, 5_200_000), 7_000_000);
//! ```
//!
//! An answer that is not after `now` makes the timer fire again at once, with a drift of
//! `now - answer`. The timer yields to tokio's cooperative scheduler between such ticks,
//! so even a policy that always answers `0` cannot starve the other tasks of the runtime.
//! An answer of `u64::MAX` is the end of the time line: the timer does not fire again
//! until it is reset.
//!
//! # The time line a policy sees
//!
//! The three integers are microseconds on the timer's own time line, whose zero is the
//! timer's last start: the instant of the last `reset()`/`reset_after()` (or of the build,
//! or of the first poll of a timer built with `auto_start(false)`), and for
//! `reset_at(t)`, `reset_immediately()` and the builder's `first_tick_at(t)`, the first
//! tick itself. A start delay is part of the time line: after `reset_after(d)` the first
//! `scheduled_tick_time` is `d + interval`.
//!
//! frequenz-channels passes its policies absolute times of the event loop's monotonic
//! clock instead. The built-in policies only look at differences, so they behave the
//! same either way; a custom policy that aligns ticks to multiples of something (say,
//! "the next multiple of 15 minutes of `now`") aligns them to multiples counted from the
//! last start here, and a reset moves its grid. For a grid on the wall clock, use
//! [`TimerBuilder::align_to_wall_clock`](crate::TimerBuilder::align_to_wall_clock).
//!
//! # Where a policy runs
//!
//! On the thread that polls the timer, inside `poll_tick`, once per delivered tick: keep
//! it a few arithmetic operations, with no locks, I/O or allocation. A slow policy delays
//! the task that receives the ticks and every other task on that runtime thread. A panic
//! in it propagates to the poller and leaves the timer stopped.

use std::fmt::{self, Debug, Display};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::human_duration::{self, HumanDuration};
use crate::Error;

/// Computes when the tick after a delivered one is due.
///
/// See the [module documentation](self) for the built-in policies and how to write one.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use kadenz::Timer;
/// use kadenz::policy::{MissedTickPolicy, SkipMissedAndResync};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // All values are microseconds: a 1 s tick due at 3 s, received at 4.3 s,
/// // is followed by one at 5 s.
/// assert_eq!(SkipMissedAndResync.calculate_next_tick_time(1_000_000, 3_000_000, 4_300_000), 5_000_000);
///
/// let timer = Timer::new(Duration::from_secs(1), SkipMissedAndResync);
/// assert_eq!(format!("{:?}", timer.missed_tick_policy()), "SkipMissedAndResync");
/// # }
/// ```
pub trait MissedTickPolicy: Send + Sync + Debug + 'static {
    /// Returns when the next tick is due, in microseconds on the timer's time line.
    ///
    /// `interval` is the timer's interval, `scheduled_tick_time` the time the tick being
    /// delivered was due and `now` the time it is being delivered, all in microseconds.
    /// The timer guarantees `interval >= 1` and `now >= scheduled_tick_time`.
    ///
    /// An answer that is not after `now` makes the next tick fire at once; `u64::MAX`
    /// means never (until the timer is reset).
    ///
    /// # Examples
    ///
    /// ```
    /// use kadenz::policy::{MissedTickPolicy, TriggerAllMissed};
    ///
    /// assert_eq!(TriggerAllMissed.calculate_next_tick_time(10, 30, 55), 40);
    /// ```
    fn calculate_next_tick_time(&self, interval: u64, scheduled_tick_time: u64, now: u64) -> u64;
}

/// A boxed policy is a policy, so one can be chosen at run time.
///
/// ```
/// use kadenz::policy::{MissedTickPolicy, SkipMissedAndResync, TriggerAllMissed};
///
/// let skip = true;
/// let policy: Box<dyn MissedTickPolicy> =
///     if skip { Box::new(SkipMissedAndResync) } else { Box::new(TriggerAllMissed) };
/// assert_eq!(policy.calculate_next_tick_time(10, 30, 55), 60);
/// ```
impl<P: MissedTickPolicy + ?Sized> MissedTickPolicy for Box<P> {
    #[inline]
    fn calculate_next_tick_time(&self, interval: u64, scheduled_tick_time: u64, now: u64) -> u64 {
        (**self).calculate_next_tick_time(interval, scheduled_tick_time, now)
    }
}

/// A shared policy is a policy, so many timers can use one (and its owner can inspect it).
///
/// ```
/// use std::sync::Arc;
/// use kadenz::policy::{MissedTickPolicy, TriggerAllMissed};
///
/// let shared = Arc::new(TriggerAllMissed);
/// assert_eq!(shared.clone().calculate_next_tick_time(10, 30, 55), 40);
/// ```
impl<P: MissedTickPolicy + ?Sized> MissedTickPolicy for Arc<P> {
    #[inline]
    fn calculate_next_tick_time(&self, interval: u64, scheduled_tick_time: u64, now: u64) -> u64 {
        (**self).calculate_next_tick_time(interval, scheduled_tick_time, now)
    }
}

/// Fires every missed tick at once, then goes on in the original phase.
///
/// `next = scheduled + interval`. The drift is never accumulated: after a delay, the
/// missed ticks come in a burst, each with a smaller drift than the one before, until the
/// timer has caught up with the schedule it started with. This is the policy of
/// [`Timer::periodic`](crate::Timer::periodic).
///
/// # Example
///
/// A timer with an interval of 1 s, started 1 s before `0` (its first tick is due at 0),
/// whose receiver is sometimes late:
///
/// ```text
/// time     0     1     2     3     4     5     6
///          |     |     |     |     |     |     |
/// due      T0    T1    T2    T3    T4    T5    T6
/// fired    T0     T1     T2          T3T4 T5   T6
///               1.2    2.3         4.3  5.1   6.0
/// ```
///
/// 1. T0 fires at 0, on time.
/// 2. T1 is received at 1.2: it fires with a drift of 0.2 s; the next tick is still due at 2.
/// 3. T2 is received at 2.3: drift 0.3 s.
/// 4. T3 is received at 4.3: drift 1.3 s, and T4, already due at 4, fires right after it
///    with a drift of 0.3 s: a small catch-up burst.
/// 5. T5 is received at 5.1: drift 0.1 s.
/// 6. T6 fires at 6.0, on time.
///
/// The same receiver, run under tokio's paused clock (`examples/timeline`):
///
/// ![TriggerAllMissed: T0 to T2 delivered at 0, 1.2 and 2.3 s with drifts 0, 0.2 and 0.3 s; T3 and T4 together at 4.3 s with drifts 1.3 and 0.3 s; T5 at 5.1 s; T6 and T7 on time][timeline-trigger-all-missed]
///
#[doc = include_str!("../docs/timelines.md")]
///
/// ```
/// use kadenz::policy::{MissedTickPolicy, TriggerAllMissed};
///
/// let s = 1_000_000; // one second, in microseconds
/// assert_eq!(TriggerAllMissed.calculate_next_tick_time(s, 3 * s, 4_300_000), 4 * s); // T4: at once
/// assert_eq!(TriggerAllMissed.calculate_next_tick_time(s, 4 * s, 4_300_000), 5 * s);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TriggerAllMissed;

impl MissedTickPolicy for TriggerAllMissed {
    #[inline]
    fn calculate_next_tick_time(&self, interval: u64, scheduled_tick_time: u64, _now: u64) -> u64 {
        scheduled_tick_time.saturating_add(interval)
    }
}

/// Drops the missed ticks, fires once at once, then goes on in the original phase.
///
/// `next = now + (interval - (now - scheduled) % interval)`: the first multiple of the
/// interval (counted from the original schedule) that is after `now`. There are no
/// bursts, and ticks stay on the grid the timer started with. This is the policy of
/// [`TimerBuilder::skip_missed_ticks(true)`](crate::TimerBuilder::skip_missed_ticks).
///
/// # Example
///
/// A timer with an interval of 1 s, whose first tick is due at 0:
///
/// ```text
/// time     0     1     2     3     4     5     6
///          |     |     |     |     |     |     |
/// due      T0    T1    T2    T3    T4    T5    T6
/// fired    T0     T1     T2          T3  T5    T6      (T4 skipped)
///               1.2    2.3         4.3  5.1   6.0
/// ```
///
/// 1. T0 fires at 0, on time.
/// 2. T1 is received at 1.2: drift 0.2 s; the next tick is still due at 2.
/// 3. T2 is received at 2.3: drift 0.3 s; the next is due at 3.
/// 4. T3 is received at 4.3: drift 1.3 s. T4, due at 4, is skipped: the next is due at 5.
/// 5. T5 is received at 5.1: drift 0.1 s.
/// 6. T6 fires at 6.0, on time.
///
/// The same receiver, run under tokio's paused clock (`examples/timeline`):
///
/// ![SkipMissedAndResync: T0 to T2 delivered at 0, 1.2 and 2.3 s with drifts 0, 0.2 and 0.3 s; T3 at 4.3 s with drift 1.3 s; T4 at 4 s skipped; T5 at 5.1 s; T6 and T7 on time][timeline-skip-missed-and-resync]
///
#[doc = include_str!("../docs/timelines.md")]
///
/// ```
/// use kadenz::policy::{MissedTickPolicy, SkipMissedAndResync};
///
/// let s = 1_000_000;
/// assert_eq!(SkipMissedAndResync.calculate_next_tick_time(s, 3 * s, 4_300_000), 5 * s); // T4 skipped
/// assert_eq!(SkipMissedAndResync.calculate_next_tick_time(s, 5 * s, 5_100_000), 6 * s);
/// ```
///
/// Outside the timer's guarantee (`now < scheduled_tick_time`, `interval == 0`), the
/// lateness is taken as zero and the interval as one microsecond.
///
/// # Short intervals
///
/// A default timer wakes on tokio's timer wheel, 1 to 2 ms after its due time. At an
/// interval of a few milliseconds or less, that is a whole interval or more: nearly every
/// tick is received after the next one came due, and this policy skips that one. A 1 kHz
/// timer with this policy delivered 62–69 % of its ticks on the project's machine, where
/// tokio's `MissedTickBehavior::Skip` (which skips only for a tick more than 5 ms late)
/// delivered all of them. For such loops, use a precise timer (feature `precise`, Linux:
/// 2,488–2,492 of 2,500 ticks), [`TriggerAllMissed`], or an interval of 10 ms or more:
/// [choosing a policy](crate::guide::policies#below-a-few-milliseconds-every-wake-is-a-missed-interval).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SkipMissedAndResync;

impl MissedTickPolicy for SkipMissedAndResync {
    #[inline]
    fn calculate_next_tick_time(&self, interval: u64, scheduled_tick_time: u64, now: u64) -> u64 {
        let interval = interval.max(1);
        let late_into_interval = now.saturating_sub(scheduled_tick_time) % interval;
        now.saturating_add(interval - late_into_interval)
    }
}

/// Drops the missed ticks, fires once at once, then starts over from the late tick.
///
/// `next = now + interval` if the tick is more than `delay_tolerance` late, else
/// `next = scheduled + interval`. A late tick moves the whole schedule, as if the timer had
/// been reset when it fired, so the drift accumulates and each tick reports only its own
/// lateness. Delays up to the tolerance are forgiven and do not move the schedule.
/// With a zero tolerance this is the policy of [`Timer::timeout`](crate::Timer::timeout).
///
/// # Example
///
/// A timer with an interval of 1 s and a delay tolerance of 0.1 s, whose first tick is
/// due at 0:
///
/// ```text
/// time (s)  0         1         2         3         4         5         6
///           |         |         |         |         |         |         |
/// due       T0        T1          T2        T3                   T5        T6
/// fired     T0          T1         T2                  T3        T5        T6
/// drift     0           0.2        0.1                 1.1       0         0
/// skipped                                             T4
/// ```
///
/// 1. T0 fires at 0, on time.
/// 2. T1, due at 1, is received at 1.2: 0.2 s late, over the tolerance, so the schedule
///    moves: T2 is due at 2.2.
/// 3. T2 is received at 2.3: 0.1 s late, within the tolerance, so the schedule does not
///    move: T3 is due at 3.2.
/// 4. T3 is received at 4.3: 1.1 s late. The schedule moves again, and T4, which would
///    have been due at 4.2, is skipped: T5 is due at 5.3.
/// 5. T5 and T6 fire on time, at 5.3 and 6.3.
///
/// The same receiver, run under tokio's paused clock (`examples/timeline`):
///
/// ![SkipMissedAndDrift with a delay tolerance of 0.1 s: T0 to T3 delivered at 0, 1.2, 2.3 and 4.3 s with drifts 0, 0.2, 0.1 and 1.1 s; T4 at 4.2 s skipped; T5 and T6 on time at 5.3 and 6.3 s][timeline-skip-missed-and-drift]
///
#[doc = include_str!("../docs/timelines.md")]
///
/// ```
/// use std::time::Duration;
/// use kadenz::policy::{MissedTickPolicy, SkipMissedAndDrift};
///
/// let policy = SkipMissedAndDrift::new(Duration::from_millis(100));
/// assert_eq!(policy.calculate_next_tick_time(1_000_000, 1_000_000, 1_200_000), 2_200_000);
/// assert_eq!(policy.calculate_next_tick_time(1_000_000, 2_200_000, 2_300_000), 3_200_000);
/// assert_eq!(policy.calculate_next_tick_time(1_000_000, 3_200_000, 4_300_000), 5_300_000);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SkipMissedAndDrift {
    delay_tolerance_us: u64,
}

impl SkipMissedAndDrift {
    /// Creates the policy; delays up to `delay_tolerance` do not move the schedule.
    ///
    /// The tolerance is kept in whole microseconds (a sub-microsecond part is dropped); a
    /// tolerance beyond `u64::MAX` µs saturates, which forgives every delay.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::policy::SkipMissedAndDrift;
    ///
    /// let policy = SkipMissedAndDrift::new(Duration::from_millis(100));
    /// assert_eq!(policy.delay_tolerance(), Duration::from_millis(100));
    /// ```
    #[must_use]
    pub const fn new(delay_tolerance: Duration) -> Self {
        let micros = delay_tolerance.as_micros();
        let delay_tolerance_us = if micros > u64::MAX as u128 {
            u64::MAX
        } else {
            micros as u64
        };
        Self { delay_tolerance_us }
    }

    /// The largest delay that does not move the schedule.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::policy::SkipMissedAndDrift;
    ///
    /// assert_eq!(SkipMissedAndDrift::default().delay_tolerance(), Duration::ZERO);
    /// ```
    #[must_use]
    pub const fn delay_tolerance(&self) -> Duration {
        Duration::from_micros(self.delay_tolerance_us)
    }
}

/// Shows the tolerance as a `Duration`: `SkipMissedAndDrift { delay_tolerance: 100ms }`.
impl Debug for SkipMissedAndDrift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkipMissedAndDrift")
            .field("delay_tolerance", &self.delay_tolerance())
            .finish()
    }
}

impl MissedTickPolicy for SkipMissedAndDrift {
    #[inline]
    fn calculate_next_tick_time(&self, interval: u64, scheduled_tick_time: u64, now: u64) -> u64 {
        if now.saturating_sub(scheduled_tick_time) > self.delay_tolerance_us {
            now.saturating_add(interval)
        } else {
            scheduled_tick_time.saturating_add(interval)
        }
    }
}

/// Fires at most `max` missed ticks at once (the latest ones), drops the older ones, then
/// goes on in the original phase: bounded catch-up.
///
/// When a tick due at `scheduled` is received at `now`, `missed = (now - scheduled) /
/// interval` due times of the grid have come since it was due. The next tick is the first
/// of the last `max` of them, or the next due time if no more than `max` have come:
///
/// ```text
/// missed  = (now - scheduled) / interval
/// dropped = missed - max, or 0 if that is negative
/// next    = scheduled + (dropped + 1) * interval
/// ```
///
/// A replayed tick then finds fewer than `max` due times come since it and drops none, so
/// after the late tick a burst is at most `max` ticks, and every tick stays on the grid the
/// timer started with. It needs no state: like the other built-in policies it is a pure
/// function of `interval`, `scheduled` and `now`. Arithmetic saturates, never wraps.
///
/// `TriggerMissedUpTo::new(u64::MAX)` is [`TriggerAllMissed`], and `TriggerMissedUpTo::new(0)`
/// replays none of the missed ticks: it is [`SkipMissedAndResync`], which is what a burst
/// bounded by zero means (so zero is accepted, not an error).
///
/// Its text form, for [`BuiltinPolicy`] and [`TimerConfig`](crate::TimerConfig), is
/// `trigger-missed-up-to:3`.
///
/// # Example
///
/// A timer with an interval of 1 s and `max = 2`, whose first tick is due at 0, and a
/// receiver that is busy from 1.2 s to 5.3 s:
///
/// ```text
/// time     0     1     2     3     4     5     6     7
///          |     |     |     |     |     |     |     |
/// due      T0    T1    T2    T3    T4    T5    T6    T7
/// fired    T0     T1                     T2T4T5 T6   T7     (T3 skipped)
///               1.2                     5.3    6.0  7.0
/// ```
///
/// 1. T0 fires at 0, on time; T1 is received at 1.2 with a drift of 0.2 s.
/// 2. T2 is received at 5.3: drift 3.3 s. Three due times have come since (3, 4 and 5 s):
///    the oldest, T3, is dropped, and the next tick is T4, due at 4.
/// 3. T4 and T5 fire right after T2, with drifts of 1.3 s and 0.3 s: a burst of two.
/// 4. T6 and T7 fire on time.
///
/// The same receiver, run under tokio's paused clock (`examples/timeline`):
///
/// ![TriggerMissedUpTo with max 2: T0 and T1 delivered at 0 and 1.2 s; T2, T4 and T5 together at 5.3 s with drifts 3.3, 1.3 and 0.3 s; T3 at 3 s skipped; T6 and T7 on time][timeline-trigger-missed-up-to]
///
#[doc = include_str!("../docs/timelines.md")]
///
/// ```
/// use kadenz::policy::{MissedTickPolicy, TriggerMissedUpTo};
///
/// let s = 1_000_000; // one second, in microseconds
/// let policy = TriggerMissedUpTo::new(2);
/// assert_eq!(policy.calculate_next_tick_time(s, 2 * s, 5_300_000), 4 * s); // T3 dropped
/// assert_eq!(policy.calculate_next_tick_time(s, 4 * s, 5_300_000), 5 * s);
/// assert_eq!(policy.calculate_next_tick_time(s, 5 * s, 5_300_000), 6 * s);
/// assert_eq!(policy.max(), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TriggerMissedUpTo {
    max: u64,
}

impl TriggerMissedUpTo {
    /// Creates the policy: after a stall, at most `max` of the missed ticks fire at once.
    ///
    /// `0` replays none (it is [`SkipMissedAndResync`]), `u64::MAX` replays all (it is
    /// [`TriggerAllMissed`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use kadenz::policy::{MissedTickPolicy, SkipMissedAndResync, TriggerMissedUpTo};
    ///
    /// let policy = TriggerMissedUpTo::new(3);
    /// assert_eq!(policy.max(), 3);
    /// // Ten due times missed: the last three are replayed.
    /// assert_eq!(policy.calculate_next_tick_time(10, 0, 105), 80);
    /// // None at all: as SkipMissedAndResync.
    /// assert_eq!(
    ///     TriggerMissedUpTo::new(0).calculate_next_tick_time(10, 0, 105),
    ///     SkipMissedAndResync.calculate_next_tick_time(10, 0, 105),
    /// );
    /// ```
    #[must_use]
    pub const fn new(max: u64) -> Self {
        Self { max }
    }

    /// The most missed ticks that fire at once after a stall.
    ///
    /// # Examples
    ///
    /// ```
    /// use kadenz::policy::TriggerMissedUpTo;
    ///
    /// assert_eq!(TriggerMissedUpTo::new(5).max(), 5);
    /// ```
    #[must_use]
    pub const fn max(&self) -> u64 {
        self.max
    }
}

impl MissedTickPolicy for TriggerMissedUpTo {
    #[inline]
    fn calculate_next_tick_time(&self, interval: u64, scheduled_tick_time: u64, now: u64) -> u64 {
        let interval = interval.max(1);
        let missed = now.saturating_sub(scheduled_tick_time) / interval;
        let dropped = missed.saturating_sub(self.max);
        scheduled_tick_time.saturating_add(interval.saturating_mul(dropped.saturating_add(1)))
    }
}

/// Prints as `trigger-all-missed`, the name [`BuiltinPolicy`] parses.
///
/// ```
/// assert_eq!(kadenz::policy::TriggerAllMissed.to_string(), "trigger-all-missed");
/// ```
impl Display for TriggerAllMissed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(TRIGGER_ALL_MISSED)
    }
}

/// Prints as `skip-missed-and-resync`, the name [`BuiltinPolicy`] parses.
///
/// ```
/// assert_eq!(kadenz::policy::SkipMissedAndResync.to_string(), "skip-missed-and-resync");
/// ```
impl Display for SkipMissedAndResync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(SKIP_MISSED_AND_RESYNC)
    }
}

/// Prints as `skip-missed-and-drift:5ms`, or `skip-missed-and-drift` with a zero
/// tolerance: what [`BuiltinPolicy`] parses. The tolerance prints as a
/// [`HumanDuration`].
///
/// ```
/// use std::time::Duration;
/// use kadenz::policy::SkipMissedAndDrift;
///
/// let policy = SkipMissedAndDrift::new(Duration::from_millis(5));
/// assert_eq!(policy.to_string(), "skip-missed-and-drift:5ms");
/// assert_eq!(SkipMissedAndDrift::default().to_string(), "skip-missed-and-drift");
/// ```
impl Display for SkipMissedAndDrift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.delay_tolerance() {
            Duration::ZERO => f.pad(SKIP_MISSED_AND_DRIFT),
            tolerance => human_duration::pad(
                f,
                format_args!("{SKIP_MISSED_AND_DRIFT}:{}", HumanDuration(tolerance)),
            ),
        }
    }
}

/// Prints as `trigger-missed-up-to:3`, what [`BuiltinPolicy`] parses.
///
/// ```
/// assert_eq!(kadenz::policy::TriggerMissedUpTo::new(3).to_string(), "trigger-missed-up-to:3");
/// ```
impl Display for TriggerMissedUpTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        human_duration::pad(f, format_args!("{TRIGGER_MISSED_UP_TO}:{}", self.max))
    }
}

const TRIGGER_ALL_MISSED: &str = "trigger-all-missed";
const TRIGGER_MISSED_UP_TO: &str = "trigger-missed-up-to";
const SKIP_MISSED_AND_RESYNC: &str = "skip-missed-and-resync";
const SKIP_MISSED_AND_DRIFT: &str = "skip-missed-and-drift";

/// One of the built-in policies, chosen at run time: from a configuration file, a
/// command line or an environment variable.
///
/// It parses from and prints as text ([`FromStr`], [`Display`]):
///
/// | text | policy |
/// |---|---|
/// | `trigger-all-missed` | [`TriggerAllMissed`] (the default) |
/// | `skip-missed-and-resync` | [`SkipMissedAndResync`] |
/// | `skip-missed-and-drift` | [`SkipMissedAndDrift`] with a zero tolerance (what [`Timer::timeout`](crate::Timer::timeout) uses) |
/// | `skip-missed-and-drift:5ms` | [`SkipMissedAndDrift`] with a delay tolerance, a [`HumanDuration`] |
/// | `trigger-missed-up-to:3` | [`TriggerMissedUpTo`], with `max` a decimal `u64` (`0` to `18446744073709551615`) |
///
/// The names are exact: lowercase, no spaces. A tolerance is kept in whole microseconds,
/// as by [`SkipMissedAndDrift::new`] (`"skip-missed-and-drift:1500ns"` is a tolerance of
/// 1 µs). What prints parses back to the same policy. With the `serde` feature it
/// (de)serializes as the same text.
///
/// A `BuiltinPolicy` is a [`MissedTickPolicy`] itself, so it can be given to a timer as
/// it is; [`TimerConfig`](crate::TimerConfig) hands the timer the policy it stands for
/// instead, so that a timer built from a configuration is the timer built by hand.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use kadenz::Error;
/// use kadenz::policy::{BuiltinPolicy, SkipMissedAndDrift};
///
/// let policy: BuiltinPolicy = "skip-missed-and-drift:5ms".parse()?;
/// assert_eq!(policy, BuiltinPolicy::SkipMissedAndDrift(SkipMissedAndDrift::new(Duration::from_millis(5))));
/// assert_eq!(policy.to_string(), "skip-missed-and-drift:5ms");
/// assert_eq!("skip-missed-and-resync".parse(), Ok(BuiltinPolicy::SkipMissedAndResync));
///
/// // A bad string is an error that names it and lists what is accepted.
/// let err = "skip-missed-and-drift:5".parse::<BuiltinPolicy>().unwrap_err();
/// assert!(matches!(&err, Error::InvalidPolicy { input, .. } if input == "skip-missed-and-drift:5"));
/// assert!(err.to_string().contains("has a delay tolerance that has no unit"));
/// assert!(err.to_string().contains("\"trigger-all-missed\""));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BuiltinPolicy {
    /// [`TriggerAllMissed`]: every missed tick fires; the default, as for
    /// [`Timer::periodic`](crate::Timer::periodic).
    #[default]
    TriggerAllMissed,
    /// [`SkipMissedAndResync`]: missed ticks are dropped, the phase is kept.
    SkipMissedAndResync,
    /// [`SkipMissedAndDrift`]: missed ticks are dropped, the phase moves to the late tick.
    SkipMissedAndDrift(SkipMissedAndDrift),
    /// [`TriggerMissedUpTo`]: at most `max` missed ticks fire, then the original phase.
    TriggerMissedUpTo(TriggerMissedUpTo),
}

/// A timer's or a set entry's policy, as kadenz keeps it: which built-in policy it is, by
/// value, or a custom one. Made once, where the user hands the policy over
/// ([`Policy::new`]); the tick path matches on it ([`Policy::next_tick_time`]), so a
/// built-in policy's arithmetic is inlined there, with no call through a vtable.
///
/// 16 bytes, as the `Box<dyn MissedTickPolicy>` it replaced (a `Timer`'s size is asserted
/// in `tests/observe.rs`): the payloads other than a built-in policy's are thin boxes.
/// Custom policies pay for that: one more allocation when the timer is built (the box
/// of the box; a zero-sized custom policy, which boxed for free, now takes one) and one
/// more load per tick. The built-in policies are variants of their own rather than a
/// [`BuiltinPolicy`] inside, so that the tick path switches on one tag (a `BuiltinPolicy`
/// inside, with the other variants in its niche, decodes two tags: an overdue tick cost
/// 10 instructions more than with these, 1 more than the vtable call).
///
/// `repr(u8)`: a one-byte tag has a small niche, so the compiler keeps a `Timer`'s
/// schedule first (at the timer's own address) as before; with a word-sized tag it put
/// the policy first, and a reset cost 2 more instructions (callgrind).
#[repr(u8)]
pub(crate) enum Policy {
    TriggerAllMissed,
    SkipMissedAndResync,
    SkipMissedAndDrift(SkipMissedAndDrift),
    TriggerMissedUpTo(TriggerMissedUpTo),
    /// A built-in policy given as a [`BuiltinPolicy`] value: it computes as the policy it
    /// stands for and a set shares it with it, but it shows itself as the value given,
    /// as before there was this enum. Boxed, as it was then, to keep the enum 16 bytes.
    Given(Box<BuiltinPolicy>),
    /// Any other policy, called through its vtable.
    Custom(Box<Box<dyn MissedTickPolicy>>),
}

// The thin boxes keep a policy as small as the fat box it replaced, on 64-bit targets (on
// 32-bit ones a fat box is 8 bytes, and the built-ins' `u64` payloads make the enum 12 or
// 16).
#[cfg(target_pointer_width = "64")]
const _: () =
    assert!(std::mem::size_of::<Policy>() == std::mem::size_of::<Box<dyn MissedTickPolicy>>());

impl Policy {
    /// `policy` as kadenz keeps it: the one place that looks at a policy's type, to tell
    /// a built-in policy (given as its own type or as a [`BuiltinPolicy`]) from a custom
    /// one.
    pub(crate) fn new<P: MissedTickPolicy>(policy: P) -> Policy {
        let any: &dyn std::any::Any = &policy;
        if any.is::<TriggerAllMissed>() {
            Policy::TriggerAllMissed
        } else if any.is::<SkipMissedAndResync>() {
            Policy::SkipMissedAndResync
        } else if let Some(&drift) = any.downcast_ref::<SkipMissedAndDrift>() {
            Policy::SkipMissedAndDrift(drift)
        } else if let Some(&up_to) = any.downcast_ref::<TriggerMissedUpTo>() {
            Policy::TriggerMissedUpTo(up_to)
        } else if let Some(&builtin) = any.downcast_ref::<BuiltinPolicy>() {
            Policy::Given(Box::new(builtin))
        } else {
            Policy::Custom(Box::new(Box::new(policy)))
        }
    }

    /// Which built-in policy this is, if one: a timer set keeps one copy of each.
    pub(crate) fn builtin(&self) -> Option<BuiltinPolicy> {
        match self {
            Policy::TriggerAllMissed => Some(BuiltinPolicy::TriggerAllMissed),
            Policy::SkipMissedAndResync => Some(BuiltinPolicy::SkipMissedAndResync),
            Policy::SkipMissedAndDrift(policy) => Some((*policy).into()),
            Policy::TriggerMissedUpTo(policy) => Some((*policy).into()),
            Policy::Given(builtin) => Some(**builtin),
            Policy::Custom(_) => None,
        }
    }

    /// The policy's answer: when the tick after the one due at `scheduled`, received at
    /// `now`, is due. A built-in policy's arithmetic is inlined into the caller (the
    /// schedule's `deliver`); only a custom policy is called through its vtable.
    #[inline(always)]
    pub(crate) fn next_tick_time(&self, interval: u64, scheduled: u64, now: u64) -> u64 {
        match self {
            Policy::TriggerAllMissed => {
                TriggerAllMissed.calculate_next_tick_time(interval, scheduled, now)
            }
            Policy::SkipMissedAndResync => {
                SkipMissedAndResync.calculate_next_tick_time(interval, scheduled, now)
            }
            Policy::SkipMissedAndDrift(policy) => {
                policy.calculate_next_tick_time(interval, scheduled, now)
            }
            Policy::TriggerMissedUpTo(policy) => {
                policy.calculate_next_tick_time(interval, scheduled, now)
            }
            Policy::Given(policy) => given_next_tick_time(policy, interval, scheduled, now),
            Policy::Custom(policy) => {
                (***policy).calculate_next_tick_time(interval, scheduled, now)
            }
        }
    }

    /// The policy the user gave, as [`Timer::missed_tick_policy`](crate::Timer::missed_tick_policy)
    /// returns it.
    pub(crate) fn as_dyn(&self) -> &dyn MissedTickPolicy {
        match self {
            Policy::TriggerAllMissed => &TriggerAllMissed,
            Policy::SkipMissedAndResync => &SkipMissedAndResync,
            Policy::SkipMissedAndDrift(policy) => policy,
            Policy::TriggerMissedUpTo(policy) => policy,
            Policy::Given(policy) => &**policy,
            Policy::Custom(policy) => &***policy,
        }
    }
}

/// The policy a built-in policy stands for: what a set's shared slot keeps.
impl From<BuiltinPolicy> for Policy {
    fn from(builtin: BuiltinPolicy) -> Self {
        match builtin {
            BuiltinPolicy::TriggerAllMissed => Policy::TriggerAllMissed,
            BuiltinPolicy::SkipMissedAndResync => Policy::SkipMissedAndResync,
            BuiltinPolicy::SkipMissedAndDrift(policy) => Policy::SkipMissedAndDrift(policy),
            BuiltinPolicy::TriggerMissedUpTo(policy) => Policy::TriggerMissedUpTo(policy),
        }
    }
}

/// A [`Policy::Given`]'s answer, out of line: a `BuiltinPolicy` given by value is rare
/// ([`TimerConfig`](crate::TimerConfig) gives the policy it stands for), and a second
/// copy of the built-in policies' arithmetic for it would only grow the tick path that
/// the schedule's `deliver` inlines.
#[cold]
#[inline(never)]
fn given_next_tick_time(policy: &BuiltinPolicy, interval: u64, scheduled: u64, now: u64) -> u64 {
    policy.calculate_next_tick_time(interval, scheduled, now)
}

/// Prints as the policy the user gave.
impl Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Debug::fmt(self.as_dyn(), f)
    }
}

/// Computes as the policy it stands for.
///
/// ```
/// use kadenz::policy::{BuiltinPolicy, MissedTickPolicy};
///
/// let policy: BuiltinPolicy = "skip-missed-and-resync".parse().unwrap();
/// assert_eq!(policy.calculate_next_tick_time(10, 30, 55), 60);
/// ```
impl MissedTickPolicy for BuiltinPolicy {
    #[inline]
    fn calculate_next_tick_time(&self, interval: u64, scheduled_tick_time: u64, now: u64) -> u64 {
        // The timers' own dispatch; the conversion makes only built-in variants, so it
        // compiles to the one switch.
        Policy::from(*self).next_tick_time(interval, scheduled_tick_time, now)
    }
}

/// Prints as `trigger-all-missed`, `skip-missed-and-resync`, `skip-missed-and-drift`,
/// `skip-missed-and-drift:5ms` or `trigger-missed-up-to:3`, what [`FromStr`] parses.
/// Width, fill, alignment and precision apply to the text as to a string's.
///
/// ```
/// use std::time::Duration;
/// use kadenz::policy::{BuiltinPolicy, SkipMissedAndDrift, TriggerMissedUpTo};
///
/// let drift = BuiltinPolicy::SkipMissedAndDrift(SkipMissedAndDrift::new(Duration::from_millis(5)));
/// assert_eq!(format!("[{drift:>28}]"), "[   skip-missed-and-drift:5ms]");
/// assert_eq!(format!("[{:^22}]", BuiltinPolicy::TriggerAllMissed), "[  trigger-all-missed  ]");
/// let up_to = BuiltinPolicy::TriggerMissedUpTo(TriggerMissedUpTo::new(3));
/// assert_eq!(format!("[{up_to:<24}]"), "[trigger-missed-up-to:3  ]");
/// ```
impl Display for BuiltinPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuiltinPolicy::TriggerAllMissed => Display::fmt(&TriggerAllMissed, f),
            BuiltinPolicy::SkipMissedAndResync => Display::fmt(&SkipMissedAndResync, f),
            BuiltinPolicy::SkipMissedAndDrift(policy) => Display::fmt(policy, f),
            BuiltinPolicy::TriggerMissedUpTo(policy) => Display::fmt(policy, f),
        }
    }
}

impl FromStr for BuiltinPolicy {
    type Err = Error;

    /// Parses one of the names in the [table](BuiltinPolicy).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPolicy`], naming the string, what is wrong with it and the names
    /// that are accepted.
    ///
    /// # Examples
    ///
    /// ```
    /// use kadenz::policy::BuiltinPolicy;
    ///
    /// assert_eq!("trigger-all-missed".parse(), Ok(BuiltinPolicy::TriggerAllMissed));
    /// assert!("TriggerAllMissed".parse::<BuiltinPolicy>().is_err());
    /// ```
    fn from_str(input: &str) -> Result<Self, Error> {
        let invalid = |problem| Error::InvalidPolicy {
            input: input.to_owned(),
            problem,
        };
        match input {
            TRIGGER_ALL_MISSED => Ok(BuiltinPolicy::TriggerAllMissed),
            SKIP_MISSED_AND_RESYNC => Ok(BuiltinPolicy::SkipMissedAndResync),
            SKIP_MISSED_AND_DRIFT => Ok(SkipMissedAndDrift::default().into()),
            TRIGGER_MISSED_UP_TO => Err(invalid(
                "has no bound: write the most missed ticks to replay after a colon",
            )),
            _ => {
                if let Some(max) = input
                    .strip_prefix(TRIGGER_MISSED_UP_TO)
                    .and_then(|rest| rest.strip_prefix(':'))
                {
                    return parse_max(max)
                        .map(|max| TriggerMissedUpTo::new(max).into())
                        .ok_or_else(|| {
                            invalid(
                                "has a bound that is not a whole number from 0 to \
                                 18446744073709551615",
                            )
                        });
                }
                let tolerance = input
                    .strip_prefix(SKIP_MISSED_AND_DRIFT)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .ok_or_else(|| invalid("is not the name of a built-in policy"))?;
                human_duration::parse(tolerance)
                    .map(|tolerance| SkipMissedAndDrift::new(tolerance).into())
                    .map_err(|problem| invalid(problem.describe_tolerance()))
            }
        }
    }
}

impl From<TriggerAllMissed> for BuiltinPolicy {
    fn from(_: TriggerAllMissed) -> Self {
        BuiltinPolicy::TriggerAllMissed
    }
}

impl From<SkipMissedAndResync> for BuiltinPolicy {
    fn from(_: SkipMissedAndResync) -> Self {
        BuiltinPolicy::SkipMissedAndResync
    }
}

/// A bound written as plain decimal digits (no sign, no spaces), as `Display` prints it.
fn parse_max(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl From<TriggerMissedUpTo> for BuiltinPolicy {
    fn from(policy: TriggerMissedUpTo) -> Self {
        BuiltinPolicy::TriggerMissedUpTo(policy)
    }
}

impl From<SkipMissedAndDrift> for BuiltinPolicy {
    fn from(policy: SkipMissedAndDrift) -> Self {
        BuiltinPolicy::SkipMissedAndDrift(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct EveryOther;

    impl MissedTickPolicy for EveryOther {
        fn calculate_next_tick_time(&self, interval: u64, scheduled: u64, _now: u64) -> u64 {
            scheduled + 2 * interval
        }
    }

    #[test]
    fn a_policy_is_kept_as_the_builtin_it_is_and_shows_as_given() {
        let drift = SkipMissedAndDrift::new(Duration::from_millis(5));
        let up_to = TriggerMissedUpTo::new(3);
        let cases: [(Policy, Option<BuiltinPolicy>, &str); 7] = [
            (
                Policy::new(TriggerAllMissed),
                Some(BuiltinPolicy::TriggerAllMissed),
                "TriggerAllMissed",
            ),
            (
                Policy::new(SkipMissedAndResync),
                Some(BuiltinPolicy::SkipMissedAndResync),
                "SkipMissedAndResync",
            ),
            (
                Policy::new(drift),
                Some(drift.into()),
                "SkipMissedAndDrift { delay_tolerance: 5ms }",
            ),
            (
                Policy::new(up_to),
                Some(up_to.into()),
                "TriggerMissedUpTo { max: 3 }",
            ),
            (
                Policy::new(BuiltinPolicy::from(drift)),
                Some(drift.into()),
                "SkipMissedAndDrift(SkipMissedAndDrift { delay_tolerance: 5ms })",
            ),
            (
                Policy::new(BuiltinPolicy::TriggerAllMissed),
                Some(BuiltinPolicy::TriggerAllMissed),
                "TriggerAllMissed",
            ),
            (Policy::new(EveryOther), None, "EveryOther"),
        ];
        for (policy, builtin, shown) in cases {
            assert_eq!(policy.builtin(), builtin, "{shown}");
            assert_eq!(format!("{policy:?}"), shown);
            assert_eq!(format!("{:?}", policy.as_dyn()), shown);
            assert!(matches!(
                (&policy, builtin),
                (Policy::Custom(_), None) | (_, Some(_))
            ));
            for (interval, scheduled, now) in [(10, 30, 55), (10, 30, 30), (1, 0, u64::MAX)] {
                assert_eq!(
                    policy.next_tick_time(interval, scheduled, now),
                    policy
                        .as_dyn()
                        .calculate_next_tick_time(interval, scheduled, now),
                    "{shown}"
                );
            }
        }
    }
}
