//! A timer allocates nothing per tick in steady state, whatever its policy.
//!
//! A counting global allocator counts the allocations made on the thread that set its
//! thread-local flag, and only while it is set. Each test runs a current-thread runtime on
//! its own thread, so what the other tests of this binary do (they run in parallel on
//! other threads) is not counted, and the counts cannot flake.
//!
//! Allocations that happen once per timer are made before counting starts: the timer's
//! `Sleep` (boxed on its first wait) and the runtime's own buffers (grown on their first
//! use). What is counted is only the steady state: many ticks in a row.

use kadenz_testkit as common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use kadenz::policy::{
    MissedTickPolicy, SkipMissedAndDrift, SkipMissedAndResync, TriggerAllMissed, TriggerMissedUpTo,
};
use kadenz::Timer;
use tokio::time::{advance, Instant};

use common::TickCap;

/// The system allocator, counting the allocations of the threads that ask it to.
struct Counting;

thread_local! {
    // `const` thread-locals without a destructor: reading them never allocates, so the
    // allocator can use them.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: a thread that is being torn down may still allocate; it is not counted.
    let _ = COUNTING.try_with(|counting| {
        if counting.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// contract of `GlobalAlloc` is `System`'s; counting only touches thread-local cells.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: as for `alloc`; `ptr` and `layout` come from this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` and `layout` come from this allocator, which is `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The allocations (and reallocations) this thread makes while `future` runs.
async fn allocations_in<F: std::future::Future>(future: F) -> u64 {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|counting| counting.set(true));
    future.await;
    COUNTING.with(|counting| counting.set(false));
    ALLOCATIONS.with(Cell::get)
}

const INTERVAL: Duration = Duration::from_millis(1);
const TICKS: usize = 1_000;

/// A custom policy, to check the dynamic dispatch and the `Box`/`Arc` forwarding too.
#[derive(Debug)]
struct EveryOtherInterval;

impl MissedTickPolicy for EveryOtherInterval {
    fn calculate_next_tick_time(&self, interval: u64, scheduled_tick_time: u64, _now: u64) -> u64 {
        scheduled_tick_time.saturating_add(interval.saturating_mul(2))
    }
}

/// One timer of each built-in policy, and custom ones behind `Box` and `Arc`.
fn timers() -> Vec<(&'static str, Timer)> {
    let shared: Arc<dyn MissedTickPolicy> = Arc::new(EveryOtherInterval);
    vec![
        ("TriggerAllMissed", Timer::new(INTERVAL, TriggerAllMissed)),
        (
            "SkipMissedAndResync",
            Timer::new(INTERVAL, SkipMissedAndResync),
        ),
        (
            "SkipMissedAndDrift(0)",
            Timer::new(INTERVAL, SkipMissedAndDrift::default()),
        ),
        ("Timer::timeout", Timer::timeout(INTERVAL)),
        (
            "SkipMissedAndDrift(300us)",
            Timer::new(
                INTERVAL,
                SkipMissedAndDrift::new(Duration::from_micros(300)),
            ),
        ),
        (
            "Box<custom>",
            Timer::new(INTERVAL, Box::new(EveryOtherInterval)),
        ),
        ("Arc<dyn custom>", Timer::new(INTERVAL, shared)),
    ]
}

/// What a runaway timer of `drain_due` was: "due at once (TriggerAllMissed)", formatted
/// only if it fails, so that counting allocates nothing.
struct DueAtOnce(&'static str);

impl std::fmt::Display for DueAtOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "due at once ({})", self.0)
    }
}

/// Receives every tick that is due now, of which there can be at most `limit`; how many
/// there were. `policy` names the timer in a failure.
///
/// A timer whose schedule does not advance is always due, and the paused clock stands
/// still while it fires: the limit turns that endless loop into a failure.
async fn drain_due(timer: &mut Timer, limit: u64, policy: &'static str) -> usize {
    let mut cap = TickCap::new(limit, DueAtOnce(policy));
    let mut ticks = 0;
    while timer.deadline().is_some_and(|due| due <= Instant::now()) {
        timer.tick().await.expect("running");
        cap.count();
        ticks += 1;
    }
    ticks
}

/// Receives `ticks` ticks that are due: the clock is advanced by exactly the time to the
/// next tick, then the tick is received.
async fn due_ticks(timer: &mut Timer, ticks: usize) {
    for _ in 0..ticks {
        let due = timer.deadline().expect("running");
        advance(due - Instant::now()).await;
        let tick = timer.tick().await.expect("running");
        assert_eq!(tick.drift(), Duration::ZERO);
    }
}

/// Receives `ticks` ticks that are waited for.
///
/// Not bounded by a `timeout`, whose own timer would be counted with the timer's; a timer
/// without a deadline, which the idle paused runtime would wait for for ever, fails instead.
async fn awaited_ticks(timer: &mut Timer, ticks: usize) {
    for _ in 0..ticks {
        timer
            .deadline()
            .expect("the timer has no next tick: waiting for one would never end");
        timer.tick().await.expect("running");
    }
}

/// Jumps the clock `jumps` times by `OVERDUE_JUMP` intervals, and receives every tick that
/// is due after each jump; how many there were.
async fn overdue_ticks(timer: &mut Timer, jumps: usize, policy: &'static str) -> usize {
    let mut ticks = 0;
    for _ in 0..jumps {
        advance(INTERVAL * OVERDUE_JUMP).await;
        // A jump makes at most one tick per interval due; twice that stops a runaway.
        ticks += drain_due(timer, 2 * u64::from(OVERDUE_JUMP), policy).await;
    }
    ticks
}

const OVERDUE_JUMP: u32 = 50;

/// Ticks that are due when received. The timer compares the clock with its schedule and
/// does not need the timer wheel.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn no_allocation_per_due_tick() {
    for (policy, mut timer) in timers() {
        timer.reset(); // the clock moved while the previous timers ran
        due_ticks(&mut timer, 10).await; // warm-up
        let allocations = allocations_in(due_ticks(&mut timer, TICKS)).await;
        assert_eq!(
            allocations, 0,
            "{policy}: {allocations} allocations in {TICKS} due ticks"
        );
    }
}

/// Ticks that are waited for: the timer registers its `Sleep` with the timer wheel, the
/// idle runtime moves the paused clock to the deadline and fires it.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn no_allocation_per_awaited_tick() {
    for (policy, mut timer) in timers() {
        timer.reset();
        awaited_ticks(&mut timer, 10).await; // warm-up: the first wait boxes the `Sleep`
        let allocations = allocations_in(awaited_ticks(&mut timer, TICKS)).await;
        assert_eq!(
            allocations, 0,
            "{policy}: {allocations} allocations in {TICKS} awaited ticks"
        );
    }
}

/// Bursts of overdue ticks: the clock jumps 50 intervals at once, and every tick the
/// policy makes due is received (all 50 under `TriggerAllMissed`, one under the skipping
/// policies).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn no_allocation_per_overdue_tick() {
    const JUMPS: usize = 100;
    for (policy, mut timer) in timers() {
        timer.reset();
        overdue_ticks(&mut timer, 5, policy).await; // warm-up
        let mut ticks = 0;
        let allocations =
            allocations_in(async { ticks = overdue_ticks(&mut timer, JUMPS, policy).await }).await;
        assert!(ticks >= JUMPS, "{policy}: only {ticks} ticks");
        assert_eq!(
            allocations, 0,
            "{policy}: {allocations} allocations in {ticks} overdue ticks"
        );
    }
}

/// A long burst: 10,000 overdue ticks in a row, far more than tokio's cooperative budget
/// (128), so the burst yields to the runtime many times in the middle.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn no_allocation_in_a_long_burst() {
    let mut timer = Timer::periodic(INTERVAL);
    advance(INTERVAL * 20).await;
    drain_due(&mut timer, 2 * 20, "Timer::periodic").await; // warm-up
    advance(INTERVAL * 10_000).await;
    let mut ticks = 0;
    let allocations = allocations_in(async {
        ticks = drain_due(&mut timer, 2 * 10_000, "Timer::periodic").await
    })
    .await;
    assert_eq!(ticks, 10_000);
    assert_eq!(
        allocations, 0,
        "{allocations} allocations in a burst of {ticks} ticks"
    );
}

/// The counter itself works: a `Box` made while counting is counted.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_counter_counts() {
    let allocations = allocations_in(async {
        std::hint::black_box(Box::new(42_u64));
    })
    .await;
    assert_eq!(allocations, 1);
}

/// The counter sees allocations made inside the timer: a timer's first wait boxes its
/// `Sleep`, once.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_first_wait_allocates_once() {
    let mut timer = Timer::periodic(INTERVAL);
    let allocations = allocations_in(awaited_ticks(&mut timer, 1)).await;
    assert!(allocations >= 1, "the first wait boxes the timer's Sleep");
}

/// Only the `Sleep` is boxed, on the first wait: a timer with a built-in policy, which
/// includes `Timer::timeout`'s, allocates nothing when it is made, whatever the policy's
/// value.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn making_a_timer_allocates_nothing() {
    for (name, make) in [
        ("periodic", Timer::periodic as fn(Duration) -> Timer),
        ("timeout", Timer::timeout),
    ] {
        let allocations = allocations_in(async { drop(make(INTERVAL)) }).await;
        assert_eq!(allocations, 0, "Timer::{name}");
    }
    let allocations = allocations_in(async {
        drop(
            Timer::builder(INTERVAL)
                .missed_tick_policy(SkipMissedAndResync)
                .build()
                .unwrap(),
        )
    })
    .await;
    assert_eq!(allocations, 0, "a builder with SkipMissedAndResync");
    let allocations = allocations_in(async {
        drop(Timer::new(
            INTERVAL,
            SkipMissedAndDrift::new(Duration::from_micros(300)),
        ));
        drop(Timer::new(INTERVAL, TriggerMissedUpTo::new(3)));
    })
    .await;
    assert_eq!(allocations, 0, "built-in policies with a value");
}

/// A name (`TimerBuilder::name`) boxes the timer's extras when it is made, once, and
/// nothing after that: late and skipped ticks allocate nothing, and with the `tracing`
/// feature neither do the events a threshold of zero makes of every late tick (no
/// subscriber listens in this test; what a subscriber allocates is its own).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_name_allocates_once_and_nothing_per_tick() {
    fn named(policy: impl MissedTickPolicy) -> Timer {
        let builder = Timer::builder(INTERVAL)
            .name("named")
            .missed_tick_policy(policy);
        #[cfg(feature = "tracing")]
        let builder = builder.warn_if_late(Duration::ZERO);
        builder.build().unwrap()
    }
    let allocations = allocations_in(async { drop(named(TriggerAllMissed)) }).await;
    assert_eq!(allocations, 1, "the extras box, with the name in it");

    for (policy, mut timer) in [
        ("TriggerAllMissed", named(TriggerAllMissed)),
        ("SkipMissedAndResync", named(SkipMissedAndResync)),
    ] {
        overdue_ticks(&mut timer, 5, policy).await; // warm-up
        let mut ticks = 0;
        let allocations =
            allocations_in(async { ticks = overdue_ticks(&mut timer, 100, policy).await }).await;
        assert!(ticks >= 100, "{policy}: only {ticks} ticks");
        assert_eq!(
            allocations, 0,
            "{policy}: {allocations} allocations in {ticks} late ticks of a named timer"
        );
    }
}

/// A timer with handles: kicks from a handle (a restart, an earlier restart that wakes
/// the task, a new interval) and the ticks after them allocate nothing. The shared state
/// is made once, by `handle()`; a waker is an `Arc` clone, not an allocation.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn no_allocation_per_handle_kick_or_tick() {
    async fn kicks_and_ticks(timer: &mut Timer, handle: &kadenz::TimerHandle, rounds: usize) {
        for round in 0..rounds {
            match round % 3 {
                0 => handle.reset(),
                1 => handle.reset_at(Instant::now() + INTERVAL / 2),
                _ => handle.set_interval(INTERVAL).unwrap(),
            }
            awaited_ticks(timer, 1).await;
        }
    }
    let mut timer = Timer::timeout(INTERVAL);
    let handle = timer.handle();
    kicks_and_ticks(&mut timer, &handle, 10).await; // warm-up
    let allocations = allocations_in(kicks_and_ticks(&mut timer, &handle, TICKS)).await;
    assert_eq!(
        allocations, 0,
        "{allocations} allocations in {TICKS} handle kicks and ticks"
    );
}

/// A precise timer on the real clock, where it asks the OS timer for every tick: nothing
/// is allocated on the polling thread once the OS timer's queue has grown to its size,
/// whether the runtime's reactor serves it or (without the IO driver) kadenz's thread.
#[cfg(feature = "precise")]
#[test]
fn no_allocation_per_precise_tick() {
    for io in [true, false] {
        let mut builder = tokio::runtime::Builder::new_current_thread();
        if io {
            builder.enable_all();
        } else {
            builder.enable_time();
        }
        precise_ticks_allocate_nothing(builder.build().unwrap());
    }
}

#[cfg(feature = "precise")]
fn precise_ticks_allocate_nothing(runtime: tokio::runtime::Runtime) {
    runtime.block_on(async {
        let mut timer = Timer::builder(Duration::from_micros(200))
            .precise(true)
            .build()
            .unwrap();
        // Warm-up: the OS timer's queue and its task's list of wakers grow to their size.
        awaited_ticks(&mut timer, TICKS).await;
        let allocations = allocations_in(awaited_ticks(&mut timer, TICKS)).await;
        assert_eq!(
            allocations, 0,
            "{allocations} allocations in {TICKS} precise ticks"
        );
    });
}

/// A timer set: every policy above as an entry, plus a hundred more, all waited for and
/// reset now and then. Its one `Sleep`, slab, hash table and heap are grown in the
/// warm-up; after that, ticks and resets allocate nothing.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn no_allocation_per_tick_of_a_timer_set() {
    use kadenz::TimerSet;

    async fn run(set: &mut TimerSet<u32>, ticks: usize) {
        for n in 0..ticks {
            let (key, _) = set.next().await;
            if n % 7 == 0 {
                set.reset(&key);
                // A due time far away, then a near one: the far one is left behind deep
                // in the heap, so the heap sheds such items now and then.
                let other = (key + 1) % 107;
                set.reset_at(&other, Instant::now() + INTERVAL * 1_000);
                set.reset_at(&other, Instant::now() + INTERVAL);
            }
        }
    }

    let shared: Arc<dyn MissedTickPolicy> = Arc::new(EveryOtherInterval);
    let mut set = TimerSet::new();
    let builder = || Timer::builder(INTERVAL);
    set.insert(0, builder().missed_tick_policy(TriggerAllMissed))
        .unwrap();
    set.insert(1, builder().missed_tick_policy(SkipMissedAndResync))
        .unwrap();
    set.insert(
        2,
        builder().missed_tick_policy(SkipMissedAndDrift::default()),
    )
    .unwrap();
    set.insert(
        3,
        builder().missed_tick_policy(Box::new(EveryOtherInterval)),
    )
    .unwrap();
    set.insert(4, builder().missed_tick_policy(shared)).unwrap();
    set.insert(
        5,
        builder().missed_tick_policy(SkipMissedAndDrift::new(INTERVAL / 3)),
    )
    .unwrap();
    set.insert(6, builder().start_delay(INTERVAL / 2)).unwrap();
    for key in 7..107 {
        set.insert(key, Timer::builder(INTERVAL * key)).unwrap();
    }
    // Warm-up, long enough for the heap to shed what the resets leave behind once.
    run(&mut set, 20 * TICKS).await;
    let allocations = allocations_in(run(&mut set, 10 * TICKS)).await;
    assert_eq!(
        allocations,
        0,
        "{allocations} allocations in {} ticks of a set",
        10 * TICKS
    );
}
