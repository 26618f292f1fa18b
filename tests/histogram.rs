//! Drift histograms (`record_drift`) of a timer and of a set, under the paused clock with
//! exact values; off by default, and refused on a set's entry.

use kadenz_testkit as common;

use std::time::Duration;

use common::ms;
use kadenz::{DriftHistogram, Error, Timer, TimerSet};
use tokio::time::advance;

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// A stall of 11 intervals, then a burst of `TriggerAllMissed` ticks: drifts of 10, 9,
/// ..., 0 ms, then ticks on time. (Whole milliseconds: the wheel's slots.)
#[tokio::test(start_paused = true)]
async fn a_timer_counts_every_delivered_tick() {
    let mut timer = Timer::builder(ms(1)).record_drift(true).build().unwrap();
    advance(ms(11)).await;
    for _ in 0..11 {
        timer.tick().await.unwrap();
    }
    for _ in 0..9 {
        timer.tick().await.unwrap(); // on time: 12, 13, ... ms
    }
    let drifts: &DriftHistogram = timer.drift_histogram().unwrap();
    assert_eq!(drifts.count(), 20);
    assert_eq!(drifts.count(), timer.stats().delivered());
    assert_eq!(drifts.max(), timer.stats().max_drift());
    assert_eq!(drifts.max(), ms(10));
    // Ten zeros, then 1, 2, ..., 10 ms: the 10th smallest is 0, the 15th 5 ms (bucket
    // 4,608-5,119 µs), the 20th 10 ms (its bucket's end capped at the max).
    assert_eq!(drifts.p50(), Duration::ZERO);
    assert_eq!(drifts.quantile(0.75), us(5_119));
    assert_eq!(drifts.p99(), ms(10));
    let buckets: Vec<_> = drifts.buckets().collect();
    assert_eq!(buckets.len(), 11);
    assert_eq!(buckets[0], (Duration::ZERO, Duration::ZERO, 10));
    assert_eq!(buckets[1], (us(960), us(1_023), 1));
    assert_eq!(buckets[10], (us(9_216), us(10_239), 1));
    assert_eq!(
        format!("{drifts:?}"),
        "DriftHistogram { count: 20, p50: 0ns, p99: 10ms, max: 10ms }"
    );
}

#[tokio::test(start_paused = true)]
async fn a_set_counts_the_ticks_of_all_its_entries() {
    let mut set = TimerSet::new().record_drift(true);
    set.insert("a", Timer::builder(ms(10))).unwrap();
    set.insert("b", Timer::builder(ms(25))).unwrap();
    advance(ms(30)).await;
    // a at 10, 20, 30 ms (20, 10, 0 ms late), b at 25 ms (5 ms late).
    for _ in 0..4 {
        set.next().await;
    }
    let drifts = set.drift_histogram().unwrap();
    assert_eq!(drifts.count(), 4);
    assert_eq!(drifts.max(), ms(20));
    assert_eq!(drifts.p50(), us(5_119)); // 5 ms: 4,608-5,119 µs
    assert_eq!(set.stats().delivered(), 4);
}

#[tokio::test(start_paused = true)]
async fn off_by_default_and_refused_on_an_entry() {
    let mut timer = Timer::periodic(ms(1));
    timer.tick().await;
    assert!(timer.drift_histogram().is_none());
    let mut set = TimerSet::new();
    assert!(set.drift_histogram().is_none());
    assert_eq!(
        set.insert(1, Timer::builder(ms(1)).record_drift(true)),
        Err(Error::ConflictingOptions {
            option: "record_drift(true) on an entry",
            conflicts_with: "a TimerSet (the set keeps one histogram: TimerSet::record_drift)",
        })
    );
    // `record_drift(false)` takes it away again.
    let set = TimerSet::<u8>::new().record_drift(true).record_drift(false);
    assert!(set.drift_histogram().is_none());
}

/// With jitter, the histogram counts the lateness after the jittered instant.
#[tokio::test(start_paused = true)]
async fn with_jitter_it_counts_lateness_not_the_offset() {
    let mut timer = Timer::builder(ms(100))
        .jitter(ms(50))
        .jitter_seed(9)
        .record_drift(true)
        .build()
        .unwrap();
    for _ in 0..50 {
        timer.tick().await;
    }
    let drifts = timer.drift_histogram().unwrap();
    assert_eq!(drifts.count(), 50);
    // Only the wheel's millisecond: never the offsets of up to 50 ms.
    assert!(drifts.max() < ms(1), "{drifts:?}");
}
