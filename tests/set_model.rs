//! `TimerSet` against the reference model (`testkit/src/set_model.rs`) and against lone
//! `Timer`s given the same operations, on random operation sequences: up to five keys,
//! inserted (and replaced) with random intervals, policies and starts, removed, reset in
//! every way, given new intervals, stopped; random advances of the paused clock, awaited
//! ticks, stream items and single polls.

use kadenz_testkit as common;

#[cfg(feature = "precise")]
use common::set_model::run_set_with;
use common::set_model::{run_set, run_side_by_side, SetOp};
use common::strategies::{control, interval, policy, start};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = u8> {
    0..5u8
}

fn op() -> impl Strategy<Value = SetOp> {
    prop_oneof![
        4 => (0..3_000u64).prop_map(SetOp::Advance),
        2 => (0..30u64).prop_map(|ms| SetOp::Advance(ms * 1000)),
        6 => Just(SetOp::Next),
        1 => Just(SetOp::Stream),
        3 => Just(SetOp::PollOnce),
        2 => (key(), interval(), policy(), start()).prop_map(|(k, i, p, s)| SetOp::Insert(k, i, p, s)),
        1 => key().prop_map(SetOp::Remove),
        4 => (key(), control()).prop_map(|(k, c)| SetOp::Control(k, c)),
        1 => (key(), interval(), policy(), start(), 0..=1_000u64, any::<u64>()).prop_map(
            |(k, i, p, s, per_mille, seed)| SetOp::InsertJittered(k, i, p, s, (i * per_mille / 1_000, seed))
        ),
        2 => (key(), control()).prop_map(|(k, c)| SetOp::HandleControl(k, c)),
    ]
}

fn ops() -> impl Strategy<Value = Vec<SetOp>> {
    (
        prop::collection::vec((key(), interval(), policy(), start()), 1..5),
        prop::collection::vec(op(), 1..100),
    )
        .prop_map(|(inserts, ops)| {
            inserts
                .into_iter()
                .map(|(k, i, p, s)| SetOp::Insert(k, i, p, s))
                .chain(ops)
                .collect()
        })
}

proptest! {
    #![proptest_config(common::strategies::config(512))]

    #[test]
    fn set_matches_the_model(ops in ops()) {
        run_set(&ops).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn each_entry_ticks_as_a_lone_timer(ops in ops()) {
        run_side_by_side(&ops).map_err(TestCaseError::fail)?;
    }
}

/// A precise set under the paused clock: the model's ticks (it waits on the wheel while
/// the clock is paused, and reads the clock at every poll).
#[cfg(feature = "precise")]
mod precise {
    use super::*;

    proptest! {
        #![proptest_config(common::strategies::config(256))]

        #[test]
        fn precise_set_matches_the_model(ops in ops()) {
            run_set_with(true, &ops).map_err(TestCaseError::fail)?;
        }
    }
}
