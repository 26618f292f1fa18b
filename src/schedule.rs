//! The schedule of a timer: when its next tick is due, and the tick it yields when asked at
//! a given instant. Integers and instants handed in by the caller only: nothing here reads
//! a clock or waits, so every way of waiting (the timer wheel today) shares this one piece,
//! and the reference model in `testkit/src/model.rs` describes exactly this.

use std::time::Duration;

use tokio::time::Instant;

use crate::policy::Policy;
use crate::stats::Stats;
use crate::tick::Tick;

/// Where a schedule is in its life. An enum rather than optional fields, so that a state
/// the timer cannot be in cannot be written down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Built with `auto_start(false)` and neither reset nor polled since.
    NotStarted,
    /// The next tick is due `next_us` microseconds after `origin`, the zero of the time
    /// line the policy sees. `u64::MAX` is the end of the time line: never.
    Running {
        origin: Instant,
        next_us: u64,
        /// The pending tick was put at an instant (`tick_at_start`, `reset_at`,
        /// `reset_immediately`, wall-clock alignment) rather than counted one interval
        /// from the tick before it, so a new interval does not move it.
        fixed: bool,
    },
    /// Stopped; only a (re)start runs it again.
    Stopped,
}

/// How a (re)start places the first tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// `delay_us + interval` after `at`: `reset`, `reset_after`, a builder start delay.
    After { at: Instant, delay_us: u64 },
    /// `delay_us` after `at`, then every interval: `tick_at_start(true)`.
    Offset { at: Instant, delay_us: u64 },
    /// At the instant itself, then every interval: `reset_at`, `reset_immediately`,
    /// `first_tick_at`, wall-clock alignment. The time line starts at the first tick.
    At(Instant),
}

/// What the schedule waits for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// Not started yet: the first poll starts it.
    NotStarted,
    /// Stopped: receiving yields `None`.
    Stopped,
    /// Running, but the next tick lies beyond the end of the time line.
    Never,
    /// The next tick is due at this instant.
    At(Instant),
}

impl Due {
    /// The instant of the next tick, if there is one to wait for.
    pub(crate) fn at(self) -> Option<Instant> {
        match self {
            Due::At(due) => Some(due),
            Due::NotStarted | Due::Stopped | Due::Never => None,
        }
    }
}

/// A timer's schedule: its interval, its state and its counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Schedule {
    pub(crate) interval_us: u64,
    pub(crate) state: State,
    pub(crate) stats: Stats,
}

impl Schedule {
    pub(crate) fn new(interval_us: u64) -> Self {
        Schedule {
            interval_us,
            state: State::NotStarted,
            stats: Stats::default(),
        }
    }

    pub(crate) fn start(&mut self, start: Start) {
        self.state = match start {
            Start::After { at, delay_us } => State::Running {
                origin: at,
                next_us: delay_us.saturating_add(self.interval_us),
                fixed: false,
            },
            Start::Offset { at, delay_us } => State::Running {
                origin: at,
                next_us: delay_us,
                fixed: true,
            },
            Start::At(first_tick) => State::Running {
                origin: first_tick,
                next_us: 0,
                fixed: true,
            },
        };
    }

    pub(crate) fn stop(&mut self) {
        self.state = State::Stopped;
    }

    /// Changes the interval, keeping the rhythm: a pending tick that was counted one
    /// interval from the tick before it is now counted one *new* interval from there.
    /// A tick fixed at an instant stays where it is, and so does "never". Whether the
    /// pending tick was counted anew (and a wait for it ends).
    pub(crate) fn set_interval(&mut self, interval_us: u64) -> bool {
        let old = std::mem::replace(&mut self.interval_us, interval_us);
        if let State::Running {
            next_us,
            fixed: false,
            ..
        } = &mut self.state
        {
            if *next_us != u64::MAX {
                *next_us = next_us.saturating_sub(old).saturating_add(interval_us);
                return true;
            }
        }
        false
    }

    pub(crate) fn is_running(&self) -> bool {
        matches!(self.state, State::Running { .. })
    }

    pub(crate) fn due(&self) -> Due {
        match self.state {
            State::NotStarted => Due::NotStarted,
            State::Stopped => Due::Stopped,
            State::Running {
                origin, next_us, ..
            } => match instant_at(origin, next_us) {
                Some(due) => Due::At(due),
                None => Due::Never,
            },
        }
    }

    /// Delivers the tick due at `scheduled` (the instant [`due`](Self::due) returned),
    /// received at `now`, and asks the policy for the next one.
    ///
    /// The state is `Stopped` while the policy runs: a panicking policy leaves a stopped
    /// schedule, not one that would call it again with the same arguments.
    ///
    /// Always inlined (the compiler's own choice changes with the size of the poll that
    /// calls it, and with the built-in policies' arithmetic in it, `Policy::next_tick_time`,
    /// it kept it out of line): as a call of its own it costs an overdue tick about 30
    /// instructions of 320 (callgrind, release-clock's `tick_overdue`).
    #[inline(always)]
    pub(crate) fn deliver(&mut self, policy: &Policy, scheduled: Instant, now: Instant) -> Tick {
        let State::Running {
            origin, next_us, ..
        } = self.state
        else {
            unreachable!("a tick is delivered only while running");
        };
        // `scheduled` is a whole number of microseconds after `origin`, so the whole
        // microseconds from `origin` to `now` are `next_us + drift_us`: one division per
        // tick instead of two. A clock behind the schedule (the wheel never wakes early in
        // practice) counts as no drift, so the policy is still promised `now >= scheduled`.
        let drift_us = saturating_micros(now.saturating_duration_since(scheduled));
        // The time line saturates at u64::MAX µs; the drift does not wrap it.
        let now_us = next_us.saturating_add(drift_us);
        let interval_us = self.interval_us;
        self.state = State::Stopped;
        let next = policy.next_tick_time(interval_us, next_us, now_us);
        self.state = State::Running {
            origin,
            next_us: next,
            fixed: false,
        };
        let skipped = skipped(interval_us, next_us, now_us, next);
        self.stats.record(drift_us, skipped);
        Tick::new(scheduled, drift_us, whole(drift_us, interval_us), skipped)
    }
}

impl Schedule {
    /// Delivers the tick due at `due` that fires `offset` later (its jitter), received at
    /// `now`: the schedule and the policy see it as fired on its due time plus its
    /// lateness, and the tick reports the instant it was meant to fire. A timer's and a
    /// set entry's jittered ticks, both.
    pub(crate) fn deliver_jittered(
        &mut self,
        policy: &Policy,
        due: Instant,
        offset: Duration,
        now: Instant,
    ) -> Tick {
        let now = now.checked_sub(offset).unwrap_or(now).max(due);
        self.deliver(policy, due, now).shifted(offset)
    }
}

/// The due times on the interval's rhythm after `scheduled` that had come by `now` and
/// that the policy's answer `next` jumps over: `scheduled + k·interval` for `k >= 1`, at
/// or before `now` and before `next`.
fn skipped(interval: u64, scheduled: u64, now: u64, next: u64) -> u64 {
    if next <= scheduled {
        return 0;
    }
    // Past `scheduled`, the last due time that counts is at most `now` and at most
    // `next - 1`.
    whole(now.min(next - 1) - scheduled, interval)
}

/// `late / interval`, without a division for the common tick that is less than one
/// interval late (a division costs more than the rest of a tick's arithmetic).
fn whole(late: u64, interval: u64) -> u64 {
    if late < interval {
        0
    } else {
        late / interval
    }
}

/// `origin + us` microseconds, or `None` past the end of the time line (`u64::MAX`) or
/// of what an `Instant` can hold.
pub(crate) fn instant_at(origin: Instant, us: u64) -> Option<Instant> {
    if us == u64::MAX {
        return None;
    }
    origin.checked_add(Duration::from_micros(us))
}

/// Whole microseconds, saturating at `u64::MAX`.
pub(crate) fn saturating_micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_counts_the_due_times_jumped_over() {
        let s = 1_000_000;
        // The reference walk-throughs: T3 due at 3 s, received at 4.3 s.
        assert_eq!(skipped(s, 3 * s, 4_300_000, 4 * s), 0, "TriggerAllMissed");
        assert_eq!(
            skipped(s, 3 * s, 4_300_000, 5 * s),
            1,
            "SkipMissedAndResync"
        );
        // SkipMissedAndDrift: T3 due at 3.2 s, received at 4.3 s, next at 5.3 s: only
        // 4.2 s had come.
        assert_eq!(skipped(s, 3_200_000, 4_300_000, 5_300_000), 1);
        // On time, or a policy that goes backwards: nothing skipped.
        assert_eq!(skipped(s, 3 * s, 3 * s, 4 * s), 0);
        assert_eq!(skipped(s, 3 * s, 5 * s, 0), 0);
        // The largest values do not overflow.
        assert_eq!(skipped(1, 0, u64::MAX, u64::MAX), u64::MAX - 1);
    }

    #[test]
    fn set_interval_keeps_the_rhythm_of_counted_ticks_only() {
        let at = Instant::now();
        let mut schedule = Schedule::new(100);
        schedule.start(Start::After { at, delay_us: 30 });
        schedule.set_interval(50);
        assert_eq!(schedule.due(), Due::At(at + Duration::from_micros(80)));

        schedule.start(Start::At(at));
        schedule.set_interval(10);
        assert_eq!(schedule.due(), Due::At(at), "a fixed tick stays");
    }
}
