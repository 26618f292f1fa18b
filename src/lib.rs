#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

mod error;
pub mod policy;
mod timer;

pub use error::Error;
pub use timer::{NextTick, Tick, Timer, TimerBuilder};
