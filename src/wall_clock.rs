//! Wall-clock alignment: the first tick on a whole multiple of the interval since the Unix
//! epoch (plus an offset), then the monotonic clock. The wall clock is a trait so that
//! tests (and programs with their own time source) can inject one.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time, read when a timer aligns its first tick
/// ([`TimerBuilder::align_to_wall_clock`](crate::TimerBuilder::align_to_wall_clock),
/// [`Timer::realign`](crate::Timer::realign)).
///
/// [`SystemClock`] is the operating system's; implement this trait to inject another (a
/// test's fixed time, a GPS or PTP clock).
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use kadenz::{Timer, WallClock};
///
/// /// Always 12:00:00.250 UTC on 2026-01-01.
/// #[derive(Debug)]
/// struct Fixed;
///
/// impl WallClock for Fixed {
///     fn now(&self) -> SystemTime {
///         UNIX_EPOCH + Duration::from_millis(1_767_268_800_250)
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let timer = Timer::builder(Duration::from_secs(1))
///     .align_to_wall_clock(Duration::ZERO)
///     .wall_clock(Fixed)
///     .build()
///     .unwrap();
/// // The next whole second is 750 ms away.
/// assert_eq!(timer.deadline(), Some(tokio::time::Instant::now() + Duration::from_millis(750)));
/// # }
/// ```
pub trait WallClock: Send + Sync + Debug + 'static {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The operating system's wall clock, [`SystemTime::now`]: the default.
///
/// # Examples
///
/// ```
/// use kadenz::{SystemClock, WallClock};
///
/// assert!(SystemClock.now() > std::time::UNIX_EPOCH);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A shared clock is a clock, so many timers can read one.
///
/// ```
/// use std::sync::Arc;
/// use kadenz::{SystemClock, WallClock};
///
/// let clock: Arc<dyn WallClock> = Arc::new(SystemClock);
/// assert!(clock.now() > std::time::UNIX_EPOCH);
/// ```
impl<C: WallClock + ?Sized> WallClock for Arc<C> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }
}

/// A boxed clock is a clock.
///
/// ```
/// use kadenz::{SystemClock, WallClock};
///
/// let clock: Box<dyn WallClock> = Box::new(SystemClock);
/// assert!(clock.now() > std::time::UNIX_EPOCH);
/// ```
impl<C: WallClock + ?Sized> WallClock for Box<C> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }
}

/// What a timer aligns to: a grid of its interval on the wall clock, shifted by `offset`.
#[derive(Debug)]
pub(crate) struct Alignment {
    pub(crate) offset: Duration,
    pub(crate) clock: Box<dyn WallClock>,
}

impl Alignment {
    pub(crate) fn system() -> Self {
        Alignment {
            offset: Duration::ZERO,
            clock: Box::new(SystemClock),
        }
    }

    /// Microseconds from now to the first instant on the grid that is at or after
    /// `lead_us` from now (strictly after, unless `inclusive`). `None` past `u64::MAX` µs.
    pub(crate) fn delay_us(&self, interval_us: u64, lead_us: u64, inclusive: bool) -> Option<u64> {
        let interval = i128::from(interval_us);
        // Whole microseconds since the epoch; a clock set before 1970 counts backwards.
        let now = match self.clock.now().duration_since(UNIX_EPOCH) {
            Ok(after) => after.as_micros() as i128,
            Err(before) => -(before.duration().as_micros() as i128),
        };
        let from = now + i128::from(lead_us);
        let offset = self.offset.as_micros() as i128;
        let mut to_grid = (offset - from).rem_euclid(interval);
        if to_grid == 0 && !inclusive {
            to_grid = interval;
        }
        u64::try_from(i128::from(lead_us) + to_grid).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct At(SystemTime);

    impl WallClock for At {
        fn now(&self) -> SystemTime {
            self.0
        }
    }

    fn alignment(wall_us: i64, offset_us: u64) -> Alignment {
        let wall = if wall_us >= 0 {
            UNIX_EPOCH + Duration::from_micros(wall_us as u64)
        } else {
            UNIX_EPOCH - Duration::from_micros(wall_us.unsigned_abs())
        };
        Alignment {
            offset: Duration::from_micros(offset_us),
            clock: Box::new(At(wall)),
        }
    }

    #[test]
    fn delay_to_the_next_grid_point() {
        assert_eq!(alignment(1_250, 0).delay_us(1_000, 0, false), Some(750));
        assert_eq!(alignment(1_250, 300).delay_us(1_000, 0, false), Some(50));
        assert_eq!(alignment(1_250, 200).delay_us(1_000, 0, false), Some(950));
        // An offset of more than an interval is the same grid.
        assert_eq!(alignment(1_250, 2_300).delay_us(1_000, 0, false), Some(50));
        // On the grid: the next point, unless the start itself may tick.
        assert_eq!(alignment(2_000, 0).delay_us(1_000, 0, false), Some(1_000));
        assert_eq!(alignment(2_000, 0).delay_us(1_000, 0, true), Some(0));
        // A lead (start delay) comes first, then the grid.
        assert_eq!(
            alignment(1_250, 0).delay_us(1_000, 1_000, false),
            Some(1_750)
        );
        // Before the epoch the grid goes on.
        assert_eq!(alignment(-1_250, 0).delay_us(1_000, 0, false), Some(250));
        // Past the end of the time line.
        assert_eq!(alignment(0, 5).delay_us(u64::MAX, u64::MAX, false), None);
    }
}
