//! Who a timer is: its name (`TimerBuilder::name`), shown by `Debug`; and how a due time
//! reads in a log.
//!
//! A timer keeps its [`Label`] in its boxed extras, and its handles keep a copy in the
//! state they share with it, so an unnamed timer pays nothing for either.

use std::borrow::Cow;

/// A timer's name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Label {
    pub(crate) name: Option<Cow<'static, str>>,
}

impl Label {
    /// Whether there is nothing to keep.
    pub(crate) fn is_empty(&self) -> bool {
        self.name.is_none()
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
