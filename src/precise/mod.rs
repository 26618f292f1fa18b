//! Precise mode (cargo feature `precise`): a timer that also asks an operating-system timer
//! with microsecond precision to wake it, because tokio's wheel rounds every deadline up
//! to the next millisecond. On Linux: one timerfd and one thread per process
//! (`linux.rs`); elsewhere, no OS timer, and the timer waits on the wheel as any other.
//!
//! The wheel keeps the last word on current-thread runtimes: the timer stays registered
//! there too, so tokio's paused clock (which only such runtimes have) drives it exactly
//! as a default timer, and the OS timer is asked only while tokio's clock runs. Whatever
//! wakes the task, the timer decides with tokio's clock whether its tick is due.

#[cfg(target_os = "linux")]
mod linux;

use std::task::Waker;

use tokio::time::Instant;

/// A timer's registration with the OS timer, if the platform has one.
#[derive(Debug)]
pub(crate) struct Precise {
    #[cfg(target_os = "linux")]
    slot: Option<(std::sync::Arc<linux::Driver>, usize, u64)>,
    /// The due time (on tokio's clock) and the waker last handed to the OS timer, and
    /// whether the wheel waits too: a poll that would ask the same again skips the
    /// runtime look-up, the clock conversion and the OS timer's lock.
    asked: Option<Asked>,
    /// The last wait that had to wait asked no OS timer (tokio's clock was paused, or no
    /// OS timer serves the timer): the wheel alone waits, and its word is final.
    wheel_alone: bool,
}

#[derive(Debug)]
struct Asked {
    due: Instant,
    waker: Waker,
    with_wheel: bool,
}

impl Precise {
    /// `Some(with_wheel)` if the OS timer already wakes `waker` at `due`.
    pub(crate) fn asked_for(&self, due: Instant, waker: &Waker) -> Option<bool> {
        match &self.asked {
            Some(asked) if asked.due == due && asked.waker.will_wake(waker) => {
                Some(asked.with_wheel)
            }
            _ => None,
        }
    }

    /// Whether the last wait that had to wait left the wheel alone waiting (tokio's clock
    /// was paused, or no OS timer serves the timer): then the timer takes the wheel's
    /// word as a default one does, so that both deliver the same ticks.
    pub(crate) fn wheel_alone(&self) -> bool {
        self.wheel_alone
    }

    pub(crate) fn new() -> Self {
        Precise {
            #[cfg(target_os = "linux")]
            slot: linux::Driver::get().map(|driver| {
                let (index, generation) = driver.register();
                (driver, index, generation)
            }),
            asked: None,
            wheel_alone: false,
        }
    }

    /// Whether an OS timer serves this timer: on Linux, unless the timerfd or its thread
    /// could not be created.
    pub(crate) fn is_available(&self) -> bool {
        #[cfg(target_os = "linux")]
        return self.slot.is_some();
        #[cfg(not(target_os = "linux"))]
        return false;
    }

    /// Asks the OS timer to wake `waker` at `due` on tokio's clock, whose current time is
    /// `now`; `false` if there is no OS timer. With `with_wheel` (a current-thread
    /// runtime, whose clock may be paused), the request is made only while tokio's clock
    /// runs (see [`clock_is_running`]), and the wheel waits too.
    pub(crate) fn wake_at(
        &mut self,
        due: Instant,
        now: Instant,
        waker: &Waker,
        with_wheel: bool,
    ) -> bool {
        let asked = self.ask(due, now, waker, with_wheel);
        self.wheel_alone = !asked;
        asked
    }

    fn ask(&mut self, due: Instant, now: Instant, waker: &Waker, with_wheel: bool) -> bool {
        #[cfg(target_os = "linux")]
        if self.slot.is_some() {
            if with_wheel && !clock_is_running() {
                self.cancel();
                return false;
            }
            // tokio's `Instant` is std's plus the offset of every pause and advance of
            // its clock: convert through the time left, not the instant.
            let at = std::time::Instant::now() + due.saturating_duration_since(now);
            if let Some((driver, index, generation)) = &self.slot {
                driver.wake_at(*index, *generation, at, waker);
            }
            self.asked = Some(Asked {
                due,
                waker: waker.clone(),
                with_wheel,
            });
            return true;
        }
        let _ = (due, now, waker, with_wheel);
        false
    }

    /// The timer waits no more for the OS timer (the wheel woke it, or it was stopped).
    pub(crate) fn cancel(&mut self) {
        #[cfg(target_os = "linux")]
        if let (Some(_), Some((driver, index, _))) = (self.asked.take(), &self.slot) {
            driver.cancel(*index);
        }
    }
}

impl Drop for Precise {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some((driver, index, _)) = &self.slot {
            driver.deregister(*index);
        }
    }
}

/// Whether tokio's clock is running (not paused), on the runtime of this thread. A paused
/// clock stands still while std's moves: read tokio's, wait for std's to move, read
/// tokio's again (a few hundred nanoseconds, once per new deadline).
pub(crate) fn clock_is_running() -> bool {
    let before = Instant::now();
    let std_before = std::time::Instant::now();
    while std::time::Instant::now() == std_before {
        std::hint::spin_loop();
    }
    Instant::now() != before
}
