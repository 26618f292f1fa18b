//! Who a timer is: its name (`TimerBuilder::name`), shown by `Debug`, and with the
//! `tracing` feature the events it reports.
//!
//! A timer keeps its [`Label`] in its boxed extras, and its handles keep a copy in the
//! state they share with it, so an unnamed timer pays nothing for either. The events are
//! emitted from cold functions here: the tick path only checks whether the timer reports
//! at all (one branch on the extras pointer) and then whether this tick is worth an event.

use std::borrow::Cow;

/// A timer's name and, with the `tracing` feature, what it reports.
#[derive(Debug, Clone, Default)]
pub(crate) struct Label {
    pub(crate) name: Option<Cow<'static, str>>,
    /// `Some` for a timer that reports events: it has a name or a lateness threshold.
    #[cfg(feature = "tracing")]
    pub(crate) trace: Option<Trace>,
}

impl Label {
    /// Whether there is nothing to keep (no name, no events).
    pub(crate) fn is_empty(&self) -> bool {
        #[cfg(feature = "tracing")]
        if self.trace.is_some() {
            return false;
        }
        self.name.is_none()
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// What a reporting timer reports.
#[cfg(feature = "tracing")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Trace {
    /// `TimerBuilder::warn_if_late`: a tick whose drift is over this many microseconds is
    /// reported at `WARN`.
    pub(crate) late_after_us: Option<u64>,
}

#[cfg(feature = "tracing")]
pub(crate) use events::{command, tick};

/// The events, and their one target. Every field is an integer or a string: no allocation,
/// whatever the subscriber.
#[cfg(feature = "tracing")]
mod events {
    use super::Trace;
    use crate::Tick;

    /// The target of every event, for filters (`RUST_LOG=kadenz=debug`).
    const TARGET: &str = "kadenz";

    impl Trace {
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

/// A due time as a person reads it in a log: `in 37.2ms`, `now` or `overdue by 3ms`,
/// relative to an instant, to the microsecond.
pub(crate) struct Relative {
    due: tokio::time::Instant,
    now: tokio::time::Instant,
}

impl Relative {
    /// Relative to tokio's clock now.
    pub(crate) fn to_now(due: tokio::time::Instant) -> Self {
        Relative {
            due,
            now: tokio::time::Instant::now(),
        }
    }
}

impl std::fmt::Debug for Relative {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::schedule::saturating_micros;
        use std::time::Duration;

        let ahead = saturating_micros(self.due.saturating_duration_since(self.now));
        let behind = saturating_micros(self.now.saturating_duration_since(self.due));
        match (ahead, behind) {
            (0, 0) => f.write_str("now"),
            (0, behind) => write!(f, "overdue by {:?}", Duration::from_micros(behind)),
            (ahead, _) => write!(f, "in {:?}", Duration::from_micros(ahead)),
        }
    }
}
