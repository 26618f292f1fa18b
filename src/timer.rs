//! The [`Timer`]: a schedule (`schedule.rs`) that waits on tokio's timer wheel, and the
//! [`NextTick`] future of [`Timer::tick`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use crate::handle::Owner;
use crate::histogram::DriftHistogram;
use crate::jitter::Jitter;
use crate::label::{Label, Relative};
use crate::policy::{MissedTickPolicy, Policy, SkipMissedAndDrift, TriggerAllMissed};
use crate::precise::Precise;
use crate::schedule::{saturating_micros, Due, Schedule, Start, State};
use crate::wait::{end_wait, poll_due, set_waited, wheel_still_waits, Step, Waits, WheelSleep};
use crate::wall_clock::Alignment;
use crate::{Stats, Tick, TimerBuilder, TimerHandle};

/// A drift-aware periodic or timeout timer.
///
/// A `Timer` ticks every [`interval`](Self::interval), starting one interval after it is
/// started. Each [`Tick`] says when it was due and how late it fired (its
/// [drift](Tick::drift)). When ticks are missed because the receiver was busy, the
/// timer's [`MissedTickPolicy`] decides when the next one is due; see the
/// [`policy`](crate::policy) module for the built-in policies.
///
/// Receive ticks with [`tick`](Self::tick), [`poll_tick`](Self::poll_tick) or as a
/// [`Stream`](futures_core::Stream).
///
/// # The first tick is one interval after the start
///
/// Unlike [`tokio::time::interval`], whose first tick completes immediately, a `Timer`'s
/// first tick is due one interval after it starts (plus the start delay, if any):
///
/// ```text
/// start                            (no tick here, unlike tokio's Interval)
///   |---- interval ----|---- interval ----|---- interval ----|
///                     tick 1            tick 2            tick 3
/// ```
///
/// # Life cycle
///
/// A timer is started when it is built (unless built with
/// [`auto_start(false)`](TimerBuilder::auto_start), in which case it starts on its first
/// [`reset`](Self::reset) or poll). [`stop`](Self::stop) stops it: receiving then yields
/// `None` until it is reset ([`wait_tick`](Self::wait_tick) waits for the reset instead).
/// A reset restarts the schedule from the current time.
///
/// # Runtimes
///
/// A timer always waits on the timer driver of the tokio runtime polling it, so it can
/// move freely between tasks, threads and runtimes, even in the middle of a wait (a
/// cancelled `tick()`), and it outlives the runtime that created it.
///
/// "Freely" holds between runtimes that share a clock: the schedule is a set of
/// [`tokio::time::Instant`]s, and a runtime whose clock is paused (`start_paused`,
/// `tokio::time::pause`) has a clock of its own that stands still or jumps. A timer
/// moved from a paused runtime to a running one (or back) keeps the instants it had, so
/// its next tick may come at once or much later than its interval. Between runtimes on
/// the real clock, the usual case in production, nothing changes.
///
/// One exception to "the runtime polling it": a poll that comes with the very waker the
/// wheel already holds for the timer ([`Waker::will_wake`](std::task::Waker::will_wake)),
/// while that wheel entry has not fired, looks no further (it is what makes a waiting
/// poll cheap). A task's waker belongs to its task, and a task to its runtime, so this
/// only shows with a waker that is not a task's, used on two runtimes in the middle of a
/// wait (a hand-made waker, or the thread's waker of `block_on` on a multi-thread
/// runtime): the timer keeps waiting on the first runtime's wheel until that fires or
/// shuts down (a shutdown fires every entry), then moves to the runtime polling it.
///
/// # Under a paused clock
///
/// A poll compares tokio's clock with the schedule, so after
/// `tokio::time::advance` a tick due at 1.5 ms is delivered at 1.5 ms. One rule, as for
/// a tokio `Sleep`: while the timer waits on the wheel, a poll takes the wheel's word and
/// does not read the clock, until the wheel fires the entry it waits on, on the wheel's
/// next whole millisecond at or after the entry's time. The timer waits on the wheel once
/// a poll returned `Pending` for its next tick (the entry is the tick's), and goes on
/// waiting through its own [`reset`](Self::reset) or [`reset_after`](Self::reset_after)
/// to a later due time: the entry stays at the earlier time (no trip to the timer
/// driver), the wheel wakes the task there, and the poll that finds the new tick not yet
/// due moves the entry to it. Any other change of the schedule (a tick, another reset, a
/// handle's command, a new interval, a stop) ends the wait for the rule's purposes until
/// the next poll that waits. A precise timer follows the same rule (under a paused clock
/// it asks no OS timer), and so does a jittered one, for its due time plus its offset
/// (a reset leaves it to the next poll). When the paused clock jumps forward on its own,
/// it moves like the driver sleeps: whole milliseconds, from the wheel slot of the
/// current time to the slot at or after the entry's time.
///
/// # Steering it
///
/// | to | call |
/// |---|---|
/// | start over from now | [`reset`](Self::reset), [`reset_after`](Self::reset_after), [`reset_at`](Self::reset_at), [`reset_immediately`](Self::reset_immediately) (how they differ from tokio's: [the four resets](Self::reset_at)) |
/// | change the period, keeping the phase | [`set_interval`](Self::set_interval) |
/// | put the next tick back on the wall clock's grid | [`realign`](Self::realign) |
/// | stop, until a reset | [`stop`](Self::stop) |
/// | do any of these from other tasks and threads | [`handle`](Self::handle) |
/// | see what it delivered | [`stats`](Self::stats), and each [`Tick`]'s [`missed`](Tick::missed) and [`skipped`](Tick::skipped) |
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use kadenz::Timer;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut timer = Timer::periodic(Duration::from_millis(100));
/// for _ in 0..3 {
///     let tick = timer.tick().await.expect("a running timer always ticks");
///     println!("due at {:?}, {:?} late", tick.scheduled(), tick.drift());
/// }
/// # }
/// ```
#[doc(alias = "interval")]
#[doc(alias = "Interval")]
#[doc(alias = "ticker")]
#[doc(alias = "Ticker")]
#[doc(alias = "watchdog")]
pub struct Timer {
    schedule: Schedule,
    policy: Policy,
    /// Created on the first wait, so that a timer can be built (and reset) outside a
    /// runtime. With who made it (the runtime whose timer driver wakes it) and the waker
    /// the wheel holds.
    sleep: WheelSleep,
    /// What only some timers use, boxed so that the others pay one null pointer for it.
    extras: Option<Box<Extras>>,
}

/// A timer waits on its wheel `Sleep`, and on its OS timer if it is precise.
impl Waits for Timer {
    #[inline(always)]
    fn waiting(&mut self) -> (&mut WheelSleep, Option<&mut Precise>) {
        let precise = self
            .extras
            .as_deref_mut()
            .and_then(|extras| extras.precise.as_mut());
        (&mut self.sleep, precise)
    }
}

/// The parts of a timer that only some timers need.
#[derive(Debug, Default)]
struct Extras {
    /// The timer's side of its handles, once one was made.
    owner: Option<Owner>,
    /// The wall-clock grid of `realign` (the system clock and no offset if `None`).
    alignment: Option<Alignment>,
    /// The name of `TimerBuilder::name` and, with the `tracing` feature, what the timer
    /// reports.
    label: Label,
    /// The OS timer of a precise timer (always `None`, of no size, without the feature).
    precise: Option<Precise>,
    /// The offsets of `TimerBuilder::jitter`.
    jitter: Option<Jitter>,
    /// The drifts of `TimerBuilder::record_drift`.
    histogram: Option<DriftHistogram>,
}

impl Extras {
    /// Applies what the timer's handles asked for since it last looked; a moved pending
    /// tick ends the wheel's word.
    #[inline(always)]
    fn sync(&mut self, schedule: &mut Schedule, sleep: &mut WheelSleep) {
        if let Some(owner) = &mut self.owner {
            if owner.sync(schedule) {
                end_wait(sleep);
            }
        }
    }
}

impl Timer {
    /// A periodic timer that fires every missed tick ([`TriggerAllMissed`]).
    ///
    /// It tries as hard as possible to deliver one tick per interval: after a delay, the
    /// missed ticks come in a burst and the timer returns to its original phase. Use
    /// [`TimerBuilder::skip_missed_ticks`] to skip them instead.
    ///
    /// # Panics
    ///
    /// Panics, with a message naming the value, if `interval` is under 1 µs or longer than
    /// `u64::MAX` µs, or if called outside a tokio runtime. [`Timer::builder`] returns these
    /// as an [`Error`](crate::Error) instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::periodic(Duration::from_secs(1));
    /// let tick = timer.tick().await.unwrap();
    /// assert_eq!(tick.drift(), Duration::ZERO);
    /// # }
    /// ```
    #[track_caller]
    #[must_use]
    pub fn periodic(interval: Duration) -> Timer {
        Self::new(interval, TriggerAllMissed)
    }

    /// A timeout timer: fires `delay` after the last start, reset, or tick.
    ///
    /// The policy is [`SkipMissedAndDrift`](crate::policy::SkipMissedAndDrift) with zero
    /// tolerance: after a late tick, the next one is due a whole `delay` later, whatever the
    /// drift was. Call [`reset`](Self::reset) whenever the awaited event happens.
    ///
    /// Unlike [`tokio::time::timeout`], which wraps one future and fires once, a timeout
    /// timer re-arms itself after firing: if nothing resets it, it fires again every
    /// `delay` (a watchdog that keeps reporting a silent device). [`stop`](Self::stop) it
    /// after the first trip if once is enough. For a watchdog entry of a
    /// [`TimerSet`](crate::TimerSet), insert [`Timer::timeout_builder`].
    ///
    /// When a reply and the deadline become ready together (both due by the time the task
    /// runs), `tokio::select!` picks a branch at random, and may report a timeout although
    /// the reply had arrived. Put `biased;` first in the `select!` and the reply branch
    /// before the timer's, as below, so that a reply that is there always wins.
    ///
    /// # Panics
    ///
    /// Panics, with a message naming the value, if `delay` is under 1 µs or longer than
    /// `u64::MAX` µs, or if called outside a tokio runtime. [`Timer::builder`] returns these
    /// as an [`Error`](crate::Error) instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    /// use tokio::sync::mpsc;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (tx, mut rx) = mpsc::channel::<u32>(8);
    /// tokio::spawn(async move {
    ///     for n in 0..3 {
    ///         tx.send(n).await.unwrap();
    ///         tokio::time::sleep(Duration::from_millis(50)).await;
    ///     }
    ///     std::future::pending::<()>().await; // the device goes quiet
    /// });
    ///
    /// let mut watchdog = Timer::timeout(Duration::from_millis(100));
    /// loop {
    ///     tokio::select! {
    ///         biased; // a reply that is there wins over the deadline
    ///         Some(_) = rx.recv() => watchdog.reset(),
    ///         // `wait_tick`, not `tick`: should a handle stop the watchdog, `tick()` would
    ///         // complete with `None`, which this branch's pattern cannot take, and the
    ///         // branch would stay disabled until another branch fires; `wait_tick`
    ///         // waits for the restart instead.
    ///         tick = watchdog.wait_tick() => {
    ///             println!("no data for {:?}", watchdog.interval() + tick.drift());
    ///             break;
    ///         }
    ///     }
    /// }
    /// # }
    /// ```
    #[track_caller]
    #[must_use]
    pub fn timeout(delay: Duration) -> Timer {
        Self::new(delay, SkipMissedAndDrift::default())
    }

    /// The builder of a [timeout](Self::timeout) timer: for a watchdog entry of a
    /// [`TimerSet`](crate::TimerSet) in one call (an entry is inserted as a builder, so
    /// `set.insert(key, Timer::timeout(delay))` does not compile), or a timeout timer
    /// with more options (a name, a start delay, errors instead of panics).
    ///
    /// `Timer::builder(delay)` with the policy of [`Timer::timeout`]: `SkipMissedAndDrift`
    /// with zero tolerance.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Timer, TimerSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), kadenz::Error> {
    /// let start = tokio::time::Instant::now();
    /// let mut watchdogs = TimerSet::new();
    /// watchdogs.insert("plc-1", Timer::timeout_builder(Duration::from_millis(100)))?;
    /// tokio::time::advance(Duration::from_millis(250)).await; // the task was busy
    /// let (_, tick) = watchdogs.next().await;
    /// assert_eq!(tick.drift(), Duration::from_millis(150));
    /// // A timeout re-arms a whole delay after a late trip, not on the old grid.
    /// assert_eq!(watchdogs.deadline("plc-1"), Some(start + Duration::from_millis(350)));
    ///
    /// let timer = Timer::timeout_builder(Duration::from_secs(1)).name("link").build()?;
    /// assert_eq!(format!("{:?}", timer.missed_tick_policy()), "SkipMissedAndDrift { delay_tolerance: 0ns }");
    /// # Ok(())
    /// # }
    /// ```
    pub fn timeout_builder(delay: Duration) -> TimerBuilder {
        Self::builder(delay).missed_tick_policy(SkipMissedAndDrift::default())
    }

    /// A started timer with the given interval and missed-tick policy.
    ///
    /// # Panics
    ///
    /// Panics, with a message naming the value, if `interval` is under 1 µs or longer than
    /// `u64::MAX` µs, or if called outside a tokio runtime. [`Timer::builder`] returns these
    /// as an [`Error`](crate::Error) instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    /// use kadenz::policy::SkipMissedAndResync;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let timer = Timer::new(Duration::from_millis(250), SkipMissedAndResync);
    /// assert!(timer.is_running());
    /// # }
    /// ```
    #[track_caller]
    #[must_use]
    pub fn new(interval: Duration, policy: impl MissedTickPolicy) -> Timer {
        // What `build` does for a builder without options, without the builder (a third
        // of making a timer): the same checks, the same start.
        let checked = crate::builder::interval_micros(interval)
            .and_then(|interval_us| crate::builder::in_a_runtime().map(|()| interval_us));
        let interval_us = match checked {
            Ok(interval_us) => interval_us,
            Err(err) => panic!("{err}"),
        };
        let mut timer = Self::from_parts(interval_us, Policy::new(policy), None);
        timer.schedule.start(Start::After {
            at: Instant::now(),
            delay_us: 0,
        });
        timer
    }

    /// A builder, for a start delay, a timer started later, or errors instead of panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Error, Timer};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Error> {
    /// let timer = Timer::builder(Duration::from_millis(100))
    ///     .skip_missed_ticks(true)
    ///     .start_delay(Duration::from_millis(30))
    ///     .build()?;
    /// assert_eq!(timer.deadline(), Some(tokio::time::Instant::now() + Duration::from_millis(130)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(interval: Duration) -> TimerBuilder {
        TimerBuilder::new(interval)
    }

    pub(crate) fn from_parts(
        interval_us: u64,
        policy: Policy,
        alignment: Option<Alignment>,
    ) -> Timer {
        Timer {
            schedule: Schedule::new(interval_us),
            policy,
            sleep: None,
            extras: alignment.map(|alignment| {
                Box::new(Extras {
                    alignment: Some(alignment),
                    ..Extras::default()
                })
            }),
        }
    }

    /// Waits for the next tick; `None` if the timer is stopped.
    ///
    /// Equivalent to `poll_fn(|cx| timer.poll_tick(cx))`. A timer built with
    /// `auto_start(false)` starts here if it was never started.
    ///
    /// The `None` of a stopped timer completes at once and leaves no waker: it ends a
    /// loop (or a `select!` branch) for the owner to decide what next. A loop that should
    /// go on waiting while the timer is stopped, until a [`TimerHandle`] or the owner
    /// restarts it (a watchdog that other tasks pause and resume), awaits
    /// [`wait_tick`](Self::wait_tick) instead: `tick()` in a loop would spin on the
    /// `None`s of a stopped timer.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe. A tick is consumed only when the returned future
    /// completes with it; dropping the future before that (say, because another branch of
    /// a `tokio::select!` won) loses nothing, and the next call receives the same tick.
    ///
    /// # Panics
    ///
    /// Panics if the timer has to wait and is polled outside a tokio runtime, or on a
    /// runtime built without the time driver (no `enable_time()`), with tokio's message,
    /// as [`tokio::time::sleep`] does: tokio offers no way to tell beforehand. A panic of
    /// the timer's [`MissedTickPolicy`] propagates to the caller, and leaves the timer
    /// stopped: the tick being delivered is lost, and a [`reset`](Self::reset) starts it
    /// again.
    ///
    /// # Examples
    ///
    /// A stopped timer drops out of a `select!` loop by itself:
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut heartbeat = Timer::periodic(Duration::from_secs(1));
    /// let mut beats = 0;
    /// loop {
    ///     tokio::select! {
    ///         Some(_) = heartbeat.tick() => {
    ///             beats += 1;
    ///             if beats == 3 {
    ///                 heartbeat.stop();
    ///             }
    ///         }
    ///         else => break,
    ///     }
    /// }
    /// assert_eq!(beats, 3);
    /// # }
    /// ```
    pub fn tick(&mut self) -> NextTick<'_> {
        NextTick { timer: self }
    }

    /// Waits for the next tick, through stops: while the timer is stopped it waits for
    /// the reset that starts it again, instead of completing with `None`.
    ///
    /// The loop of a watchdog that other tasks pause and resume through
    /// [`TimerHandle`]s: [`tick`](Self::tick) completes at once with `None` while the
    /// timer is stopped, and in a `tokio::select!` a branch whose pattern (`Some(tick)`)
    /// does not match is disabled until the `select!` is entered again, so a restart from
    /// a handle would go unnoticed. `wait_tick` has no `None` to disable its branch: a
    /// stopped timer simply delivers nothing (as Go's stopped `Ticker` does), and a
    /// handle's [`reset`](TimerHandle::reset) (or any other restart) wakes the task. A
    /// stopped timer without handles stays pending until its owner restarts it, say from
    /// another branch of the same `select!`; nothing spins meanwhile (one poll, then
    /// none until a restart).
    ///
    /// Equivalent to `poll_fn(|cx| timer.poll_wait_tick(cx))`.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe, as [`tick`](Self::tick): a tick is consumed only when
    /// the returned future completes with it.
    ///
    /// # Panics
    ///
    /// As [`tick`](Self::tick).
    ///
    /// # Examples
    ///
    /// A watchdog that a reader pauses and resumes:
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let mut watchdog = Timer::timeout(Duration::from_millis(100));
    /// let handle = watchdog.handle();
    /// tokio::spawn(async move {
    ///     tokio::time::sleep(Duration::from_millis(50)).await;
    ///     handle.stop(); // paused for maintenance
    ///     tokio::time::sleep(Duration::from_millis(500)).await;
    ///     handle.reset(); // watching again, at 550 ms
    /// });
    /// let tick = watchdog.wait_tick().await;
    /// assert_eq!(tick.scheduled(), start + Duration::from_millis(650));
    /// # }
    /// ```
    pub fn wait_tick(&mut self) -> WaitTick<'_> {
        WaitTick { timer: self }
    }

    /// Polls for the next tick, through stops: `Pending` while the timer is stopped (the
    /// waker of `cx` is left with the timer's handles, if it has any, and woken by a
    /// restart), else as [`poll_tick`](Self::poll_tick).
    ///
    /// # Panics
    ///
    /// As [`poll_tick`](Self::poll_tick).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::task::Poll;
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::periodic(Duration::from_millis(10));
    /// timer.stop();
    /// assert!(poll_fn(|cx| Poll::Ready(timer.poll_wait_tick(cx).is_pending())).await);
    /// timer.reset();
    /// let tick = poll_fn(|cx| timer.poll_wait_tick(cx)).await;
    /// assert_eq!(tick.drift(), Duration::ZERO);
    /// # }
    /// ```
    pub fn poll_wait_tick(&mut self, cx: &mut Context<'_>) -> Poll<Tick> {
        loop {
            self.sync();
            if self.schedule.state == State::Stopped {
                // With handles, a restart from one of them wakes this waker; without, only
                // the owner can restart the timer, and it polls again after that.
                if self.register(cx) {
                    return Poll::Pending;
                }
                continue;
            }
            // `None` only if a handle stopped the timer since the look above: wait then.
            if let Some(tick) = ready!(self.poll_tick(cx)) {
                return Poll::Ready(tick);
            }
        }
    }

    /// Polls for the next tick; `Ready(None)` if the timer is stopped.
    ///
    /// When `Pending` is returned, the waker of `cx` is woken when the tick is due. Only
    /// the waker of the latest call is woken. A timer built with `auto_start(false)` starts
    /// here if it was never started.
    ///
    /// When ticks are overdue, each call consumes a unit of tokio's cooperative budget, so
    /// that a long catch-up burst yields to the other tasks of the runtime now and then.
    ///
    /// # Panics
    ///
    /// Panics if the timer has to wait and is polled outside a tokio runtime, or on a
    /// runtime built without the time driver (no `enable_time()`), with tokio's message,
    /// as [`tokio::time::sleep`] does: tokio offers no way to tell beforehand. A panic of
    /// the timer's [`MissedTickPolicy`] propagates to the caller, and leaves the timer
    /// stopped: the tick being delivered is lost, and a [`reset`](Self::reset) starts it
    /// again.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::periodic(Duration::from_millis(10));
    /// let tick = poll_fn(|cx| timer.poll_tick(cx)).await;
    /// assert!(tick.is_some());
    /// # }
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Option<Tick>> {
        self.poll::<false>(cx)
    }

    /// The poll of a timer that does more per tick (jitter, a drift histogram): out of
    /// line, so that the tick path of the others is the one they have without these.
    #[inline(never)]
    fn poll_per_tick_extras(&mut self, cx: &mut Context<'_>) -> Poll<Option<Tick>> {
        self.poll::<true>(cx)
    }

    /// `poll_tick`, for a timer with per-tick extras (`EXTRAS`: jitter, a drift
    /// histogram) or for one that, as it finds in its extras, has none.
    #[inline(always)]
    fn poll<const EXTRAS: bool>(&mut self, cx: &mut Context<'_>) -> Poll<Option<Tick>> {
        loop {
            // Apply the handles' commands, and turn to the other poll for per-tick extras,
            // behind the one branch on the extras pointer that a timer without extras takes.
            if let Some(extras) = self.extras.as_deref_mut() {
                if !EXTRAS && (extras.jitter.is_some() || extras.histogram.is_some()) {
                    return self.poll_per_tick_extras(cx);
                }
                extras.sync(&mut self.schedule, &mut self.sleep);
            }
            // The wheel already waits, for this poller, for this very tick or an earlier
            // time: its word is enough, and neither the clock nor the due time is read
            // (most of a waiting poll's cost). So once a poll has left the timer waiting
            // on the wheel, the tick comes when the wheel fires, on its millisecond slot,
            // as a tokio `Sleep`'s does (the type's "Under a paused clock").
            if wheel_still_waits(&mut self.sleep, cx) {
                if self.register(cx) {
                    return Poll::Pending;
                }
                continue;
            }
            // Ask the schedule.
            let due = match self.schedule.due() {
                Due::NotStarted => {
                    self.start(Start::After {
                        at: Instant::now(),
                        delay_us: 0,
                    });
                    continue;
                }
                Due::Stopped => {
                    // A `Ready` like any other: without taking budget, a loop that polls
                    // a stopped timer (`_ = timer.tick()` in a `select!`) would never
                    // give its thread back to the runtime.
                    ready!(tokio::task::coop::poll_proceed(cx)).made_progress();
                    return Poll::Ready(None);
                }
                // Beyond the end of the time line: nothing will ever be due, so only a
                // command from a handle can wake the task.
                Due::Never if self.register(cx) => return Poll::Pending,
                Due::Never => continue,
                Due::At(due) => due,
            };
            // With jitter, the tick fires `offset` after its due time.
            let (offset, fires) = if EXTRAS {
                let offset = self.jitter_offset();
                (offset, due.checked_add(offset).unwrap_or(due))
            } else {
                (Duration::ZERO, due)
            };
            // Wait, or deliver.
            let now = match ready!(poll_due(self, cx, fires)) {
                Step::Deliver(now) => now,
                Step::Wait if self.register(cx) => return Poll::Pending,
                // A command from a handle arrived meanwhile: apply it first.
                Step::Wait | Step::Again => continue,
            };
            if let Some(extras) = self.extras.as_deref_mut() {
                return Poll::Ready(Some(deliver_with_extras(
                    &mut self.schedule,
                    &self.policy,
                    extras,
                    due,
                    offset,
                    now,
                )));
            }
            return Poll::Ready(Some(self.schedule.deliver(&self.policy, due, now)));
        }
    }

    /// The jitter of the pending tick (zero without jitter or without a pending tick).
    fn jitter_offset(&self) -> Duration {
        self.offset_in(&self.schedule)
    }

    /// The jitter of the pending tick of `schedule`, this timer's or a view of it.
    fn offset_in(&self, schedule: &Schedule) -> Duration {
        let jitter = self.extras.as_deref().and_then(|extras| extras.jitter);
        match (jitter, schedule.state) {
            (Some(jitter), State::Running { next_us, .. }) => {
                Duration::from_micros(jitter.offset_us(next_us))
            }
            _ => Duration::ZERO,
        }
    }

    /// When the pending tick of `view` fires: its due time plus its jitter.
    fn fires_at(&self, view: &Schedule) -> Due {
        match view.due() {
            Due::At(due) => Due::At(due.checked_add(self.offset_in(view)).unwrap_or(due)),
            other => other,
        }
    }

    /// Gives the timer the jitter of its builder.
    pub(crate) fn set_jitter(&mut self, jitter: Jitter) {
        self.extras.get_or_insert_with(Box::default).jitter = Some(jitter);
    }

    /// Makes the timer keep a histogram of its ticks' drifts.
    pub(crate) fn record_drift(&mut self) {
        self.extras.get_or_insert_with(Box::default).histogram = Some(DriftHistogram::new());
    }

    /// The histogram of the drifts of the ticks delivered so far, if the timer was built
    /// with [`record_drift(true)`](TimerBuilder::record_drift): quantiles such as p50 and
    /// p99, next to the largest drift of [`stats`](Self::stats).
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
    /// for _ in 0..100 {
    ///     timer.tick().await;
    /// }
    /// let drifts = timer.drift_histogram().unwrap();
    /// println!("p50 {:?}, p99 {:?}, max {:?}", drifts.p50(), drifts.p99(), drifts.max());
    /// assert_eq!(drifts.count(), timer.stats().delivered());
    /// # }
    /// ```
    #[must_use]
    pub fn drift_histogram(&self) -> Option<&DriftHistogram> {
        self.extras
            .as_deref()
            .and_then(|extras| extras.histogram.as_ref())
    }

    fn has_jitter(&self) -> bool {
        self.extras
            .as_deref()
            .is_some_and(|extras| extras.jitter.is_some())
    }

    /// Applies what the timer's handles asked for since it last looked. Without handles,
    /// one branch on a null pointer.
    fn sync(&mut self) {
        if let Some(extras) = self.extras.as_deref_mut() {
            extras.sync(&mut self.schedule, &mut self.sleep);
        }
    }

    /// Lets the handles wake the task of a poll that returns `Pending` (the wheel wakes
    /// it anyway at the due time, if there is one); `false` if a command arrived
    /// meanwhile (poll again).
    #[inline]
    fn register(&mut self, cx: &Context<'_>) -> bool {
        if !matches!(self.extras.as_deref(), Some(Extras { owner: Some(_), .. })) {
            return true;
        }
        self.register_with_handles(cx)
    }

    /// [`register`](Self::register) for a timer with handles: out of line, so that the
    /// others' poll inlines the one check above, as before jitter came.
    #[inline(never)]
    fn register_with_handles(&mut self, cx: &Context<'_>) -> bool {
        // When the wheel wakes the task: a jittered tick's offset included (a handle
        // compares its command's due time, which is no later than the instant that
        // command's tick fires, so it never misses a wake-up).
        let armed = self.fires_at(&self.schedule).at();
        match self.extras.as_deref_mut() {
            Some(Extras {
                owner: Some(owner), ..
            }) => owner.register(cx.waker(), armed),
            _ => true,
        }
    }

    /// The schedule with the handles' waiting commands applied, for `&self` methods.
    fn view(&self) -> Schedule {
        match self.extras.as_deref() {
            Some(Extras {
                owner: Some(owner), ..
            }) => owner.peek(&self.schedule),
            _ => self.schedule,
        }
    }

    /// Tells the handles, if any, what the timer did by itself.
    fn publish(&self) {
        if let Some(Extras {
            owner: Some(owner), ..
        }) = self.extras.as_deref()
        {
            owner.publish(&self.schedule);
        }
    }

    pub(crate) fn start(&mut self, start: Start) {
        self.sync();
        self.schedule.start(start);
        self.publish();
        // A restart one interval (and a delay) from now leaves the wheel entry where it
        // is, if that is no later than the new due time and has not fired: the wheel
        // wakes the task then, and the poll that finds the tick not yet due moves the
        // entry (Go's timers defer a later reset the same way, tokio's `Sleep` moves its
        // entry later without the driver's lock for the same reason). Until then a poll
        // takes the wheel's word and need not read the clock: the watchdog's reset then
        // poll touches neither the clock twice nor the driver. A due time that may have
        // come already (`reset_at`, `reset_immediately`) is left to the next poll, which
        // reads the clock and delivers it at once.
        // Any other restart ends the wheel's word. The wheel first: a timer being built
        // has none, and skips the rest.
        let mut waited = false;
        if let (Some(wheel), Start::After { .. }) = (&self.sleep, start) {
            // A precise timer served by its OS timer, or a jittered one, waits for another
            // instant than the due time.
            let on_the_wheel = self.takes_the_wheels_word() && !self.has_jitter();
            if let (Due::At(due), true) = (self.schedule.due(), on_the_wheel) {
                waited = wheel.deadline() <= due && !wheel.is_elapsed();
            }
        }
        set_waited(&mut self.sleep, waited);
    }

    /// Whether the wheel's word on the pending tick is final: for a default timer, and for
    /// a precise one whose last wait asked no OS timer (tokio's clock was paused), so
    /// that both deliver the same ticks. Otherwise the OS timer wakes the timer before
    /// the wheel does, and every poll reads the clock.
    fn takes_the_wheels_word(&self) -> bool {
        self.precise().map_or(true, Precise::wheel_alone)
    }

    /// The precise state of a timer built precise (whether or not an OS timer serves it).
    fn precise(&self) -> Option<&Precise> {
        self.extras
            .as_deref()
            .and_then(|extras| extras.precise.as_ref())
    }

    pub(crate) fn alignment(&self) -> Option<&Alignment> {
        self.extras
            .as_deref()
            .and_then(|extras| extras.alignment.as_ref())
    }

    /// Makes the timer precise: it also asks the OS timer to wake it, where there is one
    /// (only with the feature: a plan is precise only then).
    pub(crate) fn make_precise(&mut self) {
        self.extras.get_or_insert_with(Box::default).precise = Precise::new_if(true);
    }

    /// Gives the timer the name and reporting of its builder (a non-empty label).
    pub(crate) fn set_label(&mut self, label: Label) {
        self.extras.get_or_insert_with(Box::default).label = label;
    }

    /// The timer's name, if its builder gave it one ([`TimerBuilder::name`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// let timer = Timer::builder(Duration::from_secs(1))
    ///     .name("pump")
    ///     .auto_start(false)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(timer.name(), Some("pump"));
    /// assert_eq!(Timer::builder(Duration::from_secs(1)).auto_start(false).build().unwrap().name(), None);
    /// ```
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.extras
            .as_deref()
            .and_then(|extras| extras.label.name())
    }

    /// Whether the timer is precise and an OS timer serves it (cargo feature `precise`).
    ///
    /// # Precision
    ///
    /// `true` for a timer built with [`TimerBuilder::precise`]`(true)` on Linux, unless
    /// its last wait found no OS timer (no file descriptor left for a timerfd): that wait
    /// was on the wheel, and the next one tries again. Which OS timer serves it (the
    /// runtime's reactor, or kadenz's thread on a runtime without tokio's IO driver),
    /// the coalescing bound and the paused clock: see the `# Precision` section of
    /// [`TimerBuilder::precise`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let timer = Timer::builder(Duration::from_millis(1)).precise(true).build().unwrap();
    /// // On Linux, a timerfd serves it; elsewhere it waits on tokio's wheel.
    /// assert_eq!(timer.is_precise(), cfg!(target_os = "linux"));
    /// assert!(!Timer::periodic(Duration::from_millis(1)).is_precise());
    /// # }
    /// ```
    #[cfg(feature = "precise")]
    #[cfg_attr(docsrs, doc(cfg(feature = "precise")))]
    #[must_use]
    pub fn is_precise(&self) -> bool {
        self.precise().is_some_and(Precise::is_available)
    }

    /// Restarts the timer from now: the next tick is due one interval from now.
    ///
    /// Missed ticks are forgotten. This also starts a stopped timer, or one built with
    /// `auto_start(false)`. Calling it outside a runtime is allowed: the start is taken
    /// from [`tokio::time::Instant::now`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::timeout(Duration::from_millis(100));
    /// tokio::time::advance(Duration::from_millis(70)).await;
    /// timer.reset();
    /// assert_eq!(timer.deadline(), Some(tokio::time::Instant::now() + Duration::from_millis(100)));
    /// # }
    /// ```
    pub fn reset(&mut self) {
        self.start(Start::After {
            at: Instant::now(),
            delay_us: 0,
        });
    }

    /// Restarts the timer from now plus `start_delay`: the next tick is due one interval
    /// after that (a start delay, as in frequenz; tokio's `Interval::reset_after(d)` puts
    /// the next tick at `now + d` instead: see the [table](Timer#the-four-resets)).
    ///
    /// A delay beyond `u64::MAX` µs saturates (the timer will not fire again until reset).
    /// Otherwise as [`reset`](Self::reset).
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
    /// let mut timer = Timer::periodic(Duration::from_millis(100));
    /// timer.reset_after(Duration::from_millis(50));
    /// let tick = timer.tick().await.unwrap();
    /// assert_eq!(tick.scheduled(), start + Duration::from_millis(150));
    /// # }
    /// ```
    pub fn reset_after(&mut self, start_delay: Duration) {
        self.start(Start::After {
            at: Instant::now(),
            delay_us: saturating_micros(start_delay),
        });
    }

    /// Restarts the timer with its next tick due at `first_tick`, then every interval.
    ///
    /// Missed ticks are forgotten, and a stopped timer starts. An instant in the past is
    /// a late tick like any other: it fires at once with the matching drift, and the
    /// policy decides what follows. The policy's time line starts at `first_tick`.
    ///
    /// # The four resets
    ///
    /// | call | next tick due at (kadenz) | tokio's `Interval` method of the same name |
    /// |---|---|---|
    /// | [`reset()`](Self::reset) | now + interval | now + period: the same |
    /// | [`reset_after(d)`](Self::reset_after) | now + `d` + interval (`d` is a start delay, as in frequenz) | now + `d`: **different** |
    /// | `reset_at(t)` | `t` | `t`: the same |
    /// | [`reset_immediately()`](Self::reset_immediately) | now | now: the same |
    ///
    /// Every one of them then ticks every interval, starts a stopped timer, and forgets
    /// the ticks that were missed.
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
    /// let mut timer = Timer::periodic(Duration::from_millis(100));
    /// timer.reset_at(start + Duration::from_millis(30));
    /// assert_eq!(timer.tick().await.unwrap().scheduled(), start + Duration::from_millis(30));
    /// assert_eq!(timer.tick().await.unwrap().scheduled(), start + Duration::from_millis(130));
    /// # }
    /// ```
    pub fn reset_at(&mut self, first_tick: Instant) {
        self.start(Start::At(first_tick));
    }

    /// Restarts the timer with its next tick due now, then every interval.
    ///
    /// The same as `reset_at(Instant::now())`; see the [table](Timer#the-four-resets).
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
    /// let mut timer = Timer::periodic(Duration::from_secs(1));
    /// timer.reset_immediately();
    /// assert_eq!(timer.tick().await.unwrap().scheduled(), start);
    /// assert_eq!(timer.tick().await.unwrap().scheduled(), start + Duration::from_secs(1));
    /// # }
    /// ```
    pub fn reset_immediately(&mut self) {
        self.start(Start::At(Instant::now()));
    }

    /// Changes the interval, keeping the rhythm.
    ///
    /// From now on the timer ticks every `interval`. The pending tick moves to one new
    /// interval after the tick before it (after the start, if no tick was due since), so
    /// reloading a configuration does not shift the phase; if that time has passed, the
    /// tick fires at once as a late tick. A pending tick put at an instant
    /// ([`tick_at_start`](TimerBuilder::tick_at_start), [`reset_at`](Self::reset_at),
    /// [`reset_immediately`](Self::reset_immediately), wall-clock alignment) stays where it
    /// is. Precisely: the pending due time becomes `due - old + new` (saturating at the
    /// start of the time line). [`interval`](Self::interval) reports `interval` at once.
    ///
    /// To restart from now with the new interval instead (frequenz's
    /// `reset(interval=...)`, Go's `Ticker.Reset(d)`), call [`reset`](Self::reset) after it.
    ///
    /// ```text
    /// set_interval(50 ms) at 130 ms, on a 100 ms timer that last ticked at 100 ms:
    ///   before  0 ------ 100 ------ 200 ------ 300
    ///   after   0 ------ 100 -- 150 -- 200 -- 250
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::IntervalTooShort`](crate::Error::IntervalTooShort) or
    /// [`Error::IntervalTooLong`](crate::Error::IntervalTooLong), as
    /// [`TimerBuilder::build`], and [`Error::JitterTooLong`](crate::Error::JitterTooLong)
    /// for an interval shorter than the timer's [jitter](TimerBuilder::jitter); the timer
    /// is left as it was.
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
    /// let mut timer = Timer::periodic(Duration::from_millis(100));
    /// timer.tick().await; // at 100 ms
    /// tokio::time::advance(Duration::from_millis(30)).await;
    /// timer.set_interval(Duration::from_millis(50))?;
    /// assert_eq!(timer.tick().await.unwrap().scheduled(), start + Duration::from_millis(150));
    /// assert_eq!(timer.tick().await.unwrap().scheduled(), start + Duration::from_millis(200));
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_interval(&mut self, interval: Duration) -> Result<(), crate::Error> {
        let interval_us = crate::builder::interval_micros(interval)?;
        if let Some(jitter) = self.extras.as_deref().and_then(|extras| extras.jitter) {
            Jitter::check(jitter.max_us, interval, interval_us)?;
        }
        self.sync();
        if self.schedule.set_interval(interval_us) {
            end_wait(&mut self.sleep);
        }
        self.publish();
        Ok(())
    }

    /// Puts the next tick back on the wall clock's grid: the next whole multiple of the
    /// interval since the Unix epoch (plus the builder's offset), strictly after now.
    ///
    /// Uses the offset and the clock of
    /// [`align_to_wall_clock`](TimerBuilder::align_to_wall_clock) and
    /// [`wall_clock`](TimerBuilder::wall_clock); for a timer built without them, no offset
    /// and the [`SystemClock`](crate::SystemClock). Like a reset, it starts a stopped timer
    /// and forgets missed ticks. See the builder's
    /// [wall-clock notes](TimerBuilder#when-the-wall-clock-jumps) for
    /// when to call it.
    ///
    /// # When the wall clock stepped back
    ///
    /// `realign` puts the next tick on the next grid point after the wall clock's *now*.
    /// After the wall clock stepped back (an NTP correction, a manual change), that can be
    /// a grid point a tick was already delivered for: with a 15-minute grid, the tick of
    /// 00:45:00 fires, the clock steps back 2 s to 00:44:58, and after `realign` the next
    /// tick is 00:45:00 again, 2 s later. The timer does not remember wall-clock times,
    /// so a loop that closes metering periods keeps the last grid point it closed and
    /// skips a tick whose grid point is not after it (second example below).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    /// use kadenz::{Timer, WallClock};
    ///
    /// /// A wall clock the test sets by hand, in milliseconds since the epoch.
    /// #[derive(Debug, Default)]
    /// struct Manual(AtomicU64);
    ///
    /// impl WallClock for Manual {
    ///     fn now(&self) -> SystemTime {
    ///         UNIX_EPOCH + Duration::from_millis(self.0.load(Ordering::Relaxed))
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let clock = Arc::new(Manual::default());
    /// let mut timer = Timer::builder(Duration::from_secs(1))
    ///     .align_to_wall_clock(Duration::ZERO)
    ///     .wall_clock(clock.clone())
    ///     .build()
    ///     .unwrap();
    /// let now = tokio::time::Instant::now();
    /// assert_eq!(timer.deadline(), Some(now + Duration::from_secs(1)));
    ///
    /// clock.0.store(300, Ordering::Relaxed); // the wall clock steps 300 ms ahead
    /// timer.realign();
    /// assert_eq!(timer.deadline(), Some(now + Duration::from_millis(700)));
    /// # }
    /// ```
    ///
    /// A metering loop after the wall clock stepped back: the grid point 1 s comes twice,
    /// and the loop closes it once.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    /// use kadenz::{Timer, WallClock};
    /// use tokio::time::Instant;
    ///
    /// /// A wall clock that runs with tokio's, set back by hand.
    /// #[derive(Debug)]
    /// struct Stepped {
    ///     start: Instant,
    ///     back_ms: AtomicU64,
    /// }
    ///
    /// impl WallClock for Stepped {
    ///     fn now(&self) -> SystemTime {
    ///         let back = Duration::from_millis(self.back_ms.load(Ordering::Relaxed));
    ///         UNIX_EPOCH + self.start.elapsed() - back
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let clock = std::sync::Arc::new(Stepped { start: Instant::now(), back_ms: AtomicU64::new(0) });
    /// let mut timer = Timer::builder(Duration::from_secs(1))
    ///     .align_to_wall_clock(Duration::ZERO)
    ///     .wall_clock(clock.clone())
    ///     .build()
    ///     .unwrap();
    /// let mut closed = Vec::new();
    /// let mut last_closed = None;
    /// for _ in 0..3 {
    ///     timer.tick().await.unwrap();
    ///     // The period this tick closes: the wall clock now, to the nearest grid point.
    ///     let wall = clock.now().duration_since(UNIX_EPOCH).unwrap();
    ///     let point = (wall + Duration::from_millis(500)).as_secs();
    ///     if last_closed.is_some_and(|last| point <= last) {
    ///         continue; // the same period again, after a backward step
    ///     }
    ///     last_closed = Some(point);
    ///     closed.push(point);
    ///     if point == 1 {
    ///         clock.back_ms.store(300, Ordering::Relaxed); // the wall clock steps back
    ///         timer.realign(); // the next tick: wall clock 1 s again, 300 ms from now
    ///     }
    /// }
    /// assert_eq!(closed, [1, 2]);
    /// # }
    /// ```
    pub fn realign(&mut self) {
        let system;
        let alignment = match self.alignment() {
            Some(alignment) => alignment,
            None => {
                system = Alignment::system();
                &system
            }
        };
        let delay_us = alignment
            .delay_us(self.view().interval_us, 0, false)
            .unwrap_or(u64::MAX);
        self.start(Start::Offset {
            at: Instant::now(),
            delay_us,
        });
    }

    /// A handle that controls this timer from other tasks and threads: `reset`, `stop`,
    /// `set_interval` and the rest, as the timer's own methods.
    ///
    /// The first call allocates the state the timer shares with its handles; every call
    /// after that clones it. A timer that never makes a handle pays nothing for them.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::periodic(Duration::from_secs(1));
    /// let handle = timer.handle();
    /// let stopper = tokio::spawn(async move {
    ///     tokio::time::sleep(Duration::from_millis(2_500)).await;
    ///     handle.stop();
    /// });
    /// let mut ticks = 0;
    /// while timer.tick().await.is_some() {
    ///     ticks += 1;
    /// }
    /// assert_eq!(ticks, 2);
    /// stopper.await.unwrap();
    /// # }
    /// ```
    pub fn handle(&mut self) -> TimerHandle {
        let extras: &mut Extras = self.extras.get_or_insert_with(Box::default);
        let label = &extras.label;
        extras
            .owner
            .get_or_insert_with(|| {
                let jitter_max_us = extras.jitter.map_or(0, |jitter| jitter.max_us);
                Owner::new(&self.schedule, label.clone(), jitter_max_us)
            })
            .handle()
    }

    /// The timer's counters: ticks delivered, due times skipped, the largest drift. For
    /// the distribution of the drifts (p50, p99), build the timer with
    /// [`record_drift(true)`](TimerBuilder::record_drift) and read
    /// [`drift_histogram`](Self::drift_histogram).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::periodic(Duration::from_millis(10));
    /// tokio::time::advance(Duration::from_millis(25)).await;
    /// timer.tick().await;
    /// timer.tick().await;
    /// let stats = timer.stats();
    /// assert_eq!((stats.delivered(), stats.skipped()), (2, 0));
    /// assert_eq!(stats.max_drift(), Duration::from_millis(15));
    /// # }
    /// ```
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.schedule.stats
    }

    /// Stops the timer: receiving yields `None` until the next restart.
    ///
    /// Polling a stopped timer does not start it; a restart does: [`reset`](Self::reset),
    /// [`reset_after`](Self::reset_after), [`reset_at`](Self::reset_at),
    /// [`reset_immediately`](Self::reset_immediately) and [`realign`](Self::realign), from
    /// the timer or one of its [handles](Self::handle).
    ///
    /// While stopped, [`tick`](Self::tick), [`poll_tick`](Self::poll_tick) and the
    /// `Stream` complete at once with `None`, so that a loop over them ends;
    /// [`wait_tick`](Self::wait_tick) instead stays pending until the next restart (a
    /// handle's restart wakes it), for a loop that must keep waiting, such as a watchdog
    /// that other tasks pause and resume.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::periodic(Duration::from_millis(100));
    /// timer.stop();
    /// assert!(!timer.is_running());
    /// assert_eq!(timer.tick().await, None);
    /// timer.reset();
    /// assert!(timer.tick().await.is_some());
    /// # }
    /// ```
    pub fn stop(&mut self) {
        self.sync();
        self.schedule.stop();
        end_wait(&mut self.sleep);
        self.publish();
    }

    /// Whether the timer is started and not stopped.
    ///
    /// A timer built with `auto_start(false)` is not running until its first reset or poll.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// let mut timer = Timer::builder(Duration::from_secs(1)).auto_start(false).build().unwrap();
    /// assert!(!timer.is_running());
    /// timer.reset();
    /// assert!(timer.is_running());
    /// ```
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.view().is_running()
    }

    /// The interval between ticks, in whole microseconds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// assert_eq!(Timer::periodic(Duration::from_millis(250)).interval(), Duration::from_millis(250));
    /// // The timer keeps time in microseconds: a sub-microsecond part is dropped.
    /// assert_eq!(Timer::periodic(Duration::from_nanos(2_500)).interval(), Duration::from_micros(2));
    /// # }
    /// ```
    #[must_use]
    pub fn interval(&self) -> Duration {
        Duration::from_micros(self.view().interval_us)
    }

    /// The policy that decides when the tick after a late one is due.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let timer = Timer::timeout(Duration::from_secs(1));
    /// assert_eq!(
    ///     format!("{:?}", timer.missed_tick_policy()),
    ///     "SkipMissedAndDrift { delay_tolerance: 0ns }",
    /// );
    /// # }
    /// ```
    #[must_use]
    pub fn missed_tick_policy(&self) -> &dyn MissedTickPolicy {
        self.policy.as_dyn()
    }

    /// When the next tick is due; `None` if the timer is not running, or will never fire
    /// again (its microsecond time line is exhausted).
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
    /// let mut timer = Timer::periodic(Duration::from_secs(1));
    /// assert_eq!(timer.deadline(), Some(start + Duration::from_secs(1)));
    /// timer.stop();
    /// assert_eq!(timer.deadline(), None);
    /// # }
    /// ```
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        self.fires_at(&self.view()).at()
    }
}

/// Delivers the tick due at `due` that fires `offset` later (its jitter), received at
/// `now`, for a timer with extras: records its drift if the timer keeps a histogram, tells
/// its handles, and reports it (feature `tracing`) if it is worth it. Out of line, so that
/// the tick path of the timers without extras is the one they have without any of these.
#[inline(never)]
fn deliver_with_extras(
    schedule: &mut Schedule,
    policy: &Policy,
    extras: &mut Extras,
    due: Instant,
    offset: Duration,
    now: Instant,
) -> Tick {
    // A policy that panics leaves the schedule stopped: the handles must say so too.
    let on_panic = extras.owner.as_ref().map(PublishStopOnUnwind);
    let before = *schedule;
    let tick = schedule.deliver_jittered(policy, due, offset, now);
    std::mem::forget(on_panic);
    if let Label {
        name,
        trace: Some(trace),
    } = &extras.label
    {
        if trace.wants(&tick) {
            // Reported while the schedule is as before the tick: a subscriber that panics
            // leaves the tick undelivered (the next poll delivers it again), as a tick is
            // consumed only when the future completes with it.
            let after = std::mem::replace(schedule, before);
            crate::trace::tick(name.as_deref(), trace, &tick, after.interval_us);
            *schedule = after;
        }
    }
    if let Some(histogram) = &mut extras.histogram {
        histogram.record(tick.drift_us());
    }
    if let Some(owner) = &extras.owner {
        owner.publish(schedule);
    }
    tick
}

/// Publishes "stopped" to the handles if dropped: while a policy's panic unwinds.
struct PublishStopOnUnwind<'a>(&'a Owner);

impl Drop for PublishStopOnUnwind<'_> {
    fn drop(&mut self) {
        self.0.publish_stopped();
    }
}

/// For a log line: the name (if any), interval, policy, state, when the next tick is due
/// relative to now (read from tokio's clock), and the counters of [`Timer::stats`].
///
/// ```text
/// Timer { name: "pump", interval: 100ms, policy: SkipMissedAndResync, state: running, next_tick: in 37.2ms, delivered: 12, skipped: 3, max_drift: 312.4ms }
/// ```
///
/// `state` is `running`, `stopped` or `not started`; `next_tick` (only while running) is
/// `in …`, `now`, `overdue by …` or `never`. A precise timer adds `precise` (whether an
/// OS timer serves it), and one with a lateness threshold (feature `tracing`)
/// `warn_if_late`. `{:#?}` puts each field on a line of its own.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use kadenz::Timer;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut timer = Timer::builder(Duration::from_millis(100)).name("pump").build().unwrap();
/// tokio::time::advance(Duration::from_millis(30)).await;
/// assert_eq!(
///     format!("{timer:?}"),
///     "Timer { name: \"pump\", interval: 100ms, policy: TriggerAllMissed, state: running, \
///      next_tick: in 70ms, delivered: 0, skipped: 0, max_drift: 0ns }",
/// );
/// # }
/// ```
impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let view = self.view();
        let mut out = f.debug_struct("Timer");
        if let Some(name) = self.name() {
            out.field("name", &name);
        }
        out.field("interval", &Duration::from_micros(view.interval_us))
            .field("policy", &self.policy);
        match self.fires_at(&view) {
            Due::NotStarted => out.field("state", &format_args!("not started")),
            Due::Stopped => out.field("state", &format_args!("stopped")),
            Due::Never => out
                .field("state", &format_args!("running"))
                .field("next_tick", &format_args!("never")),
            Due::At(due) => out
                .field("state", &format_args!("running"))
                .field("next_tick", &Relative::to_now(due)),
        };
        if let Some(precise) = self.precise() {
            out.field("precise", &precise.is_available());
        }
        if let Some(late_after_us) = self
            .extras
            .as_deref()
            .and_then(|extras| extras.label.trace)
            .and_then(|trace| trace.late_after_us())
        {
            out.field("warn_if_late", &Duration::from_micros(late_after_us));
        }
        out.field("delivered", &view.stats.delivered())
            .field("skipped", &view.stats.skipped())
            .field("max_drift", &view.stats.max_drift())
            .finish()
    }
}

/// Ends (`None`) while the timer is stopped, and resumes after a reset: it is not fused.
///
/// # Examples
///
/// ```
/// use std::future::poll_fn;
/// use std::pin::Pin;
/// use std::time::Duration;
/// use futures_core::Stream;
/// use kadenz::Timer;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut timer = Timer::periodic(Duration::from_millis(10));
/// let tick = poll_fn(|cx| Pin::new(&mut timer).poll_next(cx)).await;
/// assert_eq!(tick.unwrap().drift(), Duration::ZERO);
/// # }
/// ```
impl futures_core::Stream for Timer {
    type Item = Tick;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Tick>> {
        self.get_mut().poll_tick(cx)
    }

    /// Endless while it will tick again; `(0, None)` while stopped (a reset revives it)
    /// or past the end of its time line.
    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.view().due() {
            Due::NotStarted | Due::At(_) => (usize::MAX, None),
            Due::Stopped | Due::Never => (0, None),
        }
    }
}

/// The future returned by [`Timer::tick`]: the next tick, or `None` if the timer is
/// stopped.
///
/// Dropping it before it completes loses no tick (see [`Timer::tick`]).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use kadenz::{NextTick, Timer};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut timer = Timer::periodic(Duration::from_millis(10));
/// let next: NextTick<'_> = timer.tick();
/// assert!(next.await.is_some());
/// # }
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct NextTick<'a> {
    timer: &'a mut Timer,
}

impl Future for NextTick<'_> {
    type Output = Option<Tick>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Tick>> {
        self.timer.poll_tick(cx)
    }
}

/// The future returned by [`Timer::wait_tick`]: the next tick, waiting through stops.
///
/// Dropping it before it completes loses no tick.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use kadenz::{Timer, WaitTick};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut timer = Timer::periodic(Duration::from_millis(10));
/// let next: WaitTick<'_> = timer.wait_tick();
/// assert_eq!(next.await.drift(), Duration::ZERO);
/// # }
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct WaitTick<'a> {
    timer: &'a mut Timer,
}

impl Future for WaitTick<'_> {
    type Output = Tick;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Tick> {
        self.timer.poll_wait_tick(cx)
    }
}
