//! Who a timer is: its name (`TimerBuilder::name`), shown by `Debug`, and with the
//! `tracing` feature the events it reports.
//!
//! A timer keeps its [`Label`] in its boxed extras, and its handles keep a copy in the
//! state they share with it, so an unnamed timer pays nothing for either. The events are
//! emitted from cold functions in `trace.rs`: the tick path only checks whether the timer reports
//! at all (one branch on the extras pointer) and then whether this tick is worth an event.

use std::borrow::Cow;

use crate::trace::Trace;

/// A timer's name and, with the `tracing` feature, what it reports.
#[derive(Debug, Clone, Default)]
pub(crate) struct Label {
    pub(crate) name: Option<Cow<'static, str>>,
    /// `Some` for a timer that reports events: it has a name or a lateness threshold
    /// (never, without the `tracing` feature: then the `Option` has no size).
    pub(crate) trace: Option<Trace>,
}

impl Label {
    /// Whether there is nothing to keep (no name, no events).
    pub(crate) fn is_empty(&self) -> bool {
        self.trace.is_none() && self.name.is_none()
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref()
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
