//! The `tracing` events (cargo feature `tracing`), and their one home: with the feature,
//! the events themselves; without it, a stand-in with the same items that compiles to
//! nothing, so that the tick path, the handles and the builder call them without `cfg`.
//!
//! Without the feature, [`Trace`] has no value at all (an empty `enum`): the
//! `Option<Trace>` a [`Label`](crate::label::Label) keeps is always `None` and has no
//! size, and every branch on it is removed at compile time.

#[cfg(feature = "tracing")]
pub(crate) use events::{command, tick, Trace};
#[cfg(not(feature = "tracing"))]
pub(crate) use off::{command, tick, Trace};

/// The events, and their one target. Every field is an integer or a string: no allocation,
/// whatever the subscriber.
#[cfg(feature = "tracing")]
mod events {
    use crate::Tick;

    /// The target of every event, for filters (`RUST_LOG=kadenz=debug`).
    const TARGET: &str = "kadenz";

    /// What a reporting timer reports.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) struct Trace {
        /// `TimerBuilder::warn_if_late`: a tick whose drift is over this many microseconds
        /// is reported at `WARN`.
        late_after_us: Option<u64>,
    }

    impl Trace {
        /// What a timer with this name (if `named`) and this `TimerBuilder::warn_if_late`
        /// threshold reports: `None` if nothing.
        pub(crate) fn new(named: bool, late_after_us: Option<u64>) -> Option<Self> {
            (named || late_after_us.is_some()).then_some(Trace { late_after_us })
        }

        /// The `TimerBuilder::warn_if_late` threshold, in microseconds.
        pub(crate) fn late_after_us(&self) -> Option<u64> {
            self.late_after_us
        }

        /// Whether `tick` is worth an event: later than the threshold, or after it the
        /// policy skipped due times.
        #[inline]
        pub(crate) fn wants(&self, tick: &Tick) -> bool {
            tick.skipped() != 0
                || matches!(self.late_after_us, Some(late) if tick.drift_us() > late)
        }
    }

    /// Reports a tick that [`Trace::wants`]: one event, `WARN` if it is later than the
    /// threshold, else `INFO` for the skipped due times.
    #[cold]
    #[inline(never)]
    pub(crate) fn tick(name: Option<&str>, trace: &Trace, tick: &Tick, interval_us: u64) {
        let drift_us = tick.drift_us();
        match trace.late_after_us {
            Some(threshold_us) if drift_us > threshold_us => tracing::warn!(
                target: TARGET,
                timer = name,
                drift_us,
                threshold_us,
                missed = tick.missed(),
                skipped = tick.skipped(),
                interval_us,
                "tick later than its threshold",
            ),
            _ => tracing::info!(
                target: TARGET,
                timer = name,
                drift_us,
                missed = tick.missed(),
                skipped = tick.skipped(),
                interval_us,
                "ticks skipped",
            ),
        }
    }

    /// Reports a handle's command (`reset`, `reset_after`, `reset_at`,
    /// `reset_immediately`, `stop`, `set_interval`), from the task that gave it.
    #[cold]
    #[inline(never)]
    pub(crate) fn command(name: Option<&str>, command: &'static str, interval_us: u64) {
        tracing::debug!(
            target: TARGET,
            timer = name,
            command,
            interval_us,
            "command from a handle",
        );
    }
}

/// The stand-in without the feature: the same items, none of which can run, since no
/// [`Trace`] exists to call them with or to reach them through.
#[cfg(not(feature = "tracing"))]
mod off {
    use crate::Tick;

    /// Nothing to report: no value of this type exists.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Trace {}

    impl Trace {
        /// Always `None`: without the feature, no timer reports anything.
        #[inline(always)]
        pub(crate) fn new(_named: bool, _late_after_us: Option<u64>) -> Option<Self> {
            None
        }

        #[inline(always)]
        pub(crate) fn late_after_us(&self) -> Option<u64> {
            match *self {}
        }

        #[inline(always)]
        pub(crate) fn wants(&self, _tick: &Tick) -> bool {
            match *self {}
        }
    }

    #[inline(always)]
    pub(crate) fn tick(_name: Option<&str>, trace: &Trace, _tick: &Tick, _interval_us: u64) {
        match *trace {}
    }

    /// Called only for a timer whose label has a [`Trace`], which none has.
    #[inline(always)]
    pub(crate) fn command(_name: Option<&str>, _command: &'static str, _interval_us: u64) {}
}
