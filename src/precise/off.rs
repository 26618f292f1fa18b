//! The stand-in for [`Precise`] without the cargo feature `precise`: the same items, none
//! of which can run, since no value of the type exists. A timer's or a set's
//! `Option<Precise>` is then always `None` and has no size, and every branch on it is
//! removed at compile time: a default build waits on the wheel alone, with nothing to
//! check.

use std::task::{Context, Poll};

use tokio::time::Instant;

use crate::wait::WheelSleep;

/// No OS timer: no value of this type exists.
#[derive(Debug)]
pub(crate) enum Precise {}

impl Precise {
    /// Always `None`: without the feature, no timer is precise.
    #[inline(always)]
    pub(crate) fn new_if(_precise: bool) -> Option<Self> {
        None
    }

    #[inline(always)]
    pub(crate) fn wait(
        &mut self,
        _sleep: &mut WheelSleep,
        _cx: &mut Context<'_>,
        _scheduled: Instant,
        _now: Instant,
    ) -> Poll<()> {
        match *self {}
    }

    #[inline(always)]
    pub(crate) fn wheel_alone(&self) -> bool {
        match *self {}
    }

    #[inline(always)]
    pub(crate) fn is_available(&self) -> bool {
        match *self {}
    }
}
