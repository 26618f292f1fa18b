//! What kadenz's measurement tools share: polling timers by hand, the same way for kadenz
//! and tokio (the `ops` bench and the `figures` program).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::future::Future;
use std::pin::Pin;
use std::task::Context;

use kadenz::Timer;
use tokio::time::{Interval, Sleep};

/// A timer that can be polled once before it is due, so that it registers with the timer
/// wheel (and holds what a waiting timer holds).
pub trait PollOnce {
    /// Polls once; the timer must not be due.
    fn poll_once(&mut self, cx: &mut Context<'_>);
}

impl PollOnce for Timer {
    fn poll_once(&mut self, cx: &mut Context<'_>) {
        assert!(self.poll_tick(cx).is_pending());
    }
}

impl PollOnce for Interval {
    fn poll_once(&mut self, cx: &mut Context<'_>) {
        assert!(self.poll_tick(cx).is_pending());
    }
}

impl PollOnce for Pin<Box<Sleep>> {
    fn poll_once(&mut self, cx: &mut Context<'_>) {
        assert!(self.as_mut().poll(cx).is_pending());
    }
}

/// A waker that does nothing, for polling by hand: the tests' own.
pub use kadenz_testkit::noop_waker;
