//! Drives a `TimerSet` with an operation sequence decoded from the fuzzer's bytes: inserts
//! (and replacements) of up to eight keys with every policy and start, removals, every
//! control, advances, awaited ticks, stream items and single polls; checks every tick,
//! the clock and each entry's deadline, `is_running` and interval against the set model
//! the proptest in `tests/set_model.rs` uses, and (with whole-millisecond advances) each
//! entry against a lone `Timer`. See CONTRIBUTING.md for how to run it.
#![no_main]

#[path = "../../tests/common/model.rs"]
#[allow(dead_code)]
mod model;
#[path = "../../tests/common/set_model.rs"]
#[allow(dead_code)]
mod set_model;

use libfuzzer_sys::fuzz_target;
use model::{Control, Policy, Start};
use set_model::{run_set, run_side_by_side, SetOp};

const MAX_OPS: usize = 256;

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

    fn offset(&mut self) -> i64 {
        i64::from(i16::from_le_bytes([self.u8(), self.u8()]))
    }

    fn key(&mut self) -> u8 {
        self.u8() % 8
    }

    fn policy(&mut self) -> Policy {
        match self.u8() % 4 {
            0 => Policy::TriggerAllMissed,
            1 => Policy::SkipMissedAndResync,
            2 => Policy::Timeout,
            _ => Policy::SkipMissedAndDrift {
                tolerance: u64::from(self.u16()),
            },
        }
    }

    fn interval(&mut self) -> u64 {
        let raw = u64::from(self.u16());
        if self.u8() % 2 == 0 {
            raw % 20_000 + 1
        } else {
            (raw % 1_000 + 1) * 1000
        }
    }

    fn start(&mut self) -> Start {
        match self.u8() % 4 {
            0 => Start::Later,
            1 => Start::Delay(u64::from(self.u16())),
            2 => Start::TickAtStartAfter(u64::from(self.u16())),
            _ => Start::FirstTickAt(self.offset()),
        }
    }

    fn control(&mut self) -> Control {
        match self.u8() % 7 {
            0 => Control::Reset,
            1 => Control::ResetAfter(u64::from(self.u16())),
            2 => Control::ResetAt(self.offset()),
            3 => Control::ResetImmediately,
            4 => Control::SetInterval(u64::from(self.u16())),
            5 => Control::SetInterval(u64::from(self.u8() % 20 + 1) * 1000),
            _ => Control::Stop,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut bytes = Bytes(data);
    let mut ops = Vec::new();
    while !bytes.0.is_empty() && ops.len() < MAX_OPS {
        ops.push(match bytes.u8() % 9 {
            0 => SetOp::Advance(u64::from(bytes.u16())),
            1 => SetOp::Advance(u64::from(bytes.u8()) * 1000),
            2 | 3 => SetOp::Next,
            4 => SetOp::Stream,
            5 => SetOp::PollOnce,
            6 => {
                let key = bytes.key();
                SetOp::Insert(key, bytes.interval(), bytes.policy(), bytes.start())
            }
            7 => SetOp::Remove(bytes.key()),
            _ => SetOp::Control(bytes.key(), bytes.control()),
        });
    }
    if let Err(difference) = run_set(&ops) {
        panic!("{difference}");
    }
    if let Err(difference) = run_side_by_side(&ops) {
        panic!("side by side: {difference}");
    }
});
