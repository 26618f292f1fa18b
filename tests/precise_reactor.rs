//! Precise timers on runtimes with tokio's IO driver are woken by the runtime's own
//! reactor: one timerfd per worker, no thread of kadenz's; the timerfds go with their
//! runtime, whoever still holds a timer; a runtime without the IO driver falls back to
//! kadenz's thread, without a panic. A test binary of its own: it counts the process's
//! timerfds and threads, which other tests would change. Real clock, exact schedules;
//! lateness is measured by the figures tool, never here.
#![cfg(all(feature = "precise", target_os = "linux"))]

use kadenz_testkit as common;

use std::sync::Arc;
use std::time::Duration;

use common::{timerfds, us};
use kadenz::Timer;
use tokio::time::Instant;

/// The threads of kadenz's fallback waker.
fn kadenz_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "kadenz-precise")
        .count()
}

#[test]
fn the_reactor_wakes_precise_timers_and_a_runtime_without_io_falls_back() {
    assert_eq!((timerfds(), kadenz_threads()), (0, 0));

    // Under the paused clock, with the IO driver: the ticks of a default timer, and no
    // OS timer asked at all (no timerfd made, no thread started).
    let paused = |precise: bool| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(async {
                let start = Instant::now();
                let mut timer = Timer::builder(us(1_500)).precise(precise).build().unwrap();
                let mut ticks = Vec::new();
                for step in [0, 1_600, 300, 2_900] {
                    tokio::time::advance(us(step)).await;
                    let tick = timer.tick().await.unwrap();
                    ticks.push((tick.scheduled() - start, tick.fired_at() - start));
                }
                ticks
            })
    };
    assert_eq!(paused(true), paused(false));
    assert_eq!(
        (timerfds(), kadenz_threads()),
        (0, 0),
        "no OS timer while paused"
    );

    // A multi-thread runtime with IO: one timerfd per worker, no thread of kadenz's.
    let token = Arc::new(());
    let multi = common::runtime_with_token(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all(),
        &token,
    );
    multi.block_on(async {
        common::precise_timers_keep_their_schedules(300, 20).await;
        common::precise_set_keeps_every_schedule(100).await;
    });
    assert_eq!(timerfds(), 2, "one timerfd per worker");
    assert_eq!(kadenz_threads(), 0, "the reactor wakes them, not a thread");

    // A current-thread runtime with IO: one timerfd.
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut kept = current.block_on(async {
        common::precise_timers_keep_their_schedules(50, 20).await;
        common::precise_set_keeps_every_schedule(100).await;
        // A timer that keeps waiting on this runtime while it is dropped.
        let mut timer = Timer::builder(Duration::from_secs(3_600))
            .precise(true)
            .build()
            .unwrap();
        let waker = common::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(timer.poll_tick(&mut cx).is_pending());
        timer
    });
    assert_eq!(timerfds(), 3);
    assert_eq!(kadenz_threads(), 0);

    // A timer moved from one runtime with IO to another ticks there.
    multi.block_on(async {
        let start = Instant::now() + us(2_000);
        kept.reset_at(start);
        let tick = tokio::time::timeout(Duration::from_secs(30), kept.tick())
            .await
            .expect("woken on the new runtime")
            .unwrap();
        assert_eq!(tick.scheduled(), start);
    });

    // Dropped runtimes take their timerfds and drivers with them, timers or not.
    drop(current);
    drop(multi);
    assert_eq!(timerfds(), 0, "a dropped runtime's timerfds are closed");
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "nothing holds the dropped runtime"
    );
    drop(kept);

    // A runtime without the IO driver: no panic, kadenz's thread serves its timers.
    for builder in [
        tokio::runtime::Builder::new_current_thread(),
        tokio::runtime::Builder::new_multi_thread(),
    ] {
        let mut builder = builder;
        let no_io = builder.enable_time().build().unwrap();
        no_io.block_on(async {
            common::precise_timers_keep_their_schedules(20, 10).await;
            common::precise_set_keeps_every_schedule(100).await;
        });
    }
    assert_eq!(kadenz_threads(), 1, "the fallback thread");
}
