//! Drives a `TimerSet` with an operation sequence decoded from the fuzzer's bytes: inserts
//! (and replacements) of up to eight keys with every policy and start, removals, every
//! control, advances, awaited ticks, stream items and single polls; checks every tick,
//! the clock and each entry's deadline, `is_running` and interval against the set model
//! the proptest in `tests/set_model.rs` uses, and (with whole-millisecond advances) each
//! entry against a lone `Timer`. See CONTRIBUTING.md for how to run it.
#![no_main]

use kadenz_testkit::bytes::Bytes;
use kadenz_testkit::set_model::{run_set, run_side_by_side, SetOp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut bytes = Bytes(data);
    let ops = bytes.ops(|bytes| match bytes.u8() % 9 {
        0 => SetOp::Advance(u64::from(bytes.u16())),
        1 => SetOp::Advance(u64::from(bytes.u8()) * 1000),
        2 | 3 => SetOp::Next,
        4 => SetOp::Stream,
        5 => SetOp::PollOnce,
        6 => {
            // The key's high bit adds a jitter of up to half the interval, seeded by
            // the byte: the corpus keeps its meaning but for that.
            let byte = bytes.u8();
            let (key, interval) = (byte % 8, bytes.interval());
            let (policy, start) = (bytes.policy(), bytes.start());
            if byte >= 0x80 {
                SetOp::InsertJittered(
                    key,
                    interval,
                    policy,
                    start,
                    (interval / 2, u64::from(byte)),
                )
            } else {
                SetOp::Insert(key, interval, policy, start)
            }
        }
        7 => SetOp::Remove(bytes.u8() % 8),
        _ => {
            // The key's high bit sends the control through a handle: the same
            // schedule, so the corpus keeps its meaning.
            let byte = bytes.u8();
            let (key, control) = (byte % 8, bytes.control());
            if byte >= 0x80 {
                SetOp::HandleControl(key, control)
            } else {
                SetOp::Control(key, control)
            }
        }
    });
    if let Err(difference) = run_set(&ops) {
        panic!("{difference}");
    }
    if let Err(difference) = run_side_by_side(&ops) {
        panic!("side by side: {difference}");
    }
});
