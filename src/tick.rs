//! The [`Tick`] a timer delivers.

use std::time::Duration;

use tokio::time::Instant;

/// A tick delivered by a [`Timer`](crate::Timer): when it was due, how late it fired, how
/// many whole intervals late that was, and how many due times the policy dropped after it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use kadenz::Timer;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = tokio::time::Instant::now();
/// let mut timer = Timer::builder(Duration::from_millis(10)).skip_missed_ticks(true).build().unwrap();
///
/// tokio::time::advance(Duration::from_millis(33)).await; // the receiver was busy
/// let tick = timer.tick().await.unwrap();
/// assert_eq!(tick.scheduled(), start + Duration::from_millis(10));
/// assert_eq!(tick.drift(), Duration::from_millis(23));
/// assert_eq!(tick.fired_at(), start + Duration::from_millis(33));
/// assert_eq!(tick.missed(), 2); // 23 ms is two whole intervals
/// assert_eq!(tick.skipped(), 2); // the ticks due at 20 and 30 ms are dropped
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tick {
    scheduled: Instant,
    drift_us: u64,
    missed: u64,
    skipped: u64,
}

impl Tick {
    pub(crate) fn new(scheduled: Instant, drift_us: u64, missed: u64, skipped: u64) -> Self {
        Tick {
            scheduled,
            drift_us,
            missed,
            skipped,
        }
    }

    /// The same tick, meant to fire `offset` later (its jitter): the drift stays.
    pub(crate) fn shifted(mut self, offset: Duration) -> Self {
        self.scheduled = self.scheduled.checked_add(offset).unwrap_or(self.scheduled);
        self
    }

    pub(crate) fn drift_us(&self) -> u64 {
        self.drift_us
    }

    /// How late the tick fired: the time it was received minus the time it was due.
    ///
    /// Never negative, and a whole number of microseconds: the timer keeps time in
    /// microseconds (see [precision](crate::guide::precision)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::periodic(Duration::from_millis(10));
    /// assert_eq!(timer.tick().await.unwrap().drift(), Duration::ZERO);
    /// # }
    /// ```
    #[must_use]
    pub fn drift(&self) -> Duration {
        Duration::from_micros(self.drift_us)
    }

    /// When the tick was due.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// let mut timer = Timer::periodic(Duration::from_millis(10));
    /// assert_eq!(timer.tick().await.unwrap().scheduled(), start + Duration::from_millis(10));
    /// assert_eq!(timer.tick().await.unwrap().scheduled(), start + Duration::from_millis(20));
    /// # }
    /// ```
    #[must_use]
    pub fn scheduled(&self) -> Instant {
        self.scheduled
    }

    /// When the tick fired: [`scheduled`](Self::scheduled) plus [`drift`](Self::drift).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::periodic(Duration::from_millis(10));
    /// tokio::time::advance(Duration::from_millis(25)).await;
    /// let tick = timer.tick().await.unwrap();
    /// assert_eq!(tick.fired_at(), tokio::time::Instant::now());
    /// # }
    /// ```
    #[must_use]
    pub fn fired_at(&self) -> Instant {
        self.scheduled + self.drift()
    }

    /// How many whole intervals late the tick fired: `drift / interval`, with the interval
    /// the timer had when it delivered the tick. The overrun count of a Linux timerfd.
    ///
    /// Zero for a tick less than one interval late. Under
    /// [`TriggerAllMissed`](crate::policy::TriggerAllMissed), that many more ticks are
    /// already due and follow at once; under the skipping policies, about that many were
    /// dropped (see [`skipped`](Self::skipped) for the exact count).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::periodic(Duration::from_millis(10));
    /// tokio::time::advance(Duration::from_millis(35)).await; // due at 10, received at 35
    /// assert_eq!(timer.tick().await.unwrap().missed(), 2);
    /// assert_eq!(timer.tick().await.unwrap().missed(), 1); // due at 20
    /// assert_eq!(timer.tick().await.unwrap().missed(), 0); // due at 30
    /// # }
    /// ```
    #[must_use]
    pub fn missed(&self) -> u64 {
        self.missed
    }

    /// How many due times the policy dropped after this tick: the times `scheduled + k ·
    /// interval` (`k >= 1`) that had come when the tick was received and that the next
    /// tick jumps over.
    ///
    /// Always 0 under [`TriggerAllMissed`](crate::policy::TriggerAllMissed), which fires
    /// them all. In the reference's `SkipMissedAndDrift` walk-through (1 s interval,
    /// 0.1 s tolerance), the tick due at 3.2 s and received at 4.3 s has 1: the time 4.2 s
    /// is dropped and the next tick is due at 5.3 s.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kadenz::Timer;
    /// use kadenz::policy::SkipMissedAndDrift;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut timer = Timer::new(Duration::from_secs(1), SkipMissedAndDrift::new(Duration::ZERO));
    /// tokio::time::advance(Duration::from_millis(2_100)).await; // due at 1 s, received at 2.1 s
    /// let tick = timer.tick().await.unwrap();
    /// assert_eq!(tick.skipped(), 1); // 2 s is dropped; the next tick is due at 3.1 s
    /// # }
    /// ```
    #[must_use]
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}
