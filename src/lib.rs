//! Drift-aware periodic and timeout timers for [tokio](https://tokio.rs).
//!
//! A [`Timer`] ticks every interval and tells you, with every [`Tick`], when that tick was
//! due and how late it fired: its [drift](Tick::drift). When your task is too busy to
//! receive ticks on time, a [missed-tick policy](policy) decides what happens next: fire
//! every missed tick, skip them and keep the original phase, skip them and start over from
//! the late tick, or anything you write yourself. The schedule is kept in integer
//! microseconds: its arithmetic is exact and saturating, so it never panics and never
//! wraps. kadenz is a port of the `Timer` of the Python library
//! [frequenz-channels](https://frequenz-floss.github.io/frequenz-channels-python/).
//!
//! ```
//! use std::time::Duration;
//! use kadenz::Timer;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let mut timer = Timer::periodic(Duration::from_millis(100));
//! for n in 1..=3 {
//!     let tick = timer.tick().await.expect("only a stopped timer returns None");
//!     println!("tick {n} fired {:?} after it was due", tick.drift());
//! }
//! # }
//! ```
//!
//! # Where to start
//!
//! - [`Timer`]: [`Timer::periodic`] for periodic work, [`Timer::timeout`] for watchdogs,
//!   [`Timer::builder`] for every option ([`TimerBuilder`]), [`Timer::handle`] to steer a
//!   timer from other tasks ([`TimerHandle`]).
//! - [`policy`]: what happens to missed ticks, and writing a policy of your own.
//! - [`TimerSet`]: many keyed timers driven by one task.
//! - [`TimerConfig`]: a timer described as data, from a configuration file.
//! - The [guide]: one page per task, from choosing a policy to testing under tokio's
//!   paused clock and porting from tokio, Go or frequenz-channels.
//!
//! # Cargo features
//!
//! None is on by default.
//!
//! | feature | adds |
//! |---|---|
//! | `precise` | [`TimerBuilder::precise`](https://docs.rs/kadenz/latest/kadenz/struct.TimerBuilder.html#method.precise): ticks tens of microseconds late instead of 1 to 2 ms, on Linux (a timerfd; rustix) |
//! | `serde` | (de)serializing [`TimerConfig`], [`HumanDuration`] and [`policy::BuiltinPolicy`] (serde) |
//! | `tracing` | events for late and skipped ticks and for handles' commands on the tracing facade, and [`TimerBuilder::warn_if_late`](https://docs.rs/kadenz/latest/kadenz/struct.TimerBuilder.html#method.warn_if_late) (tracing) |
//!
//! A timer runs inside a tokio runtime with the time driver enabled: `#[tokio::main]` and
//! `#[tokio::test]` enable it; a runtime you build yourself needs `enable_time()` (or
//! `enable_all()`). The minimum supported Rust version is 1.71 (tokio 1.49's).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod config;
mod error;
pub mod guide;
mod handle;
mod histogram;
mod human_duration;
mod jitter;
mod label;
pub mod policy;
#[cfg(feature = "precise")]
mod precise;
#[cfg(not(feature = "precise"))]
#[path = "precise/off.rs"]
mod precise;
mod schedule;
mod set;
mod stats;
mod sync;
mod tick;
mod timer;
mod trace;
mod wait;
mod wall_clock;

pub use builder::TimerBuilder;
pub use config::TimerConfig;
pub use error::Error;
pub use handle::TimerHandle;
pub use histogram::DriftHistogram;
pub use human_duration::HumanDuration;
pub use set::{Next, SetHandle, TimerSet};
pub use stats::Stats;
pub use tick::Tick;
pub use timer::{NextTick, Timer, WaitTick};
pub use wall_clock::{SystemClock, WallClock};
