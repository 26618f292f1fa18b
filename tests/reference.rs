//! Every worked example of the reference documentation (the frequenz-channels `Timers`
//! page), tick by tick: the timelines T0…T6 of each policy, and `WaitOneMoreSecond`.
//!
//! The reference's time 0 is the first tick; a kadenz timer's first tick is due one
//! interval after its start, so a timer with a 1 s interval started at `start` has its
//! reference time `t` at `start + 1 s + t`.

use kadenz_testkit as common;

use std::time::Duration;

use common::{ms, next_tick, offsets, tick_at};
use kadenz::policy::{
    MissedTickPolicy, SkipMissedAndDrift, SkipMissedAndResync, TriggerAllMissed, TriggerMissedUpTo,
};
use kadenz::Timer;
use tokio::time::Instant;

/// Receives ticks at the given reference times (ms, `None`: as soon as due) and returns
/// each tick as (reference time it was due, drift), in ms, and its (missed, skipped)
/// counts.
async fn replay(
    mut timer: Timer,
    receive_at: &[Option<u64>],
) -> (Vec<(u64, u64)>, Vec<(u64, u64)>) {
    let zero = Instant::now() + Duration::from_secs(1);
    let mut ticks = Vec::new();
    let mut counts = Vec::new();
    for at in receive_at {
        let tick = match at {
            Some(at) => tick_at(&mut timer, zero + ms(*at)).await,
            None => next_tick(&mut timer).await.expect("running"),
        };
        counts.push((tick.missed(), tick.skipped()));
        let (scheduled, drift) = offsets(zero, tick);
        assert_eq!(scheduled % 1000, 0, "whole milliseconds only");
        assert_eq!(drift % 1000, 0, "whole milliseconds only");
        ticks.push((scheduled / 1000, drift / 1000));
    }
    (ticks, counts)
}

#[tokio::test(start_paused = true)]
async fn skip_missed_and_drift_walkthrough() {
    let timer = Timer::new(
        Duration::from_secs(1),
        SkipMissedAndDrift::new(Duration::from_millis(100)),
    );
    let (ticks, counts) = replay(
        timer,
        &[None, Some(1200), Some(2300), Some(4300), None, None],
    )
    .await;
    assert_eq!(
        ticks,
        [
            (0, 0),       // 1. T0 on time
            (1000, 200),  // 2. 0.2 s late, over the tolerance: the schedule moves to 2.2
            (2200, 100),  // 3. 0.1 s late, within the tolerance: next still at 3.2
            (3200, 1100), // 4. 1.1 s late: moves to 5.3, T4.2 skipped
            (5300, 0),    // 5. T5.3 on time
            (6300, 0),    //    and T6.3
        ]
    );
    // (missed, skipped): T3, 1.1 s late, is one whole interval late, and the due time
    // 4.2 is dropped.
    assert_eq!(counts, [(0, 0), (0, 0), (0, 0), (1, 1), (0, 0), (0, 0)]);
}

#[tokio::test(start_paused = true)]
async fn skip_missed_and_resync_walkthrough() {
    let timer = Timer::new(Duration::from_secs(1), SkipMissedAndResync);
    let (ticks, counts) = replay(
        timer,
        &[None, Some(1200), Some(2300), Some(4300), Some(5100), None],
    )
    .await;
    assert_eq!(
        ticks,
        [
            (0, 0),       // 1. T0 on time
            (1000, 200),  // 2. T1 at 1.2, next still at 2
            (2000, 300),  // 3. T2 at 2.3
            (3000, 1300), // 4. T3 at 4.3; T4 skipped
            (5000, 100),  // 5. T5 at 5.1
            (6000, 0),    // 6. T6 on time
        ]
    );
    // T3, 1.3 s late, is one whole interval late, and T4 is dropped.
    assert_eq!(counts, [(0, 0), (0, 0), (0, 0), (1, 1), (0, 0), (0, 0)]);
}

#[tokio::test(start_paused = true)]
async fn trigger_all_missed_walkthrough() {
    let timer = Timer::periodic(Duration::from_secs(1));
    let (ticks, counts) = replay(
        timer,
        &[
            None,
            Some(1200),
            Some(2300),
            Some(4300),
            None,
            Some(5100),
            None,
        ],
    )
    .await;
    assert_eq!(
        ticks,
        [
            (0, 0),       // 1. T0 on time
            (1000, 200),  // 2. T1 at 1.2
            (2000, 300),  // 3. T2 at 2.3
            (3000, 1300), // 4. T3 at 4.3
            (4000, 300),  // 5. T4 right after it: the catch-up burst
            (5000, 100),  // 6. T5 at 5.1
            (6000, 0),    // 7. T6 on time
        ]
    );
    // T3 is one whole interval late; nothing is ever dropped.
    assert_eq!(
        counts,
        [(0, 0), (0, 0), (0, 0), (1, 0), (0, 0), (0, 0), (0, 0)]
    );
}

/// Bounded catch-up through the reference's receiver: its longest stall misses one due
/// time, so with a bound of one it is `TriggerAllMissed` tick for tick, and with zero
/// `SkipMissedAndResync`.
#[tokio::test(start_paused = true)]
async fn trigger_missed_up_to_walkthrough_of_the_reference() {
    let receive = [
        None,
        Some(1200),
        Some(2300),
        Some(4300),
        None,
        Some(5100),
        None,
    ];
    let timer = Timer::new(Duration::from_secs(1), TriggerMissedUpTo::new(1));
    let (ticks, counts) = replay(timer, &receive).await;
    assert_eq!(
        ticks,
        [
            (0, 0),
            (1000, 200),
            (2000, 300),
            (3000, 1300),
            (4000, 300), // T4 replayed: one missed tick, within the bound
            (5000, 100),
            (6000, 0),
        ]
    );
    assert_eq!(
        counts,
        [(0, 0), (0, 0), (0, 0), (1, 0), (0, 0), (0, 0), (0, 0)]
    );

    let timer = Timer::new(Duration::from_secs(1), TriggerMissedUpTo::new(0));
    let (ticks, counts) = replay(
        timer,
        &[None, Some(1200), Some(2300), Some(4300), Some(5100), None],
    )
    .await;
    assert_eq!(
        ticks,
        [
            (0, 0),
            (1000, 200),
            (2000, 300),
            (3000, 1300),
            (5000, 100),
            (6000, 0)
        ]
    );
    assert_eq!(counts, [(0, 0), (0, 0), (0, 0), (1, 1), (0, 0), (0, 0)]);
}

/// The walk-through of `TriggerMissedUpTo`'s documentation: a bound of two, and a stall
/// from 1.2 s to 5.3 s that misses three due times after T2.
#[tokio::test(start_paused = true)]
async fn trigger_missed_up_to_walkthrough_of_a_long_stall() {
    let timer = Timer::new(Duration::from_secs(1), TriggerMissedUpTo::new(2));
    let (ticks, counts) = replay(
        timer,
        &[None, Some(1200), Some(5300), None, None, None, None],
    )
    .await;
    assert_eq!(
        ticks,
        [
            (0, 0),       // 1. T0 on time
            (1000, 200),  //    T1 at 1.2
            (2000, 3300), // 2. T2 at 5.3: 3, 4 and 5 have come; T3 is dropped
            (4000, 1300), // 3. T4 and T5 replayed at once: a burst of two
            (5000, 300),
            (6000, 0), // 4. T6 and T7 on time
            (7000, 0),
        ]
    );
    assert_eq!(
        counts,
        [(0, 0), (0, 0), (3, 1), (1, 0), (0, 0), (0, 0), (0, 0)]
    );
}

#[tokio::test(start_paused = true)]
async fn timeout_accumulates_drift() {
    // The reference's timeout: SkipMissedAndDrift with zero tolerance, so every late tick
    // moves the schedule by its whole lateness.
    let timer = Timer::timeout(Duration::from_secs(1));
    let (ticks, counts) = replay(timer, &[None, Some(1001), None, Some(3500), None]).await;
    assert_eq!(
        ticks,
        [(0, 0), (1000, 1), (2001, 0), (3001, 499), (4500, 0)]
    );
    assert_eq!(counts, [(0, 0); 5], "never a whole interval late");
}

/// The custom policy of the reference, as written there.
#[derive(Debug)]
struct WaitOneMoreSecond;

impl MissedTickPolicy for WaitOneMoreSecond {
    fn calculate_next_tick_time(&self, interval: u64, scheduled_tick_time: u64, _now: u64) -> u64 {
        scheduled_tick_time + interval + 1_000_000
    }
}

#[tokio::test(start_paused = true)]
async fn wait_one_more_second() {
    let timer = Timer::new(Duration::from_secs(1), WaitOneMoreSecond);
    let (ticks, counts) = replay(timer, &[None, None, Some(5500), None]).await;
    assert_eq!(ticks, [(0, 0), (2000, 0), (4000, 1500), (6000, 0)]);
    // The tick due at 4, received at 5.5: one interval late, and 5 is dropped (the next
    // is due at 6).
    assert_eq!(counts, [(0, 0), (0, 0), (1, 1), (0, 0)]);
}

#[test]
fn policies_match_the_reference_formulas_in_microseconds() {
    let s = 1_000_000;
    assert_eq!(
        TriggerAllMissed.calculate_next_tick_time(s, 3 * s, 4_300_000),
        4 * s
    );
    assert_eq!(
        SkipMissedAndResync.calculate_next_tick_time(s, 3 * s, 4_300_000),
        5 * s
    );
    let drift = SkipMissedAndDrift::new(Duration::from_millis(100));
    assert_eq!(
        drift.calculate_next_tick_time(s, 2_200_000, 2_300_000),
        3_200_000
    );
    assert_eq!(
        drift.calculate_next_tick_time(s, 3_200_000, 4_300_000),
        5_300_000
    );
    let up_to = TriggerMissedUpTo::new(2);
    assert_eq!(up_to.calculate_next_tick_time(s, 2 * s, 5_300_000), 4 * s);
    assert_eq!(up_to.calculate_next_tick_time(s, 4 * s, 5_300_000), 5 * s);
    assert_eq!(up_to.calculate_next_tick_time(s, 5 * s, 5_300_000), 6 * s);
}
