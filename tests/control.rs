//! Where the schedule starts and how it is steered: `tick_at_start`, `first_tick_at`,
//! `reset_at`, `reset_immediately`, `set_interval`, wall-clock alignment and `realign`, the
//! counts a tick carries and the timer's stats, under tokio's paused clock, exactly.

use kadenz_testkit as common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{ms, offsets, tick_at, us};
use kadenz::policy::{SkipMissedAndDrift, SkipMissedAndResync};
use kadenz::{Error, Timer, WallClock};
use tokio::time::{advance, Instant};

/// (scheduled offset from `origin`, drift), in ms, of the next `n` ticks.
async fn next_ticks(timer: &mut Timer, origin: Instant, n: usize) -> Vec<(u64, u64)> {
    common::next_ticks(timer, origin, n, ms(1)).await
}

// --- tick_at_start -----------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn tick_at_start_ticks_at_the_start_then_every_interval() {
    let start = Instant::now();
    let mut timer = Timer::builder(ms(100)).tick_at_start(true).build().unwrap();
    assert_eq!(timer.deadline(), Some(start));
    assert_eq!(
        next_ticks(&mut timer, start, 3).await,
        [(0, 0), (100, 0), (200, 0)]
    );
}

#[tokio::test(start_paused = true)]
async fn tick_at_start_with_a_start_delay_ticks_after_the_delay() {
    let start = Instant::now();
    let mut timer = Timer::builder(ms(100))
        .tick_at_start(true)
        .start_delay(ms(30))
        .build()
        .unwrap();
    assert_eq!(
        next_ticks(&mut timer, start, 3).await,
        [(30, 0), (130, 0), (230, 0)]
    );
}

#[tokio::test(start_paused = true)]
async fn tick_at_start_false_is_the_default() {
    let start = Instant::now();
    let mut timer = Timer::builder(ms(100))
        .tick_at_start(false)
        .build()
        .unwrap();
    assert_eq!(next_ticks(&mut timer, start, 1).await, [(100, 0)]);
}

#[test]
fn options_that_place_the_first_tick_need_auto_start() {
    let now = Instant::now();
    let cases = [
        (
            Timer::builder(ms(1)).tick_at_start(true),
            "tick_at_start(true)",
        ),
        (Timer::builder(ms(1)).first_tick_at(now), "first_tick_at"),
        (
            Timer::builder(ms(1)).align_to_wall_clock(Duration::ZERO),
            "align_to_wall_clock",
        ),
    ];
    for (builder, option) in cases {
        assert_eq!(
            builder.auto_start(false).build().unwrap_err(),
            Error::ConflictingOptions {
                option,
                conflicts_with: "auto_start(false)"
            }
        );
    }
}

#[tokio::test(start_paused = true)]
async fn first_tick_at_takes_no_other_placement() {
    let now = Instant::now();
    let err = |builder: kadenz::TimerBuilder| builder.first_tick_at(now).build().unwrap_err();
    let conflict = |other| Error::ConflictingOptions {
        option: "first_tick_at",
        conflicts_with: other,
    };
    assert_eq!(
        err(Timer::builder(ms(1)).start_delay(ms(1))),
        conflict("start_delay")
    );
    assert_eq!(
        err(Timer::builder(ms(1)).tick_at_start(true)),
        conflict("tick_at_start(true)")
    );
    assert_eq!(
        err(Timer::builder(ms(1)).align_to_wall_clock(Duration::ZERO)),
        conflict("align_to_wall_clock")
    );
}

#[test]
fn a_sub_microsecond_start_delay_is_no_delay_with_or_without_auto_start() {
    // Kept in whole microseconds, like every time of the timer: 500 ns is no delay, so
    // it is accepted with auto_start(false) as with auto_start(true).
    let timer = Timer::builder(ms(1))
        .start_delay(Duration::from_nanos(500))
        .auto_start(false)
        .build();
    assert!(timer.is_ok());
    let err = Timer::builder(ms(1))
        .start_delay(us(1))
        .auto_start(false)
        .build()
        .unwrap_err();
    assert_eq!(err, Error::StartDelayWithoutAutoStart(us(1)));
}

#[tokio::test(start_paused = true)]
async fn a_sub_microsecond_start_delay_is_dropped_when_started() {
    let start = Instant::now();
    let timer = Timer::builder(ms(1))
        .start_delay(Duration::from_nanos(999))
        .build()
        .unwrap();
    assert_eq!(timer.deadline(), Some(start + ms(1)));
}

// --- first_tick_at, reset_at, reset_immediately --------------------------------------

#[tokio::test(start_paused = true)]
async fn first_tick_at_a_future_instant() {
    let start = Instant::now();
    let mut timer = Timer::builder(ms(100))
        .first_tick_at(start + ms(250))
        .build()
        .unwrap();
    assert_eq!(
        next_ticks(&mut timer, start, 3).await,
        [(250, 0), (350, 0), (450, 0)]
    );
}

#[tokio::test(start_paused = true)]
async fn first_tick_at_a_past_instant_is_a_late_tick() {
    advance(ms(1_000)).await;
    let now = Instant::now();
    let origin = now - ms(250);
    let mut timer = Timer::builder(ms(100))
        .first_tick_at(origin)
        .build()
        .unwrap();
    // TriggerAllMissed: the ticks due at -250, -150 and -50 ms fire at once, then the
    // phase goes on.
    assert_eq!(
        next_ticks(&mut timer, origin, 4).await,
        [(0, 250), (100, 150), (200, 50), (300, 0)]
    );

    let mut skipping = Timer::builder(ms(100))
        .first_tick_at(Instant::now() - ms(250))
        .skip_missed_ticks(true)
        .build()
        .unwrap();
    let tick = skipping.tick().await.unwrap();
    assert_eq!(
        (tick.drift(), tick.missed(), tick.skipped()),
        (ms(250), 2, 2)
    );
}

#[tokio::test(start_paused = true)]
async fn reset_at_restarts_the_schedule_at_that_instant() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(100));
    advance(ms(40)).await;
    timer.reset_at(start + ms(70));
    assert_eq!(timer.deadline(), Some(start + ms(70)));
    assert_eq!(next_ticks(&mut timer, start, 2).await, [(70, 0), (170, 0)]);
    // In the past: a late tick, then the grid of that instant.
    timer.reset_at(start + ms(150));
    assert_eq!(
        next_ticks(&mut timer, start, 2).await,
        [(150, 20), (250, 0)]
    );
}

#[tokio::test(start_paused = true)]
async fn reset_at_starts_a_stopped_or_unstarted_timer() {
    let start = Instant::now();
    let mut timer = Timer::builder(ms(100)).auto_start(false).build().unwrap();
    timer.reset_at(start + ms(5));
    assert!(timer.is_running());
    assert_eq!(next_ticks(&mut timer, start, 1).await, [(5, 0)]);
    timer.stop();
    timer.reset_at(start + ms(50));
    assert_eq!(next_ticks(&mut timer, start, 1).await, [(50, 0)]);
}

#[tokio::test(start_paused = true)]
async fn reset_immediately_ticks_now_then_every_interval() {
    let start = Instant::now();
    let mut timer = Timer::timeout(ms(100));
    advance(ms(30)).await;
    timer.reset_immediately();
    assert_eq!(next_ticks(&mut timer, start, 2).await, [(30, 0), (130, 0)]);
}

#[tokio::test(start_paused = true)]
async fn the_four_resets_side_by_side() {
    // The table of `Timer::reset_at`: at 40 ms, on a 100 ms timer, with d = 30 ms.
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(100));
    advance(ms(40)).await;
    timer.reset();
    assert_eq!(timer.deadline(), Some(start + ms(140)));
    timer.reset_after(ms(30));
    assert_eq!(timer.deadline(), Some(start + ms(170)), "unlike tokio's 70");
    timer.reset_at(start + ms(70));
    assert_eq!(timer.deadline(), Some(start + ms(70)));
    timer.reset_immediately();
    assert_eq!(timer.deadline(), Some(start + ms(40)));
}

// --- set_interval ------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn set_interval_keeps_the_phase_of_the_last_tick() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(100));
    assert_eq!(next_ticks(&mut timer, start, 1).await, [(100, 0)]);
    advance(ms(30)).await;
    timer.set_interval(ms(50)).unwrap();
    assert_eq!(timer.interval(), ms(50));
    assert_eq!(timer.deadline(), Some(start + ms(150)));
    assert_eq!(
        next_ticks(&mut timer, start, 3).await,
        [(150, 0), (200, 0), (250, 0)]
    );
    // Longer: one new interval after the last tick, at 250 + 300.
    timer.set_interval(ms(300)).unwrap();
    assert_eq!(next_ticks(&mut timer, start, 1).await, [(550, 0)]);
}

#[tokio::test(start_paused = true)]
async fn set_interval_before_the_first_tick_counts_from_the_start() {
    let start = Instant::now();
    let mut timer = Timer::builder(ms(100)).start_delay(ms(20)).build().unwrap();
    advance(ms(10)).await;
    timer.set_interval(ms(40)).unwrap();
    assert_eq!(next_ticks(&mut timer, start, 2).await, [(60, 0), (100, 0)]);
}

#[tokio::test(start_paused = true)]
async fn set_interval_to_a_time_already_past_fires_a_late_tick() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(100));
    timer.tick().await.unwrap(); // at 100
    advance(ms(80)).await; // now 180
    timer.set_interval(ms(50)).unwrap(); // next at 150: past
    let tick = timer.tick().await.unwrap();
    assert_eq!(offsets(start, tick), (150_000, 30_000));
    assert_eq!(next_ticks(&mut timer, start, 1).await, [(200, 0)]);
}

#[tokio::test(start_paused = true)]
async fn set_interval_leaves_a_tick_put_at_an_instant_where_it_is() {
    let start = Instant::now();
    let mut timer = Timer::builder(ms(100)).tick_at_start(true).build().unwrap();
    timer.set_interval(ms(10)).unwrap();
    assert_eq!(timer.deadline(), Some(start));
    timer.reset_at(start + ms(35));
    timer.set_interval(ms(20)).unwrap();
    assert_eq!(next_ticks(&mut timer, start, 2).await, [(35, 0), (55, 0)]);
}

#[tokio::test(start_paused = true)]
async fn set_interval_then_reset_restarts_with_the_new_interval() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(100));
    advance(ms(30)).await;
    timer.set_interval(ms(250)).unwrap();
    timer.reset();
    assert_eq!(next_ticks(&mut timer, start, 2).await, [(280, 0), (530, 0)]);
}

#[tokio::test(start_paused = true)]
async fn set_interval_refuses_bad_intervals_and_leaves_the_timer_as_it_was() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(100));
    assert_eq!(
        timer.set_interval(Duration::from_nanos(999)),
        Err(Error::IntervalTooShort(Duration::from_nanos(999)))
    );
    assert_eq!(
        timer.set_interval(Duration::MAX),
        Err(Error::IntervalTooLong(Duration::MAX))
    );
    assert_eq!(timer.interval(), ms(100));
    assert_eq!(timer.deadline(), Some(start + ms(100)));
}

#[tokio::test(start_paused = true)]
async fn set_interval_on_a_stopped_timer_applies_at_the_next_reset() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(100));
    timer.stop();
    timer.set_interval(ms(10)).unwrap();
    assert!(!timer.is_running());
    assert_eq!(timer.tick().await, None);
    timer.reset();
    assert_eq!(next_ticks(&mut timer, start, 2).await, [(10, 0), (20, 0)]);
}

// --- wall-clock alignment ----------------------------------------------------------

/// A wall clock a test sets by hand, in µs since the Unix epoch.
#[derive(Debug, Default)]
struct Manual(AtomicI64);

impl Manual {
    fn at(micros: i64) -> Arc<Self> {
        Arc::new(Manual(AtomicI64::new(micros)))
    }

    fn set(&self, micros: i64) {
        self.0.store(micros, Ordering::Relaxed);
    }
}

impl WallClock for Manual {
    fn now(&self) -> SystemTime {
        let micros = self.0.load(Ordering::Relaxed);
        if micros >= 0 {
            UNIX_EPOCH + us(micros as u64)
        } else {
            UNIX_EPOCH - us(micros.unsigned_abs())
        }
    }
}

/// 2026-11-24 08:07:12.345678 UTC, in µs since the epoch.
const WALL: i64 = 1_795_939_632_345_678;

#[tokio::test(start_paused = true)]
async fn the_first_tick_is_on_the_next_whole_second() {
    let start = Instant::now();
    let mut timer = Timer::builder(Duration::from_secs(1))
        .align_to_wall_clock(Duration::ZERO)
        .wall_clock(Manual::at(WALL))
        .build()
        .unwrap();
    // 0.345678 s past a whole second: the next is 654,322 µs away, then every second.
    assert_eq!(timer.deadline(), Some(start + us(654_322)));
    let tick = tick_at(&mut timer, start + us(654_322)).await;
    assert_eq!(offsets(start, tick), (654_322, 0));
    assert_eq!(timer.deadline(), Some(start + us(1_654_322)));
}

#[tokio::test(start_paused = true)]
async fn a_fifteen_minute_grid_with_an_offset() {
    let quarter = 15 * 60 * 1_000_000u64;
    let start = Instant::now();
    // 08:07:12.345678: the next quarter is 08:15, 7 min 47.654322 s away; with an offset
    // of 5 min, 08:05 is past and 08:20 is next.
    let timer = |offset| {
        Timer::builder(us(quarter))
            .align_to_wall_clock(offset)
            .wall_clock(Manual::at(WALL))
            .build()
            .unwrap()
    };
    assert_eq!(
        timer(Duration::ZERO).deadline(),
        Some(start + us(467_654_322))
    );
    assert_eq!(
        timer(Duration::from_secs(300)).deadline(),
        Some(start + us(767_654_322))
    );
    // An offset of an interval or more is the same grid.
    assert_eq!(
        timer(Duration::from_secs(300 + 900)).deadline(),
        Some(start + us(767_654_322))
    );
}

#[tokio::test(start_paused = true)]
async fn on_the_grid_the_start_ticks_only_with_tick_at_start() {
    let start = Instant::now();
    let on_grid = Manual::at(1_795_939_632_000_000);
    let strict = Timer::builder(Duration::from_secs(1))
        .align_to_wall_clock(Duration::ZERO)
        .wall_clock(on_grid.clone())
        .build()
        .unwrap();
    assert_eq!(strict.deadline(), Some(start + Duration::from_secs(1)));
    let inclusive = Timer::builder(Duration::from_secs(1))
        .align_to_wall_clock(Duration::ZERO)
        .tick_at_start(true)
        .wall_clock(on_grid)
        .build()
        .unwrap();
    assert_eq!(inclusive.deadline(), Some(start));
}

#[tokio::test(start_paused = true)]
async fn a_start_delay_comes_before_the_grid() {
    let start = Instant::now();
    let timer = Timer::builder(Duration::from_secs(1))
        .align_to_wall_clock(Duration::ZERO)
        .start_delay(Duration::from_secs(2))
        .wall_clock(Manual::at(WALL))
        .build()
        .unwrap();
    assert_eq!(timer.deadline(), Some(start + us(2_654_322)));
}

#[tokio::test(start_paused = true)]
async fn a_wall_clock_step_moves_nothing_until_realign() {
    let clock = Manual::at(WALL);
    let start = Instant::now();
    let mut timer = Timer::builder(Duration::from_secs(1))
        .align_to_wall_clock(Duration::ZERO)
        .wall_clock(clock.clone())
        .build()
        .unwrap();
    tick_at(&mut timer, start + us(654_322)).await;
    // The wall clock steps 200 ms ahead (an NTP correction): the monotonic schedule goes on.
    clock.set(WALL + 654_322 + 200_000);
    assert_eq!(timer.deadline(), Some(start + us(1_654_322)));
    // Re-aligned: the next whole second on the wall clock is 800 ms away.
    timer.realign();
    assert_eq!(timer.deadline(), Some(start + us(654_322 + 800_000)));
    let tick = tick_at(&mut timer, start + us(1_454_322)).await;
    assert_eq!(offsets(start, tick), (1_454_322, 0));
    assert_eq!(timer.deadline(), Some(start + us(2_454_322)));
}

#[tokio::test(start_paused = true)]
async fn realign_without_alignment_uses_the_system_clock_and_no_offset() {
    let mut timer = Timer::periodic(Duration::from_secs(1));
    timer.stop();
    timer.realign();
    assert!(timer.is_running(), "realign starts a stopped timer");
    // The next whole second of the real wall clock: within one second, never now.
    let now = Instant::now();
    let due = timer.deadline().unwrap();
    assert!(due > now && due <= now + Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_wall_clock_before_the_epoch_still_aligns() {
    let start = Instant::now();
    let timer = Timer::builder(ms(1))
        .align_to_wall_clock(Duration::ZERO)
        .wall_clock(Manual::at(-1_250))
        .build()
        .unwrap();
    assert_eq!(timer.deadline(), Some(start + us(250)));
}

// --- what a tick tells -------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn missed_counts_whole_intervals_of_drift() {
    let start = Instant::now();
    let mut timer = Timer::periodic(ms(10));
    advance(ms(39)).await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        let tick = timer.tick().await.unwrap();
        seen.push((offsets(start, tick).0 / 1000, tick.missed(), tick.skipped()));
    }
    assert_eq!(seen, [(10, 2, 0), (20, 1, 0), (30, 0, 0), (40, 0, 0)]);
}

#[tokio::test(start_paused = true)]
async fn skipped_counts_the_due_times_a_policy_drops() {
    let start = Instant::now();
    let mut resync = Timer::new(ms(10), SkipMissedAndResync);
    let mut drift = Timer::new(ms(10), SkipMissedAndDrift::new(ms(2)));
    advance(ms(45)).await;
    let (a, b) = (resync.tick().await.unwrap(), drift.tick().await.unwrap());
    // Due at 10, received at 45: 20, 30 and 40 had come. Resync goes on at 50; drift at 55.
    assert_eq!((a.missed(), a.skipped()), (3, 3));
    assert_eq!((b.missed(), b.skipped()), (3, 3));
    assert_eq!(resync.deadline(), Some(start + ms(50)));
    assert_eq!(drift.deadline(), Some(start + ms(55)));
    // Within the tolerance: nothing skipped, the schedule stays.
    advance(ms(11)).await; // 56: 1 ms late for 55
    let late = drift.tick().await.unwrap();
    assert_eq!((late.missed(), late.skipped()), (0, 0));
    assert_eq!(drift.deadline(), Some(start + ms(65)));
}

#[tokio::test(start_paused = true)]
async fn stats_add_up_and_survive_resets_and_stops() {
    let mut timer = Timer::builder(ms(10))
        .skip_missed_ticks(true)
        .build()
        .unwrap();
    assert_eq!(timer.stats(), kadenz::Stats::default());
    timer.tick().await.unwrap(); // on time
    advance(ms(37)).await; // 47: due at 20; 30 and 40 skipped
    timer.tick().await.unwrap();
    timer.stop();
    timer.reset();
    advance(ms(12)).await;
    timer.tick().await.unwrap(); // 2 ms late
    let stats = timer.stats();
    assert_eq!(stats.delivered(), 3);
    assert_eq!(stats.skipped(), 2);
    assert_eq!(stats.max_drift(), ms(27));
}
