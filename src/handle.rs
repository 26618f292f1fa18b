//! [`TimerHandle`]: one timer, many hands. Handles leave commands in a shared slot; the
//! timer applies them the next time it is polled or used, and is woken for them only
//! when they need it before the wake-up it already waits for.
//!
//! The protocol, for reviewers (the loom model check in `src/handle/loom_check.rs` checks
//! it across the threads' interleavings; `.ci/run` runs it as
//! `RUSTFLAGS="--cfg kadenz_loom" CARGO_TARGET_DIR=target/loom cargo test --release --lib loom_check`):
//!
//! - Everything a handle writes (the command, the new interval, `pending = true`) and the
//!   waker it takes are under the mutex.
//! - The timer reads `pending` without the lock on every poll; when it is set, the timer
//!   takes the commands under the lock and clears it.
//! - Before the timer returns `Pending`, it makes sure its waker is in the slot: under the
//!   lock, where it first looks at `pending` again, so a command written after its first
//!   look is either seen there or finds the waker. To skip the lock when nothing changed,
//!   the timer keeps a copy of what it registered; taking commands forgets that copy,
//!   since a handle may have taken the waker.
//!
//! The slot, the flag, the registration and the waking are `wakeup`'s
//! (`src/handle/wakeup.rs`), shared with the set's handles; this module has the timer's
//! commands and how the timer applies them.

use std::fmt;
use std::task::Waker;
use std::time::Duration;

use tokio::time::Instant;

use crate::label::Label;
use crate::schedule::{saturating_micros, Schedule, Start};
use crate::sync::Arc;
use crate::Error;

pub(crate) mod wakeup;

/// What a handle asked for that the timer has not applied yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    Start(Start),
    Stop,
}

/// A timer's part of the slot.
#[derive(Debug)]
struct Commands {
    /// The latest (re)start or stop from a handle; a later one replaces it.
    command: Option<Command>,
    /// The latest interval from a handle.
    interval_us: Option<u64>,
    /// The timer's schedule as it last published it: after every change, tick and
    /// applied command.
    schedule: Schedule,
}

/// What a timer's handles read without the lock: set once, as the timer was built.
#[derive(Debug)]
struct Fixed {
    /// The timer's name and reporting: for `Debug` and the events.
    label: Label,
    /// The timer's jitter (0: none): no interval may be shorter.
    jitter_max_us: u64,
}

/// A timer's handles register nothing with the waker but the instant.
type Shared = wakeup::Shared<Commands, (), Fixed>;

/// The timer's side of the shared slot.
#[derive(Debug)]
pub(crate) struct Owner {
    wake: wakeup::Owner<Commands, (), Fixed>,
}

impl Owner {
    pub(crate) fn new(schedule: &Schedule, label: Label, jitter_max_us: u64) -> Self {
        let commands = Commands {
            command: None,
            interval_us: None,
            schedule: *schedule,
        };
        let fixed = Fixed {
            label,
            jitter_max_us,
        };
        Owner {
            wake: wakeup::Owner::new(commands, (), fixed),
        }
    }

    pub(crate) fn handle(&self) -> TimerHandle {
        TimerHandle {
            shared: self.wake.share(),
        }
    }

    /// Applies the commands the handles left, if any, and publishes the result. Whether
    /// they moved the pending tick (and a wait for it ends).
    pub(crate) fn sync(&mut self, schedule: &mut Schedule) -> bool {
        let Some(mut slot) = self.wake.take() else {
            return false;
        };
        let moved = apply(&slot, schedule);
        slot.command = None;
        slot.interval_us = None;
        slot.schedule = *schedule;
        moved
    }

    /// The schedule as it will be once the waiting commands are applied, without applying
    /// them (for the timer's `&self` methods).
    pub(crate) fn peek(&self, schedule: &Schedule) -> Schedule {
        let mut view = *schedule;
        if self.wake.pending() {
            let _ = apply(&self.wake.lock(), &mut view);
        }
        view
    }

    /// Tells the handles what the timer did by itself (a reset, a stop, a start, a tick).
    pub(crate) fn publish(&self, schedule: &Schedule) {
        self.wake.lock().schedule = *schedule;
    }

    /// Tells the handles that the timer stopped, when its schedule cannot be read: while a
    /// panic of its policy unwinds (the schedule is stopped then).
    pub(crate) fn publish_stopped(&self) {
        self.wake.lock().schedule.stop();
    }

    /// Makes sure `waker` is woken by a command that needs the timer before `armed`.
    /// `false` if a command arrived in the meantime: apply it and poll again.
    pub(crate) fn register(&mut self, waker: &Waker, armed: Option<Instant>) -> bool {
        self.wake.register(waker, armed, ())
    }
}

/// Applies the commands of `slot`: the interval first (a start then counts with it, which
/// gives the same schedule as the other order), then the start or stop. Whether the
/// pending tick moved.
fn apply(slot: &Commands, schedule: &mut Schedule) -> bool {
    let counted_anew = slot
        .interval_us
        .is_some_and(|interval_us| schedule.set_interval(interval_us));
    match slot.command {
        Some(Command::Start(start)) => schedule.start(start),
        Some(Command::Stop) => schedule.stop(),
        None => return counted_anew,
    }
    true
}

/// Controls a [`Timer`](crate::Timer) from other tasks and threads: `Clone + Send + Sync`.
///
/// Made by [`Timer::handle`](crate::Timer::handle). Its methods do what the timer's
/// methods of the same names do, at the moment they are called: a `reset` restarts the
/// schedule from the instant of the call, even if the timer's task runs later. A `tick()`
/// pending in the timer's task sees the change at once: it is woken when the change needs
/// it earlier than its current deadline (a stop, `reset_immediately`, an earlier
/// `reset_at`, a new interval), and otherwise wakes at its old deadline only to wait again
/// for the new one, never delivering a tick at the old deadline.
///
/// A timer that never hands out a handle pays nothing for the feature.
///
/// # Examples
///
/// A watchdog kicked by several device readers:
///
/// ```
/// use std::time::Duration;
/// use kadenz::Timer;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut watchdog = Timer::timeout(Duration::from_millis(100));
/// for reader in 0..3u64 {
///     let kick = watchdog.handle();
///     tokio::spawn(async move {
///         for _ in 0..5 {
///             tokio::time::sleep(Duration::from_millis(30 + reader * 10)).await;
///             kick.reset(); // a reading arrived
///         }
///     });
/// }
/// let start = tokio::time::Instant::now();
/// watchdog.tick().await;
/// // The last kick came at 5 × 50 ms = 250 ms; the watchdog tripped 100 ms later.
/// assert_eq!(start.elapsed(), Duration::from_millis(350));
/// # }
/// ```
///
/// Under tokio's paused clock, call a handle from tasks of the timer's runtime: a thread
/// outside the runtime reads the real clock, not the paused one.
///
/// With the `tracing` feature, the handles of a timer that reports events (one with a
/// name or a lateness threshold, see `TimerBuilder::warn_if_late`) report each command
/// at `DEBUG`, from the task that gives it.
#[derive(Clone)]
pub struct TimerHandle {
    shared: Arc<Shared>,
}

impl TimerHandle {
    /// Leaves a command for the timer (`op` names it in the event that reports it). `make`
    /// runs under the lock, so that of two handles racing, the one whose command wins also
    /// read the clock last.
    fn command(&self, op: &'static str, make: impl FnOnce() -> Command) {
        let mut slot = self.shared.lock();
        let command = make();
        let interval_us = slot.interval_us.unwrap_or(slot.schedule.interval_us);
        // The timer needs waking if the command needs it before its wheel wakes it.
        let wake = match command {
            Command::Start(start) => slot.start_needs_owner(start, interval_us),
            Command::Stop => true,
        };
        slot.command = Some(command);
        self.shared.leave(slot, wake);
        self.report(op, interval_us);
    }

    /// Reports a command, if the timer reports events (after the lock is released: a
    /// subscriber may take its time).
    #[inline]
    fn report(&self, op: &'static str, interval_us: u64) {
        let label = &self.shared.fixed.label;
        if label.trace.is_some() {
            crate::trace::command(label.name(), op, interval_us);
        }
    }

    /// Restarts the timer from now: its next tick is due one interval from now. As
    /// [`Timer::reset`](crate::Timer::reset).
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
    /// let handle = timer.handle();
    /// tokio::time::advance(Duration::from_millis(70)).await;
    /// handle.reset();
    /// assert_eq!(timer.deadline(), Some(tokio::time::Instant::now() + Duration::from_millis(100)));
    /// # }
    /// ```
    pub fn reset(&self) {
        self.command("reset", || {
            Command::Start(Start::After {
                at: Instant::now(),
                delay_us: 0,
            })
        });
    }

    /// Restarts the timer from now plus `start_delay`: its next tick is due one interval
    /// after that. As [`Timer::reset_after`](crate::Timer::reset_after).
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
    /// timer.handle().reset_after(Duration::from_millis(50));
    /// assert_eq!(timer.deadline(), Some(tokio::time::Instant::now() + Duration::from_millis(150)));
    /// # }
    /// ```
    pub fn reset_after(&self, start_delay: Duration) {
        let delay_us = saturating_micros(start_delay);
        self.command("reset_after", || {
            Command::Start(Start::After {
                at: Instant::now(),
                delay_us,
            })
        });
    }

    /// Restarts the timer with its next tick due at `first_tick`. As
    /// [`Timer::reset_at`](crate::Timer::reset_at).
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
    /// let at = tokio::time::Instant::now() + Duration::from_millis(10);
    /// timer.handle().reset_at(at);
    /// assert_eq!(timer.tick().await.unwrap().scheduled(), at);
    /// # }
    /// ```
    pub fn reset_at(&self, first_tick: Instant) {
        self.command("reset_at", || Command::Start(Start::At(first_tick)));
    }

    /// Restarts the timer with its next tick due now. As
    /// [`Timer::reset_immediately`](crate::Timer::reset_immediately).
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
    /// timer.handle().reset_immediately();
    /// assert_eq!(timer.tick().await.unwrap().drift(), Duration::ZERO);
    /// # }
    /// ```
    pub fn reset_immediately(&self) {
        self.command("reset_immediately", || {
            Command::Start(Start::At(Instant::now()))
        });
    }

    /// Stops the timer: receiving yields `None` until the next restart. As
    /// [`Timer::stop`](crate::Timer::stop); a `tick()` waiting in the timer's task returns
    /// `None` at once.
    ///
    /// A [`Timer::wait_tick`](crate::Timer::wait_tick) waiting in the timer's task does not
    /// complete: it waits on until a restart ([`reset`](Self::reset) or another, from any
    /// handle or the timer itself), and the restart wakes it. A watchdog loop that handles
    /// pause and resume awaits `wait_tick`, so that it trips again once resumed.
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
    /// tokio::spawn(async move { handle.stop() });
    /// assert_eq!(timer.tick().await, None);
    /// # }
    /// ```
    pub fn stop(&self) {
        self.command("stop", || Command::Stop);
    }

    /// Changes the timer's interval, keeping its rhythm. As
    /// [`Timer::set_interval`](crate::Timer::set_interval).
    ///
    /// # Errors
    ///
    /// [`Error::IntervalTooShort`] or [`Error::IntervalTooLong`], as
    /// [`TimerBuilder::build`](crate::TimerBuilder::build), and [`Error::JitterTooLong`]
    /// as [`Timer::set_interval`](crate::Timer::set_interval); the timer is left as it was.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), kadenz::Error> {
    /// let mut timer = Timer::periodic(Duration::from_secs(1));
    /// let handle = timer.handle();
    /// handle.set_interval(Duration::from_millis(250))?;
    /// assert_eq!(handle.interval(), Duration::from_millis(250));
    /// assert_eq!(timer.interval(), Duration::from_millis(250));
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_interval(&self, interval: Duration) -> Result<(), Error> {
        let interval_us = crate::builder::interval_micros(interval)?;
        crate::jitter::Jitter::check(self.shared.fixed.jitter_max_us, interval, interval_us)?;
        let mut slot = self.shared.lock();
        slot.interval_us = Some(interval_us);
        // The timer's next due time may move earlier; only the timer can tell.
        self.shared.leave(slot, true);
        self.report("set_interval", interval_us);
        Ok(())
    }

    /// Whether the timer is started and not stopped, counting the commands it has not
    /// applied yet.
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
    /// assert!(handle.is_running());
    /// timer.stop();
    /// assert!(!handle.is_running());
    /// handle.reset();
    /// assert!(handle.is_running() && timer.is_running());
    /// # }
    /// ```
    #[must_use]
    pub fn is_running(&self) -> bool {
        let slot = self.shared.lock();
        match slot.command {
            Some(Command::Start(_)) => true,
            Some(Command::Stop) => false,
            None => slot.schedule.is_running(),
        }
    }

    /// The timer's interval, counting a [`set_interval`](Self::set_interval) it has not
    /// applied yet.
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
    /// assert_eq!(timer.handle().interval(), Duration::from_secs(1));
    /// # }
    /// ```
    #[must_use]
    pub fn interval(&self) -> Duration {
        let slot = self.shared.lock();
        Duration::from_micros(slot.interval_us.unwrap_or(slot.schedule.interval_us))
    }

    /// When the timer's next tick is due, counting the commands it has not applied yet;
    /// `None` if it is not running (or will never fire again). As
    /// [`Timer::deadline`](crate::Timer::deadline): for a watchdog, when it trips unless
    /// kicked before, so "quiet since" is this minus the interval.
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
    /// let mut watchdog = Timer::timeout(Duration::from_millis(100));
    /// let handle = watchdog.handle();
    /// assert_eq!(handle.deadline(), Some(start + Duration::from_millis(100)));
    /// watchdog.tick().await; // tripped at 100 ms: the next trip is due at 200 ms
    /// assert_eq!(handle.deadline(), Some(start + Duration::from_millis(200)));
    /// handle.stop();
    /// assert_eq!(handle.deadline(), None);
    /// # }
    /// ```
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        let slot = self.shared.lock();
        let mut view = slot.schedule;
        let _ = apply(&slot, &mut view);
        view.due().at()
    }

    /// The timer's name, if its builder gave it one
    /// ([`TimerBuilder::name`](crate::TimerBuilder::name)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::builder(Duration::from_secs(1)).name("pump").build().unwrap();
    /// assert_eq!(timer.handle().name(), Some("pump"));
    /// # }
    /// ```
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.shared.fixed.label.name()
    }
}

/// For a log line: the timer's name (if any), its interval and whether it runs, counting
/// the commands it has not applied yet.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use kadenz::Timer;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut timer = Timer::builder(Duration::from_millis(100)).name("watchdog").build().unwrap();
/// let handle = timer.handle();
/// handle.stop();
/// assert_eq!(
///     format!("{handle:?}"),
///     r#"TimerHandle { name: "watchdog", interval: 100ms, running: false }"#,
/// );
/// # }
/// ```
impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("TimerHandle");
        if let Some(name) = self.shared.fixed.label.name() {
            out.field("name", &name);
        }
        out.field("interval", &self.interval())
            .field("running", &self.is_running())
            .finish()
    }
}

#[cfg(all(test, kadenz_loom))]
pub(crate) mod loom_check;
