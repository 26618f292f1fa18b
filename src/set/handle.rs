//! [`SetHandle`]: a [`TimerSet`](crate::TimerSet) steered from other tasks. Handles queue
//! per-key commands in a shared slot; the set applies them, in the order they were
//! given, the next time it is polled or changed, and is woken for them only when a
//! command may need it before the wake-up it already waits for.
//!
//! The protocol is the timer handle's (`src/handle.rs`), with a queue instead of one
//! command, for reviewers (the loom model check in `src/set/handle/loom_check.rs` checks it):
//!
//! - Everything a handle writes (its command, `pending = true`) and the waker it takes
//!   are under the mutex; the queue keeps the order in which the handles took the lock.
//! - The set reads `pending` without the lock on every poll; when it is set, the set
//!   swaps the queue out under the lock, clears `pending`, and applies the commands after
//!   releasing it (a key's `Hash` or `Eq` runs outside the lock).
//! - Before the set returns `Pending`, it makes sure its waker is in the slot, with the
//!   instant its wheel wakes it anyway (`armed`) and a lower bound of its entries'
//!   intervals: under the lock, where it first looks at `pending` again, so a command
//!   queued after its first look is either seen there or finds the waker. To skip the
//!   lock when nothing changed, the set keeps a copy of what it registered; taking
//!   commands forgets that copy, since a handle may have taken the waker.
//! - A handle wakes the set only if its command may put a tick before `armed` (or the
//!   set waits for nothing): a start whose first tick, counted with the shortest interval
//!   of the set, is before `armed`, or a new interval. A stop never needs the set earlier.
//!
//! The slot, the flag, the registration and the waking are the timer handle's
//! (`src/handle/wakeup.rs`), with the shortest interval registered beside the waker; this
//! module has the set's queue and what becomes of it.

use std::fmt;
use std::task::Waker;
use std::time::Duration;

use tokio::time::Instant;

use crate::handle::wakeup;
use crate::schedule::{saturating_micros, Start};
use crate::sync::Arc;
use crate::Error;

/// A command of a handle, for the entry under a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    Start(Start),
    Stop,
    SetInterval(u64),
}

/// A set's part of the slot.
struct Commands<K> {
    /// The commands not applied yet, in the order they were given.
    queue: Vec<(K, Command)>,
    /// Commands applied to a key that was not in the set.
    ignored: u64,
    /// The set was dropped: commands go nowhere.
    closed: bool,
}

/// What the set registers beside its waker: no entry of the set has a shorter interval
/// (a lower bound, in µs).
type Shared<K> = wakeup::Shared<Commands<K>, u64, ()>;

/// The set's side of the shared slot; the set holds one once it made a handle.
pub(crate) struct Owner<K> {
    wake: wakeup::Owner<Commands<K>, u64, ()>,
    /// The queue's other buffer: swapped in when the set takes the commands, so that
    /// neither side allocates once both have grown.
    spare: Vec<(K, Command)>,
    /// No entry has a shorter interval (µs): lowered by inserts and new intervals,
    /// never raised but by `clear`.
    pub(crate) min_interval_us: u64,
}

impl<K> Owner<K> {
    pub(crate) fn new(min_interval_us: u64) -> Self {
        let commands = Commands {
            queue: Vec::new(),
            ignored: 0,
            closed: false,
        };
        Owner {
            wake: wakeup::Owner::new(commands, min_interval_us, ()),
            spare: Vec::new(),
            min_interval_us,
        }
    }

    pub(crate) fn handle(&self) -> SetHandle<K> {
        SetHandle {
            shared: self.wake.share(),
        }
    }

    /// The commands the handles queued, in order, if any (else `None`, without the lock).
    /// Give the emptied buffer back with [`give_back`](Self::give_back).
    pub(crate) fn take(&mut self) -> Option<Vec<(K, Command)>> {
        let mut slot = self.wake.take()?;
        let mut commands = std::mem::take(&mut self.spare);
        std::mem::swap(&mut commands, &mut slot.queue);
        Some(commands)
    }

    /// Takes back the buffer of [`take`](Self::take), emptied, and counts the commands
    /// that found no entry.
    pub(crate) fn give_back(&mut self, buffer: Vec<(K, Command)>, ignored: u64) {
        debug_assert!(buffer.is_empty());
        self.spare = buffer;
        if ignored > 0 {
            let mut slot = self.wake.lock();
            slot.ignored = slot.ignored.saturating_add(ignored);
        }
    }

    /// Makes sure `waker` is woken by a command that may need the set before `armed`.
    /// `false` if a command arrived in the meantime: apply it and poll again.
    pub(crate) fn register(&mut self, waker: &Waker, armed: Option<Instant>) -> bool {
        self.wake.register(waker, armed, self.min_interval_us)
    }
}

impl<K> Drop for Owner<K> {
    fn drop(&mut self) {
        let mut slot = self.wake.lock();
        slot.closed = true;
        slot.forget_waker();
        // The keys of commands nobody will apply go now, not with the last handle.
        let queue = std::mem::take(&mut slot.queue);
        drop(slot);
        drop(queue);
    }
}

impl<K> fmt::Debug for Owner<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Owner").finish_non_exhaustive()
    }
}

/// Steers the entries of a [`TimerSet`](crate::TimerSet) from other tasks and threads:
/// `Clone + Send + Sync` (for `K: Send`).
///
/// Made by [`TimerSet::handle`](crate::TimerSet::handle). Its methods are the set's
/// per-key methods of the same names, with the same arguments: they take effect at the
/// moment they are called (a `reset` counts from the instant of the call, even if the
/// set's task runs later), and the set applies them in the order they were called, from
/// whichever handles, before anything else it does at its next poll or change. A
/// `next()` pending in the set's task is woken only when a command may need the set
/// before the wake-up it already waits for (a reset whose first tick comes before it, a
/// new interval); otherwise the set applies the command at that wake-up, and never
/// delivers a tick that the command moved or stopped.
///
/// The key is given as to the set's methods, by reference, and the handle keeps an owned
/// copy ([`ToOwned`]) until the set applies the command: `&key` for any `Clone` key, and
/// a `&str` for a `String` key.
///
/// # What the methods return
///
/// The set's own methods return whether the key was there; a handle cannot know that
/// when it is called, since the set applies the command later. So each method returns
/// `true` if the command was queued for the set, and `false` if the set has been dropped
/// (the command goes nowhere: a reader task can end). A command for a key that is not in
/// the set when it is applied is ignored, as the set's own methods ignore it, and counted:
/// [`ignored`](Self::ignored).
///
/// The set's `&self` views ([`deadline`](crate::TimerSet::deadline),
/// [`is_running`](crate::TimerSet::is_running), ...) show it as of its last poll or
/// change: commands not applied yet are not in them.
///
/// A set that never hands out a handle pays nothing for the feature: no allocation, and
/// no atomic operation on its poll path.
///
/// # Examples
///
/// Device readers kick their own watchdog entry in a set owned by another task:
///
/// ```
/// use std::time::Duration;
/// use kadenz::{Timer, TimerSet};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = tokio::time::Instant::now();
/// let mut watchdogs = TimerSet::new();
/// for device in ["plc-1", "plc-2"] {
///     watchdogs.insert(device, Timer::timeout_builder(Duration::from_millis(100))).unwrap();
/// }
/// let kick = watchdogs.handle();
/// tokio::spawn(async move {
///     // plc-1 answers every 60 ms; plc-2 never does.
///     for _ in 0..5 {
///         tokio::time::sleep(Duration::from_millis(60)).await;
///         kick.reset(&"plc-1");
///     }
/// });
/// let (device, tick) = watchdogs.next().await;
/// assert_eq!((device, tick.scheduled() - start), ("plc-2", Duration::from_millis(100)));
/// let (device, tick) = watchdogs.next().await;
/// assert_eq!((device, tick.scheduled() - start), ("plc-2", Duration::from_millis(200)));
/// // plc-1's last answer came at 300 ms: it trips 100 ms later.
/// let (device, tick) = watchdogs.next().await;
/// assert_eq!((device, tick.scheduled() - start), ("plc-2", Duration::from_millis(300)));
/// let (device, tick) = watchdogs.next().await;
/// assert_eq!((device, tick.scheduled() - start), ("plc-1", Duration::from_millis(400)));
/// # }
/// ```
///
/// Under tokio's paused clock, call a handle from tasks of the set's runtime: a thread
/// outside the runtime reads the real clock, not the paused one.
pub struct SetHandle<K> {
    shared: Arc<Shared<K>>,
}

impl<K> Clone for SetHandle<K> {
    fn clone(&self) -> Self {
        SetHandle {
            shared: self.shared.clone(),
        }
    }
}

impl<K> SetHandle<K> {
    /// Queues `command` for the entry under `key`; `make` runs under the lock, so that of
    /// two handles racing, the one whose command comes later also read the clock later.
    fn command<Q>(&self, key: &Q, make: impl FnOnce() -> Command) -> bool
    where
        Q: ToOwned<Owned = K> + ?Sized,
    {
        // The key is cloned before the lock: a `clone` that panics changes nothing.
        let key = key.to_owned();
        let mut slot = self.shared.lock();
        if slot.closed {
            return false;
        }
        let command = make();
        let wake = match command {
            Command::Stop => false,
            Command::SetInterval(_) => true,
            // The first tick counted with the shortest interval of the set: no entry's
            // can come earlier.
            Command::Start(start) => slot.start_needs_owner(start, slot.bound()),
        };
        slot.queue.push((key, command));
        self.shared.leave(slot, wake);
        true
    }

    /// Restarts the entry under `key` from now, as
    /// [`TimerSet::reset`](crate::TimerSet::reset): its next tick is due one interval
    /// from now. `false` if the set was dropped (see [what the methods
    /// return](Self#what-the-methods-return)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Timer, TimerSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let mut pumps: TimerSet<String> = TimerSet::new();
    /// pumps.insert("pump-3".to_string(), Timer::timeout_builder(Duration::from_millis(100))).unwrap();
    /// let handle = pumps.handle();
    /// tokio::time::advance(Duration::from_millis(70)).await;
    /// assert!(handle.reset("pump-3"));
    /// assert_eq!(pumps.next().await.1.scheduled(), start + Duration::from_millis(170));
    /// # }
    /// ```
    pub fn reset<Q>(&self, key: &Q) -> bool
    where
        Q: ToOwned<Owned = K> + ?Sized,
    {
        self.command(key, || {
            Command::Start(Start::After {
                at: Instant::now(),
                delay_us: 0,
            })
        })
    }

    /// Restarts the entry under `key` from now plus `start_delay`, as
    /// [`TimerSet::reset_after`](crate::TimerSet::reset_after). `false` if the set was
    /// dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Timer, TimerSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let mut timers = TimerSet::new();
    /// timers.insert(1, Timer::builder(Duration::from_millis(100))).unwrap();
    /// timers.handle().reset_after(&1, Duration::from_millis(50));
    /// assert_eq!(timers.next().await.1.scheduled(), start + Duration::from_millis(150));
    /// # }
    /// ```
    pub fn reset_after<Q>(&self, key: &Q, start_delay: Duration) -> bool
    where
        Q: ToOwned<Owned = K> + ?Sized,
    {
        let delay_us = saturating_micros(start_delay);
        self.command(key, || {
            Command::Start(Start::After {
                at: Instant::now(),
                delay_us,
            })
        })
    }

    /// Restarts the entry under `key` with its next tick due at `first_tick`, as
    /// [`TimerSet::reset_at`](crate::TimerSet::reset_at). `false` if the set was dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Timer, TimerSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let mut timers = TimerSet::new();
    /// timers.insert(1, Timer::builder(Duration::from_millis(100))).unwrap();
    /// timers.handle().reset_at(&1, start + Duration::from_millis(30));
    /// assert_eq!(timers.next().await.1.scheduled(), start + Duration::from_millis(30));
    /// # }
    /// ```
    pub fn reset_at<Q>(&self, key: &Q, first_tick: Instant) -> bool
    where
        Q: ToOwned<Owned = K> + ?Sized,
    {
        self.command(key, || Command::Start(Start::At(first_tick)))
    }

    /// Restarts the entry under `key` with its next tick due now, as
    /// [`TimerSet::reset_immediately`](crate::TimerSet::reset_immediately). `false` if
    /// the set was dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Timer, TimerSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timers = TimerSet::new();
    /// timers.insert("poll-now", Timer::builder(Duration::from_secs(10))).unwrap();
    /// timers.handle().reset_immediately(&"poll-now");
    /// assert_eq!(timers.next().await.1.drift(), Duration::ZERO);
    /// # }
    /// ```
    pub fn reset_immediately<Q>(&self, key: &Q) -> bool
    where
        Q: ToOwned<Owned = K> + ?Sized,
    {
        self.command(key, || Command::Start(Start::At(Instant::now())))
    }

    /// Stops the entry under `key`, as [`TimerSet::stop`](crate::TimerSet::stop): it
    /// stays in the set, and ticks again after a reset. `false` if the set was dropped.
    /// A stop never wakes the set's task: it is applied before the set delivers anything.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Timer, TimerSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timers = TimerSet::new();
    /// timers.insert("a", Timer::builder(Duration::from_millis(10))).unwrap();
    /// timers.insert("b", Timer::builder(Duration::from_millis(30))).unwrap();
    /// timers.handle().stop(&"a");
    /// assert_eq!(timers.next().await.0, "b");
    /// # }
    /// ```
    pub fn stop<Q>(&self, key: &Q) -> bool
    where
        Q: ToOwned<Owned = K> + ?Sized,
    {
        self.command(key, || Command::Stop)
    }

    /// Changes the interval of the entry under `key`, keeping its rhythm, as
    /// [`TimerSet::set_interval`](crate::TimerSet::set_interval). `Ok(false)` if the set
    /// was dropped.
    ///
    /// # Errors
    ///
    /// [`Error::IntervalTooShort`] or [`Error::IntervalTooLong`], as
    /// [`TimerBuilder::build`](crate::TimerBuilder::build); nothing is queued.
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
    /// let mut timers = TimerSet::new();
    /// timers.insert(1, Timer::builder(Duration::from_millis(100)))?;
    /// assert!(timers.handle().set_interval(&1, Duration::from_millis(40))?);
    /// assert_eq!(timers.next().await.1.scheduled(), start + Duration::from_millis(40));
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_interval<Q>(&self, key: &Q, interval: Duration) -> Result<bool, Error>
    where
        Q: ToOwned<Owned = K> + ?Sized,
    {
        let interval_us = crate::builder::interval_micros(interval)?;
        Ok(self.command(key, || Command::SetInterval(interval_us)))
    }

    /// How many commands, from all the handles of the set, the set ignored as far as it
    /// has applied them: those for a key that was not in it, and new intervals shorter
    /// than the entry's [jitter](crate::TimerBuilder::jitter) (which the set's own
    /// `set_interval` refuses with [`Error::JitterTooLong`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Timer, TimerSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timers = TimerSet::new();
    /// timers.insert(1, Timer::builder(Duration::from_millis(10))).unwrap();
    /// let handle = timers.handle();
    /// handle.reset(&7);
    /// assert_eq!(handle.ignored(), 0); // not applied yet
    /// timers.next().await;
    /// assert_eq!(handle.ignored(), 1);
    /// # }
    /// ```
    #[must_use]
    pub fn ignored(&self) -> u64 {
        self.shared.lock().ignored
    }

    /// Whether the set still exists: `false` once it was dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use kadenz::TimerSet;
    ///
    /// let mut timers = TimerSet::<u32>::new();
    /// let handle = timers.handle();
    /// assert!(handle.is_open());
    /// drop(timers);
    /// assert!(!handle.is_open());
    /// assert!(!handle.stop(&1));
    /// ```
    #[must_use]
    pub fn is_open(&self) -> bool {
        !self.shared.lock().closed
    }
}

/// For a log line: the commands waiting and whether the set still exists.
///
/// ```
/// use kadenz::TimerSet;
///
/// let mut timers = TimerSet::<u32>::new();
/// let handle = timers.handle();
/// handle.stop(&1);
/// assert_eq!(format!("{handle:?}"), "SetHandle { waiting: 1, ignored: 0, open: true }");
/// ```
impl<K> fmt::Debug for SetHandle<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slot = self.shared.lock();
        f.debug_struct("SetHandle")
            .field("waiting", &slot.queue.len())
            .field("ignored", &slot.ignored)
            .field("open", &!slot.closed)
            .finish()
    }
}

#[cfg(all(test, kadenz_loom))]
mod loom_check;
