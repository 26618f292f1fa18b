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

use std::fmt;
use std::sync::atomic::Ordering;
use std::task::Waker;
use std::time::Duration;

use tokio::time::Instant;

use crate::label::Label;
use crate::schedule::{saturating_micros, Schedule, Start};
use crate::sync::{Arc, AtomicBool, Mutex, MutexGuard};
use crate::Error;

/// What a handle asked for that the timer has not applied yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    Start(Start),
    Stop,
}

#[derive(Debug)]
struct Slot {
    /// The latest (re)start or stop from a handle; a later one replaces it.
    command: Option<Command>,
    /// The latest interval from a handle.
    interval_us: Option<u64>,
    /// The timer's schedule as it last published it: after every change, tick and
    /// applied command.
    schedule: Schedule,
    /// The waker of the timer's last `Pending` poll, and the deadline at which the timer
    /// wheel wakes it anyway (`None`: nothing but a command wakes it).
    waker: Option<Waker>,
    armed: Option<Instant>,
}

/// `repr(C)` in the order rustc chose before the label came (the slot, then `pending`),
/// so that the timer's every-poll look at `pending` compiles to the instructions it had;
/// `layout::pending_comes_right_after_the_slot` fails if a field goes between them.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Shared {
    slot: Mutex<Slot>,
    /// A command waits in the slot. Read by the timer without the lock.
    pending: AtomicBool,
    /// The timer's name and reporting, as it was built: for `Debug` and the events.
    label: Label,
    /// The timer's jitter (0: none): no interval may be shorter.
    jitter_max_us: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        // Nothing panics while the lock is held but a waker's `clone`; the slot is
        // consistent at every point, so a poisoned lock is used as it is.
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The timer's side of the shared slot.
#[derive(Debug)]
pub(crate) struct Owner {
    shared: Arc<Shared>,
    /// What the timer last put in the slot (waker, armed), to skip the lock when a poll
    /// would register the same again.
    registered: Option<(Waker, Option<Instant>)>,
}

impl Owner {
    pub(crate) fn new(schedule: &Schedule, label: Label, jitter_max_us: u64) -> Self {
        Owner {
            shared: Arc::new(Shared {
                slot: Mutex::new(Slot {
                    command: None,
                    interval_us: None,
                    schedule: *schedule,
                    waker: None,
                    armed: None,
                }),
                pending: AtomicBool::new(false),
                label,
                jitter_max_us,
            }),
            registered: None,
        }
    }

    pub(crate) fn handle(&self) -> TimerHandle {
        TimerHandle {
            shared: self.shared.clone(),
        }
    }

    /// Applies the commands the handles left, if any, and publishes the result. Whether
    /// they moved the pending tick (and a wait for it ends).
    pub(crate) fn sync(&mut self, schedule: &mut Schedule) -> bool {
        if !self.shared.pending.load(Ordering::Acquire) {
            return false;
        }
        let mut slot = self.shared.lock();
        self.shared.pending.store(false, Ordering::Relaxed);
        // A command may have taken the waker: register again on the next `Pending`.
        self.registered = None;
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
        if self.shared.pending.load(Ordering::Acquire) {
            let _ = apply(&self.shared.lock(), &mut view);
        }
        view
    }

    /// Tells the handles what the timer did by itself (a reset, a stop, a start, a tick).
    pub(crate) fn publish(&self, schedule: &Schedule) {
        self.shared.lock().schedule = *schedule;
    }

    /// Tells the handles that the timer stopped, when its schedule cannot be read: while a
    /// panic of its policy unwinds (the schedule is stopped then).
    pub(crate) fn publish_stopped(&self) {
        self.shared.lock().schedule.stop();
    }

    /// Makes sure `waker` is woken by a command that needs the timer before `armed`.
    /// `false` if a command arrived in the meantime: apply it and poll again.
    pub(crate) fn register(&mut self, waker: &Waker, armed: Option<Instant>) -> bool {
        if let Some((registered, at)) = &self.registered {
            if *at == armed && registered.will_wake(waker) {
                return true;
            }
        }
        let mut slot = self.shared.lock();
        if self.shared.pending.load(Ordering::Relaxed) {
            return false;
        }
        slot.waker = Some(waker.clone());
        slot.armed = armed;
        drop(slot);
        self.registered = Some((waker.clone(), armed));
        true
    }
}

/// Applies the commands of `slot`: the interval first (a start then counts with it, which
/// gives the same schedule as the other order), then the start or stop. Whether the
/// pending tick moved.
fn apply(slot: &Slot, schedule: &mut Schedule) -> bool {
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
        let wake = match (command, slot.armed) {
            // A start that puts the first tick at or after the wake-up the timer waits
            // for needs no wake: at that wake-up, the timer applies it and waits again.
            (Command::Start(start), Some(armed)) => {
                first_due(start, interval_us).is_some_and(|due| due < armed)
            }
            _ => true,
        };
        slot.command = Some(command);
        self.leave(slot, wake);
        self.report(op, interval_us);
    }

    /// Reports a command, if the timer reports events (after the lock is released: a
    /// subscriber may take its time).
    #[inline]
    fn report(&self, op: &'static str, interval_us: u64) {
        if self.shared.label.trace.is_some() {
            crate::trace::command(self.shared.label.name(), op, interval_us);
        }
    }

    /// Marks the slot's command pending and, if `wake`, wakes the timer's task (outside
    /// the lock).
    fn leave(&self, mut slot: MutexGuard<'_, Slot>, wake: bool) {
        self.shared.pending.store(true, Ordering::Release);
        let waker = if wake { slot.waker.take() } else { None };
        drop(slot);
        if let Some(waker) = waker {
            waker.wake();
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
        crate::jitter::Jitter::check(self.shared.jitter_max_us, interval, interval_us)?;
        let mut slot = self.shared.lock();
        slot.interval_us = Some(interval_us);
        // The timer's next due time may move earlier; only the timer can tell.
        self.leave(slot, true);
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
        self.shared.label.name()
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
        if let Some(name) = self.shared.label.name() {
            out.field("name", &name);
        }
        out.field("interval", &self.interval())
            .field("running", &self.is_running())
            .finish()
    }
}

/// When a start puts the first tick (`None`: never), for the wake-up decision: asked of
/// the schedule itself, which owns that rule.
pub(crate) fn first_due(start: Start, interval_us: u64) -> Option<Instant> {
    let mut probe = Schedule::new(interval_us);
    probe.start(start);
    probe.due().at()
}

#[cfg(all(test, kadenz_loom))]
pub(crate) mod loom_check;

#[cfg(all(test, not(kadenz_loom)))]
mod layout {
    use super::*;

    /// The pin of `Shared`'s `repr(C)`: `pending`, which every poll of a timer with
    /// handles reads, right after the slot, where it was before the label came
    /// (docs/benchmarks-history.md, "Without the feature: the same machine code"). A
    /// field put between them fails here.
    #[test]
    fn pending_comes_right_after_the_slot() {
        let owner = Owner::new(&Schedule::new(1), Label::default(), 0);
        let base = Arc::as_ptr(&owner.shared) as usize;
        let pending = std::ptr::addr_of!(owner.shared.pending) as usize;
        assert_eq!(std::ptr::addr_of!(owner.shared.slot) as usize, base);
        assert_eq!(pending - base, std::mem::size_of::<Mutex<Slot>>());
    }
}
