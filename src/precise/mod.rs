//! Precise mode (cargo feature `precise`): a timer that also asks an operating-system timer
//! with microsecond precision to wake it, because tokio's wheel rounds every deadline up
//! to the next millisecond. [`Precise`] (this file) holds what every platform shares: when
//! to ask the OS timer, what was asked, and the wheel beside it. The OS timer itself is
//! the module `os_timer`, one per platform, each with the same few items:
//! - Linux (`linux/`): a timerfd per worker of each runtime, in the runtime's own reactor
//!   (`linux/reactor.rs`), or on a runtime without tokio's IO driver one timerfd read by
//!   one thread for the whole process (`linux/thread.rs`); both keep their timers in a
//!   `Shard` (`linux/shard.rs`).
//! - Every other platform (`other.rs`): no OS timer. A precise timer waits on the wheel
//!   alone, exactly as a default timer, and [`is_available`](Precise::is_available) says
//!   so (`Timer::is_precise` is `false`).
//!
//! The wheel keeps the last word on current-thread runtimes: the timer stays registered
//! there too, so tokio's paused clock (which only such runtimes have) drives it exactly
//! as a default timer, and the OS timer is asked only while tokio's clock runs. Whatever
//! wakes the task, the timer decides with tokio's clock whether its tick is due.

// The one platform switch of precise waiting: everything below is the same everywhere.
#[cfg(target_os = "linux")]
#[path = "linux/mod.rs"]
mod os_timer;
#[cfg(not(target_os = "linux"))]
#[path = "other.rs"]
mod os_timer;

use std::task::{Context, Poll, Waker};

use tokio::runtime::RuntimeFlavor;
use tokio::time::Instant;

use crate::wait::{wait_until, WheelSleep};

/// A timer's registration with an OS timer, if the platform has one.
#[derive(Debug)]
pub(crate) struct Precise {
    /// The OS timer serving the timer (on a platform without one, a stand-in that never
    /// does).
    os: os_timer::OsTimer,
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
    /// The OS timer asked belongs to the runtime of the poller that asked: polled
    /// elsewhere (even with the same waker, by hand), the timer asks again there, since
    /// the first runtime's timerfd goes with that runtime.
    pub(crate) fn asked_for(&self, due: Instant, waker: &Waker) -> Option<bool> {
        match &self.asked {
            Some(asked)
                if asked.due == due && asked.waker.will_wake(waker) && self.asked_here() =>
            {
                Some(asked.with_wheel)
            }
            _ => None,
        }
    }

    /// Whether the OS timer asked belongs to the poller of now.
    fn asked_here(&self) -> bool {
        self.os.is_here()
    }

    /// Whether the last wait that had to wait left the wheel alone waiting (tokio's clock
    /// was paused, or no OS timer serves the timer): then the timer takes the wheel's
    /// word as a default one does, so that both deliver the same ticks.
    pub(crate) fn wheel_alone(&self) -> bool {
        self.wheel_alone
    }

    /// A precise state for a timer built `precise`, else `None`. The same call without
    /// the feature (`off.rs`) is always `None`.
    pub(crate) fn new_if(precise: bool) -> Option<Self> {
        precise.then(Self::new)
    }

    /// Waits for `scheduled` (tokio's clock reads `now`) on the wheel `sleep` and the OS
    /// timer. On a multi-thread runtime (whose clock cannot be paused), the OS timer alone
    /// wakes it. Elsewhere the wheel's `Sleep` stays registered, so that a paused clock
    /// drives the timer as it drives any other, and the OS timer is asked too while the
    /// clock runs. After a `Pending`, [`wheel_alone`](Self::wheel_alone) tells whether the
    /// OS timer was left out (a paused clock): then the caller takes the wheel's word as a
    /// default timer does, so that a clock advanced past the due time but not to the
    /// wheel's millisecond slot delivers nothing yet.
    pub(crate) fn wait(
        &mut self,
        sleep: &mut WheelSleep,
        cx: &mut Context<'_>,
        scheduled: Instant,
        now: Instant,
    ) -> Poll<()> {
        // Asked already, for this task: the wheel too, or the OS timer alone.
        if let Some(with_wheel) = self.asked_for(scheduled, cx.waker()) {
            if with_wheel && wait_until(sleep, scheduled, true, cx).is_ready() {
                self.cancel();
                return Poll::Ready(());
            }
            return Poll::Pending;
        }
        let multi_thread =
            tokio::runtime::Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread;
        if multi_thread && self.wake_at(scheduled, now, cx.waker(), false) {
            // A `Sleep` made on another runtime holds that runtime's driver (and its file
            // descriptors) alive, also after the runtime was dropped: let it go, as a
            // default timer's move to a new `Sleep` does.
            if sleep.as_ref().is_some_and(|wheel| !wheel.is_current()) {
                *sleep = None;
            }
            // When the OS timer's wake-up brings the task back, the tick is overdue, and
            // the overdue path takes the budget.
            return Poll::Pending;
        }
        if wait_until(sleep, scheduled, true, cx).is_ready() {
            self.cancel();
            return Poll::Ready(());
        }
        self.wake_at(scheduled, now, cx.waker(), true);
        Poll::Pending
    }

    /// A timer's precise state: nothing is registered until its first wait, on the
    /// runtime of that wait.
    pub(crate) fn new() -> Self {
        Precise {
            os: os_timer::OsTimer::new(),
            asked: None,
            wheel_alone: false,
        }
    }

    /// Whether an OS timer serves this timer: on Linux, unless its last wait found none
    /// (no file descriptor left for a timerfd); elsewhere never.
    pub(crate) fn is_available(&self) -> bool {
        self.os.is_available()
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
        // No OS timer on this platform (known at compile time), or a paused clock: the
        // wheel alone waits.
        if !os_timer::EXISTS || (with_wheel && !clock_is_running()) {
            self.cancel();
            return false;
        }
        if !self.os.wake_at(due, now, waker) {
            self.asked = None;
            return false;
        }
        self.asked = Some(Asked {
            due,
            waker: waker.clone(),
            with_wheel,
        });
        true
    }

    /// The timer waits no more for the OS timer (the wheel woke it, or it was stopped).
    pub(crate) fn cancel(&mut self) {
        if self.asked.take().is_some() {
            self.os.cancel();
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
