//! Missed-tick policies of the tests' own: answers no built-in policy gives, that a
//! user's policy may (a time long past, the tick just delivered, a panic).

use kadenz::policy::MissedTickPolicy;

/// Answers the same due time whatever happened: `Always(0)` is long past (the timer is
/// always overdue), `Always(u64::MAX)` never comes.
#[derive(Debug)]
pub struct Always(pub u64);

impl MissedTickPolicy for Always {
    fn calculate_next_tick_time(&self, _: u64, _: u64, _: u64) -> u64 {
        self.0
    }
}

/// Stands still: the next tick is due when the one just delivered was (a lone timer then
/// ticks at once, for ever, its drift growing).
#[derive(Debug)]
pub struct StandStill;

impl MissedTickPolicy for StandStill {
    fn calculate_next_tick_time(&self, _: u64, scheduled_tick_time: u64, _: u64) -> u64 {
        scheduled_tick_time
    }
}

/// Panics, as a user's policy may.
#[derive(Debug)]
pub struct Panics;

impl MissedTickPolicy for Panics {
    fn calculate_next_tick_time(&self, _: u64, _: u64, _: u64) -> u64 {
        panic!("policy failure")
    }
}
