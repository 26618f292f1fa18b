//! Loom model check of the handle protocol (the module doc of `handle` states it): the
//! interleavings of a timer's task and its handles, all of them for the two-thread models,
//! up to four preemptions for the three-thread one (`racing_reset_at`).
//!
//! ```text
//! RUSTFLAGS="--cfg kadenz_loom" CARGO_TARGET_DIR=target/loom cargo test --release --lib loom_check
//! ```
//!
//! The timer's task is modelled without a runtime: a poll is `poll_tick`'s loop (sync,
//! compute the due time, register, and on `false` loop again), where the due time is always
//! ahead (every instant here lies ten minutes or more in the future), and the task is
//! polled again only when its waker was woken since its last poll began, as an
//! executor does. A task left waiting is woken later only by the timer wheel, at the
//! deadline it registered. After every thread has joined, each model checks:
//!
//! - no lost wake-up: a task left waiting without a wake-up has no command waiting for it
//!   that moves its next tick before that deadline (a stop, an earlier start), nor a new
//!   interval (which the handle promises to wake for);
//! - once the task applies what is left, the schedule is what the last command in
//!   linearisation order made it, and the handles' `is_running` and `interval` agree with
//!   it; inside a handle's thread, `is_running` follows its own commands.

use std::sync::atomic::Ordering::SeqCst;
use std::task::{Wake, Waker};
use std::time::Duration;

use loom::sync::atomic::AtomicUsize;
use loom::thread;
use tokio::time::Instant;

use super::{Owner, TimerHandle};
use crate::schedule::{Due, Schedule, Start, State};

/// The interval the schedules start with, and the ones `set_interval` sets.
const INTERVAL: Duration = Duration::from_secs(1);
const NEW_INTERVAL: Duration = Duration::from_secs(2);
const SHORTER_INTERVAL: Duration = Duration::from_millis(500);

/// How many times the task may be polled: the first poll, and re-polls after wake-ups.
/// (The set handle's check, `set/handle/loom_check.rs`, shares this and the helpers
/// below.)
pub(crate) const MAX_POLLS: usize = 3;

/// The instants the models use, made before the model: a run never reads the clock on a
/// path that decides anything (`reset` does read it, but `now + 1 s` is always before
/// `deadline` and `later`).
#[derive(Clone, Copy)]
pub(crate) struct Times {
    /// The deadline the task first waits for.
    pub(crate) deadline: Instant,
    /// Before `deadline`: a reset to it needs a wake-up.
    pub(crate) earlier: Instant,
    /// After `deadline`: a reset to it needs none.
    pub(crate) later: Instant,
}

impl Times {
    pub(crate) fn new() -> Self {
        let now = Instant::now();
        Times {
            deadline: now + Duration::from_secs(3_600),
            earlier: now + Duration::from_secs(600),
            later: now + Duration::from_secs(7_200),
        }
    }
}

/// The timer's task: counts its wake-ups.
#[derive(Default)]
pub(crate) struct Task {
    wakes: AtomicUsize,
}

impl Wake for Task {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.wakes.fetch_add(1, SeqCst);
    }
}

impl Task {
    pub(crate) fn wakes(&self) -> usize {
        self.wakes.load(SeqCst)
    }
}

/// How the task's last poll ended.
#[derive(Clone, Copy, Debug)]
enum Polled {
    /// `Ready(None)`: the timer is stopped; the task does not wait for it.
    Stopped,
    /// `Pending`, waiting for `armed` (the timer wheel's wake-up; `None`: none), in a poll
    /// that began when the task had been woken `wakes` times.
    Waiting {
        armed: Option<Instant>,
        wakes: usize,
    },
}

/// The timer's side: the schedule, the owner of the slot, and the task polling it.
struct Timer {
    schedule: Schedule,
    owner: Owner,
    task: std::sync::Arc<Task>,
    waker: Waker,
}

impl Timer {
    /// A running timer whose schedule `start` made, and one handle to it.
    fn new(start: Start) -> (Self, TimerHandle) {
        let mut schedule = Schedule::new(micros(INTERVAL));
        schedule.start(start);
        let owner = Owner::new(&schedule, crate::label::Label::default(), 0);
        let handle = owner.handle();
        let task = std::sync::Arc::new(Task::default());
        let waker = Waker::from(task.clone());
        let timer = Timer {
            schedule,
            owner,
            task,
            waker,
        };
        (timer, handle)
    }

    /// One poll of `tick()`, as `Timer::poll_tick` does it while the due time is ahead.
    fn poll(&mut self) -> Polled {
        // An executor clears the task's notification as the poll begins: a wake-up from
        // here on polls the task again.
        let wakes = self.task.wakes();
        loop {
            self.owner.sync(&mut self.schedule);
            let armed = match self.schedule.due() {
                Due::Stopped => return Polled::Stopped,
                Due::NotStarted => unreachable!("the models start their schedules"),
                Due::Never => None,
                Due::At(due) => Some(due),
            };
            if self.owner.register(&self.waker, armed) {
                return Polled::Waiting { armed, wakes };
            }
        }
    }

    /// Polls until the task is left waiting without a wake-up, or stopped, or polled
    /// `MAX_POLLS` times.
    fn run(&mut self) -> Polled {
        let mut polled = self.poll();
        for _ in 1..MAX_POLLS {
            match polled {
                Polled::Waiting { wakes, .. } if self.task.wakes() != wakes => {
                    polled = self.poll();
                }
                _ => break,
            }
        }
        polled
    }

    /// What `Timer::start` (the timer's own `reset_at` and friends) does.
    fn start(&mut self, start: Start) {
        self.owner.sync(&mut self.schedule);
        self.schedule.start(start);
        self.owner.publish(&self.schedule);
    }

    /// The checks after every thread joined (see the module doc). Returns the schedule
    /// once the task applied what the handles left.
    fn check(mut self, polled: Polled, handle: &TimerHandle) -> Schedule {
        let view = self.owner.peek(&self.schedule);
        if let Polled::Waiting { armed, wakes } = polled {
            if self.task.wakes() == wakes {
                // Left waiting: only the timer wheel wakes the task, at `armed`.
                assert!(
                    !needs_wake(view.due(), armed),
                    "lost wake-up: the task waits for {armed:?}, but the handles made the \
                     schedule {:?}",
                    view.state,
                );
                assert_eq!(
                    self.owner.wake.lock().interval_us,
                    None,
                    "lost wake-up: a new interval waits for a task that was not woken",
                );
            }
        }
        self.owner.sync(&mut self.schedule);
        assert_eq!(
            self.schedule, view,
            "the timer's view of what the handles left"
        );
        assert!(!self.owner.wake.pending());
        assert_eq!(self.owner.wake.lock().command, None);
        assert_eq!(handle.is_running(), self.schedule.is_running());
        assert_eq!(
            handle.interval(),
            Duration::from_micros(self.schedule.interval_us)
        );
        self.schedule
    }
}

/// Whether a task waiting for the wheel's wake-up at `armed` must be woken earlier for a
/// schedule now due at `due`.
fn needs_wake(due: Due, armed: Option<Instant>) -> bool {
    match (due, armed) {
        (Due::At(due), Some(armed)) => due < armed,
        (Due::At(_), None) => true,
        (Due::Never, _) => false,
        (Due::Stopped | Due::NotStarted, _) => true,
    }
}

fn micros(duration: Duration) -> u64 {
    crate::schedule::saturating_micros(duration)
}

/// Explores the interleavings of `f`, with at most `preemptions` preemptions per
/// interleaving unless `LOOM_MAX_PREEMPTIONS` says otherwise (`None`: all of them).
pub(crate) fn model<F>(preemptions: Option<usize>, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = preemptions;
    }
    builder.check(f);
}

/// One model run with one handle's thread: a timer whose schedule `start` made, a thread
/// that gives `commands` through a handle while the task polls; the schedule after the
/// checks of [`Timer::check`].
fn one_handle(start: Start, commands: impl FnOnce(TimerHandle) + Send + 'static) -> Schedule {
    let (mut timer, handle) = Timer::new(start);
    let thread = {
        let handle = handle.clone();
        thread::spawn(move || commands(handle))
    };
    let polled = timer.run();
    thread.join().unwrap();
    timer.check(polled, &handle)
}

/// A stop from another thread reaches a task waiting for its deadline.
#[test]
fn stop_reaches_a_waiting_task() {
    let times = Times::new();
    model(None, move || {
        let schedule = one_handle(Start::At(times.deadline), |handle| {
            handle.stop();
            assert!(!handle.is_running());
        });
        assert_eq!(schedule.state, State::Stopped);
    });
}

/// A reset to an earlier tick, then a stop, from one handle: the stop wins, and the task
/// is woken for both.
#[test]
fn reset_at_earlier_then_stop() {
    let times = Times::new();
    model(None, move || {
        let schedule = one_handle(Start::At(times.deadline), move |handle| {
            handle.reset_at(times.earlier);
            assert!(handle.is_running());
            handle.stop();
            assert!(!handle.is_running());
        });
        assert_eq!(schedule.state, State::Stopped);
    });
}

/// Two handles race `reset_at` an earlier and a later tick: the schedule ends at one of
/// the two, and a task waiting for a deadline after the result was woken.
///
/// Three threads: bounded to 4 preemptions (about 9,000 interleavings, a second or two).
/// `LOOM_MAX_PREEMPTIONS=100` explores all of them (about 320,000: half a minute or more).
#[test]
fn racing_reset_at() {
    let times = Times::new();
    model(Some(4), move || {
        let (mut timer, handle) = Timer::new(Start::At(times.deadline));
        let spawn_reset_at = |at: Instant| {
            let handle = handle.clone();
            thread::spawn(move || {
                handle.reset_at(at);
                assert!(handle.is_running());
            })
        };
        let earlier = spawn_reset_at(times.earlier);
        let later = spawn_reset_at(times.later);
        let polled = timer.run();
        earlier.join().unwrap();
        later.join().unwrap();
        let schedule = timer.check(polled, &handle);
        let due = schedule.due().at();
        assert!(
            due == Some(times.earlier) || due == Some(times.later),
            "{due:?}"
        );
    });
}

/// A new interval wakes the task although its tick, fixed at an instant, does not move;
/// the task registers again after it, so that a stop after it wakes it too.
#[test]
fn set_interval_then_stop() {
    let times = Times::new();
    model(None, move || {
        let schedule = one_handle(Start::At(times.deadline), |handle| {
            handle.set_interval(NEW_INTERVAL).unwrap();
            assert_eq!(handle.interval(), NEW_INTERVAL);
            handle.stop();
            assert!(!handle.is_running());
        });
        assert_eq!(schedule.state, State::Stopped);
        assert_eq!(schedule.interval_us, micros(NEW_INTERVAL));
    });
}

/// A shorter interval moves a counted tick earlier: it reaches a task waiting for the
/// tick's old deadline.
#[test]
fn shorter_interval_reaches_a_waiting_task() {
    let times = Times::new();
    model(None, move || {
        let start = Start::After {
            at: times.earlier,
            delay_us: 0,
        };
        let schedule = one_handle(start, |handle| {
            handle.set_interval(SHORTER_INTERVAL).unwrap();
            assert_eq!(handle.interval(), SHORTER_INTERVAL);
            assert!(handle.is_running());
        });
        assert_eq!(schedule.due().at(), Some(times.earlier + SHORTER_INTERVAL));
    });
}

/// A task waiting for nothing (its next tick is beyond the end of the time line) is woken
/// by a `reset` (which reads the clock: its tick is one interval from now).
#[test]
fn reset_reaches_a_task_waiting_for_nothing() {
    let times = Times::new();
    model(None, move || {
        let start = Start::After {
            at: times.deadline,
            delay_us: u64::MAX,
        };
        assert_eq!(Timer::new(start).0.schedule.due(), Due::Never);
        let schedule = one_handle(start, |handle| {
            handle.reset();
            assert!(handle.is_running());
        });
        assert!(schedule.due().at().is_some_and(|due| due < times.deadline));
    });
}

/// The timer's own reset races a handle's stop: the schedule ends as one of the two left
/// it, and `publish` keeps the handles' view in step.
#[test]
fn own_reset_races_a_handle_stop() {
    let times = Times::new();
    model(None, move || {
        let (mut timer, handle) = Timer::new(Start::At(times.deadline));
        let stopper = {
            let handle = handle.clone();
            thread::spawn(move || handle.stop())
        };
        timer.start(Start::At(times.later));
        let polled = timer.run();
        stopper.join().unwrap();
        let schedule = timer.check(polled, &handle);
        assert!(
            schedule.state == State::Stopped || schedule.due().at() == Some(times.later),
            "{:?}",
            schedule.state
        );
    });
}
