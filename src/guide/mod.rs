//! The user guide: kadenz by task, one page per topic.
//!
//! The item documentation (the [crate root](crate) lists the items) says what each type
//! and method does; these pages say which of them a job needs and how they fit together.
//! Every example compiles as you see it, in a crate of your own that depends on kadenz and
//! on tokio with the features `macros`, `rt-multi-thread`, `time` and `sync` (`test-util`
//! in `[dev-dependencies]`, for the tests), plus what a page names: CI builds and runs them
//! so, with the dependencies of the README's Install section.
//!
//! | page | read it for |
//! |---|---|
//! | [`policies`] | what happens to ticks the receiver was too busy for, and choosing a policy |
//! | [`steering`] | where the schedule starts, resets, changing the period, stopping, timeouts and watchdogs, steering a timer from other tasks, what a tick tells |
//! | [`many_timers`] | one task driving many keyed timers: [`TimerSet`](crate::TimerSet) |
//! | [`precision`] | how late a tick fires on the real clock, precise timers, short intervals |
//! | [`testing`] | testing code that uses kadenz under tokio's paused clock |
//! | [`configuration`] | a timer described as data: [`TimerConfig`](crate::TimerConfig), text forms, serde |
//! | [`porting`] | name by name from `tokio::time::Interval`, Go's `time.Ticker` and frequenz-channels' `Timer` |

#[doc = include_str!("policies.md")]
pub mod policies {}

#[doc = include_str!("steering.md")]
pub mod steering {}

#[doc = include_str!("many_timers.md")]
pub mod many_timers {}

#[doc = include_str!("precision.md")]
pub mod precision {}

#[doc = include_str!("testing.md")]
pub mod testing {}

#[doc = include_str!("configuration.md")]
pub mod configuration {}

#[doc = include_str!("porting.md")]
pub mod porting {}
