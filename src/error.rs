//! The one error type of the crate.

use std::time::Duration;

const INTERVAL_TOO_SHORT: &str = "is shorter than the 1µs resolution of the timer";
const INTERVAL_TOO_LONG: &str = "is longer than the longest supported interval of u64::MAX µs";
const START_DELAY_TOO_LONG: &str = "is longer than the longest supported delay of u64::MAX µs";

impl Error {
    /// What is wrong with the value of a duration error, as a phrase that follows the
    /// value: for the same message with the value as written.
    #[cfg(feature = "serde")]
    pub(crate) fn value_problem(&self) -> Option<&'static str> {
        match self {
            Error::IntervalTooShort(_) => Some(INTERVAL_TOO_SHORT),
            Error::IntervalTooLong(_) => Some(INTERVAL_TOO_LONG),
            Error::StartDelayTooLong(_) => Some(START_DELAY_TOO_LONG),
            _ => None,
        }
    }
}

/// Why a [`TimerBuilder`](crate::TimerBuilder) refused to build a [`Timer`](crate::Timer),
/// [`Timer::set_interval`](crate::Timer::set_interval) refused an interval, a
/// [`TimerSet`](crate::TimerSet) was full, a string was not a
/// [duration](crate::HumanDuration) or a [policy](crate::policy::BuiltinPolicy), or a
/// [`TimerConfig`](crate::TimerConfig) asked for what this build cannot do.
///
/// Every variant carries the value that was rejected, so the message says exactly what
/// was wrong (and, for a string, what would have been accepted).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use kadenz::{Error, Timer};
///
/// let err = Timer::builder(Duration::from_nanos(500)).auto_start(false).build().unwrap_err();
/// assert_eq!(err, Error::IntervalTooShort(Duration::from_nanos(500)));
/// assert_eq!(err.to_string(), "interval 500ns is shorter than the 1µs resolution of the timer");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The interval is under one microsecond, the resolution of the timer.
    #[error("interval {0:?} {problem}", problem = INTERVAL_TOO_SHORT)]
    IntervalTooShort(Duration),

    /// The interval does not fit in a `u64` count of microseconds (about 584,542 years).
    #[error("interval {0:?} {problem}", problem = INTERVAL_TOO_LONG)]
    IntervalTooLong(Duration),

    /// The start delay does not fit in a `u64` count of microseconds.
    #[error("start delay {0:?} {problem}", problem = START_DELAY_TOO_LONG)]
    StartDelayTooLong(Duration),

    /// A start delay was given to a timer built with `auto_start(false)`.
    ///
    /// A delay is measured from the start, and such a timer has no start until it is
    /// first reset or polled; use [`Timer::reset_after`](crate::Timer::reset_after) then.
    #[error(
        "start delay {0:?} needs auto_start(true); a timer built with auto_start(false) \
         starts on its first reset() or poll, use reset_after(delay) instead"
    )]
    StartDelayWithoutAutoStart(Duration),

    /// Two builder options that cannot go together: `option` with `conflicts_with`.
    ///
    /// `tick_at_start(true)`, `first_tick_at` and `align_to_wall_clock` place the first
    /// tick of a timer that starts at once, so they need `auto_start(true)`;
    /// `first_tick_at` fixes the first tick, so it takes no start delay, `tick_at_start`
    /// or alignment.
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Error, Timer};
    ///
    /// let err = Timer::builder(Duration::from_secs(1))
    ///     .tick_at_start(true)
    ///     .auto_start(false)
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "tick_at_start(true) cannot be combined with auto_start(false)",
    /// );
    /// ```
    #[error("{option} cannot be combined with {conflicts_with}")]
    ConflictingOptions {
        /// The option that needs something else.
        option: &'static str,
        /// The option it cannot go with.
        conflicts_with: &'static str,
    },

    /// The [jitter](crate::TimerBuilder::jitter) is longer than the interval: a tick could
    /// fire after the next one is due.
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Error, Timer};
    ///
    /// let err = Timer::builder(Duration::from_millis(100))
    ///     .jitter(Duration::from_millis(150))
    ///     .auto_start(false)
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.to_string(), "jitter 150ms is longer than the interval 100ms");
    /// ```
    #[error("jitter {jitter:?} is longer than the interval {interval:?}")]
    JitterTooLong {
        /// The jitter asked for.
        jitter: Duration,
        /// The timer's interval.
        interval: Duration,
    },

    /// The timer was asked to start at once, but no tokio runtime is entered.
    #[error(
        "auto_start(true) needs a tokio runtime, but none is entered on this thread; \
         build inside the runtime or use auto_start(false)"
    )]
    NoRuntime,

    /// A [`TimerSet`](crate::TimerSet) holding this many entries has no room for another
    /// (its slots are counted in `u32`).
    ///
    /// ```
    /// # use kadenz::Error;
    /// let err = Error::SetFull(4_294_967_294);
    /// assert!(err.to_string().contains("4294967294 entries"));
    /// ```
    #[error("the timer set is full: it holds {0} entries, the most a set can hold")]
    SetFull(usize),

    /// A string is not a duration in the format of [`HumanDuration`](crate::HumanDuration).
    ///
    /// ```
    /// use kadenz::{Error, HumanDuration};
    ///
    /// let err = "250".parse::<HumanDuration>().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid duration \"250\": it has no unit; expected a number and one unit out \
    ///      of ns, us or µs, ms, s, min, h, such as \"250ms\", \"1.5s\" or \"15min\"",
    /// );
    /// ```
    #[error(
        "invalid duration {input:?}: it {problem}; expected a number and one unit out of \
         ns, us or µs, ms, s, min, h, such as \"250ms\", \"1.5s\" or \"15min\""
    )]
    InvalidDuration {
        /// The string that was rejected.
        input: String,
        /// What is wrong with it, as in "has no unit".
        problem: &'static str,
    },

    /// A string is not one of the built-in policies of
    /// [`BuiltinPolicy`](crate::policy::BuiltinPolicy).
    ///
    /// ```
    /// use kadenz::Error;
    /// use kadenz::policy::BuiltinPolicy;
    ///
    /// let err = "skip-missed".parse::<BuiltinPolicy>().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid missed-tick policy \"skip-missed\": it is not the name of a built-in \
    ///      policy; expected \"trigger-all-missed\", \"skip-missed-and-resync\", \
    ///      \"skip-missed-and-drift\", \"skip-missed-and-drift:<delay tolerance>\" with \
    ///      a duration such as \"5ms\" or \"trigger-missed-up-to:<max>\" with a whole \
    ///      number such as 3",
    /// );
    /// ```
    #[error(
        "invalid missed-tick policy {input:?}: it {problem}; expected \"trigger-all-missed\", \
         \"skip-missed-and-resync\", \"skip-missed-and-drift\", \
         \"skip-missed-and-drift:<delay tolerance>\" with a duration such as \"5ms\" or \
         \"trigger-missed-up-to:<max>\" with a whole number such as 3"
    )]
    InvalidPolicy {
        /// The string that was rejected.
        input: String,
        /// What is wrong with it, as in "is not the name of a built-in policy".
        problem: &'static str,
    },

    /// A value of a [`TimerConfig`](crate::TimerConfig) that no timer can take, found
    /// while deserializing it, with the value as it was written: the deserializer adds
    /// where it was (TOML: the line and column).
    ///
    /// ```
    /// use kadenz::Error;
    ///
    /// let err = Error::InvalidConfigValue {
    ///     field: "interval",
    ///     input: "0ms".to_owned(),
    ///     problem: "is shorter than the 1µs resolution of the timer",
    /// };
    /// assert_eq!(err.to_string(), "interval \"0ms\" is shorter than the 1µs resolution of the timer");
    /// ```
    #[error("{field} {input:?} {problem}")]
    InvalidConfigValue {
        /// The field of the configuration, as in `interval`.
        field: &'static str,
        /// The value as written.
        input: String,
        /// What is wrong with it, as in "is shorter than the 1µs resolution of the timer".
        problem: &'static str,
    },

    /// An option that needs a cargo feature of kadenz that this build does not enable,
    /// such as `precise = true` in a [`TimerConfig`](crate::TimerConfig) without the
    /// `precise` feature.
    ///
    /// ```
    /// use kadenz::Error;
    ///
    /// let err = Error::FeatureNotEnabled { option: "precise = true", feature: "precise" };
    /// assert_eq!(
    ///     err.to_string(),
    ///     "precise = true needs kadenz's cargo feature \"precise\", which this build does \
    ///      not enable",
    /// );
    /// ```
    #[error("{option} needs kadenz's cargo feature {feature:?}, which this build does not enable")]
    FeatureNotEnabled {
        /// The option that was asked for.
        option: &'static str,
        /// The cargo feature it needs.
        feature: &'static str,
    },
}
