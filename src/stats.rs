//! [`Stats`]: what a timer has delivered so far.

use std::time::Duration;

/// Counters of a timer since it was built: ticks delivered, due times skipped, the
/// largest drift. Plain integers in the timer itself: no lock, no allocation, no atomic.
///
/// Resets and stops do not clear them; a [`Timer`](crate::Timer) returns a copy from
/// [`stats`](crate::Timer::stats).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use kadenz::Timer;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut timer = Timer::builder(Duration::from_millis(10)).skip_missed_ticks(true).build().unwrap();
/// timer.tick().await;
/// tokio::time::advance(Duration::from_millis(45)).await; // due at 20, received at 55
/// timer.tick().await;
///
/// let stats = timer.stats();
/// assert_eq!(stats.delivered(), 2);
/// assert_eq!(stats.skipped(), 3); // 30, 40 and 50 ms
/// assert_eq!(stats.max_drift(), Duration::from_millis(35));
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Stats {
    delivered: u64,
    skipped: u64,
    max_drift_us: u64,
}

impl Stats {
    /// Adds what `other` counted (a timer set's total over its entries).
    pub(crate) fn merge(&mut self, other: Stats) {
        self.delivered = self.delivered.saturating_add(other.delivered);
        self.skipped = self.skipped.saturating_add(other.skipped);
        self.max_drift_us = self.max_drift_us.max(other.max_drift_us);
    }

    pub(crate) fn record(&mut self, drift_us: u64, skipped: u64) {
        self.delivered = self.delivered.saturating_add(1);
        self.skipped = self.skipped.saturating_add(skipped);
        self.max_drift_us = self.max_drift_us.max(drift_us);
    }

    /// How many ticks the timer delivered.
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
    /// assert_eq!(timer.stats().delivered(), 0);
    /// timer.tick().await;
    /// assert_eq!(timer.stats().delivered(), 1);
    /// # }
    /// ```
    #[must_use]
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// How many due times the policy dropped: the sum of [`Tick::skipped`](crate::Tick::skipped)
    /// over the delivered ticks.
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
    /// tokio::time::advance(Duration::from_millis(50)).await;
    /// timer.tick().await;
    /// assert_eq!(timer.stats().skipped(), 0); // TriggerAllMissed skips nothing
    /// # }
    /// ```
    #[must_use]
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The largest [drift](crate::Tick::drift) of a delivered tick; zero before the first.
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
    /// tokio::time::advance(Duration::from_millis(13)).await;
    /// timer.tick().await;
    /// timer.tick().await;
    /// assert_eq!(timer.stats().max_drift(), Duration::from_millis(3));
    /// # }
    /// ```
    #[must_use]
    pub fn max_drift(&self) -> Duration {
        Duration::from_micros(self.max_drift_us)
    }
}
