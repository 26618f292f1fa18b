//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses its own subset

pub mod model;

#[allow(unused_imports)] // not every test binary polls by hand
pub use model::noop_waker;

use std::time::Duration;

use kadenz::{Tick, Timer};
use tokio::time::Instant;

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// Receives the next tick once the clock reads `at`: the receiver was busy until then.
///
/// The clock is advanced by hand, to the microsecond: `sleep_until` would land on the next
/// millisecond, the resolution of tokio's timer wheel.
pub async fn tick_at(timer: &mut Timer, at: Instant) -> Tick {
    let now = Instant::now();
    assert!(at >= now, "the clock cannot go back");
    tokio::time::advance(at - now).await;
    timer.tick().await.expect("the timer is running")
}

/// A tick, as (offset of `scheduled` from `origin`, drift), both in microseconds.
pub fn offsets(origin: Instant, tick: Tick) -> (u64, u64) {
    let scheduled = tick.scheduled().duration_since(origin).as_micros() as u64;
    (scheduled, tick.drift().as_micros() as u64)
}
