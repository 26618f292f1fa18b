//! [`TimerSet`]: many keyed timers, driven by one task, waiting on one wake-up.
//!
//! How it is built: the entries live in a slab (`slab.rs`) of 32-byte [`Entry`]s with
//! their keys, found by key through a hash table of slab indices; their due times sit in a
//! queue (`queue.rs`: heaps from `heap.rs` and a ring of buckets); their policies in a
//! shared table (`policies.rs`). The set waits
//! on one wheel `Sleep` (and in precise mode one OS timer) for the earliest due time.
//!
//! A change of an entry's due time queues a new item instead of finding the old one: the
//! old item stays behind, and is dropped when it comes first and no longer matches its
//! entry's due time (`is_current`). An entry with a due time always has an item for it;
//! the items left behind are bounded by rebuilding the queue from the entries when they
//! outnumber the slots, and a poll drops at most `STALE_PER_POLL` of them before it
//! yields.

mod entry;
mod handle;
mod heap;
mod policies;
mod queue;
mod slab;

use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use hashbrown::HashTable;
use tokio::time::Instant;

use crate::label::Relative;
use crate::schedule::{saturating_micros, Due, Schedule, Start};
use crate::wait::{
    end_wait, is_waited, poll_due, wheel_still_waits, Step, Waits, Wheel, WheelSleep,
};
use crate::{Error, Stats, Tick, TimerBuilder};
use entry::{due_after, due_instant, Entry, Phase};
use heap::Item;
use policies::Policies;
use queue::Queue;
use slab::Slab;

pub use handle::SetHandle;

/// A keyed set of timers, each with its own interval, policy and start, that one task
/// drives: the timers of a few hundred devices, or of a million.
///
/// Each entry ticks exactly as a lone [`Timer`](crate::Timer) built from the same
/// [`TimerBuilder`] would (same due times, drifts, [`missed`](Tick::missed) and
/// [`skipped`](Tick::skipped) counts, see [Exactness](#exactness)), and
/// [`next`](Self::next) yields each tick with its key. The whole set waits on one wake-up,
/// for the earliest due time of all its entries, instead of one `Sleep` and one task per
/// timer.
///
/// ```text
/// entries:  "pump"  every 100 ms   ----|---------|---------|--
///           "valve" every 250 ms   ------------------|--------
/// next():   (pump, t=100) (pump, t=200) (valve, t=250) (pump, t=300) ...
/// ```
///
/// # Order and fairness
///
/// Ticks come out in the order of their due times, whichever entry they belong to;
/// ticks due at the same instant come out in an unspecified but deterministic order.
/// After a stall, an entry whose policy replays every missed tick
/// ([`TriggerAllMissed`](crate::policy::TriggerAllMissed)) does not hold the others back:
/// its replayed ticks interleave with the other entries' ticks by due time. Every tick
/// takes a unit of tokio's cooperative budget, as a [`Timer`](crate::Timer)'s does, so a
/// long catch-up gives the runtime back its thread now and then.
///
/// Exactly what one entry can take from the others: a tick due earlier than theirs, and
/// nothing else. The one exception to the order of due times bounds that too: an entry
/// whose policy answers a due time not after the tick it just delivered (a custom policy
/// that stands still or goes back, which would have that entry's ticks come first for
/// ever, as a lone `Timer` delivers them at once for ever) is held back. Its next tick
/// comes only when no other entry has a tick due by the set's clock; then every held
/// entry gets its next tick, and so on. A change of a held entry (a reset, a stop, a new
/// interval, a replacing insert) ends the hold. The ticks themselves (due times, drifts)
/// are the lone `Timer`'s either way; only when they come differs.
///
/// # Stopped entries and an empty set
///
/// A stopped entry stays in the set, and ticks again once reset. A set that is empty, or
/// whose entries are all stopped, waits: [`next`](Self::next) stays pending (it never
/// ends, unlike a stopped [`Timer`](crate::Timer)'s stream, so `StreamMap`-style
/// combinators keep it). Changing the set needs `&mut`, so in a `select!` loop the set is
/// polled again after every change made in another branch.
///
/// A change through `&mut` wakes no task: the set takes it into account at its next
/// poll. So the task that changes the set should be the one that polls it (as in a
/// `select!` loop). A set shared behind a mutex, polled by one task and changed by
/// another, may sleep past a tick a change moved earlier, until the wake-up it was
/// already waiting for: steer it from other tasks with a [`SetHandle`]
/// ([`handle`](Self::handle)) instead, which wakes the set's task when a command needs it
/// earlier.
///
/// # What an entry keeps
///
/// An entry takes every option of [`TimerBuilder`]: interval, policy, start delay,
/// [`auto_start(false)`](TimerBuilder::auto_start) (the entry then starts on the set's
/// next poll, or on a reset), [`tick_at_start`](TimerBuilder::tick_at_start),
/// [`first_tick_at`](TimerBuilder::first_tick_at) and
/// [`align_to_wall_clock`](TimerBuilder::align_to_wall_clock) (which place its first
/// tick). To keep entries at 32 bytes, it does not keep its wall clock (there is no
/// `realign` per entry: insert the entry again) nor its [name](TimerBuilder::name) (its
/// key names it), and the counters of [`Timer::stats`](crate::Timer::stats) are kept for
/// the whole set ([`stats`](Self::stats)); per entry only if asked
/// ([`record_entry_stats`](Self::record_entry_stats), 24 bytes more per slot). Entries report no `tracing` events: a builder
/// with a lateness threshold (`warn_if_late`, feature `tracing`) is refused with
/// [`Error::ConflictingOptions`]. Entries have no [`TimerHandle`](crate::TimerHandle) of
/// their own: the set hands out one [`SetHandle`] for all of them
/// ([`handle`](Self::handle)), whose commands name the key.
///
/// A watchdog entry is [`Timer::timeout_builder`](crate::Timer::timeout_builder).
///
/// # Exactness
///
/// Under a paused clock that moves by whole milliseconds (as tokio's timer wheel does,
/// and as the paused clock does when the runtime advances it), every entry's ticks equal
/// those of a lone `Timer` given the same operations (the test suite proves it against
/// the reference model). The set waits on the wheel for its earliest due time and, when
/// woken, delivers every entry due by the clock it reads: a test that advances a paused
/// clock by hand to an instant inside a millisecond may see an entry delivered up to that
/// millisecond earlier than a lone `Timer`, which waits for its own slot of the wheel.
///
/// # Keys that panic
///
/// A panic of a key's `Hash`, `Eq` or `Clone` propagates to the caller of the method
/// that called it, and leaves the set as it was before the call: its entries, their
/// schedules and the ticks to come. The set calls `Hash` and `Eq` before it changes
/// anything (an insert that grows the set's table hashes every key first), and `Clone`
/// only to yield a tick, before that tick is taken.
///
/// # Limits
///
/// Due times are kept in nanoseconds from the instant the set was created: a tick more
/// than about 292 years from it is never due (a lone `Timer` would report its deadline).
/// A set holds fewer than `u32::MAX` entries.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use kadenz::{Timer, TimerSet};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), kadenz::Error> {
/// let mut timers = TimerSet::new();
/// timers.insert("pump", Timer::builder(Duration::from_millis(100)))?;
/// timers.insert("valve", Timer::builder(Duration::from_millis(250)).skip_missed_ticks(true))?;
///
/// let mut seen = Vec::new();
/// while seen.len() < 4 {
///     let (device, tick) = timers.next().await;
///     seen.push((device, tick.drift()));
/// }
/// assert_eq!(seen.iter().map(|(d, _)| *d).collect::<Vec<_>>(), ["pump", "pump", "valve", "pump"]);
/// # Ok(())
/// # }
/// ```
#[doc(alias = "DelayQueue")]
#[doc(alias = "StreamMap")]
pub struct TimerSet<K> {
    /// The zero of the entries' instants.
    epoch: Instant,
    slots: Slab<Keyed<K>>,
    index: HashTable<u32>,
    hasher: RandomState,
    queue: Queue,
    /// Entries with a due time (each has an item in the queue).
    due_entries: usize,
    /// Slots of entries built with `auto_start(false)`, started by the next poll.
    unstarted: Vec<u32>,
    /// Slots of the entries held back after a tick that did not advance their schedule
    /// (`Entry::held`; a slot whose entry is no longer held is passed over).
    held: Vec<u32>,
    policies: Policies,
    stats: Stats,
    /// Once it waits for a due time no later than any entry's (`wait::set_waited`): until
    /// it fires, polls need neither the clock nor the heap.
    sleep: WheelSleep,
    /// The OS timer of a precise set (always `None`, of no size, without the feature).
    precise: Option<crate::precise::Precise>,
    /// The set's side of its handles, once one was made: a null pointer until then.
    handles: Option<Box<handle::Owner<K>>>,
    /// The drifts of `record_drift`.
    histogram: Option<crate::DriftHistogram>,
    /// Each slot's counters, with `record_entry_stats`: by slot index.
    entry_stats: Option<Vec<Stats>>,
    /// An entry with jitter was inserted (since the last `clear`): due times then look
    /// up their entry's jitter.
    jittered: bool,
}

/// An entry with its key, in the slab.
struct Keyed<K> {
    key: K,
    entry: Entry,
}

/// Whether the slot `slot` holds the entry under `key`: the hash table's equality.
fn holds<K, Q>(slots: &Slab<Keyed<K>>, slot: u32, key: &Q) -> bool
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    slots
        .get(slot)
        .is_some_and(|keyed| keyed.key.borrow() == key)
}

/// Drops the slots of `list` that no longer name an entry that `keep`s (changed,
/// removed, or listed twice) once they outnumber twice the `live` entries: memory stays
/// within about twice the entries, at O(log n) amortized per addition.
fn shed_slots<K>(
    list: &mut Vec<u32>,
    slots: &Slab<Keyed<K>>,
    live: usize,
    keep: impl Fn(&Entry) -> bool,
) {
    let bound = 2 * live + 16;
    if list.len() <= bound {
        return;
    }
    list.retain(|&slot| slots.get(slot).is_some_and(|keyed| keep(&keyed.entry)));
    // A slot listed twice is acted on once anyway, and ticks due at the same instant come
    // in no promised order, so the list's order need not be kept.
    list.sort_unstable();
    list.dedup();
    list.shrink_to(bound);
}

/// A set waits on its wheel `Sleep`, and on its OS timer if it is precise.
impl<K: Hash + Eq + Clone> Waits for TimerSet<K> {
    #[inline(always)]
    fn waiting(&mut self) -> (&mut WheelSleep, Option<&mut crate::precise::Precise>) {
        (&mut self.sleep, self.precise.as_mut())
    }

    /// Nothing else is due: the held entries' turn (they are due already).
    #[inline(always)]
    fn before_wait(&mut self) -> bool {
        self.release_held()
    }
}

/// [`TimerSet::due_of`], for borrows of the set's fields apart.
#[inline]
fn fires_at(jittered: bool, policies: &Policies, entry: &Entry) -> Option<u64> {
    let due = entry.due()?;
    if !jittered {
        return Some(due);
    }
    match policies.jitter(entry.policy) {
        Some(jitter) => Some(due_after(due, jitter.offset_us(entry.next_us()))),
        None => Some(due),
    }
}

/// Items left behind by changes that one poll drops before it yields (about 50 µs).
const STALE_PER_POLL: usize = 4096;

/// How a change placed an entry's tick, for what the set's `Sleep` may do about it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placed {
    /// One interval (and a delay) from now: the `Sleep` moves to it, as a `Timer`'s does.
    FromNow,
    /// Anywhere, perhaps due already: the next poll reads the clock.
    Anywhere,
}

impl<K> Default for TimerSet<K> {
    fn default() -> Self {
        TimerSet {
            epoch: Instant::now(),
            slots: Slab::default(),
            index: HashTable::new(),
            hasher: RandomState::new(),
            queue: Queue::default(),
            due_entries: 0,
            unstarted: Vec::new(),
            held: Vec::new(),
            policies: Policies::default(),
            stats: Stats::default(),
            sleep: None,
            precise: None,
            handles: None,
            histogram: None,
            entry_stats: None,
            jittered: false,
        }
    }
}

impl<K> TimerSet<K> {
    /// An empty set. Needs no runtime: entries started on insert need one, as
    /// [`TimerBuilder::build`] does.
    ///
    /// # Examples
    ///
    /// ```
    /// use kadenz::TimerSet;
    ///
    /// let timers: TimerSet<u32> = TimerSet::new();
    /// assert!(timers.is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty set with room for `capacity` entries before it allocates again: for a
    /// large set, the memory of exactly what it holds instead of up to twice that while
    /// it grows.
    ///
    /// # Examples
    ///
    /// ```
    /// use kadenz::TimerSet;
    ///
    /// let timers: TimerSet<u32> = TimerSet::with_capacity(10_000);
    /// assert!(timers.memory() >= 10_000 * 32);
    /// ```
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        let mut set = Self::default();
        set.slots.reserve_exact(capacity);
        set.index = HashTable::with_capacity(capacity);
        set
    }

    /// Makes the set keep one [`DriftHistogram`](crate::DriftHistogram) of the drifts of
    /// every tick it delivers, whichever entry's (default: `false`); read it with
    /// [`drift_histogram`](Self::drift_histogram). About 4 KiB for the whole set, and a
    /// few instructions per tick; a set without it pays one branch per tick.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Timer, TimerSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timers = TimerSet::new().record_drift(true);
    /// timers.insert("a", Timer::builder(Duration::from_millis(10))).unwrap();
    /// timers.insert("b", Timer::builder(Duration::from_millis(15))).unwrap();
    /// tokio::time::advance(Duration::from_millis(17)).await;
    /// for _ in 0..2 {
    ///     timers.next().await; // a at 10 ms, b at 15 ms: 7 and 2 ms late
    /// }
    /// let drifts = timers.drift_histogram().unwrap();
    /// assert_eq!((drifts.count(), drifts.max()), (2, Duration::from_millis(7)));
    /// # }
    /// ```
    #[must_use]
    pub fn record_drift(mut self, record: bool) -> Self {
        self.histogram = record.then(crate::DriftHistogram::new);
        self
    }

    /// Makes the set keep the counters of [`Stats`] for each entry (default: `false`):
    /// ticks delivered, due times skipped and the largest drift, read with
    /// [`entry_stats`](Self::entry_stats), for a watchdog that reports which device trips
    /// most. 24 bytes per slot of the set (an entry is 32 bytes without them, plus its key
    /// and the index: see [`memory`](Self::memory)), and a few instructions per tick. An
    /// entry's counters start at zero when it is inserted (or replaced) and go with it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Timer, TimerSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut watchdogs = TimerSet::new().record_entry_stats(true);
    /// watchdogs.insert("plc-1", Timer::timeout_builder(Duration::from_millis(10))).unwrap();
    /// watchdogs.insert("plc-2", Timer::timeout_builder(Duration::from_millis(25))).unwrap();
    /// for _ in 0..3 {
    ///     watchdogs.next().await; // plc-1 at 10 and 20 ms, plc-2 at 25 ms
    /// }
    /// assert_eq!(watchdogs.entry_stats("plc-1").unwrap().delivered(), 2);
    /// assert_eq!(watchdogs.entry_stats("plc-2").unwrap().delivered(), 1);
    /// assert_eq!(watchdogs.entry_stats("plc-9"), None);
    /// # }
    /// ```
    #[must_use]
    pub fn record_entry_stats(mut self, record: bool) -> Self {
        self.entry_stats = record.then(|| vec![Stats::default(); self.slots.slots()]);
        self
    }

    /// The histogram of the drifts of the ticks the set delivered, if it was made with
    /// [`record_drift(true)`](Self::record_drift); next to the counters of
    /// [`stats`](Self::stats).
    ///
    /// # Examples
    ///
    /// ```
    /// use kadenz::TimerSet;
    ///
    /// assert!(TimerSet::<u32>::new().drift_histogram().is_none());
    /// assert_eq!(TimerSet::<u32>::new().record_drift(true).drift_histogram().unwrap().count(), 0);
    /// ```
    #[must_use]
    pub fn drift_histogram(&self) -> Option<&crate::DriftHistogram> {
        self.histogram.as_ref()
    }

    /// Makes the set precise, as [`TimerBuilder::precise`] makes a timer: its one
    /// wake-up also asks the OS timer (on Linux), so every entry's ticks come with
    /// sub-millisecond lateness. Entries built with `precise(true)` need a precise set.
    ///
    /// # Precision
    ///
    /// The whole set holds one place in one OS timer, for its earliest due time,
    /// whatever its number of entries: one OS wake-up per due instant of the set, and
    /// the entries due by then are delivered in due order, as from a default set. The
    /// rules of a precise timer hold for the set (the runtime's reactor or kadenz's
    /// thread, the coalescing bound, no descriptor left, the paused clock): see the
    /// `# Precision` section of [`TimerBuilder::precise`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Timer, TimerSet};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut timers = TimerSet::new().precise(true);
    /// timers.insert("fast", Timer::builder(Duration::from_micros(500)).precise(true)).unwrap();
    /// assert_eq!(timers.is_precise(), cfg!(target_os = "linux"));
    /// # }
    /// ```
    #[cfg(feature = "precise")]
    #[cfg_attr(docsrs, doc(cfg(feature = "precise")))]
    #[must_use]
    pub fn precise(mut self, precise: bool) -> Self {
        self.precise = crate::precise::Precise::new_if(precise);
        end_wait(&mut self.sleep);
        self
    }

    /// Whether the set is precise and an OS timer serves it (cargo feature `precise`):
    /// as [`Timer::is_precise`](crate::Timer::is_precise) says of a timer.
    ///
    /// # Examples
    ///
    /// ```
    /// use kadenz::TimerSet;
    ///
    /// assert!(!TimerSet::<u8>::new().is_precise());
    /// ```
    #[cfg(feature = "precise")]
    #[cfg_attr(docsrs, doc(cfg(feature = "precise")))]
    #[must_use]
    pub fn is_precise(&self) -> bool {
        self.precise
            .as_ref()
            .is_some_and(crate::precise::Precise::is_available)
    }

    /// The number of entries, stopped ones included.
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
    /// timers.insert(1, Timer::builder(Duration::from_secs(1))).unwrap();
    /// timers.stop(&1);
    /// assert_eq!(timers.len(), 1);
    /// # }
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the set has no entries.
    ///
    /// # Examples
    ///
    /// ```
    /// use kadenz::TimerSet;
    ///
    /// assert!(TimerSet::<String>::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.slots.len() == 0
    }

    /// What the set has delivered so far, over all its entries: ticks, skipped due times,
    /// the largest drift. (Entries keep no counters of their own, to stay small; count a
    /// key's ticks from [`next`](Self::next) if you need them.) For the distribution of
    /// the drifts (p50, p99), make the set with [`record_drift(true)`](Self::record_drift)
    /// and read [`drift_histogram`](Self::drift_histogram).
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
    /// timers.insert('a', Timer::builder(Duration::from_millis(10))).unwrap();
    /// timers.insert('b', Timer::builder(Duration::from_millis(15))).unwrap();
    /// for _ in 0..3 {
    ///     timers.next().await;
    /// }
    /// assert_eq!(timers.stats().delivered(), 3);
    /// # }
    /// ```
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Removes every entry, keeping the memory for new ones.
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
    /// timers.insert(7, Timer::builder(Duration::from_secs(1))).unwrap();
    /// timers.clear();
    /// assert!(timers.is_empty());
    /// # }
    /// ```
    pub fn clear(&mut self) {
        if let Some(owner) = &mut self.handles {
            // Commands given before the clear would act on entries it removes: they go
            // with them.
            if let Some(mut commands) = owner.take() {
                commands.clear();
                owner.give_back(commands, 0);
            }
            owner.min_interval_us = u64::MAX;
        }
        if let Some(stats) = &mut self.entry_stats {
            stats.clear();
        }
        self.index.clear();
        self.queue.clear();
        self.due_entries = 0;
        self.unstarted.clear();
        self.held.clear();
        self.jittered = false;
        // The keys and timers last, then the policies they refer to: a key's `Drop` that
        // panics leaves an empty set that works (the policy table then keeps its slots,
        // which later inserts of the same built-in policies share).
        self.slots.clear();
        self.policies.clear();
    }

    /// The keys of the set, in no particular order.
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
    /// timers.insert("a", Timer::builder(Duration::from_secs(1))).unwrap();
    /// assert_eq!(timers.keys().collect::<Vec<_>>(), [&"a"]);
    /// # }
    /// ```
    pub fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.slots.values().map(|keyed| &keyed.key)
    }

    /// The bytes of memory the set holds for its entries (slab, hash table, queue and
    /// pending starts; not what the keys themselves point to, nor custom policies), to
    /// watch a set's footprint.
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
    /// for device in 0..1_000u32 {
    ///     timers.insert(device, Timer::builder(Duration::from_secs(1))).unwrap();
    /// }
    /// assert!(timers.memory() / timers.len() < 100);
    /// # }
    /// ```
    #[must_use]
    pub fn memory(&self) -> usize {
        self.slots.memory()
            + self
                .entry_stats
                .as_ref()
                .map_or(0, |stats| stats.capacity() * std::mem::size_of::<Stats>())
            // A slab index and a control byte for each bucket of the hash table.
            + self.index.capacity() * 8 / 7 * (std::mem::size_of::<u32>() + 1)
            + self.queue.capacity_bytes()
            + (self.unstarted.capacity() + self.held.capacity()) * std::mem::size_of::<u32>()
    }

    fn entry(&self, slot: u32) -> Option<&Entry> {
        self.slots.get(slot).map(|keyed| &keyed.entry)
    }

    /// When the pending tick of `entry` fires: its due time, plus its jitter if it has
    /// one (one branch for a set without jittered entries). The queue's order.
    #[inline]
    fn due_of(&self, entry: &Entry) -> Option<u64> {
        fires_at(self.jittered, &self.policies, entry)
    }

    /// The earliest due time of all entries, for `Debug` (`&self`): the top of the
    /// queue's near heap if there is one and it is current (every entry with a due time
    /// has an item, and the near heap's are the earliest), else a pass over the entries.
    fn earliest_due(&self) -> Option<u64> {
        if self.due_entries == 0 {
            return None;
        }
        if let Some(top) = self
            .queue
            .first()
            .filter(|&top| self.held.is_empty() && self.is_current(top))
        {
            return Some(top.due);
        }
        self.slots
            .values()
            .filter_map(|keyed| self.due_of(&keyed.entry))
            .min()
    }

    /// Whether a queued item is the due time of its entry now (else it was left behind,
    /// or the entry is held back).
    fn is_current(&self, item: Item) -> bool {
        self.entry(item.slot)
            .is_some_and(|entry| !entry.held && self.due_of(entry) == Some(item.due))
    }

    /// After the entry in `slot` changed, from due time `before`: counts it, queues its
    /// new due time, and keeps the set's wait no later than it.
    fn changed(&mut self, slot: u32, before: Option<u64>, placed: Placed) {
        // A change lets a held entry go: its due time, changed or not, needs an item.
        let was_held = match self.slots.get_mut(slot) {
            Some(keyed) => std::mem::take(&mut keyed.entry.held),
            None => false,
        };
        let after = self.entry(slot).and_then(|entry| self.due_of(entry));
        self.due_entries =
            self.due_entries + usize::from(after.is_some()) - usize::from(before.is_some());
        let Some(due) = after else {
            return;
        };
        if after != before || was_held {
            self.queue.push(Item { due, slot });
            self.wait_no_later_than(due_instant(self.epoch, due), placed);
            self.shed();
        }
    }

    fn wait_no_later_than(&mut self, due: Instant, placed: Placed) {
        if !is_waited(&self.sleep) {
            return;
        }
        if let Some(wheel) = &mut self.sleep {
            if due < wheel.deadline() {
                if placed == Placed::FromNow {
                    wheel.reset(due);
                } else {
                    end_wait(&mut self.sleep);
                }
            }
        }
    }

    /// Rebuilds the queue from the entries once the items left behind outnumber the
    /// slots: memory stays within about twice the entries, at O(1) amortized per change.
    fn shed(&mut self) {
        // The rebuild scans every slot, so it waits for as many items left behind as
        // there are slots: O(1) amortized per change, however many entries are stopped.
        if self.queue.len() <= self.due_entries + self.slots.slots() + 1024 {
            return;
        }
        let (jittered, policies) = (self.jittered, &self.policies);
        let items = self
            .slots
            .iter()
            .filter(|(_, keyed)| !keyed.entry.held)
            .filter_map(|(slot, keyed)| {
                fires_at(jittered, policies, &keyed.entry).map(|due| Item { due, slot })
            });
        self.queue.rebuild(items);
    }

    /// Drops the slots of `unstarted` that no longer name an entry to start (replaced,
    /// removed, started, or listed twice) once they outnumber the entries: memory stays
    /// within about twice the entries, at O(log n) amortized per insert or remove,
    /// however many inserts come between two polls.
    fn shed_unstarted(&mut self) {
        shed_slots(
            &mut self.unstarted,
            &self.slots,
            self.slots.len(),
            |entry| entry.phase() == Phase::NotStarted,
        );
    }

    /// Lets every held entry go: queues its due time again. `false` if none was held.
    fn release_held(&mut self) -> bool {
        if self.held.is_empty() {
            return false;
        }
        for slot in std::mem::take(&mut self.held) {
            if let Some(Keyed { entry, .. }) = self.slots.get_mut(slot) {
                if std::mem::take(&mut entry.held) {
                    if let Some(due) = fires_at(self.jittered, &self.policies, entry) {
                        self.queue.push(Item { due, slot });
                    }
                }
            }
        }
        self.shed();
        true
    }

    /// Starts the entries built with `auto_start(false)` that nothing started yet.
    fn start_unstarted(&mut self) {
        let now = Instant::now();
        for slot in std::mem::take(&mut self.unstarted) {
            if let Some(Keyed { entry, .. }) = self.slots.get_mut(slot) {
                if entry.phase() == Phase::NotStarted {
                    let mut schedule = entry.load(self.epoch);
                    schedule.start(Start::After {
                        at: now,
                        delay_us: 0,
                    });
                    entry.store(&schedule, self.epoch);
                    self.changed(slot, None, Placed::FromNow);
                }
            }
        }
    }
}

impl<K: Hash + Eq + Clone> TimerSet<K> {
    fn find<Q>(&self, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find_hashed(self.hasher.hash_one(key), key)
    }

    fn find_hashed<Q>(&self, hash: u64, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slots = &self.slots;
        self.index
            .find(hash, |&slot| holds(slots, slot, key))
            .copied()
    }

    /// Makes room in the hash table for one more key, before the set changes anything.
    ///
    /// Growing the table rehashes every key. A key's `Hash` that panics in the middle of
    /// that would lose keys (hashbrown drops those it has not rehashed yet when it
    /// rehashes in place), so the keys' hashes are taken first, into a list the rehash
    /// reads: a panic then leaves the table as it was. The list lives while the table
    /// grows, which is rare (amortized O(1) per insert, as the growth itself).
    fn reserve_one(&mut self) {
        if self.index.len() < self.index.capacity() {
            return;
        }
        let hashes = self
            .slots
            .map_slots(0, |keyed| self.hasher.hash_one(&keyed.key));
        self.index.reserve(1, |&slot| hashes[slot as usize]);
    }

    /// Adds a timer under `key`, built and started as [`TimerBuilder::build`] would
    /// start a lone [`Timer`](crate::Timer): now, unless the builder says otherwise.
    ///
    /// An entry already under `key` is replaced, as [`HashMap::insert`] replaces a
    /// value: its pending tick is dropped, and the new timer starts as its builder says.
    ///
    /// # Errors
    ///
    /// Every error of [`TimerBuilder::build`], for the same options; and
    /// [`Error::SetFull`] if the set holds `u32::MAX - 1` entries. On an error the set is
    /// left as it was.
    ///
    /// [`HashMap::insert`]: std::collections::HashMap::insert
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Error, Timer, TimerSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timers = TimerSet::new();
    /// timers.insert("meter", Timer::builder(Duration::from_millis(250))).unwrap();
    /// // Replaces the entry: the meter now ticks every second.
    /// timers.insert("meter", Timer::builder(Duration::from_secs(1))).unwrap();
    /// assert_eq!(timers.interval(&"meter"), Some(Duration::from_secs(1)));
    /// assert_eq!(
    ///     timers.insert("bad", Timer::builder(Duration::ZERO)),
    ///     Err(Error::IntervalTooShort(Duration::ZERO))
    /// );
    /// # }
    /// ```
    pub fn insert(&mut self, key: K, timer: TimerBuilder) -> Result<(), Error> {
        self.sync_handles();
        let plan = timer.plan()?;
        if plan
            .label
            .trace
            .is_some_and(|trace| trace.late_after_us().is_some())
        {
            return Err(Error::ConflictingOptions {
                option: "warn_if_late",
                conflicts_with: "a TimerSet entry (entries report no events)",
            });
        }
        if plan.record_drift {
            return Err(Error::ConflictingOptions {
                option: "record_drift(true) on an entry",
                conflicts_with: "a TimerSet (the set keeps one histogram: TimerSet::record_drift)",
            });
        }
        if plan.precise && self.precise.is_none() {
            return Err(Error::ConflictingOptions {
                option: "precise(true) on an entry",
                conflicts_with: "a TimerSet without precise(true) (the set waits as a whole)",
            });
        }
        let hash = self.hasher.hash_one(&key);
        let existing = self.find_hashed(hash, &key);
        if existing.is_none() && self.slots.is_full() {
            return Err(Error::SetFull(self.slots.len()));
        }
        if existing.is_none() {
            self.reserve_one();
        }
        if let Some(owner) = &mut self.handles {
            owner.min_interval_us = owner.min_interval_us.min(plan.interval_us);
        }
        let policy = self.policies.add(plan.policy, plan.jitter);
        self.jittered |= plan.jitter.is_some();
        let mut entry = Entry::new(plan.interval_us, policy);
        let placed = match plan.start {
            Some(start) => {
                let mut schedule = entry.load(self.epoch);
                schedule.start(start);
                entry.store(&schedule, self.epoch);
                match start {
                    Start::After { .. } => Placed::FromNow,
                    Start::Offset { .. } | Start::At(_) => Placed::Anywhere,
                }
            }
            None => Placed::Anywhere,
        };
        let (slot, before) = match existing {
            Some(slot) => {
                let Some(Keyed { entry: old, .. }) = self.slots.get(slot) else {
                    unreachable!("the index names occupied slots");
                };
                let old = *old;
                // Before its policy (and jitter) go.
                let before = self.due_of(&old);
                self.policies.release(old.policy);
                // So that `changed` lets a held entry go.
                entry.held = old.held;
                if let Some(Keyed { entry: old, .. }) = self.slots.get_mut(slot) {
                    *old = entry;
                }
                (slot, before)
            }
            None => {
                // Not full: checked above.
                let slot = self.slots.insert(Keyed { key, entry });
                // There is room (`reserve_one`): the table does not rehash, and this
                // hasher is never called.
                let (slots, hasher) = (&self.slots, &self.hasher);
                self.index.insert_unique(hash, slot, |&s| {
                    slots.get(s).map_or(0, |keyed| hasher.hash_one(&keyed.key))
                });
                (slot, None)
            }
        };
        if plan.start.is_none() {
            self.unstarted.push(slot);
            self.shed_unstarted();
        }
        if let Some(stats) = &mut self.entry_stats {
            // Slots are only ever added at the end, one at a time.
            match stats.get_mut(slot as usize) {
                Some(stats) => *stats = Stats::default(),
                None => stats.resize(slot as usize + 1, Stats::default()),
            }
        }
        self.changed(slot, before, placed);
        Ok(())
    }

    /// Removes the entry under `key`; `false` if there was none.
    ///
    /// Like every method that looks an entry up, it takes the key in any borrowed form,
    /// as [`HashMap::remove`](std::collections::HashMap::remove) does: a `&str` for a set
    /// of `String`s. The borrowed form must hash and compare as the key does (the
    /// contract of [`Borrow`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Timer, TimerSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut pumps: TimerSet<String> = TimerSet::new();
    /// pumps.insert(format!("pump-{}", 3), Timer::builder(Duration::from_secs(1))).unwrap();
    /// assert!(pumps.contains("pump-3"));
    /// assert!(pumps.reset("pump-3"));
    /// assert!(pumps.remove("pump-3"));
    /// assert!(!pumps.contains("pump-3"));
    /// # }
    /// ```
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
    /// timers.insert(3, Timer::builder(Duration::from_secs(1))).unwrap();
    /// assert!(timers.remove(&3));
    /// assert!(!timers.remove(&3));
    /// assert!(!timers.contains(&3));
    /// # }
    /// ```
    pub fn remove<Q>(&mut self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.sync_handles();
        let hash = self.hasher.hash_one(key);
        let slots = &self.slots;
        let Ok(found) = self.index.find_entry(hash, |&slot| holds(slots, slot, key)) else {
            return false;
        };
        let (slot, _) = found.remove();
        if let Some(Keyed { entry, .. }) = self.slots.remove(slot) {
            self.policies.release(entry.policy);
            if entry.due().is_some() {
                self.due_entries -= 1;
            }
        }
        if self.slots.len() == 0 {
            self.queue.clear();
            self.held.clear();
        } else {
            self.shed();
        }
        self.shed_unstarted();
        true
    }

    /// Whether an entry is under `key`.
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
    /// timers.insert("a", Timer::builder(Duration::from_secs(1))).unwrap();
    /// assert!(timers.contains(&"a"));
    /// assert!(!timers.contains(&"b"));
    /// # }
    /// ```
    #[must_use]
    pub fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(key).is_some()
    }

    /// Runs `change` on the schedule of the entry under `key`; `false` if there is none.
    fn change<Q>(&mut self, key: &Q, placed: Placed, change: impl FnOnce(&mut Schedule)) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let Some(slot) = self.find(key) else {
            return false;
        };
        let epoch = self.epoch;
        let before = match self.slots.get(slot) {
            Some(keyed) => self.due_of(&keyed.entry),
            None => return false,
        };
        let Some(Keyed { entry, .. }) = self.slots.get_mut(slot) else {
            return false;
        };
        let mut schedule = entry.load(epoch);
        change(&mut schedule);
        entry.store(&schedule, epoch);
        self.changed(slot, before, placed);
        true
    }

    /// [`change`](Self::change) to a new interval, which the handles learn as a bound.
    fn change_interval<Q>(&mut self, key: &Q, interval_us: u64) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(owner) = &mut self.handles {
            owner.min_interval_us = owner.min_interval_us.min(interval_us);
        }
        self.change(key, Placed::Anywhere, |s| {
            s.set_interval(interval_us);
        })
    }

    /// Applies the commands the handles queued, in order, if any: before anything else
    /// the set does, so that they and the owner's own calls act in the order they were
    /// made. Without handles, one branch on a null pointer.
    #[inline]
    fn sync_handles(&mut self) {
        if self.handles.is_some() {
            self.apply_handles_commands();
        }
    }

    /// [`sync_handles`](Self::sync_handles) for a set with handles: out of line, so that
    /// the poll of a set without handles carries one branch for them.
    #[inline(never)]
    fn apply_handles_commands(&mut self) {
        let Some(owner) = &mut self.handles else {
            return;
        };
        let Some(mut commands) = owner.take() else {
            return;
        };
        let mut ignored = 0;
        for (key, command) in commands.drain(..) {
            let found = match command {
                handle::Command::Start(start) => {
                    let placed = match start {
                        Start::After { .. } => Placed::FromNow,
                        Start::Offset { .. } | Start::At(_) => Placed::Anywhere,
                    };
                    self.change(&key, placed, |s| s.start(start))
                }
                handle::Command::Stop => self.change(&key, Placed::Anywhere, Schedule::stop),
                // Shorter than the entry's jitter: refused, and counted with the
                // commands that found no entry.
                handle::Command::SetInterval(interval_us) => {
                    self.check_jitter(&key, Duration::from_micros(interval_us), interval_us)
                        .is_ok()
                        && self.change_interval(&key, interval_us)
                }
            };
            ignored += u64::from(!found);
        }
        if let Some(owner) = &mut self.handles {
            owner.give_back(commands, ignored);
        }
    }

    /// Lets the handles wake the task of a poll that returns `Pending`, whose wheel wakes
    /// it anyway at `armed`; `false` if a command arrived meanwhile (apply it, poll again).
    fn register(&mut self, cx: &Context<'_>, armed: Option<Instant>) -> bool {
        match &mut self.handles {
            Some(owner) => owner.register(cx.waker(), armed),
            None => true,
        }
    }

    /// A handle that steers the set's entries from other tasks and threads: the per-key
    /// `reset`, `reset_after`, `reset_at`, `reset_immediately`, `stop` and
    /// `set_interval`, applied in the order they are called (see [`SetHandle`]).
    ///
    /// The first call allocates the state the set shares with its handles; every call
    /// after that clones it. A set that never makes a handle pays nothing for them.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{SetHandle, Timer, TimerSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let mut watchdogs: TimerSet<String> = TimerSet::new();
    /// watchdogs.insert("meter".into(), Timer::timeout_builder(Duration::from_millis(100))).unwrap();
    /// let handle: SetHandle<String> = watchdogs.handle();
    /// tokio::spawn(async move {
    ///     tokio::time::sleep(Duration::from_millis(80)).await;
    ///     handle.reset("meter"); // a reading arrived
    /// });
    /// let (_, tick) = watchdogs.next().await;
    /// assert_eq!(tick.scheduled(), start + Duration::from_millis(180));
    /// # }
    /// ```
    pub fn handle(&mut self) -> SetHandle<K> {
        let slots = &self.slots;
        self.handles
            .get_or_insert_with(|| {
                let min_interval_us = slots
                    .values()
                    .map(|keyed| keyed.entry.interval_us())
                    .min()
                    .unwrap_or(u64::MAX);
                Box::new(handle::Owner::new(min_interval_us))
            })
            .handle()
    }

    /// Restarts the entry under `key` from now, as [`Timer::reset`](crate::Timer::reset):
    /// its next tick is due one interval from now. Starts a stopped entry. `false` if
    /// there is no entry under `key`.
    ///
    /// # Examples
    ///
    /// A watchdog per device, kicked whenever the device answers:
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
    ///     watchdogs.insert(device, Timer::builder(Duration::from_millis(100))).unwrap();
    /// }
    /// tokio::time::advance(Duration::from_millis(60)).await;
    /// watchdogs.reset(&"plc-1"); // plc-1 answered
    /// let (device, tick) = watchdogs.next().await;
    /// assert_eq!((device, tick.scheduled()), ("plc-2", start + Duration::from_millis(100)));
    /// let (device, tick) = watchdogs.next().await;
    /// assert_eq!((device, tick.scheduled()), ("plc-1", start + Duration::from_millis(160)));
    /// # }
    /// ```
    pub fn reset<Q>(&mut self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.sync_handles();
        let at = Instant::now();
        self.change(key, Placed::FromNow, |s| {
            s.start(Start::After { at, delay_us: 0 });
        })
    }

    /// Restarts the entry under `key` from now plus `start_delay`, as
    /// [`Timer::reset_after`](crate::Timer::reset_after): its next tick is due one
    /// interval after that. `false` if there is no entry under `key`.
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
    /// timers.reset_after(&1, Duration::from_millis(50));
    /// assert_eq!(timers.deadline(&1), Some(start + Duration::from_millis(150)));
    /// # }
    /// ```
    pub fn reset_after<Q>(&mut self, key: &Q, start_delay: Duration) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.sync_handles();
        let at = Instant::now();
        let delay_us = saturating_micros(start_delay);
        self.change(key, Placed::FromNow, |s| {
            s.start(Start::After { at, delay_us })
        })
    }

    /// Restarts the entry under `key` with its next tick due at `first_tick`, then every
    /// interval, as [`Timer::reset_at`](crate::Timer::reset_at). `false` if there is no
    /// entry under `key`.
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
    /// timers.reset_at(&1, start + Duration::from_millis(30));
    /// assert_eq!(timers.next().await.1.scheduled(), start + Duration::from_millis(30));
    /// assert_eq!(timers.next().await.1.scheduled(), start + Duration::from_millis(130));
    /// # }
    /// ```
    pub fn reset_at<Q>(&mut self, key: &Q, first_tick: Instant) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.sync_handles();
        self.change(key, Placed::Anywhere, |s| s.start(Start::At(first_tick)))
    }

    /// Restarts the entry under `key` with its next tick due now, as
    /// [`Timer::reset_immediately`](crate::Timer::reset_immediately). `false` if there
    /// is no entry under `key`.
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
    /// timers.reset_immediately(&"poll-now");
    /// assert_eq!(timers.next().await.1.drift(), Duration::ZERO);
    /// # }
    /// ```
    pub fn reset_immediately<Q>(&mut self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.sync_handles();
        let at = Instant::now();
        self.change(key, Placed::Anywhere, |s| s.start(Start::At(at)))
    }

    /// Stops the entry under `key`: it stays in the set, and ticks again after a reset.
    /// `false` if there is no entry under `key`.
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
    /// timers.stop(&"a");
    /// assert!(!timers.is_running(&"a"));
    /// assert_eq!(timers.next().await.0, "b");
    /// timers.reset(&"a");
    /// assert_eq!(timers.next().await.0, "a");
    /// # }
    /// ```
    pub fn stop<Q>(&mut self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.sync_handles();
        self.change(key, Placed::Anywhere, Schedule::stop)
    }

    /// Changes the interval of the entry under `key`, keeping its rhythm, as
    /// [`Timer::set_interval`](crate::Timer::set_interval). `Ok(false)` if there is no
    /// entry under `key`.
    ///
    /// # Errors
    ///
    /// [`Error::IntervalTooShort`] or [`Error::IntervalTooLong`], as
    /// [`TimerBuilder::build`], and [`Error::JitterTooLong`] for an interval shorter than
    /// the entry's jitter; the entry is left as it was.
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
    /// assert!(timers.set_interval(&1, Duration::from_millis(40))?);
    /// assert_eq!(timers.deadline(&1), Some(start + Duration::from_millis(40)));
    /// assert!(!timers.set_interval(&2, Duration::from_millis(40))?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_interval<Q>(&mut self, key: &Q, interval: Duration) -> Result<bool, Error>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        // The handles' commands first, as every call does, also one refused.
        self.sync_handles();
        let interval_us = crate::builder::interval_micros(interval)?;
        self.check_jitter(key, interval, interval_us)?;
        Ok(self.change_interval(key, interval_us))
    }

    /// Refuses an interval shorter than the jitter of the entry under `key`, as
    /// [`Timer::set_interval`](crate::Timer::set_interval) does.
    fn check_jitter<Q>(&self, key: &Q, interval: Duration, interval_us: u64) -> Result<(), Error>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !self.jittered {
            return Ok(());
        }
        let jitter = self
            .find(key)
            .and_then(|slot| self.entry(slot))
            .and_then(|entry| self.policies.jitter(entry.policy));
        match jitter {
            Some(jitter) => crate::jitter::Jitter::check(jitter.max_us, interval, interval_us),
            None => Ok(()),
        }
    }

    /// Whether the entry under `key` is running (`false` if stopped, not started yet, or
    /// missing; [`contains`](Self::contains) tells the last apart).
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
    /// timers.insert(1, Timer::builder(Duration::from_secs(1))).unwrap();
    /// assert!(timers.is_running(&1));
    /// timers.stop(&1);
    /// assert!(!timers.is_running(&1));
    /// # }
    /// ```
    #[must_use]
    pub fn is_running<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(key)
            .and_then(|slot| self.entry(slot))
            .is_some_and(|entry| matches!(entry.phase(), Phase::Running | Phase::RunningFixed))
    }

    /// The interval of the entry under `key`, if there is one.
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
    /// timers.insert(1, Timer::builder(Duration::from_secs(2))).unwrap();
    /// assert_eq!(timers.interval(&1), Some(Duration::from_secs(2)));
    /// assert_eq!(timers.interval(&9), None);
    /// # }
    /// ```
    #[must_use]
    pub fn interval<Q>(&self, key: &Q) -> Option<Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(key)
            .and_then(|slot| self.entry(slot))
            .map(|entry| Duration::from_micros(entry.interval_us()))
    }

    /// When the next tick of the entry under `key` is due; `None` if it has none (missing,
    /// stopped, not started, or never), as [`Timer::deadline`](crate::Timer::deadline).
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
    /// timers.insert(1, Timer::builder(Duration::from_secs(2))).unwrap();
    /// assert_eq!(timers.deadline(&1), Some(start + Duration::from_secs(2)));
    /// # }
    /// ```
    #[must_use]
    pub fn deadline<Q>(&self, key: &Q) -> Option<Instant>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let due = self.due_of(self.find(key).and_then(|slot| self.entry(slot))?)?;
        Some(due_instant(self.epoch, due))
    }

    /// The counters of the entry under `key` since it was inserted, if the set was made
    /// with [`record_entry_stats(true)`](Self::record_entry_stats); `None` if it was not,
    /// or if there is no entry under `key`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Timer, TimerSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timers = TimerSet::new().record_entry_stats(true);
    /// timers.insert(1, Timer::builder(Duration::from_millis(10)).skip_missed_ticks(true)).unwrap();
    /// tokio::time::advance(Duration::from_millis(35)).await;
    /// timers.next().await; // due at 10, received at 35: 20 and 30 skipped
    /// let stats = timers.entry_stats(&1).unwrap();
    /// assert_eq!((stats.delivered(), stats.skipped()), (1, 2));
    /// assert_eq!(stats.max_drift(), Duration::from_millis(25));
    /// assert_eq!(TimerSet::<u8>::new().entry_stats(&1), None);
    /// # }
    /// ```
    #[must_use]
    pub fn entry_stats<Q>(&self, key: &Q) -> Option<Stats>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = self.find(key)?;
        self.entry_stats.as_ref()?.get(slot as usize).copied()
    }

    /// Waits for the next tick of any entry, and yields it with its key. Waits while the
    /// set is empty or all its entries are stopped.
    ///
    /// Equivalent to `poll_fn(|cx| set.poll_next(cx))`. Entries built with
    /// `auto_start(false)` start here if nothing started them.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe. A tick is consumed only when the returned future
    /// completes with it; dropping the future before that (say, because another branch
    /// of a `tokio::select!` won) loses nothing.
    ///
    /// # Panics
    ///
    /// As [`Timer::tick`](crate::Timer::tick): if the set has to wait outside a tokio
    /// runtime or on one without the time driver, with tokio's message; and a panic of an
    /// entry's policy propagates, leaving that entry stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Timer, TimerSet};
    /// use tokio::sync::mpsc;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (tx, mut new_devices) = mpsc::channel::<u16>(8);
    /// tokio::spawn(async move {
    ///     tx.send(502).await.unwrap();
    /// });
    ///
    /// let mut polls = TimerSet::new();
    /// loop {
    ///     tokio::select! {
    ///         Some(port) = new_devices.recv() => {
    ///             polls.insert(port, Timer::builder(Duration::from_millis(100))).unwrap();
    ///         }
    ///         (port, tick) = polls.next() => {
    ///             assert_eq!(port, 502);
    ///             assert_eq!(tick.drift(), Duration::ZERO);
    ///             break;
    ///         }
    ///     }
    /// }
    /// # }
    /// ```
    // The name the API contract fixes, as `StreamExt::next` and `DelayQueue::next` have it.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Next<'_, K> {
        Next { set: self }
    }

    /// Polls for the next tick of any entry; `Pending` while none is due (the set then
    /// wakes the waker of `cx` when one is, if there is one to wait for).
    ///
    /// # Panics
    ///
    /// As [`next`](Self::next).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::time::Duration;
    /// use kadenz::{Timer, TimerSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timers = TimerSet::new();
    /// timers.insert(1, Timer::builder(Duration::from_millis(10))).unwrap();
    /// let (key, _tick) = poll_fn(|cx| timers.poll_next(cx)).await;
    /// assert_eq!(key, 1);
    /// # }
    /// ```
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<(K, Tick)> {
        let mut left_behind = 0;
        loop {
            self.sync_handles();
            if !self.unstarted.is_empty() {
                self.start_unstarted();
            }
            // The wheel waits for a due time no later than any entry's, for this task:
            // until it fires, nothing is due (the rule of `Timer::poll_tick`).
            if wheel_still_waits(&mut self.sleep, cx) {
                let armed = self.sleep.as_ref().map(Wheel::deadline);
                if self.register(cx, armed) {
                    return Poll::Pending;
                }
                continue;
            }
            let Some(top) = self.queue.peek() else {
                if self.release_held() {
                    continue;
                }
                if self.register(cx, None) {
                    return Poll::Pending;
                }
                continue;
            };
            if !self.is_current(top) {
                self.queue.pop();
                left_behind += 1;
                if left_behind == STALE_PER_POLL {
                    // Many changes (a million watchdogs reset at once) can leave many
                    // items to drop: a poll drops a bounded number, then lets the
                    // runtime run other tasks and comes back.
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                continue;
            }
            let scheduled = due_instant(self.epoch, top.due);
            let now = match ready!(poll_due(self, cx, scheduled)) {
                Step::Deliver(now) => now,
                Step::Wait if self.register(cx, Some(scheduled)) => return Poll::Pending,
                // Held entries came back, or a command from a handle arrived meanwhile.
                Step::Wait | Step::Again => continue,
            };
            return Poll::Ready(self.deliver(top, scheduled, now));
        }
    }

    /// Delivers the tick of `top`, first in the queue, due at `scheduled`.
    fn deliver(&mut self, top: Item, scheduled: Instant, now: Instant) -> (K, Tick) {
        let slot = top.slot;
        let epoch = self.epoch;
        let Some(Keyed { key, entry }) = self.slots.get_mut(slot) else {
            unreachable!("the first queued item is an entry's due time");
        };
        // Before anything changes: a `clone` that panics leaves the set as it was.
        let key = key.clone();
        let mut schedule = entry.load(epoch);
        // Stopped while its policy runs, as a `Timer` is: a policy that panics leaves a
        // stopped entry, not one that calls it again.
        entry.stop();
        self.due_entries -= 1;
        let jitter = if self.jittered {
            self.policies.jitter(entry.policy)
        } else {
            None
        };
        let policy = self.policies.get(entry.policy);
        let tick = match (jitter, schedule.due()) {
            // `scheduled` is the due time plus the offset (the queue's order).
            (Some(_), Due::At(due)) => {
                let offset = scheduled.saturating_duration_since(due);
                schedule.deliver_jittered(policy, due, offset, now)
            }
            _ => schedule.deliver(policy, scheduled, now),
        };
        entry.store(&schedule, epoch);
        self.stats.merge(schedule.stats);
        if let Some(histogram) = &mut self.histogram {
            histogram.record(tick.drift_us());
        }
        if let Some(stats) = &mut self.entry_stats {
            if let Some(stats) = stats.get_mut(slot as usize) {
                stats.record(tick.drift_us(), tick.skipped());
            }
        }
        match fires_at(self.jittered, &self.policies, entry) {
            // A policy that stands still or goes back would have this entry's ticks come
            // first for ever: it is held back until no other entry has a tick due.
            Some(due) if due <= top.due => {
                self.due_entries += 1;
                entry.held = true;
                self.queue.pop();
                self.held.push(slot);
                shed_slots(&mut self.held, &self.slots, self.slots.len(), |entry| {
                    entry.held
                });
            }
            Some(due) => {
                self.due_entries += 1;
                self.queue.replace_top(Item { due, slot });
            }
            None => self.queue.pop(),
        }
        (key, tick)
    }
}

// The set never pins what it holds (its `Sleep` is boxed), whatever the key.
impl<K> Unpin for TimerSet<K> {}

/// For a log line: the number of entries, how many of them have a tick to come, when the
/// earliest is due relative to now (read from tokio's clock), the number of distinct
/// policies, and the counters of [`TimerSet::stats`]. The keys are not shown (they need
/// not be `Debug`).
///
/// ```text
/// TimerSet { len: 300, running: 298, next_tick: in 1.2ms, policies: 2, delivered: 52113, skipped: 4, max_drift: 3.1ms }
/// ```
///
/// Finding the earliest due time takes a look at the top of the set's queue, and a pass
/// over the entries when that top is a due time some change left behind, or when a large
/// set has not sorted its next due times yet.
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
/// timers.insert("pump", Timer::builder(Duration::from_millis(100))).unwrap();
/// timers.insert("valve", Timer::builder(Duration::from_millis(250))).unwrap();
/// timers.stop(&"valve");
/// assert_eq!(
///     format!("{timers:?}"),
///     "TimerSet { len: 2, running: 1, next_tick: in 100ms, policies: 1, delivered: 0, \
///      skipped: 0, max_drift: 0ns }",
/// );
/// # }
/// ```
impl<K> fmt::Debug for TimerSet<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("TimerSet");
        out.field("len", &self.slots.len())
            .field("running", &self.due_entries);
        if let Some(due) = self.earliest_due() {
            out.field("next_tick", &Relative::to_now(due_instant(self.epoch, due)));
        }
        out.field("policies", &self.policies.len())
            .field("delivered", &self.stats.delivered())
            .field("skipped", &self.stats.skipped())
            .field("max_drift", &self.stats.max_drift())
            .finish()
    }
}

impl<K: Hash + Eq + Clone> futures_core::Stream for TimerSet<K> {
    type Item = (K, Tick);

    /// Never ends: an empty or all-stopped set waits.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<(K, Tick)>> {
        TimerSet::poll_next(self.get_mut(), cx).map(Some)
    }
}

/// The future of [`TimerSet::next`]: the next tick of any entry, with its key.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Next<'a, K> {
    set: &'a mut TimerSet<K>,
}

impl<K: Hash + Eq + Clone> Future for Next<'_, K> {
    type Output = (K, Tick);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(K, Tick)> {
        self.set.poll_next(cx)
    }
}
