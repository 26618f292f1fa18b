//! [`TimerConfig`]: a timer described as data, to load from a configuration file (with the
//! `serde` feature) and turn into a [`TimerBuilder`] or a [`Timer`].

use std::time::Duration;

use crate::policy::{BuiltinPolicy, SkipMissedAndResync, TriggerAllMissed};
use crate::{Error, Timer, TimerBuilder};

/// A timer described as data: its interval, policy and start options, to keep in a
/// configuration file and build timers from.
///
/// With the `serde` feature, it deserializes from any self-describing format (TOML, JSON,
/// YAML, ...) with durations written as [`HumanDuration`](crate::HumanDuration)s and the
/// policy as a [`BuiltinPolicy`]:
///
/// ```toml
/// interval = "250ms"                          # required
/// policy = "skip-missed-and-drift:5ms"        # default: "trigger-all-missed"
/// start_delay = "1s"                          # default: "0s"
/// tick_at_start = false                       # default: false
/// align_to_wall_clock = "0s"                  # the offset; default: absent, no alignment
/// precise = false                             # default: false
/// name = "pump"                               # default: absent
/// warn_if_late = "5ms"                        # default: absent (cargo feature `tracing`)
/// jitter = "50ms"                             # default: absent, no jitter
/// jitter_seed = 7                             # default: absent, a random seed
/// record_drift = false                        # default: false
/// ```
///
/// | field | type | default | builder method |
/// |---|---|---|---|
/// | `interval` | duration | required | [`Timer::builder`] |
/// | `policy` | [`BuiltinPolicy`] | `"trigger-all-missed"` | [`missed_tick_policy`](TimerBuilder::missed_tick_policy) |
/// | `start_delay` | duration | `"0s"` | [`start_delay`](TimerBuilder::start_delay) |
/// | `tick_at_start` | bool | `false` | [`tick_at_start`](TimerBuilder::tick_at_start) |
/// | `align_to_wall_clock` | duration, or absent | absent (`None`) | [`align_to_wall_clock`](TimerBuilder::align_to_wall_clock), with this offset |
/// | `precise` | bool | `false` | `precise` (cargo feature `precise`) |
/// | `name` | string, or absent | absent (`None`) | [`name`](TimerBuilder::name) |
/// | `warn_if_late` | duration, or absent | absent (`None`) | `warn_if_late` (cargo feature `tracing`) |
/// | `jitter` | duration, or absent | absent (`None`) | [`jitter`](TimerBuilder::jitter) |
/// | `jitter_seed` | integer, or absent | absent (`None`) | [`jitter_seed`](TimerBuilder::jitter_seed) |
/// | `record_drift` | bool | `false` | [`record_drift`](TimerBuilder::record_drift) |
///
/// Field names are snake_case, and a field that is not in this table is an error (a
/// misspelt `start_dealy` is not silently ignored).
///
/// Every value is checked while deserializing, so that the error points at the value in
/// the file (TOML errors carry its line and column) and quotes it as written: an interval
/// of zero (`"0ms"`, `"500ns"`: under the 1 µs resolution) or over `u64::MAX` µs, a start
/// delay over `u64::MAX` µs ([`Error::InvalidConfigValue`]), a negative duration
/// (`"-5ms"`, [`Error::InvalidDuration`]), an unknown policy, and `precise = true` or a
/// `warn_if_late` that this build's cargo features cannot honour
/// ([`Error::FeatureNotEnabled`]). A configuration that deserializes builds, inside a
/// runtime: [`build`](Self::build) then fails only without one. A `TimerConfig` made in
/// code is checked by [`builder`](Self::builder) and [`TimerBuilder::build`] instead. Serializing writes every field but the
/// absent optional ones, and what is written reads back to the same configuration.
///
/// [`builder`](Self::builder) turns the configuration into a [`TimerBuilder`], for a
/// [`Timer`] or an entry of a [`TimerSet`](crate::TimerSet); [`build`](Self::build)
/// builds the timer at once. The timer is the one the same builder calls would make by hand, policy
/// included: a `"skip-missed-and-resync"` timer holds a
/// [`SkipMissedAndResync`](crate::policy::SkipMissedAndResync).
///
/// `precise = true` needs the `precise` cargo feature: without it, deserializing (and,
/// for a configuration made in code, `builder` and `build`) returns
/// [`Error::FeatureNotEnabled`] rather than quietly build a timer that is not precise.
/// The field is always known, whatever the features: `precise = false` reads everywhere.
///
/// # Examples
///
/// Built in code:
///
/// ```
/// use std::time::Duration;
/// use kadenz::TimerConfig;
/// use kadenz::policy::BuiltinPolicy;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), kadenz::Error> {
/// let mut config = TimerConfig::new(Duration::from_millis(250));
/// config.policy = "skip-missed-and-resync".parse()?;
/// config.tick_at_start = true;
///
/// let start = tokio::time::Instant::now();
/// let mut timer = config.build()?;
/// assert_eq!(timer.tick().await.unwrap().scheduled(), start);
/// assert_eq!(format!("{:?}", timer.missed_tick_policy()), "SkipMissedAndResync");
/// # Ok(())
/// # }
/// ```
///
/// Read from JSON (TOML works the same way, with the `toml` crate), with the `serde`
/// feature:
///
/// ```
/// # #[cfg(feature = "serde")]
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use kadenz::TimerConfig;
///
/// let config: TimerConfig = serde_json::from_str(
///     r#"{ "interval": "1s", "policy": "skip-missed-and-drift:100ms", "start_delay": "1.5s" }"#,
/// )?;
/// assert_eq!(config.interval, Duration::from_secs(1));
/// assert_eq!(config.start_delay, Duration::from_millis(1_500));
/// assert_eq!(config.policy.to_string(), "skip-missed-and-drift:100ms");
///
/// // A typo is an error, and so is a duration without a unit.
/// assert!(serde_json::from_str::<TimerConfig>(r#"{ "interval": "1s", "start_dealy": "1s" }"#).is_err());
/// let err = serde_json::from_str::<TimerConfig>(r#"{ "interval": "1" }"#).unwrap_err();
/// assert!(err.to_string().starts_with(r#"invalid duration "1": it has no unit"#));
///
/// // A value no timer can take is an error where it is written, quoted as written.
/// let err = serde_json::from_str::<TimerConfig>("{\n  \"interval\": \"0ms\"\n}").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"interval "0ms" is shorter than the 1µs resolution of the timer at line 2 column 19"#,
/// );
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "serde"))]
/// # fn main() {}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct TimerConfig {
    /// The interval between ticks (required).
    #[cfg_attr(
        feature = "serde",
        serde(
            serialize_with = "serde_impls::duration::serialize",
            deserialize_with = "serde_impls::interval"
        )
    )]
    pub interval: Duration,

    /// What to do about missed ticks (default: [`BuiltinPolicy::TriggerAllMissed`]).
    #[cfg_attr(feature = "serde", serde(default))]
    pub policy: BuiltinPolicy,

    /// How much later than one interval after the start the first tick is due (default:
    /// zero); see [`TimerBuilder::start_delay`].
    #[cfg_attr(
        feature = "serde",
        serde(
            default,
            serialize_with = "serde_impls::duration::serialize",
            deserialize_with = "serde_impls::start_delay"
        )
    )]
    pub start_delay: Duration,

    /// Whether the first tick is due at the start (plus the start delay) instead of one
    /// interval after it (default: `false`); see [`TimerBuilder::tick_at_start`].
    #[cfg_attr(feature = "serde", serde(default))]
    pub tick_at_start: bool,

    /// `Some(offset)` puts the first tick on the wall clock's grid of the interval, plus
    /// the offset (default: `None`, no alignment); see
    /// [`TimerBuilder::align_to_wall_clock`].
    #[cfg_attr(
        feature = "serde",
        serde(
            default,
            with = "serde_impls::optional_duration",
            skip_serializing_if = "Option::is_none"
        )
    )]
    pub align_to_wall_clock: Option<Duration>,

    /// Whether the timer wakes with microsecond precision (default: `false`); `true`
    /// needs the cargo feature `precise` (see [`TimerConfig`]).
    #[cfg_attr(
        feature = "serde",
        serde(default, deserialize_with = "serde_impls::precise")
    )]
    pub precise: bool,

    /// The timer's name, shown by its `Debug` output and in its tracing events (default:
    /// `None`); see [`TimerBuilder::name`]. A [`TimerSet`](crate::TimerSet) entry is
    /// named by its key instead.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub name: Option<String>,

    /// `Some(threshold)`: a tick later than this is reported as a tracing event (default:
    /// `None`); needs the cargo feature `tracing` (`TimerBuilder::warn_if_late`), and a
    /// lone timer (a [`TimerSet`](crate::TimerSet) refuses it).
    #[cfg_attr(
        feature = "serde",
        serde(
            default,
            serialize_with = "serde_impls::optional_duration::serialize",
            deserialize_with = "serde_impls::warn_if_late",
            skip_serializing_if = "Option::is_none"
        )
    )]
    pub warn_if_late: Option<Duration>,

    /// `Some(max)`: each tick fires up to `max` after its due time (default: `None`); see
    /// [`TimerBuilder::jitter`]. A jitter longer than the interval is refused by
    /// [`builder`](Self::builder) ([`Error::JitterTooLong`]).
    #[cfg_attr(
        feature = "serde",
        serde(
            default,
            with = "serde_impls::optional_duration",
            skip_serializing_if = "Option::is_none"
        )
    )]
    pub jitter: Option<Duration>,

    /// The seed of the jitter's offsets (default: `None`, a random seed per timer); see
    /// [`TimerBuilder::jitter_seed`].
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub jitter_seed: Option<u64>,

    /// Whether the timer keeps a histogram of its drifts (default: `false`); see
    /// [`TimerBuilder::record_drift`].
    #[cfg_attr(feature = "serde", serde(default))]
    pub record_drift: bool,
}

impl TimerConfig {
    /// A configuration with this interval and every other field at its default: the
    /// configuration of [`Timer::periodic`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::TimerConfig;
    /// use kadenz::policy::BuiltinPolicy;
    ///
    /// let config = TimerConfig::new(Duration::from_secs(1));
    /// assert_eq!(config.policy, BuiltinPolicy::TriggerAllMissed);
    /// assert_eq!(config.start_delay, Duration::ZERO);
    /// assert!(!config.tick_at_start && !config.precise);
    /// assert_eq!(config.align_to_wall_clock, None);
    /// ```
    #[must_use]
    pub const fn new(interval: Duration) -> Self {
        TimerConfig {
            interval,
            policy: BuiltinPolicy::TriggerAllMissed,
            start_delay: Duration::ZERO,
            tick_at_start: false,
            align_to_wall_clock: None,
            precise: false,
            name: None,
            warn_if_late: None,
            jitter: None,
            jitter_seed: None,
            record_drift: false,
        }
    }

    /// A [`TimerBuilder`] set up as the configuration says, to build a [`Timer`] (after
    /// more builder calls, if you like, such as
    /// [`auto_start(false)`](TimerBuilder::auto_start) or
    /// [`wall_clock`](TimerBuilder::wall_clock)) or to
    /// [insert](crate::TimerSet::insert) into a [`TimerSet`](crate::TimerSet).
    ///
    /// # Errors
    ///
    /// [`Error::FeatureNotEnabled`]: `precise` is `true` and kadenz is built without the
    /// `precise` feature, or `warn_if_late` is set and kadenz is built without the
    /// `tracing` feature; [`Error::JitterTooLong`]: a `jitter` longer than the interval.
    /// Everything else is checked by [`TimerBuilder::build`], as for a builder made by
    /// hand.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::TimerConfig;
    ///
    /// let config = TimerConfig::new(Duration::from_millis(100));
    /// // A builder can be finished off, here to build the timer outside a runtime.
    /// let timer = config.builder()?.auto_start(false).build()?;
    /// assert_eq!(timer.interval(), Duration::from_millis(100));
    /// # Ok::<(), kadenz::Error>(())
    /// ```
    ///
    /// An entry of a timer set:
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{TimerConfig, TimerSet};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), kadenz::Error> {
    /// let mut pollers = TimerSet::new();
    /// pollers.insert("meter", TimerConfig::new(Duration::from_secs(1)).builder()?)?;
    /// assert_eq!(pollers.next().await.0, "meter");
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(&self) -> Result<TimerBuilder, Error> {
        // The policy itself, not the enum: the timer is the one built by hand.
        let builder = Timer::builder(self.interval);
        let mut builder = match self.policy {
            BuiltinPolicy::TriggerAllMissed => builder.missed_tick_policy(TriggerAllMissed),
            BuiltinPolicy::SkipMissedAndResync => builder.missed_tick_policy(SkipMissedAndResync),
            BuiltinPolicy::SkipMissedAndDrift(policy) => builder.missed_tick_policy(policy),
            BuiltinPolicy::TriggerMissedUpTo(policy) => builder.missed_tick_policy(policy),
        }
        .start_delay(self.start_delay)
        .tick_at_start(self.tick_at_start);
        if let Some(offset) = self.align_to_wall_clock {
            builder = builder.align_to_wall_clock(offset);
        }
        #[cfg(feature = "precise")]
        {
            builder = builder.precise(self.precise);
        }
        #[cfg(not(feature = "precise"))]
        if self.precise {
            return Err(Error::FeatureNotEnabled {
                option: "precise = true",
                feature: "precise",
            });
        }
        if let Some(name) = &self.name {
            builder = builder.name(name.clone());
        }
        if let Some(max) = self.jitter {
            builder = builder.jitter(max);
            // Checked here, not only at `build`: an entry of a set refuses jitter, and
            // this is the configuration's own mistake.
            crate::jitter::Jitter::check(
                crate::schedule::saturating_micros(max),
                self.interval,
                crate::schedule::saturating_micros(self.interval),
            )?;
        }
        if let Some(seed) = self.jitter_seed {
            builder = builder.jitter_seed(seed);
        }
        builder = builder.record_drift(self.record_drift);
        #[cfg(feature = "tracing")]
        if let Some(threshold) = self.warn_if_late {
            builder = builder.warn_if_late(threshold);
        }
        #[cfg(not(feature = "tracing"))]
        if self.warn_if_late.is_some() {
            return Err(Error::FeatureNotEnabled {
                option: "warn_if_late",
                feature: "tracing",
            });
        }
        Ok(builder)
    }

    /// Builds the timer the configuration describes, started at once: `builder()?.build()`.
    ///
    /// # Errors
    ///
    /// Those of [`builder`](Self::builder) and of [`TimerBuilder::build`]: an interval
    /// under 1 µs, a runtime missing, and so on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::{Error, TimerConfig};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = TimerConfig::new(Duration::from_secs(1)).build().unwrap();
    /// assert!(timer.tick().await.is_some());
    ///
    /// let err = TimerConfig::new(Duration::ZERO).build().unwrap_err();
    /// assert_eq!(err, Error::IntervalTooShort(Duration::ZERO));
    /// # }
    /// ```
    pub fn build(&self) -> Result<Timer, Error> {
        self.builder()?.build()
    }
}

/// [`TimerConfig::builder`], as a conversion.
///
/// ```
/// use std::time::Duration;
/// use kadenz::{TimerBuilder, TimerConfig};
///
/// let builder = TimerBuilder::try_from(TimerConfig::new(Duration::from_secs(1)))?;
/// assert!(builder.auto_start(false).build().is_ok());
/// # Ok::<(), kadenz::Error>(())
/// ```
impl TryFrom<TimerConfig> for TimerBuilder {
    type Error = Error;

    fn try_from(config: TimerConfig) -> Result<Self, Error> {
        config.builder()
    }
}

/// The serde side: durations as [`HumanDuration`](crate::HumanDuration) text, and the
/// visitor that reads any `FromStr` type from a string.
#[cfg(feature = "serde")]
pub(crate) mod serde_impls {
    use std::fmt;
    use std::marker::PhantomData;
    use std::str::FromStr;
    use std::time::Duration;

    use serde::de::{self, Visitor};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::policy::BuiltinPolicy;
    use crate::{Error, HumanDuration};

    /// Reads a `T` from a string with its `FromStr`; the error is `T`'s own message,
    /// which names the string and what is accepted.
    struct FromStrVisitor<T> {
        expecting: &'static str,
        parsed: PhantomData<fn() -> T>,
    }

    impl<T> Visitor<'_> for FromStrVisitor<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
            text.parse().map_err(E::custom)
        }
    }

    /// A `T` from a string, through [`FromStrVisitor`]; `expecting` says what else came.
    fn from_str<'de, D, T>(deserializer: D, expecting: &'static str) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: FromStr,
        T::Err: fmt::Display,
    {
        deserializer.deserialize_str(FromStrVisitor {
            expecting,
            parsed: PhantomData,
        })
    }

    /// Writes the duration as its text, such as `"250ms"`.
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    impl Serialize for HumanDuration {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_str(self)
        }
    }

    /// Reads the duration from its text, such as `"250ms"`; anything else, a number
    /// included, is an error.
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    impl<'de> Deserialize<'de> for HumanDuration {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            from_str(deserializer, DURATION)
        }
    }

    /// Writes the policy as its text, such as `"skip-missed-and-drift:5ms"`.
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    impl Serialize for BuiltinPolicy {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_str(self)
        }
    }

    /// Reads the policy from its text, such as `"skip-missed-and-drift:5ms"`.
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    impl<'de> Deserialize<'de> for BuiltinPolicy {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            from_str(
                deserializer,
                r#"a missed-tick policy such as "trigger-all-missed" or "skip-missed-and-drift:5ms""#,
            )
        }
    }

    /// What a duration field expects, for serde's "invalid type" errors.
    const DURATION: &str = r#"a duration such as "250ms", "1.5s" or "15min""#;

    /// Reads a duration from its text and checks it for the field `field`: an error
    /// quotes the text as written, not the duration printed again in another unit.
    struct CheckedDuration {
        field: &'static str,
        check: fn(Duration) -> Result<u64, Error>,
    }

    impl Visitor<'_> for CheckedDuration {
        type Value = Duration;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(DURATION)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
            let duration = text.parse::<HumanDuration>().map_err(E::custom)?.0;
            match (self.check)(duration) {
                Ok(_) => Ok(duration),
                Err(err) => Err(E::custom(match err.value_problem() {
                    Some(problem) => Error::InvalidConfigValue {
                        field: self.field,
                        input: text.to_owned(),
                        problem,
                    },
                    None => err,
                })),
            }
        }
    }

    /// `TimerConfig::interval`: at least 1 µs, at most `u64::MAX` µs.
    pub(crate) fn interval<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        deserializer.deserialize_str(CheckedDuration {
            field: "interval",
            check: crate::builder::interval_micros,
        })
    }

    /// `TimerConfig::start_delay`: at most `u64::MAX` µs.
    pub(crate) fn start_delay<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        deserializer.deserialize_str(CheckedDuration {
            field: "start_delay",
            check: crate::builder::start_delay_micros,
        })
    }

    /// `TimerConfig::precise`: `true` only with the `precise` feature.
    pub(crate) fn precise<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        let precise = bool::deserialize(deserializer)?;
        if precise && !cfg!(feature = "precise") {
            return Err(de::Error::custom(Error::FeatureNotEnabled {
                option: "precise = true",
                feature: "precise",
            }));
        }
        Ok(precise)
    }

    /// `TimerConfig::warn_if_late`: only with the `tracing` feature.
    pub(crate) fn warn_if_late<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        let threshold = optional_duration::deserialize(deserializer)?;
        if threshold.is_some() && !cfg!(feature = "tracing") {
            return Err(de::Error::custom(Error::FeatureNotEnabled {
                option: "warn_if_late",
                feature: "tracing",
            }));
        }
        Ok(threshold)
    }

    /// `#[serde(serialize_with)]` for a `Duration` written as a `HumanDuration` (read
    /// back by the checked readers above).
    pub(crate) mod duration {
        use std::time::Duration;

        use serde::{Serialize, Serializer};

        use crate::HumanDuration;

        pub(crate) fn serialize<S: Serializer>(
            duration: &Duration,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            HumanDuration(*duration).serialize(serializer)
        }
    }

    /// `#[serde(with)]` for an `Option<Duration>` written as a `HumanDuration` or absent.
    pub(crate) mod optional_duration {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        use crate::HumanDuration;

        pub(crate) fn serialize<S: Serializer>(
            duration: &Option<Duration>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            duration.map(HumanDuration).serialize(serializer)
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Duration>, D::Error> {
            Option::<HumanDuration>::deserialize(deserializer).map(|duration| duration.map(|d| d.0))
        }
    }
}
