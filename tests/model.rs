//! The Timer against the reference model of `testkit/src/model.rs`, on random operation
//! sequences: every built-in policy, and `Timer::timeout`; random intervals
//! (sub-millisecond ones included), random starts (a start delay, `tick_at_start`,
//! `first_tick_at`, `auto_start(false)`), and random advances of the paused clock, ticks,
//! stream items, single polls (cancellations), resets of every kind, new intervals and
//! stops, each by the timer itself or by a `TimerHandle`.

use kadenz_testkit as common;

#[cfg(feature = "precise")]
use common::model::run_timer;
use common::model::{run, run_jittered, Op, Policy, Start};
use common::strategies::{control, interval, policy, start};
use proptest::prelude::*;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3_000u64).prop_map(Op::Advance),
        2 => (0..100u64).prop_map(|ms| Op::Advance(ms * 1000)),
        6 => Just(Op::Tick),
        2 => Just(Op::Next),
        3 => Just(Op::PollOnce),
        3 => control().prop_map(Op::Timer),
        2 => control().prop_map(Op::Handle),
    ]
}

proptest! {
    #![proptest_config(common::strategies::config(512))]

    #[test]
    fn timer_matches_the_model(
        interval in interval(),
        policy in policy(),
        start in start(),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        run(interval, policy, start, &ops).map_err(TestCaseError::fail)?;
    }

    /// With jitter: each tick fires at its due time plus its offset, and the schedule
    /// goes on as without it.
    #[test]
    fn jittered_timer_matches_the_model(
        interval in interval(),
        policy in policy(),
        start in start(),
        max_per_mille in 0..=1_000u64,
        seed in any::<u64>(),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let max = interval * max_per_mille / 1_000;
        run_jittered(interval, policy, start, (max, seed), &ops).map_err(TestCaseError::fail)?;
    }
}

/// Precise timers under the paused clock: the same model, the same ticks (they stay on the
/// wheel, and never ask the OS timer while the clock is paused).
#[cfg(feature = "precise")]
mod precise {
    use super::*;

    proptest! {
        #![proptest_config(common::strategies::config(256))]

        #[test]
        fn precise_timer_matches_the_model(
            interval in interval(),
            policy in policy(),
            start in start(),
            ops in prop::collection::vec(op(), 1..80),
        ) {
            run_timer(interval, policy, start, true, &ops).map_err(TestCaseError::fail)?;
        }
    }
}

/// Found by the fuzz target: more than 128 ready polls in a row (tokio's cooperative budget
/// per task poll) once made the runner compare a budget `Pending` with the model's tick.
#[test]
fn a_long_run_of_single_polls_matches_the_model() {
    let mut ops = vec![Op::Advance(1_000)];
    ops.extend([Op::PollOnce; 300]);
    ops.push(Op::Tick);
    run(1, Policy::TriggerAllMissed, Start::Delay(0), &ops).unwrap();
    run(
        3,
        Policy::SkipMissedAndDrift { tolerance: 0 },
        Start::Later,
        &ops,
    )
    .unwrap();
}
