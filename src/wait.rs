//! Waiting for a due time: a wheel `Sleep` of the runtime that polls, and for precise
//! waits the OS timer too. Shared by [`Timer`](crate::Timer) and
//! [`TimerSet`](crate::TimerSet), which differ only in what they wait for: both poll
//! through [`wheel_still_waits`] first, then, with the instant their schedule says is due
//! next, through [`poll_due`], the one wait step.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use tokio::time::{Instant, Sleep};

use crate::precise::Precise;

/// A timer or a set, as the wait step sees it.
pub(crate) trait Waits {
    /// Where it waits: its wheel `Sleep` and, if it is precise, its OS timer.
    fn waiting(&mut self) -> (&mut WheelSleep, Option<&mut Precise>);

    /// Called when the due instant has not come, before waiting for it: `true` if the
    /// owner changed what is due meanwhile (a set's entries held back, due already).
    #[inline(always)]
    fn before_wait(&mut self) -> bool {
        false
    }
}

/// What a poll does next with the instant its schedule says is due: [`poll_due`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The tick is due: deliver it, with the clock reading this instant.
    Deliver(Instant),
    /// Not due: the wheel (or the OS timer) wakes the task when it is. The owner lets its
    /// handles wake the task too, then returns `Pending`.
    Wait,
    /// Not due, and the owner changed what is due first ([`Waits::before_wait`]): look
    /// again.
    Again,
}

/// The wait step of a timer or a set whose next tick is due at `due`: reads the clock,
/// and delivers, or waits on the wheel or the OS timer. `Pending` only when the task is
/// out of cooperative budget (tokio then wakes it at once).
///
/// An overdue tick takes a unit of budget here, or a long catch-up would never give the
/// thread back; a tick the wheel waited for took its unit in the `Sleep`'s poll. A wait
/// that left the wheel alone waiting notes it ([`set_waited`]): until the `Sleep` fires,
/// the next poll takes the wheel's word ([`wheel_still_waits`]) without reading the clock.
#[inline(always)]
pub(crate) fn poll_due(owner: &mut impl Waits, cx: &mut Context<'_>, due: Instant) -> Poll<Step> {
    let now = Instant::now();
    if now >= due {
        ready!(tokio::task::coop::poll_proceed(cx)).made_progress();
        return Poll::Ready(Step::Deliver(now));
    }
    if owner.before_wait() {
        return Poll::Ready(Step::Again);
    }
    let (sleep, precise) = owner.waiting();
    let (poll, wheel_alone) = match precise {
        Some(precise) => {
            let poll = precise.wait(sleep, cx, due, now);
            // A paused clock: the OS timer was left out, and the wheel's word is final,
            // as for a default timer.
            (poll, precise.wheel_alone())
        }
        None => (wait_until(sleep, due, false, cx), true),
    };
    if poll.is_ready() {
        return Poll::Ready(Step::Deliver(Instant::now()));
    }
    if wheel_alone {
        set_waited(sleep, true);
    }
    Poll::Ready(Step::Wait)
}

/// The wheel `Sleep` of a timer or a set, made on its first wait.
pub(crate) type WheelSleep = Option<Wheel>;

/// A wheel `Sleep`, who made it, and the waker it holds.
#[derive(Debug)]
pub(crate) struct Wheel {
    /// Who polled the timer when the `Sleep` was made (it belongs to that poller's
    /// runtime), and whether the `Sleep` waits for the pending tick (a set's earliest due
    /// time), or an earlier time that has not come: until it fires, a poll takes the
    /// wheel's word. Every change of what the owner waits for ends that ([`end_wait`]),
    /// but the owner's own restart from now to a later due time (the deferred reset).
    made_for: MadeFor,
    /// The waker of the last poll of the `Sleep`, which the wheel holds until the `Sleep`
    /// fires (tokio wakes the waker of the latest poll, and drops it when it fires);
    /// `None` once the `Sleep` was moved outside a poll, which may race with its firing
    /// and leave it registered without a waker. A clone, so that what it points to
    /// cannot be freed and reused by another waker while the wheel holds it.
    held: Option<Waker>,
    sleep: Pin<Box<Sleep>>,
}

/// A [`Waiter`] and the wheel's word, in the 16 bytes of a `Waiter` alone (the flag sits
/// in the padding beside the variant's tag): a `Timer` stays 128 bytes.
#[derive(Debug, Clone, Copy)]
enum MadeFor {
    Task(tokio::task::Id, bool),
    Runtime(tokio::runtime::Id, bool),
}

impl MadeFor {
    /// Made for `waiter`, without the wheel's word.
    fn new(waiter: Waiter) -> MadeFor {
        match waiter {
            Waiter::Task(task) => MadeFor::Task(task, false),
            Waiter::Runtime(runtime) => MadeFor::Runtime(runtime, false),
        }
    }

    fn waiter(self) -> Waiter {
        match self {
            MadeFor::Task(task, _) => Waiter::Task(task),
            MadeFor::Runtime(runtime, _) => Waiter::Runtime(runtime),
        }
    }

    fn waited(self) -> bool {
        match self {
            MadeFor::Task(_, waited) | MadeFor::Runtime(_, waited) => waited,
        }
    }

    fn set_waited(&mut self, to: bool) {
        match self {
            MadeFor::Task(_, waited) | MadeFor::Runtime(_, waited) => *waited = to,
        }
    }
}

impl Wheel {
    /// The deadline the `Sleep` waits for.
    pub(crate) fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }

    /// Whether the `Sleep` was made on the runtime polling now ([`Waiter::is_current`]).
    pub(crate) fn is_current(&self) -> bool {
        self.made_for.waiter().is_current()
    }

    /// Whether the `Sleep` has fired (at its deadline, or at its runtime's shutdown).
    pub(crate) fn is_elapsed(&self) -> bool {
        self.sleep.is_elapsed()
    }

    /// Moves the `Sleep` outside a poll: the next wait polls it again before taking its
    /// word.
    pub(crate) fn reset(&mut self, deadline: Instant) {
        self.held = None;
        self.sleep.as_mut().reset(deadline);
    }

    /// Polls the `Sleep`, and notes the waker it now holds: `keep` clones a new one (an
    /// atomic increment), otherwise only the one already kept is still trusted. The wait
    /// that moves the `Sleep` does not keep a new waker: a timer made, polled once and
    /// dropped takes no clone, and the first waiting poll after it keeps the waker. Sleep
    /// takes its own unit of cooperative budget.
    fn poll(&mut self, cx: &mut Context<'_>, keep: bool) -> Poll<()> {
        // Without budget, the `Sleep` returns `Pending` before it registers the waker.
        let registers = tokio::task::coop::has_budget_remaining();
        let poll = self.sleep.as_mut().poll(cx);
        if poll.is_pending() && !(registers && self.holds(cx.waker())) {
            self.held = (registers && keep).then(|| cx.waker().clone());
        }
        poll
    }

    fn holds(&self, waker: &Waker) -> bool {
        self.held.as_ref().is_some_and(|held| held.will_wake(waker))
    }
}

/// Who polled the timer when its `Sleep` was made: the `Sleep` belongs to that poller's
/// runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waiter {
    /// A task: it only ever runs on its runtime, and its id is a thread-local read (about
    /// 2 ns, against about 21 ns to look up the current runtime).
    Task(tokio::task::Id),
    /// Code outside a task (`block_on`, a hand-written poll), on this runtime.
    Runtime(tokio::runtime::Id),
}

impl Waiter {
    /// # Panics
    ///
    /// Outside a runtime, with tokio's message, as `tokio::time::sleep` does.
    pub(crate) fn current() -> Waiter {
        match tokio::task::try_id() {
            Some(task) => Waiter::Task(task),
            None => Waiter::Runtime(tokio::runtime::Handle::current().id()),
        }
    }

    /// Whether a `Sleep` made for `self` belongs to the runtime polling now; `false`
    /// outside a runtime. Never panics: a tick that is due is delivered outside a runtime
    /// too, and only a timer that has to wait needs one.
    pub(crate) fn is_current(self) -> bool {
        match (self, tokio::task::try_id()) {
            (Waiter::Task(task), Some(now)) => task == now,
            (Waiter::Runtime(runtime), None) => {
                tokio::runtime::Handle::try_current().is_ok_and(|current| current.id() == runtime)
            }
            // From a task to code outside one, or back: perhaps another runtime; a new
            // `Sleep` is always right.
            _ => false,
        }
    }
}

/// Ends the wheel's word: what the owner waits for changed.
#[inline]
pub(crate) fn end_wait(sleep: &mut WheelSleep) {
    set_waited(sleep, false);
}

/// Notes whether the `Sleep` waits for what its owner waits for next, or an earlier time
/// that has not come.
#[inline]
pub(crate) fn set_waited(sleep: &mut WheelSleep, waited: bool) {
    if let Some(wheel) = sleep {
        wheel.made_for.set_waited(waited);
    }
}

/// Whether the wheel's `Sleep` was noted as waiting and nothing ended that since.
pub(crate) fn is_waited(sleep: &WheelSleep) -> bool {
    sleep.as_ref().is_some_and(|wheel| wheel.made_for.waited())
}

/// Whether the wheel still waits, for whoever polls now: the rule of a waiting timer or
/// set that takes the wheel's word instead of reading the clock. The wait was noted
/// ([`set_waited`]), and most often the poll comes with the very waker the wheel holds
/// (`Waker::will_wake`) and the `Sleep` has not fired: then it is the wheel's word alone,
/// without a look at the runtime or a poll of the `Sleep` (a tokio waker belongs to its
/// task, and a task to its runtime). Otherwise the `Sleep` must have been made on this
/// poller's runtime, not have fired, and still be pending once polled with the new
/// waker. A fired `Sleep` counts as done waiting, so that the caller reads the clock: the
/// wheel also fires every `Sleep` when its runtime shuts down, and that is no tick.
#[inline]
pub(crate) fn wheel_still_waits(sleep: &mut WheelSleep, cx: &mut Context<'_>) -> bool {
    let Some(wheel) = sleep else {
        return false;
    };
    // Once it no longer waits, its word ends until a wait notes it again.
    let waits = wheel.made_for.waited()
        && if wheel.holds(cx.waker()) {
            !wheel.is_elapsed()
        } else {
            wheel.made_for.waiter().is_current()
                && !wheel.is_elapsed()
                && wheel.poll(cx, true).is_pending()
        };
    wheel.made_for.set_waited(waits);
    waits
}

/// Waits for `deadline` on a `Sleep` of the runtime polling the timer now.
/// `replace`: a new `Sleep` rather than a moved one, which leaves no entry at the old
/// deadline in the wheel (moving it later does, and wakes the driver once more).
///
/// # Panics
///
/// Outside a runtime, or on one without the time driver, with tokio's message.
pub(crate) fn wait_until(
    sleep: &mut WheelSleep,
    deadline: Instant,
    replace: bool,
    cx: &mut Context<'_>,
) -> Poll<()> {
    // A `Sleep` is woken by the timer driver of the runtime that made it, so the timer
    // waits on a `Sleep` of the runtime polling it now (tokio's own panic outside a
    // runtime). tokio promises ids unique only among running tasks and runtimes; tokio
    // 1.49 to 1.54 draw both from process-wide 64-bit counters (32-bit where 64-bit
    // atomics are missing), so a finished one's id does not come back in practice. The
    // one move a task id misses is a `LocalSet` run on another runtime while the first
    // one lives on, idle: its tasks keep their ids, and the timer keeps waiting on the
    // first runtime's wheel, as a tokio `Sleep` would.
    let Some(wheel) = sleep else {
        return sleep
            .insert(Wheel {
                made_for: MadeFor::new(Waiter::current()),
                held: None,
                sleep: Box::pin(tokio::time::sleep_until(deadline)),
            })
            .poll(cx, false);
    };
    if !wheel.is_current() || (replace && wheel.deadline() != deadline) {
        // Replaced in place: no allocation.
        wheel.sleep.set(tokio::time::sleep_until(deadline));
        let waited = wheel.made_for.waited();
        wheel.made_for = MadeFor::new(Waiter::current());
        wheel.made_for.set_waited(waited);
    } else if wheel.deadline() != deadline {
        // Moving a registered deadline later is cheap; the poll below follows at once,
        // so the waker stays known.
        wheel.sleep.as_mut().reset(deadline);
    }
    wheel.poll(cx, false)
}
