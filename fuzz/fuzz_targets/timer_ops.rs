//! Drives a `Timer` with an operation sequence decoded from the fuzzer's bytes, and checks
//! every tick (with its missed and skipped counts), the clock, the deadline, `is_running`,
//! the interval and the stats, by the timer and by a handle, against the reference model that
//! the proptest in `tests/model.rs` uses. See CONTRIBUTING.md for how to run it.
#![no_main]

#[path = "../../tests/common/model.rs"]
#[allow(dead_code)]
mod model;

use libfuzzer_sys::fuzz_target;
use model::{run, Control, Op, Policy, Start};

/// The most operations one input runs: enough for long schedules, few enough to keep
/// executions fast.
const MAX_OPS: usize = 256;

/// Reads the input front to back; past its end, every read is zero.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let (&first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        first
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// An offset in µs from -32,768 to 32,767: an instant in the past or the future.
    fn offset(&mut self) -> i64 {
        i64::from(i16::from_le_bytes([self.u8(), self.u8()]))
    }

    fn control(&mut self) -> Control {
        match self.u8() % 7 {
            0 => Control::Reset,
            1 => Control::ResetAfter(u64::from(self.u16())),
            2 => Control::ResetAt(self.offset()),
            3 => Control::ResetImmediately,
            // Microsecond intervals (0 is refused), or millisecond ones.
            4 => Control::SetInterval(u64::from(self.u16())),
            5 => Control::SetInterval(u64::from(self.u8() % 20 + 1) * 1000),
            _ => Control::Stop,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut bytes = Bytes(data);
    let policy = match bytes.u8() % 4 {
        0 => Policy::TriggerAllMissed,
        1 => Policy::SkipMissedAndResync,
        2 => Policy::Timeout,
        _ => Policy::SkipMissedAndDrift {
            tolerance: u64::from(bytes.u16()),
        },
    };
    // Microsecond intervals, or millisecond ones where the wheel's rounding vanishes.
    let raw = u64::from(bytes.u16());
    let interval = if bytes.u8() % 2 == 0 {
        raw % 20_000 + 1
    } else {
        (raw % 1_000 + 1) * 1000
    };
    let start = match bytes.u8() % 4 {
        0 => Start::Later,
        1 => Start::Delay(u64::from(bytes.u16())),
        2 => Start::TickAtStartAfter(u64::from(bytes.u16())),
        _ => Start::FirstTickAt(bytes.offset()),
    };
    let mut ops = Vec::new();
    while !bytes.0.is_empty() && ops.len() < MAX_OPS {
        ops.push(match bytes.u8() % 7 {
            0 => Op::Advance(u64::from(bytes.u16())),
            1 => Op::Advance(u64::from(bytes.u8()) * 1000),
            2 => Op::Tick,
            3 => Op::Next,
            4 => Op::PollOnce,
            5 => Op::Timer(bytes.control()),
            _ => Op::Handle(bytes.control()),
        });
    }
    if let Err(difference) = run(interval, policy, start, &ops) {
        panic!("{difference}");
    }
});
