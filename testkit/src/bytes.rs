//! Decoding a fuzzer's bytes into the operations of the model runners, shared by the fuzz
//! targets.

use crate::model::{Control, Policy, Start};

/// Reads the input front to back; past its end, every read is zero.
pub struct Bytes<'a>(pub &'a [u8]);

/// The most operations one input runs: enough for long schedules, few enough to keep
/// executions fast.
pub const MAX_OPS: usize = 256;

impl Bytes<'_> {
    /// Operations decoded by `op`, one after the other, until the input ends or there are
    /// [`MAX_OPS`] of them.
    pub fn ops<T>(&mut self, mut op: impl FnMut(&mut Self) -> T) -> Vec<T> {
        let mut ops = Vec::new();
        while !self.0.is_empty() && ops.len() < MAX_OPS {
            ops.push(op(self));
        }
        ops
    }

    pub fn u8(&mut self) -> u8 {
        let (&first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        first
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// An offset in µs from -32,768 to 32,767: an instant in the past or the future.
    pub fn offset(&mut self) -> i64 {
        i64::from(i16::from_le_bytes([self.u8(), self.u8()]))
    }

    pub fn policy(&mut self) -> Policy {
        let byte = self.u8();
        match byte % 4 {
            0 => Policy::TriggerAllMissed,
            1 => Policy::SkipMissedAndResync,
            2 => Policy::Timeout,
            // Four of the bytes that chose a tolerance before this policy came: the
            // corpus keeps the meaning of the others.
            _ if byte >= 0xf0 => Policy::TriggerMissedUpTo {
                max: u64::from((byte >> 2) & 3),
            },
            _ => Policy::SkipMissedAndDrift {
                tolerance: u64::from(self.u16()),
            },
        }
    }

    /// Microsecond intervals, or millisecond ones where the wheel's rounding vanishes.
    pub fn interval(&mut self) -> u64 {
        let raw = u64::from(self.u16());
        if self.u8() % 2 == 0 {
            raw % 20_000 + 1
        } else {
            (raw % 1_000 + 1) * 1000
        }
    }

    pub fn start(&mut self) -> Start {
        match self.u8() % 4 {
            0 => Start::Later,
            1 => Start::Delay(u64::from(self.u16())),
            2 => Start::TickAtStartAfter(u64::from(self.u16())),
            _ => Start::FirstTickAt(self.offset()),
        }
    }

    pub fn control(&mut self) -> Control {
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
