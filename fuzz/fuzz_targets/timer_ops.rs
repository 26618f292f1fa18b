//! Drives a `Timer` with an operation sequence decoded from the fuzzer's bytes, and checks
//! every tick (with its missed and skipped counts), the clock, the deadline, `is_running`,
//! the interval and the stats, by the timer and by a handle, against the reference model that
//! the proptest in `tests/model.rs` uses; then the same operations with jitter. See CONTRIBUTING.md for how to run it.
#![no_main]

use kadenz_testkit::bytes::Bytes;
use kadenz_testkit::model::{run, run_jittered, Op};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut bytes = Bytes(data);
    // The same bytes, read in the same order, as before the readers moved out of this
    // file: the corpus keeps its meaning.
    let policy = bytes.policy();
    let interval = bytes.interval();
    let start = bytes.start();
    let ops = bytes.ops(|bytes| match bytes.u8() % 7 {
        0 => Op::Advance(u64::from(bytes.u16())),
        1 => Op::Advance(u64::from(bytes.u8()) * 1000),
        2 => Op::Tick,
        3 => Op::Next,
        4 => Op::PollOnce,
        5 => Op::Timer(bytes.control()),
        _ => Op::Handle(bytes.control()),
    });
    if let Err(difference) = run(interval, policy, start, &ops) {
        panic!("{difference}");
    }
    // The same operations with jitter, its bound and seed taken from the input as a whole
    // (no byte is read for them, so the corpus keeps its meaning).
    let fold = data
        .iter()
        .fold(0u64, |acc, &b| acc.rotate_left(5) ^ u64::from(b));
    let max = interval * (fold % 1_001) / 1_000;
    if let Err(difference) = run_jittered(interval, policy, start, (max, fold), &ops) {
        panic!("jittered by up to {max} µs, seed {fold}: {difference}");
    }
});
