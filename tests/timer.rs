//! The Timer's behaviour under tokio's paused clock: start, life cycle, stalls, custom
//! policies, cancel safety, fairness and the traits it implements.

use kadenz_testkit as common;

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use common::policies::{Always, Panics};
use common::{ms, next_tick, offsets, poll_once, tick_at, us, TickCap, PATIENCE};
use futures_core::Stream;
use kadenz::policy::{MissedTickPolicy, SkipMissedAndDrift, SkipMissedAndResync, TriggerAllMissed};
use kadenz::{Error, NextTick, Tick, Timer, TimerBuilder};
use tokio::time::{advance, Instant};

// --- start -------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn first_tick_is_one_interval_after_start() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(100));
    assert_eq!(
        poll_once(&mut timer),
        Poll::Pending,
        "unlike tokio's interval, no immediate tick"
    );
    let tick = next_tick(&mut timer).await.unwrap();
    assert_eq!(offsets(start, tick), (100_000, 0));
    assert_eq!(Instant::now(), start + ms(100));
}

#[tokio::test(start_paused = true)]
async fn start_delay_adds_to_the_first_tick_only() {
    let start = Instant::now();
    let mut timer = Timer::builder(ms(100))
        .start_delay(ms(250))
        .build()
        .unwrap();
    assert_eq!(timer.deadline(), Some(start + ms(350)));
    assert_eq!(
        offsets(start, next_tick(&mut timer).await.unwrap()),
        (350_000, 0)
    );
    assert_eq!(
        offsets(start, next_tick(&mut timer).await.unwrap()),
        (450_000, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn without_auto_start_the_first_poll_starts_the_timer() {
    let mut timer = Timer::builder(ms(100)).auto_start(false).build().unwrap();
    assert!(!timer.is_running());
    assert_eq!(timer.deadline(), None);
    advance(ms(1000)).await;
    let start = Instant::now();
    assert_eq!(
        poll_once(&mut timer),
        Poll::Pending,
        "the first poll starts it, no tick missed"
    );
    assert!(timer.is_running());
    assert_eq!(
        offsets(start, next_tick(&mut timer).await.unwrap()),
        (100_000, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn without_auto_start_a_reset_starts_the_timer() {
    let mut timer = Timer::builder(ms(100)).auto_start(false).build().unwrap();
    advance(ms(30)).await;
    let start = Instant::now();
    timer.reset_after(ms(20));
    advance(ms(500)).await;
    let tick = next_tick(&mut timer).await.unwrap();
    assert_eq!(offsets(start, tick), (120_000, 380_000));
}

#[test]
fn without_auto_start_a_timer_is_built_and_reset_outside_a_runtime() {
    let mut timer = Timer::builder(ms(100)).auto_start(false).build().unwrap();
    timer.reset();
    assert!(timer.is_running());
}

/// The next stream item, waited for at most `PATIENCE`.
async fn next(timer: &mut Timer) -> Option<Tick> {
    let item = poll_fn(|cx| Pin::new(&mut *timer).poll_next(cx));
    tokio::time::timeout(PATIENCE, item)
        .await
        .unwrap_or_else(|_| panic!("no stream item within {PATIENCE:?}: the timer never fired"))
}

// --- life cycle --------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn stop_ends_ticks_until_reset() {
    let mut timer = Timer::periodic(ms(100));
    next_tick(&mut timer).await.unwrap();
    timer.stop();
    assert!(!timer.is_running());
    assert_eq!(timer.deadline(), None);
    assert_eq!(next_tick(&mut timer).await, None);
    advance(ms(1000)).await;
    assert_eq!(
        next_tick(&mut timer).await,
        None,
        "polling does not restart a stopped timer"
    );

    let restart = Instant::now();
    timer.reset();
    assert_eq!(
        offsets(restart, next_tick(&mut timer).await.unwrap()),
        (100_000, 0)
    );
    assert_eq!(
        offsets(restart, next_tick(&mut timer).await.unwrap()),
        (200_000, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn reset_restarts_from_now_and_forgets_missed_ticks() {
    let mut timer = Timer::periodic(ms(100));
    advance(ms(1050)).await; // ten ticks missed
    let restart = Instant::now();
    timer.reset();
    assert_eq!(
        offsets(restart, next_tick(&mut timer).await.unwrap()),
        (100_000, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn reset_after_delays_the_next_tick() {
    let mut timer = Timer::periodic(ms(100));
    advance(ms(40)).await;
    let restart = Instant::now();
    timer.reset_after(ms(500));
    assert_eq!(timer.deadline(), Some(restart + ms(600)));
    assert_eq!(
        offsets(restart, next_tick(&mut timer).await.unwrap()),
        (600_000, 0)
    );
    assert_eq!(
        offsets(restart, next_tick(&mut timer).await.unwrap()),
        (700_000, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn reset_after_a_huge_delay_saturates_instead_of_panicking() {
    let mut timer = Timer::periodic(ms(100));
    timer.reset_after(Duration::MAX);
    assert!(timer.is_running());
    assert_eq!(timer.deadline(), None, "beyond the end of the time line");
    assert_eq!(poll_once(&mut timer), Poll::Pending);
    timer.reset();
    assert!(next_tick(&mut timer).await.is_some());
}

#[tokio::test(start_paused = true)]
async fn stream_yields_ticks_ends_while_stopped_and_resumes_after_reset() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(10));
    assert_eq!(timer.size_hint(), (usize::MAX, None));
    assert_eq!(offsets(start, next(&mut timer).await.unwrap()), (10_000, 0));
    assert_eq!(offsets(start, next(&mut timer).await.unwrap()), (20_000, 0));
    timer.stop();
    assert_eq!(timer.size_hint(), (0, None));
    assert_eq!(next(&mut timer).await, None);
    assert_eq!(next(&mut timer).await, None);
    timer.reset();
    assert_eq!(offsets(start, next(&mut timer).await.unwrap()), (30_000, 0));
}

#[tokio::test(start_paused = true)]
async fn a_stopped_timer_drops_out_of_select() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(10));
    let mut other = Timer::periodic(ms(25));
    let (mut ticks, mut others) = (0, 0);
    // 7 ticks in all, 100 ms; a bound on both, so that a timer that never stops or never
    // fires fails the test instead of keeping it in the loop.
    let mut cap = TickCap::new(1_000, "before both timers are stopped");
    let select_loop = async {
        loop {
            tokio::select! {
                Some(_) = timer.tick() => {
                    cap.count();
                    ticks += 1;
                    if ticks == 3 {
                        timer.stop();
                    }
                }
                Some(_) = other.tick() => {
                    cap.count();
                    others += 1;
                    if others == 4 {
                        other.stop();
                    }
                }
                else => break,
            }
        }
    };
    tokio::time::timeout(PATIENCE, select_loop)
        .await
        .unwrap_or_else(|_| panic!("the timers were not both stopped within {PATIENCE:?}"));
    assert_eq!((ticks, others), (3, 4));
    assert_eq!(
        Instant::now(),
        start + ms(100),
        "the loop ended with the last tick of `other`"
    );
}

// --- stalls ------------------------------------------------------------------------

/// Starts a 10 ms timer, stalls the receiver for 1234 ms, then receives 5 ticks.
async fn after_stall(policy: impl MissedTickPolicy) -> Vec<(u64, u64)> {
    let start = Instant::now();
    let mut timer = Timer::new(ms(10), policy);
    advance(ms(1234)).await;
    let mut ticks = Vec::new();
    for _ in 0..5 {
        ticks.push(offsets(start, next_tick(&mut timer).await.unwrap()));
    }
    ticks
}

#[tokio::test(start_paused = true)]
async fn trigger_all_missed_bursts_with_decreasing_drift_then_keeps_phase() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(10));
    advance(ms(1234)).await;
    // 123 ticks were due (10 ms … 1230 ms); all come at once, 1224 ms … 4 ms late.
    for k in 1..=123u64 {
        let tick = next_tick(&mut timer).await.unwrap();
        assert_eq!(offsets(start, tick), (k * 10_000, 1_234_000 - k * 10_000));
        assert_eq!(tick.fired_at(), start + ms(1234));
    }
    assert_eq!(Instant::now(), start + ms(1234), "the burst takes no time");
    assert_eq!(
        offsets(start, next_tick(&mut timer).await.unwrap()),
        (1_240_000, 0)
    );
    assert_eq!(
        offsets(start, next_tick(&mut timer).await.unwrap()),
        (1_250_000, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn skip_missed_and_resync_delivers_one_late_tick_then_keeps_phase() {
    assert_eq!(
        after_stall(SkipMissedAndResync).await,
        [
            (10_000, 1_224_000),
            (1_240_000, 0),
            (1_250_000, 0),
            (1_260_000, 0),
            (1_270_000, 0)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn skip_missed_and_drift_delivers_one_late_tick_then_moves_phase() {
    assert_eq!(
        after_stall(SkipMissedAndDrift::default()).await,
        [
            (10_000, 1_224_000),
            (1_244_000, 0),
            (1_254_000, 0),
            (1_264_000, 0),
            (1_274_000, 0)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn skip_missed_and_drift_forgives_delays_within_tolerance() {
    let start = Instant::now();
    let mut timer = Timer::new(ms(10), SkipMissedAndDrift::new(ms(3)));
    assert_eq!(
        offsets(start, tick_at(&mut timer, start + ms(13)).await),
        (10_000, 3_000)
    );
    assert_eq!(
        offsets(start, next_tick(&mut timer).await.unwrap()),
        (20_000, 0)
    );
    assert_eq!(
        offsets(start, tick_at(&mut timer, start + us(33_001)).await),
        (30_000, 3_001)
    );
    // Due at 43.001 ms. The paused clock, idle at 33.001 ms, advances by whole
    // milliseconds of its timer wheel (from tick 33 to tick 44): it lands on 44.001 ms.
    assert_eq!(
        offsets(start, next_tick(&mut timer).await.unwrap()),
        (43_001, 1_000)
    );
}

// --- custom policies ---------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_policy_answering_zero_fires_at_once_with_the_matching_drift() {
    let start = Instant::now();
    let mut timer = Timer::new(ms(10), Always(0));
    assert_eq!(
        offsets(start, next_tick(&mut timer).await.unwrap()),
        (10_000, 0)
    );
    for _ in 0..1000 {
        // Due at the start of the time line, fired at 10 ms: 10 ms late, and no time passes.
        assert_eq!(
            offsets(start, next_tick(&mut timer).await.unwrap()),
            (0, 10_000)
        );
    }
    assert_eq!(Instant::now(), start + ms(10));
}

#[tokio::test(start_paused = true)]
async fn a_policy_answering_u64_max_stops_ticking_until_reset() {
    let mut timer = Timer::new(ms(10), Always(u64::MAX));
    assert!(next_tick(&mut timer).await.is_some());
    assert!(timer.is_running());
    assert_eq!(timer.deadline(), None);
    assert_eq!(timer.size_hint(), (0, None));
    advance(Duration::from_secs(86_400 * 365)).await;
    assert_eq!(poll_once(&mut timer), Poll::Pending, "never due");
    let elapsed = tokio::time::timeout(Duration::from_secs(3600), timer.tick()).await;
    assert!(elapsed.is_err(), "still not due an hour later");
    timer.reset();
    assert!(next_tick(&mut timer).await.is_some());
}

#[tokio::test(start_paused = true)]
async fn a_policy_answering_zero_does_not_starve_other_tasks() {
    let other = tokio::spawn(async {
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
    });
    let mut timer = Timer::new(ms(10), Always(0));
    let mut ticks = 0u64;
    while !other.is_finished() {
        next_tick(&mut timer).await.unwrap();
        ticks += 1;
        assert!(ticks < 1_000_000, "the other task never ran");
    }
    other.await.unwrap();
}

#[derive(Debug)]
struct Now;

impl MissedTickPolicy for Now {
    fn calculate_next_tick_time(&self, _: u64, _: u64, now: u64) -> u64 {
        now
    }
}

#[tokio::test(start_paused = true)]
async fn a_policy_answering_now_fires_at_once_with_zero_drift() {
    let start = Instant::now();
    let mut timer = Timer::new(ms(10), Now);
    for _ in 0..100 {
        assert_eq!(
            offsets(start, next_tick(&mut timer).await.unwrap()),
            (10_000, 0)
        );
    }
}

/// Records what the timer asks, to check the promises the trait makes to policies.
#[derive(Debug, Default)]
struct Recorder(std::sync::Mutex<Vec<(u64, u64, u64)>>);

impl MissedTickPolicy for Recorder {
    fn calculate_next_tick_time(&self, interval: u64, scheduled: u64, now: u64) -> u64 {
        self.0.lock().unwrap().push((interval, scheduled, now));
        TriggerAllMissed.calculate_next_tick_time(interval, scheduled, now)
    }
}

#[tokio::test(start_paused = true)]
async fn policies_are_asked_in_microseconds_with_now_not_before_scheduled() {
    let recorder = Arc::new(Recorder::default());
    let start = Instant::now();
    let mut timer = Timer::new(us(2_500), recorder.clone());
    next_tick(&mut timer).await.unwrap(); // due at 2.5 ms: the paused clock lands on 3 ms
    tick_at(&mut timer, start + us(7_777)).await;
    assert_eq!(
        *recorder.0.lock().unwrap(),
        [(2_500, 2_500, 3_000), (2_500, 5_000, 7_777)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_policy_leaves_the_timer_stopped() {
    let mut timer = Timer::new(ms(10), Panics);
    advance(ms(10)).await;
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(&mut timer)));
    assert!(caught.is_err());
    assert!(!timer.is_running());
    assert_eq!(next_tick(&mut timer).await, None);
}

/// The timer's handles see the stop a panicking policy leaves: `is_running`, `deadline`
/// and `Debug` agree with the timer's own view, before and after a restart.
#[tokio::test(start_paused = true)]
async fn a_panicking_policy_stops_the_timer_for_its_handles_too() {
    let mut timer = Timer::new(ms(10), Panics);
    let handle = timer.handle();
    advance(ms(10)).await;
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(&mut timer)));
    assert!(caught.is_err());
    assert!(!timer.is_running());
    assert!(!handle.is_running());
    assert_eq!(handle.deadline(), None);
    assert_eq!(
        format!("{handle:?}"),
        "TimerHandle { interval: 10ms, running: false }"
    );
    handle.reset();
    assert!(timer.is_running() && handle.is_running());
    assert_eq!(handle.deadline(), Some(Instant::now() + ms(10)));
}

// --- cancel safety and fairness ----------------------------------------------------

#[tokio::test(start_paused = true)]
async fn tick_is_cancel_safe_in_a_select_loop() {
    // Another branch wins nine times out of ten, and now and then the loop stalls for
    // several intervals; not one tick may be lost or duplicated.
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(10));
    let mut busy = tokio::time::interval(ms(1));
    let mut expected = 1u64;
    let mut busy_wins = 0u64;
    while expected <= 10_000 {
        // About 10 wins of the other branch per tick; a hundred per tick on average means
        // the timer has stopped firing.
        assert!(
            busy_wins < 1_000_000,
            "the timer delivered only {} of 10,000 ticks while the other branch won {busy_wins} times",
            expected - 1
        );
        tokio::select! {
            biased;
            _ = busy.tick() => {
                busy_wins += 1;
                if busy_wins % 997 == 0 {
                    advance(ms(35)).await;
                }
            }
            tick = timer.tick() => {
                let (scheduled, _) = offsets(start, tick.unwrap());
                assert_eq!(scheduled, expected * 10_000);
                expected += 1;
            }
        }
    }
    assert!(
        busy_wins > 9 * 10_000,
        "the other branch won most of the time: {busy_wins}"
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_a_pending_tick_future_loses_nothing() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(10));
    for _ in 0..3 {
        let pending = tokio::time::timeout(ms(3), timer.tick()).await;
        assert!(pending.is_err());
    }
    advance(ms(6)).await;
    // 15 ms have passed: the 10 ms tick is due, and comes once.
    assert_eq!(
        offsets(start, next_tick(&mut timer).await.unwrap()),
        (10_000, 5_000)
    );
    assert_eq!(
        offsets(start, next_tick(&mut timer).await.unwrap()),
        (20_000, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn overdue_ticks_take_cooperative_budget() {
    let mut timer = Timer::periodic(us(1));
    advance(ms(1)).await; // a thousand ticks are overdue
    let mut ready = 0;
    let mut cap = TickCap::new(10_000, "in one poll of the task");
    while poll_once(&mut timer).is_ready() {
        cap.count();
        ready += 1;
    }
    // tokio gives a task a budget of 128 units per poll; each overdue tick takes one.
    assert_eq!(ready, 128);
    tokio::task::yield_now().await; // a new poll of this task: a new budget
    assert!(poll_once(&mut timer).is_ready());
}

async fn burst_does_not_starve_other_tasks() {
    const TICKS: u64 = 1_000_000;
    let delivered = Arc::new(AtomicU64::new(0));
    let seen_mid_burst = Arc::new(AtomicU64::new(0));
    let watcher = {
        let (delivered, seen) = (delivered.clone(), seen_mid_burst.clone());
        tokio::spawn(async move {
            // It runs about once per 128 ticks (the consumer's cooperative budget). A stalled
            // burst would keep it spinning, and the paused clock with it: bounded.
            for spins in 0u64.. {
                let n = delivered.load(Ordering::Relaxed);
                if n >= TICKS {
                    break;
                }
                assert!(
                    spins < 1_000_000,
                    "the watcher ran {spins} times while only {n} of {TICKS} ticks came: the burst stalled"
                );
                if n > 0 {
                    seen.fetch_add(1, Ordering::Relaxed);
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let start = Instant::now();
    let mut timer = Timer::periodic(us(1_000));
    advance(Duration::from_secs(1_000)).await; // a million ticks are overdue
    let consumer = tokio::spawn({
        let delivered = delivered.clone();
        async move {
            for k in 1..=TICKS {
                let tick = next_tick(&mut timer).await.unwrap();
                debug_assert_eq!(tick.scheduled(), start + us(k * 1_000));
                delivered.store(k, Ordering::Relaxed);
            }
            timer
        }
    });
    let mut timer = consumer.await.unwrap();
    watcher.await.unwrap();
    assert_eq!(
        Instant::now(),
        start + Duration::from_secs(1_000),
        "the burst takes no time"
    );
    assert_eq!(
        offsets(start, next_tick(&mut timer).await.unwrap()),
        (1_000_001_000, 0)
    );
    // The watcher ran while the burst was under way, not only before or after it.
    assert!(seen_mid_burst.load(Ordering::Relaxed) > 0);
}

#[tokio::test(start_paused = true)]
async fn a_million_overdue_ticks_do_not_starve_other_tasks_current_thread() {
    burst_does_not_starve_other_tasks().await;
}

// --- construction errors -----------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn the_builder_names_every_bad_value() {
    let b = Timer::builder;
    let cases: [(TimerBuilder, Error); 5] = [
        (b(Duration::ZERO), Error::IntervalTooShort(Duration::ZERO)),
        (
            b(Duration::from_nanos(999)),
            Error::IntervalTooShort(Duration::from_nanos(999)),
        ),
        (b(Duration::MAX), Error::IntervalTooLong(Duration::MAX)),
        (
            b(ms(1)).start_delay(ms(5)).auto_start(false),
            Error::StartDelayWithoutAutoStart(ms(5)),
        ),
        (
            b(ms(1)).start_delay(Duration::MAX),
            Error::StartDelayTooLong(Duration::MAX),
        ),
    ];
    for (builder, expected) in cases {
        assert_eq!(builder.build().unwrap_err(), expected);
    }
    assert_eq!(
        Error::IntervalTooLong(Duration::MAX).to_string(),
        format!(
            "interval {:?} is longer than the longest supported interval of u64::MAX µs",
            Duration::MAX
        )
    );
    assert_eq!(
        Error::IntervalTooShort(Duration::from_nanos(999)).to_string(),
        "interval 999ns is shorter than the 1µs resolution of the timer"
    );
    assert_eq!(
        Error::StartDelayTooLong(Duration::MAX).to_string(),
        format!(
            "start delay {:?} is longer than the longest supported delay of u64::MAX µs",
            Duration::MAX
        )
    );
    assert_eq!(
        Error::NoRuntime.to_string(),
        "auto_start(true) needs a tokio runtime, but none is entered on this thread; \
         build inside the runtime or use auto_start(false)"
    );
    assert_eq!(
        Error::StartDelayWithoutAutoStart(ms(5)).to_string(),
        "start delay 5ms needs auto_start(true); a timer built with auto_start(false) starts \
         on its first reset() or poll, use reset_after(delay) instead"
    );
}

#[test]
fn building_with_auto_start_outside_a_runtime_is_an_error() {
    assert_eq!(Timer::builder(ms(1)).build().unwrap_err(), Error::NoRuntime);
}

#[test]
#[should_panic(expected = "interval 0ns is shorter than the 1µs resolution of the timer")]
fn periodic_panics_naming_a_zero_interval() {
    let _ = Timer::periodic(Duration::ZERO);
}

#[test]
#[should_panic(expected = "auto_start(true) needs a tokio runtime")]
fn timeout_panics_outside_a_runtime() {
    let _ = Timer::timeout(ms(1));
}

#[tokio::test(start_paused = true)]
async fn the_extreme_intervals_are_accepted() {
    let start = Instant::now();
    let mut fastest = Timer::periodic(us(1));
    let tick = next_tick(&mut fastest).await.unwrap();
    // Due at 1 µs; the paused clock's timer wheel wakes on the next millisecond.
    assert_eq!(offsets(start, tick), (1, 999));
    assert_eq!(fastest.interval(), us(1));

    let slowest = Timer::periodic(us(u64::MAX - 1));
    assert_eq!(slowest.interval(), us(u64::MAX - 1));
    let never = Timer::periodic(us(u64::MAX));
    assert_eq!(
        never.deadline(),
        None,
        "u64::MAX µs is the end of the time line"
    );
}

// --- traits --------------------------------------------------------------------------

#[test]
fn timer_and_friends_implement_the_expected_traits() {
    fn send_sync_unpin_debug<T: Send + Sync + Unpin + std::fmt::Debug>() {}
    fn copy_eq<T: Copy + PartialEq + std::fmt::Debug>() {}
    fn policy<T: MissedTickPolicy + Clone + Default>() {}
    send_sync_unpin_debug::<Timer>();
    send_sync_unpin_debug::<TimerBuilder>();
    send_sync_unpin_debug::<NextTick<'static>>();
    send_sync_unpin_debug::<Error>();
    copy_eq::<Tick>();
    policy::<TriggerAllMissed>();
    policy::<SkipMissedAndResync>();
    policy::<SkipMissedAndDrift>();
    fn error<T: std::error::Error + Send + Sync + 'static>() {}
    error::<Error>();
}

#[tokio::test(start_paused = true)]
async fn debug_output_names_interval_policy_and_state() {
    let mut timer = Timer::builder(ms(5)).auto_start(false).build().unwrap();
    assert_eq!(
        format!("{timer:?}"),
        "Timer { interval: 5ms, policy: TriggerAllMissed, state: not started, delivered: 0, \
         skipped: 0, max_drift: 0ns }"
    );
    timer.stop();
    assert_eq!(
        format!("{timer:?}"),
        "Timer { interval: 5ms, policy: TriggerAllMissed, state: stopped, delivered: 0, \
         skipped: 0, max_drift: 0ns }"
    );
}
