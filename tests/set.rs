//! `TimerSet` under the paused clock: exact ticks, fairness after a stall, stopped and
//! removed entries, an empty set, replacement, the cooperative budget, cancel safety,
//! errors. (The model-based tests are in `set_model.rs`.)

use kadenz_testkit as common;

use std::cell::Cell;
use std::future::poll_fn;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use kadenz::policy::{SkipMissedAndDrift, SkipMissedAndResync, TriggerAllMissed};
use kadenz::{Error, Timer, TimerSet};
use tokio::time::{advance, Instant};

use common::policies::{Always, Panics};
use common::{current_thread_runtime, ms, noop_waker, paused_runtime, poll_once, PATIENCE};

/// (key, due in ms since `t0`, drift in ms, missed, skipped) of the next tick.
async fn next_of<K: std::hash::Hash + Eq + Clone>(
    set: &mut TimerSet<K>,
    t0: Instant,
) -> (K, u64, u64, u64, u64) {
    let (key, tick) = tokio::time::timeout(PATIENCE, set.next())
        .await
        .expect("the set ticks");
    (
        key,
        tick.scheduled().duration_since(t0).as_millis() as u64,
        tick.drift().as_millis() as u64,
        tick.missed(),
        tick.skipped(),
    )
}

#[tokio::test(start_paused = true)]
async fn entries_tick_in_order_of_due_time() {
    let t0 = Instant::now();
    let mut set = TimerSet::new();
    set.insert("a", Timer::builder(ms(30))).unwrap();
    set.insert("b", Timer::builder(ms(20))).unwrap();
    set.insert("c", Timer::builder(ms(50)).start_delay(ms(5)))
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..8 {
        let (key, due, drift, _, _) = next_of(&mut set, t0).await;
        assert_eq!(drift, 0);
        seen.push((key, due));
    }
    // "a" and "b" are both due at 60 ms: equal due times come out in a fixed order.
    assert_eq!(
        seen,
        [
            ("b", 20),
            ("a", 30),
            ("b", 40),
            ("c", 55),
            ("a", 60),
            ("b", 60),
            ("b", 80),
            ("a", 90),
        ]
    );
}

/// After a stall, an entry that replays every missed tick does not hold the others back:
/// ticks come out by due time, interleaved.
#[tokio::test(start_paused = true)]
async fn a_burst_of_one_entry_does_not_hold_back_the_others() {
    let t0 = Instant::now();
    let mut set = TimerSet::new();
    set.insert(
        "burst",
        Timer::builder(ms(10)).missed_tick_policy(TriggerAllMissed),
    )
    .unwrap();
    set.insert(
        "resync",
        Timer::builder(ms(25)).missed_tick_policy(SkipMissedAndResync),
    )
    .unwrap();
    advance(ms(55)).await; // the stall
    let mut seen = Vec::new();
    for _ in 0..8 {
        seen.push(next_of(&mut set, t0).await);
    }
    assert_eq!(
        seen,
        [
            ("burst", 10, 45, 4, 0),
            ("burst", 20, 35, 3, 0),
            ("resync", 25, 30, 1, 1), // 50 ms skipped; the next one due at 75
            ("burst", 30, 25, 2, 0),
            ("burst", 40, 15, 1, 0),
            ("burst", 50, 5, 0, 0),
            ("burst", 60, 0, 0, 0),
            ("burst", 70, 0, 0, 0),
        ]
    );
    assert_eq!(next_of(&mut set, t0).await, ("resync", 75, 0, 0, 0));
    assert_eq!(set.stats().delivered(), 9);
    assert_eq!(set.stats().skipped(), 1);
    assert_eq!(set.stats().max_drift(), ms(45));
}

/// The reference's walk-through for `SkipMissedAndDrift` (1 s interval, 0.5 s tolerance),
/// on an entry of a set: the same ticks as a lone timer.
#[tokio::test(start_paused = true)]
async fn an_entry_replays_the_reference_walk_through() {
    let t0 = Instant::now();
    let mut set = TimerSet::new();
    let policy = SkipMissedAndDrift::new(Duration::from_millis(500));
    set.insert(
        1u8,
        Timer::builder(Duration::from_secs(1)).missed_tick_policy(policy),
    )
    .unwrap();
    let mut lone = Timer::new(Duration::from_secs(1), policy);
    let mut got = Vec::new();
    let mut want = Vec::new();
    for delay in [0, 200, 1_300, 0, 0] {
        advance(ms(delay)).await;
        let (_, tick) = set.next().await;
        got.push((tick.scheduled() - t0, tick.drift()));
        let tick = lone.tick().await.unwrap();
        want.push((tick.scheduled() - t0, tick.drift()));
    }
    assert_eq!(got, want);
}

#[tokio::test(start_paused = true)]
async fn a_stopped_entry_stays_and_an_empty_set_waits() {
    let t0 = Instant::now();
    let mut set = TimerSet::new();
    set.insert(1, Timer::builder(ms(10))).unwrap();
    assert!(set.stop(&1));
    assert!(set.contains(&1));
    assert_eq!(set.len(), 1);
    // All stopped: pending, and stays pending however long the clock runs.
    assert!(poll_once(&mut set).is_pending());
    assert!(tokio::time::timeout(Duration::from_secs(60), set.next())
        .await
        .is_err());
    assert!(set.reset(&1));
    assert_eq!(next_of(&mut set, t0).await, (1, 60_010, 0, 0, 0));

    assert!(set.remove(&1));
    assert!(set.is_empty());
    assert!(poll_once(&mut set).is_pending());
    // The Stream never ends either.
    let waker = noop_waker();
    assert!(Pin::new(&mut set)
        .poll_next(&mut Context::from_waker(&waker))
        .is_pending());
    assert_eq!(set.size_hint(), (0, None));
}

#[tokio::test(start_paused = true)]
async fn missing_keys_are_no_panic() {
    let mut set: TimerSet<&str> = TimerSet::new();
    assert!(!set.reset(&"x"));
    assert!(!set.reset_after(&"x", ms(1)));
    assert!(!set.reset_at(&"x", Instant::now()));
    assert!(!set.reset_immediately(&"x"));
    assert!(!set.stop(&"x"));
    assert!(!set.remove(&"x"));
    assert_eq!(set.set_interval(&"x", ms(1)), Ok(false));
    assert_eq!(set.interval(&"x"), None);
    assert_eq!(set.deadline(&"x"), None);
    assert!(!set.is_running(&"x"));
}

/// Lookups take the key in any borrowed form, as `HashMap`'s do: `&str` for `String`
/// keys, `&[u8]` for `Vec<u8>` keys; and `&K` still works.
#[tokio::test(start_paused = true)]
async fn lookups_take_a_borrowed_key() {
    let t0 = Instant::now();
    let mut set: TimerSet<String> = TimerSet::new();
    for n in 1..=3 {
        set.insert(format!("pump-{n}"), Timer::builder(ms(100)))
            .unwrap();
    }
    advance(ms(30)).await;
    assert!(set.contains("pump-3"));
    assert!(set.reset("pump-1")); // now due at 130
    assert!(set.reset_after("pump-2", ms(20))); // 150
    assert!(set.stop("pump-3"));
    assert!(!set.is_running("pump-3"));
    assert!(set.reset_at("pump-3", t0 + ms(40)));
    assert_eq!(set.set_interval("pump-3", ms(50)), Ok(true));
    assert_eq!(set.interval("pump-3"), Some(ms(50)));
    assert_eq!(set.deadline("pump-1"), Some(t0 + ms(130)));
    assert_eq!(set.deadline(&"pump-2".to_string()), Some(t0 + ms(150)));
    assert_eq!(
        next_of(&mut set, t0).await,
        ("pump-3".to_string(), 40, 0, 0, 0)
    );
    assert!(set.reset_immediately("pump-3"));
    assert!(set.remove("pump-3"));
    assert!(!set.remove("pump-3"));
    assert!(!set.reset("pump-9"));
    assert_eq!(
        next_of(&mut set, t0).await,
        ("pump-1".to_string(), 130, 0, 0, 0)
    );

    let mut bytes: TimerSet<Vec<u8>> = TimerSet::new();
    bytes.insert(vec![1, 2], Timer::builder(ms(10))).unwrap();
    assert!(bytes.contains(&[1u8, 2][..]));
}

#[tokio::test(start_paused = true)]
async fn bad_input_is_a_typed_error_and_leaves_the_set_as_it_was() {
    let mut set = TimerSet::new();
    set.insert(1, Timer::builder(ms(10))).unwrap();
    assert_eq!(
        set.insert(1, Timer::builder(Duration::ZERO)),
        Err(Error::IntervalTooShort(Duration::ZERO))
    );
    assert_eq!(
        set.insert(
            2,
            Timer::builder(ms(1)).auto_start(false).tick_at_start(true)
        ),
        Err(Error::ConflictingOptions {
            option: "tick_at_start(true)",
            conflicts_with: "auto_start(false)",
        })
    );
    assert_eq!(
        set.set_interval(&1, Duration::ZERO),
        Err(Error::IntervalTooShort(Duration::ZERO))
    );
    assert_eq!(set.len(), 1);
    assert_eq!(set.interval(&1), Some(ms(10)));
    let t0 = Instant::now();
    assert_eq!(next_of(&mut set, t0).await, (1, 10, 0, 0, 0));
}

/// Replacing a key drops its pending tick; the new timer starts as its builder says.
#[tokio::test(start_paused = true)]
async fn insert_replaces_an_entry() {
    let t0 = Instant::now();
    let mut set = TimerSet::new();
    set.insert("k", Timer::builder(ms(10))).unwrap();
    advance(ms(7)).await;
    set.insert("k", Timer::builder(ms(20))).unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(next_of(&mut set, t0).await, ("k", 27, 0, 0, 0));
    assert_eq!(next_of(&mut set, t0).await, ("k", 47, 0, 0, 0));
}

/// Every start option of the builder places an entry's first tick as it places a
/// timer's, and `auto_start(false)` entries start at the set's first poll.
#[tokio::test(start_paused = true)]
async fn every_start_option_works_for_an_entry() {
    let t0 = Instant::now();
    let mut set = TimerSet::new();
    set.insert("delay", Timer::builder(ms(100)).start_delay(ms(30)))
        .unwrap();
    set.insert(
        "at-start",
        Timer::builder(ms(100))
            .tick_at_start(true)
            .start_delay(ms(5)),
    )
    .unwrap();
    set.insert(
        "first-at",
        Timer::builder(ms(100)).first_tick_at(t0 + ms(42)),
    )
    .unwrap();
    set.insert("later", Timer::builder(ms(100)).auto_start(false))
        .unwrap();
    assert_eq!(set.deadline(&"later"), None);
    advance(ms(3)).await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        let (key, due, ..) = next_of(&mut set, t0).await;
        seen.push((key, due));
    }
    assert_eq!(
        seen,
        [
            ("at-start", 5),
            ("first-at", 42),
            ("later", 103),
            ("at-start", 105),
            ("delay", 130)
        ]
    );
}

/// A reset while the set waits for another entry: a reset from now moves the wait
/// earlier; a `reset_at` before it is delivered on time too.
#[tokio::test(start_paused = true)]
async fn changes_while_waiting_move_the_wait() {
    let t0 = Instant::now();
    let mut set = TimerSet::new();
    set.insert("slow", Timer::builder(ms(100))).unwrap();
    set.insert("fast", Timer::builder(ms(500))).unwrap();
    assert!(poll_once(&mut set).is_pending()); // waits for "slow", at 100 ms
    set.set_interval(&"fast", ms(20)).unwrap();
    assert_eq!(next_of(&mut set, t0).await, ("fast", 20, 0, 0, 0));
    assert!(poll_once(&mut set).is_pending());
    set.reset_at(&"slow", t0 + ms(25));
    assert_eq!(next_of(&mut set, t0).await, ("slow", 25, 0, 0, 0));
    assert!(poll_once(&mut set).is_pending());
    advance(ms(2)).await;
    set.insert("new", Timer::builder(ms(3))).unwrap();
    assert_eq!(next_of(&mut set, t0).await, ("new", 30, 0, 0, 0));
}

/// Dropping a pending `next()` loses nothing.
#[tokio::test(start_paused = true)]
async fn next_is_cancel_safe() {
    let t0 = Instant::now();
    let mut set = TimerSet::new();
    set.insert(1, Timer::builder(ms(10))).unwrap();
    set.insert(2, Timer::builder(ms(15))).unwrap();
    let mut seen = Vec::new();
    let mut cancelled = 0;
    while seen.len() < 4 {
        tokio::select! {
            biased;
            _ = tokio::time::sleep(ms(4)) => cancelled += 1,
            (key, tick) = set.next() => seen.push((key, (tick.scheduled() - t0).as_millis())),
        }
    }
    assert!(cancelled > 0);
    assert_eq!(seen, [(1, 10), (2, 15), (1, 20), (1, 30)]);
}

/// Every tick takes a unit of tokio's cooperative budget (128 per task poll): a set that
/// is always due yields to the runtime.
#[tokio::test(start_paused = true)]
async fn every_tick_takes_a_unit_of_budget() {
    let mut set = TimerSet::new();
    set.insert(1, Timer::builder(ms(1)).missed_tick_policy(Always(0)))
        .unwrap();
    set.insert(2, Timer::builder(Duration::from_micros(1)))
        .unwrap();
    advance(ms(10)).await;
    for by_stream in [false, true] {
        tokio::task::yield_now().await;
        let readies = poll_fn(|cx| {
            for readies in 0..10_000 {
                let poll = if by_stream {
                    Pin::new(&mut set)
                        .poll_next(cx)
                        .map(|item| item.map(|_| ()))
                } else {
                    set.poll_next(cx).map(|_| Some(()))
                };
                if poll.is_pending() {
                    return Poll::Ready(readies);
                }
            }
            Poll::Ready(10_000)
        })
        .await;
        assert_eq!(readies, 128);
    }
}

/// A policy that panics leaves its entry stopped, and the rest of the set ticking.
#[tokio::test(start_paused = true)]
async fn a_panicking_policy_stops_its_entry_only() {
    let t0 = Instant::now();
    let mut set = TimerSet::new();
    set.insert("bad", Timer::builder(ms(10)).missed_tick_policy(Panics))
        .unwrap();
    set.insert("good", Timer::builder(ms(15))).unwrap();
    advance(ms(10)).await;
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(&mut set)));
    assert!(panicked.is_err());
    assert!(!set.is_running(&"bad"));
    assert_eq!(next_of(&mut set, t0).await, ("good", 15, 0, 0, 0));
    assert_eq!(next_of(&mut set, t0).await, ("good", 30, 0, 0, 0));
}

/// Many resets of the same entries (a watchdog set) keep the set's memory bounded: the
/// due times they leave behind are shed.
#[tokio::test(start_paused = true)]
async fn resets_leave_bounded_memory_behind() {
    let mut set = TimerSet::new();
    for device in 0..100u32 {
        set.insert(device, Timer::builder(ms(100))).unwrap();
    }
    let settled = set.memory();
    for round in 0..1_000u32 {
        advance(Duration::from_micros(10)).await;
        for device in 0..100 {
            set.reset_at(
                &device,
                Instant::now() + ms(u64::from(50 + (round + device) % 50)),
            );
        }
    }
    assert!(
        set.memory() <= settled + 64 * 1024,
        "{} bytes after 100,000 resets, {settled} before",
        set.memory()
    );
    // And every entry still ticks once, when due.
    let mut seen = std::collections::HashSet::new();
    while seen.len() < 100 {
        let (device, tick) = set.next().await;
        assert!(seen.insert(device), "device {device} ticked twice");
        assert_eq!(tick.drift(), Duration::ZERO);
    }
}

/// A set moves to another runtime between polls, as a timer does.
#[test]
fn a_set_follows_its_task_to_another_runtime() {
    let first = paused_runtime();
    let mut set = TimerSet::new();
    first.block_on(async {
        set.insert(1, Timer::builder(ms(10))).unwrap();
        assert!(poll_once(&mut set).is_pending());
    });
    drop(first);
    let second = current_thread_runtime();
    second.block_on(async {
        let (key, _) = tokio::time::timeout(Duration::from_secs(10), set.next())
            .await
            .expect("ticks on the second runtime");
        assert_eq!(key, 1);
    });
}

/// A set past 65,536 entries keeps its due times in a ring of buckets: the same ticks,
/// in the same order. 70,000 entries with periods of 1 to 700 ms and start delays of 0
/// to 9 ms, half a second of ticks: every tick on its entry's grid, none early or late,
/// in due order, none lost.
#[tokio::test(start_paused = true)]
async fn a_large_set_ticks_every_entry_on_its_grid() {
    const ENTRIES: u32 = 70_000;
    let period = |key: u32| ms(u64::from(key % 700 + 1));
    let delay = |key: u32| ms(u64::from(key % 10));
    let t0 = Instant::now();
    let mut set = TimerSet::new();
    for key in 0..ENTRIES {
        set.insert(key, Timer::builder(period(key)).start_delay(delay(key)))
            .unwrap();
    }
    let end = t0 + ms(500);
    let mut counts = vec![0u32; ENTRIES as usize];
    let mut last = t0;
    loop {
        let (key, tick) = set.next().await;
        if tick.scheduled() > end {
            break;
        }
        counts[key as usize] += 1;
        let want = t0 + delay(key) + period(key) * counts[key as usize];
        assert_eq!(tick.scheduled(), want, "entry {key}");
        assert_eq!(tick.drift(), Duration::ZERO, "entry {key}");
        assert!(tick.scheduled() >= last, "out of due order at entry {key}");
        last = tick.scheduled();
    }
    for key in 0..ENTRIES {
        let due_by_end = (ms(500) - delay(key)).as_millis() / period(key).as_millis();
        assert_eq!(u128::from(counts[key as usize]), due_by_end, "entry {key}");
    }
}

/// A key whose `clone` panics while a tick is delivered leaves the set as it was: the
/// entry keeps its tick, which the next poll delivers.
#[tokio::test(start_paused = true)]
async fn a_key_whose_clone_panics_loses_no_tick() {
    use std::cell::Cell;

    thread_local! {
        static PANIC_ON_CLONE: Cell<bool> = const { Cell::new(false) };
    }

    #[derive(Debug, PartialEq, Eq, Hash)]
    struct Key(u8);
    impl Clone for Key {
        fn clone(&self) -> Self {
            if PANIC_ON_CLONE.with(|p| p.replace(false)) {
                panic!("clone failed");
            }
            Key(self.0)
        }
    }

    let t0 = Instant::now();
    let mut set = TimerSet::new();
    set.insert(Key(1), Timer::builder(ms(10))).unwrap();
    advance(ms(10)).await;
    PANIC_ON_CLONE.with(|p| p.set(true));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(&mut set)));
    assert!(panicked.is_err());
    assert!(set.is_running(&Key(1)));
    assert_eq!(next_of(&mut set, t0).await, (Key(1), 10, 0, 0, 0));
    assert_eq!(next_of(&mut set, t0).await, (Key(1), 20, 0, 0, 0));
    set.stop(&Key(1)); // the count of entries with a due time is still right
    assert!(poll_once(&mut set).is_pending());
}

/// A poll drops a bounded number of the items that changes left behind, then yields
/// (waking its task to come back), so a million watchdogs reset at once cannot hold a
/// runtime thread for long; every entry still ticks once, on time.
#[tokio::test(start_paused = true)]
async fn dropping_what_changes_left_behind_yields() {
    use std::sync::Arc;
    use std::task::Waker;

    const ENTRIES: u32 = 10_000;
    let t0 = Instant::now();
    let mut set = TimerSet::new();
    for key in 0..ENTRIES {
        set.insert(key, Timer::builder(ms(100))).unwrap();
    }
    advance(ms(50)).await;
    for key in 0..ENTRIES {
        set.reset(&key); // due at 150 ms now; the items for 100 ms are left behind
    }
    advance(ms(50)).await;
    let count = Arc::new(common::Wakes::default());
    let waker = Waker::from(count.clone());
    let mut cx = Context::from_waker(&waker);
    let mut pendings = 0;
    while set.poll_next(&mut cx).is_pending() {
        pendings += 1;
        assert!(pendings < 10, "never got past what was left behind");
        if count.count() < pendings {
            break; // waiting on the wheel for 150 ms: no self-wake
        }
    }
    assert!(pendings >= 2, "{pendings} polls dropped 10,000 items");
    let mut seen = 0;
    while seen < ENTRIES {
        let (_, tick) = set.next().await;
        assert_eq!(tick.scheduled(), t0 + ms(150));
        seen += 1;
    }
}

// --- keys whose Hash, Eq or Clone panic -------------------------------------------

thread_local! {
    /// Calls of the keys' code left before one panics (`u64::MAX`: none panics).
    static LEFT: Cell<u64> = const { Cell::new(u64::MAX) };
    /// Calls of the keys' `Hash`, failing or not.
    static HASHES: Cell<u64> = const { Cell::new(0) };
}
fn user_code() {
    LEFT.with(|left| match left.get() {
        u64::MAX => {}
        0 => {
            left.set(u64::MAX);
            panic!("the key's code fails");
        }
        n => left.set(n - 1),
    });
}

/// A key whose `Hash`, `Eq` and `Clone` count as the keys' code, and fail on demand.
/// Keys under [`SPREAD`] have few distinct hashes, so that lookups compare keys too;
/// from it on, each its own, as a table under churn has.
#[derive(Debug)]
struct K(u32);
const SPREAD: u32 = 1 << 20;
impl Hash for K {
    fn hash<H: Hasher>(&self, state: &mut H) {
        HASHES.with(|hashes| hashes.set(hashes.get() + 1));
        user_code();
        if self.0 < SPREAD {
            (self.0 % 4).hash(state);
        } else {
            self.0.hash(state);
        }
    }
}
impl PartialEq for K {
    fn eq(&self, other: &Self) -> bool {
        user_code();
        self.0 == other.0
    }
}
impl Eq for K {}
impl Clone for K {
    fn clone(&self) -> Self {
        user_code();
        K(self.0)
    }
}

/// `n` entries, every third removed again, one stopped, one due now.
fn build(n: u32) -> TimerSet<K> {
    let mut set = TimerSet::new();
    for i in 0..n {
        set.insert(K(i), Timer::builder(ms(10 + u64::from(i % 7))))
            .unwrap();
    }
    for i in (0..n).step_by(3) {
        set.remove(&K(i));
    }
    if n > 1 {
        set.stop(&K(1));
    }
    set.insert(
        K(1_000),
        Timer::builder(ms(25)).first_tick_at(Instant::now()),
    )
    .unwrap();
    set
}
type State = (
    usize,
    Vec<u32>,
    Vec<(bool, bool, Option<Duration>, Option<Instant>)>,
);
fn state(set: &TimerSet<K>) -> State {
    let mut keys: Vec<u32> = set.keys().map(|key| key.0).collect();
    keys.sort_unstable();
    let entries = (0..40)
        .chain([1_000, 2_000])
        .map(|i| {
            let key = K(i);
            (
                set.contains(&key),
                set.is_running(&key),
                set.interval(&key),
                set.deadline(&key),
            )
        })
        .collect();
    (set.len(), keys, entries)
}
/// The ticks due in the next 60 ms, sorted (ticks due at the same instant come in an
/// order of the set's own).
async fn ticks(set: &mut TimerSet<K>, t0: Instant) -> Vec<(Instant, u32)> {
    let mut ticks = Vec::new();
    loop {
        let (key, tick) = tokio::time::timeout(PATIENCE, set.next()).await.unwrap();
        if tick.scheduled() > t0 + ms(60) {
            break;
        }
        ticks.push((tick.scheduled(), key.0));
    }
    ticks.sort_unstable();
    ticks
}

/// Panics of a key's `Hash`, `Eq` or `Clone`: every method that calls them, made to fail
/// at its first, second, ... call of any of them, leaves the set as it was (its length,
/// keys, every entry's state, and the ticks to come), and works on afterwards. Sets of
/// sizes around the hash table's growth points, with removed entries (vacant slots).
#[tokio::test(start_paused = true)]
async fn a_panicking_hash_eq_or_clone_leaves_the_set_as_it_was() {
    type Op = fn(&mut TimerSet<K>);
    let ops: [(&str, Op); 18] = [
        ("insert new", |s| {
            s.insert(K(2_000), Timer::builder(ms(7))).unwrap();
        }),
        ("insert new, not started", |s| {
            s.insert(K(2_000), Timer::builder(ms(7)).auto_start(false))
                .unwrap();
        }),
        ("insert over", |s| {
            s.insert(K(2), Timer::builder(ms(9))).unwrap();
        }),
        ("insert over the stopped", |s| {
            s.insert(K(1), Timer::builder(ms(9))).unwrap();
        }),
        ("remove", |s| {
            s.remove(&K(2));
        }),
        ("remove missing", |s| {
            s.remove(&K(3));
        }),
        ("contains", |s| {
            let _ = s.contains(&K(2));
        }),
        ("reset", |s| {
            s.reset(&K(2));
        }),
        ("reset_after", |s| {
            s.reset_after(&K(2), ms(3));
        }),
        ("reset_at", |s| {
            s.reset_at(&K(2), Instant::now() + ms(4));
        }),
        ("reset_immediately", |s| {
            s.reset_immediately(&K(2));
        }),
        ("stop", |s| {
            s.stop(&K(2));
        }),
        ("set_interval", |s| {
            s.set_interval(&K(2), ms(5)).unwrap();
        }),
        ("is_running", |s| {
            let _ = s.is_running(&K(2));
        }),
        ("interval", |s| {
            let _ = s.interval(&K(2));
        }),
        ("deadline", |s| {
            let _ = s.deadline(&K(2));
        }),
        ("poll_next (a due tick)", |s| {
            let _ = poll_once(s);
        }),
        ("reset the one due now", |s| {
            s.reset(&K(1_000));
        }),
    ];
    let mut panics = 0;
    for (name, op) in ops {
        for n in [0, 1, 3, 4, 7, 8, 14, 15, 28, 29] {
            for fail_at in 0.. {
                let t0 = Instant::now();
                let mut set = build(n);
                let before = state(&set);
                LEFT.with(|left| left.set(fail_at));
                let result =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op(&mut set)));
                LEFT.with(|left| left.set(u64::MAX));
                if result.is_ok() {
                    break;
                }
                panics += 1;
                let context = format!("{name}, {n} entries, failing at call {fail_at}");
                assert_eq!(state(&set), before, "{context}");
                // It works on: the same call again, and the ticks of a set that never failed.
                let mut reference = build(n);
                op(&mut set);
                op(&mut reference);
                assert_eq!(state(&set), state(&reference), "{context}");
                // Side by side, on the same clock.
                let (ticked, expected) =
                    tokio::join!(ticks(&mut set, t0), ticks(&mut reference, t0));
                assert_eq!(ticked, expected, "{context}");
            }
        }
    }
    assert!(panics > 100, "{panics} failures tried");
}

/// Inserts of not-started entries (`auto_start(false)`) queue a start for the next poll;
/// re-inserting one key a million times, or inserting and removing it, before any poll,
/// keeps the set's memory at what one entry needs, and the entry starts at the poll.
#[tokio::test(start_paused = true)]
async fn not_started_inserts_between_polls_keep_memory_bounded() {
    let t0 = Instant::now();
    let not_started = || Timer::builder(ms(10)).auto_start(false);
    let mut set = TimerSet::new();
    set.insert(0u32, not_started()).unwrap();
    let one = set.memory();
    for _ in 0..1_000_000 {
        set.insert(0, not_started()).unwrap();
    }
    assert!(
        set.memory() <= one + 256,
        "{} bytes, {one} for one entry",
        set.memory()
    );
    assert_eq!(next_of(&mut set, t0).await, (0, 10, 0, 0, 0));
    assert_eq!(next_of(&mut set, t0).await, (0, 20, 0, 0, 0));

    let mut churned = TimerSet::new();
    churned.insert(1u32, not_started()).unwrap();
    let one = churned.memory();
    for _ in 0..1_000_000 {
        churned.remove(&1);
        churned.insert(1, not_started()).unwrap();
    }
    assert!(churned.memory() <= one + 256, "{} bytes", churned.memory());
    churned.remove(&1);
    assert!(
        churned.memory() <= one + 256,
        "{} bytes, empty",
        churned.memory()
    );
    assert!(poll_once(&mut churned).is_pending());
}

/// An entry whose policy always answers 0 (its next tick due at its start, long past)
/// would have its ticks come first for ever. It is held back: the other entries' due
/// ticks come first, then its own while no other is due, and the next one due as soon
/// as it is.
#[tokio::test(start_paused = true)]
async fn a_policy_that_answers_zero_does_not_starve_the_other_entries() {
    let t0 = Instant::now();
    let mut set = TimerSet::new();
    set.insert("zero", Timer::builder(ms(10)).missed_tick_policy(Always(0)))
        .unwrap();
    set.insert("a", Timer::builder(ms(10))).unwrap();
    set.insert("b", Timer::builder(ms(15))).unwrap();
    advance(ms(100)).await;
    let mut ticks = Vec::new();
    for _ in 0..17 {
        let (key, due, ..) = next_of(&mut set, t0).await;
        ticks.push((key, due));
    }
    // The first tick of "zero" (due at 10 ms) in due order; then the others' due ticks
    // before its next.
    // (Ticks due at the same instant come in an order of the set's own.)
    let mut others: Vec<_> = ticks
        .iter()
        .filter(|(key, _)| *key != "zero")
        .copied()
        .collect();
    others.sort_by_key(|&(key, due)| (due, key));
    let mut expected: Vec<_> = (1..=10)
        .map(|k| ("a", 10 * k))
        .chain((1..=6).map(|k| ("b", 15 * k)))
        .collect();
    expected.sort_by_key(|&(key, due)| (due, key));
    assert_eq!(others, expected);
    assert_eq!(ticks.iter().filter(|(key, _)| *key == "zero").count(), 1);
    // Nothing else is due: "zero" ticks, due at its start, at once and as often as asked.
    for _ in 0..100_000 {
        assert_eq!(next_of(&mut set, t0).await, ("zero", 0, 100, 10, 0));
    }
    assert_eq!(Instant::now(), t0 + ms(100));
    // The others' next ticks come as soon as they are due.
    advance(ms(10)).await;
    assert_eq!(next_of(&mut set, t0).await, ("b", 105, 5, 0, 0));
    assert_eq!(next_of(&mut set, t0).await, ("a", 110, 0, 0, 0));
    assert_eq!(next_of(&mut set, t0).await, ("zero", 0, 110, 11, 0));
}

/// A hash table filled to the brim (224 keys, growing at 113), then mostly emptied (150
/// removed, which leaves marks in a full table), then churned (a new key in, the oldest
/// out): it rehashes now and then, into a larger table or in place, hashing every key.
/// Every insert is made to fail at its first call of the keys' code, then its second,
/// and so on until it succeeds, on the same set (whose table's layout depends on its
/// hasher's seed): after each failure no key is lost and none appears.
#[tokio::test(start_paused = true)]
async fn a_panicking_hash_while_the_table_rehashes_loses_no_key() {
    fn found(set: &TimerSet<K>, key: u32) -> (usize, Vec<u32>, bool, bool) {
        let mut keys: Vec<u32> = set.keys().map(|key| key.0).collect();
        keys.sort_unstable();
        let all = keys.iter().all(|&key| set.contains(&K(key)));
        (set.len(), keys, all, set.contains(&K(key)))
    }
    let fill = (0..224).map(|key| (true, key));
    let empty = (0..150).map(|key| (false, key));
    // Whether and when the table rehashes in place depends on where the set's random
    // hasher puts the keys: churn until it has (about 2,000 operations in the runs seen),
    // within a bound that no seed needs.
    let churn = (0..50_000).flat_map(|n| [(true, 224 + n), (false, 150 + n)]);
    let mut set = TimerSet::new();
    let mut in_place = 0;
    for (at, (insert, key)) in fill.chain(empty).chain(churn).enumerate() {
        if in_place >= 1 {
            break;
        }
        let key = SPREAD + key;
        if !insert {
            assert!(set.remove(&K(key)));
            continue;
        }
        for fail_at in 0.. {
            let before = found(&set, key);
            HASHES.with(|hashes| hashes.set(0));
            LEFT.with(|left| left.set(fail_at));
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                set.insert(K(key), Timer::builder(ms(10))).unwrap();
            }));
            LEFT.with(|left| left.set(u64::MAX));
            if result.is_ok() {
                // Past the fill and the emptying, the table holds 74 keys, under half of
                // the 224 it has room for: a rehash then is in place (hashbrown grows a
                // table only past half).
                in_place += usize::from(at >= 374 && HASHES.with(Cell::get) > 1);
                break;
            }
            assert_eq!(
                found(&set, key),
                before,
                "operation {at}, failing at call {fail_at}"
            );
        }
    }
    assert!(in_place >= 1, "no rehash in place");
}

/// Per-entry counters (`record_entry_stats`): exact under the paused clock, reset by a
/// replacement, gone with a removal; and what they cost per slot.
#[tokio::test(start_paused = true)]
async fn entry_stats_count_each_entry() {
    let mut set = TimerSet::new().record_entry_stats(true);
    set.insert(
        1u32,
        Timer::builder(ms(10)).missed_tick_policy(SkipMissedAndResync),
    )
    .unwrap();
    set.insert(2, Timer::builder(ms(30))).unwrap();
    advance(ms(35)).await;
    // 1: due 10, received at 35 (25 late, 20 and 30 skipped), then 40; 2: due 30 (5 late).
    for _ in 0..3 {
        set.next().await;
    }
    let one = set.entry_stats(&1).unwrap();
    assert_eq!(
        (one.delivered(), one.skipped(), one.max_drift()),
        (2, 2, ms(25))
    );
    let two = set.entry_stats(&2).unwrap();
    assert_eq!(
        (two.delivered(), two.skipped(), two.max_drift()),
        (1, 0, ms(5))
    );
    // A replacement starts from zero; a removed key has none.
    set.insert(2, Timer::builder(ms(30))).unwrap();
    assert_eq!(set.entry_stats(&2).unwrap().delivered(), 0);
    assert!(set.remove(&1));
    assert_eq!(set.entry_stats(&1), None);
    // The slot of 1 is reused by 3, from zero.
    set.insert(3, Timer::builder(ms(30))).unwrap();
    assert_eq!(set.entry_stats(&3).unwrap().delivered(), 0);
    assert_eq!(set.stats().delivered(), 3);

    // 24 bytes more per slot: the same 1,000 entries with and without.
    let mut plain = TimerSet::with_capacity(1_000);
    let mut counted = TimerSet::with_capacity(1_000).record_entry_stats(true);
    for key in 0..1_000u32 {
        plain.insert(key, Timer::builder(ms(100))).unwrap();
        counted.insert(key, Timer::builder(ms(100))).unwrap();
    }
    let per_entry = |set: &TimerSet<u32>| set.memory() as f64 / 1_000.0;
    println!(
        "bytes per entry: {} without, {} with",
        per_entry(&plain),
        per_entry(&counted)
    );
    assert!(counted.memory() - plain.memory() >= 24_000);
    assert!(counted.memory() - plain.memory() < 24_000 + 24 * 1_000);
}

/// A key whose `Drop` panics while `clear` drops the entries leaves an empty set that
/// works: its count, keys, queue and slots agree, and the next insert ticks on time.
#[tokio::test(start_paused = true)]
async fn a_key_panicking_in_drop_during_clear_leaves_an_empty_set() {
    thread_local! {
        static PANIC_ON_DROP: Cell<bool> = const { Cell::new(false) };
    }

    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    struct Key(u8);
    impl Drop for Key {
        fn drop(&mut self) {
            if self.0 == 2 && PANIC_ON_DROP.with(|p| p.replace(false)) {
                panic!("drop failed");
            }
        }
    }

    let t0 = Instant::now();
    let mut set = TimerSet::new();
    for key in 1..=3 {
        set.insert(Key(key), Timer::builder(ms(10))).unwrap();
    }
    assert!(set.remove(&Key(1)));
    PANIC_ON_DROP.with(|p| p.set(true));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| set.clear()));
    assert!(panicked.is_err());
    assert_eq!(set.len(), 0);
    assert_eq!(set.keys().count(), 0);
    assert!(!set.contains(&Key(3)));
    set.insert(Key(4), Timer::builder(ms(10))).unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(next_of(&mut set, t0).await, (Key(4), 10, 0, 0, 0));
}
