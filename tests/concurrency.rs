//! Many timers at once, timers that change hands, and runtimes that go away.

use kadenz_testkit as common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{
    current_thread_runtime, ms, multi_thread_runtime_with, next_tick, next_tick_within, offsets,
    paused_runtime, poll_once, TickCap, Wakes, PATIENCE, REAL_PATIENCE,
};
use kadenz::Timer;
use tokio::time::Instant;

const TIMERS: u64 = 10_000;

/// Ticks a periodic timer until a tick is due after `end`, checking every tick's schedule;
/// returns how many ticks were due at or before `end`.
async fn count_ticks(mut timer: Timer, end: Instant) -> u64 {
    let interval = timer.interval();
    let origin = timer.deadline().unwrap() - interval;
    // No more than one tick per interval can be due by `end`; twice that stops a runaway.
    let due = (end.duration_since(origin).as_micros() / interval.as_micros()) as u64;
    let until = end - origin;
    let mut cap = TickCap::new(2 * due + 2, format!("due by {until:?} after its start"));
    let mut count = 0u64;
    while let Some(tick) = timer.tick().await {
        cap.count();
        if tick.scheduled() > end {
            break;
        }
        count += 1;
        assert_eq!(tick.scheduled(), origin + interval * count as u32);
        assert_eq!(tick.fired_at(), tick.scheduled() + tick.drift());
    }
    count
}

/// Awaits `joined` (the tasks of many timers), failing if it takes longer than `patience`:
/// one bound for all the waits of all the timers.
async fn within<T>(patience: Duration, joined: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(patience, joined)
        .await
        .unwrap_or_else(|_| panic!("the timers' ticks did not all come within {patience:?}"))
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_timers_under_the_paused_clock() {
    let start = Instant::now();
    let end = start + Duration::from_secs(1);
    let tasks: Vec<_> = (0..TIMERS)
        .map(|i| {
            let timer = Timer::periodic(ms(i % 50 + 1));
            tokio::spawn(async move { (i, count_ticks(timer, end).await) })
        })
        .collect();
    let total = within(PATIENCE, async {
        let mut total = 0;
        for task in tasks {
            let (i, count) = task.await.unwrap();
            assert_eq!(count, 1000 / (i % 50 + 1), "timer {i}");
            total += count;
        }
        total
    })
    .await;
    // 200 timers of each interval from 1 to 50 ms.
    let expected: u64 = (1..=50).map(|interval| 200 * (1000 / interval)).sum();
    assert_eq!(total, expected);
}

#[test]
fn ten_thousand_timers_on_a_multi_thread_runtime_and_the_real_clock() {
    let runtime = common::multi_thread_runtime();
    runtime.block_on(async {
        let end = Instant::now() + ms(300);
        let tasks: Vec<_> = (0..TIMERS)
            .map(|i| {
                tokio::spawn(async move {
                    let timer = Timer::periodic(ms(i % 20 + 5));
                    let interval = timer.interval();
                    let origin = timer.deadline().unwrap() - interval;
                    let count = count_ticks(timer, end).await;
                    // Every tick due by `end` came, and no other: the count is exact.
                    let due =
                        (end.duration_since(origin).as_micros() / interval.as_micros()) as u64;
                    assert_eq!(count, due, "timer {i}");
                    count
                })
            })
            .collect();
        // 300 ms of ticks; a minute however loaded the machine.
        let total = within(Duration::from_secs(60), async {
            let mut total = 0;
            for task in tasks {
                total += task.await.unwrap();
            }
            total
        })
        .await;
        assert!(total > 0);
    });
}

#[tokio::test(start_paused = true)]
async fn a_timer_moved_between_tasks_keeps_its_schedule() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(10));
    let (to_second, from_first) = tokio::sync::oneshot::channel();
    let first = tokio::spawn(async move {
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(offsets(start, next_tick(&mut timer).await.unwrap()));
        }
        to_second.send(timer).unwrap();
        seen
    });
    let second = tokio::spawn(async move {
        let mut timer = from_first.await.unwrap();
        tokio::time::sleep(ms(15)).await; // a hand-over takes a while
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(offsets(start, next_tick(&mut timer).await.unwrap()));
        }
        seen
    });
    assert_eq!(
        first.await.unwrap(),
        [(10_000, 0), (20_000, 0), (30_000, 0)]
    );
    assert_eq!(
        second.await.unwrap(),
        [(40_000, 5_000), (50_000, 0), (60_000, 0)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_timer_dropped_while_a_tick_is_pending() {
    let ticks = Arc::new(AtomicU64::new(0));
    let task = tokio::spawn({
        let ticks = ticks.clone();
        async move {
            let mut timer = Timer::periodic(ms(10));
            // 3 ticks come in the 35 ms the task runs; a runaway would keep the paused
            // clock from ever reaching 35 ms.
            let mut cap = TickCap::new(1_000, "in 35 ms");
            loop {
                next_tick(&mut timer).await.unwrap();
                cap.count();
                ticks.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    tokio::time::sleep(ms(35)).await;
    task.abort(); // drops the pending `tick()` future, then the timer
    let ended = task.await.unwrap_err();
    if ended.is_panic() {
        std::panic::resume_unwind(ended.into_panic()); // the task's own message
    }
    assert!(ended.is_cancelled());
    tokio::time::sleep(ms(100)).await; // the dropped timer's deadlines pass: nothing happens
    assert_eq!(ticks.load(Ordering::Relaxed), 3);
}

#[test]
fn a_runtime_shut_down_with_live_timers() {
    let runtime = current_thread_runtime();
    let (mut kept, pending) = runtime.block_on(async {
        let mut kept = Timer::periodic(ms(1));
        next_tick_within(&mut kept, REAL_PATIENCE).await.unwrap();
        let pending: Vec<_> = (0..100)
            .map(|_| {
                tokio::spawn(async {
                    let mut timer = Timer::periodic(Duration::from_secs(3600));
                    timer.tick().await
                })
            })
            .collect();
        tokio::task::yield_now().await; // let every task start waiting
        (kept, pending)
    });
    drop(runtime); // tasks and their timers are dropped; nothing panics
    drop(pending);
    // A timer that outlived its runtime can still be stopped, reset and inspected.
    kept.stop();
    assert_eq!(kept.deadline(), None);
    kept.reset();
    assert!(kept.is_running());
}

/// Waits for the next tick on the current runtime, which must wake it by itself: a guard
/// far longer than the tick's interval turns a missed wake-up into a failure, not a hang.
async fn woken_by_this_runtime(timer: &mut Timer) -> kadenz::Tick {
    let due = timer.deadline().unwrap();
    let tick = tokio::select! {
        biased; // the guard first: if it is what woke the task, the test fails
        _ = tokio::time::sleep(Duration::from_secs(10)) => panic!("the timer was not woken"),
        tick = timer.tick() => tick.unwrap(),
    };
    assert_eq!(tick.scheduled(), due);
    tick
}

#[test]
fn a_timer_outlives_the_runtime_it_was_created_and_waited_on() {
    let first = current_thread_runtime();
    let (mut timer, due) = first.block_on(async {
        let mut timer = Timer::periodic(ms(20));
        let tick = timer.tick().await.unwrap(); // registered with the first runtime's driver
        (timer, tick.scheduled() + ms(20))
    });
    drop(first);
    current_thread_runtime().block_on(async {
        assert_eq!(woken_by_this_runtime(&mut timer).await.scheduled(), due);
    });
}

/// A 200 ms timer whose wait started on `runtime`'s wheel, and was cancelled.
fn waiting_on(runtime: &tokio::runtime::Runtime) -> Timer {
    runtime.block_on(async {
        let mut timer = Timer::periodic(ms(200));
        assert!(poll_once(&mut timer).is_pending(), "the wait started");
        timer
    })
}

#[test]
fn a_wait_in_progress_follows_the_timer_to_another_runtime() {
    // The first runtime stays alive but is never driven again: only the second runtime's
    // timer driver can wake the timer.
    let first = current_thread_runtime();
    let mut timer = waiting_on(&first);
    current_thread_runtime().block_on(async {
        woken_by_this_runtime(&mut timer).await;
        woken_by_this_runtime(&mut timer).await;
    });
    drop(first);
}

#[test]
fn a_wait_in_progress_when_its_runtime_shuts_down_moves_to_the_next_runtime() {
    let first = current_thread_runtime();
    let mut timer = waiting_on(&first);
    drop(first);
    current_thread_runtime().block_on(async {
        woken_by_this_runtime(&mut timer).await;
    });
}

#[test]
fn a_timer_polled_while_its_first_runtime_shuts_down_on_another_thread() {
    for _ in 0..50 {
        let first = multi_thread_runtime_with(1);
        let mut timer = first.block_on(async {
            let mut timer = Timer::periodic(ms(20));
            let _ = poll_once(&mut timer); // begins a wait on this runtime, almost always
            timer
        });
        let dropper = std::thread::spawn(move || drop(first));
        current_thread_runtime().block_on(async {
            for _ in 0..3 {
                woken_by_this_runtime(&mut timer).await;
            }
        });
        dropper.join().unwrap();
    }
}

/// A wait begun in `block_on` (outside a task), then a poll outside any runtime once the
/// tick is due: the tick is delivered. The `# Panics` sections promise a panic outside a
/// runtime only when the timer has to wait. (The tick is due by the real clock, which is
/// the clock outside a runtime: the test waits for that instant, then polls once.)
#[test]
fn a_due_tick_is_delivered_outside_a_runtime_after_a_wait_begun_in_block_on() {
    let (mut timer, due) = current_thread_runtime().block_on(async {
        let due = Instant::now() + ms(2);
        let mut timer = Timer::periodic(ms(50));
        timer.reset_at(due);
        assert!(
            poll_once(&mut timer).is_pending(),
            "waiting, outside a task"
        );
        (timer, due)
    });
    sleep_past(due);
    let tick = match poll_once(&mut timer) {
        std::task::Poll::Ready(Some(tick)) => tick,
        other => panic!("a due tick, not {other:?}"),
    };
    assert_eq!(tick.scheduled(), due);
    // The next one has to wait: outside a runtime, that is tokio's panic, as documented.
    let waits = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(&mut timer)));
    assert!(waits.is_err());
}

/// The same for a `TimerSet`.
#[test]
fn a_due_set_tick_is_delivered_outside_a_runtime_after_a_wait_begun_in_block_on() {
    let (mut set, due) = current_thread_runtime().block_on(async {
        let due = Instant::now() + ms(2);
        let mut set = kadenz::TimerSet::new();
        set.insert(7u32, Timer::builder(ms(50)).first_tick_at(due))
            .unwrap();
        assert!(poll_once(&mut set).is_pending(), "waiting, outside a task");
        (set, due)
    });
    sleep_past(due);
    let (key, tick) = match poll_once(&mut set) {
        std::task::Poll::Ready(ready) => ready,
        std::task::Poll::Pending => panic!("the tick is due"),
    };
    assert_eq!((key, tick.scheduled()), (7, due));
}

/// Blocks the thread until the real clock, the one outside a runtime, is past `instant`
/// (`thread::sleep` never returns early).
fn sleep_past(instant: Instant) {
    let left = instant
        .into_std()
        .saturating_duration_since(std::time::Instant::now());
    std::thread::sleep(left + Duration::from_micros(1));
}

/// A poll with the waker the wheel holds takes the wheel's word without looking at the
/// runtime, as long as the `Sleep` has not fired. A runtime's shutdown fires every `Sleep`
/// (and wakes its waker), so a wait whose runtime went away moves to the runtime that
/// polls next, even with the very same waker (as the thread's waker of `block_on` on a
/// multi-thread runtime is).
#[test]
fn a_wait_whose_runtime_shut_down_moves_on_with_the_same_waker() {
    let wakes = Arc::new(Wakes::default());
    let waker = std::task::Waker::from(wakes.clone());
    let poll = |timer: &mut Timer| timer.poll_tick(&mut std::task::Context::from_waker(&waker));
    let first = paused_runtime();
    let mut timer = first.block_on(async {
        let mut timer = Timer::periodic(Duration::from_secs(3600));
        assert!(poll(&mut timer).is_pending());
        assert!(poll(&mut timer).is_pending(), "the wheel's word");
        timer
    });
    let due = timer.deadline().unwrap();
    assert_eq!(wakes.count(), 0);
    drop(first);
    assert_eq!(wakes.count(), 1, "the shutdown fired the wait");
    paused_runtime().block_on(async {
        assert!(
            poll(&mut timer).is_pending(),
            "waits on this runtime's wheel"
        );
        assert!(poll(&mut timer).is_pending(), "the wheel's word");
        tokio::time::sleep_until(due).await;
        assert_eq!(wakes.count(), 2, "this runtime's wheel woke it");
        let tick = poll(&mut timer);
        assert!(matches!(tick, std::task::Poll::Ready(Some(tick)) if tick.scheduled() == due));
    });
}

/// The timer's own `reset` to a later due time leaves the wheel entry at the earlier one
/// (no driver lock); the wheel wakes the task there, and the poll that finds the tick not
/// yet due moves the entry. The tick comes at the new due time, exactly.
#[tokio::test(start_paused = true)]
async fn a_reset_to_a_later_due_time_waits_on_the_entry_it_has() {
    let start = Instant::now();
    let wakes = Arc::new(Wakes::default());
    let waker = std::task::Waker::from(wakes.clone());
    let mut cx = std::task::Context::from_waker(&waker);
    let mut watchdog = Timer::timeout(ms(10));
    assert!(watchdog.poll_tick(&mut cx).is_pending());
    tokio::time::advance(ms(6)).await;
    watchdog.reset(); // now due at 16 ms; the entry stays at 10 ms
    assert!(watchdog.poll_tick(&mut cx).is_pending());
    tokio::time::advance(ms(4)).await; // 10 ms: the old entry fires
    assert_eq!(wakes.count(), 1);
    assert!(
        watchdog.poll_tick(&mut cx).is_pending(),
        "not due before 16 ms"
    );
    tokio::time::advance(ms(5)).await; // 15 ms
    assert!(watchdog.poll_tick(&mut cx).is_pending());
    assert_eq!(wakes.count(), 1);
    tokio::time::advance(ms(1)).await; // 16 ms: the moved entry fires
    assert_eq!(wakes.count(), 2);
    let tick = watchdog.poll_tick(&mut cx);
    assert!(
        matches!(tick, std::task::Poll::Ready(Some(tick)) if tick.scheduled() == start + ms(16) && tick.drift() == Duration::ZERO),
        "{tick:?}"
    );
}
