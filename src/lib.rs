// The README shows the timeline pictures by their paths in the repository, which render
// on the repository page; docs.rs serves no file of the repository. So for rustdoc the same
// reference names are defined first, as data: URIs (docs/timelines.md, generated with the
// pictures by `cargo run --example timeline`): of two definitions of a name, the first
// wins (CommonMark).
#![doc = include_str!("../docs/timelines.md")]
// Likewise the README's links to the API: docs.rs pages in README.md, which work on the
// repository page and on the registry; intra-doc links for rustdoc, defined first in
// docs/rustdoc-links.md (written by the `readme-links` tool, CONTRIBUTING.md).
#![doc = include_str!("../docs/rustdoc-links.md")]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod config;
mod error;
mod handle;
mod histogram;
mod human_duration;
mod jitter;
mod label;
pub mod policy;
#[cfg(feature = "precise")]
mod precise;
mod schedule;
mod set;
mod stats;
mod sync;
mod tick;
mod timer;
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
pub use timer::{NextTick, Timer};
pub use wall_clock::{SystemClock, WallClock};
