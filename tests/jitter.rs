//! `TimerBuilder::jitter`: ticks spread by a seeded offset, under the paused clock with
//! exact values; the grid and the policy unchanged; the options' errors.

use kadenz_testkit as common;

use std::time::Duration;

use common::{ms, next_ticks, us};
use kadenz::policy::{SkipMissedAndDrift, SkipMissedAndResync};
use kadenz::{Error, Timer, TimerBuilder, TimerSet};
use tokio::time::{advance, Instant};

/// A 1 s timer with up to 100 ms of jitter, seeded with 7.
fn jittered() -> TimerBuilder {
    Timer::builder(ms(1_000)).jitter(ms(100)).jitter_seed(7)
}

/// The offsets of seed 7 (SplitMix64, whole microseconds below 100 ms), pinned: the
/// same ticks on every run and every machine. The wheel fires on whole milliseconds, so
/// each tick is received at the millisecond after its instant: its drift.
#[tokio::test(start_paused = true)]
async fn a_seed_gives_the_same_offsets_on_every_run() {
    let start = Instant::now();
    let (mut a, mut b) = (jittered().build().unwrap(), jittered().build().unwrap());
    let want = [
        (1_063_437, 563),
        (2_035_776, 224),
        (3_077_867, 133),
        (4_048_940, 60),
        (5_091_665, 335),
    ];
    assert_eq!(next_ticks(&mut a, start, 5, us(1)).await, want);
    // The second timer's ticks were due meanwhile: the same instants, received now.
    let late: Vec<u64> = next_ticks(&mut b, start, 5, us(1))
        .await
        .iter()
        .map(|t| t.0)
        .collect();
    assert_eq!(late, want.map(|t| t.0));
    // Drift is lateness after the jittered instant, never the offset itself.
    assert_eq!(a.stats().max_drift(), Duration::from_micros(563));
    // Another seed, other offsets.
    let mut c = Timer::builder(ms(1_000))
        .jitter(ms(100))
        .jitter_seed(8)
        .build()
        .unwrap();
    let start = Instant::now();
    assert_ne!(next_ticks(&mut c, start, 1, us(1)).await[0].0, 1_063_437);
}

/// The jitter does not move the grid or wake the policy: `SkipMissedAndDrift` with a
/// 5 ms tolerance (tokio's `Delay`) stays on its 1 s grid although the offsets reach
/// 500 ms; only the wheel's millisecond is drift, and it is forgiven.
#[tokio::test(start_paused = true)]
async fn the_grid_and_the_policy_do_not_see_the_jitter() {
    let start = Instant::now();
    let mut timer = Timer::builder(ms(1_000))
        .missed_tick_policy(SkipMissedAndDrift::new(ms(5)))
        .jitter(ms(500))
        .jitter_seed(1)
        .build()
        .unwrap();
    let mut dues = Vec::new();
    for n in 1..=20u64 {
        let tick = timer.tick().await.unwrap();
        let offset = tick.scheduled() - (start + ms(1_000 * n));
        assert!(offset < ms(500), "{offset:?}");
        assert!(tick.drift() < ms(1), "only the wheel's millisecond");
        assert_eq!((tick.missed(), tick.skipped()), (0, 0));
        dues.push(offset);
    }
    // Spread: the offsets differ.
    dues.sort();
    dues.dedup();
    assert!(dues.len() > 15, "{dues:?}");
    assert_eq!(timer.stats().skipped(), 0);
}

/// A stall: the late tick's drift and the policy's skips count from the jittered instant.
#[tokio::test(start_paused = true)]
async fn a_stall_counts_from_the_jittered_instant() {
    let start = Instant::now();
    let mut timer = Timer::builder(ms(1_000))
        .missed_tick_policy(SkipMissedAndResync)
        .jitter(ms(100))
        .jitter_seed(7)
        .build()
        .unwrap();
    advance(ms(3_500)).await;
    // Due at 1 s + 63.437 ms, received at 3.5 s; 2 s and 3 s are skipped.
    let tick = timer.tick().await.unwrap();
    assert_eq!(tick.scheduled() - start, Duration::from_micros(1_063_437));
    assert_eq!(tick.drift(), Duration::from_micros(2_436_563));
    assert_eq!((tick.missed(), tick.skipped()), (2, 2));
    // The next is on the grid at 4 s, plus its own offset.
    let next = timer.deadline().unwrap() - start;
    assert!(next >= ms(4_000) && next < ms(4_100), "{next:?}");
}

#[tokio::test(start_paused = true)]
async fn the_deadline_includes_the_offset_and_zero_is_no_jitter() {
    let start = Instant::now();
    let timer = jittered().build().unwrap();
    assert_eq!(
        timer.deadline(),
        Some(start + Duration::from_micros(1_063_437))
    );
    let plain = Timer::builder(ms(1_000))
        .jitter(Duration::ZERO)
        .jitter_seed(7)
        .build()
        .unwrap();
    assert_eq!(plain.deadline(), Some(start + ms(1_000)));
    // Sub-microsecond jitter is none too (whole microseconds).
    let tiny = Timer::builder(ms(1_000))
        .jitter(Duration::from_nanos(999))
        .build()
        .unwrap();
    assert_eq!(tiny.deadline(), Some(start + ms(1_000)));
}

/// An interval shorter than the jitter is refused, by the timer and by its handles; the
/// timer is left as it was.
#[tokio::test(start_paused = true)]
async fn an_interval_shorter_than_the_jitter_is_refused() {
    let start = Instant::now();
    let mut timer = jittered().build().unwrap();
    let refused = Err(Error::JitterTooLong {
        jitter: ms(100),
        interval: ms(99),
    });
    assert_eq!(timer.set_interval(ms(99)), refused);
    let handle = timer.handle();
    assert_eq!(handle.set_interval(ms(99)), refused);
    assert_eq!(timer.interval(), ms(1_000));
    assert_eq!(timer.set_interval(ms(100)), Ok(()));
    // The pending tick moved to 100 ms on the grid, plus its offset (now of 100 ms).
    let tick = timer.tick().await.unwrap();
    let offset = tick.scheduled() - (start + ms(100));
    assert!(offset < ms(100), "{offset:?}");
}

#[tokio::test(start_paused = true)]
async fn a_handle_reset_reaches_a_jittered_timer() {
    let start = Instant::now();
    let mut timer = jittered().build().unwrap();
    let handle = timer.handle();
    tokio::spawn(async move {
        tokio::time::sleep(ms(10)).await;
        handle.reset_at(start + ms(500));
    });
    let tick = timer.tick().await.unwrap();
    let offset = tick.scheduled() - (start + ms(500));
    assert!(offset < ms(100), "{offset:?}");
    assert!(tick.drift() < ms(1));
}

#[test]
fn a_jitter_longer_than_the_interval_is_an_error_and_a_set_refuses_one() {
    let err = Timer::builder(ms(100))
        .jitter(ms(101))
        .auto_start(false)
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        Error::JitterTooLong {
            jitter: ms(101),
            interval: ms(100)
        }
    );
    assert!(Timer::builder(ms(100))
        .jitter(ms(100))
        .auto_start(false)
        .build()
        .is_ok());
}

/// A set's entry with jitter fires at the instants a lone timer with the same seed does
/// (seed 7: the offsets pinned above), next to an entry without; and refuses an interval
/// shorter than its jitter, from the set and (counted as ignored) from a handle.
#[tokio::test(start_paused = true)]
async fn a_set_entry_jitters_as_a_lone_timer() {
    let start = Instant::now();
    let mut set = TimerSet::new();
    set.insert("jittered", jittered()).unwrap();
    set.insert("plain", Timer::builder(ms(1_000))).unwrap();
    assert_eq!(
        set.deadline("jittered"),
        Some(start + Duration::from_micros(1_063_437))
    );
    let mut seen = Vec::new();
    for _ in 0..6 {
        let (key, tick) = set.next().await;
        seen.push((
            key,
            tick.scheduled().duration_since(start).as_micros() as u64,
            tick.drift().as_micros() as u64,
        ));
    }
    assert_eq!(
        seen,
        [
            ("plain", 1_000_000, 0),
            ("jittered", 1_063_437, 563),
            ("plain", 2_000_000, 0),
            ("jittered", 2_035_776, 224),
            ("plain", 3_000_000, 0),
            ("jittered", 3_077_867, 133),
        ]
    );
    assert_eq!(
        set.set_interval("jittered", ms(99)),
        Err(Error::JitterTooLong {
            jitter: ms(100),
            interval: ms(99)
        })
    );
    assert_eq!(set.set_interval("plain", ms(99)), Ok(true));
    let handle = set.handle();
    assert!(handle.set_interval(&"jittered", ms(99)).unwrap());
    set.remove("nothing"); // applies the handle's command
    assert_eq!(handle.ignored(), 1);
    assert_eq!(set.interval("jittered"), Some(ms(1_000)));
}
