//! The proptest strategies the model tests of a `Timer` (`tests/model.rs`) and of a
//! `TimerSet` (`tests/set_model.rs`) share: the same policies, starts, intervals and
//! controls for both.

use proptest::prelude::*;

use super::model::{Control, Policy, Start};

/// `cases` cases, or `PROPTEST_CASES` of them for a longer run (an explicit count
/// overrides proptest's own reading of that variable).
pub fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

pub fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::TriggerAllMissed),
        Just(Policy::SkipMissedAndResync),
        Just(Policy::SkipMissedAndDrift { tolerance: 0 }),
        Just(Policy::Timeout),
        (0..20_000u64).prop_map(|tolerance| Policy::SkipMissedAndDrift { tolerance }),
        Just(Policy::StandStill),
        (0..4u64).prop_map(|max| Policy::TriggerMissedUpTo { max }),
    ]
}

pub fn control() -> impl Strategy<Value = Control> {
    prop_oneof![
        2 => Just(Control::Reset),
        2 => (0..20_000u64).prop_map(Control::ResetAfter),
        2 => (-20_000..20_000i64).prop_map(Control::ResetAt),
        1 => Just(Control::ResetImmediately),
        2 => prop_oneof![0..3_000u64, (1..20u64).prop_map(|ms| ms * 1000)].prop_map(Control::SetInterval),
        2 => Just(Control::Stop),
    ]
}

pub fn start() -> impl Strategy<Value = Start> {
    prop_oneof![
        Just(Start::Later),
        (0..5_000u64).prop_map(Start::Delay),
        (0..5_000u64).prop_map(Start::TickAtStartAfter),
        (-5_000..5_000i64).prop_map(Start::FirstTickAt),
    ]
}

/// Interval and start delay, in µs: mostly sub-millisecond and millisecond scales,
/// where the wheel's rounding matters most.
pub fn interval() -> impl Strategy<Value = u64> {
    prop_oneof![1..2_000u64, 1..50u64, (1..20u64).prop_map(|ms| ms * 1000)]
}
