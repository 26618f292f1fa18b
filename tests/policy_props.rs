//! Property tests of the built-in policies on random `u64` inputs, the overflow edges
//! included. Every policy is checked against its formula (written here with `u128`, which
//! cannot overflow, then saturated) and for the invariant that names it.

use std::time::Duration;

use kadenz::policy::{
    MissedTickPolicy, SkipMissedAndDrift, SkipMissedAndResync, TriggerAllMissed, TriggerMissedUpTo,
};
use proptest::prelude::*;

/// Random `u64`s, with the edges where overflow happens drawn often.
fn micros() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => any::<u64>(),
        2 => 0..10_000u64,
        1 => (0..10_000u64).prop_map(|d| u64::MAX - d),
        1 => Just(u64::MAX),
        1 => Just(0),
    ]
}

fn interval() -> impl Strategy<Value = u64> {
    micros().prop_map(|i| i.max(1))
}

/// `(interval, scheduled, now)` with the timer's guarantee `now >= scheduled`.
fn args() -> impl Strategy<Value = (u64, u64, u64)> {
    (interval(), micros(), micros()).prop_map(|(i, a, b)| (i, a.min(b), a.max(b)))
}

fn saturate(x: u128) -> u64 {
    u64::try_from(x).unwrap_or(u64::MAX)
}

proptest! {
    #![proptest_config(kadenz_testkit::strategies::config(4096))]

    #[test]
    fn trigger_all_missed_is_scheduled_plus_interval((i, s, n) in args()) {
        let next = TriggerAllMissed.calculate_next_tick_time(i, s, n);
        prop_assert_eq!(next, saturate(s as u128 + i as u128));
        // It never skips: the next tick is exactly one interval on, unless saturated.
        prop_assert!(next == u64::MAX || next - s == i);
    }

    #[test]
    fn skip_missed_and_resync_is_the_next_grid_point_after_now((i, s, n) in args()) {
        let next = SkipMissedAndResync.calculate_next_tick_time(i, s, n);
        let expected = n as u128 + (i as u128 - (n - s) as u128 % i as u128);
        prop_assert_eq!(next, saturate(expected));
        if next != u64::MAX {
            // After now, on the original grid, and no more than one interval away.
            prop_assert!(next > n);
            prop_assert_eq!((next - s) % i, 0);
            prop_assert!(next - n <= i);
        }
    }

    #[test]
    fn skip_missed_and_drift_moves_only_beyond_the_tolerance(
        (i, s, n) in args(),
        tolerance in micros(),
    ) {
        let policy = SkipMissedAndDrift::new(Duration::from_micros(tolerance));
        let next = policy.calculate_next_tick_time(i, s, n);
        if n - s > tolerance {
            prop_assert_eq!(next, saturate(n as u128 + i as u128));
        } else {
            prop_assert_eq!(next, saturate(s as u128 + i as u128));
        }
        // Beyond the tolerance the timer starts over from now: the next tick is after now.
        prop_assert!(n - s <= tolerance || next > n || next == u64::MAX);
    }

    #[test]
    fn trigger_missed_up_to_replays_at_most_max_on_the_grid(
        (i, s, n) in args(),
        max in prop_oneof![0..6u64, micros()],
    ) {
        let next = TriggerMissedUpTo::new(max).calculate_next_tick_time(i, s, n);
        let missed = (n - s) as u128 / i as u128;
        let dropped = missed.saturating_sub(max as u128);
        prop_assert_eq!(next, saturate(s as u128 + (dropped + 1) * i as u128));
        if next != u64::MAX {
            // On the original grid, after the late tick.
            prop_assert!(next > s);
            prop_assert_eq!((next - s) % i, 0);
            // At most `max` due times from `next` on have come: the burst's bound.
            let replayed = if next <= n { (n - next) as u128 / i as u128 + 1 } else { 0 };
            prop_assert!(replayed <= max as u128);
        }
        // The two ends: no bound is TriggerAllMissed, a bound of zero SkipMissedAndResync.
        prop_assert_eq!(
            TriggerMissedUpTo::new(u64::MAX).calculate_next_tick_time(i, s, n),
            TriggerAllMissed.calculate_next_tick_time(i, s, n)
        );
        prop_assert_eq!(
            TriggerMissedUpTo::new(0).calculate_next_tick_time(i, s, n),
            SkipMissedAndResync.calculate_next_tick_time(i, s, n)
        );
    }

    #[test]
    fn policies_never_panic_outside_the_timers_guarantee(
        i in micros(), s in micros(), n in micros(), tolerance in micros(),
    ) {
        // Called directly, a policy may be given now < scheduled or a zero interval.
        let _ = TriggerAllMissed.calculate_next_tick_time(i, s, n);
        let resync = SkipMissedAndResync.calculate_next_tick_time(i, s, n);
        prop_assert!(resync > n || resync == u64::MAX);
        let drift = SkipMissedAndDrift::new(Duration::from_micros(tolerance));
        let _ = drift.calculate_next_tick_time(i, s, n);
        let _ = TriggerMissedUpTo::new(tolerance).calculate_next_tick_time(i, s, n);
    }

    #[test]
    fn on_time_ticks_go_one_interval_on_under_every_policy(i in interval(), s in micros()) {
        let policies: [&dyn MissedTickPolicy; 5] = [
            &TriggerAllMissed,
            &SkipMissedAndResync,
            &SkipMissedAndDrift::default(),
            &TriggerMissedUpTo::new(0),
            &TriggerMissedUpTo::new(3),
        ];
        for policy in policies {
            prop_assert_eq!(policy.calculate_next_tick_time(i, s, s), s.saturating_add(i));
        }
    }

    #[test]
    fn delay_tolerance_round_trips_in_whole_microseconds(nanos in any::<u64>(), secs in any::<u64>()) {
        let tolerance = Duration::new(secs, (nanos % 1_000_000_000) as u32);
        let kept = SkipMissedAndDrift::new(tolerance).delay_tolerance();
        prop_assert_eq!(kept, Duration::from_micros(saturate(tolerance.as_micros())));
    }
}

#[test]
fn the_edges_saturate() {
    let m = u64::MAX;
    assert_eq!(TriggerAllMissed.calculate_next_tick_time(m, m, m), m);
    assert_eq!(TriggerAllMissed.calculate_next_tick_time(2, m - 1, m), m);
    assert_eq!(SkipMissedAndResync.calculate_next_tick_time(m, 0, m), m);
    assert_eq!(
        SkipMissedAndResync.calculate_next_tick_time(10, m - 25, m - 5),
        m
    );
    assert_eq!(
        SkipMissedAndResync.calculate_next_tick_time(10, m - 35, m - 15),
        m - 5
    );
    let drift = SkipMissedAndDrift::default();
    assert_eq!(drift.calculate_next_tick_time(m, 0, 1), m);
    assert_eq!(
        SkipMissedAndDrift::new(Duration::MAX).delay_tolerance(),
        Duration::from_micros(m)
    );
    assert_eq!(
        SkipMissedAndResync.calculate_next_tick_time(0, 5, 7),
        8,
        "a zero interval counts as 1"
    );
    let up_to = TriggerMissedUpTo::new(1);
    assert_eq!(up_to.calculate_next_tick_time(m, m - 1, m), m);
    assert_eq!(up_to.calculate_next_tick_time(1, 0, m - 1), m - 1);
    assert_eq!(
        up_to.calculate_next_tick_time(0, 5, 7),
        7,
        "a zero interval counts as 1"
    );
}
