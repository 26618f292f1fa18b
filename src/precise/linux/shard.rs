//! One OS timer and the queue of the precise timers it wakes: a timerfd armed for the
//! earliest deadline of its queue, rounded up to a grid that scales with the time left
//! (see [`grid`]). Who waits for the timerfd differs (a task of the runtime, in
//! `reactor.rs`, or a thread, in `thread.rs`); the queue and its rules are this one.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::Waker;
use std::time::{Duration, Instant};

use rustix::time::{
    timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags,
    Timespec,
};

/// The coarsest grid a deadline is rounded up to when others share the OS timer.
pub(crate) const MAX_GRID: Duration = Duration::from_micros(128);

/// The grid a deadline `left` away is rounded up to while other deadlines share the OS
/// timer, so that close deadlines share a wake-up: the largest power of two of
/// microseconds no greater than an eighth of the time left, at most [`MAX_GRID`]. A
/// deadline 900 µs away (a 1 ms periodic timer re-armed after its tick) is rounded to
/// 64 µs, one 10 ms away to 128 µs, one 100 µs away to 8 µs, one under 16 µs away not
/// at all. What this adds on top of the OS's own lateness is less than the grid: less
/// than an eighth of the time the timer waited, and less than 128 µs. Rounding a 1 ms
/// timer's deadline to 10 µs wakes the OS timer almost once per timer; a fixed grid makes
/// short waits as late as long ones.
pub(crate) fn grid(left: Duration) -> Duration {
    let eighth = (left / 8).min(MAX_GRID);
    let micros = u64::try_from(eighth.as_micros()).unwrap_or(u64::MAX);
    match micros {
        0 | 1 => Duration::ZERO,
        n => Duration::from_micros(1 << (63 - n.leading_zeros())),
    }
}

/// One precise timer's place in a queue.
#[derive(Debug, Default)]
struct Slot {
    /// When the timer wants to be woken; `None`: it does not wait.
    due: Option<Instant>,
    waker: Option<Waker>,
    /// The time of the earliest entry of this slot in the heap (its due time, rounded
    /// up to its grid), if any: later entries of the same slot are stale and dropped when
    /// they come up.
    queued: Option<Instant>,
    /// Bumped when the slot is freed, so entries of a former owner are recognised.
    generation: u64,
}

/// Where a shard's timerfd lives: with the thread that reads it, or in the runtime's
/// reactor until the runtime drops the task that drains it.
#[derive(Debug)]
pub(crate) enum Fd {
    Thread(Arc<OwnedFd>),
    Reactor(Option<tokio::net::unix::pipe::Receiver>),
}

impl Fd {
    fn get(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Fd::Thread(fd) => Some(fd.as_fd()),
            Fd::Reactor(receiver) => receiver.as_ref().map(AsFd::as_fd),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Queue {
    heap: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    slots: Vec<Slot>,
    free: Vec<usize>,
    /// When the timerfd expires next; `None`: disarmed.
    armed: Option<Instant>,
    pub(crate) fd: Fd,
}

/// An OS timer and its queue.
#[derive(Debug)]
pub(crate) struct Shard {
    queue: Mutex<Queue>,
}

/// The zero of the grids, the same for every shard of the process: shards that round to
/// the same grid expire at the same instants, which the kernel serves with one timer
/// interrupt (on a virtual machine, each costs an exit to the hypervisor).
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// `due` rounded up to its [`grid`] for a request made at `now`.
fn on_grid(due: Instant, now: Instant) -> Instant {
    let grid = grid(due.saturating_duration_since(now)).as_nanos();
    if grid == 0 {
        return due;
    }
    let epoch = epoch();
    let since = due.saturating_duration_since(epoch).as_nanos();
    let rounded = since.saturating_add(grid - 1) / grid * grid;
    epoch + Duration::from_nanos(u64::try_from(rounded).unwrap_or(u64::MAX))
}

/// A new timerfd on the monotonic clock (std's `Instant`, and so tokio's); non-blocking
/// for the reactor, blocking for a thread.
pub(crate) fn timerfd(non_blocking: bool) -> Option<OwnedFd> {
    let flags = if non_blocking {
        TimerfdFlags::CLOEXEC | TimerfdFlags::NONBLOCK
    } else {
        TimerfdFlags::CLOEXEC
    };
    timerfd_create(TimerfdClockId::Monotonic, flags).ok()
}

impl Shard {
    pub(crate) fn new(fd: Fd) -> Shard {
        Shard {
            queue: Mutex::new(Queue {
                heap: BinaryHeap::new(),
                slots: Vec::new(),
                free: Vec::new(),
                armed: None,
                fd,
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Queue> {
        // Nothing panics under the lock but a waker's `clone`; the queue is consistent
        // at every point, so a poisoned lock is used as it is.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new slot for a timer.
    pub(crate) fn register(&self) -> (usize, u64) {
        let mut queue = self.lock();
        let index = match queue.free.pop() {
            Some(index) => index,
            None => {
                queue.slots.push(Slot::default());
                queue.slots.len() - 1
            }
        };
        (index, queue.slots[index].generation)
    }

    pub(crate) fn deregister(&self, index: usize) {
        let mut queue = self.lock();
        let slot = &mut queue.slots[index];
        slot.generation = slot.generation.wrapping_add(1);
        slot.due = None;
        slot.waker = None;
        slot.queued = None;
        queue.free.push(index);
    }

    /// Wakes `waker` at `due` (asked at `now`), instead of any earlier request of the
    /// slot; `false` if the OS timer is gone (its runtime dropped the task that drained
    /// it).
    pub(crate) fn wake_at(
        &self,
        index: usize,
        generation: u64,
        due: Instant,
        now: Instant,
        waker: &Waker,
    ) -> bool {
        let mut queue = self.lock();
        let queue = &mut *queue;
        if queue.fd.get().is_none() {
            return false;
        }
        let slot = &mut queue.slots[index];
        slot.due = Some(due);
        match &slot.waker {
            Some(registered) if registered.will_wake(waker) => {}
            _ => slot.waker = Some(waker.clone()),
        }
        // A later due time keeps the slot's heap entry: when it comes up, it is queued
        // again for the new time, so a timer reset often holds one entry, not many.
        if slot.queued.is_some_and(|queued| queued <= due) {
            return true;
        }
        // Alone in the queue, a deadline is armed as it is; with others, rounded up to
        // the grid of the time it waits, so that close ones share a wake-up.
        let at = if queue.heap.is_empty() {
            due
        } else {
            on_grid(due, now)
        };
        slot.queued = Some(at);
        queue.heap.push(Reverse((at, index, generation)));
        if queue.armed.map_or(true, |armed| at < armed) {
            arm(queue, Some(at));
        }
        true
    }

    /// The timer no longer needs waking (it was woken by the wheel, or stopped waiting).
    pub(crate) fn cancel(&self, index: usize) {
        self.lock().slots[index].due = None;
    }

    /// Takes the wakers of the timers due by now into `due_wakers` and arms the OS timer
    /// for the next deadline. The caller wakes them, outside the lock: a wake may run the
    /// task's runtime code.
    pub(crate) fn expire(&self, due_wakers: &mut Vec<Waker>) {
        let now = Instant::now();
        let mut guard = self.lock();
        let queue = &mut *guard;
        while let Some(&Reverse((at, index, generation))) = queue.heap.peek() {
            if at > now {
                break;
            }
            queue.heap.pop();
            let slot = &mut queue.slots[index];
            if slot.generation != generation || slot.queued != Some(at) {
                continue; // a former owner's, or a stale entry of this slot
            }
            slot.queued = None;
            match slot.due {
                Some(wanted) if wanted > now => {
                    // Moved later meanwhile: queued again, on the grid of what is left.
                    let at = on_grid(wanted, now);
                    slot.queued = Some(at);
                    queue.heap.push(Reverse((at, index, generation)));
                }
                Some(_) => {
                    slot.due = None;
                    if let Some(waker) = slot.waker.take() {
                        due_wakers.push(waker);
                    }
                }
                None => {}
            }
        }
        match queue.heap.peek() {
            Some(&Reverse((at, ..))) => arm(queue, Some(at)),
            // A one-shot timerfd that expired is disarmed already: no syscall (most
            // often the queue is empty for a moment, until the timer just woken asks
            // for its next tick). Should this wake-up have come before the armed time,
            // the timerfd may still expire once, for nothing.
            None => queue.armed = None,
        }
    }

    /// Whether the OS timer still serves (its runtime has not dropped its drive task).
    pub(crate) fn is_open(&self) -> bool {
        self.lock().fd.get().is_some()
    }

    /// Closes the OS timer for good (its runtime is gone): every later `wake_at` answers
    /// `false`, and the timers fall back to the wheel.
    pub(crate) fn close(&self) -> Option<tokio::net::unix::pipe::Receiver> {
        let mut queue = self.lock();
        queue.heap.clear();
        match &mut queue.fd {
            Fd::Reactor(receiver) => receiver.take(),
            Fd::Thread(_) => None,
        }
    }
}

/// Sets the timerfd to expire at `at` (`None`: disarm). Relative, because a std `Instant`
/// does not expose its clock value; the error is the few nanoseconds between reading the
/// clock and the syscall.
fn arm(queue: &mut Queue, at: Option<Instant>) {
    queue.armed = at;
    let Some(fd) = queue.fd.get() else {
        return;
    };
    let value = match at {
        // A zero value would disarm the timer: at least 1 ns.
        Some(at) => at
            .saturating_duration_since(Instant::now())
            .max(Duration::from_nanos(1)),
        None => Duration::ZERO,
    };
    let spec = Itimerspec {
        it_interval: Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: Timespec {
            tv_sec: i64::try_from(value.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(value.subsec_nanos()),
        },
    };
    // Arming a valid timerfd cannot fail; should it, the timers still have the wheel
    // (current-thread runtimes) or are woken at the next arming.
    let _ = timerfd_settime(fd, TimerfdTimerFlags::empty(), &spec);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_scales_with_the_time_left() {
        let us = Duration::from_micros;
        assert_eq!(grid(Duration::ZERO), Duration::ZERO);
        assert_eq!(grid(us(15)), Duration::ZERO);
        assert_eq!(grid(us(16)), us(2));
        assert_eq!(grid(us(24)), us(2));
        assert_eq!(grid(us(100)), us(8));
        assert_eq!(grid(us(900)), us(64));
        assert_eq!(grid(us(1_000)), us(64));
        assert_eq!(grid(us(1_024)), us(128));
        assert_eq!(grid(Duration::from_millis(10)), MAX_GRID);
        assert_eq!(grid(Duration::MAX), MAX_GRID);
        for left in (0..5_000).map(us) {
            assert!(grid(left) * 8 <= left && grid(left) <= MAX_GRID, "{left:?}");
        }
    }
}
