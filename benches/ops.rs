//! Cost of the operations around the ticks, kadenz against tokio, on the real clock:
//! creating a timer, resetting it (the watchdog pattern), kicking it through a
//! [`TimerHandle`](kadenz::TimerHandle) against a hand-written `Notify` watchdog, kicking an
//! entry of a set through a [`SetHandle`](kadenz::SetHandle) against a channel into the
//! owner's `select!`, and the missed-tick arithmetic.
//!
//! No clock is ever paused in this process (the paused-clock benches are in
//! `benches/tick.rs`), so `tokio::time::Instant::now()` is the plain monotonic clock, as in
//! production, on both sides.
//!
//! Timers are polled by hand with a waker that does nothing, inside a current-thread
//! runtime's context (`Runtime::enter`), the same way on both sides. Their deadlines are a
//! second away and the runtime is never driven, so nothing fires while the bench runs.
//!
//! ```text
//! cargo bench -p kadenz-tools --bench ops            # criterion
//! cargo bench -p kadenz-tools --bench ops -- --ab    # interleaved A/B ratios
//! ```

mod common;

use std::future::Future;
use std::hint::black_box;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Context;
use std::time::{Duration, Instant as StdInstant};

use common::Case;
use kadenz::policy::{MissedTickPolicy, SkipMissedAndDrift, SkipMissedAndResync, TriggerAllMissed};
use kadenz::Timer;
use kadenz_testkit::current_thread_runtime;
use kadenz_tools::{noop_waker, PollOnce};
use tokio::sync::futures::Notified;
use tokio::sync::Notify;
use tokio::time::{interval_at, sleep, Instant, Interval};

/// Far enough that no deadline passes during a bench.
const PERIOD: Duration = Duration::from_secs(1);

/// A tokio `Interval` whose first tick is one period away, like a kadenz timer's.
fn tokio_interval() -> Interval {
    interval_at(Instant::now() + PERIOD, PERIOD)
}

// --- create, first poll, drop -----------------------------------------------------------
//
// Both timers are created with their first tick one period away, polled once (which
// allocates nothing more on tokio's side and the `Sleep` on kadenz's, and registers with
// the timer wheel on both), then dropped (which deregisters). `tokio::time::interval`,
// whose first poll is ready at once without registering, would not be the same work.

fn create_kadenz(n: u64) -> Duration {
    let runtime = current_thread_runtime();
    let _context = runtime.enter();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let start = StdInstant::now();
    for _ in 0..n {
        let mut timer = Timer::periodic(black_box(PERIOD));
        let _ = black_box(timer.poll_tick(&mut cx));
        drop(timer);
    }
    start.elapsed()
}

fn create_tokio(n: u64) -> Duration {
    let runtime = current_thread_runtime();
    let _context = runtime.enter();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let start = StdInstant::now();
    for _ in 0..n {
        let mut interval = interval_at(Instant::now() + black_box(PERIOD), PERIOD);
        let _ = black_box(interval.poll_tick(&mut cx));
        drop(interval);
    }
    start.elapsed()
}

// --- reset ------------------------------------------------------------------------------
//
// The watchdog pattern: every message restarts the timeout. Each timer is created and
// polled once (so it is registered with the wheel) before timing. `reset` is the reset
// alone, as when several messages arrive between two polls of the timer; `reset_poll` is
// a reset followed by a poll, as in a `select!` loop that receives one message per wake.
// The tokio members are `Interval::reset` and `Sleep::reset(now + period)`, the two ways a
// tokio user writes a watchdog.

fn reset_loop<T: PollOnce>(
    n: u64,
    make: impl FnOnce() -> T,
    op: impl FnMut(&mut T, &mut Context<'_>),
) -> Duration {
    let runtime = current_thread_runtime();
    let _context = runtime.enter();
    timed_ops(n, make, op)
}

/// The same inside a task (spawned on the runtime, where watchdogs live): a task has an
/// id, and a timer checks which runtime polls it by that id.
fn reset_loop_in_task<T: PollOnce + 'static>(
    n: u64,
    make: impl FnOnce() -> T + 'static,
    op: impl FnMut(&mut T, &mut Context<'_>) + 'static,
) -> Duration {
    let runtime = current_thread_runtime();
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        tokio::task::spawn_local(async move { timed_ops(n, make, op) })
            .await
            .expect("the bench task")
    })
}

/// Makes the timer, polls it once (so it waits on the wheel), then times `n` operations.
fn timed_ops<T: PollOnce>(
    n: u64,
    make: impl FnOnce() -> T,
    mut op: impl FnMut(&mut T, &mut Context<'_>),
) -> Duration {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut timer = make();
    timer.poll_once(&mut cx);
    let start = StdInstant::now();
    for _ in 0..n {
        op(black_box(&mut timer), &mut cx);
    }
    start.elapsed()
}

/// `reset_loop` (`IN_TASK` false) or `reset_loop_in_task` (true).
fn ops_in<const IN_TASK: bool, T: PollOnce + 'static>(
    n: u64,
    make: impl FnOnce() -> T + 'static,
    op: impl FnMut(&mut T, &mut Context<'_>) + 'static,
) -> Duration {
    if IN_TASK {
        reset_loop_in_task(n, make, op)
    } else {
        reset_loop(n, make, op)
    }
}

fn reset_kadenz(n: u64) -> Duration {
    reset_loop(n, || Timer::timeout(PERIOD), |timer, _| timer.reset())
}

fn reset_tokio_interval(n: u64) -> Duration {
    reset_loop(n, tokio_interval, |interval, _| interval.reset())
}

fn reset_tokio_sleep(n: u64) -> Duration {
    reset_loop(
        n,
        || Box::pin(sleep(PERIOD)),
        |sleep, _| sleep.as_mut().reset(Instant::now() + PERIOD),
    )
}

fn reset_poll_kadenz<const IN_TASK: bool>(n: u64) -> Duration {
    ops_in::<IN_TASK, _>(
        n,
        || Timer::timeout(PERIOD),
        |timer, cx| {
            timer.reset();
            let _ = black_box(timer.poll_tick(cx));
        },
    )
}

fn reset_poll_tokio_interval<const IN_TASK: bool>(n: u64) -> Duration {
    ops_in::<IN_TASK, _>(n, tokio_interval, |interval, cx| {
        interval.reset();
        let _ = black_box(interval.poll_tick(cx));
    })
}

fn reset_poll_tokio_sleep<const IN_TASK: bool>(n: u64) -> Duration {
    ops_in::<IN_TASK, _>(
        n,
        || Box::pin(sleep(PERIOD)),
        |sleep, cx| {
            sleep.as_mut().reset(Instant::now() + PERIOD);
            let _ = black_box(sleep.as_mut().poll(cx));
        },
    )
}

// --- poll while waiting -----------------------------------------------------------------
//
// A timer in a `select!` loop is polled every time any branch's wake runs the loop, most
// often before its tick is due. Each timer is created and polled once before timing; each
// operation is one more poll, which returns `Pending`.

fn poll_pending_kadenz<const IN_TASK: bool>(n: u64) -> Duration {
    ops_in::<IN_TASK, _>(
        n,
        || Timer::periodic(PERIOD),
        |timer, cx| {
            let _ = black_box(timer.poll_tick(cx));
        },
    )
}

fn poll_pending_tokio<const IN_TASK: bool>(n: u64) -> Duration {
    ops_in::<IN_TASK, _>(n, tokio_interval, |interval, cx| {
        let _ = black_box(interval.poll_tick(cx));
    })
}

// --- a kick from another task: the handle against a hand-written `Notify` watchdog -------
//
// A watchdog kicked by other tasks. With kadenz, the kickers hold a `TimerHandle` and call
// `reset()`; the handle leaves the restart in a slot under a mutex and wakes the timer's
// task only if the new deadline is earlier than the one the timer waits for, which a
// reset never is. Without it, a tokio user writes the watchdog by hand: the kickers hold
// an `Arc<Notify>` and call `notify_one()`, and the watchdog task loops on
//
//     tokio::select! {
//         _ = notify.notified() => sleep.as_mut().reset(Instant::now() + PERIOD),
//         _ = &mut sleep => { /* timed out */ }
//     }
//
// so every kick wakes the watchdog task, which restarts its `Sleep` and waits again.
//
// `handle_kick`, the kick alone (the kicker's side):
// - `kadenz`: `TimerHandle::reset()` on a timer that was polled once, so it waits on the
//   wheel and its waker is in the handle's slot; its deadline is one PERIOD away, so no
//   kick needs to wake it.
// - `kadenz_timer_reset`: `Timer::reset()` by the timer's own task (a timer without a
//   handle, polled once: the `reset` group's kadenz member).
// - `tokio_notify`: `notify_one()` with the watchdog's `notified()` future registered, as
//   after every wake of the watchdog: each kick pops the waiter and wakes it (untimed in
//   between: a fresh batch of registered futures, and receiving their notifications).
// - `tokio_notify_stored`: `notify_one()` on a `Notify` whose registered future has
//   already been notified by the first call: every later kick only stores the permit (an
//   atomic compare-exchange), the kicker's cost while the watchdog task has not run yet.
//
// `handle_kick_poll`, the kick and then the watchdog's poll (one kick per wake):
// - `kadenz`: `TimerHandle::reset()` and `Timer::poll_tick`, which applies the restart,
//   moves its `Sleep` and registers its waker in the slot again (`Pending`).
// - `kadenz_timer_reset`: `Timer::reset()` and `Timer::poll_tick` on a timer without a
//   handle (the `reset_poll` group's kadenz member).
// - `tokio_notify`: `notify_one()`, then the hand-written watchdog's poll: its `Notified`
//   is ready; it re-arms (a new `notified()`, `Sleep::reset(now + PERIOD)`) and polls the
//   new `Notified` (which registers it) and the `Sleep` (`Pending`), as the next turn of
//   the `select!` loop does.
//
// `handle_kick_rearm`, what one kick costs the program until the watchdog is re-armed, when
// kicks come one per wake of the watchdog task:
// - `kadenz`: `TimerHandle::reset()` alone (`handle_kick`'s kadenz member): the timer's
//   task is not woken, so it does not run; the timer applies the last restart when it is
//   next polled, at the latest at its old deadline (one poll per PERIOD, not per kick).
// - `tokio_notify`: `notify_one()` and the watchdog's poll (`handle_kick_poll`'s tokio
//   member): the kick woke the watchdog task, which must run to re-arm.
//
// The waker does nothing: the cost of the wake itself (scheduling the watchdog task and
// running it), which every `Notify` kick causes and no handle reset does, is not counted.

/// The number of `Notified` futures registered at once by `kick_tokio_notify`.
const KICK_BATCH: u64 = 256;

fn kick_kadenz(n: u64) -> Duration {
    let runtime = current_thread_runtime();
    let _context = runtime.enter();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut timer = Timer::timeout(PERIOD);
    let handle = timer.handle();
    timer.poll_once(&mut cx);
    let start = StdInstant::now();
    for _ in 0..n {
        black_box(&handle).reset();
    }
    let elapsed = start.elapsed();
    // The restarts were left for the timer, which applies them on its next poll.
    assert!(timer.poll_tick(&mut cx).is_pending());
    elapsed
}

fn kick_kadenz_timer_reset(n: u64) -> Duration {
    reset_kadenz(n)
}

/// The watchdog's `notified()` futures, registered `KICK_BATCH` at a time: each
/// `notify_one()` finds a waiter, as the first kick after each wake of the watchdog does.
fn kick_tokio_notify(n: u64) -> Duration {
    let runtime = current_thread_runtime();
    let _context = runtime.enter();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let notify = Arc::new(Notify::new());
    let kicker = Arc::clone(&notify);
    let mut waiting: Vec<Pin<Box<Notified<'_>>>> = (0..KICK_BATCH)
        .map(|_| Box::pin(notify.notified()))
        .collect();
    let mut elapsed = Duration::ZERO;
    let mut left = n;
    while left > 0 {
        let batch = left.min(KICK_BATCH) as usize;
        for notified in &mut waiting[..batch] {
            notified.set(notify.notified());
            assert!(notified.as_mut().poll(&mut cx).is_pending());
        }
        let start = StdInstant::now();
        for _ in 0..batch {
            black_box(&kicker).notify_one();
        }
        elapsed += start.elapsed();
        // Receive the notifications: a `Notified` dropped after `notify_one` chose it
        // would pass the notification on.
        for notified in &mut waiting[..batch] {
            assert!(notified.as_mut().poll(&mut cx).is_ready());
        }
        left -= batch as u64;
    }
    elapsed
}

fn kick_tokio_notify_stored(n: u64) -> Duration {
    let runtime = current_thread_runtime();
    let _context = runtime.enter();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let notify = Arc::new(Notify::new());
    let kicker = Arc::clone(&notify);
    let mut notified = pin!(notify.notified());
    assert!(notified.as_mut().poll(&mut cx).is_pending());
    let start = StdInstant::now();
    for _ in 0..n {
        black_box(&kicker).notify_one();
    }
    let elapsed = start.elapsed();
    assert!(notified.as_mut().poll(&mut cx).is_ready());
    elapsed
}

fn kick_poll_kadenz(n: u64) -> Duration {
    let runtime = current_thread_runtime();
    let _context = runtime.enter();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut timer = Timer::timeout(PERIOD);
    let handle = timer.handle();
    timer.poll_once(&mut cx);
    let start = StdInstant::now();
    for _ in 0..n {
        black_box(&handle).reset();
        let _ = black_box(black_box(&mut timer).poll_tick(&mut cx));
    }
    start.elapsed()
}

fn kick_poll_kadenz_timer_reset(n: u64) -> Duration {
    reset_poll_kadenz::<false>(n)
}

/// One turn of the hand-written watchdog's `select!` loop: if the `Notified` is ready (a
/// kick), re-arm (a new `notified()`, the `Sleep` restarted) and wait again, polling the new
/// `Notified` (which registers it) and the `Sleep`. `true` if the watchdog has to act: a
/// kick already waiting, or the timeout.
fn notify_watchdog_poll<'a>(
    notify: &'a Notify,
    notified: &mut Pin<&mut Notified<'a>>,
    sleep: &mut Pin<&mut tokio::time::Sleep>,
    cx: &mut Context<'_>,
) -> bool {
    if notified.as_mut().poll(cx).is_ready() {
        notified.set(notify.notified());
        sleep.as_mut().reset(Instant::now() + PERIOD);
        if notified.as_mut().poll(cx).is_ready() {
            return true;
        }
    }
    sleep.as_mut().poll(cx).is_ready()
}

fn kick_poll_tokio_notify(n: u64) -> Duration {
    let runtime = current_thread_runtime();
    let _context = runtime.enter();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let notify = Arc::new(Notify::new());
    let kicker = Arc::clone(&notify);
    let mut timeout = pin!(sleep(PERIOD));
    let mut notified = pin!(notify.notified());
    // The watchdog waits: its `Notified` is registered, its `Sleep` on the wheel.
    assert!(!notify_watchdog_poll(
        &notify,
        &mut notified,
        &mut timeout,
        &mut cx
    ));
    // One turn untimed, to check that a kick re-arms it and leaves it waiting again.
    kicker.notify_one();
    assert!(!notify_watchdog_poll(
        &notify,
        &mut notified,
        &mut timeout,
        &mut cx
    ));
    let start = StdInstant::now();
    for _ in 0..n {
        black_box(&kicker).notify_one();
        black_box(notify_watchdog_poll(
            &notify,
            &mut notified,
            &mut timeout,
            &mut cx,
        ));
    }
    start.elapsed()
}

// --- kicking an entry of a set from another task -----------------------------------------
//
// A `TimerSet` of 1,000 watchdog entries (`Timer::timeout_builder(PERIOD)`), polled once so
// that it waits on the wheel; each kick restarts entry 7.
//
// `set_kick`, the kicker's side:
// - `set_handle`: `SetHandle::reset(&7)`: the command is queued for the set; its first
//   tick is a PERIOD away, after the set's wake-up, so it wakes nobody.
// - `timer_handle`: `TimerHandle::reset()` on a lone watchdog (`handle_kick`'s kadenz
//   member): the same kick, for one timer.
// - `mpsc`: `UnboundedSender::send(7)` into a tokio channel that the set's owner receives
//   in its `select!`, with its receiver registered (the owner waits).
//
// `set_kick_apply`, the kick and what the owner does with it, one kick per turn:
// - `set_handle`: `SetHandle::reset(&7)`, then `TimerSet::poll_next`, which applies it and
//   waits again.
// - `mpsc`: `send(7)`, then one turn of the owner's `select!`: `poll_recv` is ready with
//   the key, `TimerSet::reset(&7)`, `poll_recv` again (registers, `Pending`) and
//   `TimerSet::poll_next` (`Pending`). Every such kick wakes the owner's task, which must
//   run; a `SetHandle` kick that moves no tick earlier does not, and its commands wait for
//   the set's next wake-up.

const SET_ENTRIES: u32 = 1_000;
const KICKED: u32 = 7;

fn watchdog_set() -> kadenz::TimerSet<u32> {
    let mut set = kadenz::TimerSet::with_capacity(SET_ENTRIES as usize);
    for key in 0..SET_ENTRIES {
        set.insert(key, Timer::timeout_builder(PERIOD)).unwrap();
    }
    set
}

fn set_kick_handle(n: u64) -> Duration {
    let runtime = current_thread_runtime();
    let _context = runtime.enter();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut set = watchdog_set();
    let handle = set.handle();
    assert!(set.poll_next(&mut cx).is_pending());
    let start = StdInstant::now();
    for _ in 0..n {
        black_box(&handle).reset(&KICKED);
    }
    let elapsed = start.elapsed();
    // The owner applies what was queued at its next poll.
    assert!(set.poll_next(&mut cx).is_pending());
    elapsed
}

fn set_kick_mpsc(n: u64) -> Duration {
    let runtime = current_thread_runtime();
    let _context = runtime.enter();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
    assert!(rx.poll_recv(&mut cx).is_pending());
    let start = StdInstant::now();
    for _ in 0..n {
        black_box(&tx).send(KICKED).unwrap();
    }
    let elapsed = start.elapsed();
    for _ in 0..n {
        assert!(rx.poll_recv(&mut cx).is_ready());
    }
    elapsed
}

fn set_kick_apply_handle(n: u64) -> Duration {
    let runtime = current_thread_runtime();
    let _context = runtime.enter();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut set = watchdog_set();
    let handle = set.handle();
    assert!(set.poll_next(&mut cx).is_pending());
    let start = StdInstant::now();
    for _ in 0..n {
        black_box(&handle).reset(&KICKED);
        assert!(black_box(&mut set).poll_next(&mut cx).is_pending());
    }
    start.elapsed()
}

fn set_kick_apply_mpsc(n: u64) -> Duration {
    let runtime = current_thread_runtime();
    let _context = runtime.enter();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut set = watchdog_set();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
    assert!(rx.poll_recv(&mut cx).is_pending());
    assert!(set.poll_next(&mut cx).is_pending());
    let start = StdInstant::now();
    for _ in 0..n {
        black_box(&tx).send(KICKED).unwrap();
        // One turn of the owner's `select!`.
        while let std::task::Poll::Ready(Some(key)) = rx.poll_recv(&mut cx) {
            set.reset(&key);
        }
        assert!(black_box(&mut set).poll_next(&mut cx).is_pending());
    }
    start.elapsed()
}

// --- the missed-tick arithmetic ---------------------------------------------------------
//
// Each policy's `calculate_next_tick_time` alone, for a tick 1.3 intervals late (so that
// the skipping policies do their modulo). `kadenz` calls it through a
// `Box<dyn MissedTickPolicy>`, as the timer does; `kadenz_static` calls the type directly.
// tokio's `MissedTickBehavior::next_timeout` is private to tokio, so the `tokio` member is
// the same rule written here with tokio's `Instant` and `Duration` (nanoseconds), as
// tokio's documentation states it:
//
// | kadenz                  | tokio   | next tick                                      |
// |-------------------------|---------|------------------------------------------------|
// | `TriggerAllMissed`      | `Burst` | scheduled + period                             |
// | `SkipMissedAndResync`   | `Skip`  | now + period - (now - scheduled) % period      |
// | `SkipMissedAndDrift(0)` | `Delay` | now + period                                   |

const INTERVAL_US: u64 = 1_000_000;
const SCHEDULED_US: u64 = 3_000_000;
const NOW_US: u64 = 4_300_000;

/// The policy called as the timer calls it: through the `Box<dyn MissedTickPolicy>` it holds.
fn policy_loop(n: u64, policy: Box<dyn MissedTickPolicy>) -> Duration {
    let policy = &*policy;
    let start = StdInstant::now();
    for _ in 0..n {
        black_box(black_box(policy).calculate_next_tick_time(
            black_box(INTERVAL_US),
            black_box(SCHEDULED_US),
            black_box(NOW_US),
        ));
    }
    start.elapsed()
}

fn policy_static_loop(n: u64, policy: impl MissedTickPolicy) -> Duration {
    let start = StdInstant::now();
    for _ in 0..n {
        black_box(black_box(&policy).calculate_next_tick_time(
            black_box(INTERVAL_US),
            black_box(SCHEDULED_US),
            black_box(NOW_US),
        ));
    }
    start.elapsed()
}

fn policy_tokio_loop(n: u64, rule: fn(Instant, Instant, Duration) -> Instant) -> Duration {
    let origin = Instant::now();
    let period = Duration::from_micros(INTERVAL_US);
    let scheduled = origin + Duration::from_micros(SCHEDULED_US);
    let now = origin + Duration::from_micros(NOW_US);
    let start = StdInstant::now();
    for _ in 0..n {
        black_box(rule(
            black_box(scheduled),
            black_box(now),
            black_box(period),
        ));
    }
    start.elapsed()
}

fn burst_kadenz(n: u64) -> Duration {
    policy_loop(n, Box::new(TriggerAllMissed))
}

fn burst_kadenz_static(n: u64) -> Duration {
    policy_static_loop(n, TriggerAllMissed)
}

fn burst_tokio(n: u64) -> Duration {
    policy_tokio_loop(n, |scheduled, _now, period| scheduled + period)
}

fn skip_kadenz(n: u64) -> Duration {
    policy_loop(n, Box::new(SkipMissedAndResync))
}

fn skip_kadenz_static(n: u64) -> Duration {
    policy_static_loop(n, SkipMissedAndResync)
}

fn skip_tokio(n: u64) -> Duration {
    policy_tokio_loop(n, |scheduled, now, period| {
        let late_into_period = (now - scheduled).as_nanos() % period.as_nanos();
        now + period - Duration::from_nanos(late_into_period as u64)
    })
}

fn delay_kadenz(n: u64) -> Duration {
    policy_loop(n, Box::new(SkipMissedAndDrift::default()))
}

fn delay_kadenz_static(n: u64) -> Duration {
    policy_static_loop(n, SkipMissedAndDrift::default())
}

fn delay_tokio(n: u64) -> Duration {
    policy_tokio_loop(n, |_scheduled, now, period| now + period)
}

// --- the clock ----------------------------------------------------------------------------
//
// Not a comparison: what one read of the clock costs on this machine, the unit in which
// kadenz's extra work on a poll is counted (see BENCHMARKS.md).

fn clock_now(n: u64) -> Duration {
    let start = StdInstant::now();
    for _ in 0..n {
        black_box(Instant::now());
    }
    start.elapsed()
}

const CASES: &[Case] = &[
    Case {
        group: "create_poll_drop",
        members: &[("kadenz", create_kadenz), ("tokio", create_tokio)],
        ab_ops: 50_000,
    },
    Case {
        group: "reset",
        members: &[
            ("kadenz", reset_kadenz),
            ("tokio_interval", reset_tokio_interval),
            ("tokio_sleep", reset_tokio_sleep),
        ],
        ab_ops: 200_000,
    },
    Case {
        group: "reset_poll",
        members: &[
            ("kadenz", reset_poll_kadenz::<false>),
            ("tokio_interval", reset_poll_tokio_interval::<false>),
            ("tokio_sleep", reset_poll_tokio_sleep::<false>),
        ],
        ab_ops: 100_000,
    },
    Case {
        group: "reset_poll_in_task",
        members: &[
            ("kadenz", reset_poll_kadenz::<true>),
            ("tokio_interval", reset_poll_tokio_interval::<true>),
            ("tokio_sleep", reset_poll_tokio_sleep::<true>),
        ],
        ab_ops: 100_000,
    },
    Case {
        group: "poll_pending",
        members: &[
            ("kadenz", poll_pending_kadenz::<false>),
            ("tokio", poll_pending_tokio::<false>),
        ],
        ab_ops: 200_000,
    },
    Case {
        group: "poll_pending_in_task",
        members: &[
            ("kadenz", poll_pending_kadenz::<true>),
            ("tokio", poll_pending_tokio::<true>),
        ],
        ab_ops: 200_000,
    },
    Case {
        group: "handle_kick",
        members: &[
            ("kadenz", kick_kadenz),
            ("kadenz_timer_reset", kick_kadenz_timer_reset),
            ("tokio_notify", kick_tokio_notify),
            ("tokio_notify_stored", kick_tokio_notify_stored),
        ],
        ab_ops: 200_000,
    },
    Case {
        group: "handle_kick_poll",
        members: &[
            ("kadenz", kick_poll_kadenz),
            ("kadenz_timer_reset", kick_poll_kadenz_timer_reset),
            ("tokio_notify", kick_poll_tokio_notify),
        ],
        ab_ops: 100_000,
    },
    Case {
        group: "handle_kick_rearm",
        members: &[
            ("kadenz", kick_kadenz),
            ("tokio_notify", kick_poll_tokio_notify),
        ],
        ab_ops: 100_000,
    },
    Case {
        group: "set_kick",
        members: &[
            ("set_handle", set_kick_handle),
            ("timer_handle", kick_kadenz),
            ("mpsc", set_kick_mpsc),
        ],
        ab_ops: 200_000,
    },
    Case {
        group: "set_kick_apply",
        members: &[
            ("set_handle", set_kick_apply_handle),
            ("mpsc", set_kick_apply_mpsc),
        ],
        ab_ops: 100_000,
    },
    Case {
        group: "policy_trigger_all_missed",
        members: &[
            ("kadenz", burst_kadenz),
            ("kadenz_static", burst_kadenz_static),
            ("tokio", burst_tokio),
        ],
        ab_ops: 5_000_000,
    },
    Case {
        group: "policy_skip_missed_and_resync",
        members: &[
            ("kadenz", skip_kadenz),
            ("kadenz_static", skip_kadenz_static),
            ("tokio", skip_tokio),
        ],
        ab_ops: 5_000_000,
    },
    Case {
        group: "policy_skip_missed_and_drift",
        members: &[
            ("kadenz", delay_kadenz),
            ("kadenz_static", delay_kadenz_static),
            ("tokio", delay_tokio),
        ],
        ab_ops: 5_000_000,
    },
    Case {
        group: "clock_now",
        members: &[("tokio_instant_now", clock_now)],
        ab_ops: 1_000_000,
    },
];

fn main() {
    common::main(CASES);
}
