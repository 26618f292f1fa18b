//! `TimerHandle`: one timer steered from many tasks and threads. Under the paused clock
//! with exact values; on a multi-thread runtime with invariants that hold however the
//! machine is loaded.

use kadenz_testkit as common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{assert_send_sync_clone, ms, offsets, poll_once};
use kadenz::{Timer, TimerHandle};
use tokio::time::{advance, sleep, Instant};

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
    assert!(poll_once(&mut timer).is_pending());
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
    let runtime = common::multi_thread_runtime();
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

/// The watchdog loop of the `Timer::timeout` docs, with `wait_tick`: a channel of readings
/// and the watchdog in one `select!`; `stop` and `reset` come from `pause`, which gets a
/// handle. Returns the instants (ms after the start) at which the watchdog tripped, until
/// `end` ms after the start.
async fn watchdog_trips(
    mut watchdog: Timer,
    mut readings: tokio::sync::mpsc::Receiver<u32>,
    end: u64,
) -> Vec<u64> {
    let start = Instant::now();
    let stop = sleep(ms(end));
    tokio::pin!(stop);
    let mut trips = Vec::new();
    loop {
        tokio::select! {
            biased;
            Some(_) = readings.recv() => watchdog.reset(),
            tick = watchdog.wait_tick() => {
                assert_eq!(tick.drift(), Duration::ZERO);
                assert_eq!(tick.scheduled(), Instant::now());
                trips.push((tick.scheduled() - start).as_millis() as u64);
            }
            () = &mut stop => break,
        }
    }
    trips
}

/// The watchdog of the README's `select!` loop, stopped at 50 ms and restarted at 550 ms
/// through a handle, then 1 s of silence on the channel: it trips every 100 ms from
/// 650 ms. (With `tick()`, whose `None` disables the branch, it never tripped again.)
#[tokio::test(start_paused = true)]
async fn a_watchdog_stopped_and_restarted_through_a_handle_trips_again() {
    let mut watchdog = Timer::timeout(ms(100));
    let handle = watchdog.handle();
    let (_tx, rx) = tokio::sync::mpsc::channel::<u32>(8);
    let start = Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep_until(start + ms(50)).await;
        handle.stop();
        tokio::time::sleep_until(start + ms(550)).await;
        handle.reset();
    });
    let trips = watchdog_trips(watchdog, rx, 1_551).await;
    assert_eq!(trips, (0..10).map(|k| 650 + 100 * k).collect::<Vec<_>>());
}

/// The owner stops the watchdog itself (a reading says "maintenance"), and a handle
/// restarts it: the waiting loop trips again, one interval after the restart.
#[tokio::test(start_paused = true)]
async fn a_watchdog_stopped_by_its_owner_and_restarted_by_a_handle_trips_again() {
    let mut watchdog = Timer::timeout(ms(100));
    let handle = watchdog.handle();
    let start = Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep_until(start + ms(400)).await;
        handle.reset();
    });
    // The owner stops it at 30 ms, then waits through the stop.
    sleep(ms(30)).await;
    watchdog.stop();
    let tick = watchdog.wait_tick().await;
    assert_eq!(offsets(start, tick), (500_000, 0));
    assert_eq!(Instant::now(), start + ms(500));
    assert_eq!(watchdog.stats().delivered(), 1);
}

/// While stopped, `wait_tick` is polled once and then not again until the restart: no
/// spinning, whatever else the task does.
#[tokio::test(start_paused = true)]
async fn waiting_through_a_stop_does_not_spin() {
    let mut watchdog = Timer::timeout(ms(100));
    let handle = watchdog.handle();
    watchdog.stop();
    let start = Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep_until(start + ms(500)).await;
        handle.reset();
    });
    let mut polls = 0u32;
    let tick = std::future::poll_fn(|cx| {
        polls += 1;
        watchdog.poll_wait_tick(cx)
    })
    .await;
    assert_eq!(offsets(start, tick), (600_000, 0));
    // The first poll (stopped), the wake-up by the reset (waiting on the wheel), the
    // wheel's wake-up (the tick).
    assert_eq!(polls, 3);
}

/// A timer without handles stopped by its owner: `wait_tick` stays pending (nothing can
/// restart it while the owner waits), and ticks once the owner restarts it in another
/// branch of the loop.
#[tokio::test(start_paused = true)]
async fn waiting_through_a_stop_without_handles_resumes_after_the_owners_restart() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(100));
    timer.stop();
    let restart = sleep(ms(250));
    tokio::pin!(restart);
    let mut restarted = false;
    let tick = loop {
        tokio::select! {
            () = &mut restart, if !restarted => {
                restarted = true;
                timer.reset();
            }
            tick = timer.wait_tick() => break tick,
        }
    };
    assert_eq!(offsets(start, tick), (350_000, 0));
}

/// The scenario of the first test on a multi-thread runtime (whose clock cannot be
/// paused), stopped by a handle and by the owner, restarted by a handle from another
/// thread: trips come after each restart, within bounds however the machine is loaded.
#[test]
fn a_watchdog_restarted_through_a_handle_trips_on_a_multi_thread_runtime() {
    const INTERVAL: Duration = Duration::from_millis(20);
    let runtime = common::multi_thread_runtime();
    runtime.block_on(async {
        let mut watchdog = Timer::timeout(INTERVAL);
        let handle = watchdog.handle();
        let (trips_tx, mut trips) = tokio::sync::mpsc::unbounded_channel();
        let (stop_tx, mut owner_stops) = tokio::sync::mpsc::unbounded_channel::<()>();
        let owner = tokio::spawn(async move {
            loop {
                tokio::select! {
                    biased;
                    message = owner_stops.recv() => match message {
                        Some(()) => watchdog.stop(),
                        None => break,
                    },
                    tick = watchdog.wait_tick() => trips_tx.send(tick.scheduled()).unwrap(),
                }
            }
        });
        let patience = Duration::from_secs(30);
        for round in 0..2 {
            // Tripping: at least one trip comes.
            tokio::time::timeout(patience, trips.recv())
                .await
                .expect("the running watchdog trips")
                .unwrap();
            if round == 0 {
                handle.stop();
            } else {
                stop_tx.send(()).unwrap();
                while handle.is_running() {
                    tokio::task::yield_now().await;
                }
            }
            let stopped = Instant::now();
            sleep(INTERVAL * 3).await;
            let restarted = Instant::now();
            handle.reset();
            // Trips delivered before the stop took effect may still be on their way (and
            // one poll that began before the stop may deliver a tick due just after it);
            // after them, the first trip is the restarted watchdog's.
            let mut after_the_stop = 0;
            loop {
                let trip = tokio::time::timeout(patience, trips.recv())
                    .await
                    .expect("a watchdog restarted through a handle trips again")
                    .unwrap();
                if trip >= restarted + INTERVAL {
                    break;
                }
                assert!(trip < restarted, "a stopped watchdog does not trip");
                after_the_stop += usize::from(trip > stopped);
                assert!(after_the_stop <= 1, "a stopped watchdog does not trip");
            }
        }
        drop(stop_tx);
        tokio::time::timeout(patience, owner)
            .await
            .expect("the owner's loop ends")
            .unwrap();
    });
}

/// A handle's `deadline` is the timer's, at every step: after ticks (which the timer's
/// task delivers without a command), with each kind of command waiting, and after they
/// are applied; `name` is the builder's.
#[tokio::test(start_paused = true)]
async fn a_handle_sees_the_deadline_through_ticks_and_commands() {
    let start = Instant::now();
    let mut timer = Timer::builder(ms(100)).name("meter").build().unwrap();
    let handle = timer.handle();
    assert_eq!(handle.name(), Some("meter"));
    assert_eq!(Timer::periodic(ms(1)).handle().name(), None);
    let same = |timer: &Timer, handle: &TimerHandle, expected: Option<u64>| {
        assert_eq!(handle.deadline(), expected.map(|at| start + ms(at)));
        assert_eq!(timer.deadline(), handle.deadline());
    };
    same(&timer, &handle, Some(100));
    timer.tick().await.unwrap();
    same(&timer, &handle, Some(200));
    // Late ticks in a burst (TriggerAllMissed): each moves the deadline by one interval.
    advance(ms(250)).await; // at 350 ms
    timer.tick().await.unwrap();
    same(&timer, &handle, Some(300));
    timer.tick().await.unwrap();
    same(&timer, &handle, Some(400));
    handle.set_interval(ms(40)).unwrap(); // waiting: counted from the tick at 300 ms
    same(&timer, &handle, Some(340));
    handle.reset_at(start + ms(360));
    same(&timer, &handle, Some(360));
    handle.stop();
    same(&timer, &handle, None);
    handle.reset(); // at 350 ms, with the new interval
    same(&timer, &handle, Some(390));
    assert_eq!(timer.tick().await.unwrap().scheduled(), start + ms(390));
    same(&timer, &handle, Some(430));
    timer.stop();
    same(&timer, &handle, None);
}
