//! The runtime thread blocked for thousands of intervals, on the real clock: each policy's
//! recovery follows its formula tick by tick, and a catch-up burst of a million ticks lets
//! the other tasks run, on both runtime flavours.
//!
//! The real clock decides how many ticks are overdue, never whether a test passes: every
//! assertion relates what a tick reports to what its policy says it must be.

use kadenz_testkit as common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kadenz::policy::{MissedTickPolicy, SkipMissedAndDrift, SkipMissedAndResync, TriggerAllMissed};
use kadenz::{Tick, Timer};
use tokio::runtime::Runtime;
use tokio::time::Instant;

use common::{current_thread_runtime, next_tick_within, TickCap, REAL_PATIENCE};

const INTERVAL_US: u64 = 100;
const STALL: Duration = Duration::from_millis(300); // 3,000 intervals

/// A multi-thread runtime with one worker, so that the timer's task and the others share
/// a thread, as on the current-thread runtime.
fn multi_thread() -> Runtime {
    common::multi_thread_runtime_with(1)
}

fn micros(origin: Instant, instant: Instant) -> u64 {
    instant.duration_since(origin).as_micros() as u64
}

/// Blocks the runtime thread for `STALL` after the first tick, then receives ticks until
/// the timer has caught up, checking each against `policy`'s formula.
async fn stall_and_recover(policy: impl MissedTickPolicy + Clone) -> Vec<Tick> {
    let interval = Duration::from_micros(INTERVAL_US);
    let mut timer = Timer::new(interval, policy.clone());
    let origin = timer.deadline().unwrap() - interval;
    let first = next_tick_within(&mut timer, REAL_PATIENCE).await.unwrap();
    std::thread::sleep(STALL); // deliberately blocking the runtime
    let stall_end = Instant::now();

    // A tick per interval for 100 s, far longer than the recovery takes on a loaded
    // machine: only a timer that fires without end can deliver that many.
    let mut cap = TickCap::new(1_000_000, "before 5 ms after the stall");
    let mut ticks = vec![first];
    while ticks.last().unwrap().fired_at() < stall_end + Duration::from_millis(5) {
        let previous = *ticks.last().unwrap();
        let tick = next_tick_within(&mut timer, REAL_PATIENCE).await.unwrap();
        cap.count();
        // What the policy said after the previous tick is when this one was due.
        let (scheduled, now) = (
            micros(origin, previous.scheduled()),
            micros(origin, previous.fired_at()),
        );
        let due = policy.calculate_next_tick_time(INTERVAL_US, scheduled, now);
        assert_eq!(
            micros(origin, tick.scheduled()),
            due,
            "tick {}",
            ticks.len()
        );
        assert_eq!(tick.fired_at(), tick.scheduled() + tick.drift());
        ticks.push(tick);
    }
    ticks
}

#[test]
fn trigger_all_missed_recovers_every_tick() {
    for runtime in [current_thread_runtime(), multi_thread()] {
        let ticks = runtime.block_on(stall_and_recover(TriggerAllMissed));
        // Not one tick lost: consecutive, and the stall's ticks came late in a burst.
        let late = ticks
            .iter()
            .filter(|t| t.drift() >= Duration::from_millis(100))
            .count();
        assert!(late >= 1_000, "{late} ticks were over 100 ms late");
        for pair in ticks.windows(2) {
            assert_eq!(
                pair[1].scheduled() - pair[0].scheduled(),
                Duration::from_micros(INTERVAL_US)
            );
        }
    }
}

#[test]
fn skip_missed_and_resync_skips_the_stall_and_keeps_the_grid() {
    for runtime in [current_thread_runtime(), multi_thread()] {
        let ticks = runtime.block_on(stall_and_recover(SkipMissedAndResync));
        assert!(ticks[1].drift() >= STALL - Duration::from_micros(INTERVAL_US));
        let skipped = ticks[2].scheduled() - ticks[1].scheduled();
        assert!(
            skipped >= STALL,
            "the stall's ticks were skipped: {skipped:?}"
        );
    }
}

#[test]
fn skip_missed_and_drift_skips_the_stall_and_moves_the_grid() {
    for runtime in [current_thread_runtime(), multi_thread()] {
        let ticks = runtime.block_on(stall_and_recover(SkipMissedAndDrift::default()));
        assert!(ticks[1].drift() >= STALL - Duration::from_micros(INTERVAL_US));
        assert_eq!(
            ticks[2].scheduled(),
            ticks[1].fired_at() + Duration::from_micros(INTERVAL_US)
        );
    }
}

/// A million overdue ticks, consumed by one task while another counts how often it runs.
async fn million_tick_burst() {
    const TICKS: u64 = 1_000_000;
    let delivered = Arc::new(AtomicU64::new(0));
    let seen_mid_burst = Arc::new(AtomicU64::new(0));
    let watcher = tokio::spawn({
        let (delivered, seen) = (delivered.clone(), seen_mid_burst.clone());
        async move {
            // It runs about once per 128 ticks (the consumer's cooperative budget); a stalled
            // burst would keep it spinning: bounded.
            for spins in 0u64.. {
                let n = delivered.load(Ordering::Relaxed);
                assert!(
                    n >= TICKS || spins < 1_000_000,
                    "the watcher ran {spins} times while only {n} of {TICKS} ticks came: the burst stalled"
                );
                match n {
                    TICKS.. => break,
                    0 => {}
                    _ => _ = seen.fetch_add(1, Ordering::Relaxed),
                }
                tokio::task::yield_now().await;
            }
        }
    });
    let consumer = tokio::spawn({
        let delivered = delivered.clone();
        async move {
            let mut timer = Timer::periodic(Duration::from_micros(1));
            let origin = timer.deadline().unwrap() - Duration::from_micros(1);
            // At least a million ticks are overdue after a second; a blocked thread.
            std::thread::sleep(Duration::from_secs(1));
            for k in 1..=TICKS {
                let tick = next_tick_within(&mut timer, REAL_PATIENCE).await.unwrap();
                assert_eq!(tick.scheduled(), origin + Duration::from_micros(k));
                delivered.store(k, Ordering::Relaxed);
            }
        }
    });
    consumer.await.unwrap();
    watcher.await.unwrap();
    assert!(
        seen_mid_burst.load(Ordering::Relaxed) > 0,
        "the watcher ran during the burst"
    );
}

#[test]
fn a_million_tick_burst_does_not_starve_the_current_thread_runtime() {
    current_thread_runtime().block_on(million_tick_burst());
}

#[test]
fn a_million_tick_burst_does_not_starve_the_multi_thread_runtime() {
    multi_thread().block_on(million_tick_burst());
}
