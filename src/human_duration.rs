//! [`HumanDuration`]: durations written as `"250ms"`, `"1.5s"` or `"15min"`, for
//! configuration files, command lines and environment variables.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::Error;

/// A [`Duration`] that parses from and prints as text such as `"250ms"`, `"1.5s"` or
/// `"15min"`.
///
/// # The format
///
/// A number, then one unit, with nothing before, between or after them:
///
/// | unit | meaning |
/// |---|---|
/// | `ns` | nanoseconds |
/// | `us`, `µs` | microseconds (`µ` as the micro sign U+00B5 or the Greek mu U+03BC) |
/// | `ms` | milliseconds |
/// | `s` | seconds |
/// | `min` | minutes |
/// | `h` | hours |
///
/// The number is whole (`"250ms"`) or decimal (`"1.5s"`, `"0.25ms"`), in ASCII digits,
/// with digits on both sides of a decimal point. Parsing is exact: the value is computed
/// in integer nanoseconds, and a number finer than a nanosecond in its unit
/// (`"0.0000000001s"`) is an error rather than rounded. There are no compound forms
/// (`"1min30s"`: write `"90s"`), no signs, no spaces and no days (write `"24h"`). Units
/// are case-sensitive: `"1MS"` is an error, and so is `"1m"` (minutes or milliseconds?).
///
/// Printing gives the largest unit in which the value is a whole number, with no
/// decimal point: `"250ms"`, `"90s"`, `"1500us"`, `"0s"`; microseconds print as the
/// ASCII `us`. What prints parses back to the same duration, exactly, for every
/// `Duration`.
///
/// A duration is not yet a valid interval: [`Timer::builder`](crate::Timer::builder)
/// keeps whole microseconds and rejects an interval under 1 µs, as for any `Duration`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use kadenz::{Error, HumanDuration};
///
/// let poll: HumanDuration = "250ms".parse()?;
/// assert_eq!(poll.0, Duration::from_millis(250));
/// assert_eq!("1.5s".parse::<HumanDuration>()?.0, Duration::from_millis(1_500));
///
/// // Printed in the largest unit that keeps it whole.
/// assert_eq!(HumanDuration(Duration::from_secs(15 * 60)).to_string(), "15min");
/// assert_eq!(HumanDuration(Duration::from_millis(1_500)).to_string(), "1500ms");
///
/// // A bad string is an error that names it and says what is accepted.
/// let err = "15m".parse::<HumanDuration>().unwrap_err();
/// assert!(matches!(&err, Error::InvalidDuration { input, .. } if input == "15m"));
/// assert!(err.to_string().contains("ns, us or µs, ms, s, min, h"));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

/// Nanoseconds per unit, largest first: the order in which [`HumanDuration`] prints.
const UNITS: [(&str, u128); 8] = [
    ("h", 3_600_000_000_000),
    ("min", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ns", 1),
];

/// The most nanoseconds a `Duration` holds.
const MAX_NANOS: u128 = u64::MAX as u128 * 1_000_000_000 + 999_999_999;

/// More fraction digits than this (after dropping trailing zeros) cannot be a whole number
/// of nanoseconds in any unit: the finest fraction an hour has in nanoseconds is 10^-13.
const MAX_FRACTION_DIGITS: usize = 13;

/// Why a string is not a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    Negative,
    NoNumber,
    NoUnit,
    UnknownUnit,
    MalformedNumber,
    FinerThanANanosecond,
    TooLong,
}

/// Each problem's phrase, once, for a duration on its own ("it has no unit") and for the
/// delay tolerance of a policy ("it has a delay tolerance that has no unit").
macro_rules! phrases {
    ($($problem:ident => $phrase:literal,)*) => {
        impl Problem {
            /// The problem as a phrase that follows "it", the string it is about.
            pub(crate) const fn describe(self) -> &'static str {
                match self {
                    $(Problem::$problem => $phrase,)*
                }
            }

            /// The same, for a policy whose delay tolerance has the problem.
            pub(crate) const fn describe_tolerance(self) -> &'static str {
                match self {
                    $(Problem::$problem => concat!("has a delay tolerance that ", $phrase),)*
                }
            }
        }
    };
}

phrases! {
    Negative => "is negative, and negative durations are not allowed",
    NoNumber => "does not start with a number",
    NoUnit => "has no unit",
    UnknownUnit => "has an unknown unit",
    MalformedNumber => "has a malformed number (digits on both sides of one decimal point)",
    FinerThanANanosecond => "is finer than a nanosecond",
    TooLong => "is longer than the longest Duration (u64::MAX seconds)",
}

/// Parses the format of [`HumanDuration`].
pub(crate) fn parse(input: &str) -> Result<Duration, Problem> {
    let unit_at = input
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(input.len());
    let (number, unit) = input.split_at(unit_at);
    if number.is_empty() {
        // "-5ms": say what is wrong rather than that there is no number.
        let negative = unit
            .strip_prefix('-')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit() || c == '.'));
        return Err(if negative {
            Problem::Negative
        } else {
            Problem::NoNumber
        });
    }
    if unit.is_empty() {
        return Err(Problem::NoUnit);
    }
    let unit_nanos = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|&(_, nanos)| nanos)
        .ok_or(Problem::UnknownUnit)?;
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (number, ""),
    };
    let malformed =
        whole.is_empty() || (number.contains('.') && fraction.is_empty()) || fraction.contains('.');
    if malformed {
        return Err(Problem::MalformedNumber);
    }

    // Whole part: leading zeros cannot overflow, other digits soon do.
    let mut nanos: u128 = 0;
    for digit in whole.bytes() {
        nanos = nanos
            .checked_mul(10)
            .and_then(|n| n.checked_add(u128::from(digit - b'0')))
            .ok_or(Problem::TooLong)?;
    }
    nanos = nanos.checked_mul(unit_nanos).ok_or(Problem::TooLong)?;

    // Fraction: digits / 10^len of a unit must be a whole number of nanoseconds.
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > MAX_FRACTION_DIGITS {
        return Err(Problem::FinerThanANanosecond);
    }
    let mut digits: u128 = 0;
    let mut scale: u128 = 1;
    for digit in fraction.bytes() {
        // At most 13 digits: both stay under 10^13, far from overflowing.
        digits = digits * 10 + u128::from(digit - b'0');
        scale *= 10;
    }
    // digits < 10^13 and unit_nanos <= 3.6 * 10^12: the product fits a u128 easily.
    let scaled = digits * unit_nanos;
    if scaled % scale != 0 {
        return Err(Problem::FinerThanANanosecond);
    }
    nanos = nanos.checked_add(scaled / scale).ok_or(Problem::TooLong)?;

    if nanos > MAX_NANOS {
        return Err(Problem::TooLong);
    }
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| Problem::TooLong)?;
    let subsec = u32::try_from(nanos % 1_000_000_000).map_err(|_| Problem::TooLong)?;
    Ok(Duration::new(secs, subsec))
}

impl FromStr for HumanDuration {
    type Err = Error;

    /// Parses `"250ms"`, `"1.5s"`, `"15min"` and the like (see [the format](HumanDuration#the-format)).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidDuration`], naming the string and what is wrong with it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::HumanDuration;
    ///
    /// assert_eq!("2h".parse::<HumanDuration>().unwrap().0, Duration::from_secs(7_200));
    /// assert!("2 h".parse::<HumanDuration>().is_err());
    /// ```
    fn from_str(input: &str) -> Result<Self, Error> {
        parse(input)
            .map(HumanDuration)
            .map_err(|problem| Error::InvalidDuration {
                input: input.to_owned(),
                problem: problem.describe(),
            })
    }
}

/// Prints the duration in the largest unit in which it is a whole number: `"250ms"`,
/// `"15min"`, `"1500us"`, `"0s"`. Width, fill, alignment and precision apply to the text
/// as to a string's.
///
/// ```
/// use std::time::Duration;
/// use kadenz::HumanDuration;
///
/// assert_eq!(format!("[{:>7}]", HumanDuration(Duration::from_millis(250))), "[  250ms]");
/// assert_eq!(format!("[{:_<6}]", HumanDuration(Duration::ZERO)), "[0s____]");
/// ```
impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        if nanos == 0 {
            return f.pad("0s");
        }
        // "ns" divides everything, so some unit is found; the µ spellings are never
        // reached, since "us" comes first.
        let (name, per) = UNITS
            .iter()
            .copied()
            .find(|&(_, per)| nanos % per == 0)
            .unwrap_or(("ns", 1));
        pad(f, format_args!("{}{name}", nanos / per))
    }
}

/// Writes `text` as [`fmt::Formatter::pad`] writes a string: through the formatter's
/// width, fill, alignment and precision. Without any of them (the usual case), straight
/// to the formatter; with them, the text is put together in a `String` first, since
/// padding needs its length.
pub(crate) fn pad(f: &mut fmt::Formatter<'_>, text: fmt::Arguments<'_>) -> fmt::Result {
    if f.width().is_none() && f.precision().is_none() {
        return f.write_fmt(text);
    }
    f.pad(&text.to_string())
}

impl From<Duration> for HumanDuration {
    fn from(duration: Duration) -> Self {
        HumanDuration(duration)
    }
}

impl From<HumanDuration> for Duration {
    fn from(duration: HumanDuration) -> Self {
        duration.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        let cases = [
            ("7ns", Duration::from_nanos(7)),
            ("7us", Duration::from_micros(7)),
            ("7\u{b5}s", Duration::from_micros(7)),
            ("7\u{3bc}s", Duration::from_micros(7)),
            ("7ms", Duration::from_millis(7)),
            ("7s", Duration::from_secs(7)),
            ("7min", Duration::from_secs(420)),
            ("7h", Duration::from_secs(25_200)),
            ("0s", Duration::ZERO),
            ("000250ms", Duration::from_millis(250)),
        ];
        for (input, expected) in cases {
            assert_eq!(parse(input), Ok(expected), "{input}");
        }
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1_500)));
        assert_eq!(parse("0.25ms"), Ok(Duration::from_micros(250)));
        assert_eq!(parse("1.000000001s"), Ok(Duration::new(1, 1)));
        assert_eq!(parse("1.0000000010000s"), Ok(Duration::new(1, 1)));
        assert_eq!(
            parse("0.0000000000001h"),
            Err(Problem::FinerThanANanosecond)
        );
        // 10^-12 h is 3.6 ns: not whole.
        assert_eq!(parse("0.000000000001h"), Err(Problem::FinerThanANanosecond));
        // 10^-11 h is 36 ns.
        assert_eq!(parse("0.00000000001h"), Ok(Duration::from_nanos(36)));
        assert_eq!(parse("0.5ns"), Err(Problem::FinerThanANanosecond));
        assert_eq!(parse("1.5min"), Ok(Duration::from_secs(90)));
    }

    #[test]
    fn problems() {
        let cases = [
            ("", Problem::NoNumber),
            ("ms", Problem::NoNumber),
            ("-5ms", Problem::Negative),
            ("-.5s", Problem::Negative),
            ("-x", Problem::NoNumber),
            (" 5ms", Problem::NoNumber),
            ("5", Problem::NoUnit),
            ("1.5", Problem::NoUnit),
            ("5m", Problem::UnknownUnit),
            ("5 ms", Problem::UnknownUnit),
            ("5ms ", Problem::UnknownUnit),
            ("5MS", Problem::UnknownUnit),
            ("1min30s", Problem::UnknownUnit),
            ("5d", Problem::UnknownUnit),
            (".5s", Problem::MalformedNumber),
            ("5.s", Problem::MalformedNumber),
            ("1.2.3s", Problem::MalformedNumber),
            ("18446744073709551616s", Problem::TooLong),
            (
                "99999999999999999999999999999999999999999s",
                Problem::TooLong,
            ),
            ("5124095576030432h", Problem::TooLong),
        ];
        for (input, problem) in cases {
            assert_eq!(parse(input), Err(problem), "{input:?}");
        }
    }

    #[test]
    fn the_longest_duration_parses_and_prints() {
        let max = HumanDuration(Duration::MAX);
        assert_eq!(max.to_string(), "18446744073709551615999999999ns");
        assert_eq!(parse("18446744073709551615999999999ns"), Ok(Duration::MAX));
        assert_eq!(
            parse("18446744073709551616000000000ns"),
            Err(Problem::TooLong)
        );
        assert_eq!(
            parse("18446744073709551615s"),
            Ok(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn prints_the_largest_whole_unit() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(1), "1ns"),
            (Duration::from_nanos(1_500), "1500ns"),
            (Duration::from_micros(1), "1us"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_millis(1_000), "1s"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(900), "15min"),
            (Duration::from_secs(7_200), "2h"),
            (Duration::from_secs(5_400), "90min"),
        ];
        for (duration, text) in cases {
            assert_eq!(HumanDuration(duration).to_string(), text);
        }
    }
}
