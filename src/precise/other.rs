//! The stand-in for the OS timer of precise timers on every platform but Linux: the same
//! items as `linux/mod.rs`, none of which can serve. [`EXISTS`] is `false`, so `Precise`
//! never asks it (nor looks whether tokio's clock runs): a precise timer waits on the
//! wheel alone, exactly as a default timer, and says so (`Timer::is_precise` is `false`).

use std::task::Waker;

use tokio::time::Instant;

/// This platform has no OS timer.
pub(super) const EXISTS: bool = false;

/// No OS timer: nothing to hold.
#[derive(Debug)]
pub(super) struct OsTimer;

impl OsTimer {
    pub(super) fn new() -> Self {
        OsTimer
    }

    /// Nothing was asked of any runtime's OS timer.
    pub(super) fn is_here(&self) -> bool {
        true
    }

    pub(super) fn is_available(&self) -> bool {
        false
    }

    /// Never asked ([`EXISTS`] is `false`); would there be a call, no OS timer serves.
    pub(super) fn wake_at(&mut self, _due: Instant, _now: Instant, _waker: &Waker) -> bool {
        false
    }

    pub(super) fn cancel(&self) {}
}
