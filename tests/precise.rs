//! Precise timers (cargo feature `precise`): under tokio's paused clock they deliver
//! exactly the ticks of default timers, and the OS timer never wakes them; on the real
//! clock they keep every promise a default timer makes (schedule, resets from handles,
//! stops, budget). Lateness is measured by the figures tool, never here.
#![cfg(feature = "precise")]

use kadenz_testkit as common;

use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::{
    current_thread_runtime, ms, multi_thread_runtime, offsets, paused_runtime, us, Wakes,
};
use kadenz::policy::{MissedTickPolicy, SkipMissedAndDrift, SkipMissedAndResync, TriggerAllMissed};
use kadenz::{Tick, Timer};
use tokio::time::{advance, Instant};

fn precise(interval: Duration, policy: impl MissedTickPolicy) -> Timer {
    Timer::builder(interval)
        .missed_tick_policy(policy)
        .precise(true)
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn an_os_timer_serves_precise_timers_on_linux() {
    assert_eq!(
        precise(ms(1), TriggerAllMissed).is_precise(),
        cfg!(target_os = "linux")
    );
    assert!(!Timer::periodic(ms(1)).is_precise());
    assert!(!Timer::builder(ms(1))
        .precise(false)
        .build()
        .unwrap()
        .is_precise());
}

/// A scripted receiver on a fresh paused runtime (so that every script starts on the same
/// phase of the wheel's millisecond grid): ticks awaited at once, or after the receiver
/// was busy.
fn script(make: impl FnOnce() -> Timer, busy_us: &[u64]) -> Vec<(u64, u64, u64, u64)> {
    paused_runtime().block_on(async {
        let start = Instant::now();
        let mut timer = make();
        let mut ticks = Vec::new();
        for &busy in busy_us {
            advance(us(busy)).await;
            let tick: Tick = timer.tick().await.unwrap();
            let (scheduled, drift) = offsets(start, tick);
            ticks.push((scheduled, drift, tick.missed(), tick.skipped()));
        }
        ticks
    })
}

#[test]
fn under_the_paused_clock_a_precise_timer_ticks_as_a_default_one() {
    let busy = [0, 0, 1_300, 250, 0, 3_700, 0, 0, 999, 1, 0];
    for interval in [us(250), us(1_000), us(1_500), ms(10)] {
        for policy in 0..3 {
            let build = |precise: bool| {
                let builder = Timer::builder(interval).precise(precise);
                match policy {
                    0 => builder.missed_tick_policy(TriggerAllMissed),
                    1 => builder.missed_tick_policy(SkipMissedAndResync),
                    _ => builder.missed_tick_policy(SkipMissedAndDrift::new(us(100))),
                }
                .build()
                .unwrap()
            };
            let expected = script(|| build(false), &busy);
            let got = script(|| build(true), &busy);
            assert_eq!(got, expected, "interval {interval:?}, policy {policy}");
        }
    }
}

/// Polls the timer until it ticks, advancing the paused clock by hand in 100 µs steps
/// (after waiting 5 ms of real time past the first poll), and returns how often its waker
/// was woken meanwhile.
async fn wakes_until_a_tick(timer: &mut Timer) -> u64 {
    let wakes = Arc::new(Wakes::default());
    let waker = Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    for step in 0..100_000 {
        if let Poll::Ready(tick) = timer.poll_tick(&mut cx) {
            assert!(tick.is_some());
            return wakes.count();
        }
        if step == 0 {
            // Real time past the due time: an OS timer asked by the first poll fires now.
            std::thread::sleep(Duration::from_millis(5));
        }
        advance(us(100)).await;
    }
    panic!("no tick in 10 s of the paused clock");
}

#[test]
fn under_the_paused_clock_only_the_wheel_wakes_a_precise_timer() {
    // The same count of wake-ups, tick after tick: an OS timer asked while the clock is
    // paused would add one.
    let wakes = |precise: bool| {
        paused_runtime().block_on(async {
            let mut timer = Timer::builder(ms(3)).precise(precise).build().unwrap();
            let mut wakes = Vec::new();
            for _ in 0..5 {
                wakes.push(wakes_until_a_tick(&mut timer).await);
            }
            wakes
        })
    };
    assert_eq!(wakes(true), wakes(false));
    assert_eq!(wakes(false), [1; 5], "the wheel wakes each tick once");
}

#[tokio::test(start_paused = true)]
async fn a_precise_overdue_tick_takes_the_budget() {
    let mut timer = precise(us(1), TriggerAllMissed);
    advance(ms(10)).await;
    tokio::task::yield_now().await;
    let readies = poll_fn(|cx| {
        for readies in 0..1_000 {
            if timer.poll_tick(cx).is_pending() {
                return Poll::Ready(readies);
            }
        }
        Poll::Ready(1_000)
    })
    .await;
    assert_eq!(readies, 128, "tokio's budget of one task poll");
}

/// On the real clock (no pause possible on a multi-thread runtime, so the OS timer alone
/// wakes the timer): every tick on its grid, none early, none lost.
#[test]
fn on_a_multi_thread_runtime_a_precise_timer_keeps_its_schedule() {
    multi_thread_runtime().block_on(async {
        let mut timer = precise(us(700), TriggerAllMissed);
        let origin = timer.deadline().unwrap() - us(700);
        for k in 1..=200u32 {
            let tick = timer.tick().await.unwrap();
            assert_eq!(tick.scheduled(), origin + us(700) * k);
            assert!(tick.fired_at() <= Instant::now());
        }
        assert_eq!(timer.stats().delivered(), 200);
    });
}

/// A reset from another task while the precise timer waits: the tick comes at the new
/// deadline, never at the old one; a stop ends the wait.
#[test]
fn on_a_multi_thread_runtime_handles_steer_a_waiting_precise_timer() {
    multi_thread_runtime().block_on(async {
        let mut timer = Timer::builder(Duration::from_secs(3_600))
            .precise(true)
            .build()
            .unwrap();
        let handle = timer.handle();
        let moved_to = Instant::now() + ms(5);
        let mover = tokio::spawn(async move {
            tokio::time::sleep(ms(1)).await;
            handle.reset_at(moved_to);
            tokio::time::sleep(ms(20)).await;
            handle.stop();
        });
        let tick = timer.tick().await.unwrap();
        assert_eq!(tick.scheduled(), moved_to, "woken for the new deadline");
        assert!(Instant::now() >= moved_to, "never early");
        let next = tokio::time::timeout(Duration::from_secs(30), timer.tick())
            .await
            .expect("the stop ends the wait");
        assert_eq!(next, None);
        mover.await.unwrap();
    });
}

/// Many precise timers share the one OS timer: each gets its own ticks.
#[test]
fn a_thousand_precise_timers_each_get_their_ticks() {
    multi_thread_runtime().block_on(common::precise_timers_keep_their_schedules(1_000, 20));
}

/// A precise timer moved from one runtime to another in the middle of a wait.
#[test]
fn a_precise_wait_follows_the_timer_to_another_runtime() {
    let first = multi_thread_runtime();
    let mut timer = first.block_on(async {
        let mut timer = precise(ms(2), TriggerAllMissed);
        assert!(common::poll_once(&mut timer).is_pending());
        timer
    });
    drop(first);
    let second = current_thread_runtime();
    second.block_on(async {
        let origin = timer.deadline().unwrap() - ms(2);
        let tick = tokio::time::timeout(Duration::from_secs(30), timer.tick())
            .await
            .expect("woken on the second runtime")
            .unwrap();
        assert_eq!(tick.scheduled(), origin + ms(2));
    });
}

/// A precise set on the real clock: every entry's ticks on its own grid, in due order
/// across entries, none early, none lost; an entry built precise needs a precise set.
#[test]
fn on_a_multi_thread_runtime_a_precise_set_keeps_every_schedule() {
    use kadenz::{Error, TimerSet};

    multi_thread_runtime().block_on(async {
        let mut plain = TimerSet::new();
        assert!(matches!(
            plain.insert(0, Timer::builder(us(700)).precise(true)),
            Err(Error::ConflictingOptions { .. })
        ));

        common::precise_set_keeps_every_schedule(300).await;
    });
}

/// A sub-millisecond `advance` while a precise timer waits: the tick comes when the
/// wheel's millisecond slot fires, as a default timer's does, not when the clock merely
/// passes the due time (interval 1.5 ms, `advance(1.6 ms)`: the wheel's slot is 2 ms,
/// and the idle runtime moves the clock from its tick 1 to its tick 2, to 2.6 ms).
#[test]
fn a_sub_millisecond_advance_delivers_a_precise_tick_as_a_default_one() {
    let run = |precise: bool| {
        paused_runtime().block_on(async {
            let start = Instant::now();
            let mut timer = Timer::builder(us(1_500)).precise(precise).build().unwrap();
            let mut ticks = Vec::new();
            for step in [1_600, 300, 1_600, 2_900] {
                let (tick, ()) = tokio::join!(timer.tick(), advance(us(step)));
                let tick = tick.unwrap();
                ticks.push((
                    offsets(start, tick).0,
                    (tick.fired_at() - start).as_micros(),
                ));
            }
            ticks
        })
    };
    let default = run(false);
    assert_eq!(default[0], (1_500, 2_600), "the wheel's rounding, stated");
    assert_eq!(run(true), default);
}

/// The same for a precise set: its one wait takes the wheel's word under the paused
/// clock.
#[test]
fn a_sub_millisecond_advance_delivers_a_precise_set_tick_as_a_default_one() {
    use kadenz::TimerSet;

    let run = |precise: bool| {
        paused_runtime().block_on(async {
            let start = Instant::now();
            let mut set = TimerSet::new().precise(precise);
            set.insert(0, Timer::builder(us(1_500)).precise(precise))
                .unwrap();
            set.insert(1, Timer::builder(us(2_300)).precise(precise))
                .unwrap();
            let mut ticks = Vec::new();
            for step in [1_600, 300, 1_600, 2_900, 100, 700] {
                let ((key, tick), ()) = tokio::join!(set.next(), advance(us(step)));
                ticks.push((
                    key,
                    offsets(start, tick).0,
                    (tick.fired_at() - start).as_micros(),
                ));
            }
            ticks
        })
    };
    let default = run(false);
    assert_eq!(
        default[0],
        (0, 1_500, 2_600),
        "the wheel's rounding, stated"
    );
    assert_eq!(run(true), default);
}

/// A precise timer, and a precise set, that waited on a current-thread runtime (whose
/// wheel `Sleep` it keeps) and then wait on a multi-thread runtime let go of the first
/// runtime once it is dropped, as default timers do.
#[test]
fn a_precise_wait_moved_to_a_multi_thread_runtime_releases_the_old_runtime() {
    use kadenz::TimerSet;

    let token = Arc::new(());
    let first = common::runtime_with_token(
        tokio::runtime::Builder::new_current_thread().enable_time(),
        &token,
    );
    let waker = common::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let (mut timer, mut set) = first.block_on(async {
        let mut timer = precise(Duration::from_secs(3_600), TriggerAllMissed);
        assert!(timer.poll_tick(&mut cx).is_pending());
        let mut set = TimerSet::new().precise(true);
        set.insert(0, Timer::builder(Duration::from_secs(3_600)).precise(true))
            .unwrap();
        assert!(set.poll_next(&mut cx).is_pending());
        (timer, set)
    });
    drop(first);
    assert!(Arc::strong_count(&token) > 1, "the waits hold the runtime");
    // Another task's waker on the new runtime.
    let waker = Waker::from(Arc::new(Wakes::default()));
    let mut cx = Context::from_waker(&waker);
    multi_thread_runtime().block_on(async {
        assert!(timer.poll_tick(&mut cx).is_pending());
        assert!(set.poll_next(&mut cx).is_pending());
    });
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "a wait on the new runtime still holds the dropped one"
    );
}

/// A precise wait asked on a runtime with the IO driver that is then dropped, polled
/// again on another runtime with the same waker (a hand-written poll): the new runtime's
/// reactor wakes it (the dropped runtime's timerfd is closed and never will).
#[test]
fn a_precise_wait_with_the_same_waker_on_a_new_runtime_is_woken_there() {
    let with_io = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    };
    let wakes = Arc::new(Wakes::default());
    let waker = Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    let first = with_io();
    let mut timer = first.block_on(async {
        // Long enough that the tick is not due yet when the second runtime polls, however
        // slowly the machine drops one runtime and builds another.
        let mut timer = precise(ms(300), TriggerAllMissed);
        assert!(timer.poll_tick(&mut cx).is_pending());
        timer
    });
    drop(first);
    let second = with_io();
    second.block_on(async {
        assert!(timer.poll_tick(&mut cx).is_pending());
        let woken = tokio::time::timeout(Duration::from_secs(30), async {
            while wakes.count() == 0 {
                tokio::time::sleep(ms(1)).await;
            }
        })
        .await;
        assert!(woken.is_ok(), "never woken on the new runtime");
        assert!(matches!(timer.poll_tick(&mut cx), Poll::Ready(Some(_))));
    });
}
