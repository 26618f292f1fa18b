//! Odd and hostile input: the extremes of the time line, start delays near the limit,
//! and custom policies that answer nonsense. Nothing may hang, wrap or panic unexpectedly.

use kadenz_testkit as common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::policies::StandStill;
use common::{next_tick, offsets, us};
use kadenz::policy::{MissedTickPolicy, SkipMissedAndDrift, SkipMissedAndResync, TriggerAllMissed};
use kadenz::Timer;
use tokio::time::{advance, Instant};

const MAX: u64 = u64::MAX;

#[tokio::test(start_paused = true)]
async fn a_one_microsecond_timer_catches_up_exactly() {
    let start = Instant::now();
    let mut timer = Timer::periodic(us(1));
    advance(us(5_000)).await;
    for k in 1..=5_000u64 {
        assert_eq!(
            offsets(start, next_tick(&mut timer).await.unwrap()),
            (k, 5_000 - k)
        );
    }
    // Caught up: the next is due at 5.001 ms; the idle paused clock wakes at 6 ms.
    assert_eq!(
        offsets(start, next_tick(&mut timer).await.unwrap()),
        (5_001, 999)
    );
}

#[tokio::test(start_paused = true)]
async fn a_timer_runs_until_its_time_line_saturates() {
    // Two ticks of half the time line each, then the schedule saturates: never again.
    let half = MAX / 2;
    let start = Instant::now();
    let mut timer = Timer::periodic(us(half));
    advance(us(half)).await;
    assert_eq!(
        offsets(start, next_tick(&mut timer).await.unwrap()),
        (half, 0)
    );
    assert_eq!(timer.deadline(), Some(start + us(2 * half)));
    advance(us(half + 7)).await;
    // Due at u64::MAX - 1 µs, received 7 µs later, past the time line's end: the policy
    // is told now = u64::MAX (the next test), but the drift is measured between instants.
    assert_eq!(
        offsets(start, next_tick(&mut timer).await.unwrap()),
        (2 * half, 7)
    );
    assert_eq!(
        timer.deadline(),
        None,
        "the next tick would be past the end of the time line"
    );
    assert!(timer.is_running());
    let never = tokio::time::timeout(Duration::from_secs(3600), timer.tick()).await;
    assert!(never.is_err());
    // A reset starts a fresh time line.
    let restart = Instant::now();
    timer.reset_after(us(10));
    assert_eq!(timer.deadline(), Some(restart + us(10 + half)));
}

/// Records what the timer tells it, and answers as `TriggerAllMissed`. Shared through an
/// `Arc` (itself a policy), so the test can read what it recorded.
#[derive(Debug, Default)]
struct Recording(Mutex<Vec<(u64, u64, u64)>>);

impl MissedTickPolicy for Recording {
    fn calculate_next_tick_time(&self, interval: u64, scheduled: u64, now: u64) -> u64 {
        self.0.lock().unwrap().push((interval, scheduled, now));
        scheduled.saturating_add(interval)
    }
}

#[tokio::test(start_paused = true)]
async fn past_the_end_of_the_time_line_the_policy_is_told_now_is_the_end() {
    let half = MAX / 2;
    let recording = Arc::new(Recording::default());
    let mut timer = Timer::new(us(half), recording.clone());
    advance(us(half + 3)).await;
    next_tick(&mut timer).await.unwrap();
    advance(us(half + 7)).await;
    next_tick(&mut timer).await.unwrap();
    assert_eq!(
        *recording.0.lock().unwrap(),
        [(half, half, half + 3), (half, 2 * half, MAX)],
        "2 * half + 10 µs saturates to u64::MAX"
    );
}

#[tokio::test(start_paused = true)]
async fn start_delays_near_the_limit_saturate_or_are_rejected() {
    let start = Instant::now();
    let timer = Timer::builder(us(10))
        .start_delay(us(MAX - 10))
        .build()
        .unwrap();
    assert_eq!(
        timer.deadline(),
        None,
        "delay + interval is u64::MAX µs: the end of the time line"
    );
    let timer = Timer::builder(us(10))
        .start_delay(us(MAX - 11))
        .build()
        .unwrap();
    assert_eq!(timer.deadline(), Some(start + us(MAX - 1)));
    let timer = Timer::builder(us(MAX - 1))
        .start_delay(us(MAX - 1))
        .build()
        .unwrap();
    assert_eq!(timer.deadline(), None, "saturated, not wrapped");
    assert!(Timer::builder(us(10))
        .start_delay(Duration::MAX)
        .build()
        .is_err());

    let mut timer = Timer::periodic(us(10));
    timer.reset_after(us(MAX));
    assert_eq!(timer.deadline(), None);
    timer.reset_after(us(MAX - 11));
    assert_eq!(timer.deadline(), Some(start + us(MAX - 1)));
}

#[tokio::test(start_paused = true)]
async fn builtin_policies_survive_the_largest_interval() {
    let start = Instant::now();
    for mut timer in [
        Timer::new(us(MAX - 1), TriggerAllMissed),
        Timer::new(us(MAX - 1), SkipMissedAndResync),
        Timer::new(us(MAX - 1), SkipMissedAndDrift::new(Duration::MAX)),
    ] {
        assert_eq!(timer.deadline(), Some(start + us(MAX - 1)));
        timer.reset_after(us(1));
        assert_eq!(timer.deadline(), None, "1 µs + (u64::MAX - 1) µs saturates");
    }
}

#[tokio::test(start_paused = true)]
async fn a_policy_answering_scheduled_repeats_the_tick_with_growing_drift() {
    let start = Instant::now();
    let mut timer = Timer::new(us(1000), StandStill);
    for k in 0..1_000u64 {
        assert_eq!(
            offsets(start, next_tick(&mut timer).await.unwrap()),
            (1000, k)
        );
        advance(us(1)).await;
    }
}

#[derive(Debug)]
struct Backwards;

impl MissedTickPolicy for Backwards {
    fn calculate_next_tick_time(&self, _: u64, scheduled: u64, _: u64) -> u64 {
        scheduled.saturating_sub(400)
    }
}

#[tokio::test(start_paused = true)]
async fn a_policy_walking_backwards_fires_at_once_down_to_the_start() {
    let start = Instant::now();
    let mut timer = Timer::new(us(1000), Backwards);
    for k in 0..5u64 {
        let due = 1000u64.saturating_sub(400 * k);
        assert_eq!(
            offsets(start, next_tick(&mut timer).await.unwrap()),
            (due, 1000 - due)
        );
    }
    assert_eq!(Instant::now(), start + us(1000), "all at once");
}
