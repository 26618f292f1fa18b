//! `TimerHandle`: one timer steered from many tasks and threads. Under the paused clock
//! with exact values; on a multi-thread runtime with invariants that hold however the
//! machine is loaded.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{ms, noop_waker, offsets};
use kadenz::{Timer, TimerHandle};
use tokio::time::{advance, sleep, Instant};

fn assert_send_sync_clone<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}

#[test]
fn a_handle_is_send_sync_clone_and_debug() {
    assert_send_sync_clone::<TimerHandle>();
}

#[tokio::test(start_paused = true)]
async fn kicks_from_many_tasks_hold_off_the_watchdog_until_they_stop() {
    let start = Instant::now();
    let mut watchdog = Timer::timeout(ms(100));
    // Five readers, each kicking every 30 + 7·k ms, for 400 ms.
    for k in 0..5u64 {
        let kick = watchdog.handle();
        tokio::spawn(async move {
            let period = ms(30 + 7 * k);
            while Instant::now() + period <= start + ms(400) {
                sleep(period).await;
                kick.reset();
            }
        });
    }
    let tick = watchdog.tick().await.unwrap();
    // Each reader's last kick is its last multiple of its period up to 400 ms; the
    // latest is reader 2's at 9 × 44 = 396 ms, so the watchdog trips at 496 ms.
    let last_kick = (0..5u64)
        .map(|k| {
            let period = 30 + 7 * k;
            (400 / period) * period
        })
        .max()
        .unwrap();
    assert_eq!(last_kick, 396);
    assert_eq!(offsets(start, tick), ((last_kick + 100) * 1000, 0));
    assert_eq!(watchdog.stats().delivered(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_pending_tick_sees_a_stop_at_once() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(100));
    let handle = timer.handle();
    tokio::spawn(async move {
        sleep(ms(30)).await;
        handle.stop();
    });
    assert_eq!(timer.tick().await, None);
    assert_eq!(
        Instant::now(),
        start + ms(30),
        "woken by the stop, not the wheel"
    );
    assert!(!timer.is_running());
}

#[tokio::test(start_paused = true)]
async fn a_pending_tick_sees_an_earlier_reset_at_once() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(100));
    let handle = timer.handle();
    tokio::spawn(async move {
        sleep(ms(20)).await;
        handle.reset_at(start + ms(50));
        sleep(ms(40)).await; // at 60
        handle.reset_immediately();
    });
    assert_eq!(offsets(start, timer.tick().await.unwrap()), (50_000, 0));
    assert_eq!(offsets(start, timer.tick().await.unwrap()), (60_000, 0));
    assert_eq!(offsets(start, timer.tick().await.unwrap()), (160_000, 0));
}

#[tokio::test(start_paused = true)]
async fn a_later_reset_never_delivers_the_old_deadline() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(100));
    let handle = timer.handle();
    tokio::spawn(async move {
        sleep(ms(50)).await;
        handle.reset_at(start + ms(250));
    });
    assert_eq!(offsets(start, timer.tick().await.unwrap()), (250_000, 0));
}

#[tokio::test(start_paused = true)]
async fn a_pending_tick_sees_a_shorter_interval_at_once() {
    let start = Instant::now();
    let mut timer = Timer::periodic(Duration::from_secs(1));
    let handle = timer.handle();
    tokio::spawn(async move {
        sleep(ms(100)).await;
        handle.set_interval(ms(200)).unwrap();
    });
    assert_eq!(offsets(start, timer.tick().await.unwrap()), (200_000, 0));
    assert_eq!(offsets(start, timer.tick().await.unwrap()), (400_000, 0));
    assert_eq!(timer.interval(), ms(200));
}

#[tokio::test(start_paused = true)]
async fn a_handle_starts_a_stopped_timer() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(10));
    let handle = timer.handle();
    timer.stop();
    assert!(!handle.is_running());
    assert_eq!(timer.tick().await, None);
    advance(ms(5)).await;
    handle.reset();
    assert!(handle.is_running());
    assert_eq!(offsets(start, timer.tick().await.unwrap()), (15_000, 0));
}

/// Found by the model test: reading the timer (`deadline`, `is_running`, `interval`)
/// once consumed the handle's command, so the next read no longer saw it.
#[tokio::test(start_paused = true)]
async fn every_view_sees_a_waiting_command_until_it_is_applied() {
    let start = Instant::now();
    let mut timer = Timer::builder(ms(100)).auto_start(false).build().unwrap();
    let handle = timer.handle();
    handle.set_interval(ms(40)).unwrap();
    handle.reset_after(ms(5));
    for _ in 0..3 {
        assert!(timer.is_running());
        assert_eq!(timer.deadline(), Some(start + ms(45)));
        assert_eq!(timer.interval(), ms(40));
        assert_eq!(handle.interval(), ms(40));
        assert!(handle.is_running());
    }
    assert_eq!(offsets(start, timer.tick().await.unwrap()), (45_000, 0));
}

#[tokio::test(start_paused = true)]
async fn the_last_command_wins() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(100));
    let (a, b) = (timer.handle(), timer.handle());
    a.stop();
    b.reset_at(start + ms(7));
    assert_eq!(offsets(start, timer.tick().await.unwrap()), (7_000, 0));
    b.reset_at(start + ms(70));
    a.stop();
    assert_eq!(timer.tick().await, None);
    // The timer's own call after a handle's: the timer's wins.
    a.reset_at(start + ms(80));
    timer.reset_at(start + ms(90));
    assert_eq!(offsets(start, timer.tick().await.unwrap()), (90_000, 0));
}

#[tokio::test(start_paused = true)]
async fn a_handle_outlives_its_timer_harmlessly() {
    let mut timer = Timer::periodic(ms(10));
    let handle = timer.handle();
    drop(timer);
    handle.reset();
    handle.stop();
    assert!(handle.set_interval(ms(5)).is_ok());
    assert!(!handle.is_running());
}

#[tokio::test(start_paused = true)]
async fn a_handle_wakes_a_timer_waiting_past_the_end_of_its_time_line() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(10));
    timer.reset_after(Duration::MAX); // never
    let handle = timer.handle();
    tokio::spawn(async move {
        sleep(ms(3)).await;
        handle.reset();
    });
    assert_eq!(offsets(start, timer.tick().await.unwrap()), (13_000, 0));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_tick_then_a_command_then_a_new_tick() {
    // A tick() dropped after registering (a lost select! branch), a command, and a new
    // tick() with another waker: the command is seen, nothing is lost.
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(100));
    let handle = timer.handle();
    let waker = noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(timer.poll_tick(&mut cx).is_pending());
    handle.reset_at(start + ms(10));
    assert_eq!(offsets(start, timer.tick().await.unwrap()), (10_000, 0));
}

/// Eight threads kick a 20 ms watchdog 2,000 times each while its task waits on another
/// thread; then one last kick. What must hold whatever the scheduling: the watchdog
/// trips after the last kick, due one interval after it, and a stop from a handle ends
/// its wait.
#[test]
fn many_kickers_on_a_multi_thread_runtime() {
    const INTERVAL: Duration = Duration::from_millis(20);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut watchdog = Timer::timeout(INTERVAL);
        let handle = watchdog.handle();
        let ticks = Arc::new(Mutex::new(Vec::new()));
        let owner = tokio::spawn({
            let ticks = ticks.clone();
            async move {
                while let Some(tick) = watchdog.tick().await {
                    ticks.lock().unwrap().push(tick);
                }
                watchdog
            }
        });
        let kickers: Vec<_> = (0..8)
            .map(|_| {
                let kick = handle.clone();
                tokio::spawn(async move {
                    for n in 0..2_000u32 {
                        kick.reset();
                        if n % 64 == 0 {
                            tokio::task::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        for kicker in kickers {
            kicker.await.unwrap();
        }
        let before = Instant::now();
        handle.reset();
        let after = Instant::now();
        // The trip after the last kick: the first tick due at or after `before + INTERVAL`.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let trip = loop {
            let found = ticks
                .lock()
                .unwrap()
                .iter()
                .copied()
                .find(|tick| tick.scheduled() >= before + INTERVAL);
            if let Some(trip) = found {
                break trip;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no trip within 30 s of the last kick: a lost wake-up or a lost reset"
            );
            sleep(Duration::from_millis(5)).await;
        };
        assert!(
            trip.scheduled() <= after + INTERVAL,
            "the trip is due one interval after the last kick, not later"
        );
        handle.stop();
        let watchdog = tokio::time::timeout(Duration::from_secs(30), owner)
            .await
            .expect("a stop from a handle ends the owner's wait")
            .unwrap();
        assert!(!watchdog.is_running());
        let delivered = ticks.lock().unwrap().len() as u64;
        assert_eq!(watchdog.stats().delivered(), delivered);
    });
}
