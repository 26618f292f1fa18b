//! One entry of a [`TimerSet`](crate::TimerSet), 32 bytes: the schedule of a
//! [`Timer`](crate::Timer) in a compact form.
//!
//! The entry does no schedule arithmetic of its own. Every change loads it into the
//! `Schedule` that `Timer` uses (`schedule.rs`), runs the same code, and stores it back, so
//! an entry ticks exactly as a lone timer would. What makes it compact: instants are
//! nanoseconds from the set's epoch (8 bytes instead of 16), the policy is an index into
//! the set's table of policies (4 bytes instead of a 16-byte box), and the counters of
//! `Timer::stats` are kept for the whole set.

use std::time::Duration;

use tokio::time::Instant;

use crate::schedule::{Schedule, State};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    NotStarted,
    Running,
    /// Running, with the pending tick put at an instant (`State::Running::fixed`).
    RunningFixed,
    Stopped,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    interval_us: u64,
    /// Microseconds from the origin to the pending tick; `u64::MAX` is never.
    next_us: u64,
    /// The origin of the policy's time line, in nanoseconds from the set's epoch.
    origin_ns: i64,
    pub(super) policy: u32,
    phase: Phase,
    /// Held back by the set after a tick that did not advance its schedule: its due time
    /// has no item in the set's queue until the set lets it go (in the padding: the
    /// entry stays 32 bytes).
    pub(super) held: bool,
}

/// The sign bit flipped: nanoseconds from the epoch, negative ones included, in an order
/// that unsigned comparison keeps.
const FLIP: u64 = 1 << 63;

impl Entry {
    pub(super) fn new(interval_us: u64, policy: u32) -> Entry {
        Entry {
            interval_us,
            next_us: 0,
            origin_ns: 0,
            policy,
            phase: Phase::NotStarted,
            held: false,
        }
    }

    pub(super) fn phase(&self) -> Phase {
        self.phase
    }

    /// Microseconds from the origin to the pending tick: its place on the time line, for
    /// its jitter.
    pub(super) fn next_us(&self) -> u64 {
        self.next_us
    }

    pub(super) fn interval_us(&self) -> u64 {
        self.interval_us
    }

    pub(super) fn stop(&mut self) {
        self.phase = Phase::Stopped;
    }

    /// The schedule this entry stands for, its counters zero.
    pub(super) fn load(&self, epoch: Instant) -> Schedule {
        let mut schedule = Schedule::new(self.interval_us);
        schedule.state = match self.phase {
            Phase::NotStarted => State::NotStarted,
            Phase::Stopped => State::Stopped,
            Phase::Running | Phase::RunningFixed => State::Running {
                origin: instant(epoch, self.origin_ns),
                next_us: self.next_us,
                fixed: self.phase == Phase::RunningFixed,
            },
        };
        schedule
    }

    pub(super) fn store(&mut self, schedule: &Schedule, epoch: Instant) {
        self.interval_us = schedule.interval_us;
        match schedule.state {
            State::NotStarted => self.phase = Phase::NotStarted,
            State::Stopped => self.phase = Phase::Stopped,
            State::Running {
                origin,
                next_us,
                fixed,
                ..
            } => {
                self.phase = if fixed {
                    Phase::RunningFixed
                } else {
                    Phase::Running
                };
                match nanos_from(epoch, origin) {
                    Some(origin_ns) => {
                        self.origin_ns = origin_ns;
                        self.next_us = next_us;
                    }
                    // An origin about 292 years away from the epoch: the tick is never
                    // due within the life of the program.
                    None => {
                        self.origin_ns = 0;
                        self.next_us = u64::MAX;
                    }
                }
            }
        }
    }

    /// The due time of the pending tick, encoded for the heap; `None` if there is none
    /// (not running, or never).
    pub(super) fn due(&self) -> Option<u64> {
        if !matches!(self.phase, Phase::Running | Phase::RunningFixed) || self.next_us == u64::MAX {
            return None;
        }
        let next_ns = i128::from(self.next_us) * 1_000;
        let due = i64::try_from(i128::from(self.origin_ns) + next_ns).ok()?;
        Some(due as u64 ^ FLIP)
    }
}

/// A due time from [`Entry::due`], `offset_us` later (saturating at the end of the
/// encoding).
pub(super) fn due_after(due: u64, offset_us: u64) -> u64 {
    let ns = (due ^ FLIP) as i64;
    let offset_ns = i64::try_from(u128::from(offset_us) * 1_000).unwrap_or(i64::MAX);
    ns.saturating_add(offset_ns) as u64 ^ FLIP
}

/// The instant of a due time from [`Entry::due`].
pub(super) fn due_instant(epoch: Instant, due: u64) -> Instant {
    instant(epoch, (due ^ FLIP) as i64)
}

fn instant(epoch: Instant, ns: i64) -> Instant {
    let offset = Duration::from_nanos(ns.unsigned_abs());
    // Both directions fit: an `Instant` reaches far beyond ±292 years around any instant
    // a program sees, and saturating keeps this free of panics regardless.
    if ns >= 0 {
        epoch.checked_add(offset).unwrap_or(epoch)
    } else {
        epoch.checked_sub(offset).unwrap_or(epoch)
    }
}

fn nanos_from(epoch: Instant, at: Instant) -> Option<i64> {
    match at.checked_duration_since(epoch) {
        Some(after) => i64::try_from(after.as_nanos()).ok(),
        None => i64::try_from(epoch.duration_since(at).as_nanos())
            .ok()
            .map(|before| -before),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::Start;

    #[test]
    fn stores_and_loads_a_schedule_exactly() {
        let epoch = Instant::now();
        let origin = epoch - Duration::from_nanos(1_234_567);
        let mut schedule = Schedule::new(250);
        schedule.start(Start::Offset {
            at: origin,
            delay_us: 40,
        });
        let mut entry = Entry::new(1, 7);
        entry.store(&schedule, epoch);
        assert_eq!(entry.load(epoch), schedule);
        assert_eq!(
            Some(due_instant(epoch, entry.due().unwrap())),
            Some(origin + Duration::from_micros(40))
        );

        // Due times before the epoch sort before it.
        let mut later = entry;
        later.store(
            &{
                let mut s = schedule;
                s.start(Start::At(epoch + Duration::from_nanos(1)));
                s
            },
            epoch,
        );
        assert!(entry.due() < later.due());
    }

    #[test]
    fn an_entry_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 32);
    }
}
