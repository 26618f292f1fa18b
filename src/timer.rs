//! The [`Timer`], the [`Tick`] it yields and its [`TimerBuilder`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use crate::policy::{MissedTickPolicy, SkipMissedAndResync, TriggerAllMissed, ZeroToleranceDrift};
use crate::Error;

/// A tick delivered by a [`Timer`]: when it was due and how late it fired.
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
/// let mut timer = Timer::periodic(Duration::from_millis(10));
///
/// tokio::time::advance(Duration::from_millis(13)).await; // the receiver was busy
/// let tick = timer.tick().await.unwrap();
/// assert_eq!(tick.scheduled(), start + Duration::from_millis(10));
/// assert_eq!(tick.drift(), Duration::from_millis(3));
/// assert_eq!(tick.fired_at(), start + Duration::from_millis(13));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tick {
    scheduled: Instant,
    drift: Duration,
}

impl Tick {
    /// How late the tick fired: the time it was received minus the time it was due.
    ///
    /// Never negative, and a whole number of microseconds: the timer keeps time in
    /// microseconds (see [Precision](crate#precision)).
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
    /// assert_eq!(timer.tick().await.unwrap().drift(), Duration::ZERO);
    /// # }
    /// ```
    #[must_use]
    pub fn drift(&self) -> Duration {
        self.drift
    }

    /// When the tick was due.
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
    /// let mut timer = Timer::periodic(Duration::from_millis(10));
    /// assert_eq!(timer.tick().await.unwrap().scheduled(), start + Duration::from_millis(10));
    /// assert_eq!(timer.tick().await.unwrap().scheduled(), start + Duration::from_millis(20));
    /// # }
    /// ```
    #[must_use]
    pub fn scheduled(&self) -> Instant {
        self.scheduled
    }

    /// When the tick fired: [`scheduled`](Self::scheduled) plus [`drift`](Self::drift).
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
    /// let tick = timer.tick().await.unwrap();
    /// assert_eq!(tick.fired_at(), tokio::time::Instant::now());
    /// # }
    /// ```
    #[must_use]
    pub fn fired_at(&self) -> Instant {
        self.scheduled + self.drift
    }
}

/// Where a timer is in its life. An enum rather than optional fields, so that a state
/// the timer cannot be in cannot be written down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Built with `auto_start(false)` and neither reset nor polled since.
    NotStarted,
    /// The next tick is due `next_us` microseconds after `origin`, the instant of the
    /// last start. `u64::MAX` is the end of the time line: never.
    Running { origin: Instant, next_us: u64 },
    /// Stopped by [`Timer::stop`]; only a reset starts it again.
    Stopped,
}

/// A drift-aware periodic or timeout timer.
///
/// A `Timer` ticks every [`interval`](Self::interval), starting one interval after it is
/// started. Each [`Tick`] says when it was due and how late it fired (its
/// [drift](Tick::drift)). When ticks are missed because the receiver was busy, the
/// timer's [`MissedTickPolicy`] decides when the next one is due; see the
/// [`policy`](crate::policy) module for the three built-in policies.
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
/// `None` until it is reset. A reset restarts the schedule from the current time.
///
/// # Runtimes
///
/// A timer always waits on the timer driver of the tokio runtime polling it, so it can
/// move freely between tasks, threads and runtimes, even in the middle of a wait (a
/// cancelled `tick()`), and it outlives the runtime that created it.
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
    interval_us: u64,
    state: State,
    policy: Box<dyn MissedTickPolicy>,
    /// Created on the first wait, so that a timer can be built (and reset) outside a
    /// runtime, and reset cheaply: only the deadline it waits for is written to it. With
    /// the id of the runtime whose timer driver wakes it.
    sleep: Option<(tokio::runtime::Id, Pin<Box<Sleep>>)>,
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
    /// as an [`Error`] instead.
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
    /// # Panics
    ///
    /// Panics, with a message naming the value, if `delay` is under 1 µs or longer than
    /// `u64::MAX` µs, or if called outside a tokio runtime. [`Timer::builder`] returns these
    /// as an [`Error`] instead.
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
    ///         Some(_) = rx.recv() => watchdog.reset(),
    ///         Some(tick) = watchdog.tick() => {
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
        // Zero-sized, so boxing it allocates nothing; it behaves and shows itself exactly
        // as `SkipMissedAndDrift::new(Duration::ZERO)`.
        Self::new(delay, ZeroToleranceDrift)
    }

    /// A started timer with the given interval and missed-tick policy.
    ///
    /// # Panics
    ///
    /// Panics, with a message naming the value, if `interval` is under 1 µs or longer than
    /// `u64::MAX` µs, or if called outside a tokio runtime. [`Timer::builder`] returns these
    /// as an [`Error`] instead.
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
        match Self::builder(interval).missed_tick_policy(policy).build() {
            Ok(timer) => timer,
            Err(err) => panic!("{err}"),
        }
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
        TimerBuilder {
            interval,
            policy: Box::new(TriggerAllMissed),
            start_delay: Duration::ZERO,
            auto_start: true,
        }
    }

    /// Waits for the next tick; `None` if the timer is stopped.
    ///
    /// Equivalent to `poll_fn(|cx| timer.poll_tick(cx))`. A timer built with
    /// `auto_start(false)` starts here if it was never started.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe. A tick is consumed only when the returned future
    /// completes with it; dropping the future before that (say, because another branch of
    /// a `tokio::select!` won) loses nothing, and the next call receives the same tick.
    ///
    /// # Panics
    ///
    /// Panics if the timer has to wait and is polled outside a tokio runtime with the time
    /// driver enabled, as [`tokio::time::sleep`] does. A panic of the timer's
    /// [`MissedTickPolicy`] propagates to the caller, and leaves the timer stopped: the
    /// tick being delivered is lost, and a [`reset`](Self::reset) starts it again.
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
    /// Panics if the timer has to wait and is polled outside a tokio runtime with the time
    /// driver enabled, as [`tokio::time::sleep`] does. A panic of the timer's
    /// [`MissedTickPolicy`] propagates to the caller, and leaves the timer stopped: the
    /// tick being delivered is lost, and a [`reset`](Self::reset) starts it again.
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
        if self.state == State::NotStarted {
            self.start(0);
        }
        let State::Running { origin, next_us } = self.state else {
            return Poll::Ready(None);
        };
        let Some(scheduled) = instant_at(origin, next_us) else {
            // Beyond the end of the time line: nothing will ever be due, so there is
            // nothing to wake the task for until a reset, which needs `&mut self`.
            return Poll::Pending;
        };

        let mut now = Instant::now();
        if now < scheduled {
            // A `Sleep` is woken by the timer driver of the runtime that made it, so the
            // timer waits on a `Sleep` of the runtime polling it now (tokio's own panic
            // outside a runtime). tokio promises an id unique only among running
            // runtimes; tokio 1.49 to 1.54 draw it from a process-wide 64-bit counter
            // (32-bit where 64-bit atomics are missing), so a finished runtime's id does
            // not come back in practice.
            let here = tokio::runtime::Handle::current().id();
            let sleep = match &mut self.sleep {
                Some((runtime, sleep)) if *runtime == here => {
                    if sleep.deadline() != scheduled {
                        // Moving a registered deadline later (the watchdog's reset) is cheap.
                        sleep.as_mut().reset(scheduled);
                    }
                    sleep
                }
                Some((runtime, sleep)) => {
                    // Replaced in place: no allocation.
                    sleep.set(tokio::time::sleep_until(scheduled));
                    *runtime = here;
                    sleep
                }
                None => {
                    let sleep = Box::pin(tokio::time::sleep_until(scheduled));
                    &mut self.sleep.insert((here, sleep)).1
                }
            };
            // Sleep takes its own unit of cooperative budget.
            ready!(sleep.as_mut().poll(cx));
            now = Instant::now();
        } else {
            // The tick is overdue and the timer wheel is not involved: take a unit of
            // budget here, or a long burst would never yield.
            ready!(tokio::task::coop::poll_proceed(cx)).made_progress();
        }

        // `scheduled` is a whole number of microseconds after `origin`, so the whole
        // microseconds from `origin` to `now` are `next_us + drift_us`: one division per
        // tick instead of two. A clock behind the schedule (the wheel never wakes early in
        // practice) counts as no drift, so the policy is still promised `now >= scheduled`.
        let drift_us = saturating_micros(now.saturating_duration_since(scheduled));
        let tick = Tick {
            scheduled,
            drift: Duration::from_micros(drift_us),
        };
        // The time line saturates at u64::MAX µs; the drift does not wrap it.
        let now_us = next_us.saturating_add(drift_us);
        // Stopped while the policy runs: a panicking policy leaves a stopped timer, not
        // one that would call it again with the same arguments on the next poll.
        self.state = State::Stopped;
        let next_us = self
            .policy
            .calculate_next_tick_time(self.interval_us, next_us, now_us);
        self.state = State::Running { origin, next_us };
        Poll::Ready(Some(tick))
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
        self.start(0);
    }

    /// Restarts the timer from now plus `start_delay`: the next tick is due one interval
    /// after that.
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
        self.start(saturating_micros(start_delay));
    }

    /// Stops the timer: receiving yields `None` until the next reset.
    ///
    /// Polling a stopped timer does not start it; only [`reset`](Self::reset) and
    /// [`reset_after`](Self::reset_after) do.
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
        self.state = State::Stopped;
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
        matches!(self.state, State::Running { .. })
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
        Duration::from_micros(self.interval_us)
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
        &*self.policy
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
        match self.state {
            State::Running { origin, next_us } => instant_at(origin, next_us),
            State::NotStarted | State::Stopped => None,
        }
    }

    fn start(&mut self, delay_us: u64) {
        self.state = State::Running {
            origin: Instant::now(),
            next_us: delay_us.saturating_add(self.interval_us),
        };
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("interval", &self.interval())
            .field("missed_tick_policy", &self.policy)
            .field("state", &self.state)
            .finish_non_exhaustive()
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
        match self.state {
            State::NotStarted => (usize::MAX, None),
            State::Running { .. } if self.deadline().is_some() => (usize::MAX, None),
            State::Running { .. } | State::Stopped => (0, None),
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
    interval: Duration,
    policy: Box<dyn MissedTickPolicy>,
    start_delay: Duration,
    auto_start: bool,
}

impl TimerBuilder {
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
        self.policy = Box::new(policy);
        self
    }

    /// The periodic shortcut: `true` skips missed ticks ([`SkipMissedAndResync`]),
    /// `false` fires them all ([`TriggerAllMissed`]).
    ///
    /// The last of this and [`missed_tick_policy`](Self::missed_tick_policy) wins.
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
    /// after the start.
    ///
    /// Only for timers that start at once: [`build`](Self::build) rejects a non-zero delay
    /// with `auto_start(false)`.
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

    /// Builds the timer, started unless `auto_start(false)` was set.
    ///
    /// # Errors
    ///
    /// - [`Error::IntervalTooShort`] / [`Error::IntervalTooLong`]: the interval is under
    ///   1 µs, or over `u64::MAX` µs (an interval of exactly `u64::MAX` µs is accepted: its
    ///   first tick is due at the end of the time line, which means never);
    /// - [`Error::StartDelayWithoutAutoStart`]: a non-zero start delay with
    ///   `auto_start(false)`;
    /// - [`Error::StartDelayTooLong`]: the start delay is over `u64::MAX` µs;
    /// - [`Error::NoRuntime`]: `auto_start(true)` outside a tokio runtime.
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
        let interval_us = match self.interval.as_micros() {
            0 => return Err(Error::IntervalTooShort(self.interval)),
            us => u64::try_from(us).map_err(|_| Error::IntervalTooLong(self.interval))?,
        };
        if !self.auto_start && !self.start_delay.is_zero() {
            return Err(Error::StartDelayWithoutAutoStart(self.start_delay));
        }
        let delay_us = u64::try_from(self.start_delay.as_micros())
            .map_err(|_| Error::StartDelayTooLong(self.start_delay))?;

        let mut timer = Timer {
            interval_us,
            state: State::NotStarted,
            policy: self.policy,
            sleep: None,
        };
        if self.auto_start {
            tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
            timer.start(delay_us);
        }
        Ok(timer)
    }
}

/// `origin + us` microseconds, or `None` past the end of the time line (`u64::MAX`) or
/// of what an `Instant` can hold.
fn instant_at(origin: Instant, us: u64) -> Option<Instant> {
    if us == u64::MAX {
        return None;
    }
    origin.checked_add(Duration::from_micros(us))
}

fn saturating_micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}
