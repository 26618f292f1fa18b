//! Loom model check of the set handle protocol (the module doc of `set::handle` states
//! it): the interleavings of a set's task and its handles, all of them for the two-thread
//! models, up to four preemptions for the three-thread one.
//!
//! ```text
//! RUSTFLAGS="--cfg kadenz_loom" CARGO_TARGET_DIR=target/loom cargo test --release --lib loom_check
//! ```
//!
//! The set is a real `TimerSet` with two entries started at instants ten minutes or more
//! in the future; its task is modelled without a runtime, as in the timer handle's check:
//! a poll applies the handles' commands, takes the earliest due time as the instant the
//! wheel would wake it, and registers, looping when a command came meanwhile; the task is
//! polled again only when its waker was woken since its last poll began. After every
//! thread has joined, each model checks:
//!
//! - no lost wake-up: a task left waiting without a wake-up finds, once it applies what
//!   is queued, no entry due before the instant it waits for (nor any due time, if it
//!   waited for none), and no new interval was queued for it (the handle promises to
//!   wake for those);
//! - the commands of one handle apply in the order they were given, and the entries end
//!   as the last command in linearisation order made them;
//! - a command for a missing key is counted as ignored, once.

use std::task::{Context, Waker};
use std::time::Duration;

use loom::thread;
use tokio::time::Instant;

use super::{Command, SetHandle};
use crate::handle::loom_check::{model, Task, Times, MAX_POLLS};
use crate::{Timer, TimerSet};

const INTERVAL: Duration = Duration::from_secs(1);
const SHORTER_INTERVAL: Duration = Duration::from_millis(500);

/// `Pending`, waiting for `armed`, in a poll that began after `wakes` wake-ups.
#[derive(Clone, Copy, Debug)]
struct Waiting {
    armed: Option<Instant>,
    wakes: usize,
}

/// The set's side: the set, and the task polling it.
struct Set {
    set: TimerSet<u8>,
    task: std::sync::Arc<Task>,
    waker: Waker,
}

impl Set {
    /// A set with entries 1 and 2 due at `times.deadline`, and one handle to it.
    fn new(times: Times) -> (Self, SetHandle<u8>) {
        let mut set = TimerSet::new();
        for key in [1, 2] {
            let entry = Timer::builder(INTERVAL).auto_start(false);
            set.insert(key, entry).expect("a valid entry");
            set.reset_at(&key, times.deadline);
        }
        let handle = set.handle();
        let task = std::sync::Arc::new(Task::default());
        let waker = Waker::from(task.clone());
        (Set { set, task, waker }, handle)
    }

    fn earliest(&self) -> Option<Instant> {
        [1, 2].iter().filter_map(|key| self.set.deadline(key)).min()
    }

    /// One poll of `next()` while every due time is ahead, as `TimerSet::poll_next`
    /// does it.
    fn poll(&mut self) -> Waiting {
        let wakes = self.task.wakes();
        loop {
            self.set.sync_handles();
            let armed = self.earliest();
            if self.set.register(&Context::from_waker(&self.waker), armed) {
                return Waiting { armed, wakes };
            }
        }
    }

    fn run(&mut self) -> Waiting {
        let mut waiting = self.poll();
        for _ in 1..MAX_POLLS {
            if self.task.wakes() == waiting.wakes {
                break;
            }
            waiting = self.poll();
        }
        waiting
    }

    /// The checks after every thread joined; applies what is left.
    fn check(&mut self, waiting: Waiting) {
        let owner = self.set.handles.as_ref().expect("the set made a handle");
        let new_interval = owner
            .wake
            .lock()
            .queue
            .iter()
            .any(|(_, command)| matches!(command, Command::SetInterval(_)));
        let woken = self.task.wakes() != waiting.wakes;
        self.set.sync_handles();
        if !woken {
            assert!(!new_interval, "lost wake-up: a new interval waits");
            match (self.earliest(), waiting.armed) {
                (Some(due), Some(armed)) => assert!(
                    due >= armed,
                    "lost wake-up: the task waits for {armed:?}, an entry is due at {due:?}"
                ),
                (Some(due), None) => panic!("lost wake-up: an entry is due at {due:?}"),
                (None, _) => {}
            }
        }
        assert!(!self.set.handles.as_ref().unwrap().wake.pending());
    }
}

/// One model run with one handle's thread: the set of [`Set::new`], a thread that gives
/// `commands` through a handle while the task polls; the set after the checks of
/// [`Set::check`].
fn one_handle(times: Times, commands: impl FnOnce(SetHandle<u8>) + Send + 'static) -> Set {
    let (mut set, handle) = Set::new(times);
    let thread = thread::spawn(move || commands(handle));
    let waiting = set.run();
    thread.join().unwrap();
    set.check(waiting);
    set
}

/// A reset to an earlier tick from another thread reaches a task waiting for the
/// entries' deadline.
#[test]
fn an_earlier_reset_reaches_a_waiting_set() {
    let times = Times::new();
    model(None, move || {
        let set = one_handle(times, move |handle| {
            assert!(handle.reset_at(&1, times.earlier))
        });
        assert_eq!(set.set.deadline(&1), Some(times.earlier));
        assert_eq!(set.set.deadline(&2), Some(times.deadline));
    });
}

/// One handle's commands apply in the order given: a stop, a later reset of the same
/// key, an earlier reset of the other; the task needs waking only for the last.
#[test]
fn one_handles_commands_apply_in_order() {
    let times = Times::new();
    model(None, move || {
        let set = one_handle(times, move |handle| {
            handle.stop(&1);
            handle.reset_at(&1, times.later);
            handle.reset_at(&2, times.earlier);
        });
        assert_eq!(set.set.deadline(&1), Some(times.later));
        assert_eq!(set.set.deadline(&2), Some(times.earlier));
    });
}

/// Kicks that move a tick later, and a stop, never need the task: whether or not it is
/// woken, nothing is lost.
#[test]
fn later_kicks_and_stops_need_no_wake() {
    let times = Times::new();
    model(None, move || {
        let set = one_handle(times, move |handle| {
            handle.reset_at(&1, times.later);
            handle.stop(&2);
        });
        assert_eq!(set.set.deadline(&1), Some(times.later));
        assert!(!set.set.is_running(&2));
    });
}

/// A new interval wakes the task (it may move a tick earlier); a command for a missing
/// key is counted once.
#[test]
fn a_new_interval_wakes_and_a_missing_key_is_counted() {
    let times = Times::new();
    model(None, move || {
        let (mut set, handle) = Set::new(times);
        let counter = handle.clone();
        let kicker = thread::spawn(move || {
            handle.set_interval(&1, SHORTER_INTERVAL).unwrap();
            handle.reset_immediately(&9);
        });
        let waiting = set.run();
        kicker.join().unwrap();
        set.check(waiting);
        assert_eq!(set.set.interval(&1), Some(SHORTER_INTERVAL));
        assert_eq!(counter.ignored(), 1);
    });
}

/// Two handles race on one key: it ends as the command that took the lock last made it,
/// and the task is not left waiting past an earlier tick.
#[test]
fn racing_handles() {
    let times = Times::new();
    model(Some(4), move || {
        let (mut set, a) = Set::new(times);
        let b = a.clone();
        let ta = thread::spawn(move || assert!(a.reset_at(&1, times.earlier)));
        let tb = thread::spawn(move || assert!(b.stop(&1)));
        let waiting = set.run();
        ta.join().unwrap();
        tb.join().unwrap();
        set.check(waiting);
        let deadline = set.set.deadline(&1);
        assert!(
            deadline == Some(times.earlier) || deadline.is_none(),
            "{deadline:?}"
        );
    });
}
