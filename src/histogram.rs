//! [`DriftHistogram`]: the distribution of a timer's (or a set's) tick drifts, in fixed
//! memory, for quantiles such as p50 and p99.

use std::fmt;
use std::time::Duration;

/// Sub-buckets per power of two: 8, so a bucket is at most 1/8 (12.5 %) of its values wide.
const SUB_BITS: u32 = 3;
const SUB: usize = 1 << SUB_BITS;
/// Buckets: 0 to 7 µs one each, then 8 per power of two up to `u64::MAX` µs.
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

/// The drifts of the ticks a timer (or a timer set) delivered, as a log-linear histogram:
/// for p50, p99 and the like, to graph lateness or export it.
///
/// Opt-in, with [`TimerBuilder::record_drift`](crate::TimerBuilder::record_drift) or
/// [`TimerSet::record_drift`](crate::TimerSet::record_drift); read with
/// [`Timer::drift_histogram`](crate::Timer::drift_histogram) or
/// [`TimerSet::drift_histogram`](crate::TimerSet::drift_histogram). Fixed memory: 496
/// counters (about 4 KiB), allocated once when the timer is built; recording a tick is a
/// few instructions and never allocates. A timer that does not record pays nothing for it
/// (its ticks take the very same code path as before the feature).
///
/// Drifts are whole microseconds. Values up to 7 µs have a bucket each; above, each power
/// of two is split into 8 buckets, so a quantile is exact to within 12.5 % (reported as
/// the upper end of its bucket, and never above the largest drift, which is exact).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use kadenz::Timer;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let ms = Duration::from_millis;
/// let mut timer = Timer::builder(ms(10)).record_drift(true).build().unwrap();
/// for late in [0, 0, 0, 3, 40] {
///     tokio::time::advance(ms(10 + late)).await; // the receiver is sometimes busy
///     timer.tick().await;
///     timer.reset(); // a watchdog's rhythm: each tick one interval after the last
/// }
/// let drifts = timer.drift_histogram().unwrap();
/// assert_eq!(drifts.count(), 5);
/// assert_eq!(drifts.p50(), Duration::ZERO);
/// assert_eq!(drifts.quantile(0.8), Duration::from_micros(3_071)); // 3 ms: in 2,816-3,071 µs
/// assert_eq!(drifts.max(), ms(40));
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DriftHistogram {
    counts: Box<[u64; BUCKETS]>,
    count: u64,
    max_us: u64,
}

impl DriftHistogram {
    pub(crate) fn new() -> Self {
        DriftHistogram {
            counts: Box::new([0; BUCKETS]),
            count: 0,
            max_us: 0,
        }
    }

    /// Counts a tick that drifted `drift_us` microseconds.
    #[inline]
    pub(crate) fn record(&mut self, drift_us: u64) {
        self.counts[bucket(drift_us)] += 1;
        self.count += 1;
        self.max_us = self.max_us.max(drift_us);
    }

    /// How many ticks were counted.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::builder(Duration::from_millis(1)).record_drift(true).build().unwrap();
    /// timer.tick().await;
    /// assert_eq!(timer.drift_histogram().unwrap().count(), 1);
    /// # }
    /// ```
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The drift that a fraction `q` of the ticks did not exceed, to within its bucket
    /// (12.5 %): the upper end of the bucket of the `ceil(q × count)`-th smallest drift,
    /// and never more than [`max`](Self::max). `q` is clamped to `[0, 1]` (NaN counts as
    /// 0); zero if no tick was counted.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::builder(Duration::from_millis(1)).record_drift(true).build().unwrap();
    /// tokio::time::advance(Duration::from_millis(11)).await;
    /// for _ in 0..10 {
    ///     timer.tick().await; // a burst: drifts of 10, 9, ..., 1 ms
    /// }
    /// let drifts = timer.drift_histogram().unwrap();
    /// assert_eq!(drifts.quantile(0.5), Duration::from_micros(5_119)); // 5 ms: 4,608-5,119 µs
    /// assert_eq!(drifts.quantile(1.0), Duration::from_millis(10));
    /// # }
    /// ```
    #[must_use]
    pub fn quantile(&self, q: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        // At least the first tick; `as` saturates, and the product is at most `count`.
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (index, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Duration::from_micros(upper(index).min(self.max_us));
            }
        }
        Duration::from_micros(self.max_us)
    }

    /// The median drift: [`quantile(0.5)`](Self::quantile).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::builder(Duration::from_millis(1)).record_drift(true).build().unwrap();
    /// timer.tick().await;
    /// assert_eq!(timer.drift_histogram().unwrap().p50(), Duration::ZERO);
    /// # }
    /// ```
    #[must_use]
    pub fn p50(&self) -> Duration {
        self.quantile(0.5)
    }

    /// The 99th percentile: [`quantile(0.99)`](Self::quantile).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::builder(Duration::from_millis(1)).record_drift(true).build().unwrap();
    /// timer.tick().await;
    /// assert_eq!(timer.drift_histogram().unwrap().p99(), Duration::ZERO);
    /// # }
    /// ```
    #[must_use]
    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    /// The largest drift counted, exactly (zero before the first tick).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::builder(Duration::from_millis(1)).record_drift(true).build().unwrap();
    /// tokio::time::advance(Duration::from_micros(1_250)).await;
    /// timer.tick().await;
    /// assert_eq!(timer.drift_histogram().unwrap().max(), Duration::from_micros(250));
    /// # }
    /// ```
    #[must_use]
    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_us)
    }

    /// The buckets that counted a tick, smallest drifts first: each bucket's range of
    /// drifts (both ends included, whole microseconds) and its count. For exporting to a
    /// metrics system that takes bucketed histograms.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::builder(Duration::from_millis(1)).record_drift(true).build().unwrap();
    /// tokio::time::advance(Duration::from_micros(1_020)).await;
    /// timer.tick().await;
    /// let buckets: Vec<_> = timer.drift_histogram().unwrap().buckets().collect();
    /// assert_eq!(buckets, [(Duration::from_micros(20), Duration::from_micros(21), 1)]);
    /// # }
    /// ```
    pub fn buckets(&self) -> impl Iterator<Item = (Duration, Duration, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &count)| count > 0)
            .map(|(index, &count)| {
                (
                    Duration::from_micros(lower(index)),
                    Duration::from_micros(upper(index)),
                    count,
                )
            })
    }
}

/// The summary: `DriftHistogram { count: 5, p50: 0ns, p99: 40ms, max: 40ms }`.
impl fmt::Debug for DriftHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DriftHistogram")
            .field("count", &self.count)
            .field("p50", &self.p50())
            .field("p99", &self.p99())
            .field("max", &self.max())
            .finish()
    }
}

/// The bucket of a drift: the value itself below 8, else 8 per power of two.
#[inline]
fn bucket(us: u64) -> usize {
    if us < SUB as u64 {
        return us as usize;
    }
    let exponent = 63 - us.leading_zeros();
    let sub = (us >> (exponent - SUB_BITS)) as usize & (SUB - 1);
    (exponent - SUB_BITS + 1) as usize * SUB + sub
}

/// The smallest drift of bucket `index`.
fn lower(index: usize) -> u64 {
    if index < SUB {
        return index as u64;
    }
    let group = (index / SUB) as u32;
    ((SUB + index % SUB) as u64) << (group - 1)
}

/// The largest drift of bucket `index`.
fn upper(index: usize) -> u64 {
    if index < SUB {
        return index as u64;
    }
    let group = (index / SUB) as u32;
    lower(index) + ((1u64 << (group - 1)) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_drift_once() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(7), 7);
        assert_eq!(bucket(8), 8);
        assert_eq!(bucket(15), 15);
        assert_eq!(bucket(16), 16);
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        assert_eq!(upper(BUCKETS - 1), u64::MAX);
        for index in 0..BUCKETS - 1 {
            assert_eq!(upper(index) + 1, lower(index + 1), "bucket {index}");
            assert_eq!(bucket(lower(index)), index);
            assert_eq!(bucket(upper(index)), index);
            // A bucket is at most an eighth of its smallest value wide.
            assert!((upper(index) - lower(index)) * 8 <= lower(index).max(1));
        }
    }

    #[test]
    fn quantiles_are_bucket_ends_capped_at_the_max() {
        let mut histogram = DriftHistogram::new();
        assert_eq!(histogram.p50(), Duration::ZERO);
        for us in 1..=100 {
            histogram.record(us);
        }
        assert_eq!(histogram.count(), 100);
        // The 50th value is 50 µs, in bucket 48-51.
        assert_eq!(histogram.p50(), Duration::from_micros(51));
        // The 99th is 99 µs, in bucket 96-103, capped at the max, 100.
        assert_eq!(histogram.p99(), Duration::from_micros(100));
        assert_eq!(histogram.quantile(0.0), Duration::from_micros(1));
        assert_eq!(histogram.quantile(f64::NAN), Duration::from_micros(1));
        assert_eq!(histogram.quantile(7.0), Duration::from_micros(100));
        histogram.record(u64::MAX);
        assert_eq!(histogram.max(), Duration::from_micros(u64::MAX));
        assert_eq!(histogram.quantile(1.0), Duration::from_micros(u64::MAX));
    }
}
