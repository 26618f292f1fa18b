//! Precise timers on runtimes with tokio's IO driver are woken by the runtime's own
//! reactor: one timerfd per worker, no thread of kadenz's; the timerfds go with their
//! runtime, whoever still holds a timer; a runtime without the IO driver falls back to
//! kadenz's thread, without a panic. A test binary of its own: it counts the process's
//! timerfds and threads, which other tests would change. Real clock, exact schedules;
//! lateness is measured by the figures tool, never here.
#![cfg(all(feature = "precise", target_os = "linux"))]

use std::sync::Arc;
use std::time::Duration;

use kadenz::{Timer, TimerSet};
use tokio::time::Instant;

/// The timerfds the process holds.
fn timerfds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().contains("timerfd"))
        .count()
}

/// The threads of kadenz's fallback waker.
fn kadenz_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "kadenz-precise")
        .count()
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// `n` precise timers in tasks, each with its own period, `ticks` ticks each on its grid.
async fn ticks_on_schedule(n: u64, ticks: u32) {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            tokio::spawn(async move {
                let interval = us(500 + (i % 13) * 100);
                let mut timer = Timer::builder(interval).precise(true).build().unwrap();
                let origin = timer.deadline().unwrap() - interval;
                for k in 1..=ticks {
                    let tick = timer.tick().await.unwrap();
                    assert_eq!(tick.scheduled(), origin + interval * k);
                    assert!(tick.fired_at() <= Instant::now());
                }
                assert!(timer.is_precise());
            })
        })
        .collect();
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("every timer ticks")
            .unwrap();
    }
}

/// A precise set's entries on their grids, in due order.
async fn set_on_schedule() {
    let mut set = TimerSet::new().precise(true);
    let periods = [us(700), us(1_100), us(2_300)];
    for (key, period) in periods.iter().enumerate() {
        set.insert(key, Timer::builder(*period).precise(true))
            .unwrap();
    }
    let origins: Vec<Instant> = (0..3)
        .map(|key| set.deadline(&key).unwrap() - periods[key])
        .collect();
    let mut counts = [0u32; 3];
    for _ in 0..100 {
        let (key, tick) = tokio::time::timeout(Duration::from_secs(60), set.next())
            .await
            .expect("the set ticks");
        counts[key] += 1;
        assert_eq!(tick.scheduled(), origins[key] + periods[key] * counts[key]);
    }
}

/// Holds a runtime's scheduler handle alive or not: see `tests/precise.rs`.
fn with_token(mut builder: tokio::runtime::Builder, token: &Arc<()>) -> tokio::runtime::Runtime {
    let held = token.clone();
    builder
        .enable_all()
        .on_thread_park(move || {
            let _ = &held;
        })
        .build()
        .unwrap()
}

#[test]
fn the_reactor_wakes_precise_timers_and_a_runtime_without_io_falls_back() {
    assert_eq!((timerfds(), kadenz_threads()), (0, 0));

    // A multi-thread runtime with IO: one timerfd per worker, no thread of kadenz's.
    let token = Arc::new(());
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(2);
    let multi = with_token(builder, &token);
    multi.block_on(async {
        ticks_on_schedule(300, 20).await;
        set_on_schedule().await;
    });
    assert_eq!(timerfds(), 2, "one timerfd per worker");
    assert_eq!(kadenz_threads(), 0, "the reactor wakes them, not a thread");

    // A current-thread runtime with IO: one timerfd.
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut kept = current.block_on(async {
        ticks_on_schedule(50, 20).await;
        set_on_schedule().await;
        // A timer that keeps waiting on this runtime while it is dropped.
        let mut timer = Timer::builder(Duration::from_secs(3_600))
            .precise(true)
            .build()
            .unwrap();
        let waker = std::task::Waker::from(Arc::new(Nobody));
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
            ticks_on_schedule(20, 10).await;
            set_on_schedule().await;
        });
    }
    assert_eq!(kadenz_threads(), 1, "the fallback thread");
}

struct Nobody;

impl std::task::Wake for Nobody {
    fn wake(self: Arc<Self>) {}
}
