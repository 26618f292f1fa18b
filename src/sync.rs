//! The synchronisation primitives of the timer handle: std's, or loom's when the crate is
//! built for the loom model check (`RUSTFLAGS="--cfg kadenz_loom"`, see
//! `handle/loom_check.rs`).

#[cfg(kadenz_loom)]
pub(crate) use loom::sync::{atomic::AtomicBool, Arc, Mutex, MutexGuard};
#[cfg(not(kadenz_loom))]
pub(crate) use std::sync::{atomic::AtomicBool, Arc, Mutex, MutexGuard};
