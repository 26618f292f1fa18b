//! The Timer against the reference model of `common/model.rs`, on random operation
//! sequences: every built-in policy, and `Timer::timeout`; random intervals
//! (sub-millisecond ones included), random start delays or `auto_start(false)`, and random
//! advances of the paused clock, ticks, stream items, single polls (cancellations), resets
//! and stops.

mod common;

use common::model::{run, Op, Policy};
use proptest::prelude::*;

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::TriggerAllMissed),
        Just(Policy::SkipMissedAndResync),
        Just(Policy::SkipMissedAndDrift { tolerance: 0 }),
        Just(Policy::Timeout),
        (0..20_000u64).prop_map(|tolerance| Policy::SkipMissedAndDrift { tolerance }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3_000u64).prop_map(Op::Advance),
        2 => (0..100u64).prop_map(|ms| Op::Advance(ms * 1000)),
        6 => Just(Op::Tick),
        2 => Just(Op::Next),
        3 => Just(Op::PollOnce),
        1 => Just(Op::Reset),
        1 => (0..20_000u64).prop_map(Op::ResetAfter),
        1 => Just(Op::Stop),
    ]
}

/// Interval and start delay, in µs: mostly sub-millisecond and millisecond scales,
/// where the wheel's rounding matters most.
fn interval() -> impl Strategy<Value = u64> {
    prop_oneof![1..2_000u64, 1..50u64, (1..20u64).prop_map(|ms| ms * 1000)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn timer_matches_the_model(
        interval in interval(),
        policy in policy(),
        start in prop_oneof![Just(None), (0..5_000u64).prop_map(Some)],
        ops in prop::collection::vec(op(), 1..80),
    ) {
        if let Err(difference) = run(interval, policy, start, &ops) {
            return Err(TestCaseError::fail(difference));
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
    run(1, Policy::TriggerAllMissed, Some(0), &ops).unwrap();
    run(3, Policy::SkipMissedAndDrift { tolerance: 0 }, None, &ops).unwrap();
}
